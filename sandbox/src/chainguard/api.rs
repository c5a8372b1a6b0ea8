//! The fake console API: groups, roles, identities, role bindings, `auth/v1/ok`, strict the
//! way Chainguard is (google.rpc.Status errors, capability checks, the v1 empty list).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::CONSOLE_AUDIENCE;
use super::world::{ROLES, World, capabilities};
use crate::common::{bearer, random_hex};

pub(crate) fn rpc(status: StatusCode, code: i32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "details": []})),
    )
        .into_response()
}

/// The caller's roles, from a console-API token; a 401 answer otherwise.
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn caller(world: &World, headers: &HeaderMap) -> Result<Vec<(String, String)>, Response> {
    let state = world.lock();
    bearer(headers)
        .and_then(|token| state.token(token, CONSOLE_AUDIENCE))
        .map(|minted| minted.roles.clone())
        .ok_or_else(|| {
            rpc(
                StatusCode::UNAUTHORIZED,
                16,
                "unauthenticated: missing, expired or wrong-audience token",
            )
        })
}

fn can(roles: &[(String, String)], group: &str, capability: &str) -> bool {
    roles.iter().any(|(at, role)| {
        (group == at || group.starts_with(&format!("{at}/")))
            && capabilities(role).contains(&capability)
    })
}

/// The caller must hold `capability` in `group`; the 401 or 403 answer otherwise.
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn authorize(
    world: &World,
    headers: &HeaderMap,
    group: &str,
    capability: &str,
) -> Result<(), Response> {
    let roles = caller(world, headers)?;
    if can(&roles, group, capability) {
        Ok(())
    } else {
        Err(denied(capability))
    }
}

fn denied(capability: &str) -> Response {
    rpc(
        StatusCode::FORBIDDEN,
        7,
        &format!("permission denied: the caller lacks {capability}"),
    )
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/iam/v1/groups", get(groups))
        .route("/iam/v1/roles", get(roles))
        .route("/iam/v1/identities", get(list_identities))
        .route(
            "/iam/v1/identities/{*rest}",
            post(create_identity).delete(delete_identity),
        )
        .route("/iam/v1/rolebindings", get(list_bindings))
        .route(
            "/iam/v1/rolebindings/{*rest}",
            post(create_binding).delete(delete_binding),
        )
        .route("/auth/v1/ok", get(who_am_i))
        .with_state(world)
}

async fn groups(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let roles = match caller(&world, &headers) {
        Ok(roles) => roles,
        Err(answer) => return answer,
    };
    let state = world.lock();
    let visible = can(&roles, &state.org_id, "groups.list");
    let matches = query.get("name").is_none_or(|name| *name == state.org_name)
        && query.get("id").is_none_or(|id| *id == state.org_id);
    // v1 answers an empty list, not an error, to a caller without groups.list.
    let items = if visible && matches {
        vec![
            json!({"id": state.org_id, "name": state.org_name, "description": "", "verified": true}),
        ]
    } else {
        Vec::new()
    };
    axum::Json(json!({"items": items})).into_response()
}

async fn roles(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(answer) = caller(&world, &headers) {
        return answer;
    }
    let items: Vec<Value> = ROLES
        .iter()
        .filter(|(name, _, _)| query.get("name").is_none_or(|wanted| wanted == name))
        .map(|(name, id, caps)| json!({"id": id, "name": name, "description": "", "capabilities": caps}))
        .collect();
    axum::Json(json!({"items": items})).into_response()
}

/// Checks an identity create body field by field.
fn check_identity(body: &Value) -> Result<(), String> {
    let Some(object) = body.as_object() else {
        return Err("the body must be an Identity object".to_owned());
    };
    for key in object.keys() {
        if !["name", "description", "static", "claimMatch"].contains(&key.as_str()) {
            return Err(format!("unknown field {key:?} in Identity"));
        }
    }
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || " ._-".contains(c))
    {
        return Err(format!(
            "Invalid argument: name: name must match \"^[a-z0-9 ._-]{{1,}}$\" (got {name:?})"
        ));
    }
    let Some(keys) = object.get("static") else {
        return Err("an identity needs a relationship (static or claimMatch)".to_owned());
    };
    for field in ["issuer", "subject", "issuerKeys", "expiration"] {
        if keys
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("static.{field} is required"));
        }
    }
    let jwks: Value = serde_json::from_str(keys["issuerKeys"].as_str().unwrap_or_default())
        .map_err(|_| "static.issuerKeys must be a JWKS document".to_owned())?;
    if jwks["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err("static.issuerKeys has no keys".to_owned());
    }
    let expiration = humantime::parse_rfc3339_weak(keys["expiration"].as_str().unwrap_or_default())
        .map_err(|_| "static.expiration must be an RFC 3339 time".to_owned())?;
    if expiration > SystemTime::now() + Duration::from_secs(365 * 24 * 3600 + 300) {
        return Err("static.expiration must be at most 365 days away".to_owned());
    }
    Ok(())
}

async fn create_identity(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(parent): Path<String>,
    body: String,
) -> Response {
    if let Err(answer) = authorize(&world, &headers, &parent, "identity.create") {
        return answer;
    }
    let Ok(mut identity) = serde_json::from_str::<Value>(&body) else {
        return rpc(StatusCode::BAD_REQUEST, 3, "the body is not JSON");
    };
    if let Err(problem) = check_identity(&identity) {
        return rpc(StatusCode::BAD_REQUEST, 3, &problem);
    }
    let id = format!("{parent}/{}", random_hex(8));
    identity["id"] = json!(id);
    identity["createdAt"] = json!(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    world.lock().identities.insert(id, identity.clone());
    axum::Json(identity).into_response()
}

async fn list_identities(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let roles = match caller(&world, &headers) {
        Ok(roles) => roles,
        Err(answer) => return answer,
    };
    let state = world.lock();
    let under = query.get("uidp.descendantsOf").cloned().unwrap_or_default();
    let items: Vec<Value> = if can(&roles, &state.org_id, "identity.list") {
        state
            .identities
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("{under}/")))
            .map(|(_, identity)| identity.clone())
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(json!({"items": items})).into_response()
}

async fn delete_identity(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(answer) = authorize(&world, &headers, &id, "identity.delete") {
        return answer;
    }
    let mut state = world.lock();
    if state.identities.remove(&id).is_none() {
        return rpc(
            StatusCode::NOT_FOUND,
            5,
            &format!("identity {id} not found"),
        );
    }
    state.bindings.retain(|_, (identity, _)| *identity != id);
    axum::Json(json!({})).into_response()
}

async fn create_binding(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(parent): Path<String>,
    body: String,
) -> Response {
    if let Err(answer) = authorize(&world, &headers, &parent, "role_bindings.create") {
        return answer;
    }
    let Ok(binding) = serde_json::from_str::<Value>(&body) else {
        return rpc(StatusCode::BAD_REQUEST, 3, "the body is not JSON");
    };
    if let Some(unknown) = binding.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["identity", "role", "group"].contains(&k.as_str()))
    }) {
        return rpc(
            StatusCode::BAD_REQUEST,
            3,
            &format!("unknown field {unknown:?} in RoleBinding"),
        );
    }
    let identity = binding["identity"].as_str().unwrap_or_default().to_owned();
    let role = binding["role"].as_str().unwrap_or_default().to_owned();
    let mut state = world.lock();
    if !state.identities.contains_key(&identity) {
        return rpc(
            StatusCode::NOT_FOUND,
            5,
            &format!("identity {identity:?} not found"),
        );
    }
    if super::world::role_name(&role).is_none() {
        return rpc(
            StatusCode::NOT_FOUND,
            5,
            &format!("role {role:?} not found; roles are given by id"),
        );
    }
    let id = format!("{parent}/{}", random_hex(8));
    state
        .bindings
        .insert(id.clone(), (identity.clone(), role.clone()));
    axum::Json(json!({"id": id, "identity": identity, "role": role, "group": parent}))
        .into_response()
}

/// v1's list: the bindings below `uidp.descendantsOf`, each with its role as a full
/// object and its group (an empty list without `role_bindings.list`, as v1 answers).
async fn list_bindings(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let roles = match caller(&world, &headers) {
        Ok(roles) => roles,
        Err(answer) => return answer,
    };
    let state = world.lock();
    let under = query.get("uidp.descendantsOf").cloned().unwrap_or_default();
    let items: Vec<Value> = if can(&roles, &state.org_id, "role_bindings.list") {
        state
            .bindings
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("{under}/")))
            .map(|(id, (identity, role))| {
                let (name, caps) = ROLES
                    .iter()
                    .find(|(_, role_id, _)| role_id == role)
                    .map(|(name, _, caps)| (*name, *caps))
                    .unwrap_or(("", &[]));
                json!({"id": id, "identity": identity,
                       "role": {"id": role, "name": name, "capabilities": caps},
                       "group": {"id": state.org_id, "name": state.org_name}})
            })
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(json!({"items": items})).into_response()
}

async fn delete_binding(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(answer) = authorize(&world, &headers, &id, "role_bindings.delete") {
        return answer;
    }
    match world.lock().bindings.remove(&id) {
        Some(_) => axum::Json(json!({})).into_response(),
        None => rpc(
            StatusCode::NOT_FOUND,
            5,
            &format!("role binding {id} not found"),
        ),
    }
}

async fn who_am_i(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let state = world.lock();
    let Some(minted) = bearer(&headers).and_then(|token| state.token(token, CONSOLE_AUDIENCE))
    else {
        return rpc(StatusCode::UNAUTHORIZED, 16, "unauthenticated");
    };
    let capabilities: Vec<Value> = minted
        .roles
        .iter()
        .map(|(group, role)| {
            let (name, id, caps) = ROLES
                .iter()
                .find(|(name, _, _)| name == role)
                .copied()
                .unwrap_or(("?", "?", &[]));
            json!({"group": {"id": group, "name": state.org_name},
                   "role": {"id": id, "name": name, "capabilities": caps}})
        })
        .collect();
    axum::Json(json!({
        "issuer": super::world::ISSUER,
        "subject": minted.subject,
        "audience": [minted.audience],
        "expiry": humantime::format_rfc3339_seconds(minted.expires).to_string(),
        "capabilities": capabilities,
    }))
    .into_response()
}
