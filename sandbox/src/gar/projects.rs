//! The Resource Manager API's project lookup: `GET v1/projects/{projectId}` (also by
//! number) and `GET v3/projects/{projectId or number}`. An unknown project is 403
//! `PERMISSION_DENIED`, as Google answers for a project the caller cannot see.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query as RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::envelope::{Query, Refusal, authenticate, no_such_method};
use super::{DEFAULT_PROJECT, Fake, Project};

const API: &str = "cloudresourcemanager.googleapis.com";

/// When the sandbox's projects were "created".
const CREATED: &str = "2026-01-01T00:00:00.000Z";

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v1/projects/{project}", get(get_v1))
        .route("/v3/projects/{project}", get(get_v3))
        .fallback(no_such_method)
        .method_not_allowed_fallback(no_such_method)
        .layer(axum::middleware::from_fn_with_state(
            (fake.clone(), API),
            authenticate,
        ))
        .with_state(fake)
}

fn find(fake: &Fake, segment: &str) -> Result<Project, Refusal> {
    fake.project(segment).ok_or_else(|| {
        let mut refusal = Refusal::new(
            axum::http::StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        );
        refusal.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "cloudresourcemanager.googleapis.com",
            "metadata": {"permission": "resourcemanager.projects.get", "resource": format!("projects/{segment}")}
        }));
        refusal
    })
}

fn display_name(project: &Project) -> String {
    if project.id == DEFAULT_PROJECT {
        "pull-through sandbox".to_owned()
    } else {
        project.id.clone()
    }
}

/// `GET v1/projects/{projectId}` → `{"projectNumber", "projectId", "lifecycleState", "name", "createTime"}`.
async fn get_v1(
    State(fake): State<Arc<Fake>>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let project = find(&fake, &segment)?;
    Ok(query.answer(json!({
        "projectNumber": project.number,
        "projectId": project.id,
        "lifecycleState": "ACTIVE",
        "name": display_name(&project),
        "createTime": CREATED,
    })))
}

/// `GET v3/projects/{projectId or number}` → `{"name": "projects/NUMBER", "projectId", "state", ...}`.
async fn get_v3(
    State(fake): State<Arc<Fake>>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let project = find(&fake, &segment)?;
    Ok(query.answer(json!({
        "name": format!("projects/{}", project.number),
        "projectId": project.id,
        "state": "ACTIVE",
        "displayName": display_name(&project),
        "createTime": CREATED,
        "etag": "W/\"sandbox\"",
    })))
}
