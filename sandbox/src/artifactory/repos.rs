//! The fake repositories API and access-token API, strict the way Artifactory is: every
//! field and enum checked, 400 on a duplicate key whatever its letter case, passwords
//! write-only and answered encrypted, the ` (local file cache)` suffix on remote
//! descriptions, and the list's upper-case `type` and capitalised `packageType`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{Fake, Repo};
use crate::common::{basic, bearer, random_hex};

/// Artifactory's error envelope.
pub(crate) fn errors(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"status": status.as_u16(), "message": message}]})),
    )
        .into_response()
}

/// The authentication layer: every route but ping and version needs a token the fake
/// issued (Bearer, or Basic with the token as password). A 401 carries Artifactory's
/// Basic challenge, which Docker clients answer with the token.
pub(crate) async fn authenticate(
    State(fake): State<Arc<Fake>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    if matches!(
        path,
        "/artifactory/api/system/ping" | "/artifactory/api/system/version"
    ) || path.starts_with("/_sandbox/")
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let credentials = match bearer(headers) {
        Some(token) => Some((None, token.to_owned())),
        None => basic(headers).map(|(user, token)| (Some(user), token)),
    };
    let mut refused = match credentials {
        Some((user, token)) if fake.accepts(&token, user.as_deref()) => {
            return next.run(request).await;
        }
        Some(_) => errors(StatusCode::UNAUTHORIZED, "Bad credentials"),
        None => errors(StatusCode::UNAUTHORIZED, "Authentication is required"),
    };
    refused.headers_mut().insert(
        "www-authenticate",
        axum::http::HeaderValue::from_static("Basic realm=\"Artifactory Realm\""),
    );
    refused
}

const PACKAGE_TYPES: [&str; 4] = ["docker", "alpine", "generic", "maven"];
const COMMON_FIELDS: [&str; 6] = [
    "key",
    "rclass",
    "packageType",
    "description",
    "notes",
    "includesPattern",
];
const REMOTE_FIELDS: [&str; 7] = [
    "url",
    "username",
    "password",
    "enableTokenAuthentication",
    "blockMismatchingMimeTypes",
    "disableUrlNormalization",
    "offline",
];
const VIRTUAL_FIELDS: [&str; 2] = ["repositories", "defaultDeploymentRepo"];
const BOOLEAN_FIELDS: [&str; 4] = [
    "enableTokenAuthentication",
    "blockMismatchingMimeTypes",
    "disableUrlNormalization",
    "offline",
];

/// Checks one write's body against the fields of its class; `creating` requires the
/// mandatory ones.
fn check_fields(body: &Map<String, Value>, rclass: &str) -> Result<(), String> {
    for (field, value) in body {
        let allowed = COMMON_FIELDS.contains(&field.as_str())
            || (rclass == "remote" && REMOTE_FIELDS.contains(&field.as_str()))
            || (rclass == "virtual" && VIRTUAL_FIELDS.contains(&field.as_str()));
        if !allowed {
            return Err(format!(
                "Unrecognized field \"{field}\" for a {rclass} repository"
            ));
        }
        let type_ok = if BOOLEAN_FIELDS.contains(&field.as_str()) {
            value.is_boolean()
        } else if field == "repositories" {
            value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string))
        } else {
            value.is_string()
        };
        if !type_ok {
            return Err(format!("Invalid value for field \"{field}\": {value}"));
        }
    }
    if let Some(package_type) = body.get("packageType").and_then(Value::as_str) {
        if !PACKAGE_TYPES.contains(&package_type.to_ascii_lowercase().as_str()) {
            return Err(format!("Unsupported package type '{package_type}'"));
        }
    }
    if let Some(url) = body.get("url").and_then(Value::as_str) {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("Invalid URL '{url}'"));
        }
    }
    Ok(())
}

/// Artifactory's key rule: what JFrog's UI and Terraform's validator forbid.
fn check_key(key: &str) -> Result<(), String> {
    let forbidden = " !@#$%^&*()+={}[]:;<>,/?~`|\\\"'";
    if key.is_empty() || key.len() > 64 || key.chars().any(|c| forbidden.contains(c)) {
        return Err(format!(
            "Invalid repository key '{key}': 1-64 characters, none of {forbidden}"
        ));
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "Invalid repository key '{key}': cannot begin with a number"
        ));
    }
    Ok(())
}

/// The stored configuration with the defaults Artifactory fills.
fn with_defaults(mut config: Map<String, Value>) -> Map<String, Value> {
    let rclass = config
        .get("rclass")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    config
        .entry("includesPattern")
        .or_insert_with(|| "**/*".into());
    config.entry("description").or_insert_with(|| "".into());
    if rclass == "remote" {
        // The REST defaults, which differ from the UI's.
        for field in BOOLEAN_FIELDS {
            config.entry(field).or_insert(false.into());
        }
        // GET answers every field; credentials default to empty strings.
        config.entry("username").or_insert_with(|| "".into());
    } else {
        config
            .entry("repositories")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    config
}

/// What a GET answers: the password encrypted, the description suffixed on remotes.
fn shown(repo: &Repo) -> Value {
    let mut config = repo.config.clone();
    let remote = config.get("rclass").and_then(Value::as_str) == Some("remote");
    if remote {
        let description = config
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        config.insert(
            "description".to_owned(),
            format!("{description} (local file cache)").into(),
        );
        let shown_password = match repo.password.as_deref() {
            Some(password) if !password.is_empty() => repo.encrypted.clone(),
            _ => String::new(),
        };
        config.insert("password".to_owned(), shown_password.into());
    }
    Value::Object(config)
}

pub(crate) async fn list(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let state = fake.lock();
    let entries: Vec<Value> = state
        .repos
        .values()
        .filter(|repo| {
            query
                .get("type")
                .is_none_or(|t| t.eq_ignore_ascii_case(repo.rclass()))
                && query
                    .get("packageType")
                    .is_none_or(|t| t.eq_ignore_ascii_case(repo.package_type()))
        })
        .map(|repo| {
            let shown = shown(repo);
            let mut package_type = repo.package_type().to_owned();
            if let Some(first) = package_type.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            json!({
                "key": repo.key(),
                "type": repo.rclass().to_ascii_uppercase(),
                "description": shown["description"],
                "url": shown.get("url").cloned().unwrap_or_else(|| format!("http://{host}/artifactory/{}", repo.key()).into()),
                "packageType": package_type,
            })
        })
        .collect();
    axum::Json(entries).into_response()
}

pub(crate) async fn get_one(State(fake): State<Arc<Fake>>, Path(key): Path<String>) -> Response {
    match fake.lock().repos.get(&key.to_ascii_lowercase()) {
        // Artifactory matches keys exactly on read; the case-insensitive rule is for creates.
        Some(repo) if repo.key() == key => axum::Json(shown(repo)).into_response(),
        // Artifactory has long answered 400, not 404, for an unknown key.
        _ => errors(StatusCode::BAD_REQUEST, "Bad Request"),
    }
}

#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn parse_body(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(errors(
            StatusCode::BAD_REQUEST,
            "Request body is not a JSON object",
        )),
    }
}

pub(crate) async fn create(
    State(fake): State<Arc<Fake>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let mut body = match parse_body(&body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let Some(rclass) = body
        .get("rclass")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return errors(StatusCode::BAD_REQUEST, "rclass is mandatory");
    };
    if !matches!(rclass.as_str(), "remote" | "virtual" | "local") {
        return errors(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported rclass '{rclass}'"),
        );
    }
    if !body.contains_key("packageType") {
        return errors(StatusCode::BAD_REQUEST, "packageType is mandatory");
    }
    if let Err(problem) = check_key(&key).and_then(|()| check_fields(&body, &rclass)) {
        return errors(StatusCode::BAD_REQUEST, &problem);
    }
    if body
        .get("key")
        .and_then(Value::as_str)
        .is_some_and(|k| k != key)
    {
        return errors(
            StatusCode::BAD_REQUEST,
            "The key in the body differs from the key in the path",
        );
    }
    if rclass == "remote" && !body.contains_key("url") {
        return errors(
            StatusCode::BAD_REQUEST,
            "url is mandatory for a remote repository",
        );
    }
    let mut state = fake.lock();
    if state.repos.contains_key(&key.to_ascii_lowercase()) {
        return errors(
            StatusCode::BAD_REQUEST,
            "Case insensitive repository key already exists",
        );
    }
    let package_type = body["packageType"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(problem) = state.check_members(&body, &package_type) {
        return errors(StatusCode::BAD_REQUEST, &problem);
    }
    body.insert("key".to_owned(), key.clone().into());
    body.insert("packageType".to_owned(), package_type.into());
    let password = body
        .remove("password")
        .and_then(|p| p.as_str().map(str::to_owned));
    state.repos.insert(
        key.to_ascii_lowercase(),
        Repo {
            config: with_defaults(body),
            encrypted: password.as_ref().map(|_| encrypt()).unwrap_or_default(),
            password,
        },
    );
    (
        StatusCode::OK,
        format!("Successfully created repository '{key}'"),
    )
        .into_response()
}

/// What Artifactory's key-encryption makes of a password: a value that changes with the
/// key, so it can never be compared with the configured secret.
fn encrypt() -> String {
    format!("JE2{}", random_hex(24))
}

pub(crate) async fn update(
    State(fake): State<Arc<Fake>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let mut body = match parse_body(&body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let mut state = fake.lock();
    let Some((rclass, package_type)) = state
        .repos
        .get(&key.to_ascii_lowercase())
        .filter(|repo| repo.key() == key)
        .map(|repo| (repo.rclass().to_owned(), repo.package_type().to_owned()))
    else {
        return errors(StatusCode::BAD_REQUEST, "Bad Request");
    };
    if let Err(problem) = check_fields(&body, &rclass) {
        return errors(StatusCode::BAD_REQUEST, &problem);
    }
    if body
        .get("key")
        .and_then(Value::as_str)
        .is_some_and(|k| k != key)
    {
        return errors(
            StatusCode::BAD_REQUEST,
            "The key in the body differs from the key in the path",
        );
    }
    if let Some(problem) = state.check_members(&body, &package_type) {
        return errors(StatusCode::BAD_REQUEST, &problem);
    }
    let Some(repo) = state.repos.get_mut(&key.to_ascii_lowercase()) else {
        return errors(StatusCode::BAD_REQUEST, "Bad Request");
    };
    if body
        .get("rclass")
        .and_then(Value::as_str)
        .is_some_and(|r| r != repo.rclass())
    {
        return errors(
            StatusCode::BAD_REQUEST,
            "Changing a repository's class is not supported",
        );
    }
    if body
        .get("packageType")
        .and_then(Value::as_str)
        .is_some_and(|p| !p.eq_ignore_ascii_case(repo.package_type()))
    {
        return errors(
            StatusCode::BAD_REQUEST,
            "Changing a repository's type once it's set is not supported",
        );
    }
    body.remove("key");
    body.remove("packageType");
    if let Some(password) = body.remove("password") {
        repo.password = password.as_str().map(str::to_owned);
        repo.encrypted = encrypt();
    }
    repo.config.extend(body);
    (
        StatusCode::OK,
        format!("Repository {key} update successfully."),
    )
        .into_response()
}

pub(crate) async fn delete(State(fake): State<Arc<Fake>>, Path(key): Path<String>) -> Response {
    let mut state = fake.lock();
    let lower = key.to_ascii_lowercase();
    if state.repos.get(&lower).is_none_or(|repo| repo.key() != key) {
        return errors(StatusCode::NOT_FOUND, "Not Found");
    }
    state.repos.remove(&lower);
    state.cache.retain(|(cached, _), _| *cached != lower);
    (
        StatusCode::OK,
        format!("Repository '{key}' and all its content have been removed successfully."),
    )
        .into_response()
}

/// `POST /access/api/v1/tokens`, JSON or form.
pub(crate) async fn create_token(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get("content-type")
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let fields: Map<String, Value> = if form {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    } else {
        match parse_body(&body) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        }
    };
    let grant = fields
        .get("grant_type")
        .and_then(Value::as_str)
        .unwrap_or("client_credentials");
    if grant != "client_credentials" {
        return errors(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported grant_type '{grant}'"),
        );
    }
    let scope = fields
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("applied-permissions/user")
        .to_owned();
    if !scope.starts_with("applied-permissions/") && !scope.starts_with("artifact:") {
        return errors(StatusCode::BAD_REQUEST, &format!("Invalid scope '{scope}'"));
    }
    let expires_in = fields
        .get("expires_in")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(31_536_000);
    let token_id = random_hex(16);
    let access_token = format!("eyJ2ZXIiOiIyIn0.{}", random_hex(32));
    let mut answer = json!({
        "token_id": token_id,
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": scope,
        "token_type": "Bearer",
    });
    let mut issued = vec![access_token];
    let wants_reference = fields
        .get("include_reference_token")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    if wants_reference {
        // Reference tokens: "cmVmd" + 59 alphanumerics.
        let reference = format!("cmVmd{}", &random_hex(30)[..59]);
        answer["reference_token"] = reference.clone().into();
        issued.push(reference);
    }
    let username = fields
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or(super::ADMIN_USER)
        .to_owned();
    fake.lock().tokens.insert(token_id, (username, issued));
    axum::Json(answer).into_response()
}

pub(crate) async fn revoke_token(
    State(fake): State<Arc<Fake>>,
    Path(token_id): Path<String>,
) -> Response {
    match fake.lock().tokens.remove(&token_id) {
        Some(_) => (StatusCode::OK, "Token revoked").into_response(),
        None => errors(StatusCode::NOT_FOUND, "Token not found"),
    }
}
