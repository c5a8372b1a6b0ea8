//! A run over many caches with one listing (issue 15), against the sandbox's Cloudsmith
//! fake, in both layouts: a first apply of 15 caches sends the listing and the writes (the
//! shared repository made once between the caches that share it); a re-apply writes
//! nothing and reads at most one list per cache, listing included; a describe then an
//! ensure read once; a listing gone stale still converges; and the conformance suite
//! through the listing.

mod sandbox_support;

use std::collections::BTreeMap;

use sandbox_support::*;

use cloudsmith_client::{CloudsmithBackend, Layout};
use pull_through_core::conformance::{self, Fixtures};
use pull_through_core::listing::Listing;
use pull_through_core::{
    CacheKind, CacheSpec, ClientLogin, Ensured, PackageFormat, Probe, PullThroughBackend, Upstream,
    UpstreamCredentials,
};
use pull_through_sandbox::cloudsmith::{OWNER, USER};

fn public(n: &str) -> CacheSpec {
    CacheSpec::remote(name(n), Upstream::CgrPublic)
}

fn private(n: &str, token: &UpstreamCredentials) -> CacheSpec {
    let upstream = Upstream::CgrPrivate {
        org: "example.com".parse().unwrap(),
    };
    CacheSpec::remote(name(n), upstream).with_credentials(token.clone())
}

/// `count` remotes, public and private in turn, named `{prefix}-public-NN` and
/// `{prefix}-private-NN`.
fn remotes(prefix: &str, count: usize, token: &UpstreamCredentials) -> Vec<CacheSpec> {
    (0..count)
        .map(|k| match k % 2 {
            0 => public(&format!("{prefix}-public-{k:02}")),
            _ => private(&format!("{prefix}-private-{k:02}"), token),
        })
        .collect()
}

/// One run as the fleet makes it: one listing, then every remote at once (a private one
/// described first, for its pull token), then the aggregates.
async fn run(backend: &CloudsmithBackend, specs: &[CacheSpec]) -> Vec<Ensured> {
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
    let (aggregates, remotes): (Vec<&CacheSpec>, Vec<&CacheSpec>) =
        specs.iter().partition(|s| s.upstream().is_none());
    let mut ensured = futures::future::join_all(remotes.into_iter().map(&ensure)).await;
    ensured.extend(futures::future::join_all(aggregates.into_iter().map(&ensure)).await);
    ensured
}

/// The requests the Cloudsmith fake received since `seq`, as `METHOD path` with the owner
/// as `OWNER` and each repository slug and upstream `slug_perm` as `*`, counted.
fn requests(world: &World, seq: u64) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for entry in world.sandbox.journal().since(seq) {
        if entry.service != "cloudsmith" {
            continue;
        }
        let shape: Vec<&str> = entry
            .path
            .split('/')
            .enumerate()
            .map(|(i, segment)| match i {
                2 if segment == OWNER => "OWNER",
                3 | 6 if !segment.is_empty() => "*",
                _ => segment,
            })
            .collect();
        *counted
            .entry(format!("{} {}", entry.method, shape.join("/")))
            .or_insert(0) += 1;
    }
    counted
}

fn expected(lines: &[(&str, usize)]) -> BTreeMap<String, usize> {
    lines
        .iter()
        .map(|(line, count)| ((*line).to_owned(), *count))
        .collect()
}

fn reads(counted: &BTreeMap<String, usize>) -> usize {
    counted
        .iter()
        .filter(|(line, _)| line.starts_with("GET "))
        .map(|(_, n)| n)
        .sum()
}

const REPOSITORIES: &str = "/repos/OWNER/";
const REPOSITORY: &str = "/repos/OWNER/*/";
const UPSTREAMS: &str = "/repos/OWNER/*/upstream/docker/";
const UPSTREAM: &str = "/repos/OWNER/*/upstream/docker/*/";

fn line(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

#[tokio::test]
async fn the_shared_repository_is_listed_in_two_reads_and_made_once() {
    let world = world().await;
    let token = pull_token(&world).await;
    let backend = backend(&world, Layout::shared("chainguard").unwrap());
    let mut specs = remotes("cgr", 14, &token);
    specs.push(CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        specs.iter().map(|s| s.name.clone()).collect(),
    ));

    let start = world.sandbox.journal().last_seq();
    let first = run(&backend, &specs).await;
    assert!(
        first.iter().all(|e| matches!(e, Ensured::Created { .. })),
        "{first:?}"
    );
    // The listing finds no repository; one create of it between the 14 upstreams; each
    // member not at its default priority (public 1, private 2) set once; the marker.
    assert_eq!(
        requests(&world, start),
        expected(&[
            (&line("GET", REPOSITORY), 1),
            (&line("POST", REPOSITORIES), 1),
            (&line("POST", UPSTREAMS), 14),
            (&line("PATCH", UPSTREAM), 12),
            (&line("PATCH", REPOSITORY), 1),
        ])
    );
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    let order: Vec<String> = {
        let mut upstreams = world.cloudsmith.upstreams("chainguard");
        upstreams.sort_by_key(|u| u.priority);
        upstreams.into_iter().map(|u| u.name).collect()
    };
    let members: Vec<String> = specs[..14].iter().map(|s| s.name.to_string()).collect();
    assert_eq!(order, members);

    let start = world.sandbox.journal().last_seq();
    let again = run(&backend, &specs).await;
    assert!(
        again.iter().all(|e| matches!(e, Ensured::Unchanged { .. })),
        "{again:?}"
    );
    let sent = requests(&world, start);
    assert_eq!(
        sent,
        expected(&[(&line("GET", REPOSITORY), 1), (&line("GET", UPSTREAMS), 1)])
    );
    assert!(reads(&sent) * 10 <= specs.len() * 11);
}

#[tokio::test]
async fn repositories_of_their_own_are_listed_once_and_each_read_by_its_upstreams() {
    let world = world().await;
    let token = pull_token(&world).await;
    let backend = backend(&world, Layout::OwnRepository);
    let specs = remotes("own", 15, &token);

    let start = world.sandbox.journal().last_seq();
    let first = run(&backend, &specs).await;
    assert!(
        first.iter().all(|e| matches!(e, Ensured::Created { .. })),
        "{first:?}"
    );
    assert_eq!(
        requests(&world, start),
        expected(&[
            (&line("GET", REPOSITORIES), 1),
            (&line("POST", REPOSITORIES), 15),
            (&line("POST", UPSTREAMS), 15),
        ])
    );

    let start = world.sandbox.journal().last_seq();
    let again = run(&backend, &specs).await;
    assert!(
        again.iter().all(|e| matches!(e, Ensured::Unchanged { .. })),
        "{again:?}"
    );
    let sent = requests(&world, start);
    assert_eq!(
        sent,
        expected(&[
            (&line("GET", REPOSITORIES), 1),
            (&line("GET", UPSTREAMS), 15)
        ])
    );
    assert!(reads(&sent) * 10 <= specs.len() * 11, "{sent:?}");

    // Without a listing each cache reads its repository and its upstreams.
    let start = world.sandbox.journal().last_seq();
    for spec in &specs {
        backend.ensure(spec).await.unwrap();
    }
    assert_eq!(
        requests(&world, start),
        expected(&[
            (&line("GET", REPOSITORY), 15),
            (&line("GET", UPSTREAMS), 15)
        ])
    );
}

#[tokio::test]
async fn a_describe_then_an_ensure_read_once() {
    let world = world().await;
    let backend = backend(&world, Layout::OwnRepository);
    let spec = public("cgr-public");
    backend.ensure(&spec).await.unwrap();

    for (listing, reads) in [
        // Without a listing (one that failed, say): the describe's read is kept.
        (
            Listing::unknown(),
            vec![(line("GET", REPOSITORY), 1), (line("GET", UPSTREAMS), 1)],
        ),
        // With one: the repository is listed, its upstreams read once.
        (
            backend.listing().await.unwrap(),
            vec![(line("GET", UPSTREAMS), 1)],
        ),
    ] {
        let start = world.sandbox.journal().last_seq();
        let state = backend
            .describe_in(&spec.name, &listing)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.name, spec.name);
        let ensured = backend.ensure_in(&spec, &listing).await.unwrap();
        assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
        let reads: Vec<(&str, usize)> = reads.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        assert_eq!(requests(&world, start), expected(&reads));
    }
}

/// A listing is a snapshot: a repository or upstream made since is found by the create's
/// "already exists" and updated; a repository deleted since answers 404 to its upstream
/// list, and is made again in the same run.
#[tokio::test]
async fn a_stale_listing_converges() {
    let world = world().await;
    let token = pull_token(&world).await;
    let ours = backend(&world, Layout::OwnRepository);
    let theirs = backend(&world, Layout::OwnRepository);
    theirs.ensure(&public("gone")).await.unwrap();
    let listing = ours.listing().await.unwrap();
    theirs.ensure(&public("late")).await.unwrap();
    theirs.delete(&name("gone")).await.unwrap();

    let start = world.sandbox.journal().last_seq();
    let Ensured::Updated { changes, .. } = ours
        .ensure_in(&private("late", &token), &listing)
        .await
        .unwrap()
    else {
        panic!("the other writer's upstream is updated to the spec")
    };
    assert!(changes.iter().any(|c| c.field == "username"), "{changes:?}");
    assert_eq!(
        requests(&world, start),
        expected(&[
            (&line("POST", REPOSITORIES), 1),
            (&line("GET", REPOSITORY), 1),
            (&line("POST", UPSTREAMS), 1),
            (&line("GET", UPSTREAMS), 1),
            (&line("PATCH", UPSTREAM), 1),
        ])
    );
    assert_eq!(world.cloudsmith.upstreams("late").len(), 1, "no duplicate");

    let made = ours.ensure_in(&public("gone"), &listing).await.unwrap();
    assert!(matches!(made, Ensured::Created { .. }), "{made:?}");
    assert_eq!(world.cloudsmith.upstreams("gone").len(), 1);

    // In the shared layout: an upstream made since the listing is read, not doubled, and
    // the aggregate that follows sees it.
    let shared = Layout::shared("chainguard").unwrap();
    let ours = backend(&world, shared.clone());
    let theirs = backend(&world, shared);
    theirs.ensure(&public("first")).await.unwrap();
    let listing = ours.listing().await.unwrap();
    theirs.ensure(&public("second")).await.unwrap();
    let start = world.sandbox.journal().last_seq();
    let found = ours.ensure_in(&public("second"), &listing).await.unwrap();
    assert!(matches!(found, Ensured::Unchanged { .. }), "{found:?}");
    assert_eq!(
        requests(&world, start),
        expected(&[(&line("POST", UPSTREAMS), 1), (&line("GET", UPSTREAMS), 1)])
    );
    let aggregate = CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        vec![name("second"), name("first")],
    );
    let made = ours.ensure_in(&aggregate, &listing).await.unwrap();
    assert_eq!(
        made.state().members().unwrap(),
        [name("second"), name("first")]
    );
    assert_eq!(world.cloudsmith.upstreams("chainguard").len(), 2);
}

#[tokio::test]
async fn the_conformance_suite_holds_through_the_listing_in_both_layouts() {
    let world = world().await;
    for layout in [
        Layout::OwnRepository,
        Layout::shared("conformance").unwrap(),
    ] {
        let shared = layout != Layout::OwnRepository;
        let mut fixtures = Fixtures::new(
            public("conformance-public"),
            public(if shared { "x" } else { "Conformance_Public" }),
        )
        .with_private(private(
            "conformance-private",
            &conformance_credentials(&world).await,
        ))
        .with_probe(Probe::default_for(&Upstream::CgrPublic))
        .with_login(ClientLogin::new(
            USER,
            "conformance-login-secret",
            "CLOUDSMITH_API_KEY",
        ));
        fixtures = match shared {
            true => fixtures
                .with_unsupported(CacheSpec::remote(name("wolfi"), Upstream::Wolfi))
                .with_aggregate(CacheSpec::aggregate(
                    name("conformance"),
                    PackageFormat::Docker,
                    vec![name("conformance-public")],
                )),
            false => fixtures.with_unsupported(CacheSpec::remote(
                name("cg-private"),
                "apk.cgr.dev/example.com".parse().unwrap(),
            )),
        };
        let inner = backend(&world, layout);
        let backend = conformance::InRun(&inner);
        conformance::run_all(&backend, world.log.as_ref(), &fixtures).await;
        assert!(world.cloudsmith.repository_slugs().is_empty());
    }
}
