//! [`PullTokens`] for [`ChainguardClient`]: the flows reach Chainguard only through the
//! core's trait, so this is the one place where their requests become console API calls.

use async_trait::async_trait;
use pull_through_core::tokens::{IssuedToken, PullTokens, TokenRecord, TokenRequest};
use pull_through_core::{Deleted, Error, OrgId, OrgName};

use crate::client::{ChainguardClient, PullTokenInfo};
use crate::pull_token::{PullToken, PullTokenOptions};

/// What the flows (`apply`, `rotate`, `destroy`) use to make, find and revoke pull tokens,
/// holding the client as `Arc<dyn PullTokens>` so they depend on no vendor crate.
///
/// Each method is the client's own call: [`resolve_org`](PullTokens::resolve_org) is
/// [`ChainguardClient::resolve_organization`], [`issue`](PullTokens::issue) is
/// [`ChainguardClient::create_pull_token`] (which deletes the identity again when its
/// role binding is refused, as the trait's contract asks), [`list`](PullTokens::list) is
/// [`ChainguardClient::list_pull_tokens`] and [`revoke`](PullTokens::revoke) is
/// [`ChainguardClient::revoke_pull_token`]. A request without a lifetime gets the
/// client's default, [`DEFAULT_TTL`](crate::DEFAULT_TTL).
///
/// ```no_run
/// use std::sync::Arc;
/// use chainguard_client::ChainguardClient;
/// use pull_through_core::tokens::{PullTokens, TokenRequest};
/// use pull_through_core::PullTokenRole;
///
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let tokens: Arc<dyn PullTokens> = Arc::new(ChainguardClient::builder().from_env()?.build()?);
/// let org = tokens.resolve_org(&"example.com".parse()?).await?;
/// let token = tokens
///     .issue(&org, &TokenRequest::new(PullTokenRole::RegistryPull, "cgr-private cache")
///         .with_description("pull-through cache=cgr-private"))
///     .await?;
/// let credentials = token.credentials()?;
/// # Ok(()) }
/// ```
#[async_trait]
impl PullTokens for ChainguardClient {
    async fn resolve_org(&self, org: &OrgName) -> Result<OrgId, Error> {
        self.resolve_organization(org.as_str()).await
    }

    async fn issue(&self, org: &OrgId, request: &TokenRequest) -> Result<IssuedToken, Error> {
        let mut options = PullTokenOptions::new(request.role)
            .with_name(request.name.as_str())
            .with_description(request.description.as_str());
        if let Some(ttl) = request.ttl {
            options = options.with_ttl(ttl)?;
        }
        let token = self.create_pull_token(org, options).await?;
        Ok(issued(token))
    }

    async fn list(&self, org: &OrgId) -> Result<Vec<TokenRecord>, Error> {
        Ok(self
            .list_pull_tokens(org)
            .await?
            .into_iter()
            .map(record)
            .collect())
    }

    async fn revoke(&self, identity_id: &str) -> Result<Deleted, Error> {
        self.revoke_pull_token(identity_id).await
    }
}

fn issued(token: PullToken) -> IssuedToken {
    IssuedToken::new(token.identity_id, token.token, token.role, token.expires_at)
}

fn record(info: PullTokenInfo) -> TokenRecord {
    TokenRecord::new(
        info.identity_id,
        info.name,
        info.description,
        info.expiration,
        info.expired,
    )
}
