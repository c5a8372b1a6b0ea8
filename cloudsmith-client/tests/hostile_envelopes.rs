//! Property tests of what this crate reads from outside: Cloudsmith's error body
//! (`{"detail", "fields", "code"}`, `fields` of any shape) on any body, and, with the
//! `fleet` feature, the `[backends.NAME] type = "cloudsmith"` table on any values. No
//! input may panic; the message stays proportional to the body (a body cannot make it
//! grow faster than itself); a URL or variable field never echoes a secret pasted into it.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use cloudsmith_client::CloudsmithErrors;
use http::StatusCode;
use proptest::prelude::*;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
use serde_json::{Map, Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const WORDS: &[&str] = &[
    "detail",
    "fields",
    "code",
    "already exists",
    "Already Exists",
    "invalid",
    "slug",
    "",
];

/// Any JSON, its keys and strings often the envelope's own words.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        2 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
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
        (json_value(), json_value(), json_value()).prop_map(|(detail, fields, code)| {
            json!({"detail": detail, "fields": fields, "code": code}).to_string()
        }),
    ]
}

/// What the message may add to the body's own text: the separators and the note of
/// fields not shown.
const OVERHEAD: usize = 4096;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_body_is_read_or_left_to_the_core(status in 100u16..600, body in body()) {
        let status = StatusCode::from_u16(status).unwrap();
        let Some(parsed) = CloudsmithErrors.parse(status, &body) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        prop_assert!(value.get("detail").is_some() || value.get("fields").is_some());
        let message = parsed.message.unwrap_or_default();
        prop_assert!(
            message.len() <= body.len() + OVERHEAD,
            "a message of {} bytes from a body of {}",
            message.len(),
            body.len()
        );
        if let Some(code) = parsed.code {
            prop_assert_eq!(Some(code.as_str()), value["code"].as_str());
        }
    }

    #[test]
    fn many_fields_under_a_long_key_stay_proportional(
        key_len in 1usize..4000,
        leaves in 1usize..600,
        detail in proptest::option::of("[a-zA-Z .]{0,40}"),
    ) {
        // Each field is named by its whole path, so a long key above many fields would
        // repeat once per field: the body's size squared, unless bounded.
        let inner: Map<String, Value> = (0..leaves)
            .map(|i| (format!("f{i}"), json!(["Invalid."])))
            .collect();
        let mut body = json!({"fields": {"k".repeat(key_len): inner}});
        if let Some(detail) = &detail {
            body["detail"] = json!(detail);
        }
        let body = body.to_string();
        let message = CloudsmithErrors
            .parse(StatusCode::BAD_REQUEST, &body)
            .unwrap()
            .message
            .unwrap();
        prop_assert!(
            message.len() <= body.len() + OVERHEAD,
            "a message of {} bytes from a body of {}",
            message.len(),
            body.len()
        );
        // The first field is named in full, whatever is cut after it.
        let first = format!("{}.f0: Invalid.", "k".repeat(key_len));
        prop_assert!(message.contains(&first), "{}", message);
    }

    #[test]
    fn a_field_that_already_exists_is_classified(
        field in "[a-z_]{1,12}",
        text in "[A-Za-z ]{0,20}",
        wrap in 0usize..3,
    ) {
        let said = format!("{text} already exists.");
        let messages = match wrap {
            0 => json!([said]),
            1 => json!({"detail": said}),
            _ => json!([{"slug": [said]}]),
        };
        let body = json!({"detail": "Invalid input.", "fields": {field.clone(): messages}}).to_string();
        let parsed = CloudsmithErrors.parse(StatusCode::UNPROCESSABLE_ENTITY, &body).unwrap();
        prop_assert_eq!(parsed.class, Some(ApiErrorClass::AlreadyExists));
        let message = parsed.message.unwrap();
        prop_assert!(message.starts_with("Invalid input. ("), "{message}");
        prop_assert!(message.contains(&field), "{message}");
        prop_assert!(message.contains(&said), "{message}");
    }
}

#[cfg(feature = "fleet")]
mod tables {
    //! `[backends.NAME] type = "cloudsmith"` through the whole config loader.

    use super::config;
    use cloudsmith_client::CloudsmithFactory;
    use proptest::prelude::*;
    use pull_through_fleet::{Config, Factories};

    const FIELDS: &[&str] = &[
        "owner",
        "owner_env",
        "api_key_env",
        "user",
        "user_env",
        "api_url",
        "api_url_env",
        "docker_url",
        "docker_url_env",
        "repository",
        "storage_region",
        "unknown",
    ];

    /// A secret pasted where a name or address belongs.
    const SECRET: &str = "SECRETmarker0123";

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"acme\"".to_owned()),
            Just("\"CLOUDSMITH_API_KEY\"".to_owned()),
            Just("\"https://api.cloudsmith.io\"".to_owned()),
            Just("\"chainguard\"".to_owned()),
            Just(format!("\"https://admin:{SECRET}@api.cloudsmith.io\"")),
            Just(format!("\"https://docker.cloudsmith.io/?token={SECRET}\"")),
            Just(format!("\"{SECRET}\"")),
            "\"[a-zA-Z0-9:/@?.%_ -]{0,24}\"",
            Just("5".to_owned()),
            Just("false".to_owned()),
            Just("[\"a\", 1]".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn any_table_is_loaded_or_refused_at_its_field(
            fields in proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..7),
        ) {
            let mut text = String::from(
                "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.cs]\ntype = \"cloudsmith\"\n",
            );
            let mut seen = std::collections::BTreeSet::new();
            for (field, value) in &fields {
                if seen.insert(*field) {
                    text.push_str(&format!("{field} = {value}\n"));
                }
            }
            text.push_str("[[caches]]\nname = \"cloudsmith-public\"\nupstream = \"cgr.dev/chainguard\"\n");
            let factories = Factories::new().with(CloudsmithFactory);
            match Config::parse("t.toml", &text, &factories) {
                Ok(loaded) => prop_assert_eq!(loaded.backends["cs"].kind.as_str(), "cloudsmith"),
                Err(err) => {
                    let lines = text.lines().count();
                    prop_assert!((1..=lines).contains(&err.line), "{err}");
                    prop_assert!(err.field.starts_with("backends.cs") || err.field.starts_with("caches"), "{err}");
                    let shown = err.to_string();
                    // Names and slugs may be echoed; addresses and variables never are.
                    let echoing = ["owner", "user", "repository", "storage_region"]
                        .iter()
                        .any(|field| err.field == format!("backends.cs.{field}"));
                    prop_assert!(!shown.contains(SECRET) || echoing, "{shown}");
                }
            }
        }
    }
}
