//! Deletes and credential removals that a crash interrupts half way: what the next run
//! finds, and that it converges without leaving a password behind (tests/common/fake.rs).

mod common;

use common::fake::FakeGoogle;
use common::{Google, LOCATION, PROJECT};
use gar_client::GarBackend;
use pull_through_core::{
    CacheName, CacheSpec, Deleted, Ensured, PullThroughBackend, Upstream, UpstreamCredentials,
};

const SECRET: &str = "pull-through-cgr-private";
const USER: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

async fn world() -> (Google, FakeGoogle, GarBackend) {
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let backend = GarBackend::new(google.client());
    (google, fake, backend)
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

fn private() -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(UpstreamCredentials::new(USER, "pull-token-one").unwrap())
}

fn repo(suffix: &str) -> String {
    format!("/v1/projects/{PROJECT}/locations/{LOCATION}/repositories{suffix}")
}

fn secret(suffix: &str) -> String {
    format!("/v1/projects/{PROJECT}/secrets{suffix}")
}

/// A run died after the repository's DELETE and before the secret's: the next delete finds
/// no repository, and still deletes the secret.
#[tokio::test]
async fn a_delete_that_died_after_the_repository_still_deletes_the_secret() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private()).await.unwrap();
    fake.with(|s| s.repositories.remove("cgr-private"));
    assert_eq!(fake.with(|s| s.secrets.len()), 1);
    fake.take();
    assert_eq!(
        backend.delete(&name("cgr-private")).await.unwrap(),
        Deleted::AlreadyAbsent
    );
    assert_eq!(
        fake.take_lines(),
        [
            format!("GET ar {}", repo("/cgr-private")),
            format!("DELETE ar {}", repo("/cgr-private")),
            format!("DELETE sm {}", secret(&format!("/{SECRET}"))),
        ]
    );
    assert!(fake.with(|s| s.secrets.is_empty()), "no password is left");
    // Nothing left: the secret's 404 is nothing to delete.
    assert_eq!(
        backend.delete(&name("cgr-private")).await.unwrap(),
        Deleted::AlreadyAbsent
    );
}

/// A project of public caches need not enable Secret Manager: the delete of a cache that
/// is not there takes its 403 SERVICE_DISABLED as "no secret".
#[tokio::test]
async fn an_absent_cache_s_delete_takes_secret_manager_disabled_as_no_secret() {
    let (_google, fake, backend) = world().await;
    fake.with(|s| s.sm_disabled = true);
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::AlreadyAbsent
    );
    assert_eq!(
        fake.take_lines(),
        [
            format!("GET ar {}", repo("/cgr-public")),
            format!("DELETE ar {}", repo("/cgr-public")),
            format!("DELETE sm {}", secret("/pull-through-cgr-public")),
        ]
    );
    // A public cache that is there: deleted without asking Secret Manager anything.
    backend
        .ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    fake.take();
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::Removed
    );
    assert!(fake.take().iter().all(|l| l.host == "ar"));
}

fn anonymous() -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), Upstream::CgrPublic)
}

fn has_credentials(fake: &FakeGoogle) -> bool {
    fake.with(|s| {
        s.repositories["cgr-private"]["remoteRepositoryConfig"]
            .get("upstreamCredentials")
            .is_some()
    })
}

/// Removing credentials deletes the secret before the PATCH: a run stopped between them
/// leaves the username, so the next run removes the credentials again and nothing is left.
#[tokio::test]
async fn removing_credentials_deletes_the_secret_first_so_a_stopped_run_converges() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private()).await.unwrap();
    fake.take();
    // The secret's delete fails (Secret Manager stands in for a crash between the steps).
    fake.with(|s| s.sm_disabled = true);
    backend.ensure(&anonymous()).await.unwrap_err();
    assert!(
        fake.take().iter().all(|l| l.method != "PATCH"),
        "no PATCH before the secret is gone"
    );
    assert!(has_credentials(&fake), "the next run sees what to remove");
    fake.with(|s| s.sm_disabled = false);
    let Ensured::Updated { changes, .. } = backend.ensure(&anonymous()).await.unwrap() else {
        panic!("the next run removes the credentials")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["username", "password"]
    );
    assert_eq!(
        fake.take()
            .iter()
            .filter(|l| l.is_write())
            .map(|l| l.line())
            .collect::<Vec<_>>(),
        [
            format!("DELETE sm {}", secret(&format!("/{SECRET}"))),
            format!(
                "PATCH ar {}",
                repo("/cgr-private?updateMask=remoteRepositoryConfig.upstreamCredentials")
            ),
        ]
    );
    assert!(!has_credentials(&fake));
    assert!(fake.with(|s| s.secrets.is_empty()));
    assert!(matches!(
        backend.ensure(&anonymous()).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
}

/// A run stopped after the secret's delete: the secret's 404 is nothing to delete, and the
/// PATCH that removes the credentials is not refused for the secret it no longer names.
#[tokio::test]
async fn removing_credentials_whose_secret_is_gone_still_patches() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private()).await.unwrap();
    fake.with(|s| s.secrets.clear());
    assert!(matches!(
        backend.ensure(&anonymous()).await.unwrap(),
        Ensured::Updated { .. }
    ));
    assert!(!has_credentials(&fake));
}
