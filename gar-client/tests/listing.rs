//! A run over many caches with one listing (issue 15), against the sandbox's Google fakes:
//! a first apply of 15 caches sends the listing and the writes (and the operations' polls
//! and the project's number, once); a re-apply writes nothing and reads each private
//! cache's pinned version and grant only; a describe then an ensure read the repository
//! once; a listing gone stale still converges; and the conformance suite through the
//! listing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};
use gar_client::{Backoff, GarBackend, GarClient};
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::http::{RecordingObserver, RetryConfig};
use pull_through_core::listing::Listing;
use pull_through_core::{
    CacheKind, CacheName, CacheRole, CacheSpec, ClientLogin, Ensured, OrgId, PackageFormat, Probe,
    PullThroughBackend, PullTokenRole, Upstream, UpstreamCredentials,
};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::{ARTIFACT_REGISTRY, Gar, RESOURCE_MANAGER, SECRET_MANAGER};

struct World {
    sandbox: Sandbox,
    chainguard: Chainguard,
    gar: Gar,
    log: Arc<RecordingObserver>,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let gar = Gar::new().with_operation_polls(1);
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .gar(&gar)
        .start()
        .await
        .unwrap();
    World {
        sandbox,
        chainguard,
        gar,
        log: Arc::new(RecordingObserver::default()),
    }
}

/// A backend with a client of its own, as each run of the fleet connects one.
fn backend(world: &World) -> GarBackend {
    let env: HashMap<String, String> = world.sandbox.env().into_iter().collect();
    let quick = Backoff::new(Duration::from_millis(5), Duration::from_millis(20))
        .with_budget(Duration::from_secs(5));
    let client = GarClient::builder()
        .from_env_with(|var| env.get(var).cloned())
        .with_retry(RetryConfig::none())
        .with_operation_polling(quick)
        .with_iam_retry(quick.with_max_attempts(5))
        .with_validation_retry(quick.with_max_attempts(3))
        .with_observer(world.log.clone())
        .build()
        .unwrap();
    GarBackend::new(client).with_org("example.com".parse().unwrap())
}

async fn pull_token(world: &World) -> UpstreamCredentials {
    let chainguard = ChainguardClient::builder()
        .with_api_url(world.sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(world.sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            world.chainguard.admin_token().expose(),
        )))
        .with_retry(RetryConfig::none())
        .with_binding_retry(vec![Duration::from_millis(10)])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    let org = OrgId::new(world.chainguard.org_id()).unwrap();
    chainguard
        .create_pull_token(&org, PullTokenOptions::new(PullTokenRole::RegistryPull))
        .await
        .unwrap()
        .credentials()
        .unwrap()
}

fn name(n: &str) -> CacheName {
    CacheName::new(n).unwrap()
}

fn public(n: &str) -> CacheSpec {
    CacheSpec::remote(name(n), Upstream::CgrPublic)
}

fn private(n: &str, token: &UpstreamCredentials) -> CacheSpec {
    let upstream = Upstream::CgrPrivate {
        org: "example.com".parse().unwrap(),
    };
    CacheSpec::remote(name(n), upstream).with_credentials(token.clone())
}

/// Five copies of seed 002's three caches: a public remote, a private one, a virtual over
/// both.
fn fleet(token: &UpstreamCredentials) -> Vec<CacheSpec> {
    (0..5)
        .flat_map(|k| {
            [
                public(&format!("cgr-public-{k:02}")),
                private(&format!("cgr-private-{k:02}"), token),
                CacheSpec::aggregate(
                    name(&format!("cgr-virt-{k:02}")),
                    PackageFormat::Docker,
                    vec![
                        name(&format!("cgr-public-{k:02}")),
                        name(&format!("cgr-private-{k:02}")),
                    ],
                ),
            ]
        })
        .collect()
}

/// One run as the fleet makes it: one listing, then every remote at once (a private one
/// described first, for its pull token), then the virtuals.
async fn run(backend: &GarBackend, specs: &[CacheSpec]) -> Vec<Ensured> {
    let listing = backend.listing().await.unwrap();
    let ensure = |spec: &CacheSpec| {
        let listing = &listing;
        let spec = spec.clone();
        async move {
            if matches!(&spec.kind, CacheKind::Remote(r) if r.credentials.is_some()) {
                backend.describe_in(&spec.name, listing).await.unwrap();
            }
            backend.ensure_in(&spec, listing).await.unwrap()
        }
    };
    let (virtuals, remotes): (Vec<&CacheSpec>, Vec<&CacheSpec>) =
        specs.iter().partition(|s| s.upstream().is_none());
    let mut ensured = futures::future::join_all(remotes.into_iter().map(&ensure)).await;
    ensured.extend(futures::future::join_all(virtuals.into_iter().map(&ensure)).await);
    ensured
}

/// The requests the Google fakes received since `seq`, as `METHOD service path` with each
/// repository, secret, version and operation id as `*`, counted.
fn requests(world: &World, seq: u64) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for entry in world.sandbox.journal().since(seq) {
        if ![ARTIFACT_REGISTRY, SECRET_MANAGER, RESOURCE_MANAGER].contains(&entry.service.as_str())
        {
            continue;
        }
        let mut shape = Vec::new();
        let mut hide = false;
        for segment in entry.path.split('/') {
            if hide {
                shape.push(match segment.split_once(':') {
                    Some((_, action)) => format!("*:{action}"),
                    None => "*".to_owned(),
                });
            } else {
                shape.push(segment.to_owned());
            }
            hide = matches!(
                segment,
                "repositories" | "secrets" | "versions" | "operations"
            );
        }
        let line = format!("{} {} {}", entry.method, entry.service, shape.join("/"));
        *counted.entry(line).or_insert(0) += 1;
    }
    counted
}

fn expected(world: &World, lines: &[(&str, &str, usize)]) -> BTreeMap<String, usize> {
    let project = format!("/v1/projects/{}", world.gar.project_id());
    let location = format!("{project}/locations/{}", world.gar.location());
    lines
        .iter()
        .map(|(method, path, count)| {
            let (service, path) = match path.split_once(' ') {
                Some(("sm", rest)) => (SECRET_MANAGER, format!("{project}{rest}")),
                Some(("ar", rest)) => (ARTIFACT_REGISTRY, format!("{location}{rest}")),
                _ => (RESOURCE_MANAGER, project.clone()),
            };
            (format!("{method} {service} {path}"), *count)
        })
        .collect()
}

fn reads(counted: &BTreeMap<String, usize>) -> usize {
    counted
        .iter()
        .filter(|(line, _)| line.starts_with("GET "))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_first_apply_sends_the_listing_and_the_writes_and_a_re_apply_writes_nothing() {
    let world = world().await;
    let token = pull_token(&world).await;
    let specs = fleet(&token);

    let start = world.sandbox.journal().last_seq();
    let first = run(&backend(&world), &specs).await;
    assert!(
        first.iter().all(|e| matches!(e, Ensured::Created { .. })),
        "{first:?}"
    );
    let sent = requests(&world, start);
    assert_eq!(
        sent,
        expected(
            &world,
            &[
                // The listing, the project's number (the service agent's) and each
                // create's operation, polled once.
                ("GET", "ar /repositories", 1),
                ("GET", "crm", 1),
                ("GET", "ar /operations/*", 15),
                // Each new secret's policy, read for its etag before the grant.
                ("GET", "sm /secrets/*:getIamPolicy", 5),
                // The writes: each repository; for a private one its secret, a version,
                // the grant and the pin.
                ("POST", "ar /repositories", 15),
                ("POST", "sm /secrets", 5),
                ("POST", "sm /secrets/*:addVersion", 5),
                ("POST", "sm /secrets/*:setIamPolicy", 5),
                ("PATCH", "ar /repositories/*", 5),
            ]
        )
    );
    assert_eq!(world.gar.repositories().len(), 15);
    assert_eq!(world.gar.secrets().len(), 5);

    // The next run: nothing written; the listing, the project's number, and each private
    // cache's pinned version and grant.
    let start = world.sandbox.journal().last_seq();
    let again = run(&backend(&world), &specs).await;
    assert!(
        again.iter().all(|e| matches!(e, Ensured::Unchanged { .. })),
        "{again:?}"
    );
    let sent = requests(&world, start);
    assert_eq!(
        sent,
        expected(
            &world,
            &[
                ("GET", "ar /repositories", 1),
                ("GET", "crm", 1),
                ("GET", "sm /secrets/*/versions/*", 5),
                ("GET", "sm /secrets/*:getIamPolicy", 5),
            ]
        )
    );
    assert!(reads(&sent) * 10 <= specs.len() * 11, "{sent:?}");

    // Without a listing each cache reads its repository too.
    let start = world.sandbox.journal().last_seq();
    let unlisted = backend(&world);
    for spec in &specs {
        assert!(matches!(
            unlisted.ensure(spec).await.unwrap(),
            Ensured::Unchanged { .. }
        ));
    }
    let sent = requests(&world, start);
    assert_eq!(
        sent,
        expected(
            &world,
            &[
                ("GET", "ar /repositories/*", 15),
                ("GET", "crm", 1),
                ("GET", "sm /secrets/*/versions/*", 5),
                ("GET", "sm /secrets/*:getIamPolicy", 5),
            ]
        )
    );
}

#[tokio::test]
async fn a_describe_then_an_ensure_read_the_repository_once() {
    let world = world().await;
    let token = pull_token(&world).await;
    let setup = backend(&world);
    for spec in [public("cgr-public"), private("cgr-private", &token)] {
        setup.ensure(&spec).await.unwrap();
    }
    // Without a listing (one that failed, say): the describe's read is kept.
    let backend = backend(&world);
    let listing = Listing::unknown();
    let start = world.sandbox.journal().last_seq();
    let state = backend
        .describe_in(&name("cgr-public"), &listing)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.name.as_str(), "cgr-public");
    let ensured = backend
        .ensure_in(&public("cgr-public"), &listing)
        .await
        .unwrap();
    assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
    assert_eq!(
        requests(&world, start),
        expected(&world, &[("GET", "ar /repositories/*", 1)])
    );
    // A private cache: the repository once, then its secret's version and grant.
    let start = world.sandbox.journal().last_seq();
    let state = backend
        .describe_in(&name("cgr-private"), &listing)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&state.role, CacheRole::Remote { username: Some(u), .. } if u == token.username()),
        "{state:?}"
    );
    let ensured = backend
        .ensure_in(&private("cgr-private", &token), &listing)
        .await
        .unwrap();
    assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
    assert_eq!(
        requests(&world, start),
        expected(
            &world,
            &[
                ("GET", "ar /repositories/*", 1),
                ("GET", "crm", 1),
                ("GET", "sm /secrets/*/versions/*", 1),
                ("GET", "sm /secrets/*:getIamPolicy", 1),
            ]
        )
    );
    // An absent cache in a complete listing is not read at all.
    let listing = backend.listing().await.unwrap();
    let start = world.sandbox.journal().last_seq();
    assert!(
        backend
            .describe_in(&name("cgr-absent"), &listing)
            .await
            .unwrap()
            .is_none()
    );
    assert!(requests(&world, start).is_empty());
}

/// A listing is a snapshot: a repository made since is found by the create's
/// `ALREADY_EXISTS` and updated; one deleted since is reported as listed (a public cache:
/// unchanged) or fails its write (a private one: `NOT_FOUND`), and the next run makes it
/// again, without a second secret.
#[tokio::test]
async fn a_stale_listing_converges() {
    let world = world().await;
    let token = pull_token(&world).await;
    let ours = backend(&world);
    let theirs = backend(&world);
    let gone_public = public("gone-public");
    let gone_private = private("gone-private", &token);
    for spec in [&gone_public, &gone_private] {
        theirs.ensure(spec).await.unwrap();
    }

    let listing = ours.listing().await.unwrap();
    let late = public("late").with_description("ours");
    theirs
        .ensure(&public("late").with_description("theirs"))
        .await
        .unwrap();
    for gone in ["gone-public", "gone-private"] {
        theirs.delete(&name(gone)).await.unwrap();
    }

    let start = world.sandbox.journal().last_seq();
    let Ensured::Updated { changes, .. } = ours.ensure_in(&late, &listing).await.unwrap() else {
        panic!("the other writer's repository is updated to the spec")
    };
    assert_eq!(
        changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["description: \"theirs\" -> \"ours\""]
    );
    assert_eq!(
        requests(&world, start),
        expected(
            &world,
            &[
                ("POST", "ar /repositories", 1),
                ("GET", "ar /repositories/*", 1),
                ("PATCH", "ar /repositories/*", 1),
            ]
        )
    );

    let unchanged = ours.ensure_in(&gone_public, &listing).await.unwrap();
    assert!(
        matches!(unchanged, Ensured::Unchanged { .. }),
        "{unchanged:?}"
    );
    let err = ours.ensure_in(&gone_private, &listing).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // The next run makes both again, with one secret and one enabled version.
    let listing = ours.listing().await.unwrap();
    for spec in [&gone_public, &gone_private] {
        let made = ours.ensure_in(spec, &listing).await.unwrap();
        assert!(matches!(made, Ensured::Created { .. }), "{made:?}");
    }
    let secret = "pull-through-gone-private";
    assert_eq!(
        world.gar.secrets(),
        [format!(
            "projects/{}/secrets/{secret}",
            world.gar.project_number()
        )]
    );
    let enabled: Vec<u64> = world
        .gar
        .secret_versions(secret)
        .into_iter()
        .filter(|(_, state)| state == "ENABLED")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(enabled, [2], "the failed run's version is retired");
}

#[tokio::test]
async fn the_conformance_suite_holds_through_the_listing() {
    let world = world().await;
    let fixtures = Fixtures::new(public("conformance-public"), public("conformance_invalid"))
        .with_private(private("conformance-private", &pull_token(&world).await))
        .with_other_credentials(pull_token(&world).await)
        .with_aggregate(CacheSpec::aggregate(
            name("conformance-virt"),
            PackageFormat::Docker,
            vec![name("conformance-public")],
        ))
        .with_probe(Probe::default_for(&Upstream::CgrPublic))
        .with_login(ClientLogin::new(
            "oauth2accesstoken",
            "conformance-login-secret",
            "GOOGLE_OAUTH_ACCESS_TOKEN",
        ));
    let backend = backend(&world);
    conformance::run_all(&conformance::InRun(&backend), world.log.as_ref(), &fixtures).await;
}
