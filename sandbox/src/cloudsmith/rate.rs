//! Who is calling the API, and how often: the API-key check every route but the status
//! check and `/user/self/` needs, and the rate limit whose `X-RateLimit-*` headers every
//! answer carries.
//!
//! The key is read from `X-Api-Key` (what the spec's `apikey` scheme, the CLI and the
//! docs use) and from `Authorization: token <key>`, the other form the API docs give for
//! API keys. `Authorization: Bearer` (the docs' form for SSO and OIDC tokens, not API keys)
//! and Basic are not read as an API key: a request carrying only those presents none, so a
//! client that sends the key another way is caught here rather than by the live service.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::Fake;
use super::envelope::detail;
use crate::rate_limit::Throttle;

/// The limit the headers show when no rate is set: the Core plan's 5,400 an hour.
const DEFAULT_LIMIT: u32 = 5400;
const DEFAULT_PERIOD: Duration = Duration::from_secs(3600);

/// One caller's current window.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    started: Instant,
    reset_epoch: u64,
    used: u32,
}

impl Window {
    fn new(period: Duration) -> Window {
        let reset = SystemTime::now() + period;
        let reset_epoch = reset.duration_since(UNIX_EPOCH).map_or(0, |since| {
            since.as_secs() + u64::from(since.subsec_nanos() > 0)
        });
        Window {
            started: Instant::now(),
            reset_epoch,
            used: 0,
        }
    }
}

/// What the caller has left, and whether this request is throttled.
struct Quota {
    limit: u32,
    remaining: u32,
    reset_epoch: u64,
    interval: f64,
    /// Seconds to wait, when throttled.
    retry_after: Option<u64>,
}

/// Whether the request was made with the API key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub(crate) authenticated: bool,
}

/// The API key a request presents: `X-Api-Key`, or `Authorization: token <key>`.
fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return (!key.trim().is_empty()).then(|| key.trim().to_owned());
    }
    let authorization = headers.get("authorization")?.to_str().ok()?;
    authorization
        .strip_prefix("token ")
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
}

/// Counts the request against `who`'s window.
fn account(fake: &Fake, who: &str) -> Quota {
    let (limit, period, enforced) = match fake.rate() {
        Some((limit, period)) => (limit, period, true),
        None => (DEFAULT_LIMIT, DEFAULT_PERIOD, false),
    };
    let mut state = fake.lock();
    let window = state
        .windows
        .entry(who.to_owned())
        .or_insert_with(|| Window::new(period));
    if window.started.elapsed() >= period {
        *window = Window::new(period);
    }
    let left = period.saturating_sub(window.started.elapsed());
    if enforced && window.used >= limit {
        let wait = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        return Quota {
            limit,
            remaining: 0,
            reset_epoch: window.reset_epoch,
            interval: left.as_secs_f64(),
            retry_after: Some(wait.max(1)),
        };
    }
    window.used += 1;
    let remaining = limit.saturating_sub(window.used);
    Quota {
        limit,
        remaining,
        reset_epoch: window.reset_epoch,
        // The CLI sleeps this long after every call: nothing while calls remain, the rest
        // of the window once they are spent.
        interval: if remaining == 0 && enforced {
            left.as_secs_f64()
        } else {
            0.0
        },
        retry_after: None,
    }
}

/// The layer in front of every API route: counts the request, answers 429 past the
/// rate, 401 for a wrong key (anywhere) or a missing one (where one is needed), and
/// puts the `X-RateLimit-*` headers on whatever is answered.
pub(crate) async fn authenticate(
    State(fake): State<Arc<Fake>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let presented = presented(request.headers());
    let valid = presented.as_ref().map(|key| *key == fake.api_key);
    // Each key has its own window; anonymous callers share one (the real API counts
    // them by address, and every sandbox caller is on loopback).
    let who = if valid == Some(true) {
        "key"
    } else {
        "anonymous"
    };
    let quota = account(&fake, who);
    let path = request.uri().path();
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let open = matches!(path, "/status/check/basic/" | "/user/self/");
    let mut answer = if let Some(wait) = quota.retry_after {
        throttled_detail(wait)
    } else {
        match valid {
            Some(false) => detail(StatusCode::UNAUTHORIZED, "Invalid token."),
            None if !open => detail(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.",
            ),
            _ => {
                request.extensions_mut().insert(Caller {
                    authenticated: valid == Some(true),
                });
                next.run(request).await
            }
        }
    };
    quota.mark(&mut answer);
    answer
}

/// Cloudsmith's 429 (reference/cloudsmith.md §4): the `detail` envelope and
/// `Retry-After`, which Cloudsmith documents.
fn throttled_detail(wait: u64) -> Response {
    let unit = if wait == 1 { "second" } else { "seconds" };
    let mut throttled = detail(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Request was throttled. Expected available in {wait} {unit}."),
    );
    throttled
        .headers_mut()
        .insert("retry-after", HeaderValue::from(wait));
    throttled
}

impl Quota {
    /// Puts the `X-RateLimit-*` headers on an answer.
    fn mark(&self, answer: &mut Response) {
        let headers = answer.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_epoch));
        if let Ok(value) = HeaderValue::from_str(&format!("{:.3}", self.interval)) {
            headers.insert("x-ratelimit-interval", value);
        }
    }
}

/// The answer to a request past the sandbox-wide rate limit, as Cloudsmith's own limiter
/// answers past its window: the 429 with `Retry-After`, and the `X-RateLimit-*` headers
/// every answer carries, saying none are left until the wait is over. The limit is the
/// sandbox's rate in requests per hour, the unit Cloudsmith's header counts in.
pub(crate) fn throttled(throttle: &Throttle) -> Response {
    let wait = throttle.retry_after_secs;
    let per_hour = (throttle.per_second * 3600.0).floor();
    let limit = if per_hour >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In range and not NaN (the builder refuses a rate that is not positive).
        (per_hour as u32).max(1)
    };
    let reset = SystemTime::now() + Duration::from_secs(wait);
    let quota = Quota {
        limit,
        remaining: 0,
        reset_epoch: reset
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
        interval: wait as f64,
        retry_after: Some(wait),
    };
    let mut answer = throttled_detail(wait);
    quota.mark(&mut answer);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_wide_limit_answers_like_cloudsmith_s_own() {
        let answer = throttled(&Throttle::new(3, 0.5));
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        let header = |name: &str| answer.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("retry-after"), "3");
        assert_eq!(header("x-ratelimit-limit"), "1800");
        assert_eq!(header("x-ratelimit-remaining"), "0");
        assert_eq!(header("x-ratelimit-interval"), "3.000");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let reset: u64 = header("x-ratelimit-reset").parse().unwrap();
        // Three seconds from when the answer was made, which is no later than `now`.
        assert!(
            reset <= now + 3 && reset + 60 >= now + 3,
            "{reset} vs {now}"
        );
        // A tiny rate still names a limit of at least one an hour.
        let tiny = throttled(&Throttle::new(3600, 1e-300));
        assert_eq!(tiny.headers()["x-ratelimit-limit"], "1");
    }

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_key_is_read_from_each_documented_form() {
        assert_eq!(presented(&HeaderMap::new()), None);
        assert_eq!(presented(&with("x-api-key", "k1")), Some("k1".to_owned()));
        assert_eq!(presented(&with("x-api-key", " ")), None);
        assert_eq!(
            presented(&with("authorization", "token k2")),
            Some("k2".to_owned())
        );
        // Not the documented forms for an API key.
        assert_eq!(presented(&with("authorization", "Bearer k3")), None);
        // "sandbox-user:k4"
        assert_eq!(
            presented(&with("authorization", "Basic c2FuZGJveC11c2VyOms0")),
            None
        );
    }
}
