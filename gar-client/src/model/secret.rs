//! Secret Manager's secrets and versions, and IAM policies.

use serde::{Deserialize, Serialize};

use super::STATE_ENABLED;

/// A Secret Manager secret (its metadata; values are versions).
///
/// ```
/// let secret: gar_client::model::Secret = serde_json::from_str(
///     r#"{"name": "projects/123/secrets/pull-through-cgr", "replication": {"automatic": {}}}"#).unwrap();
/// assert_eq!(secret.name, "projects/123/secrets/pull-through-cgr");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Secret {
    /// `projects/{project number}/secrets/{secret}`.
    #[serde(default)]
    pub name: String,
    /// When it was made.
    pub create_time: Option<String>,
    /// Its etag.
    pub etag: Option<String>,
}

/// A secret version: its name and state, never its payload.
///
/// ```
/// let version: gar_client::model::SecretVersion = serde_json::from_str(
///     r#"{"name": "projects/123/secrets/s/versions/4", "state": "ENABLED"}"#).unwrap();
/// assert_eq!(version.version_id(), Some("4"));
/// assert!(version.is_enabled());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SecretVersion {
    /// `projects/{project number}/secrets/{secret}/versions/{version}`.
    #[serde(default)]
    pub name: String,
    /// `ENABLED`, `DISABLED` or `DESTROYED`.
    #[serde(default)]
    pub state: String,
    /// When it was added.
    pub create_time: Option<String>,
    /// Whether Google received the CRC32C sent with the payload.
    pub client_specified_payload_checksum: Option<bool>,
}

impl SecretVersion {
    /// The version number, the last segment of `name`.
    ///
    /// ```
    /// # use gar_client::model::SecretVersion;
    /// assert_eq!(SecretVersion::default().version_id(), None);
    /// ```
    pub fn version_id(&self) -> Option<&str> {
        self.name.rsplit_once("/versions/").map(|(_, v)| v)
    }

    /// Whether it can be read.
    ///
    /// ```
    /// # use gar_client::model::SecretVersion;
    /// assert!(!SecretVersion::default().is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.state == STATE_ENABLED
    }
}

/// An IAM policy, read and written whole with its `etag`.
///
/// ```
/// let policy: gar_client::model::Policy = serde_json::from_str(r#"{"version": 1, "etag": "BwX1"}"#).unwrap();
/// assert!(policy.bindings.is_empty());
/// assert!(!policy.grants("roles/secretmanager.secretAccessor", "serviceAccount:a@b"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Policy {
    /// The policy's format version (3 when conditions are in use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Role bindings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
    /// The version read, sent back so a concurrent change is refused (409 ABORTED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl Policy {
    /// Whether `member` holds `role` unconditionally.
    ///
    /// ```
    /// let policy: gar_client::model::Policy = serde_json::from_str(r#"{"bindings":
    ///     [{"role": "r", "members": ["user:a@example.com"]}]}"#).unwrap();
    /// assert!(policy.grants("r", "user:a@example.com"));
    /// ```
    pub fn grants(&self, role: &str, member: &str) -> bool {
        self.bindings.iter().any(|binding| {
            binding.role == role
                && binding.condition.is_none()
                && binding.members.iter().any(|m| m == member)
        })
    }

    /// Adds `member` to the unconditional binding of `role` (made if there is none);
    /// `false` when it was there already.
    ///
    /// ```
    /// let mut policy = gar_client::model::Policy::default();
    /// assert!(policy.add("r", "user:a@example.com"));
    /// assert!(!policy.add("r", "user:a@example.com"));
    /// ```
    pub fn add(&mut self, role: &str, member: &str) -> bool {
        if self.grants(role, member) {
            return false;
        }
        match self
            .bindings
            .iter_mut()
            .find(|binding| binding.role == role && binding.condition.is_none())
        {
            Some(binding) => binding.members.push(member.to_owned()),
            None => self.bindings.push(Binding {
                role: role.to_owned(),
                members: vec![member.to_owned()],
                condition: None,
            }),
        }
        true
    }
}

/// One role binding.
///
/// ```
/// let binding: gar_client::model::Binding = serde_json::from_str(
///     r#"{"role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:a@b"]}"#).unwrap();
/// assert!(binding.condition.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// `roles/...`.
    #[serde(default)]
    pub role: String,
    /// `user:...`, `serviceAccount:...`, ...
    #[serde(default)]
    pub members: Vec<String>,
    /// An IAM condition, kept as read so a write does not drop it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
}
