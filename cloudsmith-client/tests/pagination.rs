//! Lists against wiremock: every page read, the next one told by `Link` (rel `next`) or
//! `X-Pagination-PageTotal`, and a list without either header one page.

mod common;

use common::*;
use pull_through_core::Deleted;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn lists_follow_link_next_across_pages() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let next = format!(
        "<{}/repos/acme/chainguard/upstream/docker/?page=2&page_size=500>; rel=\"next\", \
         <{0}/repos/acme/chainguard/upstream/docker/?page=2&page_size=500>; rel=\"last\"",
        server.uri()
    );
    let prev = format!(
        "<{}/repos/acme/chainguard/upstream/docker/?page=1&page_size=500>; rel=\"first\", \
         <{0}/repos/acme/chainguard/upstream/docker/?page=1&page_size=500>; rel=\"prev\"",
        server.uri()
    );
    for (page, body, link) in [
        (
            "1",
            json!([upstream(
                "A1",
                "cgr-public",
                "https://cgr.dev/chainguard",
                1,
                None
            )]),
            next,
        ),
        (
            "2",
            json!([upstream(
                "B2",
                "cgr-private",
                "https://cgr.dev",
                2,
                Some(IDENTITY)
            )]),
            prev,
        ),
    ] {
        Mock::given(method("GET"))
            .and(path("/repos/acme/chainguard/upstream/docker/"))
            .and(query_param("page", page))
            .and(query_param("page_size", "500"))
            .and(api_key())
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(body)
                    .insert_header("link", link.as_str())
                    .insert_header("x-pagination-count", "2")
                    .insert_header("x-pagination-page", page)
                    .insert_header("x-pagination-pagesize", "1")
                    .insert_header("x-pagination-pagetotal", "2"),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, _) = client(&server);
    let names: Vec<String> = client
        .list_upstreams("chainguard")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["cgr-public", "cgr-private"]);
}

#[tokio::test]
async fn lists_follow_x_pagination_without_link_and_stop_without_headers() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    for page in ["1", "2", "3"] {
        Mock::given(method("GET"))
            .and(path("/repos/acme/"))
            .and(query_param("page", page))
            .and(query_param("page_size", "500"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([repository(&format!("repo-{page}"), None)]))
                    .insert_header("x-pagination-pagetotal", "3"),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, _) = client(&server);
    let slugs: Vec<String> = client
        .list_repositories()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.slug)
        .collect();
    assert_eq!(slugs, ["repo-1", "repo-2", "repo-3"]);

    // An empty list is never paginated: one request, no headers.
    let empty = MockServer::start().await;
    nothing_else(&empty).await;
    Mock::given(method("GET"))
        .and(path("/packages/acme/chainguard/"))
        .and(query_param("query", "name:nginx"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&empty)
        .await;
    let (client, _) = common::client(&empty);
    assert_eq!(
        client.forget_image("chainguard", "nginx").await.unwrap(),
        Deleted::AlreadyAbsent
    );
}
