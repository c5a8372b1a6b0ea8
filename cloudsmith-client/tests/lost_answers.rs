//! Writes whose answer was lost (the sandbox's fake performed them, then answered 502 or
//! dropped the connection): seed 004's private cache is made once, with one repository and
//! one upstream holding the pull token, whatever write lost its answer, and a rotation
//! whose PATCH lost its answer leaves the new token stored.

mod sandbox_support;

use std::time::Duration;

use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
use pull_through_core::http::RetryConfig;
use pull_through_core::{
    CacheSpec, Ensured, ExposeSecret, PullThroughBackend, Upstream, UpstreamCredentials,
};
use pull_through_sandbox::cloudsmith::OWNER;
use pull_through_sandbox::{FaultKind, FaultRule};
use sandbox_support::{World, name, pull_token, world};

const LOST: [FaultKind; 2] = [
    FaultKind::LostAnswer { status: Some(502) },
    FaultKind::LostAnswer { status: None },
];

/// A backend whose HTTP layer retries as the program's does (a blind repeat of a create
/// would show here), with short waits.
fn backend(world: &World, layout: Layout) -> CloudsmithBackend {
    let env = world.sandbox.env();
    let retry = RetryConfig::default()
        .with_max_attempts(3)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let client = CloudsmithClient::builder()
        .from_env_with(|var| {
            env.iter()
                .find(|(name, _)| name == var)
                .map(|(_, value)| value.clone())
        })
        .with_retry(retry)
        .build()
        .unwrap();
    CloudsmithBackend::new(client)
        .with_layout(layout)
        .with_org("example.com".parse().unwrap())
}

fn private_cache(credentials: &UpstreamCredentials) -> CacheSpec {
    CacheSpec::remote(
        name("cgr-private"),
        Upstream::CgrPrivate {
            org: "example.com".parse().unwrap(),
        },
    )
    .with_credentials(credentials.clone())
}

/// What the fake holds: repositories, upstreams (`<repo> <name> <url>`), and each
/// upstream's stored username.
fn held(world: &World) -> (Vec<String>, Vec<String>, Vec<(String, String)>) {
    let state = world.sandbox.state();
    let cloudsmith = &state["cloudsmith"];
    (
        cloudsmith.objects["repositories"].clone(),
        cloudsmith.objects["upstreams"].clone(),
        cloudsmith
            .credentials
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// One fault on the first request of `method` whose path starts with `prefix`.
fn fault_once(world: &World, fault: FaultKind, method: &str, prefix: &str) {
    world.sandbox.faults().add(
        FaultRule::new(fault)
            .service("cloudsmith")
            .method(method)
            .path_prefix(prefix)
            .times(1),
    );
}

fn met(world: &World) -> usize {
    world
        .sandbox
        .journal()
        .entries_for("cloudsmith")
        .iter()
        .filter(|e| e.fault.is_some())
        .count()
}

/// Ensures the private cache in `layout` with `fault` on the first `method` under
/// `prefix`; the ensure must succeed (a second one writes nothing) and leave the cache
/// once, holding the token.
async fn created_once(
    layout: Layout,
    repository: &str,
    fault: FaultKind,
    method: &str,
    prefix: &str,
) {
    let world = world().await;
    let backend = backend(&world, layout);
    let token = pull_token(&world).await;
    let spec = private_cache(&token);
    fault_once(&world, fault, method, prefix);
    let context = format!("{fault:?} on {method} {prefix}");
    let ensured = backend
        .ensure(&spec)
        .await
        .unwrap_or_else(|err| panic!("{context}: {err}"));
    assert!(
        matches!(ensured, Ensured::Created { .. } | Ensured::Updated { .. }),
        "{context}: {ensured:?}"
    );
    assert_eq!(met(&world), 1, "{context}: the fault was met");
    // The create whose answer was lost is read back, not sent again.
    let sent = world
        .sandbox
        .journal()
        .entries_for("cloudsmith")
        .iter()
        .filter(|e| e.method == method && e.path == prefix)
        .count();
    assert_eq!(sent, 1, "{context}: {:?}", sandbox_support::writes(&world));
    let (repositories, upstreams, credentials) = held(&world);
    assert_eq!(repositories, [repository], "{context}");
    assert_eq!(
        upstreams,
        [format!("{repository} cgr-private https://cgr.dev")],
        "{context}"
    );
    assert_eq!(
        credentials,
        [("cgr-private".to_owned(), token.username().to_owned())],
        "{context}"
    );
    assert_eq!(
        world
            .cloudsmith
            .stored_auth_secret(repository, "cgr-private")
            .unwrap()
            .expose(),
        token.password().expose_secret(),
        "{context}"
    );
    let again = backend.ensure(&spec).await.unwrap();
    assert!(
        matches!(again, Ensured::Unchanged { .. }),
        "{context}: {again:?}"
    );
}

#[tokio::test]
async fn a_repository_whose_create_lost_its_answer_is_made_once() {
    for fault in LOST {
        created_once(
            Layout::OwnRepository,
            "cgr-private",
            fault,
            "POST",
            &format!("/repos/{OWNER}/"),
        )
        .await;
        created_once(
            Layout::shared("chainguard").unwrap(),
            "chainguard",
            fault,
            "POST",
            &format!("/repos/{OWNER}/"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_upstream_whose_create_lost_its_answer_is_made_once() {
    for fault in LOST {
        created_once(
            Layout::OwnRepository,
            "cgr-private",
            fault,
            "POST",
            &format!("/repos/{OWNER}/cgr-private/upstream/docker/"),
        )
        .await;
        created_once(
            Layout::shared("chainguard").unwrap(),
            "chainguard",
            fault,
            "POST",
            &format!("/repos/{OWNER}/chainguard/upstream/docker/"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_rotation_whose_patch_lost_its_answer_leaves_the_new_token() {
    for fault in LOST {
        let world = world().await;
        let backend = backend(&world, Layout::OwnRepository);
        let old = pull_token(&world).await;
        backend.ensure(&private_cache(&old)).await.unwrap();
        let new = pull_token(&world).await;
        let spec = private_cache(&new);
        let prefix = format!("/repos/{OWNER}/cgr-private/upstream/docker/");
        fault_once(&world, fault, "PATCH", &prefix);
        let context = format!("{fault:?} on PATCH {prefix}");
        let ensured = backend
            .ensure(&spec)
            .await
            .unwrap_or_else(|err| panic!("{context}: {err}"));
        assert!(
            matches!(ensured, Ensured::Updated { .. }),
            "{context}: {ensured:?}"
        );
        assert_eq!(met(&world), 1, "{context}: the fault was met");
        // The PATCH is sent again with the same fields: the same change twice is one.
        let patches: Vec<_> = world
            .sandbox
            .journal()
            .entries_for("cloudsmith")
            .into_iter()
            .filter(|e| e.method == "PATCH")
            .collect();
        assert_eq!(patches.len(), 2, "{context}: {patches:?}");
        assert_eq!(patches[0].json(), patches[1].json(), "{context}");
        let (repositories, upstreams, credentials) = held(&world);
        assert_eq!(repositories, ["cgr-private"], "{context}");
        assert_eq!(
            upstreams,
            ["cgr-private cgr-private https://cgr.dev"],
            "{context}"
        );
        assert_eq!(
            credentials,
            [("cgr-private".to_owned(), new.username().to_owned())],
            "{context}"
        );
        assert_eq!(
            world
                .cloudsmith
                .stored_auth_secret("cgr-private", "cgr-private")
                .unwrap()
                .expose(),
            new.password().expose_secret(),
            "{context}"
        );
        let again = backend.ensure(&spec).await.unwrap();
        assert!(
            matches!(again, Ensured::Unchanged { .. }),
            "{context}: {again:?}"
        );
    }
}
