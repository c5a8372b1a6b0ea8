//! Creates are never repeated blindly: the HTTP layer sends one again only when it surely
//! was not processed (a 429, a connection never made); after a 5xx or a lost answer the
//! client reads first, and tries again only within the retry policy's attempts and budget.

mod common;

use std::time::Duration;

use cloudsmith_client::{DockerUpstreamRequest, RepositoryCreate};
use common::*;
use pull_through_core::http::RetryConfig;
use pull_through_core::{CacheName, CacheSpec, Ensured, PullThroughBackend, Upstream};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

fn not_found() -> Value {
    json!({"detail": "Not found."})
}

async fn get(server: &MockServer, at: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(api_key())
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_create_is_tried_again_only_within_the_budget() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"detail": "Server error."})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .expect(1)
        .mount(&server)
        .await;
    // Attempts to spare, but no backoff fits in the budget: the read finds nothing, and
    // the 500 is returned rather than the create sent again past the budget.
    let retry = RetryConfig::default()
        .with_max_attempts(5)
        .with_backoff(Duration::from_millis(200), Duration::from_millis(400))
        .with_budget(Duration::from_millis(100));
    let (client, recorder) = client_with(&server, retry);
    let err = client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err:?}");
    assert_eq!(
        calls(&recorder),
        ["POST /repos/acme/", "GET /repos/acme/chainguard/"]
    );
}

#[tokio::test]
async fn a_create_that_failed_with_500_is_read_back_before_it_is_tried_again() {
    // Not created: listed, then sent again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Server Error (500)"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, recorder) = client_with(&server, quick_retry());
    client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap();
    assert_eq!(
        calls(&recorder),
        [
            "POST /repos/acme/chainguard/upstream/docker/",
            "GET /repos/acme/chainguard/upstream/docker/",
            "POST /repos/acme/chainguard/upstream/docker/"
        ]
    );

    // Created after all: found by name, not sent again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let found = client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap();
    assert_eq!(found.slug_perm, "Up1");

    // A bare 500 to the end while another upstream has the URL: tried as often as the
    // policy allows, then that upstream is named as a possible cause.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Server Error (500)"))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Tw1",
            "Chainguard",
            "https://cgr.dev/chainguard/",
            1,
            None
        )])))
        .expect(3)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let err = client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    let text = err.to_string();
    assert!(
        text.contains("already has upstream \"Chainguard\" of https://cgr.dev/chainguard; if"),
        "{text}"
    );
}

#[tokio::test]
async fn a_second_organization_s_upstream_of_the_same_url_is_not_taken_for_a_duplicate() {
    // The shared repository holds one organization's https://cgr.dev upstream; the
    // other's create meets a passing 500, and is read back and sent again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Server Error (500)"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "OrgB",
            "cgr-private-b",
            "https://cgr.dev",
            3,
            Some(IDENTITY),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "OrgA",
            "cgr-private-a",
            "https://cgr.dev",
            2,
            Some("another/identity")
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let created = client
        .create_upstream(
            "chainguard",
            &DockerUpstreamRequest::private("cgr-private-b", &pull_token()).with_priority(3),
        )
        .await
        .unwrap();
    assert_eq!(created.slug_perm, "OrgB");
}

#[tokio::test]
async fn a_repository_create_that_failed_with_502_is_read_back() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    // Even without retries, what a failed create may have made is looked for.
    let (client, _) = client(&server);
    let found = client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap();
    assert_eq!(found.slug, "chainguard");
}

#[tokio::test]
async fn a_repository_just_made_but_not_yet_found_is_waited_for() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(&server, "/repos/acme/cgr-public/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("cgr-public", None)))
        .expect(1)
        .mount(&server)
        .await;
    // Cloudsmith replicates across regions: the new repository is not found at first.
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found()))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    // Waited for whatever the retry policy says (here: no retries at all).
    let (client, _) = client_with(&server, RetryConfig::none());
    let backend = cloudsmith_client::CloudsmithBackend::new(client);
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Created { .. }
    ));
}

#[tokio::test]
async fn the_wait_for_a_repository_just_made_is_bounded_by_its_setting() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    get(&server, "/repos/acme/cgr-public/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("cgr-public", None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found()))
        .expect(1)
        .mount(&server)
        .await;
    let client = cloudsmith_client::CloudsmithClient::builder()
        .with_base_url(format!("{}/", server.uri()))
        .with_owner(OWNER)
        .with_api_key(KEY)
        .with_retry(quick_retry())
        .with_replication_wait(Duration::ZERO)
        .build()
        .unwrap();
    let backend = cloudsmith_client::CloudsmithBackend::new(client);
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    let err = backend.ensure(&spec).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_read_back_not_sent_again() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    // The server makes the repository but answers too late: the client gives up waiting
    // (the budget bounds each attempt), not knowing whether the create went through.
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(api_key())
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(repository("chainguard", None))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(200).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    let retry = RetryConfig::default()
        .with_max_attempts(5)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(4))
        .with_budget(Duration::from_millis(500));
    let (client, recorder) = client_with(&server, retry);
    let created = client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap();
    assert_eq!(created.slug, "chainguard");
    assert_eq!(
        calls(&recorder),
        ["POST /repos/acme/", "GET /repos/acme/chainguard/"]
    );
    let posted = recorder.records();
    assert!(
        posted[0].failure.is_some() && posted[0].status.is_none(),
        "{posted:?}"
    );
}
