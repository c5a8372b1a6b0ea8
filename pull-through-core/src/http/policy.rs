//! The transport policy's redirect rule, [`check_redirect`]; the rules as a whole are
//! documented on the `http` module ("Transport policy"), where users see them.

use std::fmt;

use http::Method;
use url::Url;

use crate::redact::redact_url;

/// How many redirects a credential-free request follows before giving up.
///
/// ```
/// assert_eq!(pull_through_core::http::MAX_REDIRECTS, 10);
/// ```
pub const MAX_REDIRECTS: usize = 10;

/// Why a redirect was not followed. See the [transport policy](crate::http#transport-policy) for the rules.
///
/// ```
/// use pull_through_core::http::RedirectReason;
/// assert!(RedirectReason::Credentials.to_string().contains("carries credentials"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedirectReason {
    /// The request carries credentials (a secret header, URL userinfo or a sensitive
    /// body); such requests follow no redirect.
    Credentials,
    /// The redirect leaves `https` for plain `http`.
    Downgrade,
    /// The redirect points at something other than an `http` or `https` URL.
    NotHttp,
    /// The request is not a `GET` or `HEAD` without a body; it is never re-sent elsewhere.
    NotRepeatable,
    /// More than [`MAX_REDIRECTS`] redirects in a row.
    TooMany,
    /// The client was built with
    /// [`follow_redirects(false)`](super::HttpClientBuilder::follow_redirects).
    Disabled,
}

impl fmt::Display for RedirectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectReason::Credentials => {
                "the request carries credentials (an Authorization or other secret header, URL \
                 userinfo, or a body marked sensitive), and such requests follow no redirect, \
                 so that the credentials reach only the URL they were sent to; if the new \
                 location is the server you mean, configure its URL instead"
            }
            RedirectReason::Downgrade => {
                "it leaves https for plain http, where the answer could be read and changed on \
                 the way"
            }
            RedirectReason::NotHttp => "only http and https locations are followed",
            RedirectReason::NotRepeatable => {
                "only GET and HEAD requests without a body follow redirects; other requests are \
                 never re-sent elsewhere"
            }
            RedirectReason::TooMany => {
                return write!(f, "more than {MAX_REDIRECTS} redirects in a row");
            }
            RedirectReason::Disabled => "this client is built to follow no redirects",
        })
    }
}

/// A redirect that was not followed: the origin that answered, the origin it pointed at
/// (both without userinfo, path or query), the location without userinfo or query, and
/// why.
///
/// [`RequestBuilder::send_raw`](super::RequestBuilder::send_raw) returns the redirect
/// answer with this attached ([`Response::redirect_refusal`](super::Response::redirect_refusal));
/// [`RequestBuilder::send`](super::RequestBuilder::send) turns it into an
/// [`Error::Api`](crate::Error::Api) whose status is the redirect's and whose message is
/// this refusal's text.
///
/// ```
/// use http::Method;
/// use pull_through_core::http::{RedirectReason, check_redirect};
/// let from = "http://127.0.0.1:8081/api/repositories/x".parse().unwrap();
/// let to = "http://127.0.0.1:9999/collect".parse().unwrap();
/// let refusal = check_redirect(&from, &to, &Method::PUT, true, true).unwrap_err();
/// assert_eq!(refusal.reason, RedirectReason::Credentials);
/// assert!(refusal.to_string().starts_with(
///     "refusing to follow a redirect from http://127.0.0.1:8081 to http://127.0.0.1:9999 \
///      (it pointed at http://127.0.0.1:9999/collect): the request carries credentials"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to follow a redirect from {from} to {to} (it pointed at {location}): {reason}")]
#[non_exhaustive]
pub struct RedirectRefusal {
    /// The origin (`scheme://host[:port]`) of the URL that answered with the redirect.
    pub from: String,
    /// The origin the redirect pointed at.
    pub to: String,
    /// Where the redirect pointed, without userinfo or query.
    pub location: String,
    /// Why it was not followed.
    pub reason: RedirectReason,
}

impl RedirectRefusal {
    pub(crate) fn new(from: &Url, to: &Url, reason: RedirectReason) -> RedirectRefusal {
        RedirectRefusal {
            from: origin(from),
            to: origin(to),
            location: redact_url(to),
            reason,
        }
    }
}

/// `scheme://host[:port]`, never userinfo; the redacted URL for the odd URL without a
/// tuple origin.
fn origin(url: &Url) -> String {
    match url.origin() {
        origin @ url::Origin::Tuple(..) => origin.ascii_serialization(),
        url::Origin::Opaque(_) => redact_url(url),
    }
}

/// Whether a request may follow a redirect from `from` to `to`, by the rules of the
/// [transport policy](crate::http#transport-policy): never with credentials (`carries_credentials`: a secret
/// header, URL userinfo or a sensitive body) or a body, only for `GET` and `HEAD`, only to
/// `http(s)`, never from `https` to `http`. [`HttpClient`](super::HttpClient) calls it for
/// every hop; the hop limit ([`MAX_REDIRECTS`]) and
/// [`follow_redirects(false)`](super::HttpClientBuilder::follow_redirects) are the
/// client's own.
///
/// # Errors
///
/// A [`RedirectRefusal`] naming both origins and the [`RedirectReason`]. A downgrade to
/// plain `http` is reported as such even when the request also carries credentials.
///
/// ```
/// use http::Method;
/// use pull_through_core::http::{RedirectReason, check_redirect};
/// let public = "https://packages.wolfi.dev/os/x86_64/APKINDEX.tar.gz".parse().unwrap();
/// let cdn = "https://storage.example.net/blob/abc".parse().unwrap();
/// assert!(check_redirect(&public, &cdn, &Method::GET, false, false).is_ok());
/// // The same hop with credentials is refused, and so is a downgrade without any.
/// let refusal = check_redirect(&public, &cdn, &Method::GET, true, false).unwrap_err();
/// assert_eq!(refusal.reason, RedirectReason::Credentials);
/// let plain = "http://storage.example.net/blob/abc".parse().unwrap();
/// let refusal = check_redirect(&public, &plain, &Method::GET, false, false).unwrap_err();
/// assert_eq!(refusal.reason, RedirectReason::Downgrade);
/// ```
pub fn check_redirect(
    from: &Url,
    to: &Url,
    method: &Method,
    carries_credentials: bool,
    has_body: bool,
) -> Result<(), RedirectRefusal> {
    let refuse = |reason| Err(RedirectRefusal::new(from, to, reason));
    if !matches!(to.scheme(), "http" | "https") || to.host().is_none() {
        return refuse(RedirectReason::NotHttp);
    }
    if from.scheme() == "https" && to.scheme() != "https" {
        return refuse(RedirectReason::Downgrade);
    }
    if carries_credentials {
        return refuse(RedirectReason::Credentials);
    }
    if has_body || !matches!(*method, Method::GET | Method::HEAD) {
        return refuse(RedirectReason::NotRepeatable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        text.parse().unwrap()
    }

    #[test]
    fn origins_carry_no_userinfo_path_or_query() {
        let refusal = check_redirect(
            &url("https://admin:pw@example.jfrog.io:8443/a?token=t"),
            &url("http://u:p@192.0.2.2/collect?session=s#f"),
            &Method::GET,
            false,
            false,
        )
        .unwrap_err();
        assert_eq!(refusal.from, "https://example.jfrog.io:8443");
        assert_eq!(refusal.to, "http://192.0.2.2");
        assert_eq!(refusal.location, "http://192.0.2.2/collect");
        let text = refusal.to_string();
        for hidden in ["pw", "token=", "session", ":p@", "#f"] {
            assert!(!text.contains(hidden), "{text}");
        }
    }

    #[test]
    fn the_rules() {
        let get = &Method::GET;
        let https = url("https://a.example/x");
        let http = url("http://a.example/x");
        let reason = |from: &Url, to: &str, method: &Method, creds: bool, body: bool| {
            check_redirect(from, &url(to), method, creds, body)
                .err()
                .map(|r| r.reason)
        };
        assert_eq!(
            reason(&https, "https://b.example/", get, false, false),
            None
        );
        assert_eq!(reason(&http, "https://b.example/", get, false, false), None);
        assert_eq!(reason(&http, "http://b.example/", get, false, false), None);
        assert_eq!(
            reason(&https, "http://a.example/", get, false, false),
            Some(RedirectReason::Downgrade)
        );
        assert_eq!(
            reason(&https, "http://127.0.0.1/", get, true, false),
            Some(RedirectReason::Downgrade)
        );
        assert_eq!(
            reason(&https, "https://a.example/y", get, true, false),
            Some(RedirectReason::Credentials)
        );
        assert_eq!(
            reason(&https, "https://a.example/y", &Method::HEAD, false, false),
            None
        );
        assert_eq!(
            reason(&https, "https://a.example/y", &Method::POST, false, false),
            Some(RedirectReason::NotRepeatable)
        );
        assert_eq!(
            reason(&https, "https://a.example/y", get, false, true),
            Some(RedirectReason::NotRepeatable)
        );
        assert_eq!(
            reason(&https, "file:///etc/passwd", get, false, false),
            Some(RedirectReason::NotHttp)
        );
    }
}
