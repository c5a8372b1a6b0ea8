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
use url::Url;

use super::repos::errors;
use super::{Cached, Fake, Repo};

fn docker_errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

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

fn answer(cached: &Cached, method: &Method) -> Response {
    let body = if method == Method::HEAD {
        axum::body::Bytes::new()
    } else {
        cached.body.clone()
    };
    let mut answer = body.into_response();
    let headers = answer.headers_mut();
    if let Some(value) = cached
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert("content-type", value);
    }
    if let Some(value) = cached
        .digest
        .as_deref()
        .and_then(|d| HeaderValue::from_str(d).ok())
    {
        headers.insert("docker-content-digest", value);
    }
    if let Ok(length) = HeaderValue::from_str(&cached.body.len().to_string()) {
        headers.insert("content-length", length);
    }
    answer
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
            return answer(&found, method);
        }
    }
    docker_errors(
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        &format!("Unable to find {rest} in {key}"),
    )
}

/// The value of `name="value"` in a challenge.
fn challenge_param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let length = challenge[start..].find('"')?;
    Some(&challenge[start..start + length])
}

/// Fetches from cgr.dev's fake, answering its token challenge with the remote's stored
/// credentials, but only when token authentication is enabled (as Artifactory does).
async fn fetch_docker(
    fake: &Fake,
    remote: &Repo,
    rest: &str,
    accept: Option<&HeaderValue>,
) -> Option<Cached> {
    let context = fake.context.get()?;
    let real = Url::parse(remote.field("url"))
        .ok()?
        .join(&format!("v2/{rest}"))
        .ok()?;
    let target = context.to_fake(&real)?;
    let request = |bearer: Option<&str>| {
        let mut request = fake.http.get(target.clone());
        if let Some(accept) = accept {
            request = request.header("accept", accept.clone());
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request
    };
    let first = request(None).send().await.ok()?;
    let upstream = if first.status() == StatusCode::UNAUTHORIZED {
        if !remote.flag("enableTokenAuthentication") {
            return None;
        }
        let challenge = first
            .headers()
            .get("www-authenticate")?
            .to_str()
            .ok()?
            .to_owned();
        let mut realm = Url::parse(challenge_param(&challenge, "realm")?).ok()?;
        {
            let mut query = realm.query_pairs_mut();
            for name in ["service", "scope"] {
                if let Some(value) = challenge_param(&challenge, name) {
                    query.append_pair(name, value);
                }
            }
        }
        let mut token_request = fake.http.get(realm);
        if let Some(password) = &remote.password {
            token_request = token_request.basic_auth(remote.field("username"), Some(password));
        }
        let token: serde_json::Value = token_request
            .send()
            .await
            .ok()?
            .error_for_status()
            .ok()?
            .json()
            .await
            .ok()?;
        let token = token.get("token")?.as_str()?.to_owned();
        request(Some(&token)).send().await.ok()?
    } else {
        first
    };
    cached_from(upstream).await
}

async fn cached_from(upstream: reqwest::Response) -> Option<Cached> {
    if !upstream.status().is_success() {
        return None;
    }
    let header = |name: &str| {
        upstream
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let digest = header("docker-content-digest");
    let body = upstream.bytes().await.ok()?;
    Some(Cached {
        body,
        content_type,
        digest,
    })
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
            return answer(&found, &Method::GET);
        }
    }
    errors(
        StatusCode::NOT_FOUND,
        &format!("Could not find resource '{key}:{rest}'"),
    )
}

/// Fetches from an APK fake. Without `disableUrlNormalization` Artifactory rewrites `+`
/// to a space on the way out, so a package like `libstdc++` is asked for as `libstdc  `.
async fn fetch_alpine(fake: &Fake, remote: &Repo, rest: &str) -> Option<Cached> {
    let context = fake.context.get()?;
    let rest = if remote.flag("disableUrlNormalization") {
        rest.to_owned()
    } else {
        rest.replace('+', " ")
    };
    let base = remote.field("url").trim_end_matches('/');
    let real = Url::parse(&format!("{base}/{rest}")).ok()?;
    let target = context.to_fake(&real)?;
    let mut request = fake.http.get(target);
    if let Some(password) = &remote.password {
        request = request.basic_auth(remote.field("username"), Some(password));
    }
    cached_from(request.send().await.ok()?).await
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
