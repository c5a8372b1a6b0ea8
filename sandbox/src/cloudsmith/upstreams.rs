//! `/repos/{owner}/{identifier}/upstream/docker/`: Docker upstreams with the checks of
//! `DockerUpstreamRequest` (and its patch twin) and the `DockerUpstream` answer, whose
//! `auth_secret` is always `null`.

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
use super::{DockerUpstream, Fake, State as FakeState, now, random_slug_perm};

/// `mode` for Docker. `Cache Only` is only in the 2.0.42 SDK's enum, not in the spec
/// (reference, open question 5); the fake takes it, and its registry treats it as
/// `Cache and Proxy`, since what the live service does with it is unknown.
pub(crate) const MODES: &[&str] = &["Proxy Only", "Cache and Proxy", "Cache Only"];

/// `auth_mode` for Docker: no `Token`, which other formats have.
pub(crate) const AUTH_MODES: &[&str] = &["None", "Username and Password", "Certificate and Key"];

fn specs() -> [Spec; 15] {
    [
        patterned("name", 1, Some(64), Pattern::Name).required(),
        Spec::new("upstream_url", Kind::Url { max: 200 }).required(),
        choice("mode", MODES),
        Spec::new("priority", Kind::Integer { min: 1, max: 32767 }),
        boolean("verify_ssl"),
        boolean("is_active"),
        choice("auth_mode", AUTH_MODES),
        text("auth_username", 0, Some(64)).nullable(),
        text("auth_secret", 0, Some(4096)).nullable(),
        text("auth_certificate", 1, None).nullable(),
        text("auth_certificate_key", 1, None).nullable(),
        patterned("extra_header_1", 0, Some(64), Pattern::HeaderName).nullable(),
        patterned("extra_header_2", 0, Some(64), Pattern::HeaderName).nullable(),
        patterned("extra_value_1", 0, Some(128), Pattern::OneLine).nullable(),
        patterned("extra_value_2", 0, Some(128), Pattern::OneLine).nullable(),
    ]
}

pub(crate) fn routes() -> Router<Arc<Fake>> {
    Router::new()
        .route(
            "/repos/{owner}/{identifier}/upstream/docker/",
            get(list).post(create),
        )
        .route(
            "/repos/{owner}/{identifier}/upstream/docker/{slug_perm}/",
            get(read).put(replace).patch(update).delete(delete),
        )
}

/// The `DockerUpstream` answer.
pub(crate) fn upstream_json(upstream: &DockerUpstream) -> Value {
    let mut answer = upstream.config.clone();
    let read_only = json!({
        // Write-only since April 2025: "The API no longer returns plaintext secrets".
        "auth_secret": null,
        "slug_perm": upstream.slug_perm,
        "created_at": upstream.created_at,
        "updated_at": upstream.updated_at,
        "available": true,
        "pending_validation": false,
        "has_failed_signature_verification": false,
        "disable_reason": "N/A",
        "disable_reason_text": "",
    });
    if let Value::Object(read_only) = read_only {
        answer.extend(read_only);
    }
    Value::Object(answer)
}

/// What the field checks cannot say: a trailing `/` on the URL (Terraform refuses it,
/// PR #113; whether the live API strips or refuses it is the reference's open question
/// 9, and the contract has the fake refuse it), and a name another upstream of the
/// repository has. A second upstream with the same URL is accepted: Cloudsmith's own
/// Terraform example makes two on `https://cgr.dev` (open question 2).
fn refusals(
    kept: &Map<String, Value>,
    others: &[DockerUpstream],
    this: Option<&str>,
) -> Option<Fields> {
    let mut fields = Fields::default();
    if kept
        .get("upstream_url")
        .and_then(Value::as_str)
        .is_some_and(|url| url.ends_with('/'))
    {
        fields.add(
            "upstream_url",
            "The upstream URL must not end with a slash: give the root without a trailing '/'.",
        );
    }
    if let Some(name) = kept.get("name").and_then(Value::as_str) {
        let taken = others
            .iter()
            .any(|u| u.text("name") == name && Some(u.slug_perm.as_str()) != this);
        if taken {
            fields.add(
                "name",
                "An upstream with this name already exists in this repository.",
            );
        }
    }
    (!fields.is_empty()).then_some(fields)
}

/// Stores checked fields: the write-only ones apart, the rest as answered.
fn apply(upstream: &mut DockerUpstream, kept: Map<String, Value>) {
    for (name, value) in kept {
        let text = value.as_str().map(str::to_owned);
        match name.as_str() {
            "auth_secret" => upstream.auth_secret = text,
            "auth_certificate" => upstream.auth_certificate = text,
            "auth_certificate_key" => upstream.auth_certificate_key = text,
            _ => {
                upstream.config.insert(name, value);
            }
        }
    }
}

/// The body of a write to the upstreams of repository `identifier`, checked; or the
/// answer to give instead. Called under the lock the write is made under, so two writes
/// cannot both take a free name.
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn checked(
    state: &FakeState,
    identifier: &str,
    body: &Bytes,
    partial: bool,
    this: Option<&str>,
) -> Result<Map<String, Value>, Response> {
    let repo = state.repo(identifier).ok_or_else(not_found)?;
    if let Some(this) = this {
        if !repo.upstreams.iter().any(|u| u.slug_perm == this) {
            return Err(not_found());
        }
    }
    let body = parse_object(body)?;
    let kept = check(&body, &specs(), partial).map_err(Fields::into_response)?;
    match refusals(&kept, &repo.upstreams, this) {
        Some(fields) => Err(fields.into_response()),
        None => Ok(kept),
    }
}

/// `GET`: every Docker upstream of the repository, oldest first, paginated.
async fn list(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let items: Vec<Value> = {
        let state = fake.lock();
        let Some(repo) = state.repo(&identifier) else {
            return not_found();
        };
        repo.upstreams.iter().map(upstream_json).collect()
    };
    let path = format!("/repos/{owner}/{identifier}/upstream/docker/");
    paginate(items, &query, &headers, &path)
}

/// `POST`: 201 with the `DockerUpstream`. Omitted fields take the API's defaults: mode
/// `Proxy Only`, auth `None`, SSL verified, active, and the priority after the last.
async fn create(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let kept = match checked(&state, &identifier, &body, false, None) {
        Ok(kept) => kept,
        Err(answer) => return answer,
    };
    let seq = state.seq();
    let Some(repo) = state.repo_mut(&identifier) else {
        return not_found();
    };
    let next_priority = repo
        .upstreams
        .iter()
        .map(DockerUpstream::priority)
        .max()
        .map_or(1, |last| (last + 1).min(32767));
    let created = now();
    let mut upstream = DockerUpstream {
        seq,
        slug_perm: random_slug_perm(12),
        created_at: created.clone(),
        updated_at: created,
        config: match json!({
            "mode": "Proxy Only",
            "priority": next_priority,
            "verify_ssl": true,
            "is_active": true,
            "auth_mode": "None",
            "auth_username": null,
            "extra_header_1": null,
            "extra_header_2": null,
            "extra_value_1": null,
            "extra_value_2": null,
        }) {
            Value::Object(defaults) => defaults,
            _ => Map::new(),
        },
        auth_secret: None,
        auth_certificate: None,
        auth_certificate_key: None,
    };
    apply(&mut upstream, kept);
    let answer = upstream_json(&upstream);
    repo.upstreams.push(upstream);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// `GET .../{slug_perm}/`.
async fn read(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, slug_perm)): Path<(String, String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let state = fake.lock();
    state
        .repo(&identifier)
        .and_then(|repo| repo.upstreams.iter().find(|u| u.slug_perm == slug_perm))
        .map_or_else(not_found, |u| axum::Json(upstream_json(u)).into_response())
}

/// `PUT`: a full request (`name` and `upstream_url` required); fields left out keep
/// their values, the write-only ones included.
async fn replace(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, slug_perm)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    write(&fake, (&owner, &identifier, &slug_perm), &body, false)
}

/// `PATCH`: the given fields.
async fn update(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, slug_perm)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    write(&fake, (&owner, &identifier, &slug_perm), &body, true)
}

fn write(
    fake: &Fake,
    (owner, identifier, slug_perm): (&str, &str, &str),
    body: &Bytes,
    partial: bool,
) -> Response {
    if !fake.is_owner(owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let kept = match checked(&state, identifier, body, partial, Some(slug_perm)) {
        Ok(kept) => kept,
        Err(answer) => return answer,
    };
    let Some(upstream) = state
        .repo_mut(identifier)
        .and_then(|repo| repo.upstreams.iter_mut().find(|u| u.slug_perm == slug_perm))
    else {
        return not_found();
    };
    apply(upstream, kept);
    upstream.updated_at = now();
    axum::Json(upstream_json(upstream)).into_response()
}

/// `DELETE .../{slug_perm}/`: 204. What it cached stays in the repository as packages.
async fn delete(
    State(fake): State<Arc<Fake>>,
    Path((owner, identifier, slug_perm)): Path<(String, String, String)>,
) -> Response {
    if !fake.is_owner(&owner) {
        return forbidden();
    }
    let mut state = fake.lock();
    let Some(repo) = state.repo_mut(&identifier) else {
        return not_found();
    };
    let before = repo.upstreams.len();
    repo.upstreams.retain(|u| u.slug_perm != slug_perm);
    if repo.upstreams.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_only_fields_are_kept_apart_and_never_answered() {
        let mut upstream = DockerUpstream {
            seq: 1,
            slug_perm: "AbC123".to_owned(),
            created_at: now(),
            updated_at: now(),
            config: Map::new(),
            auth_secret: None,
            auth_certificate: None,
            auth_certificate_key: None,
        };
        let body = json!({"name": "cgr", "auth_secret": "hunter2", "auth_certificate_key": "PEM"});
        apply(&mut upstream, body.as_object().unwrap().clone());
        assert_eq!(upstream.auth_secret.as_deref(), Some("hunter2"));
        let answer = upstream_json(&upstream);
        assert_eq!(answer["auth_secret"], Value::Null);
        assert!(answer.get("auth_certificate_key").is_none());
        assert!(!answer.to_string().contains("hunter2"));
        assert!(!format!("{upstream:?}").contains("hunter2"));
        for field in ["auth_secret", "auth_certificate", "auth_certificate_key"] {
            assert!(upstream.config.get(field).is_none());
        }
    }
}
