//! A remote's credentials against the stateful fake (tests/common/fake.rs): pins by
//! number, a pin by `versions/latest`, the update mask's fallback, and which refusals of
//! the upstream validation are waited out.

mod common;

use common::fake::FakeGoogle;
use common::{Google, PROJECT};
use gar_client::GarBackend;
use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, UpstreamCredentials};
use serde_json::json;

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

fn private(password: &str) -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(UpstreamCredentials::new(USER, password).unwrap())
}

fn pin(version: &str) -> String {
    format!("projects/{PROJECT}/secrets/{SECRET}/versions/{version}")
}

fn set_pin(fake: &FakeGoogle, version: &str) {
    fake.with(|s| {
        s.repositories.get_mut("cgr-private").unwrap()["remoteRepositoryConfig"]
            ["upstreamCredentials"]["usernamePasswordCredentials"]["passwordSecretVersion"] =
            json!(pin(version));
    });
}

#[tokio::test]
async fn a_pin_that_is_not_a_version_number_is_refused_before_any_request() {
    let (google, fake, _backend) = world().await;
    let client = google.client();
    for version in ["latest", "", "1a", "-1"] {
        let err = client
            .pin_upstream_credentials("cgr-private", USER, version)
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{version}: {err}");
    }
    let err = client
        .pin_upstream_credentials("cgr-private", USER, "latest")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a secret version number"),
        "{err}"
    );
    assert!(fake.take().is_empty(), "nothing was sent");
}

/// A pin of `versions/latest` (made by hand) is the newest version: a retirement keeps it
/// and disables the others, instead of every version.
#[tokio::test]
async fn a_latest_pin_retires_around_the_version_it_stands_for() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private("one")).await.unwrap();
    backend
        .ensure(&private("two").rotating_credentials())
        .await
        .unwrap();
    assert_eq!(fake.versions(SECRET), ["ENABLED", "ENABLED"]);
    set_pin(&fake, "latest");
    fake.take();
    let retired = backend
        .retire_credentials(&name("cgr-private"))
        .await
        .unwrap();
    assert_eq!(retired, [pin("1")]);
    assert_eq!(fake.versions(SECRET), ["DISABLED", "ENABLED"]);
    assert!(
        fake.take_lines().contains(&format!(
            "GET sm /v1/projects/{PROJECT}/secrets/{SECRET}/versions/latest"
        )),
        "the alias is resolved"
    );

    // The newest version disabled: the pin is broken already, and nothing is retired.
    fake.with(|s| {
        let versions = &mut s.secrets.get_mut(SECRET).unwrap().versions;
        versions[0].state = "ENABLED".into();
        versions[1].state = "DISABLED".into();
    });
    assert!(
        backend
            .retire_credentials(&name("cgr-private"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(fake.versions(SECRET), ["ENABLED", "DISABLED"]);
}

const SUBTREE: &str = "remoteRepositoryConfig.upstreamCredentials";
const LEAVES: &str = "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.username,\
                      remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.passwordSecretVersion";

fn patches(fake: &FakeGoogle) -> Vec<(String, Option<serde_json::Value>)> {
    fake.take()
        .into_iter()
        .filter(|l| l.method == "PATCH")
        .map(|l| {
            let mask = l.target.split("updateMask=").nth(1).unwrap_or_default();
            (mask.replace("%2C", ","), l.body)
        })
        .collect()
}

/// Where Artifact Registry refuses the subtree mask, the PATCH is sent again once with the
/// two leaf paths gcloud and Terraform send, and the client keeps to them after.
#[tokio::test]
async fn a_refused_subtree_mask_falls_back_to_the_two_leaf_paths() {
    let (_google, fake, backend) = world().await;
    fake.with(|s| s.refuse_subtree_mask = true);
    backend.ensure(&private("one")).await.unwrap();
    let body = json!({"remoteRepositoryConfig": {"upstreamCredentials": {
        "usernamePasswordCredentials": {"username": USER, "passwordSecretVersion": pin("1")}}}});
    assert_eq!(
        patches(&fake),
        [
            (SUBTREE.to_owned(), Some(body.clone())),
            (LEAVES.to_owned(), Some(body)),
        ]
    );
    assert_eq!(fake.versions(SECRET), ["ENABLED"]);
    // A rotation, then removing the credentials: the leaves at once.
    backend
        .ensure(&private("two").rotating_credentials())
        .await
        .unwrap();
    let sent = patches(&fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, LEAVES);
    let anonymous = CacheSpec::remote(name("cgr-private"), pull_through_core::Upstream::CgrPublic);
    backend.ensure(&anonymous).await.unwrap();
    assert_eq!(patches(&fake), [(LEAVES.to_owned(), Some(json!({})))]);
    assert!(fake.with(|s| {
        s.repositories["cgr-private"]["remoteRepositoryConfig"]
            .get("upstreamCredentials")
            .is_none()
    }));
    assert!(matches!(
        backend.ensure(&anonymous).await.unwrap(),
        pull_through_core::Ensured::Unchanged { .. }
    ));
}

/// cgr.dev refusing the pull token is not waited out like a grant that propagates: one
/// PATCH, and an error that says which role the token needs and to mint a new one.
#[tokio::test]
async fn credentials_cgr_dev_refuses_fail_at_once_naming_the_role() {
    let (_google, fake, backend) = world().await;
    fake.with(|s| s.upstream_refuses = true);
    let err = backend.ensure(&private("bad")).await.unwrap_err();
    assert!(matches!(err, pull_through_core::Error::Api(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Failed to validate remote upstream"),
        "{text}"
    );
    assert!(text.contains("generic::unauthenticated"), "{text}");
    assert!(
        text.contains(&format!(
            "cgr.dev refused the pull token {USER} that Artifact Registry presented"
        )),
        "{text}"
    );
    assert!(text.contains("registry.pull role"), "{text}");
    assert!(text.contains("mint a new one"), "{text}");
    assert!(!text.contains("IAM grants take"), "{text}");
    assert_eq!(patches(&fake).len(), 1, "not retried");

    // While the secret cannot be read, the PATCH is retried (within the test's 5 tries).
    let (_google, fake, backend) = world().await;
    fake.with(|s| s.validation_failures = 2);
    backend.ensure(&private("good")).await.unwrap();
    assert_eq!(patches(&fake).len(), 3);
}
