//! Artifact Registry's calls against wiremock, with the exact method, path, query and JSON:
//! create and its operation (done after polls, done with an error, done with neither),
//! get (404 is none), list (every page), PATCH with its mask, delete, and the delete of a
//! cached package.

mod common;

use common::{Google, PROJECT, bearer, fixture, repositories_path};
use gar_client::model::Repository;
use pull_through_core::{Deleted, Error};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const OPERATION: &str = "projects/pull-through-test/locations/us-central1/operations/0b5e6f2c-1d4a-4c5e-9f7a-2b3c4d5e6f70";

fn operation_path() -> String {
    format!("/v1/{OPERATION}")
}

async fn mount_create(google: &Google, id: &str, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(repositories_path()))
        .and(query_param("repositoryId", id))
        .and(bearer())
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("create-operation.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
}

#[tokio::test]
async fn a_create_polls_its_operation_until_done_and_returns_the_response() {
    let google = Google::start().await;
    mount_create(
        &google,
        "chainguard-pull-through",
        json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY", "description": "Chainguard images",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
    )
    .await;
    // Two polls answer "not done", the third the repository.
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": false})),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&google.ar)
        .await;
    let mut response = fixture("remote-repository.json");
    response["@type"] = json!("type.googleapis.com/google.devtools.artifactregistry.v1.Repository");
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": OPERATION, "done": true, "response": response})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    let created = google
        .client()
        .create_repository(
            "chainguard-pull-through",
            &Repository::remote_docker(Some("Chainguard images".into())),
        )
        .await
        .unwrap();
    assert_eq!(created.id(), Some("chainguard-pull-through"));
    assert_eq!(created.upstream_uri(), Some("https://cgr.dev/"));
    assert_eq!(
        created.registry_uri.as_deref(),
        Some("us-central1-docker.pkg.dev/pull-through-test/chainguard-pull-through")
    );
    google.ar.verify().await;
}

#[tokio::test]
async fn an_operation_done_with_an_error_is_a_failed_create_mapped_like_an_envelope() {
    let google = Google::start().await;
    mount_create(
        &google,
        "cgr-public",
        json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true,
            "error": {"code": 6, "message": "the repository already exists"}})),
        )
        .mount(&google.ar)
        .await;
    let err = google
        .client()
        .create_repository("cgr-public", &Repository::remote_docker(None))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(api.vendor, "gar");
    assert_eq!(api.code.as_deref(), Some("ALREADY_EXISTS"));
    assert!(
        api.message.contains("the repository already exists"),
        "{api:?}"
    );

    // PERMISSION_DENIED (7) names the permission, as an answer would.
    let google = Google::start().await;
    mount_create(
        &google,
        "cgr-public",
        json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true,
            "error": {"code": 7, "message": "Permission 'artifactregistry.repositories.create' denied on resource"}})))
        .mount(&google.ar)
        .await;
    let err = google
        .client()
        .create_repository("cgr-public", &Repository::remote_docker(None))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("lacks artifactregistry.repositories.create in project pull-through-test"),
        "{err}"
    );
}

#[tokio::test]
async fn an_operation_done_with_neither_is_read_back() {
    let google = Google::start().await;
    mount_create(
        &google,
        "chainguard-pull-through",
        json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{}/chainguard-pull-through",
            repositories_path()
        )))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("remote-repository.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
    let created = google
        .client()
        .create_repository("chainguard-pull-through", &Repository::remote_docker(None))
        .await
        .unwrap();
    assert_eq!(created.description.as_deref(), Some("Chainguard images"));
    google.ar.verify().await;
}

#[tokio::test]
async fn get_of_an_absent_repository_is_none_and_both_upstream_shapes_read_the_same() {
    let google = Google::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/absent", repositories_path())))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
            "message": "Requested entity was not found.", "status": "NOT_FOUND"}})),
        )
        .mount(&google.ar)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/cgr-private", repositories_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("private-repository.json")))
        .mount(&google.ar)
        .await;
    let client = google.client();
    assert_eq!(client.get_repository("absent").await.unwrap(), None);
    let private = client.get_repository("cgr-private").await.unwrap().unwrap();
    assert_eq!(private.upstream_uri(), Some("https://cgr.dev"));
    let creds = private.credentials().unwrap();
    assert_eq!(creds.secret(), Some(("pull-through-cgr-private", "3")));
}

#[tokio::test]
async fn list_reads_every_page() {
    let google = Google::start().await;
    let repo = |id: &str| {
        json!({"name": format!("projects/{PROJECT}/locations/us-central1/repositories/{id}"),
        "format": "DOCKER", "mode": "REMOTE_REPOSITORY"})
    };
    Mock::given(method("GET"))
        .and(path(repositories_path()))
        .and(query_param("pageSize", "1000"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "repositories": [repo("a"), repo("b")], "nextPageToken": "page-2"})))
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("GET"))
        .and(path(repositories_path()))
        .and(query_param("pageSize", "1000"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"repositories": [repo("c")]})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    let ids: Vec<String> = google
        .client()
        .list_repositories()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    google.ar.verify().await;
}

#[tokio::test]
async fn a_credentials_patch_sends_only_its_mask_and_subtree() {
    let google = Google::start().await;
    let pin = "projects/pull-through-test/secrets/pull-through-cgr-private/versions/1";
    Mock::given(method("PATCH"))
        .and(path(format!("{}/cgr-private", repositories_path())))
        .and(query_param("updateMask", "remoteRepositoryConfig.upstreamCredentials"))
        .and(bearer())
        .and(body_json(json!({"remoteRepositoryConfig": {"upstreamCredentials": {
            "usernamePasswordCredentials": {"username": "org/identity", "passwordSecretVersion": pin}}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("private-repository.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
    let patched = google
        .client()
        .pin_upstream_credentials("cgr-private", "org/identity", "1")
        .await
        .unwrap();
    assert!(patched.credentials().is_some());

    // Any field, any mask: description alone.
    Mock::given(method("PATCH"))
        .and(path(format!("{}/cgr-public", repositories_path())))
        .and(query_param("updateMask", "description"))
        .and(body_json(json!({"description": "Chainguard images"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("remote-repository.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
    let mut changes = Repository::default();
    changes.description = Some("Chainguard images".into());
    google
        .client()
        .patch_repository("cgr-public", &["description"], &changes)
        .await
        .unwrap();
    google.ar.verify().await;
}

#[tokio::test]
async fn delete_waits_for_its_operation_and_404_is_already_absent() {
    let google = Google::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{}/cgr-public", repositories_path())))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("create-operation.json")))
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("GET"))
        .and(path(operation_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true,
            "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{}/gone", repositories_path())))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
            "message": "Requested entity was not found.", "status": "NOT_FOUND"}})),
        )
        .mount(&google.ar)
        .await;
    let client = google.client();
    assert_eq!(
        client.delete_repository("cgr-public").await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        client.delete_repository("gone").await.unwrap(),
        Deleted::AlreadyAbsent
    );
    google.ar.verify().await;
}

#[tokio::test]
async fn a_package_delete_percent_encodes_the_image_name() {
    let google = Google::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{}/cgr-public/packages/chainguard%2Fgo",
            repositories_path()
        )))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": OPERATION, "done": true})),
        )
        .expect(1)
        .mount(&google.ar)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{}/cgr-public/packages/example.com%2Fchainguard-base",
            repositories_path()
        )))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
            "message": "Package not found", "status": "NOT_FOUND"}})),
        )
        .mount(&google.ar)
        .await;
    let client = google.client();
    assert_eq!(
        client
            .delete_package("cgr-public", "chainguard/go")
            .await
            .unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        client
            .delete_package("cgr-public", "example.com/chainguard-base")
            .await
            .unwrap(),
        Deleted::AlreadyAbsent
    );
    google.ar.verify().await;
}
