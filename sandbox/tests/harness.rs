//! The sandbox harness: ports, journal, latency, faults, control endpoints, env file.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pull_through_core::SecretString;
use pull_through_core::http::{HttpClient, RecordingObserver, RetryConfig};
use pull_through_sandbox::axum::{Router, extract::State, routing::get, routing::post};
use pull_through_sandbox::{
    FakeService, FaultKind, FaultRule, JournalEntry, Sandbox, SandboxContext, journal_contains,
};
use url::Url;

/// A fake with a counter, so reset can be observed.
#[derive(Clone, Default)]
struct Counter {
    hits: Arc<AtomicUsize>,
}

impl FakeService for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn hosts(&self) -> Vec<String> {
        vec!["counter.example.com".to_owned()]
    }

    fn router(&self, _context: SandboxContext) -> Router {
        Router::new()
            .route(
                "/hit",
                post(|State(hits): State<Arc<AtomicUsize>>| async move {
                    (hits.fetch_add(1, Ordering::SeqCst) + 1).to_string()
                }),
            )
            .route("/ok", get(|| async { "ok" }))
            .with_state(self.hits.clone())
    }

    fn env(&self, base_url: &Url) -> Vec<(String, String)> {
        vec![("COUNTER_URL".to_owned(), base_url.to_string())]
    }

    fn reset(&self) {
        self.hits.store(0, Ordering::SeqCst);
    }
}

fn url(sandbox: &Sandbox, path: &str) -> Url {
    sandbox.url("counter").unwrap().join(path).unwrap()
}

#[tokio::test]
async fn services_get_their_own_loopback_ports() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    let endpoints = sandbox.endpoints();
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0].0, "sandbox");
    assert_ne!(endpoints[0].1.port(), endpoints[1].1.port());
    for (_, url) in endpoints {
        assert_eq!(url.host_str(), Some("127.0.0.1"));
    }
    let services: serde_json::Value =
        reqwest::get(sandbox.control_url().join("_sandbox/services").unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(services[1]["name"], "counter");
    assert_eq!(services[1]["url"], sandbox.url("counter").unwrap().as_str());
}

#[tokio::test]
async fn journal_records_requests_with_secrets_redacted() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    client
        .post(url(&sandbox, "hit?keep=1&token=query-secret"))
        .bearer_auth("header-secret")
        .header("x-api-key", "api-key-secret")
        .json(&serde_json::json!({"key": "cg-private", "password": "body-secret"}))
        .send()
        .await
        .unwrap();

    let entries = sandbox.journal().entries();
    assert_eq!(entries.len(), 1);
    let entry: &JournalEntry = &entries[0];
    assert_eq!(entry.seq, 1);
    assert_eq!(entry.service, "counter");
    assert_eq!(entry.method, "POST");
    assert_eq!(entry.path, "/hit");
    assert_eq!(entry.query.as_deref(), Some("keep=1&token=[REDACTED]"));
    assert_eq!(entry.header("authorization"), Some("Bearer [REDACTED]"));
    assert_eq!(entry.header("x-api-key"), Some("[REDACTED]"));
    assert_eq!(
        entry.json(),
        Some(serde_json::json!({"key": "cg-private", "password": "[REDACTED]"}))
    );
    assert_eq!(entry.status, Some(200));
    assert!(entry.is_write());

    let dumped = reqwest::get(sandbox.control_url().join("_sandbox/journal").unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed: Vec<JournalEntry> = dumped
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        parsed, entries,
        "the control endpoint dumps the same entries as JSON lines"
    );
    for secret in [
        "query-secret",
        "header-secret",
        "api-key-secret",
        "body-secret",
    ] {
        assert!(
            !journal_contains(&sandbox.journal(), secret),
            "{secret} leaked"
        );
        assert!(!dumped.contains(secret), "{secret} leaked in the dump");
    }
}

#[tokio::test]
async fn journal_streams_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .journal_file(&path)
        .start()
        .await
        .unwrap();
    reqwest::get(url(&sandbox, "ok")).await.unwrap();
    reqwest::get(url(&sandbox, "missing")).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let statuses: Vec<Option<u16>> = text
        .lines()
        .map(|line| serde_json::from_str::<JournalEntry>(line).unwrap().status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(404)]);
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .latency(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    reqwest::get(url(&sandbox, "ok")).await.unwrap();
    // A lower bound only: the injected sleep guarantees it, whatever the machine's load.
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// What a client saw for each of `count` GETs: a status, or 0 for a dropped connection.
async fn outcomes(sandbox: &Sandbox, count: usize) -> Vec<u16> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..count {
        match client.get(url(sandbox, "ok")).send().await {
            Ok(response) => seen.push(response.status().as_u16()),
            Err(_) => seen.push(0),
        }
    }
    seen
}

#[tokio::test]
async fn random_faults_are_reproducible_from_the_seed() {
    let start = |seed| {
        Sandbox::builder()
            .service(Counter::default())
            .random_faults(0.4, seed)
            .start()
    };
    let first = outcomes(&start(11).await.unwrap(), 60).await;
    let again = outcomes(&start(11).await.unwrap(), 60).await;
    let other = outcomes(&start(12).await.unwrap(), 60).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    for expected in [0, 429, 500, 502, 503, 200] {
        assert!(
            first.contains(&expected),
            "{expected} never happened in {first:?}"
        );
    }
}

#[tokio::test]
async fn targeted_faults_answer_as_configured() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    sandbox.faults().add(
        FaultRule::new(FaultKind::TooManyRequests {
            retry_after_secs: 7,
        })
        .service("counter")
        .method("GET")
        .path_prefix("/ok")
        .times(1),
    );
    let limited = reqwest::get(url(&sandbox, "ok")).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(
        reqwest::get(url(&sandbox, "ok")).await.unwrap().status(),
        200
    );

    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::DropConnection).times(1));
    assert!(
        reqwest::get(url(&sandbox, "ok")).await.is_err(),
        "the connection is dropped"
    );
    let last = sandbox.journal().entries().pop().unwrap();
    assert_eq!(last.status, None);
    assert_eq!(last.fault.as_deref(), Some("dropped connection"));
}

#[tokio::test]
async fn the_core_client_rides_out_injected_faults() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::DropConnection).times(1));
    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::Status { status: 503 }).times(1));
    let recorder = RecordingObserver::new();
    let client = HttpClient::builder("counter", sandbox.url("counter").unwrap().clone())
        .retry(
            RetryConfig::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .observer(Arc::new(recorder.clone()))
        .build()
        .unwrap();
    let token = SecretString::from("core-client-secret");

    let body = client
        .get("ok")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    assert_eq!(&body[..], b"ok");
    let attempts: Vec<_> = recorder.records().iter().map(|r| r.status).collect();
    assert_eq!(attempts, [None, Some(503), Some(200)]);
    assert!(!journal_contains(&sandbox.journal(), "core-client-secret"));
}

#[tokio::test]
async fn control_endpoints_manage_faults_and_reset() {
    let counter = Counter::default();
    let sandbox = Sandbox::builder()
        .service(counter.clone())
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let control = |path: &str| sandbox.url("counter").unwrap().join(path).unwrap();

    let added = client
        .post(control("_sandbox/faults"))
        .json(
            &serde_json::json!({"service": "counter", "method": "POST", "path_prefix": "/hit",
            "fault": {"kind": "status", "status": 502}, "remaining": 1}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(sandbox.faults().rules().len(), 1);
    assert_eq!(
        client
            .post(url(&sandbox, "hit"))
            .send()
            .await
            .unwrap()
            .status(),
        502
    );
    assert_eq!(
        client
            .post(url(&sandbox, "hit"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1"
    );

    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::Status { status: 500 }));
    let cleared = client
        .delete(control("_sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(sandbox.faults().rules().is_empty());

    let reset = client.post(control("_sandbox/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert!(
        sandbox.journal().entries().is_empty(),
        "reset clears the journal"
    );
    assert_eq!(
        counter.hits.load(Ordering::SeqCst),
        0,
        "reset resets the fakes"
    );
    assert_eq!(
        client
            .post(url(&sandbox, "hit"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1"
    );

    let unknown = client.get(control("_sandbox/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("/_sandbox/journal"));
}

#[tokio::test]
async fn env_file_and_host_mapping() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.env");
    sandbox.write_env_file(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let control = sandbox.control_url().as_str().trim_end_matches('/');
    assert_eq!(
        text,
        format!(
            "PULL_THROUGH_SANDBOX_URL={control}\nCOUNTER_URL={}\n",
            sandbox.url("counter").unwrap()
        )
    );

    let real: Url = "https://counter.example.com/v2/x?scope=y".parse().unwrap();
    let fake = sandbox.context().to_fake(&real).unwrap();
    assert_eq!(fake.host_str(), Some("127.0.0.1"));
    assert_eq!(fake.port(), sandbox.url("counter").unwrap().port());
    assert_eq!(fake.path(), "/v2/x");
    assert_eq!(fake.query(), Some("scope=y"));
    assert_eq!(
        sandbox
            .context()
            .to_fake(&"https://cgr.dev/".parse().unwrap()),
        None
    );
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    let duplicate = Sandbox::builder()
        .service(Counter::default())
        .service(Counter::default())
        .start()
        .await;
    assert!(duplicate.unwrap_err().to_string().contains("\"counter\""));
    let rate = Sandbox::builder().random_faults(1.5, 1).start().await;
    assert!(rate.unwrap_err().to_string().contains("1.5"));
}

#[tokio::test]
async fn shutdown_closes_the_ports() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .start()
        .await
        .unwrap();
    let target = url(&sandbox, "ok");
    assert!(reqwest::get(target.clone()).await.is_ok());
    sandbox.shutdown().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(client.get(target).send().await.is_err());
}

#[tokio::test]
async fn the_fault_endpoint_refuses_nonsense() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = reqwest::Client::new();
    let endpoint = sandbox.control_url().join("_sandbox/faults").unwrap();
    for body in [
        serde_json::json!({"fault": {"kind": "drop_connection"}, "remaining": 0}),
        serde_json::json!({"fault": {"kind": "status", "status": 200}}),
    ] {
        let answer = client
            .post(endpoint.clone())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{body}");
    }
    assert!(sandbox.faults().rules().is_empty());
}

#[tokio::test]
async fn random_faults_can_be_stopped_through_the_control_endpoint() {
    let sandbox = Sandbox::builder()
        .service(Counter::default())
        .random_faults_of(1.0, 5, vec![FaultKind::Status { status: 503 }])
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(url(&sandbox, "ok"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let stopped = client
        .delete(
            sandbox
                .control_url()
                .join("_sandbox/faults/random")
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 204);
    for _ in 0..20 {
        assert_eq!(
            client
                .get(url(&sandbox, "ok"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}
