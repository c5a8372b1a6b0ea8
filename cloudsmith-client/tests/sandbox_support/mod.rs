//! What the sandbox tests share: the sandbox with the Chainguard and Cloudsmith fakes, a
//! client built from the variables `sandbox serve` writes, a real pull token, seed 004's
//! two caches, and the journal's writes.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};
use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use pull_through_core::{
    CacheName, CacheSpec, OrgId, Probe, PullThroughBackend, PullTokenRole, Upstream,
    UpstreamCredentials,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::cloudsmith::{Cloudsmith, OWNER, USER};

pub(crate) struct World {
    pub(crate) sandbox: Sandbox,
    pub(crate) chainguard: Chainguard,
    pub(crate) cloudsmith: Cloudsmith,
    pub(crate) client: CloudsmithClient,
    pub(crate) log: Arc<RecordingObserver>,
}

pub(crate) async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let cloudsmith = Cloudsmith::new();
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .cloudsmith(&cloudsmith)
        .start()
        .await
        .unwrap();
    let log = Arc::new(RecordingObserver::default());
    // The variables `sandbox serve` writes are the ones `from_env` reads.
    let env = sandbox.env();
    let client = CloudsmithClient::builder()
        .from_env_with(|var| {
            env.iter()
                .find(|(name, _)| name == var)
                .map(|(_, value)| value.clone())
        })
        .with_retry(RetryConfig::none())
        .with_observer(log.clone())
        .build()
        .unwrap();
    assert_eq!((client.owner(), client.user()), (OWNER, Some(USER)));
    World {
        sandbox,
        chainguard,
        cloudsmith,
        client,
        log,
    }
}

pub(crate) async fn pull_token(world: &World) -> UpstreamCredentials {
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

pub(crate) fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

pub(crate) fn backend(world: &World, layout: Layout) -> CloudsmithBackend {
    CloudsmithBackend::new(world.client.clone())
        .with_layout(layout)
        .with_org("example.com".parse().unwrap())
}

/// Seed 004's two caches: Chainguard's public images and the organization's.
pub(crate) async fn seed(world: &World) -> (CacheSpec, CacheSpec) {
    (
        CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic)
            .with_description("Chainguard public images (seed 004)"),
        CacheSpec::remote(
            name("cgr-private"),
            Upstream::CgrPrivate {
                org: "example.com".parse().unwrap(),
            },
        )
        .with_credentials(pull_token(world).await)
        .with_description("Chainguard private images (seed 004)"),
    )
}

pub(crate) fn probe(image: &str) -> Probe {
    Probe::DockerManifest {
        image: image.to_owned(),
        reference: "latest".to_owned(),
    }
}

pub(crate) fn writes(world: &World) -> Vec<String> {
    world
        .sandbox
        .journal()
        .entries_for("cloudsmith")
        .into_iter()
        .filter(|e| e.is_write())
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

pub(crate) async fn verify(
    backend: &CloudsmithBackend,
    cache: &str,
    image: &str,
) -> pull_through_core::Verification {
    let state = backend.describe(&name(cache)).await.unwrap().unwrap();
    backend.verify(&state, &probe(image)).await.unwrap()
}

/// A real pull token, its 57-character identity id as the username: the suite's
/// username change keeps the length, so it stays within the 64 characters Cloudsmith
/// allows `auth_username`. The fake checks no credentials when they are written, so the
/// suite's derived username needs no second token
/// ([`Fixtures::with_other_credentials`]).
pub(crate) async fn conformance_credentials(world: &World) -> UpstreamCredentials {
    let token = pull_token(world).await;
    assert_eq!(token.username().len(), 57, "{}", token.username());
    token
}

/// Changes the upstream `upstream` of repository `repo` through the fake's API, as a
/// person would in the web app: what this crate's own checks would refuse to send.
pub(crate) async fn patch_upstream(
    world: &World,
    repo: &str,
    upstream: &str,
    body: serde_json::Value,
) {
    let slug_perm = world
        .cloudsmith
        .upstreams(repo)
        .into_iter()
        .find(|u| u.name == upstream)
        .unwrap_or_else(|| panic!("no upstream {upstream} in {repo}"))
        .slug_perm;
    let api = pull_through_core::http::HttpClient::builder(
        "cloudsmith",
        world.sandbox.url("cloudsmith").unwrap().clone(),
    )
    .build()
    .unwrap();
    let key = pull_through_core::SecretString::from(world.cloudsmith.api_key().expose());
    api.request(
        http::Method::PATCH,
        &format!("repos/{OWNER}/{repo}/upstream/docker/{slug_perm}/"),
    )
    .secret_header(http::HeaderName::from_static("x-api-key"), &key)
    .json(&body)
    .send()
    .await
    .unwrap();
}
