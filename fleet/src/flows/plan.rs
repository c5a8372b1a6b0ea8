//! `plan`: what apply would do, field by field. Reads only.

use pull_through_core::listing::Listing;
use pull_through_core::{Error, Plan, PullTokenRole};
use serde::Serialize;

use crate::Deployment;
use crate::config::{CacheConfig, CacheIntent};
use crate::deployment::{NEW_PULL_TOKEN, unwritten_credentials};
use crate::flows::tokens::{CacheTokens, OwnedToken, for_cache};

/// What would happen to one cache and its pull token.
///
/// ```no_run
/// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
/// for plan in deployment.plan().await? {
///     println!("{}", serde_json::to_string(&plan).unwrap());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CachePlan {
    /// The backend's name.
    pub backend: String,
    /// The cache's plan (`cache`, `action`, `fields` or `changes`, `notes`); absent when
    /// planning failed.
    #[serde(flatten)]
    pub plan: Option<Plan>,
    /// What would happen to its pull token, for a private upstream.
    pub pull_token: Option<TokenPlan>,
    /// Tokens made for this cache that it does not use, which apply revokes.
    pub revoke: Vec<String>,
    /// Why planning failed.
    pub error: Option<String>,
    /// The cache, when planning failed (the plan names it otherwise).
    #[serde(rename = "cache", skip_serializing_if = "Option::is_none")]
    pub failed_cache: Option<String>,
}

/// What would happen to a cache's pull token.
///
/// ```no_run
/// # fn example(plan: &pull_through_fleet::CachePlan) {
/// if let Some(token) = &plan.pull_token {
///     println!("{} a {} token", token.action, token.role);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct TokenPlan {
    /// `create` or `keep`.
    pub action: &'static str,
    /// `registry.pull` or `apk.pull`.
    pub role: String,
    /// The kept token's identity.
    pub identity_id: Option<String>,
    /// When the kept token expires.
    pub expires_at: Option<String>,
}

impl CachePlan {
    /// Whether applying would write anything (a cache's settings, a pull token to make or
    /// revoke).
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// let changing = deployment.plan().await?.iter().filter(|p| p.has_changes()).count();
    /// # Ok(()) }
    /// ```
    pub fn has_changes(&self) -> bool {
        self.plan.as_ref().is_some_and(Plan::has_changes)
            || self
                .pull_token
                .as_ref()
                .is_some_and(|t| t.action == "create")
            || !self.revoke.is_empty()
    }
}

impl Deployment {
    /// Plans every cache, field by field, reading the backends and the pull tokens this
    /// config made; writes nothing. A cache whose token would be made shows the username
    /// [`NEW_PULL_TOKEN`](crate::NEW_PULL_TOKEN); a cache that keeps its token shows no
    /// password change, since a password is never compared.
    ///
    /// ```no_run
    /// # async fn example(deployment: &pull_through_fleet::Deployment) -> Result<(), pull_through_core::Error> {
    /// for plan in deployment.plan().await? {
    ///     match (&plan.plan, &plan.error) {
    ///         (Some(cache), _) => println!("{cache}"),
    ///         (None, error) => eprintln!("could not plan: {error:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn plan(&self) -> Result<Vec<CachePlan>, Error> {
        let (tokens, listings) = futures::join!(self.owned_tokens(), self.listings());
        let tokens = tokens?;
        let unknown = Listing::unknown();
        let caches: Vec<&CacheConfig> = self.apply_order();
        Ok(self
            .each(caches, |cache| {
                let tokens = &tokens;
                let listing = listings.get(&cache.backend).unwrap_or(&unknown);
                async move {
                    match self.plan_one(cache, tokens, listing).await {
                        Ok(plan) => plan,
                        Err(err) => CachePlan {
                            backend: cache.backend.clone(),
                            plan: None,
                            pull_token: None,
                            revoke: Vec::new(),
                            error: Some(err.to_string()),
                            failed_cache: Some(cache.name.to_string()),
                        },
                    }
                }
            })
            .await)
    }

    async fn plan_one(
        &self,
        cache: &CacheConfig,
        tokens: &[OwnedToken],
        listing: &Listing,
    ) -> Result<CachePlan, Error> {
        let backend = self.backend(cache);
        let (credentials, pull_token, revoke) = match &cache.kind {
            CacheIntent::Remote {
                pull_token: Some(role),
                ..
            } => {
                let state = backend.api.describe_in(&cache.name, listing).await?;
                let split = for_cache(tokens, &cache.name, state.as_ref());
                token_plan(*role, split)
            }
            // A cache that needs no token (any more): apply revokes what was made for it.
            _ => (
                None,
                None,
                crate::flows::apply::tokens_of(tokens, cache)
                    .into_iter()
                    .map(|t| t.identity_id)
                    .collect(),
            ),
        };
        let plan = backend
            .api
            .plan_in(&self.spec(cache, credentials), listing)
            .await?;
        Ok(CachePlan {
            backend: cache.backend.clone(),
            plan: Some(plan),
            pull_token,
            revoke,
            error: None,
            failed_cache: None,
        })
    }
}

type TokenDecision = (
    Option<pull_through_core::UpstreamCredentials>,
    Option<TokenPlan>,
    Vec<String>,
);

fn token_plan(role: PullTokenRole, split: CacheTokens) -> TokenDecision {
    let (kept, stale) = split.usable();
    let revoke = stale.iter().map(|t| t.identity_id.clone()).collect();
    match &kept {
        Some(current) => (
            unwritten_credentials(&current.identity_id),
            Some(TokenPlan {
                action: "keep",
                role: role.to_string(),
                identity_id: Some(current.identity_id.clone()),
                expires_at: Some(current.expires_at.clone()),
            }),
            revoke,
        ),
        None => (
            unwritten_credentials(NEW_PULL_TOKEN),
            Some(TokenPlan {
                action: "create",
                role: role.to_string(),
                identity_id: None,
                expires_at: None,
            }),
            revoke,
        ),
    }
}
