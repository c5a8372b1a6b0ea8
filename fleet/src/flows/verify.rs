//! `verify`: pull through every cache as a client would, and say what to fix.

use pull_through_core::{CacheRole, Check, CheckOutcome, Error, Probe, Verification};
use serde::Serialize;

use crate::Deployment;
use crate::config::{CacheConfig, CacheIntent};
use crate::progress::Progress;

/// One cache's verification.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) {
/// let results = deployment.verify(&pull_through_fleet::NoProgress).await;
/// for result in results.iter().filter(|r| !r.passed) {
///     eprintln!("{} (probe {}):\n{}", result.backend, result.probe, result.verification);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CacheVerification {
    /// The backend's name.
    pub backend: String,
    /// What was pulled.
    pub probe: String,
    /// The checks (`cache`, `checks`).
    #[serde(flatten)]
    pub verification: Verification,
    /// Whether every check passed.
    pub passed: bool,
}

impl Deployment {
    /// Verifies every cache, concurrently: a real pull through each as a client would
    /// (a manifest, or an index and a package), with the backend's hint and, when a pull
    /// fails, every rule of the vendor's the cache breaks
    /// ([`diagnose`](pull_through_core::PullThroughBackend::diagnose)). `progress` is told
    /// of the flow (`verify`, every cache), each cache as its pull starts, its result
    /// (`passed` or `failed`), and its end.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) {
    /// for result in deployment.verify(&pull_through_fleet::NoProgress).await {
    ///     println!("{}", result.verification);
    /// }
    /// # }
    /// ```
    pub async fn verify(&self, progress: &dyn Progress) -> Vec<CacheVerification> {
        let caches: Vec<&CacheConfig> = self.config.caches.iter().collect();
        progress.begin("verify", caches.len());
        self.each(caches, |cache| async move {
            progress.started("verify", cache.name.as_str());
            let result = self.verify_one(cache, None).await;
            let word = if result.passed { "passed" } else { "failed" };
            progress.step("verify", cache.name.as_str(), word);
            progress.finished(cache.name.as_str());
            result
        })
        .await
    }

    /// Verifies one cache with its probe (or `probe`).
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) {
    /// let cache = &deployment.config.caches[0];
    /// let result = deployment.verify_one(cache, None).await;
    /// assert_eq!(result.passed, result.verification.passed());
    /// # }
    /// ```
    pub async fn verify_one(&self, cache: &CacheConfig, probe: Option<Probe>) -> CacheVerification {
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
                Some("apply the config".to_owned()),
                std::time::Duration::ZERO,
            ));
            return Ok(verification);
        };
        let mut verification = backend.api.verify(&state, probe).await?;
        if verification.passed() {
            return Ok(verification);
        }
        // The backend's hint names the likeliest cause; the vendor's rules for the
        // cache name every one it breaks.
        if let CacheIntent::Remote { .. } = &cache.kind {
            if let CacheRole::Aggregate { members } = &state.role {
                let names: Vec<&str> = members.iter().map(|m| m.as_str()).collect();
                verification.push(Check::failed(
                    "cache kind",
                    format!(
                        "{} is an aggregate of {}, not a remote as the config says",
                        cache.name,
                        names.join(", ")
                    ),
                    Some("delete it (what it cached goes with it) and apply the config".to_owned()),
                    std::time::Duration::ZERO,
                ));
            } else if let Ok(diagnoses) = backend.api.diagnose(&cache.name).await {
                for diagnosis in diagnoses {
                    let text = diagnosis.problem;
                    let already = verification.checks.iter().any(|check| {
                        matches!(&check.outcome, CheckOutcome::Failed { hint: Some(hint), .. } if *hint == text)
                    });
                    if !already {
                        verification.push(Check::failed(
                            diagnosis.check,
                            text,
                            Some(diagnosis.hint),
                            std::time::Duration::ZERO,
                        ));
                    }
                }
            }
        }
        Ok(verification)
    }
}
