//! The retry policy.
//!
//! Hand-written rather than taken from `reqwest-retry` (which re-sends POSTs and cannot see
//! `Retry-After`) or `backon` (a fine schedule, but the part that matters here is the
//! classification by status, failure kind and idempotency, which would be ours anyway).
//! Modelled on object_store's `client/retry.rs`, plus `Retry-After`.

use std::time::{Duration, Instant, SystemTime};

use http::StatusCode;

use crate::error::{Error, TransportErrorKind};

/// When and how often a request is tried again.
///
/// | failure | idempotent request | other request | [at-most-once](super::RequestBuilder::at_most_once) request |
/// |---|---|---|---|
/// | 429 | retried | retried | retried (refused unprocessed) |
/// | 502, 503, 504 | retried | retried | returned (it may have been processed) |
/// | 500 | retried | returned | returned |
/// | connection refused / not made | retried | retried (it was never sent) | retried |
/// | timeout, connection broken mid-request | retried | returned (it may have been processed) | returned |
///
/// `GET`, `HEAD`, `OPTIONS`, `PUT` and `DELETE` are idempotent unless a request says
/// otherwise. What an at-most-once request returns, the caller reconciles with a read
/// before it tries again ([`may_have_been_processed`], [`RetrySchedule`]). A `Retry-After` header (seconds or HTTP date) sets the wait; one longer than
/// [`max_retry_after`](Self::max_retry_after) or the remaining budget ends the retries, and
/// a 429 then surfaces as [`Error::RateLimited`](crate::Error::RateLimited) with the delay.
/// Up to 20 429s do not use up one of the [`max_attempts`](Self::max_attempts): the
/// server is pacing, not failing; past the attempts each waits at least the backoff and
/// 100 ms ([`none`](Self::none) still retries nothing). Otherwise the wait doubles from [`initial_backoff`](Self::initial_backoff) up to
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

    /// The waits of a retry loop the caller runs itself, under this policy: see
    /// [`RetrySchedule`].
    ///
    /// ```
    /// use pull_through_core::http::RetryConfig;
    /// let mut schedule = RetryConfig::none().schedule();
    /// assert_eq!(schedule.next_wait(), None, "one attempt in all");
    /// ```
    pub fn schedule(&self) -> RetrySchedule {
        RetrySchedule {
            config: self.clone(),
            attempt: 1,
            started: Instant::now(),
        }
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

/// The waits of a retry loop that a caller runs itself, by the same policy as
/// [`HttpClient`](super::HttpClient)'s own: the jittered exponential backoff, at most
/// [`max_attempts`](RetryConfig::max_attempts) attempts in all, no wait that would end
/// past the [`budget`](RetryConfig::budget) (counted from
/// [`RetryConfig::schedule`]). For what the HTTP layer must not repeat blindly: an
/// [at-most-once](super::RequestBuilder::at_most_once) create that failed in a way that
/// [may have been processed](may_have_been_processed) is read back, and only when the
/// read finds nothing is it sent again after [`next_wait`](Self::next_wait).
///
/// ```no_run
/// use pull_through_core::http::{HttpClient, RetryConfig, may_have_been_processed};
/// # async fn example(client: &HttpClient, body: &serde_json::Value) -> Result<(), pull_through_core::Error> {
/// let mut schedule = RetryConfig::default().schedule();
/// loop {
///     let err = match client.post("repos/acme/").json(body).at_most_once().send().await {
///         Ok(_) => return Ok(()),
///         Err(err) => err,
///     };
///     if !may_have_been_processed(&err) {
///         return Err(err);
///     }
///     if client.get("repos/acme/chainguard/").send().await.is_ok() {
///         return Ok(()); // the create went through; its answer was lost
///     }
///     match schedule.next_wait() {
///         Some(wait) => tokio::time::sleep(wait).await,
///         None => return Err(err),
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RetrySchedule {
    config: RetryConfig,
    attempt: u32,
    started: Instant,
}

impl RetrySchedule {
    /// The wait before the next attempt, counting one attempt more; `None` when no
    /// attempt is left or the wait would end past the budget.
    ///
    /// ```
    /// use pull_through_core::http::RetryConfig;
    /// use std::time::Duration;
    /// let mut schedule = RetryConfig::default()
    ///     .with_max_attempts(3)
    ///     .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
    ///     .schedule();
    /// let first = schedule.next_wait().unwrap();
    /// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
    /// assert!(schedule.next_wait().is_some());
    /// assert_eq!(schedule.next_wait(), None, "three attempts in all");
    /// ```
    pub fn next_wait(&mut self) -> Option<Duration> {
        if self.attempt >= self.config.max_attempts {
            return None;
        }
        let wait = self.config.backoff(self.attempt);
        if self.started.elapsed() + wait > self.config.budget {
            return None;
        }
        self.attempt += 1;
        Some(wait)
    }

    /// Which attempt comes next, from 2 after the first wait.
    ///
    /// ```
    /// let schedule = pull_through_core::http::RetryConfig::default().schedule();
    /// assert_eq!(schedule.attempt(), 1);
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// Whether a request that failed with `err` may have been processed by the server all
/// the same: a 5xx answer, or no answer after the request may have reached it (a timeout,
/// a connection broken mid-request). An at-most-once request failing so is read back
/// before it is tried again. A 429, a 4xx, and a connection never made were not
/// processed.
///
/// ```
/// use pull_through_core::{Error, error::ApiError, http::may_have_been_processed};
/// let answer = |status: u16| Error::from_api(ApiError::new("x", http::Method::POST, "https://h/",
///     http::StatusCode::from_u16(status).unwrap(), "m"), None);
/// assert!(may_have_been_processed(&answer(502)));
/// assert!(!may_have_been_processed(&answer(429)));
/// assert!(!may_have_been_processed(&answer(422)));
/// ```
pub fn may_have_been_processed(err: &Error) -> bool {
    match err {
        Error::Transport(transport) => transport.kind != TransportErrorKind::Connect,
        Error::RateLimited { .. } => false,
        _ => err.status().is_some_and(|status| status.is_server_error()),
    }
}

/// How a request may be repeated, from its method, [`idempotent`](super::RequestBuilder::idempotent)
/// and [`at_most_once`](super::RequestBuilder::at_most_once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Safe to send again after any failure.
    Idempotent,
    /// Sent again unless it may have changed something with a 500 or a lost answer.
    Other,
    /// Sent again only when it surely was not processed: a 429, a connection never made.
    AtMostOnce,
}

/// Whether an answer with this status is worth another attempt.
pub(crate) fn retryable_status(status: StatusCode, repeat: Repeat) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS => true,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            repeat != Repeat::AtMostOnce
        }
        StatusCode::INTERNAL_SERVER_ERROR => repeat == Repeat::Idempotent,
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
        use Repeat::*;
        for status in [429, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(retryable_status(status, Other), "{status}");
            assert!(retryable_status(status, Idempotent), "{status}");
        }
        assert!(retryable_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            Idempotent
        ));
        assert!(!retryable_status(StatusCode::INTERNAL_SERVER_ERROR, Other));
        // At most once: only what the server surely did not process.
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS, AtMostOnce));
        for status in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!retryable_status(status, AtMostOnce), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422, 501] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!retryable_status(status, Idempotent), "{status}");
        }
    }

    #[test]
    fn a_schedule_keeps_to_the_attempts_and_the_budget() {
        let config = RetryConfig::default()
            .with_max_attempts(4)
            .with_backoff(Duration::from_millis(100), Duration::from_millis(400));
        let mut schedule = config.schedule();
        let waits: Vec<Duration> = std::iter::from_fn(|| schedule.next_wait()).collect();
        assert_eq!(waits.len(), 3, "four attempts in all");
        for (wait, full) in waits.iter().zip([100, 200, 400]) {
            let full = Duration::from_millis(full);
            assert!(*wait >= full / 2 && *wait <= full, "{wait:?} of {full:?}");
        }
        assert_eq!(schedule.attempt(), 4);
        // No wait that would end past the budget.
        let mut broke = config.with_budget(Duration::from_millis(10)).schedule();
        assert_eq!(broke.next_wait(), None);
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

    async fn post_answered(statuses: &[u16], at_most_once: bool) -> (Result<u16, Error>, usize) {
        let server = wiremock::MockServer::start().await;
        for status in statuses {
            wiremock::Mock::given(wiremock::matchers::method("POST"))
                .respond_with(
                    wiremock::ResponseTemplate::new(*status).insert_header("retry-after", "0"),
                )
                .up_to_n_times(1)
                .mount(&server)
                .await;
        }
        let client = super::super::HttpClient::builder("test", server.uri().parse().unwrap())
            .retry(
                RetryConfig::default()
                    .with_max_attempts(4)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .build()
            .unwrap();
        let mut request = client
            .post("things/")
            .json(&serde_json::json!({"name": "x"}));
        if at_most_once {
            request = request.at_most_once();
        }
        let result = request.send().await.map(|answer| answer.status().as_u16());
        let sent = server.received_requests().await.unwrap_or_default().len();
        (result, sent)
    }

    #[tokio::test]
    async fn an_at_most_once_request_is_repeated_only_when_surely_unprocessed() {
        for status in [502, 503, 504, 500] {
            let (result, sent) = post_answered(&[status, 201], true).await;
            let err = result.unwrap_err();
            assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
            assert!(may_have_been_processed(&err), "{status}");
            assert_eq!(sent, 1, "{status} must not be sent again");
        }
        // A plain POST is sent again after a 502, 503 or 504.
        let (result, sent) = post_answered(&[503, 201], false).await;
        assert_eq!((result.unwrap(), sent), (201, 2));
        // Throttled is not processed: sent again after Retry-After.
        let (result, sent) = post_answered(&[429, 201], true).await;
        assert_eq!((result.unwrap(), sent), (201, 2));
    }

    #[tokio::test]
    async fn an_at_most_once_request_whose_answer_is_late_is_not_sent_again() {
        let server = wiremock::MockServer::start().await;
        // The server takes the request and answers too late: it may have made the thing.
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let client = super::super::HttpClient::builder("test", server.uri().parse().unwrap())
            .request_timeout(Duration::from_millis(200))
            .retry(
                RetryConfig::default()
                    .with_max_attempts(4)
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .build()
            .unwrap();
        let err = client
            .post("things/")
            .json(&serde_json::json!({"name": "x"}))
            .at_most_once()
            .send()
            .await
            .unwrap_err();
        assert!(may_have_been_processed(&err), "{err}");
        assert_eq!(
            server.received_requests().await.unwrap_or_default().len(),
            1,
            "a timed-out create is read back by the caller, never sent again blindly"
        );
    }
}
