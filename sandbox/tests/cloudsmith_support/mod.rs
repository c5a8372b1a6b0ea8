//! What the Cloudsmith fake's tests share: a sandbox with Chainguard's and Cloudsmith's
//! fakes, calls to the API with the key, and registry pulls that follow the challenge
//! with plain reqwest, as a Docker client does.

#![allow(dead_code, unreachable_pub, missing_docs)]

use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::cloudsmith::{Cloudsmith, OWNER, USER};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub struct World {
    pub sandbox: Sandbox,
    pub cloudsmith: Cloudsmith,
    pub chainguard: Chainguard,
    pub http: reqwest::Client,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn world() -> World {
    world_with(Cloudsmith::new()).await
}

pub async fn world_with(cloudsmith: Cloudsmith) -> World {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .cloudsmith(&cloudsmith)
        .start()
        .await
        .expect("the sandbox starts");
    World {
        sandbox,
        cloudsmith,
        chainguard,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl World {
    pub fn api(&self, path: &str) -> Url {
        self.sandbox.url("cloudsmith").unwrap().join(path).unwrap()
    }

    pub fn registry(&self, path: &str) -> Url {
        self.sandbox
            .url("cloudsmith-docker")
            .unwrap()
            .join(path)
            .unwrap()
    }

    /// `host:port` of the registry.
    pub fn registry_host(&self) -> String {
        let url = self.sandbox.url("cloudsmith-docker").unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
    }

    pub fn key(&self) -> String {
        self.cloudsmith.api_key().expose().to_owned()
    }

    /// A request to the API with the key as `X-Api-Key`.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .http
            .request(method, self.api(path))
            .header("X-Api-Key", self.key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// A request to the API with a raw body.
    pub async fn call_raw(&self, method: Method, path: &str, body: &'static str) -> Answer {
        let request = self
            .http
            .request(method, self.api(path))
            .header("X-Api-Key", self.key())
            .header("content-type", "application/json")
            .body(body);
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    /// Creates the Private repository `slug` and answers it (201 checked).
    pub async fn create_repo(&self, slug: &str) -> Value {
        let answer = self
            .call(
                Method::POST,
                &format!("repos/{OWNER}/"),
                Some(json!({"name": format!("Repo {slug}"), "slug": slug, "repository_type_str": "Private"})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }

    /// Creates a Docker upstream on `repo` and answers it (201 checked).
    pub async fn create_upstream(&self, repo: &str, body: Value) -> Value {
        let answer = self
            .call(
                Method::POST,
                &format!("repos/{OWNER}/{repo}/upstream/docker/"),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }

    /// A repository `slug` with one Docker upstream of `url` in `mode`.
    pub async fn repo_with_upstream(&self, slug: &str, url: &str, mode: &str) -> Value {
        self.create_repo(slug).await;
        self.create_upstream(
            slug,
            json!({"name": "cgr", "upstream_url": url, "mode": mode, "priority": 1,
                "verify_ssl": true, "auth_mode": "None"}),
        )
        .await
    }

    /// A Chainguard token for `cgr.dev` (the owner's, exchanged at the fake STS): with
    /// the user `_token`, credentials that pull the organization's private images.
    pub async fn cgr_token(&self) -> String {
        let mut url = self
            .sandbox
            .url("chainguard-sts")
            .unwrap()
            .join("sts/exchange")
            .unwrap();
        url.query_pairs_mut().append_pair("aud", "cgr.dev");
        let answer: Value = self
            .http
            .get(url)
            .bearer_auth(self.chainguard.admin_token().expose())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    /// `GET /v2/<path>` of the registry as a Docker client does it: anonymously, then,
    /// on a 401, at the challenge's realm with the user slug and `key` as Basic, then
    /// again with the token.
    pub async fn pull_with(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        key: &str,
    ) -> reqwest::Response {
        let url = self.registry(&format!("v2/{path}"));
        let first = self
            .http
            .request(method.clone(), url.clone())
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        if first.status() != StatusCode::UNAUTHORIZED {
            return first;
        }
        let challenge = first.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let param = |name: &str| {
            let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
            let end = challenge[start..].find('"')?;
            Some(challenge[start..start + end].to_owned())
        };
        let mut realm = Url::parse(&param("realm").expect("a realm")).unwrap();
        for name in ["service", "scope"] {
            if let Some(value) = param(name) {
                realm.query_pairs_mut().append_pair(name, &value);
            }
        }
        let token = self
            .http
            .get(realm)
            .basic_auth(USER, Some(key))
            .send()
            .await
            .unwrap();
        assert_eq!(token.status(), StatusCode::OK, "the token endpoint refused");
        let token: Value = token.json().await.unwrap();
        self.http
            .request(method, url)
            .header("accept", accept)
            .bearer_auth(token["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
    }

    pub async fn pull(&self, path: &str, accept: &str) -> reqwest::Response {
        self.pull_with(Method::GET, path, accept, &self.key()).await
    }

    /// Pulls `image:tag` of repository `repo` whole: the index, each platform manifest
    /// and its config and layers, checking every digest. Answers the index's digest.
    pub async fn pull_image(&self, repo: &str, image: &str, tag: &str) -> String {
        let base = format!("{OWNER}/{repo}/{image}");
        let index = self.pull(&format!("{base}/manifests/{tag}"), INDEX).await;
        assert_eq!(index.status(), StatusCode::OK, "{base}:{tag}");
        assert_eq!(index.headers()["content-type"], INDEX);
        let digest = index.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = index.bytes().await.unwrap();
        assert_eq!(sha256(&bytes), digest);
        let index: Value = serde_json::from_slice(&bytes).unwrap();
        for entry in index["manifests"].as_array().unwrap() {
            let digest = entry["digest"].as_str().unwrap();
            let manifest = self
                .pull(&format!("{base}/manifests/{digest}"), MANIFEST)
                .await;
            assert_eq!(manifest.status(), StatusCode::OK);
            let bytes = manifest.bytes().await.unwrap();
            assert_eq!(sha256(&bytes), digest);
            let manifest: Value = serde_json::from_slice(&bytes).unwrap();
            let blobs =
                std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap());
            for blob in blobs {
                let digest = blob["digest"].as_str().unwrap();
                let answer = self.pull(&format!("{base}/blobs/{digest}"), "*/*").await;
                assert_eq!(answer.status(), StatusCode::OK);
                assert_eq!(sha256(&answer.bytes().await.unwrap()), digest);
            }
        }
        digest
    }
}

pub async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}
