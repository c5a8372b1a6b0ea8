//! Pacing by rate-limit headers: `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch
//! seconds) and `X-RateLimit-Interval` (suggested seconds before the next request), as
//! Cloudsmith sends them on every answer (GitHub and others send the first two). A 429's
//! `Retry-After` is the retry policy's; these headers tell, on a *successful* answer, that
//! the next request would be throttled, so a client built with
//! [`pace_rate_limits`](super::HttpClientBuilder::pace_rate_limits) waits before it
//! instead of spending a request on a 429.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// The longest wait [`rate_limit_wait`] reports. Rate-limit windows are an hour long
/// (Cloudsmith's, GitHub's), so a reset further away is the server's mistake, and must
/// become neither an endless sleep nor a panic.
///
/// ```
/// assert_eq!(pull_through_core::http::MAX_RATE_LIMIT_WAIT.as_secs(), 3600);
/// ```
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// How long to wait before the next request, from an answer's rate-limit headers: `None`
/// unless `X-RateLimit-Remaining` is 0; then until `X-RateLimit-Reset`, or for
/// `X-RateLimit-Interval` when no reset is given or it has passed. Values that are not
/// finite non-negative numbers are ignored, and no wait is longer than
/// [`MAX_RATE_LIMIT_WAIT`].
///
/// ```
/// use pull_through_core::http::rate_limit_wait;
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
    // `from_secs_f64` panics past `Duration::MAX` (a reset of 1e300): the checked form.
    Some(
        Duration::try_from_secs_f64(seconds)
            .unwrap_or(MAX_RATE_LIMIT_WAIT)
            .min(MAX_RATE_LIMIT_WAIT),
    )
}

/// The earliest time a client's next request may start, and how far apart requests go
/// while the server says none are left. Shared by clones of one client.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<PaceState>,
}

#[derive(Debug, Default)]
struct PaceState {
    not_before: Option<Instant>,
    /// While the last word was "none left": the wait each request that goes takes from
    /// the ones behind it, so that waiters leave one at a time instead of together.
    spacing: Option<Duration>,
}

impl Pacer {
    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long until the limits allow another request.
    pub(crate) fn remaining(&self) -> Duration {
        let until = self.state().not_before;
        until.map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    /// Waits until the limits allow another request, and takes the slot: while the server
    /// says no requests are left, the next waiter is held one spacing further, so that
    /// concurrent requests of one client go one at a time when the window opens rather
    /// than all at once (and all but one into a 429).
    pub(crate) async fn wait(&self, vendor: &str) {
        loop {
            let wait = {
                let mut state = self.state();
                let now = Instant::now();
                match state.not_before {
                    Some(until) if until > now => until - now,
                    _ => {
                        if let Some(spacing) = state.spacing {
                            state.not_before = Some(now + spacing);
                        }
                        return;
                    }
                }
            };
            tracing::debug!(
                vendor,
                wait_ms = wait.as_millis() as u64,
                "waiting for the rate limit to reset"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds every request back for `wait` from now (a 429's `Retry-After`), unless a
    /// longer hold is already set.
    pub(crate) fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state();
        state.not_before = Some(state.not_before.map_or(until, |set| set.max(until)));
    }

    /// Records an answer's limits: while none are left, the next request waits what
    /// [`rate_limit_wait`] says, plus up to a tenth more (jitter, so that clients sharing
    /// a key do not all return at the reset's instant). A wait already set is never
    /// shortened: with requests in flight, the answer to an earlier one can arrive after
    /// the answer that said none were left. An answer with requests left only ends the
    /// spacing; the wait set before runs out on its own. A wait longer than `max` is not
    /// taken: the next request then meets the server's 429, whose `Retry-After` the retry
    /// policy weighs against its own bounds (and reports as `RateLimited` when it is too
    /// long).
    pub(crate) fn observe(&self, headers: &HeaderMap, max: Duration) {
        let wait = pace(headers, SystemTime::now(), max);
        let mut state = self.state();
        match wait {
            Some(wait) => {
                let until = Instant::now() + wait;
                state.not_before = Some(state.not_before.map_or(until, |set| set.max(until)));
                state.spacing = Some(wait);
            }
            None => state.spacing = None,
        }
    }
}

/// The wait [`Pacer::observe`] records: the headers' wait with its jitter, `None` past
/// `max`.
fn pace(headers: &HeaderMap, now: SystemTime, max: Duration) -> Option<Duration> {
    rate_limit_wait(headers, now)
        .filter(|wait| *wait <= max)
        .map(|wait| wait + jitter(wait / 10))
}

fn jitter(spread: Duration) -> Duration {
    let spread = u64::try_from(spread.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=spread))
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
        let huge = format!("1{}", "0".repeat(308));
        for (reset, interval) in [
            ("1e300", "1e300"),
            ("NaN", "NaN"),
            ("-1", "-5"),
            ("inf", "inf"),
            ("soon", "later"),
            (huge.as_str(), "1"),
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
            Pacer::default().observe(&hostile, Duration::from_secs(60));
        }
        let far = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1e300"),
        ]);
        assert_eq!(rate_limit_wait(&far, now), Some(MAX_RATE_LIMIT_WAIT));
    }

    #[test]
    fn a_wait_longer_than_the_bound_is_left_to_the_server() {
        let now = SystemTime::now();
        let pacer = Pacer::default();
        let far = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "3600"),
        ]);
        assert_eq!(pace(&far, now, Duration::from_secs(60)), None);
        pacer.observe(&far, Duration::from_secs(60));
        assert_eq!(pacer.remaining(), Duration::ZERO);
        let near = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "20"),
        ]);
        // At least the interval, at most a tenth more.
        for _ in 0..200 {
            let wait = pace(&near, now, Duration::from_secs(60)).unwrap();
            assert!(
                wait >= Duration::from_secs(20) && wait <= Duration::from_secs(22),
                "{wait:?}"
            );
        }
        pacer.observe(&near, Duration::from_secs(60));
        let set = pacer.remaining();
        assert!(set >= Duration::from_secs(19), "{set:?}");
        // An answer with requests left may be the answer to an earlier request, arriving
        // late: it does not shorten the wait.
        pacer.observe(&headers(&[("x-ratelimit-remaining", "9")]), Duration::MAX);
        assert!(pacer.remaining() >= Duration::from_secs(19));
        // Nor does a shorter wait.
        let sooner = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "1"),
        ]);
        pacer.observe(&sooner, Duration::from_secs(60));
        assert!(pacer.remaining() >= Duration::from_secs(19));
    }

    #[tokio::test]
    async fn a_request_that_goes_holds_the_next_one_back_while_none_are_left() {
        let pacer = Pacer::default();
        let none_left = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-interval", "0.05"),
        ]);
        pacer.observe(&none_left, Duration::from_secs(60));
        pacer.wait("test").await;
        // The slot is taken: a concurrent request waits another spacing.
        assert!(!pacer.remaining().is_zero());
        // Requests left: the spacing ends; the wait set before still runs out.
        pacer.observe(&headers(&[("x-ratelimit-remaining", "9")]), Duration::MAX);
        pacer.wait("test").await;
        assert_eq!(pacer.remaining(), Duration::ZERO);
    }

    /// A server that keeps to its own interval: a request arriving sooner than the
    /// interval after the previous answer gets 429, as a rate-limited API answers it.
    struct Strict {
        interval: Duration,
        last: Mutex<Option<Instant>>,
    }

    impl wiremock::Respond for Strict {
        fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
            let mut last = self.last.lock().unwrap();
            let early = last.is_some_and(|at| at.elapsed() < self.interval);
            *last = Some(Instant::now());
            let status = if early { 429 } else { 200 };
            wiremock::ResponseTemplate::new(status)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header(
                    "x-ratelimit-interval",
                    format!("{}", self.interval.as_secs_f64()).as_str(),
                )
        }
    }

    async fn two_requests(pace: bool) -> Result<(), crate::Error> {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(Strict {
                // Long enough that two loopback requests of an unpaced client always
                // arrive within it, on a loaded machine too.
                interval: Duration::from_secs(2),
                last: Mutex::new(None),
            })
            .mount(&server)
            .await;
        // No retries: a 429 fails the request instead of being waited out.
        let client = super::super::HttpClient::builder("test", server.uri().parse().unwrap())
            .retry(super::super::RetryConfig::none())
            .pace_rate_limits(pace)
            .build()
            .unwrap();
        for _ in 0..2 {
            client.get("thing").send().await?;
        }
        Ok(())
    }

    /// The first request to `/first` gets 429 with `Retry-After: 2`; every other
    /// request succeeds.
    async fn one_429_server() -> wiremock::MockServer {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/first"))
            .respond_with(wiremock::ResponseTemplate::new(429).insert_header("retry-after", "2"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn a_429_holds_every_request_of_the_client_not_only_its_own() {
        let server = one_429_server().await;
        let client = super::super::HttpClient::builder("test", server.uri().parse().unwrap())
            .build()
            .unwrap();
        let first = tokio::spawn({
            let client = client.clone();
            async move { client.get("first").send().await.map(|r| r.status()) }
        });
        while server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Give the 429 time to arrive, then send another request: it must wait out the
        // same Retry-After instead of going now.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = tokio::spawn({
            let client = client.clone();
            async move { client.get("second").send().await.map(|r| r.status()) }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let paths: Vec<String> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect();
        assert_eq!(paths, ["/first"], "the second request went during the hold");
        assert_eq!(first.await.unwrap().unwrap(), http::StatusCode::OK);
        assert_eq!(second.await.unwrap().unwrap(), http::StatusCode::OK);
        let paths: Vec<String> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect();
        assert_eq!(paths.len(), 3, "{paths:?}");
    }

    #[tokio::test]
    async fn a_paced_client_never_arrives_before_the_interval() {
        two_requests(true).await.unwrap();
        // The same server refuses an unpaced client: the test can fail.
        let err = two_requests(false).await.unwrap_err();
        assert_eq!(err.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    }
}
