//! `apply`: pull tokens first, then remotes, then aggregates layer by layer; each step
//! concurrent within itself. A cache that fails leaves the others done; a re-run
//! converges because every step reads before it writes.

use std::collections::BTreeMap;

use pull_through_core::listing::Listing;
use pull_through_core::tokens::IssuedToken;
use pull_through_core::{
    CacheState, Ensured, Error, ExposeSecret, FieldChange, PullTokenRole, UpstreamCredentials,
};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use crate::Deployment;
use crate::config::{CacheConfig, CacheIntent};
use crate::deployment::unwritten_credentials;
use crate::flows::tokens::{OwnedToken, for_cache, rfc3339};
use crate::progress::Progress;

/// What happened to one cache in `apply`, `rotate` or `destroy`; its JSON is what the
/// program prints with `--output json`.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// for outcome in deployment.apply(&pull_through_fleet::NoProgress).await? {
///     if let Some(token) = &outcome.new_token {
///         // Shown only here, once: store it where the cache's users read it.
///         println!("{} made pull token {}", outcome.cache, token.identity_id);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CacheOutcome {
    /// The cache.
    pub cache: String,
    /// The backend's name.
    pub backend: String,
    /// What was done.
    pub result: Outcome,
    /// The settings written (apply: changed settings; create: none listed).
    pub changes: Vec<FieldChange>,
    /// Its pull token, for a private upstream.
    pub pull_token: Option<TokenOutcome>,
    /// Tokens revoked because the cache no longer uses them.
    pub revoked: Vec<String>,
    /// Tokens that should have been revoked but could not be, with why; a re-run retries.
    pub not_revoked: Vec<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// What a person should know although nothing failed (a check pull that may have
    /// been answered from the cache).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The cache as it now is.
    #[serde(skip)]
    pub state: Option<CacheState>,
    /// A token made by this run, for `--secrets-out`.
    #[serde(skip)]
    pub new_token: Option<IssuedToken>,
}

/// What was done to a cache.
///
/// ```
/// use pull_through_fleet::Outcome;
/// assert_eq!(serde_json::to_value(Outcome::AlreadyAbsent).unwrap(), "already_absent");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Made.
    Created,
    /// Settings changed.
    Updated,
    /// Already as configured; nothing written.
    Unchanged,
    /// New credentials written and a pull through them verified.
    Rotated,
    /// Deleted.
    Deleted,
    /// Nothing to delete.
    AlreadyAbsent,
    /// A step failed; see `error`.
    Failed,
    /// Not attempted because something it needs failed.
    Skipped,
}

/// A cache's pull token after the run.
///
/// ```no_run
/// # fn example(outcome: &pull_through_fleet::CacheOutcome) {
/// if let Some(token) = &outcome.pull_token {
///     println!("{} {} ({}), expires {}", token.action, token.identity_id, token.role, token.expires_at);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct TokenOutcome {
    /// `created` or `kept`.
    pub action: &'static str,
    /// The identity (the username the cache presents).
    pub identity_id: String,
    /// `registry.pull` or `apk.pull`.
    pub role: String,
    /// When it expires.
    pub expires_at: String,
}

impl CacheOutcome {
    pub(crate) fn new(cache: &CacheConfig, result: Outcome) -> CacheOutcome {
        CacheOutcome {
            cache: cache.name.to_string(),
            backend: cache.backend.clone(),
            result,
            changes: Vec::new(),
            pull_token: None,
            revoked: Vec::new(),
            not_revoked: Vec::new(),
            error: None,
            notes: Vec::new(),
            state: None,
            new_token: None,
        }
    }

    pub(crate) fn failed(
        cache: &CacheConfig,
        result: Outcome,
        error: impl ToString,
    ) -> CacheOutcome {
        CacheOutcome {
            error: Some(error.to_string()),
            ..CacheOutcome::new(cache, result)
        }
    }

    /// Whether it ended as configured, with no token left that should have been revoked.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let outcomes = deployment.apply(&pull_through_fleet::NoProgress).await?;
    /// let failed: Vec<&str> = outcomes.iter().filter(|o| !o.ok()).map(|o| o.cache.as_str()).collect();
    /// # Ok(()) }
    /// ```
    pub fn ok(&self) -> bool {
        !matches!(self.result, Outcome::Failed | Outcome::Skipped) && self.not_revoked.is_empty()
    }

    fn ensured(mut self, ensured: Ensured) -> CacheOutcome {
        self.result = match &ensured {
            Ensured::Created { .. } => Outcome::Created,
            Ensured::Updated { changes, .. } => {
                self.changes = changes.clone();
                Outcome::Updated
            }
            _ => Outcome::Unchanged,
        };
        self.state = Some(ensured.state().clone());
        self
    }
}

/// What the caches of one apply share.
struct Run<'a> {
    tokens: Vec<OwnedToken>,
    listings: BTreeMap<String, Listing>,
    /// Calls to the cache backends.
    backends: Semaphore,
    /// Pull tokens made (mostly processor time: their keys).
    chainguard: Semaphore,
    /// Each cache done so far, and whether it ended as configured.
    done: watch::Sender<BTreeMap<String, bool>>,
    progress: &'a dyn Progress,
}

impl Run<'_> {
    fn listing(&self, cache: &CacheConfig) -> &Listing {
        static UNKNOWN: std::sync::OnceLock<Listing> = std::sync::OnceLock::new();
        self.listings
            .get(&cache.backend)
            .unwrap_or_else(|| UNKNOWN.get_or_init(Listing::unknown))
    }
}

/// A cache's pull token, settled before its cache is written.
enum Prepared {
    /// It keeps the token it stores.
    Kept(OwnedToken, Vec<OwnedToken>),
    /// A token made for it now; the others are to be revoked once it is written.
    Created(IssuedToken, Vec<OwnedToken>),
    /// It needs no token, but tokens made for it when it did are still there.
    Leftover(Vec<OwnedToken>),
}

/// The tokens made for `cache`.
pub(crate) fn tokens_of(tokens: &[OwnedToken], cache: &CacheConfig) -> Vec<OwnedToken> {
    tokens
        .iter()
        .filter(|t| t.cache == cache.name.as_str())
        .cloned()
        .collect()
}

impl Deployment {
    /// Applies the config, each cache as soon as what it needs is ready: a private remote
    /// gets its pull token (one per cache of a private upstream, unless the cache holds a
    /// usable one) and is then written; a public remote is written at once; an aggregate
    /// waits for its members. At most [`concurrency`](Deployment::concurrency) calls run at
    /// once against the cache backends, and as many against Chainguard, whose pull tokens
    /// take mostly processor time (their keys are made on every core while the backends'
    /// calls go on). Each backend is listed once ([`PullThroughBackend::listing`]) and each
    /// cache read at most once.
    ///
    /// A cache that fails leaves the others done; an aggregate over a failed member is
    /// skipped; a token made for a cache that then failed is revoked again; tokens a cache
    /// no longer uses are revoked once it holds a working one. A re-run converges. `Err`
    /// only when nothing could start (the pull-token list could not be read).
    ///
    /// [`PullThroughBackend::listing`]: pull_through_core::PullThroughBackend::listing
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// for outcome in deployment.apply(&pull_through_fleet::NoProgress).await? {
    ///     println!("{} {:?} {:?}", outcome.cache, outcome.result, outcome.error);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn apply(&self, progress: &dyn Progress) -> Result<Vec<CacheOutcome>, Error> {
        let (tokens, listings) = futures::join!(self.owned_tokens(), self.listings());
        let tokens = tokens?;
        progress.begin("apply", self.config.caches.len());
        let run = Run {
            tokens,
            listings,
            // The field is public: a caller's 0 would mean no progress at all.
            backends: Semaphore::new(self.concurrency.max(1)),
            chainguard: Semaphore::new(self.concurrency.max(1)),
            done: watch::channel(BTreeMap::new()).0,
            progress,
        };
        // Tokens take longest, so private remotes queue first for the semaphores (which
        // are fair); aggregates queue only once their members are done.
        let order = self.apply_order();
        let (private, rest): (Vec<&CacheConfig>, Vec<&CacheConfig>) =
            order.into_iter().partition(|cache| {
                matches!(
                    cache.kind,
                    CacheIntent::Remote {
                        pull_token: Some(_),
                        ..
                    }
                )
            });
        let mut outcomes: BTreeMap<String, CacheOutcome> = futures::future::join_all(
            private
                .into_iter()
                .chain(rest)
                .map(|cache| self.apply_scheduled(cache, &run)),
        )
        .await
        .into_iter()
        .map(|outcome| (outcome.cache.clone(), outcome))
        .collect();
        Ok(self
            .config
            .caches
            .iter()
            .filter_map(|cache| outcomes.remove(cache.name.as_str()))
            .collect())
    }

    /// One cache of an apply, from waiting for what it needs to telling the others it is
    /// done.
    async fn apply_scheduled(&self, cache: &CacheConfig, run: &Run<'_>) -> CacheOutcome {
        let name = cache.name.as_str();
        let outcome = match &cache.kind {
            CacheIntent::Aggregate { members } => {
                let mut done = run.done.subscribe();
                // The sender lives in `run` until every cache is done, so this ends.
                let finished = done
                    .wait_for(|done| members.iter().all(|m| done.contains_key(m.as_str())))
                    .await
                    .map(|done| {
                        members
                            .iter()
                            .find(|m| done.get(m.as_str()) != Some(&true))
                            .cloned()
                    });
                match finished {
                    Ok(Some(member)) => CacheOutcome::failed(
                        cache,
                        Outcome::Skipped,
                        format!("member {member} was not applied; fix it and apply again"),
                    ),
                    _ => self.apply_one(cache, None, run).await,
                }
            }
            CacheIntent::Remote {
                pull_token: Some(role),
                ..
            } => match self.prepare_token(cache, *role, run).await {
                Ok(prepared) => self.apply_one(cache, Some(Ok(prepared)), run).await,
                Err(err) => self.apply_one(cache, Some(Err(err)), run).await,
            },
            CacheIntent::Remote { .. } => {
                // A cache that needs no token (any more) gets its leftovers revoked.
                let leftover = tokens_of(&run.tokens, cache);
                let token = (!leftover.is_empty()).then_some(Ok(Prepared::Leftover(leftover)));
                self.apply_one(cache, token, run).await
            }
        };
        run.progress.step("cache", name, &progress_text(&outcome));
        run.progress.finished(name);
        let ok = outcome.ok();
        run.done.send_modify(|done| {
            done.insert(name.to_owned(), ok);
        });
        outcome
    }

    /// Revokes `tokens`, recording each in `revoked` or, with why, in `not_revoked`.
    pub(crate) async fn revoke_into(&self, outcome: &mut CacheOutcome, tokens: Vec<OwnedToken>) {
        for token in tokens {
            match self.tokens.revoke(&token.identity_id).await {
                Ok(_) => outcome.revoked.push(token.identity_id),
                Err(err) => outcome
                    .not_revoked
                    .push(format!("{}: {err}", token.identity_id)),
            }
        }
    }

    async fn prepare_token(
        &self,
        cache: &CacheConfig,
        role: PullTokenRole,
        run: &Run<'_>,
    ) -> Result<Prepared, Error> {
        let state = {
            let _permit = run.backends.acquire().await;
            run.progress.started("cache", cache.name.as_str());
            // Kept in the listing: the ensure that follows does not read it again.
            self.backend(cache)
                .api
                .describe_in(&cache.name, run.listing(cache))
                .await?
        };
        let (kept, stale) = for_cache(&run.tokens, &cache.name, state.as_ref()).usable();
        Ok(match kept {
            Some(current) => Prepared::Kept(current, stale),
            None => {
                let _permit = run.chainguard.acquire().await;
                run.progress.started("pull token", cache.name.as_str());
                let token = self.create_token(&cache.name, role).await?;
                run.progress.step(
                    "pull token",
                    cache.name.as_str(),
                    &format!("created {}", token.identity_id),
                );
                Prepared::Created(token, stale)
            }
        })
    }

    async fn apply_one(
        &self,
        cache: &CacheConfig,
        token: Option<Result<Prepared, Error>>,
        run: &Run<'_>,
    ) -> CacheOutcome {
        let backend = self.backend(cache);
        let role = match &cache.kind {
            CacheIntent::Remote { pull_token, .. } => *pull_token,
            CacheIntent::Aggregate { .. } => None,
        };
        let (credentials, token_outcome, stale, new_token) = match token {
            None => (None, None, Vec::new(), None),
            Some(Ok(Prepared::Leftover(stale))) => (None, None, stale, None),
            Some(Err(err)) => {
                return CacheOutcome::failed(cache, Outcome::Failed, format!("pull token: {err}"));
            }
            Some(Ok(Prepared::Kept(current, stale))) => (
                unwritten_credentials(&current.identity_id),
                Some(TokenOutcome {
                    action: "kept",
                    identity_id: current.identity_id.clone(),
                    role: role.map(|r| r.to_string()).unwrap_or_default(),
                    expires_at: current.expires_at.clone(),
                }),
                stale,
                None,
            ),
            Some(Ok(Prepared::Created(token, stale))) => {
                let credentials = UpstreamCredentials::new(
                    token.identity_id.clone(),
                    token.secret.expose_secret().to_owned(),
                )
                .ok();
                (
                    credentials,
                    Some(TokenOutcome {
                        action: "created",
                        identity_id: token.identity_id.clone(),
                        role: token.role.to_string(),
                        expires_at: rfc3339(token.expires_at),
                    }),
                    stale,
                    Some(token),
                )
            }
        };
        let mut outcome = CacheOutcome::new(cache, Outcome::Unchanged);
        outcome.pull_token = token_outcome;
        let ensured = {
            let _permit = run.backends.acquire().await;
            run.progress.started("cache", cache.name.as_str());
            backend
                .api
                .ensure_in(&self.spec(cache, credentials), run.listing(cache))
                .await
        };
        match ensured {
            Ok(ensured) => {
                outcome = outcome.ensured(ensured);
                outcome.new_token = new_token;
                // The cache holds a working token now; the others only widen exposure.
                self.revoke_into(&mut outcome, stale).await;
                outcome
            }
            Err(err) => {
                // Nothing half made: a token the cache never received is revoked again.
                let mut error = err.to_string();
                if let Some(token) = new_token {
                    match self.tokens.revoke(&token.identity_id).await {
                        Ok(_) => outcome.pull_token = None,
                        Err(revoke) => error.push_str(&format!(
                            "; the pull token {} made for it could not be revoked ({revoke}): the \
                             next apply revokes it",
                            token.identity_id
                        )),
                    }
                }
                outcome.result = Outcome::Failed;
                outcome.error = Some(error);
                outcome
            }
        }
    }
}

fn progress_text(outcome: &CacheOutcome) -> String {
    let result = serde_json::to_value(outcome.result)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match &outcome.error {
        Some(error) => format!("{result}: {error}"),
        None => result,
    }
}
