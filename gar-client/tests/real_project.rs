//! Seed 002's public half against a real Google Cloud project (ignored: it needs one):
//! a remote Docker repository of `https://cgr.dev/` created in `us-central1` (or
//! `GOOGLE_CLOUD_LOCATION`), planned first with no write, ensured twice (the second writes
//! nothing), listed, diagnosed clean, its client access printed, `chainguard/go:latest`
//! pulled through it with the `oauth2accesstoken` login, a virtual repository over it, an
//! APK upstream refused as unsupported, then everything deleted. It is the core's
//! conformance suite with the public fixtures; the private half needs a Chainguard pull
//! token and is left to `pull-through --config` runs.
//!
//! ```text
//! export GOOGLE_CLOUD_PROJECT=my-project
//! export GOOGLE_OAUTH_ACCESS_TOKEN="$(gcloud auth print-access-token)"
//! cargo test -p gar-client --test real_project -- --ignored --nocapture
//! ```
//!
//! The token needs Artifact Registry Administrator (or Repository Administrator) on the
//! project, and the Artifact Registry API enabled. The repositories are named
//! `pull-through-conformance` and `pull-through-conformance-virt` (or
//! `PULL_THROUGH_GAR_TEST_REPOSITORY` and that name with `-virt`); the test refuses to
//! start when one exists, so it never touches a repository of yours. A run stopped half
//! way can leave them: `pull-through gar repos delete NAME` removes them.
//!
//! A dry run against the sandbox's Google fakes takes the same steps: source the env file
//! `pull-through sandbox serve --env-file sandbox.env` writes (its endpoint overrides
//! point the client at loopback) and run the command above.

use std::sync::Arc;

use gar_client::GarBackend;
use gar_client::GarClient;
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::http::RecordingObserver;
use pull_through_core::{
    CacheName, CacheSpec, ClientLogin, PackageFormat, Probe, PullThroughBackend, Upstream,
};

#[tokio::test]
#[ignore = "needs a Google Cloud project: GOOGLE_CLOUD_PROJECT, GOOGLE_OAUTH_ACCESS_TOKEN"]
async fn seed_002_public_half_against_a_real_project() {
    for var in ["GOOGLE_CLOUD_PROJECT", "GOOGLE_OAUTH_ACCESS_TOKEN"] {
        assert!(
            std::env::var(var).is_ok_and(|v| !v.is_empty()),
            "{var} is not set; see this file's header"
        );
    }
    let log = Arc::new(RecordingObserver::default());
    // The seed's location unless the environment names another.
    let client = GarClient::builder()
        .with_location("us-central1")
        .from_env()
        .with_observer(log.clone())
        .build()
        .expect("the project, location and token are valid");
    let backend = GarBackend::new(client);
    let id = std::env::var("PULL_THROUGH_GAR_TEST_REPOSITORY")
        .unwrap_or_else(|_| "pull-through-conformance".to_owned());
    let remote = CacheName::new(id.clone()).expect("a repository id");
    let virt = CacheName::new(format!("{id}-virt")).expect("a repository id");
    for name in [&remote, &virt] {
        assert!(
            backend
                .describe(name)
                .await
                .expect("the project can be read")
                .is_none(),
            "{name} exists in the project already; delete it or set \
             PULL_THROUGH_GAR_TEST_REPOSITORY to a free id"
        );
    }
    let fixtures = Fixtures::new(
        CacheSpec::remote(remote.clone(), Upstream::CgrPublic)
            .with_description("pull-through conformance test (seed 002, public)"),
        CacheSpec::remote(
            CacheName::new("conformance_invalid").unwrap(),
            Upstream::CgrPublic,
        ),
    )
    .with_aggregate(CacheSpec::aggregate(
        virt,
        PackageFormat::Docker,
        vec![remote],
    ))
    .with_probe(Probe::default_for(&Upstream::CgrPublic))
    .with_login(ClientLogin::new(
        "oauth2accesstoken",
        "conformance-login-secret",
        "GOOGLE_OAUTH_ACCESS_TOKEN",
    ))
    .with_unsupported(CacheSpec::remote(
        CacheName::new(format!("{id}-apk")).unwrap(),
        "apk.cgr.dev/chainguard".parse().unwrap(),
    ));
    conformance::run_all(&backend, log.as_ref(), &fixtures).await;
}
