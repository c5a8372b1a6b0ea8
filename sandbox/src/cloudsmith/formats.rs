//! `/repos/{owner}/{identifier}/upstream/{format}/` for the formats other than Docker
//! (the reference's list: the same six operations exist for every format): enough for a
//! client to find what else a repository holds before it deletes it. Only the fields all
//! formats share are checked (`name`, `upstream_url`, `mode`, `priority`,
//! `verify_ssl`, `is_active`); `auth_secret` is kept apart and answered `null`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::envelope::{
    Fields, Kind, Pattern, Spec, boolean, check, choice, forbidden, not_found, parse_object,
    patterned, text,
};
use super::pages::paginate;
use super::{Fake, now, random_slug_perm};

/// Every upstream format of the API but Docker (`upstreams.rs` has their own routes), as the
/// reference lists them.
pub(crate) const OTHER_FORMATS: [&str; 21] = [
    "alpine",
    "cargo",
    "composer",
    "conda",
    "cran",
    "dart",
    "deb",
    "generic",
    "go",
    "helm",
    "hex",
    "huggingface",
    "maven",
    "nix",
    "npm",
    "nuget",
    "python",
    "rpm",
    "ruby",
    "skills",
    "swift",
];

/// An upstream of another format than Docker.
#[derive(Clone)]
pub(crate) struct OtherUpstream {
    pub(crate) format: String,
    pub(crate) slug_perm: String,
    pub(crate) config: Map<String, Value>,
}

impl std::fmt::Debug for OtherUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds no secret (auth_secret is never kept).
        f.debug_struct("OtherUpstream")
            .field("format", &self.format)
            .field("slug_perm", &self.slug_perm)
            .field("config", &self.config)
            .finish()
    }
}

fn specs() -> [Spec; 8] {
    [
        patterned("name", 1, Some(64), Pattern::Name).required(),
        Spec::new("upstream_url", Kind::Url { max: 200 }).required(),
        choice("mode", &["Proxy Only", "Cache and Proxy", "Cache Only"]),
        Spec::new("priority", Kind::Integer { min: 1, max: 32767 }),
        boolean("verify_ssl"),
        boolean("is_active"),
        text("auth_username", 0, Some(64)).nullable(),
        text("auth_secret", 0, Some(4096)).nullable(),
    ]
}

pub(crate) fn routes() -> Router<Arc<Fake>> {
    Router::new()
        .route(
            "/repos/{owner}/{identifier}/upstream/{format}/",
            get(list).post(create),
        )
        .route(
            "/repos/{owner}/{identifier}/upstream/{format}/{slug_perm}/",
            get(read).delete(delete),
        )
}

fn answer(upstream: &OtherUpstream) -> Value {
    let mut answer = upstream.config.clone();
    answer.insert("slug_perm".to_owned(), upstream.slug_perm.clone().into());
    answer.insert("auth_secret".to_owned(), Value::Null);
    Value::Object(answer)
}

fn known(format: &str) -> bool {
    OTHER_FORMATS.contains(&format)
}

async fn list(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, format)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    if !known(&format) {
        return not_found();
    }
    let items: Vec<Value> = {
        let state = fake.lock();
        let Some(repo) = state.repo(&identifier) else {
            return not_found();
        };
        repo.other_upstreams
            .iter()
            .filter(|u| u.format == format)
            .map(answer)
            .collect()
    };
    let path = format!("/repos/{owner}/{identifier}/upstream/{format}/");
    paginate(items, &query, &headers, &path)
}

async fn create(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, format)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    if !known(&format) {
        return not_found();
    }
    let body = match parse_object(&body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let mut kept = match check(&body, &specs(), false) {
        Ok(kept) => kept,
        Err(fields) => return fields.into_response(),
    };
    kept.remove("auth_secret");
    let mut state = fake.lock();
    let Some(repo) = state.repo_mut(&identifier) else {
        return not_found();
    };
    let name = kept.get("name").cloned().unwrap_or_default();
    if repo
        .other_upstreams
        .iter()
        .any(|u| u.format == format && u.config.get("name") == Some(&name))
    {
        let mut fields = Fields::default();
        fields.add(
            "name",
            "An upstream with this name already exists in this repository.",
        );
        return fields.into_response();
    }
    let mut config = match json!({
        "mode": "Proxy Only", "verify_ssl": true, "is_active": true, "auth_mode": "None",
        "created_at": now(), "updated_at": now(),
    }) {
        Value::Object(defaults) => defaults,
        _ => Map::new(),
    };
    config.extend(kept);
    let upstream = OtherUpstream {
        format,
        slug_perm: random_slug_perm(12),
        config,
    };
    let body = answer(&upstream);
    repo.other_upstreams.push(upstream);
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

async fn read(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, format, slug_perm)): Path<(String, String, String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let state = fake.lock();
    state
        .repo(&identifier)
        .and_then(|repo| {
            repo.other_upstreams
                .iter()
                .find(|u| u.format == format && u.slug_perm == slug_perm)
        })
        .map_or_else(not_found, |u| axum::Json(answer(u)).into_response())
}

async fn delete(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, format, slug_perm)): Path<(String, String, String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let Some(repo) = state.repo_mut(&identifier) else {
        return not_found();
    };
    let before = repo.other_upstreams.len();
    repo.other_upstreams
        .retain(|u| !(u.format == format && u.slug_perm == slug_perm));
    if repo.other_upstreams.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}
