//! `apply`: every cache at once, each as soon as what it needs is ready (a private remote
//! after its pull token, an aggregate after its members), within per-backend and
//! Chainguard concurrency limits. A cache that fails leaves the others done; a re-run
//! converges because every step reads (or lists) before it writes.

use std::collections::{BTreeMap, BTreeSet};

use futures::FutureExt as _;
use pull_through_core::listing::Listing;
use pull_through_core::tokens::IssuedToken;
use pull_through_core::{
    CacheRole, Ensured, Error, ExposeSecret, PullTokenRole, UpstreamCredentials,
};
use tokio::sync::{Semaphore, SemaphorePermit, watch};

use crate::Deployment;
use crate::config::{CacheConfig, CacheIntent};
use crate::deployment::unwritten_credentials;
use crate::flows::outcome::{CacheOutcome, Outcome, TokenOutcome};
use crate::flows::tokens::{OwnedToken, for_cache, rfc3339};
use crate::progress::Progress;

/// What the caches of one apply share.
struct Run<'a> {
    tokens: Vec<OwnedToken>,
    listings: BTreeMap<String, Listing>,
    /// For a backend without a listing (none is missing today; kept per run so nothing
    /// read in one run is reused in another).
    unknown: Listing,
    /// Calls to each cache backend, by backend name.
    backends: BTreeMap<String, Semaphore>,
    /// Calls for pull tokens (mostly processor time: their keys).
    chainguard: Semaphore,
    /// Each cache done so far, and whether it was written as configured.
    done: watch::Sender<BTreeMap<String, bool>>,
    /// The tokens made in this run, by cache, until the cache's work settles them: a
    /// panic in that work must not lose one (neither revoked nor shown).
    made: std::sync::Mutex<BTreeMap<String, IssuedToken>>,
    progress: &'a dyn Progress,
}

impl Run<'_> {
    fn listing(&self, cache: &CacheConfig) -> &Listing {
        self.listings.get(&cache.backend).unwrap_or(&self.unknown)
    }

    /// A call's turn against Chainguard.
    async fn chainguard_permit(&self) -> Option<SemaphorePermit<'_>> {
        self.chainguard.acquire().await.ok()
    }

    fn made(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, IssuedToken>> {
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A call's turn on the cache's backend.
    async fn backend_permit(&self, cache: &CacheConfig) -> Option<SemaphorePermit<'_>> {
        match self.backends.get(&cache.backend) {
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        }
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
    /// once against each backend, and as many against Chainguard, whose pull tokens
    /// take mostly processor time (their keys are made on every core while the backends'
    /// calls go on). Each backend is listed once ([`PullThroughBackend::listing`]) and each
    /// cache read at most once.
    ///
    /// A cache that fails leaves the others done; an aggregate over a failed member is
    /// skipped, and so is one whose members are not all in the config (narrowed after
    /// connecting); a token made for a cache that then failed is revoked again, unless the
    /// write's answer was lost and the cache may hold it; tokens a cache
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
        // The field is public: a caller's 0 would mean no progress at all.
        let limit = self.concurrency.max(1);
        let run = Run {
            tokens,
            listings,
            unknown: Listing::unknown(),
            backends: self
                .backends
                .keys()
                .map(|name| (name.clone(), Semaphore::new(limit)))
                .collect(),
            chainguard: Semaphore::new(limit),
            done: watch::channel(BTreeMap::new()).0,
            made: std::sync::Mutex::default(),
            progress,
        };
        // Tokens take longest, so private remotes queue first for the semaphores (which
        // are fair); aggregates queue only once their members are done.
        let order = self.apply_order();
        let unplaceable = unplaceable(&order);
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
                .map(|cache| self.apply_scheduled(cache, &run, &unplaceable)),
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
    async fn apply_scheduled(
        &self,
        cache: &CacheConfig,
        run: &Run<'_>,
        unplaceable: &BTreeSet<&str>,
    ) -> CacheOutcome {
        let name = cache.name.as_str();
        // A panic in one cache's work must not take the others' outcomes (and the tokens
        // made for them) with it, nor leave its aggregates waiting.
        let caught = std::panic::AssertUnwindSafe(self.apply_cache(cache, run, unplaceable))
            .catch_unwind()
            .await;
        let made = run.made().remove(name);
        let outcome = match caught {
            Ok(outcome) => outcome,
            Err(_) => self.after_panic(cache, made, run).await,
        };
        run.progress.step("cache", name, &progress_text(&outcome));
        run.progress.finished(name);
        // Written as configured: an aggregate over it may go, even if a stale token of
        // it could not be revoked.
        let ok = !matches!(outcome.result, Outcome::Failed | Outcome::Skipped);
        run.done.send_modify(|done| {
            done.insert(name.to_owned(), ok);
        });
        outcome
    }

    /// A cache whose work panicked: its failure, and the token made for it settled as
    /// after a failed write (kept and shown if the cache may hold it, else revoked).
    async fn after_panic(
        &self,
        cache: &CacheConfig,
        made: Option<IssuedToken>,
        run: &Run<'_>,
    ) -> CacheOutcome {
        let mut outcome = CacheOutcome::failed(
            cache,
            Outcome::Failed,
            "internal error (a panic) while applying it; please report it",
        );
        if let Some(token) = made {
            self.settle_unwritten(&mut outcome, cache, token, run).await;
        }
        outcome
    }

    async fn apply_cache(
        &self,
        cache: &CacheConfig,
        run: &Run<'_>,
        unplaceable: &BTreeSet<&str>,
    ) -> CacheOutcome {
        match &cache.kind {
            CacheIntent::Aggregate { .. } if unplaceable.contains(cache.name.as_str()) => {
                CacheOutcome::failed(
                    cache,
                    Outcome::Skipped,
                    "a member is not in this run's config, or the members form a cycle; fix \
                     the config and apply again",
                )
            }
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
        }
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
            let _permit = run.backend_permit(cache).await;
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
                run.made().insert(cache.name.to_string(), token.clone());
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
                return CacheOutcome::failed(
                    cache,
                    Outcome::Failed,
                    format!("preparing its pull token: {err}"),
                );
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
            let _permit = run.backend_permit(cache).await;
            run.progress.started("cache", cache.name.as_str());
            backend
                .api
                .ensure_in(&self.spec(cache, credentials), run.listing(cache))
                .await
        };
        match ensured {
            Ok(ensured) => {
                // A new token written over an old one (expired, or revoked behind our
                // back): the copies of the old password the backend kept are retired.
                let replaced = new_token.is_some() && matches!(ensured, Ensured::Updated { .. });
                outcome = outcome.ensured(ensured);
                outcome.new_token = new_token;
                if replaced {
                    self.retire_into(&mut outcome, cache, run).await;
                }
                // The cache holds a working token now; the others only widen exposure.
                let _permit = run.chainguard_permit().await;
                self.revoke_into(&mut outcome, stale).await;
                outcome
            }
            Err(err) => {
                outcome.error = Some(err.to_string());
                outcome.result = Outcome::Failed;
                if let Some(token) = new_token {
                    self.settle_unwritten(&mut outcome, cache, token, run).await;
                }
                outcome
            }
        }
    }

    /// A token made for `cache` whose write failed (or whose work panicked). Nothing half
    /// made: a token the cache never received is revoked again. But the cache may have
    /// received it (a write whose answer was lost; a later step that failed after the
    /// credentials landed, such as disabling older secret versions), and revoking it then
    /// would break the cache. Unless a fresh read says the cache does not present it, it
    /// is kept and shown once, as made; when the read confirms it, the old password's
    /// copies are retired; the next apply settles the rest.
    async fn settle_unwritten(
        &self,
        outcome: &mut CacheOutcome,
        cache: &CacheConfig,
        token: IssuedToken,
        run: &Run<'_>,
    ) {
        let mut error = outcome.error.take().unwrap_or_default();
        let held = {
            let _permit = run.backend_permit(cache).await;
            self.holds(cache, &token.identity_id).await
        };
        if held != Some(false) {
            let why = if held == Some(true) {
                "the cache holds"
            } else {
                "the cache could not be read, and may hold"
            };
            error.push_str(&format!(
                "; {why} the new pull token {}: it is kept, and the next apply settles it",
                token.identity_id
            ));
            outcome.new_token = Some(token);
            outcome.error = Some(error);
            if held == Some(true) {
                self.retire_into(outcome, cache, run).await;
            }
            return;
        }
        let revoked = {
            let _permit = run.chainguard_permit().await;
            self.tokens.revoke(&token.identity_id).await
        };
        match revoked {
            Ok(_) => outcome.pull_token = None,
            Err(revoke) => error.push_str(&format!(
                "; the pull token {} made for it could not be revoked ({revoke}): the next \
                 apply revokes it",
                token.identity_id
            )),
        }
        outcome.error = Some(error);
    }

    /// Retires the copies of the old password the backend kept, as rotate does, noting
    /// what was retired or why it could not be.
    async fn retire_into(&self, outcome: &mut CacheOutcome, cache: &CacheConfig, run: &Run<'_>) {
        let retired = {
            let _permit = run.backend_permit(cache).await;
            self.backend(cache)
                .api
                .retire_credentials(&cache.name)
                .await
        };
        match retired {
            Ok(retired) => outcome
                .notes
                .extend(retired.into_iter().map(|what| format!("retired {what}"))),
            Err(err) => outcome.notes.push(format!(
                "the copies of the old password the backend kept could not be retired ({err}); \
                 apply or rotate again"
            )),
        }
    }
}

impl Deployment {
    /// Whether `cache` presents `identity_id` as its username, by a fresh read (not the
    /// run's listing, which the failed write may have outdated); `None` when it cannot be
    /// read.
    async fn holds(&self, cache: &CacheConfig, identity_id: &str) -> Option<bool> {
        match self.backend(cache).api.describe(&cache.name).await {
            Ok(Some(state)) => Some(match &state.role {
                CacheRole::Remote { username, .. } => username.as_deref() == Some(identity_id),
                _ => false,
            }),
            Ok(None) => Some(false),
            Err(_) => None,
        }
    }
}

/// The aggregates that cannot be scheduled: one with a member outside the run (the
/// config is a public field a caller may narrow after connecting) or in a cycle (which
/// the config check refuses), and those over them. Without this they would wait forever
/// for members that never report.
fn unplaceable<'a>(order: &[&'a CacheConfig]) -> BTreeSet<&'a str> {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for cache in order {
        match &cache.kind {
            CacheIntent::Aggregate { members }
                if !members.iter().all(|m| placed.contains(m.as_str())) =>
            {
                refused.insert(cache.name.as_str());
            }
            _ => {
                placed.insert(cache.name.as_str());
            }
        }
    }
    refused
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
