//! The Docker registry of `LOCATION-docker.pkg.dev` as a client reaches it: the Bearer
//! challenge and the token endpoint with `oauth2accesstoken`, the core's `RegistryAuth`,
//! repositories found by project and id in any location, and a journal without tokens.

mod gar_common;

use gar_common::registry::{INDEX, param, pull};
use gar_common::{Google, ORG, PROJECT, credentials, remote_body};
use pull_through_core::redact::REDACTED;
use pull_through_sandbox::gar::{self, Gar};
use pull_through_sandbox::journal_contains;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

#[tokio::test]
async fn the_registry_challenges_and_takes_oauth2accesstoken() {
    let google = Google::start().await;
    let base = google.url(gar::DOCKER_REGISTRY, "v2/");
    let host = format!("127.0.0.1:{}", base.port().unwrap());
    let anonymous = google.http.get(base.clone()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        HeaderValue::from_str(&format!(
            r#"Bearer realm="http://{host}/v2/token",service="{host}""#
        ))
        .unwrap()
    );
    let token_url = google.url(gar::DOCKER_REGISTRY, &format!("v2/token?service={host}"));
    let refused = google
        .http
        .get(token_url.clone())
        .basic_auth("oauth2accesstoken", Some("ya29.wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    let wrong_user = google
        .http
        .get(token_url.clone())
        .basic_auth("_json_key", Some(google.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_user.status(), 401);

    let answer: Value = google
        .http
        .get(token_url.clone())
        .basic_auth("oauth2accesstoken", Some(google.token()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["token"].as_str().unwrap();
    assert_eq!(answer["expires_in"], 3600);
    let opened = google
        .http
        .get(base.clone())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    assert_eq!(
        opened.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    // The access token itself is a Bearer the registry takes.
    let direct = google
        .http
        .get(base.clone())
        .bearer_auth(google.token())
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);

    // An anonymous token opens /v2/ and nothing else.
    google.public_remote("cg").await;
    let anonymous: Value = google
        .http
        .get(token_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = google.url(
        gar::DOCKER_REGISTRY,
        &format!("v2/{PROJECT}/cg/chainguard/go/manifests/latest"),
    );
    let denied = google
        .http
        .get(content.clone())
        .bearer_auth(anonymous["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("artifactregistry.repositories.downloadArtifacts")
    );
    let challenged = google.http.get(content).send().await.unwrap();
    assert_eq!(
        param(
            challenged.headers()["www-authenticate"].to_str().unwrap(),
            "scope"
        ),
        format!("repository:{PROJECT}/cg/chainguard/go:pull")
    );
}

#[tokio::test]
async fn repositories_are_found_by_project_and_id_in_any_location() {
    let google = Google::start_with(Gar::new().with_operation_polls(1)).await;
    let standard = google
        .create_done("plain", json!({"format": "DOCKER"}))
        .await;
    assert_eq!(standard["response"]["mode"], "STANDARD_REPOSITORY");
    let nothing = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/plain/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(nothing.status, 404);
    let unknown = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/absent/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(unknown.json()["errors"][0]["code"], "NAME_UNKNOWN");

    google.public_remote("cg").await;
    let mut url = google.ar(&format!(
        "v1/projects/{PROJECT}/locations/europe/repositories"
    ));
    url.query_pairs_mut().append_pair("repositoryId", "cg");
    google
        .call(Method::POST, url, Some(remote_body()))
        .await
        .ok();
    let ambiguous = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg/chainguard/go/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(ambiguous.status, 400);
    let message = ambiguous.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("europe, us-central1"), "{message}");
}

#[tokio::test]
async fn the_journal_holds_no_token_of_a_pull() {
    let google = Google::start().await;
    // No repository yet: the service agent the grant names is made by hand.
    google.gar.create_service_agent();
    let version = google.pull_secret("cgr-pull", true).await;
    let mut body = remote_body();
    body["remoteRepositoryConfig"]["upstreamCredentials"] = credentials(&version);
    google.create_done("cg-private", body).await;
    let pulled = pull(
        &google,
        Method::GET,
        &format!("{PROJECT}/cg-private/{ORG}/chainguard-base/manifests/latest"),
        INDEX,
    )
    .await;
    assert_eq!(pulled.status, 200);
    let journal = google.sandbox.journal();
    let payload = google.gar.secret_payload("cgr-pull", 1).unwrap();
    assert!(!journal_contains(&journal, payload.expose()));
    assert!(!journal_contains(&journal, &google.token()));
    let token_request = journal
        .entries_for(gar::DOCKER_REGISTRY)
        .into_iter()
        .find(|entry| entry.path == "/v2/token")
        .unwrap();
    assert_eq!(
        token_request.header("authorization"),
        Some(format!("Basic {REDACTED}").as_str())
    );
    let upstream_token = journal
        .entries_for("cgr.dev")
        .into_iter()
        .find(|entry| entry.path == "/token" && entry.header("authorization").is_some())
        .unwrap();
    assert_eq!(
        upstream_token.header("authorization"),
        Some(format!("Basic {REDACTED}").as_str())
    );
}

/// The core's registry client (what `gar-client` verifies with) follows the challenge.
#[tokio::test]
async fn the_cores_registry_auth_gets_a_token() {
    let google = Google::start().await;
    google.public_remote("cg").await;
    let registry = google.sandbox.url(gar::DOCKER_REGISTRY).unwrap().clone();
    let auth = pull_through_core::registry::RegistryAuth::new(registry.clone()).unwrap();
    let login = pull_through_core::UpstreamCredentials::new(
        "oauth2accesstoken",
        pull_through_core::SecretString::from(google.token()),
    )
    .unwrap();
    let token = auth
        .pull_token(&format!("{PROJECT}/cg/chainguard/go"), Some(&login))
        .await
        .unwrap()
        .expect("the registry challenges");
    use pull_through_core::ExposeSecret as _;
    let manifest = google
        .http
        .get(
            registry
                .join(&format!("v2/{PROJECT}/cg/chainguard/go/manifests/latest"))
                .unwrap(),
        )
        .bearer_auth(token.expose_secret())
        .header("accept", INDEX)
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    let wrong = pull_through_core::UpstreamCredentials::new(
        "oauth2accesstoken",
        pull_through_core::SecretString::from("ya29.wrong".to_owned()),
    )
    .unwrap();
    assert!(
        auth.pull_token(&format!("{PROJECT}/cg/chainguard/go"), Some(&wrong))
            .await
            .is_err()
    );
}
