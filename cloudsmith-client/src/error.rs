//! Cloudsmith's error body, `{"detail": "...", "fields": {...}, "code": "..."}`, read into
//! the core's errors with the refused fields named.

use http::StatusCode;
use pull_through_core::error::{ApiErrorClass, ErrorEnvelope, VendorError};
use serde_json::Value;

/// The most the refused fields add to a message, in bytes. Each field is named by its
/// whole path, so a body with many fields under a long key would otherwise repeat that
/// key once per field: a message of the body's size squared (a 1 MB body, gigabytes).
const MAX_FIELD_TEXT: usize = 4096;

/// Where the fields stop when there are more than [`MAX_FIELD_TEXT`] holds.
const MORE_FIELDS: &str = "… (more fields not shown)";

/// Reads Cloudsmith's `ErrorDetail`: `detail`, then every refused field as `field: message`
/// (nested objects as `parent.child`), and `code` (set on validation errors). `fields`
/// values are read as any JSON: the spec says arrays of strings, but real answers carry
/// objects too. A field message saying something "already exists" makes the error
/// [`Error::AlreadyExists`](pull_through_core::Error::AlreadyExists). Bodies in another
/// shape are left to the core, which keeps their raw text.
///
/// ```
/// use cloudsmith_client::CloudsmithErrors;
/// use pull_through_core::error::{ApiErrorClass, ErrorEnvelope};
/// let parsed = CloudsmithErrors.parse(http::StatusCode::UNPROCESSABLE_ENTITY,
///     r#"{"detail": "Invalid input.", "fields": {"slug": ["A repository with this slug already exists."]}, "code": "invalid"}"#)
///     .unwrap();
/// assert_eq!(parsed.message.as_deref(),
///     Some("Invalid input. (slug: A repository with this slug already exists.)"));
/// assert_eq!(parsed.code.as_deref(), Some("invalid"));
/// assert_eq!(parsed.class, Some(ApiErrorClass::AlreadyExists));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CloudsmithErrors;

impl ErrorEnvelope for CloudsmithErrors {
    fn parse(&self, _status: StatusCode, body: &str) -> Option<VendorError> {
        let value: Value = serde_json::from_str(body).ok()?;
        let object = value.as_object()?;
        let detail = object
            .get("detail")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let fields = object.get("fields").filter(|f| !f.is_null());
        if detail.is_none() && fields.is_none() {
            return None;
        }
        let mut lines = Lines {
            named: Vec::new(),
            left: MAX_FIELD_TEXT,
            cut: false,
        };
        if let Some(fields) = fields {
            field_messages("", fields, &mut lines);
        }
        let named = lines.named;
        let message = match (detail, named.is_empty()) {
            (Some(detail), true) => detail.to_owned(),
            (Some(detail), false) => format!("{detail} ({})", named.join("; ")),
            (None, _) => named.join("; "),
        };
        let mut parsed = VendorError::message(message);
        if let Some(code) = object.get("code").and_then(Value::as_str) {
            parsed = parsed.with_code(code);
        }
        if named
            .iter()
            .any(|text| text.to_ascii_lowercase().contains("already exists"))
        {
            parsed = parsed.with_class(ApiErrorClass::AlreadyExists);
        }
        Some(parsed)
    }

    fn request_id_headers(&self) -> &[&str] {
        &["x-request-id", "x-correlation-id"]
    }
}

/// The `field: message` lines of a body so far, and what is left of [`MAX_FIELD_TEXT`].
struct Lines {
    named: Vec<String>,
    left: usize,
    cut: bool,
}

impl Lines {
    /// Adds a line if it fits with its `; ` (the first always does, whole), else marks
    /// the cut.
    fn push(&mut self, line: String) {
        let cost = line.len() + 2;
        if self.named.is_empty() || cost <= self.left {
            self.left = self.left.saturating_sub(cost);
            self.named.push(line);
        } else {
            self.cut = true;
            self.named.push(MORE_FIELDS.to_owned());
        }
    }
}

/// Flattens `fields` into `field: message` lines: arrays of strings are joined, objects
/// nest their keys (`privileges: ...` for the `{"privileges": {"detail": ...}}` the API
/// has been seen to answer), anything else is shown as JSON. Stops at the first line
/// that does not fit what is left of [`MAX_FIELD_TEXT`].
fn field_messages(path: &str, value: &Value, lines: &mut Lines) {
    if lines.cut {
        return;
    }
    let line = |text: String| {
        if path.is_empty() {
            text
        } else {
            format!("{path}: {text}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let nested = match (path.is_empty(), key.as_str()) {
                    (true, _) => key.clone(),
                    (false, "detail") => path.to_owned(),
                    (false, _) => format!("{path}.{key}"),
                };
                field_messages(&nested, inner, lines);
                if lines.cut {
                    return;
                }
            }
        }
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            lines.push(line(texts.join(" ")));
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                field_messages(&format!("{path}[{index}]"), inner, lines);
                if lines.cut {
                    return;
                }
            }
        }
        Value::String(text) => lines.push(line(text.clone())),
        other => lines.push(line(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Option<String> {
        CloudsmithErrors
            .parse(StatusCode::UNPROCESSABLE_ENTITY, body)
            .and_then(|parsed| parsed.message)
    }

    #[test]
    fn every_shape_of_fields_names_the_field() {
        assert_eq!(
            message(r#"{"detail":"Invalid input.","fields":{"name":["Too short.","Bad."]}}"#)
                .as_deref(),
            Some("Invalid input. (name: Too short. Bad.)")
        );
        assert_eq!(
            message(r#"{"detail":"x","fields":{"privileges":{"detail":"Invalid team(s)"}}}"#)
                .as_deref(),
            Some("x (privileges: Invalid team(s))")
        );
        assert_eq!(
            message(r#"{"detail":"x","fields":{"a":{"b":["c"]},"n":3}}"#).as_deref(),
            Some("x (a.b: c; n: 3)")
        );
        assert_eq!(
            message(r#"{"fields":{"distributes":[{"slug":["unknown"]}]}}"#).as_deref(),
            Some("distributes[0].slug: unknown")
        );
        assert_eq!(
            message(r#"{"detail":"Not found."}"#).as_deref(),
            Some("Not found.")
        );
        assert_eq!(message("<html>bad gateway</html>"), None);
        assert_eq!(message(r#"{"errors":[]}"#), None);
    }

    #[test]
    fn many_fields_under_a_long_key_are_cut() {
        // Found by the property tests: 208 fields under a 23-byte key (a 4 KB body) made
        // an 8 KB message, each line repeating the key; a long key over many fields grew
        // the message with the square of the body.
        let inner: serde_json::Map<String, Value> = (0..208)
            .map(|i| (format!("f{i}"), serde_json::json!(["Invalid."])))
            .collect();
        let key = "k".repeat(23);
        let body = serde_json::json!({"fields": {key.clone(): inner}}).to_string();
        let message = message(&body).unwrap();
        assert!(message.starts_with(&format!("{key}.f0: Invalid.; {key}.f1: Invalid.")));
        assert!(message.ends_with(MORE_FIELDS), "{message}");
        assert!(
            message.len() <= MAX_FIELD_TEXT + MORE_FIELDS.len(),
            "{}",
            message.len()
        );
    }
}
