//! Repository configuration JSON, field names exactly as Artifactory spells them, with the
//! settings Chainguard's tutorials require built into the constructors.

use pull_through_core::{ExposeSecret, SecretString, Upstream, UpstreamCredentials};
use serde::{Deserialize, Serialize};

/// The part of a repository's configuration this crate manages. Fields left `None` are
/// not sent (the server keeps or defaults them) and are unknown when read. `password` is
/// write-only: the server answers it encrypted, so it is never read back.
///
/// ```
/// use artifactory_client::RepositoryConfig;
/// use pull_through_core::Upstream;
/// let config = RepositoryConfig::remote_docker("cgr-public", None);
/// assert_eq!(serde_json::to_value(&config)?, serde_json::json!({
///     "key": "cgr-public", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/",
///     "includesPattern": "**/*", "enableTokenAuthentication": true, "blockMismatchingMimeTypes": true}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RepositoryConfig {
    /// The repository key.
    pub key: String,
    /// `local`, `remote`, `virtual` or `federated` (lower case). Empty when read by a
    /// non-admin, who gets a partial configuration.
    #[serde(default)]
    pub rclass: String,
    /// `docker`, `alpine`, `generic`, ... (lower case).
    pub package_type: String,
    /// The description. Artifactory appends ` (local file cache)` to remotes' when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The upstream URL (remotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The upstream username (remotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The upstream password (remotes); sent only when set, never read back.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_password",
        skip_deserializing
    )]
    pub password: Option<SecretString>,
    /// Which paths the remote fetches (`**/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes_pattern: Option<String>,
    /// Bearer token authentication towards the upstream (Docker remotes; REST default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_token_authentication: Option<bool>,
    /// Block answers whose MIME type does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_mismatching_mime_types: Option<bool>,
    /// Keep package URLs as the upstream wrote them (needed for Chainguard's APK remotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_url_normalization: Option<bool>,
    /// The members, in resolution order (virtuals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
}

fn expose_password<S: serde::Serializer>(
    password: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match password {
        Some(secret) => serializer.serialize_str(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

/// The suffix Artifactory appends to remote repositories' descriptions when it lists them.
pub const LOCAL_FILE_CACHE_SUFFIX: &str = " (local file cache)";

impl RepositoryConfig {
    fn remote(
        key: &str,
        package_type: &str,
        url: String,
        credentials: Option<&UpstreamCredentials>,
    ) -> Self {
        RepositoryConfig {
            key: key.to_owned(),
            rclass: "remote".to_owned(),
            package_type: package_type.to_owned(),
            url: Some(url),
            username: credentials.map(|c| c.username().to_owned()),
            password: credentials.map(|c| c.password().clone()),
            ..RepositoryConfig::default()
        }
    }

    /// A remote Docker repository of `https://cgr.dev/` as the tutorial sets it up:
    /// include pattern `**/*`, token authentication on (the REST default is off) and
    /// mismatching MIME types blocked. With credentials for an organization's private
    /// images.
    ///
    /// ```
    /// use artifactory_client::RepositoryConfig;
    /// let creds = pull_through_core::UpstreamCredentials::new("org/id", "jwt")?;
    /// let config = RepositoryConfig::remote_docker("cgr-private", Some(&creds));
    /// let json = serde_json::to_value(&config).unwrap();
    /// assert_eq!((json["username"].as_str(), json["password"].as_str()), (Some("org/id"), Some("jwt")));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn remote_docker(key: &str, credentials: Option<&UpstreamCredentials>) -> Self {
        RepositoryConfig {
            includes_pattern: Some("**/*".to_owned()),
            enable_token_authentication: Some(true),
            block_mismatching_mime_types: Some(true),
            ..RepositoryConfig::remote(key, "docker", "https://cgr.dev/".to_owned(), credentials)
        }
    }

    /// A remote Alpine repository of an APK upstream, with URL normalization disabled
    /// (otherwise Artifactory rewrites package names with `+` and apk reports "package
    /// mentioned in index not found").
    ///
    /// ```
    /// use artifactory_client::RepositoryConfig;
    /// let config = RepositoryConfig::remote_alpine("cg-extras",
    ///     &"virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/extra-packages".parse()?, None);
    /// assert_eq!(config.url.as_deref(),
    ///     Some("https://virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/extra-packages"));
    /// assert_eq!(config.disable_url_normalization, Some(true));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn remote_alpine(
        key: &str,
        upstream: &Upstream,
        credentials: Option<&UpstreamCredentials>,
    ) -> Self {
        RepositoryConfig {
            disable_url_normalization: Some(true),
            ..RepositoryConfig::remote(key, "alpine", upstream.url().to_string(), credentials)
        }
    }

    /// A virtual Docker repository over `members`, in resolution order.
    ///
    /// ```
    /// let config = artifactory_client::RepositoryConfig::virtual_docker("cgr-virt", &["cgr-public", "cgr-private"]);
    /// assert_eq!(config.repositories.unwrap(), ["cgr-public", "cgr-private"]);
    /// ```
    pub fn virtual_docker(key: &str, members: &[&str]) -> Self {
        RepositoryConfig::virtual_of(key, "docker", members)
    }

    /// A virtual Generic repository over APK remotes, as Chainguard's earlier guide built
    /// `cg-apk-virt`. A Generic virtual keeps no metadata: each path, `APKINDEX.tar.gz`
    /// included, is answered by the first member that has it, so indexes are not merged
    /// (an Alpine-typed virtual would merge them, but the guide reports it serves only
    /// packages a remote already cached).
    ///
    /// ```
    /// let config = artifactory_client::RepositoryConfig::virtual_generic("cg-apk-virt", &["cg-private"]);
    /// assert_eq!(config.package_type, "generic");
    /// ```
    pub fn virtual_generic(key: &str, members: &[&str]) -> Self {
        RepositoryConfig::virtual_of(key, "generic", members)
    }

    fn virtual_of(key: &str, package_type: &str, members: &[&str]) -> Self {
        RepositoryConfig {
            key: key.to_owned(),
            rclass: "virtual".to_owned(),
            package_type: package_type.to_owned(),
            repositories: Some(members.iter().map(|m| (*m).to_owned()).collect()),
            ..RepositoryConfig::default()
        }
    }

    /// The description without the ` (local file cache)` suffix Artifactory may append.
    ///
    /// ```
    /// let mut config = artifactory_client::RepositoryConfig::default();
    /// config.description = Some("Chainguard images (local file cache)".into());
    /// assert_eq!(config.clean_description(), Some("Chainguard images"));
    /// ```
    pub fn clean_description(&self) -> Option<&str> {
        let description = self.description.as_deref()?;
        let clean = description
            .strip_suffix(LOCAL_FILE_CACHE_SUFFIX)
            .unwrap_or(description);
        (!clean.is_empty()).then_some(clean)
    }
}

/// One entry of `GET /api/repositories`; `type` and `packageType` come back in other letter
/// cases (`REMOTE`, `Docker`) than the query takes.
///
/// ```
/// let entry: artifactory_client::RepositorySummary = serde_json::from_value(serde_json::json!({
///     "key": "cgr-public", "type": "REMOTE", "packageType": "Docker", "url": "https://cgr.dev/",
///     "description": " (local file cache)"}))?;
/// assert_eq!(entry.rclass(), "remote");
/// assert_eq!(entry.package_type(), "docker");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RepositorySummary {
    /// The key.
    pub key: String,
    /// The class as listed (`REMOTE`).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The package type as listed (`Docker`).
    #[serde(rename = "packageType", default)]
    pub package_type_raw: Option<String>,
    /// The upstream URL for remotes, the repository's own URL otherwise.
    #[serde(default)]
    pub url: Option<String>,
    /// The description as listed.
    #[serde(default)]
    pub description: Option<String>,
}

impl RepositorySummary {
    /// The class in lower case.
    ///
    /// ```
    /// # let entry: artifactory_client::RepositorySummary = serde_json::from_value(serde_json::json!({"key": "k", "type": "VIRTUAL"})).unwrap();
    /// assert_eq!(entry.rclass(), "virtual");
    /// ```
    pub fn rclass(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// The package type in lower case.
    ///
    /// ```
    /// # let entry: artifactory_client::RepositorySummary = serde_json::from_value(serde_json::json!({"key": "k", "packageType": "Alpine"})).unwrap();
    /// assert_eq!(entry.package_type(), "alpine");
    /// ```
    pub fn package_type(&self) -> String {
        self.package_type_raw
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}
