//! Rate limits against wiremock: a 429 waited out with its `Retry-After`, one past the
//! retries reported with its wait, and the pace an answer with nothing remaining sets
//! (the core's), checked by a server that throttles any request arriving too soon.

mod common;

use cloudsmith_client::RepositoryCreate;
use common::*;
use pull_through_core::Error;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
