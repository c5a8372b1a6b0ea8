//! Request bodies, field names and enum strings exactly as Cloudsmith's API spells them
//! (reference/cloudsmith.md §1, §2): every field this crate sets is sent explicitly.
//!
//! The upstream bodies carry `auth_secret`, so they do not implement `Serialize`: a
//! generic serializer (a JSON log line, a debug dump, a config written back) would write
//! the password out. Their wire form is built only where the client sends it (`wire_json`,
//! crate-private); `to_redacted_json` shows the same body with the secret replaced, and
//! `Debug` hides it. The repository bodies hold no secret and are `Serialize`.

use std::fmt;

use pull_through_core::{ExposeSecret, SecretString, UpstreamCredentials};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{AuthMode, DEFAULT_STORAGE_REGION, Mode, RepositoryType};

/// The body of `POST /repos/{owner}/`: name, slug, type, storage region and description.
///
/// ```
/// use cloudsmith_client::RepositoryCreate;
/// let body = RepositoryCreate::private("chainguard").with_description("Chainguard images");
/// assert_eq!(serde_json::to_value(&body)?, serde_json::json!({
///     "name": "chainguard", "slug": "chainguard", "repository_type_str": "Private",
///     "storage_region": "default", "description": "Chainguard images"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepositoryCreate {
    /// The descriptive name (1 to 50 characters).
    pub name: String,
    /// The slug.
    pub slug: String,
    /// The type; `Private` unless changed (the API's own default is `Public`).
    pub repository_type_str: RepositoryType,
    /// The storage region's slug; sent explicitly (`default` unless set).
    pub storage_region: String,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl RepositoryCreate {
    /// A private repository named after its slug, in the default storage region.
    ///
    /// ```
    /// let body = cloudsmith_client::RepositoryCreate::private("cgr-public");
    /// assert_eq!(body.name, "cgr-public");
    /// ```
    pub fn private(slug: impl Into<String>) -> RepositoryCreate {
        let slug = slug.into();
        RepositoryCreate {
            name: slug.clone(),
            slug,
            repository_type_str: RepositoryType::Private,
            storage_region: DEFAULT_STORAGE_REGION.to_owned(),
            description: None,
        }
    }

    /// Sets the storage region (a slug of `GET /storage-regions/`, such as `us-ohio`).
    ///
    /// ```
    /// let body = cloudsmith_client::RepositoryCreate::private("cgr").with_storage_region("us-ohio");
    /// assert_eq!(body.storage_region, "us-ohio");
    /// ```
    pub fn with_storage_region(mut self, region: impl Into<String>) -> RepositoryCreate {
        self.storage_region = region.into();
        self
    }

    /// Sets the description.
    ///
    /// ```
    /// let body = cloudsmith_client::RepositoryCreate::private("cgr").with_description("Chainguard");
    /// assert_eq!(body.description.as_deref(), Some("Chainguard"));
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> RepositoryCreate {
        self.description = Some(description.into());
        self
    }
}

/// The body of `POST .../upstream/docker/`: everything this crate sets, always sent
/// explicitly (`mode` because the API's default does not cache, `verify_ssl` because the
/// spec gives no default). `auth_username` and `auth_secret` only with credentials.
/// Not `Serialize` (see the module documentation): `Debug` and
/// [`to_redacted_json`](Self::to_redacted_json) hide the secret.
///
/// ```
/// use cloudsmith_client::DockerUpstreamRequest;
/// let body = DockerUpstreamRequest::public("cgr-public");
/// assert_eq!(body.to_redacted_json(), serde_json::json!({
///     "name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard", "mode": "Cache and Proxy",
///     "priority": 1, "verify_ssl": true, "auth_mode": "None"}));
/// ```
///
/// ```compile_fail
/// // No generic serializer can write the password out.
/// let body = cloudsmith_client::DockerUpstreamRequest::public("cgr-public");
/// serde_json::to_string(&body);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct DockerUpstreamRequest {
    /// The name (2 to 64 characters).
    pub name: String,
    /// `https://cgr.dev/chainguard` or `https://cgr.dev`, without a trailing slash.
    pub upstream_url: String,
    /// How it caches.
    pub mode: Mode,
    /// Resolution order (1 to 32767).
    pub priority: i64,
    /// Whether the upstream's certificate is verified.
    pub verify_ssl: bool,
    /// How it authenticates.
    pub auth_mode: AuthMode,
    /// The username it presents.
    pub auth_username: Option<String>,
    /// The password it presents (write-only).
    pub auth_secret: Option<SecretString>,
}

impl DockerUpstreamRequest {
    /// Chainguard's public images, `https://cgr.dev/chainguard`, cached, priority 1, as the
    /// seed sets it up.
    ///
    /// ```
    /// let body = cloudsmith_client::DockerUpstreamRequest::public("cgr-public");
    /// assert_eq!(body.upstream_url, "https://cgr.dev/chainguard");
    /// ```
    pub fn public(name: impl Into<String>) -> DockerUpstreamRequest {
        DockerUpstreamRequest {
            name: name.into(),
            upstream_url: crate::rules::PUBLIC_UPSTREAM_URL.to_owned(),
            mode: Mode::CacheAndProxy,
            priority: 1,
            verify_ssl: true,
            auth_mode: AuthMode::None,
            auth_username: None,
            auth_secret: None,
        }
    }

    /// An organization's private images: `https://cgr.dev` ("any other URL here will cause
    /// an error") with a pull token as `Username and Password`.
    ///
    /// ```
    /// use cloudsmith_client::DockerUpstreamRequest;
    /// let token = pull_through_core::UpstreamCredentials::new("org/identity", "pull-token")?;
    /// let body = DockerUpstreamRequest::private("cgr-private", &token).with_priority(2);
    /// let json = body.to_redacted_json();
    /// assert_eq!(json["auth_mode"], "Username and Password");
    /// assert_eq!(json["auth_secret"], "[REDACTED]");
    /// assert!(!json.to_string().contains("pull-token"));
    /// assert!(!format!("{body:?}").contains("pull-token"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn private(
        name: impl Into<String>,
        credentials: &UpstreamCredentials,
    ) -> DockerUpstreamRequest {
        DockerUpstreamRequest {
            upstream_url: crate::rules::PRIVATE_UPSTREAM_URL.to_owned(),
            auth_mode: AuthMode::UsernameAndPassword,
            auth_username: Some(credentials.username().to_owned()),
            auth_secret: Some(credentials.password().clone()),
            ..DockerUpstreamRequest::public(name)
        }
    }

    /// Sets the priority.
    ///
    /// ```
    /// let body = cloudsmith_client::DockerUpstreamRequest::public("cgr-public").with_priority(3);
    /// assert_eq!(body.priority, 3);
    /// ```
    pub fn with_priority(mut self, priority: i64) -> DockerUpstreamRequest {
        self.priority = priority;
        self
    }

    /// The body as it is sent, with `auth_secret` shown as `[REDACTED]`: for logs, plans
    /// and tests.
    ///
    /// ```
    /// let token = pull_through_core::UpstreamCredentials::new("org/identity", "pull-token")?;
    /// let body = cloudsmith_client::DockerUpstreamRequest::private("cgr-private", &token);
    /// assert_eq!(body.to_redacted_json()["auth_username"], "org/identity");
    /// assert_eq!(body.to_redacted_json()["auth_secret"], "[REDACTED]");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn to_redacted_json(&self) -> Value {
        self.fields(false)
    }

    /// The body as it is sent, the password in it: only for the request itself.
    pub(crate) fn wire_json(&self) -> Value {
        self.fields(true)
    }

    fn fields(&self, reveal: bool) -> Value {
        let mut body = Map::new();
        body.insert("name".to_owned(), self.name.clone().into());
        body.insert("upstream_url".to_owned(), self.upstream_url.clone().into());
        body.insert("mode".to_owned(), self.mode.as_str().into());
        body.insert("priority".to_owned(), self.priority.into());
        body.insert("verify_ssl".to_owned(), self.verify_ssl.into());
        body.insert("auth_mode".to_owned(), self.auth_mode.as_str().into());
        if let Some(username) = &self.auth_username {
            body.insert("auth_username".to_owned(), username.clone().into());
        }
        if let Some(secret) = &self.auth_secret {
            body.insert("auth_secret".to_owned(), secret_value(secret, reveal));
        }
        Value::Object(body)
    }
}

/// A secret as it goes into a body: itself for the wire, `[REDACTED]` otherwise.
fn secret_value(secret: &SecretString, reveal: bool) -> Value {
    if reveal {
        secret.expose_secret().into()
    } else {
        REDACTED.into()
    }
}

impl fmt::Debug for DockerUpstreamRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerUpstreamRequest")
            .field("name", &self.name)
            .field("upstream_url", &self.upstream_url)
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .field("verify_ssl", &self.verify_ssl)
            .field("auth_mode", &self.auth_mode)
            .field("auth_username", &self.auth_username)
            .field("auth_secret", &self.auth_secret.as_ref().map(|_| REDACTED))
            .finish()
    }
}

const REDACTED: &str = "[REDACTED]";

/// The body of `PATCH .../upstream/docker/{slug_perm}/`: only the fields set are sent.
/// `auth_username` and `auth_secret` take `Some(None)` to send `null` (clearing stored
/// credentials). Not `Serialize` (see the module documentation): `Debug` and
/// [`to_redacted_json`](Self::to_redacted_json) hide the secret.
///
/// ```
/// use cloudsmith_client::DockerUpstreamPatch;
/// use pull_through_core::SecretString;
/// let rotation = DockerUpstreamPatch::default().with_secret(SecretString::from("new-token"));
/// assert_eq!(rotation.to_redacted_json(), serde_json::json!({"auth_secret": "[REDACTED]"}));
/// assert!(!format!("{rotation:?}").contains("new-token"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct DockerUpstreamPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new URL.
    pub upstream_url: Option<String>,
    /// A new mode.
    pub mode: Option<Mode>,
    /// A new priority.
    pub priority: Option<i64>,
    /// Verify the upstream's certificate or not.
    pub verify_ssl: Option<bool>,
    /// A new authentication mode.
    pub auth_mode: Option<AuthMode>,
    /// A new username (`Some(None)` sends `null`).
    pub auth_username: Option<Option<String>>,
    /// A new password (`Some(None)` sends `null`).
    pub auth_secret: Option<Option<SecretString>>,
}

impl DockerUpstreamPatch {
    /// Writes `secret` as the upstream's password (a rotation).
    ///
    /// ```
    /// let patch = cloudsmith_client::DockerUpstreamPatch::default().with_secret("t".into());
    /// assert!(patch.auth_secret.is_some());
    /// ```
    pub fn with_secret(mut self, secret: SecretString) -> DockerUpstreamPatch {
        self.auth_secret = Some(Some(secret));
        self
    }

    /// Sets the priority.
    ///
    /// ```
    /// let patch = cloudsmith_client::DockerUpstreamPatch::default().with_priority(2);
    /// assert_eq!(patch.to_redacted_json(), serde_json::json!({"priority": 2}));
    /// ```
    pub fn with_priority(mut self, priority: i64) -> DockerUpstreamPatch {
        self.priority = Some(priority);
        self
    }

    /// Whether nothing would be sent.
    ///
    /// ```
    /// assert!(cloudsmith_client::DockerUpstreamPatch::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.upstream_url.is_none()
            && self.mode.is_none()
            && self.priority.is_none()
            && self.verify_ssl.is_none()
            && self.auth_mode.is_none()
            && self.auth_username.is_none()
            && self.auth_secret.is_none()
    }

    /// The fields that are sent, with `auth_secret` shown as `[REDACTED]` (and `null`
    /// where it is cleared): for logs, plans and tests.
    ///
    /// ```
    /// let patch = cloudsmith_client::DockerUpstreamPatch::default().with_secret("t0k3n".into());
    /// assert_eq!(patch.to_redacted_json(), serde_json::json!({"auth_secret": "[REDACTED]"}));
    /// ```
    pub fn to_redacted_json(&self) -> Value {
        self.fields(false)
    }

    /// The fields as they are sent, the password in them: only for the request itself.
    pub(crate) fn wire_json(&self) -> Value {
        self.fields(true)
    }

    fn fields(&self, reveal: bool) -> Value {
        let mut body = Map::new();
        let mut set = |field: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(field.to_owned(), value);
            }
        };
        set("name", self.name.clone().map(Value::from));
        set("upstream_url", self.upstream_url.clone().map(Value::from));
        set("mode", self.mode.as_ref().map(|m| m.as_str().into()));
        set("priority", self.priority.map(Value::from));
        set("verify_ssl", self.verify_ssl.map(Value::from));
        set(
            "auth_mode",
            self.auth_mode.as_ref().map(|m| m.as_str().into()),
        );
        set(
            "auth_username",
            self.auth_username
                .as_ref()
                .map(|u| u.clone().map_or(Value::Null, Value::from)),
        );
        set(
            "auth_secret",
            self.auth_secret.as_ref().map(|secret| {
                secret
                    .as_ref()
                    .map_or(Value::Null, |secret| secret_value(secret, reveal))
            }),
        );
        Value::Object(body)
    }
}

impl fmt::Debug for DockerUpstreamPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerUpstreamPatch")
            .field("name", &self.name)
            .field("upstream_url", &self.upstream_url)
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .field("verify_ssl", &self.verify_ssl)
            .field("auth_mode", &self.auth_mode)
            .field("auth_username", &self.auth_username)
            .field(
                "auth_secret",
                &self
                    .auth_secret
                    .as_ref()
                    .map(|secret| secret.as_ref().map(|_| REDACTED)),
            )
            .finish()
    }
}

/// The body of `PATCH /repos/{owner}/{identifier}/`: only the description is managed.
///
/// ```
/// let patch = cloudsmith_client::RepositoryPatch::description("Chainguard images");
/// assert_eq!(serde_json::to_value(&patch)?, serde_json::json!({"description": "Chainguard images"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepositoryPatch {
    /// The new description.
    pub description: String,
}

impl RepositoryPatch {
    /// A new description.
    ///
    /// ```
    /// let patch = cloudsmith_client::RepositoryPatch::description("x");
    /// assert_eq!(patch.description, "x");
    /// ```
    pub fn description(description: impl Into<String>) -> RepositoryPatch {
        RepositoryPatch {
            description: description.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_clears_credentials_with_null() {
        let patch = DockerUpstreamPatch {
            auth_mode: Some(AuthMode::None),
            auth_username: Some(None),
            auth_secret: Some(None),
            ..DockerUpstreamPatch::default()
        };
        let expected =
            serde_json::json!({"auth_mode": "None", "auth_username": null, "auth_secret": null});
        assert_eq!(patch.wire_json(), expected);
        assert_eq!(patch.to_redacted_json(), expected);
    }

    #[test]
    fn only_the_wire_form_holds_the_secret() {
        let credentials = UpstreamCredentials::new("org/identity", "pull-token-value").unwrap();
        let request = DockerUpstreamRequest::private("cgr-private", &credentials);
        assert_eq!(request.wire_json()["auth_secret"], "pull-token-value");
        assert_eq!(request.to_redacted_json()["auth_secret"], REDACTED);
        let patch = DockerUpstreamPatch::default().with_secret("pull-token-value".into());
        assert_eq!(
            patch.wire_json(),
            serde_json::json!({"auth_secret": "pull-token-value"})
        );
        assert!(
            !patch
                .to_redacted_json()
                .to_string()
                .contains("pull-token-value")
        );
    }
}
