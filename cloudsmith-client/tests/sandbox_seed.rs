//! Seed 004 end to end on the sandbox's Cloudsmith fake, in both layouts (a repository
//! per upstream, and one repository holding both by priority): images pulled through them
//! from the fake cgr.dev, a second ensure writing nothing, rotation, forgetting a cached
//! image, the aggregate's life, deletes, and caches ensured at once.

mod sandbox_support;

use sandbox_support::*;

use cloudsmith_client::Layout;
use pull_through_core::{
    CacheSpec, ClientLogin, Deleted, Ensured, ExposeSecret, PackageFormat, PullThroughBackend,
    Reveal,
};
use pull_through_sandbox::cloudsmith::{OWNER, USER};

#[tokio::test]
async fn seed_004_with_a_repository_per_upstream() {
    let world = world().await;
    let backend = backend(&world, Layout::OwnRepository);
    let (public, private) = seed(&world).await;
    for spec in [&public, &private] {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Created { .. }), "{ensured:?}");
    }
    assert_eq!(
        world.cloudsmith.repository_slugs(),
        ["cgr-public", "cgr-private"]
    );
    let upstreams = world.cloudsmith.upstreams("cgr-public");
    assert_eq!(upstreams.len(), 1);
    assert_eq!(
        (
            upstreams[0].upstream_url.as_str(),
            upstreams[0].mode.as_str(),
            upstreams[0].priority,
            upstreams[0].auth_mode.as_str()
        ),
        ("https://cgr.dev/chainguard", "Cache and Proxy", 1, "None")
    );
    let private_upstream = &world.cloudsmith.upstreams("cgr-private")[0];
    assert_eq!(private_upstream.upstream_url, "https://cgr.dev");
    assert_eq!(private_upstream.auth_mode, "Username and Password");
    let token = match &private.kind {
        pull_through_core::CacheKind::Remote(remote) => remote.credentials.clone().unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(
        world
            .cloudsmith
            .stored_auth_secret("cgr-private", "cgr-private")
            .unwrap()
            .expose(),
        token.password().expose_secret()
    );

    // The seed's pulls: public images without chainguard/, the organization's below its name.
    let pulled = verify(&backend, "cgr-public", "chainguard/nginx").await;
    assert!(pulled.passed(), "{pulled}");
    let pulled = verify(&backend, "cgr-private", "example.com/chainguard-base").await;
    assert!(pulled.passed(), "{pulled}");
    let kept: Vec<String> = world
        .cloudsmith
        .packages("cgr-public")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(kept, ["nginx"], "Cache and Proxy keeps a copy");

    // A second run writes nothing.
    world.sandbox.journal().clear();
    for spec in [&public, &private] {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
    }
    assert_eq!(writes(&world), Vec::<String>::new());

    // A rotation writes the new pull token: a new token is a new identity, so its
    // username goes with it (the same username with a new password would send
    // auth_secret alone, as the wiremock tests show).
    let rotated = private.clone().with_credentials(pull_token(&world).await);
    let ensured = backend
        .ensure(&rotated.clone().rotating_credentials())
        .await
        .unwrap();
    assert!(matches!(ensured, Ensured::Updated { .. }), "{ensured:?}");
    let slug_perm = &world.cloudsmith.upstreams("cgr-private")[0].slug_perm;
    assert_eq!(
        writes(&world),
        [format!(
            "PATCH /repos/{OWNER}/cgr-private/upstream/docker/{slug_perm}/"
        )]
    );
    let patched = world.sandbox.journal().entries_for("cloudsmith");
    let body = patched
        .iter()
        .rev()
        .find(|e| e.is_write())
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["auth_secret", "auth_username"]
    );
    let new_token = match &rotated.kind {
        pull_through_core::CacheKind::Remote(remote) => remote.credentials.clone().unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(
        world
            .cloudsmith
            .stored_auth_secret("cgr-private", "cgr-private")
            .unwrap()
            .expose(),
        new_token.password().expose_secret()
    );
    // Forget the cached copy, so the check pull goes upstream with the new token.
    let forgotten = backend
        .forget(&name("cgr-private"), &probe("example.com/chainguard-base"))
        .await
        .unwrap();
    assert_eq!(forgotten, Deleted::Removed);
    assert!(world.cloudsmith.packages("cgr-private").is_empty());
    assert!(
        verify(&backend, "cgr-private", "example.com/chainguard-base")
            .await
            .passed()
    );

    // Client access as the seed prints it.
    let login = ClientLogin::new(USER, "the-api-key-secret", "CLOUDSMITH_API_KEY");
    let state = backend
        .describe(&name("cgr-public"))
        .await
        .unwrap()
        .unwrap();
    let registry = world.client.docker_host();
    assert_eq!(
        backend
            .client_access(&state, Some(&login))
            .unwrap()
            .render(Reveal::Names),
        format!(
            "docker login {registry} --username {USER} --password \"$CLOUDSMITH_API_KEY\"\n\
             docker pull {registry}/{OWNER}/cgr-public/nginx:latest"
        )
    );

    // Deleting a cache deletes its repository; describe then finds nothing.
    for cache in ["cgr-public", "cgr-private"] {
        assert_eq!(
            backend.delete(&name(cache)).await.unwrap(),
            Deleted::Removed
        );
        assert!(backend.describe(&name(cache)).await.unwrap().is_none());
        assert_eq!(
            backend.delete(&name(cache)).await.unwrap(),
            Deleted::AlreadyAbsent
        );
    }
    assert!(world.cloudsmith.repository_slugs().is_empty());
}

#[tokio::test]
async fn seed_004_with_one_repository_holding_both_upstreams() {
    let world = world().await;
    let backend = backend(&world, Layout::shared("chainguard").unwrap());
    let (public, private) = seed(&world).await;
    let order = |members: [&str; 2]| {
        CacheSpec::aggregate(
            name("chainguard"),
            PackageFormat::Docker,
            members.iter().map(|m| name(m)).collect(),
        )
        .with_description("Chainguard images (seed 004)")
    };
    let aggregate = order(["cgr-public", "cgr-private"]);
    // A plan of the whole set before anything exists: every cache a create.
    for spec in [&public, &private, &aggregate] {
        assert!(backend.plan(spec).await.unwrap().has_changes());
    }
    for spec in [&public, &private] {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Created { .. }), "{ensured:?}");
    }
    // The repository holds both upstreams, but the aggregate is not there until it is
    // ensured.
    assert!(
        backend
            .describe(&name("chainguard"))
            .await
            .unwrap()
            .is_none()
    );
    // The public one first, as the seed gives it priority 1; the aggregate agrees, so
    // only its description (with its marker) is written.
    world.sandbox.journal().clear();
    let ensured = backend.ensure(&aggregate).await.unwrap();
    let Ensured::Created { state } = &ensured else {
        panic!("{ensured:?}")
    };
    assert_eq!(
        writes(&world),
        ["PATCH /repos/pull-through-sandbox/chainguard/"]
    );
    assert_eq!(
        state.members().unwrap(),
        [name("cgr-public"), name("cgr-private")]
    );
    assert_eq!(
        state.description.as_deref(),
        Some("Chainguard images (seed 004)")
    );
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    let upstreams: Vec<(String, String, i64)> = world
        .cloudsmith
        .upstreams("chainguard")
        .into_iter()
        .map(|u| (u.name, u.upstream_url, u.priority))
        .collect();
    assert_eq!(
        upstreams,
        [
            (
                "cgr-public".to_owned(),
                "https://cgr.dev/chainguard".to_owned(),
                1
            ),
            ("cgr-private".to_owned(), "https://cgr.dev".to_owned(), 2)
        ]
    );

    // Both kinds of image through the one repository, from each cache and the aggregate.
    for (cache, image) in [
        ("cgr-public", "chainguard/nginx"),
        ("cgr-private", "example.com/chainguard-base"),
        ("chainguard", "chainguard/go"),
        ("chainguard", "example.com/chainguard-base"),
    ] {
        let pulled = verify(&backend, cache, image).await;
        assert!(pulled.passed(), "{cache} {image}: {pulled}");
    }
    let state = backend
        .describe(&name("chainguard"))
        .await
        .unwrap()
        .unwrap();
    let shown = backend
        .client_access(&state, None)
        .unwrap()
        .render(Reveal::Names);
    let registry = world.client.docker_host();
    assert!(
        shown.ends_with(&format!(
            "docker pull {registry}/{OWNER}/chainguard/nginx:latest\n\
             docker pull {registry}/{OWNER}/chainguard/example.com/chainguard-base:latest"
        )),
        "{shown}"
    );

    // A second run writes nothing.
    world.sandbox.journal().clear();
    for spec in [&public, &private, &aggregate] {
        let ensured = backend.ensure(spec).await.unwrap();
        assert!(matches!(ensured, Ensured::Unchanged { .. }), "{ensured:?}");
    }
    assert_eq!(writes(&world), Vec::<String>::new());

    // The organization's images first: the aggregate sets the priorities, and the
    // remotes leave them.
    let reordered = order(["cgr-private", "cgr-public"]);
    backend.ensure(&reordered).await.unwrap();
    let priorities: Vec<(String, i64)> = world
        .cloudsmith
        .upstreams("chainguard")
        .into_iter()
        .map(|u| (u.name, u.priority))
        .collect();
    assert_eq!(
        priorities,
        [("cgr-public".to_owned(), 2), ("cgr-private".to_owned(), 1)]
    );
    world.sandbox.journal().clear();
    for spec in [&public, &private, &reordered] {
        assert!(matches!(
            backend.ensure(spec).await.unwrap(),
            Ensured::Unchanged { .. }
        ));
    }
    assert_eq!(writes(&world), Vec::<String>::new());
    let listed: Vec<String> = backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(listed, ["cgr-private", "cgr-public", "chainguard"]);

    // A remote's delete leaves the shared repository to the other remote and the
    // aggregate; the aggregate's delete leaves the remote (another cache), and the last
    // remote's delete takes the repository, then empty and unmarked.
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::Removed
    );
    assert!(
        backend
            .describe(&name("cgr-public"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    world.sandbox.journal().clear();
    assert_eq!(
        backend.delete(&name("chainguard")).await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        writes(&world),
        ["PATCH /repos/pull-through-sandbox/chainguard/"]
    );
    assert!(
        backend
            .describe(&name("chainguard"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        backend.delete(&name("chainguard")).await.unwrap(),
        Deleted::AlreadyAbsent
    );
    assert!(
        backend
            .describe(&name("cgr-private"))
            .await
            .unwrap()
            .is_some(),
        "deleting the aggregate leaves its members"
    );
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    assert_eq!(
        backend.delete(&name("cgr-private")).await.unwrap(),
        Deleted::Removed
    );
    assert!(world.cloudsmith.repository_slugs().is_empty());
}

#[tokio::test]
async fn caches_ensured_at_once_share_the_repository_one_of_them_made() {
    let world = world().await;
    let backend = backend(&world, Layout::shared("chainguard").unwrap());
    let (public, private) = seed(&world).await;
    // As `pull-through apply` runs the caches of one layer concurrently: both find no
    // repository, one creates it, and the other's create, answered 422 on the slug, reads
    // the repository instead.
    let (first, second) = tokio::join!(backend.ensure(&public), backend.ensure(&private));
    for ensured in [first.unwrap(), second.unwrap()] {
        assert!(matches!(ensured, Ensured::Created { .. }), "{ensured:?}");
    }
    assert_eq!(world.cloudsmith.repository_slugs(), ["chainguard"]);
    assert_eq!(world.cloudsmith.upstreams("chainguard").len(), 2);
    let creates: Vec<Option<u16>> = world
        .sandbox
        .journal()
        .entries_for("cloudsmith")
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == format!("/repos/{OWNER}/"))
        .map(|e| e.status)
        .collect();
    // One create made it; another, if both looked before either made it, was refused.
    assert_eq!(
        creates.iter().filter(|s| **s == Some(201)).count(),
        1,
        "{creates:?}"
    );
    assert!(
        creates.iter().all(|s| matches!(s, Some(201 | 422))),
        "{creates:?}"
    );
}
