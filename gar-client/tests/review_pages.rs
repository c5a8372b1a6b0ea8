//! The one pagination loop behind every list: secret versions over pages (as the
//! repository list is tested in repositories.rs), and a server that repeats its token.

mod common;

use common::{Google, PROJECT, bearer};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn versions_path() -> String {
    format!("/v1/projects/{PROJECT}/secrets/pull-through-cgr-private/versions")
}

fn version(n: u32, state: &str) -> serde_json::Value {
    json!({"name": format!("projects/123456789012/secrets/pull-through-cgr-private/versions/{n}"),
        "state": state})
}

#[tokio::test]
async fn secret_versions_are_read_over_every_page() {
    let google = Google::start().await;
    Mock::given(method("GET"))
        .and(path(versions_path()))
        .and(bearer())
        .and(query_param("pageSize", "100"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "versions": [version(3, "ENABLED"), version(2, "DISABLED")],
            "nextPageToken": "page-2", "totalSize": 3})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(versions_path()))
        .and(bearer())
        .and(query_param("pageSize", "100"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "versions": [version(1, "DESTROYED")], "nextPageToken": "", "totalSize": 3})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let versions = google
        .client()
        .list_secret_versions("pull-through-cgr-private")
        .await
        .unwrap();
    let listed: Vec<(Option<&str>, &str)> = versions
        .iter()
        .map(|v| (v.version_id(), v.state.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (Some("3"), "ENABLED"),
            (Some("2"), "DISABLED"),
            (Some("1"), "DESTROYED")
        ]
    );
    google.sm.verify().await;
}

#[tokio::test]
async fn a_server_that_repeats_its_token_does_not_loop() {
    let google = Google::start().await;
    Mock::given(method("GET"))
        .and(path(versions_path()))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "versions": [version(2, "ENABLED")], "nextPageToken": "same"})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(versions_path()))
        .and(query_param("pageToken", "same"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "versions": [version(1, "ENABLED")], "nextPageToken": "same"})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let versions = google
        .client()
        .list_secret_versions("pull-through-cgr-private")
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    google.sm.verify().await;
}
