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

#[tokio::test]
async fn a_slug_kept_by_a_deleted_repository_is_an_error_saying_so_not_a_race() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    // The repository reads as absent before and after its create is refused: a slug
    // that stays taken yet unreadable, a recently deleted repository's.
    Mock::given(method("GET"))
        .and(path("/repos/acme/cgr-public/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        // The reconcile's read, the read before the create, the read after its refusal.
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "detail": "Invalid input.", "code": "invalid",
            "fields": {"slug": ["A repository with this slug already exists."]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let spec = pull_through_core::CacheSpec::remote(
        name("cgr-public"),
        pull_through_core::Upstream::CgrPublic,
    );
    let err = backend.ensure(&spec).await.unwrap_err();
    // Not AlreadyExists, which the core's reconcile reads as a race and answers with "it
    // vanished while being created: apply again", which can never work here.
    assert!(!err.is_already_exists(), "{err:?}");
    assert_eq!(err.kind(), pull_through_core::ErrorKind::Api, "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("apply again"), "{text}");
    assert!(
        text.contains("slug: A repository with this slug already exists.")
            && text.contains("recently deleted repository")
            && text.contains("choose another"),
        "{text}"
    );
}

#[tokio::test]
async fn a_repository_left_without_its_upstream_by_a_dead_run_is_deleted_with_the_cache() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    answer(
        &server,
        "GET",
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    answer(
        &server,
        "GET",
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    no_other_formats(&server, "cgr-public").await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    // describe finds no cache (no upstream), but delete takes what is left of it.
    assert!(
        backend
            .describe(&name("cgr-public"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
}

#[tokio::test]
async fn a_repository_of_the_cache_s_name_holding_other_upstreams_is_left_alone() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    answer(
        &server,
        "GET",
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    answer(
        &server,
        "GET",
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([upstream(
            "Hub",
            "docker-hub",
            "https://index.docker.io",
            1,
            None
        )]),
    )
    .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::AlreadyAbsent
    );
}

#[tokio::test]
async fn list_claims_only_repositories_this_backend_made() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    no_writes(&server).await;
    answer(
        &server,
        "GET",
        "/repos/acme/",
        200,
        json!([
            repository("cgr-public", None),
            repository("handmade", None),
            repository("docker-hub", None)
        ]),
    )
    .await;
    for (repo, upstreams) in [
        (
            "cgr-public",
            json!([upstream(
                "Up1",
                "cgr-public",
                "https://cgr.dev/chainguard",
                1,
                None
            )]),
        ),
        // A person's: one Chainguard upstream, under another name.
        (
            "handmade",
            json!([upstream(
                "Up2",
                "Chainguard",
                "https://cgr.dev/chainguard",
                1,
                None
            )]),
        ),
        // A person's: named after its repository, but no Chainguard upstream.
        (
            "docker-hub",
            json!([upstream(
                "Up3",
                "docker-hub",
                "https://index.docker.io",
                1,
                None
            )]),
        ),
    ] {
        answer(
            &server,
            "GET",
            &format!("/repos/acme/{repo}/upstream/docker/"),
            200,
            upstreams,
        )
        .await;
    }
    answer(
        &server,
        "GET",
        "/repos/acme/handmade/",
        200,
        repository("handmade", None),
    )
    .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    let listed: Vec<String> = backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(listed, ["cgr-public"]);
    // Asked for by name, the hand-made one is still found, for ensure to take over.
    assert!(backend.describe(&name("handmade")).await.unwrap().is_some());
}
