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

/// Removes every occurrence of each secret from `text`, then whatever has the shape of a
/// credential (see [`redact_text`]).
///
/// Used on error bodies and messages that a server might have built from what it was sent,
/// or from what another client sent it. Secrets shorter than four characters are skipped:
/// replacing them would shred ordinary words without protecting anything real.
///
/// ```
/// use pull_through_core::redact::scrub;
/// assert_eq!(scrub("bad token hunter2!", ["hunter2"]), "bad token [REDACTED]!");
/// assert_eq!(scrub("you sent Basic dXNlcjpwdw==", []), "you sent Basic [REDACTED]");
/// ```
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.len() >= 4 && out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    redact_text(&out)
}

/// Header names whose values [`redact_text`] hides wherever `Name: value` appears in a text.
const ECHOED_HEADERS: &[&str] = &[
    "proxy-authorization",
    "authorization",
    "cookie",
    "x-api-key",
    "x-jfrog-art-api",
    "private-token",
    "x-auth-token",
    "x-registry-auth",
];

/// Hides what has the shape of a credential anywhere in a text that a server wrote, such as
/// an error body or message, without knowing any secret:
///
/// - the credentials of `Basic` and `Bearer` (any case), as in an echoed `Authorization`
///   header, keeping the scheme word (`Basic [REDACTED]`); prose (`Basic authentication
///   failed`) and challenges (`Bearer realm="..."`) stay;
/// - the values of credential headers written as `Name: value` (`Authorization`, `Cookie`,
///   `X-JFrog-Art-Api`, ...);
/// - the values of JSON fields with secret names ([`is_secret_field`], and `auth`) at any
///   depth, in JSON that does not parse as a whole (cut short, or encoded inside a string)
///   as well as in JSON that does;
/// - JWTs and base64-encoded JSON (`eyJ...`) of 16 characters or more.
///
/// ```
/// use pull_through_core::redact::redact_text;
/// assert_eq!(
///     redact_text("echo: Authorization: Basic dXNlcjpzM2NyZXQ="),
///     "echo: Authorization: Basic [REDACTED]"
/// );
/// assert_eq!(
///     redact_text(r#"{"detail":{"auth_secret":"s3cret","user":"linky"}}"#),
///     r#"{"detail":{"auth_secret":"[REDACTED]","user":"linky"}}"#
/// );
/// assert_eq!(
///     redact_text("expired: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
///     "expired: [REDACTED]"
/// );
/// assert_eq!(redact_text("Basic authentication failed"), "Basic authentication failed");
/// ```
pub fn redact_text(text: &str) -> String {
    let text = redact_json_pairs(text);
    let text = redact_echoed_headers(&text);
    let text = redact_auth_schemes(&text);
    redact_encoded_json(&text)
}

/// The address a URL given as text may be shown as in a message: `scheme://host[:port]/`
/// (its path dropped), and only when the text parses as a URL with a host and carries no userinfo, query,
/// fragment or anything else [`redact_text`] would hide. `None` means: show nothing of it.
///
/// ```
/// use pull_through_core::redact::shown_url;
/// assert_eq!(shown_url("ftp://example.jfrog.io:2121/x").as_deref(), Some("ftp://example.jfrog.io:2121/"));
/// assert_eq!(shown_url("https://admin:pw@example.jfrog.io"), None);
/// assert_eq!(shown_url("https://example.jfrog.io/?token=abc"), None);
/// assert_eq!(shown_url("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), None);
/// ```
pub fn shown_url(text: &str) -> Option<String> {
    let text = text.trim();
    if redact_text(text) != text {
        return None;
    }
    let url = Url::parse(text).ok()?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}/", url.scheme()),
        None => format!("{}://{host}/", url.scheme()),
    })
}

/// Whether a byte can be part of a base64 or base64url run (`=` padding included).
fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Whether a byte can be part of an HTTP `token68` (RFC 9110), the form of `Basic` and
/// `Bearer` credentials.
fn is_token68(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// Whether a word that follows `Basic` or `Bearer` is a credential rather than prose: it has
/// a digit, a `+`, `/` or `=`, or a capital after its first letter (`dXNlcjpwYXNz`, a JWT),
/// or it is long (an opaque token), where a word has none of these (`authentication`,
/// `Token`, `token-based`).
fn looks_like_credential(word: &str) -> bool {
    let word = word.trim_end_matches('.');
    word.len() >= 4
        && (word.len() >= 20
            || word.bytes().enumerate().any(|(i, b)| {
                b.is_ascii_digit()
                    || matches!(b, b'+' | b'/' | b'=')
                    || (i > 0 && b.is_ascii_uppercase())
            }))
}

/// `Basic xxx` and `Bearer xxx` anywhere: the credential goes, the scheme word stays.
fn redact_auth_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let scheme = ["basic", "bearer"]
            .into_iter()
            .find(|scheme| lower.as_bytes()[at..].starts_with(scheme.as_bytes()));
        let Some(scheme) = scheme else {
            at += 1;
            continue;
        };
        let after_scheme = at + scheme.len();
        if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
            at = after_scheme;
            continue;
        }
        let mut start = after_scheme;
        while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        if start == after_scheme {
            at = after_scheme;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && is_token68(bytes[end]) {
            end += 1;
        }
        while end < bytes.len() && bytes[end] == b'=' {
            end += 1;
        }
        // A sentence's full stop is not part of the credential.
        while end > start && bytes[end - 1] == b'.' {
            end -= 1;
        }
        // `realm="x"` or `realm=x` is a challenge's parameter, not a credential.
        let parameter = end > start
            && bytes[end - 1] == b'='
            && end < bytes.len()
            && (bytes[end] == b'"' || is_token68(bytes[end]));
        if !parameter && looks_like_credential(&text[start..end]) {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        at = end.max(after_scheme);
    }
    out.push_str(&text[copied..]);
    out
}

/// `Authorization: xxx`, `Cookie: xxx`, ... anywhere: the value goes up to the end of the
/// line or of the JSON string it stands in (a scheme word stays, as in
/// [`redact_header_value`]). An `Authorization` value goes only when it looks like a
/// credential, so that `authorization: denied` stays readable.
fn redact_echoed_headers(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let name = ECHOED_HEADERS
            .iter()
            .find(|name| lower.as_bytes()[at..].starts_with(name.as_bytes()));
        let Some(name) = name else {
            at += 1;
            continue;
        };
        let after_name = at + name.len();
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'-') {
            at = after_name;
            continue;
        }
        let mut start = after_name;
        while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        if start >= bytes.len() || bytes[start] != b':' {
            at = after_name;
            continue;
        }
        start += 1;
        while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        let mut end = start;
        while end < bytes.len() && !matches!(bytes[end], b'\r' | b'\n' | b'"' | b'\\') {
            end += 1;
        }
        let value = text[start..end].trim_end();
        let end = start + value.len();
        let credential = !name.ends_with("authorization")
            || value
                .split_whitespace()
                .last()
                .is_some_and(looks_like_credential);
        if !value.is_empty() && credential && !value.ends_with(REDACTED) {
            out.push_str(&text[copied..start]);
            out.push_str(&redact_header_value(name, value));
            copied = end;
        }
        at = end.max(after_name);
    }
    out.push_str(&text[copied..]);
    out
}

/// JWTs and base64-encoded JSON objects: runs of base64 (and dots) that start with `eyJ`.
fn redact_encoded_json(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find("eyJ") {
        let start = at + found;
        // Padding ends a base64 run, so `token=eyJ...` starts one.
        if start > 0 && is_base64(bytes[start - 1]) && bytes[start - 1] != b'=' {
            at = start + 3;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && (is_base64(bytes[end]) || bytes[end] == b'.') {
            end += 1;
        }
        // A sentence's full stop is not part of the token.
        while bytes[end - 1] == b'.' {
            end -= 1;
        }
        if end - start >= 16 {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        at = end.max(start + 3);
    }
    out.push_str(&text[copied..]);
    out
}

/// How a JSON string is quoted where it stands: `"` in JSON, `\"` in JSON encoded inside a
/// JSON string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Plain,
    Escaped,
}

impl Quote {
    /// The quote that starts at `at`, if one does.
    fn at(bytes: &[u8], at: usize) -> Option<Quote> {
        match bytes.get(at)? {
            b'"' if at == 0 || bytes[at - 1] != b'\\' => Some(Quote::Plain),
            b'\\' if bytes.get(at + 1) == Some(&b'"') => Some(Quote::Escaped),
            _ => None,
        }
    }

    fn len(self) -> usize {
        match self {
            Quote::Plain => 1,
            Quote::Escaped => 2,
        }
    }

    /// Where the string whose content starts at `from` ends (the index of its closing
    /// quote), or `None` when it runs off the end.
    fn close(self, bytes: &[u8], from: usize) -> Option<usize> {
        let mut at = from;
        while at < bytes.len() {
            match (self, bytes[at]) {
                (Quote::Plain, b'\\') => at += 2,
                (Quote::Plain, b'"') => return Some(at),
                (Quote::Escaped, b'\\') if bytes.get(at + 1) == Some(&b'"') => return Some(at),
                // `\\` inside an encoded string stands for one backslash.
                (Quote::Escaped, b'\\') if bytes.get(at + 1) == Some(&b'\\') => at += 2,
                _ => at += 1,
            }
        }
        None
    }
}

/// Where the JSON value that starts at `start` ends (exclusive): a string, an object or
/// array (brackets counted outside strings), or a bare word. Runs to the end of the text
/// when the value is cut short.
fn value_end(bytes: &[u8], start: usize) -> usize {
    if let Some(quote) = Quote::at(bytes, start) {
        return quote
            .close(bytes, start + quote.len())
            .map_or(bytes.len(), |close| close + quote.len());
    }
    match bytes[start] {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = start;
            while at < bytes.len() {
                if let Some(quote) = Quote::at(bytes, at) {
                    match quote.close(bytes, at + quote.len()) {
                        Some(close) => at = close + quote.len(),
                        None => return bytes.len(),
                    }
                    continue;
                }
                match bytes[at] {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            bytes.len()
        }
        _ => {
            let mut end = start;
            while end < bytes.len()
                && !matches!(bytes[end], b',' | b'}' | b']' | b'\\' | b'"')
                && !bytes[end].is_ascii_whitespace()
            {
                end += 1;
            }
            end
        }
    }
}

/// `"name": value` with a secret name, in any text: the value becomes `"[REDACTED]"`.
fn redact_json_pairs(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some(quote) = Quote::at(bytes, at) else {
            at += 1;
            continue;
        };
        let key_start = at + quote.len();
        let Some(key_end) = quote.close(bytes, key_start) else {
            break;
        };
        let key = &text[key_start..key_end];
        let mut colon = key_end + quote.len();
        while colon < bytes.len() && bytes[colon].is_ascii_whitespace() {
            colon += 1;
        }
        let is_key = !key.is_empty()
            && key.len() <= 64
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && bytes.get(colon) == Some(&b':');
        if !is_key {
            // Not a key: what it quotes may hold JSON encoded in a string, and its closing
            // quote may open the next string, so look again just inside it.
            at = key_start;
            continue;
        }
        let mut start = colon + 1;
        while start < bytes.len() && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        if start >= bytes.len() {
            break;
        }
        if !(is_secret_field(key) || key == "auth") {
            at = start;
            continue;
        }
        let end = value_end(bytes, start);
        let value = &text[start..end];
        if matches!(value, "null" | "true" | "false") {
            at = end;
            continue;
        }
        let quote = match quote {
            Quote::Plain => "\"",
            Quote::Escaped => "\\\"",
        };
        out.push_str(&text[copied..start]);
        out.push_str(quote);
        out.push_str(REDACTED);
        out.push_str(quote);
        copied = end;
        at = end;
    }
    out.push_str(&text[copied..]);
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
    fn text_credentials_go_and_prose_stays() {
        let cases = [
            (
                "Authorization: Basic dXNlcjpzM2NyZXQ=",
                "Authorization: Basic [REDACTED]",
            ),
            ("basic   dXNlcjpwYXNz.", "basic   [REDACTED]."),
            (
                "x-jfrog-art-api: AKCp8abc\nnext",
                "x-jfrog-art-api: [REDACTED]\nnext",
            ),
            ("Cookie: session=abc; other=def", "Cookie: [REDACTED]"),
            (
                "Authorization: token ghp_0123456789",
                "Authorization: token [REDACTED]",
            ),
            ("authorization: denied", "authorization: denied"),
            (
                "Basic authentication failed.",
                "Basic authentication failed.",
            ),
            (
                "requires Bearer token-based auth",
                "requires Bearer token-based auth",
            ),
            (
                r#"Bearer realm="https://cgr.dev/token",service="cgr.dev""#,
                r#"Bearer realm="https://cgr.dev/token",service="cgr.dev""#,
            ),
            ("Bearer error=invalid_token", "Bearer error=invalid_token"),
            (
                r#"{"password":12345,"user":"u"}"#,
                r#"{"password":"[REDACTED]","user":"u"}"#,
            ),
            (
                r#"{"secret":{"a":["b"]},"k":1}"#,
                r#"{"secret":"[REDACTED]","k":1}"#,
            ),
            (
                r#"{"token":null,"token_id":"t-1"}"#,
                r#"{"token":null,"token_id":"t-1"}"#,
            ),
            (
                r#"{"refresh_token":"abc"#,
                r#"{"refresh_token":"[REDACTED]""#,
            ),
            (
                r#""{\"apiKey\":\"k-1\",\"n\":2}""#,
                r#""{\"apiKey\":\"[REDACTED]\",\"n\":2}""#,
            ),
            (
                r#"{"auths":{"cgr.dev":{"auth":"dTpw"}}}"#,
                r#"{"auths":{"cgr.dev":{"auth":"[REDACTED]"}}}"#,
            ),
            ("id eyJhbGciOiJSUzI1NiJ9.e30.c2ln.", "id [REDACTED]."),
            (
                "keyJabcdefghijklmnopqrstuvwxyz",
                "keyJabcdefghijklmnopqrstuvwxyz",
            ),
            ("eyJshort", "eyJshort"),
            (
                "résumé: Basic é dXNlcjpwdw== ü eyJ€",
                "résumé: Basic é dXNlcjpwdw== ü eyJ€",
            ),
            ("ünïcode Basic dXNlcjpwdw== «", "ünïcode Basic [REDACTED] «"),
        ];
        for (given, expected) in cases {
            assert_eq!(redact_text(given), expected, "{given}");
        }
    }

    #[test]
    fn shown_urls_are_scheme_and_host_only() {
        assert_eq!(
            shown_url(" https://example.jfrog.io/artifactory/ ").as_deref(),
            Some("https://example.jfrog.io/")
        );
        assert_eq!(
            shown_url("http://[::1]:8080/x").as_deref(),
            Some("http://[::1]:8080/")
        );
        for hidden in [
            "example.jfrog.io",
            "https://example.jfrog.io/#frag",
            "https://u@example.jfrog.io",
            "Bearer dXNlcjpwdw==",
            "mailto:x@example.com",
        ] {
            assert_eq!(shown_url(hidden), None, "{hidden}");
        }
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
