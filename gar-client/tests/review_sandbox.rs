//! End to end against the sandbox's Google fakes: what Artifact Registry answers a client
//! that gets something wrong Google's way (a pull token cgr.dev refuses, a service agent
//! that does not exist yet), and the order that makes a fresh project work.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};

use gar_client::{Backoff, GarBackend, GarClient};
use pull_through_core::http::RetryConfig;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, Error, OrgId, PullThroughBackend, PullTokenRole, Upstream,
    UpstreamCredentials,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::Gar;

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
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
        chainguard,
        gar,
        backend: GarBackend::new(client),
    }
}

/// A registry.pull token of the Chainguard fake's organization.
async fn pull_token(world: &World) -> UpstreamCredentials {
    let chainguard = ChainguardClient::builder()
        .with_api_url(world.sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(world.sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            world.chainguard.admin_token().expose(),
        )))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(10)])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    let org = OrgId::new(world.chainguard.org_id()).unwrap();
    chainguard
        .create_pull_token(&org, PullTokenOptions::new(PullTokenRole::RegistryPull))
        .await
        .unwrap()
        .credentials()
        .unwrap()
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

fn private_upstream() -> Upstream {
    Upstream::CgrPrivate {
        org: "example.com".parse().unwrap(),
    }
}

/// A fresh project has no Artifact Registry service agent until its first repository: a
/// grant before then is refused, and the error says how to make the agent.
#[tokio::test]
async fn a_grant_before_any_repository_names_the_command_that_makes_the_agent() {
    let world = world().await;
    let client = world.backend.client();
    client.ensure_secret("pull-through-early").await.unwrap();
    let err = client
        .grant_secret_accessor("pull-through-early")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(
        text.contains(&format!(
            "gcloud beta services identity create --service=artifactregistry.googleapis.com \
             --project {}",
            world.gar.project_id()
        )),
        "{text}"
    );
    assert!(!world.gar.service_agent_exists());
}

/// The backend's order (the repository anonymously first, then the secret, the grant and
/// the PATCH) works in a fresh project, where the agent is made by the create.
#[tokio::test]
async fn a_private_cache_in_a_fresh_project_works_because_the_repository_comes_first() {
    let world = world().await;
    assert!(!world.gar.service_agent_exists());
    let spec = CacheSpec::remote(name("cgr-private"), private_upstream())
        .with_credentials(pull_token(&world).await);
    assert!(matches!(
        world.backend.ensure(&spec).await.unwrap(),
        Ensured::Created { .. }
    ));
    assert!(world.gar.service_agent_exists());
    assert_eq!(
        world.gar.iam_members(
            "pull-through-cgr-private",
            "roles/secretmanager.secretAccessor"
        ),
        [world.gar.service_agent()]
    );
}
