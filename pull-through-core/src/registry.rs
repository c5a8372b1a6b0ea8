//! Registry tokens by the Docker challenge flow: the realm and service come from the
//! registry's `WWW-Authenticate`, never from a hard-coded URL. `cgr.dev` uses it for pull
//! tokens, and the caches' own registries (Google's `*-docker.pkg.dev` with
//! `oauth2accesstoken`, `docker.cloudsmith.io`) answer the same challenge, so the flow lives
//! here, beside the rest of the HTTP policy.
//!
//! The challenge is the registry's word, but a pull token is only ever sent to the
//! registry itself: a realm elsewhere (another host, or another port of the same host) or
//! on plain `http` behind an `https` registry gets no credentials, and the request is
//! refused with an error naming both. `cgr.dev` issues tokens at `https://cgr.dev/token`;
//! registries that delegate tokens to another host (Docker Hub's `auth.docker.io`) still
//! work without credentials, for public images.

use std::sync::Arc;

use crate::http::{HttpClient, HttpObserver};
use crate::{Error, SecretString, ValidationError};
use http::StatusCode;
use url::Url;

/// Obtains a pull token for one repository of a registry.
///
/// ```no_run
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// use pull_through_core::registry::RegistryAuth;
/// let auth = RegistryAuth::new("https://cgr.dev".parse().unwrap())?;
/// let token = auth.pull_token("chainguard/go", None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    http: HttpClient,
}

/// A Bearer challenge's parameters.
///
/// ```
/// let challenge = pull_through_core::registry::parse_bearer_challenge(r#"Bearer realm="https://cgr.dev/token""#).unwrap();
/// assert_eq!(challenge.service, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BearerChallenge {
    /// Where tokens are issued.
    pub realm: String,
    /// The service to name.
    pub service: Option<String>,
}

/// Reads a `WWW-Authenticate` value; `None` unless it has a Bearer challenge with a realm.
///
/// ```
/// let challenge = pull_through_core::registry::parse_bearer_challenge(
///     r#"Bearer realm="https://cgr.dev/token",service="cgr.dev",scope="repository:chainguard/go:pull""#).unwrap();
/// assert_eq!(challenge.realm, "https://cgr.dev/token");
/// assert_eq!(challenge.service.as_deref(), Some("cgr.dev"));
/// ```
pub fn parse_bearer_challenge(value: &str) -> Option<BearerChallenge> {
    let challenges = http_auth::parse_challenges(value).ok()?;
    let bearer = challenges
        .into_iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))?;
    let param = |name: &str| {
        bearer
            .params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_unescaped())
    };
    Some(BearerChallenge {
        realm: param("realm")?,
        service: param("service"),
    })
}

impl RegistryAuth {
    /// For the registry at `registry_url` (`https://cgr.dev`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad URL.
    ///
    /// ```
    /// let auth = pull_through_core::registry::RegistryAuth::new("https://cgr.dev".parse().unwrap())?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn new(registry_url: Url) -> Result<RegistryAuth, Error> {
        RegistryAuth::with_observer(registry_url, None)
    }

    /// As [`RegistryAuth::new`], with an observer of every request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad URL.
    ///
    /// ```
    /// let auth = pull_through_core::registry::RegistryAuth::with_observer("https://cgr.dev".parse().unwrap(), None)?;
    /// # Ok::<(), pull_through_core::Error>(())
    /// ```
    pub fn with_observer(
        registry_url: Url,
        observer: Option<Arc<dyn HttpObserver>>,
    ) -> Result<RegistryAuth, Error> {
        let mut http = HttpClient::builder("registry", registry_url)
            .user_agent(concat!("pull-through-core/", env!("CARGO_PKG_VERSION")));
        if let Some(observer) = observer {
            http = http.observer(observer);
        }
        Ok(RegistryAuth {
            http: http.build()?,
        })
    }

    /// A token to pull `repository` (`chainguard/go`, `<org>/chainguard-base`): `GET /v2/`,
    /// then the challenge's realm with `service` and `scope=repository:<repository>:pull`,
    /// with `credentials` (a pull token's identity id and JWT) as Basic auth. `None` when
    /// the registry needs no authentication.
    ///
    /// `credentials` go to the realm only when it is on the registry's own host and port,
    /// and not on plain `http` behind an `https` registry; the realm request follows no
    /// redirect (the core's policy for every request that carries credentials).
    ///
    /// # Errors
    ///
    /// The core's [`Error`]; [`Error::Decode`] when the token answer has neither `token`
    /// nor `access_token`; [`Error::InvalidInput`] (field `registry token realm`) when
    /// `credentials` are given and the realm is elsewhere than the registry, naming both.
    ///
    /// ```no_run
    /// # async fn example(auth: &pull_through_core::registry::RegistryAuth, pull_token: &pull_through_core::UpstreamCredentials) -> Result<(), pull_through_core::Error> {
    /// let token = auth.pull_token("example.com/chainguard-base", Some(pull_token)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn pull_token(
        &self,
        repository: &str,
        credentials: Option<&crate::UpstreamCredentials>,
    ) -> Result<Option<SecretString>, Error> {
        let probe = self.http.get("v2/").send_raw().await?;
        if probe.status().is_success() {
            return Ok(None);
        }
        if probe.status() != StatusCode::UNAUTHORIZED {
            return Err(probe.error_for_status().await.err().unwrap_or_else(|| {
                Error::InvalidInput(ValidationError::InvalidValue {
                    field: "registry".to_owned(),
                    problem: "unexpected answer to GET /v2/".to_owned(),
                })
            }));
        }
        let challenge = probe
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_bearer_challenge)
            .ok_or_else(|| {
                Error::InvalidInput(ValidationError::InvalidValue {
                    field: "registry".to_owned(),
                    problem: "the registry answered 401 without a Bearer challenge naming a realm"
                        .to_owned(),
                })
            })?;
        let realm = Url::parse(&challenge.realm).map_err(|err| {
            Error::InvalidInput(ValidationError::InvalidValue {
                field: "registry token realm".to_owned(),
                problem: format!("{:?} is not a URL: {err}", challenge.realm),
            })
        })?;
        check_realm(self.http.base_url(), &realm, credentials.is_some())?;
        let scope = format!("repository:{repository}:pull");
        let mut query = vec![("scope", scope.as_str())];
        if let Some(service) = &challenge.service {
            query.push(("service", service.as_str()));
        }
        let mut request = self
            .http
            .request_url(http::Method::GET, realm)
            .query(&query);
        if let Some(credentials) = credentials {
            request = request.basic_auth(credentials.username(), credentials.password());
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: TokenAnswer = request.send().await?.json("registry token").await?;
        answer
            .token
            .or(answer.access_token)
            .map(|token| Some(SecretString::from(token)))
            .ok_or_else(|| {
                Error::Decode(Box::new(crate::error::DecodeError::new(
                    "registry",
                    "registry token",
                    "token",
                    "the answer has neither token nor access_token",
                )))
            })
    }
}

/// The Basic credentials are a pull token: they go only to the registry's own host and
/// port (the challenge could name any URL), never over a downgraded scheme. Without
/// credentials any realm will do: nothing secret travels.
fn check_realm(registry: &Url, realm: &Url, with_credentials: bool) -> Result<(), Error> {
    if !with_credentials {
        return Ok(());
    }
    let refuse = |problem: String| {
        Err(Error::InvalidInput(ValidationError::InvalidValue {
            field: "registry token realm".to_owned(),
            problem,
        }))
    };
    if registry.scheme() == "https" && realm.scheme() != "https" {
        return refuse(format!(
            "the registry is https but its challenge names a {} realm on {}; refusing to send the pull token there",
            realm.scheme(),
            realm.host_str().unwrap_or_default()
        ));
    }
    let same_host = match (registry.host_str(), realm.host_str()) {
        (Some(registry), Some(realm)) => registry.eq_ignore_ascii_case(realm),
        _ => false,
    };
    if !same_host || registry.port_or_known_default() != realm.port_or_known_default() {
        return refuse(format!(
            "the registry at {} names a token realm at {} ({}); a pull token is sent only to \
             the registry's own host and port, so it is not sent there",
            authority(registry),
            authority(realm),
            crate::redact::redact_url(realm),
        ));
    }
    Ok(())
}

/// `host:port` with the port the scheme implies, never userinfo.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("(no host)");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_token_is_not_sent_to_a_downgraded_realm() {
        let https: Url = "https://cgr.dev/".parse().unwrap();
        let plain: Url = "http://cgr.dev/token".parse().unwrap();
        let err = check_realm(&https, &plain, true).unwrap_err();
        assert!(err.to_string().contains("http realm on cgr.dev"), "{err}");
        assert!(
            check_realm(&https, &plain, false).is_ok(),
            "anonymous is harmless"
        );
        assert!(check_realm(&https, &"https://cgr.dev/token".parse().unwrap(), true).is_ok());
        assert!(
            check_realm(&https, &"https://CGR.dev:443/token".parse().unwrap(), true).is_ok(),
            "host case and the default port do not matter"
        );
        let loopback: Url = "http://127.0.0.1:8080/".parse().unwrap();
        assert!(
            check_realm(
                &loopback,
                &"http://127.0.0.1:8080/token".parse().unwrap(),
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn a_pull_token_is_sent_only_to_the_registry_host_and_port() {
        let https: Url = "https://cgr.dev/".parse().unwrap();
        let loopback: Url = "http://127.0.0.1:8080/".parse().unwrap();
        for (registry, realm) in [
            (&https, "https://auth.example.com/token"),
            (&https, "https://cgr.dev.example.com/token"),
            (&https, "https://cgr.dev:8443/token"),
            (&https, "https://u:p@evil.example/token?x=q"),
            (&loopback, "http://cgr.dev/token"),
            (&loopback, "http://127.0.0.1:9090/token"),
            (&loopback, "http://localhost:8080/token"),
        ] {
            let realm: Url = realm.parse().unwrap();
            let err = check_realm(registry, &realm, true).unwrap_err().to_string();
            assert!(
                err.contains("registry's own host and port"),
                "{realm}: {err}"
            );
            assert!(!err.contains(":p@") && !err.contains("x=q"), "{err}");
            assert!(
                check_realm(registry, &realm, false).is_ok(),
                "anonymous is harmless"
            );
        }
        let err = check_realm(
            &https,
            &"https://auth.example.com/token".parse().unwrap(),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the registry at cgr.dev:443 names a token realm at auth.example.com:443 (https://auth.example.com/token)"),
            "{err}"
        );
    }
}
