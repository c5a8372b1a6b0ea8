//! Redaction of secrets in URLs, headers and JSON bodies.
//!
//! Everything that prints a request (tracing spans, errors, journals) goes through these
//! functions, so the rules for what counts as a secret live in one place.
//!
//! ```
//! use pull_through_core::redact::{is_secret_field, redact_url};
//! use url::Url;
//!
//! let url = Url::parse("https://user:hunter2@example.com/v2/?token=abc").unwrap();
//! assert_eq!(redact_url(&url), "https://example.com/v2/");
//! assert!(is_secret_field("auth_secret"));
//! assert!(!is_secret_field("token_id"));
//! ```

use url::Url;

/// What replaces a secret wherever one would have been printed.
///
/// ```
/// assert_eq!(pull_through_core::redact::REDACTED, "[REDACTED]");
/// ```
pub const REDACTED: &str = "[REDACTED]";

/// Header names whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-jfrog-art-api",
];

/// Words that make a field name a secret when they appear in it.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "passphrase",
];

/// Endings that make a field name *about* a secret rather than the secret itself
/// (`token_id`, `token_type`, `passwordSecretVersion`, `jwks_uri`, `expires_in`).
const NOT_SECRET_ENDINGS: &[&str] = &[
    "id",
    "ids",
    "type",
    "url",
    "uri",
    "version",
    "expiry",
    "expiresin",
    "ttl",
    "name",
    "mode",
];

/// Whether a JSON field, form field or query parameter of this name holds a secret.
///
/// The match ignores case, `_` and `-`, so `access_token`, `accessToken` and `Access-Token`
/// are all secrets, while names that only describe a secret (`token_id`, `token_type`,
/// `passwordSecretVersion`) are not.
///
/// ```
/// use pull_through_core::redact::is_secret_field;
/// assert!(is_secret_field("password"));
/// assert!(is_secret_field("refreshToken"));
/// assert!(!is_secret_field("passwordSecretVersion"));
/// ```
pub fn is_secret_field(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_WORDS.iter().any(|word| folded.contains(word))
        && !NOT_SECRET_ENDINGS
            .iter()
            .any(|ending| folded.ends_with(ending))
}

/// Whether a header of this name carries credentials: the usual ones, and any whose name
/// speaks of a token, secret, password, API key or auth (`X-Registry-Auth`,
/// `Private-Token`), except the challenge headers a server sends.
///
/// ```
/// use pull_through_core::redact::is_secret_header;
/// assert!(is_secret_header("Authorization"));
/// assert!(is_secret_header("X-Registry-Auth"));
/// assert!(!is_secret_header("WWW-Authenticate"));
/// assert!(!is_secret_header("content-type"));
/// ```
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if matches!(
        name.as_str(),
        "www-authenticate" | "proxy-authenticate" | "authentication-info"
    ) {
        return false;
    }
    SECRET_HEADERS.contains(&name.as_str())
        || ["token", "secret", "password", "api-key", "apikey", "auth"]
            .iter()
            .any(|word| name.contains(word))
}

/// The value of a header as it may be printed: credentials become [`REDACTED`], keeping the
/// scheme word of an `Authorization` header (`Bearer [REDACTED]`) so that logs still show
/// which kind of credential was sent.
///
/// ```
/// use pull_through_core::redact::redact_header_value;
/// assert_eq!(redact_header_value("authorization", "Basic dXNlcjpwdw=="), "Basic [REDACTED]");
/// assert_eq!(redact_header_value("accept", "application/json"), "application/json");
/// ```
pub fn redact_header_value(name: &str, value: &str) -> String {
    if !is_secret_header(name) {
        return value.to_owned();
    }
    match value.split_once(' ') {
        Some((scheme, _))
            if name.to_ascii_lowercase().ends_with("authorization")
                && !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            format!("{scheme} {REDACTED}")
        }
        _ => REDACTED.to_owned(),
    }
}

/// A URL as it may be printed: without userinfo, query or fragment.
///
/// The query goes too because registries and package hosts put tokens there.
///
/// ```
/// use pull_through_core::redact::redact_url;
/// let url = url::Url::parse("https://u:p@apk.cgr.dev/acme/x86_64/APKINDEX.tar.gz?sig=1").unwrap();
/// assert_eq!(redact_url(&url), "https://apk.cgr.dev/acme/x86_64/APKINDEX.tar.gz");
/// ```
pub fn redact_url(url: &Url) -> String {
    let mut clean = url.clone();
    // Both setters only fail for URLs that cannot have userinfo (cannot-be-a-base),
    // which have none to remove.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    clean.to_string()
}

/// Replaces, in place, the value of every secret field (see [`is_secret_field`]) in a JSON
/// document, at any depth: a string, number, object or array under a secret name becomes
/// [`REDACTED`] whole. Two names that are secret only where they stand are covered too:
/// `data` inside `payload` (Secret Manager's secret versions) and `auth` (Docker's
/// `auths.<host>.auth`).
///
/// ```
/// use pull_through_core::redact::redact_json;
/// let mut body = serde_json::json!({"key": "cgr-private", "password": "hunter2",
///     "nested": [{"auth_secret": {"value": "s"}}], "payload": {"data": "aHVudGVyMg=="}});
/// redact_json(&mut body);
/// assert_eq!(body["password"], "[REDACTED]");
/// assert_eq!(body["nested"][0]["auth_secret"], "[REDACTED]");
/// assert_eq!(body["payload"]["data"], "[REDACTED]");
/// assert_eq!(body["key"], "cgr-private");
/// ```
pub fn redact_json(value: &mut serde_json::Value) {
    redact_json_under(value, "");
}

fn redact_json_under(value: &mut serde_json::Value, parent: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let secret =
                    is_secret_field(key) || key == "auth" || (key == "data" && parent == "payload");
                if secret && !field.is_null() && !field.is_boolean() {
                    *field = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    redact_json_under(field, key);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                redact_json_under(item, parent);
            }
        }
        _ => {}
    }
}

/// Redacts the values of secret fields in an `application/x-www-form-urlencoded` body or a
/// query string, keeping the other pairs as they were.
///
/// ```
/// use pull_through_core::redact::redact_form;
/// assert_eq!(redact_form("username=linky&password=p%40ss"), "username=linky&password=[REDACTED]");
/// ```
pub fn redact_form(form: &str) -> String {
    form.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_field(&percent_decode(key)) => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("{text}=").as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}

/// Removes every occurrence of each secret from `text`.
///
/// Used on error bodies and messages that a server might have built from what it was sent.
/// Secrets shorter than four characters are skipped: replacing them would shred ordinary
/// words without protecting anything real.
///
/// ```
/// use pull_through_core::redact::scrub;
/// assert_eq!(scrub("bad token hunter2!", ["hunter2"]), "bad token [REDACTED]!");
/// ```
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.len() >= 4 && out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_field_table() {
        let secrets = [
            "password",
            "Password",
            "auth_secret",
            "access_token",
            "accessToken",
            "refresh_token",
            "reference_token",
            "oidc_token",
            "api_key",
            "X-Api-Key",
            "private_key",
            "token",
            "client_secret",
        ];
        for name in secrets {
            assert!(is_secret_field(name), "{name} should be secret");
        }
        let plain = [
            "key",
            "username",
            "token_id",
            "token_type",
            "passwordSecretVersion",
            "jwks_uri",
            "expires_in",
            "description",
            "auth_mode",
            "url",
        ];
        for name in plain {
            assert!(!is_secret_field(name), "{name} should not be secret");
        }
    }

    #[test]
    fn whole_subtrees_under_secret_names_go() {
        let mut body = serde_json::json!({
            "password": {"value": "hunter2"},
            "secret": ["s1", "s2"],
            "auths": {"cgr.dev": {"auth": "dTpw", "email": "e"}},
            "include_reference_token": true,
            "expires_in": 3600,
            "token": null
        });
        redact_json(&mut body);
        assert_eq!(
            body,
            serde_json::json!({
                "password": "[REDACTED]",
                "secret": "[REDACTED]",
                "auths": {"cgr.dev": {"auth": "[REDACTED]", "email": "e"}},
                "include_reference_token": true,
                "expires_in": 3600,
                "token": null
            })
        );
    }

    #[test]
    fn header_names() {
        for name in [
            "X-Registry-Auth",
            "Private-Token",
            "X-JFrog-Art-Api",
            "Cookie",
            "X-Auth-Token",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["WWW-Authenticate", "Accept", "Content-Length", "Keep-Alive"] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn header_values() {
        assert_eq!(
            redact_header_value("Authorization", "Bearer abc.def"),
            "Bearer [REDACTED]"
        );
        assert_eq!(redact_header_value("X-Api-Key", "k-123"), "[REDACTED]");
        assert_eq!(redact_header_value("authorization", "opaque"), "[REDACTED]");
    }

    #[test]
    fn url_keeps_path_and_port() {
        let url = Url::parse("http://a:b@127.0.0.1:8080/artifactory/api?x=1#f").unwrap();
        assert_eq!(redact_url(&url), "http://127.0.0.1:8080/artifactory/api");
    }

    #[test]
    fn form_and_query() {
        assert_eq!(
            redact_form("grant_type=refresh_token&refresh_token=abc&scope=x"),
            "grant_type=refresh_token&refresh_token=[REDACTED]&scope=x"
        );
        assert_eq!(redact_form(""), "");
    }

    #[test]
    fn scrub_skips_tiny_secrets() {
        assert_eq!(scrub("a b c", ["b"]), "a b c");
        assert_eq!(
            scrub("xx-long-secret-xx", ["long-secret"]),
            "xx-[REDACTED]-xx"
        );
    }
}
