//! Each Cloudsmith call against wiremock: exact method, path, query, headers and JSON
//! bodies (every enum string as the API spells it), reads, deletes and absent things.
//! Pagination is in `pagination.rs`, rate limits in `rate_limits.rs`, creates that are
//! read back in `creates.rs`.

mod common;

use cloudsmith_client::{
    DockerUpstreamPatch, DockerUpstreamRequest, RepositoryCreate, RepositoryPatch,
};
use common::*;
use pull_through_core::{Deleted, SecretString};
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
