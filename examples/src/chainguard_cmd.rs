//! `pull-through chainguard ...`: what the tutorials do with chainctl.
//!
//! Endpoints and credentials come from the environment (`CHAINGUARD_API_URL`,
//! `CHAINGUARD_ISSUER_URL`, `CHAINGUARD_TOKEN`, ...), so the sandbox's env file works as is.

use chainguard_client::{ChainguardClient, PullToken, PullTokenOptions};
use clap::{Args, Subcommand, ValueEnum};
use pull_through_core::{ExposeSecret, OrgId, PullTokenRole};
use serde_json::json;

use crate::Failure;
use crate::cli::GlobalArgs;
use crate::output::{emit, failure, journal, secret_destination, step, write_secrets};

#[derive(Debug, Subcommand)]
pub(crate) enum ChainguardCommand {
    /// Organizations.
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// Roles.
    Roles {
        #[command(subcommand)]
        command: RolesCommand,
    },
    /// Pull tokens: a static identity, a role binding and a signed JWT.
    PullToken {
        #[command(subcommand)]
        command: PullTokenCommand,
    },
    /// Role bindings.
    RoleBinding {
        #[command(subcommand)]
        command: RoleBindingCommand,
    },
    /// Print a token for an audience (needs --show-secrets or --secrets-out).
    Token {
        /// The audience: the console API (the default), cgr.dev or apk.cgr.dev.
        #[arg(long, default_value = chainguard_client::auth::CONSOLE_API_AUDIENCE)]
        audience: String,
    },
    /// Who the token belongs to and its roles per organization.
    Status,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgsCommand {
    /// List the organizations the token can see.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RolesCommand {
    /// List roles.
    List {
        /// Only roles of this name.
        #[arg(long)]
        name: Option<String>,
    },
}

/// The two pull-token roles.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// Container images: registry.pull.
    #[value(name = "registry.pull")]
    RegistryPull,
    /// APK packages: apk.pull.
    #[value(name = "apk.pull")]
    ApkPull,
}

/// chainctl's output forms.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TokenFormat {
    /// CHAINGUARD_IDENTITY_ID and CHAINGUARD_TOKEN lines.
    Env,
    /// {"identity_id", "token"}.
    Json,
    /// The docker login line.
    Docker,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The organization, by name or id.
    #[arg(long)]
    org: String,
    /// The role to bind.
    #[arg(long, value_enum, default_value = "registry.pull")]
    role: RoleArg,
    /// How long the token lives (at most 8760h).
    #[arg(long, default_value = "720h", value_parser = humantime::parse_duration)]
    ttl: std::time::Duration,
    /// The identity's name.
    #[arg(long, default_value = "pull-token")]
    name: String,
    /// The identity's description.
    #[arg(long, default_value = "")]
    description: String,
    /// How to print the token.
    #[arg(short = 'o', long = "format", value_enum, default_value = "docker")]
    format: TokenFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PullTokenCommand {
    /// Create a pull token (needs --show-secrets or --secrets-out: it is shown only once).
    Create(CreateArgs),
    /// List an organization's pull tokens and when they expire.
    List {
        /// The organization, by name or id.
        #[arg(long)]
        org: String,
    },
    /// Revoke a pull token (delete its identity).
    Revoke {
        /// The identity id (`<40 hex>/<16 hex>`, as `list` prints it), never the token.
        id: String,
    },
    /// Delete an organization's expired pull tokens.
    Prune {
        /// The organization, by name or id.
        #[arg(long)]
        org: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleBindingCommand {
    /// Bind a role to an identity in an organization.
    Create {
        /// The organization, by name or id.
        #[arg(long)]
        org: String,
        /// The identity id.
        #[arg(long)]
        identity: String,
        /// The built-in role's name (apk.pull, registry.pull, viewer, ...).
        #[arg(long)]
        role: String,
    },
    /// Delete a role binding.
    Delete {
        /// The binding id.
        id: String,
    },
}

async fn organization(client: &ChainguardClient, org: &str) -> Result<OrgId, Failure> {
    match OrgId::new(org) {
        Ok(id) => Ok(id),
        Err(_) => client.resolve_organization(org).await.map_err(failure),
    }
}

/// Refuses, before any request, an argument that is not an identity or binding id,
/// without echoing it: what does not fit may be the token itself.
fn check_child_id(place: &str, what: &str, source: &str, text: &str) -> Result<(), Failure> {
    if chainguard_client::is_child_id(text) {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "{place}: the argument is not {what}; give it as `{source}` prints it: the \
         organization's 40 hex digits, `/`, then 16 hex digits. It is not shown here, in case \
         it is a token"
    )))
}

/// The id checks of every command that puts an id into a request.
fn check_ids(command: &ChainguardCommand) -> Result<(), Failure> {
    match command {
        ChainguardCommand::PullToken {
            command: PullTokenCommand::Revoke { id },
        } => check_child_id("pull-token revoke", "an identity id", "pull-token list", id),
        ChainguardCommand::RoleBinding {
            command: RoleBindingCommand::Delete { id },
        } => check_child_id(
            "role-binding delete",
            "a role binding id",
            "role-binding create",
            id,
        ),
        ChainguardCommand::RoleBinding {
            command: RoleBindingCommand::Create { identity, .. },
        } => check_child_id(
            "role-binding create --identity",
            "an identity id",
            "pull-token list",
            identity,
        ),
        _ => Ok(()),
    }
}

pub(crate) async fn run(global: &GlobalArgs, command: &ChainguardCommand) -> Result<(), Failure> {
    check_ids(command)?;
    if let ChainguardCommand::Token { .. } = command {
        secret_destination(global, "the token")?;
    }
    if let ChainguardCommand::PullToken {
        command: PullTokenCommand::Create(_),
    } = command
    {
        secret_destination(global, "the pull token")?;
    }
    // The journal first, so the token exchanges `from_env` sets up are recorded too.
    let mut builder = ChainguardClient::builder();
    if let Some(journal) = journal(global)? {
        builder = builder.with_observer(journal);
    }
    let client = builder
        .from_env()
        .and_then(|builder| builder.build())
        .map_err(failure)?;
    match command {
        ChainguardCommand::Orgs {
            command: OrgsCommand::List,
        } => {
            let orgs = client.list_organizations().await.map_err(failure)?;
            let rows: Vec<_> = orgs
                .iter()
                .map(|g| json!({"id": g.id, "name": g.name, "description": g.description}))
                .collect();
            emit(global.output, &json!({"organizations": rows}), || {
                orgs.iter()
                    .map(|g| format!("{}  {}", g.id, g.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ChainguardCommand::Roles {
            command: RolesCommand::List { name },
        } => {
            let roles = client.list_roles(name.as_deref()).await.map_err(failure)?;
            let rows: Vec<_> = roles
                .iter()
                .map(|r| json!({"id": r.id, "name": r.name, "built_in": r.is_built_in()}))
                .collect();
            emit(global.output, &json!({"roles": rows}), || {
                roles
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {}{}",
                            r.id,
                            r.name,
                            if r.is_built_in() { "" } else { "  (custom)" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ChainguardCommand::PullToken { command } => pull_token(global, &client, command).await,
        ChainguardCommand::RoleBinding {
            command:
                RoleBindingCommand::Create {
                    org,
                    identity,
                    role,
                },
        } => {
            let org = organization(&client, org).await?;
            let role = client.find_builtin_role(role).await.map_err(failure)?;
            let binding = client
                .create_role_binding(org.as_str(), identity, &role.id)
                .await
                .map_err(failure)?;
            emit(
                global.output,
                &json!({"id": binding.id, "identity": identity, "role": role.name}),
                || format!("bound {} to {identity} in {org}: {}", role.name, binding.id),
            )
        }
        ChainguardCommand::RoleBinding {
            command: RoleBindingCommand::Delete { id },
        } => {
            let outcome = client.delete_role_binding(id).await.map_err(failure)?;
            emit(
                global.output,
                &json!({"id": id, "outcome": outcome}),
                || format!("{id}: {outcome:?}"),
            )
        }
        ChainguardCommand::Token { audience } => {
            let token = client.token(audience).await.map_err(failure)?;
            write_secrets(
                global,
                &[(
                    "CHAINGUARD_TOKEN".to_owned(),
                    token.expose_secret().to_owned(),
                )],
            )?;
            let printed = if global.show_secrets {
                token.expose_secret().to_owned()
            } else {
                "[written to --secrets-out]".to_owned()
            };
            emit(
                global.output,
                &json!({"audience": audience, "token": printed}),
                || printed.clone(),
            )
        }
        ChainguardCommand::Status => {
            let me = client.status().await.map_err(failure)?;
            let grants: Vec<_> = me
                .capabilities
                .iter()
                .map(|grant| {
                    json!({
                        "organization": grant.group.as_ref().map(|g| g.name.clone()),
                        "organization_id": grant.group.as_ref().map(|g| g.id.clone()),
                        "role": grant.role.as_ref().map(|r| r.name.clone()),
                    })
                })
                .collect();
            emit(
                global.output,
                &json!({"subject": me.subject, "issuer": me.issuer, "expiry": me.expiry, "roles": grants}),
                || {
                    let mut text = format!("subject: {}\nissuer: {}\n", me.subject, me.issuer);
                    for grant in &me.capabilities {
                        text.push_str(&format!(
                            "  {}: {}\n",
                            grant.group.as_ref().map_or("?", |g| g.name.as_str()),
                            grant
                                .role
                                .as_ref()
                                .map_or("(capabilities only)", |r| r.name.as_str())
                        ));
                    }
                    text.trim_end().to_owned()
                },
            )
        }
    }
}

async fn pull_token(
    global: &GlobalArgs,
    client: &ChainguardClient,
    command: &PullTokenCommand,
) -> Result<(), Failure> {
    match command {
        PullTokenCommand::Create(args) => {
            let role = match args.role {
                RoleArg::RegistryPull => PullTokenRole::RegistryPull,
                RoleArg::ApkPull => PullTokenRole::ApkPull,
            };
            let options = PullTokenOptions::new(role)
                .with_name(&args.name)
                .with_description(&args.description)
                .with_ttl(args.ttl)
                .map_err(|err| Failure::Usage(err.to_string()))?;
            let org = organization(client, &args.org).await?;
            let token: PullToken = client
                .create_pull_token(&org, options)
                .await
                .map_err(failure)?;
            let written = write_secrets(
                global,
                &[
                    (
                        "CHAINGUARD_IDENTITY_ID".to_owned(),
                        token.identity_id.clone(),
                    ),
                    (
                        "CHAINGUARD_TOKEN".to_owned(),
                        token.token.expose_secret().to_owned(),
                    ),
                ],
            );
            if let Err(failed) = written {
                // Nobody holds the token: revoke it rather than leave a live credential.
                let revoked = client.revoke_pull_token(&token.identity_id).await;
                let Failure::Step(problem) = failed else {
                    return Err(failed);
                };
                return Err(step(match revoked {
                    Ok(_) => format!(
                        "{problem}; the new pull token was revoked, so nothing is left behind"
                    ),
                    Err(err) => format!(
                        "{problem}; revoking the new pull token {} failed too ({err}): run `pull-through chainguard pull-token revoke {}`",
                        token.identity_id, token.identity_id
                    ),
                }));
            }
            let rendering = match args.format {
                TokenFormat::Env => token.env_lines(),
                TokenFormat::Json => token.json(),
                TokenFormat::Docker => token.docker_login(),
            };
            let printed = if global.show_secrets {
                rendering.expose()
            } else {
                rendering.shown()
            }
            .to_owned();
            let expires = humantime::format_rfc3339_seconds(token.expires_at).to_string();
            emit(
                global.output,
                &json!({"identity_id": token.identity_id, "expires_at": expires,
                "token": if global.show_secrets { token.token.expose_secret() } else { "[written to --secrets-out]" }}),
                || printed.clone(),
            )
        }
        PullTokenCommand::List { org } => {
            let org = organization(client, org).await?;
            let tokens = client.list_pull_tokens(&org).await.map_err(failure)?;
            let rows: Vec<_> = tokens
                .iter()
                .map(|t| json!({"identity_id": t.identity_id, "name": t.name, "expiration": t.expiration, "expired": t.expired}))
                .collect();
            emit(global.output, &json!({"pull_tokens": rows}), || {
                tokens
                    .iter()
                    .map(|t| {
                        format!(
                            "{}  {}  {}{}",
                            t.identity_id,
                            t.name,
                            t.expiration,
                            if t.expired { "  (expired)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        PullTokenCommand::Revoke { id } => {
            let outcome = client.revoke_pull_token(id).await.map_err(failure)?;
            emit(
                global.output,
                &json!({"identity_id": id, "outcome": outcome}),
                || format!("{id}: {outcome:?}"),
            )
        }
        PullTokenCommand::Prune { org } => {
            let org = organization(client, org).await?;
            let pruned = client
                .prune_expired_pull_tokens(&org)
                .await
                .map_err(failure)?;
            emit(global.output, &json!({"pruned": pruned}), || {
                format!("deleted {} expired pull token(s)", pruned.len())
            })
        }
    }
}
