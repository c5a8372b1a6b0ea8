//! The seed's rules for a Docker upstream of Chainguard, as checks: the URL exactly one of
//! the two, `Cache and Proxy`, SSL verified, credentials for `https://cgr.dev`, enabled.

use std::fmt;

use pull_through_core::Diagnosis;

use crate::model::{AuthMode, DockerUpstream, Mode};
use crate::reconcile::is_chainguard_url;
use crate::rules::{PRIVATE_UPSTREAM_URL, PUBLIC_UPSTREAM_URL};
use crate::upstreams::normalized;

/// One way an upstream differs from what the seed sets up.
///
/// ```
/// use cloudsmith_client::UpstreamProblem;
/// assert!(UpstreamProblem::NotCaching { mode: "Proxy Only".into() }.to_string().contains("Cache and Proxy"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamProblem {
    /// The URL is neither of Cloudsmith's Chainguard URLs.
    WrongUrl {
        /// The URL it has.
        found: String,
    },
    /// It does not keep what it fetches.
    NotCaching {
        /// The mode it has.
        mode: String,
    },
    /// It does not verify the upstream's certificate.
    SslNotVerified,
    /// `https://cgr.dev` without a pull token: the organization's images are refused.
    NoCredentials {
        /// The authentication mode it has.
        auth_mode: String,
    },
    /// It is switched off or disabled by Cloudsmith.
    Inactive {
        /// Why, as Cloudsmith says.
        reason: String,
    },
}

impl UpstreamProblem {
    /// The rule's short name, as [`Diagnosis::check`] names it.
    ///
    /// ```
    /// assert_eq!(cloudsmith_client::UpstreamProblem::SslNotVerified.check_name(), "verify ssl");
    /// ```
    pub fn check_name(&self) -> &'static str {
        match self {
            UpstreamProblem::WrongUrl { .. } => "url",
            UpstreamProblem::NotCaching { .. } => "mode",
            UpstreamProblem::SslNotVerified => "verify ssl",
            UpstreamProblem::NoCredentials { .. } => "credentials",
            UpstreamProblem::Inactive { .. } => "active",
        }
    }

    /// What to do about it.
    ///
    /// ```
    /// let hint = cloudsmith_client::UpstreamProblem::SslNotVerified.hint();
    /// assert!(hint.contains("verify_ssl"));
    /// ```
    pub fn hint(&self) -> &'static str {
        match self {
            UpstreamProblem::WrongUrl { .. } | UpstreamProblem::NoCredentials { .. } => {
                "applying the cache's spec again sets it as the seed does"
            }
            UpstreamProblem::NotCaching { .. } => {
                "set mode to Cache and Proxy (applying the cache's spec again does)"
            }
            UpstreamProblem::SslNotVerified => {
                "set verify_ssl to true (applying the cache's spec again does)"
            }
            UpstreamProblem::Inactive { .. } => {
                "enable the upstream in Cloudsmith (is_active), or fix what disabled it"
            }
        }
    }

    /// As a [`Diagnosis`] of the upstream `name`.
    ///
    /// ```
    /// let diagnosis = cloudsmith_client::UpstreamProblem::SslNotVerified.diagnosis("cgr-public");
    /// assert_eq!(diagnosis.check, "verify ssl");
    /// assert!(diagnosis.problem.starts_with("upstream cgr-public: "));
    /// ```
    pub fn diagnosis(&self, name: &str) -> Diagnosis {
        Diagnosis::new(
            self.check_name(),
            format!("upstream {name}: {self}"),
            self.hint(),
        )
    }
}

impl fmt::Display for UpstreamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamProblem::WrongUrl { found } => write!(
                f,
                "the URL is {found:?}; it must be exactly {PUBLIC_UPSTREAM_URL} (public images) \
                 or {PRIVATE_UPSTREAM_URL} (an organization's, with a pull token)"
            ),
            UpstreamProblem::NotCaching { mode } => write!(
                f,
                "the mode is {mode:?}; Cache and Proxy keeps what is pulled (Proxy Only, the \
                 API's default, does not)"
            ),
            UpstreamProblem::SslNotVerified => {
                f.write_str("verify_ssl is off; the seed verifies cgr.dev's certificate")
            }
            UpstreamProblem::NoCredentials { auth_mode } => write!(
                f,
                "{PRIVATE_UPSTREAM_URL} has auth_mode {auth_mode:?}; an organization's images \
                 need Username and Password from a pull token bound to registry.pull"
            ),
            UpstreamProblem::Inactive { reason } => write!(f, "it is not active ({reason})"),
        }
    }
}

/// What an upstream breaks of the seed's rules; empty when nothing.
///
/// ```
/// use cloudsmith_client::{DockerUpstream, upstream_problems};
/// let upstream: DockerUpstream = serde_json::from_value(serde_json::json!({
///     "slug_perm": "Xy12", "name": "cgr-private", "upstream_url": "https://cgr.dev/",
///     "mode": "Proxy Only", "verify_ssl": true, "is_active": true, "auth_mode": "None"}))?;
/// let checks: Vec<&str> = upstream_problems(&upstream).iter().map(|p| p.check_name()).collect();
/// assert_eq!(checks, ["mode", "credentials"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn upstream_problems(upstream: &DockerUpstream) -> Vec<UpstreamProblem> {
    let mut problems = Vec::new();
    if !is_chainguard_url(&upstream.upstream_url) {
        problems.push(UpstreamProblem::WrongUrl {
            found: upstream.upstream_url.clone(),
        });
    }
    match &upstream.mode {
        Some(Mode::CacheAndProxy) => {}
        other => problems.push(UpstreamProblem::NotCaching {
            mode: other
                .as_ref()
                .map_or("(not reported)".to_owned(), ToString::to_string),
        }),
    }
    if upstream.verify_ssl == Some(false) {
        problems.push(UpstreamProblem::SslNotVerified);
    }
    if normalized(&upstream.upstream_url) == PRIVATE_UPSTREAM_URL
        && upstream.auth_mode != Some(AuthMode::UsernameAndPassword)
    {
        problems.push(UpstreamProblem::NoCredentials {
            auth_mode: upstream
                .auth_mode
                .as_ref()
                .map_or("(not reported)".to_owned(), ToString::to_string),
        });
    }
    let disabled = upstream
        .disable_reason
        .as_deref()
        .filter(|reason| !reason.is_empty() && *reason != "N/A");
    if upstream.is_active == Some(false) || disabled.is_some() {
        let reason = upstream
            .disable_reason_text
            .clone()
            .filter(|text| !text.is_empty())
            .or_else(|| disabled.map(str::to_owned))
            .unwrap_or_else(|| "is_active is false".to_owned());
        problems.push(UpstreamProblem::Inactive { reason });
    }
    problems
}
