//! Failing verifications on the sandbox's Cloudsmith fake, each with the seed's hint for
//! what the cache breaks: an upstream URL that is not one of the two, a mode that does not
//! cache, `https://cgr.dev` without a pull token, and a reference in the wrong form. The
//! caches are changed through the fake's API, as a person would change them by hand.

mod sandbox_support;

use sandbox_support::*;

use cloudsmith_client::Layout;
use pull_through_core::PullThroughBackend;
use serde_json::json;

/// The hint of a verification that failed.
async fn hint(backend: &cloudsmith_client::CloudsmithBackend, cache: &str, image: &str) -> String {
    let verification = verify(backend, cache, image).await;
    assert!(!verification.passed(), "{verification}");
    let shown = verification.to_string();
    shown
        .split_once("hint: ")
        .unwrap_or_else(|| panic!("no hint in {shown}"))
        .1
        .to_owned()
}

#[tokio::test]
async fn a_failing_verify_of_the_public_cache_names_what_it_breaks() {
    let world = world().await;
    let backend = backend(&world, Layout::OwnRepository);
    let (public, _) = seed(&world).await;
    backend.ensure(&public).await.unwrap();
    let registry = format!(
        "{}/pull-through-sandbox/cgr-public",
        world.client.docker_host()
    );

    // A URL with more than the namespace: nothing resolves.
    patch_upstream(
        &world,
        "cgr-public",
        "cgr-public",
        json!({"upstream_url": "https://cgr.dev/chainguard/nginx"}),
    )
    .await;
    assert_eq!(
        hint(&backend, "cgr-public", "chainguard/go").await,
        "the upstream URL is \"https://cgr.dev/chainguard/nginx\"; it must be exactly \
         https://cgr.dev/chainguard (public images) or https://cgr.dev (an organization's, \
         with a pull token): any other URL fails"
    );

    // The API's default mode, and an image that does not come through.
    patch_upstream(
        &world,
        "cgr-public",
        "cgr-public",
        json!({"upstream_url": "https://cgr.dev/chainguard", "mode": "Proxy Only"}),
    )
    .await;
    assert_eq!(
        hint(&backend, "cgr-public", "chainguard/no-such-image").await,
        "set the upstream's mode to Cache and Proxy (the API's default, Proxy Only, does \
         not cache)"
    );

    // Set up as the seed says, the reference is what is left to check.
    patch_upstream(
        &world,
        "cgr-public",
        "cgr-public",
        json!({"mode": "Cache and Proxy"}),
    )
    .await;
    assert!(
        verify(&backend, "cgr-public", "chainguard/go")
            .await
            .passed()
    );
    assert_eq!(
        hint(&backend, "cgr-public", "example.com/chainguard-base").await,
        format!("public images are pulled without the chainguard/ prefix: {registry}/nginx:latest")
    );
}

#[tokio::test]
async fn a_failing_verify_of_the_private_cache_names_what_it_breaks() {
    let world = world().await;
    let backend = backend(&world, Layout::OwnRepository);
    let (_, private) = seed(&world).await;
    backend.ensure(&private).await.unwrap();
    let registry = format!(
        "{}/pull-through-sandbox/cgr-private",
        world.client.docker_host()
    );
    assert!(
        verify(&backend, "cgr-private", "example.com/chainguard-base")
            .await
            .passed()
    );

    // The organization's image without the organization's registry in the reference.
    assert_eq!(
        hint(&backend, "cgr-private", "chainguard-base").await,
        format!(
            "check the pull token (bound to registry.pull, not expired), and that the \
             reference names the organization's registry: \
             {registry}/example.com/chainguard-base:latest"
        )
    );

    // The pull token taken away, and the copy forgotten: https://cgr.dev pulls
    // anonymously, and is refused.
    backend
        .forget(&name("cgr-private"), &probe("example.com/chainguard-base"))
        .await
        .unwrap();
    patch_upstream(
        &world,
        "cgr-private",
        "cgr-private",
        json!({"auth_mode": "None", "auth_username": null, "auth_secret": null}),
    )
    .await;
    assert_eq!(
        hint(&backend, "cgr-private", "example.com/chainguard-base").await,
        "https://cgr.dev needs Username and Password from a pull token bound to registry.pull"
    );
}
