//! What a vendor fake plugs into the sandbox: [`FakeService`].

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use url::Url;

use crate::state::ServiceState;

/// A fake of one vendor API. Adding a vendor to the sandbox is one module that implements
/// this trait and one call to [`SandboxBuilder::service`](crate::SandboxBuilder::service).
///
/// Each service gets its own loopback port. The sandbox wraps its router with the journal,
/// latency, fault injection and the `/_sandbox/` control endpoints, so a fake holds only
/// the vendor's behaviour.
///
/// ```
/// use axum::{Router, routing::get};
/// use pull_through_sandbox::{FakeService, SandboxContext};
///
/// /// A fake whose only endpoint is a health check.
/// struct Ping;
///
/// impl FakeService for Ping {
///     fn name(&self) -> &str { "ping" }
///     fn router(&self, _context: SandboxContext) -> Router {
///         Router::new().route("/ping", get(|| async { "OK" }))
///     }
/// }
///
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// let sandbox = pull_through_sandbox::Sandbox::builder().service(Ping).start().await?;
/// let url = sandbox.url("ping").unwrap().join("ping").unwrap();
/// # Ok(()) }
/// ```
pub trait FakeService: Send + Sync + 'static {
    /// The service's name, used in the journal, fault rules and [`Sandbox::url`](crate::Sandbox::url).
    fn name(&self) -> &str;

    /// The real host names this fake stands for (`cgr.dev`, `apk.cgr.dev`); other fakes
    /// resolve them through [`SandboxContext::resolve`], so users keep seeing real names.
    fn hosts(&self) -> Vec<String> {
        Vec::new()
    }

    /// The fake's routes. Called once, when the sandbox starts.
    fn router(&self, context: SandboxContext) -> axum::Router;

    /// Lines for the env file (`ARTIFACTORY_URL=...`), given the base URL the service was
    /// bound to.
    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        let _ = base_url;
        Vec::new()
    }

    /// Forgets all state, as `POST /_sandbox/reset` asks.
    fn reset(&self) {}

    /// What the fake holds, for `GET /_sandbox/state` and
    /// [`Sandbox::state`](crate::Sandbox::state): its objects by kind and the username
    /// each cache stores. `None` (the default) for a fake that holds nothing worth
    /// counting.
    fn state(&self) -> Option<ServiceState> {
        None
    }

    /// The answer to a request past the sandbox's rate limit
    /// ([`SandboxBuilder::rate_limit`](crate::SandboxBuilder::rate_limit)), in the
    /// vendor's own error format; the sandbox adds `Retry-After: retry_after_secs`. The
    /// default is a 429 with a text body.
    fn throttled(&self, retry_after_secs: u64) -> axum::response::Response {
        let mut answer = axum::response::Response::new(axum::body::Body::from(format!(
            "rate limit exceeded; try again in {retry_after_secs} s"
        )));
        *answer.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        answer
    }
}

/// What a fake can ask of the sandbox it runs in. A cache's fake hands it to
/// [`Upstream::new`](crate::upstream::Upstream::new), which pulls through it.
///
/// ```
/// use pull_through_sandbox::{FakeService, SandboxContext, axum::Router};
///
/// /// A fake registry proxy that forwards to whatever fake stands for cgr.dev.
/// struct Proxy;
/// impl FakeService for Proxy {
///     fn name(&self) -> &str { "proxy" }
///     fn router(&self, context: SandboxContext) -> Router {
///         // Keep the context: it resolves cgr.dev once every fake is bound.
///         let _upstream = move || context.to_fake(&"https://cgr.dev/v2/".parse().unwrap());
///         Router::new()
///     }
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SandboxContext {
    hosts: Arc<RwLock<BTreeMap<String, Url>>>,
}

impl SandboxContext {
    pub(crate) fn register(&self, host: &str, url: Url) {
        self.hosts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_ascii_lowercase(), url);
    }

    /// The loopback base URL of the fake that stands for `host`, if one does.
    ///
    /// ```
    /// # let context = pull_through_sandbox::SandboxContext::default();
    /// assert_eq!(context.resolve("apk.cgr.dev"), None);
    /// ```
    pub fn resolve(&self, host: &str) -> Option<Url> {
        self.hosts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&host.to_ascii_lowercase())
            .cloned()
    }

    /// Maps a real URL (`https://cgr.dev/v2/`) onto the fake that stands for its host
    /// (`http://127.0.0.1:PORT/v2/`), keeping path and query; `None` when no fake does.
    ///
    /// ```
    /// # let context = pull_through_sandbox::SandboxContext::default();
    /// assert_eq!(context.to_fake(&"https://cgr.dev/v2/".parse().unwrap()), None);
    /// ```
    pub fn to_fake(&self, real: &Url) -> Option<Url> {
        let base = self.resolve(real.host_str()?)?;
        let mut mapped = base.clone();
        let path = format!(
            "{}/{}",
            base.path().trim_end_matches('/'),
            real.path().trim_start_matches('/')
        );
        mapped.set_path(&path);
        mapped.set_query(real.query());
        Some(mapped)
    }
}
