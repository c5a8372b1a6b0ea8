//! The shared upstream pulls against Chainguard's fakes: the registry's token dance with
//! and without credentials, the APK repositories, and what a fake relays.

use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::axum::http::{Method, StatusCode};
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::upstream::{Credentials, Upstream, UpstreamError};
use pull_through_sandbox::{Sandbox, SandboxContext};

const REGISTRY: &str = "https://cgr.dev/";
const PRIVATE_MANIFEST: &str = "example.com/chainguard-base/manifests/latest";

async fn start() -> (Sandbox, Chainguard, Upstream) {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .start()
        .await
        .expect("the sandbox starts");
    let upstream = Upstream::new(sandbox.context().clone());
    (sandbox, chainguard, upstream)
}

/// The owner's token exchanged at the fake STS for `audience`.
async fn token_for(sandbox: &Sandbox, chainguard: &Chainguard, audience: &str) -> String {
    let mut url = sandbox
        .url("chainguard-sts")
        .unwrap()
        .join("sts/exchange")
        .unwrap();
    url.query_pairs_mut().append_pair("aud", audience);
    let answer: serde_json::Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(chainguard.admin_token().expose())
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

#[tokio::test]
async fn a_public_manifest_and_its_config_come_anonymously() {
    let (_sandbox, _chainguard, upstream) = start().await;
    let manifest = upstream
        .docker(REGISTRY, "chainguard/nginx/manifests/latest")
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(
        manifest.content_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert!(manifest.digest.as_deref().unwrap().starts_with("sha256:"));

    let parsed: serde_json::Value = serde_json::from_slice(&manifest.body).unwrap();
    let config = parsed["config"]["digest"].as_str().unwrap();
    let blob = upstream
        .docker(
            "https://cgr.dev",
            &format!("chainguard/nginx/blobs/{config}"),
        )
        .send()
        .await
        .unwrap();
    assert!(blob.is_success());
    assert_eq!(blob.digest.as_deref(), Some(config));
}

#[tokio::test]
async fn a_private_manifest_needs_credentials_and_a_refusal_is_relayed() {
    let (sandbox, chainguard, upstream) = start().await;
    let anonymous = upstream
        .docker(REGISTRY, PRIVATE_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&anonymous.body).contains("DENIED"));

    let wrong = Credentials::new("_token", "not-a-token");
    let refused = upstream
        .docker(REGISTRY, PRIVATE_MANIFEST)
        .credentials(Some(&wrong))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let good = Credentials::new("_token", token_for(&sandbox, &chainguard, "cgr.dev").await);
    let pulled = upstream
        .docker(REGISTRY, PRIVATE_MANIFEST)
        .credentials(Some(&good))
        .send()
        .await
        .unwrap();
    assert!(pulled.is_success(), "{pulled:?}");
}

#[tokio::test]
async fn without_token_auth_the_challenge_comes_back() {
    let (_sandbox, _chainguard, upstream) = start().await;
    let answer = upstream
        .docker(REGISTRY, "chainguard/go/manifests/latest")
        .token_auth(false)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn apk_files_come_from_both_hosts_with_basic_credentials() {
    let (sandbox, chainguard, upstream) = start().await;
    let index = "x86_64/APKINDEX.tar.gz";
    let public = upstream
        .apk("https://apk.cgr.dev/chainguard/", index, None)
        .await
        .unwrap();
    assert!(public.is_success() && !public.body.is_empty());

    let private = "https://apk.cgr.dev/example.com";
    let anonymous = upstream.apk(private, index, None).await.unwrap();
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let credentials = Credentials::new(
        "user",
        token_for(&sandbox, &chainguard, "apk.cgr.dev").await,
    );
    let fetched = upstream
        .apk(private, index, Some(&credentials))
        .await
        .unwrap();
    assert!(fetched.is_success(), "{fetched:?}");

    let virtual_base = format!(
        "https://virtualapk.cgr.dev/{}/extra-packages",
        chainguard.org_id()
    );
    let from_virtual = upstream.apk(&virtual_base, index, None).await.unwrap();
    assert!(from_virtual.is_success());
}

#[tokio::test]
async fn hosts_without_a_fake_are_errors_not_answers() {
    let upstream = Upstream::new(SandboxContext::default());
    let docker = upstream
        .docker(REGISTRY, "chainguard/go/manifests/latest")
        .send()
        .await;
    assert!(matches!(docker, Err(UpstreamError::NoFake(_))));
    let apk = upstream
        .apk(
            "https://apk.cgr.dev/chainguard",
            "x86_64/APKINDEX.tar.gz",
            None,
        )
        .await;
    assert!(matches!(apk, Err(UpstreamError::NoFake(_))));
    let unparsable = upstream
        .docker("not a url", "x/manifests/latest")
        .send()
        .await;
    assert!(matches!(unparsable, Err(UpstreamError::NoFake(_))));
}

#[tokio::test]
async fn a_relayed_head_has_the_headers_and_no_body() {
    let (_sandbox, _chainguard, upstream) = start().await;
    let manifest = upstream
        .docker(REGISTRY, "chainguard/go/manifests/latest")
        .send()
        .await
        .unwrap();
    let head = manifest.relay(&Method::HEAD);
    assert_eq!(head.status(), StatusCode::OK);
    let headers = head.headers();
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        manifest.body.len().to_string()
    );
    assert_eq!(
        headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok()),
        manifest.digest.as_deref()
    );
    let body = pull_through_sandbox::axum::body::to_bytes(head.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(body.is_empty());
}

#[test]
fn debug_output_holds_no_secret() {
    let credentials = Credentials::new("user", "s3cret-password");
    assert!(!format!("{credentials:?}").contains("s3cret"));

    let chainguard = Chainguard::new("example.com");
    let admin = chainguard.admin_token();
    assert!(!format!("{chainguard:?}").contains(admin.expose()));
    let artifactory = Artifactory::new();
    let admin = artifactory.admin_token();
    assert!(!format!("{artifactory:?}").contains(admin.expose()));
}
