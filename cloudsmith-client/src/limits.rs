//! Cloudsmith's rate-limit headers. Every answer carries `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds) and `X-RateLimit-Interval`
//! (suggested seconds before the next request). The core's retry policy already waits out
//! a 429's `Retry-After`, but it has no hook for headers of a successful answer, so the
//! pacing lives here: when an answer says nothing remains, the client's next request waits
//! until the reset (or the suggested interval) instead of spending a request on a 429.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// How long to wait before the next request, from an answer's rate-limit headers: `None`
/// unless `X-RateLimit-Remaining` is 0; then until `X-RateLimit-Reset`, or for
/// `X-RateLimit-Interval` when no reset is given or it has passed.
///
/// ```
/// use cloudsmith_client::rate_limit_wait;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// let now = UNIX_EPOCH + Duration::from_secs(1_000);
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
/// headers.insert("x-ratelimit-reset", "1003".parse().unwrap());
/// headers.insert("x-ratelimit-interval", "0.5".parse().unwrap());
/// assert_eq!(rate_limit_wait(&headers, now), Some(Duration::from_secs(3)));
/// headers.remove("x-ratelimit-reset");
/// assert_eq!(rate_limit_wait(&headers, now), Some(Duration::from_millis(500)));
/// headers.insert("x-ratelimit-remaining", "12".parse().unwrap());
/// assert_eq!(rate_limit_wait(&headers, now), None);
/// ```
pub fn rate_limit_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|value| value.is_finite() && *value >= 0.0)
    };
    if number("x-ratelimit-remaining")? > 0.0 {
        return None;
    }
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    let until_reset = number("x-ratelimit-reset")
        .map(|reset| reset - now)
        .filter(|wait| *wait > 0.0);
    until_reset
        .or_else(|| number("x-ratelimit-interval"))
        .map(Duration::from_secs_f64)
}

/// The earliest time the client's next request may start. Shared by clones of one client.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    not_before: Mutex<Option<Instant>>,
}

impl Pacer {
    /// Waits until the last answer's limits allow another request.
    pub(crate) async fn wait(&self) {
        let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = until {
            if until > Instant::now() {
                tracing::debug!(
                    wait_ms = (until - Instant::now()).as_millis() as u64,
                    "cloudsmith: waiting for the rate limit to reset"
                );
                tokio::time::sleep_until(until.into()).await;
            }
        }
    }

    /// Records an answer's limits. A wait longer than `max` is not taken here: the next
    /// request then meets the server's 429, whose `Retry-After` the core's policy weighs
    /// against its own bounds (and reports as `RateLimited` when it is too long).
    pub(crate) fn observe(&self, headers: &HeaderMap, max: Duration) {
        let wait = rate_limit_wait(headers, SystemTime::now()).filter(|wait| *wait <= max);
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *not_before = wait.map(|wait| Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_reset_in_the_past_falls_back_to_the_interval() {
        let now = UNIX_EPOCH + Duration::from_secs(5_000);
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "4000"),
            ("x-ratelimit-interval", "1.25"),
        ]);
        assert_eq!(
            rate_limit_wait(&past, now),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(
            rate_limit_wait(&headers(&[("x-ratelimit-remaining", "0")]), now),
            None
        );
        assert_eq!(rate_limit_wait(&headers(&[]), now), None);
        let nonsense = headers(&[
            ("x-ratelimit-remaining", "none"),
            ("x-ratelimit-interval", "3"),
        ]);
        assert_eq!(rate_limit_wait(&nonsense, now), None);
    }

    #[test]
    fn a_wait_longer_than_the_bound_is_left_to_the_server() {
        let pacer = Pacer::default();
        let far = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "3600"),
        ]);
        pacer.observe(&far, Duration::from_secs(60));
        assert!(pacer.not_before.lock().unwrap().is_none());
        let near = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "2"),
        ]);
        pacer.observe(&near, Duration::from_secs(60));
        assert!(pacer.not_before.lock().unwrap().is_some());
        // The next answer with requests left lifts the wait.
        pacer.observe(&headers(&[("x-ratelimit-remaining", "9")]), Duration::MAX);
        assert!(pacer.not_before.lock().unwrap().is_none());
    }
}
