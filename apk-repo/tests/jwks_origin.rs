//! Credentials follow key discovery to the JWKS only on the repository's own origin: the
//! same host on another port is another server, which may be anyone's.

use apk_repo::fetch::RepoClient;
use apk_repo::repo_url::RepoUrl;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_jwks_on_another_port_gets_no_credentials() {
    let repository = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/example.com/apk-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "jwks_uri": format!("{}/keys.json", elsewhere.uri())
        })))
        .mount(&repository)
        .await;
    Mock::given(path("/keys.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": []})))
        .mount(&elsewhere)
        .await;
    let repo = RepoUrl::parse(&format!("{}/example.com", repository.uri()))
        .unwrap()
        .with_credentials("user", "pull-token-secret")
        .unwrap();
    let client = RepoClient::builder(repo).build().unwrap();
    let _ = client.discover_keys().await;

    let asked = elsewhere.received_requests().await.unwrap();
    assert_eq!(asked.len(), 1, "the JWKS was fetched");
    assert!(
        !asked[0].headers.contains_key("authorization"),
        "credentials went to another port: {:?}",
        asked[0].headers
    );
    let configuration = repository.received_requests().await.unwrap();
    assert!(configuration[0].headers.contains_key("authorization"));
}
