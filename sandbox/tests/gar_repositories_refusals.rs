//! What the Artifact Registry fake takes and refuses like Google, in Google's envelope:
//! bodies read with the proto3 JSON rules (enum numbers and snake_case names taken,
//! unknown fields and values refused), repositories that cannot be, bad ids, projects,
//! locations and queries, and calls without the access token or to a disabled API.

mod gar_common;

use gar_common::{Google, PROJECT, remote_body};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn enums_as_numbers_and_snake_case_names_are_taken_like_google() {
    let google = Google::start().await;
    let body = json!({"format": 1, "mode": 3, "remote_repository_config": {"common_repository": {"uri": "https://cgr.dev/"}}});
    let mut url = google.ar(&google.repositories_url());
    url.query_pairs_mut()
        .append_pair("repository_id", "numbers")
        .append_pair("$alt", "json;enum-encoding=int");
    let created = google.call(Method::POST, url, Some(body)).await;
    google.wait(created.ok()).await;
    let mut url = google.ar(&format!("v1/{}", Google::repository_path("numbers")));
    url.query_pairs_mut()
        .append_pair("$alt", "json;enum-encoding=int");
    let read = google.call(Method::GET, url, None).await;
    assert_eq!(read.ok()["format"], 1);
    assert_eq!(read.ok()["mode"], 3);
    assert_eq!(
        read.ok()["remoteRepositoryConfig"]["commonRepository"]["uri"],
        "https://cgr.dev/"
    );
    assert_eq!(
        google.get_repository("numbers").await.ok()["format"],
        "DOCKER"
    );
}

#[tokio::test]
async fn bodies_with_unknown_fields_or_values_are_refused() {
    let google = Google::start().await;
    let cases = [
        (
            json!({"format": "DOCKER", "formatt": "DOCKER"}),
            "Invalid JSON payload received. Unknown name \"formatt\" at 'repository': Cannot find field.",
        ),
        (
            json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY", "remoteRepositoryConfig": {"commonRepository": {"url": "https://cgr.dev/"}}}),
            "Invalid JSON payload received. Unknown name \"url\" at 'repository.remote_repository_config.common_repository': Cannot find field.",
        ),
        (
            json!({"format": "DOKER"}),
            "Invalid value at 'repository.format' (type.googleapis.com/google.devtools.artifactregistry.v1.Repository.Format), \"DOKER\"",
        ),
        (
            json!({"format": "DOCKER", "mode": 7}),
            "Invalid value at 'repository.mode' (type.googleapis.com/google.devtools.artifactregistry.v1.Repository.Mode), 7",
        ),
        (
            json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY", "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": "QUAY"}}}),
            "Invalid value at 'repository.remote_repository_config.docker_repository.public_repository' (type.googleapis.com/google.devtools.artifactregistry.v1.RemoteRepositoryConfig.DockerRepository.PublicRepository), \"QUAY\"",
        ),
        (
            json!({"format": "DOCKER", "description": 5}),
            "Invalid value at 'repository.description' (TYPE_STRING), 5",
        ),
        (
            json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY", "remoteRepositoryConfig": {"noCache": {}}}),
            "Invalid JSON payload received. Unknown name \"noCache\" at 'repository.remote_repository_config': Cannot find field.",
        ),
    ];
    for (body, expected) in cases {
        let answer = google.create("refused", body.clone()).await;
        assert_eq!(answer.refused(400, "INVALID_ARGUMENT"), expected, "{body}");
        assert_eq!(
            answer.body["error"]["details"][0]["@type"],
            "type.googleapis.com/google.rpc.BadRequest"
        );
    }
    let broken = google
        .http
        .post(google.ar(&format!("{}?repositoryId=x", google.repositories_url())))
        .bearer_auth(google.token())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert!(google.gar.repositories().is_empty());
}

#[tokio::test]
async fn repositories_that_cannot_be_are_refused() {
    let google = Google::start().await;
    let remote = |config: Value| json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY", "remoteRepositoryConfig": config});
    let cases = [
        (
            json!({"mode": "STANDARD_REPOSITORY"}),
            "Repository format must be specified",
        ),
        (
            json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY"}),
            "needs remote_repository_config",
        ),
        (
            json!({"format": "DOCKER", "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}}),
            "only allowed on a remote repository",
        ),
        (remote(json!({"description": "x"})), "needs an upstream"),
        (
            remote(json!({"mavenRepository": {"publicRepository": "MAVEN_CENTRAL"}})),
            "cannot use maven_repository",
        ),
        (
            remote(json!({"commonRepository": {"uri": "cgr.dev"}})),
            "Invalid upstream uri \"cgr.dev\"",
        ),
        (
            remote(json!({"dockerRepository": {}})),
            "needs public_repository or custom_repository",
        ),
        (
            remote(
                json!({"commonRepository": {"uri": "https://cgr.dev/"}, "upstreamCredentials": {"usernamePasswordCredentials": {"username": "u", "passwordSecretVersion": "projects/p/secrets/s"}}}),
            ),
            "must be in the format of projects/{project}/secrets/{secret}/versions/{version}",
        ),
        (
            remote(
                json!({"commonRepository": {"uri": "https://cgr.dev/"}, "upstreamCredentials": {"usernamePasswordCredentials": {"username": "u"}}}),
            ),
            "needs both username and password_secret_version",
        ),
        (
            json!({"format": "DOCKER", "mode": "MODE_UNSPECIFIED", "disallowUnspecifiedMode": true}),
            "mode must be specified",
        ),
        (
            json!({"format": "DOCKER", "labels": {"Team": "x"}}),
            "Invalid label",
        ),
        (
            json!({"format": "MAVEN", "dockerConfig": {"immutableTags": true}}),
            "docker_config needs the DOCKER format",
        ),
        (
            json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY", "virtualRepositoryConfig": {"upstreamPolicies": [{"id": "a", "repository": Google::repository_path("missing"), "priority": 1}]}}),
            "does not exist",
        ),
        (
            remote(json!({"commonRepository": {"uri": "https://registry.example.com/"}})),
            "Failed to validate remote upstream: could not reach https://registry.example.com/",
        ),
    ];
    for (body, expected) in cases {
        let answer = google.create("refused", body.clone()).await;
        let message = answer.refused(400, "INVALID_ARGUMENT");
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert!(google.gar.repositories().is_empty());
}

#[tokio::test]
async fn bad_ids_projects_locations_and_queries_are_refused() {
    let google = Google::start().await;
    for id in ["", "1abc", "abc-", "ABC", "a_b", "a.b", &"a".repeat(64)] {
        let answer = google.create(id, remote_body()).await;
        let message = answer.refused(400, "INVALID_ARGUMENT");
        assert!(message.contains("repository"), "{id:?}: {message}");
    }
    let post = |path: String| {
        let url = google.ar(&format!("{path}?repositoryId=ok"));
        google.call(Method::POST, url, Some(remote_body()))
    };
    let unknown = post("v1/projects/someone-elses/locations/us-central1/repositories".into()).await;
    assert_eq!(
        unknown.refused(403, "PERMISSION_DENIED"),
        "Permission 'artifactregistry.repositories.create' denied on resource \
         'projects/someone-elses/locations/us-central1' (or it may not exist)."
    );
    assert_eq!(
        unknown.body["error"]["details"][0]["reason"],
        "IAM_PERMISSION_DENIED"
    );
    let malformed = post("v1/projects/Bad_Project/locations/us-central1/repositories".into()).await;
    malformed.refused(400, "INVALID_ARGUMENT");
    assert_eq!(
        malformed.body["error"]["details"][0]["reason"],
        "RESOURCE_PROJECT_INVALID"
    );
    let location = post(format!(
        "v1/projects/{PROJECT}/locations/us-central9/repositories"
    ))
    .await;
    assert!(
        location
            .refused(400, "INVALID_ARGUMENT")
            .contains("us-central9")
    );
    // The project number names the project too.
    let by_number =
        post("v1/projects/123456789012/locations/us-central1/repositories".into()).await;
    google.wait(by_number.ok()).await;
    assert_eq!(google.gar.repositories(), [Google::repository_path("ok")]);

    let stranger = google
        .call(
            Method::GET,
            google.ar(&format!("{}?pageSiz=2", google.repositories_url())),
            None,
        )
        .await;
    assert_eq!(
        stranger.refused(400, "INVALID_ARGUMENT"),
        "Invalid JSON payload received. Unknown name \"pageSiz\": Cannot bind query parameter. \
         Field 'pageSiz' could not be found in request message."
    );
}

#[tokio::test]
async fn every_call_needs_the_access_token_and_an_enabled_api() {
    let google = Google::start().await;
    let url = google.ar(&google.repositories_url());
    let missing = google.call_as(Method::GET, url.clone(), None, None).await;
    assert!(
        missing
            .refused(401, "UNAUTHENTICATED")
            .starts_with("Request is missing required authentication credential.")
    );
    assert_eq!(
        missing.body["error"]["details"][0]["reason"],
        "CREDENTIALS_MISSING"
    );
    assert_eq!(
        missing.headers["www-authenticate"],
        "Bearer realm=\"https://accounts.google.com/\""
    );
    let wrong = google
        .call_as(Method::GET, url.clone(), None, Some("ya29.wrong"))
        .await;
    assert!(
        wrong
            .refused(401, "UNAUTHENTICATED")
            .starts_with("Request had invalid authentication credentials.")
    );

    google
        .gar
        .set_api_enabled("artifactregistry.googleapis.com", false);
    let disabled = google.call(Method::GET, url.clone(), None).await;
    let message = disabled.refused(403, "PERMISSION_DENIED");
    assert!(message.starts_with("Artifact Registry API has not been used in project 123456789012 before or it is disabled."), "{message}");
    let info = &disabled.body["error"]["details"][0];
    assert_eq!(info["reason"], "SERVICE_DISABLED");
    assert_eq!(
        info["metadata"]["service"],
        "artifactregistry.googleapis.com"
    );
    assert_eq!(info["metadata"]["consumer"], "projects/123456789012");
    google
        .gar
        .set_api_enabled("artifactregistry.googleapis.com", true);
    assert_eq!(google.call(Method::GET, url, None).await.ok(), &json!({}));

    let nowhere = google
        .call(Method::GET, google.ar("v1/projects/x/unknown"), None)
        .await;
    nowhere.refused(404, "NOT_FOUND");
}
