//! The one error type of every pull-through crate.
//!
//! Semantic variants say what happened in terms a caller can act on ([`Error::NotFound`],
//! [`Error::PermissionDenied`], ...); each keeps the vendor's own answer as an [`ApiError`]
//! (status, message, code, request id, truncated body). Vendor crates teach the HTTP layer
//! their error envelope through [`ErrorEnvelope`]; bodies no envelope understands fall back
//! to their raw text.
//!
//! ```
//! use pull_through_core::{Error, ValidationError};
//!
//! let err = Error::from(ValidationError::InvalidValue {
//!     field: "ttl".into(),
//!     problem: "must be at most 365 days".into(),
//! });
//! assert!(err.is_invalid_input());
//! assert_eq!(err.to_string(), "invalid input: ttl: must be at most 365 days");
//! ```

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};

use crate::redact::redact_text;
use crate::validation::ValidationError;

/// How much of an error body an [`ApiError`] keeps.
///
/// ```
/// assert_eq!(pull_through_core::error::MAX_ERROR_BODY, 4096);
/// ```
pub const MAX_ERROR_BODY: usize = 4096;

/// Everything that can go wrong in pull-through.
///
/// ```
/// use pull_through_core::Error;
///
/// fn explain(err: &Error) -> &'static str {
///     match err {
///         Error::InvalidInput(_) => "fix the input; nothing was sent",
///         Error::NotFound(_) => "it does not exist",
///         Error::PermissionDenied(api) if api.fix.is_some() => "see the fix",
///         Error::RateLimited { .. } => "wait and retry",
///         Error::Transport(_) => "check the network",
///         _ => "see the message",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input, refused before any request was sent.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] ValidationError),

    /// The vendor says the thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(Box<ApiError>),

    /// The vendor says the thing being created exists already.
    #[error("already exists: {0}")]
    AlreadyExists(Box<ApiError>),

    /// The vendor did not accept the credentials (missing, wrong or expired).
    #[error("not authenticated: {0}")]
    Unauthenticated(Box<ApiError>),

    /// The credentials were accepted but lack a permission; the [`ApiError::fix`] says
    /// which, where it is known.
    #[error("permission denied: {0}")]
    PermissionDenied(Box<ApiError>),

    /// The vendor throttled the request and the retry budget could not absorb the wait.
    #[error("rate limited{}: {error}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The vendor's answer.
        error: Box<ApiError>,
        /// How long the vendor asked to wait, when it said.
        retry_after: Option<Duration>,
    },

    /// Any other error answer from the vendor.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The backend cannot do what was asked (e.g. an APK upstream on Google Artifact
    /// Registry). Never a silent no-op.
    #[error("{vendor} does not support {what}: {hint}")]
    Unsupported {
        /// The backend.
        vendor: String,
        /// What was asked.
        what: String,
        /// What to do instead.
        hint: String,
    },

    /// The request did not get an answer (connection refused, timeout, broken connection).
    #[error("{0}")]
    Transport(Box<TransportError>),

    /// An answer whose body did not have the expected shape.
    #[error("{0}")]
    Decode(Box<DecodeError>),
}

/// The coarse class of an [`Error`], for code that branches on it.
///
/// ```
/// use pull_through_core::{Error, ErrorKind};
/// use pull_through_core::error::ApiError;
/// let api = ApiError::new("cloudsmith", http::Method::GET, "https://api.cloudsmith.io/v1/user/self/",
///     http::StatusCode::UNAUTHORIZED, "Invalid token.");
/// assert_eq!(Error::from_api(api, None).kind(), ErrorKind::Unauthenticated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::InvalidInput`].
    InvalidInput,
    /// [`Error::NotFound`].
    NotFound,
    /// [`Error::AlreadyExists`].
    AlreadyExists,
    /// [`Error::Unauthenticated`].
    Unauthenticated,
    /// [`Error::PermissionDenied`].
    PermissionDenied,
    /// [`Error::RateLimited`].
    RateLimited,
    /// [`Error::Api`].
    Api,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::Transport`].
    Transport,
    /// [`Error::Decode`].
    Decode,
}

impl Error {
    /// The class of this error.
    ///
    /// ```
    /// # use pull_through_core::{Error, ErrorKind, ValidationError};
    /// let err = Error::from(ValidationError::InvalidValue { field: "x".into(), problem: "y".into() });
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Api(_) => ErrorKind::Api,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Transport(_) => ErrorKind::Transport,
            Error::Decode(_) => ErrorKind::Decode,
        }
    }

    /// Whether the vendor said the thing does not exist.
    ///
    /// ```
    /// # use pull_through_core::{Error, error::ApiError};
    /// let api = ApiError::new("artifactory", http::Method::GET, "https://h/x", http::StatusCode::NOT_FOUND, "gone");
    /// assert!(Error::from_api(api, None).is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// Whether the vendor said the thing exists already.
    ///
    /// ```
    /// # use pull_through_core::{Error, error::ApiError};
    /// let api = ApiError::new("gar", http::Method::POST, "https://h/x", http::StatusCode::CONFLICT, "exists");
    /// assert!(Error::from_api(api, None).is_already_exists());
    /// ```
    pub fn is_already_exists(&self) -> bool {
        self.kind() == ErrorKind::AlreadyExists
    }

    /// Whether the input was refused before any request.
    ///
    /// ```
    /// # use pull_through_core::{Error, ValidationError};
    /// let err = Error::from(ValidationError::InvalidValue { field: "ttl".into(), problem: "too long".into() });
    /// assert!(err.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == ErrorKind::InvalidInput
    }

    /// The vendor's answer, for errors that came from one.
    ///
    /// ```
    /// # use pull_through_core::{Error, ValidationError};
    /// let err = Error::from(ValidationError::InvalidValue { field: "x".into(), problem: "y".into() });
    /// assert!(err.api().is_none());
    /// ```
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::NotFound(api)
            | Error::AlreadyExists(api)
            | Error::Unauthenticated(api)
            | Error::PermissionDenied(api)
            | Error::Api(api)
            | Error::RateLimited { error: api, .. } => Some(api),
            _ => None,
        }
    }

    /// The HTTP status of the vendor's answer, where there was one.
    ///
    /// ```
    /// # use pull_through_core::{Error, error::ApiError};
    /// let api = ApiError::new("artifactory", http::Method::PUT, "https://h/x", http::StatusCode::BAD_REQUEST, "bad");
    /// assert_eq!(Error::from_api(api, None).status(), Some(http::StatusCode::BAD_REQUEST));
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|api| api.status)
    }

    /// Builds the semantic variant that fits an [`ApiError`]: the envelope's
    /// [`ApiErrorClass`] when it gave one, otherwise the HTTP status (401, 403, 404, 409,
    /// 429; anything else is [`Error::Api`]).
    ///
    /// ```
    /// # use pull_through_core::error::{ApiError, Error};
    /// # use http::{Method, StatusCode};
    /// let api = ApiError::new("artifactory", Method::GET, "https://example/x", StatusCode::NOT_FOUND, "gone");
    /// assert!(Error::from_api(api, None).is_not_found());
    /// ```
    pub fn from_api(api: ApiError, class: Option<ApiErrorClass>) -> Error {
        let class = class.unwrap_or(match api.status {
            StatusCode::UNAUTHORIZED => ApiErrorClass::Unauthenticated,
            StatusCode::FORBIDDEN => ApiErrorClass::PermissionDenied,
            StatusCode::NOT_FOUND => ApiErrorClass::NotFound,
            StatusCode::CONFLICT => ApiErrorClass::AlreadyExists,
            StatusCode::TOO_MANY_REQUESTS => ApiErrorClass::RateLimited,
            _ => ApiErrorClass::Other,
        });
        let retry_after = api.retry_after;
        let api = Box::new(api);
        match class {
            ApiErrorClass::NotFound => Error::NotFound(api),
            ApiErrorClass::AlreadyExists => Error::AlreadyExists(api),
            ApiErrorClass::Unauthenticated => Error::Unauthenticated(api),
            ApiErrorClass::PermissionDenied => Error::PermissionDenied(api),
            ApiErrorClass::RateLimited => Error::RateLimited {
                error: api,
                retry_after,
            },
            ApiErrorClass::Other => Error::Api(api),
        }
    }
}

/// A vendor's error answer, kept whole enough to debug from.
///
/// What a vendor wrote is shown redacted: `Display` and `Debug` hide whatever has the shape
/// of a credential in the message, code, request id, body and fix
/// ([`redact_text`]), even when the fields were set by hand; the
/// HTTP layer redacts the fields themselves as it builds them.
///
/// ```
/// use pull_through_core::error::ApiError;
/// let mut api = ApiError::new("chainguard", http::Method::GET, "https://apk.cgr.dev/example.com/x86_64/APKINDEX.tar.gz",
///     http::StatusCode::FORBIDDEN, "caller does not have the required capabilities");
/// api.fix = Some("bind the apk.pull role to the identity, then mint a new token".into());
/// assert!(api.to_string().ends_with("; bind the apk.pull role to the identity, then mint a new token"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// Which vendor answered ("artifactory", "chainguard", ...).
    pub vendor: String,
    /// The request's method.
    pub method: Method,
    /// The request's URL without userinfo or query.
    pub url: String,
    /// The answer's status.
    pub status: StatusCode,
    /// The vendor's message, or the body's first line when no envelope matched.
    pub message: String,
    /// The vendor's error code, when it gave one.
    pub code: Option<String>,
    /// The request id the vendor assigned, when it sent one.
    pub request_id: Option<String>,
    /// The body, at most [`MAX_ERROR_BODY`] bytes, with known secret fields redacted.
    pub body: String,
    /// What to do about it, where known (e.g. "bind the apk.pull role ...").
    pub fix: Option<String>,
    /// The `Retry-After` the vendor sent, parsed.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error answer with a message and nothing else; what has the shape of a credential
    /// in the message is redacted.
    ///
    /// ```
    /// # use pull_through_core::error::ApiError;
    /// let api = ApiError::new("gar", http::Method::GET, "https://h/x", http::StatusCode::NOT_FOUND, "not found");
    /// assert_eq!(api.to_string(), "gar answered 404 Not Found to GET https://h/x: not found");
    /// let echo = ApiError::new("gar", http::Method::GET, "https://h/x", http::StatusCode::BAD_REQUEST,
    ///     "bad header Authorization: Basic dXNlcjpwdw==");
    /// assert_eq!(echo.message, "bad header Authorization: Basic [REDACTED]");
    /// ```
    pub fn new(
        vendor: impl Into<String>,
        method: Method,
        url: impl Into<String>,
        status: StatusCode,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            vendor: vendor.into(),
            method,
            url: url.into(),
            status,
            message: redact_text(&message.into()),
            code: None,
            request_id: None,
            body: String::new(),
            fix: None,
            retry_after: None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = format!(
            "{} answered {} to {} {}: {}",
            self.vendor, self.status, self.method, self.url, self.message
        );
        if let Some(code) = &self.code {
            text.push_str(&format!(" (code {code})"));
        }
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" [request id {id}]"));
        }
        if let Some(fix) = &self.fix {
            text.push_str(&format!("; {fix}"));
        }
        f.write_str(&redact_text(&text))
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |text: &Option<String>| text.as_deref().map(redact_text);
        f.debug_struct("ApiError")
            .field("vendor", &self.vendor)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("status", &self.status)
            .field("message", &redact_text(&self.message))
            .field("code", &shown(&self.code))
            .field("request_id", &shown(&self.request_id))
            .field("body", &redact_text(&self.body))
            .field("fix", &shown(&self.fix))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// How an [`ErrorEnvelope`] classifies an answer when the HTTP status alone would mislead
/// (Artifactory answers 400 for "already exists").
///
/// ```
/// use pull_through_core::error::{ApiError, ApiErrorClass};
/// use pull_through_core::Error;
/// // Artifactory answers 400 when a key exists already.
/// let api = ApiError::new("artifactory", http::Method::PUT, "https://h/x", http::StatusCode::BAD_REQUEST,
///     "Case insensitive repository key already exists");
/// assert!(Error::from_api(api, Some(ApiErrorClass::AlreadyExists)).is_already_exists());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorClass {
    /// Maps to [`Error::NotFound`].
    NotFound,
    /// Maps to [`Error::AlreadyExists`].
    AlreadyExists,
    /// Maps to [`Error::Unauthenticated`].
    Unauthenticated,
    /// Maps to [`Error::PermissionDenied`].
    PermissionDenied,
    /// Maps to [`Error::RateLimited`].
    RateLimited,
    /// Maps to [`Error::Api`].
    Other,
}

/// What a vendor's [`ErrorEnvelope`] read from an error answer.
///
/// ```
/// use pull_through_core::error::{ApiErrorClass, VendorError};
/// let parsed = VendorError::message("caller does not have the required capabilities")
///     .with_code("7")
///     .with_class(ApiErrorClass::PermissionDenied)
///     .with_fix("bind apk.pull");
/// assert_eq!(parsed.fix.as_deref(), Some("bind apk.pull"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorError {
    /// The human message.
    pub message: Option<String>,
    /// The vendor's code (`"NOT_FOUND"`, `"5"`, `"invalid"`, ...).
    pub code: Option<String>,
    /// A classification overriding the one from the status.
    pub class: Option<ApiErrorClass>,
    /// What to do about it.
    pub fix: Option<String>,
}

impl VendorError {
    /// A parsed error with just a message.
    ///
    /// ```
    /// # use pull_through_core::error::VendorError;
    /// let parsed = VendorError::message("Repository not found").with_code("404");
    /// assert_eq!(parsed.code.as_deref(), Some("404"));
    /// ```
    pub fn message(message: impl Into<String>) -> Self {
        VendorError {
            message: Some(message.into()),
            ..VendorError::default()
        }
    }

    /// Adds the vendor's error code.
    ///
    /// ```
    /// # use pull_through_core::error::VendorError;
    /// assert_eq!(VendorError::message("m").with_code("NOT_FOUND").code.as_deref(), Some("NOT_FOUND"));
    /// ```
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Overrides the status-based classification.
    ///
    /// ```
    /// # use pull_through_core::error::{ApiErrorClass, VendorError};
    /// let parsed = VendorError::message("m").with_class(ApiErrorClass::NotFound);
    /// assert_eq!(parsed.class, Some(ApiErrorClass::NotFound));
    /// ```
    pub fn with_class(mut self, class: ApiErrorClass) -> Self {
        self.class = Some(class);
        self
    }

    /// Adds what to do about it.
    ///
    /// ```
    /// # use pull_through_core::error::VendorError;
    /// assert_eq!(VendorError::message("m").with_fix("do x").fix.as_deref(), Some("do x"));
    /// ```
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A vendor's error body format. Each vendor crate implements it once and hands it to
/// [`crate::http::HttpClientBuilder::error_envelope`].
///
/// Return `None` when the body is not in the vendor's format; the HTTP layer then keeps the
/// raw text. A parser must never fail.
///
/// ```
/// use pull_through_core::error::{ErrorEnvelope, VendorError};
/// use http::StatusCode;
///
/// /// Artifactory's `{"errors":[{"status":400,"message":"..."}]}`.
/// #[derive(Debug)]
/// struct ArtifactoryErrors;
///
/// impl ErrorEnvelope for ArtifactoryErrors {
///     fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
///         let value: serde_json::Value = serde_json::from_str(body).ok()?;
///         let message = value["errors"][0]["message"].as_str()?;
///         Some(VendorError::message(message))
///     }
/// }
///
/// let parsed = ArtifactoryErrors.parse(StatusCode::BAD_REQUEST,
///     r#"{"errors":[{"status":400,"message":"Case insensitive repository key already exists"}]}"#);
/// assert_eq!(parsed.unwrap().message.unwrap(), "Case insensitive repository key already exists");
/// ```
pub trait ErrorEnvelope: Send + Sync + fmt::Debug {
    /// Reads an error body.
    ///
    /// ```
    /// use pull_through_core::error::{ErrorEnvelope, RawText};
    /// assert!(RawText.parse(http::StatusCode::NOT_FOUND, "gone").is_none());
    /// ```
    fn parse(&self, status: StatusCode, body: &str) -> Option<VendorError>;

    /// Response headers that carry the vendor's request id, in order of preference.
    ///
    /// ```
    /// use pull_through_core::error::{ErrorEnvelope, RawText};
    /// assert!(RawText.request_id_headers().contains(&"x-request-id"));
    /// ```
    fn request_id_headers(&self) -> &[&str] {
        &["x-request-id", "x-correlation-id", "x-cloud-trace-context"]
    }
}

/// The envelope used when a vendor crate names none: only the raw text.
///
/// ```
/// use pull_through_core::error::{ErrorEnvelope, RawText};
/// assert_eq!(RawText.parse(http::StatusCode::BAD_GATEWAY, "<html>bad gateway</html>"), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RawText;

impl ErrorEnvelope for RawText {
    fn parse(&self, _status: StatusCode, _body: &str) -> Option<VendorError> {
        None
    }
}

/// The first line of a body, trimmed, redacted and shortened, for use as a message when no
/// envelope understood it. A JSON body has its secret fields redacted first
/// ([`redact_json`](crate::redact::redact_json)), then any body what has the shape of a
/// credential ([`redact_text`]), before it is cut: a cut could leave half a secret
/// unrecognisable.
pub(crate) fn fallback_message(status: StatusCode, body: &str) -> String {
    let body = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut json) => {
            crate::redact::redact_json(&mut json);
            json.to_string()
        }
        Err(_) => body.to_owned(),
    };
    let line = body.lines().map(str::trim).find(|line| !line.is_empty());
    match line {
        Some(line) => truncate(&redact_text(line), 300),
        None => status.canonical_reason().unwrap_or("no message").to_owned(),
    }
}

/// Shortens text to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Reads a request id from the first of the named headers that is present.
pub(crate) fn request_id(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The request did not get an answer.
///
/// ```
/// use pull_through_core::http::{HttpClient, RetryConfig};
/// use pull_through_core::Error;
///
/// # async fn example() {
/// // Nothing listens on port 9 of loopback, so the connection is refused.
/// let client = HttpClient::builder("example", "http://127.0.0.1:9".parse().unwrap())
///     .retry(RetryConfig::none())
///     .build()
///     .unwrap();
/// match client.get("x").send().await {
///     Err(Error::Transport(err)) => assert_eq!(err.attempts, 1),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{vendor}: {method} {url} failed after {attempts} attempt(s): {kind}: {message}")]
#[non_exhaustive]
pub struct TransportError {
    /// The vendor being called.
    pub vendor: String,
    /// The request's method.
    pub method: Method,
    /// The request's URL without userinfo or query.
    pub url: String,
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The underlying error's text, with the URL removed.
    pub message: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// The underlying error, stripped of its URL.
    #[source]
    pub source: Option<reqwest::Error>,
}

/// The kind of a [`TransportError`].
///
/// ```
/// use pull_through_core::error::TransportErrorKind;
/// assert_eq!(TransportErrorKind::Connect.to_string(), "could not connect");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made; the request was not sent.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection broke or the body could not be read.
    Io,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection error",
        })
    }
}

/// An answer whose body did not have the expected shape.
///
/// ```
/// use pull_through_core::{Error, error::decode_json};
/// let err = decode_json::<Vec<u32>>("gar", "repository list", b"[1, \"two\"]").unwrap_err();
/// let Error::Decode(decode) = err else { unreachable!() };
/// assert_eq!(decode.field, "[1]");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{vendor}: could not read {what}: field `{field}`: {message}")]
#[non_exhaustive]
pub struct DecodeError {
    /// The vendor that answered.
    pub vendor: String,
    /// What was being read ("repository configuration").
    pub what: String,
    /// The path of the field that failed (`repositories[2].key`), `.` for the whole body.
    pub field: String,
    /// The decoder's complaint.
    pub message: String,
}

impl DecodeError {
    /// A decode error about `field` of `what`.
    ///
    /// ```
    /// use pull_through_core::error::DecodeError;
    /// let err = DecodeError::new("registry", "registry token", "token", "missing");
    /// assert_eq!(err.to_string(), "registry: could not read registry token: field `token`: missing");
    /// ```
    pub fn new(
        vendor: impl Into<String>,
        what: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        DecodeError {
            vendor: vendor.into(),
            what: what.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Decodes a JSON body, naming the field that failed when it does not fit `T`.
///
/// # Errors
///
/// [`Error::Decode`] with the path of the offending field.
///
/// ```
/// use pull_through_core::error::decode_json;
///
/// #[derive(serde::Deserialize, Debug)]
/// struct Repo { key: String, #[allow(dead_code)] rclass: String }
///
/// let err = decode_json::<Vec<Repo>>("artifactory", "repository list",
///     br#"[{"key":"a","rclass":"remote"},{"key":"b","rclass":7}]"#).unwrap_err();
/// assert!(err.to_string().contains("field `[1].rclass`"), "{err}");
/// ```
pub fn decode_json<T: serde::de::DeserializeOwned>(
    vendor: &str,
    what: &str,
    body: &[u8],
) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let last = field.rsplit(['.', '[']).next().unwrap_or_default();
        // serde quotes the offending value; under a secret's name that value is a secret,
        // and elsewhere it may have a secret's shape (a bare JWT where an object was due).
        let message = if crate::redact::is_secret_field(last) {
            "the value has the wrong type (not shown: the field holds a secret)".to_owned()
        } else {
            redact_text(&err.into_inner().to_string())
        };
        Error::Decode(Box::new(DecodeError {
            vendor: vendor.to_owned(),
            what: what.to_owned(),
            field,
            message,
        }))
    })
}

/// An error and its causes on one line, each joined to the one before by `": "`: what a
/// `Display` of the error alone leaves out (reqwest says "error sending request" and keeps
/// "connection refused" in a cause). Nothing is redacted: a caller whose causes may quote
/// a URL or a credential passes the text through [`redact_text`].
///
/// ```
/// use std::fmt;
/// use pull_through_core::error::error_chain;
///
/// #[derive(Debug)]
/// struct Connect(std::io::Error);
/// impl fmt::Display for Connect {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("error sending request")
///     }
/// }
/// impl std::error::Error for Connect {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// assert_eq!(error_chain(&Connect(refused)), "error sending request: connection refused");
/// ```
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: StatusCode) -> ApiError {
        ApiError::new("test", Method::GET, "https://h/x", status, "m")
    }

    #[test]
    fn status_classification() {
        let cases = [
            (StatusCode::UNAUTHORIZED, ErrorKind::Unauthenticated),
            (StatusCode::FORBIDDEN, ErrorKind::PermissionDenied),
            (StatusCode::NOT_FOUND, ErrorKind::NotFound),
            (StatusCode::CONFLICT, ErrorKind::AlreadyExists),
            (StatusCode::TOO_MANY_REQUESTS, ErrorKind::RateLimited),
            (StatusCode::BAD_REQUEST, ErrorKind::Api),
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorKind::Api),
        ];
        for (status, kind) in cases {
            assert_eq!(Error::from_api(api(status), None).kind(), kind, "{status}");
        }
    }

    #[test]
    fn envelope_class_overrides_status() {
        let err = Error::from_api(
            api(StatusCode::BAD_REQUEST),
            Some(ApiErrorClass::AlreadyExists),
        );
        assert!(err.is_already_exists());
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn display_carries_code_request_id_and_fix() {
        let mut api = api(StatusCode::FORBIDDEN);
        api.code = Some("7".into());
        api.request_id = Some("req-1".into());
        api.fix = Some("bind apk.pull".into());
        let text = Error::from_api(api, None).to_string();
        assert_eq!(
            text,
            "permission denied: test answered 403 Forbidden to GET https://h/x: m (code 7) \
             [request id req-1]; bind apk.pull"
        );
    }

    #[test]
    fn decode_errors_do_not_quote_secrets() {
        #[derive(serde::Deserialize, Debug)]
        struct Token {
            #[allow(dead_code)]
            access_token: u64,
        }
        let err =
            decode_json::<Token>("x", "token", br#"{"access_token":"SECRET-JWT"}"#).unwrap_err();
        assert!(!err.to_string().contains("SECRET-JWT"), "{err}");
        assert!(err.to_string().contains("field `access_token`"), "{err}");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let text = "é".repeat(10);
        let cut = truncate(&text, 5);
        assert!(cut.starts_with("éé"));
        assert!(cut.ends_with("(20 bytes in all)"));
    }

    #[test]
    fn fallback_message_uses_first_non_empty_line() {
        assert_eq!(
            fallback_message(StatusCode::BAD_GATEWAY, "\n  upstream down \nmore"),
            "upstream down"
        );
        assert_eq!(fallback_message(StatusCode::BAD_GATEWAY, ""), "Bad Gateway");
    }

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|inner| inner as _)
        }
    }

    #[test]
    fn error_chain_joins_every_cause_in_order() {
        let alone = Layer("no causes", None);
        assert_eq!(error_chain(&alone), "no causes");
        let three = Layer(
            "error sending request",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer("connection refused", None))),
            ))),
        );
        assert_eq!(
            error_chain(&three),
            "error sending request: client error (Connect): connection refused"
        );
    }
}
