//! The sandbox-wide rate limit: off by default; past the rate each fake answers 429 with
//! `Retry-After` in its vendor's error format, per credential, and a client that honours
//! `Retry-After` gets through.

use pull_through_core::http::{HttpClient, RetryConfig};
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::cloudsmith::Cloudsmith;
use pull_through_sandbox::gar::Gar;
use pull_through_sandbox::{Sandbox, SandboxError};
use serde_json::{Value, json};

async fn every_vendor(rate: Option<f64>) -> Sandbox {
    let mut builder = Sandbox::builder()
        .chainguard(&Chainguard::new("example.com"))
        .artifactory(&Artifactory::new())
        .gar(&Gar::new())
        .cloudsmith(&Cloudsmith::new());
    if let Some(rate) = rate {
        builder = builder.rate_limit(rate);
    }
    builder.start().await.unwrap()
}

/// A path of each service that answers without state.
const PATHS: [(&str, &str); 6] = [
    ("artifactory", "artifactory/api/system/ping"),
    ("chainguard-api", "iam/v1/roles"),
    (
        "artifactregistry",
        "v1/projects/p/locations/us-central1/repositories",
    ),
    ("cloudsmith", "status/check/basic/"),
    ("cgr.dev", "v2/"),
    ("gar-docker", "v2/"),
];

async fn get(
    sandbox: &Sandbox,
    service: &str,
    path: &str,
    credential: &str,
) -> (u16, String, Value) {
    let url = sandbox.url(service).unwrap().join(path).unwrap();
    let answer = reqwest::Client::new()
        .get(url)
        .header("authorization", credential)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = answer.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[tokio::test]
async fn without_a_rate_limit_nothing_is_throttled() {
    let sandbox = every_vendor(None).await;
    for (service, path) in PATHS {
        for _ in 0..30 {
            let (status, _, _) = get(&sandbox, service, path, "Bearer one").await;
            assert_ne!(status, 429, "{service}");
        }
    }
}

#[tokio::test]
async fn past_the_rate_each_vendor_answers_429_in_its_own_format() {
    let sandbox = every_vendor(Some(1.0)).await;
    let mut throttled = Vec::new();
    for (service, path) in PATHS {
        let (first, _, _) = get(&sandbox, service, path, "Bearer one").await;
        assert_ne!(
            first, 429,
            "{service}: the first request of a second passes"
        );
        let (status, retry_after, body) = get(&sandbox, service, path, "Bearer one").await;
        assert_eq!((status, retry_after.as_str()), (429, "1"), "{service}");
        // Another credential has its own count.
        let (other, _, _) = get(&sandbox, service, path, "Bearer two").await;
        assert_ne!(other, 429, "{service}: another token is counted apart");
        throttled.push((service, body));
    }
    let bodies: std::collections::BTreeMap<&str, Value> = throttled.into_iter().collect();
    assert_eq!(
        bodies["artifactory"],
        json!({"errors": [{"status": 429, "message": "Too Many Requests"}]})
    );
    assert_eq!(
        bodies["chainguard-api"],
        json!({"code": 8, "message": "rate limit exceeded; retry in 1 s", "details": []})
    );
    assert_eq!(bodies["artifactregistry"]["error"]["code"], 429);
    assert_eq!(
        bodies["artifactregistry"]["error"]["status"],
        "RESOURCE_EXHAUSTED"
    );
    assert_eq!(
        bodies["artifactregistry"]["error"]["details"][0]["reason"],
        "RATE_LIMIT_EXCEEDED"
    );
    assert_eq!(
        bodies["cloudsmith"],
        json!({"detail": "Request was throttled. Expected available in 1 second."})
    );
    for registry in ["cgr.dev", "gar-docker"] {
        assert_eq!(bodies[registry]["errors"][0]["code"], "TOOMANYREQUESTS");
    }

    let limited: Vec<_> = sandbox
        .journal()
        .entries()
        .into_iter()
        .filter(|e| e.status == Some(429))
        .collect();
    assert_eq!(limited.len(), PATHS.len());
    for entry in limited {
        assert_eq!(
            entry.fault.as_deref(),
            Some(
                "rate limit: 429 with Retry-After: 1 (past 1 requests per second for this \
                 credential)"
            )
        );
        assert_eq!(
            entry.performed_status, None,
            "a throttled request is not performed"
        );
    }
    assert!(
        !sandbox.journal().to_json_lines().contains("Bearer one"),
        "credentials stay redacted"
    );
}

#[tokio::test]
async fn a_client_that_honours_retry_after_gets_through() {
    let artifactory = Artifactory::new();
    let sandbox = Sandbox::builder()
        .artifactory(&artifactory)
        .rate_limit(2.0)
        .start()
        .await
        .unwrap();
    let client = HttpClient::builder("artifactory", sandbox.url("artifactory").unwrap().clone())
        .retry(RetryConfig::default().with_max_attempts(4))
        .build()
        .unwrap();
    for _ in 0..4 {
        client
            .get("artifactory/api/system/ping")
            .send()
            .await
            .expect("retried after Retry-After");
    }
    let statuses: Vec<Option<u16>> = sandbox
        .journal()
        .entries()
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(200)).count(),
        4,
        "{statuses:?}"
    );
    assert!(statuses.contains(&Some(429)), "{statuses:?}");
}

#[tokio::test]
async fn a_rate_that_is_not_positive_is_refused() {
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let refused = Sandbox::builder()
            .rate_limit(rate)
            .start()
            .await
            .unwrap_err();
        assert!(matches!(refused, SandboxError::RateLimit(_)), "{rate}");
        assert!(refused.to_string().contains("not a positive number"));
    }
}
