//! Small pieces more than one fake needs: request credentials, the registry error
//! envelope, random ids. Each fake keeps its own vendor's envelopes and checks.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

/// `bytes` random bytes as lower-case hex: ids, key names, token signatures.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    let _ = SystemRandom::new().fill(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Docker registry API's error envelope (`{"errors": [{"code", "message"}]}`), which
/// `cgr.dev` and every cache's registry endpoint answer with.
pub(crate) fn docker_errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

/// 429 `TOOMANYREQUESTS` in the registry envelope, as the distribution spec writes a
/// registry's rate limit. No `Retry-After`: neither the spec nor the registries the fakes
/// stand for (`cgr.dev`, `LOCATION-docker.pkg.dev`, `docker.cloudsmith.io`) document one.
pub(crate) fn docker_throttled(throttle: &crate::rate_limit::Throttle) -> Response {
    docker_errors(
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        &format!(
            "too many requests; retry in {} s",
            throttle.retry_after_secs
        ),
    )
}

/// 401 `UNAUTHORIZED` in the registry envelope with the challenge a Docker client follows
/// to get a token: `Bearer realm="<realm>",service="<service>"`, and
/// `,scope="repository:<scope>:pull"` when a repository was asked for.
pub(crate) fn bearer_challenge(realm: &str, service: &str, scope: Option<&str>) -> Response {
    let mut value = format!(r#"Bearer realm="{realm}",service="{service}""#);
    if let Some(scope) = scope {
        value.push_str(&format!(r#",scope="repository:{scope}:pull""#));
    }
    let mut answer = docker_errors(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        answer.headers_mut().insert("www-authenticate", value);
    }
    answer
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The user and password of an `Authorization: Basic` header; the password may hold
/// colons, the user may not (RFC 7617).
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::prelude::BASE64_STANDARD.decode(encoded).ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    let (user, password) = pair.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn basic_splits_at_the_first_colon() {
        // "user:pa:ss"
        let headers = with_authorization("Basic dXNlcjpwYTpzcw==");
        assert_eq!(
            basic(&headers),
            Some(("user".to_owned(), "pa:ss".to_owned()))
        );
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn bearer_reads_the_token() {
        let headers = with_authorization("Bearer abc");
        assert_eq!(bearer(&headers), Some("abc"));
        assert_eq!(basic(&headers), None);
    }

    #[test]
    fn a_bearer_challenge_names_realm_service_and_scope() {
        let answer = bearer_challenge("http://h/token", "cgr.dev", Some("chainguard/go"));
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.headers()["www-authenticate"],
            r#"Bearer realm="http://h/token",service="cgr.dev",scope="repository:chainguard/go:pull""#
        );
        let base = bearer_challenge("http://h/v2/token", "h", None);
        assert_eq!(
            base.headers()["www-authenticate"],
            r#"Bearer realm="http://h/v2/token",service="h""#
        );
    }

    #[test]
    fn random_hex_has_two_digits_a_byte() {
        let id = random_hex(20);
        assert_eq!(id.len(), 40);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
