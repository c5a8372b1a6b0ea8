//! Real Docker clients against `pull-through sandbox serve`: `skopeo` logs in with the
//! `docker login` lines `apply` prints (Artifactory's `--password "$VAR"` login, and
//! Google Artifact Registry's `oauth2accesstoken` login fed the token on standard input)
//! and inspects and copies every `docker pull` reference it prints; `skopeo` logs in to
//! the fake `cgr.dev` with a pull token; and `docker-registry` (distribution 2.8) runs as
//! a pull-through proxy of the fake `cgr.dev`.
//!
//! Each test skips with a message when a tool is absent, unless
//! `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` (as CI sets), which makes absence a failure.
//! Install them with `apt-get install -y skopeo docker-registry` (Debian, Ubuntu).

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::flow::{expect_code, flow, json};
use common::{Served, run, serve, text};

/// The tool `name` on `PATH`, or `None` after saying why the test skips; with
/// `PULL_THROUGH_REQUIRE_REAL_CLIENTS=1` an absent tool fails the test instead.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let required = std::env::var("PULL_THROUGH_REQUIRE_REAL_CLIENTS").as_deref() == Ok("1");
        assert!(
            !required,
            "{name} is not installed and PULL_THROUGH_REQUIRE_REAL_CLIENTS=1 requires it \
             (apt-get install -y skopeo docker-registry)"
        );
        eprintln!(
            "skipped: {name} is not installed (apt-get install -y skopeo docker-registry; \
             PULL_THROUGH_REQUIRE_REAL_CLIENTS=1 makes this a failure)"
        );
    }
    found
}

/// `skopeo` with its own auth file and no system policy, over plain http.
struct Skopeo {
    bin: PathBuf,
    authfile: PathBuf,
}

impl Skopeo {
    fn new(bin: PathBuf, dir: &Path) -> Skopeo {
        Skopeo {
            bin,
            authfile: dir.join("auth.json"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args).env_remove("REGISTRY_AUTH_FILE");
        command
    }

    /// `skopeo login`, the password on standard input (never in argv).
    fn login(&self, registry: &str, user: &str, password: &str) -> Output {
        let mut child = self
            .command(&["login", "--tls-verify=false", "--password-stdin"])
            .arg("--authfile")
            .arg(&self.authfile)
            .args(["--username", user, registry])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn inspect(&self, reference: &str) -> Output {
        // The images are linux/amd64 and linux/arm64: name the platform, so the answer does
        // not depend on the machine the test runs on.
        self.command(&[
            "--override-os",
            "linux",
            "--override-arch",
            "amd64",
            "inspect",
            "--tls-verify=false",
        ])
        .arg("--authfile")
        .arg(&self.authfile)
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap()
    }

    fn list_tags(&self, repository: &str) -> Output {
        self.command(&["list-tags", "--tls-verify=false"])
            .arg("--authfile")
            .arg(&self.authfile)
            .arg(format!("docker://{repository}"))
            .output()
            .unwrap()
    }

    /// `skopeo copy --all` of `reference` (every platform of its index) into an OCI
    /// layout at `dir`.
    fn copy_all(&self, reference: &str, dir: &Path) -> Output {
        self.command(&[
            "copy",
            "--all",
            "--insecure-policy",
            "--src-tls-verify=false",
        ])
        .arg("--src-authfile")
        .arg(&self.authfile)
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:copied", dir.display()))
        .output()
        .unwrap()
    }
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The `docker login` of a printed line: registry, user and the password's value, read
/// from the variable the line names. Two forms: Artifactory's
/// `docker login <registry> --username <user> --password "$VAR"`, and Google Artifact
/// Registry's `echo "$VAR" | docker login -u <user> --password-stdin <scheme>://<registry>`
/// (the token on docker's standard input, never in its argv).
fn parse_login(line: &str, served: &Served) -> (String, String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (registry, user, password) = match words.as_slice() {
        [
            "docker",
            "login",
            registry,
            "--username",
            user,
            "--password",
            password,
        ] => ((*registry).to_owned(), *user, *password),
        [
            "echo",
            password,
            "|",
            "docker",
            "login",
            "-u",
            user,
            "--password-stdin",
            url,
        ] => {
            // skopeo takes the registry without the scheme.
            let registry = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"))
                .unwrap_or_else(|| panic!("the login's registry has no scheme: {line}"));
            (registry.to_owned(), *user, *password)
        }
        _ => panic!("an unexpected docker login line: {line}"),
    };
    let variable = password
        .strip_prefix("\"$")
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or_else(|| panic!("the login names no variable: {line}"));
    let value = served
        .env
        .get(variable)
        .unwrap_or_else(|| panic!("{variable} is not in the sandbox's env file"));
    let unquote = |s: &str| s.trim_matches('\'').to_owned();
    (unquote(&registry), unquote(user), value.clone())
}

/// Whether a printed line is a login `parse_login` reads: Artifactory's `docker login`,
/// or Google Artifact Registry's from a variable (not its `gcloud auth print-access-token`
/// one, which needs gcloud).
fn is_login(line: &str) -> bool {
    line.starts_with("docker login ")
        || (line.starts_with("echo ") && line.contains(" | docker login "))
}

/// `host:port` of a URL in the env file.
fn host_of(served: &Served, variable: &str) -> String {
    let url = &served.env[variable];
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// A pull token for the sandbox's organization: (identity id, JWT).
fn pull_token(served: &Served) -> (String, String) {
    let org = served.env["CHAINGUARD_ORG_NAME"].clone();
    let output = run(
        served,
        &[
            "--show-secrets",
            "chainguard",
            "pull-token",
            "create",
            "--org",
            &org,
            "--role",
            "registry.pull",
            "-o",
            "json",
        ],
        &[],
    );
    expect_code(&output, 0);
    let token: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        token["identity_id"].as_str().unwrap().to_owned(),
        token["token"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn skopeo_pulls_every_reference_apply_prints_with_the_login_it_prints() {
    let Some(bin) = tool("skopeo") else {
        return;
    };
    let served = serve();
    let applied = flow(&served, &["apply"], &[]);
    expect_code(&applied, 0);
    let document = json(&applied);
    let dir = tempfile::tempdir().unwrap();
    let skopeo = Skopeo::new(bin, dir.path());

    let mut pulled = Vec::new();
    for cache in document["access"].as_array().unwrap() {
        // An entry is one line or a snippet: a title comment and its lines.
        let lines: Vec<&str> = cache["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str())
            .flat_map(str::lines)
            .collect();
        let login = lines
            .iter()
            .find(|line| is_login(line))
            .map(|line| parse_login(line, &served));
        for reference in lines.iter().filter_map(|l| l.strip_prefix("docker pull ")) {
            let (registry, user, password) = login
                .clone()
                .unwrap_or_else(|| panic!("{}: a pull without a login", cache["cache"]));
            succeeded(
                &skopeo.login(&registry, &user, &password),
                &format!("skopeo login {registry}"),
            );
            let inspected = skopeo.inspect(reference);
            succeeded(&inspected, &format!("skopeo inspect {reference}"));
            let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
            assert!(
                inspected["RepoTags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "latest"),
                "{inspected}"
            );
            let layout = dir.path().join(format!("copy-{}", pulled.len()));
            succeeded(
                &skopeo.copy_all(reference, &layout),
                &format!("skopeo copy {reference}"),
            );
            // The index, two manifests, two configs and two layers.
            let blobs = std::fs::read_dir(layout.join("blobs/sha256"))
                .unwrap()
                .count();
            assert_eq!(blobs, 7, "{reference}");
            pulled.push(reference.to_owned());
        }
    }
    // Artifactory: cgr-public, cgr-private and both images through cgr-virt; Google
    // Artifact Registry (logged in as oauth2accesstoken with GOOGLE_OAUTH_ACCESS_TOKEN, as
    // printed): the same through chainguard-pull-through, chainguard-private and
    // chainguard-virt, by project and repository; Cloudsmith: cloudsmith-public,
    // cloudsmith-private and both through the repository chainguard, by workspace.
    assert_eq!(pulled.len(), 12, "{pulled:?}");
    let gar = host_of(&served, "GAR_DOCKER_REGISTRY_URL");
    let project = &served.env["GOOGLE_CLOUD_PROJECT"];
    let org = &served.env["CHAINGUARD_ORG_NAME"];
    let through_gar: Vec<&str> = pulled
        .iter()
        .filter_map(|r| r.strip_prefix(&format!("{gar}/{project}/")))
        .collect();
    assert_eq!(
        through_gar,
        [
            "chainguard-pull-through/chainguard/go:latest".to_owned(),
            format!("chainguard-private/{org}/chainguard-base:latest"),
            "chainguard-virt/chainguard/go:latest".to_owned(),
            format!("chainguard-virt/{org}/chainguard-base:latest"),
        ]
    );
    // The repository chainguard; its public upstream is https://cgr.dev/chainguard, so the
    // seed's image has no chainguard/ of its own.
    let cloudsmith = host_of(&served, "CLOUDSMITH_DOCKER_URL");
    let owner = &served.env["CLOUDSMITH_OWNER"];
    let through_cloudsmith: Vec<&str> = pulled
        .iter()
        .filter_map(|r| r.strip_prefix(&format!("{cloudsmith}/{owner}/")))
        .collect();
    assert_eq!(
        through_cloudsmith,
        [
            "chainguard/nginx:latest".to_owned(),
            format!("chainguard/{org}/chainguard-base:latest"),
            "chainguard/nginx:latest".to_owned(),
            format!("chainguard/{org}/chainguard-base:latest"),
        ]
    );
}

#[test]
fn skopeo_logs_in_to_the_fake_cgr_dev_with_a_pull_token() {
    let Some(bin) = tool("skopeo") else {
        return;
    };
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let skopeo = Skopeo::new(bin, dir.path());
    let registry = host_of(&served, "CGR_REGISTRY_URL");
    let org = served.env["CHAINGUARD_ORG_NAME"].clone();
    let public = format!("{registry}/chainguard/go:latest");
    let private = format!("{registry}/{org}/chainguard-base:latest");

    succeeded(
        &skopeo.inspect(&public),
        "anonymous skopeo inspect (public)",
    );
    let refused = skopeo.inspect(&private);
    assert!(
        !refused.status.success(),
        "a private image needs a login: {}",
        text(&refused.stdout)
    );

    let (user, password) = pull_token(&served);
    succeeded(
        &skopeo.login(&registry, &user, &password),
        "skopeo login with a pull token",
    );
    succeeded(&skopeo.inspect(&public), "skopeo inspect (public)");
    let inspected = skopeo.inspect(&private);
    succeeded(&inspected, "skopeo inspect (private)");
    let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(inspected["Architecture"], "amd64");
    let tags = skopeo.list_tags(&format!("{registry}/{org}/chainguard-base"));
    succeeded(&tags, "skopeo list-tags (private)");
    let tags: serde_json::Value = serde_json::from_slice(&tags.stdout).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["latest", "latest-dev"]));
    succeeded(
        &skopeo.copy_all(&private, &dir.path().join("private")),
        "skopeo copy (private)",
    );

    // A wrong password is refused at login.
    let wrong = skopeo.login(&registry, &user, "not-a-token");
    assert!(!wrong.status.success());
}

/// A loopback port free now (the listener closes on return).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `docker-registry` running in the background; killed on drop.
struct Registry {
    child: Child,
    log: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts `docker-registry` as a pull-through proxy of `remote` with `user`/`password`,
/// listening on `127.0.0.1:<port>`, its storage and config in `dir`.
fn proxy_registry(
    bin: &Path,
    dir: &Path,
    port: u16,
    remote: &str,
    (user, password): (&str, &str),
) -> Registry {
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    // JSON strings are YAML strings: the values need no other quoting.
    let quote = |value: &str| serde_json::Value::from(value).to_string();
    let config = format!(
        "version: 0.1\n\
         log:\n  level: info\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: 127.0.0.1:{port}\n\
         proxy:\n  remoteurl: {}\n  username: {}\n  password: {}\n",
        quote(&storage.display().to_string()),
        quote(remote),
        quote(user),
        quote(password),
    );
    let config_path = dir.join("config.yml");
    std::fs::write(&config_path, config).unwrap();
    let log = dir.join("registry.log");
    let child = Command::new(bin)
        .arg("serve")
        .arg(&config_path)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.join("registry.err")).unwrap())
        .spawn()
        .unwrap();
    let registry = Registry {
        child,
        log: dir.join("registry.err"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry never listened:\n{}",
            registry.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    registry
}

#[test]
fn docker_registry_proxies_public_and_private_images_of_the_fake_cgr_dev() {
    let (Some(skopeo_bin), Some(registry_bin)) = (tool("skopeo"), tool("docker-registry")) else {
        return;
    };
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let (user, password) = pull_token(&served);
    let port = free_port();
    let registry = proxy_registry(
        &registry_bin,
        dir.path(),
        port,
        &served.env["CGR_REGISTRY_URL"],
        (&user, &password),
    );
    let skopeo = Skopeo::new(skopeo_bin, dir.path());
    let org = served.env["CHAINGUARD_ORG_NAME"].clone();
    for image in [
        "chainguard/nginx".to_owned(),
        format!("{org}/chainguard-base"),
    ] {
        let reference = format!("127.0.0.1:{port}/{image}:latest");
        let inspected = skopeo.inspect(&reference);
        assert!(
            inspected.status.success(),
            "skopeo inspect {reference} through docker-registry failed:\n{}\nregistry log:\n{}",
            text(&inspected.stderr),
            registry.log()
        );
        let layout = dir.path().join(image.replace('/', "-"));
        let copied = skopeo.copy_all(&reference, &layout);
        assert!(
            copied.status.success(),
            "skopeo copy {reference} through docker-registry failed:\n{}\nregistry log:\n{}",
            text(&copied.stderr),
            registry.log()
        );
    }
}
