//! Ids go into URL paths only when they have an id's shape: a token pasted in place of an
//! identity id is refused before any request, and not echoed.

use std::sync::Arc;

use chainguard_client::ChainguardClient;
use chainguard_client::auth::StaticToken;
use pull_through_core::http::RetryConfig;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

#[tokio::test]
async fn a_token_given_as_an_id_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = ChainguardClient::builder()
        .with_api_url(server.uri().parse().unwrap())
        .with_token_source(Arc::new(StaticToken::new("console-api-token")))
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA";
    for err in [
        client.revoke_pull_token(jwt).await.unwrap_err(),
        client.delete_role_binding(jwt).await.unwrap_err(),
        client
            .revoke_pull_token("0123456789abcdef0123456789abcdef01234567/../groups")
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(!err.to_string().contains("eyJ"), "{err}");
        assert!(!format!("{err:?}").contains("c2lnbmF0dXJl"), "{err:?}");
    }
    server.verify().await;
}
