//! What `verify`, `rotate` and `destroy` tell their [`Progress`]: the flow and its number
//! of caches first, then each cache started, its result, and finished exactly once, also
//! when it fails. The backend knows no cache (each is absent) except `priv`, whose every
//! read fails, so each flow meets a failure.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pull_through_core::tokens::{IssuedToken, PullTokens, TokenRecord, TokenRequest};
use pull_through_core::{
    CacheName, CacheSpec, CacheState, Capabilities, ClientAccess, ClientLogin, Deleted, Ensured,
    Error, NameCase, OrgId, OrgName, PackageFormat, Plan, Probe, PullThroughBackend, Support,
    UpstreamKind, Verification,
};
use pull_through_fleet::{
    BackendFactory, BackendTable, Config, ConfigError, ConnectContext, Connected, Deployment,
    Environment, Factories, Progress,
};

const ORG_ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn refused(what: &str) -> Error {
    Error::Unsupported {
        vendor: "absent".into(),
        what: what.to_owned(),
        hint: "the test refuses it".into(),
    }
}

/// An organization with no pull tokens, that issues none.
#[derive(Debug)]
struct NoTokens;

#[async_trait]
impl PullTokens for NoTokens {
    async fn resolve_org(&self, _: &OrgName) -> Result<OrgId, Error> {
        Ok(OrgId::new(ORG_ID)?)
    }
    async fn issue(&self, _: &OrgId, _: &TokenRequest) -> Result<IssuedToken, Error> {
        Err(refused("issuing a pull token"))
    }
    async fn list(&self, _: &OrgId) -> Result<Vec<TokenRecord>, Error> {
        Ok(Vec::new())
    }
    async fn revoke(&self, _: &str) -> Result<Deleted, Error> {
        Err(refused("revoking a pull token"))
    }
}

/// A backend where every cache is absent, and reading `priv` fails.
#[derive(Debug)]
struct Absent;

#[async_trait]
impl PullThroughBackend for Absent {
    fn vendor(&self) -> &str {
        "absent"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("absent", NameCase::Sensitive)
            .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
            .with_upstream(UpstreamKind::CgrPrivate, Support::Supported)
            .with_aggregate(PackageFormat::Docker)
    }
    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        spec.validate()?;
        self.capabilities().check(spec)
    }
    async fn plan(&self, _: &CacheSpec) -> Result<Plan, Error> {
        Err(refused("planning"))
    }
    async fn ensure(&self, _: &CacheSpec) -> Result<Ensured, Error> {
        Err(refused("writing"))
    }
    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        if name.as_str() == "priv" {
            return Err(refused("reading priv"));
        }
        Ok(None)
    }
    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &CacheName) -> Result<Deleted, Error> {
        Ok(Deleted::AlreadyAbsent)
    }
    fn client_access(
        &self,
        _: &CacheState,
        _: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        Err(refused("client access"))
    }
    async fn verify(&self, _: &CacheState, _: &Probe) -> Result<Verification, Error> {
        Err(refused("pulling"))
    }
}

struct AbsentFactory;

impl BackendFactory for AbsentFactory {
    fn kind(&self) -> &str {
        "absent"
    }
    fn fields(&self) -> &[&str] {
        &[]
    }
    fn check(&self, _: &BackendTable) -> Result<(), ConfigError> {
        Ok(())
    }
    fn connect(&self, _: &BackendTable, _: &ConnectContext<'_>) -> Result<Connected, ConfigError> {
        Ok(Connected::new(
            Arc::new(Absent),
            ClientLogin::new("me", "admin-secret", "ABSENT_TOKEN"),
            "absent://",
        ))
    }
}

const CONFIG: &str = r#"
name = "progress"
[chainguard]
org = "example.com"
[backends.absent]
type = "absent"
[[caches]]
name = "pub"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "priv"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "other"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "virt"
members = ["pub", "priv"]
"#;

/// At most this many caches at once.
const CONCURRENCY: usize = 2;

async fn deployment() -> Deployment {
    let factories = Factories::new().with(AbsentFactory);
    let config = Config::parse("progress.toml", CONFIG, &factories).unwrap();
    Deployment::connect(
        config,
        &factories,
        &Environment::fixed::<&str, &str>([]),
        Arc::new(NoTokens),
        None,
        CONCURRENCY,
    )
    .await
    .unwrap()
}

/// Every call, in order, as `begin verify 4`, `started verify pub`, `step verify pub
/// failed`, `finished pub`.
#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

impl Progress for Recorded {
    fn begin(&self, flow: &str, total: usize) {
        self.0.lock().unwrap().push(format!("begin {flow} {total}"));
    }
    fn started(&self, what: &str, subject: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("started {what} {subject}"));
    }
    fn step(&self, what: &str, subject: &str, result: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("step {what} {subject} {result}"));
    }
    fn finished(&self, subject: &str) {
        self.0.lock().unwrap().push(format!("finished {subject}"));
    }
}

impl Recorded {
    /// The calls, after checking what holds for every flow: one `begin` first; for each
    /// cache `started`, then its steps, then `finished`, each once; never more running
    /// than the concurrency.
    fn calls(&self) -> Vec<String> {
        let calls = self.0.lock().unwrap().clone();
        assert!(calls[0].starts_with("begin "), "{calls:#?}");
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("begin ")).count(),
            1,
            "{calls:#?}"
        );
        let mut running: Vec<&str> = Vec::new();
        let mut finished: Vec<&str> = Vec::new();
        for call in &calls[1..] {
            let words: Vec<&str> = call.split(' ').collect();
            match words[0] {
                "started" => {
                    let subject = words[words.len() - 1];
                    assert!(!running.contains(&subject) && !finished.contains(&subject));
                    running.push(subject);
                    assert!(running.len() <= CONCURRENCY, "{calls:#?}");
                }
                "step" => assert!(running.contains(&words[2]), "{call}: {calls:#?}"),
                "finished" => {
                    let subject = words[1];
                    assert!(running.contains(&subject), "{call}: {calls:#?}");
                    running.retain(|s| *s != subject);
                    finished.push(subject);
                }
                _ => panic!("{call}"),
            }
        }
        assert!(running.is_empty(), "{calls:#?}");
        calls
    }

    /// The calls about one subject, without it.
    fn of(calls: &[String], subject: &str) -> Vec<String> {
        calls
            .iter()
            .filter(|c| c.ends_with(&format!(" {subject}")) || c.contains(&format!(" {subject} ")))
            .map(|c| c.replace(&format!(" {subject}"), ""))
            .collect()
    }
}

#[tokio::test]
async fn verify_reports_every_cache_started_failed_and_finished() {
    let deployment = deployment().await;
    let recorded = Recorded::default();
    let results = deployment.verify(&recorded).await;
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| !r.passed));
    let calls = recorded.calls();
    assert_eq!(calls[0], "begin verify 4");
    for cache in ["pub", "priv", "other", "virt"] {
        assert_eq!(
            Recorded::of(&calls, cache),
            ["started verify", "step verify failed", "finished"],
            "{cache}: {calls:#?}"
        );
    }
    assert_eq!(calls.len(), 1 + 4 * 3);
}

#[tokio::test]
async fn rotate_reports_only_the_caches_it_rotates_also_when_they_fail() {
    let deployment = deployment().await;
    let recorded = Recorded::default();
    let outcomes = deployment.rotate(&[], &recorded).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        recorded.calls(),
        [
            "begin rotate 1",
            "started rotate priv",
            "step rotate priv failed",
            "finished priv"
        ]
    );
}

#[tokio::test]
async fn destroy_reports_every_cache_once_whether_deleted_or_failed() {
    let deployment = deployment().await;
    let recorded = Recorded::default();
    let destroyed = deployment.destroy(&recorded).await.unwrap();
    assert!(!destroyed.ok());
    let calls = recorded.calls();
    assert_eq!(calls[0], "begin destroy 4");
    // The aggregate before its members.
    assert_eq!(calls[1], "started delete virt");
    for (cache, result) in [
        ("virt", "deleted"),
        ("pub", "deleted"),
        ("other", "deleted"),
        ("priv", "failed"),
    ] {
        assert_eq!(
            Recorded::of(&calls, cache),
            [
                "started delete".to_owned(),
                format!("step delete {result}"),
                "finished".to_owned()
            ],
            "{cache}: {calls:#?}"
        );
    }
    assert_eq!(calls.len(), 1 + 4 * 3);
}
