//! The registry protocol as real clients speak it, against the fake `cgr.dev` and
//! Artifactory's Docker front (`/artifactory/api/docker/<key>/v2/` and `<host>/v2/<key>/`):
//! login tokens without a scope, Bearer challenges with realm and service, `tags/list`
//! with `n`/`last` pagination and `Link`, a two-platform index whose digests hold, `HEAD`
//! on manifests and blobs, `Docker-Content-Digest`.

use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
    artifactory: Artifactory,
    http: reqwest::Client,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .artifactory(&artifactory)
        .start()
        .await
        .expect("the sandbox starts");
    World {
        sandbox,
        chainguard,
        artifactory,
        http: reqwest::Client::new(),
    }
}

impl World {
    fn cgr(&self, path: &str) -> Url {
        self.sandbox.url("cgr.dev").unwrap().join(path).unwrap()
    }

    fn artifactory(&self, path: &str) -> Url {
        self.sandbox.url("artifactory").unwrap().join(path).unwrap()
    }

    /// The owner's token exchanged at the fake STS for `cgr.dev`.
    async fn registry_token(&self) -> String {
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
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    /// A token from the fake cgr.dev for `scope` (a repository name), anonymously.
    async fn scoped(&self, repository: &str) -> String {
        let mut url = self.cgr("token");
        url.query_pairs_mut()
            .append_pair("service", "cgr.dev")
            .append_pair("scope", &format!("repository:{repository}:pull"));
        let answer: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    /// Creates the remotes `cgr-public` and `cgr-private` (with the owner's registry
    /// token as stored credentials) and the virtual `cgr-virt` over both.
    async fn docker_repositories(&self) {
        let token = self.registry_token().await;
        let bodies = [
            json!({"key": "cgr-public", "rclass": "remote", "packageType": "docker",
                   "url": "https://cgr.dev/", "enableTokenAuthentication": true}),
            json!({"key": "cgr-private", "rclass": "remote", "packageType": "docker",
                   "url": "https://cgr.dev/", "enableTokenAuthentication": true,
                   "username": "_token", "password": token}),
            json!({"key": "cgr-virt", "rclass": "virtual", "packageType": "docker",
                   "repositories": ["cgr-public", "cgr-private"]}),
        ];
        for body in bodies {
            let key = body["key"].as_str().unwrap();
            let answer = self
                .http
                .put(self.artifactory(&format!("artifactory/api/repositories/{key}")))
                .bearer_auth(self.artifactory.admin_token().expose())
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{key}: {answer:?}");
        }
    }

    /// A Docker token from Artifactory's token endpoint `url` with the admin's Basic login.
    async fn artifactory_docker_token(&self, url: Url) -> String {
        let answer = self
            .http
            .get(url)
            .basic_auth("admin", Some(self.artifactory.admin_token().expose()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let answer: Value = answer.json().await.unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }
}

fn header(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[tokio::test]
async fn cgr_dev_gives_a_login_token_without_scope() {
    let world = world().await;
    let anonymous = world.http.get(world.cgr("v2/")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(&anonymous, "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"http://127.0.0.1:")
            && challenge.contains("/token\",service=\"cgr.dev\"")
            && !challenge.contains("scope="),
        "{challenge}"
    );

    // What `docker login cgr.dev` sends: Basic, `service` and no `scope`.
    let mut login = world.cgr("token");
    login.query_pairs_mut().append_pair("service", "cgr.dev");
    let token = world.registry_token().await;
    let answer = world
        .http
        .get(login.clone())
        .basic_auth("_token", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    let login_token = answer["token"].as_str().unwrap();
    let base = world
        .http
        .get(world.cgr("v2/"))
        .bearer_auth(login_token)
        .send()
        .await
        .unwrap();
    assert_eq!(base.status(), StatusCode::OK);
    assert_eq!(
        header(&base, "docker-distribution-api-version").as_deref(),
        Some("registry/2.0")
    );
    // A login token opens no repository: pulls ask for a scoped one.
    let manifest = world
        .http
        .get(world.cgr("v2/chainguard/go/manifests/latest"))
        .bearer_auth(login_token)
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), StatusCode::FORBIDDEN);

    // Wrong credentials are refused with or without a scope.
    let wrong = world
        .http
        .get(login)
        .basic_auth("_token", Some("not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cgr_dev_paginates_tags_with_a_link() {
    let world = world().await;
    let token = world.scoped("chainguard/go").await;
    let all: Value = world
        .http
        .get(world.cgr("v2/chainguard/go/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        all,
        json!({"name": "chainguard/go", "tags": ["latest", "latest-dev"]})
    );

    let first = world
        .http
        .get(world.cgr("v2/chainguard/go/tags/list?n=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let link = header(&first, "link").unwrap();
    assert_eq!(
        link,
        r#"</v2/chainguard/go/tags/list?n=1&last=latest>; rel="next""#
    );
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["tags"], json!(["latest"]));
    let next = link
        .strip_prefix("</")
        .and_then(|l| l.split_once('>'))
        .unwrap()
        .0;
    let second = world
        .http
        .get(world.cgr(next))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&second, "link"), None);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["tags"], json!(["latest-dev"]));

    // Tags need a token for the repository, as manifests do.
    let anonymous = world
        .http
        .get(world.cgr("v2/chainguard/go/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header(&anonymous, "www-authenticate")
            .unwrap()
            .contains(r#"scope="repository:chainguard/go:pull""#)
    );
}

#[tokio::test]
async fn cgr_dev_serves_a_two_platform_index_with_real_blobs() {
    let world = world().await;
    let token = world.scoped("chainguard/nginx").await;
    let get = |path: String, accept: &'static str| {
        world
            .http
            .get(world.cgr(&path))
            .bearer_auth(&token)
            .header("accept", accept)
    };
    let index = get("v2/chainguard/nginx/manifests/latest".into(), INDEX)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&index, "content-type").as_deref(), Some(INDEX));
    let digest = header(&index, "docker-content-digest").unwrap();
    let bytes = index.bytes().await.unwrap();
    assert_eq!(sha256(&bytes), digest);
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    let platforms: Vec<(&str, &str)> = parsed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(platforms, [("linux", "amd64"), ("linux", "arm64")]);

    for entry in parsed["manifests"].as_array().unwrap() {
        let child = entry["digest"].as_str().unwrap();
        let path = format!("v2/chainguard/nginx/manifests/{child}");
        let head = world
            .http
            .head(world.cgr(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(
            header(&head, "docker-content-digest").as_deref(),
            Some(child)
        );
        assert_eq!(
            header(&head, "content-length").unwrap(),
            entry["size"].to_string()
        );
        let manifest = get(path, MANIFEST).send().await.unwrap();
        assert_eq!(header(&manifest, "content-type").as_deref(), Some(MANIFEST));
        let bytes = manifest.bytes().await.unwrap();
        assert_eq!(sha256(&bytes), child);
        let manifest: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        let layer = &manifest["layers"][0];
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        for blob in [&manifest["config"], layer] {
            let digest = blob["digest"].as_str().unwrap();
            let path = format!("v2/chainguard/nginx/blobs/{digest}");
            let head = world
                .http
                .head(world.cgr(&path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), StatusCode::OK);
            assert_eq!(
                header(&head, "docker-content-digest").as_deref(),
                Some(digest)
            );
            let body = get(path, "*/*")
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(sha256(&body), digest);
            assert_eq!(blob["size"], body.len());
        }
        let layer_digest = layer["digest"].as_str().unwrap();
        let gz = get(format!("v2/chainguard/nginx/blobs/{layer_digest}"), "*/*")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "a gzip member");
    }

    // A client that takes no index gets the linux/amd64 manifest, as from distribution.
    let plain = get("v2/chainguard/nginx/manifests/latest".into(), MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&plain, "docker-content-digest").as_deref(),
        parsed["manifests"][0]["digest"].as_str()
    );
}

#[tokio::test]
async fn artifactory_challenges_docker_clients_with_bearer_and_a_token_endpoint() {
    let world = world().await;
    world.docker_repositories().await;
    let host = {
        let url = world.sandbox.url("artifactory").unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
    };
    for (base, realm) in [
        ("v2/", format!("http://{host}/v2/token")),
        (
            "artifactory/api/docker/cgr-public/v2/",
            format!("http://{host}/artifactory/api/docker/cgr-public/v2/token"),
        ),
    ] {
        let anonymous = world
            .http
            .get(world.artifactory(base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{base}");
        assert_eq!(
            header(&anonymous, "www-authenticate").unwrap(),
            format!(r#"Bearer realm="{realm}",service="{host}""#)
        );
        // The login a Docker client makes: Basic to the realm, the token as Bearer.
        let mut token_url = Url::parse(&realm).unwrap();
        token_url.query_pairs_mut().append_pair("service", &host);
        let token = world.artifactory_docker_token(token_url.clone()).await;
        let opened = world
            .http
            .get(world.artifactory(base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), StatusCode::OK, "{base}");

        // A wrong password gets no token.
        let refused = world
            .http
            .get(token_url)
            .basic_auth("admin", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    // What our own clients send still works: Bearer and Basic with the access token.
    let manifest = "artifactory/api/docker/cgr-public/v2/chainguard/go/manifests/latest";
    let bearer = world
        .http
        .get(world.artifactory(manifest))
        .bearer_auth(world.artifactory.admin_token().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let basic = world
        .http
        .get(world.artifactory(manifest))
        .basic_auth("admin", Some(world.artifactory.admin_token().expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    // A Docker token is not an access token for the REST API.
    let mut token_url = world.artifactory("v2/token");
    token_url.query_pairs_mut().append_pair("service", &host);
    let docker_token = world.artifactory_docker_token(token_url).await;
    let rest = world
        .http
        .get(world.artifactory("artifactory/api/repositories"))
        .bearer_auth(&docker_token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn artifactory_relays_tags_indexes_and_blobs_through_both_fronts() {
    let world = world().await;
    world.docker_repositories().await;
    let admin = world.artifactory.admin_token();
    let get = |path: String, accept: &'static str| {
        world
            .http
            .get(world.artifactory(&path))
            .bearer_auth(admin.expose())
            .header("accept", accept)
    };

    // Tags, paginated, with links under the front asked.
    for (front, image) in [
        ("v2/cgr-virt", "example.com/chainguard-base"),
        ("artifactory/api/docker/cgr-public/v2", "chainguard/go"),
    ] {
        let first = get(format!("{front}/{image}/tags/list?n=1"), "*/*")
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::OK, "{front}");
        assert_eq!(
            header(&first, "link").unwrap(),
            format!(r#"</{front}/{image}/tags/list?n=1&last=latest>; rel="next""#)
        );
        let first: Value = first.json().await.unwrap();
        assert_eq!(first, json!({"name": image, "tags": ["latest"]}));
        let rest: Value = get(format!("{front}/{image}/tags/list?n=1&last=latest"), "*/*")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rest["tags"], json!(["latest-dev"]));
    }
    let unknown = get("v2/cgr-public/chainguard/nope/tags/list".into(), "*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The private image's index, its platform manifests and blobs, through the virtual.
    let base = "v2/cgr-virt/example.com/chainguard-base";
    let index = get(format!("{base}/manifests/latest"), INDEX)
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(header(&index, "content-type").as_deref(), Some(INDEX));
    let digest = header(&index, "docker-content-digest").unwrap();
    let bytes = index.bytes().await.unwrap();
    assert_eq!(sha256(&bytes), digest);
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    let amd64 = parsed["manifests"][0]["digest"].as_str().unwrap();
    let plain = get(format!("{base}/manifests/latest"), MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&plain, "docker-content-digest").as_deref(),
        Some(amd64)
    );
    let manifest: Value = plain.json().await.unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let head = world
        .http
        .head(world.artifactory(&format!("{base}/blobs/{layer}")))
        .bearer_auth(admin.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, "docker-content-digest").as_deref(),
        Some(layer)
    );
    let blob = get(format!("{base}/blobs/{layer}"), "*/*")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256(&blob), layer);
    let head = world
        .http
        .head(world.artifactory(&format!("{base}/manifests/latest")))
        .bearer_auth(admin.expose())
        .header("accept", INDEX)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&head, "docker-content-digest").as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        header(&head, "content-length").unwrap(),
        bytes.len().to_string()
    );
}
