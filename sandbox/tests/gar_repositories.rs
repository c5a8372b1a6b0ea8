//! The Artifact Registry fake: repositories created and deleted through operations,
//! read, listed page by page and patched by update mask, and every refusal in Google's
//! envelope.

mod gar_common;

use gar_common::{Google, LOCATION, PROJECT, remote_body};
use pull_through_sandbox::gar::Gar;
use reqwest::Method;
use serde_json::{Value, json};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn create_answers_an_operation_that_finishes_on_the_second_poll() {
    let google = Google::start().await;
    let created = google
        .create("chainguard-pull-through", remote_body())
        .await;
    let operation = created.ok().clone();
    assert_eq!(keys(&operation), ["done", "metadata", "name"]);
    assert_eq!(operation["done"], false);
    assert_eq!(
        operation["metadata"],
        json!({"@type": "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"})
    );
    let name = operation["name"].as_str().unwrap();
    let id = name
        .strip_prefix(&format!(
            "projects/{PROJECT}/locations/{LOCATION}/operations/"
        ))
        .unwrap();
    assert_eq!(id.len(), 36, "{id}");

    let poll = || google.call(Method::GET, google.ar(&format!("v1/{name}")), None);
    let first = poll().await;
    assert_eq!(first.ok()["done"], false);
    assert!(first.body.get("response").is_none());
    let second = poll().await;
    let done = second.ok();
    assert_eq!(done["done"], true);
    assert_eq!(done["name"], name);
    let response = &done["response"];
    assert_eq!(
        keys(response),
        [
            "@type",
            "createTime",
            "description",
            "format",
            "mode",
            "name",
            "registryUri",
            "remoteRepositoryConfig",
            "updateTime",
            "vulnerabilityScanningConfig"
        ]
    );
    assert_eq!(
        response["@type"],
        "type.googleapis.com/google.devtools.artifactregistry.v1.Repository"
    );
    assert_eq!(
        response["name"],
        format!("projects/{PROJECT}/locations/{LOCATION}/repositories/chainguard-pull-through")
    );
    assert_eq!(response["format"], "DOCKER");
    assert_eq!(response["mode"], "REMOTE_REPOSITORY");
    assert_eq!(
        response["remoteRepositoryConfig"],
        json!({"description": "cgr.dev", "commonRepository": {"uri": "https://cgr.dev/"}})
    );
    assert_eq!(
        response["registryUri"],
        "us-central1-docker.pkg.dev/pull-through-sandbox/chainguard-pull-through"
    );
    // A finished operation stays finished.
    assert_eq!(poll().await.ok()["response"], *response);

    // GET answers the repository the operation finished with.
    let mut read = google
        .get_repository("chainguard-pull-through")
        .await
        .ok()
        .clone();
    let mut expected = response.clone();
    expected.as_object_mut().unwrap().remove("@type");
    read.as_object_mut().unwrap();
    assert_eq!(read, expected);
    assert_eq!(
        google.gar.repositories(),
        [format!(
            "projects/{PROJECT}/locations/{LOCATION}/repositories/chainguard-pull-through"
        )]
    );
}

#[tokio::test]
async fn one_poll_is_enough_when_configured_and_unknown_operations_are_not_found() {
    let google = Google::start_with(Gar::new().with_operation_polls(1)).await;
    let created = google.create("r1", json!({"format": "DOCKER"})).await;
    let (done, polls) = google.wait(created.ok()).await;
    assert_eq!(polls, 1);
    assert_eq!(done["response"]["mode"], "STANDARD_REPOSITORY");
    let missing = google
        .call(
            Method::GET,
            google.ar(&format!(
                "v1/projects/{PROJECT}/locations/{LOCATION}/operations/nope"
            )),
            None,
        )
        .await;
    assert!(missing.refused(404, "NOT_FOUND").contains("nope"));
}

#[tokio::test]
async fn the_upstream_is_kept_as_given_in_either_shape_and_validation_is_input_only() {
    let google = Google::start().await;
    let custom = json!({
        "format": "DOCKER",
        "mode": "REMOTE_REPOSITORY",
        "remoteRepositoryConfig": {
            "dockerRepository": {"customRepository": {"uri": "https://cgr.dev"}},
            "disableUpstreamValidation": true
        }
    });
    google.create_done("custom", custom).await;
    let read = google.get_repository("custom").await;
    assert_eq!(
        read.ok()["remoteRepositoryConfig"],
        json!({"dockerRepository": {"customRepository": {"uri": "https://cgr.dev"}}})
    );
    assert!(
        read.ok().get("description").is_none(),
        "empty fields are left out"
    );

    // Defaults are left out at any depth, as proto3 JSON does; scanning's state is added.
    let body = json!({"format": "DOCKER", "description": "", "dockerConfig": {"immutableTags": false},
        "vulnerabilityScanningConfig": {"enablementConfig": "DISABLED"},
        "mode": "VIRTUAL_REPOSITORY", "virtualRepositoryConfig": {"upstreamPolicies": [
            {"id": "custom", "repository": Google::repository_path("custom"), "priority": 0}]}});
    google.create_done("defaults", body).await;
    let read = google.get_repository("defaults").await;
    let read = read.ok();
    assert!(read.get("description").is_none());
    assert_eq!(read["dockerConfig"], json!({}));
    assert_eq!(
        read["virtualRepositoryConfig"],
        json!({"upstreamPolicies": [{"id": "custom", "repository": Google::repository_path("custom")}]})
    );
    assert_eq!(
        read["vulnerabilityScanningConfig"],
        json!({"enablementConfig": "DISABLED", "enablementState": "SCANNING_DISABLED",
               "enablementStateReason": "API containerscanning.googleapis.com is not enabled."})
    );
}

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
async fn an_existing_id_is_a_conflict() {
    let google = Google::start().await;
    google.public_remote("twice").await;
    let again = google.create("twice", remote_body()).await;
    let message = again.refused(409, "ALREADY_EXISTS");
    assert!(message.contains("repositories/twice"), "{message}");
    assert_eq!(google.gar.repositories().len(), 1);
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

#[tokio::test]
async fn lists_come_by_name_one_page_at_a_time() {
    let google = Google::start_with(Gar::new().with_operation_polls(1)).await;
    for i in 0..53 {
        google
            .create(&format!("repo-{i:02}"), json!({"format": "DOCKER"}))
            .await
            .ok();
    }
    let list = |query: &str| {
        let url = google.ar(&format!("{}?{query}", google.repositories_url()));
        google.call(Method::GET, url, None)
    };
    let names = |page: &Value| -> Vec<String> {
        page["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["name"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let first = list("").await;
    assert_eq!(names(first.ok()).len(), 50, "50 a page by default");
    let zero = list("pageSize=0").await;
    assert_eq!(names(zero.ok()).len(), 50);
    let token = first.ok()["nextPageToken"].as_str().unwrap().to_owned();
    let rest = list(&format!("pageToken={token}")).await;
    assert_eq!(names(rest.ok()), ["repo-50", "repo-51", "repo-52"]);
    assert!(
        rest.ok().get("nextPageToken").is_none(),
        "no token on the last page"
    );

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(&format!("pageSize=20&pageToken={token}")).await;
        seen.extend(names(page.ok()));
        match page.ok()["nextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..53).map(|i| format!("repo-{i:02}")).collect();
    assert_eq!(seen, expected);

    let filtered = list(&format!(
        "filter=name%3D%22projects%2F{PROJECT}%2Flocations%2F{LOCATION}%2Frepositories%2Frepo-5*%22&orderBy=name%20desc"
    ))
    .await;
    assert_eq!(names(filtered.ok()), ["repo-52", "repo-51", "repo-50"]);
    list("pageToken=garbage")
        .await
        .refused(400, "INVALID_ARGUMENT");
    list("pageSize=-1").await.refused(400, "INVALID_ARGUMENT");
    list("filter=format%3DDOCKER")
        .await
        .refused(400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn delete_is_an_operation_that_finishes_empty() {
    let google = Google::start().await;
    google.public_remote("gone").await;
    let url = google.ar(&format!("v1/{}", Google::repository_path("gone")));
    let deleted = google.call(Method::DELETE, url.clone(), None).await;
    assert_eq!(deleted.ok()["done"], false);
    let (done, polls) = google.wait(deleted.ok()).await;
    assert_eq!(polls, 2);
    assert_eq!(
        done["response"],
        json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
    );
    assert_eq!(
        google
            .get_repository("gone")
            .await
            .refused(404, "NOT_FOUND"),
        "Requested entity was not found."
    );
    google
        .call(Method::DELETE, url, None)
        .await
        .refused(404, "NOT_FOUND");
    let package = google.ar(&format!(
        "v1/{}/packages/chainguard%2Fgo",
        Google::repository_path("gone")
    ));
    google
        .call(Method::DELETE, package, None)
        .await
        .refused(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_virtual_keeps_its_policies_and_checks_its_members() {
    let google = Google::start().await;
    google.public_remote("cg-public").await;
    google
        .create_done("maven-one", json!({"format": "MAVEN"}))
        .await;
    let member = |id: &str, priority: i32| json!({"id": id, "repository": Google::repository_path(id), "priority": priority});
    let body = json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY",
        "virtualRepositoryConfig": {"upstreamPolicies": [member("cg-public", 1)]}});
    let done = google.create_done("cg-all", body).await;
    assert_eq!(
        done["response"]["virtualRepositoryConfig"]["upstreamPolicies"],
        json!([member("cg-public", 1)])
    );

    let wrong_format = json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY",
        "virtualRepositoryConfig": {"upstreamPolicies": [member("maven-one", 1)]}});
    let message = google
        .create("bad-virtual", wrong_format)
        .await
        .refused(400, "INVALID_ARGUMENT");
    assert!(
        message.contains("is a MAVEN STANDARD_REPOSITORY"),
        "{message}"
    );
    let duplicate = json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY",
        "virtualRepositoryConfig": {"upstreamPolicies": [member("cg-public", 1), member("cg-public", 2)]}});
    google
        .create("bad-virtual", duplicate)
        .await
        .refused(400, "INVALID_ARGUMENT");
    let other_location = json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY",
        "virtualRepositoryConfig": {"upstreamPolicies": [{"id": "x", "repository": format!("projects/{PROJECT}/locations/europe/repositories/cg-public"), "priority": 1}]}});
    google
        .create("bad-virtual", other_location)
        .await
        .refused(400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn the_env_names_the_contracts_variables() {
    let google = Google::start().await;
    let env: Vec<(String, String)> = google
        .sandbox
        .env()
        .into_iter()
        .filter(|(key, _)| {
            key.starts_with("GOOGLE_") || key.starts_with("CLOUDSDK_") || key.starts_with("GAR_")
        })
        .collect();
    let root = |service: &str| google.sandbox.url(service).unwrap().to_string();
    assert_eq!(
        env,
        [
            ("GOOGLE_OAUTH_ACCESS_TOKEN".to_owned(), google.token()),
            ("GOOGLE_CLOUD_PROJECT".to_owned(), PROJECT.to_owned()),
            ("GOOGLE_CLOUD_LOCATION".to_owned(), LOCATION.to_owned()),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY".to_owned(),
                root("artifactregistry")
            ),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER".to_owned(),
                root("secretmanager")
            ),
            (
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER".to_owned(),
                root("cloudresourcemanager")
            ),
            ("GAR_DOCKER_REGISTRY_URL".to_owned(), root("gar-docker")),
        ]
    );
    assert!(root("artifactregistry").ends_with('/'));
    assert!(google.token().starts_with("ya29.sandbox-"));
    assert_eq!(
        google
            .sandbox
            .context()
            .resolve("us-central1-docker.pkg.dev"),
        google.sandbox.url("gar-docker").cloned()
    );
}

#[tokio::test]
async fn reset_forgets_everything() {
    let google = Google::start().await;
    google.public_remote("kept").await;
    google.create_secret("s").await.ok();
    google
        .gar
        .set_api_enabled("secretmanager.googleapis.com", false);
    google.sandbox.reset();
    assert!(google.gar.repositories().is_empty());
    assert!(google.gar.secrets().is_empty());
    google.create_secret("s").await.ok();
}
