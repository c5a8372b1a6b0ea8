//! Chainguard's fakes: the console API, the STS, `cgr.dev`, `apk.cgr.dev` and
//! `virtualapk.cgr.dev`, sharing one organization, its identities and role bindings.
//!
//! ```
//! use pull_through_sandbox::{Sandbox, chainguard::Chainguard};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pull_through_sandbox::SandboxError> {
//! let chainguard = Chainguard::new("example.com");
//! let sandbox = Sandbox::builder().chainguard(&chainguard).start().await?;
//! let env = sandbox.env();
//! assert!(env.iter().any(|(key, value)| key == "CHAINGUARD_ORG_NAME" && value == "example.com"));
//! assert!(sandbox.context().resolve("apk.cgr.dev").is_some());
//! # Ok(()) }
//! ```

mod api;
mod apk;
mod registry;
mod sts;
mod world;

use std::sync::Arc;

use url::Url;

use crate::common::random_hex;
use crate::rate_limit::Throttle;
use crate::service::{FakeService, SandboxContext};
use crate::state::ServiceState;

pub(crate) const CONSOLE_AUDIENCE: &str = "https://console-api.enforce.dev";
pub(crate) const REGISTRY_AUDIENCE: &str = "cgr.dev";
pub(crate) const APK_AUDIENCE: &str = "apk.cgr.dev";

/// One fake Chainguard: an organization with the built-in roles (`owner`, `viewer`,
/// `registry.pull`, `apk.pull`), an owner token for it, images and APK repositories.
/// Cheap to clone; clones share state.
///
/// ```
/// let chainguard = pull_through_sandbox::chainguard::Chainguard::new("example.com");
/// let shared = chainguard.clone(); // the same organization and identities
/// assert_eq!(shared.org_id(), chainguard.org_id());
/// ```
#[derive(Debug, Clone)]
pub struct Chainguard {
    world: Arc<world::World>,
    registry: Arc<registry::Registry>,
    apk: Arc<apk::ApkRepos>,
}

impl Chainguard {
    /// A fake with one organization named `org_name`, a random 40-hex id.
    ///
    /// ```
    /// let chainguard = pull_through_sandbox::chainguard::Chainguard::new("example.com");
    /// assert_eq!(chainguard.org_id().len(), 40);
    /// ```
    pub fn new(org_name: &str) -> Chainguard {
        let world = Arc::new(world::World::new(org_name));
        Chainguard {
            registry: Arc::new(registry::Registry::new(world.clone(), org_name)),
            apk: Arc::new(apk::ApkRepos::new(world.clone())),
            world,
        }
    }

    /// The organization's name.
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::chainguard::Chainguard::new("acme.dev").org_name(), "acme.dev");
    /// ```
    pub fn org_name(&self) -> String {
        self.world.lock().org_name.clone()
    }

    /// The organization's id.
    ///
    /// ```
    /// let id = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").org_id();
    /// assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    /// ```
    pub fn org_id(&self) -> String {
        self.world.lock().org_id.clone()
    }

    /// A console-API token with the `owner` role in the organization (the env file's
    /// `CHAINGUARD_TOKEN`).
    ///
    /// ```
    /// let token = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").admin_token();
    /// ```
    pub fn admin_token(&self) -> token::SandboxToken {
        token::SandboxToken(self.world.admin_token.clone())
    }

    /// A refresh token for the organization's owner (rotated by each use).
    ///
    /// ```
    /// let refresh = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").issue_refresh_token();
    /// ```
    pub fn issue_refresh_token(&self) -> token::SandboxToken {
        let token = random_hex(24);
        self.world
            .lock()
            .refresh_tokens
            .insert(token.clone(), "sandbox-owner".to_owned());
        token::SandboxToken(token)
    }

    /// The name of the key the APK indexes are signed with.
    ///
    /// ```
    /// let name = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").apk_key_name();
    /// assert!(name.starts_with("chainguard-") && name.ends_with(".rsa.pub"));
    /// ```
    pub fn apk_key_name(&self) -> String {
        self.apk.key.name().to_owned()
    }

    /// That key's public half, PEM, as `/etc/apk/keys/<name>` holds it.
    ///
    /// ```
    /// let pem = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").apk_public_key_pem();
    /// assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    /// ```
    pub fn apk_public_key_pem(&self) -> String {
        self.apk.key.public_key_pem()
    }

    /// The services to add to a sandbox (what [`crate::SandboxBuilder::chainguard`] adds).
    ///
    /// ```
    /// let services = pull_through_sandbox::chainguard::Chainguard::new("acme.dev").services();
    /// assert_eq!(services.len(), 5);
    /// ```
    pub fn services(&self) -> Vec<Arc<dyn FakeService>> {
        vec![
            Arc::new(ConsoleApi(self.clone())),
            Arc::new(Issuer(self.clone())),
            Arc::new(Registry(self.clone())),
            Arc::new(ApkRepositories(self.clone())),
            Arc::new(VirtualApk(self.clone())),
        ]
    }
}

/// A token of the sandbox. Sandbox tokens only open the sandbox, but they are still kept
/// out of `Debug`. The type lives in [`crate::upstream`], which every fake shares; this
/// path stays for code written against it.
pub mod token {
    pub use crate::upstream::SandboxToken;
}

struct ConsoleApi(Chainguard);
struct Issuer(Chainguard);
struct Registry(Chainguard);
struct ApkRepositories(Chainguard);
struct VirtualApk(Chainguard);

fn base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl FakeService for ConsoleApi {
    fn name(&self) -> &str {
        "chainguard-api"
    }
    fn hosts(&self) -> Vec<String> {
        vec!["console-api.enforce.dev".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        api::router(self.0.world.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![
            ("CHAINGUARD_API_URL".to_owned(), base(base_url)),
            (
                "CHAINGUARD_TOKEN".to_owned(),
                self.0.world.admin_token.clone(),
            ),
            ("CHAINGUARD_ORG_NAME".to_owned(), self.0.org_name()),
            ("CHAINGUARD_ORG_ID".to_owned(), self.0.org_id()),
        ]
    }
    fn reset(&self) {
        self.0.world.reset();
    }
    fn state(&self) -> Option<ServiceState> {
        let state = self.0.world.lock();
        let bindings = state.bindings.values().map(|(identity, role)| {
            format!("{identity} {}", world::role_name(role).unwrap_or(role))
        });
        let mut held = ServiceState::new()
            .with_objects("identities", state.identities.keys().cloned())
            .with_objects("role_bindings", bindings);
        // The subject a pull token's identity was made with is public (it is in every
        // token's `sub`); two identities with one subject are one request made twice.
        // Identities without one (claim-matching, not static) have no subject to share.
        for (id, identity) in &state.identities {
            if let Some(subject) = identity["static"]["subject"]
                .as_str()
                .filter(|s| !s.is_empty())
            {
                held = held.with_subject(id, subject);
            }
        }
        Some(held)
    }
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        throttled_rpc(throttle)
    }
}

impl FakeService for Issuer {
    fn name(&self) -> &str {
        "chainguard-sts"
    }
    fn hosts(&self) -> Vec<String> {
        vec!["issuer.enforce.dev".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        sts::router(self.0.world.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("CHAINGUARD_ISSUER_URL".to_owned(), base(base_url))]
    }
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        throttled_rpc(throttle)
    }
}

impl FakeService for Registry {
    fn name(&self) -> &str {
        "cgr.dev"
    }
    fn hosts(&self) -> Vec<String> {
        vec!["cgr.dev".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        registry::router(self.0.registry.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("CGR_REGISTRY_URL".to_owned(), base(base_url))]
    }
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        crate::common::docker_throttled(throttle)
    }
}

impl FakeService for ApkRepositories {
    fn name(&self) -> &str {
        "apk.cgr.dev"
    }
    fn hosts(&self) -> Vec<String> {
        vec!["apk.cgr.dev".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        apk::apk_router(self.0.apk.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("APK_CGR_URL".to_owned(), base(base_url))]
    }
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        apk::throttled(throttle)
    }
}

impl FakeService for VirtualApk {
    fn name(&self) -> &str {
        "virtualapk.cgr.dev"
    }
    fn hosts(&self) -> Vec<String> {
        vec!["virtualapk.cgr.dev".to_owned()]
    }
    fn router(&self, _context: SandboxContext) -> axum::Router {
        apk::virtual_router(self.0.apk.clone())
    }
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("VIRTUALAPK_CGR_URL".to_owned(), base(base_url))]
    }
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        apk::throttled(throttle)
    }
}

/// `RESOURCE_EXHAUSTED` (code 8) as the console API and the STS answer a 429: Chainguard
/// documents the status only, so no `Retry-After` (reference/chainguard.md).
fn throttled_rpc(throttle: &Throttle) -> axum::response::Response {
    api::rpc(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        8,
        &format!(
            "rate limit exceeded; retry in {} s",
            throttle.retry_after_secs
        ),
    )
}
