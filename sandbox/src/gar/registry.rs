//! The Docker registry of `LOCATION-docker.pkg.dev`, one port for every location:
//! `/v2/{project}/{repository}/{image}/manifests/{ref}`, `/blobs/{digest}` and
//! `/tags/list`. A client without a token gets a Bearer challenge naming `/v2/token`,
//! which takes Basic `oauth2accesstoken:<access token>`; the access token itself is also
//! taken as Bearer, as Google's registries take it.
//!
//! A remote repository pulls from its upstream (the fake `cgr.dev`): anonymously, or with
//! its username and the pinned secret version's payload, which the service agent must be
//! allowed to read (403 naming the secret version otherwise). A virtual repository tries
//! its members by priority, larger first. Manifests a remote served are kept as packages
//! (`chainguard/go`); what is addressed by digest is cached, while tags are asked upstream
//! every time, so a credential problem shows on the next pull of a tag.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query as RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::Fake;
use super::remote;
use super::state::{Repository, now};
use crate::common::{basic, bearer, docker_errors, random_hex};
use crate::upstream::{Fetched, INDEX, accepts_index, platform_manifest, tags_page};

/// The user name of an access-token login.
const TOKEN_USER: &str = "oauth2accesstoken";

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v2/", get(base))
        .route("/v2/token", get(token))
        .route("/v2/{*path}", get(content).head(content))
        .with_state(fake)
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned()
}

/// 401 with the challenge: `Bearer realm="http://<host>/v2/token",service="<host>"`, and
/// the scope when a repository was asked for.
fn challenge(headers: &HeaderMap, scope: Option<&str>) -> Response {
    let host = host(headers);
    let mut value = format!(r#"Bearer realm="http://{host}/v2/token",service="{host}""#);
    if let Some(scope) = scope {
        value.push_str(&format!(r#",scope="repository:{scope}:pull""#));
    }
    let mut answer = docker_errors(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        answer.headers_mut().insert("www-authenticate", value);
    }
    answer
}

/// What a request's credentials are: `None` (none or unknown), `Some(false)` an
/// anonymous token, `Some(true)` an authenticated one.
fn authenticated(fake: &Fake, headers: &HeaderMap) -> Option<bool> {
    let token = bearer(headers)?;
    if token == fake.token {
        return Some(true);
    }
    fake.lock().registry_tokens.get(token).copied()
}

async fn base(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if authenticated(&fake, &headers).is_none() {
        return challenge(&headers, None);
    }
    let mut answer = axum::Json(json!({})).into_response();
    answer.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    answer
}

/// `GET /v2/token?scope=...&service=...`: Basic `oauth2accesstoken:<access token>` gets a
/// token; no credentials get an anonymous one (which opens nothing but `/v2/`); wrong
/// ones get 401.
async fn token(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let authenticated = match basic(&headers) {
        None => false,
        Some((user, password)) if user == TOKEN_USER && password == fake.token => true,
        Some((user, _)) => {
            let hint = if user == TOKEN_USER {
                "the password is not a valid access token"
            } else {
                "log in as oauth2accesstoken with an access token as password"
            };
            return docker_errors(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                &format!("Not Authorized: {hint}"),
            );
        }
    };
    let token = format!("ya29.registry-{}", random_hex(24));
    fake.lock()
        .registry_tokens
        .insert(token.clone(), authenticated);
    axum::Json(json!({
        "token": token,
        "expires_in": 3600,
        "issued_at": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    }))
    .into_response()
}

/// The repository `{project}/{repository}` names: by project id (or number) and
/// repository id, in any location.
fn find_repository(fake: &Fake, project: &str, id: &str) -> Result<Repository, Box<Response>> {
    let project = fake.project(project).map(|p| p.id);
    let state = fake.lock();
    let found: Vec<&Repository> = state
        .repositories
        .values()
        .filter(|r| Some(&r.project) == project.as_ref() && r.id == id)
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Box::new(docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("Repository \"{id}\" not found"),
        ))),
        many => Err(Box::new(docker_errors(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            &format!(
                "the sandbox serves every location on one port, and {} locations hold a repository \
                 \"{id}\": {}",
                many.len(),
                many.iter()
                    .map(|r| r.location.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))),
    }
}

/// The remotes a repository answers from: itself, a virtual's members by priority.
fn sources(fake: &Fake, repository: &Repository) -> Vec<Repository> {
    match repository.mode() {
        "REMOTE_REPOSITORY" => vec![repository.clone()],
        "VIRTUAL_REPOSITORY" => {
            let state = fake.lock();
            repository
                .members()
                .iter()
                .filter_map(|name| state.repositories.get(name))
                .filter(|member| member.mode() == "REMOTE_REPOSITORY")
                .cloned()
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Why no source answered.
enum Miss {
    NotFound,
    Denied(String),
}

/// `rest` (`<image>/manifests/<ref>`, `<image>/blobs/<digest>`, `<image>/tags/list`) from
/// one remote: from its cache, or upstream with its credentials.
async fn fetch(fake: &Fake, source: &Repository, rest: &str) -> Result<Fetched, Miss> {
    let key = (source.name(), rest.to_owned());
    if let Some(cached) = fake.lock().cache.get(&key).cloned() {
        return Ok(cached);
    }
    let credentials = {
        let state = fake.lock();
        remote::credentials(fake, &state, source)
            .map_err(|denied| Miss::Denied(denied.message()))?
    };
    let (Some(uri), Some(upstream)) = (source.upstream_uri(), fake.upstream()) else {
        return Err(Miss::NotFound);
    };
    let accept = HeaderValue::from_static(pull_through_core::pull::MANIFEST_ACCEPT);
    let fetched = upstream
        .docker(&uri, rest)
        .credentials(credentials.as_ref())
        .accept(rest.contains("/manifests/").then_some(&accept))
        .send()
        .await
        .map_err(|_| Miss::NotFound)?;
    if matches!(
        fetched.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        return Err(Miss::Denied(format!(
            "The upstream {uri} refused the repository's credentials for {rest} (HTTP {}); check \
             the username and the secret version's pull token",
            fetched.status.as_u16()
        )));
    }
    if !fetched.is_success() {
        return Err(Miss::NotFound);
    }
    let by_digest = rest.contains("/blobs/") || rest.contains("/manifests/sha256:");
    let mut state = fake.lock();
    if by_digest {
        state.cache.insert(key, fetched.clone());
    }
    if let Some((image, _)) = rest.split_once("/manifests/") {
        if let Some(stored) = state.repositories.get_mut(&source.name()) {
            let time = now();
            stored
                .packages
                .entry(image.to_owned())
                .and_modify(|times| times.1 = time.clone())
                .or_insert((time.clone(), time));
        }
    }
    Ok(fetched)
}

/// `rest` from the first source that has it.
async fn find(fake: &Fake, sources: &[Repository], rest: &str) -> Result<Fetched, Miss> {
    let mut denied = None;
    for source in sources {
        match fetch(fake, source, rest).await {
            Ok(found) => return Ok(found),
            Err(Miss::Denied(message)) => {
                denied.get_or_insert(message);
            }
            Err(Miss::NotFound) => {}
        }
    }
    Err(denied.map_or(Miss::NotFound, Miss::Denied))
}

fn miss(miss: Miss, code: &str, what: &str) -> Response {
    match miss {
        Miss::Denied(message) => docker_errors(StatusCode::FORBIDDEN, "DENIED", &message),
        Miss::NotFound => docker_errors(StatusCode::NOT_FOUND, code, &format!("{what} not found")),
    }
}

async fn content(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    RawQuery(query): RawQuery<Vec<(String, String)>>,
) -> Response {
    let parts: Vec<&str> = path.rsplitn(3, '/').collect();
    let (name, kind, reference) = match parts.as_slice() {
        [reference, kind, name]
            if matches!(*kind, "manifests" | "blobs")
                || (*kind == "tags" && *reference == "list") =>
        {
            (*name, *kind, *reference)
        }
        _ => return docker_errors(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such path"),
    };
    let mut segments = name.splitn(3, '/');
    let (Some(project), Some(repository_id), Some(image)) =
        (segments.next(), segments.next(), segments.next())
    else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "an image path is PROJECT/REPOSITORY/IMAGE",
        );
    };
    match authenticated(&fake, &headers) {
        None => return challenge(&headers, Some(name)),
        Some(false) => {
            return docker_errors(
                StatusCode::FORBIDDEN,
                "DENIED",
                &format!(
                    "Permission \"artifactregistry.repositories.downloadArtifacts\" denied on resource \
                     \"projects/{project}/locations/-/repositories/{repository_id}\" (or it may not exist)"
                ),
            );
        }
        Some(true) => {}
    }
    let repository = match find_repository(&fake, project, repository_id) {
        Ok(repository) => repository,
        Err(answer) => return *answer,
    };
    let sources = sources(&fake, &repository);
    let rest = format!("{image}/{kind}/{reference}");
    if kind == "tags" {
        return serve_tags(&fake, &sources, image, name, &query).await;
    }
    let found = match find(&fake, &sources, &rest).await {
        Ok(found) => found,
        Err(why) if kind == "blobs" => return miss(why, "BLOB_UNKNOWN", "blob"),
        Err(why) => return miss(why, "MANIFEST_UNKNOWN", "manifest"),
    };
    let is_index = found
        .content_type
        .as_deref()
        .is_some_and(|t| t == INDEX || t.ends_with("manifest.list.v2+json"));
    if kind == "manifests" && is_index && !accepts_index(&headers) {
        if let Some(digest) = platform_manifest(&found.body, "linux", "amd64") {
            let path = format!("{image}/manifests/{digest}");
            return match find(&fake, &sources, &path).await {
                Ok(manifest) => manifest.relay(&method),
                Err(why) => miss(why, "MANIFEST_UNKNOWN", "manifest"),
            };
        }
    }
    found.relay(&method)
}

/// The tags every source behind the repository knows for `image`, one page at a time.
async fn serve_tags(
    fake: &Fake,
    sources: &[Repository],
    image: &str,
    name: &str,
    query: &[(String, String)],
) -> Response {
    let rest = format!("{image}/tags/list");
    let mut tags: Vec<String> = Vec::new();
    let mut known = false;
    let mut denied = None;
    for source in sources {
        match fetch(fake, source, &rest).await {
            Ok(found) => {
                known = true;
                let listed: serde_json::Value =
                    serde_json::from_slice(&found.body).unwrap_or_default();
                tags.extend(
                    listed["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|tag| tag.as_str().map(str::to_owned)),
                );
            }
            Err(Miss::Denied(message)) => {
                denied.get_or_insert(message);
            }
            Err(Miss::NotFound) => {}
        }
    }
    if !known {
        return miss(
            denied.map_or(Miss::NotFound, Miss::Denied),
            "NAME_UNKNOWN",
            "repository",
        );
    }
    tags_page(name, &tags, query, &format!("/v2/{name}"))
}
