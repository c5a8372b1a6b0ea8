//! In-process fakes of the vendor APIs pull-through talks to, for tests, examples and your
//! own tools' tests.
//!
//! [`Sandbox::builder`] binds each fake to its own random loopback port and wraps it with
//! what tests need:
//!
//! - a [`Journal`] of every request received (method, path, query, headers with
//!   credentials redacted, body with secret fields redacted), readable in code, dumped as
//!   JSON lines, or streamed to a file;
//! - injected latency;
//! - injected faults ([`FaultKind`]: 5xx, 429 with `Retry-After`, dropped connections
//!   instead of the request, and lost answers: the request performed, then a 502 or a
//!   dropped connection), random but reproducible from a seed, or targeted with a
//!   [`FaultRule`];
//! - a rate limit per credential ([`SandboxBuilder::rate_limit`]), off by default, past
//!   which each fake answers 429 as its vendor does: in its error format, with
//!   `Retry-After` only where the vendor documents one ([`FakeService::throttled`]);
//! - what each fake holds ([`Sandbox::state`], [`ServiceState`]): objects by kind and the
//!   username each cache stores, for tests that count duplicates;
//! - control endpoints on every port: `GET /_sandbox/journal` (JSON lines),
//!   `POST /_sandbox/reset`, `GET|POST|DELETE /_sandbox/faults`,
//!   `DELETE /_sandbox/faults/random` (random faults off for good),
//!   `GET /_sandbox/services`, `GET /_sandbox/state`;
//!   they answer only requests whose `Host` is `127.0.0.1` (any `127.0.0.0/8` address),
//!   `[::1]` or `localhost`, with or without the port, and refuse others with 403, so that a
//!   web page whose name was rebound to the loopback address cannot reach them.
//!
//! Vendor fakes are modules implementing [`FakeService`]. [`chainguard`] holds Chainguard's
//! (console API, STS, `cgr.dev`, `apk.cgr.dev`, `virtualapk.cgr.dev`); [`artifactory`]
//! holds Artifactory's (the repositories and access-token APIs, remote and virtual
//! repositories serving Docker and Alpine content pulled from Chainguard's fakes);
//! [`cloudsmith`] holds Cloudsmith's (the API's repositories, Docker upstreams and
//! packages, and `docker.cloudsmith.io` pulling through a repository's upstreams). The
//! caches' fakes pull through [`upstream`], which answers cgr.dev's token challenge and
//! sends a cache's stored credentials the way the vendors do. [`gar`] holds Google's
//! (Artifact Registry, Secret Manager with IAM, Resource Manager, and the Docker registry
//! of `LOCATION-docker.pkg.dev`, whose remote and virtual repositories pull from the fake
//! `cgr.dev` with credentials kept in Secret Manager).
//!
//! ```
//! use axum::{Router, routing::get};
//! use pull_through_sandbox::{FakeService, FaultKind, FaultRule, Sandbox, SandboxContext};
//!
//! struct Hello;
//! impl FakeService for Hello {
//!     fn name(&self) -> &str { "hello" }
//!     fn router(&self, _: SandboxContext) -> Router {
//!         Router::new().route("/hello", get(|| async { "hi" }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder().service(Hello).start().await?;
//! sandbox.faults().add(FaultRule::new(FaultKind::Status { status: 503 }).times(1));
//! let url = sandbox.url("hello").unwrap().join("hello")?;
//! assert_eq!(reqwest::get(url.clone()).await?.status(), 503);
//! assert_eq!(reqwest::get(url).await?.text().await?, "hi");
//! let entries = sandbox.journal().entries();
//! assert_eq!(entries.len(), 2);
//! assert_eq!(entries[0].fault.as_deref(), Some("status 503"));
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod artifactory;
pub mod chainguard;
pub mod cloudsmith;
mod common;
mod env;
mod faults;
pub mod gar;
mod journal;
mod private_file;
mod rate_limit;
mod server;
mod service;
mod state;
pub mod upstream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

/// The axum version fakes are written with, so implementors need no version of their own.
pub use axum;
pub use env::write_env_file;
pub use faults::{FaultKind, FaultRule, Faults, RandomFaults};
pub use journal::{Journal, JournalEntry, journal_contains};
pub use private_file::{OpenPrivate, PrivateFile, open_private_file};
pub use rate_limit::Throttle;
pub use service::{FakeService, SandboxContext};
pub use state::ServiceState;

use server::Shared;

/// The name of the control listener in [`Sandbox::endpoints`] and the env file variable
/// that holds its URL.
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// let sandbox = pull_through_sandbox::Sandbox::builder().start().await?;
/// assert_eq!(sandbox.endpoints()[0].0, pull_through_sandbox::CONTROL_SERVICE);
/// # Ok(()) }
/// ```
pub const CONTROL_SERVICE: &str = "sandbox";

/// The env file variable with the control endpoint's URL.
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// let sandbox = pull_through_sandbox::Sandbox::builder().start().await?;
/// assert_eq!(sandbox.env()[0].0, pull_through_sandbox::CONTROL_URL_VAR);
/// # Ok(()) }
/// ```
pub const CONTROL_URL_VAR: &str = "PULL_THROUGH_SANDBOX_URL";

/// Why a sandbox could not start.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use pull_through_sandbox::{Sandbox, SandboxError};
/// let err = Sandbox::builder().random_faults(2.0, 1).start().await.unwrap_err();
/// assert!(matches!(err, SandboxError::FaultRate(_)));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A loopback port could not be bound.
    #[error("could not bind a loopback port for {service}: {source}")]
    Bind {
        /// The service.
        service: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The journal file could not be created.
    #[error("could not create the journal file {path}: {source}")]
    JournalFile {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Two services share a name.
    #[error("two services are named {0:?}; each fake needs its own name")]
    DuplicateService(String),
    /// A random fault rate outside 0..=1.
    #[error("fault rate {0} is outside 0 to 1")]
    FaultRate(f64),
    /// A rate limit that is not a positive number of requests per second.
    #[error("rate limit {0} is not a positive number of requests per second")]
    RateLimit(f64),
}

/// Configures and starts a [`Sandbox`].
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// use pull_through_sandbox::Sandbox;
/// use std::time::Duration;
/// let sandbox = Sandbox::builder()
///     .latency(Duration::from_millis(25))
///     .random_faults(0.05, 1234)
///     .journal_file(std::env::temp_dir().join("sandbox-journal.jsonl"))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until start() is awaited"]
pub struct SandboxBuilder {
    services: Vec<Arc<dyn FakeService>>,
    latency: Duration,
    random_faults: Option<RandomFaults>,
    rate_limit: Option<f64>,
    journal_file: Option<PathBuf>,
}

impl std::fmt::Debug for SandboxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxBuilder")
            .field(
                "services",
                &self
                    .services
                    .iter()
                    .map(|s| s.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("latency", &self.latency)
            .field("random_faults", &self.random_faults)
            .field("rate_limit", &self.rate_limit)
            .field("journal_file", &self.journal_file)
            .finish()
    }
}

impl SandboxBuilder {
    /// Adds a fake.
    ///
    /// ```
    /// # use pull_through_sandbox::{FakeService, Sandbox, SandboxContext, axum::Router};
    /// struct Empty;
    /// impl FakeService for Empty {
    ///     fn name(&self) -> &str { "empty" }
    ///     fn router(&self, _: SandboxContext) -> Router { Router::new() }
    /// }
    /// let builder = Sandbox::builder().service(Empty);
    /// ```
    pub fn service(mut self, service: impl FakeService) -> Self {
        self.services.push(Arc::new(service));
        self
    }

    /// Adds an already shared fake.
    ///
    /// ```
    /// # use pull_through_sandbox::{FakeService, Sandbox, SandboxContext, axum::Router};
    /// struct Empty;
    /// impl FakeService for Empty {
    ///     fn name(&self) -> &str { "empty" }
    ///     fn router(&self, _: SandboxContext) -> Router { Router::new() }
    /// }
    /// let builder = Sandbox::builder().shared_service(std::sync::Arc::new(Empty));
    /// ```
    pub fn shared_service(mut self, service: Arc<dyn FakeService>) -> Self {
        self.services.push(service);
        self
    }

    /// Adds Chainguard's fakes: the console API, the STS, `cgr.dev`, `apk.cgr.dev` and
    /// `virtualapk.cgr.dev`.
    ///
    /// ```
    /// let chainguard = pull_through_sandbox::chainguard::Chainguard::new("example.com");
    /// let builder = pull_through_sandbox::Sandbox::builder().chainguard(&chainguard);
    /// ```
    pub fn chainguard(mut self, chainguard: &chainguard::Chainguard) -> Self {
        self.services.extend(chainguard.services());
        self
    }

    /// Adds Artifactory's fake.
    ///
    /// ```
    /// let artifactory = pull_through_sandbox::artifactory::Artifactory::new();
    /// let builder = pull_through_sandbox::Sandbox::builder().artifactory(&artifactory);
    /// ```
    pub fn artifactory(mut self, artifactory: &artifactory::Artifactory) -> Self {
        self.services.push(Arc::new(artifactory.clone()));
        self
    }

    /// Adds Cloudsmith's fakes: the API (`cloudsmith`) and the Docker registry
    /// (`cloudsmith-docker`).
    ///
    /// ```
    /// let cloudsmith = pull_through_sandbox::cloudsmith::Cloudsmith::new();
    /// let builder = pull_through_sandbox::Sandbox::builder().cloudsmith(&cloudsmith);
    /// ```
    pub fn cloudsmith(mut self, cloudsmith: &cloudsmith::Cloudsmith) -> Self {
        self.services.extend(cloudsmith.services());
        self
    }

    /// Adds Google's fakes: Artifact Registry, Secret Manager, Resource Manager and the
    /// Docker registry of `LOCATION-docker.pkg.dev`.
    ///
    /// ```
    /// let gar = pull_through_sandbox::gar::Gar::new();
    /// let builder = pull_through_sandbox::Sandbox::builder().gar(&gar);
    /// ```
    pub fn gar(mut self, gar: &gar::Gar) -> Self {
        self.services.extend(gar.services());
        self
    }

    /// Delays every answer by `latency`.
    ///
    /// ```
    /// # let builder = pull_through_sandbox::Sandbox::builder().latency(std::time::Duration::from_millis(100));
    /// ```
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Answers a `rate` (0 to 1) of requests with a fault from [`FaultKind::DEFAULT_MIX`],
    /// drawn from a generator seeded with `seed`.
    ///
    /// ```
    /// # let builder = pull_through_sandbox::Sandbox::builder().random_faults(0.1, 42);
    /// ```
    pub fn random_faults(mut self, rate: f64, seed: u64) -> Self {
        self.random_faults = Some(RandomFaults {
            rate,
            seed,
            kinds: FaultKind::DEFAULT_MIX.to_vec(),
        });
        self
    }

    /// Like [`random_faults`](Self::random_faults) with a chosen mix of kinds.
    ///
    /// ```
    /// # use pull_through_sandbox::FaultKind;
    /// let only_drops = pull_through_sandbox::Sandbox::builder()
    ///     .random_faults_of(0.1, 42, vec![FaultKind::DropConnection]);
    /// ```
    pub fn random_faults_of(mut self, rate: f64, seed: u64, kinds: Vec<FaultKind>) -> Self {
        self.random_faults = Some(RandomFaults { rate, seed, kinds });
        self
    }

    /// Limits every fake to `per_second` requests a second per credential (each
    /// `Authorization` value, API key or anonymous caller counted apart, at each service),
    /// as the vendors limit each token: a second's worth may come at once, and past the
    /// rate a request is answered 429 as the vendor answers it ([`FakeService::throttled`]:
    /// its error format, and `Retry-After` only where the vendor documents one, which
    /// among the vendor fakes is Cloudsmith's API alone), without reaching the fake.
    /// Requests one fake makes to another (a cache pulling from `cgr.dev`) are not
    /// counted. Off by default.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let artifactory = pull_through_sandbox::artifactory::Artifactory::new();
    /// let sandbox = pull_through_sandbox::Sandbox::builder()
    ///     .artifactory(&artifactory)
    ///     .rate_limit(1.0)
    ///     .start()
    ///     .await?;
    /// let ping = sandbox.url("artifactory").unwrap().join("artifactory/api/system/ping")?;
    /// assert_eq!(reqwest::get(ping.clone()).await?.status(), 200);
    /// let throttled = reqwest::get(ping).await?;
    /// assert_eq!(throttled.status(), 429);
    /// // JFrog documents no Retry-After: a client backs off on its own.
    /// assert!(throttled.headers().get("retry-after").is_none());
    /// # Ok(()) }
    /// ```
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Also appends each journal entry to `path` as a JSON line, as it arrives.
    ///
    /// ```
    /// # let builder = pull_through_sandbox::Sandbox::builder().journal_file("journal.jsonl");
    /// ```
    pub fn journal_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal_file = Some(path.into());
        self
    }

    /// Binds the ports and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`SandboxError`] when a port or the journal file cannot be opened, or the
    /// configuration is inconsistent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), pull_through_sandbox::SandboxError> {
    /// let sandbox = pull_through_sandbox::Sandbox::builder().start().await?;
    /// assert_eq!(sandbox.control_url().host_str(), Some("127.0.0.1"));
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        if let Some(random) = &self.random_faults {
            if !(0.0..=1.0).contains(&random.rate) {
                return Err(SandboxError::FaultRate(random.rate));
            }
        }
        if let Some(rate) = self.rate_limit {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(SandboxError::RateLimit(rate));
            }
        }
        let mut names = std::collections::BTreeSet::from([CONTROL_SERVICE.to_owned()]);
        for service in &self.services {
            if !names.insert(service.name().to_owned()) {
                return Err(SandboxError::DuplicateService(service.name().to_owned()));
            }
        }
        let journal = match &self.journal_file {
            Some(path) => Journal::with_sink(path).map_err(|source| SandboxError::JournalFile {
                path: path.clone(),
                source,
            })?,
            None => Journal::default(),
        };
        let shared = Arc::new(Shared {
            journal,
            faults: Faults::with_random(self.random_faults),
            latency: self.latency,
            rate_limit: self.rate_limit.map(rate_limit::RateLimiter::new),
            services: self.services.clone(),
            endpoints: std::sync::OnceLock::new(),
        });
        let (shutdown, receiver) = watch::channel(false);
        let context = SandboxContext::default();
        let mut endpoints = Vec::new();
        let mut tasks = Vec::new();

        let bind_error = |service: &str| {
            let service = service.to_owned();
            move |source| SandboxError::Bind { service, source }
        };
        let (control_url, task) = server::serve(
            CONTROL_SERVICE.to_owned(),
            None,
            shared.clone(),
            receiver.clone(),
        )
        .await
        .map_err(bind_error(CONTROL_SERVICE))?;
        endpoints.push((CONTROL_SERVICE.to_owned(), control_url));
        tasks.push(task);

        for service in &self.services {
            let router = service.router(context.clone());
            let (url, task) = server::serve(
                service.name().to_owned(),
                Some((router, service.clone())),
                shared.clone(),
                receiver.clone(),
            )
            .await
            .map_err(bind_error(service.name()))?;
            for host in service.hosts() {
                context.register(&host, url.clone());
            }
            endpoints.push((service.name().to_owned(), url));
            tasks.push(task);
        }
        let _ = shared.endpoints.set(endpoints.clone());
        Ok(Sandbox {
            shared,
            endpoints,
            context,
            shutdown,
            tasks,
        })
    }
}

/// A running sandbox. Dropping it stops the listeners; [`Sandbox::shutdown`] also waits
/// for them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pull_through_sandbox::SandboxError> {
/// let sandbox = pull_through_sandbox::Sandbox::builder().start().await?;
/// println!("control endpoint: {}", sandbox.control_url());
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Sandbox {
    shared: Arc<Shared>,
    endpoints: Vec<(String, Url)>,
    context: SandboxContext,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder with no fakes, no latency and no faults.
    ///
    /// ```
    /// # let builder = pull_through_sandbox::Sandbox::builder();
    /// ```
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder {
            services: Vec::new(),
            latency: Duration::ZERO,
            random_faults: None,
            rate_limit: None,
            journal_file: None,
        }
    }

    /// The control listener's base URL (it serves only `/_sandbox/...`).
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// let journal = sandbox.control_url().join("_sandbox/journal").unwrap();
    /// # }
    /// ```
    pub fn control_url(&self) -> &Url {
        &self.endpoints[0].1
    }

    /// The base URL of a service by name.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// let base = sandbox.url("artifactory").expect("the Artifactory fake is running");
    /// # }
    /// ```
    pub fn url(&self, service: &str) -> Option<&Url> {
        self.endpoints
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, url)| url)
    }

    /// Every listener, control first, as `(name, base URL)`.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// for (name, url) in sandbox.endpoints() {
    ///     println!("{name:<12} {url}");
    /// }
    /// # }
    /// ```
    pub fn endpoints(&self) -> &[(String, Url)] {
        &self.endpoints
    }

    /// Maps real host names onto the fakes that stand for them.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// let fake_cgr = sandbox.context().resolve("cgr.dev");
    /// # }
    /// ```
    pub fn context(&self) -> &SandboxContext {
        &self.context
    }

    /// The journal.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// let entries = sandbox.journal().entries();
    /// # }
    /// ```
    pub fn journal(&self) -> Journal {
        self.shared.journal.clone()
    }

    /// The fault injector.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// sandbox.faults().add(FaultRule::new(FaultKind::Status { status: 500 }).times(1));
    /// # }
    /// ```
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// What each fake holds, by service name, for tests that count what a run made
    /// (duplicates, leftovers) and check which username each cache stores; the same as
    /// `GET /_sandbox/state`. Fakes that hold nothing worth counting are left out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), pull_through_sandbox::SandboxError> {
    /// let artifactory = pull_through_sandbox::artifactory::Artifactory::new();
    /// let sandbox = pull_through_sandbox::Sandbox::builder().artifactory(&artifactory).start().await?;
    /// assert_eq!(sandbox.state()["artifactory"].count("repositories"), 0);
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> std::collections::BTreeMap<String, ServiceState> {
        self.shared.state()
    }

    /// Clears the journal and the fault rules and resets every fake's state.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// sandbox.reset();
    /// assert!(sandbox.journal().entries().is_empty());
    /// # }
    /// ```
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The env file's lines: the control URL, then each fake's own.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
    /// for (key, value) in sandbox.env() {
    ///     // SAFETY of set_var is the caller's: do this before spawning threads.
    ///     println!("{key}={value}");
    /// }
    /// # }
    /// ```
    pub fn env(&self) -> Vec<(String, String)> {
        let mut pairs = vec![(
            CONTROL_URL_VAR.to_owned(),
            self.control_url().as_str().trim_end_matches('/').to_owned(),
        )];
        for service in &self.shared.services {
            if let Some(url) = self.url(service.name()) {
                pairs.extend(service.env(url));
            }
        }
        pairs
    }

    /// Writes [`Sandbox::env`] to `path` (mode 0600, replaced atomically).
    ///
    /// # Errors
    ///
    /// The I/O error.
    ///
    /// ```
    /// # async fn example(sandbox: &pull_through_sandbox::Sandbox) -> std::io::Result<()> {
    /// sandbox.write_env_file(std::path::Path::new("sandbox.env"))?;
    /// # Ok(()) }
    /// ```
    pub fn write_env_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        write_env_file(path, &self.env())
    }

    /// Stops every listener and waits for them.
    ///
    /// ```
    /// # async fn example(sandbox: pull_through_sandbox::Sandbox) {
    /// sandbox.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
