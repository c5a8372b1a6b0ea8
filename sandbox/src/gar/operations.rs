//! Artifact Registry's long-running operations (`GET v1/{name=projects/*/locations/*/operations/*}`,
//! finished after a poll or two), and the packages a remote keeps from what it served:
//! list, get, and delete (an operation), which is how a cached image is forgotten.

use std::sync::Arc;

use axum::extract::{Path, Query as RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::envelope::{Query, Refusal, page};
use super::messages::ar_type;
use super::repositories::repository_name;
use super::state::{Operation, State as FakeState};
use super::{Fake, names};

const API: &str = "artifactregistry.googleapis.com";

/// A random UUID (version 4), as Google names operations.
fn uuid() -> String {
    let hex = crate::common::random_hex(16);
    let variant = ["8", "9", "a", "b"][usize::from(hex.as_bytes()[16] % 4)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// Starts an operation that will finish with `response` (an `Any`), and gives its first
/// answer (`done: false`).
pub(crate) fn start(
    state: &mut FakeState,
    polls: u32,
    project: &str,
    location: &str,
    response: Value,
) -> Value {
    let name = format!(
        "projects/{project}/locations/{location}/operations/{}",
        uuid()
    );
    state.operations.insert(
        name.clone(),
        Operation {
            polls_left: polls,
            response,
        },
    );
    json!({"name": name, "metadata": metadata(), "done": false})
}

fn metadata() -> Value {
    json!({"@type": ar_type("OperationMetadata")})
}

/// An `Any` holding `google.protobuf.Empty`, what delete operations finish with.
pub(crate) fn empty() -> Value {
    json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
}

/// `GET v1/projects/{p}/locations/{l}/operations/{id}`.
pub(crate) async fn get(
    State(fake): State<Arc<Fake>>,
    Path((project, location, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let resource = format!("projects/{project}/locations/{location}/operations/{id}");
    let found = names::project(
        &fake,
        &project,
        API,
        "artifactregistry.repositories.get",
        &resource,
    )?;
    names::check_location(&location)?;
    let name = format!("projects/{}/locations/{location}/operations/{id}", found.id);
    let mut state = fake.lock();
    let operation = state
        .operations
        .get_mut(&name)
        .ok_or_else(|| Refusal::not_found(format!("Operation \"{name}\" not found.")))?;
    operation.polls_left = operation.polls_left.saturating_sub(1);
    let answer = if operation.polls_left == 0 {
        json!({"name": name, "metadata": metadata(), "done": true, "response": operation.response})
    } else {
        json!({"name": name, "metadata": metadata(), "done": false})
    };
    Ok(query.answer(answer))
}

/// A package as the API names it: the repository's name, `/packages/`, and the package
/// name with its slashes percent-encoded (`chainguard%2Fgo`).
fn package_json(repository: &str, package: &str, times: &(String, String)) -> Value {
    json!({
        "name": format!("{repository}/packages/{}", package.replace('/', "%2F")),
        "createTime": times.0,
        "updateTime": times.1,
    })
}

type RepositoryPath = Path<(String, String, String)>;

/// `GET .../repositories/{r}/packages?pageSize=&pageToken=`.
pub(crate) async fn list(
    State(fake): State<Arc<Fake>>,
    Path(path): RepositoryPath,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["pageSize", "pageToken", "filter", "orderBy"])?;
    if query.get("filter").is_some_and(|f| !f.is_empty())
        || query.get("orderBy").is_some_and(|o| !o.is_empty())
    {
        return Err(Refusal::invalid(
            "The sandbox lists packages without filter or orderBy.",
        ));
    }
    let name = repository_name(&fake, &path, "artifactregistry.packages.list")?;
    let state = fake.lock();
    let repository = state
        .repositories
        .get(&name)
        .ok_or_else(|| Refusal::not_found("Requested entity was not found."))?;
    let packages: Vec<Value> = repository
        .packages
        .iter()
        .map(|(package, times)| package_json(&name, package, times))
        .collect();
    let (packages, next) = page(&packages, &query, 1000, 1000)?;
    let mut answer = json!({});
    if !packages.is_empty() {
        answer["packages"] = Value::Array(packages);
    }
    if let Some(next) = next {
        answer["nextPageToken"] = next.into();
    }
    Ok(query.answer(answer))
}

/// `GET .../repositories/{r}/packages/{package}`.
pub(crate) async fn get_package(
    State(fake): State<Arc<Fake>>,
    Path((project, location, repository, package)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let name = repository_name(
        &fake,
        &(project, location, repository),
        "artifactregistry.packages.get",
    )?;
    let state = fake.lock();
    let times = state
        .repositories
        .get(&name)
        .and_then(|r| r.packages.get(&package))
        .ok_or_else(|| Refusal::not_found("Requested entity was not found."))?;
    Ok(query.answer(package_json(&name, &package, times)))
}

/// `DELETE .../repositories/{r}/packages/{package}`: forgets the package and what the
/// remote cached of it; an operation.
pub(crate) async fn delete_package(
    State(fake): State<Arc<Fake>>,
    Path((project, location, repository, package)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let name = repository_name(
        &fake,
        &(project.clone(), location.clone(), repository),
        "artifactregistry.packages.delete",
    )?;
    let polls = fake.operation_polls();
    let mut state = fake.lock();
    let removed = state
        .repositories
        .get_mut(&name)
        .and_then(|r| r.packages.remove(&package));
    if removed.is_none() {
        return Err(Refusal::not_found("Requested entity was not found."));
    }
    let prefix = format!("{package}/");
    state
        .cache
        .retain(|(repository, path), _| !(*repository == name && path.starts_with(&prefix)));
    let project = name.split('/').nth(1).unwrap_or_default().to_owned();
    Ok(query.answer(start(&mut state, polls, &project, &location, empty())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_ids_are_version_4_uuids() {
        let id = super::uuid();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }
}
