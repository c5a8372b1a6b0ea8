//! Fetching through a mock repository (wiremock on loopback).

use apk_repo::fetch::RepoClient;
use apk_repo::http_auth::HttpAuth;
use apk_repo::index::{IndexError, Keyring, Package, SigningKey, sign_index, write_index};
use apk_repo::repo_url::RepoUrl;
use pull_through_core::Error;
use pull_through_core::http::RetryConfig;
use wiremock::matchers::{any, header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn package(name: &str, version: &str) -> Package {
    let mut package = Package::default();
    package.name = name.into();
    package.version = version.into();
    package
}

/// A signed index and the keyring that trusts it.
fn signed_index() -> (Vec<u8>, Keyring, SigningKey) {
    let key = SigningKey::generate("chainguard-test.rsa.pub").unwrap();
    let unsigned = write_index(
        &[
            package("wget", "1.24.5-r5"),
            package("libstdc++", "13.2.0-r1"),
        ],
        "t",
    );
    let signed = sign_index(&unsigned, &[&key]).unwrap();
    let mut keyring = Keyring::new();
    keyring.add_pem(key.name(), &key.public_key_pem()).unwrap();
    (signed, keyring, key)
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::prelude::BASE64_STANDARD.encode(format!("{user}:{password}"))
    )
}

fn repo(server: &MockServer) -> RepoUrl {
    RepoUrl::parse(&format!("{}/example.com", server.uri())).unwrap()
}

fn authorizations(requests: &[Request]) -> Vec<Option<String>> {
    requests
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn url_userinfo_is_sent_with_the_first_request() {
    let server = MockServer::start().await;
    let (index, keyring, _) = signed_index();
    // The Basic header carries the raw user: '@' and '/' are not percent-encoded there.
    Mock::given(method("GET"))
        .and(path("/example.com/x86_64/APKINDEX.tar.gz"))
        .and(header(
            "authorization",
            basic("linky@example.com", "tok/en").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(index))
        .mount(&server)
        .await;
    let url = repo(&server)
        .with_credentials("linky@example.com", "tok/en")
        .unwrap();
    let client = RepoClient::builder(url).build().unwrap();

    let parsed = client
        .fetch_verified_index("x86_64", &keyring)
        .await
        .unwrap();

    assert_eq!(parsed.packages.len(), 2);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "userinfo is sent up front, no 401 round trip"
    );
}

#[tokio::test]
async fn http_auth_is_sent_after_a_401() {
    let server = MockServer::start().await;
    let (index, keyring, _) = signed_index();
    Mock::given(method("GET"))
        .and(header("authorization", basic("0123/abcd", "jwt").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(index))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", "Basic realm=\"apk\""),
        )
        .mount(&server)
        .await;
    let host = url::Url::parse(&server.uri())
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let client = RepoClient::builder(repo(&server))
        .http_auth(HttpAuth::basic(&host, "0123/abcd", "jwt").unwrap())
        .build()
        .unwrap();

    let parsed = client
        .fetch_verified_index("x86_64", &keyring)
        .await
        .unwrap();

    assert_eq!(parsed.signed_by.as_deref(), Some("chainguard-test.rsa.pub"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        authorizations(&requests),
        [None, Some(basic("0123/abcd", "jwt"))],
        "anonymous first, then HTTP_AUTH"
    );
}

#[tokio::test]
async fn http_auth_is_never_sent_after_a_403() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string("403 FORBIDDEN caller does not have the required capabilities"),
        )
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server))
        .http_auth(HttpAuth::basic("apk.cgr.dev", "user", "secret-token").unwrap())
        .build()
        .unwrap();

    let err = client.fetch_index("x86_64").await.unwrap_err();

    match &err {
        IndexError::Fetch(Error::PermissionDenied(api)) => {
            assert!(api.fix.as_deref().unwrap().contains("apk.pull"));
            assert!(api.fix.as_deref().unwrap().contains("mint a new token"));
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    assert!(!err.to_string().contains("secret-token"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_credentials_end_as_unauthenticated() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server))
        .http_auth(HttpAuth::basic("h", "user", "wrong").unwrap())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let err = client.fetch_index("x86_64").await.unwrap_err();
    assert!(
        matches!(err, IndexError::Fetch(Error::Unauthenticated(_))),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one resend, no loop"
    );
}

#[tokio::test]
async fn apko_mode_compares_the_host_with_its_port() {
    let server = MockServer::start().await;
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(signed_index().0))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let bare_host = url::Url::parse(&server.uri())
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();

    // apko compares HTTP_AUTH's host with Go's URL.Host, which carries the port, and an
    // HTTP_AUTH host cannot carry one: apko never authenticates to a host:port repository,
    // not even after a 401.
    let apko = RepoClient::builder(repo(&server))
        .http_auth(HttpAuth::basic(&bare_host, "user", "t").unwrap())
        .preemptive_http_auth()
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    assert!(apko.fetch_index("x86_64").await.is_err());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(authorizations(&requests), [None]);

    // apk-tools, with the same value, answers the 401.
    server.reset().await;
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(signed_index().0))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let apk = RepoClient::builder(repo(&server))
        .http_auth(HttpAuth::basic(&bare_host, "user", "t").unwrap())
        .build()
        .unwrap();
    apk.fetch_index("x86_64").await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn keys_are_discovered_through_apk_configuration() {
    let server = MockServer::start().await;
    let (index, _, key) = signed_index();
    Mock::given(path("/example.com/apk-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "jwks_uri": format!("{}/example.com/keys.json", server.uri())
        })))
        .mount(&server)
        .await;
    Mock::given(path("/example.com/keys.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": [key.jwk()]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/example.com/x86_64/APKINDEX.tar.gz"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(index))
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server)).build().unwrap();

    let keyring = client
        .discover_keys()
        .await
        .unwrap()
        .expect("discovery is supported");

    assert_eq!(
        keyring.names().collect::<Vec<_>>(),
        ["chainguard-test.rsa.pub"]
    );
    let parsed = client
        .fetch_verified_index("x86_64", &keyring)
        .await
        .unwrap();
    assert_eq!(parsed.packages[0].name, "wget");
}

#[tokio::test]
async fn no_discovery_is_none() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server)).build().unwrap();
    assert!(client.discover_keys().await.unwrap().is_none());
}

#[tokio::test]
async fn package_names_with_plus_reach_the_server_unmangled() {
    let server = MockServer::start().await;
    Mock::given(path("/example.com/x86_64/libstdc++-13.2.0-r1.apk"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"apk bytes".to_vec()))
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server)).build().unwrap();
    let body = client
        .fetch_file("x86_64", "libstdc++-13.2.0-r1.apk")
        .await
        .unwrap();
    assert_eq!(&body[..], b"apk bytes");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.path(),
        "/example.com/x86_64/libstdc++-13.2.0-r1.apk"
    );
}

#[tokio::test]
async fn oversized_downloads_are_refused() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 4096]))
        .mount(&server)
        .await;
    let client = RepoClient::builder(repo(&server))
        .max_download(1024)
        .build()
        .unwrap();
    let err = client.fetch_index("x86_64").await.unwrap_err();
    assert!(err.to_string().contains("1024"), "{err}");
}
