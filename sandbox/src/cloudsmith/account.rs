//! Who the key is and where it may act: `/status/check/basic/`, `/user/self/`,
//! `/namespaces/` and `/storage-regions/`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::envelope::not_found;
use super::pages::paginate;
use super::rate::Caller;
use super::{Fake, OWNER, USER, root};

/// The storage regions `GET /storage-regions/` lists and a repository may name: the
/// slugs the reference gives (from Terraform's validator), `default` being Dublin.
pub(crate) const REGIONS: &[&str] = &[
    "default",
    "au-sydney",
    "sg-singapore",
    "ca-montreal",
    "de-frankfurt",
    "us-oregon",
    "us-ohio",
    "jp-tokyo",
    "gb-london",
    "ie-dublin",
];

fn region_label(slug: &str) -> &'static str {
    match slug {
        "au-sydney" => "Sydney, Australia",
        "sg-singapore" => "Singapore",
        "ca-montreal" => "Montreal, Canada",
        "de-frankfurt" => "Frankfurt, Germany",
        "us-oregon" => "Oregon, United States",
        "us-ohio" => "Ohio, United States",
        "jp-tokyo" => "Tokyo, Japan",
        "gb-london" => "London, United Kingdom",
        "ie-dublin" => "Dublin, Ireland",
        _ => "Default (Dublin, Ireland)",
    }
}

pub(crate) fn routes() -> Router<Arc<Fake>> {
    Router::new()
        .route(
            "/status/check/basic/",
            get(|| async {
                axum::Json(json!({
                    "detail": "Cloudsmith API is operational.",
                    "version": "1.1352.0-sandbox"
                }))
            }),
        )
        .route("/user/self/", get(user_self))
        .route("/namespaces/", get(namespaces))
        .route("/namespaces/{owner}/", get(namespace))
        .route("/storage-regions/", get(storage_regions))
}

/// `UserBrief`: the key's user, or `authenticated: false` for a caller without a key
/// (a 200 either way, so a client must read the flag).
async fn user_self(
    State(fake): State<Arc<Fake>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if !caller.authenticated {
        return axum::Json(json!({
            "authenticated": false,
            "email": null,
            "name": null,
            "profile_url": null,
            "self_url": null,
            "slug": null,
            "slug_perm": null,
        }))
        .into_response();
    }
    axum::Json(json!({
        "authenticated": true,
        "email": format!("{USER}@example.com"),
        "name": "Sandbox User",
        "profile_url": format!("https://cloudsmith.io/~{USER}/"),
        "self_url": format!("{}users/profile/{USER}/", root(&headers)),
        "slug": USER,
        "slug_perm": fake.user_perm,
    }))
    .into_response()
}

fn namespace_json(fake: &Fake) -> Value {
    json!({
        "name": "Pull-through sandbox",
        "slug": OWNER,
        "slug_perm": fake.owner_perm,
        "type_name": "Organization",
    })
}

fn user_namespace_json(fake: &Fake) -> Value {
    json!({
        "name": "Sandbox User",
        "slug": USER,
        "slug_perm": fake.user_perm,
        "type_name": "User",
    })
}

/// The namespaces the user belongs to: the user's own and the workspace.
async fn namespaces(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    paginate(
        vec![namespace_json(&fake), user_namespace_json(&fake)],
        &query,
        &headers,
        "/namespaces/",
    )
}

/// One namespace by slug or `slug_perm`; a namespace the user is not in is not found.
async fn namespace(State(fake): State<Arc<Fake>>, Path(owner): Path<String>) -> Response {
    if fake.is_owner(&owner) {
        axum::Json(namespace_json(&fake)).into_response()
    } else if owner == USER || owner == fake.user_perm {
        axum::Json(user_namespace_json(&fake)).into_response()
    } else {
        not_found()
    }
}

async fn storage_regions() -> Response {
    let regions: Vec<Value> = REGIONS
        .iter()
        .map(|slug| json!({"label": region_label(slug), "slug": slug}))
        .collect();
    axum::Json(regions).into_response()
}
