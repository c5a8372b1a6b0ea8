//! The HTTP layer every client crate uses: one `reqwest` client with rustls, timeouts, a
//! user agent, a base URL that tests override, the retry policy of [`RetryConfig`] (with
//! [at-most-once](RequestBuilder::at_most_once) requests for creates that must not be
//! repeated blindly, and optional pacing by `X-RateLimit-*` headers,
//! [`HttpClientBuilder::pace_rate_limits`]), one
//! `tracing` span per attempt, error answers turned into [`Error`]s through the vendor's
//! [`ErrorEnvelope`], and one transport policy for every request and every redirect hop
//! (credentials only over https or to loopback, never through a redirect, loopback never
//! through a proxy, no `Referer`; see [`check_redirect`]).
//!
//! ```no_run
//! use pull_through_core::http::HttpClient;
//! use secrecy::SecretString;
//!
//! # async fn example() -> Result<(), pull_through_core::Error> {
//! let client = HttpClient::builder("artifactory", "https://example.jfrog.io/artifactory".parse().unwrap())
//!     .user_agent(concat!("artifactory-client/", env!("CARGO_PKG_VERSION")))
//!     .build()?;
//! let token = SecretString::from("...");
//! let version: serde_json::Value = client
//!     .get("api/system/version")
//!     .bearer_auth(&token)
//!     .send()
//!     .await?
//!     .json("system version")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Transport policy
//!
//! Where a request, and each redirect hop of it, may go: one rule set for every request of
//! every client, checked before the first send and again for every redirect.
//!
//! - **Credentials** (an `Authorization` or other secret header, URL userinfo, or a body
//!   registered with [`RequestBuilder::sensitive`]) go over plain `http` only to loopback
//!   ([`check_credentials_transport`]).
//! - **Requests that carry credentials follow no redirect at all**, not even on their own
//!   origin. The redirect answer comes back (from [`send_raw`](RequestBuilder::send_raw))
//!   or becomes an error saying where it pointed and why it was not followed (from
//!   [`send`](RequestBuilder::send)). Why not follow "safe" ones: following means
//!   deciding, hop by hop, which credentials still belong (the header, the userinfo, the
//!   password inside a JSON body that a 307 or 308 would re-send), and every such decision
//!   is a place to get it wrong. None of the APIs called with credentials (Artifactory's
//!   REST API, Chainguard's console API and STS, a registry's token realm, an APK
//!   repository's index and keys) redirects a credentialed request in normal operation, so
//!   a redirect there means a wrong base URL (fix the configuration to the URL the error
//!   names) or someone trying to collect the secret. (A server that does redirect
//!   credentialed downloads to storage, such as an Artifactory with redirect downloads
//!   turned on, gets the same error naming the storage URL.)
//! - **Credential-free `GET` and `HEAD` requests without a body** follow up to
//!   [`MAX_REDIRECTS`] redirects, to any host, as long as each hop stays on `https` or goes
//!   from `http` to `https`: public downloads (packages.wolfi.dev, blob storage behind a
//!   CDN) redirect, and no secret travels with them. Other methods, or a request with a
//!   body, are never re-sent elsewhere.
//! - **`https` to `http` is refused** for every request, credentials or not: the answer
//!   would come back unauthenticated and readable on the path.
//! - **No `Referer`**, on any request or hop: it would carry the previous URL (and its
//!   query) to the next server.
//! - **Loopback is never reached through a proxy**: `http_proxy` and friends are honoured
//!   for every other host, but a request or hop to `localhost`, 127.0.0.0/8 or `::1` goes
//!   direct. The loopback exception to the plain-`http` rule exists because such traffic
//!   never leaves the machine; a proxy would carry it (and an admin token) off it. The
//!   choice is made per URL, not per client base URL, because token realms and download
//!   links are absolute URLs that may sit elsewhere than the base.
//!
//! ```
//! use http::Method;
//! use pull_through_core::http::{RedirectReason, check_redirect};
//!
//! let from = "https://example.jfrog.io/artifactory/api/repositories/x".parse().unwrap();
//! let to = "http://192.0.2.2/collect?session=1".parse().unwrap();
//! let refusal = check_redirect(&from, &to, &Method::GET, false, false).unwrap_err();
//! assert_eq!(refusal.reason, RedirectReason::Downgrade);
//! assert_eq!(refusal.from, "https://example.jfrog.io");
//! assert_eq!(refusal.to, "http://192.0.2.2");
//! ```

mod observe;
mod pacing;
mod policy;
mod retry;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;
use url::Url;

pub use observe::{AttemptRecord, HttpObserver, RecordingObserver};
pub use pacing::{MAX_RATE_LIMIT_WAIT, rate_limit_wait};
pub use policy::{MAX_REDIRECTS, RedirectReason, RedirectRefusal, check_redirect};
pub use retry::{RetryConfig, RetrySchedule, may_have_been_processed, parse_retry_after};

/// How many 429s one request may meet without using up an attempt: enough for a fleet's
/// run under a rate limit, few enough that a server answering nothing but 429 is given up
/// on well before a long budget runs out.
const MAX_FREE_429S: u32 = 20;

/// The shortest wait after a 429 that did not use up an attempt, whatever `Retry-After`
/// and the backoff say: a `Retry-After: 0` with a zero backoff must not become a busy loop.
const MIN_FREE_429_WAIT: Duration = Duration::from_millis(100);

use pacing::Pacer;
use retry::Repeat;

use crate::error::{
    self, ApiError, DecodeError, Error, ErrorEnvelope, MAX_ERROR_BODY, RawText, TransportError,
    TransportErrorKind,
};
use crate::redact::{self, redact_url};
use crate::validation::ValidationError;

/// Default time to establish a connection.
///
/// ```
/// assert_eq!(pull_through_core::http::DEFAULT_CONNECT_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for one attempt, connection to last byte.
///
/// ```
/// assert_eq!(pull_through_core::http::DEFAULT_REQUEST_TIMEOUT.as_secs(), 30);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a URL points at this machine (`localhost`, 127.0.0.0/8, `::1`), the only place
/// plain `http` may carry credentials.
///
/// ```
/// use pull_through_core::http::is_loopback;
/// assert!(is_loopback(&"http://127.0.0.1:8080/".parse().unwrap()));
/// assert!(is_loopback(&"http://localhost/".parse().unwrap()));
/// assert!(!is_loopback(&"http://10.0.0.1/".parse().unwrap()));
/// ```
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses to send credentials to `url` over plain `http` unless it is loopback.
///
/// # Errors
///
/// [`ValidationError::InsecureTransport`].
///
/// ```
/// use pull_through_core::http::check_credentials_transport;
/// assert!(check_credentials_transport(&"https://example.jfrog.io".parse().unwrap()).is_ok());
/// assert!(check_credentials_transport(&"http://127.0.0.1:1".parse().unwrap()).is_ok());
/// assert!(check_credentials_transport(&"http://example.jfrog.io".parse().unwrap()).is_err());
/// ```
pub fn check_credentials_transport(url: &Url) -> Result<(), ValidationError> {
    if url.scheme() == "https" || is_loopback(url) {
        Ok(())
    } else {
        Err(ValidationError::InsecureTransport {
            url: redact_url(url),
        })
    }
}

/// Parses and checks a base URL given in configuration: `http` or `https`, a host, no
/// userinfo (credentials go in their own settings), no query or fragment. What was given
/// is shown in the error only as far as it cannot hold a secret (`scheme://host[:port]/`),
/// and a value that looks like a token is refused as one: a token pasted into the wrong
/// variable or setting must not reach a log.
///
/// # Errors
///
/// [`ValidationError::InvalidUrl`] naming the setting, or
/// [`ValidationError::InvalidValue`] for what looks like a token.
///
/// ```
/// use pull_through_core::http::parse_base_url;
/// assert!(parse_base_url("ARTIFACTORY_URL", "https://example.jfrog.io").is_ok());
/// let err = parse_base_url("ARTIFACTORY_URL", "https://admin:pw@example.jfrog.io").unwrap_err();
/// assert!(!err.to_string().contains("pw"));
/// let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
/// let err = parse_base_url("ARTIFACTORY_URL", jwt).unwrap_err();
/// assert!(err.to_string().contains("looks like a token") && !err.to_string().contains("eyJ"));
/// ```
pub fn parse_base_url(field: &str, text: &str) -> Result<Url, ValidationError> {
    if crate::redact::shown_url(text.trim()).is_none() && crate::redact::redact_text(text) != text {
        return Err(ValidationError::InvalidValue {
            field: field.to_owned(),
            problem: "the value holds what looks like a token, not a URL (not shown); give the \
                      service's address (https://host[:port][/path]) and the token in its own \
                      setting, and replace the token if it was a real one"
                .to_owned(),
        });
    }
    let invalid = |given: String, problem: &str| ValidationError::InvalidUrl {
        field: field.to_owned(),
        given,
        problem: problem.to_owned(),
    };
    // What was given is shown only as far as it cannot hold a secret: a value that does not
    // parse is often a token pasted into the wrong variable.
    let shown_given = || {
        crate::redact::shown_url(text.trim()).unwrap_or_else(|| {
            format!("a value of {} characters (not shown)", text.chars().count())
        })
    };
    let url = Url::parse(text.trim()).map_err(|err| {
        invalid(
            shown_given(),
            &format!("{err}; write it as https://host[:port][/path]"),
        )
    })?;
    let shown = shown_given();
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid(shown, "use an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            shown,
            "remove the credentials from the URL and give them in their own setting",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(shown, "remove the query and fragment"));
    }
    Ok(url)
}

/// A configured HTTP client for one vendor. Cheap to clone.
///
/// ```
/// use pull_through_core::http::HttpClient;
/// let client = HttpClient::builder("artifactory", "https://example.jfrog.io/artifactory".parse().unwrap())
///     .build()?;
/// let shared = client.clone(); // clones share one connection pool
/// assert_eq!(shared.vendor(), "artifactory");
/// # Ok::<(), pull_through_core::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// For every URL but loopback: honours the system's proxy settings.
    proxied: reqwest::Client,
    /// For loopback URLs: never through a proxy (the module's "Transport policy").
    direct: reqwest::Client,
    follow_redirects: bool,
    vendor: String,
    base_url: Url,
    request_timeout: Duration,
    retry: RetryConfig,
    envelope: Arc<dyn ErrorEnvelope>,
    observer: Option<Arc<dyn HttpObserver>>,
    /// Set by [`HttpClientBuilder::pace_rate_limits`].
    pacer: Option<Pacer>,
    /// A 429's `Retry-After`, held by every request of the client (and its clones), not
    /// only by the one that met it: a fleet's concurrent requests back off together
    /// instead of each spending a request on its own 429.
    backoff: Pacer,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("vendor", &self.inner.vendor)
            .field("base_url", &redact_url(&self.inner.base_url))
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds an [`HttpClient`]. Does no I/O.
///
/// ```
/// use pull_through_core::http::{HttpClient, RecordingObserver, RetryConfig};
/// use std::{sync::Arc, time::Duration};
/// let recorder = RecordingObserver::new();
/// let client = HttpClient::builder("gar", "https://artifactregistry.googleapis.com/v1".parse().unwrap())
///     .user_agent("gar-client/0.1.0")
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(60))
///     .retry(RetryConfig::default().with_max_attempts(3))
///     .observer(Arc::new(recorder.clone()))
///     .build()?;
/// # Ok::<(), pull_through_core::Error>(())
/// ```
pub struct HttpClientBuilder {
    vendor: String,
    base_url: Url,
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    retry: RetryConfig,
    envelope: Arc<dyn ErrorEnvelope>,
    observer: Option<Arc<dyn HttpObserver>>,
    follow_redirects: bool,
    pace: bool,
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("vendor", &self.vendor)
            .field("base_url", &redact_url(&self.base_url))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("follow_redirects", &self.follow_redirects)
            .field("pace_rate_limits", &self.pace)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    /// Replaces the base URL (tests point it at a mock server).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// // A vendor crate's `with_base_url()` for tests ends up here.
    /// let client = HttpClient::builder("artifactory", "https://example.jfrog.io/artifactory".parse().unwrap())
    ///     .base_url("http://127.0.0.1:8081/artifactory".parse().unwrap())
    ///     .build()?;
    /// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8081/artifactory");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn base_url(mut self, url: Url) -> Self {
        self.base_url = url;
        self
    }

    /// Sets the time allowed to connect. Default [`DEFAULT_CONNECT_TIMEOUT`].
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap())
    ///     .connect_timeout(std::time::Duration::from_secs(3));
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the time allowed for one attempt. Default [`DEFAULT_REQUEST_TIMEOUT`].
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap())
    ///     .request_timeout(std::time::Duration::from_secs(120));
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the user agent; vendor crates pass `"<crate>/<version>"`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap())
    ///     .user_agent(concat!("my-tool/", env!("CARGO_PKG_VERSION")));
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets the retry policy.
    ///
    /// ```
    /// # use pull_through_core::http::{HttpClient, RetryConfig};
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap()).retry(RetryConfig::none());
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how the vendor's error bodies are read.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # use pull_through_core::error::RawText;
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap())
    ///     .error_envelope(std::sync::Arc::new(RawText));
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn error_envelope(mut self, envelope: Arc<dyn ErrorEnvelope>) -> Self {
        self.envelope = envelope;
        self
    }

    /// Sets an observer that sees every attempt.
    ///
    /// ```
    /// # use pull_through_core::http::{HttpClient, RecordingObserver};
    /// let recorder = RecordingObserver::new();
    /// let builder = HttpClient::builder("x", "https://h".parse().unwrap())
    ///     .observer(std::sync::Arc::new(recorder.clone()));
    /// # builder.build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn observer(mut self, observer: Arc<dyn HttpObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Whether redirects are followed at all (default yes). Even when they are, only
    /// credential-free `GET` and `HEAD` requests without a body follow them, never from
    /// `https` to `http`, at most [`MAX_REDIRECTS`] in a row ([`check_redirect`]); turning
    /// this off hands every redirect back as the answer. Token exchanges turn it off.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// // Chainguard's STS must never follow redirects.
    /// let sts = HttpClient::builder("chainguard", "https://issuer.enforce.dev".parse().unwrap())
    ///     .follow_redirects(false)
    ///     .build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Whether the client paces itself by the rate-limit headers of its answers (default
    /// no): when an answer says `X-RateLimit-Remaining: 0`, the client's next request (its
    /// clones' too) waits until `X-RateLimit-Reset`, or for `X-RateLimit-Interval`
    /// without a reset, plus up to a tenth more as jitter ([`rate_limit_wait`]), instead
    /// of spending a request on a 429. A wait longer than the retry policy's
    /// [`max_retry_after`](RetryConfig::max_retry_after) is not taken: the server's 429
    /// then says how long, and a wait that long surfaces as
    /// [`Error::RateLimited`]. A retry waits for the longer of its backoff and the pace,
    /// within the budget. For APIs that send these headers on every answer (Cloudsmith).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("cloudsmith", "https://api.cloudsmith.io/".parse().unwrap())
    ///     .pace_rate_limits(true)
    ///     .build()?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn pace_rate_limits(mut self, pace: bool) -> Self {
        self.pace = pace;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a base URL that is not `http(s)` with a host, or that
    /// carries credentials; [`Error::Transport`] if the TLS backend cannot start.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let err = HttpClient::builder("x", "ftp://h".parse().unwrap()).build().unwrap_err();
    /// assert!(err.is_invalid_input());
    /// ```
    pub fn build(self) -> Result<HttpClient, Error> {
        let mut base_url = parse_base_url("base URL", self.base_url.as_str())?;
        let trimmed = base_url.path().trim_end_matches('/').to_owned();
        base_url.set_path(&trimmed);
        // reqwest follows nothing itself: `execute` follows the hops the policy allows,
        // so that every hop goes through `check_redirect`, the proxy choice, the tracing
        // span and the observer. No `Referer` either way.
        let transport = |proxy: bool| {
            let builder = reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout)
                .user_agent(self.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .referer(false);
            // Without a proxy of its own, reqwest reads the system's (`http_proxy`, ...).
            let builder = if proxy { builder } else { builder.no_proxy() };
            builder.build().map_err(|err| {
                Error::Transport(Box::new(TransportError {
                    vendor: self.vendor.clone(),
                    method: Method::GET,
                    url: redact_url(&base_url),
                    kind: TransportErrorKind::Io,
                    message: format!("could not build the HTTP client: {err}"),
                    attempts: 0,
                    source: Some(err.without_url()),
                }))
            })
        };
        let proxied = transport(true)?;
        let direct = transport(false)?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                proxied,
                direct,
                follow_redirects: self.follow_redirects,
                vendor: self.vendor,
                base_url,
                request_timeout: self.request_timeout,
                retry: self.retry,
                envelope: self.envelope,
                observer: self.observer,
                pacer: self.pace.then(Pacer::default),
                backoff: Pacer::default(),
            }),
        })
    }
}

impl HttpClient {
    /// Starts a builder for `vendor` (used in errors and spans) at `base_url`.
    ///
    /// ```
    /// use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("cloudsmith", "https://api.cloudsmith.io/v1/".parse().unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.base_url().as_str(), "https://api.cloudsmith.io/v1");
    /// ```
    pub fn builder(vendor: impl Into<String>, base_url: Url) -> HttpClientBuilder {
        HttpClientBuilder {
            vendor: vendor.into(),
            base_url,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            user_agent: concat!("pull-through-core/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryConfig::default(),
            envelope: Arc::new(RawText),
            observer: None,
            follow_redirects: true,
            pace: false,
        }
    }

    /// The base URL, without a trailing slash.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h/artifactory/".parse().unwrap()).build()?;
    /// assert_eq!(client.base_url().as_str(), "https://h/artifactory");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The vendor name.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("cloudsmith", "https://api.cloudsmith.io/v1".parse().unwrap()).build()?;
    /// assert_eq!(client.vendor(), "cloudsmith");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn vendor(&self) -> &str {
        &self.inner.vendor
    }

    /// A request to `path`, relative to the base URL. `path` is used as written (it may
    /// hold `/`, as Chainguard ids do); encode untrusted segments with
    /// [`HttpClient::url_with_segments`] instead.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// // Chainguard ids hold '/', and the API wants them raw.
    /// let identity = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";
    /// client.request(http::Method::DELETE, &format!("iam/v1/identities/{identity}"))
    ///     .bearer_auth(token)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        let mut url = self.inner.base_url.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        self.request_url(method, url)
    }

    /// A request to an absolute URL (a token realm, a download link).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// // A token realm read from a WWW-Authenticate challenge.
    /// let realm: url::Url = "https://cgr.dev/token".parse().unwrap();
    /// let answer = client.request_url(http::Method::GET, realm)
    ///     .query(&[("service", "cgr.dev"), ("scope", "repository:chainguard/go:pull")])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn request_url(&self, method: Method, url: Url) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            idempotent: default_idempotent(&method),
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            auth: None,
            secrets: Vec::new(),
            at_most_once: false,
        }
    }

    /// The base URL with each segment appended, percent-encoded.
    ///
    /// ```
    /// use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h/artifactory".parse().unwrap()).build().unwrap();
    /// let url = client.url_with_segments(&["api", "repositories", "a b"]);
    /// assert_eq!(url.as_str(), "https://h/artifactory/api/repositories/a%20b");
    /// ```
    pub fn url_with_segments(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Shorthand for a `GET` of `path`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let ping = client.get("api/system/ping").send().await?.bytes().await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    /// Shorthand for a `POST` to `path`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// client.post("api/repositories/cgr-public")
    ///     .bearer_auth(token)
    ///     .json(&serde_json::json!({"description": "Chainguard public images"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    /// Shorthand for a `PUT` to `path`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// client.put("api/repositories/cgr-public")
    ///     .bearer_auth(token)
    ///     .json(&serde_json::json!({"key": "cgr-public", "rclass": "remote", "packageType": "docker",
    ///         "url": "https://cgr.dev/"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, path)
    }

    /// Shorthand for a `DELETE` of `path`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// match client.delete("api/repositories/cgr-public").bearer_auth(token).send().await {
    ///     Ok(_) => println!("deleted"),
    ///     Err(err) if err.is_not_found() => println!("already absent"),
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }
}

fn default_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

enum Auth {
    Bearer(SecretString),
    Basic(String, SecretString),
    Header(HeaderName, SecretString),
}

/// One request being built. Nothing is sent until [`send`](Self::send).
///
/// ```
/// # use pull_through_core::http::HttpClient;
/// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
/// let repositories: Vec<serde_json::Value> = client
///     .get("api/repositories")
///     .query(&[("type", "remote"), ("packageType", "docker")])
///     .bearer_auth(token)
///     .send()
///     .await?
///     .json("repository list")
///     .await?;
/// # Ok(()) }
/// ```
pub struct RequestBuilder<'a> {
    client: &'a HttpClient,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Result<Bytes, String>>,
    auth: Option<Auth>,
    secrets: Vec<SecretString>,
    idempotent: bool,
    at_most_once: bool,
}

impl fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            .field("idempotent", &self.idempotent)
            .field("at_most_once", &self.at_most_once)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestBuilder<'a> {
    /// Appends query parameters.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let request = client.get("iam/v1/groups").query(&[("name", "example.com")]);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.url.query_pairs_mut().extend_pairs(pairs);
        self
    }

    /// Sets a header. Credentials belong in [`bearer_auth`](Self::bearer_auth),
    /// [`basic_auth`](Self::basic_auth) or [`secret_header`](Self::secret_header), which
    /// keep them out of errors.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// use http::header::{ACCEPT, HeaderValue};
    /// let client = HttpClient::builder("x", "https://cgr.dev".parse().unwrap()).build()?;
    /// let request = client.get("v2/chainguard/go/manifests/latest")
    ///     .header(ACCEPT, HeaderValue::from_static("application/vnd.oci.image.index.v1+json"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if redact::is_secret_header(name.as_str()) {
            // A credential given here still gets the credential rules: no plain http,
            // scrubbed from errors, marked sensitive.
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            self.auth = Some(Auth::Header(name, SecretString::from(text)));
            return self;
        }
        self.headers.insert(name, value);
        self
    }

    /// A JSON body. Secrets inside it must also be passed to [`sensitive`](Self::sensitive).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # use secrecy::{ExposeSecret, SecretString};
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let password = SecretString::from("pull-token");
    /// let request = client.put("api/repositories/cgr-private")
    ///     .json(&serde_json::json!({"username": "id", "password": password.expose_secret()}))
    ///     .sensitive(&password);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(
            serde_json::to_vec(body)
                .map(Bytes::from)
                .map_err(|err| err.to_string()),
        );
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// An `application/x-www-form-urlencoded` body.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let request = client.post("access/api/v1/tokens")
    ///     .form(&[("username", "linky@example.com"), ("scope", "applied-permissions/user")]);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(Ok(Bytes::from(encoded)));
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// A raw body with its content type.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let request = client.put("generic-local/notes.txt")
    ///     .body("hello", http::HeaderValue::from_static("text/plain"));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        self.body = Some(Ok(body.into()));
        self.headers.insert(CONTENT_TYPE, content_type);
        self
    }

    /// `Authorization: Bearer <token>`.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let token = secrecy::SecretString::from("access-token");
    /// let request = client.get("api/repositories").bearer_auth(&token);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn bearer_auth(mut self, token: &SecretString) -> Self {
        self.auth = Some(Auth::Bearer(token.clone()));
        self
    }

    /// `Authorization: Basic ...` with the raw username (never percent-encoded).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://apk.cgr.dev".parse().unwrap()).build()?;
    /// let token = secrecy::SecretString::from("pull-token-jwt");
    /// // JFrog and apk.cgr.dev want the raw username here, `@` and all.
    /// let request = client.get("example.com/x86_64/APKINDEX.tar.gz").basic_auth("linky@example.com", &token);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn basic_auth(mut self, username: &str, password: &SecretString) -> Self {
        self.auth = Some(Auth::Basic(username.to_owned(), password.clone()));
        self
    }

    /// A header whose value is a credential (`X-Api-Key`).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://api.cloudsmith.io/v1".parse().unwrap()).build()?;
    /// let key = secrecy::SecretString::from("api-key");
    /// let request = client.get("user/self/")
    ///     .secret_header(http::HeaderName::from_static("x-api-key"), &key);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn secret_header(mut self, name: HeaderName, value: &SecretString) -> Self {
        self.auth = Some(Auth::Header(name, value.clone()));
        self
    }

    /// Registers a secret carried in the body, so that error messages and bodies the server
    /// echoes it in are scrubbed of it.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// let secret = secrecy::SecretString::from("upstream-password");
    /// let request = client.post("api/repositories/cg-private").sensitive(&secret);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn sensitive(mut self, secret: &SecretString) -> Self {
        self.secrets.push(secret.clone());
        self
    }

    /// Overrides whether the request may be repeated safely (see [`RetryConfig`]).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://h".parse().unwrap()).build()?;
    /// // A POST that only reads may be retried like a GET.
    /// let request = client.post("api/search/aql").idempotent(true);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Marks a request that must not be repeated blindly (a create on an API without
    /// idempotency keys, where a second one makes a duplicate): it is sent again only when
    /// it surely was not processed (a 429, a connection never made), and every other
    /// failure, a 5xx or a lost answer included, is returned at once so that the caller
    /// reads before trying again ([`may_have_been_processed`], [`RetrySchedule`]). Wins
    /// over [`idempotent`](Self::idempotent).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// let client = HttpClient::builder("x", "https://api.cloudsmith.io".parse().unwrap()).build()?;
    /// let request = client.post("repos/acme/")
    ///     .json(&serde_json::json!({"name": "chainguard"}))
    ///     .at_most_once();
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    /// Sends the request, retrying as [`RetryConfig`] says and following the redirects
    /// [`check_redirect`] allows (none for a request with credentials or a body), and
    /// returns a success answer.
    ///
    /// # Errors
    ///
    /// An [`Error`] built from the vendor's error answer, a [`Error::Transport`] when no
    /// answer came, or [`Error::InvalidInput`] when credentials would travel over plain
    /// http to a host that is not loopback. A redirect that is not followed is an
    /// [`Error::Api`] with the redirect's status and the [`RedirectRefusal`] as message:
    /// both origins, where it pointed (without userinfo or query), and why.
    ///
    /// ```
    /// # use pull_through_core::{Error, http::HttpClient};
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), Error> {
    /// // describe(): absent is None, not an error.
    /// let found = match client.get("api/repositories/cgr-public").bearer_auth(token).send().await {
    ///     Ok(response) => Some(response.json::<serde_json::Value>("repository").await?),
    ///     Err(err) if err.is_not_found() => None,
    ///     Err(err) => return Err(err),
    /// };
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Response, Error> {
        self.send_raw().await?.error_for_status().await
    }

    /// Sends the request with the same retries and redirect rules, and returns the final
    /// answer whatever its status, for callers that handle some error statuses themselves
    /// (a 401 challenge). A redirect that was not followed is returned as the answer, with
    /// [`Response::redirect_refusal`] saying why.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] or [`Error::InvalidInput`], as for [`send`](Self::send).
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let answer = client.get("v2/").send_raw().await?;
    /// match answer.status().as_u16() {
    ///     200 => println!("no authentication needed"),
    ///     401 => println!("challenge: {:?}", answer.headers().get("www-authenticate")),
    ///     other => println!("unexpected {other}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_raw(self) -> Result<Response, Error> {
        // A secret-named query parameter (`access_token=`, `key=`...) is a credential too:
        // no plain http off loopback, no redirect, no proxy to loopback.
        let carries_credentials = self.auth.is_some()
            || !self.secrets.is_empty()
            || !self.url.username().is_empty()
            || self.url.password().is_some()
            || self
                .url
                .query_pairs()
                .any(|(name, _)| crate::redact::is_secret_field(&name));
        if carries_credentials {
            check_credentials_transport(&self.url)?;
        }
        let secrets = self.secrets();
        let body = match self.body {
            Some(Err(problem)) => {
                return Err(ValidationError::InvalidValue {
                    field: "request body".to_owned(),
                    problem: format!("could not be serialised: {problem}"),
                }
                .into());
            }
            Some(Ok(body)) => Some(body),
            None => None,
        };
        let mut headers = self.headers;
        if let Some(auth) = &self.auth {
            let (name, value) = auth_header(auth)?;
            headers.insert(name, value);
        }
        self.client
            .execute(Prepared {
                method: self.method,
                url: self.url,
                headers,
                body,
                repeat: match (self.at_most_once, self.idempotent) {
                    (true, _) => Repeat::AtMostOnce,
                    (false, true) => Repeat::Idempotent,
                    (false, false) => Repeat::Other,
                },
                secrets,
                credentials: carries_credentials,
            })
            .await
    }

    /// Every secret the request carries, to scrub from what the server answers.
    fn secrets(&self) -> Vec<SecretString> {
        let mut secrets = self.secrets.clone();
        if let Some(password) = self.url.password() {
            secrets.push(SecretString::from(password));
        }
        match &self.auth {
            Some(Auth::Bearer(token)) | Some(Auth::Header(_, token)) => secrets.push(token.clone()),
            Some(Auth::Basic(_, password)) => secrets.push(password.clone()),
            None => {}
        }
        secrets
    }
}

fn auth_header(auth: &Auth) -> Result<(HeaderName, HeaderValue), Error> {
    let (name, text) = match auth {
        Auth::Bearer(token) => (AUTHORIZATION, format!("Bearer {}", token.expose_secret())),
        Auth::Basic(user, password) => {
            let pair = format!("{user}:{}", password.expose_secret());
            (
                AUTHORIZATION,
                format!("Basic {}", BASE64_STANDARD.encode(pair)),
            )
        }
        Auth::Header(name, value) => (name.clone(), value.expose_secret().to_owned()),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| ValidationError::InvalidValue {
        field: "credentials".to_owned(),
        problem: "contain characters that cannot travel in an HTTP header (control characters \
                  or line breaks); check for a trailing newline in the token"
            .to_owned(),
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

struct Prepared {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    repeat: Repeat,
    secrets: Vec<SecretString>,
    /// Whether the request carries credentials (secret header, userinfo, sensitive body).
    credentials: bool,
}

impl HttpClient {
    async fn execute(&self, request: Prepared) -> Result<Response, Error> {
        let inner = &self.inner;
        // The URL of this hop: the request's, then each redirect's the policy allowed.
        let mut url = request.url.clone();
        let mut shown_url = redact_url(&url);
        let mut hops = 0;
        let mut hopped = false;
        // The previous answer's pace is not this request's: the budget starts after it.
        if let Some(pacer) = &inner.pacer {
            pacer.wait(&inner.vendor).await;
        }
        let held = inner.backoff.remaining();
        if !held.is_zero() {
            // The requests one 429 held leave over a tenth of the hold, not at one
            // instant into the same limit.
            let spread = held.as_nanos().min(u128::from(u64::MAX)) as u64 / 10;
            tokio::time::sleep(held + Duration::from_nanos(fastrand::u64(0..=spread))).await;
        }
        inner.backoff.wait(&inner.vendor).await;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut throttled: u32 = 0;
        loop {
            // A redirect hop is part of the attempt that got the redirect.
            if !hopped {
                attempt += 1;
            }
            hopped = false;
            let span = tracing::debug_span!(
                "http",
                vendor = %inner.vendor,
                method = %request.method,
                url = %shown_url,
                attempt,
                status = tracing::field::Empty,
            );
            // The budget bounds attempts as well as waits: no attempt may outlive it.
            let left = inner.retry.budget.saturating_sub(started.elapsed());
            let mut builder = inner
                .transport(&url)
                .request(request.method.clone(), url.clone())
                .headers(request.headers.clone())
                .timeout(
                    inner
                        .request_timeout
                        .min(left)
                        .max(Duration::from_millis(1)),
                );
            if let (Some(body), 0) = (&request.body, hops) {
                builder = builder.body(body.clone());
            }
            let attempt_started = Instant::now();
            let result = builder.send().instrument(span.clone()).await;
            let elapsed = attempt_started.elapsed();
            // A 429 is the server pacing us, not the request failing: it does not use up an
            // attempt (a fleet's requests would otherwise run out of attempts under a rate
            // limit that merely slows them). The budget and `max_retry_after` still bound
            // the waiting.
            let attempts_left = attempt.saturating_sub(throttled) < inner.retry.max_attempts;
            let fits_budget = |delay: Duration| started.elapsed() + delay <= inner.retry.budget;

            match result {
                Ok(response) => {
                    let status = response.status();
                    span.record("status", status.as_u16());
                    if let Some(pacer) = &inner.pacer {
                        pacer.observe(response.headers(), inner.retry.max_retry_after);
                    }
                    if let Some(target) = redirect_target(&response, &url) {
                        let refusal = self.redirect_refusal(&request, &url, &target, hops);
                        self.observe(
                            &request,
                            &shown_url,
                            attempt,
                            Some(status),
                            None,
                            elapsed,
                            None,
                        );
                        let Some(refusal) = refusal else {
                            span.in_scope(|| {
                                tracing::debug!(location = %redact_url(&target), "following redirect");
                            });
                            hops += 1;
                            url = target;
                            shown_url = redact_url(&url);
                            hopped = true;
                            continue;
                        };
                        span.in_scope(|| tracing::debug!(%refusal, "redirect not followed"));
                        return Ok(Response {
                            inner: response,
                            client: self.clone(),
                            method: request.method.clone(),
                            request_url: url,
                            url: shown_url,
                            secrets: request.secrets.clone(),
                            attempts: attempt,
                            refusal: Some(refusal),
                        });
                    }
                    // (Not for a client that retries nothing: `RetryConfig::none` means none.)
                    let throttled_now = status == StatusCode::TOO_MANY_REQUESTS
                        && inner.retry.max_attempts > 1
                        && throttled < MAX_FREE_429S;
                    let delay = if retry::retryable_status(status, request.repeat)
                        && (attempts_left || throttled_now)
                    {
                        self.delay_for(&response, attempt)
                            .map(|delay| delay.max(self.pace_left()))
                            // Past the attempts 429s do not use, never faster than the
                            // backoff: a `Retry-After: 0` must not become a busy loop.
                            .map(|delay| {
                                if attempt >= inner.retry.max_attempts {
                                    delay
                                        .max(inner.retry.backoff(attempt))
                                        .max(MIN_FREE_429_WAIT)
                                } else {
                                    delay
                                }
                            })
                            .filter(|delay| fits_budget(*delay))
                    } else {
                        None
                    };
                    if throttled_now {
                        throttled += 1;
                    }
                    self.observe(
                        &request,
                        &shown_url,
                        attempt,
                        Some(status),
                        None,
                        elapsed,
                        delay,
                    );
                    match delay {
                        Some(delay) => {
                            span.in_scope(|| {
                                tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
                            });
                            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                                inner.backoff.hold(delay);
                            }
                            tokio::time::sleep(delay).await;
                        }
                        None => {
                            return Ok(Response {
                                inner: response,
                                client: self.clone(),
                                method: request.method.clone(),
                                request_url: url,
                                url: shown_url,
                                secrets: request.secrets.clone(),
                                attempts: attempt,
                                refusal: None,
                            });
                        }
                    }
                }
                Err(err) => {
                    let err = err.without_url();
                    let (kind, retryable) = classify_transport(&err, request.repeat);
                    let delay = (retryable && attempts_left)
                        .then(|| inner.retry.backoff(attempt).max(self.pace_left()))
                        .filter(|delay| fits_budget(*delay));
                    let message = crate::error::error_chain(&err);
                    span.in_scope(|| tracing::debug!(%kind, error = %message, "no answer"));
                    self.observe(
                        &request,
                        &shown_url,
                        attempt,
                        None,
                        Some(&message),
                        elapsed,
                        delay,
                    );
                    match delay {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => {
                            return Err(Error::Transport(Box::new(TransportError {
                                vendor: inner.vendor.clone(),
                                method: request.method.clone(),
                                url: shown_url,
                                kind,
                                message,
                                attempts: attempt,
                                source: Some(err),
                            })));
                        }
                    }
                }
            }
        }
    }

    /// Why the redirect from `from` to `to` is not followed, or `None` to follow it:
    /// [`check_redirect`], then the client's own switch and hop limit.
    fn redirect_refusal(
        &self,
        request: &Prepared,
        from: &Url,
        to: &Url,
        hops: usize,
    ) -> Option<RedirectRefusal> {
        let refuse = |reason| Some(RedirectRefusal::new(from, to, reason));
        if !self.inner.follow_redirects {
            return refuse(RedirectReason::Disabled);
        }
        if let Err(refusal) = check_redirect(
            from,
            to,
            &request.method,
            request.credentials,
            request.body.is_some(),
        ) {
            return Some(refusal);
        }
        if hops >= MAX_REDIRECTS {
            return refuse(RedirectReason::TooMany);
        }
        None
    }

    /// How long the rate-limit pace still holds the next request back (zero unpaced).
    fn pace_left(&self) -> Duration {
        self.inner
            .pacer
            .as_ref()
            .map_or(Duration::ZERO, Pacer::remaining)
    }

    /// The wait before the next attempt: the server's `Retry-After` when it sent one (none
    /// if that is longer than we wait for), else the backoff.
    fn delay_for(&self, response: &reqwest::Response, attempt: u32) -> Option<Duration> {
        match retry_after(response.headers()) {
            Some(wait) if wait > self.inner.retry.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.inner.retry.backoff(attempt)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        request: &Prepared,
        url: &str,
        attempt: u32,
        status: Option<StatusCode>,
        failure: Option<&str>,
        elapsed: Duration,
        retry_in: Option<Duration>,
    ) {
        if let Some(observer) = &self.inner.observer {
            observer.on_attempt(&AttemptRecord {
                vendor: self.inner.vendor.clone(),
                method: request.method.clone(),
                url: url.to_owned(),
                attempt,
                status: status.map(|s| s.as_u16()),
                failure: failure.map(str::to_owned),
                elapsed,
                retry_in,
            });
        }
    }

    async fn error_from(&self, response: Response) -> Error {
        let Response {
            inner: answer,
            method,
            request_url,
            secrets,
            refusal,
            ..
        } = response;
        let url = &request_url;
        let status = answer.status();
        let headers = answer.headers().clone();
        let raw = answer.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        let parsed = self.inner.envelope.parse(status, &text).unwrap_or_default();
        let scrubbed = |text: &str| redact::scrub(text, secrets.iter().map(|s| s.expose_secret()));
        let message = match refusal {
            Some(refusal) => refusal.to_string(),
            None => parsed
                .message
                .unwrap_or_else(|| error::fallback_message(status, &text)),
        };
        let body = match serde_json::from_slice::<serde_json::Value>(&raw) {
            Ok(mut json) => {
                redact::redact_json(&mut json);
                json.to_string()
            }
            Err(_) => text.into_owned(),
        };
        let api = ApiError {
            vendor: self.inner.vendor.clone(),
            method,
            url: redact_url(url),
            status,
            message: scrubbed(&message),
            code: parsed.code,
            request_id: error::request_id(&headers, self.inner.envelope.request_id_headers()),
            body: error::truncate(&scrubbed(&body), MAX_ERROR_BODY),
            fix: parsed.fix,
            retry_after: retry_after(&headers),
        };
        Error::from_api(api, parsed.class)
    }
}

impl Inner {
    /// The connection pool for `url`: loopback never goes through a proxy.
    fn transport(&self, url: &Url) -> &reqwest::Client {
        if is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        }
    }
}

/// Where a redirect answer points (301, 302, 303, 307, 308 with a usable `Location`,
/// resolved against the URL that answered); `None` for any other answer.
fn redirect_target(response: &reqwest::Response, from: &Url) -> Option<Url> {
    if !matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let mut target = from.join(location).ok()?;
    // Only credential-free requests hop, and a hop carries none either, not even
    // userinfo the server wrote into the location.
    let _ = target.set_username("");
    let _ = target.set_password(None);
    Some(target)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()))
}

/// Connect failures happen before anything is sent, so they are always safe to retry;
/// anything after that may have reached the server.
fn classify_transport(err: &reqwest::Error, repeat: Repeat) -> (TransportErrorKind, bool) {
    let idempotent = repeat == Repeat::Idempotent;
    if err.is_connect() {
        (TransportErrorKind::Connect, true)
    } else if err.is_timeout() {
        (TransportErrorKind::Timeout, idempotent)
    } else {
        (TransportErrorKind::Io, idempotent)
    }
}

/// A success answer (or, from [`RequestBuilder::send_raw`], any answer).
///
/// ```
/// # use pull_through_core::http::HttpClient;
/// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
/// let response = client.get("api/system/version").send().await?;
/// assert!(response.status().is_success());
/// let version: serde_json::Value = response.json("system version").await?;
/// # Ok(()) }
/// ```
pub struct Response {
    inner: reqwest::Response,
    client: HttpClient,
    method: Method,
    request_url: Url,
    url: String,
    secrets: Vec<SecretString>,
    attempts: u32,
    refusal: Option<RedirectRefusal>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.inner.status())
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The status.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// // send_raw returns error answers too, for flows that expect them.
    /// let challenge = client.get("v2/").send_raw().await?;
    /// if challenge.status() == http::StatusCode::UNAUTHORIZED { /* read WWW-Authenticate */ }
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let challenge = client.get("v2/").send_raw().await?;
    /// let realm = challenge.headers().get(http::header::WWW_AUTHENTICATE);
    /// # Ok(()) }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// Why this answer, a redirect, was not followed; `None` for any other answer. Only
    /// [`RequestBuilder::send_raw`] returns such answers; [`RequestBuilder::send`] and
    /// [`Response::error_for_status`] turn them into an [`Error::Api`] with the redirect's
    /// status and this refusal as its message.
    ///
    /// ```
    /// # use pull_through_core::http::{HttpClient, RedirectReason};
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// let answer = client.get("api/repositories").bearer_auth(token).send_raw().await?;
    /// if let Some(refusal) = answer.redirect_refusal() {
    ///     assert_eq!(refusal.reason, RedirectReason::Credentials);
    ///     eprintln!("the server points elsewhere: {}", refusal.location);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn redirect_refusal(&self) -> Option<&RedirectRefusal> {
        self.refusal.as_ref()
    }

    /// The whole body.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] if the connection broke while reading.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let ping = client.get("api/system/ping").send().await?.bytes().await?;
    /// assert_eq!(&ping[..], b"OK");
    /// # Ok(()) }
    /// ```
    pub async fn bytes(self) -> Result<Bytes, Error> {
        let failure = self.failure_context();
        self.inner.bytes().await.map_err(|err| failure.error(err))
    }

    /// The body, read in chunks and refused once it passes `max` bytes, so an oversized
    /// answer is never held whole.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] if the connection broke, [`Error::Decode`] past the limit.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let index = client.get("x86_64/APKINDEX.tar.gz").send().await?.bytes_limited(512 << 20).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bytes_limited(self, max: u64) -> Result<Bytes, Error> {
        let failure = self.failure_context();
        let mut inner = self.inner;
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = inner.chunk().await.map_err(|err| failure.error(err))? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(Error::Decode(Box::new(DecodeError {
                    vendor: failure.vendor,
                    what: failure.url,
                    field: ".".to_owned(),
                    message: format!("the body is larger than the limit of {max} bytes"),
                })));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Turns an error answer into the [`Error`] [`RequestBuilder::send`] would have
    /// returned; a success answer passes through. For flows that inspect a status first
    /// (apk's resend after a 401).
    ///
    /// # Errors
    ///
    /// The error built from the vendor's answer.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient, token: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// let mut answer = client.get("x86_64/APKINDEX.tar.gz").send_raw().await?;
    /// if answer.status() == http::StatusCode::UNAUTHORIZED {
    ///     answer = client.get("x86_64/APKINDEX.tar.gz").basic_auth("user", token).send_raw().await?;
    /// }
    /// let index = answer.error_for_status().await?.bytes().await?;
    /// # Ok(()) }
    /// ```
    pub async fn error_for_status(self) -> Result<Response, Error> {
        if self.status().is_success() {
            return Ok(self);
        }
        let client = self.client.clone();
        Err(client.error_from(self).await)
    }

    fn failure_context(&self) -> FailureContext {
        FailureContext {
            vendor: self.client.inner.vendor.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            attempts: self.attempts,
        }
    }

    /// The body decoded as JSON, naming the field that failed if it does not fit.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] or [`Error::Decode`].
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// #[derive(serde::Deserialize)]
    /// struct Version { version: String }
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let version: Version = client.get("api/system/version").send().await?.json("system version").await?;
    /// println!("Artifactory {}", version.version);
    /// # Ok(()) }
    /// ```
    pub async fn json<T: serde::de::DeserializeOwned>(self, what: &str) -> Result<T, Error> {
        let vendor = self.client.inner.vendor.clone();
        let secrets = self.secrets.clone();
        let body = self.bytes().await?;
        error::decode_json(&vendor, what, &body).map_err(|err| match err {
            Error::Decode(mut decode) => {
                decode.message =
                    redact::scrub(&decode.message, secrets.iter().map(|s| s.expose_secret()));
                Error::Decode(decode)
            }
            other => other,
        })
    }

    /// The underlying `reqwest` response, to stream a large body.
    ///
    /// ```
    /// # use pull_through_core::http::HttpClient;
    /// # async fn example(client: &HttpClient) -> Result<(), pull_through_core::Error> {
    /// let mut body = client.get("x86_64/APKINDEX.tar.gz").send().await?.into_inner();
    /// while let Ok(Some(chunk)) = body.chunk().await {
    ///     // feed the chunk to a streaming decoder
    ///     let _ = chunk;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_inner(self) -> reqwest::Response {
        self.inner
    }
}

/// What a body-reading failure is reported with.
struct FailureContext {
    vendor: String,
    method: Method,
    url: String,
    attempts: u32,
}

impl FailureContext {
    fn error(&self, err: reqwest::Error) -> Error {
        let err = err.without_url();
        Error::Transport(Box::new(TransportError {
            vendor: self.vendor.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            kind: TransportErrorKind::Io,
            message: crate::error::error_chain(&err),
            attempts: self.attempts,
            source: Some(err),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_onto_the_base() {
        let client = HttpClient::builder("x", "https://h/artifactory/".parse().unwrap())
            .build()
            .unwrap();
        let request = client.get("/api/repositories");
        assert_eq!(
            request.url.as_str(),
            "https://h/artifactory/api/repositories"
        );
        let uidp = client.get("iam/v1/identities/0123/abcd");
        assert_eq!(
            uidp.url.as_str(),
            "https://h/artifactory/iam/v1/identities/0123/abcd"
        );
    }

    #[test]
    fn idempotency_defaults_by_method() {
        for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            assert!(default_idempotent(&method), "{method}");
        }
        for method in [Method::POST, Method::PATCH] {
            assert!(!default_idempotent(&method), "{method}");
        }
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in [
            "ftp://h",
            "not a url",
            "https://u:p@h",
            "https://h/?q",
            "mailto:x@y",
        ] {
            let err = parse_base_url("URL", bad).unwrap_err();
            assert!(matches!(err, ValidationError::InvalidUrl { .. }), "{bad}");
            assert!(!err.to_string().contains(":p@"), "{err}");
        }
    }
}
