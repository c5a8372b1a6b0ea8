//! The transport policy, end to end against local servers: credentials (headers, URL
//! userinfo, bodies marked sensitive) follow no redirect, credential-free `GET`s follow
//! only same-scheme-or-upgrade redirects, nothing sends `Referer`, and loopback is never
//! reached through a proxy.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pull_through_core::http::{HttpClient, RetryConfig};
use pull_through_core::{Error, SecretString};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ADMIN_TOKEN: &str = "admin-bearer-0f3c9a";
const PULL_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.cHVsbC10b2tlbg.c2lnbmF0dXJl";

fn client(base: &str) -> HttpClient {
    HttpClient::builder("test", base.parse().unwrap())
        .retry(RetryConfig::none())
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A server that answers everything with 200 and keeps what it got.
async fn sink() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("stolen"))
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(ADMIN_TOKEN), "leaks the admin token: {text}");
    assert!(!text.contains(PULL_TOKEN), "leaks the pull token: {text}");
}

#[tokio::test]
async fn a_credentialed_put_redirected_to_another_origin_sends_nothing_there() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(method("PUT"))
        .and(path("/api/repositories/cg-private"))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("{}/collect?session=abc", second.uri()).as_str(),
        ))
        .mount(&first)
        .await;
    let client = client(&first.uri());
    let token = SecretString::from(ADMIN_TOKEN);
    let password = SecretString::from(PULL_TOKEN);

    let err = client
        .put("api/repositories/cg-private")
        .bearer_auth(&token)
        .json(&serde_json::json!({"username": "org/id", "password": PULL_TOKEN}))
        .sensitive(&password)
        .send()
        .await
        .unwrap_err();

    let stolen = requests(&second).await;
    assert!(
        stolen.is_empty(),
        "the second origin received {} request(s), body {:?}",
        stolen.len(),
        stolen
            .first()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
    );
    assert_eq!(
        err.status(),
        Some(http::StatusCode::TEMPORARY_REDIRECT),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&first.uri()),
        "names where it came from: {text}"
    );
    assert!(
        text.contains(&second.uri()),
        "names where it pointed: {text}"
    );
    assert!(text.contains("credentials"), "says why: {text}");
    assert!(!text.contains("session=abc"), "no query: {text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
}

#[tokio::test]
async fn a_sensitive_body_follows_no_redirect_even_without_an_auth_header() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(308)
                .insert_header("location", format!("{}/token", second.uri()).as_str()),
        )
        .mount(&first)
        .await;
    let password = SecretString::from(PULL_TOKEN);

    let err = client(&first.uri())
        .post("sts/exchange")
        .form(&[("token", PULL_TOKEN)])
        .sensitive(&password)
        .send()
        .await
        .unwrap_err();

    assert!(requests(&second).await.is_empty(), "the body was re-sent");
    assert_eq!(err.status(), Some(http::StatusCode::PERMANENT_REDIRECT));
    assert!(err.to_string().contains(&second.uri()), "{err}");
    assert_no_secret(&err.to_string());
}

#[tokio::test]
async fn a_credentialed_get_follows_no_redirect_even_on_its_own_origin() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/private"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/v2/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/v2/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let token = SecretString::from(ADMIN_TOKEN);

    let client = client(&server.uri());
    // send_raw hands the redirect back as the answer, and says why it was not followed.
    let answer = client
        .get("v2/private")
        .bearer_auth(&token)
        .send_raw()
        .await
        .unwrap();
    assert_eq!(answer.status(), http::StatusCode::FOUND);
    let err = answer.error_for_status().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("{}/v2/elsewhere", server.uri())),
        "{text}"
    );
    assert!(text.contains("credentials"), "{text}");
    server.verify().await;
}

#[tokio::test]
async fn url_userinfo_counts_as_credentials() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("location", format!("{}/x", second.uri()).as_str()),
        )
        .mount(&first)
        .await;
    let port = url::Url::parse(&first.uri()).unwrap().port().unwrap();
    let url = format!("http://user:{PULL_TOKEN}@127.0.0.1:{port}/x86_64/APKINDEX.tar.gz")
        .parse()
        .unwrap();

    let err = client(&first.uri())
        .request_url(http::Method::GET, url)
        .send()
        .await
        .unwrap_err();

    assert!(requests(&second).await.is_empty());
    assert_eq!(err.status(), Some(http::StatusCode::MOVED_PERMANENTLY));
    assert_no_secret(&err.to_string());
}

#[tokio::test]
async fn a_secret_named_query_parameter_counts_as_credentials() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/x", second.uri()).as_str()),
        )
        .mount(&first)
        .await;
    let url = format!("{}/keys.json?access_token={PULL_TOKEN}", first.uri())
        .parse()
        .unwrap();

    let err = client(&first.uri())
        .request_url(http::Method::GET, url)
        .send()
        .await
        .unwrap_err();

    assert!(
        requests(&second).await.is_empty(),
        "followed with the token"
    );
    assert_eq!(err.status(), Some(http::StatusCode::FOUND));
    assert_no_secret(&err.to_string());
}

#[tokio::test]
async fn a_credential_free_get_still_follows_a_redirect_to_another_origin() {
    // Public downloads (packages.wolfi.dev, blob storage behind a CDN) redirect.
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    Mock::given(path("/os/x86_64/APKINDEX.tar.gz"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/blob/abc", second.uri()).as_str()),
        )
        .mount(&first)
        .await;
    Mock::given(path("/blob/abc"))
        .respond_with(ResponseTemplate::new(200).set_body_string("index"))
        .mount(&second)
        .await;

    let body = client(&first.uri())
        .get("os/x86_64/APKINDEX.tar.gz")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"index");
}

#[tokio::test]
async fn a_credential_free_put_is_not_re_sent_elsewhere() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/x", second.uri()).as_str()),
        )
        .mount(&first)
        .await;

    let err = client(&first.uri())
        .put("notes.txt")
        .body("hello", http::HeaderValue::from_static("text/plain"))
        .send()
        .await
        .unwrap_err();

    assert!(requests(&second).await.is_empty(), "the body was re-sent");
    assert_eq!(err.status(), Some(http::StatusCode::TEMPORARY_REDIRECT));
    assert!(err.to_string().contains("GET and HEAD"), "{err}");
}

#[tokio::test]
async fn no_referer_on_any_request_or_redirect() {
    let first = MockServer::start().await;
    let second = sink().await;
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/b?secret=1"))
        .mount(&first)
        .await;
    Mock::given(path("/b"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/c", second.uri()).as_str()),
        )
        .mount(&first)
        .await;

    client(&first.uri())
        .get("a")
        .query(&[("q", "1")])
        .send()
        .await
        .unwrap();

    let mut seen = requests(&first).await;
    seen.extend(requests(&second).await);
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in seen {
        assert!(
            !request.headers.contains_key("referer"),
            "{} {} carried Referer: {:?}",
            request.method,
            request.url,
            request.headers.get("referer")
        );
    }
}

#[tokio::test]
async fn endless_redirects_end_with_an_error_naming_the_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;

    let err = client(&server.uri()).get("loop").send().await.unwrap_err();

    assert_eq!(err.status(), Some(http::StatusCode::FOUND), "{err:?}");
    assert!(err.to_string().contains("10 redirects"), "{err}");
    assert_eq!(requests(&server).await.len(), 11);
}

#[tokio::test]
async fn the_refused_redirect_is_an_api_error_with_the_redirect_status() {
    let first = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://192.0.2.2/collect"),
        )
        .mount(&first)
        .await;
    let token = SecretString::from(ADMIN_TOKEN);
    let err = client(&first.uri())
        .delete("api/repositories/x")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Api(api) => {
            assert_eq!(api.status, http::StatusCode::TEMPORARY_REDIRECT);
            assert!(api.message.contains("http://192.0.2.2"), "{}", api.message);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Proxies. The test process's environment is left alone: the client runs in a child
// process (this same test binary) with the proxy variables set.

const CHILD_TARGET: &str = "PULL_THROUGH_TEST_PROXY_TARGET";

/// A "proxy" that records every request line it receives and answers 200.
fn fake_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            while !received.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&received).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nproxied",
            );
        }
    });
    (address, seen)
}

/// Runs in the child: a credentialed request to the loopback target, then a credential-free
/// one to a host that only the proxy can answer.
#[tokio::test]
async fn proxy_child() {
    let Ok(target) = std::env::var(CHILD_TARGET) else {
        return; // run directly: nothing to do
    };
    let client = client(&target);
    let token = SecretString::from(ADMIN_TOKEN);
    let body = client
        .get("api/system/ping")
        .bearer_auth(&token)
        .send()
        .await
        .expect("the loopback target answers directly")
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"pong");
    let proxied = client
        .request_url(
            http::Method::GET,
            "http://proxied.invalid/probe".parse().unwrap(),
        )
        .send()
        .await
        .expect("other hosts still go through the proxy")
        .bytes()
        .await
        .unwrap();
    assert_eq!(&proxied[..], b"proxied");
}

#[tokio::test]
async fn loopback_is_never_reached_through_a_proxy() {
    let target = MockServer::start().await;
    Mock::given(path("/api/system/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pong"))
        .mount(&target)
        .await;
    let (proxy, seen) = fake_proxy();

    let exe = std::env::current_exe().unwrap();
    let target_uri = target.uri();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["--exact", "proxy_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_TARGET, target_uri)
            .env("http_proxy", &proxy)
            .env("HTTP_PROXY", &proxy)
            .env("https_proxy", &proxy)
            .env("HTTPS_PROXY", &proxy)
            .env("all_proxy", &proxy)
            .env("ALL_PROXY", &proxy)
            .env_remove("no_proxy")
            .env_remove("NO_PROXY")
            .env_remove("REQUEST_METHOD")
            .output()
    })
    .await
    .unwrap()
    .unwrap();

    let seen = seen.lock().unwrap().clone();
    for request in &seen {
        assert!(
            !request.contains(ADMIN_TOKEN),
            "the proxy received the token: {request}"
        );
        assert!(
            !request.contains("127.0.0.1"),
            "loopback went through the proxy: {request}"
        );
    }
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        requests(&target).await.len(),
        1,
        "the target was reached directly"
    );
    assert_eq!(seen.len(), 1, "only the other host was proxied: {seen:?}");
    assert!(
        seen[0].starts_with("GET http://proxied.invalid/probe"),
        "{seen:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The policy function itself, for what a local test cannot serve (https).

#[test]
fn an_https_to_http_redirect_is_refused_naming_both_origins() {
    use pull_through_core::http::{RedirectReason, check_redirect};
    let from = format!(
        "https://admin:{ADMIN_TOKEN}@localhost:8443/artifactory/api/repositories/x?t={PULL_TOKEN}"
    )
    .parse()
    .unwrap();
    let to = format!("http://u:{PULL_TOKEN}@192.0.2.2/collect?token={PULL_TOKEN}")
        .parse()
        .unwrap();
    for (method, credentials, body) in [
        (http::Method::GET, false, false),
        (http::Method::PUT, true, true),
        (http::Method::GET, true, false),
    ] {
        let refusal = check_redirect(&from, &to, &method, credentials, body).unwrap_err();
        assert_eq!(refusal.reason, RedirectReason::Downgrade, "{method}");
        assert_eq!(refusal.from, "https://localhost:8443");
        assert_eq!(refusal.to, "http://192.0.2.2");
        let text = refusal.to_string();
        assert!(
            text.starts_with(
                "refusing to follow a redirect from https://localhost:8443 to http://192.0.2.2 \
                 (it pointed at http://192.0.2.2/collect): it leaves https for plain http"
            ),
            "{text}"
        );
        assert_no_secret(&text);
        assert_no_secret(&format!("{refusal:?}"));
    }
    // An upgrade, or staying on https, is fine for a credential-free GET.
    let upgrade = "https://192.0.2.2/collect".parse().unwrap();
    let plain = "http://example.com/x".parse().unwrap();
    assert!(check_redirect(&plain, &upgrade, &http::Method::GET, false, false).is_ok());
    assert!(check_redirect(&from, &upgrade, &http::Method::GET, false, false).is_ok());
}
