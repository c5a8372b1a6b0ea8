//! Long-running operations against wiremock: every `google.rpc.Code` an operation can
//! finish with, the URL errors name, and a polling budget that runs out.

mod common;

use common::{Google, bearer, fixture, repositories_path};
use gar_client::model::Repository;
use pull_through_core::Error;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const OPERATION: &str = "projects/pull-through-test/locations/us-central1/operations/0b5e6f2c-1d4a-4c5e-9f7a-2b3c4d5e6f70";

async fn mount_create(google: &Google) {
    Mock::given(method("POST"))
        .and(path(repositories_path()))
        .and(query_param("repositoryId", "cgr-public"))
        .and(bearer())
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("create-operation.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
}

async fn create(google: &Google) -> Result<Repository, Error> {
    google
        .client()
        .create_repository("cgr-public", &Repository::remote_docker(None))
        .await
}

#[tokio::test]
async fn every_canonical_code_has_its_name_and_http_status() {
    for (code, status, name) in [
        (1, 499, "CANCELLED"),
        (2, 500, "UNKNOWN"),
        (12, 501, "UNIMPLEMENTED"),
        (13, 500, "INTERNAL"),
        (14, 503, "UNAVAILABLE"),
        (15, 500, "DATA_LOSS"),
        (4, 504, "DEADLINE_EXCEEDED"),
    ] {
        let google = Google::start().await;
        mount_create(&google).await;
        Mock::given(method("GET"))
            .and(path(format!("/v1/{OPERATION}")))
            .and(bearer())
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true,
                "error": {"code": code, "message": "the operation failed"}})),
            )
            .mount(&google.ar)
            .await;
        let err = create(&google).await.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{code}: {err:?}");
        let api = err.api().unwrap();
        assert_eq!(api.status.as_u16(), status, "{code}");
        assert_eq!(api.code.as_deref(), Some(name), "{code}");
        // The base URL's slash and the path's are one.
        assert_eq!(api.url, format!("{}/v1/{OPERATION}", google.ar.uri()));
        google.ar.verify().await;
    }
}

/// An operation still running when the polling budget is spent: Google's answer to a
/// deadline, naming the operation and saying it may still finish.
#[tokio::test]
async fn a_spent_polling_budget_is_a_deadline_that_may_still_finish() {
    let google = Google::start().await;
    mount_create(&google).await;
    // The test builder allows 20 tries: the POST's answer and 19 polls, all "not done".
    Mock::given(method("GET"))
        .and(path(format!("/v1/{OPERATION}")))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": false})),
        )
        .expect(19)
        .mount(&google.ar)
        .await;
    let err = create(&google).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status.as_u16(), 504);
    assert_eq!(api.code.as_deref(), Some("DEADLINE_EXCEEDED"));
    assert_eq!(api.url, format!("{}/v1/{OPERATION}", google.ar.uri()));
    assert!(
        api.message
            .starts_with(&format!("operation {OPERATION} had not finished after")),
        "{api:?}"
    );
    assert!(
        api.fix
            .as_deref()
            .unwrap()
            .starts_with("it may still finish: run again"),
        "{api:?}"
    );
    google.ar.verify().await;
}

/// A create that finished without a result, whose repository a read does not find yet:
/// Google's own answer, 404.
#[tokio::test]
async fn a_created_repository_that_cannot_be_read_yet_is_not_found() {
    let google = Google::start().await;
    mount_create(&google).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/{OPERATION}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/cgr-public", repositories_path())))
        .and(bearer())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})))
        .expect(1)
        .mount(&google.ar)
        .await;
    let err = create(&google).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be read yet"), "{err}");
    google.ar.verify().await;
}

/// A secret whose create answered 409 but whose read answers 404: not found, as Google
/// says.
#[tokio::test]
async fn an_existing_secret_that_cannot_be_read_yet_is_not_found() {
    let google = Google::start().await;
    let secrets = format!("/v1/projects/{}/secrets", common::PROJECT);
    Mock::given(method("POST"))
        .and(path(&secrets))
        .and(query_param("secretId", "pull-through-cgr-private"))
        .and(bearer())
        .and(body_json(json!({"replication": {"automatic": {}}})))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {
            "code": 409, "status": "ALREADY_EXISTS",
            "message": "Secret [projects/123456789012/secrets/pull-through-cgr-private] already exists."}})))
        .expect(1)
        .mount(&google.sm)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{secrets}/pull-through-cgr-private")))
        .and(bearer())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": 404, "status": "NOT_FOUND",
            "message": "Secret [projects/123456789012/secrets/pull-through-cgr-private] not found."}})))
        .expect(1)
        .mount(&google.sm)
        .await;
    let err = google
        .client()
        .ensure_secret("pull-through-cgr-private")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be read yet"), "{err}");
    google.sm.verify().await;
}
