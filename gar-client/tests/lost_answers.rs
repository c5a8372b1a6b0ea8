//! Writes whose answer was lost (the sandbox's fakes performed them, then answered 502
//! or dropped the connection): seed 002's private cache is made once, with one secret
//! version, whatever write lost its answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};
use gar_client::{Backoff, GarBackend, GarClient};
use pull_through_core::http::RetryConfig;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, OrgId, PullThroughBackend, PullTokenRole, Upstream,
    UpstreamCredentials,
};
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::Gar;
use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};

struct World {
    sandbox: Sandbox,
    backend: GarBackend,
    credentials: UpstreamCredentials,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let gar = Gar::new();
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .gar(&gar)
        .start()
        .await
        .unwrap();
    let env: HashMap<String, String> = sandbox.env().into_iter().collect();
    let quick = Backoff::new(Duration::from_millis(5), Duration::from_millis(20))
        .with_budget(Duration::from_secs(5));
    // The HTTP layer retries as it does in the program: a blind repeat would show here.
    let retry = RetryConfig::default()
        .with_max_attempts(3)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let client = GarClient::builder()
        .from_env_with(|var| env.get(var).cloned())
        .with_retry(retry.clone())
        .with_operation_polling(quick)
        .with_iam_retry(quick.with_max_attempts(5))
        .with_validation_retry(quick.with_max_attempts(3))
        .build()
        .unwrap();
    let tokens = ChainguardClient::builder()
        .with_api_url(sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            chainguard.admin_token().expose(),
        )))
        .with_retry(retry)
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    let org = OrgId::new(chainguard.org_id()).unwrap();
    let credentials = tokens
        .create_pull_token(&org, PullTokenOptions::new(PullTokenRole::RegistryPull))
        .await
        .unwrap()
        .credentials()
        .unwrap();
    World {
        sandbox,
        backend: GarBackend::new(client).with_org("example.com".parse().unwrap()),
        credentials,
    }
}

fn private_cache(credentials: &UpstreamCredentials) -> CacheSpec {
    CacheSpec::remote(
        CacheName::new("chainguard-private").unwrap(),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(credentials.clone())
}

/// Ensures the private cache with `fault` on the first request of `service` whose
/// method is `method` and whose path starts with `prefix`; answers what the fakes hold:
/// repositories, secret versions, and the username the repository stores.
async fn ensure_with(
    fault: FaultKind,
    service: &str,
    method: &str,
    prefix: &str,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let world = world().await;
    world.sandbox.faults().add(
        FaultRule::new(fault)
            .service(service)
            .method(method)
            .path_prefix(prefix)
            .times(1),
    );
    let ensured = world
        .backend
        .ensure(&private_cache(&world.credentials))
        .await
        .unwrap_or_else(|err| panic!("{fault:?} on {method} {prefix}: {err}"));
    // A create answered 409 on its resend is read and updated: made either way.
    assert!(
        matches!(ensured, Ensured::Created { .. } | Ensured::Updated { .. }),
        "{fault:?} on {method} {prefix}: {ensured:?}"
    );
    assert!(
        world
            .sandbox
            .journal()
            .entries()
            .iter()
            .any(|e| e.fault.is_some()),
        "the fault was met"
    );
    let state = world.sandbox.state();
    (
        state["artifactregistry"].objects["repositories"].clone(),
        state["secretmanager"].objects["secret_versions"]
            .iter()
            .map(|v| v.split(" crc32c=").next().unwrap().to_owned())
            .collect(),
        state["artifactregistry"]
            .credentials
            .get("chainguard-private")
            .cloned(),
    )
}

const LOST: [FaultKind; 2] = [
    FaultKind::LostAnswer { status: Some(502) },
    FaultKind::LostAnswer { status: None },
];

#[tokio::test]
async fn a_secret_version_whose_add_lost_its_answer_is_not_added_twice() {
    for fault in LOST.into_iter().chain([FaultKind::Status { status: 502 }]) {
        let (repositories, versions, username) = ensure_with(
            fault,
            "secretmanager",
            "POST",
            "/v1/projects/pull-through-sandbox/secrets/pull-through-chainguard-private:addVersion",
        )
        .await;
        assert_eq!(repositories, ["chainguard-private"]);
        assert_eq!(
            versions,
            ["pull-through-chainguard-private/1 ENABLED"],
            "{fault:?}: one version, pinned"
        );
        assert!(username.is_some(), "{fault:?}: the credentials were pinned");
    }
}

#[tokio::test]
async fn writes_around_the_version_that_lost_their_answer_make_nothing_twice() {
    let steps = [
        (
            "artifactregistry",
            "POST",
            "/v1/projects/pull-through-sandbox/locations/us-central1/repositories",
        ),
        (
            "secretmanager",
            "POST",
            "/v1/projects/pull-through-sandbox/secrets",
        ),
        (
            "artifactregistry",
            "PATCH",
            "/v1/projects/pull-through-sandbox/locations/us-central1/repositories/chainguard-private",
        ),
    ];
    for (service, method, prefix) in steps {
        for fault in LOST {
            let (repositories, versions, username) =
                ensure_with(fault, service, method, prefix).await;
            let context = format!("{fault:?} on {method} {prefix}");
            assert_eq!(repositories, ["chainguard-private"], "{context}");
            assert_eq!(
                versions,
                ["pull-through-chainguard-private/1 ENABLED"],
                "{context}"
            );
            assert!(username.is_some(), "{context}");
        }
    }
}
