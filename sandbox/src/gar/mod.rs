//! Google's fakes: Artifact Registry (repositories, packages, operations), Secret Manager
//! (secrets, versions, IAM policies), Resource Manager (projects) and the Docker registry
//! of `LOCATION-docker.pkg.dev`, sharing one state, as strict as Google's own:
//!
//! - every call needs `Authorization: Bearer <the sandbox's access token>` (401
//!   `UNAUTHENTICATED` otherwise) and gets Google's error envelope
//!   `{"error": {"code", "message", "status", "details"}}` when refused;
//! - bodies are read with the proto3 JSON rules (either field spelling, enum names or
//!   numbers, an unknown field or enum value refused with Google's message), queries with
//!   the transcoder's (an unknown parameter refused);
//! - repositories are created and deleted through operations that finish after a poll or
//!   two; remote repositories validate their upstream and credentials on create and
//!   patch, and pull from the fake `cgr.dev` with the username and the pinned secret
//!   version's payload only when the Artifact Registry service agent
//!   (`service-NUMBER@gcp-sa-artifactregistry.iam.gserviceaccount.com`) holds
//!   `roles/secretmanager.secretAccessor` on the secret (the agent exists from the
//!   project's first repository on; a grant before is refused, as Google refuses it);
//! - secret names carry the project number; `dataCrc32c` is checked; IAM policies carry
//!   an etag and a stale one gets 409 `ABORTED`.
//!
//! ```
//! use pull_through_sandbox::{Sandbox, chainguard::Chainguard, gar::Gar};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gar = Gar::new();
//! let sandbox = Sandbox::builder()
//!     .chainguard(&Chainguard::new("example.com"))
//!     .gar(&gar)
//!     .start()
//!     .await?;
//! let url = sandbox.url(pull_through_sandbox::gar::RESOURCE_MANAGER).unwrap()
//!     .join("v1/projects/pull-through-sandbox")?;
//! let project: serde_json::Value = reqwest::Client::new()
//!     .get(url)
//!     .bearer_auth(gar.access_token().expose())
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(project["projectNumber"], "123456789012");
//! # Ok(()) }
//! ```

mod envelope;
mod iam;
mod messages;
mod names;
mod operations;
mod patch;
mod projects;
mod registry;
mod remote;
mod repositories;
mod schema;
mod secrets;
mod state;
mod validate;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use url::Url;

use crate::common::random_hex;
use crate::service::{FakeService, SandboxContext};
use crate::state::ServiceState;
use crate::upstream::{SandboxToken, Upstream};
use axum::response::IntoResponse as _;

pub use secrets::crc32c;
use state::State;

/// The sandbox service name of the Artifact Registry API (`artifactregistry.googleapis.com`).
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::ARTIFACT_REGISTRY, "artifactregistry");
/// ```
pub const ARTIFACT_REGISTRY: &str = "artifactregistry";

/// The sandbox service name of the Secret Manager API (`secretmanager.googleapis.com`).
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::SECRET_MANAGER, "secretmanager");
/// ```
pub const SECRET_MANAGER: &str = "secretmanager";

/// The sandbox service name of the Resource Manager API
/// (`cloudresourcemanager.googleapis.com`).
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::RESOURCE_MANAGER, "cloudresourcemanager");
/// ```
pub const RESOURCE_MANAGER: &str = "cloudresourcemanager";

/// The sandbox service name of the Docker registry (`LOCATION-docker.pkg.dev`, every
/// location on one port).
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::DOCKER_REGISTRY, "gar-docker");
/// ```
pub const DOCKER_REGISTRY: &str = "gar-docker";

/// The sandbox's project id.
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::DEFAULT_PROJECT, "pull-through-sandbox");
/// ```
pub const DEFAULT_PROJECT: &str = "pull-through-sandbox";

/// The sandbox project's number.
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::DEFAULT_PROJECT_NUMBER, "123456789012");
/// ```
pub const DEFAULT_PROJECT_NUMBER: &str = "123456789012";

/// The sandbox's location.
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::DEFAULT_LOCATION, "us-central1");
/// ```
pub const DEFAULT_LOCATION: &str = "us-central1";

/// The role the Artifact Registry service agent needs on a credentials secret.
///
/// ```
/// assert_eq!(pull_through_sandbox::gar::SECRET_ACCESSOR, "roles/secretmanager.secretAccessor");
/// ```
pub const SECRET_ACCESSOR: &str = "roles/secretmanager.secretAccessor";

/// A project the fakes know: its id and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Project {
    pub(crate) id: String,
    pub(crate) number: String,
}

impl Project {
    /// The IAM member of the project's Artifact Registry service agent.
    pub(crate) fn agent_member(&self) -> String {
        format!("serviceAccount:{}", agent_email(&self.number))
    }
}

fn agent_email(number: &str) -> String {
    format!("service-{number}@gcp-sa-artifactregistry.iam.gserviceaccount.com")
}

/// Settings fixed before the sandbox starts.
#[derive(Debug)]
struct Config {
    projects: Vec<Project>,
    location: String,
    operation_polls: u32,
}

pub(crate) struct Fake {
    state: Mutex<State>,
    token: String,
    config: RwLock<Config>,
    /// Set when the sandbox starts, from the context that resolves the Chainguard fakes.
    upstream: OnceLock<Upstream>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds secret payloads and issued tokens; none of it may reach a log.
        f.debug_struct("Fake").finish_non_exhaustive()
    }
}

impl Fake {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn config(&self) -> std::sync::RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The project a path segment names, by id or number.
    pub(crate) fn project(&self, segment: &str) -> Option<Project> {
        self.config()
            .projects
            .iter()
            .find(|p| p.id == segment || p.number == segment)
            .cloned()
    }

    pub(crate) fn default_project(&self) -> Project {
        self.config().projects[0].clone()
    }

    pub(crate) fn operation_polls(&self) -> u32 {
        self.config().operation_polls
    }

    pub(crate) fn upstream(&self) -> Option<&Upstream> {
        self.upstream.get()
    }
}

/// Google's fakes, with one project (`pull-through-sandbox`, number `123456789012`), the
/// location `us-central1` and a random access token. Cheap to clone; clones share state.
///
/// ```
/// let gar = pull_through_sandbox::gar::Gar::new();
/// assert!(gar.access_token().expose().starts_with("ya29.sandbox-"));
/// assert_eq!(format!("{:?}", gar.access_token()), "SandboxToken([REDACTED])");
/// ```
#[derive(Debug, Clone)]
pub struct Gar {
    fake: Arc<Fake>,
}

impl Default for Gar {
    fn default() -> Self {
        Gar::new()
    }
}

impl Gar {
    /// The fakes with the sandbox's project and location, and nothing in them.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// assert!(gar.repositories().is_empty());
    /// ```
    pub fn new() -> Gar {
        Gar {
            fake: Arc::new(Fake {
                state: Mutex::new(State::default()),
                token: format!("ya29.sandbox-{}", random_hex(24)),
                config: RwLock::new(Config {
                    projects: vec![Project {
                        id: DEFAULT_PROJECT.to_owned(),
                        number: DEFAULT_PROJECT_NUMBER.to_owned(),
                    }],
                    location: DEFAULT_LOCATION.to_owned(),
                    operation_polls: 2,
                }),
                upstream: OnceLock::new(),
            }),
        }
    }

    /// Also knows the project `id` with the number `number` (the env file keeps naming
    /// the sandbox's project). Clones share the setting.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new().with_project("other-project", "42");
    /// assert_eq!(gar.project_id(), "pull-through-sandbox");
    /// ```
    pub fn with_project(self, id: &str, number: &str) -> Gar {
        self.fake
            .config
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .projects
            .push(Project {
                id: id.to_owned(),
                number: number.to_owned(),
            });
        self
    }

    /// How many `GET` polls an operation answers before `done: true` (at least 1; 2
    /// unless set, so a client's polling loop sees `done: false` once).
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new().with_operation_polls(1);
    /// ```
    pub fn with_operation_polls(self, polls: u32) -> Gar {
        self.fake
            .config
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .operation_polls = polls.max(1);
        self
    }

    /// The access token every call needs (the env file's `GOOGLE_OAUTH_ACCESS_TOKEN`;
    /// also the password of the registry's `oauth2accesstoken` login).
    ///
    /// ```
    /// let token = pull_through_sandbox::gar::Gar::new().access_token();
    /// ```
    pub fn access_token(&self) -> SandboxToken {
        SandboxToken(self.fake.token.clone())
    }

    /// The sandbox's project id (`GOOGLE_CLOUD_PROJECT`).
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::gar::Gar::new().project_id(), "pull-through-sandbox");
    /// ```
    pub fn project_id(&self) -> String {
        self.fake.default_project().id
    }

    /// The sandbox project's number.
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::gar::Gar::new().project_number(), "123456789012");
    /// ```
    pub fn project_number(&self) -> String {
        self.fake.default_project().number
    }

    /// The sandbox's location (`GOOGLE_CLOUD_LOCATION`).
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::gar::Gar::new().location(), "us-central1");
    /// ```
    pub fn location(&self) -> String {
        self.fake.config().location.clone()
    }

    /// The IAM member of the sandbox project's Artifact Registry service agent, which
    /// needs [`SECRET_ACCESSOR`] on a credentials secret.
    ///
    /// ```
    /// assert_eq!(
    ///     pull_through_sandbox::gar::Gar::new().service_agent(),
    ///     "serviceAccount:service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com"
    /// );
    /// ```
    pub fn service_agent(&self) -> String {
        self.fake.default_project().agent_member()
    }

    /// Makes the project's Artifact Registry service agent, as `gcloud beta services
    /// identity create --service=artifactregistry.googleapis.com` does. Google makes it
    /// with the project's first repository; before, a policy naming it is refused (400
    /// "Service account ... does not exist."). A reset forgets it.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// gar.create_service_agent();
    /// assert!(gar.service_agent_exists());
    /// ```
    pub fn create_service_agent(&self) {
        let number = self.project_number();
        self.fake.lock().service_agents.insert(number);
    }

    /// Whether the project's Artifact Registry service agent exists.
    ///
    /// ```
    /// assert!(!pull_through_sandbox::gar::Gar::new().service_agent_exists());
    /// ```
    pub fn service_agent_exists(&self) -> bool {
        let number = self.project_number();
        self.fake.lock().service_agents.contains(&number)
    }

    /// The services to add to a sandbox (what [`crate::SandboxBuilder::gar`] adds).
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::gar::Gar::new().services().len(), 4);
    /// ```
    pub fn services(&self) -> Vec<Arc<dyn FakeService>> {
        vec![
            Arc::new(ArtifactRegistry(self.clone())),
            Arc::new(SecretManager(self.clone())),
            Arc::new(ResourceManager(self.clone())),
            Arc::new(DockerRegistry(self.clone())),
        ]
    }

    /// Turns an API off or on (`artifactregistry.googleapis.com`,
    /// `secretmanager.googleapis.com`, `cloudresourcemanager.googleapis.com`): every call
    /// of a disabled API gets 403 `SERVICE_DISABLED`, as in a project that never enabled
    /// it. A reset turns them all back on.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// gar.set_api_enabled("secretmanager.googleapis.com", false);
    /// ```
    pub fn set_api_enabled(&self, api: &str, enabled: bool) {
        let mut state = self.fake.lock();
        if enabled {
            state.disabled_apis.remove(api);
        } else {
            state.disabled_apis.insert(api.to_owned());
        }
    }

    /// The names of the repositories (`projects/P/locations/L/repositories/R`), sorted.
    ///
    /// ```
    /// assert!(pull_through_sandbox::gar::Gar::new().repositories().is_empty());
    /// ```
    pub fn repositories(&self) -> Vec<String> {
        self.fake.lock().repositories.keys().cloned().collect()
    }

    /// A repository as `GET` answers it, by name.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// assert!(gar.repository("projects/pull-through-sandbox/locations/us-central1/repositories/x").is_none());
    /// ```
    pub fn repository(&self, name: &str) -> Option<serde_json::Value> {
        self.fake.lock().repositories.get(name).map(|r| r.to_json())
    }

    /// The packages a repository holds (`chainguard/go`), sorted: what its remote served.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// assert!(gar.packages("projects/pull-through-sandbox/locations/us-central1/repositories/x").is_empty());
    /// ```
    pub fn packages(&self, repository: &str) -> Vec<String> {
        self.fake
            .lock()
            .repositories
            .get(repository)
            .map(|r| r.packages.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The names of the secrets (`projects/NUMBER/secrets/S`), sorted.
    ///
    /// ```
    /// assert!(pull_through_sandbox::gar::Gar::new().secrets().is_empty());
    /// ```
    pub fn secrets(&self) -> Vec<String> {
        self.fake
            .lock()
            .secrets
            .values()
            .map(|s| s.name())
            .collect()
    }

    /// A secret's versions, oldest first, as `(number, state)` with state `ENABLED`,
    /// `DISABLED` or `DESTROYED`. `secret` is an id in the sandbox's project or a name
    /// `projects/P/secrets/S` (P an id or a number).
    ///
    /// ```
    /// assert!(pull_through_sandbox::gar::Gar::new().secret_versions("cgr-pull-token").is_empty());
    /// ```
    pub fn secret_versions(&self, secret: &str) -> Vec<(u64, String)> {
        let key = self.secret_key(secret);
        self.fake
            .lock()
            .secrets
            .get(&key)
            .map(|s| {
                s.versions
                    .iter()
                    .map(|v| (v.number, v.state.as_str().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A version's payload as only the server knows it (tests check rotations with it);
    /// `None` when absent or destroyed.
    ///
    /// ```
    /// assert!(pull_through_sandbox::gar::Gar::new().secret_payload("cgr-pull-token", 1).is_none());
    /// ```
    pub fn secret_payload(&self, secret: &str, version: u64) -> Option<SandboxToken> {
        let key = self.secret_key(secret);
        let state = self.fake.lock();
        let version = state.secrets.get(&key)?.version(&version.to_string())?;
        let payload = version.payload.as_ref()?;
        Some(SandboxToken(String::from_utf8_lossy(payload).into_owned()))
    }

    /// The members a secret's IAM policy binds to `role` without a condition.
    ///
    /// ```
    /// use pull_through_sandbox::gar::{Gar, SECRET_ACCESSOR};
    /// assert!(Gar::new().iam_members("cgr-pull-token", SECRET_ACCESSOR).is_empty());
    /// ```
    pub fn iam_members(&self, secret: &str, role: &str) -> Vec<String> {
        let key = self.secret_key(secret);
        let state = self.fake.lock();
        let Some(secret) = state.secrets.get(&key) else {
            return Vec::new();
        };
        secret
            .policy
            .bindings
            .iter()
            .filter(|b| b["role"] == role && b.get("condition").is_none())
            .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect()
    }

    fn secret_key(&self, secret: &str) -> (String, String) {
        match secret
            .strip_prefix("projects/")
            .and_then(|rest| rest.split_once("/secrets/"))
        {
            Some((project, id)) => {
                let number = self
                    .fake
                    .project(project)
                    .map_or_else(|| project.to_owned(), |p| p.number);
                (number, id.to_owned())
            }
            None => (self.project_number(), secret.to_owned()),
        }
    }
}

struct ArtifactRegistry(Gar);
struct SecretManager(Gar);
struct ResourceManager(Gar);
struct DockerRegistry(Gar);

/// A root URL as gcloud's endpoint overrides take it: with the trailing slash.
fn root(url: &Url) -> String {
    format!("{}/", url.as_str().trim_end_matches('/'))
}

impl FakeService for ArtifactRegistry {
    fn name(&self) -> &str {
        ARTIFACT_REGISTRY
    }
    fn hosts(&self) -> Vec<String> {
        vec!["artifactregistry.googleapis.com".to_owned()]
    }
    fn router(&self, context: SandboxContext) -> axum::Router {
        // Create and patch validate remote upstreams through the Chainguard fakes.
        let _ = self.0.fake.upstream.set(Upstream::new(context));
        repositories::router(self.0.fake.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        let project = self.0.fake.default_project();
        vec![
            (
                "GOOGLE_OAUTH_ACCESS_TOKEN".to_owned(),
                self.0.fake.token.clone(),
            ),
            ("GOOGLE_CLOUD_PROJECT".to_owned(), project.id),
            ("GOOGLE_CLOUD_LOCATION".to_owned(), self.0.location()),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY".to_owned(),
                root(base_url),
            ),
        ]
    }
    fn reset(&self) {
        // The four services share one state: this one resets it for all.
        *self.0.fake.lock() = State::default();
    }
    fn state(&self) -> Option<ServiceState> {
        let state = self.0.fake.lock();
        let mut held = ServiceState::new().with_objects(
            "repositories",
            state.repositories.values().map(|repo| repo.id.clone()),
        );
        for repo in state.repositories.values() {
            if let Some((username, pin)) = repo.credentials() {
                held = held
                    .with_credential(&repo.id, &username)
                    .with_pinned_version(&repo.id, &remote::pinned(&self.0.fake, &state, &pin));
            }
        }
        Some(held)
    }
    /// Google lists the status alone (`RESOURCE_EXHAUSTED`, 429) for its APIs, no
    /// `Retry-After` (reference/google-artifact-registry.md); so do its other fakes here.
    fn throttled(&self, _throttle: &crate::Throttle) -> axum::response::Response {
        envelope::Refusal::rate_limited(ARTIFACT_REGISTRY, &self.0.project_number()).into_response()
    }
}

impl FakeService for SecretManager {
    fn name(&self) -> &str {
        SECRET_MANAGER
    }
    fn hosts(&self) -> Vec<String> {
        vec!["secretmanager.googleapis.com".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        secrets::router(self.0.fake.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER".to_owned(),
            root(base_url),
        )]
    }
    fn state(&self) -> Option<ServiceState> {
        let state = self.0.fake.lock();
        let versions = state.secrets.values().flat_map(|secret| {
            secret.versions.iter().map(|version| {
                // The checksum tells a version added twice (the same password) from a
                // new one without showing the password.
                format!(
                    "{}/{} {} crc32c={}",
                    secret.id,
                    version.number,
                    version.state.as_str(),
                    version.crc32c
                )
            })
        });
        Some(
            ServiceState::new()
                .with_objects("secret_versions", versions)
                .with_objects(
                    "secrets",
                    state.secrets.values().map(|secret| secret.id.clone()),
                ),
        )
    }
    fn throttled(&self, _throttle: &crate::Throttle) -> axum::response::Response {
        envelope::Refusal::rate_limited(SECRET_MANAGER, &self.0.project_number()).into_response()
    }
}

impl FakeService for ResourceManager {
    fn name(&self) -> &str {
        RESOURCE_MANAGER
    }
    fn hosts(&self) -> Vec<String> {
        vec!["cloudresourcemanager.googleapis.com".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        projects::router(self.0.fake.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER".to_owned(),
            root(base_url),
        )]
    }
    fn throttled(&self, _throttle: &crate::Throttle) -> axum::response::Response {
        envelope::Refusal::rate_limited(RESOURCE_MANAGER, &self.0.project_number()).into_response()
    }
}

impl FakeService for DockerRegistry {
    fn name(&self) -> &str {
        DOCKER_REGISTRY
    }
    fn hosts(&self) -> Vec<String> {
        names::LOCATIONS
            .iter()
            .map(|location| format!("{location}-docker.pkg.dev"))
            .collect()
    }
    fn router(&self, context: SandboxContext) -> axum::Router {
        let _ = self.0.fake.upstream.set(Upstream::new(context));
        registry::router(self.0.fake.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("GAR_DOCKER_REGISTRY_URL".to_owned(), root(base_url))]
    }
    fn throttled(&self, throttle: &crate::Throttle) -> axum::response::Response {
        crate::common::docker_throttled(throttle)
    }
}
