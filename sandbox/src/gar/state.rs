//! What the Google fakes hold: repositories with their packages, operations, secrets with
//! their versions and IAM policies, registry tokens and the remotes' caches. `Debug`
//! never shows a payload or a token.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::upstream::Fetched;

/// Now, as Google writes timestamps (RFC 3339, UTC, microseconds).
pub(crate) fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// One repository. `body` holds the fields as given (canonical JSON), without the
/// output-only and input-only ones.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub(crate) project: String,
    pub(crate) location: String,
    pub(crate) id: String,
    pub(crate) body: Map<String, Value>,
    pub(crate) create_time: String,
    pub(crate) update_time: String,
    /// package name (`chainguard/go`) -> (create time, update time)
    pub(crate) packages: BTreeMap<String, (String, String)>,
}

impl Repository {
    pub(crate) fn name(&self) -> String {
        format!(
            "projects/{}/locations/{}/repositories/{}",
            self.project, self.location, self.id
        )
    }

    pub(crate) fn mode(&self) -> &str {
        self.body
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("STANDARD_REPOSITORY")
    }

    pub(crate) fn format(&self) -> &str {
        self.body
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("FORMAT_UNSPECIFIED")
    }

    /// The repository as GET answers it: the stored fields, then the output-only ones;
    /// empty fields left out, as proto3 JSON does.
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("name".to_owned(), self.name().into());
        for (key, value) in &self.body {
            if key != "name" && !is_empty(value) {
                out.insert(key.clone(), without_defaults(value));
            }
        }
        out.insert("createTime".to_owned(), self.create_time.clone().into());
        out.insert("updateTime".to_owned(), self.update_time.clone().into());
        if self.format() == "DOCKER" {
            out.insert(
                "registryUri".to_owned(),
                format!(
                    "{}-docker.pkg.dev/{}/{}",
                    self.location, self.project, self.id
                )
                .into(),
            );
            // Scanning is off in the sandbox, as in a project without the Container
            // Scanning API: Google adds the state and its reason to what was asked.
            let scanning = out
                .entry("vulnerabilityScanningConfig")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(scanning) = scanning {
                scanning
                    .entry("enablementState")
                    .or_insert_with(|| "SCANNING_DISABLED".into());
                scanning.entry("enablementStateReason").or_insert_with(|| {
                    "API containerscanning.googleapis.com is not enabled.".into()
                });
            }
        }
        Value::Object(out)
    }

    /// The upstream credentials' `(username, passwordSecretVersion)`, when set.
    pub(crate) fn credentials(&self) -> Option<(String, String)> {
        let credentials = self
            .body
            .get("remoteRepositoryConfig")?
            .get("upstreamCredentials")?
            .get("usernamePasswordCredentials")?;
        let field = |name: &str| {
            credentials
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let pair = (field("username"), field("passwordSecretVersion"));
        (!pair.0.is_empty() || !pair.1.is_empty()).then_some(pair)
    }

    /// The upstream a remote pulls from: `commonRepository.uri`, or
    /// `dockerRepository.customRepository.uri`, or Docker Hub.
    pub(crate) fn upstream_uri(&self) -> Option<String> {
        let remote = self.body.get("remoteRepositoryConfig")?;
        if let Some(uri) = remote
            .pointer("/commonRepository/uri")
            .and_then(Value::as_str)
        {
            return Some(uri.to_owned());
        }
        let docker = remote.get("dockerRepository")?;
        if let Some(uri) = docker
            .pointer("/customRepository/uri")
            .and_then(Value::as_str)
        {
            return Some(uri.to_owned());
        }
        (docker.get("publicRepository").and_then(Value::as_str) == Some("DOCKER_HUB"))
            .then(|| "https://registry-1.docker.io".to_owned())
    }

    /// A virtual's members by priority, larger first (equal priorities keep their order).
    pub(crate) fn members(&self) -> Vec<String> {
        let mut policies: Vec<(i64, String)> = self
            .body
            .get("virtualRepositoryConfig")
            .and_then(|config| config.get("upstreamPolicies"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|policy| {
                let repository = policy.get("repository")?.as_str()?.to_owned();
                let priority = policy.get("priority").and_then(Value::as_i64).unwrap_or(0);
                Some((priority, repository))
            })
            .collect();
        policies.sort_by_key(|(priority, _)| std::cmp::Reverse(*priority));
        policies
            .into_iter()
            .map(|(_, repository)| repository)
            .collect()
    }
}

/// Whether proto3 JSON would leave a value out: an empty string, list or map, `false`, 0.
pub(crate) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(_) => false,
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

/// `value` with every field proto3 JSON leaves out removed, at any depth (messages stay,
/// even empty: their presence means something).
fn without_defaults(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| (k.clone(), without_defaults(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_defaults).collect()),
        other => other.clone(),
    }
}

/// A long-running operation: answered `done: false` until it has been polled enough.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) polls_left: u32,
    /// The `response` (an `Any`) it finishes with.
    pub(crate) response: Value,
}

/// A secret version's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionState {
    Enabled,
    Disabled,
    Destroyed,
}

impl VersionState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

/// One secret version. `Debug` leaves out the payload.
#[derive(Clone)]
pub(crate) struct Version {
    pub(crate) number: u64,
    pub(crate) state: VersionState,
    /// Gone once destroyed.
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) crc32c: u32,
    pub(crate) client_checksum: bool,
    pub(crate) create_time: String,
    pub(crate) destroy_time: Option<String>,
    pub(crate) etag: String,
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Version")
            .field("number", &self.number)
            .field("state", &self.state)
            .field("payload_len", &self.payload.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// An IAM policy: bindings as given (canonical JSON), and the etag (bytes).
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub(crate) version: i64,
    pub(crate) bindings: Vec<Value>,
    pub(crate) audit_configs: Vec<Value>,
    /// `None` until the first setIamPolicy: Google's empty policy has the etag `ACAB`.
    pub(crate) etag: Option<Vec<u8>>,
}

impl Policy {
    /// Whether `member` holds `role` (unconditionally).
    pub(crate) fn grants(&self, role: &str, member: &str) -> bool {
        self.bindings.iter().any(|binding| {
            binding.get("role").and_then(Value::as_str) == Some(role)
                && binding.get("condition").is_none()
                && binding
                    .get("members")
                    .and_then(Value::as_array)
                    .is_some_and(|members| members.iter().any(|m| m.as_str() == Some(member)))
        })
    }
}

/// One secret.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub(crate) project_number: String,
    pub(crate) id: String,
    pub(crate) body: Map<String, Value>,
    pub(crate) create_time: String,
    pub(crate) etag: String,
    pub(crate) versions: Vec<Version>,
    pub(crate) policy: Policy,
}

impl Secret {
    pub(crate) fn name(&self) -> String {
        format!("projects/{}/secrets/{}", self.project_number, self.id)
    }

    /// A version by number, or the newest for `latest`.
    pub(crate) fn version(&self, reference: &str) -> Option<&Version> {
        if reference == "latest" {
            return self.versions.last();
        }
        let number: u64 = reference.parse().ok()?;
        self.versions.iter().find(|v| v.number == number)
    }
}

/// Everything a reset forgets.
#[derive(Default)]
pub(crate) struct State {
    /// repository name (with the project id) -> repository
    pub(crate) repositories: BTreeMap<String, Repository>,
    /// operation name -> operation
    pub(crate) operations: HashMap<String, Operation>,
    /// (project number, secret id) -> secret
    pub(crate) secrets: BTreeMap<(String, String), Secret>,
    /// Tokens the registry's token endpoint issued, and whether each was anonymous.
    pub(crate) registry_tokens: HashMap<String, bool>,
    /// (repository name, path) -> what a remote fetched by digest
    pub(crate) cache: HashMap<(String, String), Fetched>,
    /// APIs a test disabled (`secretmanager.googleapis.com`).
    pub(crate) disabled_apis: BTreeSet<String>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field(
                "repositories",
                &self.repositories.keys().collect::<Vec<_>>(),
            )
            .field("operations", &self.operations.len())
            .field("secrets", &self.secrets.len())
            .field("registry_tokens", &self.registry_tokens.len())
            .field("cache", &self.cache.len())
            .field("disabled_apis", &self.disabled_apis)
            .finish()
    }
}
