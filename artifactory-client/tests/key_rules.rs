//! JFrog's key rules: the client refuses a Docker key that ends in `-cache`, is reserved or
//! has `_` before any request, with a typed error saying the rule; the sandbox's
//! Artifactory refuses every key that breaks a rule with the vendor's 400, whatever the
//! package type (remote keys over 58 characters, upper case in Docker keys included).

use artifactory_client::{ArtifactoryClient, RepositoryConfig, check_docker_key};
use pull_through_core::http::RetryConfig;
use pull_through_core::{Error, Upstream, ValidationError};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use wiremock::MockServer;

fn rule(err: &Error) -> String {
    match err {
        Error::InvalidInput(ValidationError::InvalidName { rule, .. }) => rule.clone(),
        other => panic!("not a key rule error: {other:?}"),
    }
}

#[tokio::test]
async fn docker_keys_that_break_a_rule_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let client = ArtifactoryClient::builder()
        .with_base_url(format!("{}/artifactory/", server.uri()))
        .with_access_token("admin-access-token")
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    for (key, expected) in [
        ("cgr_public", "'_' is not allowed"),
        ("cgr-public-cache", "cannot end with '-cache'"),
        ("CGR-CACHE", "cannot end with '-cache'"),
        ("artifactory-build-info", "reserved"),
        ("release-bundles", "reserved"),
        ("Jfrog-logs", "reserved"),
        ("jfrog-system-reserved-docker", "reserved"),
        ("Jfrog-artifactory-system-1", "reserved"),
    ] {
        for config in [
            RepositoryConfig::remote_docker(key, None),
            RepositoryConfig::virtual_docker(key, &["cgr-public"]),
        ] {
            let err = client.create_repository(&config).await.unwrap_err();
            assert!(rule(&err).contains(expected), "{key}: {err}");
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        assert!(check_docker_key(key).is_err(), "{key}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    for key in ["cgr-public", "cgr.public", "my-cache-1", "cache"] {
        assert!(check_docker_key(key).is_ok(), "{key}");
    }
}

#[tokio::test]
async fn the_fake_refuses_what_artifactory_refuses_with_its_error() {
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .artifactory(&artifactory)
        .start()
        .await
        .unwrap();
    let client = ArtifactoryClient::builder()
        .with_base_url(sandbox.url("artifactory").unwrap().as_str())
        .with_access_token(artifactory.admin_token().expose())
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let upstream: Upstream = "apk.cgr.dev/example.com".parse().unwrap();
    let long = "k".repeat(59);
    for (key, docker, expected) in [
        (long.as_str(), false, "at most 58 characters"),
        ("cg-private-cache", false, "cannot end with '-cache'"),
        ("release-bundles", false, "reserved"),
        ("Jfrog-logs", false, "reserved"),
        ("Cgr-Public", true, "upper-case letters"),
    ] {
        let config = if docker {
            RepositoryConfig::remote_docker(key, None)
        } else {
            RepositoryConfig::remote_alpine(key, &upstream, None)
        };
        // Our client refuses before any request, naming the rule...
        let err = client.create_repository(&config).await.unwrap_err();
        assert!(err.is_invalid_input(), "{key}: {err}");
        // ...and the fake refuses the same body sent by another tool, as Artifactory does.
        let answer = reqwest::Client::new()
            .put(format!(
                "{}artifactory/api/repositories/{key}",
                sandbox.url("artifactory").unwrap()
            ))
            .bearer_auth(artifactory.admin_token().expose())
            .json(&config)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400, "{key}");
        let body = answer.text().await.unwrap();
        assert!(body.contains(expected), "{key}: {body}");
    }
    assert!(artifactory.repository_keys().is_empty());
    // What the rules leave alone is created: 58 characters, upper case outside Docker.
    for key in ["k".repeat(58), "CG-Private".to_owned()] {
        client
            .create_repository(&RepositoryConfig::remote_alpine(&key, &upstream, None))
            .await
            .unwrap_or_else(|err| panic!("{key}: {err}"));
    }
    client
        .create_repository(&RepositoryConfig::virtual_generic(&"v".repeat(64), &[]))
        .await
        .unwrap();
}
