//! The core's conformance suite against the stateful fake Google (tests/common/fake.rs):
//! every rule of the `PullThroughBackend` contract, with a private remote, an aggregate,
//! a login and an APK upstream GAR cannot front.

mod common;

use common::Google;
use common::fake::FakeGoogle;
use gar_client::GarBackend;
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::{
    CacheName, CacheSpec, ClientLogin, PackageFormat, Upstream, UpstreamCredentials,
};

const USER: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

fn private(user: &str, password: &str) -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(UpstreamCredentials::new(user, password).unwrap())
}

#[tokio::test]
async fn the_conformance_suite() {
    let google = Google::start().await;
    let _fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let (client, log) = google.observed_client();
    let backend = GarBackend::new(client);
    let public = name("conformance-public");
    let fixtures = Fixtures::new(
        CacheSpec::remote(public.clone(), Upstream::CgrPublic),
        CacheSpec::remote(name("conformance_invalid"), Upstream::CgrPublic),
    )
    .with_private(private(USER, "conformance-pull-token"))
    .with_aggregate(CacheSpec::aggregate(
        name("conformance-virt"),
        PackageFormat::Docker,
        vec![public],
    ))
    .with_login(ClientLogin::new(
        "oauth2accesstoken",
        "conformance-login-secret",
        "GOOGLE_OAUTH_ACCESS_TOKEN",
    ))
    .with_unsupported(CacheSpec::remote(
        name("conformance-apk"),
        "apk.cgr.dev/chainguard".parse().unwrap(),
    ));
    conformance::run_all(&backend, log.as_ref(), &fixtures).await;
}
