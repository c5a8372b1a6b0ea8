//! `destroy`: the caches this config names (aggregates before their members), then the
//! pull tokens it made.

use pull_through_core::{Deleted, Error};
use serde::Serialize;

use super::Deployment;
use super::apply::{CacheOutcome, Outcome};
use super::report::Progress;
use crate::config::CacheConfig;

/// What destroy did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Destroyed {
    /// Each cache, in the order deleted.
    pub(crate) caches: Vec<CacheOutcome>,
    /// The pull tokens revoked.
    pub(crate) revoked: Vec<String>,
    /// Tokens kept because their cache could not be deleted.
    pub(crate) kept: Vec<String>,
}

impl Deployment {
    /// Deletes what this config made.
    pub(crate) async fn destroy(&self, progress: &Progress) -> Result<Destroyed, Error> {
        let mut caches = Vec::new();
        for layer in self.layers().into_iter().rev() {
            let results = self
                .each(layer, |cache: &CacheConfig| async move {
                    let outcome = match self.backend(cache).api.delete(&cache.name).await {
                        Ok(Deleted::AlreadyAbsent) => {
                            CacheOutcome::new(cache, Outcome::AlreadyAbsent)
                        }
                        Ok(_) => CacheOutcome::new(cache, Outcome::Deleted),
                        Err(err) => CacheOutcome::failed(cache, Outcome::Failed, err),
                    };
                    progress.step(
                        "delete",
                        &cache.name,
                        if outcome.ok() { "deleted" } else { "failed" },
                    );
                    outcome
                })
                .await;
            caches.extend(results);
        }
        let mut revoked = Vec::new();
        let mut kept = Vec::new();
        for token in self.owned_tokens().await? {
            // A cache that is still there keeps working until a re-run deletes it.
            let cache_remains = caches.iter().any(|c| c.cache == token.cache && !c.ok());
            if cache_remains {
                kept.push(token.identity_id);
                continue;
            }
            self.chainguard
                .revoke_pull_token(&token.identity_id)
                .await?;
            progress.step("revoke", &token.cache, &token.identity_id);
            revoked.push(token.identity_id);
        }
        Ok(Destroyed {
            caches,
            revoked,
            kept,
        })
    }
}
