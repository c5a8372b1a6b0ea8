//! The JSON of Google's REST APIs, with Google's own field names (lowerCamelCase of the
//! proto fields; reference §1.2, §1.3, §2, §3): Artifact Registry's [`Repository`] and
//! [`Operation`], Secret Manager's [`Secret`] and [`SecretVersion`], IAM's [`Policy`] and
//! Resource Manager's [`Project`]. Fields this crate does not use are not modelled;
//! unknown fields are ignored when reading. Enums Google may grow are strings, compared
//! with the constants here.
//!
//! ```
//! use gar_client::model::Repository;
//! let repo: Repository = serde_json::from_str(r#"{"name": "projects/p/locations/us/repositories/r",
//!     "format": "DOCKER", "mode": "VIRTUAL_REPOSITORY"}"#).unwrap();
//! assert_eq!(repo.mode.as_deref(), Some(gar_client::model::MODE_VIRTUAL));
//! ```

/// `format` of a Docker repository.
///
/// ```
/// assert_eq!(gar_client::model::FORMAT_DOCKER, "DOCKER");
/// ```
pub const FORMAT_DOCKER: &str = "DOCKER";
/// `mode` of a remote (pull-through) repository.
///
/// ```
/// assert_eq!(gar_client::model::MODE_REMOTE, "REMOTE_REPOSITORY");
/// ```
pub const MODE_REMOTE: &str = "REMOTE_REPOSITORY";
/// `mode` of a virtual repository (an aggregate of others).
///
/// ```
/// assert_eq!(gar_client::model::MODE_VIRTUAL, "VIRTUAL_REPOSITORY");
/// ```
pub const MODE_VIRTUAL: &str = "VIRTUAL_REPOSITORY";
/// `mode` of a standard repository (what an unspecified mode means).
///
/// ```
/// assert_eq!(gar_client::model::MODE_STANDARD, "STANDARD_REPOSITORY");
/// ```
pub const MODE_STANDARD: &str = "STANDARD_REPOSITORY";
/// `state` of a secret version that can be read.
///
/// ```
/// assert_eq!(gar_client::model::STATE_ENABLED, "ENABLED");
/// ```
pub const STATE_ENABLED: &str = "ENABLED";
/// The role the Artifact Registry service agent needs on a secret.
///
/// ```
/// assert_eq!(gar_client::model::SECRET_ACCESSOR_ROLE, "roles/secretmanager.secretAccessor");
/// ```
pub const SECRET_ACCESSOR_ROLE: &str = "roles/secretmanager.secretAccessor";

mod operation;
mod repository;
mod secret;

pub use operation::{Operation, Status};
pub use repository::{
    CommonRepository, CustomRepository, DockerRepository, RemoteRepositoryConfig, Repository,
    UpstreamCredentials, UpstreamPolicy, UsernamePasswordCredentials, VirtualRepositoryConfig,
};
pub use secret::{Binding, Policy, Secret, SecretVersion};

use serde::Deserialize;

/// A Resource Manager project (v1).
///
/// ```
/// let project: gar_client::model::Project = serde_json::from_str(
///     r#"{"projectNumber": "123456789012", "projectId": "my-project", "lifecycleState": "ACTIVE"}"#).unwrap();
/// assert_eq!(project.project_number, "123456789012");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Project {
    /// The number (an int64 written as a string).
    #[serde(default)]
    pub project_number: String,
    /// The id.
    #[serde(default)]
    pub project_id: String,
    /// `ACTIVE`, `DELETE_REQUESTED`, ...
    pub lifecycle_state: Option<String>,
}
