//! Response helpers: size-capped bodies and turning an inspected answer into an error.

use pull_through_core::http::{HttpClient, RetryConfig};
use pull_through_core::{Error, SecretString};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn bytes_limited_refuses_oversized_bodies() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 100_000]))
        .mount(&server)
        .await;
    let client = client(&server);
    let whole = client
        .get("big")
        .send()
        .await
        .unwrap()
        .bytes_limited(100_000)
        .await
        .unwrap();
    assert_eq!(whole.len(), 100_000);
    let err = client
        .get("big")
        .send()
        .await
        .unwrap()
        .bytes_limited(99_999)
        .await
        .unwrap_err();
    match err {
        Error::Decode(decode) => assert!(decode.message.contains("99999"), "{}", decode.message),
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn error_for_status_after_a_resend() {
    let server = MockServer::start().await;
    Mock::given(path("/fine"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Basic dXNlcjp3cm9uZy10b2tlbg=="))
        .respond_with(ResponseTemplate::new(403).set_body_string("wrong-token is not allowed"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client.get("x").send_raw().await.unwrap();
    assert_eq!(first.status(), 401);
    let token = SecretString::from("wrong-token");
    let second = client
        .get("x")
        .basic_auth("user", &token)
        .send_raw()
        .await
        .unwrap();
    let err = second.error_for_status().await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(
        !err.to_string().contains("wrong-token"),
        "the secret is scrubbed: {err}"
    );
    assert!(
        client
            .get("fine")
            .send_raw()
            .await
            .unwrap()
            .error_for_status()
            .await
            .is_ok()
    );
}
