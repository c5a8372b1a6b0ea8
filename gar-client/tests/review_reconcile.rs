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

const SECRET: &str = "pull-through-cgr-private";
const USER: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

fn private(password: &str) -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(pull_through_core::UpstreamCredentials::new(USER, password).unwrap())
}

fn writes(fake: &FakeGoogle) -> Vec<String> {
    fake.take()
        .iter()
        .filter(|l| l.is_write())
        .map(|l| l.line())
        .collect()
}

fn pinned(fake: &FakeGoogle) -> serde_json::Value {
    fake.with(|s| {
        s.repositories["cgr-private"]["remoteRepositoryConfig"]["upstreamCredentials"]
            ["usernamePasswordCredentials"]["passwordSecretVersion"]
            .clone()
    })
}

/// The cache's secret was deleted by hand: the pin names nothing, so the plan shows it and
/// ensure writes the spec's password into a new secret (instead of failing on the grant's
/// getIamPolicy).
#[tokio::test]
async fn a_deleted_secret_is_planned_and_written_again() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private("one")).await.unwrap();
    fake.with(|s| s.secrets.clear());
    fake.take();
    let plan = backend.plan(&private("one")).await.unwrap();
    assert!(
        plan.to_string()
            .contains(&format!("upstreamCredentials.passwordSecret: \"{SECRET}\"")),
        "{plan}"
    );
    assert!(writes(&fake).is_empty(), "plan only reads");
    let ensured = backend.ensure(&private("one")).await.unwrap();
    assert!(
        matches!(ensured, pull_through_core::Ensured::Updated { .. }),
        "{ensured:?}"
    );
    let written = writes(&fake);
    assert_eq!(
        written,
        [
            format!("POST sm /v1/projects/{PROJECT}/secrets?secretId={SECRET}"),
            format!("POST sm /v1/projects/{PROJECT}/secrets/{SECRET}:addVersion"),
            format!("POST sm /v1/projects/{PROJECT}/secrets/{SECRET}:setIamPolicy"),
            format!(
                "PATCH ar /v1/projects/{PROJECT}/locations/{LOCATION}/repositories/cgr-private\
                 ?updateMask=remoteRepositoryConfig.upstreamCredentials"
            ),
        ]
    );
    assert_eq!(fake.payload(SECRET, 1), b"one");
    assert!(matches!(
        backend.ensure(&private("one")).await.unwrap(),
        pull_through_core::Ensured::Unchanged { .. }
    ));
}

/// The pinned version was disabled or destroyed by hand: pulls get 403 although the pin's
/// text is right, so the plan shows it and ensure pins a new version of the spec's password.
#[tokio::test]
async fn a_disabled_or_destroyed_pinned_version_is_planned_and_written_again() {
    for broken in ["DISABLED", "DESTROYED"] {
        let (_google, fake, backend) = world().await;
        backend.ensure(&private("one")).await.unwrap();
        fake.with(|s| s.secrets.get_mut(SECRET).unwrap().versions[0].state = broken.into());
        fake.take();
        let plan = backend.plan(&private("one")).await.unwrap();
        assert!(plan.has_changes(), "{broken}: {plan}");
        assert!(
            plan.to_string()
                .contains(&format!("upstreamCredentials.passwordSecret: \"{SECRET}\"")),
            "{broken}: {plan}"
        );
        assert!(
            fake.take_lines().contains(&format!(
                "GET sm /v1/projects/{PROJECT}/secrets/{SECRET}/versions/1"
            )),
            "the pinned version is read"
        );
        backend.ensure(&private("one")).await.unwrap();
        assert_eq!(
            pinned(&fake),
            json!(format!("projects/{PROJECT}/secrets/{SECRET}/versions/2"))
        );
        assert_eq!(fake.versions(SECRET), [broken, "ENABLED"]);
        assert_eq!(fake.payload(SECRET, 2), b"one");
        assert!(matches!(
            backend.ensure(&private("one")).await.unwrap(),
            pull_through_core::Ensured::Unchanged { .. }
        ));
    }
}
