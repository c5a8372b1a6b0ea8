//! Artifactory's fake: the repositories API, the access-token API, and the remote and
//! virtual repositories serving Docker and Alpine content pulled from the Chainguard fakes.
//!
//! ```
//! use pull_through_sandbox::{Sandbox, artifactory::Artifactory, chainguard::Chainguard};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pull_through_sandbox::SandboxError> {
//! let sandbox = Sandbox::builder()
//!     .chainguard(&Chainguard::new("example.com"))
//!     .artifactory(&Artifactory::new())
//!     .start()
//!     .await?;
//! assert!(sandbox.env().iter().any(|(key, _)| key == "ARTIFACTORY_ACCESS_TOKEN"));
//! # Ok(()) }
//! ```

mod proxy;
mod repos;

pub use repos::FieldChecks;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Map, Value};
use url::Url;

use crate::common::random_hex;
use crate::service::{FakeService, SandboxContext};
use crate::state::ServiceState;
use crate::upstream::{Credentials, Fetched, SandboxToken, Upstream};

/// The user the admin token acts as.
pub(crate) const ADMIN_USER: &str = "admin";

/// One repository as the fake stores it. `Debug` leaves out the password.
#[derive(Clone)]
pub(crate) struct Repo {
    /// The configuration without the password, defaults filled.
    pub(crate) config: Map<String, Value>,
    pub(crate) password: Option<String>,
    /// What a GET shows for the password; changes on every write of it.
    pub(crate) encrypted: String,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("config", &self.config)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl Repo {
    fn field(&self, name: &str) -> &str {
        self.config
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn key(&self) -> &str {
        self.field("key")
    }

    pub(crate) fn rclass(&self) -> &str {
        self.field("rclass")
    }

    pub(crate) fn package_type(&self) -> &str {
        self.field("packageType")
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.config.get(name).and_then(Value::as_bool) == Some(true)
    }

    /// What a remote sends upstream: its user with its password, or nothing when no
    /// password is stored (a user name alone is not sent).
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        self.password
            .as_ref()
            .map(|password| Credentials::new(self.field("username"), password.as_str()))
    }
}

/// `Debug` shows the repositories, never the tokens.
#[derive(Default)]
pub(crate) struct State {
    /// lower-case key -> repository
    pub(crate) repos: BTreeMap<String, Repo>,
    /// token id -> (the user it acts as, the tokens it issued: access and reference)
    pub(crate) tokens: HashMap<String, (String, Vec<String>)>,
    /// (lower-case key, path) -> what a remote fetched (successful answers only)
    pub(crate) cache: HashMap<(String, String), Fetched>,
    /// Docker tokens the registry front's token endpoint issued -> what they were issued
    /// for: the user of a Basic login (none for a Bearer one) and the token it used, so a
    /// revoked access token takes its Docker tokens with it.
    pub(crate) docker_tokens: HashMap<String, (Option<String>, String)>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("repos", &self.repos)
            .field("tokens", &self.tokens.len())
            .field("cache", &self.cache.len())
            .field("docker_tokens", &self.docker_tokens.len())
            .finish()
    }
}

impl State {
    /// A virtual's members must exist and, unless the virtual is Generic, be of its
    /// package type (what Artifactory checks on write).
    pub(crate) fn check_members(
        &self,
        body: &Map<String, Value>,
        package_type: &str,
    ) -> Option<String> {
        let members = body.get("repositories")?.as_array()?;
        members.iter().filter_map(Value::as_str).find_map(|member| {
            match self.repos.get(&member.to_ascii_lowercase()) {
                Some(repo) if repo.key() == member => (package_type != "generic"
                    && !repo.package_type().eq_ignore_ascii_case(package_type))
                .then(|| {
                    format!(
                        "Repository '{member}' is of type {} and cannot be included in a {package_type} virtual repository",
                        repo.package_type()
                    )
                }),
                _ => Some(format!("Repository '{member}' does not exist")),
            }
        })
    }
}

pub(crate) struct Fake {
    state: Mutex<State>,
    admin_token: String,
    /// Set when the sandbox starts, from the context that resolves the Chainguard fakes.
    upstream: OnceLock<Upstream>,
    /// Whether documented fields the fake does not model are accepted ([`FieldChecks`]).
    lenient: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds stored passwords and issued tokens; none of it may reach a log.
        f.debug_struct("Fake").finish_non_exhaustive()
    }
}

impl Fake {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn field_checks(&self) -> FieldChecks {
        if self.lenient.load(std::sync::atomic::Ordering::Relaxed) {
            FieldChecks::Lenient
        } else {
            FieldChecks::Strict
        }
    }

    /// Whether `token` is one the fake issued; with Basic auth, `user` must be the user
    /// the token acts as (Artifactory checks it; `linky%40example.com` is not
    /// `linky@example.com`).
    fn accepts(&self, token: &str, user: Option<&str>) -> bool {
        if token == self.admin_token {
            return user.is_none_or(|user| user == ADMIN_USER);
        }
        self.lock().tokens.values().any(|(owner, issued)| {
            issued.iter().any(|t| t == token) && user.is_none_or(|user| user == owner)
        })
    }
}

/// One fake Artifactory with an admin access token. Cheap to clone; clones share state.
///
/// ```
/// let artifactory = pull_through_sandbox::artifactory::Artifactory::new();
/// let token = artifactory.admin_token();
/// assert_eq!(format!("{token:?}"), "SandboxToken([REDACTED])");
/// ```
#[derive(Debug, Clone)]
pub struct Artifactory {
    fake: Arc<Fake>,
}

impl Default for Artifactory {
    fn default() -> Self {
        Artifactory::new()
    }
}

impl Artifactory {
    /// An empty instance.
    ///
    /// ```
    /// let artifactory = pull_through_sandbox::artifactory::Artifactory::new();
    /// assert!(artifactory.repository_keys().is_empty());
    /// ```
    pub fn new() -> Artifactory {
        Artifactory {
            fake: Arc::new(Fake {
                state: Mutex::new(State::default()),
                admin_token: format!("eyJ2ZXIiOiIyIn0.admin{}", random_hex(24)),
                upstream: OnceLock::new(),
                lenient: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Sets how repository writes treat documented fields the fake does not model
    /// ([`FieldChecks`]; [`FieldChecks::Strict`] unless set). Clones share the setting.
    ///
    /// ```
    /// use pull_through_sandbox::artifactory::{Artifactory, FieldChecks};
    /// let artifactory = Artifactory::new().field_checks(FieldChecks::Lenient);
    /// assert_eq!(artifactory.clone().current_field_checks(), FieldChecks::Lenient);
    /// ```
    pub fn field_checks(self, checks: FieldChecks) -> Self {
        self.fake.lenient.store(
            checks == FieldChecks::Lenient,
            std::sync::atomic::Ordering::Relaxed,
        );
        self
    }

    /// How repository writes treat documented fields the fake does not model.
    ///
    /// ```
    /// use pull_through_sandbox::artifactory::{Artifactory, FieldChecks};
    /// assert_eq!(Artifactory::new().current_field_checks(), FieldChecks::Strict);
    /// ```
    pub fn current_field_checks(&self) -> FieldChecks {
        self.fake.field_checks()
    }

    /// The admin access token (the env file's `ARTIFACTORY_ACCESS_TOKEN`).
    ///
    /// ```
    /// let token = pull_through_sandbox::artifactory::Artifactory::new().admin_token();
    /// assert!(token.expose().starts_with("eyJ"));
    /// ```
    pub fn admin_token(&self) -> SandboxToken {
        SandboxToken(self.fake.admin_token.clone())
    }

    /// The keys of the repositories that exist, in key order.
    ///
    /// ```
    /// assert!(pull_through_sandbox::artifactory::Artifactory::new().repository_keys().is_empty());
    /// ```
    pub fn repository_keys(&self) -> Vec<String> {
        self.fake
            .lock()
            .repos
            .values()
            .map(|repo| repo.key().to_owned())
            .collect()
    }

    /// The upstream password a remote holds in clear, as only the server knows it (tests
    /// check rotations with it).
    ///
    /// ```
    /// assert!(pull_through_sandbox::artifactory::Artifactory::new().stored_password("cgr-private").is_none());
    /// ```
    pub fn stored_password(&self, key: &str) -> Option<SandboxToken> {
        self.fake
            .lock()
            .repos
            .get(&key.to_ascii_lowercase())
            .and_then(|repo| repo.password.clone())
            .map(SandboxToken)
    }

    /// The paths a remote holds in its cache (`<key>-cache`), sorted.
    ///
    /// ```
    /// assert!(pull_through_sandbox::artifactory::Artifactory::new().cached_paths("cgr-public").is_empty());
    /// ```
    pub fn cached_paths(&self, key: &str) -> Vec<String> {
        let key = key.to_ascii_lowercase();
        let mut paths: Vec<String> = self
            .fake
            .lock()
            .cache
            .keys()
            .filter(|(cached, _)| *cached == key)
            .map(|(_, path)| path.clone())
            .collect();
        paths.sort();
        paths
    }
}

impl FakeService for Artifactory {
    fn name(&self) -> &str {
        "artifactory"
    }

    fn router(&self, context: SandboxContext) -> Router {
        let _ = self.fake.upstream.set(Upstream::new(context));
        Router::new()
            .route("/artifactory/api/system/ping", get(|| async { "OK" }))
            .route(
                "/artifactory/api/system/version",
                get(|| async {
                    axum::Json(serde_json::json!({"version": "7.104.0-sandbox", "revision": "0", "addons": []}))
                }),
            )
            .route("/artifactory/api/repositories", get(repos::list))
            .route(
                "/artifactory/api/repositories/{key}",
                get(repos::get_one)
                    .head(repos::get_one)
                    .put(repos::create)
                    .post(repos::update)
                    .delete(repos::delete),
            )
            .route("/access/api/v1/tokens", post(repos::create_token))
            .route(
                "/access/api/v1/tokens/{id}",
                axum::routing::delete(repos::revoke_token),
            )
            .route(
                "/artifactory/{*rest}",
                get(proxy::artifact).delete(proxy::delete_cached),
            )
            .layer(axum::middleware::from_fn_with_state(
                self.fake.clone(),
                repos::authenticate,
            ))
            // The Docker registry front authenticates as Artifactory's Docker API does:
            // a Bearer challenge naming its token endpoint (see `proxy`).
            .merge(
                Router::new()
                    .route("/artifactory/api/docker/{key}/v2/", get(proxy::docker_base))
                    .route(
                        "/artifactory/api/docker/{key}/v2/{*rest}",
                        get(proxy::docker_api).head(proxy::docker_api),
                    )
                    .route("/v2/", get(proxy::docker_base))
                    .route(
                        "/v2/{*rest}",
                        get(proxy::docker_path).head(proxy::docker_path),
                    )
                    .layer(axum::middleware::from_fn_with_state(
                        self.fake.clone(),
                        proxy::docker_authenticate,
                    )),
            )
            .with_state(self.fake.clone())
    }

    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![
            ("ARTIFACTORY_URL".to_owned(), base_url.to_string()),
            (
                "ARTIFACTORY_ACCESS_TOKEN".to_owned(),
                self.fake.admin_token.clone(),
            ),
            // The user client access names (`docker login -u`, the apk line's userinfo).
            ("ARTIFACTORY_USER".to_owned(), ADMIN_USER.to_owned()),
        ]
    }

    fn reset(&self) {
        *self.fake.lock() = State::default();
    }

    fn state(&self) -> Option<ServiceState> {
        let state = self.fake.lock();
        let mut held = ServiceState::new()
            .with_objects(
                "repositories",
                state.repos.values().map(|repo| repo.key().to_owned()),
            )
            .with_objects("access_tokens", state.tokens.keys().cloned());
        for repo in state.repos.values() {
            let username = repo.config.get("username").and_then(Value::as_str);
            if let Some(username) = username.filter(|u| !u.is_empty()) {
                held = held.with_credential(repo.key(), username);
            }
        }
        Some(held)
    }

    /// JFrog documents no `Retry-After` (reference/artifactory.md §9): the status and the
    /// error envelope only.
    fn throttled(&self, _throttle: &crate::Throttle) -> axum::response::Response {
        repos::errors(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
        )
    }
}
