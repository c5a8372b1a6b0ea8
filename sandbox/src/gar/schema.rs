//! Google's JSON request parsing (the proto3 JSON mapping, as its HTTP transcoding does
//! it), so the fakes refuse and accept what Google does: field names in lowerCamelCase or
//! in the proto's snake_case, enums as names or numbers, 64-bit integers as numbers or
//! strings, bytes as base64 of either alphabet, `null` as absent, output-only fields
//! ignored, one member per oneof, and an unknown name refused with Google's message.
//!
//! What comes out is the canonical form the fakes store and answer with: lowerCamelCase
//! names, enum names, int64 as decimal strings, bytes as padded standard base64.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::envelope::Refusal;

/// What a field holds.
#[derive(Debug)]
pub(crate) enum Kind {
    String,
    Bool,
    Int32,
    Int64,
    Bytes,
    Enum(&'static Enum),
    Message(&'static Message),
    /// `map<string, V>`.
    Map(&'static Kind),
    Timestamp,
    Duration,
    FieldMask,
}

/// An enum: its full proto name (Google's messages quote it) and its values.
#[derive(Debug)]
pub(crate) struct Enum {
    pub(crate) type_name: &'static str,
    pub(crate) values: &'static [(&'static str, i64)],
}

impl Enum {
    pub(crate) fn number(&self, name: &str) -> Option<i64> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    fn name(&self, number: i64) -> Option<&'static str> {
        self.values
            .iter()
            .find(|(_, v)| *v == number)
            .map(|(n, _)| *n)
    }
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// The JSON (lowerCamelCase) name.
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) repeated: bool,
    /// Output only: accepted on input and dropped, as Google does.
    pub(crate) output_only: bool,
    pub(crate) oneof: Option<&'static str>,
}

/// A field of `kind` named `name`.
pub(crate) const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        repeated: false,
        output_only: false,
        oneof: None,
    }
}

impl Field {
    pub(crate) const fn repeated(mut self) -> Field {
        self.repeated = true;
        self
    }

    pub(crate) const fn output(mut self) -> Field {
        self.output_only = true;
        self
    }

    pub(crate) const fn oneof(mut self, group: &'static str) -> Field {
        self.oneof = Some(group);
        self
    }
}

/// A message: its full proto name and fields.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) type_name: &'static str,
    pub(crate) fields: &'static [Field],
}

impl Message {
    /// The field a JSON key names, in either spelling.
    pub(crate) fn field(&self, key: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name == key || snake(f.name) == key)
    }
}

/// `remoteRepositoryConfig` → `remote_repository_config`.
pub(crate) fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `a.b` under `path`, as Google quotes it (`repository.remote_repository_config`).
fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        snake(name)
    } else {
        format!("{path}.{}", snake(name))
    }
}

fn unknown(path: &str, key: &str) -> Refusal {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at '{path}'")
    };
    Refusal::invalid_field(
        path,
        format!("Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field."),
    )
}

fn invalid(path: &str, type_name: &str, value: &Value) -> Refusal {
    Refusal::invalid_field(
        path,
        format!("Invalid value at '{path}' ({type_name}), {value}"),
    )
}

/// Parses a message at `path` (`repository` for a body bound to that field, empty for a
/// body bound to the whole request).
pub(crate) fn parse(
    value: &Value,
    message: &'static Message,
    path: &str,
) -> Result<Map<String, Value>, Refusal> {
    let Value::Object(object) = value else {
        let at = if path.is_empty() { "the body" } else { path };
        return Err(Refusal::invalid_field(
            path,
            format!(
                "Invalid JSON payload received. Expected an object for {at} ({}), got {value}.",
                message.type_name
            ),
        ));
    };
    let mut out = Map::new();
    let mut oneofs: Vec<(&str, &str)> = Vec::new();
    for (key, value) in object {
        let Some(field) = message.field(key) else {
            return Err(unknown(path, key));
        };
        if value.is_null() || field.output_only {
            continue;
        }
        let here = child(path, field.name);
        if let Some(group) = field.oneof {
            if let Some((_, other)) = oneofs
                .iter()
                .find(|(g, name)| *g == group && *name != field.name)
            {
                return Err(Refusal::invalid_field(
                    &here,
                    format!(
                        "Invalid JSON payload received. Oneof field '{group}' is already set. \
                         Cannot set '{}' (already set: '{}').",
                        snake(field.name),
                        snake(other)
                    ),
                ));
            }
            oneofs.push((group, field.name));
        }
        let parsed = if field.repeated {
            let Value::Array(items) = value else {
                return Err(invalid(&here, "TYPE_REPEATED", value));
            };
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| parse_kind(item, &field.kind, &format!("{here}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            parse_kind(value, &field.kind, &here)?
        };
        out.insert(field.name.to_owned(), parsed);
    }
    Ok(out)
}

fn parse_kind(value: &Value, kind: &Kind, path: &str) -> Result<Value, Refusal> {
    match kind {
        Kind::String | Kind::Timestamp | Kind::FieldMask => match value {
            Value::String(_) => Ok(value.clone()),
            _ => Err(invalid(path, "TYPE_STRING", value)),
        },
        Kind::Duration => match value.as_str() {
            Some(text)
                if text
                    .strip_suffix('s')
                    .is_some_and(|n| n.parse::<f64>().is_ok()) =>
            {
                Ok(value.clone())
            }
            _ => Err(invalid(
                path,
                "type.googleapis.com/google.protobuf.Duration",
                value,
            )),
        },
        Kind::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(invalid(path, "TYPE_BOOL", value)),
        },
        Kind::Int32 => integer(value)
            .and_then(|n| i32::try_from(n).ok())
            .map(Value::from)
            .ok_or_else(|| invalid(path, "TYPE_INT32", value)),
        Kind::Int64 => integer(value)
            .map(|n| Value::String(n.to_string()))
            .ok_or_else(|| invalid(path, "TYPE_INT64", value)),
        Kind::Bytes => value
            .as_str()
            .and_then(decode_bytes)
            .map(|bytes| Value::String(base64::prelude::BASE64_STANDARD.encode(bytes)))
            .ok_or_else(|| invalid(path, "TYPE_BYTES", value)),
        Kind::Enum(enumeration) => {
            let name = match value {
                Value::String(name) => enumeration.number(name).map(|_| name.as_str()),
                Value::Number(_) => integer(value).and_then(|n| enumeration.name(n)),
                _ => None,
            };
            name.map(|name| Value::String(name.to_owned()))
                .ok_or_else(|| {
                    invalid(
                        path,
                        &format!("type.googleapis.com/{}", enumeration.type_name),
                        value,
                    )
                })
        }
        Kind::Message(message) => parse(value, message, path).map(Value::Object),
        Kind::Map(inner) => {
            let Value::Object(entries) = value else {
                return Err(invalid(path, "TYPE_MAP", value));
            };
            let mut out = Map::new();
            for (key, entry) in entries {
                out.insert(
                    key.clone(),
                    parse_kind(entry, inner, &format!("{path}[{key}]"))?,
                );
            }
            Ok(Value::Object(out))
        }
    }
}

/// An integer given as a JSON number or a decimal string (the proto3 JSON mapping takes
/// both for every integer type).
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Bytes as the proto3 JSON mapping reads them: standard or URL-safe base64, padded or
/// not.
pub(crate) fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = text.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()
}

/// Rewrites every enum name in an answer as its number, for a client that asked with
/// `$alt=json;enum-encoding=int` (what Google's generated REST clients ask).
pub(crate) fn enums_as_numbers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let number = field.as_str().and_then(|name| {
                    ENUM_FIELDS
                        .iter()
                        .filter(|(field_name, _)| field_name == key)
                        .find_map(|(_, enumeration)| enumeration.number(name))
                });
                match number {
                    Some(number) => *field = Value::from(number),
                    None => enums_as_numbers(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(enums_as_numbers),
        _ => {}
    }
}

/// The enum fields the fakes answer with, by JSON name.
const ENUM_FIELDS: &[(&str, &Enum)] = &[
    ("format", &super::messages::FORMAT),
    ("mode", &super::messages::MODE),
    ("publicRepository", &super::messages::PUBLIC_REPOSITORY_ANY),
    ("enablementConfig", &super::messages::ENABLEMENT_CONFIG),
    ("enablementState", &super::messages::ENABLEMENT_STATE),
    ("state", &super::messages::VERSION_STATE),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static INNER: Message = Message {
        type_name: "test.Inner",
        fields: &[field("uri", Kind::String)],
    };
    static COLOR: Enum = Enum {
        type_name: "test.Color",
        values: &[("COLOR_UNSPECIFIED", 0), ("RED", 1), ("BLUE", 3)],
    };
    static OUTER: Message = Message {
        type_name: "test.Outer",
        fields: &[
            field("someName", Kind::String),
            field("color", Kind::Enum(&COLOR)),
            field("size", Kind::Int64),
            field("data", Kind::Bytes),
            field("createTime", Kind::Timestamp).output(),
            field("first", Kind::Message(&INNER)).oneof("source"),
            field("second", Kind::Message(&INNER)).oneof("source"),
            field("tags", Kind::Map(&Kind::String)),
            field("list", Kind::Int32).repeated(),
        ],
    };

    #[test]
    fn both_spellings_enum_numbers_and_int64_strings_are_canonical() {
        let parsed = parse(
            &json!({"some_name": "x", "color": 3, "size": 5, "data": "aGk_",
                    "createTime": "2026-01-01T00:00:00Z", "tags": {"a": "b"}, "list": ["7"],
                    "first": {"uri": "u"}, "second": null}),
            &OUTER,
            "outer",
        )
        .unwrap();
        assert_eq!(
            Value::Object(parsed),
            json!({"someName": "x", "color": "BLUE", "size": "5", "data": "aGk/",
                   "tags": {"a": "b"}, "list": [7], "first": {"uri": "u"}})
        );
    }

    #[test]
    fn refusals_quote_the_path_like_google() {
        let message = |value| parse(&value, &OUTER, "outer").unwrap_err().message;
        assert_eq!(
            message(json!({"first": {"url": "u"}})),
            "Invalid JSON payload received. Unknown name \"url\" at 'outer.first': Cannot find field."
        );
        assert_eq!(
            message(json!({"color": "GREEN"})),
            "Invalid value at 'outer.color' (type.googleapis.com/test.Color), \"GREEN\""
        );
        assert_eq!(
            message(json!({"color": 2})),
            "Invalid value at 'outer.color' (type.googleapis.com/test.Color), 2"
        );
        assert_eq!(
            message(json!({"someName": 5})),
            "Invalid value at 'outer.some_name' (TYPE_STRING), 5"
        );
        assert!(message(json!({"first": {}, "second": {}})).contains("Oneof field 'source'"));
        assert!(message(json!({"list": [1.5]})).contains("TYPE_INT32"));
        assert!(message(json!({"data": "not base64!"})).contains("TYPE_BYTES"));
        let top = parse(&json!({"x": 1}), &OUTER, "").unwrap_err().message;
        assert_eq!(
            top,
            "Invalid JSON payload received. Unknown name \"x\": Cannot find field."
        );
    }

    #[test]
    fn answers_can_carry_enum_numbers() {
        let mut answer = json!({"format": "DOCKER", "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": "DOCKER_HUB"}},
            "versions": [{"state": "DISABLED"}], "description": "DOCKER"});
        enums_as_numbers(&mut answer);
        assert_eq!(
            answer,
            json!({"format": 1, "mode": 3,
                   "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": 1}},
                   "versions": [{"state": 2}], "description": "DOCKER"})
        );
    }
}
