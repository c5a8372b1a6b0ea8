//! Pulling from the Chainguard fakes the way a cache does, for the fakes of the caches
//! (Artifactory's today; Google Artifact Registry's and Cloudsmith's later), and the
//! sandbox's secret types.
//!
//! A cache fake stores an upstream URL (`https://cgr.dev/`, `https://apk.cgr.dev/<org>`)
//! and, for private content, [`Credentials`]. [`Upstream`] maps the real URL onto the fake
//! that stands for its host, sends the credentials the way the real cache would (Basic to
//! the APK repositories; Basic to the registry's token endpoint after its challenge, then
//! the token as Bearer), and hands back a [`Fetched`] answer the fake can keep and relay.
//! A wrong or revoked credential therefore fails the pull, as it does for real.
//!
//! ```
//! use pull_through_sandbox::upstream::Upstream;
//! use pull_through_sandbox::{Sandbox, chainguard::Chainguard};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder().chainguard(&Chainguard::new("example.com")).start().await?;
//! let upstream = Upstream::new(sandbox.context().clone());
//! let manifest = upstream.docker("https://cgr.dev/", "chainguard/nginx/manifests/latest").send().await?;
//! assert!(manifest.is_success() && manifest.digest.is_some());
//! let index = upstream.apk("https://apk.cgr.dev/chainguard", "x86_64/APKINDEX.tar.gz", None).await?;
//! assert!(index.is_success());
//! # Ok(()) }
//! ```

mod docker;
mod token;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::SandboxContext;

pub use docker::DockerPull;
pub(crate) use docker::{INDEX, accepts_index, platform_manifest, tags_page};
pub use token::{Credentials, SandboxToken};

/// Why an upstream gave no answer a fake could relay. An answer with an error status is
/// not an error here: it comes back as a [`Fetched`] to relay or to skip.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use pull_through_sandbox::{SandboxContext, upstream::{Upstream, UpstreamError}};
///
/// let upstream = Upstream::new(SandboxContext::default()); // no fake stands for cgr.dev
/// let err = upstream.docker("https://cgr.dev/", "chainguard/go/manifests/latest").send().await.unwrap_err();
/// assert!(matches!(err, UpstreamError::NoFake(_)));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The upstream URL does not parse, or no fake in this sandbox stands for its host.
    #[error("no fake stands for the upstream {0}")]
    NoFake(String),
    /// The request got no answer: refused, dropped by an injected fault, cut short.
    #[error("no answer from the upstream: {0}")]
    Unreachable(String),
    /// The registry's challenge, or its token endpoint's answer, could not be used.
    #[error("could not answer the registry's challenge: {0}")]
    Challenge(String),
}

impl From<reqwest::Error> for UpstreamError {
    fn from(error: reqwest::Error) -> UpstreamError {
        // Credentials travel in headers, never in the URL, so the message holds none.
        UpstreamError::Unreachable(error.to_string())
    }
}

/// What an upstream answered: the status, the headers a pull needs, and the body.
/// `Debug` shows the body's length only.
///
/// ```
/// # async fn example(upstream: &pull_through_sandbox::upstream::Upstream) -> Result<(), pull_through_sandbox::upstream::UpstreamError> {
/// let fetched = upstream.docker("https://cgr.dev/", "chainguard/go/manifests/latest").send().await?;
/// if fetched.is_success() {
///     println!("{:?} {} bytes", fetched.digest, fetched.body.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Fetched {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Docker-Content-Digest` header.
    pub digest: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("digest", &self.digest)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Fetched {
    async fn read(answer: reqwest::Response) -> Result<Fetched, UpstreamError> {
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let digest = header("docker-content-digest");
        let status = answer.status();
        Ok(Fetched {
            status,
            content_type,
            digest,
            body: answer.bytes().await?,
        })
    }

    /// Whether the status is 2xx: content a cache keeps and serves.
    ///
    /// ```
    /// # fn example(fetched: pull_through_sandbox::upstream::Fetched) {
    /// let keep = fetched.is_success().then_some(fetched);
    /// # }
    /// ```
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The answer to give a client: the status, `Content-Type`, `Docker-Content-Digest`,
    /// `Content-Length` and, unless `method` is HEAD, the body.
    ///
    /// ```
    /// # fn example(fetched: &pull_through_sandbox::upstream::Fetched) {
    /// use pull_through_sandbox::axum::http::Method;
    /// let answer = fetched.relay(&Method::HEAD);
    /// assert_eq!(answer.status(), fetched.status);
    /// # }
    /// ```
    pub fn relay(&self, method: &Method) -> Response {
        // A HEAD answer still says how long the body is, as registries do.
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            self.body.clone()
        };
        let mut answer = (self.status, body).into_response();
        let headers = answer.headers_mut();
        if let Some(value) = self
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            headers.insert("content-type", value);
        }
        if let Some(value) = self
            .digest
            .as_deref()
            .and_then(|d| HeaderValue::from_str(d).ok())
        {
            headers.insert("docker-content-digest", value);
        }
        headers.insert("content-length", HeaderValue::from(self.body.len()));
        answer
    }
}

/// The header every request a fake makes through [`Upstream`] carries: the sandbox's
/// random faults and its rate limit spare such requests (a cache pulling from `cgr.dev`,
/// Artifact Registry checking an upstream), which stand for traffic between two vendors
/// that the client under test never sees; a [`FaultRule`](crate::FaultRule) still
/// matches them.
///
/// ```
/// assert_eq!(pull_through_sandbox::upstream::FROM_FAKE_HEADER, "x-pull-through-sandbox-hop");
/// ```
pub const FROM_FAKE_HEADER: &str = "x-pull-through-sandbox-hop";

/// Pulls from the fakes standing for `cgr.dev`, `apk.cgr.dev` and `virtualapk.cgr.dev`
/// (or any other host a fake of the sandbox stands for). Cheap to clone.
///
/// A cache fake builds one from the [`SandboxContext`] its
/// [`FakeService::router`](crate::FakeService::router) receives.
///
/// ```
/// use pull_through_sandbox::axum::extract::{Path, State};
/// use pull_through_sandbox::axum::http::{Method, StatusCode};
/// use pull_through_sandbox::axum::{Router, response::IntoResponse, routing::get};
/// use pull_through_sandbox::{FakeService, SandboxContext, upstream::Upstream};
///
/// /// A registry that relays every pull to cgr.dev, anonymously.
/// struct Relay;
/// impl FakeService for Relay {
///     fn name(&self) -> &str { "relay" }
///     fn router(&self, context: SandboxContext) -> Router {
///         let pull = |State(upstream): State<Upstream>, Path(path): Path<String>| async move {
///             match upstream.docker("https://cgr.dev/", &path).send().await {
///                 Ok(fetched) => fetched.relay(&Method::GET),
///                 Err(_) => StatusCode::BAD_GATEWAY.into_response(),
///             }
///         };
///         Router::new().route("/v2/{*path}", get(pull)).with_state(Upstream::new(context))
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Upstream {
    context: SandboxContext,
    http: reqwest::Client,
}

impl Upstream {
    /// An upstream client resolving hosts through `context`.
    ///
    /// ```
    /// let upstream = pull_through_sandbox::upstream::Upstream::new(Default::default());
    /// ```
    pub fn new(context: SandboxContext) -> Upstream {
        // Caches do not follow redirects from the upstream, and neither do these.
        // Every fake is on loopback: a proxy from the environment would see the
        // credentials caches store.
        let mut marked = reqwest::header::HeaderMap::new();
        marked.insert(
            FROM_FAKE_HEADER,
            reqwest::header::HeaderValue::from_static("1"),
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .default_headers(marked)
            .build()
            .unwrap_or_default();
        Upstream { context, http }
    }

    /// A pull of `path` (what follows `/v2/`: `<repository>/manifests/<reference>` or
    /// `<repository>/blobs/<digest>`) from the registry at `registry` (the real URL the
    /// cache stores, `https://cgr.dev/`), answering its token challenge. Add credentials
    /// and options on the [`DockerPull`], then [`send`](DockerPull::send) it.
    ///
    /// ```
    /// # async fn example(upstream: &pull_through_sandbox::upstream::Upstream, stored: Option<&pull_through_sandbox::upstream::Credentials>) {
    /// let answer = upstream
    ///     .docker("https://cgr.dev/", "example.com/chainguard-base/manifests/latest")
    ///     .credentials(stored)
    ///     .send()
    ///     .await;
    /// # }
    /// ```
    pub fn docker<'a>(&'a self, registry: &'a str, path: &'a str) -> DockerPull<'a> {
        DockerPull::new(self, registry, path)
    }

    /// Fetches `path` (`x86_64/APKINDEX.tar.gz`, `x86_64/bash-5.2.37-r31.apk`) from the APK
    /// repository at `base` (the real URL the cache stores, `https://apk.cgr.dev/<org>` or
    /// `https://virtualapk.cgr.dev/<org id>/chainguard`), with `credentials` as Basic
    /// authentication when given. `path` goes out as given: a cache that rewrites it
    /// (Artifactory's URL normalization) does so before the call.
    ///
    /// # Errors
    ///
    /// [`UpstreamError::NoFake`] when no fake stands for the host;
    /// [`UpstreamError::Unreachable`] when the request got no answer.
    ///
    /// ```
    /// # async fn example(upstream: &pull_through_sandbox::upstream::Upstream, stored: Option<&pull_through_sandbox::upstream::Credentials>) {
    /// let index = upstream.apk("https://apk.cgr.dev/example.com", "x86_64/APKINDEX.tar.gz", stored).await;
    /// # }
    /// ```
    pub async fn apk(
        &self,
        base: &str,
        path: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Fetched, UpstreamError> {
        let real = format!("{}/{path}", base.trim_end_matches('/'));
        let target = Url::parse(&real)
            .ok()
            .and_then(|real| self.context.to_fake(&real))
            .ok_or(UpstreamError::NoFake(real))?;
        let mut request = self.http.get(target);
        if let Some(credentials) = credentials {
            request = credentials.apply(request);
        }
        Fetched::read(request.send().await?).await
    }
}
