//! Downloading from a repository the way apk does: indexes, packages, and signing keys
//! discovered through `<repo>/apk-configuration`.
//!
//! Credentials follow apk-tools: userinfo in the repository URL is sent with the first
//! request; `HTTP_AUTH` is sent only after the server answers 401 (a 403 or 404 to an
//! anonymous request never gets it). [`RepoClientBuilder::preemptive_http_auth`] switches
//! to apko's behaviour: `HTTP_AUTH` sent at once, and only when its host field matches.
//!
//! ```no_run
//! use apk_repo::fetch::RepoClient;
//! use apk_repo::http_auth::HttpAuth;
//! use apk_repo::repo_url::RepoUrl;
//!
//! # async fn example() -> Result<(), apk_repo::index::IndexError> {
//! let token = std::env::var("CHAINGUARD_TOKEN").unwrap();
//! let client = RepoClient::builder(RepoUrl::apk_cgr_dev(&"example.com".parse().unwrap()))
//!     .http_auth(HttpAuth::basic("apk.cgr.dev", "user", token).unwrap())
//!     .build()?;
//! let keys = client.discover_keys().await?.unwrap_or_default();
//! let index = client.fetch_verified_index("x86_64", &keys).await?;
//! println!("{} packages", index.packages.len());
//! # Ok(()) }
//! ```

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use pull_through_core::SecretString;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope, VendorError};
use pull_through_core::http::{HttpClient, HttpObserver, RetryConfig};
use url::Url;

use crate::http_auth::HttpAuth;
use crate::index::{ApkIndex, IndexError, Keyring, ReadOptions};
use crate::repo_url::RepoUrl;

/// The largest download accepted by default: above any real compressed index.
///
/// ```
/// assert_eq!(apk_repo::fetch::DEFAULT_MAX_DOWNLOAD, 512 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_DOWNLOAD: u64 = 512 * 1024 * 1024;

/// What the fix for Chainguard's "caller does not have the required capabilities" is.
const APK_PULL_FIX: &str = "the identity lacks the apk.pull capability for this organization: \
    bind the apk.pull role (chainctl iam role-bindings create --parent=<org> \
    --identity=<id> --role=apk.pull), then mint a new token, because capabilities are fixed \
    when a token is minted";

/// Reads the plain-text answers of APK repositories, recognising Chainguard's
/// capabilities error.
///
/// ```
/// use apk_repo::fetch::ApkErrors;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let parsed = ApkErrors
///     .parse(http::StatusCode::FORBIDDEN, "403 FORBIDDEN caller does not have the required capabilities")
///     .unwrap();
/// assert_eq!(parsed.class, Some(ApiErrorClass::PermissionDenied));
/// assert!(parsed.fix.unwrap().contains("apk.pull"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApkErrors;

impl ErrorEnvelope for ApkErrors {
    fn parse(&self, status: StatusCode, body: &str) -> Option<VendorError> {
        let first_line = body.lines().map(str::trim).find(|line| !line.is_empty())?;
        let parsed = VendorError::message(first_line);
        Some(if body.contains("required capabilities") {
            parsed
                .with_class(ApiErrorClass::PermissionDenied)
                .with_fix(APK_PULL_FIX)
        } else if status == StatusCode::UNAUTHORIZED {
            parsed
                .with_fix("the repository wants credentials: set HTTP_AUTH or put them in the URL")
        } else {
            parsed
        })
    }
}

/// Configures a [`RepoClient`].
///
/// ```
/// use apk_repo::{fetch::RepoClient, http_auth::HttpAuth};
/// use pull_through_core::http::RetryConfig;
/// let client = RepoClient::builder("https://apk.cgr.dev/example.com".parse()?)
///     .http_auth(HttpAuth::basic("apk.cgr.dev", "user", "token").unwrap())
///     .retry(RetryConfig::default().with_max_attempts(3))
///     .build()
///     .unwrap();
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct RepoClientBuilder {
    repo: RepoUrl,
    http_auth: Option<HttpAuth>,
    preemptive: bool,
    bearer: Option<SecretString>,
    retry: RetryConfig,
    observer: Option<Arc<dyn HttpObserver>>,
    max_download: u64,
    read_options: ReadOptions,
}

impl RepoClientBuilder {
    /// Sends `token` as a Bearer token with every request to the repository, instead of
    /// apk's credential rules. apk-tools cannot do this; a tool that holds a repository
    /// manager's API token (Artifactory's admin token) can, to verify a cache without a
    /// person's login.
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// let builder = RepoClient::builder(RepoUrl::artifactory("https://example.jfrog.io", "cg-private")?)
    ///     .bearer_token("admin-token".into());
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.bearer = Some(token);
        self
    }

    /// Credentials to send after a 401 (see the [module docs](self)).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, http_auth::HttpAuth, repo_url::RepoUrl};
    /// let builder = RepoClient::builder("https://apk.cgr.dev/example.com".parse()?)
    ///     .http_auth(HttpAuth::basic("apk.cgr.dev", "user", "token").unwrap());
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn http_auth(mut self, auth: HttpAuth) -> Self {
        self.http_auth = Some(auth);
        self
    }

    /// Sends `HTTP_AUTH` with the first request when its host matches, as apko does.
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// let builder = RepoClient::builder("https://apk.cgr.dev/example.com".parse()?).preemptive_http_auth();
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn preemptive_http_auth(mut self) -> Self {
        self.preemptive = true;
        self
    }

    /// The retry policy (default: the core's).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// use pull_through_core::http::RetryConfig;
    /// let builder = RepoClient::builder("https://packages.wolfi.dev/os".parse()?).retry(RetryConfig::none());
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// An observer of every attempt (journals, tests).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// use pull_through_core::http::RecordingObserver;
    /// let builder = RepoClient::builder("https://packages.wolfi.dev/os".parse()?)
    ///     .observer(std::sync::Arc::new(RecordingObserver::new()));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The largest download accepted (default [`DEFAULT_MAX_DOWNLOAD`]).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// let builder = RepoClient::builder("https://packages.wolfi.dev/os".parse()?).max_download(64 << 20);
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn max_download(mut self, bytes: u64) -> Self {
        self.max_download = bytes;
        self
    }

    /// How [`RepoClient::fetch_verified_index`] reads the index: its caps on the
    /// decompressed bytes, the packages and the memory of the parsed index (defaults
    /// [`DEFAULT_MAX_DECOMPRESSED`](crate::index::DEFAULT_MAX_DECOMPRESSED),
    /// [`DEFAULT_MAX_PACKAGES`](crate::index::DEFAULT_MAX_PACKAGES),
    /// [`DEFAULT_MAX_MEMORY`](crate::index::DEFAULT_MAX_MEMORY)).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, index::ReadOptions, repo_url::RepoUrl};
    /// let builder = RepoClient::builder("https://packages.wolfi.dev/os".parse()?)
    ///     .read_options(ReadOptions::default().with_max_decompressed(1 << 30));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn read_options(mut self, options: ReadOptions) -> Self {
        self.read_options = options;
        self
    }

    /// Builds the client. No I/O.
    ///
    /// # Errors
    ///
    /// [`IndexError::Fetch`] if the HTTP client cannot be built.
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// let client = RepoClient::builder("https://packages.wolfi.dev/os".parse()?).build().unwrap();
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn build(self) -> Result<RepoClient, IndexError> {
        let mut http = HttpClient::builder("apk", self.repo.base().clone())
            .user_agent(concat!("apk-repo/", env!("CARGO_PKG_VERSION")))
            .retry(self.retry)
            .error_envelope(Arc::new(ApkErrors));
        if let Some(observer) = self.observer {
            http = http.observer(observer);
        }
        Ok(RepoClient {
            http: http.build()?,
            repo: self.repo,
            http_auth: self.http_auth,
            preemptive: self.preemptive,
            bearer: self.bearer,
            max_download: self.max_download,
            read_options: self.read_options,
        })
    }
}

/// Downloads from one repository.
///
/// ```
/// # use apk_repo::fetch::RepoClient;
/// # async fn example() -> Result<(), apk_repo::index::IndexError> {
/// let client = RepoClient::builder("https://packages.wolfi.dev/os".parse().unwrap()).build()?;
/// let bytes = client.fetch_index("x86_64").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RepoClient {
    http: HttpClient,
    repo: RepoUrl,
    http_auth: Option<HttpAuth>,
    preemptive: bool,
    bearer: Option<SecretString>,
    max_download: u64,
    read_options: ReadOptions,
}

impl RepoClient {
    /// A builder for the repository at `repo` (credentials in it are used, apk-style).
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// let client = RepoClient::builder(RepoUrl::parse("https://packages.wolfi.dev/os")?).build().unwrap();
    /// assert_eq!(client.repo().base().as_str(), "https://packages.wolfi.dev/os");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn builder(repo: RepoUrl) -> RepoClientBuilder {
        RepoClientBuilder {
            repo,
            http_auth: None,
            preemptive: false,
            bearer: None,
            retry: RetryConfig::default(),
            observer: None,
            max_download: DEFAULT_MAX_DOWNLOAD,
            read_options: ReadOptions::default(),
        }
    }

    /// The repository.
    ///
    /// ```
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// # let client = RepoClient::builder("https://h/os".parse()?).build().unwrap();
    /// assert_eq!(client.repo().base().host_str(), Some("h"));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn repo(&self) -> &RepoUrl {
        &self.repo
    }

    /// `<repo>/<arch>/APKINDEX.tar.gz`, as bytes.
    ///
    /// # Errors
    ///
    /// [`IndexError::Fetch`] with the core's error: `PermissionDenied` with the
    /// `apk.pull` fix for Chainguard's capabilities answer, `Unauthenticated`, `NotFound`.
    ///
    /// ```no_run
    /// # use apk_repo::{fetch::RepoClient, repo_url::RepoUrl};
    /// # async fn example(client: &RepoClient) -> Result<(), apk_repo::index::IndexError> {
    /// let bytes = client.fetch_index("aarch64").await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_index(&self, arch: &str) -> Result<Bytes, IndexError> {
        self.get(self.repo.index_url(arch)).await
    }

    /// Fetches the index and verifies it against `keyring`.
    ///
    /// # Errors
    ///
    /// As [`RepoClient::fetch_index`] and [`ApkIndex::read`], with the builder's
    /// [`read_options`](RepoClientBuilder::read_options).
    ///
    /// ```no_run
    /// # use apk_repo::{fetch::RepoClient, index::Keyring};
    /// # async fn example(client: &RepoClient, keys: &Keyring) -> Result<(), apk_repo::index::IndexError> {
    /// let index = client.fetch_verified_index("x86_64", keys).await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_verified_index(
        &self,
        arch: &str,
        keyring: &Keyring,
    ) -> Result<ApkIndex, IndexError> {
        let bytes = self.fetch_index(arch).await?;
        ApkIndex::read_with(&bytes, keyring, self.read_options)
    }

    /// `<repo>/<arch>/<file>`, such as a package's [`file_name`](crate::index::Package::file_name).
    ///
    /// # Errors
    ///
    /// As [`RepoClient::fetch_index`].
    ///
    /// ```no_run
    /// # use apk_repo::fetch::RepoClient;
    /// # async fn example(client: &RepoClient) -> Result<(), apk_repo::index::IndexError> {
    /// let apk = client.fetch_file("x86_64", "libstdc++-13.2.0-r1.apk").await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_file(&self, arch: &str, file: &str) -> Result<Bytes, IndexError> {
        self.get(self.repo.file_url(arch, file)).await
    }

    /// Signing keys published through `<repo>/apk-configuration` (`{"jwks_uri": ...}`),
    /// as `apk.cgr.dev` publishes them; `None` when the repository answers 404 there.
    ///
    /// Credentials go to the JWKS URL only when it is on the repository's origin (scheme,
    /// host and port).
    ///
    /// # Errors
    ///
    /// [`IndexError::Fetch`] or [`IndexError::Keys`].
    ///
    /// ```no_run
    /// # use apk_repo::fetch::RepoClient;
    /// # async fn example(client: &RepoClient) -> Result<(), apk_repo::index::IndexError> {
    /// if let Some(keys) = client.discover_keys().await? {
    ///     for name in keys.names() { println!("{name}"); }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn discover_keys(&self) -> Result<Option<Keyring>, IndexError> {
        #[derive(serde::Deserialize)]
        struct Configuration {
            jwks_uri: String,
        }
        let mut configuration_url = self.repo.base().clone();
        if let Ok(mut segments) = configuration_url.path_segments_mut() {
            segments.pop_if_empty().push("apk-configuration");
        }
        let answer = match self.get(configuration_url).await {
            Err(IndexError::Fetch(err)) if err.is_not_found() => return Ok(None),
            other => other?,
        };
        let configuration: Configuration =
            pull_through_core::error::decode_json("apk", "apk-configuration", &answer)?;
        let jwks_url = Url::parse(&configuration.jwks_uri)
            .or_else(|_| self.repo.base().join(&configuration.jwks_uri))
            .map_err(|err| IndexError::Keys {
                problem: format!("apk-configuration names an unusable jwks_uri: {err}"),
            })?;
        // Credentials go to the JWKS only on the repository's own origin (scheme, host and
        // port): another port of the same host is another server.
        let document = if jwks_url.origin() == self.repo.base().origin() {
            self.get(jwks_url).await?
        } else {
            self.send(jwks_url, false).await?
        };
        let mut keyring = Keyring::new();
        keyring.add_jwks(&document)?;
        Ok(Some(keyring))
    }

    async fn get(&self, url: Url) -> Result<Bytes, IndexError> {
        self.send(url, true).await
    }

    /// One download with apk's credential rules; `credentials` false sends none at all.
    async fn send(&self, url: Url, credentials: bool) -> Result<Bytes, IndexError> {
        let request = self.http.request_url(Method::GET, url.clone());
        let url_credentials = credentials.then(|| self.repo.user()).flatten();
        let http_auth = self.http_auth.as_ref().filter(|_| credentials);
        // Go's URL.Host: the host, with the port when the URL names one.
        let base = self.repo.base();
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        let preemptive_auth = http_auth.filter(|auth| self.preemptive && auth.apko_sends_to(&host));
        if let (Some(token), true) = (&self.bearer, credentials) {
            return Ok(request
                .bearer_auth(token)
                .send_raw()
                .await?
                .error_for_status()
                .await?
                .bytes_limited(self.max_download)
                .await?);
        }

        // apko: a matching HTTP_AUTH wins over URL userinfo; apk-tools: userinfo wins.
        let first = match (preemptive_auth, url_credentials) {
            (Some(auth), _) => {
                request
                    .basic_auth(auth.user(), auth.password())
                    .send_raw()
                    .await?
            }
            (None, Some(user)) => {
                let empty = SecretString::from("");
                let password = self.repo.password().unwrap_or(&empty);
                request.basic_auth(user, password).send_raw().await?
            }
            (None, None) => request.send_raw().await?,
        };
        let answer = match http_auth {
            // apk-tools: HTTP_AUTH only after a 401, and only when the URL had no userinfo.
            Some(auth)
                if first.status() == StatusCode::UNAUTHORIZED
                    && url_credentials.is_none()
                    && !self.preemptive =>
            {
                self.http
                    .request_url(Method::GET, url)
                    .basic_auth(auth.user(), auth.password())
                    .send_raw()
                    .await?
            }
            _ => first,
        };
        Ok(answer
            .error_for_status()
            .await?
            .bytes_limited(self.max_download)
            .await?)
    }
}
