//! The core's conformance suite on the sandbox's Cloudsmith fake, in both layouts.

mod sandbox_support;

use sandbox_support::*;

use cloudsmith_client::Layout;
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::{
    CacheSpec, ClientLogin, PackageFormat, Probe, PullThroughBackend, Upstream,
};
use pull_through_sandbox::cloudsmith::USER;

#[tokio::test]
async fn the_own_repository_backend_passes_the_conformance_suite() {
    let world = world().await;
    let backend = backend(&world, Layout::OwnRepository);
    let fixtures = Fixtures::new(
        CacheSpec::remote(name("conformance-public"), Upstream::CgrPublic),
        CacheSpec::remote(name("Conformance_Public"), Upstream::CgrPublic),
    )
    .with_private(
        CacheSpec::remote(
            name("conformance-private"),
            Upstream::CgrPrivate {
                org: "example.com".parse().unwrap(),
            },
        )
        .with_credentials(conformance_credentials(&world).await),
    )
    .with_unsupported(CacheSpec::remote(
        name("cg-private"),
        "apk.cgr.dev/example.com".parse().unwrap(),
    ))
    .with_probe(Probe::default_for(&Upstream::CgrPublic))
    .with_login(ClientLogin::new(
        USER,
        "conformance-login-secret",
        "CLOUDSMITH_API_KEY",
    ));
    conformance::run_all(&backend, world.log.as_ref(), &fixtures).await;
    assert!(
        backend.list().await.unwrap().is_empty(),
        "the suite left caches behind"
    );
    assert!(world.cloudsmith.repository_slugs().is_empty());
}

/// With the aggregate's life: absent while its member exists, created by its marker,
/// deleted leaving the member.
#[tokio::test]
async fn the_shared_repository_backend_passes_the_conformance_suite() {
    let world = world().await;
    let backend = backend(&world, Layout::shared("conformance").unwrap());
    let fixtures = Fixtures::new(
        CacheSpec::remote(name("conformance-public"), Upstream::CgrPublic),
        CacheSpec::remote(name("x"), Upstream::CgrPublic),
    )
    .with_private(
        CacheSpec::remote(
            name("conformance-private"),
            Upstream::CgrPrivate {
                org: "example.com".parse().unwrap(),
            },
        )
        .with_credentials(conformance_credentials(&world).await),
    )
    .with_unsupported(CacheSpec::remote(name("wolfi"), Upstream::Wolfi))
    .with_aggregate(CacheSpec::aggregate(
        name("conformance"),
        PackageFormat::Docker,
        vec![name("conformance-public")],
    ))
    .with_probe(Probe::default_for(&Upstream::CgrPublic))
    .with_login(ClientLogin::new(
        USER,
        "conformance-login-secret",
        "CLOUDSMITH_API_KEY",
    ));
    conformance::run_all(&backend, world.log.as_ref(), &fixtures).await;
    assert!(
        backend.list().await.unwrap().is_empty(),
        "the suite left caches behind"
    );
    assert!(world.cloudsmith.repository_slugs().is_empty());
}
