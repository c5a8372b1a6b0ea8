//! Property tests of what this crate reads from outside: Google's error envelope
//! (`{"error":{"code","message","status","details"}}`) and the Docker registry's
//! (`{"errors":[{"code","message"}]}`) on any body, and, with the `fleet` feature, the
//! `[backends.NAME] type = "gar"` table on any values. No input may panic; what is read
//! comes from the body, and a fix is built from it without growing past it.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use gar_client::{DockerErrors, GoogleErrors};
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
    "error",
    "errors",
    "message",
    "status",
    "code",
    "details",
    "@type",
    "type.googleapis.com/google.rpc.ErrorInfo",
    "reason",
    "SERVICE_DISABLED",
    "metadata",
    "service",
    "PERMISSION_DENIED",
    "ALREADY_EXISTS",
    "DENIED",
    "Permission '",
    "' denied",
    "/apis/api/",
    ".googleapis.com",
    "has not been used in project",
    "Failed to validate remote upstream",
    "",
];

/// Any JSON, its keys and strings often the envelopes' own words.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => proptest::collection::vec(proptest::sample::select(WORDS), 1..4).prop_map(|w| w.concat()),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
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
        (json_value(), json_value(), json_value(), json_value()).prop_map(
            |(code, message, status, details)| {
                json!({"error": {"code": code, "message": message, "status": status, "details": details}})
                    .to_string()
            }
        ),
        (json_value(), json_value()).prop_map(|(code, message)| {
            json!({"errors": [{"code": code, "message": message}]}).to_string()
        }),
    ]
}

fn status() -> impl Strategy<Value = StatusCode> {
    (100u16..600).prop_map(|code| StatusCode::from_u16(code).unwrap())
}

const PROJECT: &str = "my-project";
const HINT: &str = "export GOOGLE_OAUTH_ACCESS_TOKEN=...";

/// The longest text a fix adds besides what it takes from the body and the project.
const FIX_TEXT: usize = 1024;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn google_bodies_are_read_or_left_to_the_core(status in status(), body in body()) {
        let errors = GoogleErrors::new(PROJECT, HINT);
        let Some(parsed) = errors.parse(status, &body) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        let message = parsed.message.clone().unwrap_or_default();
        prop_assert_eq!(Some(message.as_str()), value["error"]["message"].as_str());
        prop_assert_eq!(parsed.code.as_deref(), value["error"]["status"].as_str());
        if let Some(fix) = &parsed.fix {
            prop_assert!(fix.len() <= body.len() + PROJECT.len() + FIX_TEXT, "{}", fix);
        }
    }

    #[test]
    fn docker_bodies_are_read_or_left_to_the_core(status in status(), body in body()) {
        let Some(parsed) = DockerErrors.parse(status, &body) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        let first = &value["errors"][0];
        prop_assert_eq!(parsed.message.as_deref(), first["message"].as_str());
        prop_assert_eq!(parsed.code.as_deref(), first["code"].as_str());
    }

    #[test]
    fn a_denial_names_the_permission_it_quotes(
        permission in "[a-z]{1,12}(\\.[a-zA-Z_]{1,12}){1,3}",
        quote in proptest::sample::select(&['\'', '"'][..]),
        before in "[A-Za-z ]{0,10}",
        after in "[A-Za-z ()]{0,20}",
    ) {
        let message = format!("{before}Permission {quote}{permission}{quote} denied{after}");
        let body = json!({"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}}).to_string();
        let parsed = GoogleErrors::new(PROJECT, HINT).parse(StatusCode::FORBIDDEN, &body).unwrap();
        prop_assert_eq!(parsed.class, Some(ApiErrorClass::PermissionDenied));
        let fix = parsed.fix.unwrap();
        prop_assert!(fix.starts_with(&format!("the account lacks {permission} in project {PROJECT}")), "{}", fix);
    }

    #[test]
    fn a_disabled_api_is_enabled_by_its_name(
        service in "[a-z]{1,16}\\.googleapis\\.com",
        status in prop_oneof![Just(StatusCode::FORBIDDEN), Just(StatusCode::UNAUTHORIZED), Just(StatusCode::NOT_FOUND)],
        linked in any::<bool>(),
    ) {
        // Named in the ErrorInfo's metadata, or only linked from the message.
        let (message, metadata) = if linked {
            (format!("API has not been used in project 1 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/{service}/overview?project=1"), json!({}))
        } else {
            ("The API is disabled.".to_owned(), json!({"service": service}))
        };
        let body = json!({"error": {"code": status.as_u16(), "message": message, "status": "PERMISSION_DENIED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "metadata": metadata}]}})
            .to_string();
        let parsed = GoogleErrors::new(PROJECT, HINT).parse(status, &body).unwrap();
        prop_assert_eq!(parsed.class, Some(ApiErrorClass::Other));
        let fix = parsed.fix.unwrap();
        let command = format!("`gcloud services enable {service} --project {PROJECT}`");
        prop_assert!(fix.contains(&command), "{}", fix);
    }
}

#[cfg(feature = "fleet")]
mod tables {
    //! `[backends.NAME] type = "gar"` through the whole config loader.

    use super::config;
    use gar_client::GarFactory;
    use proptest::prelude::*;
    use pull_through_fleet::{Config, Factories};

    const FIELDS: &[&str] = &[
        "project",
        "project_env",
        "location",
        "location_env",
        "token_env",
        "unknown",
    ];

    /// A secret pasted where a variable's name belongs.
    const SECRET: &str = "SECRETmarker0123";

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"my-project\"".to_owned()),
            Just("\"us-central1\"".to_owned()),
            Just("\"GOOGLE_OAUTH_ACCESS_TOKEN\"".to_owned()),
            Just(format!("\"{SECRET}\"")),
            Just(format!("\"ya29.{SECRET}\"")),
            "\"[a-zA-Z0-9:/@?.%_ -]{0,32}\"",
            Just("5".to_owned()),
            Just("true".to_owned()),
            Just("[\"a\"]".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn any_table_is_loaded_or_refused_at_its_field(
            fields in proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..6),
        ) {
            let mut text = String::from(
                "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.gar]\ntype = \"gar\"\n",
            );
            let mut seen = std::collections::BTreeSet::new();
            for (field, value) in &fields {
                if seen.insert(*field) {
                    text.push_str(&format!("{field} = {value}\n"));
                }
            }
            text.push_str("[[caches]]\nname = \"chainguard-pull-through\"\nupstream = \"cgr.dev/chainguard\"\n");
            let factories = Factories::new().with(GarFactory);
            match Config::parse("t.toml", &text, &factories) {
                Ok(loaded) => prop_assert_eq!(loaded.backends["gar"].kind.as_str(), "gar"),
                Err(err) => {
                    let lines = text.lines().count();
                    prop_assert!((1..=lines).contains(&err.line), "{err}");
                    prop_assert!(err.field.starts_with("backends.gar"), "{err}");
                    let shown = err.to_string();
                    // A project id or location may be echoed; a variable never is.
                    let echoing = err.field == "backends.gar.project" || err.field == "backends.gar.location";
                    prop_assert!(!shown.contains(SECRET) || echoing, "{shown}");
                }
            }
        }
    }
}
