//! Plans and ensures of repositories as found (tests/common/fake.rs): upstreams that no
//! PATCH can change, pins that no longer work, and what the plan calls its fields.

mod common;

use common::fake::FakeGoogle;
use common::{Google, LOCATION, PROJECT};
use gar_client::GarBackend;
use pull_through_core::{CacheName, CacheSpec, Error, PullThroughBackend, Upstream};
use serde_json::json;

async fn world() -> (Google, FakeGoogle, GarBackend) {
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let backend = GarBackend::new(google.client());
    (google, fake, backend)
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

/// A Docker remote of Docker Hub has no upstream URL: it is another upstream, refused as
/// one that cannot change in place, not planned as a field that never converges.
#[tokio::test]
async fn a_remote_of_docker_hub_is_refused_not_updated_for_ever() {
    let (_google, fake, backend) = world().await;
    fake.with(|s| {
        s.repositories.insert(
            "cgr-public".into(),
            json!({"name": format!("projects/{PROJECT}/locations/{LOCATION}/repositories/cgr-public"),
                "format": "DOCKER", "mode": "REMOTE_REPOSITORY",
                "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": "DOCKER_HUB"}}}),
        )
    });
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    for err in [
        backend.plan(&spec).await.unwrap_err(),
        backend.ensure(&spec).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(
                "changing the upstream of cgr-public from dockerRepository.publicRepository \
                 DOCKER_HUB to https://cgr.dev/"
            ),
            "{text}"
        );
        assert!(text.contains("delete it"), "{text}");
    }
    assert!(fake.take().iter().all(|l| !l.is_write()));
}
