//! Property tests of what this crate reads from outside: Artifactory's error envelope
//! (`{"errors":[{"status"|"code","message"}]}`) on any body, and, with the `fleet`
//! feature, the `[backends.NAME] type = "artifactory"` table on any values. No input may
//! panic; what is read comes from the body, no larger than it; a URL or variable field
//! never echoes a secret pasted into it.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use artifactory_client::ArtifactoryErrors;
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
    "errors",
    "message",
    "status",
    "code",
    "already exists",
    "BAD_REQUEST",
    "",
    "null",
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
        // The envelope with any values in its places.
        (json_value(), json_value(), json_value()).prop_map(|(status, message, code)| {
            json!({"errors": [{"status": status, "message": message, "code": code}]}).to_string()
        }),
    ]
}

fn status() -> impl Strategy<Value = StatusCode> {
    (100u16..600).prop_map(|code| StatusCode::from_u16(code).unwrap())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_body_is_read_or_left_to_the_core(status in status(), body in body()) {
        let Some(parsed) = ArtifactoryErrors.parse(status, &body) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        let first = &value["errors"][0];
        prop_assert_eq!(parsed.message.as_deref(), first["message"].as_str());
        let message = parsed.message.unwrap_or_default();
        prop_assert!(message.len() <= body.len());
        if let Some(code) = &parsed.code {
            prop_assert!(code.len() <= body.len());
        }
        prop_assert_eq!(
            parsed.class == Some(ApiErrorClass::AlreadyExists),
            message.contains("already exists")
        );
    }

    #[test]
    fn the_envelope_is_read_field_by_field(
        status in status(),
        code in proptest::option::of("[A-Z_]{1,12}"),
        number in any::<i64>(),
        message in any::<String>(),
    ) {
        let mut error = json!({"status": number, "message": message});
        if let Some(code) = &code {
            error["code"] = json!(code);
        }
        let body = json!({"errors": [error, {"message": "second"}]}).to_string();
        let parsed = ArtifactoryErrors.parse(status, &body).unwrap();
        prop_assert_eq!(parsed.message.as_deref(), Some(message.as_str()));
        // The Access API's code wins over the status number.
        let expected = code.unwrap_or_else(|| number.to_string());
        prop_assert_eq!(parsed.code.as_deref(), Some(expected.as_str()));
    }
}

#[cfg(feature = "fleet")]
mod tables {
    //! `[backends.NAME] type = "artifactory"` through the whole config loader.

    use super::config;
    use artifactory_client::ArtifactoryFactory;
    use proptest::prelude::*;
    use pull_through_fleet::{Config, Factories};

    const FIELDS: &[&str] = &[
        "url",
        "url_env",
        "token_env",
        "user",
        "user_env",
        "docker_access",
        "unknown",
    ];

    /// A secret pasted where a name or address belongs.
    const SECRET: &str = "SECRETmarker0123";

    /// TOML values for a field: good ones, URLs with the secret in their userinfo or
    /// query, the secret alone, and other TOML types.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"https://example.jfrog.io\"".to_owned()),
            Just("\"ARTIFACTORY_ACCESS_TOKEN\"".to_owned()),
            Just("\"subdomain\"".to_owned()),
            Just(format!("\"https://admin:{SECRET}@example.jfrog.io\"")),
            Just(format!("\"https://example.jfrog.io/?token={SECRET}\"")),
            Just(format!("\"{SECRET}\"")),
            "\"[a-zA-Z0-9:/@?.%_ -]{0,24}\"",
            Just("5".to_owned()),
            Just("true".to_owned()),
            Just("[\"a\", 1]".to_owned()),
            Just("{ a = 1 }".to_owned()),
        ]
    }

    fn table() -> impl Strategy<Value = Vec<(&'static str, String)>> {
        proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..6)
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn any_table_is_loaded_or_refused_at_its_field(fields in table()) {
            let mut text = String::from(
                "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.art]\ntype = \"artifactory\"\n",
            );
            let mut seen = std::collections::BTreeSet::new();
            for (field, value) in &fields {
                // A key given twice is TOML's own error; each field once.
                if seen.insert(*field) {
                    text.push_str(&format!("{field} = {value}\n"));
                }
            }
            text.push_str("[[caches]]\nname = \"cgr-public\"\nupstream = \"cgr.dev/chainguard\"\n");
            let factories = Factories::new().with(ArtifactoryFactory);
            match Config::parse("t.toml", &text, &factories) {
                Ok(loaded) => prop_assert_eq!(loaded.backends["art"].kind.as_str(), "artifactory"),
                Err(err) => {
                    let lines = text.lines().count();
                    prop_assert!((1..=lines).contains(&err.line), "{err}");
                    prop_assert!(err.field.starts_with("backends.art"), "{err}");
                    let shown = err.to_string();
                    let echoes_secret = shown.contains(SECRET);
                    // Only a field that holds no secret by nature may echo its value.
                    prop_assert!(
                        !echoes_secret || err.field == "backends.art.docker_access",
                        "{shown}"
                    );
                }
            }
        }
    }
}
