//! Repositories through their life on the real service: soft-deleted repositories (a GET
//! may still answer them, with `deleted_at` set) and the slug a deleted repository keeps
//! reserved.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{CacheName, PullThroughBackend};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

/// A repository in its soft-delete retention period, as GET may answer it (the reference's
/// open question 4).
fn soft_deleted(slug: &str) -> Value {
    let mut body = repository(slug, None);
    body["deleted_at"] = json!("2026-11-30T11:00:00.000000Z");
    body
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
async fn a_repository_answered_with_deleted_at_is_absent() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    for slug in ["cgr-public", "chainguard"] {
        answer(
            &server,
            "GET",
            &format!("/repos/acme/{slug}/"),
            200,
            soft_deleted(slug),
        )
        .await;
        answer(
            &server,
            "GET",
            &format!("/repos/acme/{slug}/upstream/docker/"),
            200,
            json!([upstream("Up1", slug, "https://cgr.dev/chainguard", 1, None)]),
        )
        .await;
    }
    answer(
        &server,
        "GET",
        "/repos/acme/",
        200,
        json!([soft_deleted("cgr-public"), soft_deleted("chainguard")]),
    )
    .await;
    let (client, _) = client(&server);
    assert!(client.get_repository("cgr-public").await.unwrap().is_none());
    assert!(client.list_repositories().await.unwrap().is_empty());

    let (own, _) = backend(&server, Layout::OwnRepository);
    assert!(own.describe(&name("cgr-public")).await.unwrap().is_none());
    assert!(own.list().await.unwrap().is_empty());
    let (shared, _) = backend(&server, Layout::shared("chainguard").unwrap());
    assert!(
        shared
            .describe(&name("chainguard"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        shared
            .describe(&name("cgr-public"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(shared.list().await.unwrap().is_empty());
}
