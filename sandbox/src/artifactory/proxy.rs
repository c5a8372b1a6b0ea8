//! What the fake serves: Docker v2 through remote and virtual Docker repositories, and
//! Alpine paths through remote Alpine and virtual Generic repositories, pulled from the
//! Chainguard fakes with the remote's stored credentials and kept in `<key>-cache`.
//!
//! The behaviours the tutorials debug are reproduced: a Docker remote without
//! `enableTokenAuthentication` cannot answer cgr.dev's token challenge, and an Alpine
//! remote without `disableUrlNormalization` turns `+` into a space, so `libstdc++` is not
//! found upstream.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::repos::errors;
use super::{Fake, Repo};
use crate::common::docker_errors;
use crate::upstream::Fetched;

/// Docker clients ask `/v2/` first; the authentication layer answers the anonymous ones
/// with the Basic challenge.
pub(crate) async fn docker_base() -> Response {
    axum::Json(json!({})).into_response()
}

pub(crate) async fn docker_api(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path((key, rest)): Path<(String, String)>,
) -> Response {
    serve_docker(&fake, &method, &headers, &key, &rest).await
}

/// The repository-path method: `<host>/v2/<key>/<image>/...`.
pub(crate) async fn docker_path(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    match path.split_once('/') {
        Some((key, rest)) => serve_docker(&fake, &method, &headers, key, rest).await,
        None => docker_errors(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such repository"),
    }
}

fn repo(fake: &Fake, key: &str) -> Option<Repo> {
    fake.lock()
        .repos
        .get(&key.to_ascii_lowercase())
        .filter(|repo| repo.key() == key)
        .cloned()
}

/// The remotes a repository answers from: itself, or a virtual's members in order.
fn sources(fake: &Fake, repository: &Repo) -> Vec<Repo> {
    if repository.rclass() == "remote" {
        return vec![repository.clone()];
    }
    repository
        .config
        .get("repositories")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|member| repo(fake, member.as_str()?))
        .filter(|member| member.rclass() == "remote")
        .collect()
}

async fn serve_docker(
    fake: &Fake,
    method: &Method,
    headers: &HeaderMap,
    key: &str,
    rest: &str,
) -> Response {
    let Some(repository) = repo(fake, key).filter(|r| r.package_type() == "docker") else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("Repository '{key}' is not a Docker repository"),
        );
    };
    let accept = headers.get("accept").cloned();
    for source in sources(fake, &repository) {
        let cache_key = (source.key().to_ascii_lowercase(), rest.to_owned());
        let cached = fake.lock().cache.get(&cache_key).cloned();
        let found = match cached {
            Some(cached) => Some(cached),
            None => fetch_docker(fake, &source, rest, accept.as_ref()).await,
        };
        if let Some(found) = found {
            fake.lock().cache.insert(cache_key, found.clone());
            return found.relay(method);
        }
    }
    docker_errors(
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        &format!("Unable to find {rest} in {key}"),
    )
}

/// Fetches from cgr.dev's fake with the remote's stored credentials, answering its token
/// challenge only when token authentication is enabled (as Artifactory does).
async fn fetch_docker(
    fake: &Fake,
    remote: &Repo,
    rest: &str,
    accept: Option<&HeaderValue>,
) -> Option<Fetched> {
    let credentials = remote.credentials();
    let fetched = fake
        .upstream
        .get()?
        .docker(remote.field("url"), rest)
        .credentials(credentials.as_ref())
        .accept(accept)
        .token_auth(remote.flag("enableTokenAuthentication"))
        .send()
        .await;
    fetched.ok().filter(Fetched::is_success)
}

/// `GET /artifactory/<key>/<path>`: an Alpine remote, or a Generic virtual answering from
/// its members in order.
pub(crate) async fn artifact(State(fake): State<Arc<Fake>>, Path(path): Path<String>) -> Response {
    let Some((key, rest)) = path.split_once('/') else {
        return errors(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(repository) = repo(&fake, key) else {
        return errors(StatusCode::NOT_FOUND, "Not Found");
    };
    for source in sources(&fake, &repository) {
        if source.package_type() == "docker" {
            continue;
        }
        let cache_key = (source.key().to_ascii_lowercase(), rest.to_owned());
        let cached = fake.lock().cache.get(&cache_key).cloned();
        let found = match cached {
            Some(cached) => Some(cached),
            None => fetch_alpine(&fake, &source, rest).await,
        };
        if let Some(found) = found {
            fake.lock().cache.insert(cache_key, found.clone());
            return found.relay(&Method::GET);
        }
    }
    errors(
        StatusCode::NOT_FOUND,
        &format!("Could not find resource '{key}:{rest}'"),
    )
}

/// Fetches from an APK fake. Without `disableUrlNormalization` Artifactory rewrites `+`
/// to a space on the way out, so a package like `libstdc++` is asked for as `libstdc  `.
async fn fetch_alpine(fake: &Fake, remote: &Repo, rest: &str) -> Option<Fetched> {
    let rest = if remote.flag("disableUrlNormalization") {
        rest.to_owned()
    } else {
        rest.replace('+', " ")
    };
    let credentials = remote.credentials();
    let fetched = fake
        .upstream
        .get()?
        .apk(remote.field("url"), &rest, credentials.as_ref())
        .await;
    fetched.ok().filter(Fetched::is_success)
}

/// `DELETE /artifactory/<key>-cache/<path>`: clears what a remote cached under `path`.
pub(crate) async fn delete_cached(
    State(fake): State<Arc<Fake>>,
    Path(path): Path<String>,
) -> Response {
    let (first, prefix) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let Some(key) = first.strip_suffix("-cache") else {
        return errors(
            StatusCode::METHOD_NOT_ALLOWED,
            "Deleting from a remote or virtual repository is not supported; delete under <key>-cache",
        );
    };
    if repo(&fake, key).is_none_or(|r| r.rclass() != "remote") {
        return errors(StatusCode::NOT_FOUND, "Not Found");
    }
    let lower = key.to_ascii_lowercase();
    let mut state = fake.lock();
    let before = state.cache.len();
    state
        .cache
        .retain(|(cached, cached_path), _| !(*cached == lower && under(cached_path, prefix)));
    if before == state.cache.len() && !prefix.is_empty() {
        return errors(StatusCode::NOT_FOUND, "Not Found");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Whether `path` is `folder` or below it, by whole segments (`x86` is not above `x86_64/`).
fn under(path: &str, folder: &str) -> bool {
    let folder = folder.trim_matches('/');
    folder.is_empty()
        || path == folder
        || path
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
}
