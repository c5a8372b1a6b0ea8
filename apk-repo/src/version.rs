//! apk version ordering, with apk-tools 3 rules.
//!
//! A version is `N{.N}[letter[N]]{_suffix[N]}[~hash][-rN]`: numbers separated by dots, a
//! lower-case letter after a number (which a number may follow directly, as in OpenSSH's
//! `8.0p2` and `0.99f7` in Alpine's own index), any number of suffixes, at most one `~`
//! commit hash of hex digits, and at most one revision, last. Anything else is
//! invalid and reported as such; apk falls back to comparing invalid versions as plain
//! strings, which this module refuses to guess.
//!
//! Ordering, component by component:
//! - numbers numerically, except that when either has a leading `0` (first component
//!   excepted) the two compare as strings: `1.05 < 1.5`, `8.2.0 < 8.2.001`;
//! - letters by byte; suffix numbers and revisions numerically; hashes as strings;
//! - suffixes `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`;
//! - when one version runs out or the kinds differ, a pre-release suffix (`alpha`, `beta`,
//!   `pre`, `rc`) makes its side older (`1.0_rc1 < 1.0`), and otherwise the side whose next
//!   component comes earlier in the grammar is newer (`1.0.1 > 1.0a > 1.0_p1 > 1.0-r1 > 1.0`).
//!
//! Written from those rules, not from apk-tools' code (GPL); the vectors in the tests are
//! this crate's own.
//!
//! ```
//! use apk_repo::version::{Version, compare};
//! use std::cmp::Ordering;
//!
//! assert_eq!(compare("1.2.3-r1", "1.2.3-r0")?, Ordering::Greater);
//! assert_eq!(compare("2.0_rc1", "2.0")?, Ordering::Less);
//! assert!(Version::parse("1.0bc").is_err());
//!
//! let mut versions: Vec<Version> = ["1.0", "1.0-r1", "1.0_rc2", "0.9.9"]
//!     .into_iter()
//!     .map(Version::parse)
//!     .collect::<Result<_, _>>()?;
//! versions.sort();
//! assert_eq!(versions.iter().map(Version::as_str).collect::<Vec<_>>(),
//!     ["0.9.9", "1.0_rc2", "1.0", "1.0-r1"]);
//! # Ok::<(), apk_repo::version::VersionError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;

/// Why a version string is not a valid apk version.
///
/// ```
/// let err = apk_repo::version::validate("1.0-r").unwrap_err();
/// assert_eq!((err.version.as_str(), err.position), ("1.0-r", 5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{version:?} is not a valid apk version: {problem} (at byte {position})")]
#[non_exhaustive]
pub struct VersionError {
    /// The version as given.
    pub version: String,
    /// Where parsing stopped.
    pub position: usize,
    /// What was expected there.
    pub problem: String,
}

/// A suffix, in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl Suffix {
    fn from_name(name: &str) -> Option<Suffix> {
        Some(match name {
            "alpha" => Suffix::Alpha,
            "beta" => Suffix::Beta,
            "pre" => Suffix::Pre,
            "rc" => Suffix::Rc,
            "cvs" => Suffix::Cvs,
            "svn" => Suffix::Svn,
            "git" => Suffix::Git,
            "hg" => Suffix::Hg,
            "p" => Suffix::P,
            _ => return None,
        })
    }

    fn is_pre_release(self) -> bool {
        self <= Suffix::Rc
    }
}

/// One component, in grammar order: the derived order of the variants is the grammar
/// order, which decides which side is newer when the kinds differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Number(&'a str),
    Letter(u8),
    Suffix(Suffix),
    SuffixNumber(&'a str),
    Hash(&'a str),
    Revision(&'a str),
    End,
}

impl Token<'_> {
    fn rank(&self) -> u8 {
        match self {
            Token::Number(_) => 0,
            Token::Letter(_) => 1,
            Token::Suffix(_) => 2,
            Token::SuffixNumber(_) => 3,
            Token::Hash(_) => 4,
            Token::Revision(_) => 5,
            Token::End => 6,
        }
    }
}

/// Splits a version into tokens, checking the grammar.
fn tokenize(version: &str) -> Result<Vec<Token<'_>>, VersionError> {
    let bytes = version.as_bytes();
    let fail = |position: usize, problem: &str| VersionError {
        version: version.to_owned(),
        position,
        problem: problem.to_owned(),
    };
    let digits_end = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut tokens = Vec::new();
    let mut at = digits_end(0);
    if at == 0 {
        return Err(fail(0, "a version starts with a number"));
    }
    tokens.push(Token::Number(&version[..at]));
    loop {
        if at < bytes.len() && bytes[at] == b'.' {
            let end = digits_end(at + 1);
            if end == at + 1 {
                return Err(fail(at + 1, "a number must follow '.'"));
            }
            tokens.push(Token::Number(&version[at + 1..end]));
            at = end;
        } else if at < bytes.len() && bytes[at].is_ascii_lowercase() {
            tokens.push(Token::Letter(bytes[at]));
            at += 1;
            // A number may follow the letter directly (`0.99f7`, `6.8.0p2` in Alpine's own
            // v3.16 index). The apk-tools tokenizers read for this accept it; whether apk 3
            // master still does is not confirmed (the reference does not say), so real
            // indexes are what decides here.
            let end = digits_end(at);
            if end == at {
                break;
            }
            tokens.push(Token::Number(&version[at..end]));
            at = end;
        } else {
            break;
        }
    }
    while at < bytes.len() && bytes[at] == b'_' {
        let name_end = at
            + 1
            + bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase())
                .count();
        let suffix = Suffix::from_name(&version[at + 1..name_end]).ok_or_else(|| {
            fail(
                at + 1,
                "a suffix is one of _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg, _p",
            )
        })?;
        tokens.push(Token::Suffix(suffix));
        let end = digits_end(name_end);
        if end > name_end {
            tokens.push(Token::SuffixNumber(&version[name_end..end]));
        }
        at = end;
    }
    if at < bytes.len() && bytes[at] == b'~' {
        let end = at
            + 1
            + bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count();
        if end == at + 1 {
            return Err(fail(
                at + 1,
                "a commit hash of lower-case hex digits must follow '~'",
            ));
        }
        tokens.push(Token::Hash(&version[at + 1..end]));
        at = end;
    }
    if version[at..].starts_with("-r") {
        let end = digits_end(at + 2);
        if end == at + 2 {
            return Err(fail(at + 2, "a revision number must follow '-r'"));
        }
        tokens.push(Token::Revision(&version[at + 2..end]));
        at = end;
    }
    if at != bytes.len() {
        return Err(fail(
            at,
            "expected the end here; the order is numbers, a letter, _suffixes, ~hash, -rN",
        ));
    }
    tokens.push(Token::End);
    Ok(tokens)
}

/// Compares digit strings as numbers of any size.
fn numeric(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares two token streams; `fuzzy` makes `b` running out mean equal (prefix match).
fn compare_tokens(a: &[Token<'_>], b: &[Token<'_>], fuzzy: bool) -> Ordering {
    for (index, (ta, tb)) in a.iter().zip(b).enumerate() {
        let order = match (ta, tb) {
            (Token::Number(x), Token::Number(y)) => {
                if index > 0 && (x.starts_with('0') || y.starts_with('0')) {
                    x.as_bytes().cmp(y.as_bytes())
                } else {
                    numeric(x, y)
                }
            }
            (Token::Letter(x), Token::Letter(y)) => x.cmp(y),
            (Token::Suffix(x), Token::Suffix(y)) => x.cmp(y),
            (Token::SuffixNumber(x), Token::SuffixNumber(y))
            | (Token::Revision(x), Token::Revision(y)) => numeric(x, y),
            (Token::Hash(x), Token::Hash(y)) => x.cmp(y),
            (Token::End, Token::End) => return Ordering::Equal,
            (_, Token::End) if fuzzy => return Ordering::Equal,
            (Token::Suffix(s), _) if s.is_pre_release() => return Ordering::Less,
            (_, Token::Suffix(s)) if s.is_pre_release() => return Ordering::Greater,
            // A component that comes earlier in the grammar means more version: newer.
            _ => return tb.rank().cmp(&ta.rank()),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// Compares two apk versions.
///
/// # Errors
///
/// [`VersionError`] naming the first invalid version and where it breaks the grammar.
///
/// ```
/// use apk_repo::version::compare;
/// use std::cmp::Ordering;
/// assert_eq!(compare("1.0_p1", "1.0")?, Ordering::Greater);
/// assert!(compare("1.0", "0.1-r").is_err());
/// # Ok::<(), apk_repo::version::VersionError>(())
/// ```
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(compare_tokens(&tokenize(a)?, &tokenize(b)?, false))
}

/// Whether `version` fuzzily matches `prefix` (apk's `~` operator): equal token by token
/// for as long as `prefix` has tokens.
///
/// # Errors
///
/// [`VersionError`] for an invalid version.
///
/// ```
/// use apk_repo::version::fuzzy_match;
/// assert!(fuzzy_match("3.6.9", "3.6")?);
/// assert!(fuzzy_match("3.6_pre1", "3.6")?);
/// assert!(!fuzzy_match("3.8", "3.8.1")?);
/// # Ok::<(), apk_repo::version::VersionError>(())
/// ```
pub fn fuzzy_match(version: &str, prefix: &str) -> Result<bool, VersionError> {
    Ok(compare_tokens(&tokenize(version)?, &tokenize(prefix)?, true) == Ordering::Equal)
}

/// Checks a version against the grammar.
///
/// # Errors
///
/// [`VersionError`] saying where and why it is invalid.
///
/// ```
/// assert!(apk_repo::version::validate("0.1_git20240101_pre1").is_ok());
/// assert!(apk_repo::version::validate("0.1_foobar").is_err());
/// ```
pub fn validate(version: &str) -> Result<(), VersionError> {
    tokenize(version).map(drop)
}

/// A valid apk version, ordered by apk's rules (not by its text).
///
/// Equality follows the ordering: two versions are equal when apk says so.
///
/// ```
/// use apk_repo::version::Version;
/// let newest = ["1.24.5-r4", "1.25.0-r0", "1.24.5-r5"]
///     .into_iter()
///     .map(Version::parse)
///     .collect::<Result<Vec<_>, _>>()?
///     .into_iter()
///     .max()
///     .unwrap();
/// assert_eq!(newest.as_str(), "1.25.0-r0");
/// # Ok::<(), apk_repo::version::VersionError>(())
/// ```
#[derive(Clone)]
pub struct Version(String);

impl Version {
    /// Parses and validates a version.
    ///
    /// # Errors
    ///
    /// [`VersionError`] for an invalid version.
    ///
    /// ```
    /// let err = apk_repo::version::Version::parse(".1").unwrap_err();
    /// assert_eq!(err.position, 0);
    /// ```
    pub fn parse(text: impl Into<String>) -> Result<Self, VersionError> {
        let text = text.into();
        validate(&text)?;
        Ok(Version(text))
    }

    /// The version as written.
    ///
    /// ```
    /// assert_eq!(apk_repo::version::Version::parse("1.0-r0")?.as_str(), "1.0-r0");
    /// # Ok::<(), apk_repo::version::VersionError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn tokens(&self) -> Vec<Token<'_>> {
        tokenize(&self.0).expect("validated on construction")
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_tokens(&self.tokens(), &other.tokens(), false)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:?})", self.0)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    /// Written from the rules in the module docs, one or more per rule.
    const ORDERED: &[(&str, Ordering, &str)] = &[
        // numbers
        ("1", Less, "2"),
        ("1.9", Less, "1.10"),
        ("1.0", Less, "1.0.0"),
        ("2.0", Greater, "1.99.99"),
        ("12345678901234567890.1", Greater, "12345678901234567889.9"),
        // leading zeros compare as strings, except in the first component
        ("1.05", Less, "1.5"),
        ("8.2.0", Less, "8.2.001"),
        ("8.2.0015", Less, "8.2.002"),
        ("01.0", Equal, "1.0"),
        // letters
        ("1.0a", Less, "1.0b"),
        ("1.0a", Greater, "1.0"),
        ("1.2a", Less, "1.2.1"),
        // a number right after the letter (real Alpine versions)
        ("6.8.0p2", Less, "6.8.0p10"),
        ("0.99f7-r0", Less, "0.99f8-r0"),
        ("8.0p1", Greater, "8.0"),
        ("8.0p1", Less, "8.1"),
        ("8.0p1", Greater, "8.0_p1"),
        // suffixes
        ("1.0_alpha", Less, "1.0_beta"),
        ("1.0_beta", Less, "1.0_pre"),
        ("1.0_pre", Less, "1.0_rc"),
        ("1.0_rc", Less, "1.0"),
        ("1.0", Less, "1.0_cvs"),
        ("1.0_cvs", Less, "1.0_svn"),
        ("1.0_svn", Less, "1.0_git"),
        ("1.0_git", Less, "1.0_hg"),
        ("1.0_hg", Less, "1.0_p"),
        ("1.0_rc2", Less, "1.0_rc10"),
        ("1.0_rc1", Less, "1.0"),
        ("1.0_p", Less, "1.0_p1"),
        ("1.0_p1", Greater, "1.0"),
        ("1.0a", Greater, "1.0_p1"),
        ("0.1.0_alpha_pre2", Less, "0.1.0_alpha"),
        ("0.1_git20240101_pre1", Less, "0.1_git20240101"),
        ("1.0_git20240101", Less, "1.0_git20240202"),
        // hashes
        ("1.0~1234", Less, "1.0~2345"),
        ("0.1_pre2~1234abcd", Greater, "0.1_pre2"),
        // revisions
        ("1.0-r0", Greater, "1.0"),
        ("1.0-r2", Less, "1.0-r10"),
        ("1.0-r1", Less, "1.0.1"),
        ("1.0_p1", Greater, "1.0-r9"),
        ("1.0_rc1-r5", Less, "1.0-r0"),
        ("1.24.5-r5", Less, "1.25.0-r0"),
        // equal
        ("1.2.3-r4", Equal, "1.2.3-r4"),
        ("1.0-r04", Equal, "1.0-r4"),
    ];

    #[test]
    fn ordering_table() {
        for &(a, expected, b) in ORDERED {
            assert_eq!(compare(a, b).unwrap(), expected, "{a} vs {b}");
            assert_eq!(compare(b, a).unwrap(), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn invalid_versions_say_where() {
        let cases = [
            ("", 0),
            (".1", 0),
            ("1.", 2),
            ("1..2", 2),
            ("1.0bc", 4),
            ("0.1-r2_pre1", 6),
            ("0.1-r", 5),
            ("0.1_foobar", 4),
            ("1.0~", 4),
            ("1.0~XYZ", 4),
            ("1.0 ", 3),
            ("1.0-r1-r2", 6),
            ("1.2a.3", 4),
            ("v1.0", 0),
        ];
        for (version, position) in cases {
            let err = validate(version).expect_err(version);
            assert_eq!(err.position, position, "{version}: {err}");
            assert!(err.to_string().contains("not a valid apk version"));
        }
    }

    #[test]
    fn fuzzy() {
        assert!(fuzzy_match("3.6.9", "3.6").unwrap());
        assert!(fuzzy_match("3.6", "3.6").unwrap());
        assert!(fuzzy_match("3.6-r3", "3.6").unwrap());
        assert!(!fuzzy_match("3.7", "3.6").unwrap());
        assert!(!fuzzy_match("3.8", "3.8.1").unwrap());
    }

    #[test]
    fn sorting_is_total_on_a_mixed_list() {
        let mut list: Vec<Version> = [
            "1.0-r1",
            "1.0_rc1",
            "1.0",
            "0.9",
            "1.0a",
            "1.0.1",
            "1.0_p1",
            "1.0_alpha",
        ]
        .into_iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
        list.sort();
        let sorted: Vec<&str> = list.iter().map(Version::as_str).collect();
        assert_eq!(
            sorted,
            [
                "0.9",
                "1.0_alpha",
                "1.0_rc1",
                "1.0",
                "1.0-r1",
                "1.0_p1",
                "1.0a",
                "1.0.1"
            ]
        );
    }
}
