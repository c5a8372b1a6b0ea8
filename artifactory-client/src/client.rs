//! [`ArtifactoryClient`]: the repositories, access-token and cache calls.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope, VendorError};
use pull_through_core::http::{HttpClient, HttpObserver, RequestBuilder, RetryConfig};
use pull_through_core::{Deleted, Error, ExposeSecret, SecretString, ValidationError};
use serde::Deserialize;
use url::Url;

use crate::model::{RepositoryConfig, RepositorySummary};

/// The transient error Artifactory answers when two writes race on its configuration.
const MERGE_ERROR: &str = "Could not merge and save new descriptor";

/// Reads `{"errors":[{"status":400,"message":"..."}]}` (and the Access API's
/// `{"errors":[{"code":"...","message":"..."}]}`), recognising "already exists".
///
/// ```
/// use artifactory_client::ArtifactoryErrors;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let parsed = ArtifactoryErrors.parse(http::StatusCode::BAD_REQUEST,
///     r#"{"errors":[{"status":400,"message":"Case insensitive repository key already exists"}]}"#).unwrap();
/// assert_eq!(parsed.class, Some(ApiErrorClass::AlreadyExists));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ArtifactoryErrors;

impl ErrorEnvelope for ArtifactoryErrors {
    fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        let first = value.get("errors")?.get(0)?;
        let message = first.get("message")?.as_str()?.to_owned();
        let mut parsed = VendorError::message(message.clone());
        if let Some(code) = first.get("code").and_then(|c| c.as_str()) {
            parsed = parsed.with_code(code);
        } else if let Some(status) = first.get("status").and_then(|s| s.as_i64()) {
            parsed = parsed.with_code(status.to_string());
        }
        if message.contains("already exists") {
            parsed = parsed.with_class(ApiErrorClass::AlreadyExists);
        }
        Some(parsed)
    }

    fn request_id_headers(&self) -> &[&str] {
        &["x-request-id", "x-jfrog-request-id"]
    }
}

/// How the client authenticates.
#[derive(Clone)]
enum Credentials {
    Bearer(SecretString),
    Basic(String, SecretString),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Credentials::Basic(user, _) => write!(f, "Basic({user:?}, [REDACTED])"),
        }
    }
}

/// Where a builder's setting came from, so that `build` names what the caller can change:
/// a variable only when the value was looked for in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Code,
    Env,
}

/// The variable `from_env` reads the instance's URL from.
const URL_VAR: &str = "ARTIFACTORY_URL";
/// The variables `from_env` reads an access token from, first found wins.
const TOKEN_VARS: [&str; 2] = ["ARTIFACTORY_ACCESS_TOKEN", "JFROG_ACCESS_TOKEN"];
/// The variable `from_env` reads the login of client access from.
const USER_VAR: &str = "ARTIFACTORY_USER";

/// Parses the instance's URL given for `field`. A value that is refused is not echoed unless
/// it is a plain address (`scheme://host[:port]`): a token pasted in the wrong variable or
/// setting must not reach a log.
fn base_url(field: &str, text: &str) -> Result<Url, Error> {
    pull_through_core::http::parse_base_url(field, text).map_err(Error::InvalidInput)
}

/// Configures an [`ArtifactoryClient`]. Does no I/O.
#[derive(Debug)]
#[must_use]
pub struct ArtifactoryBuilder {
    url: Option<(String, Origin)>,
    credentials: Option<Credentials>,
    user: Option<String>,
    read_env: bool,
    retry: RetryConfig,
    observer: Option<Arc<dyn HttpObserver>>,
    merge_retry: Vec<Duration>,
}

impl ArtifactoryBuilder {
    /// The instance, as `https://HOST` or `https://HOST/artifactory` (both mean the same).
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder().with_url("https://example.jfrog.io");
    /// ```
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some((url.into(), Origin::Code));
        self
    }

    /// Overrides the instance URL (tests point it at a fake): the same as
    /// [`ArtifactoryBuilder::with_url`].
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder().with_base_url("http://127.0.0.1:8081");
    /// ```
    pub fn with_base_url(self, url: impl Into<String>) -> Self {
        self.with_url(url)
    }

    /// Authenticates with an access token as `Authorization: Bearer` (recommended).
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder().with_access_token("eyJ...");
    /// ```
    pub fn with_access_token(mut self, token: impl Into<SecretString>) -> Self {
        self.credentials = Some(Credentials::Bearer(token.into()));
        self
    }

    /// Authenticates with a username and a token or password as Basic credentials (the
    /// username is sent raw: JFrog does not decode `%40`). The username is also the
    /// client's [`user`](ArtifactoryClient::user) unless one is set later.
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder().with_basic("linky@example.com", "token");
    /// ```
    pub fn with_basic(mut self, user: impl Into<String>, token: impl Into<SecretString>) -> Self {
        let user = user.into();
        self.user = Some(user.clone());
        self.credentials = Some(Credentials::Basic(user, token.into()));
        self
    }

    /// The user people log in as for client access (`docker login -u`, the userinfo of an
    /// apk repository line), reported by [`ArtifactoryClient::user`]. It does not change
    /// how the client authenticates: an admin's access token usually sets caches up for
    /// other people to pull through.
    ///
    /// ```
    /// let client = artifactory_client::ArtifactoryClient::builder()
    ///     .with_url("https://example.jfrog.io")
    ///     .with_access_token("admin-token")
    ///     .with_user("linky@example.com")
    ///     .build()?;
    /// assert_eq!(client.user(), Some("linky@example.com"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Reads `ARTIFACTORY_URL`, the first of `ARTIFACTORY_ACCESS_TOKEN` and
    /// `JFROG_ACCESS_TOKEN` (as JFrog's Terraform provider does) and `ARTIFACTORY_USER`
    /// from the process environment; see [`from_env_with`](Self::from_env_with).
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder().from_env();
    /// ```
    pub fn from_env(self) -> Self {
        self.from_env_with(|var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `lookup` alone, never in
    /// the process environment: for a program that runs against an embedded sandbox or
    /// reads its settings from a file, and for tests.
    ///
    /// Empty values count as unset, and unset variables leave what was set before. The
    /// token is sent as `Authorization: Bearer`; `ARTIFACTORY_USER` only names the login of
    /// client access ([`with_user`](Self::with_user)) and is not paired with the token as
    /// Basic credentials, because the token is usually an admin's and Artifactory refuses
    /// Basic credentials whose username is not the token's owner. Once this was called,
    /// [`build`](Self::build)'s errors name the variables to set.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let vars = HashMap::from([
    ///     ("ARTIFACTORY_URL", "https://example.jfrog.io"),
    ///     ("ARTIFACTORY_ACCESS_TOKEN", "admin-token"),
    ///     ("ARTIFACTORY_USER", "linky@example.com"),
    /// ]);
    /// let client = artifactory_client::ArtifactoryClient::builder()
    ///     .from_env_with(|var| vars.get(var).map(|v| v.to_string()))
    ///     .build()?;
    /// assert_eq!(client.host(), "example.jfrog.io");
    /// assert_eq!(client.user(), Some("linky@example.com"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn from_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let env = |var: &str| lookup(var).filter(|v| !v.is_empty());
        self.read_env = true;
        if let Some(url) = env(URL_VAR) {
            self.url = Some((url, Origin::Env));
        }
        if let Some(token) = TOKEN_VARS.into_iter().find_map(env) {
            self.credentials = Some(Credentials::Bearer(SecretString::from(token)));
        }
        if let Some(user) = env(USER_VAR) {
            self.user = Some(user);
        }
        self
    }

    /// The HTTP retry policy.
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder()
    ///     .with_retry(pull_through_core::http::RetryConfig::none());
    /// ```
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// An observer of every request.
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder()
    ///     .with_observer(std::sync::Arc::new(pull_through_core::http::RecordingObserver::new()));
    /// ```
    pub fn with_observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The waits before retrying a write Artifactory refused with "Could not merge and save
    /// new descriptor" (default 1, 2 and 4 seconds).
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder()
    ///     .with_merge_retry(vec![std::time::Duration::from_millis(5)]);
    /// ```
    pub fn with_merge_retry(mut self, waits: Vec<Duration>) -> Self {
        self.merge_retry = waits;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] without a URL or credentials, for a URL that is not
    /// http(s), or for credentials over plain http to a host that is not loopback. The
    /// message names an environment variable only after
    /// [`from_env`](Self::from_env) or [`from_env_with`](Self::from_env_with), and
    /// otherwise the builder method to call. A refused URL is shown only as
    /// `scheme://host[:port]/`, and not at all when it may hold a secret (a token pasted
    /// where the URL belongs is refused as such).
    ///
    /// ```
    /// let err = artifactory_client::ArtifactoryClient::builder()
    ///     .with_url("https://example.jfrog.io")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid input: credentials: none were given; call with_access_token with an access \
    ///      token (or with_basic with a username and a token or password)"
    /// );
    /// ```
    ///
    /// ```
    /// let client = artifactory_client::ArtifactoryClient::builder()
    ///     .with_url("https://example.jfrog.io/artifactory/")
    ///     .with_access_token("t")
    ///     .build()?;
    /// assert_eq!(client.repositories_url().as_str(), "https://example.jfrog.io/artifactory");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn build(self) -> Result<ArtifactoryClient, Error> {
        let missing = |field: &str, problem: &str| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: field.to_owned(),
                problem: problem.to_owned(),
            })
        };
        let (url, origin) = self.url.ok_or_else(|| {
            if self.read_env {
                missing(
                    "url",
                    "ARTIFACTORY_URL is not set; set it to the instance's URL (such as \
                     https://example.jfrog.io) or call with_url",
                )
            } else {
                missing(
                    "url",
                    "none was given; call with_url with the instance's URL (such as \
                     https://example.jfrog.io)",
                )
            }
        })?;
        let credentials = self.credentials.ok_or_else(|| {
            if self.read_env {
                missing(
                    "credentials",
                    "ARTIFACTORY_ACCESS_TOKEN is not set (nor JFROG_ACCESS_TOKEN); set it to \
                     an access token or call with_access_token",
                )
            } else {
                missing(
                    "credentials",
                    "none were given; call with_access_token with an access token (or \
                     with_basic with a username and a token or password)",
                )
            }
        })?;
        let field = match origin {
            Origin::Env => URL_VAR,
            Origin::Code => "url",
        };
        let mut platform = base_url(field, &url)?;
        let path = platform.path().trim_end_matches('/').to_owned();
        let root = path
            .strip_suffix("/artifactory")
            .unwrap_or(&path)
            .to_owned();
        platform.set_path(&root);
        pull_through_core::http::check_credentials_transport(&platform)?;
        let mut http = HttpClient::builder("artifactory", platform)
            .user_agent(concat!("artifactory-client/", env!("CARGO_PKG_VERSION")))
            .error_envelope(Arc::new(ArtifactoryErrors))
            .retry(self.retry.clone());
        if let Some(observer) = &self.observer {
            http = http.observer(observer.clone());
        }
        Ok(ArtifactoryClient {
            http: http.build()?,
            credentials,
            user: self.user,
            merge_retry: self.merge_retry,
            retry: self.retry,
            observer: self.observer,
        })
    }
}

/// A JFrog Artifactory instance.
#[derive(Debug, Clone)]
pub struct ArtifactoryClient {
    http: HttpClient,
    credentials: Credentials,
    user: Option<String>,
    merge_retry: Vec<Duration>,
    // Kept so the APK client a verification builds retries and is observed as this one is.
    retry: RetryConfig,
    observer: Option<Arc<dyn HttpObserver>>,
}

/// A new access token. `Debug` shows only the id.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token's id, for revoking it.
    pub token_id: String,
    /// The token (a JWT).
    pub access_token: SecretString,
    /// The 64-character reference token, when one was asked for.
    pub reference_token: Option<SecretString>,
    /// Seconds until it expires, as the server said.
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_id", &self.token_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What to create: the "Set me up" token is `scope=applied-permissions/user` for a user.
///
/// ```
/// let request = artifactory_client::AccessTokenRequest::for_user("linky@example.com")
///     .with_expires_in(30 * 24 * 3600)
///     .with_description("docker login for cgr caches")
///     .with_reference_token();
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessTokenRequest {
    /// The user the token acts as.
    pub username: String,
    /// The scope (default `applied-permissions/user`).
    pub scope: String,
    /// Seconds until expiry (`None`: the server's default).
    pub expires_in: Option<u64>,
    /// A description.
    pub description: Option<String>,
    /// Whether to ask for a reference token too.
    pub include_reference_token: bool,
}

impl AccessTokenRequest {
    /// An identity token for `username`.
    pub fn for_user(username: impl Into<String>) -> Self {
        AccessTokenRequest {
            username: username.into(),
            scope: "applied-permissions/user".to_owned(),
            expires_in: None,
            description: None,
            include_reference_token: false,
        }
    }

    /// Sets the expiry in seconds.
    pub fn with_expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Asks for a reference token (what "Set me up" shows).
    pub fn with_reference_token(mut self) -> Self {
        self.include_reference_token = true;
        self
    }
}

fn key_path(key: &str) -> Result<String, Error> {
    crate::rules::KEY_RULES.check(key)?;
    Ok(format!("artifactory/api/repositories/{key}"))
}

impl ArtifactoryClient {
    /// A builder without URL or credentials.
    ///
    /// ```
    /// let builder = artifactory_client::ArtifactoryClient::builder();
    /// ```
    pub fn builder() -> ArtifactoryBuilder {
        ArtifactoryBuilder {
            url: None,
            credentials: None,
            user: None,
            read_env: false,
            retry: RetryConfig::default(),
            observer: None,
            merge_retry: [1, 2, 4].map(Duration::from_secs).to_vec(),
        }
    }

    /// The `/artifactory` base URL.
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://h").with_access_token("t").build().unwrap();
    /// assert_eq!(client.repositories_url().as_str(), "https://h/artifactory");
    /// ```
    pub fn repositories_url(&self) -> Url {
        let mut url = self.http.base_url().clone();
        let path = format!("{}/artifactory", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// The instance's host, as `docker login` takes it.
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://example.jfrog.io").with_access_token("t").build().unwrap();
    /// assert_eq!(client.host(), "example.jfrog.io");
    /// ```
    pub fn host(&self) -> String {
        let url = self.http.base_url();
        match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        }
    }

    /// The user people log in as for client access, when one was given:
    /// [`with_user`](ArtifactoryBuilder::with_user), `ARTIFACTORY_USER` through
    /// [`from_env`](ArtifactoryBuilder::from_env), or the username of
    /// [`with_basic`](ArtifactoryBuilder::with_basic), whichever came last.
    ///
    /// ```
    /// # use artifactory_client::ArtifactoryClient;
    /// let client = ArtifactoryClient::builder()
    ///     .with_url("https://example.jfrog.io")
    ///     .with_basic("linky@example.com", "token")
    ///     .build()?;
    /// assert_eq!(client.user(), Some("linky@example.com"));
    /// let bearer = ArtifactoryClient::builder()
    ///     .with_url("https://example.jfrog.io")
    ///     .with_access_token("token")
    ///     .build()?;
    /// assert_eq!(bearer.user(), None);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn authorized<'a>(&'a self, request: RequestBuilder<'a>) -> RequestBuilder<'a> {
        match &self.credentials {
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic(user, token) => request.basic_auth(user, token),
        }
    }

    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// An APK client of the repository `key`, authenticated as this client is (Bearer with
    /// an access token, which apk-tools cannot send but Artifactory takes), observed and
    /// retried as this client is.
    pub(crate) fn repo_client(&self, key: &str) -> Result<apk_repo::fetch::RepoClient, Error> {
        let invalid = |problem: String| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: "repository".to_owned(),
                problem,
            })
        };
        let repo = apk_repo::repo_url::RepoUrl::artifactory(self.repositories_url().as_str(), key)
            .map_err(|err| invalid(err.to_string()))?;
        let mut builder = match &self.credentials {
            Credentials::Bearer(token) => {
                apk_repo::fetch::RepoClient::builder(repo).bearer_token(token.clone())
            }
            Credentials::Basic(user, token) => apk_repo::fetch::RepoClient::builder(
                repo.with_credentials(user, token.clone())
                    .map_err(|err| invalid(err.to_string()))?,
            ),
        }
        .retry(self.retry.clone());
        if let Some(observer) = &self.observer {
            builder = builder.observer(observer.clone());
        }
        builder.build().map_err(|err| match err {
            apk_repo::index::IndexError::Fetch(err) => err,
            other => invalid(other.to_string()),
        })
    }

    /// `GET /api/system/ping`: `OK` from a reachable instance.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<(), Error> {
        self.authorized(self.http.get("artifactory/api/system/ping"))
            .send()
            .await
            .map(drop)
    }

    /// `GET /api/system/version`: the version string.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// println!("Artifactory {}", client.version().await?);
    /// # Ok(()) }
    /// ```
    pub async fn version(&self) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        let answer: Version = self
            .authorized(self.http.get("artifactory/api/system/version"))
            .send()
            .await?
            .json("system version")
            .await?;
        Ok(answer.version)
    }

    /// A repository's configuration, or `None` when there is none (Artifactory answers
    /// 400 or 404 for an unknown key; both mean absent).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a key breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// if let Some(config) = client.get_repository("cgr-public").await? {
    ///     println!("{:?}", config.url);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_repository(&self, key: &str) -> Result<Option<RepositoryConfig>, Error> {
        let path = key_path(key)?;
        match self.authorized(self.http.get(&path)).send().await {
            Ok(answer) => {
                let config: RepositoryConfig = answer.json("repository configuration").await?;
                if config.rclass.is_empty() {
                    // Non-admins get a partial configuration: nothing could be compared.
                    return Err(Error::Unsupported {
                        vendor: "artifactory".to_owned(),
                        what: format!("reading {key}'s configuration with this token"),
                        hint: "use an admin access token: Artifactory answers non-admin users \
                               with a partial configuration, so settings cannot be compared"
                            .to_owned(),
                    });
                }
                Ok(Some(config))
            }
            Err(err)
                if matches!(
                    err.status(),
                    Some(StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND)
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Creates a repository (`PUT`). Every field set in `config` is sent, the password
    /// included. It is sent at most once: after a 5xx or a connection broken after the
    /// request went out, the repository may exist, and the caller reads it back (as the
    /// backend's `ensure` does) rather than sending the create again.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] when the key exists in any letter case; the core's
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.create_repository(&artifactory_client::RepositoryConfig::remote_docker("cgr-public", None)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_repository(&self, config: &RepositoryConfig) -> Result<(), Error> {
        let path = key_path(&config.key)?;
        crate::rules::check_new_key(&config.key, &config.rclass, &config.package_type)?;
        self.with_merge_retry(|| {
            // At most once: a create repeated after a lost answer fails with "already
            // exists" and could not tell its own cache from another writer's. The caller
            // reads back what a create that may have been processed made (the core's
            // reconcile does); the merge-error retry is the only repetition it gets here.
            let mut request = self
                .authorized(self.http.put(&path))
                .at_most_once()
                .json(config);
            if let Some(password) = &config.password {
                request = request.sensitive(password);
            }
            request
        })
        .await
    }

    /// Updates a repository (`POST`) with only the given fields. A `password` field is
    /// sent only if `changes` holds one: omit it unless rotating, or the stored password
    /// is replaced.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.update_repository("cgr-public", &serde_json::json!({"enableTokenAuthentication": true}), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_repository(
        &self,
        key: &str,
        changes: &serde_json::Value,
        password: Option<&SecretString>,
    ) -> Result<(), Error> {
        let path = key_path(key)?;
        let mut body = changes.clone();
        if let (Some(password), Some(object)) = (password, body.as_object_mut()) {
            object.insert(
                "password".to_owned(),
                serde_json::Value::String(password.expose_secret().to_owned()),
            );
        }
        self.with_merge_retry(|| {
            // The same fields written twice give the same repository: safe to resend
            // after a lost answer, which otherwise would leave the caller believing
            // credentials it just wrote were never stored.
            let mut request = self
                .authorized(self.http.post(&path))
                .idempotent(true)
                .json(&body);
            if let Some(password) = password {
                request = request.sensitive(password);
            }
            request
        })
        .await
    }

    async fn with_merge_retry<'a>(
        &'a self,
        request: impl Fn() -> RequestBuilder<'a>,
    ) -> Result<(), Error> {
        let mut waits = self.merge_retry.iter();
        loop {
            match request().send().await {
                Ok(_) => return Ok(()),
                Err(err)
                    if err.api().is_some_and(|api| {
                        api.message.contains(MERGE_ERROR) || api.body.contains(MERGE_ERROR)
                    }) =>
                {
                    match waits.next() {
                        Some(wait) => tokio::time::sleep(*wait).await,
                        None => return Err(err),
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Lists repositories, optionally by class (`remote`, `virtual`, ...) and package
    /// type (`docker`, `alpine`, ...).
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// let docker_remotes = client.list_repositories(Some("remote"), Some("docker")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_repositories(
        &self,
        class: Option<&str>,
        package_type: Option<&str>,
    ) -> Result<Vec<RepositorySummary>, Error> {
        let mut query = Vec::new();
        if let Some(class) = class {
            query.push(("type", class));
        }
        if let Some(package_type) = package_type {
            query.push(("packageType", package_type));
        }
        self.authorized(self.http.get("artifactory/api/repositories").query(&query))
            .send()
            .await?
            .json("repository list")
            .await
    }

    /// Deletes a repository and everything it holds.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_repository("cgr-public").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_repository(&self, key: &str) -> Result<Deleted, Error> {
        let path = key_path(key)?;
        let mut waits = self.merge_retry.iter();
        loop {
            match self.authorized(self.http.delete(&path)).send().await {
                Ok(_) => return Ok(Deleted::Removed),
                Err(err)
                    if matches!(
                        err.status(),
                        Some(StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND)
                    ) && !err
                        .api()
                        .is_some_and(|api| api.message.contains(MERGE_ERROR)) =>
                {
                    return Ok(Deleted::AlreadyAbsent);
                }
                Err(err)
                    if err
                        .api()
                        .is_some_and(|api| api.message.contains(MERGE_ERROR)) =>
                {
                    match waits.next() {
                        Some(wait) => tokio::time::sleep(*wait).await,
                        None => return Err(err),
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Creates an access token (`POST /access/api/v1/tokens`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty username; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// use artifactory_client::AccessTokenRequest;
    /// let token = client.create_access_token(&AccessTokenRequest::for_user("linky@example.com").with_reference_token()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_access_token(
        &self,
        request: &AccessTokenRequest,
    ) -> Result<AccessToken, Error> {
        if request.username.trim().is_empty() {
            return Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "username".to_owned(),
                problem: "is empty; the token acts as this Artifactory user".to_owned(),
            }));
        }
        let mut body = serde_json::json!({
            "grant_type": "client_credentials",
            "username": request.username,
            "scope": request.scope,
        });
        if let Some(expires) = request.expires_in {
            body["expires_in"] = expires.into();
        }
        if let Some(description) = &request.description {
            body["description"] = description.clone().into();
        }
        if request.include_reference_token {
            body["include_reference_token"] = true.into();
        }
        #[derive(Deserialize)]
        struct Answer {
            token_id: String,
            access_token: String,
            reference_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = self
            .authorized(self.http.post("access/api/v1/tokens"))
            .json(&body)
            .send()
            .await?
            .json("access token")
            .await?;
        Ok(AccessToken {
            token_id: answer.token_id,
            access_token: SecretString::from(answer.access_token),
            reference_token: answer.reference_token.map(SecretString::from),
            expires_in: answer.expires_in,
        })
    }

    /// Revokes an access token by id.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.revoke_access_token("a1b2c3").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_access_token(&self, token_id: &str) -> Result<Deleted, Error> {
        // A token id is a UUID or hex; a longer value, or one with other characters, is
        // likely the token itself, which must not reach a URL path nor be echoed.
        let well_formed = !token_id.is_empty()
            && token_id.len() <= 64
            && token_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "token_id".to_owned(),
                problem: format!(
                    "the value given ({} characters, not shown) is not a token id; give the \
                     token_id printed when the token was created",
                    token_id.chars().count()
                ),
            }));
        }
        let path = format!("access/api/v1/tokens/{token_id}");
        match self.authorized(self.http.delete(&path)).send().await {
            Ok(_) => Ok(Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }

    /// Clears a remote's cache: deletes `path` (everything when empty) under `<key>-cache`,
    /// as the tutorials' debugging steps do.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &artifactory_client::ArtifactoryClient) -> Result<(), pull_through_core::Error> {
    /// client.clear_cache("cg-private", "x86_64").await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_cache(&self, key: &str, path: &str) -> Result<Deleted, Error> {
        crate::rules::KEY_RULES.check(key)?;
        let target = format!("artifactory/{key}-cache/{}", path.trim_start_matches('/'));
        match self.authorized(self.http.delete(&target)).send().await {
            Ok(_) => Ok(Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ArtifactoryClient;

    /// A JWT's three parts; none may appear in a message.
    const PARTS: [&str; 3] = [
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1bGwifQ",
        "eyJzdWIiOiJwYXN0ZWQtdG9rZW4iLCJleHAiOjQxMDI0NDQ4MDB9",
        "c2lnbmF0dXJlLW9mLWEtcGFzdGVkLXRva2Vu",
    ];

    #[test]
    fn a_token_pasted_as_the_url_is_refused_without_echo() {
        let jwt = PARTS.join(".");
        for pasted in [
            jwt.clone(),
            format!("Bearer {jwt}"),
            format!("https://{jwt}"),
            format!("https://example.jfrog.io/{jwt}"),
            format!("https://example.jfrog.io/artifactory?token={jwt}"),
            format!("https://admin:{jwt}@example.jfrog.io"),
        ] {
            for (builder, name) in [
                (ArtifactoryClient::builder().with_url(pasted.clone()), "url"),
                (
                    ArtifactoryClient::builder()
                        .from_env_with(|var| (var == "ARTIFACTORY_URL").then(|| pasted.clone())),
                    "ARTIFACTORY_URL",
                ),
            ] {
                let err = builder
                    .with_access_token("admin-token")
                    .build()
                    .expect_err(&pasted);
                assert!(err.is_invalid_input(), "{err:?}");
                let text = err.to_string();
                assert!(text.contains(name), "{text}");
                for shown in [text, format!("{err:?}")] {
                    for part in PARTS {
                        assert!(!shown.contains(part), "{pasted:?} echoed: {shown}");
                    }
                }
            }
        }
    }
}
