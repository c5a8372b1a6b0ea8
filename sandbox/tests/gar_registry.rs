//! The Docker registry of `LOCATION-docker.pkg.dev`, pulled with plain reqwest as a
//! Docker client does (challenge, token with `oauth2accesstoken`, Bearer): public and
//! private images through remote and virtual repositories, the service agent's grant,
//! packages and forgetting them.

mod gar_common;

use gar_common::{Google, NUMBER, ORG, PROJECT, credentials, remote_body};
use pull_through_core::redact::REDACTED;
use pull_through_sandbox::gar::{self, Gar};
use pull_through_sandbox::journal_contains;
use pull_through_sandbox::upstream::Upstream;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

struct Pulled {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Pulled {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn digest(&self) -> &str {
        self.headers["docker-content-digest"].to_str().unwrap()
    }
}

/// The value of `name="value"` in a challenge.
fn param<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let length = challenge[start..].find('"').unwrap();
    &challenge[start..start + length]
}

/// `GET /v2/<path>` as a Docker client: ask, follow the challenge to the token endpoint
/// with `oauth2accesstoken` and the access token, ask again with the token.
async fn pull(google: &Google, method: Method, path: &str, accept: &str) -> Pulled {
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

fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!(
        "sha256:{}",
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// The digest cgr.dev's fake answers for `image:latest` (its index).
async fn upstream_digest(google: &Google, image: &str) -> String {
    let upstream = Upstream::new(google.sandbox.context().clone());
    let token = google.cgr_token().await;
    let credentials = pull_through_sandbox::upstream::Credentials::new("_token", token);
    let accept = pull_through_sandbox::axum::http::HeaderValue::from_static(INDEX);
    let fetched = upstream
        .docker("https://cgr.dev/", &format!("{image}/manifests/latest"))
        .credentials(Some(&credentials))
        .accept(Some(&accept))
        .send()
        .await
        .unwrap();
    fetched.digest.unwrap()
}

fn repository(id: &str) -> String {
    Google::repository_path(id)
}

#[tokio::test]
async fn the_registry_challenges_and_takes_oauth2accesstoken() {
    let google = Google::start().await;
    let base = google.url(gar::DOCKER_REGISTRY, "v2/");
    let host = format!("127.0.0.1:{}", base.port().unwrap());
    let anonymous = google.http.get(base.clone()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        HeaderValue::from_str(&format!(
            r#"Bearer realm="http://{host}/v2/token",service="{host}""#
        ))
        .unwrap()
    );
    let token_url = google.url(gar::DOCKER_REGISTRY, &format!("v2/token?service={host}"));
    let refused = google
        .http
        .get(token_url.clone())
        .basic_auth("oauth2accesstoken", Some("ya29.wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    let wrong_user = google
        .http
        .get(token_url.clone())
        .basic_auth("_json_key", Some(google.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_user.status(), 401);

    let answer: Value = google
        .http
        .get(token_url.clone())
        .basic_auth("oauth2accesstoken", Some(google.token()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["token"].as_str().unwrap();
    assert_eq!(answer["expires_in"], 3600);
    let opened = google
        .http
        .get(base.clone())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    assert_eq!(
        opened.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    // The access token itself is a Bearer the registry takes.
    let direct = google
        .http
        .get(base.clone())
        .bearer_auth(google.token())
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);

    // An anonymous token opens /v2/ and nothing else.
    google.public_remote("cg").await;
    let anonymous: Value = google
        .http
        .get(token_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = google.url(
        gar::DOCKER_REGISTRY,
        &format!("v2/{PROJECT}/cg/chainguard/go/manifests/latest"),
    );
    let denied = google
        .http
        .get(content.clone())
        .bearer_auth(anonymous["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("artifactregistry.repositories.downloadArtifacts")
    );
    let challenged = google.http.get(content).send().await.unwrap();
    assert_eq!(
        param(
            challenged.headers()["www-authenticate"].to_str().unwrap(),
            "scope"
        ),
        format!("repository:{PROJECT}/cg/chainguard/go:pull")
    );
}

#[tokio::test]
async fn a_public_image_comes_through_a_remote_and_is_kept_as_a_package() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let index = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(index.status, 200);
    assert_eq!(index.headers["content-type"], INDEX);
    assert_eq!(
        index.digest(),
        upstream_digest(&google, "chainguard/go").await
    );
    assert_eq!(sha256(&index.body), index.digest());

    let amd64 = index.json()["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let manifest = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/{amd64}"),
        MANIFEST,
    )
    .await;
    assert_eq!(manifest.status, 200);
    assert_eq!(manifest.digest(), amd64);
    let config = manifest.json()["config"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/blobs/{config}"),
        "*/*",
    )
    .await;
    assert_eq!(blob.status, 200);
    assert_eq!(sha256(&blob.body), config);
    let head = pull(
        &google,
        Method::HEAD,
        &format!("{PROJECT}/cg/chainguard/go/blobs/{config}"),
        "*/*",
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        blob.body.len().to_string().as_str()
    );

    // A client that takes no index gets the linux/amd64 manifest of the tag.
    let plain = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        MANIFEST,
    )
    .await;
    assert_eq!(plain.digest(), amd64);
    let tags = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/tags/list"),
        "*/*",
    )
    .await;
    assert_eq!(
        tags.json(),
        json!({"name": format!("{PROJECT}/cg/chainguard/go"), "tags": ["latest", "latest-dev"]})
    );

    assert_eq!(google.gar.packages(&repository("cg")), ["chainguard/go"]);
    let listed = google
        .call(
            Method::GET,
            google.ar(&format!("v1/{}/packages", repository("cg"))),
            None,
        )
        .await;
    let package = &listed.ok()["packages"][0];
    assert_eq!(
        package["name"],
        format!("{}/packages/chainguard%2Fgo", repository("cg"))
    );
    let one = google
        .call(
            Method::GET,
            google.ar(&format!("v1/{}/packages/chainguard%2Fgo", repository("cg"))),
            None,
        )
        .await;
    assert_eq!(one.ok(), package);
    let missing = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/nothing/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn a_private_image_needs_the_agents_grant_and_an_enabled_version() {
    let google = Google::start().await;
    let private = format!("{ORG}/chainguard-base/manifests/latest");
    google.public_remote("cg-public").await;
    let anonymous = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg-public/{private}"),
        INDEX,
    )
    .await;
    assert_eq!(anonymous.status, 403);

    let version = google.pull_secret("cgr-pull", false).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    body["remoteRepositoryConfig"]["disableUpstreamValidation"] = true.into();
    google.create_done("cg-private", body).await;
    let path = format!("{PROJECT}/cg-private/{private}");
    let denied = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(denied.status, 403);
    let error = &denied.json()["errors"][0];
    assert_eq!(error["code"], "DENIED");
    assert!(
        error["message"].as_str().unwrap().starts_with(&format!(
            "Permission \"secretmanager.versions.access\" denied on resource \"projects/{NUMBER}/secrets/cgr-pull/versions/1\""
        )),
        "{error}"
    );
    assert!(google.gar.packages(&repository("cg-private")).is_empty());

    google.grant("cgr-pull").await;
    let pulled = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(
        pulled.status,
        200,
        "{}",
        String::from_utf8_lossy(&pulled.body)
    );
    assert_eq!(
        pulled.digest(),
        upstream_digest(&google, &format!("{ORG}/chainguard-base")).await
    );
    assert_eq!(
        google.gar.packages(&repository("cg-private")),
        [format!("{ORG}/chainguard-base")]
    );

    google
        .call(
            Method::POST,
            google.sm(&format!(
                "v1/projects/{PROJECT}/secrets/cgr-pull/versions/1:disable"
            )),
            Some(json!({})),
        )
        .await
        .ok();
    let disabled = pull(&google, Method::GET, &path, INDEX).await;
    assert_eq!(disabled.status, 403);
    assert_eq!(
        disabled.json()["errors"][0]["message"],
        format!(
            "Secret version \"projects/{NUMBER}/secrets/cgr-pull/versions/1\" is in DISABLED state."
        )
    );
}

#[tokio::test]
async fn a_virtual_tries_its_members_by_priority_larger_first() {
    let google = Google::start().await;
    google.public_remote("cg-public").await;
    let version = google.pull_secret("cgr-pull", true).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    google.create_done("cg-private", body).await;
    let virtual_of = |members: &[(&str, i32)]| {
        let policies: Vec<Value> = members
            .iter()
            .map(|(id, priority)| json!({"id": id, "repository": repository(id), "priority": priority}))
            .collect();
        json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY", "virtualRepositoryConfig": {"upstreamPolicies": policies}})
    };
    google
        .create_done(
            "private-first",
            virtual_of(&[("cg-public", 1), ("cg-private", 2)]),
        )
        .await;
    google
        .create_done(
            "public-first",
            virtual_of(&[("cg-public", 5), ("cg-private", 1)]),
        )
        .await;

    let go = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/private-first/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(go.status, 200);
    assert_eq!(
        google.gar.packages(&repository("cg-private")),
        ["chainguard/go"]
    );
    assert!(google.gar.packages(&repository("cg-public")).is_empty());

    let nginx = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/chainguard/nginx/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(nginx.status, 200);
    assert_eq!(
        google.gar.packages(&repository("cg-public")),
        ["chainguard/nginx"]
    );

    // The public member cannot pull the private image; the next member can.
    let base = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/{ORG}/chainguard-base/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(base.status, 200);
    assert!(
        google.gar.packages(&repository("private-first")).is_empty(),
        "a virtual keeps nothing itself"
    );

    let tags = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/public-first/chainguard/go/tags/list"),
        "*/*",
    )
    .await;
    assert_eq!(tags.json()["tags"], json!(["latest", "latest-dev"]));
}

#[tokio::test]
async fn a_package_is_forgotten_by_delete_and_fetched_again() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let path = format!("{PROJECT}/cg/chainguard/go/manifests/latest");
    let index = pull(&google, Method::GET, &path, INDEX).await;
    let amd64 = index.json()["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_digest = format!("{PROJECT}/cg/chainguard/go/manifests/{amd64}");
    pull(&google, Method::GET, &by_digest, MANIFEST).await;
    let upstream_calls = || google.sandbox.journal().entries_for("cgr.dev").len();
    let before = upstream_calls();
    pull(&google, Method::GET, &by_digest, MANIFEST).await;
    assert_eq!(
        upstream_calls(),
        before,
        "a digest is served from the cache"
    );

    let package = google.ar(&format!("v1/{}/packages/chainguard%2Fgo", repository("cg")));
    let deleted = google.call(Method::DELETE, package.clone(), None).await;
    let (done, _) = google.wait(deleted.ok()).await;
    assert_eq!(
        done["response"],
        json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
    );
    assert!(google.gar.packages(&repository("cg")).is_empty());
    google
        .call(Method::DELETE, package, None)
        .await
        .refused(404, "NOT_FOUND");
    let unencoded = google.ar(&format!("v1/{}/packages/chainguard/go", repository("cg")));
    google
        .call(Method::DELETE, unencoded, None)
        .await
        .refused(404, "NOT_FOUND");

    let before = upstream_calls();
    let again = pull(&google, Method::GET, &by_digest, MANIFEST).await;
    assert_eq!(again.status, 200);
    assert!(
        upstream_calls() > before,
        "forgotten content is fetched again"
    );
    assert_eq!(google.gar.packages(&repository("cg")), ["chainguard/go"]);
}

#[tokio::test]
async fn repositories_are_found_by_project_and_id_in_any_location() {
    let google = Google::start_with(Gar::new().with_operation_polls(1)).await;
    let standard = google
        .create_done("plain", json!({"format": "DOCKER"}))
        .await;
    assert_eq!(standard["response"]["mode"], "STANDARD_REPOSITORY");
    let nothing = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/plain/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(nothing.status, 404);
    let unknown = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/absent/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(unknown.json()["errors"][0]["code"], "NAME_UNKNOWN");

    google.public_remote("cg").await;
    let mut url = google.ar(&format!(
        "v1/projects/{PROJECT}/locations/europe/repositories"
    ));
    url.query_pairs_mut().append_pair("repositoryId", "cg");
    google
        .call(Method::POST, url, Some(remote_body()))
        .await
        .ok();
    let ambiguous = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(ambiguous.status, 400);
    let message = ambiguous.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("europe, us-central1"), "{message}");
}

#[tokio::test]
async fn the_journal_holds_no_token_of_a_pull() {
    let google = Google::start().await;
    let version = google.pull_secret("cgr-pull", true).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    google.create_done("cg-private", body).await;
    let pulled = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg-private/{ORG}/chainguard-base/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(pulled.status, 200);
    let journal = google.sandbox.journal();
    let payload = google.gar.secret_payload("cgr-pull", 1).unwrap();
    assert!(!journal_contains(&journal, payload.expose()));
    assert!(!journal_contains(&journal, &google.token()));
    let token_request = journal
        .entries_for(gar::DOCKER_REGISTRY)
        .into_iter()
        .find(|entry| entry.path == "/v2/token")
        .unwrap();
    assert_eq!(
        token_request.header("authorization"),
        Some(format!("Basic {REDACTED}").as_str())
    );
    let upstream_token = journal
        .entries_for("cgr.dev")
        .into_iter()
        .find(|entry| entry.path == "/token" && entry.header("authorization").is_some())
        .unwrap();
    assert_eq!(
        upstream_token.header("authorization"),
        Some(format!("Basic {REDACTED}").as_str())
    );
}

/// The core's registry client (what `gar-client` verifies with) follows the challenge.
#[tokio::test]
async fn the_cores_registry_auth_gets_a_token() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let registry = google.sandbox.url(gar::DOCKER_REGISTRY).unwrap().clone();
    let auth = pull_through_core::registry::RegistryAuth::new(registry.clone()).unwrap();
    let login = pull_through_core::UpstreamCredentials::new(
        "oauth2accesstoken",
        pull_through_core::SecretString::from(google.token()),
    )
    .unwrap();
    let token = auth
        .pull_token(&format!("{PROJECT}/cg/chainguard/go"), Some(&login))
        .await
        .unwrap()
        .expect("the registry challenges");
    use pull_through_core::ExposeSecret as _;
    let manifest = google
        .http
        .get(
            registry
                .join(&format!("v2/{PROJECT}/cg/chainguard/go/manifests/latest"))
                .unwrap(),
        )
        .bearer_auth(token.expose_secret())
        .header("accept", INDEX)
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    let wrong = pull_through_core::UpstreamCredentials::new(
        "oauth2accesstoken",
        pull_through_core::SecretString::from("ya29.wrong".to_owned()),
    )
    .unwrap();
    assert!(
        auth.pull_token(&format!("{PROJECT}/cg/chainguard/go"), Some(&wrong))
            .await
            .is_err()
    );
}
