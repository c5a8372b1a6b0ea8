//! JFrog Artifactory client for Chainguard pull-through caches: what Chainguard's
//! Artifactory tutorials make a person click, in code.
//!
//! - [`RepositoryConfig`] builds the repositories with the tutorials' settings built in:
//!   Docker remotes at exactly `https://cgr.dev/` with token authentication on (the REST
//!   default is off), Alpine remotes with URL normalization off, Docker and Generic
//!   virtuals.
//! - [`ArtifactoryClient`] creates (`PUT`), updates (`POST`, only the changed fields, the
//!   password only when rotating), reads (400 and 404 both mean absent), lists and deletes
//!   repositories, retries Artifactory's transient "Could not merge and save new
//!   descriptor", creates and revokes access tokens, and clears remote caches.
//! - Keys are checked before any request ([`KEY_RULES`], [`check_docker_key`]).
//! - [`ArtifactoryClient::check_remote`] runs the tutorials' debugging checks (URL exactly
//!   `https://cgr.dev/`, token authentication on, URL normalization off).
//! - [`ArtifactoryBackend`] is the core's `PullThroughBackend`: plans and ensures by field
//!   diff against what the server returns (ignoring its noise), writes the upstream password
//!   only on create, username change or rotation, prints client access as the tutorials do,
//!   and verifies with their debugging hints. `pull-through-sandbox`'s Artifactory fake
//!   serves end-to-end tests.
//!
//! ```no_run
//! use artifactory_client::{ArtifactoryClient, RepositoryConfig};
//!
//! # async fn example() -> Result<(), pull_through_core::Error> {
//! let client = ArtifactoryClient::builder().from_env().build()?;
//! if client.get_repository("cgr-public").await?.is_none() {
//!     client.create_repository(&RepositoryConfig::remote_docker("cgr-public", None)).await?;
//! }
//! # Ok(()) }
//! ```

mod backend;
mod check;
mod client;
#[cfg(feature = "fleet")]
mod fleet;
mod model;
mod reconcile;
mod rules;

pub use backend::{ArtifactoryBackend, DockerAccessMethod};
pub use check::{RemoteProblem, remote_problems};
pub use client::{
    AccessToken, AccessTokenRequest, ArtifactoryBuilder, ArtifactoryClient, ArtifactoryErrors,
};
#[cfg(feature = "fleet")]
pub use fleet::ArtifactoryFactory;
pub use model::{LOCAL_FILE_CACHE_SUFFIX, RepositoryConfig, RepositorySummary};
pub use rules::{KEY_RULES, check_docker_key};
