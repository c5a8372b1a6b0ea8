//! The conformance suite: plain async functions every backend's tests call, so that all
//! backends keep the [`PullThroughBackend`] contract the same way. Enabled by the
//! `test-util` feature.
//!
//! Each function panics with a message naming the broken rule. Requests are counted
//! through a [`RequestLog`]; [`RecordingObserver`] is one, installed on the backend's
//! [`HttpClient`](crate::http::HttpClient) with
//! [`HttpClientBuilder::observer`](crate::http::HttpClientBuilder::observer).
//!
//! ```no_run
//! use pull_through_core::conformance::{self, Fixtures};
//! use pull_through_core::http::RecordingObserver;
//! use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream};
//!
//! async fn check(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
//!     let fixtures = Fixtures::new(
//!         CacheSpec::remote(CacheName::new("conformance-public").unwrap(), Upstream::CgrPublic),
//!         CacheSpec::remote(CacheName::new("bad_key!").unwrap(), Upstream::CgrPublic),
//!     );
//!     conformance::run_all(backend, log, &fixtures).await;
//! }
//! ```
//!
//! The optional fixtures hold a backend to more of the contract: the password rule
//! ([`Fixtures::with_private`]), aggregates ([`Fixtures::with_aggregate`]), client access
//! ([`Fixtures::with_login`]) and a real pull ([`Fixtures::with_probe`]):
//!
//! ```no_run
//! use pull_through_core::conformance::{self, Fixtures};
//! use pull_through_core::http::RecordingObserver;
//! use pull_through_core::{
//!     CacheName, CacheSpec, ClientLogin, PackageFormat, Probe, PullThroughBackend, Upstream,
//!     UpstreamCredentials,
//! };
//!
//! async fn check(backend: &dyn PullThroughBackend, log: &RecordingObserver, token: UpstreamCredentials) {
//!     let public = CacheName::new("conformance-public").unwrap();
//!     let fixtures = Fixtures::new(
//!         CacheSpec::remote(public.clone(), Upstream::CgrPublic),
//!         CacheSpec::remote(CacheName::new("bad_key!").unwrap(), Upstream::CgrPublic),
//!     )
//!     .with_private(
//!         CacheSpec::remote(CacheName::new("conformance-private").unwrap(), "cgr.dev/example.com".parse().unwrap())
//!             .with_credentials(token),
//!     )
//!     .with_aggregate(CacheSpec::aggregate(
//!         CacheName::new("conformance-virt").unwrap(),
//!         PackageFormat::Docker,
//!         vec![public],
//!     ))
//!     .with_login(ClientLogin::new("linky@example.com", "conformance-login-secret", "ARTIFACTORY_TOKEN"))
//!     .with_probe(Probe::default_for(&Upstream::CgrPublic));
//!     conformance::run_all(backend, log, &fixtures).await;
//! }
//! ```

mod in_run;

pub use in_run::InRun;

use async_trait::async_trait;
use http::Method;
use secrecy::ExposeSecret;

use crate::access::{ClientLogin, Reveal};
use crate::backend::PullThroughBackend;
use crate::error::Error;
use crate::http::RecordingObserver;
use crate::plan::{Deleted, Ensured, FieldChange, PlanAction};
use crate::spec::{CacheKind, CacheName, CacheSpec, CredentialWrite};
use crate::state::{CacheRole, CacheState};
use crate::upstream::UpstreamCredentials;
use crate::verify::Probe;

/// One request a backend made, as the suite counts it.
///
/// ```
/// use pull_through_core::conformance::LoggedRequest;
/// let put = LoggedRequest::new(http::Method::PUT, "https://h/artifactory/api/repositories/cgr-public");
/// assert!(put.is_write());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The method.
    pub method: Method,
    /// The URL, without userinfo or query.
    pub url: String,
}

impl LoggedRequest {
    /// A logged request.
    ///
    /// ```
    /// # use pull_through_core::conformance::LoggedRequest;
    /// let get = LoggedRequest::new(http::Method::GET, "https://h/x");
    /// assert_eq!(get.url, "https://h/x");
    /// ```
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        LoggedRequest {
            method,
            url: url.into(),
        }
    }

    /// Whether it could have changed something.
    ///
    /// ```
    /// # use pull_through_core::conformance::LoggedRequest;
    /// assert!(!LoggedRequest::new(http::Method::HEAD, "https://h/x").is_write());
    /// assert!(LoggedRequest::new(http::Method::DELETE, "https://h/x").is_write());
    /// ```
    pub fn is_write(&self) -> bool {
        !matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }
}

/// Where the suite reads the requests a backend made, oldest first.
///
/// ```
/// use pull_through_core::conformance::{LoggedRequest, RequestLog};
/// use pull_through_core::http::RecordingObserver;
///
/// # async fn example() {
/// // The recorder installed on a backend's HttpClient is a RequestLog.
/// let recorder = RecordingObserver::new();
/// let log: &dyn RequestLog = &recorder;
/// assert!(log.requests().await.is_empty());
/// # }
/// ```
#[async_trait]
pub trait RequestLog: Send + Sync {
    /// Every request so far.
    ///
    /// ```
    /// # use pull_through_core::conformance::RequestLog;
    /// # async fn example(log: &dyn RequestLog) {
    /// let writes = log.requests().await.into_iter().filter(|r| r.is_write()).count();
    /// # }
    /// ```
    async fn requests(&self) -> Vec<LoggedRequest>;
}

#[async_trait]
impl RequestLog for RecordingObserver {
    async fn requests(&self) -> Vec<LoggedRequest> {
        self.records()
            .into_iter()
            .map(|record| LoggedRequest::new(record.method, record.url))
            .collect()
    }
}

/// The specs [`run_all`] uses.
///
/// ```
/// use pull_through_core::conformance::Fixtures;
/// use pull_through_core::{CacheName, CacheSpec, Upstream};
/// let fixtures = Fixtures::new(
///     CacheSpec::remote(CacheName::new("conformance-public")?, Upstream::CgrPublic),
///     CacheSpec::remote(CacheName::new("not_valid_here")?, Upstream::CgrPublic),
/// );
/// assert!(fixtures.unsupported.is_none());
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fixtures {
    /// A valid remote cache that does not exist yet; created and deleted by the suite.
    pub remote: CacheSpec,
    /// A spec the backend must refuse in `check_spec` (a name breaking its rules).
    pub invalid: CacheSpec,
    /// A spec of an upstream the backend cannot front, if there is one.
    pub unsupported: Option<CacheSpec>,
    /// A remote with credentials that does not exist yet, for the password rule; created
    /// and deleted by the suite.
    pub private: Option<CacheSpec>,
    /// An aggregate over [`remote`](Self::remote) that does not exist yet; created and
    /// deleted (before its member) by the suite.
    pub aggregate: Option<CacheSpec>,
    /// What to pull through [`remote`](Self::remote) to verify it; one the backend's test
    /// environment can serve.
    pub probe: Option<Probe>,
    /// A login to render [`remote`](Self::remote)'s client access with.
    pub login: Option<ClientLogin>,
    /// The credentials [`private`](Self::private) is switched to for the username change;
    /// when `None`, the suite derives a username of the same length.
    pub other_credentials: Option<UpstreamCredentials>,
}

impl Fixtures {
    /// Fixtures with a valid remote spec and an invalid one.
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// );
    /// assert_eq!(fixtures.remote.name.as_str(), "a");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn new(remote: CacheSpec, invalid: CacheSpec) -> Self {
        Fixtures {
            remote,
            invalid,
            unsupported: None,
            private: None,
            aggregate: None,
            probe: None,
            login: None,
            other_credentials: None,
        }
    }

    /// Adds a spec the backend must refuse as unsupported.
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_unsupported(CacheSpec::remote(CacheName::new("apk")?, "apk.cgr.dev/chainguard".parse()?));
    /// assert!(fixtures.unsupported.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_unsupported(mut self, spec: CacheSpec) -> Self {
        self.unsupported = Some(spec);
        self
    }

    /// Adds a remote with credentials, so that [`run_all`] checks the password rule
    /// ([`password_is_written_only_when_it_must`]).
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream, UpstreamCredentials};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_private(
    ///     CacheSpec::remote(CacheName::new("p")?, "cgr.dev/example.com".parse()?)
    ///         .with_credentials(UpstreamCredentials::new("org/identity", "token")?),
    /// );
    /// assert!(fixtures.private.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_private(mut self, spec: CacheSpec) -> Self {
        self.private = Some(spec);
        self
    }

    /// Adds an aggregate over the remote fixture, so that [`run_all`] checks aggregates
    /// ([`aggregate_lifecycle`]).
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, PackageFormat, Upstream};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_aggregate(CacheSpec::aggregate(CacheName::new("v")?, PackageFormat::Docker, vec![CacheName::new("a")?]));
    /// assert!(fixtures.aggregate.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_aggregate(mut self, spec: CacheSpec) -> Self {
        self.aggregate = Some(spec);
        self
    }

    /// Adds a probe the test environment serves through the remote fixture, so that
    /// [`run_all`] verifies it ([`verify_passes`]).
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, Probe, Upstream};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_probe(Probe::default_for(&Upstream::CgrPublic));
    /// assert!(fixtures.probe.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Adds a login, so that [`run_all`] renders the remote fixture's client access with
    /// it ([`client_access_names_the_secret`]). Give a secret of at least 8 characters that
    /// appears nowhere else, so that finding it in the output means it leaked.
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, ClientLogin, Upstream};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_login(ClientLogin::new("linky@example.com", "conformance-login-secret", "ARTIFACTORY_TOKEN"));
    /// assert!(fixtures.login.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_login(mut self, login: ClientLogin) -> Self {
        self.login = Some(login);
        self
    }

    /// The credentials the private fixture is switched to for the username change, for a
    /// backend that checks credentials against the upstream when they are written (Google
    /// Artifact Registry validates them): give a second pull token its test environment
    /// accepts. Without them the suite derives another username of the same length, so
    /// vendors' length limits hold.
    ///
    /// ```
    /// # use pull_through_core::conformance::Fixtures;
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream, UpstreamCredentials};
    /// let fixtures = Fixtures::new(
    ///     CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic),
    ///     CacheSpec::remote(CacheName::new("b!")?, Upstream::CgrPublic),
    /// )
    /// .with_other_credentials(UpstreamCredentials::new("org/second-identity", "second-token")?);
    /// assert!(fixtures.other_credentials.is_some());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_other_credentials(mut self, credentials: UpstreamCredentials) -> Self {
        self.other_credentials = Some(credentials);
        self
    }
}

/// Another username of the same length as `username` (its last character changed), so that
/// a vendor's length limit that `username` meets holds for it too.
fn another_username(username: &str) -> String {
    let mut other: Vec<char> = username.chars().collect();
    match other.last_mut() {
        Some(last) => *last = if *last == 'x' { 'y' } else { 'x' },
        None => other.push('x'),
    }
    other.into_iter().collect()
}

async fn requests_since(log: &dyn RequestLog, mark: usize) -> Vec<LoggedRequest> {
    log.requests().await.into_iter().skip(mark).collect()
}

async fn mark(log: &dyn RequestLog) -> usize {
    log.requests().await.len()
}

fn writes(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    requests.iter().filter(|r| r.is_write()).collect()
}

/// `describe` of a cache that does not exist is `Ok(None)`, not an error.
///
/// ```
/// # use pull_through_core::{CacheName, PullThroughBackend, conformance};
/// # async fn example(backend: &dyn PullThroughBackend) {
/// conformance::describe_absent_is_none(backend, &CacheName::new("never-created").unwrap()).await;
/// # }
/// ```
pub async fn describe_absent_is_none(backend: &dyn PullThroughBackend, name: &CacheName) {
    match backend.describe(name).await {
        Ok(None) => {}
        other => panic!("describe({name}) of an absent cache must be Ok(None), got {other:?}"),
    }
}

/// An invalid spec is refused by `check_spec`, `plan` and `ensure` with
/// [`Error::InvalidInput`], and no request reaches the network.
///
/// ```
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// // A key with a character the backend forbids.
/// let invalid = CacheSpec::remote(CacheName::new("cgr:public").unwrap(), Upstream::CgrPublic);
/// conformance::invalid_spec_sends_no_request(backend, log, &invalid).await;
/// # }
/// ```
pub async fn invalid_spec_sends_no_request(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    invalid: &CacheSpec,
) {
    let before = mark(log).await;
    let refused = |what: &str, result: Result<(), Error>| match result {
        Err(Error::InvalidInput(_)) => {}
        other => panic!(
            "{what} of invalid spec {:?} must be InvalidInput, got {other:?}",
            invalid.name
        ),
    };
    refused("check_spec", backend.check_spec(invalid));
    refused("plan", backend.plan(invalid).await.map(drop));
    refused("ensure", backend.ensure(invalid).await.map(drop));
    let sent = requests_since(log, before).await;
    assert!(
        sent.is_empty(),
        "an invalid spec must send no request, but these were sent: {sent:?}"
    );
}

/// `plan` of an absent cache is a create, and `plan` writes nothing.
///
/// ```
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// let spec = CacheSpec::remote(CacheName::new("conformance-public").unwrap(), Upstream::CgrPublic);
/// conformance::plan_makes_no_write(backend, log, &spec).await;
/// # }
/// ```
pub async fn plan_makes_no_write(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    spec: &CacheSpec,
) {
    let before = mark(log).await;
    let plan = backend.plan(spec).await.expect("plan");
    assert!(
        matches!(plan.action, PlanAction::Create { .. }),
        "plan of absent cache {} must be Create, got {plan}",
        spec.name
    );
    let sent = requests_since(log, before).await;
    assert!(
        writes(&sent).is_empty(),
        "plan must not write, but sent {:?}",
        writes(&sent)
    );
    describe_absent_is_none(backend, &spec.name).await;
}

/// The first `ensure` creates the cache; the second is `Unchanged` and makes no write;
/// `plan` afterwards shows no change; `describe` finds the cache.
///
/// ```
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// let spec = CacheSpec::remote(CacheName::new("conformance-public").unwrap(), Upstream::CgrPublic);
/// conformance::ensure_is_idempotent(backend, log, &spec).await;
/// # }
/// ```
pub async fn ensure_is_idempotent(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    spec: &CacheSpec,
) {
    let before_create = mark(log).await;
    let first = backend.ensure(spec).await.expect("first ensure");
    let created = requests_since(log, before_create).await;
    assert!(
        !writes(&created).is_empty(),
        "the first ensure created {} but the request log saw no write: wire the log into \
         every HTTP client the backend uses, or the no-write checks prove nothing",
        spec.name
    );
    assert!(
        matches!(first, Ensured::Created { .. }),
        "first ensure of {} must create, got {first:?}",
        spec.name
    );
    assert_eq!(
        first.state().name,
        spec.name,
        "ensure returned another cache"
    );

    let before = mark(log).await;
    let second = backend.ensure(spec).await.expect("second ensure");
    assert!(
        matches!(second, Ensured::Unchanged { .. }),
        "second ensure of {} must be Unchanged, got {second:?}",
        spec.name
    );
    let sent = requests_since(log, before).await;
    assert!(
        writes(&sent).is_empty(),
        "second ensure must not write, but sent {:?}",
        writes(&sent)
    );

    let plan = backend.plan(spec).await.expect("plan after ensure");
    assert!(
        !plan.has_changes(),
        "plan after ensure must show no change, got {plan}"
    );

    let described = backend
        .describe(&spec.name)
        .await
        .expect("describe after ensure")
        .unwrap_or_else(|| panic!("describe({}) after ensure must find it", spec.name));
    assert_eq!(
        described.format,
        spec.format(),
        "described format differs from the spec"
    );
}

/// `list` includes a cache that exists.
///
/// ```
/// # use pull_through_core::{CacheName, PullThroughBackend, conformance};
/// # async fn example(backend: &dyn PullThroughBackend) {
/// conformance::list_includes(backend, &CacheName::new("conformance-public").unwrap()).await;
/// # }
/// ```
pub async fn list_includes(backend: &dyn PullThroughBackend, name: &CacheName) {
    let all = backend.list().await.expect("list");
    assert!(
        all.iter().any(|state| &state.name == name),
        "list must include {name}, got {:?}",
        all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
    );
}

/// `delete` removes an existing cache, `describe` then finds nothing, and a second
/// `delete` is `AlreadyAbsent`.
///
/// ```
/// # use pull_through_core::{CacheName, PullThroughBackend, conformance};
/// # async fn example(backend: &dyn PullThroughBackend) {
/// conformance::delete_then_describe_is_none(backend, &CacheName::new("conformance-public").unwrap()).await;
/// # }
/// ```
pub async fn delete_then_describe_is_none(backend: &dyn PullThroughBackend, name: &CacheName) {
    let first = backend.delete(name).await.expect("delete");
    assert_eq!(first, Deleted::Removed, "delete of existing cache {name}");
    describe_absent_is_none(backend, name).await;
    let second = backend.delete(name).await.expect("second delete");
    assert_eq!(second, Deleted::AlreadyAbsent, "second delete of {name}");
}

/// An upstream the backend cannot front is refused with [`Error::Unsupported`] and no
/// request.
///
/// ```
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// // Google Artifact Registry has no APK remote.
/// let apk = CacheSpec::remote(CacheName::new("cg-chainguard").unwrap(), "apk.cgr.dev/chainguard".parse().unwrap());
/// conformance::unsupported_is_typed(backend, log, &apk).await;
/// # }
/// ```
pub async fn unsupported_is_typed(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    spec: &CacheSpec,
) {
    let before = mark(log).await;
    match backend.check_spec(spec) {
        Err(Error::Unsupported { .. }) => {}
        other => panic!(
            "check_spec of unsupported {} must be Unsupported, got {other:?}",
            spec.name
        ),
    }
    match backend.plan(spec).await {
        Err(Error::Unsupported { .. }) => {}
        other => panic!(
            "plan of unsupported {} must be Unsupported, got {other:?}",
            spec.name
        ),
    }
    match backend.ensure(spec).await {
        Err(Error::Unsupported { .. }) => {}
        other => panic!(
            "ensure of unsupported {} must be Unsupported, got {other:?}",
            spec.name
        ),
    }
    let sent = requests_since(log, before).await;
    assert!(
        sent.is_empty(),
        "an unsupported spec must send no request, sent {sent:?}"
    );
}

/// The credentials of a remote fixture, which the password rule needs.
fn credentials_of(spec: &CacheSpec) -> &UpstreamCredentials {
    match &spec.kind {
        CacheKind::Remote(remote) => remote.credentials.as_ref().unwrap_or_else(|| {
            panic!(
                "the private fixture {} must have credentials (CacheSpec::with_credentials)",
                spec.name
            )
        }),
        _ => panic!("the private fixture {} must be a remote cache", spec.name),
    }
}

fn field_names(changes: &[FieldChange]) -> Vec<&str> {
    changes.iter().map(|change| change.field.as_str()).collect()
}

/// A change of `password` must show no value but [`FieldValue::Secret`](crate::FieldValue::Secret).
fn assert_password_hidden(what: &str, changes: &[FieldChange]) {
    for change in changes.iter().filter(|c| c.field == "password") {
        let hidden =
            |value: &crate::plan::FieldValue| matches!(value, crate::plan::FieldValue::Secret);
        assert!(
            hidden(&change.after) && change.before.as_ref().is_none_or(hidden),
            "{what}: a password change must show only FieldValue::Secret, got {change:?}"
        );
    }
}

/// Runs `ensure` and returns what it reported with the writes it made.
async fn ensure_logged(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    spec: &CacheSpec,
    what: &str,
) -> (Ensured, Vec<LoggedRequest>) {
    let before = mark(log).await;
    let outcome = backend
        .ensure(spec)
        .await
        .unwrap_or_else(|err| panic!("{what} of {}: {err}", spec.name));
    let sent = requests_since(log, before).await;
    (outcome, writes(&sent).into_iter().cloned().collect())
}

/// Runs `plan`, checks it wrote nothing, and returns the fields it would write.
async fn planned_fields(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    spec: &CacheSpec,
    what: &str,
) -> Vec<FieldChange> {
    let before = mark(log).await;
    let plan = backend
        .plan(spec)
        .await
        .unwrap_or_else(|err| panic!("plan ({what}) of {}: {err}", spec.name));
    let sent = requests_since(log, before).await;
    assert!(
        writes(&sent).is_empty(),
        "plan ({what}) of {} must not write, but sent {:?}",
        spec.name,
        writes(&sent)
    );
    match plan.action {
        PlanAction::Update { changes } => changes,
        PlanAction::NoChange => Vec::new(),
        other => panic!(
            "plan ({what}) of existing cache {} must be an update or no change, got {other:?}",
            spec.name
        ),
    }
}

async fn described(backend: &dyn PullThroughBackend, name: &CacheName, when: &str) -> CacheState {
    backend
        .describe(name)
        .await
        .unwrap_or_else(|err| panic!("describe({name}) {when}: {err}"))
        .unwrap_or_else(|| panic!("describe({name}) {when} must find it"))
}

fn described_username(state: &CacheState) -> Option<&str> {
    match &state.role {
        CacheRole::Remote { username, .. } => username.as_deref(),
        other => panic!(
            "{} must be described as a remote, got {other:?}",
            state.name
        ),
    }
}

/// The password rule: an upstream password is written on create, on a username change
/// and on rotation, and never compared (a stored password cannot be read back).
///
/// With `private`, a remote with credentials that does not exist yet: the first `ensure`
/// creates it; an `ensure` with the same username and another password writes nothing
/// and is `Unchanged` (and `plan` shows no change); `plan` of
/// [`CacheSpec::rotating_credentials`] shows a `password` change without writing, and its
/// `ensure` writes and is `Updated` with a `password` change; a rotation is not sticky (the
/// spec without it is `Unchanged` again); an `ensure` with another username writes and is
/// `Updated` with `username` and `password` changes, and `describe` then shows the new
/// username. A password change only ever shows as a hidden value. The cache is deleted at
/// the end.
///
/// ```no_run
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, UpstreamCredentials, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// let private = CacheSpec::remote(CacheName::new("conformance-private").unwrap(), "cgr.dev/example.com".parse().unwrap())
///     .with_credentials(UpstreamCredentials::new("org/identity", "pull-token").unwrap());
/// conformance::password_is_written_only_when_it_must(backend, log, &private).await;
/// # }
/// ```
pub async fn password_is_written_only_when_it_must(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    private: &CacheSpec,
) {
    password_rule(backend, log, private, None).await;
}

async fn password_rule(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    private: &CacheSpec,
    other: Option<&UpstreamCredentials>,
) {
    let original = credentials_of(private);
    assert!(
        matches!(&private.kind, CacheKind::Remote(remote) if remote.credential_write == CredentialWrite::OnCreate),
        "the private fixture {} must not rotate: the suite rotates it itself",
        private.name
    );
    let name = &private.name;
    describe_absent_is_none(backend, name).await;

    let (created, wrote) = ensure_logged(backend, log, private, "first ensure").await;
    assert!(
        matches!(created, Ensured::Created { .. }),
        "first ensure of {name} must create, got {created:?}"
    );
    assert!(
        !wrote.is_empty(),
        "the first ensure created {name} but the request log saw no write"
    );
    assert_eq!(
        described_username(&described(backend, name, "after create").await),
        Some(original.username()),
        "describe({name}) must show the username it was created with"
    );

    let other_password = UpstreamCredentials::new(
        original.username(),
        format!("other-{}", original.password().expose_secret()),
    )
    .expect("a non-empty username and password");
    let same_user = private.clone().with_credentials(other_password);
    let planned = planned_fields(backend, log, &same_user, "another password").await;
    assert!(
        planned.is_empty(),
        "plan of {name} with the same username and another password must show no change \
         (a password is never compared), got {:?}",
        field_names(&planned)
    );
    let (outcome, wrote) =
        ensure_logged(backend, log, &same_user, "ensure with another password").await;
    assert!(
        matches!(outcome, Ensured::Unchanged { .. }),
        "ensure of {name} with the same username and another password must be Unchanged \
         (a password is never compared), got {outcome:?}"
    );
    assert!(
        wrote.is_empty(),
        "ensure of {name} with the same username and another password must not write, \
         but sent {wrote:?}"
    );

    let rotating = private.clone().rotating_credentials();
    let planned = planned_fields(backend, log, &rotating, "rotation").await;
    assert!(
        field_names(&planned).contains(&"password"),
        "plan of {name} with rotating credentials must show a password change, got {:?}",
        field_names(&planned)
    );
    assert_password_hidden("plan of a rotation", &planned);
    let (outcome, wrote) = ensure_logged(backend, log, &rotating, "rotation").await;
    match &outcome {
        Ensured::Updated { changes, .. } => {
            assert!(
                field_names(changes).contains(&"password"),
                "a rotation of {name} must report a password change, got {:?}",
                field_names(changes)
            );
            assert_password_hidden("a rotation", changes);
        }
        other => panic!("a rotation of {name} must be Updated, got {other:?}"),
    }
    assert!(
        !wrote.is_empty(),
        "a rotation of {name} must write the password, but the request log saw no write"
    );
    let (outcome, wrote) = ensure_logged(backend, log, private, "ensure after rotation").await;
    assert!(
        matches!(outcome, Ensured::Unchanged { .. }) && wrote.is_empty(),
        "after a rotation, ensure of {name} without one must be Unchanged and write nothing, \
         got {outcome:?} and sent {wrote:?}"
    );

    let other = match other {
        Some(other) => other.clone(),
        None => UpstreamCredentials::new(
            another_username(original.username()),
            original.password().clone(),
        )
        .expect("a non-empty username and password"),
    };
    assert_ne!(
        other.username(),
        original.username(),
        "the other credentials of {name} must have another username"
    );
    let new_username = other.username().to_owned();
    let renamed = private.clone().with_credentials(other);
    let (outcome, wrote) =
        ensure_logged(backend, log, &renamed, "ensure with another username").await;
    match &outcome {
        Ensured::Updated { changes, .. } => {
            let fields = field_names(changes);
            assert!(
                fields.contains(&"username") && fields.contains(&"password"),
                "a username change of {name} must report username and password changes, got {fields:?}"
            );
            assert_password_hidden("a username change", changes);
        }
        other => panic!("ensure of {name} with another username must be Updated, got {other:?}"),
    }
    assert!(
        !wrote.is_empty(),
        "a username change of {name} must write, but the request log saw no write"
    );
    assert_eq!(
        described_username(&described(backend, name, "after a username change").await),
        Some(new_username.as_str()),
        "describe({name}) must show the new username"
    );
    let (outcome, wrote) = ensure_logged(
        backend,
        log,
        &renamed,
        "second ensure with another username",
    )
    .await;
    assert!(
        matches!(outcome, Ensured::Unchanged { .. }) && wrote.is_empty(),
        "a second ensure of {name} with the new username must be Unchanged and write nothing, \
         got {outcome:?} and sent {wrote:?}"
    );

    delete_then_describe_is_none(backend, name).await;
}

/// An aggregate over existing caches: `plan` of it is a create and writes nothing, the
/// first `ensure` creates it, the second is `Unchanged` and writes nothing, `plan` then
/// shows no change, `describe` shows its members in the spec's order, `list` includes it,
/// and `delete` removes it (a second `delete` is `AlreadyAbsent`). Its members must exist
/// and are left as they are; call it before deleting them.
///
/// ```no_run
/// # use pull_through_core::{CacheName, CacheSpec, PackageFormat, PullThroughBackend, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// let aggregate = CacheSpec::aggregate(
///     CacheName::new("conformance-virt").unwrap(),
///     PackageFormat::Docker,
///     vec![CacheName::new("conformance-public").unwrap()],
/// );
/// conformance::aggregate_lifecycle(backend, log, &aggregate).await;
/// # }
/// ```
pub async fn aggregate_lifecycle(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    aggregate: &CacheSpec,
) {
    let members = match &aggregate.kind {
        CacheKind::Aggregate(spec) => &spec.members,
        _ => panic!(
            "the aggregate fixture {} must be an aggregate",
            aggregate.name
        ),
    };
    for member in members {
        described(backend, member, "(a member of the aggregate fixture)").await;
    }
    plan_makes_no_write(backend, log, aggregate).await;
    ensure_is_idempotent(backend, log, aggregate).await;
    let state = described(backend, &aggregate.name, "after ensure").await;
    assert_eq!(
        state.members(),
        Some(members.as_slice()),
        "describe({}) must show the aggregate's members in the spec's order",
        aggregate.name
    );
    list_includes(backend, &aggregate.name).await;
    delete_then_describe_is_none(backend, &aggregate.name).await;
    for member in members {
        described(backend, member, "after its aggregate was deleted").await;
    }
}

/// `client_access` of `state` with `login` has items, and none of them shows the login's
/// secret (rendered with [`Reveal::Names`], nor in `Debug`); where the password goes, the
/// shown form names `login.password_var` (`$VAR` or `${VAR}`), and [`Reveal::Secrets`]
/// puts the secret there.
///
/// The secret must be at least 8 characters and appear nowhere else, so that finding it
/// means it leaked.
///
/// ```no_run
/// # use pull_through_core::{CacheName, ClientLogin, PullThroughBackend, conformance};
/// # async fn example(backend: &dyn PullThroughBackend) {
/// let state = backend.describe(&CacheName::new("conformance-public").unwrap()).await.unwrap().unwrap();
/// let login = ClientLogin::new("linky@example.com", "conformance-login-secret", "ARTIFACTORY_TOKEN");
/// conformance::client_access_names_the_secret(backend, &state, &login);
/// # }
/// ```
pub fn client_access_names_the_secret(
    backend: &dyn PullThroughBackend,
    state: &CacheState,
    login: &ClientLogin,
) {
    let secret = login.password.expose_secret();
    assert!(
        secret.len() >= 8,
        "the login fixture's secret must be at least 8 characters, or finding it proves nothing"
    );
    let access = backend
        .client_access(state, Some(login))
        .unwrap_or_else(|err| panic!("client_access of {}: {err}", state.name));
    assert!(
        !access.items.is_empty(),
        "client_access of {} must have at least one item",
        state.name
    );
    for item in &access.items {
        let shown = item.render(Reveal::Names);
        assert!(
            !shown.contains(secret),
            "client_access of {} shows the login's secret (here {}) in {:?}",
            state.name,
            crate::redact::REDACTED,
            shown.replace(secret, crate::redact::REDACTED)
        );
        assert!(
            !format!("{item:?}").contains(secret),
            "the Debug of a client access item of {} shows the login's secret",
            state.name
        );
    }
    let var = &login.password_var;
    let names_var =
        |text: &str| text.contains(&format!("${var}")) || text.contains(&format!("${{{var}}}"));
    let shown = access.render(Reveal::Names);
    assert!(
        names_var(&shown),
        "client_access of {} must name the password as ${var} or ${{{var}}}, got:\n{shown}",
        state.name
    );
    assert!(
        access.render(Reveal::Secrets).contains(secret),
        "client_access of {} with Reveal::Secrets must put the login's secret where ${var} is",
        state.name
    );
}

/// `verify` of `state` with `probe` passes: at least one check, every one passed, for
/// that cache. Use a probe the test environment serves through the cache.
///
/// ```no_run
/// # use pull_through_core::{CacheName, Probe, PullThroughBackend, Upstream, conformance};
/// # async fn example(backend: &dyn PullThroughBackend) {
/// let state = backend.describe(&CacheName::new("conformance-public").unwrap()).await.unwrap().unwrap();
/// conformance::verify_passes(backend, &state, &Probe::default_for(&Upstream::CgrPublic)).await;
/// # }
/// ```
pub async fn verify_passes(backend: &dyn PullThroughBackend, state: &CacheState, probe: &Probe) {
    let verification = backend
        .verify(state, probe)
        .await
        .unwrap_or_else(|err| panic!("verify of {} with {probe}: {err}", state.name));
    assert_eq!(
        verification.cache, state.name,
        "verify reported another cache"
    );
    assert!(
        verification.passed(),
        "verify of {} with {probe} must make at least one check and pass every one:\n{verification}",
        state.name
    );
}

/// `check_access` accepts the credentials the backend was built with, and only reads.
///
/// ```no_run
/// # use pull_through_core::{PullThroughBackend, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// conformance::check_access_succeeds(backend, log).await;
/// # }
/// ```
pub async fn check_access_succeeds(backend: &dyn PullThroughBackend, log: &dyn RequestLog) {
    let before = mark(log).await;
    if let Err(err) = backend.check_access().await {
        panic!("check_access must accept the test environment's credentials, got {err}");
    }
    let sent = requests_since(log, before).await;
    assert!(
        writes(&sent).is_empty(),
        "check_access must only read, but sent {:?}",
        writes(&sent)
    );
}

/// `diagnose` of a cache that `ensure` made finds none of the vendor's rules broken, and
/// only reads: what the backend creates, its own checks accept.
///
/// ```no_run
/// # use pull_through_core::{CacheName, PullThroughBackend, conformance};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// conformance::diagnose_of_ensured_is_clean(backend, log, &CacheName::new("conformance-public").unwrap()).await;
/// # }
/// ```
pub async fn diagnose_of_ensured_is_clean(
    backend: &dyn PullThroughBackend,
    log: &dyn RequestLog,
    name: &CacheName,
) {
    let before = mark(log).await;
    let found = backend
        .diagnose(name)
        .await
        .unwrap_or_else(|err| panic!("diagnose({name}): {err}"));
    assert!(
        found.is_empty(),
        "diagnose({name}) of a cache ensure made must find nothing, got {found:?}"
    );
    let sent = requests_since(log, before).await;
    assert!(
        writes(&sent).is_empty(),
        "diagnose must only read, but sent {:?}",
        writes(&sent)
    );
}

/// Runs every check in an order that leaves the backend as it found it: `check_access`,
/// the remote fixture's life (plan, ensure twice, list, diagnose, delete) and the invalid
/// spec always; with the optional fixtures, the remote's client access and verification
/// while it exists, the aggregate's life over it (deleted before it), the password rule
/// on the private remote, and the unsupported spec.
///
/// ```
/// # use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream, conformance::{self, Fixtures}};
/// # use pull_through_core::http::RecordingObserver;
/// # async fn example(backend: &dyn PullThroughBackend, log: &RecordingObserver) {
/// let fixtures = Fixtures::new(
///     CacheSpec::remote(CacheName::new("conformance-public").unwrap(), Upstream::CgrPublic),
///     CacheSpec::remote(CacheName::new("bad:key").unwrap(), Upstream::CgrPublic),
/// );
/// conformance::run_all(backend, log, &fixtures).await;
/// # }
/// ```
pub async fn run_all(backend: &dyn PullThroughBackend, log: &dyn RequestLog, fixtures: &Fixtures) {
    check_access_succeeds(backend, log).await;
    let remote = &fixtures.remote.name;
    describe_absent_is_none(backend, remote).await;
    invalid_spec_sends_no_request(backend, log, &fixtures.invalid).await;
    plan_makes_no_write(backend, log, &fixtures.remote).await;
    ensure_is_idempotent(backend, log, &fixtures.remote).await;
    list_includes(backend, remote).await;
    diagnose_of_ensured_is_clean(backend, log, remote).await;
    if fixtures.login.is_some() || fixtures.probe.is_some() {
        let state = described(backend, remote, "after ensure").await;
        if let Some(login) = &fixtures.login {
            client_access_names_the_secret(backend, &state, login);
        }
        if let Some(probe) = &fixtures.probe {
            verify_passes(backend, &state, probe).await;
        }
    }
    // Before its member goes: an aggregate over a deleted cache is not what is tested.
    if let Some(aggregate) = &fixtures.aggregate {
        aggregate_lifecycle(backend, log, aggregate).await;
    }
    delete_then_describe_is_none(backend, remote).await;
    if let Some(private) = &fixtures.private {
        password_rule(backend, log, private, fixtures.other_credentials.as_ref()).await;
    }
    if let Some(unsupported) = &fixtures.unsupported {
        unsupported_is_typed(backend, log, unsupported).await;
    }
}

#[cfg(test)]
mod tests {
    //! The new checks against an in-memory backend built on the shared reconcile: one that
    //! keeps the contract passes, and each kind of breach fails with a message naming it.

    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::access::{AccessItem, ClientAccess, Sensitive};
    use crate::backend::{Capabilities, Support};
    use crate::plan::{FieldValue, Plan};
    use crate::reconcile::{self, Observed, PasswordWrite, Reconcile, Write};
    use crate::spec::NameCase;
    use crate::upstream::{PackageFormat, Upstream, UpstreamKind};
    use crate::validation::ValidationError;
    use crate::verify::{Check, Verification};

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Flaw {
        None,
        ComparesPassword,
        IgnoresRotation,
        KeepsOldUsername,
        ShowsSecret,
        ReordersMembers,
        VerifiesNothing,
        RefusesAccess,
        WritesOnCheckAccess,
    }

    #[derive(Debug, Clone)]
    struct Stored {
        name: CacheName,
        format: PackageFormat,
        url: Option<String>,
        members: Vec<CacheName>,
        username: Option<String>,
        password: Option<String>,
    }

    #[derive(Debug)]
    struct Memory {
        caches: Mutex<BTreeMap<String, Stored>>,
        log: Mutex<Vec<LoggedRequest>>,
        flaw: Flaw,
    }

    impl Memory {
        fn new(flaw: Flaw) -> Memory {
            Memory {
                caches: Mutex::default(),
                log: Mutex::default(),
                flaw,
            }
        }

        fn record(&self, method: Method, what: &str) {
            self.log
                .lock()
                .unwrap()
                .push(LoggedRequest::new(method, format!("mem://caches/{what}")));
        }

        fn stored_password(&self, name: &CacheName) -> Option<String> {
            let caches = self.caches.lock().unwrap();
            caches.get(name.as_str()).and_then(|s| s.password.clone())
        }
    }

    #[async_trait]
    impl RequestLog for Memory {
        async fn requests(&self) -> Vec<LoggedRequest> {
            self.log.lock().unwrap().clone()
        }
    }

    fn password_of(spec: &CacheSpec) -> Option<String> {
        match &spec.kind {
            CacheKind::Remote(remote) => remote
                .credentials
                .as_ref()
                .map(|c| c.password().expose_secret().to_owned()),
            _ => None,
        }
    }

    #[async_trait]
    impl Reconcile for Memory {
        type Resource = Stored;

        fn vendor(&self) -> &str {
            "memory"
        }

        fn name_case(&self) -> NameCase {
            NameCase::Sensitive
        }

        async fn read(&self, name: &CacheName) -> Result<Option<Stored>, Error> {
            self.record(Method::GET, name.as_str());
            Ok(self.caches.lock().unwrap().get(name.as_str()).cloned())
        }

        async fn names(&self) -> Result<Vec<String>, Error> {
            self.record(Method::GET, "");
            Ok(self.caches.lock().unwrap().keys().cloned().collect())
        }

        fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
            match &spec.kind {
                CacheKind::Remote(remote) => {
                    vec![("url".into(), remote.upstream.url().to_string().into())]
                }
                CacheKind::Aggregate(aggregate) => vec![(
                    "members".into(),
                    aggregate
                        .members
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .into(),
                )],
            }
        }

        fn observed(&self, _: &CacheSpec, stored: &Stored) -> Observed {
            let members: Vec<String> = stored.members.iter().map(|m| m.to_string()).collect();
            Observed::new()
                .with_opt("url", stored.url.clone())
                .with("members", members)
                .with_username(stored.username.clone().unwrap_or_default())
        }

        async fn create(&self, spec: &CacheSpec) -> Result<Stored, Error> {
            self.record(Method::PUT, spec.name.as_str());
            let (url, members, username) = match &spec.kind {
                CacheKind::Remote(remote) => (
                    Some(remote.upstream.url().to_string()),
                    Vec::new(),
                    remote.credentials.as_ref().map(|c| c.username().to_owned()),
                ),
                CacheKind::Aggregate(aggregate) => (None, aggregate.members.clone(), None),
            };
            let stored = Stored {
                name: spec.name.clone(),
                format: spec.format(),
                url,
                members,
                username,
                password: password_of(spec),
            };
            self.caches
                .lock()
                .unwrap()
                .insert(spec.name.to_string(), stored.clone());
            Ok(stored)
        }

        async fn update(
            &self,
            spec: &CacheSpec,
            stored: &Stored,
            write: &Write<'_>,
        ) -> Result<Stored, Error> {
            self.record(Method::POST, spec.name.as_str());
            let mut written = self.with_spec_settings(spec, stored);
            match write.password {
                PasswordWrite::Set(password) => {
                    written.password = Some(password.expose_secret().to_owned());
                }
                PasswordWrite::Clear => written.password = None,
                _ => {}
            }
            if write.changes("username") && self.flaw != Flaw::KeepsOldUsername {
                written.username = match &spec.kind {
                    CacheKind::Remote(remote) => {
                        remote.credentials.as_ref().map(|c| c.username().to_owned())
                    }
                    _ => None,
                };
            }
            self.caches
                .lock()
                .unwrap()
                .insert(spec.name.to_string(), written.clone());
            Ok(written)
        }

        fn state(&self, stored: &Stored) -> Result<CacheState, Error> {
            Ok(match &stored.url {
                Some(url) => {
                    let state = CacheState::remote(stored.name.clone(), stored.format, url);
                    match &stored.username {
                        Some(username) => state.with_username(username),
                        None => state,
                    }
                }
                None => {
                    let mut members = stored.members.clone();
                    if self.flaw == Flaw::ReordersMembers {
                        members.reverse();
                    }
                    CacheState::aggregate(stored.name.clone(), stored.format, members)
                }
            })
        }
    }

    impl Memory {
        /// The stored cache with the spec's settings, keeping its credentials.
        fn with_spec_settings(&self, spec: &CacheSpec, stored: &Stored) -> Stored {
            let mut written = stored.clone();
            match &spec.kind {
                CacheKind::Remote(remote) => written.url = Some(remote.upstream.url().to_string()),
                CacheKind::Aggregate(aggregate) => written.members = aggregate.members.clone(),
            }
            written
        }
    }

    #[async_trait]
    impl PullThroughBackend for Memory {
        fn vendor(&self) -> &str {
            "memory"
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities::new("memory", NameCase::Sensitive)
                .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
                .with_upstream(UpstreamKind::CgrPrivate, Support::Supported)
                .with_aggregate(PackageFormat::Docker)
        }

        fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
            if spec.name.as_str().contains('!') {
                return Err(ValidationError::InvalidValue {
                    field: "name".into(),
                    problem: "no '!' here".into(),
                }
                .into());
            }
            spec.validate()?;
            self.capabilities().check(spec)
        }

        async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
            self.check_spec(spec)?;
            reconcile::plan(self, spec).await
        }

        async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
            self.check_spec(spec)?;
            let mut spec = spec.clone();
            if let (Flaw::IgnoresRotation, CacheKind::Remote(remote)) = (self.flaw, &mut spec.kind)
            {
                remote.credential_write = CredentialWrite::OnCreate;
            }
            if self.flaw == Flaw::ComparesPassword {
                let want = password_of(&spec);
                if let Some(stored) = Reconcile::read(self, &spec.name).await? {
                    if want.is_some() && stored.password != want {
                        self.record(Method::POST, spec.name.as_str());
                        let mut written = stored.clone();
                        written.password = want;
                        self.caches
                            .lock()
                            .unwrap()
                            .insert(spec.name.to_string(), written.clone());
                        return Ok(Ensured::Updated {
                            state: self.state(&written)?,
                            changes: vec![FieldChange::new(
                                "password",
                                Some(FieldValue::Secret),
                                FieldValue::Secret,
                            )],
                        });
                    }
                }
            }
            reconcile::ensure(self, &spec).await
        }

        async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
            Reconcile::read(self, name)
                .await?
                .map(|stored| self.state(&stored))
                .transpose()
        }

        async fn list(&self) -> Result<Vec<CacheState>, Error> {
            self.record(Method::GET, "");
            let caches: Vec<Stored> = self.caches.lock().unwrap().values().cloned().collect();
            caches.iter().map(|stored| self.state(stored)).collect()
        }

        async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
            self.record(Method::DELETE, name.as_str());
            Ok(match self.caches.lock().unwrap().remove(name.as_str()) {
                Some(_) => Deleted::Removed,
                None => Deleted::AlreadyAbsent,
            })
        }

        fn client_access(
            &self,
            state: &CacheState,
            login: Option<&ClientLogin>,
        ) -> Result<ClientAccess, Error> {
            let password = match login {
                Some(login) if self.flaw == Flaw::ShowsSecret => Sensitive::new(
                    login.password.expose_secret(),
                    login.password.expose_secret(),
                ),
                Some(login) => {
                    Sensitive::new(login.password_reference(), login.password.expose_secret())
                }
                None => Sensitive::new("\"$TOKEN\"", "$TOKEN"),
            };
            Ok(ClientAccess::new(state.name.clone())
                .with(AccessItem::DockerLogin {
                    registry: "mem.example".into(),
                    username: login.map(|l| l.username.clone()).unwrap_or_default(),
                    password,
                })
                .with(AccessItem::DockerPull {
                    reference: format!("mem.example/{}/chainguard/go:latest", state.name),
                }))
        }

        async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
            let mut verification = Verification::new(state.name.clone());
            if self.flaw != Flaw::VerifiesNothing {
                verification.push(Check::passed(probe.to_string(), "ok", Duration::ZERO));
            }
            Ok(verification)
        }

        async fn check_access(&self) -> Result<(), Error> {
            match self.flaw {
                Flaw::RefusesAccess => Err(Error::Unsupported {
                    vendor: "memory".into(),
                    what: "this token".into(),
                    hint: "use another".into(),
                }),
                Flaw::WritesOnCheckAccess => {
                    self.record(Method::POST, "access-check");
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    }

    const SECRET: &str = "conformance-login-secret";

    fn name(text: &str) -> CacheName {
        CacheName::new(text).unwrap()
    }

    fn full_fixtures() -> Fixtures {
        Fixtures::new(
            CacheSpec::remote(name("conformance-public"), Upstream::CgrPublic),
            CacheSpec::remote(name("bad!key"), Upstream::CgrPublic),
        )
        .with_private(
            CacheSpec::remote(
                name("conformance-private"),
                "cgr.dev/example.com".parse().unwrap(),
            )
            .with_credentials(UpstreamCredentials::new("org/identity", "pull-token-jwt").unwrap()),
        )
        .with_aggregate(CacheSpec::aggregate(
            name("conformance-virt"),
            PackageFormat::Docker,
            // Two members, so that an order the backend changes shows.
            vec![name("conformance-public"), name("conformance-extra")],
        ))
        .with_probe(Probe::default_for(&Upstream::CgrPublic))
        .with_login(ClientLogin::new("linky@example.com", SECRET, "TOKEN"))
    }

    /// The aggregate needs a second member; it is made before the suite and removed after.
    async fn run(flaw: Flaw) -> Memory {
        let backend = Memory::new(flaw);
        let extra = CacheSpec::remote(name("conformance-extra"), Upstream::CgrPublic);
        reconcile::ensure(&backend, &extra).await.unwrap();
        run_all(&backend, &backend, &full_fixtures()).await;
        backend.delete(&extra.name).await.unwrap();
        backend
    }

    async fn failure_of(flaw: Flaw) -> String {
        let outcome = tokio::spawn(run(flaw)).await;
        let panic = outcome
            .expect_err("the suite must fail a broken backend")
            .into_panic();
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_backend_that_keeps_the_contract_passes_every_check() {
        let backend = run(Flaw::None).await;
        assert!(backend.caches.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn without_the_optional_fixtures_the_suite_still_runs() {
        let backend = Memory::new(Flaw::ShowsSecret);
        let fixtures = Fixtures::new(
            CacheSpec::remote(name("conformance-public"), Upstream::CgrPublic),
            CacheSpec::remote(name("bad!key"), Upstream::CgrPublic),
        );
        run_all(&backend, &backend, &fixtures).await;
        assert!(backend.caches.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_rotation_writes_the_password_even_when_it_is_the_same() {
        let backend = Memory::new(Flaw::None);
        let private = full_fixtures().private.unwrap();
        backend.ensure(&private).await.unwrap();
        let other = private.clone().with_credentials(
            UpstreamCredentials::new("org/identity", "a-new-pull-token").unwrap(),
        );
        assert!(matches!(
            backend.ensure(&other).await.unwrap(),
            Ensured::Unchanged { .. }
        ));
        assert_eq!(
            backend.stored_password(&private.name).as_deref(),
            Some("pull-token-jwt")
        );
        backend.ensure(&other.rotating_credentials()).await.unwrap();
        assert_eq!(
            backend.stored_password(&private.name).as_deref(),
            Some("a-new-pull-token")
        );
    }

    #[tokio::test]
    async fn comparing_the_password_fails() {
        let message = failure_of(Flaw::ComparesPassword).await;
        assert!(
            message.contains("must be Unchanged (a password is never compared)"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn ignoring_a_rotation_fails() {
        let message = failure_of(Flaw::IgnoresRotation).await;
        assert!(
            message.contains("a rotation of conformance-private must be Updated"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn keeping_the_old_username_fails() {
        let message = failure_of(Flaw::KeepsOldUsername).await;
        assert!(
            message.contains("describe(conformance-private) must show the new username"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn showing_the_login_secret_fails() {
        let message = failure_of(Flaw::ShowsSecret).await;
        assert!(message.contains("shows the login's secret"), "{message}");
        assert!(
            !message.contains(SECRET),
            "the failure itself leaks: {message}"
        );
    }

    #[tokio::test]
    async fn reordering_members_fails() {
        let message = failure_of(Flaw::ReordersMembers).await;
        assert!(message.contains("members in the spec's order"), "{message}");
    }

    #[tokio::test]
    async fn a_verification_without_checks_fails() {
        let message = failure_of(Flaw::VerifiesNothing).await;
        assert!(
            message.contains("must make at least one check"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_refused_access_check_fails() {
        let message = failure_of(Flaw::RefusesAccess).await;
        assert!(message.contains("check_access must accept"), "{message}");
    }

    #[tokio::test]
    async fn an_access_check_that_writes_fails() {
        let message = failure_of(Flaw::WritesOnCheckAccess).await;
        assert!(message.contains("check_access must only read"), "{message}");
    }
}
