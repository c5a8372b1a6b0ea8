//! The platform API's JSON, exactly as Chainguard spells it (proto3 JSON: lowerCamelCase,
//! RFC 3339 timestamps). Unknown fields are ignored: the schema grows.

use pull_through_core::SecretString;
use serde::{Deserialize, Serialize};

/// The issuer of pull-token identities.
///
/// ```
/// assert_eq!(chainguard_client::model::PULL_TOKEN_ISSUER, "https://pulltoken.issuer.chainguard.dev");
/// ```
pub const PULL_TOKEN_ISSUER: &str = "https://pulltoken.issuer.chainguard.dev";

/// A group: an organization (root, a 40-hex id) or a folder (`ORG/16hex`).
///
/// ```
/// let group: chainguard_client::model::Group = serde_json::from_str(
///     r#"{"id":"0123456789abcdef0123456789abcdef01234567","name":"example.com","verified":true}"#)?;
/// assert!(group.is_organization());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    /// The UIDP.
    pub id: String,
    /// The name.
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// Whether the organization's name is verified.
    #[serde(default)]
    pub verified: bool,
}

impl Group {
    /// Whether this is an organization (a root group) rather than a folder.
    ///
    /// ```
    /// # let group: chainguard_client::model::Group = serde_json::from_str(r#"{"id":"a/b","name":"f"}"#).unwrap();
    /// assert!(!group.is_organization());
    /// ```
    pub fn is_organization(&self) -> bool {
        !self.id.contains('/')
    }
}

/// A role and its capabilities (v1: names like `apk.list`).
///
/// ```
/// let role: chainguard_client::model::Role = serde_json::from_str(
///     r#"{"id":"63921b2c44617e3f2603851537be0123af4a57d7","name":"viewer","capabilities":["repo.list"]}"#)?;
/// assert!(role.is_built_in());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Role {
    /// The id: 40 hex for built-in roles, `ORG/16hex` for custom ones.
    pub id: String,
    /// The name (`registry.pull`).
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// The capabilities.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

impl Role {
    /// Whether this is one of Chainguard's built-in roles (a root-level id).
    ///
    /// ```
    /// # let role: chainguard_client::model::Role = serde_json::from_str(r#"{"id":"x/y","name":"apk.pull"}"#).unwrap();
    /// assert!(!role.is_built_in());
    /// ```
    pub fn is_built_in(&self) -> bool {
        !self.id.contains('/')
    }
}

/// The `static` relationship of an identity: a pull token's keys and expiry.
///
/// ```
/// let keys: chainguard_client::model::StaticKeys = serde_json::from_value(serde_json::json!({
///     "issuer": "https://pulltoken.issuer.chainguard.dev", "subject": "pull-token-1",
///     "issuerKeys": "{}", "expiration": "2026-12-22T00:00:00Z"}))?;
/// assert_eq!(keys.subject, "pull-token-1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StaticKeys {
    /// The issuer the identity's tokens carry.
    pub issuer: String,
    /// The subject the identity's tokens carry.
    pub subject: String,
    /// The JWKS document of the verification keys, as a string; empty when the API
    /// leaves it out or answers `null`.
    ///
    /// ```
    /// let keys: chainguard_client::model::StaticKeys = serde_json::from_value(serde_json::json!({
    ///     "issuer": "https://pulltoken.issuer.chainguard.dev", "subject": "s", "issuerKeys": null}))?;
    /// assert!(keys.issuer_keys.is_empty() && keys.expiration.is_empty());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[serde(default, deserialize_with = "null_as_empty")]
    pub issuer_keys: String,
    /// When the keys stop being accepted (RFC 3339); empty when the API leaves it out or
    /// answers `null`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub expiration: String,
}

/// A string field the API may leave out or answer as `null`: both read as empty.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// An identity: a user, an assumable identity, or a static identity such as a pull token.
///
/// ```
/// let identity: chainguard_client::model::Identity = serde_json::from_value(serde_json::json!({
///     "id": "0123456789abcdef0123456789abcdef01234567/0123456789abcdef", "name": "pull-token"}))?;
/// assert!(!identity.is_pull_token());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Identity {
    /// The UIDP (`ORG/16hex`); empty in a create request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The name.
    pub name: String,
    /// The description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The static relationship, for pull tokens.
    #[serde(rename = "static", default, skip_serializing_if = "Option::is_none")]
    pub static_keys: Option<StaticKeys>,
}

impl Identity {
    /// Whether this identity is a pull token (static, with the pull-token issuer).
    ///
    /// ```
    /// # let identity: chainguard_client::model::Identity = serde_json::from_value(serde_json::json!({
    /// #     "id": "o/i", "name": "pull-token", "static": {"issuer": "https://pulltoken.issuer.chainguard.dev",
    /// #     "subject": "s", "issuerKeys": "{}", "expiration": "2026-12-22T00:00:00Z"}})).unwrap();
    /// assert!(identity.is_pull_token());
    /// ```
    pub fn is_pull_token(&self) -> bool {
        self.static_keys
            .as_ref()
            .is_some_and(|keys| keys.issuer == PULL_TOKEN_ISSUER)
    }
}

/// A role binding as created: the identity and role ids.
///
/// ```
/// let binding = chainguard_client::model::RoleBindingRequest { identity: "o/i".into(), role: "r".into() };
/// assert_eq!(serde_json::to_value(&binding)?, serde_json::json!({"identity": "o/i", "role": "r"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleBindingRequest {
    /// The identity's UIDP.
    pub identity: String,
    /// The role's id.
    pub role: String,
}

/// A role binding as the API returns it from create.
///
/// ```
/// let binding: chainguard_client::model::RoleBinding = serde_json::from_value(serde_json::json!({
///     "id": "o/b", "identity": "o/i", "role": "r"}))?;
/// assert_eq!(binding.id, "o/b");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RoleBinding {
    /// The binding's UIDP.
    pub id: String,
    /// The identity's UIDP.
    #[serde(default)]
    pub identity: String,
    /// The role's id (v1 create answers with the id).
    #[serde(default, deserialize_with = "role_id")]
    pub role: String,
}

/// v1 answers a role as its id on create and as a full object on list.
fn role_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum RoleField {
        Id(String),
        Full { id: String },
    }
    Ok(match RoleField::deserialize(deserializer)? {
        RoleField::Id(id) | RoleField::Full { id } => id,
    })
}

/// A list answer: `{"items": [...]}` (v1 has no pagination).
#[derive(Debug, Deserialize)]
pub(crate) struct Items<T> {
    #[serde(default = "Vec::new")]
    pub(crate) items: Vec<T>,
}

/// One organization's role as `/auth/v1/ok` reports it.
///
/// ```
/// let grant: chainguard_client::model::GroupCapabilities = serde_json::from_value(serde_json::json!({
///     "group": {"id": "0123456789abcdef0123456789abcdef01234567", "name": "example.com"},
///     "role": {"id": "r", "name": "apk.pull", "capabilities": ["apk.list", "apk.blobs.get"]}}))?;
/// assert_eq!(grant.role.as_ref().unwrap().name, "apk.pull");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GroupCapabilities {
    /// The group.
    pub group: Option<Group>,
    /// The role held there.
    pub role: Option<Role>,
    /// Capabilities, when no known role matches.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// Who a token belongs to and what it may do: `GET /auth/v1/ok`.
///
/// ```
/// let who: chainguard_client::model::WhoAmI = serde_json::from_value(serde_json::json!({
///     "issuer": "https://issuer.enforce.dev", "subject": "s", "audience": ["https://console-api.enforce.dev"],
///     "capabilities": []}))?;
/// assert_eq!(who.subject, "s");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WhoAmI {
    /// The token's issuer.
    #[serde(default)]
    pub issuer: String,
    /// The identity.
    #[serde(default)]
    pub subject: String,
    /// The audiences.
    #[serde(default)]
    pub audience: Vec<String>,
    /// When the token expires (RFC 3339).
    #[serde(default)]
    pub expiry: Option<String>,
    /// The email, for human identities.
    #[serde(default)]
    pub email: Option<String>,
    /// Roles and capabilities per group, as minted into the token.
    #[serde(default)]
    pub capabilities: Vec<GroupCapabilities>,
}

impl WhoAmI {
    /// Every capability the token holds in a group (through its role or directly).
    ///
    /// ```
    /// # let who: chainguard_client::model::WhoAmI = serde_json::from_value(serde_json::json!({"capabilities": [
    /// #   {"group": {"id": "g", "name": "n"}, "role": {"id": "r", "name": "apk.pull", "capabilities": ["apk.list"]}}]})).unwrap();
    /// assert_eq!(who.capabilities_in("g"), ["apk.list"]);
    /// assert!(who.capabilities_in("other").is_empty());
    /// ```
    pub fn capabilities_in(&self, group_id: &str) -> Vec<&str> {
        self.capabilities
            .iter()
            .filter(|grant| {
                grant.group.as_ref().is_some_and(|group| {
                    group.id == group_id || group_id.starts_with(&format!("{}/", group.id))
                })
            })
            .flat_map(|grant| {
                grant
                    .role
                    .iter()
                    .flat_map(|role| role.capabilities.iter())
                    .chain(grant.capabilities.iter())
                    .map(String::as_str)
            })
            .collect()
    }
}

/// What `/sts/exchange` returns (`refreshToken` and `expiry` too, unused: a token's own
/// `exp` claim decides when it is refreshed). A secret from the moment it is read, so its
/// `Debug` hides it.
#[derive(Debug, Deserialize)]
pub(crate) struct RawToken {
    pub(crate) token: SecretString,
}

/// One token of a refresh answer, hidden in `Debug` like [`RawToken`]'s.
#[derive(Debug, Deserialize)]
pub(crate) struct ExpiringToken {
    pub(crate) token: SecretString,
}

/// What `/sts/exchange_refresh_token` returns: the token and the rotated refresh token.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenPair {
    pub(crate) token: ExpiringToken,
    pub(crate) refresh_token: ExpiringToken,
}

#[cfg(test)]
mod tests {
    use super::{ExpiringToken, RawToken, TokenPair};

    #[test]
    fn token_answers_hide_their_tokens_in_debug() {
        let raw: RawToken = serde_json::from_str(r#"{"token":"eyJ-raw-s3cret"}"#).unwrap();
        let pair: TokenPair = serde_json::from_str(
            r#"{"token":{"token":"eyJ-access-s3cret"},"refreshToken":{"token":"refresh-s3cret"}}"#,
        )
        .unwrap();
        let single: ExpiringToken = serde_json::from_str(r#"{"token":"single-s3cret"}"#).unwrap();
        for shown in [
            format!("{raw:?}"),
            format!("{pair:?}"),
            format!("{single:?}"),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }
}
