//! Cloudsmith's rate-limit headers. Every answer carries `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds) and `X-RateLimit-Interval`
//! (suggested seconds before the next request). The core's retry policy already waits out
//! a 429's `Retry-After`, but it has no hook for headers of a successful answer, so the
//! pacing lives here: when an answer says nothing remains, the client's next request waits
//! until the reset (or the suggested interval) instead of spending a request on a 429.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// The longest wait the headers can ask for: Cloudsmith's limits are per hour, so a reset
/// is never further away than that. Anything longer (or not a number) is the server's
/// mistake, and must not become an endless sleep or a panic.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// How long to wait before the next request, from an answer's rate-limit headers: `None`
/// unless `X-RateLimit-Remaining` is 0; then until `X-RateLimit-Reset`, or for
/// `X-RateLimit-Interval` when no reset is given or it has passed. Values that are not
/// finite non-negative numbers are ignored; a wait is never longer than an hour (the
/// limits' period).
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
    let seconds = until_reset.or_else(|| number("x-ratelimit-interval"))?;
    // `from_secs_f64` panics past `Duration::MAX` (a reset of 1e300): the checked form,
    // capped at the longest wait a reset can honestly ask for.
    Some(
        Duration::try_from_secs_f64(seconds)
            .unwrap_or(MAX_RATE_LIMIT_WAIT)
            .min(MAX_RATE_LIMIT_WAIT),
    )
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
    fn hostile_values_neither_panic_nor_wait_without_bound() {
        let now = UNIX_EPOCH + Duration::from_secs(5_000);
        for (reset, interval) in [
            ("1e300", "1e300"),
            ("NaN", "NaN"),
            ("-1", "-5"),
            ("inf", "inf"),
            ("soon", "later"),
            (
                "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
                "1",
            ),
        ] {
            let hostile = headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", reset),
                ("x-ratelimit-interval", interval),
            ]);
            let wait = rate_limit_wait(&hostile, now);
            assert!(
                wait.is_none_or(|wait| wait <= MAX_RATE_LIMIT_WAIT),
                "{reset} {interval}: {wait:?}"
            );
            let pacer = Pacer::default();
            pacer.observe(&hostile, Duration::from_secs(60));
        }
        let huge = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1e300"),
        ]);
        assert_eq!(rate_limit_wait(&huge, now), Some(MAX_RATE_LIMIT_WAIT));
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
