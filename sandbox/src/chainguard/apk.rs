//! The fake APK repositories: `apk.cgr.dev/<org name>` (basic auth, 403 "caller does not
//! have the required capabilities" without `apk.pull`), the public `apk.cgr.dev/chainguard`
//! and `/extra-packages`, and `virtualapk.cgr.dev/<org id>/chainguard|extra-packages`.
//! Each serves a signed APKINDEX for x86_64 and aarch64, package files (some named with
//! `+`), and its key through `apk-configuration`.

use std::collections::HashMap;
use std::sync::Arc;

use apk_repo::index::{Package, SigningKey, sign_index, write_index};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::APK_AUDIENCE;
use super::world::{World, capabilities};
use crate::common::{basic, random_hex};

pub(crate) const ARCHS: [&str; 2] = ["x86_64", "aarch64"];

/// The packages of each repository: (name, version).
const PRIVATE: &[(&str, &str)] = &[
    ("wget", "1.24.5-r5"),
    ("npm", "10.9.2-r0"),
    ("sed", "4.9-r5"),
    ("c-ares", "1.34.5-r0"),
    ("stunnel", "5.74-r1"),
    ("bash", "5.2.37-r31"),
    ("openssl", "3.5.0-r1"),
    ("libstdc++", "14.2.0-r13"),
];
const CHAINGUARD: &[(&str, &str)] = &[
    ("wget", "1.24.5-r5"),
    ("sed", "4.9-r5"),
    ("bash", "5.2.37-r31"),
    ("openssl", "3.5.0-r1"),
    ("libstdc++", "14.2.0-r13"),
];
const EXTRAS: &[(&str, &str)] = &[
    ("npm", "10.9.2-r0"),
    ("c-ares", "1.34.5-r0"),
    ("stunnel", "5.74-r1"),
];

/// One repository's files.
#[derive(Debug)]
pub(crate) struct Repository {
    /// arch -> signed APKINDEX.tar.gz
    pub(crate) indexes: HashMap<&'static str, Vec<u8>>,
    /// arch/file -> bytes
    pub(crate) files: HashMap<String, Vec<u8>>,
}

fn build(packages: &[(&str, &str)], key: &SigningKey, description: &str) -> Repository {
    let mut indexes = HashMap::new();
    let mut files = HashMap::new();
    for arch in ARCHS {
        let entries: Vec<Package> = packages
            .iter()
            .map(|(name, version)| {
                let mut package = Package::default();
                package.name = (*name).to_owned();
                package.version = (*version).to_owned();
                package.arch = Some(arch.to_owned());
                package.description = Some(format!("{name} (sandbox)"));
                package.license = Some("Apache-2.0".to_owned());
                package.origin = Some((*name).to_owned());
                package.depends = vec!["so:libc.so.6".to_owned()];
                let body = format!("sandbox apk {name}-{version} {arch}\n").into_bytes();
                package.size = Some(body.len() as u64);
                files.insert(format!("{arch}/{}", package.file_name()), body);
                package
            })
            .collect();
        let signed = sign_index(&write_index(&entries, description), &[key]).unwrap_or_default();
        indexes.insert(arch, signed);
    }
    Repository { indexes, files }
}

/// Every APK repository of the sandbox.
#[derive(Debug)]
pub(crate) struct ApkRepos {
    pub(crate) world: Arc<World>,
    pub(crate) key: SigningKey,
    pub(crate) private: Repository,
    pub(crate) chainguard: Repository,
    pub(crate) extras: Repository,
}

impl ApkRepos {
    pub(crate) fn new(world: Arc<World>) -> ApkRepos {
        let name = format!("chainguard-{}.rsa.pub", random_hex(32));
        let key = SigningKey::generate(&name).expect("an RSA key for the sandbox");
        ApkRepos {
            private: build(PRIVATE, &key, "sandbox private"),
            chainguard: build(CHAINGUARD, &key, "sandbox chainguard"),
            extras: build(EXTRAS, &key, "sandbox extra-packages"),
            world,
            key,
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

fn unauthorized() -> Response {
    let mut answer = text(StatusCode::UNAUTHORIZED, "401 UNAUTHORIZED");
    answer.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"apk.cgr.dev\""),
    );
    answer
}

/// The roles behind Basic credentials: a pull token (identity id + JWT) or a Chainguard
/// token minted for `apk.cgr.dev` (any username).
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn caller_roles(repos: &ApkRepos, headers: &HeaderMap) -> Result<Vec<(String, String)>, Response> {
    let (user, password) = basic(headers).ok_or_else(unauthorized)?;
    let state = repos.world.lock();
    if let Some(minted) = state.token(&password, APK_AUDIENCE) {
        return Ok(minted.roles.clone());
    }
    match state.verify_pull_token(&password) {
        Ok(identity) if identity == user => Ok(state.roles_of(&identity)),
        _ => Err(unauthorized()),
    }
}

fn serve(
    repository: &Repository,
    key: &SigningKey,
    rest: &str,
    headers: &HeaderMap,
    base: &str,
) -> Response {
    match rest.split_once('/') {
        None if rest == "apk-configuration" => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("apk.cgr.dev");
            axum::Json(json!({"jwks_uri": format!("http://{host}/{base}/keys.json")}))
                .into_response()
        }
        None if rest == "keys.json" => axum::Json(json!({"keys": [key.jwk()]})).into_response(),
        Some((arch, "APKINDEX.tar.gz")) => match repository.indexes.get(arch) {
            Some(index) => index.clone().into_response(),
            None => text(StatusCode::NOT_FOUND, "404 page not found"),
        },
        Some(_) => match repository.files.get(rest) {
            Some(file) => file.clone().into_response(),
            None => text(StatusCode::NOT_FOUND, "404 page not found"),
        },
        None => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

pub(crate) fn apk_router(repos: Arc<ApkRepos>) -> Router {
    Router::new().route("/{*path}", get(apk)).with_state(repos)
}

pub(crate) fn virtual_router(repos: Arc<ApkRepos>) -> Router {
    Router::new()
        .route("/{*path}", get(virtual_apk))
        .with_state(repos)
}

async fn apk(
    State(repos): State<Arc<ApkRepos>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let Some((org, rest)) = path.split_once('/') else {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    };
    match org {
        "chainguard" => return serve(&repos.chainguard, &repos.key, rest, &headers, org),
        "extra-packages" => return serve(&repos.extras, &repos.key, rest, &headers, org),
        _ => {}
    }
    if org != repos.world.lock().org_name {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    }
    let roles = match caller_roles(&repos, &headers) {
        Ok(roles) => roles,
        Err(answer) => return answer,
    };
    let needed = if rest.ends_with(".apk") {
        "apk.blobs.get"
    } else {
        "apk.list"
    };
    if !roles
        .iter()
        .any(|(_, role)| capabilities(role).contains(&needed))
    {
        return text(
            StatusCode::FORBIDDEN,
            "403 FORBIDDEN caller does not have the required capabilities",
        );
    }
    serve(&repos.private, &repos.key, rest, &headers, org)
}

async fn virtual_apk(
    State(repos): State<Arc<ApkRepos>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let mut parts = path.splitn(3, '/');
    let (Some(org_id), Some(repo), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    };
    if org_id != repos.world.lock().org_id {
        return text(
            StatusCode::NOT_FOUND,
            "404 page not found: virtualapk.cgr.dev is addressed by organization id",
        );
    }
    let base = format!("{org_id}/{repo}");
    match repo {
        "chainguard" => serve(&repos.chainguard, &repos.key, rest, &headers, &base),
        "extra-packages" => serve(&repos.extras, &repos.key, rest, &headers, &base),
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}
