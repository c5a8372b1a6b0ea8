//! What the fake serves: Docker v2 through remote and virtual Docker repositories, and
//! Alpine paths through remote Alpine and virtual Generic repositories, pulled from the
//! Chainguard fakes with the remote's stored credentials and kept in `<key>-cache`.
//!
//! The behaviours the tutorials debug are reproduced: a Docker remote without
//! `enableTokenAuthentication` cannot answer cgr.dev's token challenge, and an Alpine
//! remote without `disableUrlNormalization` turns `+` into a space, so `libstdc++` is not
//! found upstream.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::repos::errors;
use super::{Fake, Repo};
use crate::common::{basic, bearer, docker_errors, random_hex};
use crate::upstream::{Fetched, INDEX, accepts_index, platform_manifest, tags_page};

/// The Docker registry front's authentication, as Artifactory's Docker API does it:
/// Basic with an access token as password, or Bearer with an access token or a Docker
/// token from the front's token endpoint. Anything else gets a 401 with a Bearer
/// challenge naming that endpoint:
///
/// - under `/artifactory/api/docker/<key>/v2/`: `Bearer
///   realm="http://<host>/artifactory/api/docker/<key>/v2/token",service="<host>"` (the
///   realm path is the one JFrog's knowledge base names, reference/artifactory.md §6.3);
/// - under `/v2/` (the repository-path method): `Bearer realm="http://<host>/v2/token",
///   service="<host>"`. The reference does not say which realm Artifactory names there;
///   the fake's token endpoint answers at both paths, so a client following either works.
///
/// The token endpoints themselves check their credentials in [`docker_token`].
pub(crate) async fn docker_authenticate(
    State(fake): State<Arc<Fake>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if token_path(&path) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let accepted = match bearer(headers) {
        Some(token) => fake.accepts(token, None) || docker_token_valid(&fake, token),
        None => basic(headers).is_some_and(|(user, token)| fake.accepts(&token, Some(&user))),
    };
    if accepted {
        return next.run(request).await;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let realm = match path
        .strip_prefix("/artifactory/api/docker/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((key, _)) => format!("http://{host}/artifactory/api/docker/{key}/v2/token"),
        None => format!("http://{host}/v2/token"),
    };
    let mut refused = docker_errors(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    let challenge = format!(r#"Bearer realm="{realm}",service="{host}""#);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        refused.headers_mut().insert("www-authenticate", value);
    }
    refused
}

/// Whether `path` is one of the front's token endpoints: `/v2/token` or
/// `/artifactory/api/docker/<key>/v2/token`.
fn token_path(path: &str) -> bool {
    path == "/v2/token"
        || path
            .strip_prefix("/artifactory/api/docker/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, rest)| rest == "v2/token")
}

/// Whether `token` is a Docker token the front issued whose access token still holds.
fn docker_token_valid(fake: &Fake, token: &str) -> bool {
    let issued = fake.lock().docker_tokens.get(token).cloned();
    issued.is_some_and(|(user, source)| fake.accepts(&source, user.as_deref()))
}

/// `GET <token endpoint>?service=<host>[&scope=...]`: with Basic (a user and an access,
/// identity or reference token as password) or Bearer (an access token), a Docker token
/// as `{"token", "expires_in", "issued_at"}`; without credentials, or with wrong ones,
/// 401. The scope is not checked: the token opens what the user may read.
async fn docker_token(fake: &Fake, headers: &HeaderMap) -> Response {
    let login = match bearer(headers) {
        Some(token) => fake.accepts(token, None).then(|| (None, token.to_owned())),
        None => basic(headers)
            .filter(|(user, token)| fake.accepts(token, Some(user)))
            .map(|(user, token)| (Some(user), token)),
    };
    let Some(login) = login else {
        let mut refused = errors(StatusCode::UNAUTHORIZED, "Bad credentials");
        refused.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"Artifactory Realm\""),
        );
        return refused;
    };
    let token = format!("eyJ2ZXIiOiIyIn0.docker{}", random_hex(24));
    fake.lock().docker_tokens.insert(token.clone(), login);
    axum::Json(json!({
        "token": token,
        "expires_in": 3600,
        "issued_at": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    }))
    .into_response()
}

/// Docker clients ask `/v2/` first; the authentication layer answers the anonymous ones
/// with the Bearer challenge.
pub(crate) async fn docker_base() -> Response {
    let mut answer = axum::Json(json!({})).into_response();
    answer.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    answer
}

/// `/artifactory/api/docker/<key>/v2/<rest>`: the token endpoint, or `<rest>` of the
/// repository `<key>`.
pub(crate) async fn docker_api(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path((key, rest)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if rest == "token" {
        return docker_token(&fake, &headers).await;
    }
    let base = format!("/artifactory/api/docker/{key}/v2");
    serve_docker(&fake, &method, &headers, (&key, &rest), &query, &base).await
}

/// The repository-path method: `<host>/v2/<key>/<image>/...`, and the token endpoint
/// `<host>/v2/token`.
pub(crate) async fn docker_path(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if path == "token" {
        return docker_token(&fake, &headers).await;
    }
    match path.split_once('/') {
        Some((key, rest)) => {
            let base = format!("/v2/{key}");
            serve_docker(&fake, &method, &headers, (key, rest), &query, &base).await
        }
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

/// Serves `rest` (`<image>/manifests/<ref>`, `<image>/blobs/<digest>`,
/// `<image>/tags/list`) of repository `key` from its remotes' caches or their upstream.
/// Manifests are fetched upstream as the index Docker clients prefer, and given to a
/// client that takes no index as the linux/amd64 manifest; tags are paginated here, with
/// `Link` headers under `base` (`/v2/<key>` or `/artifactory/api/docker/<key>/v2`).
async fn serve_docker(
    fake: &Fake,
    method: &Method,
    headers: &HeaderMap,
    (key, rest): (&str, &str),
    query: &[(String, String)],
    base: &str,
) -> Response {
    let Some(repository) = repo(fake, key).filter(|r| r.package_type() == "docker") else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("Repository '{key}' is not a Docker repository"),
        );
    };
    if let Some(image) = rest.strip_suffix("/tags/list") {
        return serve_tags(fake, &repository, image, query, base).await;
    }
    let Some(found) = find_docker(fake, &repository, rest).await else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            &format!("Unable to find {rest} in {key}"),
        );
    };
    let is_index = found
        .content_type
        .as_deref()
        .is_some_and(|t| t == INDEX || t.ends_with("manifest.list.v2+json"));
    if is_index && !accepts_index(headers) {
        let platform =
            rest.rsplit_once("/manifests/")
                .zip(platform_manifest(&found.body, "linux", "amd64"));
        if let Some(((image, _), digest)) = platform {
            let path = format!("{image}/manifests/{digest}");
            if let Some(manifest) = find_docker(fake, &repository, &path).await {
                return manifest.relay(method);
            }
        }
    }
    found.relay(method)
}

/// `rest` from the first of the repository's remotes that has it, cached or fetched.
async fn find_docker(fake: &Fake, repository: &Repo, rest: &str) -> Option<Fetched> {
    for source in sources(fake, repository) {
        let cache_key = (source.key().to_ascii_lowercase(), rest.to_owned());
        let cached = fake.lock().cache.get(&cache_key).cloned();
        let found = match cached {
            Some(cached) => Some(cached),
            None => fetch_docker(fake, &source, rest).await,
        };
        if let Some(found) = found {
            fake.lock().cache.insert(cache_key, found.clone());
            return Some(found);
        }
    }
    None
}

/// `<image>/tags/list`: the tags of every remote behind the repository that knows the
/// image (a virtual aggregates its members'), one page at a time.
async fn serve_tags(
    fake: &Fake,
    repository: &Repo,
    image: &str,
    query: &[(String, String)],
    base: &str,
) -> Response {
    let rest = format!("{image}/tags/list");
    let mut tags: Vec<String> = Vec::new();
    let mut known = false;
    for source in sources(fake, repository) {
        let Some(found) = find_docker(fake, &source, &rest).await else {
            continue;
        };
        let listed: serde_json::Value = serde_json::from_slice(&found.body).unwrap_or_default();
        known = true;
        tags.extend(
            listed["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|tag| tag.as_str().map(str::to_owned)),
        );
    }
    if !known {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("Unable to find {image} in {}", repository.key()),
        );
    }
    tags_page(image, &tags, query, &format!("{base}/{image}"))
}

/// Fetches from cgr.dev's fake with the remote's stored credentials, answering its token
/// challenge only when token authentication is enabled (as Artifactory does), and asking
/// for every manifest type, an index first, as Artifactory does.
async fn fetch_docker(fake: &Fake, remote: &Repo, rest: &str) -> Option<Fetched> {
    let credentials = remote.credentials();
    let accept = HeaderValue::from_static(pull_through_core::pull::MANIFEST_ACCEPT);
    let fetched = fake
        .upstream
        .get()?
        .docker(remote.field("url"), rest)
        .credentials(credentials.as_ref())
        .accept(Some(&accept))
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
