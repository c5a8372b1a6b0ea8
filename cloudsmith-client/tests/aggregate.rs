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

#[tokio::test]
async fn members_that_are_not_the_repository_s_upstreams_are_unsupported_with_a_hint() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
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
