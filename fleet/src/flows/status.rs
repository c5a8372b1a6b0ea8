//! `status`: what exists now, and the pull tokens this config made.

use pull_through_core::listing::Listing;
use pull_through_core::{CacheState, Error};
use serde::Serialize;

use crate::Deployment;
use crate::config::CacheConfig;
use crate::flows::tokens::{OwnedToken, for_cache};

/// One configured cache as it is.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// for cache in deployment.status().await?.caches {
///     println!("{} exists: {}", cache.cache, cache.exists);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    /// The cache.
    pub cache: String,
    /// The backend's name.
    pub backend: String,
    /// Whether it exists.
    pub exists: bool,
    /// Its state, when it exists.
    pub state: Option<CacheState>,
    /// The pull token it uses, when this config made it.
    pub pull_token: Option<OwnedToken>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// Everything `status` reports.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// let status = deployment.status().await?;
/// println!("{} pull tokens, {} unused", status.pull_tokens.len(), status.unused_pull_tokens.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The configured caches, in file order.
    pub caches: Vec<CacheStatus>,
    /// Every pull token this config made, in use or not.
    pub pull_tokens: Vec<OwnedToken>,
    /// Tokens no cache uses (left by an interrupted run or a rotation that did not
    /// verify); the next apply revokes those of configured caches.
    pub unused_pull_tokens: Vec<String>,
}

impl Deployment {
    /// Reads every cache and this config's pull tokens: which token each cache uses and
    /// when it expires, and the tokens no cache uses.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let status = deployment.status().await?;
    /// println!("unused pull tokens: {:?}", status.unused_pull_tokens);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<Status, Error> {
        let (tokens, listings) = futures::join!(self.owned_tokens(), self.listings());
        let tokens = tokens?;
        let unknown_listing = Listing::unknown();
        let caches: Vec<&CacheConfig> = self.config.caches.iter().collect();
        let statuses = self
            .each(caches, |cache| {
                let tokens = &tokens;
                let listing = listings.get(&cache.backend).unwrap_or(&unknown_listing);
                async move {
                    let mut status = CacheStatus {
                        cache: cache.name.to_string(),
                        backend: cache.backend.clone(),
                        exists: false,
                        state: None,
                        pull_token: None,
                        error: None,
                    };
                    match self
                        .backend(cache)
                        .api
                        .describe_in(&cache.name, listing)
                        .await
                    {
                        Ok(state) => {
                            status.pull_token =
                                for_cache(tokens, &cache.name, state.as_ref()).current;
                            status.exists = state.is_some();
                            status.state = state;
                        }
                        Err(err) => status.error = Some(err.to_string()),
                    }
                    status
                }
            })
            .await;
        let in_use: Vec<&str> = statuses
            .iter()
            .filter_map(|s| s.pull_token.as_ref().map(|t| t.identity_id.as_str()))
            .collect();
        // A cache that could not be read may well use its tokens: not called unused.
        let unknown: Vec<&str> = statuses
            .iter()
            .filter(|s| s.error.is_some())
            .map(|s| s.cache.as_str())
            .collect();
        let unused_pull_tokens = tokens
            .iter()
            .filter(|t| {
                !in_use.contains(&t.identity_id.as_str()) && !unknown.contains(&t.cache.as_str())
            })
            .map(|t| t.identity_id.clone())
            .collect();
        Ok(Status {
            caches: statuses,
            pull_tokens: tokens,
            unused_pull_tokens,
        })
    }
}
