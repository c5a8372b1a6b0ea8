//! The fake `docker.cloudsmith.io`: registry v2 in front of each repository, pulling
//! through its Docker upstreams.
//!
//! Authentication is what `docker login docker.cloudsmith.io` sets up: the user slug and
//! the API key. Without them a request gets a 401 with `WWW-Authenticate: Bearer
//! realm="http://<host>/v2/token",service="<host>"` (and the repository's `scope` on
//! content paths); the realm takes the pair as Basic and answers `{"token": ...}`, which
//! opens every repository of the workspace until its `expires_in` has passed. Basic straight on a content path works too.
//! A path under another workspace is a 403 `DENIED`, an unknown repository a 404.
//!
//! `/v2/<owner>/<repo>/<image>/manifests/<ref>` (and `blobs/<digest>`, `tags/list`) is
//! answered from the repository's copy if it holds one, else from its active upstreams
//! by ascending priority (then age): an upstream of URL `https://cgr.dev/<prefix>` (only
//! `https://cgr.dev/chainguard` and `https://cgr.dev`; any other URL fails, as Chainguard's
//! guide says it does) is asked for `<prefix>/<image>` on the fake cgr.dev, with the stored
//! username and secret under `Username and Password`. The first success is relayed and,
//! unless the upstream is `Proxy Only`, kept as a package of the repository. Tags are
//! listed from every upstream that knows the image, as Cloudsmith lists upstream tags.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::packages::{cached, keep};
use super::{DockerUpstream, Fake, OWNER, USER, random_slug_perm};
use crate::common::{basic, bearer, docker_errors};
use crate::upstream::{Fetched, INDEX, accepts_index, platform_manifest, tags_page};

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v2/", get(base).head(base))
        .route("/v2/{*rest}", get(content).head(content))
        .layer(axum::middleware::from_fn_with_state(
            fake.clone(),
            authenticate,
        ))
        .with_state(fake)
}

/// Whether a Basic login is the user slug with the API key.
fn login_ok(fake: &Fake, headers: &HeaderMap) -> bool {
    basic(headers).is_some_and(|(user, key)| user == USER && key == fake.api_key)
}

/// The layer in front of every path but the token endpoint: a token the realm issued as
/// Bearer, or the login as Basic; else the 401 challenge.
async fn authenticate(
    State(fake): State<Arc<Fake>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/v2/token" {
        return next.run(request).await;
    }
    let headers = request.headers();
    let accepted = match bearer(headers) {
        Some(token) => {
            let lifetime = fake.token_lifetime();
            fake.lock()
                .registry_tokens
                .get(token)
                .is_some_and(|issued| issued.elapsed() < lifetime)
        }
        None => login_ok(&fake, headers),
    };
    if accepted {
        return next.run(request).await;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("docker.cloudsmith.io")
        .to_owned();
    let mut challenge = format!(r#"Bearer realm="http://{host}/v2/token",service="{host}""#);
    if let Some((name, _)) = path
        .strip_prefix("/v2/")
        .and_then(|rest| split_content(rest))
    {
        challenge.push_str(&format!(r#",scope="repository:{name}:pull""#));
    }
    let mut refused = docker_errors(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        refused.headers_mut().insert("www-authenticate", value);
    }
    refused
}

/// `GET /v2/token?service=...&scope=...` with Basic user slug and API key: a token for
/// the workspace. No credentials, or wrong ones: 401.
fn token(fake: &Fake, headers: &HeaderMap) -> Response {
    if !login_ok(fake, headers) {
        let message = if basic(headers).is_some() {
            "incorrect username or API key"
        } else {
            "authentication required: log in with your user slug and API key"
        };
        let mut refused = docker_errors(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message);
        refused.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"docker.cloudsmith.io\""),
        );
        return refused;
    }
    let token = format!("cs.{}", random_slug_perm(40));
    fake.lock()
        .registry_tokens
        .insert(token.clone(), std::time::Instant::now());
    axum::Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": fake.token_lifetime().as_secs(),
        "issued_at": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    }))
    .into_response()
}

async fn base() -> Response {
    let mut answer = axum::Json(json!({})).into_response();
    answer.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    answer
}

/// `<name>/manifests/<ref>`, `<name>/blobs/<digest>` or `<name>/tags/list` as
/// (`<name>`, `manifests/<ref>` | `blobs/<digest>` | `tags/list`).
fn split_content(rest: &str) -> Option<(&str, String)> {
    match rest.rsplitn(3, '/').collect::<Vec<_>>().as_slice() {
        [reference, kind, name]
            if !name.is_empty()
                && (matches!(*kind, "manifests" | "blobs")
                    || (*kind == "tags" && *reference == "list")) =>
        {
            Some((*name, format!("{kind}/{reference}")))
        }
        _ => None,
    }
}

async fn content(
    State(fake): State<Arc<Fake>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if rest == "token" {
        return token(&fake, &headers);
    }
    let Some((name, path)) = split_content(&rest) else {
        return docker_errors(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such path");
    };
    let mut parts = name.splitn(3, '/');
    let (Some(owner), Some(slug), Some(image)) = (parts.next(), parts.next(), parts.next()) else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "name the image as <owner>/<repository>/<image>",
        );
    };
    if !fake.is_owner(owner) {
        return docker_errors(
            StatusCode::FORBIDDEN,
            "DENIED",
            "requested access to the resource is denied",
        );
    }
    let Some(repo) = fake
        .lock()
        .repos
        .iter()
        .find(|repo| repo.slug() == slug)
        .map(|repo| repo.slug_perm.clone())
    else {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("repository {OWNER}/{slug} not known to registry"),
        );
    };
    if path == "tags/list" {
        let base = format!("/v2/{OWNER}/{slug}/{image}");
        return tags(
            &fake,
            (&repo, image),
            &query,
            &format!("{OWNER}/{slug}/{image}"),
            &base,
        )
        .await;
    }
    let found = match find(&fake, &repo, image, &path).await {
        Ok(found) => found,
        Err(tried) => {
            let (code, what) = if path.starts_with("blobs/") {
                ("BLOB_UNKNOWN", "blob unknown")
            } else {
                ("MANIFEST_UNKNOWN", "manifest unknown")
            };
            let why = if tried.is_empty() {
                "no active Docker upstream".to_owned()
            } else {
                tried.join("; ")
            };
            return docker_errors(
                StatusCode::NOT_FOUND,
                code,
                &format!("{what}: {OWNER}/{slug}/{image} {path} ({why})"),
            );
        }
    };
    let is_index = found
        .content_type
        .as_deref()
        .is_some_and(|t| t == INDEX || t.ends_with("manifest.list.v2+json"));
    if is_index && !accepts_index(&headers) {
        if let Some(digest) = platform_manifest(&found.body, "linux", "amd64") {
            if let Ok(manifest) = find(&fake, &repo, image, &format!("manifests/{digest}")).await {
                return manifest.relay(&method);
            }
        }
    }
    found.relay(&method)
}

/// The two upstream URLs Chainguard images come through: the public images' and an
/// organization's (with a pull token).
const CHAINGUARD_URLS: [&str; 2] = ["https://cgr.dev/chainguard", "https://cgr.dev"];

/// An upstream URL as (registry root, path prefix): `https://cgr.dev/chainguard` is
/// (`https://cgr.dev/`, `chainguard`).
fn split_url(upstream_url: &str) -> Option<(String, String)> {
    let url = url::Url::parse(upstream_url).ok()?;
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some((
        format!("{}://{host}{port}/", url.scheme()),
        url.path().trim_matches('/').to_owned(),
    ))
}

/// The repository's active upstreams, by ascending priority, then oldest first.
fn active(fake: &Fake, repo: &str) -> Vec<DockerUpstream> {
    let state = fake.lock();
    let mut upstreams: Vec<DockerUpstream> = state
        .repo(repo)
        .map(|repo| {
            repo.upstreams
                .iter()
                .filter(|u| u.is_active())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    upstreams.sort_by_key(|u| (u.priority(), u.seq));
    upstreams
}

/// Asks `upstream` for `path` of `image`; `Err` says why it gave nothing usable.
async fn pull(
    fake: &Fake,
    upstream: &DockerUpstream,
    image: &str,
    path: &str,
) -> Result<Fetched, String> {
    let name = upstream.text("name");
    let url = upstream.text("upstream_url");
    // Chainguard's guide: "any other URL here will cause an error". Which error the live
    // service gives is not documented; the pull fails, and cgr.dev is never asked.
    if !CHAINGUARD_URLS.contains(&url.trim_end_matches('/')) {
        return Err(format!(
            "upstream {name} ({url}) is neither https://cgr.dev/chainguard nor https://cgr.dev, \
             the only URLs Cloudsmith pulls Chainguard images through"
        ));
    }
    let (root, prefix) =
        split_url(url).ok_or_else(|| format!("upstream {name}: {url} is not a URL"))?;
    let upstream_path = if prefix.is_empty() {
        format!("{image}/{path}")
    } else {
        format!("{prefix}/{image}/{path}")
    };
    let client = fake
        .upstream
        .get()
        .ok_or_else(|| "the registry is not running in a sandbox".to_owned())?;
    let credentials = upstream.credentials();
    let accept = path
        .starts_with("manifests/")
        .then(|| HeaderValue::from_static(pull_through_core::pull::MANIFEST_ACCEPT));
    match client
        .docker(&root, &upstream_path)
        .credentials(credentials.as_ref())
        .accept(accept.as_ref())
        .send()
        .await
    {
        Ok(fetched) if fetched.is_success() => Ok(fetched),
        Ok(fetched) => Err(format!(
            "upstream {name} ({url}) answered {} for {upstream_path}",
            fetched.status.as_u16()
        )),
        Err(err) => Err(format!("upstream {name} ({url}): {err}")),
    }
}

/// `path` of `image` from the repository's copy, or its upstreams (kept unless the
/// upstream is `Proxy Only`); `Err` lists why each upstream gave nothing.
async fn find(fake: &Fake, repo: &str, image: &str, path: &str) -> Result<Fetched, Vec<String>> {
    if let Some(hit) = cached(&fake.lock(), repo, image, path) {
        return Ok(hit);
    }
    let mut tried = Vec::new();
    for upstream in active(fake, repo) {
        match pull(fake, &upstream, image, path).await {
            Ok(fetched) => {
                if upstream.text("mode") != "Proxy Only" {
                    let mut state = fake.lock();
                    if state.repo(repo).is_some() {
                        keep(&mut state, repo, image, path, fetched.clone());
                    }
                }
                return Ok(fetched);
            }
            Err(why) => tried.push(why),
        }
    }
    Err(tried)
}

/// `<image>/tags/list`: every upstream's tags for the image and the tags the copy
/// holds, one page at a time.
async fn tags(
    fake: &Fake,
    (repo, image): (&str, &str),
    query: &[(String, String)],
    name: &str,
    base: &str,
) -> Response {
    let mut tags: Vec<String> = Vec::new();
    let mut known = false;
    for upstream in active(fake, repo) {
        let Ok(found) = pull(fake, &upstream, image, "tags/list").await else {
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
    {
        let state = fake.lock();
        for package in state
            .packages
            .iter()
            .filter(|p| p.repository == repo && p.name == image)
        {
            known = true;
            if !package.version.starts_with("sha256:") {
                tags.push(package.version.clone());
            }
        }
    }
    if !known {
        return docker_errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            &format!("repository name not known to registry: {name}"),
        );
    }
    tags_page(name, &tags, query, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths_split_into_name_and_path() {
        assert_eq!(
            split_content("o/r/chainguard/nginx/manifests/latest"),
            Some(("o/r/chainguard/nginx", "manifests/latest".to_owned()))
        );
        assert_eq!(
            split_content("o/r/go/tags/list"),
            Some(("o/r/go", "tags/list".to_owned()))
        );
        assert_eq!(split_content("o/r/go/blobs"), None);
        assert_eq!(split_content("token"), None);
    }

    #[test]
    fn an_upstream_url_splits_into_root_and_prefix() {
        assert_eq!(
            split_url("https://cgr.dev/chainguard"),
            Some(("https://cgr.dev/".to_owned(), "chainguard".to_owned()))
        );
        assert_eq!(
            split_url("https://cgr.dev"),
            Some(("https://cgr.dev/".to_owned(), String::new()))
        );
        assert_eq!(
            split_url("http://localhost:5000/a/b"),
            Some(("http://localhost:5000/".to_owned(), "a/b".to_owned()))
        );
    }
}
