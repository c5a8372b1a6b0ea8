//! [`CloudsmithBuilder`]: the workspace, the API key, the two base URLs and the docker
//! login user, from code or from the variables `sandbox serve` writes.

use std::sync::Arc;
use std::time::Duration;

use pull_through_core::http::{HttpObserver, RetryConfig};
use pull_through_core::{Error, SecretString, ValidationError};

use crate::client::CloudsmithClient;
use crate::rules::IDENTIFIER_RULES;

/// The variable holding the API key, by convention (Cloudsmith's docs and CLI use it).
///
/// ```
/// assert_eq!(cloudsmith_client::API_KEY_VAR, "CLOUDSMITH_API_KEY");
/// ```
pub const API_KEY_VAR: &str = "CLOUDSMITH_API_KEY";
/// The variable `from_env` reads the API root from.
///
/// ```
/// assert_eq!(cloudsmith_client::API_URL_VAR, "CLOUDSMITH_API_URL");
/// ```
pub const API_URL_VAR: &str = "CLOUDSMITH_API_URL";
/// The variable `from_env` reads the Docker registry root from.
///
/// ```
/// assert_eq!(cloudsmith_client::DOCKER_URL_VAR, "CLOUDSMITH_DOCKER_URL");
/// ```
pub const DOCKER_URL_VAR: &str = "CLOUDSMITH_DOCKER_URL";
/// The variable `from_env` reads the workspace (owner) slug from.
///
/// ```
/// assert_eq!(cloudsmith_client::OWNER_VAR, "CLOUDSMITH_OWNER");
/// ```
pub const OWNER_VAR: &str = "CLOUDSMITH_OWNER";
/// The variable `from_env` reads the user slug people `docker login` with from.
///
/// ```
/// assert_eq!(cloudsmith_client::USER_VAR, "CLOUDSMITH_USER");
/// ```
pub const USER_VAR: &str = "CLOUDSMITH_USER";

/// The API root: the spec's server, with unprefixed paths.
///
/// ```
/// assert_eq!(cloudsmith_client::DEFAULT_API_URL, "https://api.cloudsmith.io/");
/// ```
pub const DEFAULT_API_URL: &str = "https://api.cloudsmith.io/";
/// The Docker registry root.
///
/// ```
/// assert_eq!(cloudsmith_client::DEFAULT_DOCKER_URL, "https://docker.cloudsmith.io/");
/// ```
pub const DEFAULT_DOCKER_URL: &str = "https://docker.cloudsmith.io/";

/// How long a create in a repository made a moment before keeps being tried while the
/// API answers 404: Cloudsmith replicates across regions, and its Terraform provider
/// retries such a 404 for a minute (every 2 s).
///
/// ```
/// assert_eq!(cloudsmith_client::DEFAULT_REPLICATION_WAIT.as_secs(), 60);
/// ```
pub const DEFAULT_REPLICATION_WAIT: Duration = Duration::from_secs(60);

/// Where a setting came from, so that `build` names what the caller can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Code(&'static str),
    Env(String),
}

impl Origin {
    pub(crate) fn field(&self) -> &str {
        match self {
            Origin::Code(field) => field,
            Origin::Env(var) => var,
        }
    }
}

/// Where the API key came from: messages and client access name the variable, never the
/// key.
#[derive(Clone)]
pub(crate) enum ApiKey {
    /// Read, or given with the variable it was read from.
    Given(SecretString, Option<String>),
    /// Asked for from a variable that was not set.
    Unset(String),
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKey::Given(_, var) => write!(f, "Given([REDACTED], {var:?})"),
            ApiKey::Unset(var) => write!(f, "Unset({var:?})"),
        }
    }
}

/// Configures a [`CloudsmithClient`]. Does no I/O. `Debug` never shows the API key.
///
/// ```
/// use cloudsmith_client::CloudsmithClient;
/// let client = CloudsmithClient::builder()
///     .with_owner("acme")
///     .with_api_key("api-key")
///     .with_user("linky")
///     .build()?;
/// assert_eq!(client.owner(), "acme");
/// assert_eq!(client.docker_host(), "docker.cloudsmith.io");
/// # Ok::<(), pull_through_core::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct CloudsmithBuilder {
    pub(crate) owner: Option<(String, Origin)>,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) api_url: Option<(String, Origin)>,
    pub(crate) docker_url: Option<(String, Origin)>,
    pub(crate) user: Option<(String, Origin)>,
    pub(crate) read_env: bool,
    pub(crate) retry: RetryConfig,
    pub(crate) replication_wait: Duration,
    pub(crate) observer: Option<Arc<dyn HttpObserver>>,
}

impl CloudsmithBuilder {
    pub(crate) fn new() -> CloudsmithBuilder {
        CloudsmithBuilder {
            owner: None,
            api_key: None,
            api_url: None,
            docker_url: None,
            user: None,
            read_env: false,
            retry: RetryConfig::default(),
            replication_wait: DEFAULT_REPLICATION_WAIT,
            observer: None,
        }
    }

    /// The workspace (owner) slug the repositories belong to.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_owner("acme");
    /// ```
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some((owner.into(), Origin::Code("owner")));
        self
    }

    /// The API key, sent as `X-Api-Key`. Client access names it as `$CLOUDSMITH_API_KEY`.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_api_key("api-key");
    /// assert!(!format!("{builder:?}").contains("api-key\""));
    /// ```
    pub fn with_api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(ApiKey::Given(key.into(), None));
        self
    }

    /// The API key, read from the variable `var` of the process environment now; messages
    /// and client access name `var`.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_api_key_env("MY_CLOUDSMITH_KEY");
    /// ```
    pub fn with_api_key_env(mut self, var: impl Into<String>) -> Self {
        let var = var.into();
        self.api_key = Some(match std::env::var(&var).ok().filter(|v| !v.is_empty()) {
            Some(key) => ApiKey::Given(SecretString::from(key), Some(var)),
            None => ApiKey::Unset(var),
        });
        self
    }

    /// The API key, already read from the variable `var` (by a program with its own
    /// environment); messages and client access name `var`.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder()
    ///     .with_api_key_from("CLOUDSMITH_API_KEY", "api-key");
    /// ```
    pub fn with_api_key_from(
        mut self,
        var: impl Into<String>,
        key: impl Into<SecretString>,
    ) -> Self {
        self.api_key = Some(ApiKey::Given(key.into(), Some(var.into())));
        self
    }

    /// Overrides the API root (tests point it at a fake; `https://api.cloudsmith.io/` by
    /// default). Paths are appended to it as the spec writes them (`repos/{owner}/`).
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_base_url("http://127.0.0.1:8080/");
    /// ```
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some((url.into(), Origin::Code("base_url")));
        self
    }

    /// Overrides the Docker registry root (`https://docker.cloudsmith.io/` by default; a
    /// custom Docker domain goes here).
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_docker_url("https://docker.example.com/");
    /// ```
    pub fn with_docker_url(mut self, url: impl Into<String>) -> Self {
        self.docker_url = Some((url.into(), Origin::Code("docker_url")));
        self
    }

    /// The user slug people `docker login docker.cloudsmith.io -u` with (the API key is
    /// the password). Without it, client access shows a placeholder and verification asks
    /// `GET /user/self/` whose key it is.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().with_user("linky");
    /// ```
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some((user.into(), Origin::Code("user")));
        self
    }

    /// Reads `CLOUDSMITH_API_KEY`, `CLOUDSMITH_API_URL`, `CLOUDSMITH_DOCKER_URL`,
    /// `CLOUDSMITH_OWNER` and `CLOUDSMITH_USER` from the process environment; see
    /// [`from_env_with`](Self::from_env_with).
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder().from_env();
    /// ```
    pub fn from_env(self) -> Self {
        self.from_env_with(|var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `lookup` alone (a
    /// program's own environment, an embedded sandbox's, tests). Empty values count as
    /// unset, and unset variables leave what was set before. Once this was called,
    /// [`build`](Self::build)'s errors name the variables to set.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let vars = HashMap::from([
    ///     ("CLOUDSMITH_API_KEY", "api-key"),
    ///     ("CLOUDSMITH_API_URL", "http://127.0.0.1:8080/"),
    ///     ("CLOUDSMITH_DOCKER_URL", "http://127.0.0.1:8081/"),
    ///     ("CLOUDSMITH_OWNER", "pull-through-sandbox"),
    ///     ("CLOUDSMITH_USER", "sandbox-user"),
    /// ]);
    /// let client = cloudsmith_client::CloudsmithClient::builder()
    ///     .from_env_with(|var| vars.get(var).map(|v| v.to_string()))
    ///     .build()?;
    /// assert_eq!(client.owner(), "pull-through-sandbox");
    /// assert_eq!(client.docker_host(), "127.0.0.1:8081");
    /// assert_eq!(client.api_key_var(), "CLOUDSMITH_API_KEY");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn from_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let env = |var: &str| lookup(var).filter(|v| !v.is_empty());
        self.read_env = true;
        if let Some(key) = env(API_KEY_VAR) {
            self.api_key = Some(ApiKey::Given(
                SecretString::from(key),
                Some(API_KEY_VAR.to_owned()),
            ));
        }
        let origin = |var: &str| Origin::Env(var.to_owned());
        if let Some(url) = env(API_URL_VAR) {
            self.api_url = Some((url, origin(API_URL_VAR)));
        }
        if let Some(url) = env(DOCKER_URL_VAR) {
            self.docker_url = Some((url, origin(DOCKER_URL_VAR)));
        }
        if let Some(owner) = env(OWNER_VAR) {
            self.owner = Some((owner, origin(OWNER_VAR)));
        }
        if let Some(user) = env(USER_VAR) {
            self.user = Some((user, origin(USER_VAR)));
        }
        self
    }

    /// The HTTP retry policy (the core's; a create is never repeated blindly whatever it
    /// says, see [`CloudsmithClient::create_upstream`]).
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder()
    ///     .with_retry(pull_through_core::http::RetryConfig::none());
    /// ```
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// How long an upstream's create in a repository this client has just made is tried
    /// again while the API answers 404 (the repository not replicated yet):
    /// [`DEFAULT_REPLICATION_WAIT`] unless set, whatever the retry policy says; the waits
    /// between tries grow from half a second to 2 s (Terraform's interval), jittered.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder()
    ///     .with_replication_wait(std::time::Duration::from_secs(10));
    /// ```
    pub fn with_replication_wait(mut self, wait: Duration) -> Self {
        self.replication_wait = wait;
        self
    }

    /// An observer of every request, the registry's included.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder()
    ///     .with_observer(std::sync::Arc::new(pull_through_core::http::RecordingObserver::new()));
    /// ```
    pub fn with_observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] without an owner or API key, for an owner or user that is
    /// not a slug, for a URL that is not http(s), or for a key going over plain http to a
    /// host that is not loopback. Messages name the variable after
    /// [`from_env`](Self::from_env), otherwise the builder method; a refused URL is shown
    /// at most as `scheme://host[:port]/`.
    ///
    /// ```
    /// let err = cloudsmith_client::CloudsmithClient::builder()
    ///     .from_env_with(|_| None)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "invalid input: owner: CLOUDSMITH_OWNER is not set; set it \
    ///     to the workspace's slug or call with_owner");
    /// ```
    pub fn build(self) -> Result<CloudsmithClient, Error> {
        let invalid = |field: &str, problem: String| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: field.to_owned(),
                problem,
            })
        };
        let (owner, owner_origin) = self.owner.clone().ok_or_else(|| {
            invalid(
                "owner",
                if self.read_env {
                    format!(
                        "{OWNER_VAR} is not set; set it to the workspace's slug or call with_owner"
                    )
                } else {
                    "none was given; call with_owner with the workspace's slug".to_owned()
                },
            )
        })?;
        IDENTIFIER_RULES
            .check(&owner)
            .map_err(|err| invalid(owner_origin.field(), err.to_string()))?;
        let (api_key, key_var) = match self.api_key.clone() {
            Some(ApiKey::Given(key, var)) => (key, var),
            Some(ApiKey::Unset(var)) => {
                return Err(invalid(
                    "api_key",
                    format!("{var} is not set; set it to a Cloudsmith API key"),
                ));
            }
            None if self.read_env => {
                return Err(invalid(
                    "api_key",
                    format!(
                        "{API_KEY_VAR} is not set; set it to a Cloudsmith API key or call \
                         with_api_key"
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    "api_key",
                    "none was given; call with_api_key with a Cloudsmith API key".to_owned(),
                ));
            }
        };
        let user = match &self.user {
            Some((user, origin)) => {
                IDENTIFIER_RULES
                    .check(user)
                    .map_err(|err| invalid(origin.field(), err.to_string()))?;
                Some(user.clone())
            }
            None => None,
        };
        let url = |setting: &Option<(String, Origin)>, default: &str, field: &'static str| {
            let (text, origin) = setting
                .clone()
                .unwrap_or_else(|| (default.to_owned(), Origin::Code(field)));
            let url = pull_through_core::http::parse_base_url(origin.field(), &text)
                .map_err(Error::InvalidInput)?;
            pull_through_core::http::check_credentials_transport(&url)?;
            Ok::<_, Error>(url)
        };
        let api_url = url(&self.api_url, crate::builder::DEFAULT_API_URL, "base_url")?;
        let docker_url = url(&self.docker_url, DEFAULT_DOCKER_URL, "docker_url")?;
        CloudsmithClient::new(crate::client::Settings {
            owner,
            api_key,
            key_var,
            user,
            api_url,
            docker_url,
            retry: self.retry,
            replication_wait: self.replication_wait,
            observer: self.observer,
        })
    }
}
