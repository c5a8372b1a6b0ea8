//! `pull-through apk ...`: the apk client side from the command line.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use apk_repo::fetch::RepoClient;
use apk_repo::http_auth::HttpAuth;
use apk_repo::index::{ApkIndex, IndexError, Keyring};
use apk_repo::repo_url::RepoUrl;
use apk_repo::repositories::{PRIVATE_MODE, RepositoriesFile};
use apk_repo::search::{SearchOptions, policy, search};
use apk_repo::snippet::{Dockerfile, apko_contents};
use clap::{Args, Subcommand};
use pull_through_core::{ExposeSecret, SecretString, Sensitive};
use serde_json::json;

use crate::Failure;
use crate::cli::GlobalArgs;
use crate::output::{emit, journal};

#[derive(Debug, Subcommand)]
pub(crate) enum ApkCommand {
    /// Print an HTTP_AUTH value (the password as ${VAR} unless --show-secrets).
    HttpAuth(HttpAuthArgs),
    /// Print a repository line, credentials encoded (masked unless --show-secrets).
    RepoUrl(RepoUrlArgs),
    /// Edit or show an /etc/apk/repositories file.
    Repositories(RepositoriesArgs),
    /// Exit 0 only if an APKINDEX.tar.gz is signed by a key in DIR.
    VerifyIndex(VerifyIndexArgs),
    /// List packages whose name matches, as name-version.
    Search(SearchArgs),
    /// List every version of a package, newest first, with its repositories.
    Policy(PolicyArgs),
    /// Compare two versions: prints <, = or >.
    Version(VersionArgs),
    /// Print a Dockerfile or an apko.yaml contents block.
    Snippet {
        #[command(subcommand)]
        kind: SnippetKind,
    },
}

#[derive(Debug, Args)]
pub(crate) struct HttpAuthArgs {
    /// The repository host, exactly as apko compares it (no port).
    #[arg(
        long,
        required_unless_present = "empty_host",
        conflicts_with = "empty_host"
    )]
    host: Option<String>,
    /// The user: `user` for a token from `chainctl auth token`, the identity id for a
    /// pull token.
    #[arg(long)]
    user: String,
    /// The environment variable holding the password or token.
    #[arg(long, value_name = "VAR")]
    password_env: String,
    /// Write the documented `basic::USER:TOKEN` form: apk-tools accepts it for any host;
    /// apko and melange ignore it.
    #[arg(long)]
    empty_host: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RepoUrlArgs {
    /// The repository URL without credentials.
    #[arg(long)]
    base: String,
    /// The user (given raw; it is encoded).
    #[arg(long, requires = "password_env")]
    user: Option<String>,
    /// The environment variable holding the password or token.
    #[arg(long, value_name = "VAR", requires = "user")]
    password_env: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true)))]
pub(crate) struct RepositoriesArgs {
    /// The repositories file.
    file: PathBuf,
    /// Replace the whole file with this repository, as the tutorials do.
    #[arg(long, group = "action", value_name = "URL")]
    set: Option<String>,
    /// Append this repository unless it is there already.
    #[arg(long, group = "action", value_name = "URL")]
    add: Option<String>,
    /// Remove every line pointing at this repository.
    #[arg(long, group = "action", value_name = "URL")]
    remove: Option<String>,
    /// Comment out every repository line.
    #[arg(long, group = "action")]
    disable_defaults: bool,
    /// Print the file, credentials masked unless --show-secrets.
    #[arg(long, group = "action")]
    show: bool,
    /// With --set or --add: the user for the repository's URL.
    #[arg(long, requires = "password_env")]
    user: Option<String>,
    /// With --set or --add: the environment variable holding the password.
    #[arg(long, value_name = "VAR", requires = "user")]
    password_env: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyIndexArgs {
    /// The folder of trusted public keys, named as the signatures name them.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// The APKINDEX.tar.gz.
    file: PathBuf,
}

/// Where indexes come from.
#[derive(Debug, Args)]
pub(crate) struct Sources {
    /// Read local APKINDEX.tar.gz files.
    #[arg(long = "index", value_name = "FILE", conflicts_with = "repo")]
    index: Vec<PathBuf>,
    /// Fetch from repositories (credentials from URL userinfo or the HTTP_AUTH variable).
    #[arg(long, value_name = "URL")]
    repo: Vec<String>,
    /// The architecture to fetch.
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// Trusted keys; without it, local files are read unverified and repositories'
    /// keys are discovered through apk-configuration.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    sources: Sources,
    /// Match whole names only (names packages provide included), as apk's -e/-x.
    #[arg(long, short = 'e', visible_short_alias = 'x')]
    exact: bool,
    /// List every version, not only the newest.
    #[arg(long, short = 'a')]
    all: bool,
    /// Match descriptions and names (every version), as apk's -d.
    #[arg(long, short = 'd')]
    description: bool,
    /// Print each package's origin (base package) instead of its name, as apk's -o.
    #[arg(long, short = 'o')]
    origin: bool,
    /// Packages whose origin is exactly a pattern (every version), as apk's --has-origin.
    #[arg(long)]
    has_origin: bool,
    /// Name patterns (globs, wrapped as *PATTERN* unless --exact), matched against
    /// package names and the names they provide (so:, cmd:, pc:); none lists everything.
    patterns: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(flatten)]
    sources: Sources,
    /// The package name.
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    /// Compare the two versions.
    #[arg(short = 't', long = "test", num_args = 2, value_names = ["A", "B"], required = true)]
    test: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SnippetKind {
    /// A Dockerfile installing packages with the credentials as a build secret.
    Dockerfile {
        /// The base image.
        #[arg(long, default_value = "cgr.dev/chainguard/wolfi-base")]
        base_image: String,
        /// Use this repository with HTTP_AUTH; without it, the secret is a repositories
        /// file mounted over /etc/apk/repositories.
        #[arg(long, value_name = "URL")]
        http_auth_repo: Option<String>,
        /// The packages.
        #[arg(required = true)]
        packages: Vec<String>,
    },
    /// An apko.yaml contents block.
    Apko {
        /// Repositories (without credentials; apko reads HTTP_AUTH).
        #[arg(long = "repo", value_name = "URL", required = true)]
        repos: Vec<String>,
        /// Keyring entries (URLs or paths of public keys).
        #[arg(long = "keyring", value_name = "KEY")]
        keyring: Vec<String>,
        /// Architectures.
        #[arg(long = "arch", default_values = ["x86_64", "aarch64"])]
        archs: Vec<String>,
        /// The packages.
        #[arg(required = true)]
        packages: Vec<String>,
    },
}

fn usage(problem: impl std::fmt::Display) -> Failure {
    Failure::Usage(problem.to_string())
}

fn step(problem: impl std::fmt::Display) -> Failure {
    Failure::Step(problem.to_string())
}

/// A secret from the environment, refused when unset or empty.
fn secret_from_env(var: &str) -> Result<SecretString, Failure> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
        _ => Err(usage(format!(
            "the environment variable {var} is unset or empty; export the password or token \
             there (it is never taken on the command line, where it would land in shell history)"
        ))),
    }
}

fn pick(sensitive: &Sensitive, global: &GlobalArgs) -> String {
    if global.show_secrets {
        sensitive.expose().to_owned()
    } else {
        sensitive.shown().to_owned()
    }
}

pub(crate) async fn run(global: &GlobalArgs, command: &ApkCommand) -> Result<(), Failure> {
    match command {
        ApkCommand::HttpAuth(args) => http_auth(global, args),
        ApkCommand::RepoUrl(args) => repo_url(global, args),
        ApkCommand::Repositories(args) => repositories(global, args),
        ApkCommand::VerifyIndex(args) => verify_index(global, args),
        ApkCommand::Search(args) => search_command(global, args).await,
        ApkCommand::Policy(args) => policy_command(global, args).await,
        ApkCommand::Version(args) => version(global, args),
        ApkCommand::Snippet { kind } => snippet(global, kind),
    }
}

fn http_auth(global: &GlobalArgs, args: &HttpAuthArgs) -> Result<(), Failure> {
    let password = secret_from_env(&args.password_env)?;
    let auth = match &args.host {
        Some(host) => HttpAuth::basic(host, &args.user, password),
        None => HttpAuth::basic_any_host(&args.user, password),
    }
    .map_err(usage)?;
    if args.empty_host {
        eprintln!(
            "note: apko and melange ignore an HTTP_AUTH with an empty host; apk-tools accepts it"
        );
    }
    let shown = format!(
        "basic:{}:{}:${{{}}}",
        auth.host(),
        auth.user(),
        args.password_env
    );
    let value = Sensitive::new(shown, auth.value().expose_secret());
    let printed = pick(&value, global);
    emit(
        global.output,
        &json!({"http_auth": printed, "apko_host": auth.host()}),
        || printed.clone(),
    )
}

/// Warns, on stderr and without the value, when a URL given on the command line carries
/// credentials: argv lands in shell history and in every process listing. `alternative`
/// names what the command offers instead.
fn warn_argv_credentials(flag: &str, url: &RepoUrl, alternative: &str) {
    if url.user().is_some() || url.password().is_some() {
        eprintln!(
            "warning: {flag}: the URL carries credentials on the command line, where shell \
             history and the process list keep them; {alternative}"
        );
    }
}

/// What the commands that take `--user` offer instead of credentials in the URL.
const USE_PASSWORD_ENV: &str = "give the URL without them, with --user USER --password-env VAR";

/// Reads a URL given with `flag`, with the credentials of `--user`/`--password-env` when
/// given. A URL that will be written or printed with its credentials (`writes`) must not
/// carry them over plain http to a host that is not loopback: refused, typed, unechoed.
fn build_url(
    flag: &str,
    base: &str,
    user: Option<&str>,
    password_env: Option<&str>,
    writes: bool,
) -> Result<RepoUrl, Failure> {
    let url = RepoUrl::parse_line(base).map_err(usage)?;
    warn_argv_credentials(flag, &url, USE_PASSWORD_ENV);
    let url = match (user, password_env) {
        (Some(user), Some(var)) => url
            .with_credentials(user, secret_from_env(var)?)
            .map_err(usage)?,
        _ => url,
    };
    if writes {
        url.check_credentials_transport().map_err(usage)?;
    }
    Ok(url)
}

fn repo_url(global: &GlobalArgs, args: &RepoUrlArgs) -> Result<(), Failure> {
    let url = build_url(
        "--base",
        &args.base,
        args.user.as_deref(),
        args.password_env.as_deref(),
        true,
    )?;
    for warning in url.warnings() {
        eprintln!("warning: {warning}");
    }
    let printed = pick(&url.to_sensitive(), global);
    let warnings: Vec<String> = url.warnings().iter().map(ToString::to_string).collect();
    emit(
        global.output,
        &json!({"url": printed, "warnings": warnings}),
        || printed.clone(),
    )
}

fn repositories(global: &GlobalArgs, args: &RepositoriesArgs) -> Result<(), Failure> {
    let read = || match RepositoriesFile::read(&args.file) {
        Ok(file) => Ok(file),
        Err(err)
            if err.kind() == std::io::ErrorKind::NotFound
                && (args.set.is_some() || args.add.is_some()) =>
        {
            Ok(RepositoriesFile::default())
        }
        Err(err) => Err(usage(format!("cannot read {}: {err}", args.file.display()))),
    };
    let url = |flag: &str, text: &str, writes: bool| {
        build_url(
            flag,
            text,
            args.user.as_deref(),
            args.password_env.as_deref(),
            writes,
        )
    };
    // Every URL is checked before the file is read, so a refusal leaves it untouched.
    let set = args
        .set
        .as_deref()
        .map(|t| url("--set", t, true))
        .transpose()?;
    let add = args
        .add
        .as_deref()
        .map(|t| url("--add", t, true))
        .transpose()?;
    let remove = args
        .remove
        .as_deref()
        .map(|t| url("--remove", t, false))
        .transpose()?;
    let mut file = read()?;
    let summary = if let Some(url) = set {
        file.set_only(url);
        "replaced the file with one repository".to_owned()
    } else if let Some(url) = add {
        if file.add(url) {
            "added the repository"
        } else {
            "the repository was there already"
        }
        .to_owned()
    } else if let Some(url) = remove {
        format!("removed {} line(s)", file.remove(&url))
    } else if args.disable_defaults {
        file.disable_defaults();
        "commented out every repository line".to_owned()
    } else {
        let text = if global.show_secrets {
            file.render().expose_secret().to_owned()
        } else {
            file.render_masked()
        };
        return emit(
            global.output,
            &json!({"file": args.file, "content": text}),
            || text.trim_end().to_owned(),
        );
    };
    let written = file
        .write_atomic(&args.file)
        .map_err(|err| step(format!("cannot write {}: {err}", args.file.display())))?;
    // A file that holds credentials is made private whatever its mode was; say so, since
    // other users (or a container's non-root user) may have read it until now.
    let mode_changed = written
        .mode_changed_from
        .map(|from| json!({"from": format!("{from:04o}"), "to": format!("{PRIVATE_MODE:04o}")}));
    let note = match written.mode_changed_from {
        Some(from) if written.holds_credentials => format!(
            "; it holds credentials, so its mode went from {from:04o} to {PRIVATE_MODE:04o} \
             (readable only by its owner)"
        ),
        _ => String::new(),
    };
    emit(
        global.output,
        &json!({"file": args.file, "result": summary, "mode_changed": mode_changed}),
        || format!("{}: {summary}{note}", args.file.display()),
    )
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|err| usage(format!("cannot read {}: {err}", path.display())))
}

fn keyring(dir: &Path) -> Result<Keyring, Failure> {
    let keys = Keyring::from_dir(dir).map_err(usage)?;
    if keys.is_empty() {
        return Err(usage(format!("{} holds no *.pub keys", dir.display())));
    }
    Ok(keys)
}

fn verify_index(global: &GlobalArgs, args: &VerifyIndexArgs) -> Result<(), Failure> {
    let keys = keyring(&args.keys)?;
    let bytes = read_file(&args.file)?;
    let index = ApkIndex::read(&bytes, &keys).map_err(step)?;
    let key = index.signed_by.clone().unwrap_or_default();
    // Entries apk-tools would skip but can do without (a signature or APKINDEX it would
    // skip is already an error): warnings.
    let skipped: Vec<String> = index.skipped.iter().map(ToString::to_string).collect();
    emit(
        global.output,
        &json!({"file": args.file, "signed_by": key, "packages": index.packages.len(), "description": index.description, "skipped": skipped}),
        || {
            let mut text = format!(
                "{}: signed by {key}, {} packages",
                args.file.display(),
                index.packages.len()
            );
            for warning in &skipped {
                text.push_str(&format!("\nwarning: {warning}"));
            }
            text
        },
    )
}

/// Loads every index the arguments name, each with a label for `policy`.
async fn load(global: &GlobalArgs, sources: &Sources) -> Result<Vec<(String, ApkIndex)>, Failure> {
    if sources.index.is_empty() && sources.repo.is_empty() {
        return Err(usage("give --index FILE or --repo URL"));
    }
    let trusted = sources.keys.as_deref().map(keyring).transpose()?;
    let mut loaded = Vec::new();
    for path in &sources.index {
        let bytes = read_file(path)?;
        let index = match &trusted {
            Some(keys) => ApkIndex::read(&bytes, keys),
            None => {
                eprintln!(
                    "warning: {} read without verifying its signature; pass --keys DIR",
                    path.display()
                );
                ApkIndex::read_unverified(&bytes)
            }
        }
        .map_err(step)?;
        loaded.push((path.display().to_string(), index));
    }
    for text in &sources.repo {
        let url = RepoUrl::parse_line(text).map_err(usage)?;
        warn_argv_credentials(
            "--repo",
            &url,
            "give the URL without them and export HTTP_AUTH=basic:HOST:USER:PASSWORD, which \
             is sent after the repository asks for credentials",
        );
        let label = url.to_string();
        let mut builder = RepoClient::builder(url);
        if let Some(journal) = journal(global)? {
            builder = builder.observer(journal);
        }
        if let Ok(value) = std::env::var("HTTP_AUTH") {
            builder = builder.http_auth(HttpAuth::parse(&value).map_err(usage)?);
        }
        let client = builder.build().map_err(step)?;
        let keys = match &trusted {
            Some(keys) => keys.clone(),
            None => client
                .discover_keys()
                .await
                .map_err(step)?
                .ok_or_else(|| usage(format!("{label} publishes no keys; pass --keys DIR")))?,
        };
        let index = client
            .fetch_verified_index(&sources.arch, &keys)
            .await
            .map_err(|err: IndexError| step(format!("{label}: {err}")))?;
        loaded.push((label, index));
    }
    Ok(loaded)
}

async fn search_command(global: &GlobalArgs, args: &SearchArgs) -> Result<(), Failure> {
    let loaded = load(global, &args.sources).await?;
    let packages: Vec<_> = loaded
        .into_iter()
        .flat_map(|(_, index)| index.packages)
        .collect();
    let patterns: Vec<&str> = args.patterns.iter().map(String::as_str).collect();
    let mut options = SearchOptions::default();
    options.exact = args.exact;
    options.all_versions = args.all;
    options.description = args.description;
    options.has_origin = args.has_origin;
    let found = search(&packages, &patterns, options).map_err(usage)?;
    let lines: Vec<String> = found
        .iter()
        .map(|p| match (&p.origin, args.origin) {
            (Some(origin), true) => format!("{origin}-{}", p.version),
            _ => format!("{}-{}", p.name, p.version),
        })
        .collect();
    // apk prints nothing when nothing matches, not an empty line.
    if lines.is_empty() && matches!(global.output, crate::cli::OutputFormat::Human) {
        return Ok(());
    }
    emit(global.output, &json!({"packages": lines}), || {
        lines.join("\n")
    })
}

async fn policy_command(global: &GlobalArgs, args: &PolicyArgs) -> Result<(), Failure> {
    let loaded = load(global, &args.sources).await?;
    let sources: Vec<(&str, &ApkIndex)> = loaded
        .iter()
        .map(|(label, index)| (label.as_str(), index))
        .collect();
    let report = policy(&args.name, &sources);
    // apk prints nothing for a name no package has (one that packages only provide).
    if report.is_empty() && matches!(global.output, crate::cli::OutputFormat::Human) {
        return Ok(());
    }
    let versions: Vec<_> = report
        .versions
        .iter()
        .map(|(version, repos)| json!({"version": version.as_str(), "repositories": repos}))
        .collect();
    let invalid: Vec<_> = report
        .invalid
        .iter()
        .map(|(version, repository, err)| {
            json!({"version": version, "repository": repository, "problem": err.problem})
        })
        .collect();
    emit(
        global.output,
        &json!({"name": report.name, "versions": versions, "invalid": invalid}),
        || report.to_string().trim_end().to_owned(),
    )
}

fn version(global: &GlobalArgs, args: &VersionArgs) -> Result<(), Failure> {
    let order = apk_repo::version::compare(&args.test[0], &args.test[1]).map_err(usage)?;
    let symbol = match order {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    };
    emit(global.output, &json!({"result": symbol}), || {
        symbol.to_owned()
    })
}

fn snippet(global: &GlobalArgs, kind: &SnippetKind) -> Result<(), Failure> {
    let text = match kind {
        SnippetKind::Dockerfile {
            base_image,
            http_auth_repo,
            packages,
        } => {
            let mut dockerfile = Dockerfile::new(base_image, packages.iter().cloned());
            if let Some(url) = http_auth_repo {
                dockerfile = dockerfile.with_http_auth(RepoUrl::parse_line(url).map_err(usage)?);
            }
            dockerfile.render()
        }
        SnippetKind::Apko {
            repos,
            keyring,
            archs,
            packages,
        } => {
            let repos = repos
                .iter()
                .map(|text| RepoUrl::parse_line(text).map_err(usage))
                .collect::<Result<Vec<_>, _>>()?;
            let keyring: Vec<&str> = keyring.iter().map(String::as_str).collect();
            let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
            let archs: Vec<&str> = archs.iter().map(String::as_str).collect();
            apko_contents(&repos, &keyring, &packages, &archs)
        }
    };
    emit(global.output, &json!({"snippet": text}), || {
        text.trim_end().to_owned()
    })
}
