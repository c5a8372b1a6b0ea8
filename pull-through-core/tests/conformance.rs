//! The conformance suite, run against an in-memory backend that keeps the contract and
//! against broken ones that must fail it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use http::Method;
use pull_through_core::conformance::{self, Fixtures, LoggedRequest, RequestLog};
use pull_through_core::{
    CacheKind, CacheName, CacheSpec, CacheState, Capabilities, ClientAccess, ClientLogin, Deleted,
    Diff, Ensured, Error, NameCase, NameRules, Plan, Probe, PullThroughBackend, Support, Upstream,
    UpstreamKind, Verification,
};

const KEY_RULES: NameRules = NameRules {
    what: "test key",
    min_len: 1,
    max_len: 64,
    allowed: |c| c.is_ascii_alphanumeric() || c == '-',
    first: |c| c.is_ascii_alphabetic(),
    last: |c| c.is_ascii_alphanumeric(),
    description: "letters, digits and hyphens",
};

/// How the test backend misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flaw {
    None,
    WritesEveryEnsure,
    DescribeAbsentIsError,
    ChecksAfterSending,
    LogsNothing,
}

/// A backend over a map, recording each "request" it would make.
#[derive(Debug)]
struct MemoryBackend {
    caches: Mutex<BTreeMap<CacheName, CacheState>>,
    log: Mutex<Vec<LoggedRequest>>,
    flaw: Flaw,
}

impl MemoryBackend {
    fn new(flaw: Flaw) -> Self {
        MemoryBackend {
            caches: Mutex::default(),
            log: Mutex::default(),
            flaw,
        }
    }

    fn record(&self, method: Method, name: &CacheName) {
        if self.flaw == Flaw::LogsNothing {
            return;
        }
        self.log
            .lock()
            .unwrap()
            .push(LoggedRequest::new(method, format!("mem://caches/{name}")));
    }

    fn desired(spec: &CacheSpec) -> CacheState {
        match &spec.kind {
            CacheKind::Remote(remote) => CacheState::remote(
                spec.name.clone(),
                spec.format(),
                remote.upstream.url().as_str(),
            ),
            CacheKind::Aggregate(aggregate) => CacheState::aggregate(
                spec.name.clone(),
                aggregate.format,
                aggregate.members.clone(),
            ),
            _ => unreachable!("no other kinds exist"),
        }
    }

    fn diff(desired: &CacheState, actual: &CacheState) -> Diff {
        Diff::new().field(
            "url",
            desired.upstream_url().unwrap_or_default(),
            actual.upstream_url(),
        )
    }
}

#[async_trait]
impl RequestLog for MemoryBackend {
    async fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait]
impl PullThroughBackend for MemoryBackend {
    fn vendor(&self) -> &str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new("memory", NameCase::Sensitive)
            .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
    }

    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        KEY_RULES.check(spec.name.as_str())?;
        spec.validate()?;
        self.capabilities().check(spec)
    }

    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        let desired = Self::desired(spec);
        Ok(match self.describe(&spec.name).await? {
            None => Plan::create(
                spec.name.clone(),
                Self::diff(&desired, &desired.clone().with_description("")).into_changes(),
            ),
            Some(actual) => Plan::update(
                spec.name.clone(),
                Self::diff(&desired, &actual).into_changes(),
            ),
        })
    }

    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        if self.flaw == Flaw::ChecksAfterSending {
            self.record(Method::GET, &spec.name);
        }
        self.check_spec(spec)?;
        let desired = Self::desired(spec);
        let existing = self.describe(&spec.name).await?;
        match existing {
            None => {
                self.record(Method::PUT, &spec.name);
                self.caches
                    .lock()
                    .unwrap()
                    .insert(spec.name.clone(), desired.clone());
                Ok(Ensured::Created { state: desired })
            }
            Some(actual) => {
                let changes = Self::diff(&desired, &actual).into_changes();
                if changes.is_empty() && self.flaw != Flaw::WritesEveryEnsure {
                    return Ok(Ensured::Unchanged { state: actual });
                }
                self.record(Method::POST, &spec.name);
                self.caches
                    .lock()
                    .unwrap()
                    .insert(spec.name.clone(), desired.clone());
                Ok(Ensured::Updated {
                    state: desired,
                    changes,
                })
            }
        }
    }

    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        self.record(Method::GET, name);
        let found = self.caches.lock().unwrap().get(name).cloned();
        if found.is_none() && self.flaw == Flaw::DescribeAbsentIsError {
            return Err(Error::from_api(
                pull_through_core::ApiError::new(
                    "memory",
                    Method::GET,
                    "mem://",
                    http::StatusCode::NOT_FOUND,
                    "absent",
                ),
                None,
            ));
        }
        Ok(found)
    }

    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        Ok(self.caches.lock().unwrap().values().cloned().collect())
    }

    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        self.record(Method::DELETE, name);
        Ok(match self.caches.lock().unwrap().remove(name) {
            Some(_) => Deleted::Removed,
            None => Deleted::AlreadyAbsent,
        })
    }

    fn client_access(
        &self,
        state: &CacheState,
        _login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        Ok(ClientAccess::new(state.name.clone()))
    }

    async fn verify(&self, state: &CacheState, _probe: &Probe) -> Result<Verification, Error> {
        Ok(Verification::new(state.name.clone()))
    }
}

fn fixtures() -> Fixtures {
    Fixtures::new(
        CacheSpec::remote(
            CacheName::new("conformance-public").unwrap(),
            Upstream::CgrPublic,
        ),
        CacheSpec::remote(CacheName::new("bad_key!").unwrap(), Upstream::CgrPublic),
    )
    .with_unsupported(CacheSpec::remote(
        CacheName::new("wolfi").unwrap(),
        Upstream::Wolfi,
    ))
}

#[tokio::test]
async fn a_backend_that_keeps_the_contract_passes() {
    let backend = MemoryBackend::new(Flaw::None);
    conformance::run_all(&backend, &backend, &fixtures()).await;
    assert!(
        backend.caches.lock().unwrap().is_empty(),
        "run_all leaves the backend as it found it"
    );
}

/// Runs the suite in its own task so its panic can be inspected.
async fn failure_of(flaw: Flaw) -> String {
    let outcome = tokio::spawn(async move {
        let backend = MemoryBackend::new(flaw);
        conformance::run_all(&backend, &backend, &fixtures()).await;
    })
    .await;
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
async fn a_backend_that_writes_on_every_ensure_fails() {
    let message = failure_of(Flaw::WritesEveryEnsure).await;
    assert!(message.contains("second ensure"), "{message}");
}

#[tokio::test]
async fn a_backend_whose_describe_errors_on_absent_fails() {
    let message = failure_of(Flaw::DescribeAbsentIsError).await;
    assert!(message.contains("must be Ok(None)"), "{message}");
}

#[tokio::test]
async fn a_backend_whose_requests_are_not_logged_fails() {
    let message = failure_of(Flaw::LogsNothing).await;
    assert!(message.contains("saw no write"), "{message}");
}

#[tokio::test]
async fn a_backend_that_sends_before_checking_fails() {
    let message = failure_of(Flaw::ChecksAfterSending).await;
    assert!(message.contains("must send no request"), "{message}");
}
