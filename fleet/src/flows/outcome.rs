//! What a flow did to each cache: [`CacheOutcome`], shared by `apply`, `rotate` and
//! `destroy`.

use pull_through_core::tokens::IssuedToken;
use pull_through_core::{CacheState, Ensured, FieldChange};
use serde::Serialize;

use crate::config::CacheConfig;

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

    pub(crate) fn ensured(mut self, ensured: Ensured) -> CacheOutcome {
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
