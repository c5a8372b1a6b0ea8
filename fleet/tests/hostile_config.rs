//! Property tests of the config loader, [`Config::parse`], on hostile files: any text,
//! valid configs with lines dropped, repeated or cut, and valid configs whose values hold
//! TOML's own syntax (`[[caches]]`, `key = value`, `'''`, `"""`) inside strings. No input
//! may panic; a refusal names a line of the file and a field; what loads is what was
//! written; and a type error is reported at its own line and field whatever the values
//! before it hold.
//!
//! Nothing is persisted on failure: the shrunk input is printed instead.

use proptest::prelude::*;
use pull_through_fleet::{
    BackendFactory, BackendTable, CacheIntent, Config, ConfigError, ConnectContext, Connected,
    Factories,
};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A backend type with two optional fields whose values it only requires to be strings
/// and a variable name: the vendor factories have their own property tests.
struct Example;

impl BackendFactory for Example {
    fn kind(&self) -> &str {
        "example"
    }
    fn fields(&self) -> &[&str] {
        &["url", "token_env"]
    }
    fn check(&self, table: &BackendTable) -> Result<(), ConfigError> {
        table.string("url")?;
        table.variable("token_env")?;
        Ok(())
    }
    fn connect(
        &self,
        table: &BackendTable,
        _: &ConnectContext<'_>,
    ) -> Result<Connected, ConfigError> {
        Err(table.table_error("not connected in these tests"))
    }
}

fn factories() -> Factories {
    Factories::new().with(Example)
}

/// Checks what every refusal must hold: a line of the file, a field, a message.
fn check_refusal(err: &ConfigError, text: &str) -> Result<(), TestCaseError> {
    let lines = text.split('\n').count();
    prop_assert!(
        (1..=lines).contains(&err.line),
        "line {} of {lines}: {err}",
        err.line
    );
    prop_assert!(!err.field.is_empty(), "{err}");
    prop_assert!(!err.problem.is_empty(), "{err}");
    prop_assert_eq!(err.file.as_str(), "hostile.toml");
    Ok(())
}

/// Checks what every loaded config must hold: unique cache names, members that exist on
/// the same backend, and no more caches than `[[caches]]` headers.
fn check_loaded(loaded: &Config, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(loaded.caches.len() <= text.matches("caches").count());
    for (index, cache) in loaded.caches.iter().enumerate() {
        prop_assert!(
            !loaded.caches[..index].iter().any(|c| c.name == cache.name),
            "{:?} twice",
            cache.name
        );
        prop_assert!(loaded.backends.contains_key(&cache.backend));
        if let CacheIntent::Aggregate { members } = &cache.kind {
            for member in members {
                let found = loaded.cache(member).unwrap();
                prop_assert_eq!(&found.backend, &cache.backend);
                prop_assert_eq!(found.format, cache.format);
            }
        }
    }
    Ok(())
}

const PIECES: &[&str] = &[
    "name = \"t\"\n",
    "[chainguard]\n",
    "org = \"example.com\"\n",
    "org_id = \"0123456789abcdef0123456789abcdef01234567\"\n",
    "pull_token_ttl = \"720h\"\n",
    "[backends.b]\n",
    "type = \"example\"\n",
    "[[caches]]\n",
    "name = \"a\"\n",
    "upstream = \"cgr.dev/chainguard\"\n",
    "upstream = \"cgr.dev/{org}\"\n",
    "pull_token = \"registry.pull\"\n",
    "members = [\"a\"]\n",
    "probe = \"chainguard/go:latest\"\n",
    "format = \"apk\"\n",
    "\"\"\"",
    "'''",
    "[",
    "]",
    "=",
    "\"",
    "'",
    "\n",
    "#",
    "{",
    "}",
    ",",
    "5",
    "é",
    "\r\n",
];

fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z_.]{1,6}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// TOML's basic string for any text: quotes, backslashes and control characters escaped.
fn basic_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A description as TOML writes it, in one of its four string forms, holding text that
/// looks like TOML: table headers, keys, the other form's delimiters.
fn description() -> impl Strategy<Value = String> {
    let hostile = "[a-z \\[\\]=#,{}.]{0,6}";
    let parts = |extra: &'static [&'static str]| {
        proptest::collection::vec(
            prop_oneof![
                2 => hostile.prop_map(|s: String| s),
                1 => proptest::sample::select(extra).prop_map(str::to_owned),
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    };
    prop_oneof![
        any::<String>().prop_map(|text| basic_string(&text)),
        parts(&["'''", "'", "\"", "[[caches]]", "\nname = 5\n", "\\\""])
            .prop_map(|text| basic_string(&text)),
        // A multi-line basic string may hold ''' and real newlines.
        parts(&["'''", "'", "\n", "\n[[caches]]\n", "\nname = 5\n"])
            .prop_map(|text| format!("\"\"\"{text}x\"\"\"")),
        // A multi-line literal string may hold """ and real newlines.
        parts(&["\"\"\"", "\"", "\n", "\n[[caches]]\n", "\nprobe = 5\n"])
            .prop_map(|text| format!("'''{text}x'''")),
        // A literal string may hold """.
        parts(&["\"\"\"", "\"", "[[caches]]"]).prop_map(|text| format!("'{text}'")),
    ]
}

/// One cache of a generated config.
#[derive(Debug, Clone)]
enum Kind {
    /// An upstream, its pull token and format.
    Remote(&'static str, Option<&'static str>, &'static str),
    /// Members, by index of earlier caches.
    Aggregate(Vec<prop::sample::Index>),
}

const UPSTREAMS: &[(&str, Option<&str>, &str)] = &[
    ("cgr.dev/chainguard", None, "docker"),
    ("cgr.dev/{org}", Some("registry.pull"), "docker"),
    ("apk.cgr.dev/{org}", Some("apk.pull"), "apk"),
    ("packages.wolfi.dev/os", None, "apk"),
];

fn cache_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => proptest::sample::select(UPSTREAMS).prop_map(|(u, t, f)| Kind::Remote(u, t, f)),
        1 => proptest::collection::vec(any::<prop::sample::Index>(), 1..3).prop_map(Kind::Aggregate),
    ]
}

/// A valid config: its text, the names, formats and header lines of its caches in
/// order, and the line after each cache's last field (where a field can be added).
#[derive(Debug, Clone)]
struct Generated {
    text: String,
    names: Vec<String>,
    formats: Vec<&'static str>,
    header_lines: Vec<usize>,
    end_lines: Vec<usize>,
}

fn generated() -> impl Strategy<Value = Generated> {
    proptest::collection::vec(
        (cache_kind(), proptest::option::of(description()), "[a-z0-9._-]{0,8}"),
        1..6,
    )
    .prop_map(|caches| {
        let mut text = String::from(
            "name = \"hostile\"\n[chainguard]\norg = \"example.com\"\n[backends.b]\ntype = \"example\"\nurl = \"https://h\"\n",
        );
        let mut generated = Generated {
            text: String::new(),
            names: Vec::new(),
            formats: Vec::new(),
            header_lines: Vec::new(),
            end_lines: Vec::new(),
        };
        for (index, (kind, description, suffix)) in caches.into_iter().enumerate() {
            let name = format!("c{index}{suffix}");
            generated.header_lines.push(text.matches('\n').count() + 1);
            text.push_str(&format!("[[caches]]\nname = {}\n", basic_string(&name)));
            let format = match kind {
                Kind::Aggregate(picks) if index > 0 => {
                    // Members of one format: the first pick's, and those that match it.
                    let first = picks[0].index(index);
                    let format = generated.formats[first];
                    let mut members: Vec<&str> = picks
                        .iter()
                        .map(|pick| pick.index(index))
                        .filter(|&at| generated.formats[at] == format)
                        .map(|at| generated.names[at].as_str())
                        .collect();
                    members.dedup();
                    let list: Vec<String> = members.iter().map(|m| basic_string(m)).collect();
                    text.push_str(&format!("members = [{}]\n", list.join(", ")));
                    format
                }
                Kind::Aggregate(_) => {
                    text.push_str("upstream = \"cgr.dev/chainguard\"\n");
                    "docker"
                }
                Kind::Remote(upstream, token, format) => {
                    text.push_str(&format!("upstream = \"{upstream}\"\n"));
                    if let Some(token) = token {
                        text.push_str(&format!("pull_token = \"{token}\"\n"));
                    }
                    format
                }
            };
            if let Some(description) = description {
                text.push_str(&format!("description = {description}\n"));
            }
            generated.end_lines.push(text.matches('\n').count() + 1);
            generated.names.push(name);
            generated.formats.push(format);
        }
        generated.text = text;
        generated
    })
}

/// One way to damage a file, by lines.
#[derive(Debug, Clone)]
enum Damage {
    Drop(prop::sample::Index),
    Repeat(prop::sample::Index),
    Swap(prop::sample::Index, prop::sample::Index),
    Cut(prop::sample::Index),
    Insert(prop::sample::Index, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Drop),
        any::<prop::sample::Index>().prop_map(Damage::Repeat),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Damage::Swap(a, b)),
        any::<prop::sample::Index>().prop_map(Damage::Cut),
        (any::<prop::sample::Index>(), soup()).prop_map(|(at, text)| Damage::Insert(at, text)),
    ]
}

fn apply(text: &str, damage: &Damage) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let len = lines.len();
    match damage {
        Damage::Drop(at) => {
            lines.remove(at.index(len));
        }
        Damage::Repeat(at) => {
            let line = lines[at.index(len)].clone();
            lines.insert(at.index(len), line);
        }
        Damage::Swap(a, b) => lines.swap(a.index(len), b.index(len)),
        Damage::Cut(at) => {
            let line = &mut lines[at.index(len)];
            let keep = line
                .char_indices()
                .nth(line.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            line.truncate(keep);
        }
        Damage::Insert(at, inserted) => lines.insert(at.index(len), inserted.clone()),
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_text_is_loaded_or_refused_at_a_line(text in prop_oneof![soup(), any::<String>()]) {
        match Config::parse("hostile.toml", &text, &factories()) {
            Ok(loaded) => check_loaded(&loaded, &text)?,
            Err(err) => check_refusal(&err, &text)?,
        }
    }

    #[test]
    fn generated_configs_load_as_written(config in generated()) {
        let loaded = Config::parse("hostile.toml", &config.text, &factories())
            .map_err(|err| TestCaseError::fail(format!("{err}\n{}", config.text)))?;
        check_loaded(&loaded, &config.text)?;
        let names: Vec<&str> = loaded.caches.iter().map(|c| c.name.as_str()).collect();
        prop_assert_eq!(names, config.names.iter().map(String::as_str).collect::<Vec<_>>());
        for (index, cache) in loaded.caches.iter().enumerate() {
            prop_assert_eq!(cache.format.to_string(), config.formats[index]);
            prop_assert_eq!(cache.line, config.header_lines[index], "caches[{}]", index);
        }
    }

    #[test]
    fn damaged_configs_are_loaded_or_refused_at_a_line(
        config in generated(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut text = config.text.clone();
        for damage in &damages {
            text = apply(&text, damage);
        }
        match Config::parse("hostile.toml", &text, &factories()) {
            Ok(loaded) => check_loaded(&loaded, &text)?,
            Err(err) => check_refusal(&err, &text)?,
        }
    }

    #[test]
    fn a_type_error_is_reported_at_its_line_and_field(
        config in generated(),
        which in any::<prop::sample::Index>(),
        field in proptest::sample::select(&["probe", "format", "backend"][..]),
        value in proptest::sample::select(&["5", "true", "[1, 2]", "{ a = 1 }", "1979-05-27", "-0.5"][..]),
    ) {
        // Whatever the descriptions before it hold, the wrong value is named where it is.
        // (No generated cache has these fields, so the inserted one is the only one.)
        let index = which.index(config.names.len());
        let line = config.end_lines[index];
        let mut lines: Vec<&str> = config.text.split('\n').collect();
        let inserted = format!("{field} = {value}");
        lines.insert(line - 1, &inserted);
        let text = lines.join("\n");
        match Config::parse("hostile.toml", &text, &factories()) {
            Ok(_) => prop_assert!(false, "{inserted} was accepted:\n{text}"),
            Err(err) => {
                check_refusal(&err, &text)?;
                prop_assert_eq!(&err.field, &format!("caches[{index}].{field}"), "{}\n{}", err, text);
                prop_assert_eq!(err.line, line, "{}\n{}", err, text);
            }
        }
    }
}
