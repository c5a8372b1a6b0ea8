//! The shared layout's aggregate against wiremock: what it refuses after reading (members
//! that are not the repository's upstreams, a repository that does not exist yet), each
//! as the core's `Unsupported` with how to proceed, never as bad input.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{CacheName, CacheSpec, Error, PackageFormat, PullThroughBackend};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
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
