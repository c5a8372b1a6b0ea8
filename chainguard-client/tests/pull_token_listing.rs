//! Pull-token listing tolerates identities with a missing or `null` `issuerKeys` or
//! `expiration`: one without keys is listed (it can be seen and revoked), one without
//! expiration is listed with its expiration unknown (empty) and not expired.

use std::sync::Arc;

use chainguard_client::ChainguardClient;
use chainguard_client::auth::StaticToken;
use pull_through_core::OrgId;
use pull_through_core::http::RetryConfig;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "0123456789abcdef0123456789abcdef01234567";
const ISSUER: &str = "https://pulltoken.issuer.chainguard.dev";

#[tokio::test]
async fn identities_without_keys_or_expiration_do_not_break_the_list() {
    let server = MockServer::start().await;
    let identity = |n: u8, extra: serde_json::Value| {
        let mut keys = serde_json::json!({"issuer": ISSUER, "subject": format!("pull-token-{n}")});
        keys.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::json!({"id": format!("{ORG}/{n:016}"), "name": format!("token {n}"), "static": keys})
    };
    let items = serde_json::json!({"items": [
        identity(1, serde_json::json!({"issuerKeys": "{}", "expiration": "2099-01-01T00:00:00Z"})),
        identity(2, serde_json::json!({"issuerKeys": null, "expiration": "2099-01-01T00:00:00Z"})),
        identity(3, serde_json::json!({"expiration": "2099-01-01T00:00:00Z"})),
        identity(4, serde_json::json!({"issuerKeys": "{}", "expiration": null})),
        identity(5, serde_json::json!({"issuerKeys": "{}"})),
        identity(6, serde_json::json!({"issuerKeys": "{}", "expiration": "2001-01-01T00:00:00Z"})),
        // Not a pull token at all: no static relationship.
        {"id": format!("{ORG}/0000000000000007"), "name": "a user"},
    ]});
    Mock::given(method("GET"))
        .and(path("/iam/v1/identities"))
        .and(query_param("uidp.descendantsOf", ORG))
        .respond_with(ResponseTemplate::new(200).set_body_json(items))
        .expect(1)
        .mount(&server)
        .await;
    let client = ChainguardClient::builder()
        .with_api_url(server.uri().parse().unwrap())
        .with_token_source(Arc::new(StaticToken::new("console-api-token")))
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let tokens = client
        .list_pull_tokens(&OrgId::new(ORG).unwrap())
        .await
        .unwrap();
    let listed: Vec<(&str, &str, bool)> = tokens
        .iter()
        .map(|t| (t.name.as_str(), t.expiration.as_str(), t.expired))
        .collect();
    assert_eq!(
        listed,
        [
            ("token 1", "2099-01-01T00:00:00Z", false),
            ("token 2", "2099-01-01T00:00:00Z", false),
            ("token 3", "2099-01-01T00:00:00Z", false),
            ("token 4", "", false),
            ("token 5", "", false),
            ("token 6", "2001-01-01T00:00:00Z", true),
        ]
    );
    server.verify().await;
}
