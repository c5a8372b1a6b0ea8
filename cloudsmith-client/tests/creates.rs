//! Creates are never repeated blindly: the HTTP layer sends one again only when it surely
//! was not processed (a 429, a connection never made); after a 5xx or a lost answer the
//! client reads first, and tries again only within the retry policy's attempts and budget.

mod common;

use std::time::Duration;

use cloudsmith_client::RepositoryCreate;
use common::*;
use pull_through_core::http::RetryConfig;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
