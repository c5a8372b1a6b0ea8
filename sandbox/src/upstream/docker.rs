//! A registry pull with the token dance: ask anonymously; on a 401, read the challenge's
//! realm, service and scope, get a token there with the stored Basic credentials, and ask
//! again with it as Bearer.

use axum::http::{HeaderValue, StatusCode};
use url::Url;

use super::{Credentials, Fetched, Upstream, UpstreamError};

/// One registry pull, built by [`Upstream::docker`]; [`send`](DockerPull::send) runs it.
///
/// ```
/// # async fn example(upstream: &pull_through_sandbox::upstream::Upstream, stored: &pull_through_sandbox::upstream::Credentials) {
/// use pull_through_sandbox::axum::http::HeaderValue;
/// let accept = HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json");
/// let manifest = upstream
///     .docker("https://cgr.dev/", "example.com/chainguard-base/manifests/latest")
///     .credentials(Some(stored))
///     .accept(Some(&accept))
///     .send()
///     .await;
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a pull does nothing until send() is awaited"]
pub struct DockerPull<'a> {
    upstream: &'a Upstream,
    registry: &'a str,
    path: &'a str,
    credentials: Option<&'a Credentials>,
    accept: Option<HeaderValue>,
    token_auth: bool,
}

impl<'a> DockerPull<'a> {
    pub(super) fn new(upstream: &'a Upstream, registry: &'a str, path: &'a str) -> Self {
        DockerPull {
            upstream,
            registry,
            path,
            credentials: None,
            accept: None,
            token_auth: true,
        }
    }

    /// The Basic credentials to get the token with; anonymous when `None` (public images).
    ///
    /// ```
    /// # fn example(upstream: &pull_through_sandbox::upstream::Upstream) {
    /// use pull_through_sandbox::upstream::Credentials;
    /// let stored = Credentials::new("identity-id", "pull-token");
    /// let pull = upstream.docker("https://cgr.dev/", "example.com/chainguard-base/manifests/latest").credentials(Some(&stored));
    /// # }
    /// ```
    pub fn credentials(mut self, credentials: Option<&'a Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The `Accept` header to pass on (the client's, so the registry picks the same
    /// manifest type it would give the client).
    ///
    /// ```
    /// # fn example(upstream: &pull_through_sandbox::upstream::Upstream, headers: &pull_through_sandbox::axum::http::HeaderMap) {
    /// let pull = upstream.docker("https://cgr.dev/", "chainguard/go/manifests/latest").accept(headers.get("accept"));
    /// # }
    /// ```
    pub fn accept(mut self, accept: Option<&HeaderValue>) -> Self {
        self.accept = accept.cloned();
        self
    }

    /// Whether to answer the registry's token challenge (the default). Without it the
    /// challenge's 401 comes back as the answer, as it does from an Artifactory remote
    /// whose `enableTokenAuthentication` is off.
    ///
    /// ```
    /// # fn example(upstream: &pull_through_sandbox::upstream::Upstream) {
    /// let pull = upstream.docker("https://cgr.dev/", "chainguard/go/manifests/latest").token_auth(false);
    /// # }
    /// ```
    pub fn token_auth(mut self, enabled: bool) -> Self {
        self.token_auth = enabled;
        self
    }

    /// Runs the pull. The registry's answer comes back whatever its status; so does the
    /// token endpoint's when it refuses the credentials (401, or 403 without
    /// `registry.pull`), so a fake can relay why.
    ///
    /// # Errors
    ///
    /// [`UpstreamError::NoFake`] when no fake stands for the registry's host;
    /// [`UpstreamError::Unreachable`] when a request got no answer;
    /// [`UpstreamError::Challenge`] when the challenge or the token answer is unusable.
    ///
    /// ```
    /// # async fn example(upstream: &pull_through_sandbox::upstream::Upstream) -> Result<(), pull_through_sandbox::upstream::UpstreamError> {
    /// let fetched = upstream.docker("https://cgr.dev/", "chainguard/go/manifests/latest").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Fetched, UpstreamError> {
        let real = Url::parse(self.registry)
            .and_then(|base| base.join(&format!("v2/{}", self.path)))
            .map_err(|_| UpstreamError::NoFake(self.registry.to_owned()))?;
        let target = self
            .upstream
            .context
            .to_fake(&real)
            .ok_or_else(|| UpstreamError::NoFake(real.to_string()))?;
        let request = |bearer: Option<&str>| {
            let mut request = self.upstream.http.get(target.clone());
            if let Some(accept) = &self.accept {
                request = request.header("accept", accept.clone());
            }
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            request
        };
        let first = request(None).send().await?;
        if first.status() != StatusCode::UNAUTHORIZED || !self.token_auth {
            return Fetched::read(first).await;
        }
        let challenge = first
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| UpstreamError::Challenge("a 401 without a challenge".to_owned()))?
            .to_owned();
        let realm = token_url(&challenge)?;
        // A cache's stored credentials go only to a realm of the registry it pulls from,
        // as the library's registry client does: a challenge naming another host (a real
        // one, off loopback) does not collect them.
        if self.credentials.is_some() && realm.origin() != target.origin() {
            return Err(UpstreamError::Challenge(format!(
                "the token realm {} is not on the registry's origin {}; the stored credentials \
                 are not sent there",
                realm.origin().ascii_serialization(),
                target.origin().ascii_serialization()
            )));
        }
        let mut token_request = self.upstream.http.get(realm);
        if let Some(credentials) = self.credentials {
            token_request = credentials.apply(token_request);
        }
        let answer = token_request.send().await?;
        if !answer.status().is_success() {
            return Fetched::read(answer).await;
        }
        let token: serde_json::Value = answer
            .json()
            .await
            .map_err(|_| UpstreamError::Challenge("the token answer is not JSON".to_owned()))?;
        let token = token
            .get("token")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| UpstreamError::Challenge("the token answer has no token".to_owned()))?;
        Fetched::read(request(Some(token)).send().await?).await
    }
}

/// The token endpoint a challenge names: its realm, with its service and scope as query.
fn token_url(challenge: &str) -> Result<Url, UpstreamError> {
    let mut realm = challenge_param(challenge, "realm")
        .and_then(|realm| Url::parse(realm).ok())
        .ok_or_else(|| UpstreamError::Challenge(format!("no usable realm in {challenge:?}")))?;
    {
        let mut query = realm.query_pairs_mut();
        for name in ["service", "scope"] {
            if let Some(value) = challenge_param(challenge, name) {
                query.append_pair(name, value);
            }
        }
    }
    Ok(realm)
}

/// The value of `name="value"` in a challenge.
fn challenge_param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let length = challenge[start..].find('"')?;
    Some(&challenge[start..start + length])
}

/// The media type of an OCI image index.
pub(crate) const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Docker's manifest list, the index's older twin.
const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Whether a client's `Accept` headers (one or several) take an index: OCI's or Docker's
/// manifest list.
pub(crate) fn accepts_index(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all("accept")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(INDEX) || value.contains(MANIFEST_LIST))
}

/// The digest of the `os`/`architecture` manifest an index lists, or `None` when `index`
/// is not an index or lists no such platform.
pub(crate) fn platform_manifest(index: &[u8], os: &str, architecture: &str) -> Option<String> {
    let index: serde_json::Value = serde_json::from_slice(index).ok()?;
    index["manifests"]
        .as_array()?
        .iter()
        .find(|entry| {
            entry["platform"]["os"] == os && entry["platform"]["architecture"] == architecture
        })
        .and_then(|entry| entry["digest"].as_str())
        .map(str::to_owned)
}

/// The answer to `GET <base>/tags/list` of repository `name` with `tags` (any order),
/// paginated the way distribution does: sorted, those after `last`, at most `n`; when more
/// remain, a `Link: <<base>/tags/list?n=<n>&last=<the page's last tag>>; rel="next"`
/// header. A bad `n` is a 400 `PAGINATION_NUMBER_INVALID`.
pub(crate) fn tags_page(
    name: &str,
    tags: &[String],
    query: &[(String, String)],
    base: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let param = |wanted: &str| {
        query
            .iter()
            .find(|(key, _)| key == wanted)
            .map(|(_, value)| value.as_str())
    };
    let limit = match param("n").map(str::parse::<usize>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return crate::common::docker_errors(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "invalid number of results requested",
            );
        }
    };
    let mut sorted: Vec<&String> = tags.iter().collect();
    sorted.sort();
    sorted.dedup();
    let after: Vec<&String> = match param("last") {
        Some(last) => sorted
            .into_iter()
            .filter(|tag| tag.as_str() > last)
            .collect(),
        None => sorted,
    };
    let page: Vec<&String> = after
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .copied()
        .collect();
    let mut answer = axum::Json(serde_json::json!({"name": name, "tags": page})).into_response();
    if let (Some(n), Some(last)) = (limit, page.last()) {
        if after.len() > page.len() {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("n", &n.to_string())
                .append_pair("last", last)
                .finish();
            let link = format!(r#"<{base}/tags/list?{query}>; rel="next""#);
            if let Ok(value) = HeaderValue::from_str(&link) {
                answer.headers_mut().insert("link", value);
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_url_carries_service_and_scope() {
        let challenge = r#"Bearer realm="http://127.0.0.1:1/token",service="cgr.dev",scope="repository:chainguard/go:pull""#;
        assert_eq!(
            token_url(challenge).unwrap().as_str(),
            "http://127.0.0.1:1/token?service=cgr.dev&scope=repository%3Achainguard%2Fgo%3Apull"
        );
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    async fn page(query: &[(&str, &str)]) -> (Option<String>, serde_json::Value) {
        let tags = ["latest-dev", "1.2", "latest"].map(str::to_owned);
        let answer = tags_page("chainguard/go", &tags, &pairs(query), "/v2/chainguard/go");
        let link = answer
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        (link, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn tags_are_paginated_with_a_link_to_the_next_page() {
        let (link, body) = page(&[]).await;
        assert_eq!(link, None);
        assert_eq!(
            body["tags"],
            serde_json::json!(["1.2", "latest", "latest-dev"])
        );
        let (link, body) = page(&[("n", "2")]).await;
        assert_eq!(body["tags"], serde_json::json!(["1.2", "latest"]));
        assert_eq!(
            link.as_deref(),
            Some(r#"</v2/chainguard/go/tags/list?n=2&last=latest>; rel="next""#)
        );
        let (link, body) = page(&[("n", "2"), ("last", "latest")]).await;
        assert_eq!(body["tags"], serde_json::json!(["latest-dev"]));
        assert_eq!(link, None);
        assert_eq!(body["name"], "chainguard/go");
    }

    #[test]
    fn an_index_is_accepted_from_any_accept_header() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(!accepts_index(&headers));
        headers.append(
            "accept",
            HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
        );
        assert!(!accepts_index(&headers));
        headers.append("accept", HeaderValue::from_static(MANIFEST_LIST));
        assert!(accepts_index(&headers));
    }

    #[test]
    fn a_challenge_without_realm_is_refused() {
        assert!(matches!(
            token_url(r#"Bearer service="cgr.dev""#),
            Err(UpstreamError::Challenge(_))
        ));
    }
}
