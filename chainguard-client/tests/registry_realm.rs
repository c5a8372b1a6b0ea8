//! A registry's token realm is tied to the registry's host: a pull token goes to the realm
//! only when the realm is on the registry's own host and port.

use chainguard_client::RegistryAuth;
use pull_through_core::{Error, ExposeSecret, UpstreamCredentials, ValidationError};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "0123456789abcdef0123456789abcdef01234567";
const PULL_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.cHVsbC10b2tlbg.c2lnbmF0dXJl";

fn credentials() -> UpstreamCredentials {
    UpstreamCredentials::new(format!("{ORG}/eeeeeeeeeeeeeeee"), PULL_JWT).unwrap()
}

/// A registry answering `/v2/` with a Bearer challenge naming `realm`.
async fn registry(realm: &str) -> MockServer {
    let server = MockServer::start().await;
    let challenge = format!(r#"Bearer realm="{realm}",service="cgr.dev""#);
    Mock::given(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()),
        )
        .mount(&server)
        .await;
    server
}

/// A token endpoint that hands out a token to anyone, and keeps what it got.
async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "anonymous"})),
        )
        .mount(&server)
        .await;
    server
}

fn port(server: &MockServer) -> u16 {
    url::Url::parse(&server.uri()).unwrap().port().unwrap()
}

#[tokio::test]
async fn a_realm_on_another_host_gets_no_pull_token() {
    let collector = token_server().await;
    // `localhost` is another host name than the registry's `127.0.0.1`, though the
    // collector answers on both.
    let realm = format!("http://localhost:{}/token?x=secret-query", port(&collector));
    let registry = registry(&realm).await;
    let auth = RegistryAuth::new(registry.uri().parse().unwrap()).unwrap();

    let err = auth
        .pull_token("example.com/chainguard-base", Some(&credentials()))
        .await
        .unwrap_err();

    let received = collector.received_requests().await.unwrap();
    assert!(
        received.is_empty(),
        "the realm received {:?}",
        received.first().map(|r| r.headers.get("authorization"))
    );
    assert!(
        matches!(&err, Error::InvalidInput(ValidationError::InvalidValue { field, .. }) if field == "registry token realm"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("localhost"), "names the realm's host: {text}");
    assert!(
        text.contains("127.0.0.1"),
        "names the registry's host: {text}"
    );
    assert!(!text.contains("secret-query"), "{text}");
    assert!(!text.contains(PULL_JWT), "{text}");
}

#[tokio::test]
async fn a_realm_on_another_port_of_the_registry_host_gets_no_pull_token() {
    let collector = token_server().await;
    let realm = format!("{}/token", collector.uri());
    let registry = registry(&realm).await;
    let auth = RegistryAuth::new(registry.uri().parse().unwrap()).unwrap();

    let err = auth
        .pull_token("chainguard/go", Some(&credentials()))
        .await
        .unwrap_err();

    assert!(collector.received_requests().await.unwrap().is_empty());
    assert!(err.is_invalid_input(), "{err:?}");
}

#[tokio::test]
async fn an_anonymous_token_may_come_from_a_realm_elsewhere() {
    // Without credentials nothing secret travels: public images keep working whatever
    // host the registry delegates its tokens to.
    let tokens = token_server().await;
    let registry = registry(&format!("{}/token", tokens.uri())).await;
    let auth = RegistryAuth::new(registry.uri().parse().unwrap()).unwrap();
    let token = auth.pull_token("chainguard/go", None).await.unwrap();
    assert_eq!(token.unwrap().expose_secret(), "anonymous");
}
