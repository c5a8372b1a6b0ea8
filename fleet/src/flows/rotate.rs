//! `rotate`: new pull token first, written to the backend, a pull verified through it,
//! and only then the old token revoked.

use std::time::Duration;

use pull_through_core::{CheckOutcome, Error, ExposeSecret, PullTokenRole, UpstreamCredentials};

use crate::Deployment;
use crate::config::CacheConfig;
use crate::flows::outcome::{CacheOutcome, Outcome, TokenOutcome};
use crate::flows::tokens::{OwnedToken, for_cache, rfc3339};
use crate::progress::Progress;

/// Pauses between verification attempts: a new identity's binding can take a moment to
/// reach the registry.
const VERIFY_PAUSES: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

impl Deployment {
    /// Rotates the pull token of every cache that has one (or only of the caches named in
    /// `only`): a new token, written to the cache, what the probe is answered from
    /// forgotten, a pull verified through the cache (three tries), and only then the old
    /// tokens revoked and the copies of the old password the backend kept retired
    /// ([`retire_credentials`](pull_through_core::PullThroughBackend::retire_credentials)).
    /// When the pull fails the cache keeps the new token (a stored
    /// password cannot be written back) and the old one is not revoked; the outcome says
    /// both.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let rotated = deployment.rotate(&["cgr-private".to_owned()], &pull_through_fleet::NoProgress).await?;
    /// println!("revoked {:?}", rotated[0].revoked);
    /// # Ok(()) }
    /// ```
    pub async fn rotate(
        &self,
        only: &[String],
        progress: &dyn Progress,
    ) -> Result<Vec<CacheOutcome>, Error> {
        let tokens = self.owned_tokens().await?;
        let private: Vec<(&CacheConfig, PullTokenRole)> = self
            .private_caches()
            .into_iter()
            .filter(|(cache, _)| only.is_empty() || only.iter().any(|o| o == cache.name.as_str()))
            .collect();
        progress.begin("rotate", private.len());
        Ok(self
            .each(private, |(cache, role)| {
                let tokens = &tokens;
                async move {
                    progress.started("rotate", cache.name.as_str());
                    let outcome = self.rotate_one(cache, role, tokens).await;
                    progress.step(
                        "rotate",
                        cache.name.as_str(),
                        if outcome.ok() { "rotated" } else { "failed" },
                    );
                    progress.finished(cache.name.as_str());
                    outcome
                }
            })
            .await)
    }

    async fn rotate_one(
        &self,
        cache: &CacheConfig,
        role: PullTokenRole,
        tokens: &[OwnedToken],
    ) -> CacheOutcome {
        let backend = self.backend(cache);
        let state = match backend.api.describe(&cache.name).await {
            Ok(Some(state)) => state,
            Ok(None) => {
                return CacheOutcome::failed(
                    cache,
                    Outcome::Failed,
                    format!("{} does not exist; apply the config first", cache.name),
                );
            }
            Err(err) => return CacheOutcome::failed(cache, Outcome::Failed, err),
        };
        let split = for_cache(tokens, &cache.name, Some(&state));
        let token = match self.create_token(&cache.name, role).await {
            Ok(token) => token,
            Err(err) => {
                return CacheOutcome::failed(
                    cache,
                    Outcome::Failed,
                    format!("pull token: {err}; nothing was changed"),
                );
            }
        };
        let mut outcome = CacheOutcome::new(cache, Outcome::Rotated);
        outcome.pull_token = Some(TokenOutcome {
            action: "created",
            identity_id: token.identity_id.clone(),
            role: role.to_string(),
            expires_at: rfc3339(token.expires_at),
        });
        let written = match UpstreamCredentials::new(
            token.identity_id.clone(),
            token.secret.expose_secret().to_owned(),
        ) {
            Ok(credentials) => {
                backend
                    .api
                    .ensure(&self.spec(cache, Some(credentials)).rotating_credentials())
                    .await
            }
            Err(err) => Err(err.into()),
        };
        let ensured = match written {
            Ok(ensured) => ensured,
            Err(err) => {
                // The cache still holds the old token; the new one is not needed.
                let mut failed = CacheOutcome::failed(
                    cache,
                    Outcome::Failed,
                    format!(
                        "could not write the new credentials: {err}; the old pull token still works"
                    ),
                );
                failed.pull_token = None;
                let unused = OwnedToken {
                    identity_id: token.identity_id.clone(),
                    cache: cache.name.to_string(),
                    expires_at: rfc3339(token.expires_at),
                    expired: false,
                };
                self.revoke_into(&mut failed, vec![unused]).await;
                // `revoked` lists tokens the cache stopped using; it never had this one.
                failed.revoked.clear();
                return failed;
            }
        };
        outcome.state = Some(ensured.state().clone());
        outcome.changes = match &ensured {
            pull_through_core::Ensured::Updated { changes, .. } => changes.clone(),
            _ => Vec::new(),
        };
        outcome.new_token = Some(token);

        // A pull answered from the cache proves nothing about the new credentials: drop
        // what the probe would be served from, so it goes upstream with them.
        if let Err(err) = backend.api.forget(&cache.name, &self.probe(cache)).await {
            tracing::warn!(cache = %cache.name, "could not clear the probe's path before verifying: {err}");
            outcome.notes.push(format!(
                "what the check pull fetches could not be cleared first ({err}); it may have \
                 been answered from the cache rather than with the new pull token"
            ));
        }
        let mut verification = self.verify_one(cache, None).await;
        for pause in VERIFY_PAUSES {
            if verification.passed {
                break;
            }
            tokio::time::sleep(pause).await;
            verification = self.verify_one(cache, None).await;
        }
        let old: Vec<OwnedToken> = split.current.into_iter().chain(split.stale).collect();
        if !verification.passed {
            let reason = verification
                .verification
                .checks
                .iter()
                .find_map(|c| match &c.outcome {
                    CheckOutcome::Failed { reason, hint } => Some(match hint {
                        Some(hint) => format!("{}: {reason}; hint: {hint}", c.step),
                        None => format!("{}: {reason}", c.step),
                    }),
                    _ => None,
                })
                .unwrap_or_default();
            let old_ids: Vec<&str> = old.iter().map(|t| t.identity_id.as_str()).collect();
            outcome.result = Outcome::Failed;
            // The backend cannot be given the old password back (it is write-only), so
            // the cache keeps the new token; the old one stays valid for whatever else
            // uses it.
            outcome.error = Some(format!(
                "a pull through the cache with the new pull token failed ({reason}). The cache now \
                 holds the new token; the old pull token ({}) was not revoked and still works. \
                 Fix the cause and rotate again",
                if old_ids.is_empty() {
                    "none".to_owned()
                } else {
                    old_ids.join(", ")
                }
            ));
            return outcome;
        }
        match backend.api.retire_credentials(&cache.name).await {
            Ok(retired) => outcome
                .notes
                .extend(retired.into_iter().map(|what| format!("retired {what}"))),
            Err(err) => outcome.notes.push(format!(
                "the cache uses the new pull token, but the copies of the old password it kept \
                 could not be retired ({err}); rotate again or retire them by hand"
            )),
        }
        self.revoke_into(&mut outcome, old).await;
        outcome
    }
}
