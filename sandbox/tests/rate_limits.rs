//! The sandbox-wide rate limit: off by default; past the rate each fake answers 429 as its
//! vendor does (its error format, `Retry-After` only where the vendor documents one:
//! Cloudsmith's API), per credential; requests one fake makes to another are not counted;
//! a client gets through with `Retry-After` and with its own backoff without one.

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
const PATHS: [(&str, &str); 8] = [
    ("artifactory", "artifactory/api/system/ping"),
    ("chainguard-api", "iam/v1/roles"),
    (
        "artifactregistry",
        "v1/projects/p/locations/us-central1/repositories",
    ),
    ("cloudsmith", "status/check/basic/"),
    ("cgr.dev", "v2/"),
    ("gar-docker", "v2/"),
    ("cloudsmith-docker", "v2/"),
    ("apk.cgr.dev", "chainguard/x86_64/APKINDEX.tar.gz"),
];

/// The only vendor whose reference documents `Retry-After` on a 429
/// (/work/shared/reference/cloudsmith.md §4); Artifactory's says there is none, Google's
/// and Chainguard's list the status alone.
const DOCUMENTS_RETRY_AFTER: [&str; 1] = ["cloudsmith"];

async fn get(
    sandbox: &Sandbox,
    service: &str,
    path: &str,
    credential: &str,
) -> (u16, String, Value) {
    get_with(sandbox, service, path, &[("authorization", credential)]).await
}

async fn get_with(
    sandbox: &Sandbox,
    service: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Value) {
    let url = sandbox.url(service).unwrap().join(path).unwrap();
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let answer = request.send().await.unwrap();
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
        let told = if DOCUMENTS_RETRY_AFTER.contains(&service) {
            "1"
        } else {
            ""
        };
        assert_eq!((status, retry_after.as_str()), (429, told), "{service}");
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
    for registry in ["cgr.dev", "gar-docker", "cloudsmith-docker"] {
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
        let told = if DOCUMENTS_RETRY_AFTER.contains(&entry.service.as_str()) {
            "with Retry-After: 1"
        } else {
            "without Retry-After"
        };
        assert_eq!(
            entry.fault.as_deref(),
            Some(
                format!("rate limit: 429 {told} (past 1 requests per second for this credential)")
                    .as_str()
            ),
            "{}",
            entry.service
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
    let cloudsmith = Cloudsmith::new();
    let sandbox = Sandbox::builder()
        .cloudsmith(&cloudsmith)
        .rate_limit(2.0)
        .start()
        .await
        .unwrap();
    let client = HttpClient::builder("cloudsmith", sandbox.url("cloudsmith").unwrap().clone())
        .retry(RetryConfig::default().with_max_attempts(4))
        .build()
        .unwrap();
    for _ in 0..4 {
        client
            .get("status/check/basic/")
            .send()
            .await
            .expect("retried after Retry-After");
    }
    let entries = sandbox.journal().entries();
    let statuses: Vec<Option<u16>> = entries.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(200)).count(),
        4,
        "{statuses:?}"
    );
    let limited: Vec<_> = entries.iter().filter(|e| e.status == Some(429)).collect();
    assert!(!limited.is_empty(), "{statuses:?}");
    assert!(
        limited
            .iter()
            .all(|e| e.fault.as_deref().unwrap().contains("with Retry-After: 1")),
        "{limited:?}"
    );
}

#[tokio::test]
async fn cloudsmith_s_429_carries_its_rate_limit_headers() {
    let sandbox = every_vendor(Some(1.0)).await;
    let url = sandbox
        .url("cloudsmith")
        .unwrap()
        .join("status/check/basic/")
        .unwrap();
    let client = reqwest::Client::new();
    assert_eq!(client.get(url.clone()).send().await.unwrap().status(), 200);
    let throttled = client.get(url).send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    let header = |name: &str| throttled.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("retry-after"), "1");
    // One a second is 3600 an hour, the unit Cloudsmith's header counts in.
    assert_eq!(header("x-ratelimit-limit"), "3600");
    assert_eq!(header("x-ratelimit-remaining"), "0");
    assert_eq!(header("x-ratelimit-interval"), "1.000");
    assert!(header("x-ratelimit-reset").parse::<u64>().is_ok());
}

#[tokio::test]
async fn requests_one_fake_makes_to_another_are_not_counted() {
    let sandbox = every_vendor(Some(1.0)).await;
    let hop = (pull_through_sandbox::upstream::FROM_FAKE_HEADER, "1");
    for _ in 0..5 {
        let (status, _, _) = get_with(
            &sandbox,
            "cgr.dev",
            "v2/",
            &[("authorization", "Bearer one"), hop],
        )
        .await;
        assert_ne!(status, 429, "a fake's own traffic is never throttled");
    }
    // The client's own second of requests is still whole.
    let (first, _, _) = get(&sandbox, "cgr.dev", "v2/", "Bearer one").await;
    assert_ne!(first, 429);
    let (second, _, _) = get(&sandbox, "cgr.dev", "v2/", "Bearer one").await;
    assert_eq!(second, 429);
}

#[tokio::test]
async fn a_client_backs_off_without_retry_after_and_gets_through() {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .rate_limit(2.0)
        .start()
        .await
        .unwrap();
    // apk.cgr.dev/chainguard is public: every call that is let through answers 200.
    let client = HttpClient::builder("chainguard", sandbox.url("apk.cgr.dev").unwrap().clone())
        .retry(RetryConfig::default().with_max_attempts(4))
        .build()
        .unwrap();
    for _ in 0..4 {
        let answer = client
            .get("chainguard/x86_64/APKINDEX.tar.gz")
            .send()
            .await
            .expect("retried after its own backoff");
        assert_eq!(answer.status(), 200);
    }
    let entries = sandbox.journal().entries();
    let limited: Vec<_> = entries.iter().filter(|e| e.status == Some(429)).collect();
    assert!(!limited.is_empty(), "the rate was met");
    assert!(
        limited
            .iter()
            .all(|e| e.fault.as_deref().unwrap().contains("without Retry-After")),
        "{limited:?}"
    );
    assert_eq!(
        entries.iter().filter(|e| e.status == Some(200)).count(),
        4,
        "each call got through once: {entries:?}"
    );
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
