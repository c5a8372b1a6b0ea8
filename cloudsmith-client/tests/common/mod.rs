//! What the wiremock tests share: a client pointed at the mock, the exact header every
//! call sends, and answers shaped as Cloudsmith's.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
use pull_through_core::UpstreamCredentials;
use pull_through_core::http::{RecordingObserver, RetryConfig};
use serde_json::{Value, json};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const KEY: &str = "cs-test-api-key-5f2b9c1d7e";
pub(crate) const OWNER: &str = "acme";
pub(crate) const USER: &str = "linky";
pub(crate) const PULL_TOKEN: &str = "pull-token-jwt-value-0042";
pub(crate) const IDENTITY: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

/// Retries quick enough for tests, and enough of them to see a create tried twice.
pub(crate) fn quick_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_attempts(3)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(4))
}

pub(crate) fn client_with(
    server: &MockServer,
    retry: RetryConfig,
) -> (CloudsmithClient, RecordingObserver) {
    let recorder = RecordingObserver::new();
    let client = CloudsmithClient::builder()
        .with_base_url(format!("{}/", server.uri()))
        .with_docker_url(format!("{}/", server.uri()))
        .with_owner(OWNER)
        .with_api_key(KEY)
        .with_user(USER)
        .with_retry(retry)
        .with_observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    (client, recorder)
}

pub(crate) fn client(server: &MockServer) -> (CloudsmithClient, RecordingObserver) {
    client_with(server, RetryConfig::none())
}

pub(crate) fn backend(
    server: &MockServer,
    layout: Layout,
) -> (CloudsmithBackend, RecordingObserver) {
    let (client, recorder) = client(server);
    let backend = CloudsmithBackend::new(client)
        .with_layout(layout)
        .with_org("example.com".parse().unwrap());
    (backend, recorder)
}

/// `X-Api-Key: <key>`, exactly.
pub(crate) fn api_key() -> wiremock::matchers::HeaderExactMatcher {
    header("x-api-key", KEY)
}

pub(crate) fn pull_token() -> UpstreamCredentials {
    UpstreamCredentials::new(IDENTITY, PULL_TOKEN).unwrap()
}

/// Any request no other mock answers fails the test: nothing may be sent but what the
/// test expects.
pub(crate) async fn nothing_else(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("no other request")
        .mount(server)
        .await;
}

/// Writes fail the test: for the runs that must only read.
pub(crate) async fn no_writes(server: &MockServer) {
    for verb in ["POST", "PUT", "PATCH", "DELETE"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(418))
            .with_priority(1)
            .expect(0)
            .named(format!("no {verb}"))
            .mount(server)
            .await;
    }
}

pub(crate) fn repository(slug: &str, description: Option<&str>) -> Value {
    json!({
        "name": slug, "slug": slug, "slug_perm": format!("{slug}-perm"), "namespace": OWNER,
        "description": description.unwrap_or(""), "repository_type_str": "Private",
        "repository_type": 2, "storage_region": "default", "is_private": true,
        "self_url": format!("https://api.cloudsmith.io/repos/{OWNER}/{slug}/"),
        "created_at": "2026-11-30T10:00:00.000000Z", "deleted_at": null, "package_count": 0,
        "gpg_keys": [], "ecdsa_keys": []
    })
}

/// A Docker upstream as the API answers it (`auth_secret` always null).
pub(crate) fn upstream(
    slug_perm: &str,
    name: &str,
    url: &str,
    priority: i64,
    username: Option<&str>,
) -> Value {
    json!({
        "slug_perm": slug_perm, "name": name, "upstream_url": url, "mode": "Cache and Proxy",
        "priority": priority, "verify_ssl": true, "is_active": true,
        "auth_mode": if username.is_some() { "Username and Password" } else { "None" },
        "auth_username": username, "auth_secret": null,
        "extra_header_1": null, "extra_value_1": null,
        "created_at": format!("2026-11-30T10:00:0{priority}.000000Z"),
        "updated_at": "2026-11-30T10:00:00.000000Z", "available": true,
        "pending_validation": false, "has_failed_signature_verification": false,
        "disable_reason": "N/A", "disable_reason_text": ""
    })
}

/// The recorded requests as `METHOD path`, for order checks.
pub(crate) fn calls(recorder: &RecordingObserver) -> Vec<String> {
    recorder
        .records()
        .into_iter()
        .map(|r| {
            let url = url::Url::parse(&r.url).unwrap();
            format!("{} {}", r.method, url.path())
        })
        .collect()
}

/// Every upstream format of the API but Docker, as the reference lists them.
pub(crate) const OTHER_FORMATS: [&str; 21] = [
    "alpine",
    "cargo",
    "composer",
    "conda",
    "cran",
    "dart",
    "deb",
    "generic",
    "go",
    "helm",
    "hex",
    "huggingface",
    "maven",
    "nix",
    "npm",
    "nuget",
    "python",
    "rpm",
    "ruby",
    "skills",
    "swift",
];

/// Repository `repo` holds no upstream of another format than Docker: what a delete
/// reads before it deletes the repository (each list asked exactly once).
pub(crate) async fn no_other_formats(server: &MockServer, repo: &str) {
    for format in OTHER_FORMATS {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{OWNER}/{repo}/upstream/{format}/")))
            .and(api_key())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .expect(1)
            .named(format!("no {format} upstream"))
            .mount(server)
            .await;
    }
}
