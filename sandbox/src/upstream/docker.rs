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
        let mut token_request = self.upstream.http.get(token_url(&challenge)?);
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

    #[test]
    fn a_challenge_without_realm_is_refused() {
        assert!(matches!(
            token_url(r#"Bearer service="cgr.dev""#),
            Err(UpstreamError::Challenge(_))
        ));
    }
}
