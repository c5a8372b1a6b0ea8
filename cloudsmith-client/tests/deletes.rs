//! Before a delete takes a cache's repository, it reads what else the repository holds:
//! upstreams of every other format the reference names, and packages that are not Docker
//! images (only when `package_count` says there are packages). Anything found keeps the
//! repository.

mod common;

use cloudsmith_client::Layout;
use common::*;
use pull_through_core::{CacheName, Deleted, PullThroughBackend};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn name(text: &str) -> CacheName {
    CacheName::new(text).unwrap()
}

async fn answer(server: &MockServer, verb: &str, at: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(at))
        .and(api_key())
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// The cache `cgr-public` in a repository of its own holding `package_count` packages;
/// its upstream's delete answers 204; the repository's delete is expected `deleted`
/// times.
async fn cache_repository(server: &MockServer, package_count: u64, deleted: u64) {
    let mut body = repository("cgr-public", None);
    body["package_count"] = json!(package_count);
    answer(server, "GET", "/repos/acme/cgr-public/", 200, body).await;
    answer(
        server,
        "GET",
        "/repos/acme/cgr-public/upstream/docker/",
        200,
        json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )]),
    )
    .await;
    answer(
        server,
        "DELETE",
        "/repos/acme/cgr-public/upstream/docker/Up1/",
        204,
        Value::Null,
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(deleted)
        .named("the repository's delete")
        .mount(server)
        .await;
}

/// The search for a package that is not a Docker image: one page of one item.
async fn non_docker_packages(server: &MockServer, found: Value) {
    Mock::given(method("GET"))
        .and(path("/packages/acme/cgr-public/"))
        .and(query_param("query", "NOT format:docker"))
        .and(query_param("page", "1"))
        .and(query_param("page_size", "1"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(200).set_body_json(found))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_upstream_of_another_format_keeps_the_repository() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    cache_repository(&server, 0, 0).await;
    for format in OTHER_FORMATS {
        let upstreams = match format {
            "npm" => json!([{"slug_perm": "Npm1", "name": "npmjs",
                "upstream_url": "https://registry.npmjs.org", "mode": "Cache and Proxy"}]),
            _ => json!([]),
        };
        // The lists stop at the first format that has an upstream.
        let asked = OTHER_FORMATS.iter().position(|f| *f == format)
            <= OTHER_FORMATS.iter().position(|f| *f == "npm");
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/cgr-public/upstream/{format}/")))
            .and(api_key())
            .respond_with(ResponseTemplate::new(200).set_body_json(upstreams))
            .expect(u64::from(asked))
            .mount(&server)
            .await;
    }
    let (backend, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::Removed
    );
}

#[tokio::test]
async fn a_package_that_is_no_docker_image_keeps_the_repository() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    cache_repository(&server, 3, 0).await;
    non_docker_packages(
        &server,
        json!([{"slug_perm": "Py1", "name": "requests", "format": "python", "version": "2.32.3"}]),
    )
    .await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::Removed
    );
}

#[tokio::test]
async fn cached_images_go_with_the_repository() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    cache_repository(&server, 2, 1).await;
    non_docker_packages(&server, json!([])).await;
    no_other_formats(&server, "cgr-public").await;
    let (backend, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        backend.delete(&name("cgr-public")).await.unwrap(),
        Deleted::Removed
    );
}

#[tokio::test]
async fn a_delete_takes_the_repository_only_when_it_holds_nothing_else() {
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
    Mock::given(method("GET"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
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
        .and(path("/repos/acme/cgr-public/upstream/docker/Up1/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    no_other_formats(&server, "cgr-public").await;
    let (own, _) = backend(&server, Layout::OwnRepository);
    assert_eq!(
        own.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    server.verify().await;

    // A repository holding another upstream is kept.
    server.reset().await;
    nothing_else(&server).await;
    answer(
        &server,
        "GET",
        "/repos/acme/cgr-public/",
        200,
        repository("cgr-public", None),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/cgr-public/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            upstream("Up1", "cgr-public", "https://cgr.dev/chainguard", 1, None),
            upstream("Hub", "docker-hub", "https://index.docker.io", 2, None)
        ])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
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
            2,
            None
        )]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/cgr-public/upstream/docker/Up1/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        own.delete(&name("cgr-public")).await.unwrap(),
        pull_through_core::Deleted::Removed
    );
    server.verify().await;
}

/// `destroy` deletes the caches of a shared repository concurrently, and the one whose
/// delete leaves it empty takes it: another cache's delete that finds the repository
/// gone (404) after deleting its own upstream has done its part, not failed.
#[tokio::test]
async fn a_shared_repository_taken_by_another_cache_s_delete_is_no_failure() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/repos/acme/chainguard/",
        200,
        repository("chainguard", None),
    )
    .await;
    // The first list shows this cache's upstream; by the time the emptiness check lists
    // again, the other cache's delete has taken the repository.
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Up2",
            "cloudsmith-private",
            "https://cgr.dev",
            2,
            Some("org/identity")
        )])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    answer(
        &server,
        "GET",
        "/repos/acme/chainguard/upstream/docker/",
        404,
        json!({"detail": "Not found."}),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/chainguard/upstream/docker/Up2/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/chainguard/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (shared, _) = backend(&server, Layout::shared("chainguard").unwrap());
    assert_eq!(
        shared.delete(&name("cloudsmith-private")).await.unwrap(),
        Deleted::Removed
    );

    // A cache whose very list finds the repository gone went with it.
    assert_eq!(
        shared.delete(&name("cloudsmith-public")).await.unwrap(),
        Deleted::AlreadyAbsent
    );
}
