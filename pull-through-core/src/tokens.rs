//! Pull tokens as the flows need them: [`PullTokens`], the small trait a Chainguard client
//! implements (issue, list, revoke, find by tag, and the organization lookup), so that the
//! flows depend on no vendor crate.
//!
//! The types here carry plain values: a token's secret is a [`SecretString`] and never
//! shows in `Debug`.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::Error;
use crate::plan::Deleted;
use crate::upstream::{OrgId, OrgName, PullTokenRole, UpstreamCredentials};
use crate::validation::ValidationError;

/// What a new pull token is for: the role bound to its identity, the identity's name and
/// description (the description is where the flows put their tag), and its lifetime.
///
/// ```
/// use pull_through_core::PullTokenRole;
/// use pull_through_core::tokens::TokenRequest;
/// let request = TokenRequest::new(PullTokenRole::ApkPull, "pull-through cg-private")
///     .with_description("pull-through config=seeds cache=cg-private")
///     .with_ttl(std::time::Duration::from_secs(720 * 3600));
/// assert_eq!(request.role, PullTokenRole::ApkPull);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// `registry.pull` or `apk.pull`.
    pub role: PullTokenRole,
    /// The identity's name.
    pub name: String,
    /// The identity's description; the flows tag their tokens here.
    pub description: String,
    /// How long the token lives; `None` is the issuer's default.
    pub ttl: Option<Duration>,
}

impl TokenRequest {
    /// A request with no description and the issuer's default lifetime.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, tokens::TokenRequest};
    /// let request = TokenRequest::new(PullTokenRole::RegistryPull, "ci");
    /// assert!(request.ttl.is_none());
    /// ```
    pub fn new(role: PullTokenRole, name: impl Into<String>) -> TokenRequest {
        TokenRequest {
            role,
            name: name.into(),
            description: String::new(),
            ttl: None,
        }
    }

    /// Sets the description.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, tokens::TokenRequest};
    /// let request = TokenRequest::new(PullTokenRole::RegistryPull, "ci").with_description("tag");
    /// assert_eq!(request.description, "tag");
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> TokenRequest {
        self.description = description.into();
        self
    }

    /// Sets the lifetime.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, tokens::TokenRequest};
    /// let request = TokenRequest::new(PullTokenRole::RegistryPull, "ci")
    ///     .with_ttl(std::time::Duration::from_secs(3600));
    /// assert_eq!(request.ttl.map(|t| t.as_secs()), Some(3600));
    /// ```
    pub fn with_ttl(mut self, ttl: Duration) -> TokenRequest {
        self.ttl = Some(ttl);
        self
    }
}

/// A pull token just issued: the identity id is the username a cache presents, the secret
/// its password. `Debug` never shows the secret.
///
/// ```
/// use pull_through_core::PullTokenRole;
/// use pull_through_core::tokens::IssuedToken;
/// let token = IssuedToken::new(
///     "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
///     "eyJ-the-jwt",
///     PullTokenRole::RegistryPull,
///     std::time::SystemTime::UNIX_EPOCH,
/// );
/// assert!(!format!("{token:?}").contains("eyJ"));
/// assert_eq!(token.credentials()?.username(), token.identity_id);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The identity's id (the username).
    pub identity_id: String,
    /// The token (the password).
    pub secret: SecretString,
    /// The role bound to it.
    pub role: PullTokenRole,
    /// When it stops working.
    pub expires_at: SystemTime,
}

impl IssuedToken {
    /// A token as an issuer made it.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, tokens::IssuedToken};
    /// let token = IssuedToken::new("org/id", "jwt", PullTokenRole::ApkPull, std::time::SystemTime::now());
    /// assert_eq!(token.role, PullTokenRole::ApkPull);
    /// ```
    pub fn new(
        identity_id: impl Into<String>,
        secret: impl Into<SecretString>,
        role: PullTokenRole,
        expires_at: SystemTime,
    ) -> IssuedToken {
        IssuedToken {
            identity_id: identity_id.into(),
            secret: secret.into(),
            role,
            expires_at,
        }
    }

    /// The credentials a cache presents to its upstream.
    ///
    /// # Errors
    ///
    /// [`ValidationError`] when the id or the secret is empty.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, tokens::IssuedToken};
    /// let token = IssuedToken::new("org/id", "jwt", PullTokenRole::ApkPull, std::time::SystemTime::now());
    /// assert_eq!(token.credentials()?.username(), "org/id");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn credentials(&self) -> Result<UpstreamCredentials, ValidationError> {
        UpstreamCredentials::new(self.identity_id.clone(), self.secret.clone())
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("identity_id", &self.identity_id)
            .field("secret", &crate::redact::REDACTED)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A pull token as a listing shows it (never its secret, which is shown only once).
///
/// ```
/// use pull_through_core::tokens::TokenRecord;
/// let record = TokenRecord::new("org/id", "pull-through cg-private", "pull-through config=seeds cache=cg-private", "2027-01-01T00:00:00Z", false);
/// assert!(record.description.starts_with("pull-through config="));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRecord {
    /// The identity's id.
    pub identity_id: String,
    /// The identity's name.
    pub name: String,
    /// The identity's description.
    pub description: String,
    /// When it expires (RFC 3339), as the issuer wrote it.
    pub expires_at: String,
    /// Whether it has expired.
    pub expired: bool,
}

impl TokenRecord {
    /// A listed token.
    ///
    /// ```
    /// # use pull_through_core::tokens::TokenRecord;
    /// let record = TokenRecord::new("org/id", "n", "d", "2027-01-01T00:00:00Z", true);
    /// assert!(record.expired);
    /// ```
    pub fn new(
        identity_id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        expires_at: impl Into<String>,
        expired: bool,
    ) -> TokenRecord {
        TokenRecord {
            identity_id: identity_id.into(),
            name: name.into(),
            description: description.into(),
            expires_at: expires_at.into(),
            expired,
        }
    }
}

/// Where pull tokens come from: Chainguard's console API in `chainguard-client`, or a
/// fake in a tool's tests. The flows hold it as `Arc<dyn PullTokens>`.
///
/// # Contract
///
/// - [`issue`](Self::issue) makes a working token or nothing: an issuer that fails part
///   way (identity made, binding refused) cleans up before it returns the error.
/// - [`revoke`](Self::revoke) of an absent token is [`Deleted::AlreadyAbsent`].
/// - [`list`](Self::list) shows the tokens of the organization, expired ones included.
///
/// ```no_run
/// use pull_through_core::tokens::{PullTokens, TokenRequest};
/// use pull_through_core::{OrgName, PullTokenRole};
///
/// async fn one_token(tokens: &dyn PullTokens) -> Result<(), pull_through_core::Error> {
///     let org = tokens.resolve_org(&"example.com".parse::<OrgName>()?).await?;
///     let token = tokens
///         .issue(&org, &TokenRequest::new(PullTokenRole::RegistryPull, "ci").with_description("made by ci"))
///         .await?;
///     println!("username {}", token.identity_id);
///     for record in tokens.find_tagged(&org, "made by ci").await? {
///         tokens.revoke(&record.identity_id).await?;
///     }
///     Ok(())
/// }
/// ```
#[async_trait]
pub trait PullTokens: Send + Sync + fmt::Debug {
    /// The id of the organization called `org`.
    ///
    /// ```no_run
    /// # async fn example(tokens: &dyn pull_through_core::tokens::PullTokens) -> Result<(), pull_through_core::Error> {
    /// let id = tokens.resolve_org(&"example.com".parse()?).await?;
    /// # Ok(()) }
    /// ```
    async fn resolve_org(&self, org: &OrgName) -> Result<OrgId, Error>;

    /// Makes a pull token in `org`.
    ///
    /// ```no_run
    /// # use pull_through_core::{PullTokenRole, tokens::TokenRequest};
    /// # async fn example(tokens: &dyn pull_through_core::tokens::PullTokens, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let token = tokens.issue(org, &TokenRequest::new(PullTokenRole::ApkPull, "apk")).await?;
    /// # Ok(()) }
    /// ```
    async fn issue(&self, org: &OrgId, request: &TokenRequest) -> Result<IssuedToken, Error>;

    /// Every pull token of `org`.
    ///
    /// ```no_run
    /// # async fn example(tokens: &dyn pull_through_core::tokens::PullTokens, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let expired = tokens.list(org).await?.into_iter().filter(|t| t.expired).count();
    /// # Ok(()) }
    /// ```
    async fn list(&self, org: &OrgId) -> Result<Vec<TokenRecord>, Error>;

    /// Revokes the token of `identity_id`.
    ///
    /// ```no_run
    /// # async fn example(tokens: &dyn pull_through_core::tokens::PullTokens) -> Result<(), pull_through_core::Error> {
    /// tokens.revoke("0123456789abcdef0123456789abcdef01234567/0123456789abcdef").await?;
    /// # Ok(()) }
    /// ```
    async fn revoke(&self, identity_id: &str) -> Result<Deleted, Error>;

    /// The tokens of `org` whose description starts with `tag`.
    ///
    /// ```no_run
    /// # async fn example(tokens: &dyn pull_through_core::tokens::PullTokens, org: &pull_through_core::OrgId) -> Result<(), pull_through_core::Error> {
    /// let mine = tokens.find_tagged(org, "pull-through config=seeds ").await?;
    /// # Ok(()) }
    /// ```
    async fn find_tagged(&self, org: &OrgId, tag: &str) -> Result<Vec<TokenRecord>, Error> {
        Ok(self
            .list(org)
            .await?
            .into_iter()
            .filter(|record| record.description.starts_with(tag))
            .collect())
    }
}
