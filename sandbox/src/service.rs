//! What a vendor fake plugs into the sandbox: [`FakeService`].

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use url::Url;

use crate::rate_limit::Throttle;
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
    /// [`Sandbox::state`](crate::Sandbox::state): its objects by kind, the username each
    /// cache stores and, where a cache pins a stored secret's version, that version; never
    /// a secret. `None` (the default) for a fake that holds nothing worth counting.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use pull_through_sandbox::{FakeService, SandboxContext, ServiceState, axum::Router};
    ///
    /// /// A fake whose repositories a test counts.
    /// struct Repos(Mutex<Vec<String>>);
    ///
    /// impl FakeService for Repos {
    ///     fn name(&self) -> &str { "repos" }
    ///     fn router(&self, _context: SandboxContext) -> Router { Router::new() }
    ///     fn state(&self) -> Option<ServiceState> {
    ///         let repos = self.0.lock().unwrap().clone();
    ///         Some(ServiceState::new().with_objects("repositories", repos))
    ///     }
    /// }
    ///
    /// let fake = Repos(Mutex::new(vec!["cgr-private".to_owned()]));
    /// assert_eq!(fake.state().unwrap().count("repositories"), 1);
    /// ```
    fn state(&self) -> Option<ServiceState> {
        None
    }

    /// The answer to a request past the sandbox's rate limit
    /// ([`SandboxBuilder::rate_limit`](crate::SandboxBuilder::rate_limit)), as the vendor
    /// answers: its status, its error format, and its headers. The sandbox adds nothing,
    /// so a fake whose vendor documents `Retry-After` on its 429s adds it
    /// ([`Throttle::with_retry_after`]) and one whose vendor documents only the status
    /// does not, and clients meet both. The default, for a fake of no particular vendor,
    /// is a 429 with a text body and `Retry-After`.
    ///
    /// ```
    /// use pull_through_sandbox::{FakeService, SandboxContext, Throttle, axum::Router};
    /// use pull_through_sandbox::axum::response::{IntoResponse, Response};
    ///
    /// /// A vendor whose 429 carries only the status, as its documentation says.
    /// struct Quiet;
    ///
    /// impl FakeService for Quiet {
    ///     fn name(&self) -> &str { "quiet" }
    ///     fn router(&self, _context: SandboxContext) -> Router { Router::new() }
    ///     fn throttled(&self, _throttle: &Throttle) -> Response {
    ///         http::StatusCode::TOO_MANY_REQUESTS.into_response()
    ///     }
    /// }
    ///
    /// let answer = Quiet.throttled(&Throttle::new(2, 1.0));
    /// assert_eq!(answer.status(), 429);
    /// assert!(answer.headers().get("retry-after").is_none());
    /// ```
    fn throttled(&self, throttle: &Throttle) -> axum::response::Response {
        let mut answer = axum::response::Response::new(axum::body::Body::from(format!(
            "rate limit exceeded; try again in {} s",
            throttle.retry_after_secs
        )));
        *answer.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        throttle.with_retry_after(answer)
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
