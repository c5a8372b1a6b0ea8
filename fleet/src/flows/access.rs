//! Client access after a run: for every cache that exists, the lines a person types, with
//! secrets named by variable unless revealed.

use pull_through_core::Reveal;
use serde::Serialize;

use crate::Deployment;
use crate::flows::outcome::CacheOutcome;

/// The client access of one cache, rendered line by line.
///
/// ```
/// use pull_through_fleet::CacheAccess;
/// let access = CacheAccess { cache: "cgr-public".into(), lines: vec!["docker pull h/cgr-public/chainguard/go:latest".into()] };
/// assert_eq!(serde_json::to_value(&access).unwrap()["cache"], "cgr-public");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CacheAccess {
    /// The cache.
    pub cache: String,
    /// Commands and lines, secrets named by variable unless revealed.
    pub lines: Vec<String>,
}

impl Deployment {
    /// Client access for every cache that exists after a run, with each backend's login.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_fleet::FleetError> {
    /// let outcomes = deployment.apply(&pull_through_fleet::NoProgress).await?;
    /// for cache in deployment.access(&outcomes, pull_through_core::Reveal::Names) {
    ///     println!("{}:\n  {}", cache.cache, cache.lines.join("\n  "));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn access(&self, outcomes: &[CacheOutcome], reveal: Reveal) -> Vec<CacheAccess> {
        outcomes
            .iter()
            .filter_map(|outcome| {
                let state = outcome.state.as_ref()?;
                let cache = self.config.cache(&state.name)?;
                let backend = self.backend(cache);
                let access = backend
                    .api
                    .client_access(state, Some(&backend.login))
                    .ok()?;
                Some(CacheAccess {
                    cache: outcome.cache.clone(),
                    lines: access
                        .items
                        .iter()
                        .map(|item| item.render(reveal))
                        .collect(),
                })
            })
            .collect()
    }
}
