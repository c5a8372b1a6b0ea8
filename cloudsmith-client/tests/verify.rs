//! Verification against wiremock: a manifest pulled through the registry's challenge,
//! as `docker pull` does, with the user slug and the API key.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{CacheName, PackageFormat, Probe, PullThroughBackend, Upstream};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

#[tokio::test]
async fn verify_pulls_through_the_registry_without_the_chainguard_prefix() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let realm = format!("{}/v2/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"{}\"", server.address()).as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{KEY}"))
    };
    Mock::given(method("GET"))
        .and(path("/v2/token"))
        .and(query_param("scope", "repository:acme/cgr-public/go:pull"))
        .and(query_param(
            "service",
            server.address().to_string().as_str(),
        ))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "registry-token-1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/acme/cgr-public/go/manifests/latest"))
        .and(header("authorization", "Bearer registry-token-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("docker-content-digest", "sha256:abc123")
                .set_body_json(json!({"schemaVersion": 2})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let state = pull_through_core::CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    let verification = backend
        .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
        .await
        .unwrap();
    assert!(verification.passed(), "{verification}");
    assert_eq!(
        verification.checks[0].step,
        format!("manifest {}/acme/cgr-public/go:latest", server.address())
    );
}

#[tokio::test]
async fn a_probe_that_would_point_elsewhere_is_refused_before_any_request() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (backend, recorder) = backend(&server, Layout::OwnRepository);
    let state = pull_through_core::CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    for (image, reference) in [
        ("../../../user/self", "latest"),
        ("chainguard/go", "latest/../../../x"),
    ] {
        let probe = Probe::DockerManifest {
            image: image.to_owned(),
            reference: reference.to_owned(),
        };
        let err = backend.verify(&state, &probe).await.unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
    }
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn a_user_slug_the_api_gives_is_checked_before_it_goes_into_a_login() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/user/self/"))
        .and(api_key())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"authenticated": true, "slug": "not a slug:x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // No user configured: verification asks whose key it is.
    let client = cloudsmith_client::CloudsmithClient::builder()
        .with_base_url(format!("{}/", server.uri()))
        .with_docker_url(format!("{}/", server.uri()))
        .with_owner(OWNER)
        .with_api_key(KEY)
        .with_retry(pull_through_core::http::RetryConfig::none())
        .build()
        .unwrap();
    let backend = cloudsmith_client::CloudsmithBackend::new(client);
    let state = pull_through_core::CacheState::remote(
        name("cgr-public"),
        PackageFormat::Docker,
        "https://cgr.dev/chainguard",
    );
    let verification = backend
        .verify(&state, &Probe::default_for(&Upstream::CgrPublic))
        .await
        .unwrap();
    assert!(!verification.passed());
    let shown = verification.to_string();
    assert!(
        shown.contains("set CLOUDSMITH_USER (or with_user)"),
        "{shown}"
    );
    assert!(!shown.contains("not a slug"), "{shown}");
}
