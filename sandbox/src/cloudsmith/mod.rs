//! Cloudsmith's fake: the API (`api.cloudsmith.io`: repositories, Docker upstreams, the
//! other formats' upstreams with their shared fields only, packages, `/user/self/`,
//! namespaces) and the Docker registry (`docker.cloudsmith.io`),
//! which pulls through a repository's Docker upstreams from the fake `cgr.dev`.
//!
//! It is as strict as Cloudsmith where a client can go wrong: enums spelled exactly, the
//! name and slug patterns, the priority range, `upstream_url` a URL without a trailing
//! slash, Docker's own `auth_mode` values, the 422 envelope naming every failed field,
//! 400 for a body that is not JSON, `auth_secret` never answered (`null`), `slug_perm`
//! ids, pagination headers, `X-RateLimit-*` on every answer and, past a per-key rate
//! ([`Cloudsmith::rate_limit`]), 429 with `Retry-After`. Unknown body fields are ignored,
//! as the real server ignores them.
//!
//! The registry authenticates as `docker login docker.cloudsmith.io` does (the user slug
//! and the API key) and serves `/v2/<owner>/<repo>/<image>/...` through the repository's
//! active Docker upstreams by ascending priority: `https://cgr.dev/chainguard` serves
//! `<image>` from `cgr.dev/chainguard/<image>`, `https://cgr.dev` serves
//! `<registry>/<image>` from `cgr.dev/<registry>/<image>` with the upstream's stored
//! username and secret. A `Cache and Proxy` upstream keeps a copy as a package of the
//! repository (forgotten by deleting the package), a `Proxy Only` one keeps none.
//!
//! ```
//! use pull_through_sandbox::{Sandbox, chainguard::Chainguard, cloudsmith::Cloudsmith};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloudsmith = Cloudsmith::new();
//! let sandbox = Sandbox::builder()
//!     .chainguard(&Chainguard::new("example.com"))
//!     .cloudsmith(&cloudsmith)
//!     .start()
//!     .await?;
//! let api = sandbox.url("cloudsmith").unwrap();
//! let created = reqwest::Client::new()
//!     .post(api.join("repos/pull-through-sandbox/")?)
//!     .header("X-Api-Key", cloudsmith.api_key().expose())
//!     .json(&serde_json::json!({"name": "Chainguard", "slug": "chainguard", "repository_type_str": "Private"}))
//!     .send()
//!     .await?;
//! assert_eq!(created.status(), 201);
//! assert_eq!(cloudsmith.repository_slugs(), ["chainguard"]);
//! # Ok(()) }
//! ```

mod account;
mod envelope;
mod formats;
mod packages;
mod pages;
mod rate;
mod registry;
mod repositories;
mod state;
mod upstreams;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::http::HeaderMap;
use serde_json::Value;
use url::Url;

use crate::service::{FakeService, SandboxContext};
use crate::state::ServiceState;
use crate::upstream::{SandboxToken, Upstream};

pub(crate) use state::{DockerUpstream, Package, Repository, State};

/// The sandbox's workspace (the `{owner}` of every path).
///
/// ```
/// assert_eq!(pull_through_sandbox::cloudsmith::OWNER, "pull-through-sandbox");
/// ```
pub const OWNER: &str = "pull-through-sandbox";

/// The slug of the user the API key belongs to (the `docker login` user).
///
/// ```
/// assert_eq!(pull_through_sandbox::cloudsmith::USER, "sandbox-user");
/// ```
pub const USER: &str = "sandbox-user";

/// The name of the API's service in the sandbox ([`Sandbox::url`](crate::Sandbox::url)).
///
/// ```
/// assert_eq!(pull_through_sandbox::cloudsmith::API_SERVICE, "cloudsmith");
/// ```
pub const API_SERVICE: &str = "cloudsmith";

/// Body fields of Cloudsmith's requests that hold secrets the core's name rules cannot
/// tell from harmless fields, which the journal redacts: `auth_certificate_key` (an
/// upstream's PEM private key) and `extra_value_1`/`extra_value_2` (values of the extra
/// headers an upstream sends, credentials when the header is `Authorization` or the
/// like). `auth_secret` the core's rules already catch.
pub(crate) const JOURNAL_SECRET_FIELDS: &[&str] =
    &["auth_certificate_key", "extra_value_1", "extra_value_2"];

/// How long a registry token is good for unless
/// [`Cloudsmith::registry_token_lifetime`] says otherwise: the `expires_in` the fake has
/// always answered, five minutes.
///
/// ```
/// assert_eq!(pull_through_sandbox::cloudsmith::REGISTRY_TOKEN_LIFETIME.as_secs(), 300);
/// ```
pub const REGISTRY_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The name of the Docker registry's service in the sandbox.
///
/// ```
/// assert_eq!(pull_through_sandbox::cloudsmith::DOCKER_SERVICE, "cloudsmith-docker");
/// ```
pub const DOCKER_SERVICE: &str = "cloudsmith-docker";

pub(crate) struct Fake {
    state: Mutex<State>,
    pub(crate) api_key: String,
    pub(crate) owner_perm: String,
    pub(crate) user_perm: String,
    /// Requests per period a key may make; `None` never throttles.
    rate: Mutex<Option<(u32, Duration)>>,
    /// How long a registry token is good for (its `expires_in`).
    pub(crate) token_lifetime: Mutex<Duration>,
    /// Set when the sandbox starts, from the context that resolves the Chainguard fakes.
    pub(crate) upstream: OnceLock<Upstream>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds stored upstream secrets and issued tokens.
        f.debug_struct("Fake").finish_non_exhaustive()
    }
}

impl Fake {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rate(&self) -> Option<(u32, Duration)> {
        *self.rate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn token_lifetime(&self) -> Duration {
        *self
            .token_lifetime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `owner` (a slug or a `slug_perm`) is the sandbox's workspace.
    pub(crate) fn is_owner(&self, owner: &str) -> bool {
        owner == OWNER || owner == self.owner_perm
    }
}

/// `http://<Host>/`: the root the caller reached, for the URLs answers carry.
pub(crate) fn root(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/")
}

/// `length` random letters and digits: Cloudsmith's `slug_perm` ids.
pub(crate) fn random_slug_perm(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; length];
    let _ = SystemRandom::new().fill(&mut bytes);
    let mut made: Vec<u8> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
        .collect();
    // At least one upper-case letter, as Cloudsmith's ids have: the sandbox's random
    // faults tell a made-up id from a name a client chose (always lower case) by it.
    if !made.iter().any(u8::is_ascii_uppercase) {
        if let Some(first) = made.first_mut() {
            *first = ALPHABET[usize::from(bytes[0]) % 26];
        }
    }
    made.into_iter().map(char::from).collect()
}

/// Now, as the API writes times.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// One fake Cloudsmith: the workspace [`OWNER`], the user [`USER`] and a random API key.
/// Cheap to clone; clones share state. [`services`](Cloudsmith::services) are the API
/// ([`API_SERVICE`]) and the Docker registry ([`DOCKER_SERVICE`]).
///
/// ```
/// let cloudsmith = pull_through_sandbox::cloudsmith::Cloudsmith::new();
/// assert_eq!(format!("{:?}", cloudsmith.api_key()), "SandboxToken([REDACTED])");
/// assert!(cloudsmith.repository_slugs().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Cloudsmith {
    fake: Arc<Fake>,
}

impl Default for Cloudsmith {
    fn default() -> Self {
        Cloudsmith::new()
    }
}

/// A Docker upstream as the fake holds it, for tests to inspect. No secret: whether one
/// is stored is [`has_secret`](UpstreamInfo::has_secret), its value
/// [`Cloudsmith::stored_auth_secret`].
///
/// ```
/// # fn example(cloudsmith: &pull_through_sandbox::cloudsmith::Cloudsmith) {
/// for upstream in cloudsmith.upstreams("chainguard") {
///     println!("{} {} {} {}", upstream.priority, upstream.name, upstream.upstream_url, upstream.mode);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamInfo {
    /// The id in paths.
    pub slug_perm: String,
    /// The name.
    pub name: String,
    /// The URL.
    pub upstream_url: String,
    /// `Proxy Only`, `Cache and Proxy` or `Cache Only`.
    pub mode: String,
    /// The resolution order.
    pub priority: i64,
    /// Whether pulls use it.
    pub is_active: bool,
    /// `None`, `Username and Password` or `Certificate and Key`.
    pub auth_mode: String,
    /// The stored username.
    pub auth_username: Option<String>,
    /// Whether a non-empty secret is stored.
    pub has_secret: bool,
}

/// A package of a repository: an image a caching upstream keeps.
///
/// ```
/// # fn example(cloudsmith: &pull_through_sandbox::cloudsmith::Cloudsmith) {
/// for package in cloudsmith.packages("chainguard") {
///     println!("{}:{} ({} files)", package.name, package.version, package.files);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageInfo {
    /// The id in paths.
    pub slug_perm: String,
    /// The image (`nginx`, `chainguard/nginx`, `example.com/chainguard-base`).
    pub name: String,
    /// The tag it was pulled by, or the digest.
    pub version: String,
    /// How many manifests and blobs the copy holds.
    pub files: usize,
}

impl Cloudsmith {
    /// An empty workspace with a fresh API key, not rate-limited.
    ///
    /// ```
    /// let cloudsmith = pull_through_sandbox::cloudsmith::Cloudsmith::new();
    /// assert_eq!(cloudsmith.api_key().expose().len(), 40);
    /// ```
    pub fn new() -> Cloudsmith {
        Cloudsmith {
            fake: Arc::new(Fake {
                state: Mutex::new(State::default()),
                api_key: crate::common::random_hex(20),
                owner_perm: random_slug_perm(12),
                user_perm: random_slug_perm(12),
                rate: Mutex::new(None),
                token_lifetime: Mutex::new(REGISTRY_TOKEN_LIFETIME),
                upstream: OnceLock::new(),
            }),
        }
    }

    /// Throttles each caller of the API (a key, or all anonymous callers together) to
    /// `requests` per `per`: past it, 429 with `Retry-After` until the window ends. Off
    /// unless set; clones share the setting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cloudsmith = pull_through_sandbox::cloudsmith::Cloudsmith::new().rate_limit(100, Duration::from_secs(60));
    /// ```
    pub fn rate_limit(self, requests: u32, per: Duration) -> Self {
        *self
            .fake
            .rate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((requests, per.max(Duration::from_secs(1))));
        self.fake.lock().windows.clear();
        self
    }

    /// How long a token of the registry's token endpoint is good for, its `expires_in`
    /// ([`REGISTRY_TOKEN_LIFETIME`] unless set); past it the registry answers the token
    /// with a new challenge. Clones share the setting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let short = pull_through_sandbox::cloudsmith::Cloudsmith::new()
    ///     .registry_token_lifetime(Duration::from_secs(5));
    /// ```
    pub fn registry_token_lifetime(self, lifetime: Duration) -> Self {
        *self
            .fake
            .token_lifetime
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = lifetime;
        self
    }

    /// The API key (the env file's `CLOUDSMITH_API_KEY`), which is also the registry
    /// password of [`USER`].
    ///
    /// ```
    /// let key = pull_through_sandbox::cloudsmith::Cloudsmith::new().api_key();
    /// assert!(key.expose().chars().all(|c| c.is_ascii_hexdigit()));
    /// ```
    pub fn api_key(&self) -> SandboxToken {
        SandboxToken(self.fake.api_key.clone())
    }

    /// The repositories' slugs, oldest first.
    ///
    /// ```
    /// assert!(pull_through_sandbox::cloudsmith::Cloudsmith::new().repository_slugs().is_empty());
    /// ```
    pub fn repository_slugs(&self) -> Vec<String> {
        self.fake
            .lock()
            .repos
            .iter()
            .map(|repo| repo.slug().to_owned())
            .collect()
    }

    /// The Docker upstreams of the repository `repo` (slug or `slug_perm`), oldest first;
    /// empty when there is no such repository.
    ///
    /// ```
    /// assert!(pull_through_sandbox::cloudsmith::Cloudsmith::new().upstreams("chainguard").is_empty());
    /// ```
    pub fn upstreams(&self, repo: &str) -> Vec<UpstreamInfo> {
        let state = self.fake.lock();
        let Some(repo) = state.repo(repo) else {
            return Vec::new();
        };
        repo.upstreams
            .iter()
            .map(|upstream| UpstreamInfo {
                slug_perm: upstream.slug_perm.clone(),
                name: upstream.text("name").to_owned(),
                upstream_url: upstream.text("upstream_url").to_owned(),
                mode: upstream.text("mode").to_owned(),
                priority: upstream.priority(),
                is_active: upstream.is_active(),
                auth_mode: upstream.text("auth_mode").to_owned(),
                auth_username: upstream
                    .config
                    .get("auth_username")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                has_secret: upstream
                    .auth_secret
                    .as_deref()
                    .is_some_and(|s| !s.is_empty()),
            })
            .collect()
    }

    /// The secret an upstream (by name) of repository `repo` stores, as only the server
    /// knows it (the API never answers it); tests check rotations with it.
    ///
    /// ```
    /// let cloudsmith = pull_through_sandbox::cloudsmith::Cloudsmith::new();
    /// assert!(cloudsmith.stored_auth_secret("chainguard", "cgr-private").is_none());
    /// ```
    pub fn stored_auth_secret(&self, repo: &str, upstream: &str) -> Option<SandboxToken> {
        let state = self.fake.lock();
        state
            .repo(repo)?
            .upstreams
            .iter()
            .find(|u| u.text("name") == upstream)?
            .auth_secret
            .clone()
            .map(SandboxToken)
    }

    /// The packages (cached images) of repository `repo`, oldest first.
    ///
    /// ```
    /// assert!(pull_through_sandbox::cloudsmith::Cloudsmith::new().packages("chainguard").is_empty());
    /// ```
    pub fn packages(&self, repo: &str) -> Vec<PackageInfo> {
        let state = self.fake.lock();
        let Some(repo) = state.repo(repo) else {
            return Vec::new();
        };
        state
            .packages
            .iter()
            .filter(|package| package.repository == repo.slug_perm)
            .map(|package| PackageInfo {
                slug_perm: package.slug_perm.clone(),
                name: package.name.clone(),
                version: package.version.clone(),
                files: state
                    .cache
                    .values()
                    .filter(|(_, owner)| *owner == package.slug_perm)
                    .count(),
            })
            .collect()
    }

    /// The services to add to a sandbox (what [`crate::SandboxBuilder::cloudsmith`] adds):
    /// the API and the Docker registry.
    ///
    /// ```
    /// let services = pull_through_sandbox::cloudsmith::Cloudsmith::new().services();
    /// assert_eq!(services.iter().map(|s| s.name().to_owned()).collect::<Vec<_>>(), ["cloudsmith", "cloudsmith-docker"]);
    /// ```
    pub fn services(&self) -> Vec<Arc<dyn FakeService>> {
        vec![
            Arc::new(Api(self.clone())),
            Arc::new(DockerRegistry(self.clone())),
        ]
    }
}

struct Api(Cloudsmith);
struct DockerRegistry(Cloudsmith);

impl FakeService for Api {
    fn name(&self) -> &str {
        API_SERVICE
    }

    fn hosts(&self) -> Vec<String> {
        vec!["api.cloudsmith.io".to_owned()]
    }

    fn router(&self, _context: SandboxContext) -> axum::Router {
        let fake = self.0.fake.clone();
        let routes = repositories::routes()
            .merge(upstreams::routes())
            .merge(formats::routes())
            .merge(packages::routes())
            .merge(account::routes());
        // The unprefixed paths are the spec's; `/v1/` answers too, as the reference
        // found the live API does (docs examples and an issue report use it).
        routes
            .clone()
            .nest("/v1", routes)
            .fallback(|| async { envelope::not_found() })
            .method_not_allowed_fallback(|method: axum::http::Method| async move {
                envelope::detail(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    &format!("Method \"{method}\" not allowed."),
                )
            })
            .layer(axum::middleware::from_fn_with_state(
                fake.clone(),
                rate::authenticate,
            ))
            .with_state(fake)
    }

    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![
            ("CLOUDSMITH_API_KEY".to_owned(), self.0.fake.api_key.clone()),
            ("CLOUDSMITH_API_URL".to_owned(), base_url.to_string()),
            ("CLOUDSMITH_OWNER".to_owned(), OWNER.to_owned()),
            ("CLOUDSMITH_USER".to_owned(), USER.to_owned()),
        ]
    }

    fn reset(&self) {
        *self.0.fake.lock() = State::default();
    }

    fn state(&self) -> Option<ServiceState> {
        let state = self.0.fake.lock();
        let upstreams = state.repos.iter().flat_map(|repo| {
            repo.upstreams.iter().map(move |upstream| {
                format!(
                    "{} {} {}",
                    repo.slug(),
                    upstream.text("name"),
                    upstream.text("upstream_url")
                )
            })
        });
        let mut held = ServiceState::new()
            .with_objects(
                "repositories",
                state.repos.iter().map(|r| r.slug().to_owned()),
            )
            .with_objects("upstreams", upstreams);
        for upstream in state.repos.iter().flat_map(|repo| &repo.upstreams) {
            let username = upstream.text("auth_username");
            if !username.is_empty() {
                held = held.with_credential(upstream.text("name"), username);
            }
        }
        Some(held)
    }

    fn throttled(&self, throttle: &crate::Throttle) -> axum::response::Response {
        rate::throttled(throttle)
    }
}

impl FakeService for DockerRegistry {
    fn name(&self) -> &str {
        DOCKER_SERVICE
    }

    fn hosts(&self) -> Vec<String> {
        vec!["docker.cloudsmith.io".to_owned()]
    }

    fn router(&self, context: SandboxContext) -> axum::Router {
        let _ = self.0.fake.upstream.set(Upstream::new(context));
        registry::router(self.0.fake.clone())
    }

    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("CLOUDSMITH_DOCKER_URL".to_owned(), base_url.to_string())]
    }

    fn throttled(&self, throttle: &crate::Throttle) -> axum::response::Response {
        crate::common::docker_throttled(throttle)
    }
}

#[cfg(test)]
mod tests {
    use crate::journal::JournalEntry;
    use pull_through_core::redact::REDACTED;

    #[test]
    fn the_journal_redacts_upstream_secrets_the_core_cannot_name() {
        let body = br#"{"name":"cgr","auth_secret":"s3","auth_username":"u","auth_certificate_key":"PEM","extra_header_1":"Authorization","extra_value_1":"Bearer t0k","extra_value_2":null}"#;
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", http::HeaderValue::from_static("0123abcd"));
        let entry = JournalEntry::new(
            "cloudsmith",
            &http::Method::POST,
            &"/repos/o/r/upstream/docker/".parse().unwrap(),
            &headers,
            body,
        );
        assert_eq!(
            entry.json().unwrap(),
            serde_json::json!({"name": "cgr", "auth_secret": REDACTED, "auth_username": "u",
                "auth_certificate_key": REDACTED, "extra_header_1": "Authorization",
                "extra_value_1": REDACTED, "extra_value_2": null})
        );
        assert_eq!(entry.header("x-api-key"), Some(REDACTED));
    }
}
