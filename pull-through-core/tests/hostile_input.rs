//! Property tests of the core's readers of outside data: a registry's `WWW-Authenticate`
//! challenge, `Retry-After` and rate-limit headers, URLs given in settings, upstreams,
//! organization and cache names from a config, and the redaction every error body and
//! log line passes through. No input may panic; what has a printed form reads back the
//! same; redaction hides what it promises to hide wherever it stands.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use pull_through_core::http::{
    MAX_RATE_LIMIT_WAIT, parse_base_url, parse_retry_after, rate_limit_wait,
};
use pull_through_core::redact::{
    REDACTED, is_secret_field, redact_form, redact_header_value, redact_json, redact_text, scrub,
    shown_url,
};
use pull_through_core::registry::parse_bearer_challenge;
use pull_through_core::{CacheName, OrgId, OrgName, Upstream, ValidationError};
use serde_json::{Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of the pieces these readers look for, and anything else.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9.=/+_-]{1,6}",
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|parts| parts.concat())
}

const CHALLENGE_PIECES: &[&str] = &[
    "Bearer ",
    "bearer ",
    "Basic ",
    "realm=",
    "service=",
    "scope=",
    "\"",
    "\\",
    ",",
    " ",
    "=",
    "https://cgr.dev/token",
    "cgr.dev",
];

const TEXT_PIECES: &[&str] = &[
    "Authorization: ",
    "authorization:",
    "Cookie: ",
    "X-JFrog-Art-Api: ",
    "Basic ",
    "Bearer ",
    "eyJ",
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "\"",
    "\\\"",
    "{",
    "}",
    ":",
    "\"password\"",
    "\"token\"",
    "\"auth\"",
    "=",
    "\n",
    " ",
    "https://",
    "@",
    "?",
    "token=",
];

const URL_PIECES: &[&str] = &[
    "https://",
    "http://",
    "ftp://",
    "cgr.dev",
    "apk.cgr.dev",
    "virtualapk.cgr.dev",
    "packages.wolfi.dev",
    "/",
    "chainguard",
    "extra-packages",
    "os",
    "{org}",
    "example.com",
    "0123456789abcdef0123456789abcdef01234567",
    "@",
    ":",
    "?",
    "#",
    " ",
    "%",
    "..",
];

/// A token with the shape redaction knows: a JWT.
fn jwt() -> impl Strategy<Value = String> {
    ("[A-Za-z0-9_-]{12,30}", "[A-Za-z0-9_-]{4,20}")
        .prop_map(|(payload, signature)| format!("eyJhbGciOiJSUzI1NiJ9.eyJ{payload}.{signature}"))
}

/// HTTP's quoted-string for any text of visible characters.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn challenges_never_panic(value in prop_oneof![soup(CHALLENGE_PIECES), any::<String>()]) {
        if let Some(challenge) = parse_bearer_challenge(&value) {
            prop_assert!(challenge.realm.len() <= value.len());
        }
    }

    #[test]
    fn challenges_read_back_their_quoted_values(
        realm in "[ -~]{1,40}",
        service in proptest::option::of("[ -~]{1,20}"),
        scheme in proptest::sample::select(&["Bearer", "bearer", "BEARER"][..]),
        basic_first in any::<bool>(),
    ) {
        let mut value = format!("{scheme} realm={}", quoted(&realm));
        if let Some(service) = &service {
            value.push_str(&format!(",service={}", quoted(service)));
        }
        value.push_str(",scope=\"repository:chainguard/go:pull\"");
        if basic_first {
            value = format!("Basic realm=\"other\", {value}");
        }
        let challenge = parse_bearer_challenge(&value).unwrap();
        prop_assert_eq!(&challenge.realm, &realm);
        prop_assert_eq!(&challenge.service, &service);
    }

    #[test]
    fn retry_after_is_seconds_a_date_or_nothing(
        value in prop_oneof![any::<String>(), any::<u64>().prop_map(|n| n.to_string()), "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT"],
        now in 0u64..4_000_000_000,
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(now);
        let wait = parse_retry_after(&value, now);
        if let Ok(seconds) = value.trim().parse::<u64>() {
            prop_assert_eq!(wait, Some(Duration::from_secs(seconds)));
        }
    }

    #[test]
    fn retry_after_dates_read_back(at in 0u64..253_402_300_799, now in 0u64..253_402_300_799) {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(at));
        let wait = parse_retry_after(&date, UNIX_EPOCH + Duration::from_secs(now)).unwrap();
        prop_assert_eq!(wait, Duration::from_secs(at.saturating_sub(now)));
    }

    #[test]
    fn rate_limit_waits_are_bounded(
        remaining in proptest::option::of(prop_oneof![any::<String>(), Just("0".to_owned()), any::<f64>().prop_map(|f| f.to_string())]),
        reset in proptest::option::of(prop_oneof![any::<String>(), any::<f64>().prop_map(|f| f.to_string()), any::<u64>().prop_map(|n| n.to_string())]),
        interval in proptest::option::of(prop_oneof![any::<String>(), any::<f64>().prop_map(|f| f.to_string())]),
        now in 0u64..4_000_000_000,
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [("x-ratelimit-remaining", &remaining), ("x-ratelimit-reset", &reset), ("x-ratelimit-interval", &interval)] {
            if let Some(value) = value.as_ref().and_then(|v| http::HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
        if let Some(wait) = rate_limit_wait(&headers, UNIX_EPOCH + Duration::from_secs(now)) {
            prop_assert!(wait <= MAX_RATE_LIMIT_WAIT, "{wait:?}");
        }
    }

    #[test]
    fn names_read_back_their_printed_form(text in prop_oneof![soup(URL_PIECES), any::<String>()]) {
        if let Ok(upstream) = Upstream::parse(&text) {
            prop_assert_eq!(Upstream::parse(&upstream.to_string()).unwrap(), upstream.clone());
            // The upstream URL names what the cache pulls from: for a private cgr.dev
            // remote that is the registry's root, which alone does not say the
            // organization (the parse refuses it as ambiguous, by design).
            match Upstream::parse(upstream.url().as_str()) {
                Ok(back) => prop_assert_eq!(back, upstream),
                Err(ValidationError::UpstreamAmbiguous { .. }) => prop_assert!(
                    matches!(upstream, Upstream::CgrPrivate { .. }),
                    "{upstream:?} has an ambiguous URL"
                ),
                Err(other) => prop_assert!(false, "{upstream:?}: {other}"),
            }
        }
        if let Ok(org) = OrgName::new(text.clone()) {
            prop_assert_eq!(OrgName::new(org.to_string()).unwrap(), org);
        }
        if let Ok(id) = OrgId::new(text.clone()) {
            prop_assert_eq!(OrgId::new(id.to_string()).unwrap(), id);
        }
        if let Ok(name) = CacheName::new(text.clone()) {
            prop_assert_eq!(name.as_str(), text.as_str());
        }
    }

    #[test]
    fn base_urls_never_show_a_token(
        text in prop_oneof![soup(URL_PIECES), any::<String>()],
        token in jwt(),
        password in "[a-z0-9]{8,16}",
        host in "[a-z]{1,10}\\.example\\.com",
    ) {
        let _ = parse_base_url("URL", &text);
        // A token pasted where a URL belongs, alone or inside one, is never shown.
        for given in [token.clone(), format!("https://{host}/{token}"), format!("https://{host}?t={token}")] {
            let err = parse_base_url("URL", &given).unwrap_err().to_string();
            prop_assert!(!err.contains(&token[..20]), "{}", err);
        }
        let err = parse_base_url("URL", &format!("https://admin:{password}@{host}")).unwrap_err().to_string();
        prop_assert!(!err.contains(&password), "{}", err);
        if let Some(shown) = shown_url(&text) {
            prop_assert!(!shown.contains('@') && !shown.contains('?'), "{}", shown);
        }
    }

    #[test]
    fn redaction_never_panics_and_hides_tokens(
        text in prop_oneof![soup(TEXT_PIECES), any::<String>()],
        token in jwt(),
        before in soup(TEXT_PIECES),
        after in soup(TEXT_PIECES),
        header in proptest::sample::select(&["Authorization: Bearer ", "authorization: basic ", "Cookie: ", "X-JFrog-Art-Api: ", "token=", "\"password\": \""][..]),
    ) {
        let once = redact_text(&text);
        // Each thing hidden is at least four bytes, replaced by ten.
        prop_assert!(once.len() <= 3 * text.len() + REDACTED.len(), "{} from {}", once.len(), text.len());
        let _ = scrub(&text, ["hunter22", text.as_str()]);
        let _ = redact_form(&text);
        let _ = redact_header_value(&text, &text);
        let _ = shown_url(&text);
        // A token after a separator is hidden whatever surrounds it.
        let said = format!("{before} {header}{token} {after}");
        let redacted = redact_text(&said);
        prop_assert!(!redacted.contains(&token), "{}", redacted);
    }

    #[test]
    fn scrubbed_secrets_are_gone(text in any::<String>(), secret in "[a-z0-9]{4,16}", at in any::<prop::sample::Index>()) {
        let cut = text.char_indices().map(|(i, _)| i).chain([text.len()]).nth(at.index(text.chars().count() + 1)).unwrap_or(0);
        let said = format!("{}{secret}{}", &text[..cut], &text[cut..]);
        prop_assert!(!scrub(&said, [secret.as_str()]).contains(&secret));
    }
}

/// Any JSON, its keys often secret-sounding.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "password",
                "token",
                "access_token",
                "auth",
                "data",
                "payload",
                "refreshToken",
                "token_id",
                "name",
                "key"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-zA-Z_-]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every value under a secret name is redacted (or a null or boolean, which holds none).
fn check_redacted(value: &Value, parent: &str) -> Result<(), TestCaseError> {
    match value {
        Value::Object(map) => {
            for (key, field) in map {
                let secret =
                    is_secret_field(key) || key == "auth" || (key == "data" && parent == "payload");
                if secret {
                    prop_assert!(
                        field.is_null() || field.is_boolean() || field == &json!(REDACTED),
                        "{key}: {field}"
                    );
                } else {
                    check_redacted(field, key)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                check_redacted(item, parent)?;
            }
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn json_secrets_are_redacted_at_any_depth(mut value in json_value()) {
        let before = value.to_string();
        redact_json(&mut value);
        check_redacted(&value, "")?;
        // As text too, whole or cut short.
        let text = redact_text(&before);
        if let Ok(mut parsed) = serde_json::from_str::<Value>(&text) {
            redact_json(&mut parsed);
            check_redacted(&parsed, "")?;
        }
        // The generated JSON is ASCII: any byte is a place to cut.
        let _ = redact_text(&before[..before.len() / 2]);
    }
}
