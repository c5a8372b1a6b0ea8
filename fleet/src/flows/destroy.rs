//! `destroy`: the caches this config names (aggregates before their members), then the
//! pull tokens it made. A repository that has a cache's key but is not what the config
//! describes (another type, upstream or member list) is left alone.

use pull_through_core::{CacheRole, CacheState, Deleted, Error};
use serde::Serialize;

use crate::Deployment;
use crate::config::{CacheConfig, CacheIntent};
use crate::flows::outcome::{CacheOutcome, Outcome};
use crate::progress::Progress;

/// What destroy did.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// let destroyed = deployment.destroy(&pull_through_fleet::NoProgress).await?;
/// println!("kept {:?} (their caches remain)", destroyed.kept);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Destroyed {
    /// Each cache, in the order deleted.
    pub caches: Vec<CacheOutcome>,
    /// The pull tokens revoked.
    pub revoked: Vec<String>,
    /// Tokens kept because their cache could not be deleted.
    pub kept: Vec<String>,
    /// Tokens that could not be revoked, with why.
    pub errors: Vec<String>,
}

impl Destroyed {
    /// Whether everything was deleted and revoked.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let destroyed = deployment.destroy(&pull_through_fleet::NoProgress).await?;
    /// assert!(destroyed.ok(), "{:?}", destroyed.errors);
    /// # Ok(()) }
    /// ```
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.caches.iter().all(CacheOutcome::ok)
    }
}

impl Deployment {
    /// Deletes what this config made: the caches it names (aggregates before their
    /// members), then the pull tokens it made, except those of a cache that could not be
    /// deleted. A cache whose name matches but which is not what the config describes
    /// (another type, upstream or member list) is left alone and reported. `Err` only when
    /// the pull tokens could not be listed, which is checked first, so nothing has been
    /// deleted then.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let destroyed = deployment.destroy(&pull_through_fleet::NoProgress).await?;
    /// println!("revoked {} pull tokens", destroyed.revoked.len());
    /// # Ok(()) }
    /// ```
    pub async fn destroy(&self, progress: &dyn Progress) -> Result<Destroyed, Error> {
        let tokens = self.owned_tokens().await?;
        let layers = self.layers();
        progress.begin("destroy", layers.iter().map(Vec::len).sum());
        let mut caches = Vec::new();
        for layer in layers.into_iter().rev() {
            let results = self
                .each(layer, |cache: &CacheConfig| async move {
                    progress.started("delete", cache.name.as_str());
                    let outcome = self.destroy_one(cache).await;
                    let word = if outcome.ok() { "deleted" } else { "failed" };
                    progress.step("delete", cache.name.as_str(), word);
                    progress.finished(cache.name.as_str());
                    outcome
                })
                .await;
            caches.extend(results);
        }
        let mut destroyed = Destroyed {
            caches,
            revoked: Vec::new(),
            kept: Vec::new(),
            errors: Vec::new(),
        };
        for token in tokens {
            // A cache that is still there keeps working until a re-run deletes it.
            let cache_remains = destroyed
                .caches
                .iter()
                .any(|c| c.cache == token.cache && !c.ok());
            if cache_remains {
                destroyed.kept.push(token.identity_id);
                continue;
            }
            match self.tokens.revoke(&token.identity_id).await {
                Ok(_) => {
                    progress.step("revoke", &token.cache, &token.identity_id);
                    destroyed.revoked.push(token.identity_id);
                }
                Err(err) => destroyed
                    .errors
                    .push(format!("pull token {}: {err}", token.identity_id)),
            }
        }
        Ok(destroyed)
    }

    async fn destroy_one(&self, cache: &CacheConfig) -> CacheOutcome {
        let backend = self.backend(cache);
        let state = match backend.api.describe(&cache.name).await {
            Ok(Some(state)) => state,
            Ok(None) => return CacheOutcome::new(cache, Outcome::AlreadyAbsent),
            Err(err) => return CacheOutcome::failed(cache, Outcome::Failed, err),
        };
        if let Some(difference) = self.not_described_by(cache, &state) {
            return CacheOutcome::failed(
                cache,
                Outcome::Failed,
                format!(
                    "not deleted: {} is {difference}, not the cache this config describes; \
                     delete it by hand if you mean to",
                    cache.name
                ),
            );
        }
        match backend.api.delete(&cache.name).await {
            Ok(Deleted::AlreadyAbsent) => CacheOutcome::new(cache, Outcome::AlreadyAbsent),
            Ok(_) => CacheOutcome::new(cache, Outcome::Deleted),
            Err(err) => CacheOutcome::failed(cache, Outcome::Failed, err),
        }
    }

    /// How the repository differs from the configured cache, if it does.
    fn not_described_by(&self, cache: &CacheConfig, state: &CacheState) -> Option<String> {
        if state.format != cache.format {
            return Some(format!("a {} repository", state.format));
        }
        match (&cache.kind, &state.role) {
            (CacheIntent::Remote { .. }, CacheRole::Remote { upstream_url, .. }) => {
                let upstream = self.upstream(cache)?;
                let fronts = self.backend(cache).api.fronts(&upstream, upstream_url);
                (!fronts).then(|| format!("a remote of {upstream_url}"))
            }
            (CacheIntent::Aggregate { members }, CacheRole::Aggregate { members: actual }) => {
                let same = members.len() == actual.len()
                    && members
                        .iter()
                        .zip(actual)
                        .all(|(a, b)| a.as_str().eq_ignore_ascii_case(b.as_str()));
                (!same).then(|| {
                    let names: Vec<&str> = actual.iter().map(|m| m.as_str()).collect();
                    format!("a virtual over {}", names.join(", "))
                })
            }
            (CacheIntent::Remote { .. }, _) => Some("not a remote repository".to_owned()),
            (CacheIntent::Aggregate { .. }, _) => Some("not a virtual repository".to_owned()),
        }
    }
}
