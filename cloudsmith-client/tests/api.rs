//! Each Cloudsmith call against wiremock: exact method, path, query, headers and JSON
//! bodies (every enum string as the API spells it), pagination, rate limiting, and the
//! create that is read back before it is tried again.

mod common;

use cloudsmith_client::{
    DockerUpstreamPatch, DockerUpstreamRequest, RepositoryCreate, RepositoryPatch,
};
use common::*;
use pull_through_core::{Deleted, Error, SecretString};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_repository_is_created_private_with_its_exact_body() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .and(api_key())
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "name": "chainguard", "slug": "chainguard", "repository_type_str": "Private",
            "storage_region": "us-ohio", "description": "Chainguard images"
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(repository("chainguard", Some("Chainguard images"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let created = client
        .create_repository(
            &RepositoryCreate::private("chainguard")
                .with_storage_region("us-ohio")
                .with_description("Chainguard images"),
        )
        .await
        .unwrap();
    assert_eq!(created.slug_perm, "chainguard-perm");
}

#[tokio::test]
async fn upstreams_are_created_with_every_field_explicit() {
    let token = pull_token();
    for (request, expected) in [
        (
            DockerUpstreamRequest::public("cgr-public"),
            json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
                   "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
        ),
        (
            DockerUpstreamRequest::private("cgr-private", &token).with_priority(2),
            json!({"name": "cgr-private", "upstream_url": "https://cgr.dev",
                   "mode": "Cache and Proxy", "priority": 2, "verify_ssl": true,
                   "auth_mode": "Username and Password", "auth_username": IDENTITY,
                   "auth_secret": PULL_TOKEN}),
        ),
    ] {
        let server = MockServer::start().await;
        nothing_else(&server).await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/chainguard/upstream/docker/"))
            .and(api_key())
            .and(body_json(&expected))
            .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
                "Up12Up34Up56",
                &request.name,
                &request.upstream_url,
                request.priority,
                request.auth_username.as_deref(),
            )))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client(&server);
        let created = client
            .create_upstream("chainguard", &request)
            .await
            .unwrap();
        assert_eq!(created.slug_perm, "Up12Up34Up56");
    }
}

#[tokio::test]
async fn a_trailing_slash_is_dropped_before_sending() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let mut request = DockerUpstreamRequest::public("cgr-public");
    request.upstream_url = "https://cgr.dev/chainguard/".to_owned();
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .and(body_json(
            json!({"name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
            "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "auth_mode": "None"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .create_upstream("chainguard", &request)
        .await
        .unwrap();
}

#[tokio::test]
async fn patches_send_only_what_they_set() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    for (patch, expected) in [
        (
            DockerUpstreamPatch::default().with_secret(SecretString::from("rotated-token-1")),
            json!({"auth_secret": "rotated-token-1"}),
        ),
        (
            DockerUpstreamPatch::default().with_priority(2),
            json!({"priority": 2}),
        ),
    ] {
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/chainguard/upstream/docker/Up12Up34Up56/"))
            .and(api_key())
            .and(body_json(&expected))
            .respond_with(ResponseTemplate::new(200).set_body_json(upstream(
                "Up12Up34Up56",
                "cgr-private",
                "https://cgr.dev",
                2,
                Some(IDENTITY),
            )))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client(&server);
        client
            .update_upstream("chainguard", "Up12Up34Up56", &patch)
            .await
            .unwrap();
    }
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/chainguard/"))
        .and(body_json(json!({"description": "Chainguard images"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(repository("chainguard", Some("Chainguard images"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .update_repository(
            "chainguard",
            &RepositoryPatch::description("Chainguard images"),
        )
        .await
        .unwrap();
}

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

#[tokio::test]
async fn a_429_is_waited_out_with_its_retry_after() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let throttled = ResponseTemplate::new(429)
        .insert_header("retry-after", "0")
        .set_body_json(
            json!({"detail": "Request was throttled. Expected available in 0 seconds."}),
        );
    Mock::given(method("GET"))
        .and(path("/user/self/"))
        .respond_with(throttled.clone())
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/self/"))
        .and(api_key())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"authenticated": true, "slug": USER}))
                .insert_header("x-ratelimit-limit", "5400")
                .insert_header("x-ratelimit-remaining", "5399")
                .insert_header("x-ratelimit-reset", "4102444800")
                .insert_header("x-ratelimit-interval", "0.666"),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Creates are never retried by the HTTP layer: the client waits out a 429 itself, as
    // a throttled request was not processed.
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(throttled)
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    let (client, recorder) = client_with(&server, quick_retry());
    assert_eq!(
        client.check_key().await.unwrap().slug.as_deref(),
        Some(USER)
    );
    client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap();
    assert_eq!(
        calls(&recorder),
        [
            "GET /user/self/",
            "GET /user/self/",
            "POST /repos/acme/",
            "POST /repos/acme/"
        ]
    );
}

#[tokio::test]
async fn a_429_past_the_retries_is_rate_limited_with_its_wait() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .set_body_json(
                    json!({"detail": "Request was throttled. Expected available in 3600 seconds."}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let err = client.get_repository("chainguard").await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(3600)))
        }
        other => panic!("{other:?}"),
    }
}

/// A server that keeps to the interval it announces: a request arriving sooner than that
/// after the previous answer gets 429, as a rate-limited API answers it.
struct KeepsToItsInterval {
    interval: std::time::Duration,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl wiremock::Respond for KeepsToItsInterval {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut last = self.last.lock().unwrap();
        let early = last.is_some_and(|at| at.elapsed() < self.interval);
        *last = Some(std::time::Instant::now());
        let answer = if early {
            ResponseTemplate::new(429).set_body_json(
                json!({"detail": "Request was throttled. Expected available in 1 second."}),
            )
        } else {
            ResponseTemplate::new(200).set_body_json(repository("chainguard", None))
        };
        answer
            .insert_header("x-ratelimit-limit", "5400")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header(
                "x-ratelimit-interval",
                format!("{:.3}", self.interval.as_secs_f64()).as_str(),
            )
    }
}

#[tokio::test]
async fn an_answer_with_nothing_remaining_paces_the_next_request() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .respond_with(KeepsToItsInterval {
            interval: std::time::Duration::from_millis(300),
            last: std::sync::Mutex::new(None),
        })
        .expect(3)
        .mount(&server)
        .await;
    // No retries: a request that arrived before the interval would fail with its 429,
    // not be waited out by the retry policy.
    let (client, _) = client(&server);
    for _ in 0..3 {
        assert!(client.get_repository("chainguard").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_create_that_failed_with_500_is_read_back_before_it_is_tried_again() {
    // Not created: listed, then sent again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Server Error (500)"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, recorder) = client_with(&server, quick_retry());
    client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap();
    assert_eq!(
        calls(&recorder),
        [
            "POST /repos/acme/chainguard/upstream/docker/",
            "GET /repos/acme/chainguard/upstream/docker/",
            "POST /repos/acme/chainguard/upstream/docker/"
        ]
    );

    // Created after all: found by name, not sent again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Up1",
            "cgr-public",
            "https://cgr.dev/chainguard",
            1,
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let found = client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap();
    assert_eq!(found.slug_perm, "Up1");

    // A bare 500 while another upstream has the URL: a duplicate URL, not tried again.
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Server Error (500)"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([upstream(
            "Tw1",
            "Chainguard",
            "https://cgr.dev/chainguard/",
            1,
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(&server, quick_retry());
    let err = client
        .create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    let text = err.to_string();
    assert!(
        text.contains("already has upstream \"Chainguard\" of https://cgr.dev/chainguard"),
        "{text}"
    );
}

#[tokio::test]
async fn a_repository_create_that_failed_with_502_is_read_back() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(repository("chainguard", None)))
        .expect(1)
        .mount(&server)
        .await;
    // Even without retries, what a failed create may have made is looked for.
    let (client, _) = client(&server);
    let found = client
        .create_repository(&RepositoryCreate::private("chainguard"))
        .await
        .unwrap();
    assert_eq!(found.slug, "chainguard");
}

#[tokio::test]
async fn reads_deletes_and_absent_things() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    let not_found = ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}));
    Mock::given(method("GET"))
        .and(path("/repos/acme/gone/"))
        .respond_with(not_found.clone())
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/gone/"))
        .respond_with(not_found.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/gone/upstream/docker/"))
        .respond_with(not_found.clone())
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/chainguard/"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/chainguard/upstream/docker/Up1/"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/chainguard/upstream/docker/Up2/"))
        .respond_with(not_found)
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert!(client.get_repository("gone").await.unwrap().is_none());
    assert_eq!(
        client.delete_repository("gone").await.unwrap(),
        Deleted::AlreadyAbsent
    );
    let err = client.list_upstreams("gone").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "not found: cloudsmith answered 404 Not Found to GET {}/repos/acme/gone/upstream/docker/: Not found.",
            server.uri()
        )
    );
    assert_eq!(
        client.delete_repository("chainguard").await.unwrap(),
        Deleted::Removed
    );
    assert_eq!(
        client.delete_upstream("chainguard", "Up1").await.unwrap(),
        Deleted::Removed
    );
    assert!(
        client
            .get_upstream("chainguard", "Up2")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn forgetting_an_image_deletes_only_its_docker_packages() {
    let server = MockServer::start().await;
    nothing_else(&server).await;
    Mock::given(method("GET"))
        .and(path("/packages/acme/chainguard/"))
        .and(query_param("query", "name:nginx"))
        .and(query_param("page", "1"))
        .and(query_param("page_size", "500"))
        .and(api_key())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"slug_perm": "Pk1", "name": "nginx", "format": "docker", "version": "latest"},
            {"slug_perm": "Pk2", "name": "nginx-fips", "format": "docker", "version": "latest"},
            {"slug_perm": "Pk3", "name": "nginx", "format": "docker", "version": "1.27"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    for slug_perm in ["Pk1", "Pk3"] {
        Mock::given(method("DELETE"))
            .and(path(format!("/packages/acme/chainguard/{slug_perm}/")))
            .and(api_key())
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, _) = client(&server);
    assert_eq!(
        client.forget_image("chainguard", "nginx").await.unwrap(),
        Deleted::Removed
    );
}
