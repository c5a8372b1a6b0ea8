//! Secret Manager, IAM and Resource Manager against wiremock: the secret made once (409 is
//! read), a version with its CRC32C, the service agent's grant by read-modify-write with
//! the etag (retried whole on 409 ABORTED, no write when already bound), the project
//! number read once.

mod common;

use common::{Google, NUMBER, PROJECT, bearer, secrets_path};
use gar_client::{Grant, crc32c};
use pull_through_core::{Deleted, SecretString};
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const SECRET: &str = "pull-through-cgr-private";

fn agent() -> String {
    format!("serviceAccount:service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com")
}

fn secret_path(suffix: &str) -> String {
    format!("{}/{SECRET}{suffix}", secrets_path())
}

async fn mount_project(google: &Google) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/projects/{PROJECT}")))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "projectNumber": NUMBER, "projectId": PROJECT, "lifecycleState": "ACTIVE",
            "name": "Pull Through Test"})))
        .expect(1)
        .mount(&google.crm)
        .await;
}

#[test]
fn crc32c_of_the_known_vector() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b"123456789"), 3_808_858_755);
}

#[tokio::test]
async fn a_version_is_added_with_base64_and_its_crc32c_as_a_decimal_string() {
    let google = Google::start().await;
    Mock::given(method("POST"))
        .and(path(secret_path(":addVersion")))
        .and(bearer())
        .and(body_json(
            json!({"payload": {"data": "MTIzNDU2Nzg5", "dataCrc32c": "3808858755"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": format!("projects/{NUMBER}/secrets/{SECRET}/versions/1"),
            "state": "ENABLED", "createTime": "2026-11-30T10:00:00Z",
            "clientSpecifiedPayloadChecksum": true})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let version = google
        .client()
        .add_secret_version(SECRET, &SecretString::from("123456789"))
        .await
        .unwrap();
    assert_eq!(version.version_id(), Some("1"));
    assert!(version.is_enabled());
    assert_eq!(version.client_specified_payload_checksum, Some(true));
    google.sm.verify().await;
}

#[tokio::test]
async fn a_secret_is_made_once_and_an_existing_one_is_read() {
    let google = Google::start().await;
    Mock::given(method("POST"))
        .and(path(secrets_path()))
        .and(query_param("secretId", SECRET))
        .and(bearer())
        .and(body_json(json!({"replication": {"automatic": {}}})))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"error": {"code": 409,
            "message": format!("Secret [projects/{NUMBER}/secrets/{SECRET}] already exists."),
            "status": "ALREADY_EXISTS"}})),
        )
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(secret_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": format!("projects/{NUMBER}/secrets/{SECRET}"),
            "replication": {"automatic": {}}, "etag": "\"16\""})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let secret = google.client().ensure_secret(SECRET).await.unwrap();
    assert_eq!(secret.name, format!("projects/{NUMBER}/secrets/{SECRET}"));
    google.sm.verify().await;
}

#[tokio::test]
async fn the_grant_reads_then_writes_the_policy_with_its_etag() {
    let google = Google::start().await;
    mount_project(&google).await;
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .and(query_param("options.requestedPolicyVersion", "3"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "version": 1, "etag": "BwXhqDbXy0A=",
            "bindings": [{"role": "roles/secretmanager.admin", "members": ["user:linky@example.com"]}]})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .and(bearer())
        .and(body_json(
            json!({"policy": {"version": 1, "etag": "BwXhqDbXy0A=", "bindings": [
            {"role": "roles/secretmanager.admin", "members": ["user:linky@example.com"]},
            {"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwXhqDbXy1B="})),
        )
        .expect(1)
        .mount(&google.sm)
        .await;
    let client = google.client();
    assert_eq!(
        client.grant_secret_accessor(SECRET).await.unwrap(),
        Grant::Added
    );
    // The project number is read once per client.
    assert_eq!(client.project_number().await.unwrap(), NUMBER);
    google.sm.verify().await;
    google.crm.verify().await;
}

#[tokio::test]
async fn a_stale_etag_retries_the_whole_read_modify_write() {
    let google = Google::start().await;
    mount_project(&google).await;
    // First read, then the write is refused as stale; the second read has a new etag.
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwX1"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwX2",
            "bindings": [{"role": "roles/viewer", "members": ["user:other@example.com"]}]})),
        )
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .and(body_json(json!({"policy": {"version": 1, "etag": "BwX1", "bindings": [
            {"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]}})))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {"code": 409,
            "message": "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
            "status": "ABORTED"}})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .and(body_json(
            json!({"policy": {"version": 1, "etag": "BwX2", "bindings": [
            {"role": "roles/viewer", "members": ["user:other@example.com"]},
            {"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwX3"})),
        )
        .expect(1)
        .mount(&google.sm)
        .await;
    assert_eq!(
        google.client().grant_secret_accessor(SECRET).await.unwrap(),
        Grant::Added
    );
    google.sm.verify().await;
}

#[tokio::test]
async fn aborted_every_time_gives_up_after_the_bounded_retries() {
    let google = Google::start().await;
    mount_project(&google).await;
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwX1"})),
        )
        .expect(4)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"error": {"code": 409,
            "message": "There were concurrent policy changes.", "status": "ABORTED"}})),
        )
        .expect(4)
        .mount(&google.sm)
        .await;
    let err = google
        .client()
        .grant_secret_accessor(SECRET)
        .await
        .unwrap_err();
    // ABORTED is a conflict to retry, not "already exists".
    assert!(!err.is_already_exists(), "{err:?}");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("ABORTED"));
    google.sm.verify().await;
}

#[tokio::test]
async fn a_member_already_bound_is_not_written() {
    let google = Google::start().await;
    mount_project(&google).await;
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 1, "etag": "BwX1",
            "bindings": [{"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]})),
        )
        .expect(2)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&google.sm)
        .await;
    let client = google.client();
    assert_eq!(
        client.grant_secret_accessor(SECRET).await.unwrap(),
        Grant::AlreadyPresent
    );
    assert!(client.secret_accessor_granted(SECRET).await.unwrap());
    google.sm.verify().await;
}

#[tokio::test]
async fn a_conditional_binding_is_kept_with_version_3() {
    let google = Google::start().await;
    mount_project(&google).await;
    let conditional = json!({"role": "roles/secretmanager.secretAccessor", "members": ["user:a@example.com"],
        "condition": {"title": "until 2027", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"}});
    Mock::given(method("GET"))
        .and(path(secret_path(":getIamPolicy")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 3, "etag": "BwX1",
            "bindings": [conditional.clone()]})),
        )
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path(":setIamPolicy")))
        .and(body_json(
            json!({"policy": {"version": 3, "etag": "BwX1", "bindings": [conditional,
            {"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"version": 3, "etag": "BwX2"})),
        )
        .expect(1)
        .mount(&google.sm)
        .await;
    assert_eq!(
        google.client().grant_secret_accessor(SECRET).await.unwrap(),
        Grant::Added
    );
    google.sm.verify().await;
}

#[tokio::test]
async fn versions_are_listed_disabled_and_the_secret_deleted() {
    let google = Google::start().await;
    let version = |n: u32, state: &str| json!({"name": format!("projects/{NUMBER}/secrets/{SECRET}/versions/{n}"), "state": state});
    Mock::given(method("GET"))
        .and(path(secret_path("/versions")))
        .and(query_param("pageSize", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "versions": [version(2, "ENABLED"), version(1, "ENABLED")], "totalSize": 2})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("POST"))
        .and(path(secret_path("/versions/1:disable")))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(version(1, "DISABLED")))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("DELETE"))
        .and(path(secret_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let client = google.client();
    let versions = client.list_secret_versions(SECRET).await.unwrap();
    assert_eq!(versions.len(), 2);
    let disabled = client.disable_secret_version(SECRET, "1").await.unwrap();
    assert_eq!(disabled.state, "DISABLED");
    assert_eq!(
        client.delete_secret(SECRET).await.unwrap(),
        Deleted::Removed
    );
    google.sm.verify().await;
}
