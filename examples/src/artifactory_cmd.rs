//! `pull-through artifactory ...`: the repositories, tokens and cache steps of the
//! Artifactory tutorials.
//!
//! The instance and token come from the environment (`ARTIFACTORY_URL`,
//! `ARTIFACTORY_ACCESS_TOKEN` or `JFROG_ACCESS_TOKEN`), so the sandbox's env file works as is.

use artifactory_client::{AccessTokenRequest, ArtifactoryClient, RepositoryConfig};
use clap::{Args, Subcommand};
use pull_through_core::{Deleted, ExposeSecret};
use serde_json::json;

use crate::Failure;
use crate::cli::GlobalArgs;
use crate::output::{emit, failure, journal, secret_destination, write_secrets};

#[derive(Debug, Subcommand)]
pub(crate) enum ArtifactoryCommand {
    /// Repositories.
    Repos {
        #[command(subcommand)]
        command: ReposCommand,
    },
    /// Access tokens (the "Set me up" token).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check a remote against the tutorials' rules: URL exactly `https://cgr.dev/` (or a
    /// Chainguard APK repository), token authentication on, URL normalization off. Exits 1
    /// when a rule is broken.
    Check {
        /// The remote repository's key.
        key: String,
    },
    /// Clear what a remote has cached (everything, or under PATH), as the tutorials'
    /// debugging steps do.
    ClearCache {
        /// The remote repository's key.
        key: String,
        /// A path under the cache (`x86_64`, `chainguard/go`); everything when omitted.
        path: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReposCommand {
    /// List repositories.
    List {
        /// Only this class: local, remote, virtual or federated.
        #[arg(long = "type")]
        rclass: Option<String>,
        /// Only this package type (docker, alpine, generic, ...).
        #[arg(long)]
        package_type: Option<String>,
    },
    /// Show the settings pull-through manages for a repository (never the password).
    Show {
        /// The repository's key.
        key: String,
    },
    /// Delete a repository and everything it holds.
    Delete {
        /// The repository's key.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an access token for a user (needs --show-secrets or --secrets-out).
    Create(TokenArgs),
    /// Revoke an access token by its id (never the token itself).
    Revoke {
        /// The token's id (`token_id` from create): hex digits and dashes.
        token_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The user the token acts as (`linky@example.com`).
    #[arg(long)]
    username: String,
    /// Lifetime in seconds; the server's default (typically a year) when omitted.
    #[arg(long, value_name = "SECONDS")]
    expires_in: Option<u64>,
    /// A description shown in the token list.
    #[arg(long)]
    description: Option<String>,
    /// Also issue a 64-character reference token.
    #[arg(long)]
    reference_token: bool,
}

fn deleted(outcome: Deleted) -> &'static str {
    match outcome {
        Deleted::AlreadyAbsent => "already absent",
        _ => "removed",
    }
}

/// Whether `text` has the shape of an access token's id: Artifactory's are UUIDs
/// (`8-4-4-4-12` hex digits), the sandbox's 32 hex digits. Access tokens (JWTs, with
/// `.`), reference tokens (64 letters and digits) and API keys do not fit, so a token
/// pasted where its id belongs is refused before it goes into a URL, and never echoed.
fn is_token_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn check_token_id(token_id: &str) -> Result<(), Failure> {
    if is_token_id(token_id) {
        return Ok(());
    }
    Err(Failure::Usage(
        "token revoke: the argument is not a token id; give the token_id that `token create` \
         printed (hex digits and dashes, such as 0f8e6a54-3c2d-4b1a-9e8f-7a6b5c4d3e2f). It is \
         not shown here, in case it is the token itself"
            .to_owned(),
    ))
}

pub(crate) async fn run(global: &GlobalArgs, command: &ArtifactoryCommand) -> Result<(), Failure> {
    if let ArtifactoryCommand::Token {
        command: TokenCommand::Create(_),
    } = command
    {
        secret_destination(global, "the access token")?;
    }
    if let ArtifactoryCommand::Token {
        command: TokenCommand::Revoke { token_id },
    } = command
    {
        check_token_id(token_id)?;
    }
    let mut builder = ArtifactoryClient::builder().from_env();
    if let Some(journal) = journal(global)? {
        builder = builder.with_observer(journal);
    }
    let client = builder.build().map_err(failure)?;
    match command {
        ArtifactoryCommand::Repos { command } => repos(global, &client, command).await,
        ArtifactoryCommand::Token {
            command: TokenCommand::Create(args),
        } => {
            let mut request = AccessTokenRequest::for_user(&args.username);
            if let Some(seconds) = args.expires_in {
                request = request.with_expires_in(seconds);
            }
            if let Some(description) = &args.description {
                request = request.with_description(description);
            }
            if args.reference_token {
                request = request.with_reference_token();
            }
            let token = client
                .create_access_token(&request)
                .await
                .map_err(failure)?;
            let mut pairs = vec![
                ("ARTIFACTORY_TOKEN_ID".to_owned(), token.token_id.clone()),
                (
                    "ARTIFACTORY_TOKEN".to_owned(),
                    token.access_token.expose_secret().to_owned(),
                ),
            ];
            if let Some(reference) = &token.reference_token {
                pairs.push((
                    "ARTIFACTORY_REFERENCE_TOKEN".to_owned(),
                    reference.expose_secret().to_owned(),
                ));
            }
            if let Err(failed) = write_secrets(global, &pairs) {
                // Nobody holds the token: revoke it rather than leave a live credential,
                // as `chainguard pull-token create` does.
                let revoked = client.revoke_access_token(&token.token_id).await;
                let Failure::Step(problem) = failed else {
                    return Err(failed);
                };
                return Err(Failure::Step(match revoked {
                    Ok(_) => format!(
                        "{problem}; the new access token {} was revoked, so nothing is left behind",
                        token.token_id
                    ),
                    Err(err) => format!(
                        "{problem}; revoking the new access token {} failed too ({err}): run \
                         `pull-through artifactory token revoke {}`",
                        token.token_id, token.token_id
                    ),
                }));
            }
            let shown = |value: &str| {
                if global.show_secrets {
                    value.to_owned()
                } else {
                    "[written to --secrets-out]".to_owned()
                }
            };
            let secret_json = |value: &str| {
                if global.show_secrets {
                    json!(value)
                } else {
                    serde_json::Value::Null
                }
            };
            let document = json!({
                "token_id": token.token_id,
                "access_token": secret_json(token.access_token.expose_secret()),
                "reference_token": token.reference_token.as_ref().map(|r| secret_json(r.expose_secret())),
                "expires_in": token.expires_in,
            });
            emit(global.output, &document, || {
                pairs
                    .iter()
                    .map(|(key, value)| {
                        if key == "ARTIFACTORY_TOKEN_ID" {
                            format!("{key}={value}")
                        } else {
                            format!("{key}={}", shown(value))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ArtifactoryCommand::Token {
            command: TokenCommand::Revoke { token_id },
        } => {
            let outcome = client
                .revoke_access_token(token_id)
                .await
                .map_err(failure)?;
            emit(
                global.output,
                &json!({"token_id": token_id, "result": deleted(outcome)}),
                || format!("token {token_id}: {}", deleted(outcome)),
            )
        }
        ArtifactoryCommand::Check { key } => {
            let problems = client.check_remote(key).await.map_err(failure)?;
            let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
            emit(
                global.output,
                &json!({"key": key, "problems": texts}),
                || {
                    if texts.is_empty() {
                        format!("{key}: as the tutorials require")
                    } else {
                        texts
                            .iter()
                            .map(|t| format!("{key}: {t}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    }
                },
            )?;
            if problems.is_empty() {
                Ok(())
            } else {
                Err(Failure::Step(format!(
                    "{key} breaks {} of the tutorials' rules",
                    problems.len()
                )))
            }
        }
        ArtifactoryCommand::ClearCache { key, path } => {
            let path = path.as_deref().unwrap_or_default();
            let outcome = client.clear_cache(key, path).await.map_err(failure)?;
            emit(
                global.output,
                &json!({"key": key, "path": path, "result": deleted(outcome)}),
                || format!("{key}-cache/{path}: {}", deleted(outcome)),
            )
        }
    }
}

async fn repos(
    global: &GlobalArgs,
    client: &ArtifactoryClient,
    command: &ReposCommand,
) -> Result<(), Failure> {
    match command {
        ReposCommand::List {
            rclass,
            package_type,
        } => {
            let listed = client
                .list_repositories(rclass.as_deref(), package_type.as_deref())
                .await
                .map_err(failure)?;
            let rows: Vec<_> = listed
                .iter()
                .map(|r| json!({"key": r.key, "type": r.rclass(), "packageType": r.package_type(), "url": r.url}))
                .collect();
            emit(global.output, &json!({"repositories": rows}), || {
                listed
                    .iter()
                    .map(|r| {
                        format!(
                            "{:<24} {:<8} {:<8} {}",
                            r.key,
                            r.rclass(),
                            r.package_type(),
                            r.url.as_deref().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ReposCommand::Show { key } => {
            let config: RepositoryConfig = client
                .get_repository(key)
                .await
                .map_err(failure)?
                .ok_or_else(|| Failure::Step(format!("no repository {key:?}")))?;
            let document = serde_json::to_value(&config)
                .map_err(|err| Failure::Step(format!("could not write JSON output: {err}")))?;
            emit(global.output, &document, || {
                serde_json::to_string_pretty(&document).unwrap_or_default()
            })
        }
        ReposCommand::Delete { key } => {
            let outcome = client.delete_repository(key).await.map_err(failure)?;
            emit(
                global.output,
                &json!({"key": key, "result": deleted(outcome)}),
                || format!("{key}: {}", deleted(outcome)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_and_tokens_tell_apart() {
        for id in [
            "0f8e6a54-3c2d-4b1a-9e8f-7a6b5c4d3e2f",
            "0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_token_id(id), "{id}");
        }
        let reference = format!("cmVmdGtu{}", "Ab1".repeat(18));
        for secret in [
            "eyJ2ZXIiOiIyIn0.eyJzdWIiOiJ4In0.c2ln",
            reference.as_str(),
            "AKCp8jQ8qzXK",
            "",
            "-",
            &"a".repeat(65),
            "abc/def",
        ] {
            assert!(!is_token_id(secret), "{secret}");
        }
    }
}
