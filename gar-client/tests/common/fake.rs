//! A small stateful Google for wiremock, enough to follow a whole flow (create, secret,
//! grant, PATCH, rotation) and to log every request it saw: Artifact Registry, Secret
//! Manager and Resource Manager, each on its own mock server, answering with Google's
//! envelope. It checks what Google checks on the paths the client uses: the bearer token,
//! `dataCrc32c`, the IAM etag, the update mask, and the upstream validation of a PATCH
//! that sets credentials (the secret version exists and is enabled, the service agent may
//! read the secret).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{LOCATION, NUMBER, PROJECT, TOKEN};

/// One request, as the tests compare them: `METHOD host path[?query]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub method: String,
    pub host: &'static str,
    pub target: String,
    pub body: Option<Value>,
}

impl Logged {
    pub fn line(&self) -> String {
        format!("{} {} {}", self.method, self.host, self.target)
    }

    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub state: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Secret {
    pub versions: Vec<Version>,
    pub bindings: Vec<Value>,
    pub etag: u32,
}

#[derive(Debug, Default)]
pub struct State {
    pub repositories: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, Secret>,
    /// Operation name → (polls before done, response).
    pub operations: BTreeMap<String, (u32, Value)>,
    pub next_operation: u32,
    pub log: Vec<Logged>,
    /// How many credential PATCHes fail validation after the grant (propagation).
    pub validation_failures: u32,
    /// How many setIamPolicy calls answer ABORTED (another writer changed the policy).
    pub aborts: u32,
    /// Answer PATCHes with 500 while set (a crash between two steps).
    pub fail_patches: bool,
    /// Packages deleted, as `repo/package`.
    pub deleted_packages: Vec<String>,
    /// Polls an operation needs before it is done.
    pub polls: u32,
    /// Most repositories per list page.
    pub page_size: usize,
    /// Secret Manager disabled in the project: every call answers 403 SERVICE_DISABLED.
    pub sm_disabled: bool,
    /// Refuse the credentials' subtree update mask (accept only the two leaf paths).
    pub refuse_subtree_mask: bool,
    /// cgr.dev refuses the credentials (a bad or expired pull token).
    pub upstream_refuses: bool,
}

#[derive(Clone)]
pub struct FakeGoogle {
    pub state: Arc<Mutex<State>>,
}

pub fn agent() -> String {
    format!("serviceAccount:service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com")
}

fn envelope(code: u16, status: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({"error": {
        "code": code, "message": message, "status": status,
    }}))
}

/// A policy's etag after `writes` writes: Google's empty policy answers `ACAB`.
fn etag(writes: u32) -> String {
    match writes {
        0 => "ACAB".to_owned(),
        n => format!("BwX{n}"),
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

struct Handler {
    host: &'static str,
    state: Arc<Mutex<State>>,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let path = request.url.path().to_owned();
        let target = match request.url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        };
        state.log.push(Logged {
            method: request.method.to_string(),
            host: self.host,
            target,
            body: serde_json::from_slice(&request.body).ok(),
        });
        let bearer = format!("Bearer {TOKEN}");
        if request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(&bearer)
        {
            return envelope(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            );
        }
        if self.host == "sm" && state.sm_disabled {
            return ResponseTemplate::new(403)
                .set_body_json(super::fixture("service-disabled.json"));
        }
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let method = request.method.as_str();
        match self.host {
            "crm" => match path.strip_prefix("/v1/projects/") {
                Some(p) if p == PROJECT && method == "GET" => ok(json!({
                    "projectNumber": NUMBER, "projectId": PROJECT, "lifecycleState": "ACTIVE",
                    "name": "Pull Through Test"})),
                _ => envelope(404, "NOT_FOUND", "project not found"),
            },
            "sm" => secret_manager(&mut state, method, &path, &query, &body),
            _ => artifact_registry(&mut state, method, &path, &query, &body),
        }
    }
}

fn secret_manager(
    state: &mut State,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> ResponseTemplate {
    let Some(rest) = path.strip_prefix(&format!("/v1/projects/{PROJECT}/secrets")) else {
        return envelope(404, "NOT_FOUND", "unknown path");
    };
    let name = |id: &str| format!("projects/{NUMBER}/secrets/{id}");
    if rest.is_empty() && method == "POST" {
        let id = query.get("secretId").cloned().unwrap_or_default();
        if body != &json!({"replication": {"automatic": {}}}) {
            return envelope(400, "INVALID_ARGUMENT", "replication");
        }
        if state.secrets.contains_key(&id) {
            return envelope(
                409,
                "ALREADY_EXISTS",
                &format!("Secret [{}] already exists.", name(&id)),
            );
        }
        state.secrets.insert(id.clone(), Secret::default());
        return ok(json!({"name": name(&id), "replication": {"automatic": {}}, "etag": "\"1\""}));
    }
    let rest = rest.trim_start_matches('/');
    let (id, action) = match rest.split_once(':') {
        Some((id, action)) if !id.contains('/') => (id.to_owned(), Some(action.to_owned())),
        _ => (rest.split('/').next().unwrap_or_default().to_owned(), None),
    };
    let Some(secret) = state.secrets.get_mut(&id) else {
        return envelope(
            404,
            "NOT_FOUND",
            &format!("Secret [{}] not found.", name(&id)),
        );
    };
    match (method, action.as_deref()) {
        ("GET", None) if !rest.contains('/') => ok(json!({"name": name(&id)})),
        ("DELETE", None) if !rest.contains('/') => {
            state.secrets.remove(&id);
            ok(json!({}))
        }
        ("POST", Some("addVersion")) => {
            let data = body["payload"]["data"].as_str().unwrap_or_default();
            let Ok(bytes) = base64::prelude::BASE64_STANDARD.decode(data) else {
                return envelope(400, "INVALID_ARGUMENT", "payload.data is not base64");
            };
            let crc = crc32c::crc32c(&bytes).to_string();
            if body["payload"]["dataCrc32c"].as_str() != Some(crc.as_str()) {
                return envelope(400, "INVALID_ARGUMENT", "Checksum mismatch: data_crc32c");
            }
            secret.versions.push(Version {
                state: "ENABLED".into(),
                payload: bytes,
            });
            let n = secret.versions.len();
            ok(
                json!({"name": format!("{}/versions/{n}", name(&id)), "state": "ENABLED",
                "clientSpecifiedPayloadChecksum": true}),
            )
        }
        ("GET", Some("getIamPolicy")) => {
            let mut policy = json!({"version": 1, "etag": etag(secret.etag)});
            if !secret.bindings.is_empty() {
                policy["bindings"] = Value::Array(secret.bindings.clone());
            }
            ok(policy)
        }
        ("POST", Some("setIamPolicy")) => {
            let policy = &body["policy"];
            if state.aborts > 0 || policy["etag"].as_str() != Some(&etag(secret.etag)) {
                state.aborts = state.aborts.saturating_sub(1);
                secret.etag += 1;
                return envelope(
                    409,
                    "ABORTED",
                    "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
                );
            }
            secret.bindings = policy["bindings"].as_array().cloned().unwrap_or_default();
            secret.etag += 1;
            ok(json!({"version": 1, "bindings": secret.bindings, "etag": etag(secret.etag)}))
        }
        ("GET", None) if rest.contains("/versions/") => {
            let n = rest.rsplit('/').next().unwrap_or_default();
            let index = match n {
                "latest" => secret.versions.len(),
                n => n.parse().unwrap_or(0),
            };
            match index.checked_sub(1).and_then(|i| secret.versions.get(i)) {
                Some(v) => {
                    ok(json!({"name": format!("{}/versions/{index}", name(&id)), "state": v.state}))
                }
                None => envelope(404, "NOT_FOUND", "version not found"),
            }
        }
        ("GET", None) if rest.ends_with("/versions") => {
            let versions: Vec<Value> = secret
                .versions
                .iter()
                .enumerate()
                .rev()
                .map(|(i, v)| json!({"name": format!("{}/versions/{}", name(&id), i + 1), "state": v.state}))
                .collect();
            ok(json!({"versions": versions, "totalSize": versions.len()}))
        }
        ("POST", None) if rest.contains("/versions/") => {
            let tail = rest.rsplit('/').next().unwrap_or_default();
            let (n, verb) = tail.split_once(':').unwrap_or((tail, ""));
            let index: usize = n.parse().unwrap_or(0);
            let Some(version) = index
                .checked_sub(1)
                .and_then(|i| secret.versions.get_mut(i))
            else {
                return envelope(404, "NOT_FOUND", "version not found");
            };
            version.state = match verb {
                "disable" => "DISABLED",
                "destroy" => "DESTROYED",
                "enable" => "ENABLED",
                _ => return envelope(400, "INVALID_ARGUMENT", "verb"),
            }
            .into();
            ok(json!({"name": format!("{}/versions/{index}", name(&id)), "state": version.state}))
        }
        _ => envelope(404, "NOT_FOUND", "unknown path"),
    }
}

fn operation(state: &mut State, response: Value, done_now: bool) -> ResponseTemplate {
    state.next_operation += 1;
    let name = format!(
        "projects/{PROJECT}/locations/{LOCATION}/operations/op-{}",
        state.next_operation
    );
    let polls = if done_now { 0 } else { state.polls };
    state.operations.insert(name.clone(), (polls, response));
    ok(json!({"name": name, "done": false,
        "metadata": {"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"}}))
}

/// Why a PATCH that sets credentials fails validation, if it does.
fn validate(state: &mut State, creds: &Value) -> Option<String> {
    let pin = creds["usernamePasswordCredentials"]["passwordSecretVersion"].as_str()?;
    let parts: Vec<&str> = pin.split('/').collect();
    let ["projects", _, "secrets", secret, "versions", n] = parts.as_slice() else {
        return Some(format!("bad secret version {pin}"));
    };
    let Some(found) = state.secrets.get(*secret) else {
        return Some(format!("secret {secret} not found"));
    };
    let enabled = n
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| found.versions.get(i))
        .is_some_and(|v| v.state == "ENABLED");
    if !enabled {
        return Some(format!("version {n} of {secret} is not enabled"));
    }
    let granted = found.bindings.iter().any(|b| {
        b["role"] == "roles/secretmanager.secretAccessor"
            && b["members"]
                .as_array()
                .is_some_and(|m| m.contains(&json!(agent())))
    });
    if !granted || state.validation_failures > 0 {
        state.validation_failures = state.validation_failures.saturating_sub(1);
        return Some(format!(
            "Permission \"secretmanager.versions.access\" denied on resource \"projects/{NUMBER}/secrets/{secret}/versions/{n}\""
        ));
    }
    if state.upstream_refuses {
        // Google's words for a pull token cgr.dev refuses (reference §1.4).
        return Some(
            "failed to fetch bearer token; generic::unauthenticated: Unauthorized error \
             returned by the external repository https://cgr.dev/ (HTTP 401); this typically \
             means your upstream credentials are invalid"
                .to_owned(),
        );
    }
    None
}

fn artifact_registry(
    state: &mut State,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> ResponseTemplate {
    let parent = format!("/v1/projects/{PROJECT}/locations/{LOCATION}");
    let Some(rest) = path.strip_prefix(&parent) else {
        return envelope(404, "NOT_FOUND", "unknown location");
    };
    if let Some(op) = rest.strip_prefix("/operations/") {
        let name = format!("projects/{PROJECT}/locations/{LOCATION}/operations/{op}");
        return match state.operations.get_mut(&name) {
            Some((polls, _)) if *polls > 0 => {
                *polls -= 1;
                ok(json!({"name": name, "done": false}))
            }
            Some((_, response)) => ok(json!({"name": name, "done": true, "response": response})),
            None => envelope(404, "NOT_FOUND", "operation not found"),
        };
    }
    let Some(rest) = rest.strip_prefix("/repositories") else {
        return envelope(404, "NOT_FOUND", "unknown path");
    };
    let id = rest
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let full = |id: &str| format!("projects/{PROJECT}/locations/{LOCATION}/repositories/{id}");
    match (method, rest.is_empty(), rest.contains("/packages/")) {
        ("POST", true, _) => {
            let id = query.get("repositoryId").cloned().unwrap_or_default();
            if state.repositories.contains_key(&id) {
                return envelope(
                    409,
                    "ALREADY_EXISTS",
                    &format!("the repository already exists: {}", full(&id)),
                );
            }
            let mut repo = body.clone();
            repo["name"] = json!(full(&id));
            repo["createTime"] = json!("2026-11-30T00:00:00Z");
            repo["registryUri"] = json!(format!("{LOCATION}-docker.pkg.dev/{PROJECT}/{id}"));
            state.repositories.insert(id, repo.clone());
            let mut response = repo;
            response["@type"] =
                json!("type.googleapis.com/google.devtools.artifactregistry.v1.Repository");
            operation(state, response, false)
        }
        ("GET", true, _) => {
            let size = query
                .get("pageSize")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(50)
                .min(state.page_size.max(1));
            let start: usize = query
                .get("pageToken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let all: Vec<Value> = state.repositories.values().cloned().collect();
            let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
            let mut answer = json!({"repositories": page});
            if start + size < all.len() {
                answer["nextPageToken"] = json!((start + size).to_string());
            }
            ok(answer)
        }
        ("GET", false, false) => match state.repositories.get(&id) {
            Some(repo) => ok(repo.clone()),
            None => envelope(
                404,
                "NOT_FOUND",
                &format!("Requested entity was not found: {}", full(&id)),
            ),
        },
        ("PATCH", false, false) => {
            if state.fail_patches {
                return envelope(500, "INTERNAL", "internal error");
            }
            if !state.repositories.contains_key(&id) {
                return envelope(404, "NOT_FOUND", "Requested entity was not found.");
            }
            let mask = query.get("updateMask").cloned().unwrap_or_default();
            let mut creds_set = None;
            for field in mask.split(',') {
                match field {
                    "description" | "virtualRepositoryConfig" => {}
                    "remoteRepositoryConfig.upstreamCredentials" if state.refuse_subtree_mask => {
                        return envelope(
                            400,
                            "INVALID_ARGUMENT",
                            &format!("invalid update_mask path {field}"),
                        );
                    }
                    // The leaves are taken as a pair, as gcloud and Terraform send them.
                    "remoteRepositoryConfig.upstreamCredentials"
                    | "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.username"
                    | "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.passwordSecretVersion" =>
                    {
                        creds_set =
                            Some(body["remoteRepositoryConfig"]["upstreamCredentials"].clone());
                    }
                    other => {
                        return envelope(
                            400,
                            "INVALID_ARGUMENT",
                            &format!("invalid update_mask path {other}"),
                        );
                    }
                }
            }
            if let Some(creds) = creds_set.as_ref().filter(|c| !c.is_null()) {
                if let Some(problem) = validate(state, creds) {
                    return envelope(
                        400,
                        "INVALID_ARGUMENT",
                        &format!("Failed to validate remote upstream: {problem}"),
                    );
                }
            }
            let repo = state.repositories.get_mut(&id).unwrap();
            for field in mask.split(',') {
                match field {
                    "description" => repo["description"] = body["description"].clone(),
                    "virtualRepositoryConfig" => {
                        repo["virtualRepositoryConfig"] = body["virtualRepositoryConfig"].clone()
                    }
                    _ => {
                        let remote = repo["remoteRepositoryConfig"].as_object_mut().unwrap();
                        match creds_set.clone().filter(|c| !c.is_null()) {
                            Some(creds) => {
                                remote.insert("upstreamCredentials".into(), creds);
                            }
                            None => {
                                remote.remove("upstreamCredentials");
                            }
                        }
                    }
                }
            }
            ok(repo.clone())
        }
        ("DELETE", false, false) => match state.repositories.remove(&id) {
            Some(_) => operation(
                state,
                json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                true,
            ),
            None => envelope(404, "NOT_FOUND", "Requested entity was not found."),
        },
        ("DELETE", false, true) => {
            let package = rest.split("/packages/").nth(1).unwrap_or_default();
            let package = percent_decode(package);
            state.deleted_packages.push(format!("{id}/{package}"));
            operation(
                state,
                json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                true,
            )
        }
        _ => envelope(404, "NOT_FOUND", "unknown path"),
    }
}

fn percent_decode(text: &str) -> String {
    text.replace("%2F", "/").replace("%2f", "/")
}

impl FakeGoogle {
    /// Mounts the fake on the three API servers.
    pub async fn mount(ar: &MockServer, sm: &MockServer, crm: &MockServer) -> FakeGoogle {
        let state = Arc::new(Mutex::new(State {
            polls: 1,
            page_size: 2,
            ..State::default()
        }));
        for (server, host) in [(ar, "ar"), (sm, "sm"), (crm, "crm")] {
            Mock::given(any())
                .respond_with(Handler {
                    host,
                    state: state.clone(),
                })
                .mount(server)
                .await;
        }
        FakeGoogle { state }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// The requests since the last call, as `METHOD host target` lines.
    pub fn take(&self) -> Vec<Logged> {
        std::mem::take(&mut self.state.lock().unwrap().log)
    }

    pub fn take_lines(&self) -> Vec<String> {
        self.take().iter().map(Logged::line).collect()
    }

    pub fn versions(&self, secret: &str) -> Vec<String> {
        self.with(|s| {
            s.secrets
                .get(secret)
                .map(|found| found.versions.iter().map(|v| v.state.clone()).collect())
                .unwrap_or_default()
        })
    }

    pub fn payload(&self, secret: &str, version: usize) -> Vec<u8> {
        self.with(|s| s.secrets[secret].versions[version - 1].payload.clone())
    }

    pub fn revoke_grant(&self, secret: &str) {
        self.with(|s| s.secrets.get_mut(secret).unwrap().bindings.clear());
    }
}
