//! Where Google access tokens come from: [`TokenSource`], a static token
//! ([`StaticToken`]) or Application Default Credentials ([`ApplicationDefault`]).
//!
//! ADC goes through the `gcp_auth` crate rather than Google's `google-cloud-auth`, for two
//! reasons:
//!
//! - `gcp_auth` exchanges a service-account key for a real OAuth 2.0 access token at
//!   Google's token endpoint. `google-cloud-auth` mints a self-signed JWT locally for a
//!   key file, which the REST APIs take but the Docker registry's `oauth2accesstoken`
//!   login probably does not (reference §4.2, an open question there); [`verify`] pulls
//!   through that login, so it needs a real access token.
//! - `gcp_auth` builds with Rust 1.85, the workspace's floor; `google-cloud-auth` needs
//!   1.91.
//!
//! It covers a service-account key file named by `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
//! user credentials (`gcloud auth application-default login`), the metadata server (GCE,
//! GKE, Cloud Run) and, last, `gcloud auth print-access-token`. It does **not** cover
//! workload identity federation (`external_account` files, as GitHub Actions' auth action
//! writes them) nor impersonated service accounts: there, mint a token first
//! (`gcloud auth print-access-token`) and pass it as a [`StaticToken`].
//!
//! `gcp_auth` is built with its `aws-lc-rs` feature instead of its default `ring`, so the
//! workspace keeps one rustls crypto provider (reqwest's); its own hyper client talks only
//! to Google's token endpoint and the metadata server.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gar_client::auth::{ApplicationDefault, StaticToken, TokenSource, ACCESS_TOKEN_VAR};
//!
//! // A token in GOOGLE_OAUTH_ACCESS_TOKEN when there is one, else ADC: what from_env does.
//! let source: Arc<dyn TokenSource> = match StaticToken::from_env(ACCESS_TOKEN_VAR) {
//!     Ok(token) => Arc::new(token),
//!     Err(_) => Arc::new(ApplicationDefault::new()),
//! };
//! ```
//!
//! [`verify`]: pull_through_core::PullThroughBackend::verify

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use pull_through_core::redact::redact_text;
use pull_through_core::{Error, ExposeSecret, SecretString, ValidationError};
use tokio::sync::OnceCell;

/// The OAuth scope every call needs (Artifact Registry's mutating calls, Secret Manager
/// and Resource Manager all accept it).
///
/// ```
/// assert_eq!(gar_client::auth::CLOUD_PLATFORM_SCOPE, "https://www.googleapis.com/auth/cloud-platform");
/// ```
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The variable a static access token is conventionally kept in (Terraform's Google
/// provider reads it too).
///
/// ```
/// assert_eq!(gar_client::auth::ACCESS_TOKEN_VAR, "GOOGLE_OAUTH_ACCESS_TOKEN");
/// ```
pub const ACCESS_TOKEN_VAR: &str = "GOOGLE_OAUTH_ACCESS_TOKEN";

/// Gives OAuth 2.0 access tokens for Google's APIs (scope
/// [`CLOUD_PLATFORM_SCOPE`]). Object safe: the client holds an `Arc<dyn TokenSource>`.
///
/// ```
/// use gar_client::auth::{StaticToken, TokenSource};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let source: std::sync::Arc<dyn TokenSource> = std::sync::Arc::new(StaticToken::new("ya29.example"));
/// let token = source.access_token().await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A valid access token.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when no token can be had (no credentials found), or what
    /// the token endpoint answered.
    async fn access_token(&self) -> Result<SecretString, Error>;

    /// What to do when Google refuses the token: where it came from and how to get a
    /// working one. Shown in the error of a 401.
    ///
    /// ```
    /// use gar_client::auth::{StaticToken, TokenSource};
    /// let hint = StaticToken::new("ya29.x").refusal_hint();
    /// assert!(hint.contains("gcloud auth print-access-token"), "{hint}");
    /// ```
    fn refusal_hint(&self) -> String {
        "the access token was refused; give a valid OAuth 2.0 access token with the \
         cloud-platform scope (gcloud auth print-access-token prints one)"
            .to_owned()
    }
}

/// One access token, given as a value or read from a variable (conventionally
/// [`ACCESS_TOKEN_VAR`]). Access tokens last about an hour; nothing refreshes it.
///
/// ```
/// use gar_client::auth::StaticToken;
/// let token = StaticToken::new("ya29.secret").named("MY_TOKEN");
/// assert_eq!(format!("{token:?}"), "StaticToken { variable: Some(\"MY_TOKEN\"), token: \"[REDACTED]\" }");
/// ```
#[derive(Clone)]
pub struct StaticToken {
    token: SecretString,
    variable: Option<String>,
}

impl StaticToken {
    /// A token given as a value.
    ///
    /// ```
    /// let token = gar_client::auth::StaticToken::new("ya29.example");
    /// ```
    pub fn new(token: impl Into<SecretString>) -> StaticToken {
        StaticToken {
            token: token.into(),
            variable: None,
        }
    }

    /// Names the variable the token came from, so that a refusal says which one to
    /// refresh.
    ///
    /// ```
    /// use gar_client::auth::{StaticToken, TokenSource};
    /// let token = StaticToken::new("ya29.example").named("GOOGLE_OAUTH_ACCESS_TOKEN");
    /// assert!(token.refusal_hint().contains("GOOGLE_OAUTH_ACCESS_TOKEN"));
    /// ```
    pub fn named(mut self, variable: impl Into<String>) -> StaticToken {
        self.variable = Some(variable.into());
        self
    }

    /// The token in the process variable `variable`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the variable when it is unset or empty.
    ///
    /// ```
    /// use gar_client::auth::StaticToken;
    /// let err = StaticToken::from_env("SURELY_UNSET_GAR_TOKEN").unwrap_err();
    /// assert!(err.to_string().contains("SURELY_UNSET_GAR_TOKEN is not set"), "{err}");
    /// ```
    pub fn from_env(variable: &str) -> Result<StaticToken, Error> {
        match std::env::var(variable) {
            Ok(token) if !token.is_empty() => Ok(StaticToken::new(token).named(variable)),
            _ => Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "access token".to_owned(),
                problem: format!(
                    "{variable} is not set; export {variable}=\"$(gcloud auth print-access-token)\""
                ),
            })),
        }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("variable", &self.variable)
            .field("token", &pull_through_core::redact::REDACTED)
            .finish()
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn access_token(&self) -> Result<SecretString, Error> {
        if self.token.expose_secret().trim().is_empty() {
            return Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "access token".to_owned(),
                problem: "is empty; give the output of gcloud auth print-access-token".to_owned(),
            }));
        }
        Ok(self.token.clone())
    }

    fn refusal_hint(&self) -> String {
        match &self.variable {
            Some(var) => format!(
                "the access token in {var} was refused (access tokens expire after about an \
                 hour, and need the cloud-platform scope): export {var}=\"$(gcloud auth \
                 print-access-token)\""
            ),
            None => "the access token given was refused (access tokens expire after about an \
                     hour, and need the cloud-platform scope); give a fresh one from gcloud auth \
                     print-access-token"
                .to_owned(),
        }
    }
}

/// Application Default Credentials through `gcp_auth` (see the [module docs](self) for
/// what it covers and why this crate). Nothing is read and no request is sent until the
/// first token is asked for: building a client with ADC never touches the metadata
/// server. `gcp_auth` caches the token until shortly before it expires.
///
/// ```no_run
/// use gar_client::auth::{ApplicationDefault, TokenSource};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let adc = ApplicationDefault::new();
/// let token = adc.access_token().await?; // finds the credentials now
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ApplicationDefault {
    provider: OnceCell<Arc<dyn gcp_auth::TokenProvider>>,
}

impl ApplicationDefault {
    /// ADC, found on first use.
    ///
    /// ```
    /// let adc = gar_client::auth::ApplicationDefault::new();
    /// assert_eq!(format!("{adc:?}"), "ApplicationDefault { found: false }");
    /// ```
    pub fn new() -> ApplicationDefault {
        ApplicationDefault::default()
    }
}

impl fmt::Debug for ApplicationDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationDefault")
            .field("found", &self.provider.initialized())
            .finish()
    }
}

/// `gcp_auth`'s error, with its causes, as a refusal that says what to set up. Its text
/// is redacted: a token endpoint's answer may quote what it was given.
fn adc_error(err: &gcp_auth::Error, doing: &str) -> Error {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::InvalidInput(ValidationError::InvalidValue {
        field: "Application Default Credentials".to_owned(),
        problem: format!(
            "{doing}: {}; run gcloud auth application-default login, or set \
             GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or export \
             {ACCESS_TOKEN_VAR}=\"$(gcloud auth print-access-token)\" (workload identity \
             federation files are not supported: mint a token and use {ACCESS_TOKEN_VAR})",
            redact_text(&text)
        ),
    })
}

#[async_trait]
impl TokenSource for ApplicationDefault {
    async fn access_token(&self) -> Result<SecretString, Error> {
        let provider = self
            .provider
            .get_or_try_init(|| async {
                gcp_auth::provider()
                    .await
                    .map_err(|err| adc_error(&err, "no credentials were found"))
            })
            .await?;
        let token = provider
            .token(&[CLOUD_PLATFORM_SCOPE])
            .await
            .map_err(|err| adc_error(&err, "no access token could be had"))?;
        Ok(SecretString::from(token.as_str().to_owned()))
    }

    fn refusal_hint(&self) -> String {
        "the access token from Application Default Credentials was refused; run gcloud auth \
         application-default login (or check GOOGLE_APPLICATION_CREDENTIALS), and make sure \
         the account may administer Artifact Registry and Secret Manager"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_empty_static_token_is_refused_before_use() {
        let err = StaticToken::new("").access_token().await.unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
    }

    #[test]
    fn adc_is_not_looked_for_until_used() {
        let adc = ApplicationDefault::new();
        assert!(!adc.provider.initialized());
    }
}
