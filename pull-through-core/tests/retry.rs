//! The retry policy, through a real HTTP server (wiremock on loopback).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::Method;
use pull_through_core::error::TransportErrorKind;
use pull_through_core::http::{HttpClient, RecordingObserver, RetryConfig};
use pull_through_core::{Error, SecretString};
use tracing::span;
use tracing_subscriber::layer::{Context, SubscriberExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn quick_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .with_budget(Duration::from_secs(20))
}

fn client(server_uri: &str, retry: RetryConfig) -> (HttpClient, RecordingObserver) {
    let recorder = RecordingObserver::new();
    let client = HttpClient::builder("test", server_uri.parse().unwrap())
        .retry(retry)
        .request_timeout(Duration::from_millis(500))
        .observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    (client, recorder)
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server.uri(), quick_retry());

    let body = client
        .get("thing")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    assert_eq!(&body[..], b"ok");
    let records = recorder.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].status, Some(429));
    assert_eq!(
        records[0].retry_in,
        Some(Duration::from_secs(2)),
        "the server's delay, not the backoff"
    );
    assert_eq!(records[1].status, Some(200));
    assert_eq!(records[1].attempt, 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", at.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server.uri(), quick_retry());

    client.get("x").send().await.unwrap();

    let wait = recorder.records()[0]
        .retry_in
        .expect("a retry was scheduled");
    // An HTTP date has one-second resolution, so "in two seconds" lands in (0, 2].
    assert!(
        wait <= Duration::from_secs(2) && wait > Duration::ZERO,
        "{wait:?}"
    );
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn too_long_retry_after_surfaces_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_string("slow down"),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri(), quick_retry());

    let err = client.get("x").send().await.unwrap_err();

    match err {
        Error::RateLimited { retry_after, error } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3600)));
            assert_eq!(error.message, "slow down");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(
        received(&server).await,
        1,
        "no point retrying before the server's delay"
    );
}

#[tokio::test]
async fn service_unavailable_then_ok() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server.uri(), quick_retry());

    let response = client
        .put("repo")
        .json(&serde_json::json!({"k": 1}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let statuses: Vec<_> = recorder.records().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200)]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[1].body, br#"{"k":1}"#,
        "the body is sent again whole"
    );
}

#[tokio::test]
async fn status_500_is_retried_only_when_idempotent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server.uri(), quick_retry());

    let get = client.get("x").send().await.unwrap_err();
    assert_eq!(get.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        recorder.records().len(),
        4,
        "GET is tried max_attempts times"
    );

    recorder.clear();
    client.post("x").send().await.unwrap_err();
    assert_eq!(
        recorder.records().len(),
        1,
        "a POST that got a 500 is not re-sent"
    );

    recorder.clear();
    client.post("x").idempotent(true).send().await.unwrap_err();
    assert_eq!(
        recorder.records().len(),
        4,
        "unless the caller marks it idempotent"
    );
}

#[tokio::test]
async fn post_that_times_out_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri(), quick_retry());

    let err = client
        .post("identities")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap_err();

    match &err {
        Error::Transport(transport) => {
            assert_eq!(transport.kind, TransportErrorKind::Timeout);
            assert_eq!(transport.attempts, 1);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(received(&server).await, 1);
}

#[tokio::test]
async fn get_that_times_out_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, recorder) = client(&server.uri(), quick_retry());

    client.get("x").send().await.unwrap();

    let records = recorder.records();
    assert_eq!(records.len(), 2);
    assert!(records[0].failure.is_some() && records[0].status.is_none());
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_post() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let (client, recorder) = client(&format!("http://{address}"), quick_retry());

    let err = client.post("x").send().await.unwrap_err();

    match &err {
        Error::Transport(transport) => {
            assert_eq!(transport.kind, TransportErrorKind::Connect);
            assert_eq!(transport.attempts, 4);
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert_eq!(
        recorder.records().len(),
        4,
        "a refused connection never sent the POST"
    );
}

#[tokio::test]
async fn budget_ends_a_retry_storm() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let storm = RetryConfig::default()
        .with_max_attempts(1000)
        .with_backoff(Duration::from_millis(40), Duration::from_millis(40))
        .with_budget(Duration::from_millis(300));
    let (client, recorder) = client(&server.uri(), storm);

    let err = client.get("x").send().await.unwrap_err();

    assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    let attempts = recorder.records().len();
    // Each wait is 20-40 ms, so a 300 ms budget allows at most 16 attempts.
    assert!((2..=16).contains(&attempts), "{attempts} attempts");
    assert_eq!(received(&server).await, attempts);
    assert_eq!(recorder.records().last().unwrap().retry_in, None);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri(), quick_retry());

    let err = client
        .get("api/repositories/nope")
        .send()
        .await
        .unwrap_err();

    assert!(err.is_not_found());
    assert_eq!(received(&server).await, 1);
    let api = err.api().unwrap();
    assert_eq!(api.message, "Not Found");
    assert_eq!(api.method, Method::GET);
    assert!(api.url.ends_with("/api/repositories/nope"), "{}", api.url);
}

/// The fields of one span, as `(name, value)` pairs in the order recorded.
type Fields = Vec<(String, String)>;

/// Records the fields of every `http` span.
#[derive(Clone, Default)]
struct SpanFields(Arc<Mutex<Vec<Fields>>>);

struct FieldVisitor<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanFields
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "http" {
            return;
        }
        let mut fields = vec![("id".to_owned(), format!("{}", id.into_u64()))];
        attrs.record(&mut FieldVisitor(&mut fields));
        let _ = ctx;
        self.0.lock().unwrap().push(fields);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some(fields) = spans
            .iter_mut()
            .find(|fields| fields[0].1 == format!("{}", id.into_u64()))
        {
            values.record(&mut FieldVisitor(fields));
        }
    }
}

#[tokio::test]
async fn one_span_per_attempt_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let spans = SpanFields::default();
    let subscriber = tracing_subscriber::registry()
        .with(spans.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let _guard = tracing::subscriber::set_default(subscriber);
    // A timeout far above loopback's: on a loaded machine the 500 ms of the other tests
    // can expire, and a third attempt would be a third span.
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(quick_retry())
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = SecretString::from("span-secret-token");

    client
        .get("v2/chainguard/go/manifests/latest")
        .query(&[("token", "query-secret")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    let spans = spans.0.lock().unwrap().clone();
    assert_eq!(spans.len(), 2, "{spans:?}");
    for (index, fields) in spans.iter().enumerate() {
        let get = |name: &str| {
            fields
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        assert_eq!(get("method"), "GET");
        assert_eq!(get("attempt"), (index + 1).to_string());
        assert_eq!(
            get("url"),
            format!("{}/v2/chainguard/go/manifests/latest", server.uri())
        );
        assert_eq!(get("status"), if index == 0 { "502" } else { "200" });
        let all = format!("{fields:?}");
        assert!(!all.contains("secret"), "{all}");
    }
}

#[tokio::test]
async fn the_budget_bounds_each_attempt_too() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let recorder = RecordingObserver::new();
    // The request timeout alone (30 s) would let the attempt wait out the 5 s delay; only
    // the 300 ms budget can end it as a timeout.
    let client = HttpClient::builder("test", server.uri().parse().unwrap())
        .retry(RetryConfig::default().with_budget(Duration::from_millis(300)))
        .request_timeout(Duration::from_secs(30))
        .observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();

    let err = client.get("slow").send().await.unwrap_err();

    match err {
        Error::Transport(transport) => {
            assert_eq!(transport.kind, TransportErrorKind::Timeout);
            assert_eq!(
                transport.attempts, 1,
                "no time is left for a second attempt"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_does_not_use_up_an_attempt_but_other_failures_do() {
    // Six 429s, then an answer: more than the four attempts, yet the request succeeds.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/paced"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(6)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/paced"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri(), quick_retry());

    let answer = client.get("paced").send().await.unwrap();
    assert_eq!(answer.status(), http::StatusCode::OK);
    assert_eq!(received(&server).await, 7);

    let err = client.get("broken").send().await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(received(&server).await, 7 + 4, "a 503 uses an attempt each");
}

#[tokio::test]
async fn endless_429s_end_with_the_budget_never_in_a_busy_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&server)
        .await;
    let retry = RetryConfig::default()
        .with_max_attempts(2)
        .with_backoff(Duration::from_millis(50), Duration::from_millis(100))
        .with_budget(Duration::from_secs(1));
    let (client, _) = client(&server.uri(), retry);

    let err = client.get("x").send().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // Within a one-second budget, waits of at least 50 ms past the second attempt: a
    // busy loop would send thousands.
    let sent = received(&server).await;
    assert!((3..=25).contains(&sent), "{sent} requests");
}

#[tokio::test]
async fn a_server_answering_only_429_is_given_up_on_before_a_long_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&server)
        .await;
    // A day's budget and no backoff: only the cap on free 429s ends it.
    let retry = RetryConfig::default()
        .with_max_attempts(2)
        .with_backoff(Duration::ZERO, Duration::ZERO)
        .with_budget(Duration::from_secs(86_400));
    let (client, _) = client(&server.uri(), retry);

    let err = client.get("x").send().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(
        received(&server).await,
        22,
        "twenty 429s that use no attempt, then the two attempts"
    );
}
