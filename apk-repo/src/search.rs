//! `apk search` and `apk policy` over parsed indexes.
//!
//! ```
//! use apk_repo::index::{ApkIndex, Package};
//! use apk_repo::search::{SearchOptions, policy, search};
//!
//! let mut index = ApkIndex::default();
//! for (name, version) in [("wget", "1.24.5-r4"), ("wget", "1.24.5-r5"), ("wgetpaste", "2.3-r0")] {
//!     let mut package = Package::default();
//!     package.name = name.into();
//!     package.version = version.into();
//!     index.packages.push(package);
//! }
//! let found = search(&index.packages, &["wget"], SearchOptions::default())?;
//! assert_eq!(found.iter().map(|p| p.file_name()).collect::<Vec<_>>(),
//!     ["wget-1.24.5-r5.apk", "wgetpaste-2.3-r0.apk"]);
//!
//! let report = policy("wget", &[("https://apk.cgr.dev/example.com", &index)]);
//! assert_eq!(report.to_string(),
//!     "wget policy:\n  1.24.5-r5:\n    https://apk.cgr.dev/example.com\n  1.24.5-r4:\n    https://apk.cgr.dev/example.com\n");
//! # Ok::<(), apk_repo::search::SearchError>(())
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use crate::index::{ApkIndex, Package};
use crate::version::{self, Version, VersionError};

/// A search pattern that is not a valid glob.
///
/// apk-tools hands patterns to `fnmatch(3)`, which reads an unclosed `[` as a literal
/// character; no package name contains one, so such a pattern is refused here rather
/// than silently matching nothing.
///
/// ```
/// let err = apk_repo::search::search(&[], &["[unclosed"], Default::default()).unwrap_err();
/// assert_eq!(err.pattern, "[unclosed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search pattern {pattern:?} is not a valid glob: {problem}")]
#[non_exhaustive]
pub struct SearchError {
    /// The pattern.
    pub pattern: String,
    /// What is wrong.
    pub problem: String,
}

/// How [`search`] matches, after apk-tools 2.14's `apk search` options.
///
/// ```
/// let mut options = apk_repo::search::SearchOptions::default();
/// options.all_versions = true;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchOptions {
    /// apk's `-e`/`-x`/`--exact`: patterns are not wrapped in `*…*`. When no pattern
    /// contains `*`, each is a name looked up as written (case-sensitive), as apk-tools
    /// does; otherwise every pattern is a whole-name glob.
    pub exact: bool,
    /// apk's `-d`/`--description`: a pattern matches the description or the package's
    /// own name (not what it provides), and every version is listed, as apk-tools does.
    pub description: bool,
    /// apk's `-a`/`--all`: every matching version; otherwise only the newest of each name.
    pub all_versions: bool,
    /// apk's `--has-origin`: packages whose origin (`o:`) equals a pattern exactly, every
    /// version.
    ///
    /// ```
    /// use apk_repo::index::Package;
    /// use apk_repo::search::{SearchOptions, search};
    /// let mut dev = Package::default();
    /// dev.name = "openssl-dev".into();
    /// dev.version = "3.3.1-r0".into();
    /// dev.origin = Some("openssl".into());
    /// let mut options = SearchOptions::default();
    /// options.has_origin = true;
    /// assert_eq!(search(std::slice::from_ref(&dev), &["openssl"], options)?.len(), 1);
    /// assert!(search(std::slice::from_ref(&dev), &["openssl-dev"], options)?.is_empty());
    /// # Ok::<(), apk_repo::search::SearchError>(())
    /// ```
    pub has_origin: bool,
}

/// The packages apk-tools 2.14's `apk search` shows, in its order.
///
/// Without `exact`, each pattern becomes `*PATTERN*`; a package matches when its name or
/// any name it provides (`p:` entries such as `so:libssl.so.3` or `cmd:openssl`, with a
/// version suffix like `=3.3.1-r0` left off) matches a pattern as `fnmatch(3)` with
/// `FNM_CASEFOLD` does. The result is each matching package name once, with its newest
/// matching version, sorted by name as apk does (case-insensitively, then by bytes). With
/// `all_versions` every matching version is kept, newest first (apk-tools lists them
/// oldest first); the same package (name, version and `C:` checksum) found in several
/// indexes counts once. No pattern lists everything. See [`SearchOptions`] for
/// `exact`, `description` and `has_origin`.
///
/// # Errors
///
/// [`SearchError`] for a pattern with an unclosed `[` or a trailing `\`.
///
/// ```
/// use apk_repo::index::Package;
/// use apk_repo::search::{SearchOptions, search};
/// let mut libssl = Package::default();
/// libssl.name = "libssl3".into();
/// libssl.version = "3.0.5-r0".into();
/// libssl.provides = vec!["so:libssl.so.3=3".into()];
/// let packages = std::slice::from_ref(&libssl);
/// // `*libssl.so*` matches the provided name; the providing package is shown.
/// let found = search(packages, &["libssl.so"], SearchOptions::default())?;
/// assert_eq!(found[0].file_name(), "libssl3-3.0.5-r0.apk");
///
/// let mut options = SearchOptions::default();
/// options.exact = true;
/// assert!(search(packages, &["libssl"], options)?.is_empty());
/// assert_eq!(search(packages, &["so:libssl.so.3"], options)?.len(), 1);
/// assert_eq!(search(packages, &["lib*"], options)?.len(), 1);
/// # Ok::<(), apk_repo::search::SearchError>(())
/// ```
pub fn search<'a>(
    packages: &'a [Package],
    patterns: &[&str],
    options: SearchOptions,
) -> Result<Vec<&'a Package>, SearchError> {
    let globs = patterns
        .iter()
        .map(|pattern| {
            let text = if options.exact {
                (*pattern).to_owned()
            } else {
                format!("*{pattern}*")
            };
            Glob::new(&text).map_err(|problem| SearchError {
                pattern: (*pattern).to_owned(),
                problem: problem.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // apk-tools looks names up in its name table when no pattern has a `*`, which only
    // happens with `--exact`: then `?` and `[` are literal and case matters.
    let literal = options.exact && !patterns.iter().any(|p| p.contains('*'));
    let matches = |package: &Package| -> bool {
        if options.has_origin {
            let origin = package.origin.as_deref();
            patterns.iter().any(|p| origin == Some(*p))
        } else if options.description {
            globs.iter().any(|glob| {
                glob.matches(&package.name)
                    || package
                        .description
                        .as_deref()
                        .is_some_and(|d| glob.matches(d))
            })
        } else if patterns.is_empty() {
            true
        } else if literal {
            let wanted = |name: &str| patterns.contains(&name);
            wanted(&package.name) || provided_names(package).any(wanted)
        } else {
            let wanted = |name: &str| globs.iter().any(|glob| glob.matches(name));
            wanted(&package.name) || provided_names(package).any(wanted)
        }
    };
    let mut found: Vec<&Package> = packages.iter().filter(|p| matches(p)).collect();
    found.sort_by(|a, b| display_order(&a.name, &b.name).then_with(|| newest_first(a, b)));
    found.dedup_by(|later, earlier| {
        later.name == earlier.name
            && later.version == earlier.version
            && later.checksum == earlier.checksum
    });
    if !(options.all_versions || options.description || options.has_origin) {
        found.dedup_by(|later, earlier| later.name == earlier.name);
    }
    Ok(found)
}

/// The names a package provides, without their version constraint (`so:libz.so.1=1.2.12`
/// is `so:libz.so.1`), split where apk-tools splits a dependency: at `<`, `>`, `=` or `~`.
fn provided_names(package: &Package) -> impl Iterator<Item = &str> {
    package
        .provides
        .iter()
        .flat_map(|entry| entry.split_ascii_whitespace())
        .map(|entry| entry.split(['<', '>', '=', '~']).next().unwrap_or(entry))
        .filter(|name| !name.is_empty())
}

/// apk's `apk_name_cmp_display`: case-insensitive (ASCII), then by bytes.
fn display_order(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        .then_with(|| a.cmp(b))
}

/// Newest first by apk's rules; invalid versions after valid ones, by text.
fn newest_first(a: &Package, b: &Package) -> Ordering {
    match version::compare(&a.version, &b.version) {
        Ok(order) => order.reverse(),
        Err(_) => {
            let valid = |p: &Package| version::validate(&p.version).is_ok();
            valid(b)
                .cmp(&valid(a))
                .then_with(|| a.version.cmp(&b.version))
        }
    }
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters, `/` and a leading `.` included (no `FNM_PATHNAME`,
    /// no `FNM_PERIOD`).
    Star,
    /// `?`: any one character.
    One,
    /// A literal character, already folded to lower case.
    Literal(char),
    /// `[...]`: inclusive ranges of folded characters, `!` or `^` negating.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A `fnmatch(3)` pattern as apk-tools uses it: flags `FNM_CASEFOLD` only, so `\` escapes
/// the next character and case is ignored (ASCII, as in the C locale).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob(Vec<Token>);

fn fold(c: char) -> char {
    c.to_ascii_lowercase()
}

impl Glob {
    fn new(pattern: &str) -> Result<Glob, &'static str> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    if tokens.last() == Some(&Token::Star) {
                        continue;
                    }
                    Token::Star
                }
                '?' => Token::One,
                '\\' => Token::Literal(fold(chars.next().ok_or("it ends with a lone '\\'")?)),
                '[' => {
                    let negated = chars.next_if(|c| matches!(c, '!' | '^')).is_some();
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let mut low = match chars.next() {
                            None => return Err("a '[' is not closed"),
                            Some(']') if !first => break,
                            Some('[') if chars.peek() == Some(&':') => {
                                return Err("character classes like [:alpha:] are not supported");
                            }
                            Some('\\') => chars.next().ok_or("it ends with a lone '\\'")?,
                            Some(c) => c,
                        };
                        first = false;
                        let mut high = low;
                        if chars.peek() == Some(&'-') {
                            let mut ahead = chars.clone();
                            ahead.next();
                            match ahead.next() {
                                Some(']') | None => {}
                                Some(end) => {
                                    chars.next();
                                    chars.next();
                                    high = if end == '\\' {
                                        chars.next().ok_or("it ends with a lone '\\'")?
                                    } else {
                                        end
                                    };
                                }
                            }
                        }
                        low = fold(low);
                        high = fold(high);
                        ranges.push((low, high));
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Literal(fold(c)),
            };
            tokens.push(token);
        }
        Ok(Glob(tokens))
    }

    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().map(fold).collect();
        let tokens = &self.0;
        let one = |token: &Token, c: char| match token {
            Token::Star => true,
            Token::One => true,
            Token::Literal(l) => *l == c,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        };
        // The classic single-star backtracking: on a mismatch, let the last `*` take one
        // more character.
        let (mut t, mut s) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while s < text.len() {
            match tokens.get(t) {
                Some(Token::Star) => {
                    star = Some((t, s));
                    t += 1;
                    continue;
                }
                Some(token) if one(token, text[s]) => {
                    t += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((star_t, star_s)) => {
                    t = star_t + 1;
                    s = star_s + 1;
                    star = Some((star_t, star_s + 1));
                }
                None => return false,
            }
        }
        tokens[t..].iter().all(|token| *token == Token::Star)
    }
}

/// Every version of one package across repositories, newest first, with where each
/// comes from, like `apk policy` (which lists oldest first; newest first is what people
/// look for).
///
/// ```
/// use apk_repo::index::ApkIndex;
/// let report = apk_repo::search::policy("wget", &[("https://apk.cgr.dev/example.com", &ApkIndex::default())]);
/// assert!(report.versions.is_empty() && report.invalid.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// The package name.
    pub name: String,
    /// Each valid version, newest first, with the repositories that offer it.
    pub versions: Vec<(Version, Vec<String>)>,
    /// Versions that are not valid apk versions, reported rather than ordered by a guess.
    pub invalid: Vec<(String, String, VersionError)>,
}

/// [`Policy`] of `name` across `(label, index)` pairs.
///
/// Only packages named `name` count, as in apk-tools (`print_policy` in
/// `src/app_policy.c` skips providers of another name): a name that packages only
/// provide (`so:libc.musl-x86_64.so.1`, `cmd:sh`) or that no index knows gives an empty
/// report, which prints nothing.
///
/// ```
/// use apk_repo::index::{ApkIndex, Package};
/// let report = apk_repo::search::policy("bash", &[("repo", &ApkIndex::default())]);
/// assert!(report.versions.is_empty());
/// assert_eq!(report.to_string(), "");
///
/// let mut index = ApkIndex::default();
/// let mut busybox = Package::default();
/// busybox.name = "busybox".into();
/// busybox.version = "1.35.0-r17".into();
/// busybox.provides = vec!["cmd:sh=1.35.0-r17".into()];
/// index.packages.push(busybox);
/// assert!(apk_repo::search::policy("cmd:sh", &[("repo", &index)]).is_empty());
/// assert_eq!(apk_repo::search::policy("busybox", &[("repo", &index)]).to_string(),
///     "busybox policy:\n  1.35.0-r17:\n    repo\n");
/// ```
pub fn policy(name: &str, sources: &[(&str, &ApkIndex)]) -> Policy {
    let mut by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, index) in sources {
        for package in index.packages.iter().filter(|p| p.name == name) {
            let labels = by_version.entry(package.version.clone()).or_default();
            if !labels.iter().any(|l| l == label) {
                labels.push((*label).to_owned());
            }
        }
    }
    let mut versions = Vec::new();
    let mut invalid = Vec::new();
    for (text, labels) in by_version {
        match Version::parse(text.clone()) {
            Ok(version) => versions.push((version, labels)),
            Err(err) => {
                for label in labels {
                    invalid.push((text.clone(), label, err.clone()));
                }
            }
        }
    }
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    Policy {
        name: name.to_owned(),
        versions,
        invalid,
    }
}

impl Policy {
    /// No package of this name in any index (apk prints nothing for it).
    ///
    /// ```
    /// use apk_repo::index::ApkIndex;
    /// assert!(apk_repo::search::policy("nothing", &[("repo", &ApkIndex::default())]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.invalid.is_empty()
    }
}

/// `NAME policy:` and the versions, or nothing at all when [`Policy::is_empty`].
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        writeln!(f, "{} policy:", self.name)?;
        for (version, labels) in &self.versions {
            writeln!(f, "  {version}:")?;
            for label in labels {
                writeln!(f, "    {label}")?;
            }
        }
        for (version, label, err) in &self.invalid {
            writeln!(
                f,
                "  {version} (invalid version, not ordered: {}):",
                err.problem
            )?;
            writeln!(f, "    {label}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[(&str, &str)]) -> ApkIndex {
        let mut index = ApkIndex::default();
        for (name, version) in entries {
            index.packages.push(Package {
                name: (*name).into(),
                version: (*version).into(),
                description: Some(format!("the {name} tool")),
                ..Package::default()
            });
        }
        index
    }

    fn names(found: &[&Package]) -> Vec<String> {
        found
            .iter()
            .map(|p| format!("{}-{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn search_modes() {
        let repo = index(&[
            ("openssl", "3.3.1-r0"),
            ("openssl", "3.3.0-r9"),
            ("libssl3", "3.3.1-r0"),
            ("openssh", "9.8_p1-r0"),
        ]);
        let default = SearchOptions::default();
        assert_eq!(
            names(&search(&repo.packages, &["ssl"], default).unwrap()),
            ["libssl3-3.3.1-r0", "openssl-3.3.1-r0"]
        );
        assert_eq!(
            names(&search(&repo.packages, &["open*"], default).unwrap()),
            ["openssh-9.8_p1-r0", "openssl-3.3.1-r0"]
        );
        let all = SearchOptions {
            all_versions: true,
            ..default
        };
        assert_eq!(
            names(&search(&repo.packages, &["openssl"], all).unwrap()),
            ["openssl-3.3.1-r0", "openssl-3.3.0-r9"]
        );
        let exact = SearchOptions {
            exact: true,
            ..default
        };
        assert!(search(&repo.packages, &["ssl"], exact).unwrap().is_empty());
        let described = SearchOptions {
            description: true,
            ..default
        };
        assert_eq!(
            search(&repo.packages, &["*ssh tool"], described)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(search(&repo.packages, &[], default).unwrap().len(), 3);
        assert!(search(&repo.packages, &["[oops"], default).is_err());
        // apk-tools looks an exact pattern without `*` up by name, so `?` is literal...
        assert!(
            search(&repo.packages, &["libssl?"], exact)
                .unwrap()
                .is_empty()
        );
        // ...and globs it once any pattern has a `*`.
        assert_eq!(
            names(&search(&repo.packages, &["libssl?", "x*"], exact).unwrap()),
            ["libssl3-3.3.1-r0"]
        );
    }

    fn provider(name: &str, version: &str, provides: &[&str]) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            provides: provides.iter().map(|p| (*p).into()).collect(),
            ..Package::default()
        }
    }

    #[test]
    fn a_pattern_matching_only_a_provided_name_shows_the_provider() {
        let packages = [
            provider("libcrypto3", "3.0.5-r0", &["so:libcrypto.so.3=3"]),
            provider("libssl3", "3.0.5-r0", &["so:libssl.so.3=3"]),
            provider("zlib", "1.2.12-r3", &["so:libz.so.1=1.2.12"]),
            provider("busybox", "1.35.0-r17", &["cmd:sh cmd:ls=1.35.0-r17"]),
        ];
        let default = SearchOptions::default();
        let found = |pattern: &str| names(&search(&packages, &[pattern], default).unwrap());
        assert_eq!(found("libcrypto.so"), ["libcrypto3-3.0.5-r0"]);
        assert_eq!(found("so:libz"), ["zlib-1.2.12-r3"]);
        assert_eq!(found("cmd:sh"), ["busybox-1.35.0-r17"]);
        assert_eq!(
            found("cmd:ls"),
            ["busybox-1.35.0-r17"],
            "space-separated too"
        );
        // The version suffix is not part of the name.
        assert!(found("1.2.12").is_empty());
        assert!(found("=3").is_empty());
        // A package matching by name and by what it provides is listed once.
        assert_eq!(found("lib*ssl*"), ["libssl3-3.0.5-r0"]);
        assert_eq!(
            found("so:lib"),
            ["libcrypto3-3.0.5-r0", "libssl3-3.0.5-r0", "zlib-1.2.12-r3"]
        );
        // Case is ignored, as with FNM_CASEFOLD.
        assert_eq!(found("LIBSSL.SO"), ["libssl3-3.0.5-r0"]);
    }

    #[test]
    fn exact_matches_whole_names_and_provided_names() {
        let packages = [
            provider("zlib", "1.2.12-r3", &["so:libz.so.1=1.2.12"]),
            provider("zlib-dev", "1.2.12-r3", &["pc:zlib=1.2.12"]),
            provider("lua-lzlib", "0.4.3-r1", &[]),
        ];
        let exact = SearchOptions {
            exact: true,
            ..SearchOptions::default()
        };
        let found = |patterns: &[&str]| names(&search(&packages, patterns, exact).unwrap());
        assert_eq!(found(&["zlib"]), ["zlib-1.2.12-r3"]);
        assert_eq!(found(&["pc:zlib"]), ["zlib-dev-1.2.12-r3"]);
        assert_eq!(found(&["so:libz.so.1"]), ["zlib-1.2.12-r3"]);
        assert_eq!(
            found(&["lua-lzlib", "so:libz.so.1"]),
            ["lua-lzlib-0.4.3-r1", "zlib-1.2.12-r3"]
        );
        assert!(
            found(&["ZLIB"]).is_empty(),
            "a name lookup is case-sensitive"
        );
        assert_eq!(found(&["ZLIB*"]).len(), 2, "a glob is not");
        assert_eq!(
            found(&["*zlib"]),
            ["lua-lzlib-0.4.3-r1", "zlib-1.2.12-r3", "zlib-dev-1.2.12-r3"]
        );
        let default = SearchOptions::default();
        assert_eq!(search(&packages, &["zlib"], default).unwrap().len(), 3);
    }

    #[test]
    fn only_the_newest_matching_version_of_each_name() {
        let packages = [
            provider("openssl", "3.0.5-r0", &["so:libold.so.1=1"]),
            provider("openssl", "3.0.10-r0", &[]),
            provider("openssl", "3.0.7-r2", &[]),
            provider("Zeta", "1-r0", &[]),
            provider("beta", "1-r0", &[]),
        ];
        let default = SearchOptions::default();
        let found =
            |pattern: &[&str], options| names(&search(&packages, pattern, options).unwrap());
        assert_eq!(found(&["openssl"], default), ["openssl-3.0.10-r0"]);
        // Only versions that match compete: the old one is the one providing the name.
        assert_eq!(found(&["libold"], default), ["openssl-3.0.5-r0"]);
        let all = SearchOptions {
            all_versions: true,
            ..default
        };
        assert_eq!(
            found(&["openssl"], all),
            ["openssl-3.0.10-r0", "openssl-3.0.7-r2", "openssl-3.0.5-r0"]
        );
        // apk's display order: case-insensitive first.
        assert_eq!(
            found(&[], default),
            ["beta-1-r0", "openssl-3.0.10-r0", "Zeta-1-r0"]
        );
    }

    #[test]
    fn the_same_package_from_two_indexes_counts_once() {
        let mut one = provider("wget", "1.24.5-r4", &[]);
        one.checksum = Some("Q1abc=".into());
        let mut rebuilt = one.clone();
        rebuilt.checksum = Some("Q1def=".into());
        let packages = [one.clone(), one, rebuilt];
        let all = SearchOptions {
            all_versions: true,
            ..SearchOptions::default()
        };
        assert_eq!(
            search(&packages, &["wget"], all).unwrap().len(),
            2,
            "apk keys packages by C:"
        );
    }

    #[test]
    fn description_and_origin() {
        let mut dev = provider("openssl-dev", "3.0.5-r0", &["pc:libssl=3.0.5"]);
        dev.origin = Some("openssl".into());
        dev.description = Some("Toolkit for Transport Layer Security (development files)".into());
        let mut older = dev.clone();
        older.version = "3.0.4-r0".into();
        let packages = [dev, older];
        let described = SearchOptions {
            description: true,
            ..SearchOptions::default()
        };
        // Description or own name, every version; not what it provides.
        assert_eq!(
            search(&packages, &["transport layer"], described)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(search(&packages, &["ssl-dev"], described).unwrap().len(), 2);
        assert!(
            search(&packages, &["pc:libssl"], described)
                .unwrap()
                .is_empty()
        );
        assert!(
            search(&packages, &[], described).unwrap().is_empty(),
            "as apk: no pattern, nothing"
        );
        let origin = SearchOptions {
            has_origin: true,
            ..SearchOptions::default()
        };
        assert_eq!(search(&packages, &["openssl"], origin).unwrap().len(), 2);
        assert!(search(&packages, &["openss"], origin).unwrap().is_empty());
    }

    #[test]
    fn globs_follow_fnmatch_with_casefold() {
        let glob = |p: &str| Glob::new(p).unwrap();
        assert!(glob("*").matches(""));
        assert!(glob("***-doc*").matches("zlib-doc"));
        assert!(glob("lib*ssl*").matches("libssl3"));
        assert!(glob("lib*ssl*").matches("libevent-openssl"));
        assert!(!glob("lib*ssl").matches("libssl3"));
        assert!(glob("py3-?").matches("py3-a"));
        assert!(!glob("py3-?").matches("py3-ab"));
        assert!(glob("lib[a-c]*").matches("LIBBZ2"));
        assert!(glob("lib[!a-c]*").matches("libd"));
        assert!(glob("lib[^a-c]*").matches("libd"));
        assert!(!glob("lib[!a-c]*").matches("liba"));
        assert!(glob("[]x]").matches("]"));
        assert!(glob("[a-]").matches("-"));
        assert!(glob(r"a\*b").matches("a*b"));
        assert!(!glob(r"a\*b").matches("axb"));
        assert!(glob("so:*/x.so").matches("so:dir/x.so"), "no FNM_PATHNAME");
        assert!(glob("*rc").matches(".rc"), "no FNM_PERIOD");
        assert!(glob("g++").matches("G++"));
        for bad in ["[abc", "abc\\", "[[:alpha:]]", "[a-\\"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_of_a_name_only_provided_prints_nothing() {
        let mut repo = ApkIndex::default();
        repo.packages.push(provider(
            "musl",
            "1.2.3-r0",
            &["so:libc.musl-x86_64.so.1=1"],
        ));
        repo.packages
            .push(provider("busybox", "1.35.0-r17", &["cmd:sh=1.35.0-r17"]));
        for name in ["so:libc.musl-x86_64.so.1", "cmd:sh", "nothing"] {
            let report = policy(name, &[("https://a/main", &repo)]);
            assert!(report.is_empty(), "{name}");
            assert_eq!(report.to_string(), "", "{name}");
        }
        assert_eq!(
            policy("musl", &[("https://a/main", &repo)]).to_string(),
            "musl policy:\n  1.2.3-r0:\n    https://a/main\n"
        );
    }

    #[test]
    fn policy_merges_sources_and_reports_invalid_versions() {
        let first = index(&[("bash", "5.2.37-r0"), ("bash", "5.2.26-r1")]);
        let second = index(&[
            ("bash", "5.2.37-r0"),
            ("bash", "5.3_rc1-r0"),
            ("bash", "weird"),
        ]);
        let report = policy(
            "bash",
            &[("https://a/os", &first), ("https://b/os", &second)],
        );
        let order: Vec<&str> = report.versions.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(order, ["5.3_rc1-r0", "5.2.37-r0", "5.2.26-r1"]);
        assert_eq!(report.versions[1].1, ["https://a/os", "https://b/os"]);
        assert_eq!(report.invalid.len(), 1);
        assert!(report.to_string().ends_with("  weird (invalid version, not ordered: a version starts with a number):\n    https://b/os\n"));
    }
}
