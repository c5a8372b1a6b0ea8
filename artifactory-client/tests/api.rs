//! The Artifactory REST calls against wiremock: the exact JSON of each repository of the
//! tutorials, error envelopes, 400-as-absent, the merge retry, the password rule.

use std::sync::Arc;
use std::time::Duration;

use artifactory_client::{AccessTokenRequest, ArtifactoryClient, RepositoryConfig};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use pull_through_core::{
    Deleted, Error, ExposeSecret, SecretString, Upstream, UpstreamCredentials,
};
use serde_json::json;
use wiremock::matchers::{any, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "admin-access-token";
const ORG_ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn client(server: &MockServer) -> (ArtifactoryClient, RecordingObserver) {
    let recorder = RecordingObserver::new();
    let client = ArtifactoryClient::builder()
        .with_base_url(format!("{}/artifactory/", server.uri()))
        .with_access_token(TOKEN)
        .with_retry(RetryConfig::none())
        .with_merge_retry(vec![Duration::from_millis(5); 2])
        .with_observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    (client, recorder)
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

fn pull_token() -> UpstreamCredentials {
    UpstreamCredentials::new(format!("{ORG_ID}/0123456789abcdef"), "pull-token-jwt").unwrap()
}

/// Every repository of seeds 000, 001 and 003, and the exact body each create sends.
fn seeds() -> Vec<(RepositoryConfig, serde_json::Value)> {
    let creds = pull_token();
    let chainguard: Upstream = format!("virtualapk.cgr.dev/{ORG_ID}/chainguard")
        .parse()
        .unwrap();
    let extras: Upstream = format!("virtualapk.cgr.dev/{ORG_ID}/extra-packages")
        .parse()
        .unwrap();
    let private_apk: Upstream = "apk.cgr.dev/example.com".parse().unwrap();
    vec![
        (
            RepositoryConfig::remote_docker("cgr-public", None),
            json!({
            "key": "cgr-public", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/",
            "includesPattern": "**/*", "enableTokenAuthentication": true, "blockMismatchingMimeTypes": true}),
        ),
        (
            RepositoryConfig::remote_docker("cgr-private", Some(&creds)),
            json!({
            "key": "cgr-private", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/",
            "username": creds.username(), "password": "pull-token-jwt",
            "includesPattern": "**/*", "enableTokenAuthentication": true, "blockMismatchingMimeTypes": true}),
        ),
        (
            RepositoryConfig::virtual_docker("cgr-virt", &["cgr-public", "cgr-private"]),
            json!({
            "key": "cgr-virt", "rclass": "virtual", "packageType": "docker",
            "repositories": ["cgr-public", "cgr-private"]}),
        ),
        (
            RepositoryConfig::remote_alpine("cg-private", &private_apk, Some(&creds)),
            json!({
            "key": "cg-private", "rclass": "remote", "packageType": "alpine",
            "url": "https://apk.cgr.dev/example.com", "username": creds.username(), "password": "pull-token-jwt",
            "disableUrlNormalization": true}),
        ),
        (
            RepositoryConfig::remote_alpine("cg-chainguard", &chainguard, None),
            json!({
            "key": "cg-chainguard", "rclass": "remote", "packageType": "alpine",
            "url": format!("https://virtualapk.cgr.dev/{ORG_ID}/chainguard"), "disableUrlNormalization": true}),
        ),
        (
            RepositoryConfig::remote_alpine("cg-extras", &extras, None),
            json!({
            "key": "cg-extras", "rclass": "remote", "packageType": "alpine",
            "url": format!("https://virtualapk.cgr.dev/{ORG_ID}/extra-packages"), "disableUrlNormalization": true}),
        ),
        (
            RepositoryConfig::virtual_generic(
                "cg-apk-virt",
                &["cg-private", "cg-chainguard", "cg-extras"],
            ),
            json!({
            "key": "cg-apk-virt", "rclass": "virtual", "packageType": "generic",
            "repositories": ["cg-private", "cg-chainguard", "cg-extras"]}),
        ),
    ]
}

#[tokio::test]
async fn each_seed_repository_is_created_with_its_exact_json() {
    for (config, expected) in seeds() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path(format!(
                "/artifactory/api/repositories/{}",
                config.key
            )))
            .and(bearer())
            .and(header("content-type", "application/json"))
            .and(body_json(&expected))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(format!("Successfully created repository '{}'", config.key)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client(&server);
        client
            .create_repository(&config)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", config.key));
        server.verify().await;
    }
}

#[tokio::test]
async fn absent_repositories_are_none_whether_400_or_404() {
    let server = MockServer::start().await;
    Mock::given(path("/artifactory/api/repositories/four-hundred"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": [{"status": 400, "message": "Bad Request"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/artifactory/api/repositories/four-oh-four"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/artifactory/api/repositories/cgr-public"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "key": "cgr-public", "rclass": "remote", "packageType": "docker", "url": "https://cgr.dev/",
            "description": " (local file cache)", "password": "AM.25rLQ.AES128.vJMeKkaK6RBRQCUKJWvYEHUw6zs394X1CrRugvJ5oHo",
            "enableTokenAuthentication": true, "retrievalCachePeriodSecs": 7200, "repoLayoutRef": "simple-default"})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert!(
        client
            .get_repository("four-hundred")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .get_repository("four-oh-four")
            .await
            .unwrap()
            .is_none()
    );
    let found = client.get_repository("cgr-public").await.unwrap().unwrap();
    assert_eq!(found.url.as_deref(), Some("https://cgr.dev/"));
    assert!(
        found.password.is_none(),
        "the encrypted password is never read back"
    );
    assert_eq!(found.clean_description(), None);
    assert_eq!(found.enable_token_authentication, Some(true));
}

#[tokio::test]
async fn duplicate_keys_are_already_exists() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [
            {"status": 400, "message": "Case insensitive repository key already exists"}]})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .create_repository(&RepositoryConfig::remote_alpine(
            "CG-PRIVATE",
            &"apk.cgr.dev/example.com".parse().unwrap(),
            None,
        ))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("400"));
}

#[tokio::test]
async fn the_merge_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"errors": [
            {"status": 500, "message": "Could not merge and save new descriptor [org.jfrog...]"}]})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server);
    client
        .update_repository(
            "cgr-public",
            &json!({"enableTokenAuthentication": true}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(recorder.records().len(), 3);
}

#[tokio::test]
async fn updates_carry_a_password_only_when_rotating() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/artifactory/api/repositories/cg-private"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .update_repository(
            "cg-private",
            &json!({"disableUrlNormalization": true}),
            None,
        )
        .await
        .unwrap();
    let rotated = SecretString::from("new-pull-token-jwt");
    client
        .update_repository(
            "cg-private",
            &json!({"username": "org/new-identity"}),
            Some(&rotated),
        )
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let bodies: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0],
        json!({"disableUrlNormalization": true}),
        "no password field at all"
    );
    assert_eq!(
        bodies[1],
        json!({"username": "org/new-identity", "password": "new-pull-token-jwt"})
    );
}

#[tokio::test]
async fn lists_filter_and_read_other_letter_cases() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/artifactory/api/repositories"))
        .and(query_param("type", "remote"))
        .and(query_param("packageType", "docker"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"key": "cgr-public", "type": "REMOTE", "packageType": "Docker", "url": "https://cgr.dev/", "description": " (local file cache)"}
        ])))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let listed = client
        .list_repositories(Some("remote"), Some("docker"))
        .await
        .unwrap();
    assert_eq!(
        (
            listed[0].rclass().as_str(),
            listed[0].package_type().as_str()
        ),
        ("remote", "docker")
    );
}

#[tokio::test]
async fn deletes_and_absence() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/artifactory/api/repositories/cgr-public"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "Repository 'cgr-public' and all its content have been removed successfully.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"errors": [{"status": 400, "message": "Repository cgr-public does not exist"}]}),
        ))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(
        client.delete_repository("cgr-public").await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        client.delete_repository("cgr-public").await.unwrap(),
        Deleted::AlreadyAbsent
    );
}

#[tokio::test]
async fn bad_keys_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server);
    for key in ["has space", "1st", "a/b", ""] {
        let err = client.get_repository(key).await.unwrap_err();
        assert!(err.is_invalid_input(), "{key:?}: {err:?}");
    }
    assert!(
        client
            .create_repository(&RepositoryConfig::remote_docker("a:b", None))
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(recorder.records().is_empty());
}

#[tokio::test]
async fn access_tokens_are_created_and_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/access/api/v1/tokens"))
        .and(bearer())
        .and(body_json(json!({"grant_type": "client_credentials", "username": "linky@example.com",
            "scope": "applied-permissions/user", "expires_in": 2592000, "description": "docker login",
            "include_reference_token": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_id": "tid-1", "access_token": "eyJ.jwt.sig", "reference_token": format!("cmVmd{}", "A".repeat(59)),
            "expires_in": 2592000, "scope": "applied-permissions/user", "token_type": "Bearer"})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/access/api/v1/tokens/tid-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let token = client
        .create_access_token(
            &AccessTokenRequest::for_user("linky@example.com")
                .with_expires_in(30 * 24 * 3600)
                .with_description("docker login")
                .with_reference_token(),
        )
        .await
        .unwrap();
    let debug = format!("{token:?}");
    assert!(
        debug.contains("tid-1") && !debug.contains("jwt") && !debug.contains("cmVmd"),
        "{debug}"
    );
    assert_eq!(token.token_id, "tid-1");
    assert_eq!(token.access_token.expose_secret(), "eyJ.jwt.sig");
    assert_eq!(token.reference_token.unwrap().expose_secret().len(), 64);
    assert_eq!(
        client.revoke_access_token("tid-1").await.unwrap(),
        Deleted::Removed
    );
    assert!(
        client
            .create_access_token(&AccessTokenRequest::for_user(" "))
            .await
            .unwrap_err()
            .is_invalid_input()
    );
}

#[tokio::test]
async fn caches_are_cleared_under_the_cache_repository() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/artifactory/cg-private-cache/x86_64"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(
        client.clear_cache("cg-private", "/x86_64").await.unwrap(),
        Deleted::Removed
    );
}

#[tokio::test]
async fn errors_keep_the_vendor_message_and_never_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [
            {"status": 400, "message": "Invalid password pull-token-jwt for remote"}]})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .create_repository(&RepositoryConfig::remote_docker(
            "cgr-private",
            Some(&pull_token()),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("pull-token-jwt"), "{text}");
    assert!(text.contains("Invalid password"), "{text}");
}

#[test]
fn builders_normalise_and_refuse() {
    for url in [
        "https://example.jfrog.io",
        "https://example.jfrog.io/",
        "https://example.jfrog.io/artifactory",
        "https://example.jfrog.io/artifactory/",
    ] {
        let client = ArtifactoryClient::builder()
            .with_url(url)
            .with_access_token("t")
            .build()
            .unwrap();
        assert_eq!(
            client.repositories_url().as_str(),
            "https://example.jfrog.io/artifactory",
            "{url}"
        );
    }
    assert!(
        ArtifactoryClient::builder()
            .with_access_token("t")
            .build()
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(
        ArtifactoryClient::builder()
            .with_url("https://h")
            .build()
            .unwrap_err()
            .is_invalid_input()
    );
    let insecure = ArtifactoryClient::builder()
        .with_url("http://example.jfrog.io")
        .with_access_token("t")
        .build();
    assert!(insecure.unwrap_err().to_string().contains("plain http"));
    let debug = format!(
        "{:?}",
        ArtifactoryClient::builder().with_basic("u", "secret-value")
    );
    assert!(!debug.contains("secret-value"), "{debug}");
}

#[tokio::test]
async fn access_api_errors_in_the_code_shape_and_plain_text_errors_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/access/api/v1/tokens"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [
            {"code": "FORBIDDEN", "message": "Non-admin user cannot create tokens for other users"}]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/access/api/v1/tokens/tid-1"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Internal failure, see log"))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .create_access_token(&AccessTokenRequest::for_user("someone-else"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("Non-admin user cannot create tokens for other users"),
        "{err}"
    );
    let err = client.revoke_access_token("tid-1").await.unwrap_err();
    assert!(
        err.to_string().contains("Internal failure, see log"),
        "{err}"
    );
    let err = client.revoke_access_token("../x").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn a_partial_configuration_for_a_non_admin_is_refused_with_the_fix() {
    let server = MockServer::start().await;
    Mock::given(path("/artifactory/api/repositories/cgr-public"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"key": "cgr-public", "packageType": "docker", "url": "https://cgr.dev/"}),
        ))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client.get_repository("cgr-public").await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("admin access token"), "{err}");
}
