//! End to end against the sandbox's Google fakes: what Artifact Registry answers a client
//! that gets something wrong Google's way (a pull token cgr.dev refuses, a service agent
//! that does not exist yet), and the order that makes a fresh project work.

use std::collections::HashMap;
use std::time::Duration;

use gar_client::{Backoff, GarBackend, GarClient};
use pull_through_core::http::RetryConfig;
use pull_through_core::{
    CacheName, CacheSpec, Error, PullThroughBackend, Upstream, UpstreamCredentials,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::Gar;

struct World {
    sandbox: Sandbox,
    gar: Gar,
    backend: GarBackend,
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
    let client = GarClient::builder()
        .from_env_with(|var| env.get(var).cloned())
        .with_retry(RetryConfig::none())
        .with_operation_polling(quick)
        .with_iam_retry(quick.with_max_attempts(5))
        .with_validation_retry(quick.with_max_attempts(3))
        .build()
        .unwrap();
    World {
        sandbox,
        gar,
        backend: GarBackend::new(client),
    }
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

/// The PATCHes Artifact Registry received.
fn patches(world: &World) -> usize {
    world
        .sandbox
        .journal()
        .entries_for("artifactregistry")
        .iter()
        .filter(|e| e.method == "PATCH")
        .count()
}

/// A password cgr.dev does not take: Artifact Registry's check fails with its
/// "generic::unauthenticated" message, which no wait fixes; one PATCH, and what to do.
#[tokio::test]
async fn a_pull_token_cgr_dev_refuses_fails_at_once() {
    let world = world().await;
    let spec = CacheSpec::remote(
        name("cgr-private"),
        Upstream::CgrPrivate {
            org: "example.com".parse().unwrap(),
        },
    )
    .with_credentials(
        UpstreamCredentials::new(
            "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
            "not-a-pull-token",
        )
        .unwrap(),
    );
    let err = world.backend.ensure(&spec).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("upstream credentials are invalid"), "{text}");
    assert!(text.contains("registry.pull role"), "{text}");
    assert_eq!(patches(&world), 1, "not retried");
    // The anonymous repository was made first; the next run goes on from there.
    assert_eq!(world.gar.repositories().len(), 1);
}
