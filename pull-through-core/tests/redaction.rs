//! No secret appears in `Debug` or `Display` of any public type that holds one, nor in
//! errors built from answers that echo it.

use std::sync::Arc;
use std::time::Duration;

use pull_through_core::http::{HttpClient, RecordingObserver, RetryConfig};
use pull_through_core::{
    AccessItem, CacheName, CacheSet, CacheSpec, ClientAccess, ClientLogin, NameCase, Sensitive,
    SnippetKind, Upstream, UpstreamCredentials,
};
use secrecy::SecretString;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl";

fn assert_hidden(what: &str, debug: String, display: Option<String>) {
    assert!(!debug.contains(SECRET), "{what} Debug leaks: {debug}");
    if let Some(display) = display {
        assert!(!display.contains(SECRET), "{what} Display leaks: {display}");
    }
}

#[test]
fn types_holding_secrets_redact_them() {
    let credentials = UpstreamCredentials::new("org/identity", SECRET).unwrap();
    assert_hidden("UpstreamCredentials", format!("{credentials:?}"), None);

    let spec = CacheSpec::remote(
        CacheName::new("cgr-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(credentials.clone())
    .rotating_credentials();
    assert_hidden("CacheSpec", format!("{spec:?}"), None);

    let set = CacheSet::new(vec![spec.clone()], NameCase::Insensitive).unwrap();
    assert_hidden("CacheSet", format!("{set:?}"), None);

    let login = ClientLogin::new("linky@example.com", SECRET, "ARTIFACTORY_TOKEN");
    assert_hidden("ClientLogin", format!("{login:?}"), None);

    let sensitive = Sensitive::new("https://linky%40example.com:*@h/artifactory/k/", SECRET);
    assert_hidden(
        "Sensitive",
        format!("{sensitive:?}"),
        Some(sensitive.to_string()),
    );

    let access = ClientAccess::new(CacheName::new("cg-private").unwrap())
        .with(AccessItem::DockerLogin {
            registry: "h".into(),
            username: "u".into(),
            password: Sensitive::new(login.password_reference(), SECRET),
        })
        .with(AccessItem::HttpAuth {
            value: Sensitive::new("basic:apk.cgr.dev:u:$CHAINGUARD_TOKEN", SECRET),
        })
        .with(AccessItem::ApkRepository { url: sensitive })
        .with(AccessItem::Snippet {
            kind: SnippetKind::Dockerfile,
            title: "Dockerfile".into(),
            text: Sensitive::new("RUN --mount=type=secret,id=apk apk add wget", SECRET),
        });
    assert_hidden(
        "ClientAccess",
        format!("{access:?}"),
        Some(access.render(pull_through_core::Reveal::Names)),
    );
}

#[tokio::test]
async fn errors_from_answers_that_echo_secrets_are_scrubbed() {
    let server = MockServer::start().await;
    let echo = format!(
        r#"{{"errors":[{{"status":401,"message":"token {SECRET} is expired"}}],"password":"{SECRET}"}}"#
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(echo))
        .mount(&server)
        .await;
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let token = SecretString::from(SECRET);

    let err = client
        .post("api/repositories/x")
        .bearer_auth(&token)
        .json(&serde_json::json!({"password": SECRET}))
        .sensitive(&token)
        .send()
        .await
        .unwrap_err();

    assert_hidden("Error", format!("{err:?}"), Some(err.to_string()));
    let body = &err.api().unwrap().body;
    assert!(body.contains("[REDACTED]"), "{body}");
}

#[tokio::test]
async fn transport_errors_carry_no_userinfo_or_query() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let recorder = RecordingObserver::new();
    let client = HttpClient::builder("test", format!("http://{address}").parse().unwrap())
        .retry(RetryConfig::none())
        .connect_timeout(Duration::from_secs(1))
        .observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    let url = format!("http://user:{SECRET}@{address}/path?token={SECRET}")
        .parse()
        .unwrap();

    let err = client
        .request_url(http::Method::GET, url)
        .send()
        .await
        .unwrap_err();

    assert_hidden("Transport error", format!("{err:?}"), Some(err.to_string()));
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        assert!(!cause.to_string().contains(SECRET), "source leaks: {cause}");
        source = cause.source();
    }
    assert_hidden(
        "observer records",
        format!("{:?}", recorder.records()),
        None,
    );
}

#[test]
fn builders_redact_their_urls() {
    let url = format!("https://u:{SECRET}@example.jfrog.io/x?token={SECRET}")
        .parse()
        .unwrap();
    let builder = HttpClient::builder("test", url);
    assert_hidden("HttpClientBuilder", format!("{builder:?}"), None);
}

#[tokio::test]
async fn credentials_given_as_plain_headers_get_the_credential_rules() {
    let client = HttpClient::builder("test", "http://registry.example.com".parse().unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let err = client
        .get("v2/")
        .header(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(&format!("Bearer {SECRET}")).unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_input(),
        "plain http with credentials is refused: {err:?}"
    );
    assert_hidden("Error", format!("{err:?}"), Some(err.to_string()));
}

#[tokio::test]
async fn decode_errors_are_scrubbed_of_request_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!(r#"{{"count":"{SECRET}"}}"#)),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .build()
        .unwrap();
    #[derive(serde::Deserialize, Debug)]
    struct Count {
        #[allow(dead_code)]
        count: u64,
    }
    let token = SecretString::from(SECRET);
    let err = client
        .get("x")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Count>("count")
        .await
        .unwrap_err();
    assert!(matches!(err, pull_through_core::Error::Decode(_)));
    assert_hidden("Decode error", format!("{err:?}"), Some(err.to_string()));
}

#[test]
fn clients_and_requests_redact_their_urls() {
    let client = HttpClient::builder(
        "test",
        "https://example.jfrog.io/artifactory".parse().unwrap(),
    )
    .build()
    .unwrap();
    let url = format!("https://u:{SECRET}@example.jfrog.io/x?token={SECRET}")
        .parse()
        .unwrap();
    let request = client.request_url(http::Method::GET, url);
    assert_hidden("RequestBuilder", format!("{request:?}"), None);
    assert_hidden("HttpClient", format!("{client:?}"), None);
}

/// Answers every request with `status` and `body`, from a client that sent no credentials:
/// what the body holds is no secret of the request, so only the shape gives it away.
async fn error_for(status: u16, body: &str) -> pull_through_core::Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "text/plain"),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    client.get("x").send().await.unwrap_err()
}

fn assert_none_shown(what: &str, err: &pull_through_core::Error, secrets: &[&str]) {
    for text in [err.to_string(), format!("{err:?}")] {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
        }
    }
}

#[tokio::test]
async fn an_echoed_authorization_header_is_not_shown() {
    // base64 of "user:s3cret".
    let basic = "dXNlcjpzM2NyZXQ=";
    for body in [
        format!("you sent Authorization: Basic {basic}"),
        format!("Authorization: Basic {basic}\nHost: example"),
        format!(r#"{{"detail":"bad header Authorization: Basic {basic}"}}"#),
        format!("authorization: bearer {SECRET}"),
        format!("proxy says: Bearer {SECRET}, go away"),
    ] {
        let err = error_for(400, &body).await;
        assert_none_shown("Basic echo", &err, &[basic, SECRET, "s3cret"]);
    }
    // Prose and challenges about Basic authentication stay readable.
    let err = error_for(
        401,
        r#"Basic authentication failed; Basic realm="Artifactory""#,
    )
    .await;
    assert!(
        err.to_string().contains("Basic authentication failed"),
        "{err}"
    );
}

#[tokio::test]
async fn secret_fields_of_a_non_standard_json_body_are_not_shown() {
    for body in [
        r#"{"detail":{"auth_secret":"s3cret"}}"#,
        r#"{"detail":[{"input":{"password":"s3cret","apiKey":"s3cret"}}]}"#,
        r#"{"detail": {"token" : "s3cret", "truncated": "#,
        r#"{"detail":"{\"client_secret\":\"s3cret\"}"}"#,
    ] {
        let err = error_for(422, body).await;
        assert_none_shown("JSON body", &err, &["s3cret"]);
    }
}

#[tokio::test]
async fn jwts_anywhere_in_a_body_are_not_shown() {
    for body in [
        format!("\"{SECRET}\""),
        SECRET.to_owned(),
        format!("<html><body>token={SECRET}</body></html>"),
        format!(r#"{{"message":"expired: {SECRET}"}}"#),
    ] {
        let err = error_for(401, &body).await;
        assert_none_shown("JWT", &err, &[SECRET, "c2VjcmV0LXBheWxvYWQ"]);
    }
}

#[test]
fn api_errors_built_by_hand_show_no_credentials() {
    let mut api = pull_through_core::error::ApiError::new(
        "test",
        http::Method::GET,
        "https://h/x",
        http::StatusCode::BAD_REQUEST,
        format!("Authorization: Bearer {SECRET}"),
    );
    api.body = format!(r#"{{"detail":{{"auth_secret":"s3cret"}},"t":"{SECRET}"}}"#);
    let err = pull_through_core::Error::from_api(api, None);
    assert_none_shown("ApiError", &err, &[SECRET, "s3cret"]);
}
