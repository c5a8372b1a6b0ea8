//! [`CloudsmithClient`]: authentication, pagination and the calls the other modules share.
//! The HTTP policy (retries, the at-most-once rule of creates, pacing by the
//! `X-RateLimit-*` headers) is the core's. The resource calls are in `repositories.rs`, `upstreams.rs` and
//! `packages.rs`.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, Method, StatusCode};
use pull_through_core::error::ApiError;
use pull_through_core::http::{
    HttpClient, HttpObserver, RequestBuilder, Response, RetryConfig, RetrySchedule,
};
use pull_through_core::{Error, SecretString, ValidationError};
use serde::de::DeserializeOwned;
use url::Url;

use crate::builder::{API_KEY_VAR, CloudsmithBuilder};
use crate::error::CloudsmithErrors;
use crate::model::UserBrief;

/// The page size lists ask for: the documented maximum (the CLI asks for 1000, which the
/// server presumably clamps; 500 is what the docs promise).
pub(crate) const PAGE_SIZE: &str = "500";
/// No list this crate reads has anywhere near this many pages; the bound only stops a
/// server whose headers always promise another page.
const MAX_PAGES: u32 = 10_000;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// What the builder hands over.
pub(crate) struct Settings {
    pub(crate) owner: String,
    pub(crate) api_key: SecretString,
    pub(crate) key_var: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) api_url: Url,
    pub(crate) docker_url: Url,
    pub(crate) retry: RetryConfig,
    pub(crate) replication_wait: Duration,
    pub(crate) observer: Option<Arc<dyn HttpObserver>>,
}

/// A Cloudsmith workspace's repositories, Docker upstreams and packages, through the API
/// with an API key (`X-Api-Key`). `Debug` never shows the key.
///
/// Every call goes through the core's HTTP policy (timeouts, retries with `Retry-After`,
/// redaction, and a wait before the next request when an answer's
/// `X-RateLimit-Remaining` is 0); the client reads every page of a list, and never repeats
/// a create blindly (the core's at-most-once requests, read back after a 5xx or a lost
/// answer).
///
/// ```no_run
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let client = cloudsmith_client::CloudsmithClient::builder().from_env().build()?;
/// for repository in client.list_repositories().await? {
///     println!("{}", repository.slug);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CloudsmithClient {
    http: HttpClient,
    docker: HttpClient,
    owner: String,
    api_key: SecretString,
    key_var: Option<String>,
    user: Option<String>,
    retry: RetryConfig,
    replication_wait: Duration,
    observer: Option<Arc<dyn HttpObserver>>,
}

impl std::fmt::Debug for CloudsmithClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudsmithClient")
            .field("api_url", &self.http.base_url().as_str())
            .field("docker_url", &self.docker.base_url().as_str())
            .field("owner", &self.owner)
            .field("api_key", &"[REDACTED]")
            .field("key_var", &self.key_var)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl CloudsmithClient {
    /// A builder with nothing set.
    ///
    /// ```
    /// let builder = cloudsmith_client::CloudsmithClient::builder();
    /// ```
    pub fn builder() -> CloudsmithBuilder {
        CloudsmithBuilder::new()
    }

    pub(crate) fn new(settings: Settings) -> Result<CloudsmithClient, Error> {
        let user_agent = concat!("cloudsmith-client/", env!("CARGO_PKG_VERSION"));
        // Every answer carries X-RateLimit-*: the core paces the next request by them.
        let mut api = HttpClient::builder("cloudsmith", settings.api_url.clone())
            .user_agent(user_agent)
            .error_envelope(Arc::new(CloudsmithErrors))
            .retry(settings.retry.clone())
            .pace_rate_limits(true);
        if let Some(observer) = &settings.observer {
            api = api.observer(observer.clone());
        }
        let mut docker = HttpClient::builder("cloudsmith-docker", settings.docker_url.clone())
            .user_agent(user_agent)
            .retry(settings.retry.clone());
        if let Some(observer) = &settings.observer {
            docker = docker.observer(observer.clone());
        }
        Ok(CloudsmithClient {
            http: api.build()?,
            docker: docker.build()?,
            owner: settings.owner,
            api_key: settings.api_key,
            key_var: settings.key_var,
            user: settings.user,
            retry: settings.retry,
            replication_wait: settings.replication_wait,
            observer: settings.observer,
        })
    }

    /// The workspace (owner) slug.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// assert_eq!(client.owner(), "acme");
    /// ```
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The user slug people `docker login` with, when one was given.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").with_user("linky").build().unwrap();
    /// assert_eq!(client.user(), Some("linky"));
    /// ```
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The variable that holds the API key: the one it was read from, else
    /// `CLOUDSMITH_API_KEY` by convention. Client access and refusals name it.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key_from("CS_KEY", "k").build().unwrap();
    /// assert_eq!(client.api_key_var(), "CS_KEY");
    /// ```
    pub fn api_key_var(&self) -> &str {
        self.key_var.as_deref().unwrap_or(API_KEY_VAR)
    }

    /// The API root.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// assert_eq!(client.api_url().as_str(), "https://api.cloudsmith.io/");
    /// ```
    pub fn api_url(&self) -> &Url {
        self.http.base_url()
    }

    /// The Docker registry root.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// assert_eq!(client.docker_url().as_str(), "https://docker.cloudsmith.io/");
    /// ```
    pub fn docker_url(&self) -> &Url {
        self.docker.base_url()
    }

    /// The registry's host (and port), as `docker login` and pull references name it.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k")
    /// #     .with_docker_url("http://127.0.0.1:5000").build().unwrap();
    /// assert_eq!(client.docker_host(), "127.0.0.1:5000");
    /// ```
    pub fn docker_host(&self) -> String {
        let url = self.docker.base_url();
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    pub(crate) fn api_key(&self) -> &SecretString {
        &self.api_key
    }

    pub(crate) fn docker_http(&self) -> &HttpClient {
        &self.docker
    }

    pub(crate) fn observer(&self) -> Option<Arc<dyn HttpObserver>> {
        self.observer.clone()
    }

    /// An authenticated request to `path` (relative to the API root, trailing slash and
    /// all).
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        self.http
            .request(method, path)
            .secret_header(X_API_KEY, &self.api_key)
    }

    /// An authenticated create: at most once (the API has no idempotency key, and a
    /// duplicate can come back as a bare 500), so the HTTP layer sends it again only when
    /// it surely was not processed, and the caller reads back after anything else.
    pub(crate) fn create_request(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path).at_most_once()
    }

    /// Sends, and turns an error answer into the core's error.
    pub(crate) async fn send(&self, request: RequestBuilder<'_>) -> Result<Response, Error> {
        request.send().await
    }

    /// The waits between a create's attempts after it was read back and not found: the
    /// client's retry policy (attempts, jittered backoff, budget).
    pub(crate) fn schedule(&self) -> RetrySchedule {
        self.retry.schedule()
    }

    /// The waits while a repository just made is not found yet: as many tries as fit in
    /// the replication wait, half a second growing to 2 s between them (jittered).
    pub(crate) fn replication_schedule(&self) -> RetrySchedule {
        RetryConfig::default()
            .with_max_attempts(u32::MAX)
            .with_backoff(Duration::from_millis(500), Duration::from_secs(2))
            .with_budget(self.replication_wait)
            .schedule()
    }

    /// `GET` of `path`, `None` on 404.
    pub(crate) async fn get_opt<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Option<T>, Error> {
        match self.send(self.request(Method::GET, path)).await {
            Ok(answer) => answer.json(what).await.map(Some),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `DELETE` of `path`: any 2xx is removed (the spec says 200 for a repository, 204 is
    /// what upstreams answer), 404 already absent.
    pub(crate) async fn delete_path(
        &self,
        path: &str,
    ) -> Result<pull_through_core::Deleted, Error> {
        match self.send(self.request(Method::DELETE, path)).await {
            Ok(_) => Ok(pull_through_core::Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(pull_through_core::Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }

    /// Every item of a paginated list: bare JSON arrays, `page` from 1 and the largest
    /// `page_size`, the next page told by `Link` (rel `next`) or, without one, by
    /// `X-Pagination-PageTotal`. Without either header the list is one page (empty lists are
    /// never paginated).
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let page_text = page.to_string();
            let mut pairs = query.to_vec();
            pairs.push(("page", &page_text));
            pairs.push(("page_size", PAGE_SIZE));
            let answer = self
                .send(self.request(Method::GET, path).query(&pairs))
                .await?;
            let next = next_page(answer.headers(), page);
            let batch: Vec<T> = answer.json(what).await?;
            let empty = batch.is_empty();
            items.extend(batch);
            match next {
                Some(next) if !empty && next > page && page < MAX_PAGES => page = next,
                _ => return Ok(items),
            }
        }
    }

    /// `GET /user/self/`: whose key this is. The endpoint answers anonymous callers too
    /// (with `authenticated: false`); a wrong key gets 401.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// let me = client.user_self().await?;
    /// println!("docker login docker.cloudsmith.io -u {}", me.slug.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn user_self(&self) -> Result<UserBrief, Error> {
        self.send(self.request(Method::GET, "user/self/"))
            .await?
            .json("user")
            .await
    }

    /// Proves the key works: `GET /user/self/` must say `authenticated: true`. A refusal
    /// names the variable the key came from, never the key.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] (a 401, or a 200 with `authenticated: false`) or
    /// [`Error::PermissionDenied`] with a fix naming the variable; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// let me = client.check_key().await?;
    /// println!("authenticated as {:?}", me.slug);
    /// # Ok(()) }
    /// ```
    pub async fn check_key(&self) -> Result<UserBrief, Error> {
        let fix = format!(
            "the API key in {} was refused; set it to a valid Cloudsmith API key (user \
             settings > API Key, or a service account's key)",
            self.api_key_var()
        );
        match self.user_self().await {
            Ok(me) if me.authenticated => Ok(me),
            Ok(_) => {
                let mut api = ApiError::new(
                    "cloudsmith",
                    Method::GET,
                    self.url_of("user/self/"),
                    StatusCode::OK,
                    "GET /user/self/ answered authenticated: false",
                );
                api.fix = Some(fix);
                Err(Error::Unauthenticated(Box::new(api)))
            }
            Err(mut err) => {
                if let Error::Unauthenticated(api) | Error::PermissionDenied(api) = &mut err {
                    api.fix = Some(fix);
                }
                Err(err)
            }
        }
    }

    /// The absolute URL of an API path, for messages.
    pub(crate) fn url_of(&self, path: &str) -> String {
        let base = self.http.base_url().as_str().trim_end_matches('/');
        format!("{base}/{}", path.trim_start_matches('/'))
    }
}

/// The page after `page`, from the `Link` header's `rel="next"` (its `page` parameter, or
/// simply the next number) or else `X-Pagination-PageTotal`.
pub(crate) fn next_page(headers: &HeaderMap, page: u32) -> Option<u32> {
    if let Some(link) = headers
        .get(http::header::LINK)
        .and_then(|value| value.to_str().ok())
    {
        return link_next(link).map(|next| next.unwrap_or(page + 1));
    }
    let total: u32 = headers
        .get("x-pagination-pagetotal")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (page < total).then_some(page + 1)
}

/// The `rel="next"` target of a `Link` header: `Some(Some(page))` with its `page`
/// parameter, `Some(None)` when it has none, `None` without a next link.
fn link_next(link: &str) -> Option<Option<u32>> {
    let mut rest = link;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let params = &rest[end + 1..params_end];
        let is_next = params.split(';').any(|param| {
            let param = param.trim().trim_end_matches(',').trim();
            param.strip_prefix("rel=").is_some_and(|rel| {
                rel.trim_matches('"')
                    .split_whitespace()
                    .any(|r| r == "next")
            })
        });
        if is_next {
            let page = Url::parse(target).ok().and_then(|url| {
                url.query_pairs()
                    .find(|(name, _)| name == "page")
                    .and_then(|(_, value)| value.parse().ok())
            });
            return Some(page);
        }
        rest = &rest[params_end..];
    }
    None
}

/// Refuses an identifier the server gave before it goes into a path.
pub(crate) fn checked_identifier<'a>(what: &str, id: &'a str) -> Result<&'a str, Error> {
    crate::rules::IDENTIFIER_RULES.check(id).map_err(|_| {
        Error::InvalidInput(ValidationError::InvalidValue {
            field: what.to_owned(),
            problem: format!("{id:?} is not a Cloudsmith identifier (^[-a-zA-Z0-9_]+$)"),
        })
    })?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_next_page_comes_from_link_then_page_total() {
        let link = r#"<https://api.cloudsmith.io/repos/acme/?page=1&page_size=500>; rel="first", <https://api.cloudsmith.io/repos/acme/?page=3&page_size=500>; rel="next", <https://api.cloudsmith.io/repos/acme/?page=9&page_size=500>; rel="last""#;
        assert_eq!(next_page(&headers(&[("link", link)]), 2), Some(3));
        let last = r#"<https://h/repos/acme/?page=1>; rel="first", <https://h/repos/acme/?page=2>; rel="prev""#;
        assert_eq!(
            next_page(
                &headers(&[("link", last), ("x-pagination-pagetotal", "9")]),
                3
            ),
            None,
            "Link decides when present"
        );
        assert_eq!(
            next_page(&headers(&[("link", "</repos/acme/?x=1>; rel=next")]), 4),
            Some(5)
        );
        assert_eq!(
            next_page(&headers(&[("x-pagination-pagetotal", "3")]), 2),
            Some(3)
        );
        assert_eq!(
            next_page(&headers(&[("x-pagination-pagetotal", "3")]), 3),
            None
        );
        assert_eq!(next_page(&headers(&[]), 1), None);
    }
}
