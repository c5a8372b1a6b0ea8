//! Property tests of what this crate reads from outside: the platform API's and STS's
//! `google.rpc.Status` error body on any body, and the claims of any token (a
//! `CHAINGUARD_TOKEN`, a chainctl cache file) read without verifying. No input may
//! panic; what is read comes from the body or token.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use chainguard_client::RpcStatus;
use chainguard_client::auth::jwt_expiry;
use http::StatusCode;
use proptest::prelude::*;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
use serde_json::{Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const WORDS: &[&str] = &[
    "code",
    "message",
    "details",
    "reason",
    "fieldViolations",
    "field",
    "description",
    "exp",
    "aud",
    "",
];

/// Any JSON, its keys and strings often the body's and the claims' own words.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        2 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        json_value().prop_map(|value| value.to_string()),
        (json_value(), json_value(), json_value()).prop_map(|(code, message, details)| {
            json!({"code": code, "message": message, "details": details}).to_string()
        }),
    ]
}

/// A token's three parts, the middle one any claims.
fn token() -> impl Strategy<Value = String> {
    let claims = prop_oneof![
        json_value(),
        any::<u64>().prop_map(|exp| json!({"exp": exp})),
        any::<i64>().prop_map(|exp| json!({"exp": exp, "aud": ["apk.cgr.dev"]})),
    ];
    prop_oneof![
        any::<String>(),
        (claims, "[A-Za-z0-9_-]{0,12}").prop_map(|(claims, signature)| {
            let payload = BASE64_URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("eyJhbGciOiJSUzI1NiJ9.{payload}.{signature}")
        }),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_body_is_read_or_left_to_the_core(status in 100u16..600, body in body()) {
        let status = StatusCode::from_u16(status).unwrap();
        let Some(parsed) = RpcStatus.parse(status, &body) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        prop_assert!(value["code"].is_i64(), "{}", body);
        let message = parsed.message.unwrap_or_default();
        if let Some(text) = value["message"].as_str() {
            prop_assert!(message.starts_with(text));
        }
        // Each detail adds its reason or `field: description`, and a separator.
        prop_assert!(message.len() <= 3 * body.len(), "{} bytes from {}", message.len(), body.len());
    }

    #[test]
    fn grpc_codes_decide_the_class(code in -3i64..20, message in "[ -~]{0,30}") {
        let body = json!({"code": code, "message": message, "details": []}).to_string();
        let parsed = RpcStatus.parse(StatusCode::INTERNAL_SERVER_ERROR, &body).unwrap();
        let expected = match code {
            5 => ApiErrorClass::NotFound,
            6 => ApiErrorClass::AlreadyExists,
            7 => ApiErrorClass::PermissionDenied,
            8 => ApiErrorClass::RateLimited,
            16 => ApiErrorClass::Unauthenticated,
            _ => ApiErrorClass::Other,
        };
        prop_assert_eq!(parsed.class, Some(expected));
        prop_assert_eq!(parsed.message.as_deref(), Some(message.as_str()));
        prop_assert_eq!(parsed.fix.is_some(), code == 16);
    }

    #[test]
    fn any_token_has_an_expiry_or_none(token in token()) {
        let exp = token
            .split('.')
            .nth(1)
            .and_then(|payload| BASE64_URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|claims| claims.get("exp").and_then(Value::as_u64));
        match (jwt_expiry(&token), exp) {
            (Some(expiry), Some(exp)) => {
                prop_assert_eq!(expiry, SystemTime::UNIX_EPOCH + Duration::from_secs(exp));
            }
            (Some(expiry), None) => prop_assert!(false, "{expiry:?} from no exp claim"),
            // Only an expiry past what the clock can hold is read as none.
            (None, Some(exp)) => prop_assert!(exp > 1 << 40, "exp {exp} not read"),
            (None, None) => {}
        }
    }
}
