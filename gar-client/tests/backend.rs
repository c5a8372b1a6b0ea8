//! The backend's flows against a small stateful Google (tests/common/fake.rs): the private
//! cache's create order, a second ensure that writes nothing, rotation, the IAM grant as a
//! planned and repaired field, a run stopped half way, IAM propagation, credentials
//! switched on and off, and virtual repositories.

mod common;

use common::fake::{FakeGoogle, agent};
use common::{Google, LOCATION, PROJECT};
use gar_client::GarBackend;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, Error, PackageFormat, PullThroughBackend, Upstream,
    UpstreamCredentials,
};
use serde_json::json;

const SECRET: &str = "pull-through-cgr-private";
const USER: &str = "0123456789abcdef0123456789abcdef01234567/0123456789abcdef";

async fn world() -> (Google, FakeGoogle, GarBackend) {
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    let backend = GarBackend::new(google.client()).with_org("example.com".parse().unwrap());
    (google, fake, backend)
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

fn private(user: &str, password: &str) -> CacheSpec {
    CacheSpec::remote(name("cgr-private"), "cgr.dev/example.com".parse().unwrap())
        .with_credentials(UpstreamCredentials::new(user, password).unwrap())
}

fn repo(suffix: &str) -> String {
    format!("/v1/projects/{PROJECT}/locations/{LOCATION}/repositories{suffix}")
}

fn secret(suffix: &str) -> String {
    format!("/v1/projects/{PROJECT}/secrets{suffix}")
}

fn pin(version: u32) -> String {
    format!("projects/{PROJECT}/secrets/{SECRET}/versions/{version}")
}

fn writes(fake: &FakeGoogle) -> Vec<String> {
    fake.take()
        .iter()
        .filter(|l| l.is_write())
        .map(|l| l.line())
        .collect()
}

#[tokio::test]
async fn a_private_cache_is_created_anonymously_then_secret_version_grant_and_pin() {
    let (_google, fake, backend) = world().await;
    let spec = private(USER, "pull-token-one");
    let created = backend.ensure(&spec).await.unwrap();
    let Ensured::Created { state } = created else {
        panic!("{created:?}")
    };
    assert_eq!(
        state.to_string(),
        format!(
            "cgr-private: docker remote of https://cgr.dev/ (username {USER})\n    at {}/{PROJECT}/cgr-private",
            backend.client().docker_host()
        )
    );
    let log = fake.take();
    let lines: Vec<String> = log.iter().map(|l| l.line()).collect();
    assert_eq!(
        lines,
        [
            format!("GET crm /v1/projects/{PROJECT}"),
            format!("GET ar {}", repo("/cgr-private")),
            format!("POST ar {}", repo("?repositoryId=cgr-private")),
            format!("GET ar /v1/projects/{PROJECT}/locations/{LOCATION}/operations/op-1"),
            format!("GET ar /v1/projects/{PROJECT}/locations/{LOCATION}/operations/op-1"),
            format!("POST sm {}", secret(&format!("?secretId={SECRET}"))),
            format!("POST sm {}", secret(&format!("/{SECRET}:addVersion"))),
            // A secret made now has no other version (none are listed); its policy is
            // read for its etag, then written, as the reference documents.
            format!(
                "GET sm {}",
                secret(&format!(
                    "/{SECRET}:getIamPolicy?options.requestedPolicyVersion=3"
                ))
            ),
            format!("POST sm {}", secret(&format!("/{SECRET}:setIamPolicy"))),
            format!(
                "PATCH ar {}",
                repo("/cgr-private?updateMask=remoteRepositoryConfig.upstreamCredentials")
            ),
        ]
    );
    assert_eq!(
        log[2].body,
        Some(json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"commonRepository": {"uri": "https://cgr.dev/"}}})),
        "created anonymously"
    );
    assert_eq!(
        log[8].body,
        // The etag and version as the read answered them.
        Some(
            json!({"policy": {"etag": "ACAB", "version": 1, "bindings": [
            {"role": "roles/secretmanager.secretAccessor", "members": [agent()]}]}})
        )
    );
    assert_eq!(
        log[9].body,
        Some(
            json!({"remoteRepositoryConfig": {"upstreamCredentials": {"usernamePasswordCredentials":
            {"username": USER, "passwordSecretVersion": pin(1)}}}})
        )
    );
    assert_eq!(fake.payload(SECRET, 1), b"pull-token-one");

    // A second ensure only reads: the repository, the pinned version and the grant.
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
    assert_eq!(
        fake.take_lines(),
        [
            format!("GET ar {}", repo("/cgr-private")),
            format!("GET sm {}", secret(&format!("/{SECRET}/versions/1"))),
            format!(
                "GET sm {}",
                secret(&format!(
                    "/{SECRET}:getIamPolicy?options.requestedPolicyVersion=3"
                ))
            ),
        ]
    );
    assert!(!backend.plan(&spec).await.unwrap().has_changes());
    // Another password alone is never compared.
    assert!(matches!(
        backend.ensure(&private(USER, "another")).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn a_rotation_adds_a_version_pins_it_and_retires_the_old_one_after() {
    let (_google, fake, backend) = world().await;
    backend
        .ensure(&private(USER, "pull-token-one"))
        .await
        .unwrap();
    fake.take();
    let rotating = private(USER, "pull-token-two").rotating_credentials();
    let plan = backend.plan(&rotating).await.unwrap();
    assert_eq!(
        plan.to_string(),
        "~ cgr-private\n    password: (sensitive value) -> (sensitive value)"
    );
    let Ensured::Updated { changes, .. } = backend.ensure(&rotating).await.unwrap() else {
        panic!("a rotation updates")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["password"]
    );
    let log = fake.take();
    let written: Vec<String> = log
        .iter()
        .filter(|l| l.is_write())
        .map(|l| l.line())
        .collect();
    assert_eq!(
        written,
        [
            // The secret exists: 409, read, and no second secret.
            format!("POST sm {}", secret(&format!("?secretId={SECRET}"))),
            format!("POST sm {}", secret(&format!("/{SECRET}:addVersion"))),
            format!(
                "PATCH ar {}",
                repo("/cgr-private?updateMask=remoteRepositoryConfig.upstreamCredentials")
            ),
        ],
        "the grant is present: no setIamPolicy"
    );
    let patch = log.iter().find(|l| l.method == "PATCH").unwrap();
    assert_eq!(
        patch.body.as_ref().unwrap()["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
            ["passwordSecretVersion"],
        json!(pin(2))
    );
    assert_eq!(fake.payload(SECRET, 2), b"pull-token-two");
    // The version pinned before stays usable until the new one is proven.
    assert_eq!(fake.versions(SECRET), ["ENABLED", "ENABLED"]);
    let retired = backend
        .retire_credentials(&name("cgr-private"))
        .await
        .unwrap();
    assert_eq!(retired, [pin(1)]);
    assert_eq!(fake.versions(SECRET), ["DISABLED", "ENABLED"]);
    assert_eq!(
        writes(&fake),
        [format!(
            "POST sm {}",
            secret(&format!("/{SECRET}/versions/1:disable"))
        )]
    );
    assert!(
        backend
            .retire_credentials(&name("cgr-private"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        backend
            .ensure(&private(USER, "pull-token-two"))
            .await
            .unwrap(),
        Ensured::Unchanged { .. }
    ));
    assert!(fake.with(|s| s.secrets.len() == 1));
}

#[tokio::test]
async fn plan_shows_a_missing_grant_and_ensure_repairs_only_it() {
    let (_google, fake, backend) = world().await;
    let spec = private(USER, "pull-token-one");
    let plan = backend.plan(&spec).await.unwrap();
    assert_eq!(
        plan.to_string(),
        format!(
            "+ cgr-private\n    format: \"DOCKER\"\n    mode: \"REMOTE_REPOSITORY\"\n    \
             commonRepository.uri: \"https://cgr.dev/\"\n    upstreamCredentials.passwordSecret: \"{SECRET}\"\n    \
             passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]: \"{}\"\n    username: \"{USER}\"\n    password: (sensitive value)",
            agent()
        )
    );
    backend.ensure(&spec).await.unwrap();
    fake.revoke_grant(SECRET);
    fake.take();
    let plan = backend.plan(&spec).await.unwrap();
    assert_eq!(
        plan.to_string(),
        format!(
            "~ cgr-private\n    passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]: \"{}\"",
            agent()
        )
    );
    assert!(writes(&fake).is_empty(), "plan only reads");
    let Ensured::Updated { changes, .. } = backend.ensure(&spec).await.unwrap() else {
        panic!("the grant is repaired")
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(
        writes(&fake),
        [format!(
            "POST sm {}",
            secret(&format!("/{SECRET}:setIamPolicy"))
        )],
        "no new version, no PATCH"
    );
    assert_eq!(fake.versions(SECRET), ["ENABLED"]);
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
}

#[tokio::test]
async fn a_run_stopped_half_way_converges_without_duplicates() {
    let (_google, fake, backend) = world().await;
    let spec = private(USER, "pull-token-one");
    fake.with(|s| s.fail_patches = true);
    let err = backend.ensure(&spec).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err}");
    // The repository, the secret, a version and the grant were made; nothing pins it.
    // The PATCH's 500 may have been performed, so the core read the repository back,
    // found it without credentials and wrote them again: a second version, no pin.
    assert_eq!(fake.versions(SECRET), ["ENABLED", "ENABLED"]);
    fake.with(|s| s.fail_patches = false);
    fake.take();
    let Ensured::Updated { changes, .. } = backend.ensure(&spec).await.unwrap() else {
        panic!("the run goes on from where it stopped")
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "username",
            "upstreamCredentials.passwordSecret",
            "passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]",
            "password"
        ]
    );
    let written = writes(&fake);
    assert!(
        !written.iter().any(|w| w.contains("?repositoryId=")),
        "{written:?}"
    );
    assert!(
        !written.iter().any(|w| w.contains(":setIamPolicy")),
        "{written:?}"
    );
    // The versions nothing pinned are disabled; one secret, one repository.
    assert_eq!(fake.versions(SECRET), ["DISABLED", "DISABLED", "ENABLED"]);
    assert!(fake.with(|s| s.secrets.len() == 1 && s.repositories.len() == 1));
    assert!(matches!(
        backend.ensure(&spec).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
}

#[tokio::test]
async fn a_patch_refused_while_the_grant_propagates_is_retried_within_the_budget() {
    let (_google, fake, backend) = world().await;
    fake.with(|s| s.validation_failures = 2);
    assert!(matches!(
        backend.ensure(&private(USER, "p1")).await.unwrap(),
        Ensured::Created { .. }
    ));
    let patches = fake.take().iter().filter(|l| l.method == "PATCH").count();
    assert_eq!(patches, 3);

    let (_google, fake, backend) = world().await;
    fake.with(|s| s.validation_failures = 1000);
    let err = backend.ensure(&private(USER, "p1")).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Failed to validate remote upstream"),
        "{text}"
    );
    assert!(text.contains("IAM grants take 2 to 7 minutes"), "{text}");
    assert!(text.contains("run apply again"), "{text}");
    assert!(text.contains(&agent()) && text.contains(SECRET), "{text}");
    let patches = fake.take().iter().filter(|l| l.method == "PATCH").count();
    assert_eq!(patches, 5, "bounded by the validation retry settings");
}

#[tokio::test]
async fn switching_credentials_on_and_off_and_a_username_change() {
    let (_google, fake, backend) = world().await;
    // The seed's first half: anonymous. A private upstream needs credentials, so the
    // public image upstream stands in for it.
    let anonymous = CacheSpec::remote(name("cgr-private"), Upstream::CgrPublic);
    backend.ensure(&anonymous).await.unwrap();
    fake.take();
    // The seed's "Edit" step: the existing repository switched to authenticated.
    let Ensured::Updated { changes, .. } = backend.ensure(&private(USER, "p1")).await.unwrap()
    else {
        panic!("switched by PATCH")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        [
            "username",
            "upstreamCredentials.passwordSecret",
            "passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]",
            "password"
        ]
    );
    assert!(
        !writes(&fake).iter().any(|w| w.contains("?repositoryId=")),
        "no second create"
    );

    let renamed = "fedcba9876543210fedcba9876543210fedcba98/fedcba9876543210";
    let Ensured::Updated { changes, state } =
        backend.ensure(&private(renamed, "p2")).await.unwrap()
    else {
        panic!("a username change writes")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["username", "password"]
    );
    assert!(state.to_string().contains(renamed));
    assert_eq!(fake.payload(SECRET, 2), b"p2");
    fake.take();

    // Credentials removed: the secret goes, then the PATCH carries none.
    let Ensured::Updated { changes, .. } = backend.ensure(&anonymous).await.unwrap() else {
        panic!("credentials are cleared")
    };
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["username", "password"]
    );
    let log = fake.take();
    let written: Vec<String> = log
        .iter()
        .filter(|l| l.is_write())
        .map(|l| l.line())
        .collect();
    assert_eq!(
        written,
        [
            format!("DELETE sm {}", secret(&format!("/{SECRET}"))),
            format!(
                "PATCH ar {}",
                repo("/cgr-private?updateMask=remoteRepositoryConfig.upstreamCredentials")
            ),
        ]
    );
    assert_eq!(
        log.iter().find(|l| l.method == "PATCH").unwrap().body,
        Some(json!({}))
    );
    assert!(fake.with(|s| s.secrets.is_empty()));
    assert!(matches!(
        backend.ensure(&anonymous).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
}

#[tokio::test]
async fn a_pin_of_a_foreign_secret_is_replaced_by_the_cache_s_own() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private(USER, "p1")).await.unwrap();
    fake.with(|s| {
        let repo = s.repositories.get_mut("cgr-private").unwrap();
        repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
            ["passwordSecretVersion"] = json!(format!("projects/{PROJECT}/secrets/hand-made/versions/7"));
    });
    let plan = backend.plan(&private(USER, "p1")).await.unwrap();
    assert!(
        plan.to_string().contains(&format!(
            "upstreamCredentials.passwordSecret: \"hand-made\" -> \"{SECRET}\""
        )),
        "{plan}"
    );
    backend.ensure(&private(USER, "p1")).await.unwrap();
    assert!(matches!(
        backend.ensure(&private(USER, "p1")).await.unwrap(),
        Ensured::Unchanged { .. }
    ));
    // The same secret id in another project is another secret.
    fake.with(|s| {
        let repo = s.repositories.get_mut("cgr-private").unwrap();
        repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
            ["passwordSecretVersion"] = json!(format!("projects/other-project/secrets/{SECRET}/versions/2"));
    });
    let plan = backend.plan(&private(USER, "p1")).await.unwrap();
    assert!(
        plan.to_string().contains(&format!(
            "upstreamCredentials.passwordSecret: \"projects/other-project/secrets/{SECRET}\" -> \"{SECRET}\""
        )),
        "{plan}"
    );
    // The project number Google echoes is the same project: no drift.
    fake.with(|s| {
        let repo = s.repositories.get_mut("cgr-private").unwrap();
        repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
            ["passwordSecretVersion"] = json!(format!("projects/123456789012/secrets/{SECRET}/versions/2"));
    });
    assert!(
        !backend
            .plan(&private(USER, "p1"))
            .await
            .unwrap()
            .has_changes()
    );
}

#[tokio::test]
async fn upstream_shapes_and_immutable_fields() {
    let (_google, fake, backend) = world().await;
    let spec = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    let insert = |uri_field: serde_json::Value| {
        fake.with(|s| {
            s.repositories.insert(
                "cgr-public".into(),
                json!({"name": format!("projects/{PROJECT}/locations/{LOCATION}/repositories/cgr-public"),
                    "format": "DOCKER", "mode": "REMOTE_REPOSITORY", "remoteRepositoryConfig": uri_field}),
            );
        })
    };
    // The older shape, without the slash: the same upstream.
    insert(json!({"dockerRepository": {"customRepository": {"uri": "https://cgr.dev"}}}));
    assert!(!backend.plan(&spec).await.unwrap().has_changes());
    insert(json!({"commonRepository": {"uri": "https://cgr.dev/chainguard"}}));
    let err = backend.plan(&spec).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("delete it"), "{err}");
    let virt = CacheSpec::aggregate(name("cgr-public"), PackageFormat::Docker, vec![name("a")]);
    assert!(matches!(
        backend.ensure(&virt).await,
        Err(Error::Unsupported { .. })
    ));
    fake.take();
    // A description is a PATCH of description alone.
    insert(json!({"commonRepository": {"uri": "https://cgr.dev/"}}));
    let described = spec.clone().with_description("Chainguard images");
    backend.ensure(&described).await.unwrap();
    let log = fake.take();
    let patch = log.iter().find(|l| l.method == "PATCH").unwrap();
    assert_eq!(patch.target, repo("/cgr-public?updateMask=description"));
    assert_eq!(
        patch.body,
        Some(json!({"description": "Chainguard images"}))
    );
}

#[tokio::test]
async fn a_virtual_repository_orders_its_members_by_priority() {
    let (_google, fake, backend) = world().await;
    backend
        .ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    backend.ensure(&private(USER, "p1")).await.unwrap();
    fake.take();
    let virt = |members: &[&str]| {
        CacheSpec::aggregate(
            name("cgr-virt"),
            PackageFormat::Docker,
            members.iter().map(|m| name(m)).collect(),
        )
    };
    let policy = |member: &str, priority: u32| {
        json!({"id": member,
        "repository": format!("projects/{PROJECT}/locations/{LOCATION}/repositories/{member}"), "priority": priority})
    };
    backend
        .ensure(&virt(&["cgr-public", "cgr-private"]))
        .await
        .unwrap();
    let log = fake.take();
    let create = log.iter().find(|l| l.method == "POST").unwrap();
    assert_eq!(
        create.body,
        Some(
            json!({"format": "DOCKER", "mode": "VIRTUAL_REPOSITORY", "virtualRepositoryConfig":
            {"upstreamPolicies": [policy("cgr-public", 2), policy("cgr-private", 1)]}})
        )
    );
    let state = backend.describe(&name("cgr-virt")).await.unwrap().unwrap();
    assert_eq!(
        state.members().unwrap(),
        [name("cgr-public"), name("cgr-private")]
    );
    assert!(matches!(
        backend
            .ensure(&virt(&["cgr-public", "cgr-private"]))
            .await
            .unwrap(),
        Ensured::Unchanged { .. }
    ));
    fake.take();
    let plan = backend
        .plan(&virt(&["cgr-private", "cgr-public"]))
        .await
        .unwrap();
    assert_eq!(
        plan.to_string(),
        "~ cgr-virt\n    upstreamPolicies: [\"cgr-public\", \"cgr-private\"] -> [\"cgr-private\", \"cgr-public\"]"
    );
    backend
        .ensure(&virt(&["cgr-private", "cgr-public"]))
        .await
        .unwrap();
    let log = fake.take();
    let patch = log.iter().find(|l| l.method == "PATCH").unwrap();
    assert_eq!(
        patch.target,
        repo("/cgr-virt?updateMask=virtualRepositoryConfig")
    );
    assert_eq!(
        patch.body,
        Some(
            json!({"virtualRepositoryConfig": {"upstreamPolicies": [policy("cgr-private", 2), policy("cgr-public", 1)]}})
        )
    );
    let listed: Vec<String> = backend
        .list()
        .await
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        listed,
        ["cgr-private", "cgr-public", "cgr-virt"],
        "every page"
    );
}

#[tokio::test]
async fn delete_removes_the_repository_and_its_secret() {
    let (_google, fake, backend) = world().await;
    backend.ensure(&private(USER, "p1")).await.unwrap();
    assert_eq!(
        backend.delete(&name("cgr-private")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    assert!(fake.with(|s| s.repositories.is_empty() && s.secrets.is_empty()));
    assert_eq!(
        backend.delete(&name("cgr-private")).await.unwrap(),
        pull_through_core::Deleted::AlreadyAbsent
    );
    // A public cache's delete leaves Secret Manager alone (it need not be enabled).
    backend
        .ensure(&CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic))
        .await
        .unwrap();
    fake.take();
    backend.delete(&name("cgr-public")).await.unwrap();
    assert!(fake.take().iter().all(|l| l.host == "ar"));
}
