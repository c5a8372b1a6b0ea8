//! The sandbox-wide rate limit: past a number of requests per second per credential, a
//! fake answers 429 as its vendor does
//! ([`FakeService::throttled`](crate::FakeService::throttled)): in the vendor's error
//! format, with `Retry-After` only where the vendor documents one. Off unless
//! [`SandboxBuilder::rate_limit`](crate::SandboxBuilder::rate_limit) sets it.
//!
//! Each service counts each credential apart, as the vendors count per token or key: the
//! `Authorization` header's value, else `X-Api-Key` (Cloudsmith), else
//! `X-JFrog-Art-Api` (Artifactory's API keys); requests with none share one count per
//! service. The count is a token bucket: a second's worth of requests may come at once,
//! then they are let through at the rate. A throttled request is not counted, nor is a
//! request one fake makes to another (a cache pulling from `cgr.dev`): that stands for
//! traffic between two vendors, whose 429 no client would see or wait out.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::response::Response;
use http::{HeaderMap, HeaderValue};

/// The longest wait a throttled caller is told, whatever the rate: a rate so small that
/// its wait overflows a [`Duration`] still gets an answer.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// What a fake is told about a request past the sandbox's rate limit, to answer it as its
/// vendor does ([`FakeService::throttled`](crate::FakeService::throttled)).
///
/// ```
/// let throttle = pull_through_sandbox::Throttle::new(2, 0.5);
/// assert_eq!((throttle.retry_after_secs, throttle.per_second), (2, 0.5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Throttle {
    /// Whole seconds until the caller may send again (at least 1), what a `Retry-After`
    /// would say.
    pub retry_after_secs: u64,
    /// The limit: requests per second per credential.
    pub per_second: f64,
}

impl Throttle {
    /// A throttle asking for a wait of `retry_after_secs` under a limit of `per_second`.
    ///
    /// ```
    /// assert_eq!(pull_through_sandbox::Throttle::new(1, 2.0).retry_after_secs, 1);
    /// ```
    pub fn new(retry_after_secs: u64, per_second: f64) -> Throttle {
        Throttle {
            retry_after_secs,
            per_second,
        }
    }

    /// `answer` with `Retry-After: <retry_after_secs>`, for a fake whose vendor documents
    /// that header on its 429s.
    ///
    /// ```
    /// use pull_through_sandbox::{Throttle, axum::response::IntoResponse};
    /// let answer = Throttle::new(3, 1.0).with_retry_after(http::StatusCode::TOO_MANY_REQUESTS.into_response());
    /// assert_eq!(answer.headers()["retry-after"], "3");
    /// ```
    pub fn with_retry_after(&self, mut answer: Response) -> Response {
        answer
            .headers_mut()
            .insert("retry-after", HeaderValue::from(self.retry_after_secs));
        answer
    }
}

/// One caller's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets by (service, credential). The credential is kept only as a hash, so the
/// limiter holds no secret.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<(String, u64), Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The requests per second each credential may make.
    pub(crate) fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Counts one request; `Err` with the whole seconds to wait (at least 1, as
    /// `Retry-After` gives them, at most [`MAX_WAIT`]) when the caller is past the rate.
    pub(crate) fn admit(&self, service: &str, headers: &HeaderMap) -> Result<(), u64> {
        self.admit_at(service, credential(headers), Instant::now())
    }

    fn admit_at(&self, service: &str, credential: u64, now: Instant) -> Result<(), u64> {
        let capacity = self.per_second.max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets
            .entry((service.to_owned(), credential))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        // A tiny rate (1e-300 a second passes the builder's check) makes a wait no
        // `Duration` holds: it is told the longest wait instead of panicking.
        let wait = Duration::try_from_secs_f64((1.0 - bucket.tokens) / self.per_second)
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }
}

/// The hash of what identifies the caller.
fn credential(headers: &HeaderMap) -> u64 {
    let presented = ["authorization", "x-api-key", "x-jfrog-art-api"]
        .iter()
        .find_map(|name| headers.get(*name))
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    presented.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_static(value));
        map
    }

    #[test]
    fn a_second_of_requests_passes_then_the_rate() {
        let limiter = RateLimiter::new(2.0);
        let start = Instant::now();
        assert_eq!(limiter.admit_at("a", 1, start), Ok(()));
        assert_eq!(limiter.admit_at("a", 1, start), Ok(()));
        assert_eq!(limiter.admit_at("a", 1, start), Err(1));
        // Another credential, and the same credential at another service, count apart.
        assert_eq!(limiter.admit_at("a", 2, start), Ok(()));
        assert_eq!(limiter.admit_at("b", 1, start), Ok(()));
        // Half a second later one more request is allowed at 2 per second.
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.admit_at("a", 1, later), Ok(()));
        assert_eq!(limiter.admit_at("a", 1, later), Err(1));
    }

    #[test]
    fn a_slow_rate_asks_for_a_longer_wait() {
        let limiter = RateLimiter::new(0.25);
        let start = Instant::now();
        assert_eq!(limiter.admit_at("a", 1, start), Ok(()));
        assert_eq!(limiter.admit_at("a", 1, start), Err(4));
        assert_eq!(
            limiter.admit_at("a", 1, start + Duration::from_millis(2500)),
            Err(2)
        );
        assert_eq!(
            limiter.admit_at("a", 1, start + Duration::from_secs(4)),
            Ok(())
        );
    }

    #[test]
    fn a_tiny_rate_asks_for_the_longest_wait_without_panicking() {
        for rate in [1e-300, f64::MIN_POSITIVE, 1e-6] {
            let limiter = RateLimiter::new(rate);
            let start = Instant::now();
            assert_eq!(limiter.admit_at("a", 1, start), Ok(()), "{rate}");
            assert_eq!(
                limiter.admit_at("a", 1, start),
                Err(MAX_WAIT.as_secs()),
                "{rate}"
            );
            assert_eq!(
                limiter.admit_at("a", 1, start + Duration::from_secs(3600)),
                Err(MAX_WAIT.as_secs()),
                "{rate}: an hour refills nothing at this rate"
            );
        }
    }

    #[test]
    fn callers_are_told_apart_by_their_credential() {
        let bearer = credential(&headers("authorization", "Bearer one"));
        assert_ne!(bearer, credential(&headers("authorization", "Bearer two")));
        assert_eq!(credential(&HeaderMap::new()), credential(&HeaderMap::new()));
        assert_ne!(
            credential(&headers("x-api-key", "k")),
            credential(&HeaderMap::new())
        );
    }
}
