//! The shared kernel of **pull-through**: what every backend crate and the `pull-through`
//! program agree on.
//!
//! - [`PullThroughBackend`]: the one trait Artifactory, Google Artifact Registry and
//!   Cloudsmith implement (plan, ensure, describe, list, delete, client access, verify,
//!   capabilities), object safe so tools hold a `Box<dyn PullThroughBackend>`.
//! - [`CacheSpec`] and [`CacheSet`]: what caches should be; [`Upstream`]: the closed
//!   catalogue of Chainguard upstreams with the seeds' URL rules;
//!   [`UpstreamCredentials`]: pull-token credentials as [`SecretString`]s.
//! - [`Plan`], [`Ensured`], [`Deleted`], [`CacheState`], [`ClientAccess`],
//!   [`Verification`]: what backends report.
//! - [`http`]: the HTTP policy every client uses (timeouts, retries with `Retry-After`,
//!   one tracing span per attempt, redaction).
//! - [`Error`]: the one error type, with [`ValidationError`] for input refused before any
//!   request.
//! - `conformance` (feature `test-util`): the checks every backend's tests run.
//!
//! # Example
//!
//! Describe the caches of Chainguard's Artifactory tutorials and check them before any
//! backend is contacted:
//!
//! ```
//! use pull_through_core::{
//!     CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, Upstream, UpstreamCredentials,
//! };
//!
//! let pull_token = UpstreamCredentials::new(
//!     "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
//!     std::env::var("CHAINGUARD_TOKEN").unwrap_or_else(|_| "example-token".into()),
//! )?;
//! let caches = CacheSet::new(
//!     vec![
//!         CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic),
//!         CacheSpec::remote(CacheName::new("cgr-private")?, "cgr.dev/example.com".parse()?)
//!             .with_credentials(pull_token),
//!         CacheSpec::aggregate(
//!             CacheName::new("cgr-virt")?,
//!             PackageFormat::Docker,
//!             vec![CacheName::new("cgr-public")?, CacheName::new("cgr-private")?],
//!         ),
//!     ],
//!     NameCase::Insensitive,
//! )?;
//! for spec in caches.in_apply_order() {
//!     println!("{} <- {:?}", spec.name, spec.upstream().map(|u| u.url().to_string()));
//! }
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod access;
pub mod backend;
#[cfg(feature = "test-util")]
pub mod conformance;
pub mod diagnose;
pub mod error;
pub mod http;
pub mod listing;
pub mod plan;
pub mod pull;
pub mod reconcile;
pub mod redact;
pub mod registry;
pub mod spec;
pub mod state;
pub mod tokens;
pub mod upstream;
pub mod validation;
pub mod verify;

pub use access::{AccessItem, ClientAccess, ClientLogin, Reveal, Sensitive, SnippetKind};
pub use backend::{Capabilities, PullThroughBackend, Support};
pub use diagnose::Diagnosis;
pub use error::{ApiError, Error, ErrorKind};
pub use plan::{Deleted, Diff, Ensured, FieldChange, FieldValue, Plan, PlanAction};
pub use secrecy::{ExposeSecret, SecretString};
pub use spec::{
    AggregateSpec, CacheKind, CacheName, CacheSet, CacheSpec, CredentialWrite, NameCase, RemoteSpec,
};
pub use state::{CacheRole, CacheState};
pub use upstream::{
    OrgId, OrgName, PackageFormat, PullTokenRole, Upstream, UpstreamCredentials, UpstreamKind,
    VirtualApkRepo,
};
pub use validation::{NameRules, ValidationError};
pub use verify::{Check, CheckOutcome, Probe, Verification};

/// A `Result` whose error is [`Error`].
///
/// ```
/// fn parse(text: &str) -> pull_through_core::Result<pull_through_core::Upstream> {
///     Ok(text.parse()?)
/// }
/// assert!(parse("cgr.dev/chainguard").is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
