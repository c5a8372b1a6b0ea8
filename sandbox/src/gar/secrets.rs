//! The Secret Manager API: secrets (names with the project number, 409 on an existing
//! id), versions (payloads up to 64 KiB, `dataCrc32c` checked against the decoded bytes,
//! disable, enable, destroy, access) and, through [`super::iam`], their IAM policies.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::envelope::{Query, Refusal, authenticate, no_such_method, page};
use super::messages::{ADD_VERSION, SECRET, VERSION_ACTION};
use super::repositories::json_body;
use super::state::{Policy, Secret, Version, VersionState, now};
use super::{Fake, Project, iam, names, schema};
use crate::common::random_hex;

pub(crate) const API: &str = "secretmanager.googleapis.com";

/// The largest payload Secret Manager takes: 64 KiB.
const MAX_PAYLOAD: usize = 64 * 1024;

/// CRC32C (Castagnoli), the checksum Secret Manager keeps of each payload as
/// `dataCrc32c`.
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::crc32c(b"123456789"), 3_808_858_755);
/// assert_eq!(pull_through_sandbox::gar::crc32c(b""), 0);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub(crate) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v1/projects/{project}/secrets", get(list).post(create))
        .route(
            "/v1/projects/{project}/secrets/{secret}",
            get(get_secret).post(post_secret).delete(delete),
        )
        .route(
            "/v1/projects/{project}/secrets/{secret}/versions",
            get(list_versions),
        )
        .route(
            "/v1/projects/{project}/secrets/{secret}/versions/{version}",
            get(get_version).post(post_version),
        )
        .fallback(no_such_method)
        .method_not_allowed_fallback(no_such_method)
        .layer(axum::middleware::from_fn_with_state(
            (fake.clone(), API),
            authenticate,
        ))
        .with_state(fake)
}

/// The project of a path, or Secret Manager's answer.
fn project_of(fake: &Fake, segment: &str, permission: &str) -> Result<Project, Refusal> {
    names::project(
        fake,
        segment,
        API,
        permission,
        &format!("projects/{segment}"),
    )
}

fn secret_not_found(name: &str) -> Refusal {
    Refusal::not_found(format!("Secret [{name}] not found."))
}

/// `{"name", "replication", "createTime", "etag", ...}` as Secret Manager answers.
fn secret_json(secret: &Secret) -> Value {
    let mut out = Map::new();
    out.insert("name".to_owned(), secret.name().into());
    for (key, value) in &secret.body {
        out.insert(key.clone(), value.clone());
    }
    out.insert("createTime".to_owned(), secret.create_time.clone().into());
    out.insert("etag".to_owned(), secret.etag.clone().into());
    Value::Object(out)
}

fn version_json(secret: &Secret, version: &Version) -> Value {
    let replication = match secret.body.get("replication") {
        Some(Value::Object(r)) if r.contains_key("userManaged") => {
            let replicas: Vec<Value> = r["userManaged"]["replicas"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|replica| json!({"location": replica["location"]}))
                .collect();
            json!({"userManaged": {"replicas": replicas}})
        }
        _ => json!({"automatic": {}}),
    };
    let mut out = json!({
        "name": format!("{}/versions/{}", secret.name(), version.number),
        "createTime": version.create_time,
        "state": version.state.as_str(),
        "replicationStatus": replication,
        "etag": version.etag,
    });
    if let Some(destroyed) = &version.destroy_time {
        out["destroyTime"] = destroyed.clone().into();
    }
    if version.client_checksum {
        out["clientSpecifiedPayloadChecksum"] = true.into();
    }
    out
}

fn etag() -> String {
    format!("\"{}\"", &random_hex(7)[..14])
}

/// `POST v1/projects/{p}/secrets?secretId={id}` body Secret.
async fn create(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["secretId"])?;
    let project = project_of(&fake, &project, "secretmanager.secrets.create")?;
    let id = query.get("secretId").unwrap_or_default().to_owned();
    names::check_secret_id(&id)?;
    let mut body = schema::parse(&json_body(&body)?, &SECRET, "secret")?;
    body.remove("name");
    body.remove("etag");
    match body.get("replication").and_then(Value::as_object) {
        None => {
            return Err(Refusal::invalid_field(
                "secret.replication",
                "Field [replication] is required: {\"automatic\": {}} or {\"userManaged\": {...}}.",
            ));
        }
        Some(replication) if replication.is_empty() => {
            return Err(Refusal::invalid_field(
                "secret.replication",
                "Secret.replication needs automatic or user_managed.",
            ));
        }
        Some(replication) => {
            if let Some(managed) = replication.get("userManaged") {
                let replicas = managed["replicas"].as_array().cloned().unwrap_or_default();
                if replicas.is_empty()
                    || replicas
                        .iter()
                        .any(|r| r["location"].as_str().unwrap_or_default().is_empty())
                {
                    return Err(Refusal::invalid_field(
                        "secret.replication.user_managed.replicas",
                        "user_managed replication needs at least one replica, each with a location.",
                    ));
                }
            }
        }
    }
    names::check_labels(body.get("labels"), "secret.labels")?;
    let secret = Secret {
        project_number: project.number.clone(),
        id: id.clone(),
        body,
        create_time: now(),
        etag: etag(),
        versions: Vec::new(),
        policy: Policy::default(),
    };
    let mut state = fake.lock();
    let key = (project.number.clone(), id);
    if state.secrets.contains_key(&key) {
        return Err(Refusal::already_exists(format!(
            "Secret [{}] already exists.",
            secret.name()
        )));
    }
    let answer = secret_json(&secret);
    state.secrets.insert(key, secret);
    Ok(query.answer(answer))
}

/// `GET v1/projects/{p}/secrets?pageSize=&pageToken=&filter=`.
async fn list(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["pageSize", "pageToken", "filter"])?;
    if query.get("filter").is_some_and(|f| !f.trim().is_empty()) {
        return Err(Refusal::invalid_field(
            "filter",
            "The sandbox lists secrets without a filter.",
        ));
    }
    let project = project_of(&fake, &project, "secretmanager.secrets.list")?;
    let secrets: Vec<Value> = fake
        .lock()
        .secrets
        .values()
        .filter(|s| s.project_number == project.number)
        .map(secret_json)
        .collect();
    let total = secrets.len();
    let (secrets, next) = page(&secrets, &query, 25_000, 25_000)?;
    let mut answer = json!({});
    if !secrets.is_empty() {
        answer["secrets"] = Value::Array(secrets);
        answer["totalSize"] = total.into();
    }
    if let Some(next) = next {
        answer["nextPageToken"] = next.into();
    }
    Ok(query.answer(answer))
}

/// `secret` or `secret:verb` of a path.
fn split_verb(segment: &str) -> (&str, Option<&str>) {
    match segment.split_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (segment, None),
    }
}

/// `GET .../secrets/{s}` and `GET .../secrets/{s}:getIamPolicy`.
async fn get_secret(
    State(fake): State<Arc<Fake>>,
    Path((project, segment)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let (id, verb) = split_verb(&segment);
    let permission = match verb {
        None => "secretmanager.secrets.get",
        Some("getIamPolicy") => "secretmanager.secrets.getIamPolicy",
        Some(_) => return Err(no_verb()),
    };
    let project = project_of(&fake, &project, permission)?;
    let key = (project.number.clone(), id.to_owned());
    if verb == Some("getIamPolicy") {
        let query = Query::check(raw, &["options.requestedPolicyVersion"])?;
        return iam::get(&fake, &key, &query);
    }
    let query = Query::check(raw, &[])?;
    let state = fake.lock();
    let secret = state
        .secrets
        .get(&key)
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    Ok(query.answer(secret_json(secret)))
}

fn no_verb() -> Refusal {
    Refusal::not_found("The requested URL was not found on this server.")
}

/// `POST .../secrets/{s}:addVersion` and `POST .../secrets/{s}:setIamPolicy`.
async fn post_secret(
    State(fake): State<Arc<Fake>>,
    Path((project, segment)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let (id, verb) = split_verb(&segment);
    let permission = match verb {
        Some("addVersion") => "secretmanager.versions.add",
        Some("setIamPolicy") => "secretmanager.secrets.setIamPolicy",
        _ => return Err(no_verb()),
    };
    let project = project_of(&fake, &project, permission)?;
    let key = (project.number.clone(), id.to_owned());
    let body = json_body(&body)?;
    if verb == Some("setIamPolicy") {
        return iam::set(&fake, &key, &body, &query);
    }
    let request = schema::parse(&body, &ADD_VERSION, "")?;
    let Some(payload) = request.get("payload") else {
        return Err(Refusal::invalid_field(
            "payload",
            "Field [payload] is required.",
        ));
    };
    let data = payload
        .get("data")
        .and_then(Value::as_str)
        .and_then(schema::decode_bytes)
        .unwrap_or_default();
    if data.len() > MAX_PAYLOAD {
        return Err(Refusal::invalid_field(
            "payload.data",
            format!(
                "Secret Payload cannot be larger than 64KiB (got {} bytes).",
                data.len()
            ),
        ));
    }
    let checksum = crc32c(&data);
    let given = payload.get("dataCrc32c").and_then(schema::integer);
    if let Some(given) = given {
        if given != i64::from(checksum) {
            return Err(Refusal::invalid_field(
                "payload.data_crc32c",
                format!(
                    "Checksum mismatch: data_crc32c {given} is not the CRC32C of the decoded \
                     payload data; compute it over the raw bytes, not their base64."
                ),
            ));
        }
    }
    let mut state = fake.lock();
    let secret = state
        .secrets
        .get_mut(&key)
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    let version = Version {
        number: secret.versions.last().map_or(1, |v| v.number + 1),
        state: VersionState::Enabled,
        payload: Some(data),
        crc32c: checksum,
        client_checksum: given.is_some(),
        create_time: now(),
        destroy_time: None,
        etag: etag(),
    };
    let answer = version_json(secret, &version);
    secret.versions.push(version);
    Ok(query.answer(answer))
}

/// `DELETE .../secrets/{s}[?etag=]` → `{}`.
async fn delete(
    State(fake): State<Arc<Fake>>,
    Path((project, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["etag"])?;
    let project = project_of(&fake, &project, "secretmanager.secrets.delete")?;
    let key = (project.number.clone(), id.clone());
    let mut state = fake.lock();
    let secret = state
        .secrets
        .get(&key)
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    if let Some(given) = query.get("etag").filter(|e| !e.is_empty()) {
        if given != secret.etag {
            return Err(Refusal::aborted(
                "The etag provided in the request does not match the secret's current etag.",
            ));
        }
    }
    state.secrets.remove(&key);
    Ok(query.answer(json!({})))
}

/// `GET .../secrets/{s}/versions?pageSize=&pageToken=&filter=`: newest first.
async fn list_versions(
    State(fake): State<Arc<Fake>>,
    Path((project, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &["pageSize", "pageToken", "filter"])?;
    let wanted = match query.get("filter").map(str::trim).unwrap_or_default() {
        "" => None,
        filter => match filter
            .strip_prefix("state:")
            .or_else(|| filter.strip_prefix("state="))
        {
            Some(state @ ("ENABLED" | "DISABLED" | "DESTROYED")) => Some(state.to_owned()),
            _ => {
                return Err(Refusal::invalid_field(
                    "filter",
                    format!(
                        "Invalid filter \"{filter}\": the sandbox takes state:ENABLED, state:DISABLED or state:DESTROYED."
                    ),
                ));
            }
        },
    };
    let project = project_of(&fake, &project, "secretmanager.versions.list")?;
    let state = fake.lock();
    let secret = state
        .secrets
        .get(&(project.number.clone(), id.clone()))
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    let versions: Vec<Value> = secret
        .versions
        .iter()
        .rev()
        .filter(|v| wanted.as_deref().is_none_or(|w| v.state.as_str() == w))
        .map(|v| version_json(secret, v))
        .collect();
    let total = versions.len();
    let (versions, next) = page(&versions, &query, 25_000, 25_000)?;
    let mut answer = json!({});
    if !versions.is_empty() {
        answer["versions"] = Value::Array(versions);
        answer["totalSize"] = total.into();
    }
    if let Some(next) = next {
        answer["nextPageToken"] = next.into();
    }
    Ok(query.answer(answer))
}

fn version_name(project: &Project, id: &str, version: &str) -> String {
    format!(
        "projects/{}/secrets/{id}/versions/{version}",
        project.number
    )
}

/// `GET .../versions/{v}` and `GET .../versions/{v}:access` (`v` a number or `latest`).
async fn get_version(
    State(fake): State<Arc<Fake>>,
    Path((project, id, segment)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let (reference, verb) = split_verb(&segment);
    let permission = match verb {
        None => "secretmanager.versions.get",
        Some("access") => "secretmanager.versions.access",
        Some(_) => return Err(no_verb()),
    };
    let project = project_of(&fake, &project, permission)?;
    let state = fake.lock();
    let secret = state
        .secrets
        .get(&(project.number.clone(), id.clone()))
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    let version = secret.version(reference).ok_or_else(|| {
        Refusal::not_found(format!(
            "Secret Version [{}] not found.",
            version_name(&project, &id, reference)
        ))
    })?;
    if verb.is_none() {
        return Ok(query.answer(version_json(secret, version)));
    }
    let name = version_name(&project, &id, &version.number.to_string());
    match (&version.payload, version.state) {
        (Some(payload), VersionState::Enabled) => Ok(query.answer(json!({
            "name": name,
            "payload": {
                "data": base64::prelude::BASE64_STANDARD.encode(payload),
                "dataCrc32c": version.crc32c.to_string(),
            }
        }))),
        (_, state) => Err(Refusal::failed_precondition(format!(
            "Secret Version [{name}] is in {} state.",
            state.as_str()
        ))),
    }
}

/// `POST .../versions/{v}:disable`, `:enable`, `:destroy` (body `{}` or `{"etag"}`).
async fn post_version(
    State(fake): State<Arc<Fake>>,
    Path((project, id, segment)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let query = Query::check(raw, &[])?;
    let (reference, verb) = split_verb(&segment);
    let (permission, target) = match verb {
        Some("disable") => ("secretmanager.versions.disable", VersionState::Disabled),
        Some("enable") => ("secretmanager.versions.enable", VersionState::Enabled),
        Some("destroy") => ("secretmanager.versions.destroy", VersionState::Destroyed),
        _ => return Err(no_verb()),
    };
    let project = project_of(&fake, &project, permission)?;
    let request = schema::parse(&json_body(&body)?, &VERSION_ACTION, "")?;
    if reference == "latest" {
        return Err(Refusal::invalid(
            "versions/latest names a version for get and access only; name the version's number.",
        ));
    }
    let mut state = fake.lock();
    let secret = state
        .secrets
        .get_mut(&(project.number.clone(), id.clone()))
        .ok_or_else(|| secret_not_found(&format!("projects/{}/secrets/{id}", project.number)))?;
    let name = version_name(&project, &id, reference);
    let number: Option<u64> = reference.parse().ok();
    let Some(index) = secret
        .versions
        .iter()
        .position(|v| Some(v.number) == number)
    else {
        return Err(Refusal::not_found(format!(
            "Secret Version [{name}] not found."
        )));
    };
    let version = &mut secret.versions[index];
    if let Some(given) = request
        .get("etag")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    {
        if given != version.etag {
            return Err(Refusal::aborted(
                "The etag provided in the request does not match the secret version's current etag.",
            ));
        }
    }
    if version.state == VersionState::Destroyed {
        return Err(Refusal::failed_precondition(format!(
            "Secret Version [{name}] is in DESTROYED state."
        )));
    }
    if version.state != target {
        version.state = target;
        version.etag = etag();
        if target == VersionState::Destroyed {
            version.payload = None;
            version.destroy_time = Some(now());
        }
    }
    let version = version.clone();
    Ok(query.answer(version_json(secret, &version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_castagnoli_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b"123456789"), 3_808_858_755);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    }
}
