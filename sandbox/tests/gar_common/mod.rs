//! What the GAR fakes' tests share: a sandbox with Chainguard's and Google's fakes, and
//! plain HTTP calls to them carrying the sandbox's access token.

#![allow(dead_code)] // Each test file uses its own part.

use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::{self, Gar};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

pub(crate) const PROJECT: &str = "pull-through-sandbox";
pub(crate) const NUMBER: &str = "123456789012";
pub(crate) const LOCATION: &str = "us-central1";
pub(crate) const ORG: &str = "example.com";

pub(crate) struct Google {
    pub(crate) sandbox: Sandbox,
    pub(crate) gar: Gar,
    pub(crate) chainguard: Chainguard,
    pub(crate) http: reqwest::Client,
}

/// An answer: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    /// Asserts Google's envelope with this status and canonical code, and returns the
    /// message.
    pub(crate) fn refused(&self, status: u16, canonical: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(self.body["error"]["code"], status, "{:#}", self.body);
        assert_eq!(self.body["error"]["status"], canonical, "{:#}", self.body);
        let keys: Vec<&String> = self.body["error"].as_object().unwrap().keys().collect();
        for key in &keys {
            assert!(
                ["code", "message", "status", "details"].contains(&key.as_str()),
                "unexpected envelope key {key}"
            );
        }
        self.body["error"]["message"].as_str().unwrap().to_owned()
    }

    pub(crate) fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:#}", self.body);
        &self.body
    }
}

impl Google {
    pub(crate) async fn start() -> Google {
        Google::start_with(Gar::new()).await
    }

    pub(crate) async fn start_with(gar: Gar) -> Google {
        let chainguard = Chainguard::new(ORG);
        let sandbox = Sandbox::builder()
            .chainguard(&chainguard)
            .gar(&gar)
            .start()
            .await
            .expect("the sandbox starts");
        Google {
            sandbox,
            gar,
            chainguard,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    pub(crate) fn url(&self, service: &str, path: &str) -> Url {
        self.sandbox.url(service).unwrap().join(path).unwrap()
    }

    pub(crate) fn ar(&self, path: &str) -> Url {
        self.url(gar::ARTIFACT_REGISTRY, path)
    }

    pub(crate) fn sm(&self, path: &str) -> Url {
        self.url(gar::SECRET_MANAGER, path)
    }

    pub(crate) fn repositories_url(&self) -> String {
        format!("v1/projects/{PROJECT}/locations/{LOCATION}/repositories")
    }

    pub(crate) fn repository_path(id: &str) -> String {
        format!("projects/{PROJECT}/locations/{LOCATION}/repositories/{id}")
    }

    pub(crate) fn token(&self) -> String {
        self.gar.access_token().expose().to_owned()
    }

    /// A call with the sandbox's access token.
    pub(crate) async fn call(&self, method: Method, url: Url, body: Option<Value>) -> Answer {
        let token = self.token();
        self.call_as(method, url, body, Some(&token)).await
    }

    pub(crate) async fn call_as(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `POST .../repositories?repositoryId=id` with `body`.
    pub(crate) async fn create(&self, id: &str, body: Value) -> Answer {
        let mut url = self.ar(&self.repositories_url());
        url.query_pairs_mut().append_pair("repositoryId", id);
        self.call(Method::POST, url, Some(body)).await
    }

    /// Polls an operation until done; returns it and the number of polls.
    pub(crate) async fn wait(&self, operation: &Value) -> (Value, usize) {
        let name = operation["name"].as_str().unwrap();
        for polls in 1..=10 {
            let answer = self
                .call(Method::GET, self.ar(&format!("v1/{name}")), None)
                .await;
            let body = answer.ok().clone();
            if body["done"] == true {
                return (body, polls);
            }
        }
        panic!("the operation {name} never finished");
    }

    /// Creates a repository and waits for its operation; returns the finished operation.
    pub(crate) async fn create_done(&self, id: &str, body: Value) -> Value {
        let created = self.create(id, body).await;
        self.wait(created.ok()).await.0
    }

    /// A remote of `https://cgr.dev/`, anonymous.
    pub(crate) async fn public_remote(&self, id: &str) -> Value {
        self.create_done(id, remote_body()).await
    }

    pub(crate) async fn get_repository(&self, id: &str) -> Answer {
        self.call(
            Method::GET,
            self.ar(&format!("v1/{}", Google::repository_path(id))),
            None,
        )
        .await
    }

    pub(crate) async fn patch(&self, id: &str, mask: Option<&str>, body: Value) -> Answer {
        let mut url = self.ar(&format!("v1/{}", Google::repository_path(id)));
        if let Some(mask) = mask {
            url.query_pairs_mut().append_pair("updateMask", mask);
        }
        self.call(Method::PATCH, url, Some(body)).await
    }

    /// `POST v1/projects/P/secrets?secretId=id` with automatic replication.
    pub(crate) async fn create_secret(&self, id: &str) -> Answer {
        let mut url = self.sm(&format!("v1/projects/{PROJECT}/secrets"));
        url.query_pairs_mut().append_pair("secretId", id);
        self.call(
            Method::POST,
            url,
            Some(json!({"replication": {"automatic": {}}})),
        )
        .await
    }

    /// `:addVersion` with `payload` and its CRC32C.
    pub(crate) async fn add_version(&self, id: &str, payload: &str) -> Answer {
        use base64::Engine as _;
        let body = json!({"payload": {
            "data": base64::prelude::BASE64_STANDARD.encode(payload),
            "dataCrc32c": gar::crc32c(payload.as_bytes()).to_string(),
        }});
        self.call(
            Method::POST,
            self.sm(&format!("v1/projects/{PROJECT}/secrets/{id}:addVersion")),
            Some(body),
        )
        .await
    }

    /// Grants the service agent `secretAccessor` on the secret (read-modify-write).
    pub(crate) async fn grant(&self, id: &str) {
        let policy = self
            .call(
                Method::GET,
                self.sm(&format!("v1/projects/{PROJECT}/secrets/{id}:getIamPolicy")),
                None,
            )
            .await;
        let etag = policy.ok()["etag"].clone();
        let body = json!({"policy": {"bindings": [{"role": gar::SECRET_ACCESSOR, "members": [self.gar.service_agent()]}], "etag": etag}});
        let set = self
            .call(
                Method::POST,
                self.sm(&format!("v1/projects/{PROJECT}/secrets/{id}:setIamPolicy")),
                Some(body),
            )
            .await;
        set.ok();
    }

    /// A Chainguard token for cgr.dev (the owner's, exchanged at the fake STS): with the
    /// user `_token`, what the fake cgr.dev takes as a pull credential.
    pub(crate) async fn cgr_token(&self) -> String {
        let mut url = self.url("chainguard-sts", "sts/exchange");
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

    /// A secret `id` holding a cgr.dev token, its version name, with the grant when
    /// `grant`.
    pub(crate) async fn pull_secret(&self, id: &str, grant: bool) -> String {
        self.create_secret(id).await.ok();
        let token = self.cgr_token().await;
        let version = self.add_version(id, &token).await;
        if grant {
            self.grant(id).await;
        }
        version.ok()["name"].as_str().unwrap().to_owned()
    }
}

/// The seed's remote: DOCKER, REMOTE_REPOSITORY, upstream `https://cgr.dev/` as
/// `commonRepository.uri`.
pub(crate) fn remote_body() -> Value {
    json!({
        "format": "DOCKER",
        "mode": "REMOTE_REPOSITORY",
        "description": "Chainguard pull-through",
        "remoteRepositoryConfig": {
            "description": "cgr.dev",
            "commonRepository": {"uri": "https://cgr.dev/"}
        }
    })
}

/// The credentials part of a remote for `version`.
pub(crate) fn credentials(version: &str) -> Value {
    json!({"usernamePasswordCredentials": {"username": "_token", "passwordSecretVersion": version}})
}
