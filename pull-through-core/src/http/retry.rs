//! The retry policy.
//!
//! Hand-written rather than taken from `reqwest-retry` (which re-sends POSTs and cannot see
//! `Retry-After`) or `backon` (a fine schedule, but the part that matters here is the
//! classification by status, failure kind and idempotency, which would be ours anyway).
//! Modelled on object_store's `client/retry.rs`, plus `Retry-After`.

use std::time::{Duration, SystemTime};

use http::StatusCode;

/// When and how often a request is tried again.
///
/// | failure | idempotent request | other request |
/// |---|---|---|
/// | 429, 502, 503, 504 | retried | retried |
/// | 500 | retried | returned |
/// | connection refused / not made | retried | retried (it was never sent) |
/// | timeout, connection broken mid-request | retried | returned (it may have been processed) |
///
/// `GET`, `HEAD`, `OPTIONS`, `PUT` and `DELETE` are idempotent unless a request says
/// otherwise. A `Retry-After` header (seconds or HTTP date) sets the wait; one longer than
/// [`max_retry_after`](Self::max_retry_after) or the remaining budget ends the retries, and
/// a 429 then surfaces as [`Error::RateLimited`](crate::Error::RateLimited) with the delay.
/// Otherwise the wait doubles from [`initial_backoff`](Self::initial_backoff) up to
/// [`max_backoff`](Self::max_backoff), with jitter between half and all of it.
///
/// ```
/// use pull_through_core::http::RetryConfig;
/// use std::time::Duration;
///
/// let quick = RetryConfig::default()
///     .with_max_attempts(3)
///     .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
///     .with_budget(Duration::from_secs(2));
/// assert_eq!(quick.max_attempts, 3);
/// assert_eq!(RetryConfig::none().max_attempts, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts in all, the first included. Default 5.
    pub max_attempts: u32,
    /// The first backoff. Default 200 ms.
    pub initial_backoff: Duration,
    /// The longest backoff. Default 10 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` that is waited for. Default 60 s.
    pub max_retry_after: Duration,
    /// The most time all attempts and waits of one request may take; no wait starts that
    /// would end past it. Default 120 s.
    pub budget: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            budget: Duration::from_secs(120),
        }
    }
}

impl RetryConfig {
    /// One attempt, no retries.
    ///
    /// ```
    /// # use pull_through_core::http::RetryConfig;
    /// assert_eq!(RetryConfig::none().max_attempts, 1);
    /// ```
    pub fn none() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    ///
    /// ```
    /// # use pull_through_core::http::RetryConfig;
    /// assert_eq!(RetryConfig::default().with_max_attempts(0).max_attempts, 1);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the longest backoff.
    ///
    /// ```
    /// # use pull_through_core::http::RetryConfig;
    /// # use std::time::Duration;
    /// let config = RetryConfig::default().with_backoff(Duration::from_millis(50), Duration::from_secs(2));
    /// assert_eq!(config.max_backoff, Duration::from_secs(2));
    /// ```
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the longest `Retry-After` waited for.
    ///
    /// ```
    /// # use pull_through_core::http::RetryConfig;
    /// # use std::time::Duration;
    /// let patient = RetryConfig::default().with_max_retry_after(Duration::from_secs(300));
    /// assert_eq!(patient.max_retry_after.as_secs(), 300);
    /// ```
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Sets the total time budget of one request.
    ///
    /// ```
    /// # use pull_through_core::http::RetryConfig;
    /// # use std::time::Duration;
    /// let config = RetryConfig::default().with_budget(Duration::from_secs(10));
    /// assert_eq!(config.budget.as_secs(), 10);
    /// ```
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The jittered backoff before attempt `attempt + 1`, for `attempt` >= 1.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }
}

/// Whether an answer with this status is worth another attempt.
pub(crate) fn retryable_status(status: StatusCode, idempotent: bool) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => true,
        StatusCode::INTERNAL_SERVER_ERROR => idempotent,
        _ => false,
    }
}

/// Parses `Retry-After` in either form RFC 9110 allows: delay-seconds or an HTTP date.
/// A date in the past means "now".
///
/// ```
/// use pull_through_core::http::parse_retry_after;
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
/// assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:02 GMT", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        for status in [429, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(retryable_status(status, false), "{status}");
            assert!(retryable_status(status, true), "{status}");
        }
        assert!(retryable_status(StatusCode::INTERNAL_SERVER_ERROR, true));
        assert!(!retryable_status(StatusCode::INTERNAL_SERVER_ERROR, false));
        for status in [400, 401, 403, 404, 409, 422, 501] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!retryable_status(status, true), "{status}");
        }
    }

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let config = RetryConfig::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1000));
        for _ in 0..200 {
            let first = config.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = config.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = config.backoff(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
