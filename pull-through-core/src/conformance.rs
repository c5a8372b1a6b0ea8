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

use async_trait::async_trait;
use http::Method;

use crate::backend::PullThroughBackend;
use crate::error::Error;
use crate::http::RecordingObserver;
use crate::plan::{Deleted, Ensured, PlanAction};
use crate::spec::{CacheName, CacheSpec};

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

/// Runs every check in an order that leaves the backend as it found it.
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
    describe_absent_is_none(backend, &fixtures.remote.name).await;
    invalid_spec_sends_no_request(backend, log, &fixtures.invalid).await;
    plan_makes_no_write(backend, log, &fixtures.remote).await;
    ensure_is_idempotent(backend, log, &fixtures.remote).await;
    list_includes(backend, &fixtures.remote.name).await;
    delete_then_describe_is_none(backend, &fixtures.remote.name).await;
    if let Some(unsupported) = &fixtures.unsupported {
        unsupported_is_typed(backend, log, unsupported).await;
    }
}
