//! `pull-through cloudsmith ...`: the repositories of seed 004 and its checks.
//!
//! The workspace, key and URLs come from the environment (`CLOUDSMITH_API_KEY`,
//! `CLOUDSMITH_OWNER`, and when set `CLOUDSMITH_API_URL` and `CLOUDSMITH_DOCKER_URL`), so
//! the sandbox's env file works as is.

use clap::Subcommand;
use cloudsmith_client::{CloudsmithClient, DockerUpstream, Repository, upstream_problems};
use pull_through_core::{Deleted, Error};
use serde_json::{Value, json};

use crate::Failure;
use crate::cli::GlobalArgs;
use crate::output::{emit, journal};

#[derive(Debug, Subcommand)]
pub(crate) enum CloudsmithCommand {
    /// Repositories of the workspace (CLOUDSMITH_OWNER) and their Docker upstreams.
    Repos {
        #[command(subcommand)]
        command: ReposCommand,
    },
    /// Check a repository's Docker upstreams against the seed's rules: URL exactly
    /// `https://cgr.dev/chainguard` or `https://cgr.dev`, Cache and Proxy, SSL verified,
    /// Username and Password for `https://cgr.dev`, active. Exits 1 when a rule is broken.
    Check {
        /// The repository's slug.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReposCommand {
    /// List the repositories with their Docker upstreams in the order they are tried.
    List,
    /// Show a repository's settings and its Docker upstreams (never a stored secret: the
    /// API does not return it).
    Show {
        /// The repository's slug.
        name: String,
    },
    /// Delete a repository with its upstreams and everything it cached. Cloudsmith keeps
    /// a deleted repository's slug reserved for a while.
    Delete {
        /// The repository's slug.
        name: String,
    },
}

/// Bad input is exit 2, the rest exit 1; a refused key is named by its variable, as the
/// flows name it.
fn failure(client: &CloudsmithClient, mut err: Error) -> Failure {
    if let Error::Unauthenticated(api) | Error::PermissionDenied(api) = &mut err {
        api.fix.get_or_insert_with(|| {
            format!(
                "the API key in {} was refused; set it to a valid Cloudsmith API key (user \
                 settings > API Key, or a service account's key) that may manage workspace {}",
                client.api_key_var(),
                client.owner()
            )
        });
    }
    crate::output::failure(err)
}

fn deleted(outcome: Deleted) -> &'static str {
    match outcome {
        Deleted::AlreadyAbsent => "already absent",
        _ => "removed",
    }
}

/// An upstream's fields, as `show` and `list` print them: no secret among them.
fn upstream_json(upstream: &DockerUpstream) -> Value {
    json!({
        "slug_perm": upstream.slug_perm,
        "name": upstream.name,
        "upstream_url": upstream.upstream_url,
        "mode": upstream.mode.as_ref().map(|m| m.as_str()),
        "priority": upstream.priority,
        "verify_ssl": upstream.verify_ssl,
        "is_active": upstream.is_active,
        "auth_mode": upstream.auth_mode.as_ref().map(|m| m.as_str()),
        "auth_username": upstream.auth_username,
        "disable_reason": upstream.disable_reason,
    })
}

fn repository_json(repository: &Repository) -> Value {
    json!({
        "slug": repository.slug,
        "name": repository.name,
        "slug_perm": repository.slug_perm,
        "repository_type_str": repository.repository_type_str.as_ref().map(|t| t.as_str()),
        "storage_region": repository.storage_region,
        "description": repository.description,
        "package_count": repository.package_count,
        "self_url": repository.self_url,
    })
}

/// The upstreams in the order the registry tries them: priority, then age.
async fn upstreams_in_order(
    client: &CloudsmithClient,
    repository: &str,
) -> Result<Vec<DockerUpstream>, Failure> {
    let mut upstreams = client
        .list_upstreams(repository)
        .await
        .map_err(|err| failure(client, err))?;
    upstreams.sort_by(|a, b| {
        let key = |u: &DockerUpstream| (u.priority.unwrap_or(i64::MAX), u.created_at.clone());
        key(a).cmp(&key(b))
    });
    Ok(upstreams)
}

async fn existing(client: &CloudsmithClient, name: &str) -> Result<Repository, Failure> {
    client
        .get_repository(name)
        .await
        .map_err(|err| failure(client, err))?
        .ok_or_else(|| {
            Failure::Step(format!(
                "no repository {name:?} in workspace {}",
                client.owner()
            ))
        })
}

pub(crate) async fn run(global: &GlobalArgs, command: &CloudsmithCommand) -> Result<(), Failure> {
    let mut builder = CloudsmithClient::builder().from_env();
    if let Some(journal) = journal(global)? {
        builder = builder.with_observer(journal);
    }
    let client = builder.build().map_err(crate::output::failure)?;
    match command {
        CloudsmithCommand::Repos { command } => repos(global, &client, command).await,
        CloudsmithCommand::Check { name } => check(global, &client, name).await,
    }
}

async fn repos(
    global: &GlobalArgs,
    client: &CloudsmithClient,
    command: &ReposCommand,
) -> Result<(), Failure> {
    match command {
        ReposCommand::List => {
            let mut rows = Vec::new();
            let mut lines = Vec::new();
            let mut repositories = client
                .list_repositories()
                .await
                .map_err(|err| failure(client, err))?;
            // The API lists the newest first; people look a name up.
            repositories.sort_by(|a, b| a.slug.cmp(&b.slug));
            for repository in repositories {
                let upstreams = upstreams_in_order(client, &repository.slug).await?;
                let shown: Vec<String> = upstreams
                    .iter()
                    .map(|u| format!("{} ({})", u.name, u.upstream_url))
                    .collect();
                let kind = repository
                    .repository_type_str
                    .as_ref()
                    .map_or("", |t| t.as_str());
                lines.push(
                    format!(
                        "{:<24} {:<8} {}",
                        repository.slug,
                        kind,
                        if shown.is_empty() {
                            "no Docker upstream".to_owned()
                        } else {
                            shown.join(", ")
                        }
                    )
                    .trim_end()
                    .to_owned(),
                );
                rows.push(json!({
                    "slug": repository.slug,
                    "repository_type_str": repository.repository_type_str.as_ref().map(|t| t.as_str()),
                    "storage_region": repository.storage_region,
                    "upstreams": upstreams.iter().map(|u| json!({
                        "name": u.name, "upstream_url": u.upstream_url, "priority": u.priority,
                    })).collect::<Vec<_>>(),
                }));
            }
            emit(
                global.output,
                &json!({"owner": client.owner(), "repositories": rows}),
                || {
                    if lines.is_empty() {
                        format!("no repositories in workspace {}", client.owner())
                    } else {
                        lines.join("\n")
                    }
                },
            )
        }
        ReposCommand::Show { name } => {
            let repository = existing(client, name).await?;
            let upstreams = upstreams_in_order(client, &repository.slug).await?;
            let document = json!({
                "repository": repository_json(&repository),
                "upstreams": upstreams.iter().map(upstream_json).collect::<Vec<_>>(),
            });
            emit(global.output, &document, || {
                serde_json::to_string_pretty(&document).unwrap_or_default()
            })
        }
        ReposCommand::Delete { name } => {
            let outcome = client
                .delete_repository(name)
                .await
                .map_err(|err| failure(client, err))?;
            emit(
                global.output,
                &json!({"name": name, "result": deleted(outcome)}),
                || format!("{name}: {}", deleted(outcome)),
            )
        }
    }
}

async fn check(global: &GlobalArgs, client: &CloudsmithClient, name: &str) -> Result<(), Failure> {
    let repository = existing(client, name).await?;
    let upstreams = upstreams_in_order(client, &repository.slug).await?;
    let mut problems: Vec<(String, String, String)> = upstreams
        .iter()
        .flat_map(|upstream| {
            upstream_problems(upstream).into_iter().map(|problem| {
                let diagnosis = problem.diagnosis(&upstream.name);
                (diagnosis.check, diagnosis.problem, diagnosis.hint)
            })
        })
        .collect();
    if upstreams.is_empty() {
        problems.push((
            "upstreams".to_owned(),
            "it holds no Docker upstream, so it pulls nothing through".to_owned(),
            "apply a cache on it (or add an upstream of https://cgr.dev/chainguard or \
             https://cgr.dev)"
                .to_owned(),
        ));
    }
    let rows: Vec<Value> = problems
        .iter()
        .map(|(check, problem, hint)| json!({"check": check, "problem": problem, "hint": hint}))
        .collect();
    let names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
    emit(
        global.output,
        &json!({"name": name, "upstreams": names, "problems": rows}),
        || {
            if problems.is_empty() {
                format!(
                    "{name}: as the seed requires (upstreams in order: {})",
                    names.join(", ")
                )
            } else {
                problems
                    .iter()
                    .map(|(_, problem, hint)| format!("{name}: {problem}\n  hint: {hint}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        },
    )?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Step(format!(
            "{name} breaks {} of the seed's rules",
            problems.len()
        )))
    }
}
