//! Turning a byte offset in the file into a line and a field path (`caches[2].upstream`),
//! so every problem names where it is.
//!
//! toml reports where a problem is but not which field holds it, so the path is read back
//! from the table headers above the offset. Hand-written because no crate maps spans to
//! TOML paths; it only needs the headers and keys this config uses.

/// The 1-based line of `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The field path at `offset`: the table (with the index of an array-of-tables entry)
/// and, when the line holds `key = value`, the key.
pub(super) fn path_at(text: &str, offset: usize) -> String {
    let (table, key) = table_and_key(text, offset);
    join(&table, key.as_deref())
}

/// `table.key`, or either alone.
pub(super) fn join(table: &str, key: Option<&str>) -> String {
    match (table.is_empty(), key) {
        (true, Some(key)) => key.to_owned(),
        (true, None) => "(top level)".to_owned(),
        (false, Some(key)) => format!("{table}.{key}"),
        (false, None) => table.to_owned(),
    }
}

/// The table holding `offset`, and the key on its line if there is one.
pub(super) fn table_and_key(text: &str, offset: usize) -> (String, Option<String>) {
    let line = line_of(text, offset);
    let mut table = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    // The last `key =` seen in the current table: a value may continue over lines (a
    // multi-line array or string), and the problem is then in that key's value.
    let mut key = None;
    // What is open at the end of the line read: a multi-line string's closing delimiter,
    // and how many brackets and braces of a value.
    let mut open_string: Option<&'static str> = None;
    let mut depth = 0usize;
    for (number, raw) in text.lines().enumerate() {
        if number + 1 > line {
            break;
        }
        let mut rest = raw;
        if let Some(delimiter) = open_string {
            // Closed here, the string is followed by the rest of the value.
            match closing(raw, delimiter) {
                Some(after) => rest = after,
                None => continue,
            }
        } else if depth == 0 {
            let trimmed = raw.trim();
            if let Some(name) = trimmed
                .strip_prefix("[[")
                .and_then(|rest| rest.split("]]").next())
            {
                let name = name.trim().to_owned();
                let index = counts.entry(name.clone()).or_insert(0);
                table = format!("{name}[{index}]");
                *index += 1;
                key = None;
                continue;
            }
            if let Some(name) = trimmed
                .strip_prefix('[')
                .and_then(|rest| rest.split(']').next())
            {
                table = name.trim().to_owned();
                key = None;
                continue;
            }
            if let Some((candidate, value)) = raw.split_once('=') {
                let candidate = candidate.trim().trim_matches('"');
                let is_key = !candidate.is_empty()
                    && candidate
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c));
                if is_key {
                    key = Some(candidate.to_owned());
                    rest = value;
                }
            }
        }
        (open_string, depth) = scan_value(rest, depth);
    }
    (table, key)
}

/// Reads the rest of a line that holds (part of) a value: what is open at its end, a
/// multi-line string's delimiter and the depth of brackets and braces. Strings are
/// skipped whole, so `[`, `=`, `#` and quotes inside them count for nothing.
fn scan_value(mut rest: &str, mut depth: usize) -> (Option<&'static str>, usize) {
    loop {
        let Some(at) = rest.find(['"', '\'', '#', '[', ']', '{', '}']) else {
            return (None, depth);
        };
        let (symbol, after) = (&rest[at..at + 1], &rest[at + 1..]);
        rest = match symbol {
            "#" => return (None, depth),
            "[" | "{" => {
                depth += 1;
                after
            }
            "]" | "}" => {
                depth = depth.saturating_sub(1);
                after
            }
            quote => {
                let triple: &'static str = if quote == "\"" { "\"\"\"" } else { "'''" };
                if let Some(inside) = rest[at..].strip_prefix(triple) {
                    match closing(inside, triple) {
                        Some(after) => after,
                        None => return (Some(triple), depth),
                    }
                } else {
                    let single: &'static str = if quote == "\"" { "\"" } else { "'" };
                    // An unclosed one-line string is the parser's to report.
                    closing(after, single).unwrap_or("")
                }
            }
        };
    }
}

/// The text after the string delimiter `delimiter` that closes a string in `text`;
/// in basic strings (`"`, `"""`) a backslash escapes the character after it.
fn closing<'a>(text: &'a str, delimiter: &str) -> Option<&'a str> {
    let escapes = delimiter.starts_with('"');
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if escapes && c == '\\' {
            chars.next();
            continue;
        }
        if text[at..].starts_with(delimiter) {
            // A multi-line string may end with up to two more quotes than its delimiter.
            let end = at + delimiter.len();
            let extra = text[end..]
                .chars()
                .take(2)
                .take_while(|&next| delimiter.len() == 3 && delimiter.starts_with(next))
                .count();
            return Some(&text[end + extra..]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n[chainguard]\norg = \"o\"\n[[caches]]\nname = \"a\"\n[[caches]]\nname = \"b\"\nupstream = 5\n";

    #[test]
    fn paths_follow_the_headers() {
        let at = |needle: &str| TEXT.find(needle).unwrap();
        assert_eq!(path_at(TEXT, at("\"x\"")), "name");
        assert_eq!(path_at(TEXT, at("\"o\"")), "chainguard.org");
        assert_eq!(path_at(TEXT, at("\"a\"")), "caches[0].name");
        assert_eq!(path_at(TEXT, at("5")), "caches[1].upstream");
        assert_eq!(path_at(TEXT, at("[[caches]]\nname = \"b\"")), "caches[1]");
        assert_eq!(line_of(TEXT, at("5")), 8);
    }

    #[test]
    fn string_delimiters_inside_strings_are_text() {
        // Found by the property tests: `description = "'''"` was read as opening a
        // multi-line string, so a type error on the next line was named as the
        // description's.
        let text = "[[caches]]\nname = \"c0\"\ndescription = \"'''\"\nprobe = 5\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(path_at(text, at("5")), "caches[0].probe");
        for (description, needle) in [
            ("'a \"\"\" b'", "5\n"),
            ("\"\"\"x\n[[caches]]\nname = 7\n'''\"\"\"", "5\n"),
            ("'''x\nprobe = 1\n\"\"\"'''", "5\n"),
            ("\"a \\\" [[b]] = \\\"\"", "5\n"),
            ("\"\"\"a\"\"\"\"\"", "5\n"),
        ] {
            let text =
                format!("[[caches]]\nname = \"c0\"\ndescription = {description}\nprobe = 5\n");
            let offset = text.rfind(needle).unwrap();
            assert_eq!(path_at(&text, offset), "caches[0].probe", "{text}");
        }
        let nested = "[[caches]]\nmembers = [\n  [\"a\"],\n  7,\n]\n";
        assert_eq!(
            path_at(nested, nested.find('7').unwrap()),
            "caches[0].members"
        );
    }

    #[test]
    fn continued_values_and_long_strings_keep_their_key() {
        let text = "name = \"x\"\n[[caches]]\nname = \"a\"\nmembers = [\n  \"b\",\n  7,\n]\ndescription = \"\"\"\n[[caches]]\n\"\"\"\nprobe = 1\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(path_at(text, at("7")), "caches[0].members");
        assert_eq!(
            path_at(text, at("1\n")),
            "caches[0].probe",
            "a header inside a long string is text"
        );
    }
}
