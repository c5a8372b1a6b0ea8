//! Writes whose answer was lost (the sandbox's Artifactory performed them, then answered
//! 502 or dropped the connection): the backend's `ensure` still succeeds, with one
//! repository holding the credentials it was given, so the caller never revokes a token
//! the cache holds.

use std::time::Duration;

use artifactory_client::{ArtifactoryBackend, ArtifactoryClient};
use pull_through_core::http::RetryConfig;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, PullThroughBackend, Upstream, UpstreamCredentials,
};
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};

const LOST: [FaultKind; 2] = [
    FaultKind::LostAnswer { status: Some(502) },
    FaultKind::LostAnswer { status: None },
];

async fn start() -> (Sandbox, ArtifactoryBackend) {
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .artifactory(&artifactory)
        .start()
        .await
        .unwrap();
    let client = ArtifactoryClient::builder()
        .with_base_url(sandbox.url("artifactory").unwrap().as_str())
        .with_access_token(artifactory.admin_token().expose())
        // Retries as the program makes them: a blind repeat, or none, would show here.
        .with_retry(
            RetryConfig::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    (sandbox, ArtifactoryBackend::new(client))
}

fn private_cache(username: &str) -> CacheSpec {
    CacheSpec::remote(
        CacheName::new("cgr-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(UpstreamCredentials::new(username, format!("jwt-of-{username}")).unwrap())
}

fn lose_next(sandbox: &Sandbox, fault: FaultKind, method: &str) {
    sandbox.faults().add(
        FaultRule::new(fault)
            .service("artifactory")
            .method(method)
            .path_prefix("/artifactory/api/repositories/cgr-private")
            .times(1),
    );
}

fn held(sandbox: &Sandbox) -> (Vec<String>, Option<String>) {
    let state = &sandbox.state()["artifactory"];
    (
        state.objects["repositories"].clone(),
        state.credentials.get("cgr-private").cloned(),
    )
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_created_once() {
    for fault in LOST {
        let (sandbox, backend) = start().await;
        lose_next(&sandbox, fault, "PUT");
        let ensured = backend.ensure(&private_cache("org/aaaa")).await;
        assert!(
            matches!(ensured, Ok(Ensured::Created { .. })),
            "{fault:?}: {ensured:?}"
        );
        assert_eq!(
            held(&sandbox),
            (vec!["cgr-private".to_owned()], Some("org/aaaa".to_owned())),
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn new_credentials_whose_write_lost_its_answer_are_written_and_reported() {
    for fault in LOST {
        let (sandbox, backend) = start().await;
        backend.ensure(&private_cache("org/aaaa")).await.unwrap();
        lose_next(&sandbox, fault, "POST");
        let ensured = backend.ensure(&private_cache("org/bbbb")).await;
        // An error here would make the caller revoke org/bbbb, which the cache now holds.
        assert!(
            matches!(ensured, Ok(Ensured::Updated { .. })),
            "{fault:?}: {ensured:?}"
        );
        assert_eq!(
            held(&sandbox),
            (vec!["cgr-private".to_owned()], Some("org/bbbb".to_owned())),
            "{fault:?}"
        );
    }
}
