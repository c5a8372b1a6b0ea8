//! PATCH with an update mask, and the upstream validation of create and patch: the
//! seed's "Edit → Authenticated" step, Terraform's leaf masks, removing credentials, and
//! every refusal.

mod gar_common;

use gar_common::{Google, NUMBER, PROJECT, credentials, remote_body};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn only_the_masked_fields_change_and_the_answer_is_the_repository() {
    let google = Google::start().await;
    let mut body = remote_body();
    body["labels"] = json!({"team": "platform"});
    google.create_done("cg", body).await;
    let before = google.get_repository("cg").await.ok().clone();

    let patched = google
        .patch(
            "cg",
            Some("description"),
            json!({"description": "new", "labels": {"other": "x"}}),
        )
        .await;
    let after = patched.ok().clone();
    assert!(
        after.get("done").is_none(),
        "PATCH answers the repository, not an operation"
    );
    assert_eq!(after["description"], "new");
    assert_eq!(after["labels"], json!({"team": "platform"}));
    assert_eq!(after["createTime"], before["createTime"]);
    assert!(after["updateTime"].as_str() >= before["updateTime"].as_str());
    assert_eq!(google.get_repository("cg").await.ok(), &after);

    // A masked field absent from the body is cleared.
    let cleared = google.patch("cg", Some("labels"), json!({})).await;
    assert!(cleared.ok().get("labels").is_none());
    // Without a mask, the fields in the body are the mask; snake_case masks work too.
    let unmasked = google
        .patch("cg", None, json!({"labels": {"a": "b"}}))
        .await;
    assert_eq!(unmasked.ok()["labels"], json!({"a": "b"}));
    assert_eq!(unmasked.ok()["description"], "new");
    let snake = google
        .patch(
            "cg",
            Some("description,labels"),
            json!({"description": "d"}),
        )
        .await;
    assert_eq!(snake.ok()["description"], "d");
    assert!(snake.ok().get("labels").is_none());
}

#[tokio::test]
async fn immutable_fields_and_strange_paths_are_refused() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let before = google.get_repository("cg").await.ok().clone();
    let cases = [
        (
            "format",
            json!({"format": "MAVEN"}),
            "field \"format\" is immutable",
        ),
        (
            "mode",
            json!({"mode": "STANDARD_REPOSITORY"}),
            "field \"mode\" is immutable",
        ),
        (
            "kmsKeyName",
            json!({}),
            "field \"kms_key_name\" is immutable",
        ),
        (
            "remoteRepositoryConfig.commonRepository.uri",
            json!({"remoteRepositoryConfig": {"commonRepository": {"uri": "https://example.com/"}}}),
            "field \"remote_repository_config.common_repository.uri\" is immutable",
        ),
        (
            "remote_repository_config.description",
            json!({}),
            "field \"remote_repository_config.description\" is immutable",
        ),
        (
            "remoteRepositoryConfig",
            json!({"remoteRepositoryConfig": {"commonRepository": {"uri": "https://example.com/"}}}),
            "field \"remote_repository_config.common_repository\" is immutable",
        ),
        (
            "createTime",
            json!({}),
            "Invalid update_mask path \"createTime\"",
        ),
        (
            "descriptionn",
            json!({}),
            "Invalid update_mask path \"descriptionn\"",
        ),
    ];
    for (mask, body, expected) in cases {
        let answer = google.patch("cg", Some(mask), body).await;
        let message = answer.refused(400, "INVALID_ARGUMENT");
        assert!(message.contains(expected), "{mask}: {message}");
    }
    let virtual_on_remote = google
        .patch(
            "cg",
            Some("virtualRepositoryConfig"),
            json!({"virtualRepositoryConfig": {"upstreamPolicies": []}}),
        )
        .await;
    assert!(
        virtual_on_remote
            .refused(400, "INVALID_ARGUMENT")
            .contains("only allowed on a virtual repository")
    );
    let unknown_field = google
        .patch("cg", Some("description"), json!({"descriptio": "x"}))
        .await;
    unknown_field.refused(400, "INVALID_ARGUMENT");
    assert_eq!(
        google.get_repository("cg").await.ok(),
        &before,
        "nothing changed"
    );
    google
        .patch("absent", Some("description"), json!({}))
        .await
        .refused(404, "NOT_FOUND");
}

#[tokio::test]
async fn switching_to_authenticated_validates_the_credentials_upstream() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let version = google.pull_secret("cgr-pull", false).await;
    assert_eq!(
        version,
        format!("projects/{NUMBER}/secrets/cgr-pull/versions/1")
    );
    let mask = Some("remoteRepositoryConfig.upstreamCredentials");
    let body = json!({"remoteRepositoryConfig": {"upstreamCredentials": credentials(&version)}});

    let denied = google.patch("cg", mask, body.clone()).await;
    assert_eq!(
        denied.refused(400, "INVALID_ARGUMENT"),
        format!(
            "Failed to validate remote upstream: Permission \"secretmanager.versions.access\" denied \
             on resource \"{version}\" (or it may not exist) for the Artifact Registry service agent \
             service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com: grant it \
             roles/secretmanager.secretAccessor on the secret."
        )
    );
    assert!(
        google.get_repository("cg").await.ok()["remoteRepositoryConfig"]
            .get("upstreamCredentials")
            .is_none()
    );

    google.grant("cgr-pull").await;
    let switched = google.patch("cg", mask, body).await;
    assert_eq!(
        switched.ok()["remoteRepositoryConfig"],
        json!({"description": "cgr.dev", "commonRepository": {"uri": "https://cgr.dev/"},
               "upstreamCredentials": credentials(&version)})
    );

    // A version with a password cgr.dev refuses.
    google.add_version("cgr-pull", "not-a-token").await.ok();
    let wrong = json!({"remoteRepositoryConfig": {"upstreamCredentials": credentials(&format!("projects/{PROJECT}/secrets/cgr-pull/versions/2"))}});
    let message = google
        .patch("cg", mask, wrong)
        .await
        .refused(400, "INVALID_ARGUMENT");
    assert!(
        message.starts_with("Failed to validate remote upstream: failed to fetch bearer token"),
        "{message}"
    );
    // A version that does not exist, or is disabled.
    let missing = json!({"remoteRepositoryConfig": {"upstreamCredentials": credentials("projects/123456789012/secrets/cgr-pull/versions/9")}});
    assert!(
        google
            .patch("cg", mask, missing)
            .await
            .refused(400, "INVALID_ARGUMENT")
            .contains("not found")
    );
    google
        .call(
            Method::POST,
            google.sm(&format!(
                "v1/projects/{PROJECT}/secrets/cgr-pull/versions/1:disable"
            )),
            Some(json!({})),
        )
        .await
        .ok();
    let disabled = json!({"remoteRepositoryConfig": {"upstreamCredentials": credentials("projects/pull-through-sandbox/secrets/cgr-pull/versions/1")}});
    let message = google
        .patch("cg", mask, disabled.clone())
        .await
        .refused(400, "INVALID_ARGUMENT");
    assert!(
        message.contains("versions/1\" is in DISABLED state"),
        "{message}"
    );
    // ...unless validation is turned off.
    let mut unchecked = disabled;
    unchecked["remoteRepositoryConfig"]["disableUpstreamValidation"] = true.into();
    let stored = google.patch("cg", mask, unchecked).await;
    let remote = &stored.ok()["remoteRepositoryConfig"];
    assert!(
        remote.get("disableUpstreamValidation").is_none(),
        "input only"
    );
    assert_eq!(
        remote["upstreamCredentials"]["usernamePasswordCredentials"]["passwordSecretVersion"],
        "projects/pull-through-sandbox/secrets/cgr-pull/versions/1"
    );
}

#[tokio::test]
async fn terraforms_leaf_masks_and_removing_credentials() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let version = google.pull_secret("cgr-pull", true).await;
    let mut whole = remote_body()["remoteRepositoryConfig"].clone();
    whole["upstreamCredentials"] = credentials(&version);
    let leaves = "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.username,\
                  remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.passwordSecretVersion";
    let patched = google
        .patch("cg", Some(leaves), json!({"remoteRepositoryConfig": whole}))
        .await;
    assert_eq!(
        patched.ok()["remoteRepositoryConfig"]["upstreamCredentials"],
        credentials(&version)
    );

    // The whole remote config may be masked when only its credentials change.
    let same = google
        .patch(
            "cg",
            Some("remoteRepositoryConfig"),
            json!({"remoteRepositoryConfig": whole}),
        )
        .await;
    assert_eq!(
        same.ok()["remoteRepositoryConfig"]["upstreamCredentials"],
        credentials(&version)
    );

    let removed = google
        .patch(
            "cg",
            Some("remoteRepositoryConfig.upstreamCredentials"),
            json!({}),
        )
        .await;
    assert_eq!(
        removed.ok()["remoteRepositoryConfig"],
        json!({"description": "cgr.dev", "commonRepository": {"uri": "https://cgr.dev/"}})
    );
}

#[tokio::test]
async fn create_with_credentials_validates_them_too() {
    let google = Google::start().await;
    let version = google.pull_secret("cgr-pull", false).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    let denied = google.create("cg-private", body.clone()).await;
    assert!(
        denied
            .refused(400, "INVALID_ARGUMENT")
            .contains("secretmanager.versions.access")
    );
    assert!(google.gar.repositories().is_empty());
    google.grant("cgr-pull").await;
    let done = google.create_done("cg-private", body).await;
    assert_eq!(
        done["response"]["remoteRepositoryConfig"]["upstreamCredentials"],
        credentials(&version)
    );
}
