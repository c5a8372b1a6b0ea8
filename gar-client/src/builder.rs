//! [`GarBuilder`]: records a [`GarClient`]'s settings; [`GarBuilder::build`] checks them.

use std::sync::Arc;
use std::time::Duration;

use pull_through_core::http::{HttpClient, HttpObserver, RetryConfig, check_credentials_transport};
use pull_through_core::{Error, SecretString, ValidationError};
use url::Url;

use crate::auth::{ACCESS_TOKEN_VAR, ApplicationDefault, StaticToken, TokenSource};
use crate::backoff::Backoff;
use crate::client::{GarClient, Inner};
use crate::error::{DockerErrors, GoogleErrors};
use crate::rules::{check_location, check_project_id};

/// The variable `from_env` reads the project id from.
///
/// ```
/// assert_eq!(gar_client::PROJECT_VAR, "GOOGLE_CLOUD_PROJECT");
/// ```
pub const PROJECT_VAR: &str = "GOOGLE_CLOUD_PROJECT";
/// The variable `from_env` reads the location from.
///
/// ```
/// assert_eq!(gar_client::LOCATION_VAR, "GOOGLE_CLOUD_LOCATION");
/// ```
pub const LOCATION_VAR: &str = "GOOGLE_CLOUD_LOCATION";
/// The variable `from_env` reads the quota project from (sent as `x-goog-user-project`,
/// which APIs called with gcloud's user credentials may require).
///
/// ```
/// assert_eq!(gar_client::QUOTA_PROJECT_VAR, "GOOGLE_CLOUD_QUOTA_PROJECT");
/// ```
pub const QUOTA_PROJECT_VAR: &str = "GOOGLE_CLOUD_QUOTA_PROJECT";
/// gcloud's own override of Artifact Registry's root URL.
///
/// ```
/// assert_eq!(gar_client::ARTIFACT_REGISTRY_URL_VAR, "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY");
/// ```
pub const ARTIFACT_REGISTRY_URL_VAR: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY";
/// gcloud's own override of Secret Manager's root URL.
///
/// ```
/// assert_eq!(gar_client::SECRET_MANAGER_URL_VAR, "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER");
/// ```
pub const SECRET_MANAGER_URL_VAR: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER";
/// gcloud's own override of Resource Manager's root URL.
///
/// ```
/// assert_eq!(gar_client::RESOURCE_MANAGER_URL_VAR, "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER");
/// ```
pub const RESOURCE_MANAGER_URL_VAR: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER";
/// The root URL of the Docker registry (default `https://{location}-docker.pkg.dev/`).
///
/// ```
/// assert_eq!(gar_client::DOCKER_REGISTRY_URL_VAR, "GAR_DOCKER_REGISTRY_URL");
/// ```
pub const DOCKER_REGISTRY_URL_VAR: &str = "GAR_DOCKER_REGISTRY_URL";

const ARTIFACT_REGISTRY_URL: &str = "https://artifactregistry.googleapis.com/";
const SECRET_MANAGER_URL: &str = "https://secretmanager.googleapis.com/";
const RESOURCE_MANAGER_URL: &str = "https://cloudresourcemanager.googleapis.com/";

/// A value and where it came from: the builder method or variable a message names.
type Given = (String, &'static str);

/// Configures a [`GarClient`]. Records settings only; [`build`](Self::build) checks them,
/// and nothing is sent before the first call.
///
/// ```
/// use gar_client::GarClient;
/// let client = GarClient::builder()
///     .with_project("pull-through-sandbox")
///     .with_location("us-central1")
///     .with_access_token("ya29.example")
///     .build()?;
/// assert_eq!(client.docker_host(), "us-central1-docker.pkg.dev");
/// # Ok::<(), pull_through_core::Error>(())
/// ```
#[must_use]
pub struct GarBuilder {
    project: Option<Given>,
    location: Option<Given>,
    token: Option<Arc<dyn TokenSource>>,
    quota_project: Option<String>,
    artifact_registry_url: Option<Given>,
    secret_manager_url: Option<Given>,
    resource_manager_url: Option<Given>,
    docker_registry_url: Option<Given>,
    polling: Backoff,
    iam_retry: Backoff,
    validation_retry: Backoff,
    retry: RetryConfig,
    observer: Option<Arc<dyn HttpObserver>>,
}

impl std::fmt::Debug for GarBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarBuilder")
            .field("project", &self.project)
            .field("location", &self.location)
            .field("token", &self.token)
            .field("polling", &self.polling)
            .field("iam_retry", &self.iam_retry)
            .field("validation_retry", &self.validation_retry)
            .finish_non_exhaustive()
    }
}

impl Default for GarBuilder {
    fn default() -> Self {
        GarBuilder {
            project: None,
            location: None,
            token: None,
            quota_project: None,
            artifact_registry_url: None,
            secret_manager_url: None,
            resource_manager_url: None,
            docker_registry_url: None,
            // Google's own clients start at 1 s and cap at 60 s; a person waiting at a
            // terminal is better served by a 10 s cap. Terraform gives a create 20 minutes.
            polling: Backoff::new(Duration::from_secs(1), Duration::from_secs(10)),
            iam_retry: Backoff::new(Duration::from_secs(1), Duration::from_secs(8))
                .with_max_attempts(5)
                .with_budget(Duration::from_secs(60)),
            // IAM changes "typically propagate in 2 minutes, but could potentially take 7
            // minutes or longer" (reference §3.3): 8 minutes of waiting covers that.
            validation_retry: Backoff::new(Duration::from_secs(10), Duration::from_secs(60))
                .with_budget(Duration::from_secs(8 * 60)),
            retry: RetryConfig::default(),
            observer: None,
        }
    }
}

impl GarBuilder {
    /// The project id (not its number or display name).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_project("pull-through-sandbox");
    /// ```
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some((project.into(), "with_project"));
        self
    }

    /// The location: a region such as `us-central1`, or `us`, `europe` or `asia`.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_location("us-central1");
    /// ```
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some((location.into(), "with_location"));
        self
    }

    /// Where access tokens come from.
    ///
    /// ```
    /// use gar_client::auth::StaticToken;
    /// let builder = gar_client::GarClient::builder()
    ///     .with_token_source(std::sync::Arc::new(StaticToken::new("ya29.example")));
    /// ```
    pub fn with_token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token = Some(source);
        self
    }

    /// One access token (a [`StaticToken`]); it lasts about an hour.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_access_token("ya29.example");
    /// ```
    pub fn with_access_token(self, token: impl Into<SecretString>) -> Self {
        self.with_token_source(Arc::new(StaticToken::new(token)))
    }

    /// Application Default Credentials ([`ApplicationDefault`]), looked for when the first
    /// token is needed.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_application_default_credentials();
    /// ```
    pub fn with_application_default_credentials(self) -> Self {
        self.with_token_source(Arc::new(ApplicationDefault::new()))
    }

    /// The project whose quota and billing calls are charged to (`x-goog-user-project`),
    /// which Google asks for when gcloud's user credentials call some APIs.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_quota_project("billing-project");
    /// ```
    pub fn with_quota_project(mut self, project: impl Into<String>) -> Self {
        self.quota_project = Some(project.into());
        self
    }

    /// Artifact Registry's root URL (default `https://artifactregistry.googleapis.com/`;
    /// `v1/...` is appended).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_artifact_registry_url("http://127.0.0.1:8090/");
    /// ```
    pub fn with_artifact_registry_url(mut self, url: impl Into<String>) -> Self {
        self.artifact_registry_url = Some((url.into(), "with_artifact_registry_url"));
        self
    }

    /// Secret Manager's root URL (default `https://secretmanager.googleapis.com/`).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_secret_manager_url("http://127.0.0.1:8091/");
    /// ```
    pub fn with_secret_manager_url(mut self, url: impl Into<String>) -> Self {
        self.secret_manager_url = Some((url.into(), "with_secret_manager_url"));
        self
    }

    /// Resource Manager's root URL (default `https://cloudresourcemanager.googleapis.com/`).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_resource_manager_url("http://127.0.0.1:8092/");
    /// ```
    pub fn with_resource_manager_url(mut self, url: impl Into<String>) -> Self {
        self.resource_manager_url = Some((url.into(), "with_resource_manager_url"));
        self
    }

    /// The Docker registry's root URL (default `https://{location}-docker.pkg.dev/`).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().with_docker_registry_url("http://127.0.0.1:8093/");
    /// ```
    pub fn with_docker_registry_url(mut self, url: impl Into<String>) -> Self {
        self.docker_registry_url = Some((url.into(), "with_docker_registry_url"));
        self
    }

    /// How a long-running operation is polled (default: 1 s doubling to 10 s, 20 minutes
    /// in all).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = gar_client::GarClient::builder()
    ///     .with_operation_polling(gar_client::Backoff::new(Duration::from_millis(100), Duration::from_secs(1)));
    /// ```
    pub fn with_operation_polling(mut self, backoff: Backoff) -> Self {
        self.polling = backoff;
        self
    }

    /// How an IAM read-modify-write is retried after a concurrent change (409 ABORTED);
    /// the whole read and write are retried (default: 5 tries, 1 s doubling to 8 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = gar_client::GarClient::builder()
    ///     .with_iam_retry(gar_client::Backoff::new(Duration::from_millis(10), Duration::from_millis(50)).with_max_attempts(3));
    /// ```
    pub fn with_iam_retry(mut self, backoff: Backoff) -> Self {
        self.iam_retry = backoff;
        self
    }

    /// How long a PATCH of upstream credentials is retried while Artifact Registry answers
    /// "Failed to validate remote upstream", as it does until a new IAM grant has
    /// propagated (default: 10 s doubling to 60 s, 8 minutes in all).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = gar_client::GarClient::builder()
    ///     .with_validation_retry(gar_client::Backoff::new(Duration::from_secs(5), Duration::from_secs(30))
    ///         .with_budget(Duration::from_secs(120)));
    /// ```
    pub fn with_validation_retry(mut self, backoff: Backoff) -> Self {
        self.validation_retry = backoff;
        self
    }

    /// The HTTP retry policy of every request.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder()
    ///     .with_retry(pull_through_core::http::RetryConfig::none());
    /// ```
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// An observer of every request, to every host.
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder()
    ///     .with_observer(std::sync::Arc::new(pull_through_core::http::RecordingObserver::new()));
    /// ```
    pub fn with_observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Reads the process environment; see [`from_env_with`](Self::from_env_with).
    ///
    /// ```
    /// let builder = gar_client::GarClient::builder().from_env();
    /// ```
    pub fn from_env(self) -> Self {
        self.from_env_with(|var| std::env::var(var).ok())
    }

    /// Reads the settings from variables looked up by `lookup` alone (a sandbox's env
    /// file, a test): `GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`,
    /// `GOOGLE_CLOUD_QUOTA_PROJECT`, gcloud's endpoint overrides
    /// `CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY`, `..._SECRETMANAGER` and
    /// `..._CLOUDRESOURCEMANAGER`, and `GAR_DOCKER_REGISTRY_URL`. The token is
    /// `GOOGLE_OAUTH_ACCESS_TOKEN` when set, else the token source set before, else
    /// Application Default Credentials. Empty values count as unset; unset ones leave what
    /// was set before.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let vars = HashMap::from([
    ///     ("GOOGLE_CLOUD_PROJECT", "pull-through-sandbox"),
    ///     ("GOOGLE_CLOUD_LOCATION", "us-central1"),
    ///     ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.sandbox-0123"),
    ///     ("GAR_DOCKER_REGISTRY_URL", "http://127.0.0.1:8093/"),
    /// ]);
    /// let client = gar_client::GarClient::builder()
    ///     .from_env_with(|var| vars.get(var).map(|v| v.to_string()))
    ///     .build()?;
    /// assert_eq!(client.project(), "pull-through-sandbox");
    /// assert_eq!(client.docker_host(), "127.0.0.1:8093");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn from_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let env = |var: &str| lookup(var).filter(|v| !v.is_empty());
        let given = |var: &'static str| env(var).map(|value| (value, var));
        self.project = given(PROJECT_VAR).or(self.project);
        self.location = given(LOCATION_VAR).or(self.location);
        self.quota_project = env(QUOTA_PROJECT_VAR).or(self.quota_project);
        self.artifact_registry_url =
            given(ARTIFACT_REGISTRY_URL_VAR).or(self.artifact_registry_url);
        self.secret_manager_url = given(SECRET_MANAGER_URL_VAR).or(self.secret_manager_url);
        self.resource_manager_url = given(RESOURCE_MANAGER_URL_VAR).or(self.resource_manager_url);
        self.docker_registry_url = given(DOCKER_REGISTRY_URL_VAR).or(self.docker_registry_url);
        self.token = match (env(ACCESS_TOKEN_VAR), self.token) {
            (Some(token), _) => Some(Arc::new(StaticToken::new(token).named(ACCESS_TOKEN_VAR))),
            (None, Some(given)) => Some(given),
            (None, None) => Some(Arc::new(ApplicationDefault::new())),
        };
        self
    }

    /// Checks the settings and builds the client. Sends nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a missing or invalid project id or location (naming the
    /// variable when it was read from one), a missing token source, or a URL that is not
    /// http(s) or would carry the token over plain http to a host that is not loopback.
    ///
    /// ```
    /// let err = gar_client::GarClient::builder()
    ///     .with_project("pull-through-sandbox")
    ///     .with_location("us-central1-a")
    ///     .with_access_token("ya29.x")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("not a zone"), "{err}");
    /// ```
    pub fn build(self) -> Result<GarClient, Error> {
        let missing = |field: &str, problem: &str| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: field.to_owned(),
                problem: problem.to_owned(),
            })
        };
        let (project, project_from) = self.project.ok_or_else(|| {
            missing(
                "project",
                "none was given; set GOOGLE_CLOUD_PROJECT (and call from_env) or call \
                 with_project with the project id",
            )
        })?;
        check_project_id(&project).map_err(|err| named(err, project_from))?;
        let (location, location_from) = self.location.ok_or_else(|| {
            missing(
                "location",
                "none was given; set GOOGLE_CLOUD_LOCATION (and call from_env) or call \
                 with_location with a region such as us-central1",
            )
        })?;
        check_location(&location).map_err(|err| named(err, location_from))?;
        let token = self.token.ok_or_else(|| {
            missing(
                "credentials",
                "none were given; call with_access_token, with_application_default_credentials \
                 or from_env",
            )
        })?;
        let url = |given: Option<Given>, default: String| -> Result<Url, Error> {
            let (text, from) = given.unwrap_or((default, "default"));
            let url = pull_through_core::http::parse_base_url(from, &text)?;
            check_credentials_transport(&url)?;
            Ok(url)
        };
        let artifact_registry = url(self.artifact_registry_url, ARTIFACT_REGISTRY_URL.into())?;
        let secret_manager = url(self.secret_manager_url, SECRET_MANAGER_URL.into())?;
        let resource_manager = url(self.resource_manager_url, RESOURCE_MANAGER_URL.into())?;
        let docker = url(
            self.docker_registry_url,
            format!("https://{location}-docker.pkg.dev/"),
        )?;
        let errors = Arc::new(GoogleErrors::new(project.clone(), token.refusal_hint()));
        let http = |base: Url, docker: bool| {
            let mut builder = HttpClient::builder("gar", base)
                .user_agent(concat!("gar-client/", env!("CARGO_PKG_VERSION")))
                .retry(self.retry.clone());
            builder = if docker {
                builder.error_envelope(Arc::new(DockerErrors))
            } else {
                builder.error_envelope(errors.clone())
            };
            if let Some(observer) = &self.observer {
                builder = builder.observer(observer.clone());
            }
            builder.build()
        };
        Ok(GarClient::from_inner(Inner {
            artifact_registry: http(artifact_registry, false)?,
            secret_manager: http(secret_manager, false)?,
            resource_manager: http(resource_manager, false)?,
            docker: http(docker.clone(), true)?,
            docker_url: docker,
            project,
            location,
            token,
            quota_project: self.quota_project,
            polling: self.polling,
            iam_retry: self.iam_retry,
            validation_retry: self.validation_retry,
            observer: self.observer,
            project_number: tokio::sync::OnceCell::new(),
        }))
    }
}

/// A refused value read from a variable names the variable (`from` is a variable's name
/// or the builder method that set it).
fn named(err: Error, from: &str) -> Error {
    let variable = from.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    match err {
        Error::InvalidInput(ValidationError::InvalidName { what, name, rule }) if variable => {
            Error::InvalidInput(ValidationError::InvalidName {
                what: format!("{what} (from {from})"),
                name,
                rule,
            })
        }
        Error::InvalidInput(ValidationError::InvalidValue { field, problem }) if variable => {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: format!("{field} (from {from})"),
                problem,
            })
        }
        other => other,
    }
}
