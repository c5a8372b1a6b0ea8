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
    let mut in_long_string = false;
    for (number, raw) in text.lines().enumerate() {
        if number + 1 > line {
            break;
        }
        let trimmed = raw.trim();
        let toggles = trimmed.matches("\"\"\"").count() + trimmed.matches("'''").count();
        if in_long_string {
            in_long_string = toggles % 2 == 0;
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|rest| rest.split("]]").next())
        {
            let name = name.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{index}]");
            *index += 1;
            key = None;
        } else if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .filter(|_| !trimmed.starts_with("[\"") && !trimmed.contains('='))
        {
            table = name.trim().to_owned();
            key = None;
        } else if let Some((candidate, _)) = trimmed.split_once('=') {
            let candidate = candidate.trim().trim_matches('"');
            let is_key = !candidate.is_empty()
                && !candidate.starts_with('#')
                && candidate
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c));
            if is_key {
                key = Some(candidate.to_owned());
            }
        }
        in_long_string = toggles % 2 == 1;
    }
    (table, key)
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
