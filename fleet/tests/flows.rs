//! The flows through the library alone: an in-memory backend (on the core's reconcile) and
//! an in-memory pull-token issuer, so each rule of the pull-token lifecycle is checked by
//! counting what was written, issued and revoked.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pull_through_core::reconcile::{self, Observed, PasswordWrite, Reconcile, Write};
use pull_through_core::tokens::{IssuedToken, PullTokens, TokenRecord, TokenRequest};
use pull_through_core::{
    AccessItem, CacheKind, CacheName, CacheSpec, CacheState, Capabilities, Check, ClientAccess,
    ClientLogin, Deleted, Ensured, Error, ExposeSecret, FieldValue, NameCase, OrgId, OrgName,
    PackageFormat, Plan, Probe, PullThroughBackend, Sensitive, Support, Upstream, UpstreamKind,
    Verification,
};
use pull_through_fleet::{
    BackendFactory, BackendTable, Config, ConfigError, ConnectContext, Connected, Deployment,
    Environment, Factories, NEW_PULL_TOKEN, NoProgress, Outcome,
};

const ORG_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Pull tokens in memory: the secret of a token is its id with `-secret`.
#[derive(Debug, Default)]
struct Tokens {
    live: Mutex<BTreeMap<String, TokenRecord>>,
    issued: AtomicUsize,
    revoked: Mutex<Vec<String>>,
}

impl Tokens {
    fn is_live(&self, id: &str, secret: &str) -> bool {
        self.live.lock().unwrap().contains_key(id) && secret == format!("{id}-secret")
    }
}

#[async_trait]
impl PullTokens for Tokens {
    async fn resolve_org(&self, _: &OrgName) -> Result<OrgId, Error> {
        Ok(OrgId::new(ORG_ID)?)
    }
    async fn issue(&self, _: &OrgId, request: &TokenRequest) -> Result<IssuedToken, Error> {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let id = format!("{ORG_ID}/{n:016x}");
        let record = TokenRecord::new(
            &id,
            &request.name,
            &request.description,
            "2999-01-01T00:00:00Z",
            false,
        );
        self.live.lock().unwrap().insert(id.clone(), record);
        let expires = SystemTime::now() + request.ttl.unwrap_or(Duration::from_secs(3600));
        Ok(IssuedToken::new(
            &id,
            format!("{id}-secret"),
            request.role,
            expires,
        ))
    }
    async fn list(&self, _: &OrgId) -> Result<Vec<TokenRecord>, Error> {
        Ok(self.live.lock().unwrap().values().cloned().collect())
    }
    async fn revoke(&self, id: &str) -> Result<Deleted, Error> {
        self.revoked.lock().unwrap().push(id.to_owned());
        Ok(match self.live.lock().unwrap().remove(id) {
            Some(_) => Deleted::Removed,
            None => Deleted::AlreadyAbsent,
        })
    }
}

/// One cache as the memory backend keeps it.
#[derive(Debug, Clone)]
struct Stored {
    spec_kind: CacheKind,
    username: Option<String>,
    password: Option<String>,
}

/// A backend in memory. Writes are counted; `fail_writes` refuses every write of a cache.
#[derive(Debug)]
struct Memory {
    caches: Mutex<BTreeMap<String, Stored>>,
    writes: AtomicUsize,
    tokens: Arc<Tokens>,
    fail_writes: Mutex<Option<String>>,
    /// Writes of this cache are made, then answered with this status: 502 as when the
    /// answer was lost, 403 as when a later step of the write was refused.
    lose_answers: Mutex<Option<(String, u16)>>,
    /// A write of this cache panics, as a bug would.
    panic_on: Mutex<Option<String>>,
    forgets: AtomicUsize,
    refuse_new_pulls: AtomicBool,
    retired: AtomicUsize,
    refuse_retire: AtomicBool,
}

impl Memory {
    fn new(tokens: Arc<Tokens>) -> Memory {
        Memory {
            caches: Mutex::default(),
            writes: AtomicUsize::new(0),
            tokens,
            fail_writes: Mutex::default(),
            lose_answers: Mutex::default(),
            panic_on: Mutex::default(),
            forgets: AtomicUsize::new(0),
            refuse_new_pulls: AtomicBool::new(false),
            retired: AtomicUsize::new(0),
            refuse_retire: AtomicBool::new(false),
        }
    }

    fn refuse(&self, name: &CacheName) -> Result<(), Error> {
        if self.panic_on.lock().unwrap().as_deref() == Some(name.as_str()) {
            panic!("a bug while writing {name}");
        }
        match self.fail_writes.lock().unwrap().as_deref() {
            Some(failing) if failing == name.as_str() => Err(Error::Unsupported {
                vendor: "memory".into(),
                what: format!("writing {name}"),
                hint: "the test refuses it".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The answer to a write that was made: lost (a 502) for the cache named so.
    fn answer<T>(&self, name: &str, made: T) -> Result<T, Error> {
        match self.lose_answers.lock().unwrap().as_ref() {
            Some((losing, status)) if losing == name => Err(Error::from_api(
                pull_through_core::error::ApiError::new(
                    "memory",
                    http::Method::PUT,
                    format!("memory://{name}"),
                    http::StatusCode::from_u16(*status).unwrap(),
                    "the write was made, then this was answered",
                ),
                None,
            )),
            _ => Ok(made),
        }
    }
}

struct Caches<'a>(&'a Memory);

#[async_trait]
impl Reconcile for Caches<'_> {
    type Resource = (String, Stored);
    fn vendor(&self) -> &str {
        "memory"
    }
    fn name_case(&self) -> NameCase {
        NameCase::Sensitive
    }
    async fn read(&self, name: &CacheName) -> Result<Option<Self::Resource>, Error> {
        Ok(self
            .0
            .caches
            .lock()
            .unwrap()
            .get(name.as_str())
            .map(|s| (name.to_string(), s.clone())))
    }
    async fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self.0.caches.lock().unwrap().keys().cloned().collect())
    }
    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        vec![("kind".into(), format!("{:?}", strip(&spec.kind)).into())]
    }
    fn observed(&self, _: &CacheSpec, (_, stored): &Self::Resource) -> Observed {
        let observed = Observed::new().with("kind", format!("{:?}", strip(&stored.spec_kind)));
        match &stored.username {
            Some(user) => observed.with_username(user.clone()),
            None => observed,
        }
    }
    async fn create(&self, spec: &CacheSpec) -> Result<Self::Resource, Error> {
        self.0.refuse(&spec.name)?;
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        let credentials = match &spec.kind {
            CacheKind::Remote(remote) => remote.credentials.clone(),
            _ => None,
        };
        let stored = Stored {
            spec_kind: spec.kind.clone(),
            username: credentials.as_ref().map(|c| c.username().to_owned()),
            password: credentials.map(|c| c.password().expose_secret().to_owned()),
        };
        self.0
            .caches
            .lock()
            .unwrap()
            .insert(spec.name.to_string(), stored.clone());
        self.0
            .answer(spec.name.as_str(), (spec.name.to_string(), stored))
    }
    async fn update(
        &self,
        spec: &CacheSpec,
        (name, old): &Self::Resource,
        write: &Write<'_>,
    ) -> Result<Self::Resource, Error> {
        self.0.refuse(&spec.name)?;
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        let mut stored = old.clone();
        stored.spec_kind = spec.kind.clone();
        if let CacheKind::Remote(remote) = &spec.kind {
            stored.username = remote.credentials.as_ref().map(|c| c.username().to_owned());
        }
        match write.password {
            PasswordWrite::Set(password) => {
                stored.password = Some(password.expose_secret().to_owned())
            }
            PasswordWrite::Clear => stored.password = None,
            _ => {}
        }
        self.0
            .caches
            .lock()
            .unwrap()
            .insert(name.clone(), stored.clone());
        self.0.answer(name, (name.clone(), stored))
    }
    fn state(&self, (name, stored): &Self::Resource) -> Result<CacheState, Error> {
        state(name, stored)
    }
}

/// The kind without credentials, to compare settings only.
fn strip(kind: &CacheKind) -> String {
    match kind {
        CacheKind::Remote(remote) => remote.upstream.to_string(),
        CacheKind::Aggregate(aggregate) => format!("{:?}", aggregate.members),
        _ => String::new(),
    }
}

fn state(name: &str, stored: &Stored) -> Result<CacheState, Error> {
    let name = CacheName::new(name)?;
    Ok(match &stored.spec_kind {
        CacheKind::Remote(remote) => {
            // Spelled the way Cloudsmith spells it, so that `destroy` must ask the
            // backend (`fronts`) rather than compare with the catalogue's URL.
            let url = match &remote.upstream {
                Upstream::CgrPublic => "https://cgr.dev/chainguard".to_owned(),
                other => other.url().to_string(),
            };
            let state = CacheState::remote(name, PackageFormat::Docker, url);
            match &stored.username {
                Some(user) => state.with_username(user.clone()),
                None => state,
            }
        }
        CacheKind::Aggregate(aggregate) => {
            CacheState::aggregate(name, PackageFormat::Docker, aggregate.members.clone())
        }
        _ => unreachable!("the tests make remotes and aggregates"),
    })
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
        spec.validate()?;
        self.capabilities().check(spec)
    }
    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        reconcile::plan(&Caches(self), spec).await
    }
    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        reconcile::ensure(&Caches(self), spec).await
    }
    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        match self.caches.lock().unwrap().get(name.as_str()) {
            Some(stored) => Ok(Some(state(name.as_str(), stored)?)),
            None => Ok(None),
        }
    }
    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        let caches = self.caches.lock().unwrap();
        caches
            .iter()
            .map(|(name, stored)| state(name, stored))
            .collect()
    }
    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        self.writes.fetch_add(1, Ordering::SeqCst);
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
        let password =
            login.map_or_else(|| "\"$TOKEN\"".to_owned(), ClientLogin::password_reference);
        Ok(
            ClientAccess::new(state.name.clone()).with(AccessItem::DockerLogin {
                registry: "memory.example".into(),
                username: "me".into(),
                password: Sensitive::new(password.clone(), password),
            }),
        )
    }
    /// Passes when a private remote's stored password is a live token's.
    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        let mut verification = Verification::new(state.name.clone());
        let stored = self
            .caches
            .lock()
            .unwrap()
            .get(state.name.as_str())
            .cloned();
        let pulls = match stored {
            Some(Stored {
                username: Some(user),
                password: Some(password),
                ..
            }) => {
                !self.refuse_new_pulls.load(Ordering::SeqCst)
                    && self.tokens.is_live(&user, &password)
            }
            Some(_) => true,
            None => false,
        };
        verification.push(if pulls {
            Check::passed(probe.to_string(), "sha256:0", Duration::ZERO)
        } else {
            Check::failed(
                probe.to_string(),
                "401 Unauthorized",
                Some("check the pull token".into()),
                Duration::ZERO,
            )
        });
        Ok(verification)
    }
    async fn forget(&self, _: &CacheName, _: &Probe) -> Result<Deleted, Error> {
        self.forgets.fetch_add(1, Ordering::SeqCst);
        Ok(Deleted::Removed)
    }
    fn fronts(&self, upstream: &Upstream, upstream_url: &str) -> bool {
        match upstream {
            Upstream::CgrPublic => upstream_url == "https://cgr.dev/chainguard",
            other => other.matches_url(upstream_url),
        }
    }
    async fn retire_credentials(&self, name: &CacheName) -> Result<Vec<String>, Error> {
        self.retired.fetch_add(1, Ordering::SeqCst);
        if self.refuse_retire.load(Ordering::SeqCst) {
            return Err(Error::Unsupported {
                vendor: "memory".into(),
                what: format!("retiring the old password of {name}"),
                hint: "the test refuses it".into(),
            });
        }
        Ok(vec![format!("the old password of {name}")])
    }
}

/// `type = "memory"`: hands out the one backend the test holds.
struct MemoryFactory(Arc<Memory>);

impl BackendFactory for MemoryFactory {
    fn kind(&self) -> &str {
        "memory"
    }
    fn fields(&self) -> &[&str] {
        &[]
    }
    fn check(&self, _: &BackendTable) -> Result<(), ConfigError> {
        Ok(())
    }
    fn connect(&self, _: &BackendTable, _: &ConnectContext<'_>) -> Result<Connected, ConfigError> {
        Ok(Connected::new(
            self.0.clone(),
            ClientLogin::new("me", "admin-secret", "MEMORY_TOKEN"),
            "memory://",
        ))
    }
}

const CONFIG: &str = r#"
name = "mem"
[chainguard]
org = "example.com"
[backends.mem]
type = "memory"
[[caches]]
name = "pub"
upstream = "cgr.dev/chainguard"
[[caches]]
name = "priv"
upstream = "cgr.dev/{org}"
pull_token = "registry.pull"
[[caches]]
name = "virt"
members = ["pub", "priv"]
"#;

struct World {
    memory: Arc<Memory>,
    tokens: Arc<Tokens>,
    deployment: Deployment,
}

async fn world() -> World {
    let tokens = Arc::new(Tokens::default());
    let memory = Arc::new(Memory::new(tokens.clone()));
    let factories = Factories::new().with(MemoryFactory(memory.clone()));
    let config = Config::parse("mem.toml", CONFIG, &factories).unwrap();
    let deployment = Deployment::connect(
        config,
        &factories,
        &Environment::fixed::<&str, &str>([]),
        tokens.clone(),
        None,
        2,
    )
    .await
    .unwrap();
    World {
        memory,
        tokens,
        deployment,
    }
}

impl World {
    fn writes(&self) -> usize {
        self.memory.writes.swap(0, Ordering::SeqCst)
    }
    fn live_tokens(&self) -> Vec<String> {
        self.tokens.live.lock().unwrap().keys().cloned().collect()
    }
    fn stored_user(&self, cache: &str) -> Option<String> {
        self.memory
            .caches
            .lock()
            .unwrap()
            .get(cache)
            .and_then(|s| s.username.clone())
    }
}

#[tokio::test]
async fn apply_makes_one_token_per_private_cache_and_a_second_apply_writes_nothing() {
    let world = world().await;
    let plans = world.deployment.plan().await.unwrap();
    let private = plans
        .iter()
        .find(|p| p.plan.as_ref().is_some_and(|p| p.cache.as_str() == "priv"))
        .unwrap();
    assert_eq!(
        private.pull_token.as_ref().map(|t| t.action),
        Some("create")
    );
    assert!(
        private
            .plan
            .as_ref()
            .unwrap()
            .to_string()
            .contains(NEW_PULL_TOKEN)
    );
    assert_eq!(world.writes(), 0, "plan writes nothing");

    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let results: Vec<(&str, Outcome)> = outcomes
        .iter()
        .map(|o| (o.cache.as_str(), o.result))
        .collect();
    assert_eq!(
        results,
        [
            ("pub", Outcome::Created),
            ("priv", Outcome::Created),
            ("virt", Outcome::Created)
        ]
    );
    assert_eq!(world.writes(), 3);
    assert_eq!(world.live_tokens().len(), 1);
    assert_eq!(
        world.stored_user("priv"),
        world.live_tokens().first().cloned()
    );
    assert!(
        outcomes[1].new_token.is_some(),
        "the new token is handed to the caller once"
    );
    assert!(
        world
            .deployment
            .verify(&NoProgress)
            .await
            .iter()
            .all(|v| v.passed)
    );

    let again = world.deployment.apply(&NoProgress).await.unwrap();
    assert!(
        again.iter().all(|o| o.result == Outcome::Unchanged),
        "{again:?}"
    );
    assert_eq!(again[1].pull_token.as_ref().map(|t| t.action), Some("kept"));
    assert!(again[1].new_token.is_none());
    assert_eq!(
        (world.writes(), world.tokens.issued.load(Ordering::SeqCst)),
        (0, 1)
    );
    assert!(
        world
            .deployment
            .plan()
            .await
            .unwrap()
            .iter()
            .all(|p| !p.has_changes())
    );
}

#[tokio::test]
async fn a_token_left_by_a_killed_run_is_revoked_once_the_cache_holds_a_new_one() {
    let world = world().await;
    // A run made the token, then died before the cache was written.
    let orphan = world
        .tokens
        .issue(
            &OrgId::new(ORG_ID).unwrap(),
            &TokenRequest::new(
                pull_through_core::PullTokenRole::RegistryPull,
                "pull-through priv",
            )
            .with_description("pull-through config=mem cache=priv"),
        )
        .await
        .unwrap();
    let plans = world.deployment.plan().await.unwrap();
    assert!(
        plans
            .iter()
            .any(|p| p.revoke == [orphan.identity_id.clone()]),
        "{plans:?}"
    );

    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    assert!(outcomes.iter().all(|o| o.ok()));
    assert_eq!(
        outcomes[1].revoked,
        std::slice::from_ref(&orphan.identity_id)
    );
    assert_eq!(world.live_tokens().len(), 1);
    assert_ne!(world.live_tokens()[0], orphan.identity_id);
}

#[tokio::test]
async fn a_cache_that_cannot_be_written_gets_its_new_token_revoked_and_its_aggregate_skipped() {
    let world = world().await;
    *world.memory.fail_writes.lock().unwrap() = Some("priv".into());
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let results: Vec<(&str, Outcome)> = outcomes
        .iter()
        .map(|o| (o.cache.as_str(), o.result))
        .collect();
    assert_eq!(
        results,
        [
            ("pub", Outcome::Created),
            ("priv", Outcome::Failed),
            ("virt", Outcome::Skipped)
        ]
    );
    assert!(
        outcomes[1].pull_token.is_none(),
        "the token it never received is gone"
    );
    assert!(world.live_tokens().is_empty());
    assert_eq!(world.tokens.revoked.lock().unwrap().len(), 1);

    // The next run converges without duplicates.
    *world.memory.fail_writes.lock().unwrap() = None;
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    assert!(outcomes.iter().all(|o| o.ok()), "{outcomes:?}");
    assert_eq!(world.live_tokens().len(), 1);
    assert_eq!(world.memory.caches.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn rotate_revokes_the_old_token_only_after_a_pull_with_the_new_one() {
    let world = world().await;
    world.deployment.apply(&NoProgress).await.unwrap();
    let old = world.live_tokens();

    let rotated = world.deployment.rotate(&[], &NoProgress).await.unwrap();
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].result, Outcome::Rotated);
    assert_eq!(rotated[0].revoked, old);
    assert_eq!(
        world.memory.forgets.load(Ordering::SeqCst),
        1,
        "the probe's path is cleared first"
    );
    assert_eq!(rotated[0].notes, ["retired the old password of priv"]);
    assert_eq!(world.memory.retired.load(Ordering::SeqCst), 1);
    let new = world.live_tokens();
    assert_eq!(new.len(), 1);
    assert_eq!(world.stored_user("priv"), new.first().cloned());

    // A pull that fails with the new token: the old one is kept, and the outcome says so.
    world.memory.refuse_new_pulls.store(true, Ordering::SeqCst);
    let failed = world
        .deployment
        .rotate(&["priv".to_owned()], &NoProgress)
        .await
        .unwrap();
    assert_eq!(failed[0].result, Outcome::Failed);
    assert!(failed[0].revoked.is_empty());
    let error = failed[0].error.as_deref().unwrap();
    assert!(
        error.contains(&format!("the old pull token ({}) was not revoked", new[0])),
        "{error}"
    );
    assert_eq!(world.live_tokens().len(), 2);
    assert_eq!(
        world.memory.retired.load(Ordering::SeqCst),
        1,
        "nothing is retired when the pull with the new password failed"
    );

    // Retiring fails after a good pull: the rotation stands, the old token is revoked,
    // and a note says what is left to do.
    world.memory.refuse_new_pulls.store(false, Ordering::SeqCst);
    world.memory.refuse_retire.store(true, Ordering::SeqCst);
    let rotated = world
        .deployment
        .rotate(&["priv".to_owned()], &NoProgress)
        .await
        .unwrap();
    assert_eq!(rotated[0].result, Outcome::Rotated);
    assert_eq!(rotated[0].revoked.len(), 2, "{rotated:?}");
    assert_eq!(rotated[0].notes.len(), 1);
    assert!(
        rotated[0].notes[0].starts_with(
            "the cache uses the new pull token, but the copies of the old password it kept could not be retired"
        ),
        "{:?}",
        rotated[0].notes
    );
}

#[tokio::test]
async fn destroy_deletes_aggregates_first_then_revokes_the_configs_tokens() {
    let world = world().await;
    world.deployment.apply(&NoProgress).await.unwrap();
    world.writes();
    let destroyed = world.deployment.destroy(&NoProgress).await.unwrap();
    assert!(destroyed.ok(), "{destroyed:?}");
    let order: Vec<&str> = destroyed.caches.iter().map(|c| c.cache.as_str()).collect();
    assert_eq!(
        order.first(),
        Some(&"virt"),
        "the aggregate before its members"
    );
    assert_eq!(destroyed.revoked.len(), 1);
    assert!(world.live_tokens().is_empty());
    assert!(world.memory.caches.lock().unwrap().is_empty());

    let status = world.deployment.status().await.unwrap();
    assert!(status.caches.iter().all(|c| !c.exists));
    assert!(status.pull_tokens.is_empty());
}

#[tokio::test]
async fn a_token_whose_cache_write_answer_was_lost_is_kept_not_revoked_under_the_cache() {
    for (status, said) in [
        (502, "the cache holds the new pull token"),
        (403, "the cache holds the new pull token"),
    ] {
        a_token_the_cache_may_hold_is_kept(status, said).await;
    }
}

/// A write of a new token that landed, answered with `status`.
async fn a_token_the_cache_may_hold_is_kept(status: u16, said: &str) {
    let world = world().await;
    world.deployment.apply(&NoProgress).await.unwrap();
    // Its token revoked behind our back: the next apply makes a new one and writes it,
    // and the answer to that write is lost.
    let first = world.stored_user("priv").unwrap();
    world.tokens.live.lock().unwrap().remove(&first);
    *world.memory.lose_answers.lock().unwrap() = Some(("priv".into(), status));
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let private = outcomes.iter().find(|o| o.cache == "priv").unwrap();
    assert_eq!(private.result, Outcome::Failed, "{private:?}");
    let stored = world.stored_user("priv").expect("the write was made");
    assert_ne!(stored, first);
    assert_eq!(
        world.live_tokens(),
        std::slice::from_ref(&stored),
        "the token the cache holds is not revoked under it"
    );
    assert!(world.tokens.revoked.lock().unwrap().is_empty());
    assert_eq!(
        private.new_token.as_ref().map(|t| t.identity_id.as_str()),
        Some(stored.as_str()),
        "it is shown once, as made"
    );
    assert!(
        private.error.as_deref().unwrap_or("").contains(said),
        "{private:?}"
    );
    assert_eq!(
        private.notes,
        ["retired the old password of priv"],
        "the read confirmed it: the old password's copies go"
    );

    // The next run keeps it: no third token, no write.
    *world.memory.lose_answers.lock().unwrap() = None;
    world.writes();
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    assert!(outcomes.iter().all(|o| o.ok()), "{outcomes:?}");
    assert_eq!(world.live_tokens(), [stored]);
    assert_eq!(world.tokens.issued.load(Ordering::SeqCst), 2);
    assert_eq!(world.writes(), 0);
}

#[tokio::test]
async fn an_aggregate_whose_member_is_not_in_the_run_is_skipped_not_waited_for() {
    let mut world = world().await;
    world
        .deployment
        .config
        .caches
        .retain(|cache| cache.name.as_str() != "priv");
    let outcomes =
        tokio::time::timeout(Duration::from_secs(30), world.deployment.apply(&NoProgress))
            .await
            .expect("apply ends")
            .unwrap();
    let results: Vec<(&str, Outcome)> = outcomes
        .iter()
        .map(|o| (o.cache.as_str(), o.result))
        .collect();
    assert_eq!(
        results,
        [("pub", Outcome::Created), ("virt", Outcome::Skipped)]
    );
    assert!(
        outcomes[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not in this run's config"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_token_replaced_by_apply_has_the_old_password_retired_and_a_first_token_none() {
    let world = world().await;
    world.deployment.apply(&NoProgress).await.unwrap();
    assert_eq!(
        world.memory.retired.load(Ordering::SeqCst),
        0,
        "a cache's first token replaces nothing"
    );
    let first = world.stored_user("priv").unwrap();
    world.tokens.live.lock().unwrap().remove(&first);
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let private = outcomes.iter().find(|o| o.cache == "priv").unwrap();
    assert_eq!(private.result, Outcome::Updated, "{private:?}");
    assert_eq!(world.memory.retired.load(Ordering::SeqCst), 1);
    assert_eq!(private.notes, ["retired the old password of priv"]);

    // A retirement that fails is a note, not a failure: the cache works.
    let replaced = world.stored_user("priv").unwrap();
    world.tokens.live.lock().unwrap().remove(&replaced);
    world.memory.refuse_retire.store(true, Ordering::SeqCst);
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let private = outcomes.iter().find(|o| o.cache == "priv").unwrap();
    assert!(private.ok(), "{private:?}");
    assert!(
        private.notes[0].contains("could not be retired"),
        "{private:?}"
    );
}

#[tokio::test]
async fn a_panic_in_one_cache_fails_it_alone_and_its_new_token_is_revoked() {
    let world = world().await;
    *world.memory.panic_on.lock().unwrap() = Some("priv".into());
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    let results: Vec<(&str, Outcome)> = outcomes
        .iter()
        .map(|o| (o.cache.as_str(), o.result))
        .collect();
    assert_eq!(
        results,
        [
            ("pub", Outcome::Created),
            ("priv", Outcome::Failed),
            ("virt", Outcome::Skipped)
        ]
    );
    assert!(
        outcomes[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("a panic"),
        "{outcomes:?}"
    );
    // The token made for it, never written, is not lost: revoked.
    assert!(world.live_tokens().is_empty(), "{:?}", world.live_tokens());
    assert_eq!(world.tokens.revoked.lock().unwrap().len(), 1);

    *world.memory.panic_on.lock().unwrap() = None;
    let outcomes = world.deployment.apply(&NoProgress).await.unwrap();
    assert!(outcomes.iter().all(|o| o.ok()), "{outcomes:?}");
}
