//! `verify`: pull through every cache as a client would, and say what to fix.

use pull_through_core::{Check, CheckOutcome, Error, Probe, Verification};
use serde::Serialize;

use super::Deployment;
use crate::config::{CacheConfig, CacheIntent};

/// One cache's verification.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CacheVerification {
    /// The backend's name.
    pub(crate) backend: String,
    /// What was pulled.
    pub(crate) probe: String,
    /// The checks (`cache`, `checks`).
    #[serde(flatten)]
    pub(crate) verification: Verification,
    /// Whether every check passed.
    pub(crate) passed: bool,
}

impl Deployment {
    /// Verifies every cache, concurrently.
    pub(crate) async fn verify(&self) -> Vec<CacheVerification> {
        let caches: Vec<&CacheConfig> = self.config.caches.iter().collect();
        self.each(caches, |cache| self.verify_one(cache, None))
            .await
    }

    /// Verifies one cache with its probe (or `probe`).
    pub(crate) async fn verify_one(
        &self,
        cache: &CacheConfig,
        probe: Option<Probe>,
    ) -> CacheVerification {
        let probe = probe.unwrap_or_else(|| self.probe(cache));
        let verification = match self.verify_with_hints(cache, &probe).await {
            Ok(verification) => verification,
            Err(err) => {
                let mut verification = Verification::new(cache.name.clone());
                verification.push(Check::failed(
                    probe.to_string(),
                    err.to_string(),
                    None,
                    std::time::Duration::ZERO,
                ));
                verification
            }
        };
        CacheVerification {
            backend: cache.backend.clone(),
            probe: probe.to_string(),
            passed: verification.passed(),
            verification,
        }
    }

    async fn verify_with_hints(
        &self,
        cache: &CacheConfig,
        probe: &Probe,
    ) -> Result<Verification, Error> {
        let backend = self.backend(cache);
        let Some(state) = backend.api.describe(&cache.name).await? else {
            let mut verification = Verification::new(cache.name.clone());
            verification.push(Check::failed(
                probe.to_string(),
                format!("{} does not exist on backend {}", cache.name, cache.backend),
                Some("run `pull-through apply`".to_owned()),
                std::time::Duration::ZERO,
            ));
            return Ok(verification);
        };
        let mut verification = backend.api.verify(&state, probe).await?;
        if verification.passed() {
            return Ok(verification);
        }
        // The backend's hint names the likeliest cause; the tutorials' checks of the
        // remote's settings name every rule it breaks.
        if let CacheIntent::Remote { .. } = &cache.kind {
            if let Ok(problems) = backend
                .artifactory
                .client()
                .check_remote(cache.name.as_str())
                .await
            {
                for problem in problems {
                    let text = problem.to_string();
                    let already = verification.checks.iter().any(|check| {
                        matches!(&check.outcome, CheckOutcome::Failed { hint: Some(hint), .. } if *hint == text)
                    });
                    if !already {
                        verification.push(Check::failed(
                            "remote settings",
                            text,
                            Some(format!("fix it with `pull-through apply`, or see `pull-through artifactory check {}`", cache.name)),
                            std::time::Duration::ZERO,
                        ));
                    }
                }
            }
        }
        Ok(verification)
    }
}
