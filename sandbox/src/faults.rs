//! Injected faults: random ones reproducible from a seed, and targeted rules.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

mod draw;

/// A fault the sandbox answers with: instead of the fake's real answer (every kind but
/// [`LostAnswer`](FaultKind::LostAnswer)), or after the fake performed the request and
/// changed its state ([`LostAnswer`](FaultKind::LostAnswer)).
///
/// ```
/// use pull_through_sandbox::FaultKind;
/// let json = serde_json::to_value(FaultKind::TooManyRequests { retry_after_secs: 2 }).unwrap();
/// assert_eq!(json, serde_json::json!({"kind": "too_many_requests", "retry_after_secs": 2}));
/// let lost: FaultKind = serde_json::from_value(serde_json::json!({"kind": "lost_answer", "status": 502})).unwrap();
/// assert_eq!(lost, FaultKind::LostAnswer { status: Some(502) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// An error status (500, 502, 503, 504) with a short text body; the request never
    /// reaches the fake.
    Status {
        /// The status.
        status: u16,
    },
    /// 429 with `Retry-After` in seconds; the request never reaches the fake.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// The connection is closed without an answer; the request never reaches the fake.
    DropConnection,
    /// The fake performs the request (a create creates, a delete deletes), then its answer
    /// is lost on the way back: the client gets `status` (a gateway's 502, say) or, with
    /// no status, a connection closed without an answer. What a proxy or a network
    /// failure does to a real API, and the case a client cannot tell from a request that
    /// never arrived.
    LostAnswer {
        /// What the client gets instead of the answer; `None` drops the connection.
        #[serde(default)]
        status: Option<u16>,
    },
}

impl FaultKind {
    /// The faults that replace the request, which the fake never sees: 500, 502, 503,
    /// 429 with `Retry-After: 1`, and a dropped connection.
    ///
    /// ```
    /// # use pull_through_sandbox::FaultKind;
    /// assert!(FaultKind::UNPROCESSED_MIX.iter().all(|kind| !kind.performs_request()));
    /// ```
    pub const UNPROCESSED_MIX: [FaultKind; 5] = [
        FaultKind::Status { status: 500 },
        FaultKind::Status { status: 502 },
        FaultKind::Status { status: 503 },
        FaultKind::TooManyRequests {
            retry_after_secs: 1,
        },
        FaultKind::DropConnection,
    ];

    /// The lost answers: the request performed, then a 502 or a dropped connection.
    ///
    /// ```
    /// # use pull_through_sandbox::FaultKind;
    /// assert!(FaultKind::LOST_ANSWER_MIX.iter().all(FaultKind::performs_request));
    /// ```
    pub const LOST_ANSWER_MIX: [FaultKind; 2] = [
        FaultKind::LostAnswer { status: Some(502) },
        FaultKind::LostAnswer { status: None },
    ];

    /// The kinds random faults draw from by default, each as likely: every kind of
    /// [`UNPROCESSED_MIX`](Self::UNPROCESSED_MIX) and of
    /// [`LOST_ANSWER_MIX`](Self::LOST_ANSWER_MIX).
    ///
    /// ```
    /// # use pull_through_sandbox::FaultKind;
    /// assert!(FaultKind::DEFAULT_MIX.contains(&FaultKind::DropConnection));
    /// assert!(FaultKind::DEFAULT_MIX.contains(&FaultKind::LostAnswer { status: None }));
    /// ```
    pub const DEFAULT_MIX: [FaultKind; 7] = [
        FaultKind::Status { status: 500 },
        FaultKind::Status { status: 502 },
        FaultKind::Status { status: 503 },
        FaultKind::TooManyRequests {
            retry_after_secs: 1,
        },
        FaultKind::DropConnection,
        FaultKind::LostAnswer { status: Some(502) },
        FaultKind::LostAnswer { status: None },
    ];

    /// Whether the fake performs the request before this fault hides its answer.
    ///
    /// ```
    /// # use pull_through_sandbox::FaultKind;
    /// assert!(FaultKind::LostAnswer { status: Some(502) }.performs_request());
    /// assert!(!FaultKind::Status { status: 502 }.performs_request());
    /// ```
    pub fn performs_request(&self) -> bool {
        matches!(self, FaultKind::LostAnswer { .. })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            FaultKind::Status { status } => format!("status {status}"),
            FaultKind::TooManyRequests { retry_after_secs } => {
                format!("429 with Retry-After: {retry_after_secs}")
            }
            FaultKind::DropConnection => "dropped connection".to_owned(),
            FaultKind::LostAnswer {
                status: Some(status),
            } => {
                format!("lost answer: the request was performed, then status {status}")
            }
            FaultKind::LostAnswer { status: None } => {
                "lost answer: the request was performed, then a dropped connection".to_owned()
            }
        }
    }
}

/// A fault for requests that match: by service, method and path prefix, for a number of
/// requests or for all of them.
///
/// ```
/// use pull_through_sandbox::{FaultKind, FaultRule};
/// let rule = FaultRule::new(FaultKind::Status { status: 503 })
///     .service("artifactory")
///     .method("PUT")
///     .path_prefix("/artifactory/api/repositories/cg-private")
///     .times(2);
/// assert_eq!(rule.remaining, Some(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultRule {
    /// Only this service, if set.
    pub service: Option<String>,
    /// Only this method, if set (upper case).
    pub method: Option<String>,
    /// Only paths starting with this.
    #[serde(default)]
    pub path_prefix: String,
    /// What to answer.
    pub fault: FaultKind,
    /// How many more requests it applies to; `None` for all.
    pub remaining: Option<u32>,
}

impl FaultRule {
    /// A rule matching every request, forever.
    ///
    /// ```
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// let rule = FaultRule::new(FaultKind::DropConnection);
    /// assert_eq!(rule.remaining, None);
    /// ```
    pub fn new(fault: FaultKind) -> Self {
        FaultRule {
            service: None,
            method: None,
            path_prefix: String::new(),
            fault,
            remaining: None,
        }
    }

    /// Only requests to this service.
    ///
    /// ```
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// let rule = FaultRule::new(FaultKind::DropConnection).service("artifactory");
    /// assert_eq!(rule.service.as_deref(), Some("artifactory"));
    /// ```
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Only requests with this method.
    ///
    /// ```
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// assert_eq!(FaultRule::new(FaultKind::DropConnection).method("put").method.as_deref(), Some("PUT"));
    /// ```
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    /// Only paths starting with this.
    ///
    /// ```
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// let rule = FaultRule::new(FaultKind::DropConnection).path_prefix("/v2/");
    /// assert_eq!(rule.path_prefix, "/v2/");
    /// ```
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// Only the next `count` matching requests.
    ///
    /// ```
    /// # use pull_through_sandbox::{FaultKind, FaultRule};
    /// assert_eq!(FaultRule::new(FaultKind::DropConnection).times(3).remaining, Some(3));
    /// ```
    pub fn times(mut self, count: u32) -> Self {
        self.remaining = Some(count);
        self
    }

    fn matches(&self, service: &str, method: &str, path: &str) -> bool {
        self.service.as_deref().is_none_or(|s| s == service)
            && self.method.as_deref().is_none_or(|m| m == method)
            && path.starts_with(&self.path_prefix)
    }
}

/// Random faults: each request's fault is drawn from `seed`, what the request is (its
/// service, method and path, with the ids the fakes make up generalized) and how many such
/// requests came before it, so the same seed and the same requests give the same faults
/// whatever order requests of different kinds arrive in. Requests of one kind that
/// overlap (two identities created at once) take that kind's draws in the order they
/// arrive, which no seed controls.
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// use pull_through_sandbox::{FaultKind, Sandbox};
/// let sandbox = Sandbox::builder()
///     .random_faults_of(0.2, 7, vec![FaultKind::Status { status: 503 }])
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RandomFaults {
    /// The probability that a request gets a fault, from 0 to 1.
    pub rate: f64,
    /// The seed.
    pub seed: u64,
    /// The kinds to draw from.
    pub kinds: Vec<FaultKind>,
}

/// The fault injector of a running sandbox. Cheap to clone.
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};
/// let sandbox = Sandbox::builder().start().await?;
/// let faults = sandbox.faults();
/// faults.add(FaultRule::new(FaultKind::Status { status: 502 }).times(1));
/// assert_eq!(faults.rules().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultsInner>>,
}

#[derive(Debug, Default)]
struct FaultsInner {
    rules: Vec<FaultRule>,
    random: Option<(RandomFaults, draw::Draws)>,
}

impl Faults {
    pub(crate) fn with_random(random: Option<RandomFaults>) -> Self {
        let faults = Faults::default();
        faults.lock().random = random.map(|config| (config, draw::Draws::default()));
        faults
    }

    /// Removes the rules and restarts random faults from their seed, so a run after a
    /// reset sees the same faults as the first run.
    pub(crate) fn reset(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        if let Some((_, draws)) = &mut inner.random {
            draws.reset();
        }
    }

    fn lock(&self) -> MutexGuard<'_, FaultsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule; rules are checked in the order added, before random faults. A rule
    /// for zero requests does nothing and is not kept.
    ///
    /// ```
    /// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
    /// # use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};
    /// let sandbox = Sandbox::builder().start().await?;
    /// sandbox.faults().add(FaultRule::new(FaultKind::TooManyRequests { retry_after_secs: 1 }).service("cgr.dev"));
    /// # Ok(()) }
    /// ```
    pub fn add(&self, rule: FaultRule) {
        if rule.remaining != Some(0) {
            self.lock().rules.push(rule);
        }
    }

    /// Removes every rule (random faults stay).
    ///
    /// ```
    /// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
    /// # use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};
    /// let sandbox = Sandbox::builder().start().await?;
    /// sandbox.faults().add(FaultRule::new(FaultKind::DropConnection));
    /// sandbox.faults().clear();
    /// assert!(sandbox.faults().rules().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Stops random faults for the rest of the sandbox's life (a reset does not bring them
    /// back); rules stay. A test that drove a run through faults can then check the
    /// result with a clean run. `DELETE /_sandbox/faults/random` does the same.
    ///
    /// ```
    /// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
    /// # use pull_through_sandbox::Sandbox;
    /// let sandbox = Sandbox::builder().random_faults(1.0, 7).start().await?;
    /// sandbox.faults().stop_random();
    /// // Every request now reaches its fake.
    /// # Ok(()) }
    /// ```
    pub fn stop_random(&self) {
        self.lock().random = None;
    }

    /// The rules still in force.
    ///
    /// ```
    /// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
    /// # use pull_through_sandbox::Sandbox;
    /// let sandbox = Sandbox::builder().start().await?;
    /// assert!(sandbox.faults().rules().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    /// Decides the fault for one request, if any. A request from another fake
    /// (`from_fake`) gets a fault only from a rule: random faults stand for the network
    /// between a client and the vendors, and such a request stands for traffic between
    /// two vendors, which no client sees or retries. It draws nothing, so the random
    /// sequence of the client's requests does not depend on how many such requests there
    /// were.
    pub(crate) fn decide(
        &self,
        service: &str,
        method: &str,
        path: &str,
        from_fake: bool,
    ) -> Option<FaultKind> {
        let mut inner = self.lock();
        if let Some(index) = inner
            .rules
            .iter()
            .position(|rule| rule.matches(service, method, path))
        {
            let rule = &mut inner.rules[index];
            let fault = rule.fault;
            if let Some(remaining) = &mut rule.remaining {
                *remaining = remaining.saturating_sub(1);
                if *remaining == 0 {
                    inner.rules.remove(index);
                }
            }
            return Some(fault);
        }
        if from_fake {
            return None;
        }
        let (config, draws) = inner.random.as_mut()?;
        let (roll, pick) = draws.next(config.seed, service, method, path, config.kinds.len());
        (roll < config.rate).then(|| config.kinds.get(pick).copied())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_and_match_narrowly() {
        let faults = Faults::default();
        faults.add(
            FaultRule::new(FaultKind::Status { status: 503 })
                .service("a")
                .method("put")
                .path_prefix("/x")
                .times(2),
        );
        assert_eq!(faults.decide("b", "PUT", "/x", false), None);
        assert_eq!(faults.decide("a", "GET", "/x", false), None);
        assert_eq!(faults.decide("a", "PUT", "/y", false), None);
        assert_eq!(
            faults.decide("a", "PUT", "/x/1", false),
            Some(FaultKind::Status { status: 503 })
        );
        assert_eq!(
            faults.decide("a", "PUT", "/x/2", false),
            Some(FaultKind::Status { status: 503 })
        );
        assert_eq!(faults.decide("a", "PUT", "/x/3", false), None);
        assert!(faults.rules().is_empty());
    }

    #[test]
    fn zero_times_is_no_rule() {
        let faults = Faults::default();
        faults.add(FaultRule::new(FaultKind::DropConnection).times(0));
        assert!(faults.rules().is_empty());
        assert_eq!(faults.decide("a", "GET", "/", false), None);
    }

    #[test]
    fn requests_from_fakes_meet_rules_but_no_random_fault() {
        let faults = Faults::with_random(Some(RandomFaults {
            rate: 1.0,
            seed: 3,
            kinds: FaultKind::DEFAULT_MIX.to_vec(),
        }));
        assert_eq!(faults.decide("cgr.dev", "GET", "/v2/", true), None);
        assert!(faults.decide("cgr.dev", "GET", "/v2/", false).is_some());
        faults.add(FaultRule::new(FaultKind::Status { status: 503 }).service("cgr.dev"));
        assert_eq!(
            faults.decide("cgr.dev", "GET", "/v2/", true),
            Some(FaultKind::Status { status: 503 })
        );
    }

    #[test]
    fn stopped_random_faults_stay_stopped_and_rules_stay() {
        let faults = Faults::with_random(Some(RandomFaults {
            rate: 1.0,
            seed: 3,
            kinds: FaultKind::DEFAULT_MIX.to_vec(),
        }));
        faults.add(FaultRule::new(FaultKind::Status { status: 503 }).path_prefix("/rule"));
        assert!(faults.decide("s", "GET", "/", false).is_some());
        faults.stop_random();
        assert_eq!(faults.decide("s", "GET", "/", false), None);
        assert_eq!(
            faults.decide("s", "GET", "/rule", false),
            Some(FaultKind::Status { status: 503 })
        );
        faults.reset();
        assert_eq!(faults.decide("s", "GET", "/", false), None);
    }

    #[test]
    fn reset_restarts_the_random_sequence() {
        let faults = Faults::with_random(Some(RandomFaults {
            rate: 0.5,
            seed: 3,
            kinds: FaultKind::DEFAULT_MIX.to_vec(),
        }));
        let first: Vec<_> = (0..50)
            .map(|_| faults.decide("s", "GET", "/", false))
            .collect();
        faults.reset();
        let again: Vec<_> = (0..50)
            .map(|_| faults.decide("s", "GET", "/", false))
            .collect();
        assert_eq!(first, again);
    }

    #[test]
    fn random_faults_repeat_with_the_seed() {
        let run = |seed| {
            let faults = Faults::with_random(Some(RandomFaults {
                rate: 0.3,
                seed,
                kinds: FaultKind::DEFAULT_MIX.to_vec(),
            }));
            (0..200)
                .map(|_| faults.decide("s", "GET", "/", false))
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let hits = first.iter().filter(|f| f.is_some()).count();
        assert!((30..=90).contains(&hits), "{hits} faults at rate 0.3");
    }
}
