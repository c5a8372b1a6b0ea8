//! `pull-through gar ...`: the repositories and checks of the Google Artifact Registry
//! tutorial.
//!
//! The project, location, token and endpoints come from the environment
//! (`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`, `GOOGLE_OAUTH_ACCESS_TOKEN` or else
//! Application Default Credentials, gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` and
//! `GAR_DOCKER_REGISTRY_URL`), so the sandbox's env file works as is.

use clap::{Args, Subcommand};
use gar_client::model::{MODE_VIRTUAL, Repository};
use gar_client::{GarBackend, GarClient, check_repository_id, secret_id_for};
use pull_through_core::redact::redact_text;
use pull_through_core::{
    CacheName, CheckOutcome, Deleted, Diagnosis, OrgName, Probe, PullThroughBackend, Upstream,
    Verification,
};
use serde_json::json;

use crate::Failure;
use crate::cli::GlobalArgs;
use crate::output::{emit, failure, journal};

#[derive(Debug, Subcommand)]
pub(crate) enum GarCommand {
    /// Repositories of the location.
    Repos {
        #[command(subcommand)]
        command: ReposCommand,
    },
    /// Check a repository against the tutorial's rules, then pull through it.
    ///
    /// The rules: a Docker remote of exactly `https://cgr.dev/`, or a virtual; credentials
    /// pinning an enabled version of the cache's own secret, which the Artifact Registry
    /// service agent may read. The pull: a manifest, as Docker makes it. Exits 1 when a
    /// rule is broken or the pull fails, with the hint.
    Check(CheckArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReposCommand {
    /// List the repositories of the location: id, mode, format, and the upstream (or a
    /// virtual's members).
    List,
    /// Show a repository as Artifact Registry answers it (credentials name a secret
    /// version; the password itself is only in Secret Manager).
    Show {
        /// The repository's id.
        name: String,
    },
    /// Delete a repository and everything it cached; a repository with upstream
    /// credentials has its secret (`pull-through-NAME`) deleted too.
    Delete {
        /// The repository's id.
        name: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The repository's id.
    name: String,
    /// What to pull, `IMAGE[:TAG]` or `IMAGE@DIGEST`. Default: `ORG/chainguard-base:latest`
    /// for a repository with credentials when the organization is known, else
    /// `chainguard/go:latest`.
    #[arg(long, value_name = "IMAGE")]
    probe: Option<String>,
    /// The Chainguard organization whose private images an authenticated repository
    /// serves.
    #[arg(long, env = "CHAINGUARD_ORG_NAME", value_name = "NAME")]
    org: Option<String>,
}

/// `IMAGE[:TAG]` or `IMAGE@DIGEST` as a probe (`latest` when no tag is given).
fn parse_probe(text: &str) -> Result<Probe, Failure> {
    let refused = || {
        Failure::Usage(format!(
            "--probe {text:?}: give an image such as chainguard/go:latest (IMAGE[:TAG] or \
             IMAGE@DIGEST)"
        ))
    };
    let (image, reference) = match text.split_once('@') {
        Some((image, digest)) => (image, digest),
        None => match text.rsplit_once(':') {
            Some((image, tag)) if !tag.contains('/') => (image, tag),
            _ => (text, "latest"),
        },
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':'))
    };
    if !plain(image) || !plain(reference) || image.starts_with('/') || image.ends_with('/') {
        return Err(refused());
    }
    Ok(Probe::DockerManifest {
        image: image.to_owned(),
        reference: reference.to_owned(),
    })
}

/// Refuses, before any request, a NAME that is not a repository id. The message shows the
/// name, unless it has a token's shape (a JWT pasted where the id belongs).
fn check_name(name: &str) -> Result<(), Failure> {
    check_repository_id(name).map_err(|err| Failure::Usage(redact_text(&err.to_string())))
}

fn deleted(outcome: Deleted) -> &'static str {
    match outcome {
        Deleted::AlreadyAbsent => "already absent",
        _ => "removed",
    }
}

/// `REMOTE_REPOSITORY` -> `remote`.
fn mode_word(repository: &Repository) -> String {
    repository
        .mode
        .as_deref()
        .unwrap_or("STANDARD_REPOSITORY")
        .trim_end_matches("_REPOSITORY")
        .to_ascii_lowercase()
}

/// A remote's upstream (with "authenticated" when it has credentials), or a virtual's
/// members in priority order.
fn source(repository: &Repository) -> String {
    if repository.mode.as_deref() == Some(MODE_VIRTUAL) {
        return repository.members().join(", ");
    }
    let upstream = repository.upstream_uri().unwrap_or_default().to_owned();
    match repository.credentials() {
        Some(creds) => format!("{upstream} (authenticated as {})", creds.username),
        None => upstream,
    }
}

pub(crate) async fn run(global: &GlobalArgs, command: &GarCommand) -> Result<(), Failure> {
    let probe = match command {
        GarCommand::Check(CheckArgs {
            probe: Some(text), ..
        }) => Some(parse_probe(text)?),
        _ => None,
    };
    let org = match command {
        GarCommand::Check(CheckArgs { org: Some(org), .. }) => {
            Some(OrgName::new(org.clone()).map_err(|err| Failure::Usage(format!("--org: {err}")))?)
        }
        _ => None,
    };
    match command {
        GarCommand::Repos {
            command: ReposCommand::Show { name } | ReposCommand::Delete { name },
        }
        | GarCommand::Check(CheckArgs { name, .. }) => check_name(name)?,
        GarCommand::Repos {
            command: ReposCommand::List,
        } => {}
    }
    let mut builder = GarClient::builder().from_env();
    if let Some(journal) = journal(global)? {
        builder = builder.with_observer(journal);
    }
    let client = builder.build().map_err(failure)?;
    let mut backend = GarBackend::new(client.clone());
    if let Some(org) = &org {
        backend = backend.with_org(org.clone());
    }
    match command {
        GarCommand::Repos { command } => repos(global, &backend, command).await,
        GarCommand::Check(args) => check(global, &backend, &args.name, probe, org).await,
    }
}

async fn repos(
    global: &GlobalArgs,
    backend: &GarBackend,
    command: &ReposCommand,
) -> Result<(), Failure> {
    let client = backend.client();
    match command {
        ReposCommand::List => {
            let listed = client.list_repositories().await.map_err(failure)?;
            let rows: Vec<_> = listed
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id(),
                        "mode": mode_word(r),
                        "format": r.format.as_deref().unwrap_or_default().to_ascii_lowercase(),
                        "upstream": r.upstream_uri(),
                        "members": (r.mode.as_deref() == Some(MODE_VIRTUAL)).then(|| r.members()),
                        "username": r.credentials().map(|c| c.username.clone()),
                        "registryUri": r.registry_uri,
                    })
                })
                .collect();
            emit(global.output, &json!({"repositories": rows}), || {
                listed
                    .iter()
                    .map(|r| {
                        format!(
                            "{:<28} {:<8} {:<7} {}",
                            r.id().unwrap_or_default(),
                            mode_word(r),
                            r.format.as_deref().unwrap_or_default().to_ascii_lowercase(),
                            source(r)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ReposCommand::Show { name } => {
            let repository = client
                .get_repository(name)
                .await
                .map_err(failure)?
                .ok_or_else(|| {
                    Failure::Step(format!(
                        "no repository {name:?} in location {} of project {}",
                        client.location(),
                        client.project()
                    ))
                })?;
            let document = serde_json::to_value(&repository)
                .map_err(|err| Failure::Step(format!("could not write JSON output: {err}")))?;
            emit(global.output, &document, || {
                serde_json::to_string_pretty(&document).unwrap_or_default()
            })
        }
        ReposCommand::Delete { name } => {
            let cache = CacheName::new(name.clone())
                .map_err(|err| Failure::Usage(format!("{name:?}: {err}")))?;
            // The backend deletes the cache's secret too when the repository had
            // credentials: say which, so nobody looks for it in Secret Manager.
            let had_credentials = client
                .get_repository(name)
                .await
                .map_err(failure)?
                .is_some_and(|r| r.credentials().is_some());
            let outcome = backend.delete(&cache).await.map_err(failure)?;
            let secret = had_credentials.then(|| secret_id_for(name));
            emit(
                global.output,
                &json!({"name": name, "result": deleted(outcome), "secret_deleted": secret}),
                || match &secret {
                    Some(secret) => {
                        format!("{name}: {}; its secret {secret} deleted", deleted(outcome))
                    }
                    None => format!("{name}: {}", deleted(outcome)),
                },
            )
        }
    }
}

/// The probe of `check`: the one given, else the seed's private image for a repository
/// with credentials when the organization is known, else the public one.
fn default_probe(repository: &Repository, org: Option<OrgName>) -> Probe {
    match (repository.credentials(), org) {
        (Some(_), Some(org)) => Probe::default_for(&Upstream::CgrPrivate { org }),
        _ => Probe::default_for(&Upstream::CgrPublic),
    }
}

async fn check(
    global: &GlobalArgs,
    backend: &GarBackend,
    name: &str,
    probe: Option<Probe>,
    org: Option<OrgName>,
) -> Result<(), Failure> {
    let cache = CacheName::new(name.to_owned())
        .map_err(|err| Failure::Usage(format!("{name:?}: {err}")))?;
    let client = backend.client();
    let repository = client
        .get_repository(name)
        .await
        .map_err(failure)?
        .ok_or_else(|| {
            Failure::Step(format!(
                "no repository {name:?} in location {} of project {}",
                client.location(),
                client.project()
            ))
        })?;
    let problems: Vec<Diagnosis> = backend.diagnose(&cache).await.map_err(failure)?;
    let state = backend
        .describe(&cache)
        .await
        .map_err(failure)?
        .ok_or_else(|| Failure::Step(format!("{name} was deleted while it was checked")))?;
    let probe = probe.unwrap_or_else(|| default_probe(&repository, org));
    let verification: Verification = backend.verify(&state, &probe).await.map_err(failure)?;
    let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let pulled = verification.passed();
    emit(
        global.output,
        &json!({
            "name": name,
            "problems": problems,
            "probe": probe.to_string(),
            "passed": pulled,
            "checks": verification.checks,
        }),
        || {
            let mut lines: Vec<String> = if texts.is_empty() {
                vec![format!("{name}: as the tutorial requires")]
            } else {
                texts.iter().map(|t| format!("{name}: {t}")).collect()
            };
            for check in &verification.checks {
                match &check.outcome {
                    CheckOutcome::Passed { detail } => {
                        lines.push(format!("{name}: pulled {}: {detail}", check.step));
                    }
                    CheckOutcome::Failed { reason, hint } => {
                        lines.push(format!("{name}: FAILED {}: {reason}", check.step));
                        if let Some(hint) = hint {
                            lines.push(format!("  hint: {hint}"));
                        }
                    }
                    _ => {}
                }
            }
            lines.join("\n")
        },
    )?;
    match (problems.len(), pulled) {
        (0, true) => Ok(()),
        (0, false) => Err(Failure::Step(format!(
            "{name}: the pull of {probe} through it failed"
        ))),
        (broken, true) => Err(Failure::Step(format!(
            "{name} breaks {broken} of the tutorial's rules"
        ))),
        (broken, false) => Err(Failure::Step(format!(
            "{name} breaks {broken} of the tutorial's rules, and the pull of {probe} through it \
             failed"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_given_as_a_name_is_refused_unseen() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.c2lnLVNFQ1JFVA";
        let err = check_name(jwt).unwrap_err().to_string();
        assert!(err.contains("repository id"), "{err}");
        assert!(
            !err.contains("SFQ1JFVA") && !err.contains("eyJzdWIi"),
            "{err}"
        );
        let err = check_name("Bad_Name").unwrap_err().to_string();
        assert!(err.contains("\"Bad_Name\""), "{err}");
        assert!(check_name("chainguard-pull-through").is_ok());
    }

    #[test]
    fn probes_are_image_references() {
        let probe = |text: &str| match parse_probe(text) {
            Ok(Probe::DockerManifest { image, reference }) => format!("{image} {reference}"),
            Ok(other) => panic!("{other:?}"),
            Err(err) => format!("refused: {err}"),
        };
        assert_eq!(probe("chainguard/go:latest"), "chainguard/go latest");
        assert_eq!(probe("chainguard/go"), "chainguard/go latest");
        assert_eq!(
            probe("example.com/chainguard-base@sha256:abc"),
            "example.com/chainguard-base sha256:abc"
        );
        assert_eq!(
            probe("localhost:5000/chainguard/go"),
            "localhost:5000/chainguard/go latest"
        );
        for bad in [
            "",
            ":latest",
            "chainguard/go:",
            "/go",
            "go/",
            "a b",
            "go?x=1",
        ] {
            assert!(probe(bad).starts_with("refused: --probe"), "{bad}");
        }
    }
}
