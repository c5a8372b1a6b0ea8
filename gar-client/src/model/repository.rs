//! Artifact Registry's `Repository` and its configurations.

use serde::{Deserialize, Serialize};

use super::{FORMAT_DOCKER, MODE_REMOTE, MODE_VIRTUAL};

/// An Artifact Registry repository.
///
/// ```
/// let repo: gar_client::model::Repository = serde_json::from_str(r#"{
///   "name": "projects/p/locations/us-central1/repositories/cgr-public",
///   "format": "DOCKER", "mode": "REMOTE_REPOSITORY",
///   "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}},
///   "registryUri": "us-central1-docker.pkg.dev/p/cgr-public"}"#).unwrap();
/// assert_eq!(repo.id(), Some("cgr-public"));
/// assert_eq!(repo.upstream_uri(), Some("https://cgr.dev/"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Repository {
    /// `projects/{project}/locations/{location}/repositories/{repository}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `DOCKER`, `MAVEN`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `STANDARD_REPOSITORY`, `REMOTE_REPOSITORY` or `VIRTUAL_REPOSITORY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A remote repository's upstream and credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_repository_config: Option<RemoteRepositoryConfig>,
    /// A virtual repository's members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_repository_config: Option<VirtualRepositoryConfig>,
    /// Output only: when it was made.
    #[serde(skip_serializing)]
    pub create_time: Option<String>,
    /// Output only: when it last changed.
    #[serde(skip_serializing)]
    pub update_time: Option<String>,
    /// Output only: `{location}-docker.pkg.dev/{project}/{repository}`.
    #[serde(skip_serializing)]
    pub registry_uri: Option<String>,
}

impl Repository {
    /// The create body of a remote Docker repository of `https://cgr.dev/`, without
    /// credentials (they are added by PATCH once the secret is readable).
    ///
    /// `commonRepository.uri` is what gcloud and the console send for a custom upstream URL
    /// (reference §1.3: `dockerRepository.customRepository` is the deprecated shape), and
    /// the value is the seed's URL exactly, `https://cgr.dev/`. Both shapes are read back
    /// as the upstream ([`Repository::upstream_uri`]).
    ///
    /// ```
    /// let body = serde_json::to_value(gar_client::model::Repository::remote_docker(None)).unwrap();
    /// assert_eq!(body, serde_json::json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
    ///     "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}));
    /// ```
    pub fn remote_docker(description: Option<String>) -> Repository {
        Repository {
            format: Some(FORMAT_DOCKER.to_owned()),
            mode: Some(MODE_REMOTE.to_owned()),
            description,
            remote_repository_config: Some(RemoteRepositoryConfig {
                common_repository: Some(CommonRepository {
                    uri: pull_through_core::Upstream::CgrPublic.url().to_string(),
                }),
                ..RemoteRepositoryConfig::default()
            }),
            ..Repository::default()
        }
    }

    /// The create body of a virtual Docker repository over `members` (repository ids in
    /// the same project and location), the first tried first: priorities N down to 1, a
    /// larger priority being tried first.
    ///
    /// ```
    /// let body = serde_json::to_value(gar_client::model::Repository::virtual_docker(
    ///     "p", "us-central1", &["cgr-public", "cgr-private"], None)).unwrap();
    /// assert_eq!(body["virtualRepositoryConfig"]["upstreamPolicies"][0], serde_json::json!(
    ///     {"id": "cgr-public", "repository": "projects/p/locations/us-central1/repositories/cgr-public", "priority": 2}));
    /// ```
    pub fn virtual_docker(
        project: &str,
        location: &str,
        members: &[&str],
        description: Option<String>,
    ) -> Repository {
        Repository {
            format: Some(FORMAT_DOCKER.to_owned()),
            mode: Some(MODE_VIRTUAL.to_owned()),
            description,
            virtual_repository_config: Some(VirtualRepositoryConfig::in_order(
                project, location, members,
            )),
            ..Repository::default()
        }
    }

    /// The repository id: the last segment of `name`.
    ///
    /// ```
    /// # use gar_client::model::Repository;
    /// assert_eq!(Repository::default().id(), None);
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.name
            .as_deref()
            .and_then(|name| name.rsplit('/').next())
    }

    /// The upstream URL of a remote, from `commonRepository.uri` or, for repositories
    /// made the older way, `dockerRepository.customRepository.uri`.
    ///
    /// ```
    /// let repo: gar_client::model::Repository = serde_json::from_str(r#"{"remoteRepositoryConfig":
    ///     {"dockerRepository": {"customRepository": {"uri": "https://cgr.dev"}}}}"#).unwrap();
    /// assert_eq!(repo.upstream_uri(), Some("https://cgr.dev"));
    /// ```
    pub fn upstream_uri(&self) -> Option<&str> {
        let remote = self.remote_repository_config.as_ref()?;
        remote
            .common_repository
            .as_ref()
            .map(|common| common.uri.as_str())
            .or_else(|| {
                remote
                    .docker_repository
                    .as_ref()?
                    .custom_repository
                    .as_ref()
                    .map(|custom| custom.uri.as_str())
            })
    }

    /// The username and pinned secret version of a remote's upstream credentials.
    ///
    /// ```
    /// # use gar_client::model::Repository;
    /// assert!(Repository::remote_docker(None).credentials().is_none());
    /// ```
    pub fn credentials(&self) -> Option<&UsernamePasswordCredentials> {
        self.remote_repository_config
            .as_ref()?
            .upstream_credentials
            .as_ref()?
            .username_password_credentials
            .as_ref()
            .filter(|c| !c.username.is_empty() || !c.password_secret_version.is_empty())
    }

    /// A virtual repository's member ids, highest priority first.
    ///
    /// ```
    /// # use gar_client::model::Repository;
    /// let repo = Repository::virtual_docker("p", "us", &["a", "b"], None);
    /// assert_eq!(repo.members(), ["a", "b"]);
    /// ```
    pub fn members(&self) -> Vec<String> {
        let mut policies: Vec<&UpstreamPolicy> = self
            .virtual_repository_config
            .iter()
            .flat_map(|config| &config.upstream_policies)
            .collect();
        // Stable: equal priorities keep Google's order.
        policies.sort_by_key(|policy| std::cmp::Reverse(policy.priority));
        policies
            .into_iter()
            .map(|policy| {
                policy
                    .repository
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// `remoteRepositoryConfig`.
///
/// ```
/// let config: gar_client::model::RemoteRepositoryConfig = serde_json::from_str(
///     r#"{"commonRepository": {"uri": "https://cgr.dev/"}}"#).unwrap();
/// assert!(config.upstream_credentials.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RemoteRepositoryConfig {
    /// The description of the remote source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The upstream as a URL (what gcloud and the console send).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_repository: Option<CommonRepository>,
    /// The older Docker-specific upstream shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_repository: Option<DockerRepository>,
    /// Credentials presented upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_credentials: Option<UpstreamCredentials>,
    /// Input only: skip the upstream check on create or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_upstream_validation: Option<bool>,
}

/// `commonRepository`.
///
/// ```
/// let common: gar_client::model::CommonRepository = serde_json::from_str(r#"{"uri": "https://cgr.dev/"}"#).unwrap();
/// assert_eq!(common.uri, "https://cgr.dev/");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CommonRepository {
    /// The upstream URL.
    #[serde(default)]
    pub uri: String,
}

/// `dockerRepository`.
///
/// ```
/// let docker: gar_client::model::DockerRepository = serde_json::from_str(
///     r#"{"customRepository": {"uri": "https://cgr.dev"}}"#).unwrap();
/// assert_eq!(docker.custom_repository.unwrap().uri, "https://cgr.dev");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DockerRepository {
    /// `DOCKER_HUB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_repository: Option<String>,
    /// A custom upstream URL (deprecated for `commonRepository`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_repository: Option<CustomRepository>,
}

/// `dockerRepository.customRepository`.
///
/// ```
/// let custom: gar_client::model::CustomRepository = serde_json::from_str(r#"{"uri": "https://cgr.dev"}"#).unwrap();
/// assert_eq!(custom.uri, "https://cgr.dev");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomRepository {
    /// The upstream URL.
    #[serde(default)]
    pub uri: String,
}

/// `upstreamCredentials`.
///
/// ```
/// let creds: gar_client::model::UpstreamCredentials = serde_json::from_str(
///     r#"{"usernamePasswordCredentials": {"username": "u", "passwordSecretVersion": "projects/p/secrets/s/versions/1"}}"#).unwrap();
/// assert_eq!(creds.username_password_credentials.unwrap().username, "u");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpstreamCredentials {
    /// A username and the secret version holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_password_credentials: Option<UsernamePasswordCredentials>,
}

/// `usernamePasswordCredentials`: no password, only where it is kept.
///
/// ```
/// let creds = gar_client::model::UsernamePasswordCredentials::new("org/id",
///     "projects/p/secrets/s/versions/2");
/// assert_eq!(serde_json::to_value(&creds).unwrap(), serde_json::json!(
///     {"username": "org/id", "passwordSecretVersion": "projects/p/secrets/s/versions/2"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsernamePasswordCredentials {
    /// The username presented upstream.
    #[serde(default)]
    pub username: String,
    /// `projects/{project}/secrets/{secret}/versions/{version}`.
    #[serde(default)]
    pub password_secret_version: String,
}

impl UsernamePasswordCredentials {
    /// A username and the version pinned.
    ///
    /// ```
    /// let creds = gar_client::model::UsernamePasswordCredentials::new("u", "projects/p/secrets/s/versions/1");
    /// assert_eq!(creds.username, "u");
    /// ```
    pub fn new(
        username: impl Into<String>,
        password_secret_version: impl Into<String>,
    ) -> UsernamePasswordCredentials {
        UsernamePasswordCredentials {
            username: username.into(),
            password_secret_version: password_secret_version.into(),
        }
    }

    /// The pinned version's secret id and version, read from
    /// `projects/{project}/secrets/{secret}/versions/{version}` whatever the project
    /// segment (Google echoes the project number where the id was sent).
    ///
    /// ```
    /// let creds = gar_client::model::UsernamePasswordCredentials::new("u",
    ///     "projects/123456789012/secrets/pull-through-cgr/versions/3");
    /// assert_eq!(creds.secret(), Some(("pull-through-cgr", "3")));
    /// ```
    pub fn secret(&self) -> Option<(&str, &str)> {
        match self
            .password_secret_version
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["projects", _, "secrets", secret, "versions", version] => Some((secret, version)),
            _ => None,
        }
    }
}

/// `virtualRepositoryConfig`.
///
/// ```
/// let config: gar_client::model::VirtualRepositoryConfig = serde_json::from_str(
///     r#"{"upstreamPolicies": [{"id": "a", "repository": "projects/p/locations/us/repositories/a", "priority": 1}]}"#).unwrap();
/// assert_eq!(config.upstream_policies[0].priority, 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualRepositoryConfig {
    /// The members.
    #[serde(default)]
    pub upstream_policies: Vec<UpstreamPolicy>,
}

impl VirtualRepositoryConfig {
    /// Policies for `members` in order, the first with the highest priority.
    ///
    /// ```
    /// let config = gar_client::model::VirtualRepositoryConfig::in_order("p", "us", &["a", "b", "c"]);
    /// let priorities: Vec<i32> = config.upstream_policies.iter().map(|p| p.priority).collect();
    /// assert_eq!(priorities, [3, 2, 1]);
    /// ```
    pub fn in_order(project: &str, location: &str, members: &[&str]) -> VirtualRepositoryConfig {
        let count = members.len();
        VirtualRepositoryConfig {
            upstream_policies: members
                .iter()
                .enumerate()
                .map(|(index, member)| UpstreamPolicy {
                    id: (*member).to_owned(),
                    repository: format!(
                        "projects/{project}/locations/{location}/repositories/{member}"
                    ),
                    priority: i32::try_from(count - index).unwrap_or(i32::MAX),
                })
                .collect(),
        }
    }
}

/// One member of a virtual repository.
///
/// ```
/// let policy: gar_client::model::UpstreamPolicy = serde_json::from_str(
///     r#"{"id": "cgr-public", "repository": "projects/p/locations/us/repositories/cgr-public", "priority": 2}"#).unwrap();
/// assert_eq!(policy.id, "cgr-public");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpstreamPolicy {
    /// The policy's id (this crate uses the member's repository id).
    #[serde(default)]
    pub id: String,
    /// `projects/{project}/locations/{location}/repositories/{repository}`.
    #[serde(default)]
    pub repository: String,
    /// Larger is tried first.
    #[serde(default)]
    pub priority: i32,
}
