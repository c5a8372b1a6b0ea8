//! Where Chainguard tokens come from: [`TokenSource`] and its implementations.
//!
//! Tokens are per audience: `https://console-api.enforce.dev` for the platform API,
//! `cgr.dev` for the registry, `apk.cgr.dev` for APK repositories. [`CachedTokens`] keeps
//! each until shortly before it expires. No token is ever logged: they are
//! [`SecretString`]s from the moment they are read.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use pull_through_core::http::{HttpClient, RequestBuilder};
use pull_through_core::redact::{REDACTED, redact_url};
use pull_through_core::{Error, ExposeSecret, SecretString, ValidationError};
use tokio::sync::Mutex;

use crate::model::{RawToken, TokenPair};

/// The platform API's audience.
///
/// ```
/// assert_eq!(chainguard_client::auth::CONSOLE_API_AUDIENCE, "https://console-api.enforce.dev");
/// ```
pub const CONSOLE_API_AUDIENCE: &str = "https://console-api.enforce.dev";
/// The registry's audience.
///
/// ```
/// assert_eq!(chainguard_client::auth::REGISTRY_AUDIENCE, "cgr.dev");
/// ```
pub const REGISTRY_AUDIENCE: &str = "cgr.dev";
/// The APK repositories' audience.
///
/// ```
/// assert_eq!(chainguard_client::auth::APK_AUDIENCE, "apk.cgr.dev");
/// ```
pub const APK_AUDIENCE: &str = "apk.cgr.dev";

/// Gives a token for an audience.
///
/// ```
/// use chainguard_client::auth::{StaticToken, TokenSource};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let source = StaticToken::new("eyJ...");
/// let token = source.token("https://console-api.enforce.dev").await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token valid for `audience`.
    async fn token(&self, audience: &str) -> Result<SecretString, Error>;
}

fn missing(problem: String) -> Error {
    Error::InvalidInput(ValidationError::InvalidValue {
        field: "Chainguard credentials".to_owned(),
        problem,
    })
}

/// The expiry in a JWT's `exp` claim, read without verifying (only to know when to
/// refresh; the server verifies). `None` without one, or for one past what the system
/// clock can hold (the token is then used until the server refuses it).
///
/// ```
/// use base64::Engine as _;
/// let payload = base64::prelude::BASE64_URL_SAFE_NO_PAD.encode(br#"{"exp":2000000000}"#);
/// let jwt = format!("e30.{payload}.sig");
/// let expiry = chainguard_client::auth::jwt_expiry(&jwt).unwrap();
/// assert_eq!(expiry.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), 2_000_000_000);
/// ```
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = BASE64_URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

/// One token for every audience, as `CHAINGUARD_TOKEN` gives it. The caller is
/// responsible for its audience matching what it is used for.
///
/// ```
/// use chainguard_client::auth::{StaticToken, TokenSource};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let source = StaticToken::new(std::env::var("CHAINGUARD_TOKEN").unwrap_or_default());
/// let token = source.token("https://console-api.enforce.dev").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StaticToken {
    token: SecretString,
    sts: Option<Sts>,
}

impl StaticToken {
    /// Wraps a token. Asked for another audience than the token's own `aud`, it fails
    /// unless an STS was given with [`StaticToken::exchanging_with`].
    ///
    /// ```
    /// let source = chainguard_client::auth::StaticToken::new("t");
    /// assert_eq!(format!("{source:?}"), "StaticToken([REDACTED])");
    /// ```
    pub fn new(token: impl Into<SecretString>) -> StaticToken {
        StaticToken {
            token: token.into(),
            sts: None,
        }
    }

    /// Exchanges the token at `sts` when another audience is asked for (Chainguard lets a
    /// Chainguard token be exchanged for one of another audience), as
    /// `CHAINGUARD_TOKEN` is used by [`crate::ChainguardBuilder::from_env`].
    ///
    /// ```
    /// use chainguard_client::auth::{StaticToken, Sts};
    /// let sts = Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
    /// let source = StaticToken::new("t").exchanging_with(sts);
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn exchanging_with(mut self, sts: Sts) -> StaticToken {
        self.sts = Some(sts);
        self
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        // A token that is not a readable JWT is passed as given: only the server can tell.
        let Some(audiences) = jwt_audiences(self.token.expose_secret()) else {
            return Ok(self.token.clone());
        };
        if audiences.iter().any(|aud| aud == audience) {
            return Ok(self.token.clone());
        }
        match &self.sts {
            Some(sts) => sts.exchange(&self.token, audience, None).await,
            None => Err(missing(format!(
                "the token is for {audiences:?}, not {audience:?}: pass a token for {audience:?} \
                 or let it be exchanged (StaticToken::exchanging_with)"
            ))),
        }
    }
}

/// The audiences in a JWT's `aud` claim (a string or an array), read without verifying.
fn jwt_audiences(token: &str) -> Option<Vec<String>> {
    let payload = token.split('.').nth(1)?;
    let bytes = BASE64_URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get("aud")? {
        serde_json::Value::String(aud) => Some(vec![aud.clone()]),
        serde_json::Value::Array(auds) => Some(
            auds.iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

/// The tokens chainctl caches: `<dir>/<audience with '/' as '-'>/oidc-token` (on
/// Windows, `:` is written as `-` too, as chainctl does there).
///
/// ```
/// use chainguard_client::auth::ChainctlCache;
/// let cache = ChainctlCache::new("/home/me/.cache/chainguard");
/// # #[cfg(not(windows))]
/// assert_eq!(cache.token_path("https://console-api.enforce.dev"),
///     std::path::Path::new("/home/me/.cache/chainguard/https:--console-api.enforce.dev/oidc-token"));
/// ```
#[derive(Debug, Clone)]
pub struct ChainctlCache {
    dir: PathBuf,
    os: CacheOs,
}

/// The operating systems whose cache locations differ, as Go's `os.UserCacheDir` tells
/// them apart (chainctl is a Go program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheOs {
    /// Linux and the other Unix systems: `$XDG_CACHE_HOME`, else `$HOME/.cache`.
    Unix,
    /// macOS (and iOS): `$HOME/Library/Caches`.
    MacOs,
    /// Windows: `%LocalAppData%`; `:` is not allowed in a folder name.
    Windows,
}

impl CacheOs {
    const HOST: CacheOs = if cfg!(windows) {
        CacheOs::Windows
    } else if cfg!(any(target_os = "macos", target_os = "ios")) {
        CacheOs::MacOs
    } else {
        CacheOs::Unix
    };

    /// Go's `os.UserCacheDir` (go/src/os/file.go) for this system, with variables looked
    /// up by `lookup`; empty values count as unset, and a relative `$XDG_CACHE_HOME` is
    /// refused as Go refuses it.
    fn user_cache_dir(self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let env = |var: &str| lookup(var).filter(|value| !value.is_empty());
        match self {
            CacheOs::Windows => env("LocalAppData").map(PathBuf::from),
            CacheOs::MacOs => env("HOME").map(|home| Path::new(&home).join("Library/Caches")),
            CacheOs::Unix => match env("XDG_CACHE_HOME") {
                Some(dir) if dir.starts_with('/') => Some(PathBuf::from(dir)),
                Some(_) => None,
                None => env("HOME").map(|home| Path::new(&home).join(".cache")),
            },
        }
    }

    /// The folder name chainctl gives an audience: `/` as `-`, and on Windows `:` as `-`.
    fn audience_folder(self, audience: &str) -> String {
        let folder = audience.replace('/', "-");
        match self {
            CacheOs::Windows => folder.replace(':', "-"),
            CacheOs::Unix | CacheOs::MacOs => folder,
        }
    }
}

impl ChainctlCache {
    /// The cache under `dir` (the `chainguard` folder).
    ///
    /// ```
    /// let cache = chainguard_client::auth::ChainctlCache::new("/home/me/.cache/chainguard");
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> ChainctlCache {
        ChainctlCache {
            dir: dir.into(),
            os: CacheOs::HOST,
        }
    }

    /// chainctl's default location, `<user cache dir>/chainguard`, from the process
    /// environment. The user cache dir is Go's `os.UserCacheDir`: on Linux and other Unix
    /// systems `$XDG_CACHE_HOME` (when absolute), else `$HOME/.cache`; on macOS
    /// `$HOME/Library/Caches`; on Windows `%LocalAppData%`.
    ///
    /// ```
    /// let cache = chainguard_client::auth::ChainctlCache::default_location();
    /// ```
    pub fn default_location() -> Option<ChainctlCache> {
        ChainctlCache::default_location_with(|var| {
            std::env::var_os(var).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// [`default_location`](Self::default_location) with `XDG_CACHE_HOME`, `HOME` and
    /// `LocalAppData` looked up by `lookup` instead of in the process environment (empty
    /// values count as unset).
    ///
    /// ```
    /// use chainguard_client::auth::ChainctlCache;
    /// let cache = ChainctlCache::default_location_with(|var| {
    ///     matches!(var, "HOME" | "LocalAppData").then(|| "/home/me".to_owned())
    /// })
    /// .unwrap();
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(cache.token_path("apk.cgr.dev"),
    ///     std::path::Path::new("/home/me/.cache/chainguard/apk.cgr.dev/oidc-token"));
    /// assert!(ChainctlCache::default_location_with(|_| None).is_none());
    /// ```
    pub fn default_location_with(lookup: impl Fn(&str) -> Option<String>) -> Option<ChainctlCache> {
        ChainctlCache::default_location_for(CacheOs::HOST, &lookup)
    }

    fn default_location_for(
        os: CacheOs,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ChainctlCache> {
        let base = os.user_cache_dir(lookup)?;
        Some(ChainctlCache {
            dir: base.join("chainguard"),
            os,
        })
    }

    /// Where the token for `audience` is kept.
    ///
    /// ```
    /// let cache = chainguard_client::auth::ChainctlCache::new("/c");
    /// assert_eq!(cache.token_path("apk.cgr.dev"), std::path::Path::new("/c/apk.cgr.dev/oidc-token"));
    /// ```
    pub fn token_path(&self, audience: &str) -> PathBuf {
        self.dir
            .join(self.os.audience_folder(audience))
            .join("oidc-token")
    }
}

#[cfg(test)]
mod jwt_claims {
    use super::*;

    fn token(claims: &str) -> String {
        format!("e30.{}.sig", BASE64_URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn an_expiry_past_the_clock_is_no_expiry() {
        // Found by the property tests: {"exp":9223372036854775808} (2^63 seconds) panicked
        // with "overflow when adding duration to instant".
        for exp in ["9223372036854775808", "18446744073709551615"] {
            assert_eq!(
                jwt_expiry(&token(&format!(r#"{{"exp":{exp}}}"#))),
                None,
                "{exp}"
            );
        }
        let expiry = jwt_expiry(&token(r#"{"exp":2000000000}"#)).unwrap();
        assert_eq!(
            expiry,
            SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000)
        );
    }
}

#[cfg(test)]
mod chainctl_cache_location {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            vars.iter()
                .find(|(name, _)| *name == var)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn token_path(os: CacheOs, vars: &'static [(&'static str, &'static str)]) -> Option<PathBuf> {
        ChainctlCache::default_location_for(os, &lookup(vars))
            .map(|cache| cache.token_path("https://console-api.enforce.dev"))
    }

    #[test]
    fn linux_uses_xdg_cache_home_else_home_dot_cache() {
        let vars = &[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/me")];
        assert_eq!(
            token_path(CacheOs::Unix, vars).unwrap(),
            Path::new("/xdg/chainguard/https:--console-api.enforce.dev/oidc-token")
        );
        let vars = &[("XDG_CACHE_HOME", ""), ("HOME", "/home/me")];
        assert_eq!(
            token_path(CacheOs::Unix, vars).unwrap(),
            Path::new("/home/me/.cache/chainguard/https:--console-api.enforce.dev/oidc-token")
        );
        // Go refuses a relative $XDG_CACHE_HOME rather than falling back.
        assert!(token_path(CacheOs::Unix, &[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")]).is_none());
        assert!(token_path(CacheOs::Unix, &[]).is_none());
        // LocalAppData means nothing here.
        assert!(token_path(CacheOs::Unix, &[("LocalAppData", "/l")]).is_none());
    }

    #[test]
    fn macos_uses_library_caches_and_ignores_xdg() {
        let vars = &[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/Users/me")];
        assert_eq!(
            token_path(CacheOs::MacOs, vars).unwrap(),
            Path::new(
                "/Users/me/Library/Caches/chainguard/https:--console-api.enforce.dev/oidc-token"
            )
        );
        assert!(token_path(CacheOs::MacOs, &[("XDG_CACHE_HOME", "/xdg")]).is_none());
    }

    #[test]
    fn windows_uses_local_app_data_and_writes_colons_as_dashes() {
        let vars = &[
            ("LocalAppData", r"C:\Users\me\AppData\Local"),
            ("HOME", "/home/me"),
            ("XDG_CACHE_HOME", "/xdg"),
        ];
        let expected = PathBuf::from(r"C:\Users\me\AppData\Local")
            .join("chainguard")
            .join("https---console-api.enforce.dev")
            .join("oidc-token");
        assert_eq!(token_path(CacheOs::Windows, vars).unwrap(), expected);
        assert!(token_path(CacheOs::Windows, &[("HOME", "/home/me")]).is_none());
        let cache = ChainctlCache::default_location_for(CacheOs::Windows, &lookup(vars)).unwrap();
        assert!(
            cache
                .token_path("apk.cgr.dev")
                .ends_with("apk.cgr.dev/oidc-token")
        );
    }
}

#[async_trait]
impl TokenSource for ChainctlCache {
    async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        let path = self.token_path(audience);
        let text = tokio::fs::read_to_string(&path).await.map_err(|err| {
            missing(format!(
                "no chainctl token for {audience} at {} ({err}); run `chainctl auth login` \
                 (with --audience {audience} for an audience other than the console API)",
                path.display()
            ))
        })?;
        let token = text.trim().to_owned();
        if jwt_expiry(&token).is_some_and(|expiry| expiry <= SystemTime::now()) {
            return Err(missing(format!(
                "the chainctl token for {audience} has expired; run `chainctl auth login` again"
            )));
        }
        Ok(SecretString::from(token))
    }
}

/// Where an assumed identity's upstream OIDC token comes from.
///
/// `Debug` shows no token, and no query of a request URL.
///
/// ```
/// use chainguard_client::auth::UpstreamToken;
/// let in_kubernetes = UpstreamToken::File("/var/run/secrets/tokens/chainguard".into());
/// let in_github = UpstreamToken::GitHubActions { audience: "issuer.enforce.dev".into() };
/// let given = UpstreamToken::Value("eyJ...".into());
/// assert_eq!(format!("{given:?}"), "Value([REDACTED])");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum UpstreamToken {
    /// A file (a Kubernetes projected service-account token), read each time.
    File(PathBuf),
    /// A variable of the process environment, read each time.
    Env(String),
    /// The token itself, as [`crate::ChainguardBuilder::from_env_with`] reads
    /// `CHAINGUARD_OIDC_TOKEN` from the environment it is given.
    ///
    /// ```
    /// let given = chainguard_client::auth::UpstreamToken::Value("eyJ...".into());
    /// ```
    Value(SecretString),
    /// GitHub Actions: `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=<audience>` with
    /// `$ACTIONS_ID_TOKEN_REQUEST_TOKEN` from the process environment; needs
    /// `permissions: id-token: write`.
    GitHubActions {
        /// The audience to request (the identity's; `issuer.enforce.dev` by default).
        audience: String,
    },
    /// GitHub Actions with the request's URL and token given rather than read from the
    /// process environment, as [`crate::ChainguardBuilder::from_env_with`] reads them from
    /// the environment it is given.
    ///
    /// ```
    /// use chainguard_client::auth::UpstreamToken;
    /// let in_github = UpstreamToken::GitHubActionsWith {
    ///     audience: "issuer.enforce.dev".into(),
    ///     request_url: "https://pipelines.actions.example/idtoken?api-version=2.0".into(),
    ///     request_token: "request-token".into(),
    /// };
    /// assert!(!format!("{in_github:?}").contains("request-token"));
    /// ```
    GitHubActionsWith {
        /// The audience to request (the identity's; `issuer.enforce.dev` by default).
        audience: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: SecretString,
    },
}

impl fmt::Debug for UpstreamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamToken::File(path) => f.debug_tuple("File").field(path).finish(),
            UpstreamToken::Env(var) => f.debug_tuple("Env").field(var).finish(),
            UpstreamToken::Value(_) => f.write_str("Value([REDACTED])"),
            UpstreamToken::GitHubActions { audience } => f
                .debug_struct("GitHubActions")
                .field("audience", audience)
                .finish(),
            UpstreamToken::GitHubActionsWith {
                audience,
                request_url,
                ..
            } => f
                .debug_struct("GitHubActionsWith")
                .field("audience", audience)
                .field(
                    "request_url",
                    &url::Url::parse(request_url)
                        .map(|url| redact_url(&url))
                        .unwrap_or_else(|_| "[not a URL]".to_owned()),
                )
                .field("request_token", &REDACTED)
                .finish(),
        }
    }
}

/// Sends a request to the STS (or GitHub's token service) and decodes its answer. Every
/// answer of these services may hold a token, so one that does not fit is described, never
/// quoted: a decode error says only which field failed, and an error answer that is a bare
/// string (not a `google.rpc.Status`) is not shown at all.
async fn token_answer<T: serde::de::DeserializeOwned>(
    request: RequestBuilder<'_>,
    what: &str,
) -> Result<T, Error> {
    let answer = match request.send().await {
        Ok(response) => response.json(what).await,
        Err(err) => Err(err),
    };
    answer.map_err(hide_token_answer)
}

fn hide_token_answer(mut err: Error) -> Error {
    match &mut err {
        Error::Decode(decode) => {
            decode.message = "the answer does not have the expected shape (not shown: it may \
                              hold a token)"
                .to_owned();
        }
        Error::NotFound(api)
        | Error::AlreadyExists(api)
        | Error::Unauthenticated(api)
        | Error::PermissionDenied(api)
        | Error::Api(api)
        | Error::RateLimited { error: api, .. } => {
            let bare = match serde_json::from_str::<serde_json::Value>(&api.body) {
                Ok(value) => value.is_string(),
                // Raw text of one word: a token as likely as anything.
                Err(_) => {
                    let body = api.body.trim();
                    !body.is_empty() && !body.contains(char::is_whitespace)
                }
            };
            if bare {
                api.message = format!(
                    "the answer is a bare string of {} bytes, not an error status (not shown: \
                     it may be a token)",
                    api.body.len()
                );
                api.body = REDACTED.to_owned();
            }
        }
        _ => {}
    }
    err
}

/// The STS at `issuer.enforce.dev`: exchanges and refreshes. Never follows redirects,
/// which would carry the bearer token elsewhere.
///
/// ```
/// # async fn example(upstream: secrecy::SecretString) -> Result<(), pull_through_core::Error> {
/// let sts = chainguard_client::auth::Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
/// let apk_token = sts.exchange(&upstream, "apk.cgr.dev", None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sts {
    http: HttpClient,
}

impl Sts {
    /// The STS at `issuer_url` (`https://issuer.enforce.dev`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad URL.
    ///
    /// ```
    /// let sts = chainguard_client::auth::Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn new(issuer_url: url::Url) -> Result<Sts, Error> {
        Sts::observed(issuer_url, None)
    }

    /// [`Sts::new`] with `observer` seeing every exchange (a program's `--journal`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad URL.
    ///
    /// ```
    /// use pull_through_core::http::RecordingObserver;
    /// let recorder = std::sync::Arc::new(RecordingObserver::new());
    /// let sts = chainguard_client::auth::Sts::observed(
    ///     "https://issuer.enforce.dev".parse().unwrap(),
    ///     Some(recorder),
    /// )?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn observed(
        issuer_url: url::Url,
        observer: Option<Arc<dyn pull_through_core::http::HttpObserver>>,
    ) -> Result<Sts, Error> {
        let mut http = HttpClient::builder("chainguard", issuer_url)
            .user_agent(concat!("chainguard-client/", env!("CARGO_PKG_VERSION")))
            .error_envelope(Arc::new(crate::RpcStatus))
            .follow_redirects(false);
        if let Some(observer) = observer {
            http = http.observer(observer);
        }
        Ok(Sts {
            http: http.build()?,
        })
    }

    /// Exchanges `token` for one for `audience`, assuming `identity` when given.
    ///
    /// # Errors
    ///
    /// The core's [`Error`]; an expired upstream token is `PermissionDenied`.
    ///
    /// ```no_run
    /// # async fn example(sts: &chainguard_client::auth::Sts, upstream: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// let token = sts.exchange(upstream, "apk.cgr.dev", Some("0123456789abcdef0123456789abcdef01234567/0123456789abcdef")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn exchange(
        &self,
        token: &SecretString,
        audience: &str,
        identity: Option<&str>,
    ) -> Result<SecretString, Error> {
        let mut query = vec![("aud", audience)];
        if let Some(identity) = identity {
            query.push(("identity", identity));
        }
        let answer: RawToken = token_answer(
            self.http
                .get("sts/exchange")
                .query(&query)
                .bearer_auth(token),
            "STS exchange",
        )
        .await?;
        Ok(answer.token)
    }

    /// Exchanges a refresh token for a token for `audience`; returns the token and the
    /// rotated refresh token, which replaces the old one.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(sts: &chainguard_client::auth::Sts, refresh: &secrecy::SecretString) -> Result<(), pull_through_core::Error> {
    /// let (token, rotated) = sts.refresh(refresh, "https://console-api.enforce.dev").await?;
    /// # Ok(()) }
    /// ```
    pub async fn refresh(
        &self,
        refresh_token: &SecretString,
        audience: &str,
    ) -> Result<(SecretString, SecretString), Error> {
        let answer: TokenPair = token_answer(
            self.http
                .post("sts/exchange_refresh_token")
                .form(&[("aud", audience)])
                .bearer_auth(refresh_token),
            "STS refresh",
        )
        .await?;
        Ok((answer.token.token, answer.refresh_token.token))
    }

    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }
}

/// An assumed identity: an upstream OIDC token exchanged at the STS for each audience.
///
/// ```
/// use chainguard_client::auth::{OidcExchange, Sts, TokenSource, UpstreamToken};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let sts = Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
/// let source = OidcExchange::new(sts, "ORG/identity", UpstreamToken::Env("OIDC_TOKEN".into()));
/// let token = source.token("cgr.dev").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OidcExchange {
    sts: Sts,
    identity: String,
    upstream: UpstreamToken,
}

impl OidcExchange {
    /// Assumes `identity` (its UIDP) with tokens from `upstream`.
    ///
    /// ```
    /// use chainguard_client::auth::{OidcExchange, Sts, UpstreamToken};
    /// let sts = Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
    /// let source = OidcExchange::new(sts, "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
    ///     UpstreamToken::File("/var/run/secrets/tokens/oidc-token".into()));
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn new(sts: Sts, identity: impl Into<String>, upstream: UpstreamToken) -> OidcExchange {
        OidcExchange {
            sts,
            identity: identity.into(),
            upstream,
        }
    }

    async fn upstream_token(&self) -> Result<SecretString, Error> {
        match &self.upstream {
            UpstreamToken::File(path) => tokio::fs::read_to_string(path)
                .await
                .map(|text| SecretString::from(text.trim().to_owned()))
                .map_err(|err| {
                    missing(format!(
                        "cannot read the OIDC token file {}: {err}",
                        path.display()
                    ))
                }),
            UpstreamToken::Env(var) => std::env::var(var)
                .ok()
                .filter(|value| !value.is_empty())
                .map(SecretString::from)
                .ok_or_else(|| missing(format!("the OIDC token variable {var} is unset or empty"))),
            UpstreamToken::Value(token) => Ok(token.clone()),
            UpstreamToken::GitHubActions { audience } => {
                let (Ok(url), Ok(bearer)) = (
                    std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL"),
                    std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
                ) else {
                    return Err(missing(
                        "ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN are unset: give the job \
                         `permissions: id-token: write`"
                            .to_owned(),
                    ));
                };
                self.github_actions_token(&url, &SecretString::from(bearer), audience)
                    .await
            }
            UpstreamToken::GitHubActionsWith {
                audience,
                request_url,
                request_token,
            } => {
                self.github_actions_token(request_url, request_token, audience)
                    .await
            }
        }
    }

    /// An ID token from GitHub Actions' token service.
    async fn github_actions_token(
        &self,
        request_url: &str,
        request_token: &SecretString,
        audience: &str,
    ) -> Result<SecretString, Error> {
        // The URL is not echoed: its query is the service's business.
        let mut url = url::Url::parse(request_url)
            .map_err(|err| missing(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {err}")))?;
        url.query_pairs_mut().append_pair("audience", audience);
        #[derive(serde::Deserialize)]
        struct Value {
            value: SecretString,
        }
        let answer: Value = token_answer(
            self.sts
                .http()
                .request_url(http::Method::GET, url)
                .bearer_auth(request_token),
            "GitHub Actions ID token",
        )
        .await?;
        Ok(answer.value)
    }
}

#[async_trait]
impl TokenSource for OidcExchange {
    async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        let upstream = self.upstream_token().await?;
        self.sts
            .exchange(&upstream, audience, Some(&self.identity))
            .await
    }
}

/// A human login's refresh token, exchanged for each audience; the STS rotates it on
/// every use and the new one is kept.
///
/// ```
/// use chainguard_client::auth::{RefreshExchange, Sts, TokenSource};
/// # async fn example(refresh: &str) -> Result<(), pull_through_core::Error> {
/// let source = RefreshExchange::new(Sts::new("https://issuer.enforce.dev".parse().unwrap())?, refresh);
/// let token = source.token("https://console-api.enforce.dev").await?;
/// let keep_this = source.current_refresh_token().await;
/// # Ok(()) }
/// ```
pub struct RefreshExchange {
    sts: Sts,
    refresh_token: Mutex<SecretString>,
}

impl fmt::Debug for RefreshExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshExchange").finish_non_exhaustive()
    }
}

impl RefreshExchange {
    /// Starts from `refresh_token`.
    ///
    /// ```
    /// use chainguard_client::auth::{RefreshExchange, Sts};
    /// let sts = Sts::new("https://issuer.enforce.dev".parse().unwrap())?;
    /// let source = RefreshExchange::new(sts, "refresh-token");
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn new(sts: Sts, refresh_token: impl Into<SecretString>) -> RefreshExchange {
        RefreshExchange {
            sts,
            refresh_token: Mutex::new(refresh_token.into()),
        }
    }

    /// The current refresh token (it changes after every exchange), to persist.
    ///
    /// ```
    /// # use chainguard_client::auth::{RefreshExchange, Sts};
    /// # async fn example(source: &RefreshExchange) {
    /// let latest = source.current_refresh_token().await;
    /// # }
    /// ```
    pub async fn current_refresh_token(&self) -> SecretString {
        self.refresh_token.lock().await.clone()
    }
}

#[async_trait]
impl TokenSource for RefreshExchange {
    async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        // Held across the exchange: two concurrent refreshes with one token would make
        // the second fail once the first has rotated it.
        let mut refresh = self.refresh_token.lock().await;
        let (token, rotated) = self.sts.refresh(&refresh, audience).await?;
        *refresh = rotated;
        Ok(token)
    }
}

/// Caches another source's tokens per audience until `margin` before they expire (by
/// their `exp` claim; tokens without one are kept five minutes).
///
/// ```
/// use chainguard_client::auth::{CachedTokens, StaticToken, TokenSource};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let cached = CachedTokens::new(std::sync::Arc::new(StaticToken::new("t")));
/// let first = cached.token("cgr.dev").await?;
/// let again = cached.token("cgr.dev").await?; // from the cache
/// # Ok(()) }
/// ```
pub struct CachedTokens {
    inner: Arc<dyn TokenSource>,
    margin: Duration,
    cache: Mutex<HashMap<String, (SecretString, SystemTime)>>,
}

impl fmt::Debug for CachedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokens")
            .field("inner", &self.inner)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl CachedTokens {
    /// Caches `inner`'s tokens, refreshing one minute before expiry.
    ///
    /// ```
    /// use chainguard_client::auth::{CachedTokens, StaticToken};
    /// let cached = CachedTokens::new(std::sync::Arc::new(StaticToken::new("t")));
    /// ```
    pub fn new(inner: Arc<dyn TokenSource>) -> CachedTokens {
        CachedTokens {
            inner,
            margin: Duration::from_secs(60),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl TokenSource for CachedTokens {
    async fn token(&self, audience: &str) -> Result<SecretString, Error> {
        let now = SystemTime::now();
        let mut cache = self.cache.lock().await;
        if let Some((token, expiry)) = cache.get(audience) {
            if *expiry > now + self.margin {
                return Ok(token.clone());
            }
        }
        let token = self.inner.token(audience).await?;
        let expiry = jwt_expiry(token.expose_secret()).unwrap_or(now + Duration::from_secs(300));
        cache.insert(audience.to_owned(), (token.clone(), expiry));
        Ok(token)
    }
}
