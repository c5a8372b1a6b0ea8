//! The shared layout against wiremock: both upstreams in one repository and the aggregate
//! that orders them (created by its marker), what the aggregate refuses after reading
//! (members that are not the repository's upstreams, a repository that does not exist
//! yet; each the core's `Unsupported` with how to proceed, never bad input), and its
//! delete, which removes only the marker.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{
    CacheName, CacheSpec, Ensured, Error, PackageFormat, PlanAction, PullThroughBackend, Upstream,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

async fn get(server: &MockServer, at: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(api_key())
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn not_found() -> Value {
    json!({"detail": "Not found."})
}

fn private_spec(cache: &str, credentials: pull_through_core::UpstreamCredentials) -> CacheSpec {
    CacheSpec::remote(
        name(cache),
        "cgr.dev/example.com".parse::<Upstream>().unwrap(),
    )
    .with_credentials(credentials)
}

fn order(members: &[&str]) -> CacheSpec {
    CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        members.iter().map(|m| name(m)).collect(),
    )
}

/// The core's contract for what a reconcile refuses once it has read:
/// `Error::Unsupported` saying how to proceed (`Reconcile::check_update`); bad input is
/// for what is refused before any request.
fn hint_of(err: Error) -> String {
    match err {
        Error::Unsupported { hint, .. } => hint,
        other => panic!("expected Unsupported with a hint, got {other:?}"),
    }
}

/// The marker the aggregate's ensure writes as the last line of the repository's
/// description.
const MARKER: &str = "[pull-through: aggregate, the order of these upstreams]";

#[tokio::test]
async fn members_that_are_not_the_repository_s_upstreams_are_unsupported_with_a_hint() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", Some(MARKER)),
    )
    .await;
    get(
        &server,
        "/repos/acme/chainguard/upstream/docker/",
        200,
        json!([
            upstream("Pub", "cgr-public", "https://cgr.dev/chainguard", 1, None),
            upstream("Hub", "docker-hub", "https://index.docker.io", 2, None)
        ]),
    )
    .await;
    let (backend, _) = backend(&server, Layout::shared("chainguard").unwrap());
    let err = backend.ensure(&order(&["cgr-public"])).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("also holds the upstreams docker-hub, which the aggregate does not list"),
        "{text}"
    );
    assert!(
        hint_of(err).contains("list them as members (in the order to try them) or delete them")
    );
    let err = backend
        .plan(&order(&["cgr-public", "cgr-private", "docker-hub"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cgr-private not an upstream of repository chainguard yet"),
        "{err}"
    );
    assert!(hint_of(err).contains("apply the member caches first"));
    // describe lists every upstream as a member: what destroy compares with the config.
    let state = backend
        .describe(&name("chainguard"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.members().unwrap(),
        [name("cgr-public"), name("docker-hub")]
    );
    assert_eq!(state.description, None, "the marker is no description");
}

#[tokio::test]
async fn an_aggregate_before_its_repository_is_unsupported_with_a_hint() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        404,
        json!({"detail": "Not found."}),
    )
    .await;
    let (backend, _) = backend(&server, Layout::shared("chainguard").unwrap());
    let err = backend
        .ensure(&order(&["cgr-public", "cgr-private"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("repository chainguard does not exist yet"),
        "{err}"
    );
    assert!(hint_of(err).contains("apply the member caches first (they create it)"),);
}

async fn answer(server: &MockServer, verb: &str, at: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(at))
        .and(api_key())
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn deleting_the_aggregate_removes_its_marker_and_never_an_upstream() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let marked = format!("Chainguard images\n\n{MARKER}");
    answer(
        &server,
        "GET",
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", Some(&marked)),
    )
    .await;
    answer(
        &server,
        "GET",
        "/repos/acme/chainguard/upstream/docker/",
        200,
        json!([upstream(
            "Pub",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/chainguard/"))
        .and(wiremock::matchers::body_json(
            json!({"description": "Chainguard images"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(repository("chainguard", Some("Chainguard images"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (backend, recorder) = backend(&server, Layout::shared("chainguard").unwrap());
    assert_eq!(
        backend.delete(&name("chainguard")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    // The marker went; the upstream (another cache) and so the repository stay.
    assert_eq!(
        calls(&recorder),
        [
            "GET /repos/acme/chainguard/",
            "PATCH /repos/acme/chainguard/",
            "GET /repos/acme/chainguard/upstream/docker/"
        ]
    );
}

#[tokio::test]
async fn a_remote_s_delete_keeps_a_marked_repository_and_takes_an_unmarked_empty_one() {
    for (description, repository_deleted) in [(Some(MARKER), false), (None, true)] {
        let server = MockServer::start().await;
        nothing_else(&server).await;
        answer(
            &server,
            "GET",
            "/repos/acme/chainguard/",
            200,
            repository("chainguard", description),
        )
        .await;
        // Listed once more after its delete: it may still show a moment later.
        answer(
            &server,
            "GET",
            "/repos/acme/chainguard/upstream/docker/",
            200,
            json!([upstream(
                "Pub",
                "cgr-public",
                "https://cgr.dev/chainguard",
                1,
                None
            )]),
        )
        .await;
        answer(
            &server,
            "DELETE",
            "/repos/acme/chainguard/upstream/docker/Pub/",
            204,
            Value::Null,
        )
        .await;
        Mock::given(method("DELETE"))
            .and(path("/repos/acme/chainguard/"))
            .respond_with(ResponseTemplate::new(204))
            .expect(u64::from(repository_deleted))
            .mount(&server)
            .await;
        if repository_deleted {
            no_other_formats(&server, "chainguard").await;
        }
        let (backend, _) = backend(&server, Layout::shared("chainguard").unwrap());
        assert_eq!(
            backend.delete(&name("cgr-public")).await.unwrap(),
            pull_through_core::Deleted::Removed
        );
    }
}

#[tokio::test]
async fn the_shared_layout_holds_both_upstreams_and_the_aggregate_orders_them() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let (backend, recorder) = backend(&server, Layout::shared("chainguard").unwrap());
    let public = CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
    let private = private_spec("cgr-private", pull_token());

    // The public cache: the repository is made, its upstream first in line.
    get(&server, "/repos/acme/chainguard/", 404, not_found()).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(body_json(
            json!({"name": "chainguard", "slug": "chainguard",
            "repository_type_str": "Private", "storage_region": "default"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(body_json(
            json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Pub",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    assert!(matches!(
        backend.ensure(&public).await.unwrap(),
        Ensured::Created { .. }
    ));
    server.verify().await;

    // The private cache joins it, after the public one.
    server.reset().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", None),
    )
    .await;
    get(
        &server,
        "/repos/acme/chainguard/upstream/docker/",
        200,
        json!([upstream(
            "Pub",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(body_json(
            json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
            "mode": "Cache and Proxy", "priority": 2, "verify_ssl": true,
            "auth_mode": "Username and Password", "auth_username": IDENTITY,
            "auth_secret": PULL_TOKEN}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Priv",
            "cgr-private",
            "https://cgr.dev",
            2,
            Some(IDENTITY),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let created = backend.ensure(&private).await.unwrap();
    let Ensured::Created { state } = &created else {
        panic!("{created:?}")
    };
    assert_eq!(state.name.as_str(), "cgr-private");
    server.verify().await;

    // The aggregate puts the organization's images first. The repository carries no
    // marker yet, so the aggregate is created: the order is set, then the marker written.
    server.reset().await;
    nothing_else(&server).await;
    get(
        &server,
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", None),
    )
    .await;
    let before = json!([
        upstream("Pub", "cgr-public", "https://cgr.dev/chainguard", 1, None),
        upstream("Priv", "cgr-private", "https://cgr.dev", 2, Some(IDENTITY))
    ]);
    let after = json!([
        upstream("Priv", "cgr-private", "https://cgr.dev", 1, Some(IDENTITY)),
        upstream("Pub", "cgr-public", "https://cgr.dev/chainguard", 2, None)
    ]);
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(before.clone()))
        .mount(&server)
        .await;
    // Each PATCH answers the whole upstream as written, which replaces the one read:
    // the upstreams are not listed again.
    for (slug_perm, priority) in [("Priv", 1), ("Pub", 2)] {
        let whole = after
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["slug_perm"] == slug_perm)
            .unwrap()
            .clone();
        Mock::given(method("PATCH"))
            .and(path(format!(
                "/repos/acme/chainguard/upstream/docker/{slug_perm}/"
            )))
            .and(body_json(json!({"priority": priority})))
            .respond_with(ResponseTemplate::new(200).set_body_json(whole))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/chainguard/"))
        .and(body_json(json!({"description": MARKER})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(repository("chainguard", Some(MARKER))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let order = CacheSpec::aggregate(
        name("chainguard"),
        PackageFormat::Docker,
        vec![name("cgr-private"), name("cgr-public")],
    );
    let plan = backend.plan(&order).await.unwrap();
    assert!(matches!(plan.action, PlanAction::Create { .. }), "{plan}");
    recorder.clear();
    let ordered = backend.ensure(&order).await.unwrap();
    let Ensured::Created { state } = &ordered else {
        panic!("{ordered:?}")
    };
    assert_eq!(
        state.members().unwrap(),
        [name("cgr-private"), name("cgr-public")]
    );
    assert_eq!(state.description, None, "the marker is no description");
    assert_eq!(
        calls(&recorder),
        [
            "GET /repos/acme/chainguard/",
            "GET /repos/acme/chainguard/",
            "GET /repos/acme/chainguard/upstream/docker/",
            "PATCH /repos/acme/chainguard/upstream/docker/Priv/",
            "PATCH /repos/acme/chainguard/upstream/docker/Pub/",
            "PATCH /repos/acme/chainguard/"
        ]
    );
    // The public cache does not undo the order: its priority is not compared here.
    let again = backend.ensure(&public).await.unwrap();
    assert!(matches!(again, Ensured::Unchanged { .. }), "{again:?}");
    // Nor is a description, which an upstream does not have: the plan says so.
    let described = backend
        .plan(&public.clone().with_description("Chainguard public images"))
        .await
        .unwrap();
    assert!(!described.has_changes());
    assert_eq!(
        described.notes,
        [
            "the description is not stored: an upstream has none, and repository chainguard's \
          is its aggregate's"
        ]
    );
}
