//! Cloudsmith's answers for what went wrong, and the field checks that produce them.
//!
//! The API is Django REST framework: a refusal is `{"detail": ...}`, a validation failure
//! a 422 `{"detail", "fields": {<field>: [<message>, ...]}, "code": "invalid"}` naming
//! every field that failed at once, with DRF's own wording. Fields the API does not know
//! are dropped without a word, as the real server does; the fake keeps only the ones it
//! checked.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// `{"detail": message}` with `status`.
pub(crate) fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": message }))).into_response()
}

/// DRF's 404.
pub(crate) fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

/// The 403 of a namespace the key may not act in.
pub(crate) fn forbidden() -> Response {
    detail(
        StatusCode::FORBIDDEN,
        "You do not have permission to perform this action.",
    )
}

/// The messages of a failed validation, by field.
#[derive(Debug, Default)]
pub(crate) struct Fields(BTreeMap<String, Vec<String>>);

impl Fields {
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The 422 answer.
    pub(crate) fn into_response(self) -> Response {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "detail": "Invalid input.",
                "fields": self.0,
                "code": "invalid",
            })),
        )
            .into_response()
    }
}

/// The request body as a JSON object, or the 400 DRF gives: a parse error for what is
/// not JSON, `non_field_errors` for JSON that is not an object. The contract between the
/// client and the fake puts `fields` and `code` in every error envelope.
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
pub(crate) fn parse_object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    let refused = |message: String, fields: Value| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"detail": message, "fields": fields, "code": "invalid"})),
        )
            .into_response()
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Number(_) => "int",
                Value::Bool(_) => "bool",
                _ => "NoneType",
            };
            let message = format!("Invalid data. Expected a dictionary, but got {kind}.");
            Err(refused(
                message.clone(),
                json!({ "non_field_errors": [message] }),
            ))
        }
        Err(err) => Err(refused(format!("JSON parse error - {err}"), json!({}))),
    }
}

/// What a field holds, with the constraints the spec gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string of `min..=max` characters matching `pattern`. DRF refuses a blank string
    /// unless `min` is 0; the pattern is checked on non-blank strings.
    Text {
        min: usize,
        max: Option<usize>,
        pattern: Option<Pattern>,
    },
    /// One of these strings, spelled exactly.
    Choice(&'static [&'static str]),
    /// An integer in `min..=max`. JSON numbers only: DRF would also take `"1"`, but our
    /// own client must send numbers, so the fake refuses the string.
    Integer { min: i64, max: i64 },
    /// `true` or `false` (JSON booleans only, for the same reason).
    Boolean,
    /// An absolute `http(s)` URL of at most `max` characters.
    Url { max: usize },
}

/// A named pattern from the spec, with DRF's message when it does not match.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pattern {
    /// `^\w[\w \-'\.\/()]+$`: repository and upstream names (so at least 2 characters).
    Name,
    /// Lower-case letters, digits, `-` and `_`, at least 2 characters: repository slugs.
    Slug,
    /// `^[-\w]+$`: extra header names.
    HeaderName,
    /// `^[^\n\r]+$`: extra header values.
    OneLine,
}

/// Python's `\w` on `str`: a Unicode letter or digit, or `_`.
fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Pattern {
    pub(crate) fn matches(self, text: &str) -> bool {
        match self {
            Pattern::Name => {
                let mut chars = text.chars();
                chars.next().is_some_and(word)
                    && chars.clone().next().is_some()
                    && chars.all(|c| word(c) || " -'./()".contains(c))
            }
            Pattern::Slug => {
                text.chars().count() >= 2
                    && text.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    })
            }
            Pattern::HeaderName => !text.is_empty() && text.chars().all(|c| word(c) || c == '-'),
            Pattern::OneLine => !text.is_empty() && !text.contains(['\n', '\r']),
        }
    }

    fn message(self) -> &'static str {
        match self {
            Pattern::Slug => {
                "Enter a valid slug: at least 2 characters, each a lower-case letter, a \
                 digit, a hyphen or an underscore."
            }
            _ => "This value does not match the required pattern.",
        }
    }
}

/// One field a body may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) nullable: bool,
}

impl Spec {
    pub(crate) const fn new(name: &'static str, kind: Kind) -> Spec {
        Spec {
            name,
            kind,
            required: false,
            nullable: false,
        }
    }

    pub(crate) const fn required(mut self) -> Spec {
        self.required = true;
        self
    }

    pub(crate) const fn nullable(mut self) -> Spec {
        self.nullable = true;
        self
    }
}

/// A text field of `min..=max` characters.
pub(crate) const fn text(name: &'static str, min: usize, max: Option<usize>) -> Spec {
    Spec::new(
        name,
        Kind::Text {
            min,
            max,
            pattern: None,
        },
    )
}

/// A text field that must match `pattern`.
pub(crate) const fn patterned(
    name: &'static str,
    min: usize,
    max: Option<usize>,
    pattern: Pattern,
) -> Spec {
    Spec::new(
        name,
        Kind::Text {
            min,
            max,
            pattern: Some(pattern),
        },
    )
}

/// A field holding one of `choices`.
pub(crate) const fn choice(name: &'static str, choices: &'static [&'static str]) -> Spec {
    Spec::new(name, Kind::Choice(choices))
}

/// A boolean field.
pub(crate) const fn boolean(name: &'static str) -> Spec {
    Spec::new(name, Kind::Boolean)
}

/// Checks `body` against `specs` (a PATCH when `partial`: nothing is required) and
/// answers the fields it knows, checked; anything else in the body is dropped, as the
/// real API ignores fields it does not know.
pub(crate) fn check(
    body: &Map<String, Value>,
    specs: &[Spec],
    partial: bool,
) -> Result<Map<String, Value>, Fields> {
    let mut fields = Fields::default();
    let mut kept = Map::new();
    for spec in specs {
        match body.get(spec.name) {
            None => {
                if spec.required && !partial {
                    fields.add(spec.name, "This field is required.");
                }
            }
            Some(Value::Null) if spec.nullable => {
                kept.insert(spec.name.to_owned(), Value::Null);
            }
            Some(Value::Null) => fields.add(spec.name, "This field may not be null."),
            Some(value) => match problem(spec.kind, value) {
                Some(message) => fields.add(spec.name, message),
                None => {
                    kept.insert(spec.name.to_owned(), value.clone());
                }
            },
        }
    }
    if fields.is_empty() {
        Ok(kept)
    } else {
        Err(fields)
    }
}

/// What is wrong with a non-null `value` of `kind`, in DRF's words.
fn problem(kind: Kind, value: &Value) -> Option<String> {
    match kind {
        Kind::Text { min, max, pattern } => {
            let Some(text) = value.as_str() else {
                return Some("Not a valid string.".to_owned());
            };
            let length = text.chars().count();
            if text.trim().is_empty() && min > 0 {
                return Some("This field may not be blank.".to_owned());
            }
            if let Some(max) = max.filter(|max| length > *max) {
                return Some(format!(
                    "Ensure this field has no more than {max} characters."
                ));
            }
            if length < min {
                return Some(format!("Ensure this field has at least {min} characters."));
            }
            pattern
                .filter(|pattern| !text.is_empty() && !pattern.matches(text))
                .map(|pattern| pattern.message().to_owned())
        }
        Kind::Choice(choices) => match value.as_str() {
            Some(choice) if choices.contains(&choice) => None,
            _ => Some(format!("\"{}\" is not a valid choice.", shown(value))),
        },
        Kind::Integer { min, max } => match value.as_i64() {
            None => Some("A valid integer is required.".to_owned()),
            Some(n) if n < min => Some(format!(
                "Ensure this value is greater than or equal to {min}."
            )),
            Some(n) if n > max => {
                Some(format!("Ensure this value is less than or equal to {max}."))
            }
            Some(_) => None,
        },
        Kind::Boolean => (!value.is_boolean()).then(|| "Must be a valid boolean.".to_owned()),
        Kind::Url { max } => {
            let Some(text) = value.as_str() else {
                return Some("Not a valid string.".to_owned());
            };
            if text.chars().count() > max {
                return Some(format!(
                    "Ensure this field has no more than {max} characters."
                ));
            }
            let parsed = url::Url::parse(text).ok().filter(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|host| !host.is_empty())
                    && !text.contains(char::is_whitespace)
            });
            parsed.is_none().then(|| "Enter a valid URL.".to_owned())
        }
    }
}

/// A JSON value as DRF quotes it in a choice error: strings bare, others as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_pattern_needs_two_characters_starting_with_a_word_character() {
        for good in ["ab", "cgr public", "Chainguard (prod)", "a.b/c-d'e", "é_1"] {
            assert!(Pattern::Name.matches(good), "{good}");
        }
        for bad in ["a", "", "-ab", " ab", "a#b", "a\nb"] {
            assert!(!Pattern::Name.matches(bad), "{bad:?}");
        }
    }

    #[test]
    fn slugs_are_lower_case_and_at_least_two_characters() {
        for good in ["ab", "cgr-images", "a_1"] {
            assert!(Pattern::Slug.matches(good), "{good}");
        }
        for bad in ["a", "Ab", "a b", "a.b", "é1"] {
            assert!(!Pattern::Slug.matches(bad), "{bad}");
        }
    }

    #[test]
    fn every_failed_field_is_named_and_unknown_fields_are_dropped() {
        let specs = [
            patterned("name", 1, Some(64), Pattern::Name).required(),
            Spec::new("priority", Kind::Integer { min: 1, max: 32767 }),
            Spec::new("mode", Kind::Choice(&["Proxy Only", "Cache and Proxy"])),
            Spec::new("verify_ssl", Kind::Boolean),
            text("auth_username", 0, Some(64)).nullable(),
            Spec::new("upstream_url", Kind::Url { max: 200 }).required(),
        ];
        let body = json!({"priority": 0, "mode": "cache", "verify_ssl": "yes",
            "auth_username": null, "upstream_url": "cgr.dev", "extra": 1});
        let fields = check(body.as_object().unwrap(), &specs, false).unwrap_err();
        assert_eq!(
            serde_json::to_value(&fields.0).unwrap(),
            json!({
                "name": ["This field is required."],
                "priority": ["Ensure this value is greater than or equal to 1."],
                "mode": ["\"cache\" is not a valid choice."],
                "verify_ssl": ["Must be a valid boolean."],
                "upstream_url": ["Enter a valid URL."],
            })
        );
        let body = json!({"name": "ok", "upstream_url": "https://cgr.dev", "extra": 1});
        let kept = check(body.as_object().unwrap(), &specs, false).unwrap();
        assert_eq!(
            Value::Object(kept),
            json!({"name": "ok", "upstream_url": "https://cgr.dev"})
        );
        assert!(check(&Map::new(), &specs, true).is_ok());
    }
}
