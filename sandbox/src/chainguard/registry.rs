//! The fake `cgr.dev`: registry v2 with token auth by challenge. Public images under
//! `chainguard/`, private ones under the organization's name, which need a pull token
//! bound to `registry.pull`. A token works for the one repository it was issued for (the
//! real registry answers 403 to a token reused for another scope).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::REGISTRY_AUDIENCE;
use super::world::{World, capabilities, mint_into};
use crate::common::{basic, bearer, docker_errors as errors};

pub(crate) const PUBLIC_IMAGES: [&str; 3] =
    ["chainguard/go", "chainguard/nginx", "chainguard/mariadb"];

#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) world: Arc<World>,
    /// repository -> (manifest bytes, digest, config bytes, config digest)
    pub(crate) images: HashMap<String, (Vec<u8>, String, Vec<u8>, String)>,
}

fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!(
        "sha256:{}",
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl Registry {
    pub(crate) fn new(world: Arc<World>, org_name: &str) -> Registry {
        let mut images = HashMap::new();
        let private = format!("{org_name}/chainguard-base");
        for repository in PUBLIC_IMAGES
            .iter()
            .map(|s| (*s).to_owned())
            .chain([private])
        {
            let config = json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {"image": repository}}})
                .to_string()
                .into_bytes();
            let config_digest = sha256(&config);
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                "layers": []
            })
            .to_string()
            .into_bytes();
            let digest = sha256(&manifest);
            images.insert(repository, (manifest, digest, config, config_digest));
        }
        Registry { world, images }
    }

    fn is_public(repository: &str) -> bool {
        repository.starts_with("chainguard/")
    }
}

pub(crate) fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/v2/", get(base))
        .route("/token", get(token))
        .route("/v2/{*path}", get(content).head(content))
        .with_state(registry)
}

fn challenge(headers: &HeaderMap, scope: Option<&str>) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("cgr.dev");
    let mut value = format!(r#"Bearer realm="http://{host}/token",service="cgr.dev""#);
    if let Some(scope) = scope {
        value.push_str(&format!(r#",scope="repository:{scope}:pull""#));
    }
    let mut answer = errors(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        answer.headers_mut().insert("www-authenticate", value);
    }
    answer
}

async fn base(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let state = registry.world.lock();
    match bearer(&headers).and_then(|t| state.token(t, REGISTRY_AUDIENCE)) {
        Some(_) => axum::Json(json!({})).into_response(),
        None => challenge(&headers, None),
    }
}

async fn token(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("service").map(String::as_str) != Some("cgr.dev") {
        return errors(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "service must be cgr.dev",
        );
    }
    let Some(repository) = query
        .get("scope")
        .and_then(|scope| scope.strip_prefix("repository:"))
        .and_then(|rest| rest.strip_suffix(":pull"))
        .map(str::to_owned)
    else {
        return errors(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "scope must be repository:<name>:pull",
        );
    };
    let mut state = registry.world.lock();
    let (subject, roles) = match basic(&headers) {
        None => ("anonymous".to_owned(), Vec::new()),
        Some((user, password)) if user == "_token" => {
            match state.token(&password, REGISTRY_AUDIENCE) {
                Some(minted) => (minted.subject.clone(), minted.roles.clone()),
                None => return errors(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid token"),
            }
        }
        Some((user, password)) => match state.verify_pull_token(&password) {
            Ok(identity) if identity == user => {
                let roles = state.roles_of(&identity);
                (identity, roles)
            }
            Ok(_) => {
                return errors(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "the username is not the token's identity",
                );
            }
            Err(problem) => return errors(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &problem),
        },
    };
    if !Registry::is_public(&repository) {
        let namespace_ok = repository.split('/').next() == Some(state.org_name.as_str());
        let allowed = namespace_ok
            && roles
                .iter()
                .any(|(_, role)| capabilities(role).contains(&"repo.blobs.get"));
        if !allowed {
            return errors(
                StatusCode::FORBIDDEN,
                "DENIED",
                "the caller may not pull this repository: bind registry.pull",
            );
        }
    }
    let token = mint_into(
        &mut state,
        &subject,
        REGISTRY_AUDIENCE,
        roles,
        Some(repository),
    );
    axum::Json(json!({"token": token, "access_token": token, "expires_in": 3600})).into_response()
}

async fn content(
    State(registry): State<Arc<Registry>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let (repository, kind, reference) = match path.rsplitn(3, '/').collect::<Vec<_>>().as_slice() {
        [reference, kind, repository] if matches!(*kind, "manifests" | "blobs") => {
            ((*repository).to_owned(), *kind, (*reference).to_owned())
        }
        _ => return errors(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such path"),
    };
    {
        let state = registry.world.lock();
        match bearer(&headers).and_then(|t| state.token(t, REGISTRY_AUDIENCE)) {
            None => return challenge(&headers, Some(&repository)),
            Some(minted) if minted.scope.as_deref() != Some(repository.as_str()) => {
                return errors(
                    StatusCode::FORBIDDEN,
                    "DENIED",
                    "the token is for another repository",
                );
            }
            Some(_) => {}
        }
    }
    let Some((manifest, digest, config, config_digest)) = registry.images.get(&repository) else {
        return errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        );
    };
    let (body, media_type, body_digest) = match kind {
        "manifests" if reference == "latest" || reference == *digest => (
            manifest.clone(),
            "application/vnd.oci.image.manifest.v1+json",
            digest.clone(),
        ),
        "blobs" if reference == *config_digest => (
            config.clone(),
            "application/vnd.oci.image.config.v1+json",
            config_digest.clone(),
        ),
        "manifests" => {
            return errors(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            );
        }
        _ => return errors(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown"),
    };
    let length = body.len();
    let mut answer = if method == Method::HEAD {
        Vec::new().into_response()
    } else {
        body.into_response()
    };
    let headers = answer.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(media_type));
    if let Ok(value) = HeaderValue::from_str(&body_digest) {
        headers.insert("docker-content-digest", value);
    }
    headers.insert("content-length", HeaderValue::from(length));
    answer
}
