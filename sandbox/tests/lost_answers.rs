//! Lost answers: the fake performs the request, then the client gets a 502 or a dropped
//! connection; the journal says so, and the fakes' state shows what was done.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::axum::{Router, extract::State, routing::post};
use pull_through_sandbox::{FakeService, FaultKind, FaultRule, Sandbox, SandboxContext};
use serde_json::json;

/// A fake that counts the writes it performed.
#[derive(Clone, Default)]
struct Counter {
    hits: Arc<AtomicUsize>,
}

impl FakeService for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn router(&self, _context: SandboxContext) -> Router {
        Router::new()
            .route(
                "/hit",
                post(|State(hits): State<Arc<AtomicUsize>>| async move {
                    (hits.fetch_add(1, Ordering::SeqCst) + 1).to_string()
                }),
            )
            .with_state(self.hits.clone())
    }
}

async fn counter_sandbox(counter: &Counter) -> Sandbox {
    Sandbox::builder()
        .service(counter.clone())
        .start()
        .await
        .unwrap()
}

/// A client that opens a connection per request, so a dropped one is seen as such.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_lost_answer_performs_the_request_then_answers_502() {
    let counter = Counter::default();
    let sandbox = counter_sandbox(&counter).await;
    sandbox.faults().add(
        FaultRule::new(FaultKind::LostAnswer { status: Some(502) })
            .method("POST")
            .times(1),
    );
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    let lost = client().post(url.clone()).send().await.unwrap();
    assert_eq!(lost.status(), 502);
    assert_eq!(counter.hits.load(Ordering::SeqCst), 1, "the write happened");
    // The next request sees the state the lost one left.
    let next = client().post(url).send().await.unwrap();
    assert_eq!(next.text().await.unwrap(), "2");

    let entries = sandbox.journal().entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].fault.as_deref(),
        Some("lost answer: the request was performed, then status 502")
    );
    assert_eq!(entries[0].status, Some(502));
    assert_eq!(entries[0].performed_status, Some(200));
    assert!(entries[0].answer_lost());
    assert_eq!(entries[1].fault, None);
    assert_eq!(entries[1].performed_status, Some(200));
    assert!(!entries[1].answer_lost());
}

#[tokio::test]
async fn a_lost_answer_can_drop_the_connection_after_the_write() {
    let counter = Counter::default();
    let sandbox = counter_sandbox(&counter).await;
    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::LostAnswer { status: None }).times(1));
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    let dropped = client().post(url).send().await;
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    assert_eq!(counter.hits.load(Ordering::SeqCst), 1);
    let entry = &sandbox.journal().entries()[0];
    assert_eq!(
        entry.fault.as_deref(),
        Some("lost answer: the request was performed, then a dropped connection")
    );
    assert_eq!((entry.status, entry.performed_status), (None, Some(200)));
}

#[tokio::test]
async fn faults_instead_of_the_request_leave_the_state_alone() {
    let counter = Counter::default();
    let sandbox = counter_sandbox(&counter).await;
    for fault in FaultKind::UNPROCESSED_MIX {
        sandbox.faults().add(FaultRule::new(fault).times(1));
    }
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    for _ in FaultKind::UNPROCESSED_MIX {
        let answer = client().post(url.clone()).send().await;
        assert!(answer.is_err() || !answer.unwrap().status().is_success());
    }
    assert_eq!(counter.hits.load(Ordering::SeqCst), 0);
    assert!(
        sandbox
            .journal()
            .entries()
            .iter()
            .all(|e| e.performed_status.is_none() && !e.answer_lost())
    );
}

#[tokio::test]
async fn the_default_random_mix_loses_answers_to_writes() {
    let counter = Counter::default();
    let sandbox = Sandbox::builder()
        .service(counter.clone())
        .random_faults(0.5, 21)
        .start()
        .await
        .unwrap();
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    let mut answered = 0;
    for _ in 0..80 {
        if let Ok(answer) = client().post(url.clone()).send().await {
            if answer.status().is_success() {
                answered += 1;
            }
        }
    }
    let entries = sandbox.journal().entries();
    let lost = entries.iter().filter(|e| e.answer_lost()).count();
    let instead = entries
        .iter()
        .filter(|e| e.fault.is_some() && e.performed_status.is_none())
        .count();
    assert!(lost > 0, "no write lost its answer in 80");
    assert!(instead > 0, "no fault replaced a write in 80");
    assert!(
        entries
            .iter()
            .filter(|e| e.answer_lost())
            .all(|e| e.is_write() && e.performed_status == Some(200))
    );
    // Every write the fake performed was answered or lost; none else.
    assert_eq!(counter.hits.load(Ordering::SeqCst), answered + lost);
    assert_eq!(entries.len(), 80);
}

#[tokio::test]
async fn the_control_endpoint_takes_lost_answers() {
    let counter = Counter::default();
    let sandbox = counter_sandbox(&counter).await;
    let faults = sandbox.control_url().join("_sandbox/faults").unwrap();
    let http = reqwest::Client::new();
    let added = http
        .post(faults.clone())
        .json(&json!({"method": "POST", "fault": {"kind": "lost_answer", "status": 503}, "remaining": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let refused = http
        .post(faults.clone())
        .json(&json!({"fault": {"kind": "lost_answer", "status": 200}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let dropping = http
        .post(faults)
        .json(&json!({"fault": {"kind": "lost_answer"}, "remaining": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(dropping.status(), 201);
    assert_eq!(
        sandbox
            .faults()
            .rules()
            .iter()
            .map(|rule| rule.fault)
            .collect::<Vec<_>>(),
        [
            FaultKind::LostAnswer { status: Some(503) },
            FaultKind::LostAnswer { status: None }
        ]
    );
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    assert_eq!(
        client().post(url.clone()).send().await.unwrap().status(),
        503
    );
    assert!(client().post(url).send().await.is_err());
    assert_eq!(counter.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_state_shows_a_repository_whose_create_lost_its_answer() {
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .artifactory(&artifactory)
        .start()
        .await
        .unwrap();
    sandbox.faults().add(
        FaultRule::new(FaultKind::LostAnswer { status: Some(502) })
            .service("artifactory")
            .method("PUT")
            .times(1),
    );
    let url = sandbox
        .url("artifactory")
        .unwrap()
        .join("artifactory/api/repositories/cgr-private")
        .unwrap();
    let body = json!({"key": "cgr-private", "rclass": "remote", "packageType": "docker",
        "url": "https://cgr.dev/", "username": "ORG/0123456789abcdef", "password": "jwt",
        "enableTokenAuthentication": true});
    let token = artifactory.admin_token();
    let lost = client()
        .put(url.clone())
        .bearer_auth(token.expose())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(lost.status(), 502);
    let again = client()
        .put(url)
        .bearer_auth(token.expose())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "the create happened: it exists now");

    let state = sandbox.state();
    let held = &state["artifactory"];
    assert_eq!(held.objects["repositories"], ["cgr-private"]);
    assert_eq!(held.count("repositories"), 1);
    assert_eq!(held.credentials["cgr-private"], "ORG/0123456789abcdef");
    let dumped: serde_json::Value =
        reqwest::get(sandbox.control_url().join("_sandbox/state").unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        dumped["services"]["artifactory"],
        json!({"counts": {"access_tokens": 0, "repositories": 1},
               "objects": {"access_tokens": [], "repositories": ["cgr-private"]},
               "credentials": {"cgr-private": "ORG/0123456789abcdef"},
               "pinned_versions": {}, "subjects": {}})
    );
    assert!(
        !dumped.to_string().contains("jwt"),
        "no password in the state"
    );
}

#[tokio::test]
async fn random_faults_spare_requests_between_fakes_but_rules_do_not() {
    let counter = Counter::default();
    let sandbox = Sandbox::builder()
        .service(counter.clone())
        .random_faults_of(1.0, 5, vec![FaultKind::Status { status: 503 }])
        .start()
        .await
        .unwrap();
    let url = sandbox.url("counter").unwrap().join("hit").unwrap();
    let hop = pull_through_sandbox::upstream::FROM_FAKE_HEADER;
    assert_eq!(
        client().post(url.clone()).send().await.unwrap().status(),
        503
    );
    let between = client()
        .post(url.clone())
        .header(hop, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(between.status(), 200);
    sandbox.faults().add(
        FaultRule::new(FaultKind::LostAnswer { status: Some(502) })
            .service("counter")
            .times(1),
    );
    let ruled = client().post(url).header(hop, "1").send().await.unwrap();
    assert_eq!(ruled.status(), 502);
    assert_eq!(counter.hits.load(Ordering::SeqCst), 2);
}
