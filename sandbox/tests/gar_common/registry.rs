//! The Docker registry as a Docker client pulls from it: the challenge, a token for
//! `oauth2accesstoken` and the access token, then the request with the token.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Google;
use pull_through_sandbox::gar;

pub(crate) const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub(crate) struct Pulled {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Pulled {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn digest(&self) -> &str {
        self.headers["docker-content-digest"].to_str().unwrap()
    }
}

/// The value of `name="value"` in a challenge.
pub(crate) fn param<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let length = challenge[start..].find('"').unwrap();
    &challenge[start..start + length]
}

/// `GET /v2/<path>` as a Docker client: ask, follow the challenge to the token endpoint
/// with `oauth2accesstoken` and the access token, ask again with the token.
pub(crate) async fn pull(google: &Google, method: Method, path: &str, accept: &str) -> Pulled {
    let url = google.url(gar::DOCKER_REGISTRY, &format!("v2/{path}"));
    let first = google
        .http
        .request(method.clone(), url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 401);
    let challenge = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut realm = url::Url::parse(param(&challenge, "realm")).unwrap();
    realm
        .query_pairs_mut()
        .append_pair("service", param(&challenge, "service"))
        .append_pair("scope", param(&challenge, "scope"));
    let token: Value = google
        .http
        .get(realm)
        .basic_auth("oauth2accesstoken", Some(google.token()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["expires_in"], 3600);
    let answer = google
        .http
        .request(method, url)
        .bearer_auth(token["token"].as_str().unwrap())
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    Pulled {
        status: answer.status(),
        headers: answer.headers().clone(),
        body: answer.bytes().await.unwrap().to_vec(),
    }
}
