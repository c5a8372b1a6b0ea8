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
