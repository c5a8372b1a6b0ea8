//! The fake repositories API and access-token API, strict the way Artifactory is: every
//! field it models and every enum checked (documented fields it does not model refused or,
//! with [`FieldChecks::Lenient`], accepted and ignored as Artifactory does), 400 on a duplicate key whatever its letter case, passwords
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

/// The repository fields Artifactory documents for any class (local, remote, virtual),
/// from JFrog's "Repository Configuration JSON" page as `../shared/reference/artifactory.md`
/// §2 lists it (with the fields pyartifactory's models send, §12). The real server takes
/// every one of them on any class and ignores those that do not apply; the fake models
/// only the fields above and, when lenient, accepts and drops the rest of this list. A
/// field outside the list is refused in both modes.
const DOCUMENTED_FIELDS: &[&str] = &[
    // Common (§2.1).
    "key",
    "rclass",
    "packageType",
    "description",
    "notes",
    "includesPattern",
    "excludesPattern",
    "repoLayoutRef",
    "projectKey",
    "environments",
    "xrayIndex",
    "blackedOut",
    "propertySets",
    "priorityResolution",
    "downloadRedirect",
    "cdnRedirect",
    // Local.
    "checksumPolicyType",
    "handleReleases",
    "handleSnapshots",
    "maxUniqueSnapshots",
    "maxUniqueTags",
    "snapshotVersionBehavior",
    "suppressPomConsistencyChecks",
    "archiveBrowsingEnabled",
    "calculateYumMetadata",
    "yumRootDepth",
    "yumGroupFileNames",
    "debianTrivialLayout",
    "dockerApiVersion",
    "enableFileListsIndexing",
    "optionalIndexCompressionFormats",
    "blockPushingSchema1",
    "primaryKeyPairRef",
    "secondaryKeyPairRef",
    "cargoInternalIndex",
    "terraformType",
    "forceNugetAuthentication",
    // Remote (§2.2).
    "url",
    "username",
    "password",
    "proxy",
    "disableProxy",
    "remoteRepoChecksumPolicyType",
    "hardFail",
    "offline",
    "storeArtifactsLocally",
    "socketTimeoutMillis",
    "localAddress",
    "retrievalCachePeriodSecs",
    "failedRetrievalCachePeriodSecs",
    "missedRetrievalCachePeriodSecs",
    "metadataRetrievalTimeoutSecs",
    "unusedArtifactsCleanupEnabled",
    "unusedArtifactsCleanupPeriodHours",
    "assumedOfflinePeriodSecs",
    "fetchJarsEagerly",
    "fetchSourcesEagerly",
    "shareConfiguration",
    "synchronizeProperties",
    "blockMismatchingMimeTypes",
    "mismatchingMimeTypesOverrideList",
    "allowAnyHostAuth",
    "enableCookieManagement",
    "enableTokenAuthentication",
    "bypassHeadRequests",
    "listRemoteFolderItems",
    "disableUrlNormalization",
    "remoteRepoLayoutRef",
    "queryParams",
    "clientTlsCertificate",
    "contentSynchronisation",
    "externalDependenciesEnabled",
    "externalDependenciesPatterns",
    "dockerProjectId",
    "bowerRegistryUrl",
    "gitRegistryUrl",
    "composerRegistryUrl",
    "pyPIRegistryUrl",
    "vcsType",
    "vcsGitProvider",
    "vcsGitDownloadUrl",
    "feedContextPath",
    "downloadContextPath",
    "v3FeedUrl",
    // Virtual (§2.3).
    "repositories",
    "artifactoryRequestsCanRetrieveRemoteArtifacts",
    "defaultDeploymentRepo",
    "keyPair",
    "pomRepositoryReferencesCleanupPolicy",
    "forceMavenAuthentication",
    "externalDependenciesRemoteRepo",
    "virtualRetrievalCachePeriodSecs",
    "resolveDockerTagsByTimestamp",
];

/// How the fake treats a repository field Artifactory documents but the fake does not
/// model (`allowAnyHostAuth`, `repoLayoutRef`, `contentSynchronisation`, ...). Fields it
/// models are checked strictly in both modes (a wrong enum string or JSON type is a 400),
/// and a field Artifactory does not document is refused in both.
///
/// ```
/// use pull_through_sandbox::artifactory::{Artifactory, FieldChecks};
/// // What `pull-through sandbox serve` runs: accept what a real Artifactory accepts.
/// let lenient = Artifactory::new().field_checks(FieldChecks::Lenient);
/// assert_eq!(lenient.current_field_checks(), FieldChecks::Lenient);
/// // What `Artifactory::new()` runs, and the tests of our own client rely on.
/// assert_eq!(Artifactory::new().current_field_checks(), FieldChecks::Strict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldChecks {
    /// Refuse documented fields the fake does not model too, with 400 "Unrecognized
    /// field": a typo or a field our own client should not send shows up in tests.
    ///
    /// ```
    /// let strict = pull_through_sandbox::artifactory::FieldChecks::Strict;
    /// assert_eq!(strict, pull_through_sandbox::artifactory::FieldChecks::default());
    /// ```
    #[default]
    Strict,
    /// Accept and ignore documented fields the fake does not model, as a real Artifactory
    /// does (SDKs such as pyartifactory send every field of their model).
    ///
    /// ```
    /// let lenient = pull_through_sandbox::artifactory::FieldChecks::Lenient;
    /// assert_ne!(lenient, pull_through_sandbox::artifactory::FieldChecks::Strict);
    /// ```
    Lenient,
}

/// Checks one write's body against the fields of its class, and drops what the fake does
/// not keep: `null` values of modelled fields (Artifactory takes `null` as "not given")
/// and, when lenient, documented fields it does not model.
fn check_fields(
    body: &mut Map<String, Value>,
    rclass: &str,
    checks: FieldChecks,
) -> Result<(), String> {
    let mut dropped = Vec::new();
    for (field, value) in body.iter() {
        let modelled = COMMON_FIELDS.contains(&field.as_str())
            || (rclass == "remote" && REMOTE_FIELDS.contains(&field.as_str()))
            || (rclass == "virtual" && VIRTUAL_FIELDS.contains(&field.as_str()));
        if !modelled {
            if checks == FieldChecks::Lenient && DOCUMENTED_FIELDS.contains(&field.as_str()) {
                dropped.push(field.clone());
                continue;
            }
            return Err(format!(
                "Unrecognized field \"{field}\" for a {rclass} repository"
            ));
        }
        if value.is_null() && !matches!(field.as_str(), "key" | "rclass" | "packageType") {
            dropped.push(field.clone());
            continue;
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
    for field in dropped {
        body.remove(&field);
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

/// Names Artifactory keeps for itself ("Repository Naming Rules and Limitations",
/// reference §4), compared without regard to letter case as keys are.
const RESERVED_KEYS: [&str; 6] = [
    ".",
    "..",
    "&",
    "jfrog-logs",
    "artifactory-build-info",
    "release-bundles",
];
const RESERVED_PREFIXES: [&str; 2] = ["jfrog-system-reserved", "jfrog-artifactory-system"];

/// Artifactory's key rules for a new repository: what JFrog's UI and Terraform's
/// validator forbid, and JFrog's naming rules (reference §4): remote keys at most 58
/// characters, Docker keys without upper-case letters or `_`, no `-cache` ending, no
/// reserved name.
fn check_key(key: &str, rclass: &str, package_type: &str) -> Result<(), String> {
    // What JFrog's naming page forbids (and the older list Terraform quotes agrees on),
    // plus space: a fake must not refuse a key the real server takes (`+`, `@`, a leading
    // digit are accepted there), while our client keeps Terraform's stricter set.
    let forbidden = " /\\:|?*\"<>";
    let lower = key.to_ascii_lowercase();
    if RESERVED_KEYS.contains(&lower.as_str())
        || RESERVED_PREFIXES
            .iter()
            .any(|prefix| lower.starts_with(prefix))
    {
        return Err(format!(
            "Invalid repository key '{key}': the name is reserved by Artifactory"
        ));
    }
    if key.is_empty() || key.len() > 64 || key.chars().any(|c| forbidden.contains(c)) {
        return Err(format!(
            "Invalid repository key '{key}': 1-64 characters, none of {forbidden}"
        ));
    }
    let docker = package_type.eq_ignore_ascii_case("docker");
    let max = match rclass {
        "remote" => 58,
        "local" | "federated" if docker => 63,
        _ => 64,
    };
    if key.chars().count() > max {
        return Err(format!(
            "Invalid repository key '{key}': a {rclass} repository key is at most {max} characters"
        ));
    }
    if lower.ends_with("-cache") {
        return Err(format!(
            "Invalid repository key '{key}': a repository key cannot end with '-cache' \
             (the suffix of a remote repository's cache)"
        ));
    }
    if docker && key.chars().any(|c| c.is_ascii_uppercase() || c == '_') {
        return Err(format!(
            "Invalid repository key '{key}': Docker repository keys cannot contain \
             upper-case letters or '_'"
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
    let checks = fake.field_checks();
    let package_type = body["packageType"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Err(problem) = check_fields(&mut body, &rclass, checks) {
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
    // After the duplicate check: a case twin of an existing key is answered as a duplicate.
    if let Err(problem) = check_key(&key, &rclass, &package_type) {
        return errors(StatusCode::BAD_REQUEST, &problem);
    }
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
    let checks = fake.field_checks();
    let mut state = fake.lock();
    let Some((rclass, package_type)) = state
        .repos
        .get(&key.to_ascii_lowercase())
        .filter(|repo| repo.key() == key)
        .map(|repo| (repo.rclass().to_owned(), repo.package_type().to_owned()))
    else {
        return errors(StatusCode::BAD_REQUEST, "Bad Request");
    };
    if let Err(problem) = check_fields(&mut body, &rclass, checks) {
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
