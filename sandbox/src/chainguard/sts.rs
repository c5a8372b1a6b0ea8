//! The fake STS: `/sts/exchange` (pull-token JWTs verified against their identity's keys,
//! expiry and audience; Chainguard tokens re-minted for another audience) and
//! `/sts/exchange_refresh_token` (rotating).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::api::rpc;
use super::world::{World, mint_into};
use crate::common::random_hex;

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/sts/exchange", get(exchange).post(exchange_form))
        .route("/sts/exchange_refresh_token", post(refresh))
        .with_state(world)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    crate::common::bearer(headers).map(str::to_owned)
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

async fn exchange_form(
    state: State<Arc<World>>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let mut params = query.0;
    params.extend(form(&body));
    do_exchange(&state.0, &headers, &params)
}

async fn exchange(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    do_exchange(&world, &headers, &params)
}

fn do_exchange(world: &World, headers: &HeaderMap, params: &HashMap<String, String>) -> Response {
    let Some(presented) = bearer(headers) else {
        return rpc(StatusCode::UNAUTHORIZED, 16, "no bearer token to exchange");
    };
    let Some(audience) = params.get("aud").filter(|a| !a.is_empty()) else {
        return rpc(StatusCode::BAD_REQUEST, 3, "aud is required");
    };
    let mut state = world.lock();
    let (subject, roles) = if let Some(minted) = state
        .minted
        .get(&presented)
        .filter(|m| m.expires > std::time::SystemTime::now())
        // Registry tokens (scoped to one repository) are not Chainguard tokens the STS
        // exchanges.
        .filter(|m| m.scope.is_none())
    {
        (minted.subject.clone(), minted.roles.clone())
    } else {
        match state.verify_pull_token(&presented) {
            Ok(identity) => {
                // Static identities are looked up by the identity the caller names; the
                // real STS cannot find their keys without it.
                match params.get("identity") {
                    None => {
                        return rpc(
                            StatusCode::BAD_REQUEST,
                            3,
                            "identity is required to exchange a token of a static identity",
                        );
                    }
                    Some(wanted) if *wanted != identity => {
                        return rpc(
                            StatusCode::FORBIDDEN,
                            7,
                            "the token is not for the identity named",
                        );
                    }
                    Some(_) => {}
                }
                let roles = state.roles_of(&identity);
                (identity, roles)
            }
            Err(problem) => return rpc(StatusCode::FORBIDDEN, 7, &problem),
        }
    };
    let token = mint_into(&mut state, &subject, audience, roles, None);
    let expires = state.minted[&token].expires;
    axum::Json(
        json!({"token": token, "expiry": humantime::format_rfc3339_seconds(expires).to_string()}),
    )
    .into_response()
}

async fn refresh(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let mut params = query;
    params.extend(form(&body));
    let Some(presented) = bearer(&headers) else {
        return rpc(StatusCode::UNAUTHORIZED, 16, "no refresh token");
    };
    let Some(audience) = params.get("aud").cloned() else {
        return rpc(StatusCode::BAD_REQUEST, 3, "aud is required");
    };
    let mut state = world.lock();
    let Some(subject) = state.refresh_tokens.remove(&presented) else {
        return rpc(
            StatusCode::UNAUTHORIZED,
            16,
            "unknown or already used refresh token",
        );
    };
    let roles = vec![(state.org_id.clone(), "owner".to_owned())];
    let token = mint_into(&mut state, &subject, &audience, roles, None);
    let rotated = random_hex(24);
    state.refresh_tokens.insert(rotated.clone(), subject);
    let expiry = humantime::format_rfc3339_seconds(state.minted[&token].expires).to_string();
    axum::Json(json!({"token": {"token": token, "expiry": expiry}, "refreshToken": {"token": rotated, "expiry": expiry}})).into_response()
}
