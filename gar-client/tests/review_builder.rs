//! What `GarBuilder::build` checks before any request: the quota project.

mod common;

use std::collections::HashMap;

use common::{Google, bearer};
use gar_client::GarClient;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[test]
fn a_quota_project_that_is_not_a_project_id_is_refused_by_build() {
    let base = || {
        GarClient::builder()
            .with_project("pull-through-test")
            .with_location("us-central1")
            .with_access_token("ya29.x")
    };
    let err = base()
        .with_quota_project("My Billing Project")
        .build()
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("quota project"), "{text}");
    assert!(text.contains("6 to 30 lowercase letters"), "{text}");
    assert!(text.contains("My Billing Project"), "{text}");

    let vars = HashMap::from([
        ("GOOGLE_CLOUD_PROJECT", "pull-through-test"),
        ("GOOGLE_CLOUD_LOCATION", "us-central1"),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.x"),
        ("GOOGLE_CLOUD_QUOTA_PROJECT", "billing\nproject"),
    ]);
    let err = GarClient::builder()
        .from_env_with(|var| vars.get(var).map(|v| v.to_string()))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("(from GOOGLE_CLOUD_QUOTA_PROJECT)"),
        "{err}"
    );
    assert!(base().with_quota_project("billing-project").build().is_ok());
}

#[tokio::test]
async fn a_valid_quota_project_is_sent_as_x_goog_user_project() {
    let google = Google::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/pull-through-test"))
        .and(bearer())
        .and(header("x-goog-user-project", "billing-project"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"projectNumber": "123456789012", "projectId": "pull-through-test"}),
        ))
        .expect(1)
        .mount(&google.crm)
        .await;
    let client = google
        .builder()
        .with_quota_project("billing-project")
        .build()
        .unwrap();
    assert_eq!(client.project_number().await.unwrap(), "123456789012");
    google.crm.verify().await;
}
