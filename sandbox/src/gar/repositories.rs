//! The Artifact Registry API's routes: locations, repositories (create and delete are
//! operations; patch answers the repository), packages and operations.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::envelope::{Query, Refusal, authenticate, no_such_method, page};
use super::messages::{REPOSITORY, ar_type};
use super::state::{Repository, now};
use super::{Fake, Project, names, operations, patch, remote, schema, validate};

pub(crate) const API: &str = "artifactregistry.googleapis.com";

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    let base = "/v1/projects/{project}/locations";
    Router::new()
        .route(base, get(list_locations))
        .route(&format!("{base}/{{location}}"), get(get_location))
        .route(
            &format!("{base}/{{location}}/repositories"),
            get(list).post(create),
        )
        .route(
            &format!("{base}/{{location}}/repositories/{{repository}}"),
            get(get_one).patch(patch::update).delete(delete),
        )
        .route(
            &format!("{base}/{{location}}/repositories/{{repository}}/packages"),
            get(operations::list),
        )
        .route(
            &format!("{base}/{{location}}/repositories/{{repository}}/packages/{{package}}"),
            get(operations::get_package).delete(operations::delete_package),
        )
        .route(
            &format!("{base}/{{location}}/operations/{{operation}}"),
            get(operations::get),
        )
        .fallback(no_such_method)
        .method_not_allowed_fallback(no_such_method)
        .layer(axum::middleware::from_fn_with_state(
            (fake.clone(), API),
            authenticate,
        ))
        .with_state(fake)
}

/// The body as JSON, or Google's answer to what is not.
pub(crate) fn json_body(body: &Bytes) -> Result<Value, Refusal> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|err| Refusal::invalid(format!("Invalid JSON payload received. {err}")))
}

/// The project (by id) and checked location of a path.
pub(crate) fn locate(
    fake: &Fake,
    project: &str,
    location: &str,
    permission: &str,
    resource: &str,
) -> Result<Project, Refusal> {
    let found = names::project(fake, project, API, permission, resource)?;
    names::check_location(location)?;
    Ok(found)
}

async fn list_locations(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(
        raw,
        &["pageSize", "pageToken", "filter", "extraLocationTypes"],
    )?;
    let found = names::project(
        &fake,
        &project,
        API,
        "artifactregistry.locations.list",
        &format!("projects/{project}"),
    )?;
    let all: Vec<Value> = names::LOCATIONS
        .iter()
        .map(|location| names::location_json(&found.id, location))
        .collect();
    let (locations, next) = page(&all, &query, 100, 1000)?;
    let mut answer = json!({"locations": locations});
    if let Some(next) = next {
        answer["nextPageToken"] = next.into();
    }
    Ok(query.answer(answer))
}

async fn get_location(
    State(fake): State<Arc<Fake>>,
    Path((project, location)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let resource = format!("projects/{project}/locations/{location}");
    let found = names::project(
        &fake,
        &project,
        API,
        "artifactregistry.locations.get",
        &resource,
    )?;
    if !names::LOCATIONS.contains(&location.as_str()) {
        return Err(Refusal::not_found(format!(
            "Location \"{resource}\" not found."
        )));
    }
    Ok(query.answer(names::location_json(&found.id, &location)))
}

/// `POST v1/projects/{p}/locations/{l}/repositories?repositoryId={id}`: validates the body
/// and, for a remote, its upstream; creates the repository and answers an operation that
/// finishes with it.
async fn create(
    State(fake): State<Arc<Fake>>,
    Path((project, location)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["repositoryId"])?;
    let parent = format!("projects/{project}/locations/{location}");
    let project = locate(
        &fake,
        &project,
        &location,
        "artifactregistry.repositories.create",
        &parent,
    )?;
    let id = query.get("repositoryId").unwrap_or_default().to_owned();
    names::check_repository_id(&id)?;
    let mut body = schema::parse(&json_body(&body)?, &REPOSITORY, "repository")?;
    body.remove("name");
    let skip_validation = validate::take_disable_validation(&mut body);
    let name = format!(
        "projects/{}/locations/{location}/repositories/{id}",
        project.id
    );
    {
        let state = fake.lock();
        validate::check(&fake, &state, &mut body, (&project.id, &location, &id))?;
        if state.repositories.contains_key(&name) {
            return Err(already_exists(&name));
        }
    }
    let time = now();
    let repository = Repository {
        project: project.id.clone(),
        location: location.clone(),
        id,
        body,
        create_time: time.clone(),
        update_time: time,
        packages: Default::default(),
    };
    if repository.mode() == "REMOTE_REPOSITORY" && !skip_validation {
        remote::validate(&fake, &repository)
            .await
            .map_err(|reason| {
                Refusal::invalid(format!("Failed to validate remote upstream: {reason}"))
            })?;
    }
    let polls = fake.operation_polls();
    let mut state = fake.lock();
    // Another create may have won while the upstream was being checked.
    if state.repositories.contains_key(&name) {
        return Err(already_exists(&name));
    }
    let response = any_repository(&repository);
    state.repositories.insert(name, repository);
    Ok(query.answer(operations::start(
        &mut state,
        polls,
        &project.id,
        &location,
        response,
    )))
}

fn already_exists(name: &str) -> Refusal {
    Refusal::already_exists(format!("the repository already exists: {name}"))
}

/// A repository in an `Any`, as an operation's `response`.
pub(crate) fn any_repository(repository: &Repository) -> Value {
    let mut any = Map::new();
    any.insert("@type".to_owned(), ar_type("Repository").into());
    if let Value::Object(fields) = repository.to_json() {
        any.extend(fields);
    }
    Value::Object(any)
}

type RepositoryPath = Path<(String, String, String)>;

/// The stored name of the repository a path names, after the project and location checks.
pub(crate) fn repository_name(
    fake: &Fake,
    (project, location, repository): &(String, String, String),
    permission: &str,
) -> Result<String, Refusal> {
    let resource = format!("projects/{project}/locations/{location}/repositories/{repository}");
    let found = locate(fake, project, location, permission, &resource)?;
    Ok(format!(
        "projects/{}/locations/{location}/repositories/{repository}",
        found.id
    ))
}

async fn get_one(
    State(fake): State<Arc<Fake>>,
    Path(path): RepositoryPath,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let name = repository_name(&fake, &path, "artifactregistry.repositories.get")?;
    let state = fake.lock();
    let repository = state
        .repositories
        .get(&name)
        .ok_or_else(|| Refusal::not_found("Requested entity was not found."))?;
    Ok(query.answer(repository.to_json()))
}

/// `filter` as Artifact Registry takes it: `name="projects/p/locations/l/repositories/x*"`,
/// `*` matching any run of characters.
fn name_filter(filter: &str) -> Result<Option<String>, Refusal> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    filter
        .strip_prefix("name")
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('='))
        .map(str::trim)
        .and_then(|value| value.strip_prefix('"')?.strip_suffix('"'))
        .map(|pattern| Some(pattern.to_owned()))
        .ok_or_else(|| {
            Refusal::invalid_field(
                "filter",
                format!("Invalid filter \"{filter}\": only name=\"...\" (with * wildcards) is supported."),
            )
        })
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|i| text.is_char_boundary(head.len() + i))
                    .any(|i| glob(tail, &text[head.len() + i..]))
        }
    }
}

/// `GET v1/projects/{p}/locations/{l}/repositories?pageSize=&pageToken=&filter=&orderBy=`:
/// by name, 50 a page unless asked (at most 1000).
async fn list(
    State(fake): State<Arc<Fake>>,
    Path((project, location)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["pageSize", "pageToken", "filter", "orderBy"])?;
    let parent = format!("projects/{project}/locations/{location}");
    let project = locate(
        &fake,
        &project,
        &location,
        "artifactregistry.repositories.list",
        &parent,
    )?;
    let pattern = name_filter(query.get("filter").unwrap_or_default())?;
    let descending = match query.get("orderBy").map(str::trim).unwrap_or_default() {
        "" | "name" | "name asc" => false,
        "name desc" => true,
        other => {
            return Err(Refusal::invalid_field(
                "order_by",
                format!("Invalid order_by \"{other}\": name, name asc or name desc."),
            ));
        }
    };
    let prefix = format!("projects/{}/locations/{location}/repositories/", project.id);
    let mut repositories: Vec<Value> = fake
        .lock()
        .repositories
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .filter(|(name, _)| pattern.as_deref().is_none_or(|p| glob(p, name)))
        .map(|(_, repository)| repository.to_json())
        .collect();
    if descending {
        repositories.reverse();
    }
    let (repositories, next) = page(&repositories, &query, 50, 1000)?;
    let mut answer = json!({});
    if !repositories.is_empty() {
        answer["repositories"] = Value::Array(repositories);
    }
    if let Some(next) = next {
        answer["nextPageToken"] = next.into();
    }
    Ok(query.answer(answer))
}

/// `DELETE v1/.../repositories/{r}`: deletes the repository and all of its contents; an
/// operation finishing with `Empty`.
async fn delete(
    State(fake): State<Arc<Fake>>,
    Path(path): RepositoryPath,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let name = repository_name(&fake, &path, "artifactregistry.repositories.delete")?;
    let polls = fake.operation_polls();
    let mut state = fake.lock();
    let Some(removed) = state.repositories.remove(&name) else {
        return Err(Refusal::not_found("Requested entity was not found."));
    };
    state.cache.retain(|(repository, _), _| *repository != name);
    Ok(query.answer(operations::start(
        &mut state,
        polls,
        &removed.project,
        &removed.location,
        operations::empty(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_names_with_wildcards() {
        let pattern = name_filter(r#"name="projects/p/locations/l/repositories/cg-*""#)
            .unwrap()
            .unwrap();
        assert!(glob(
            &pattern,
            "projects/p/locations/l/repositories/cg-public"
        ));
        assert!(!glob(&pattern, "projects/p/locations/l/repositories/other"));
        assert!(glob("a*c*", "abcde"));
        assert!(!glob("a*c", "abcd"));
        assert!(name_filter("format=DOCKER").is_err());
        assert_eq!(name_filter("").unwrap(), None);
    }
}
