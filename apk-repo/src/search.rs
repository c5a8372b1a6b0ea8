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

/// How [`search`] matches.
///
/// ```
/// let mut options = apk_repo::search::SearchOptions::default();
/// options.all_versions = true;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchOptions {
    /// Match the whole name (apk's `--exact`); otherwise a pattern without wildcards
    /// matches anywhere in the name, as apk does.
    pub exact: bool,
    /// Also match the description (apk's `--description`).
    pub description: bool,
    /// List every version (apk's `--all`); otherwise only the newest of each name.
    pub all_versions: bool,
}

/// The packages whose name (or description) matches any pattern, sorted by name, then
/// version newest first. No pattern lists everything.
///
/// # Errors
///
/// [`SearchError`] for a pattern that is not a glob.
///
/// ```
/// use apk_repo::index::Package;
/// use apk_repo::search::{SearchOptions, search};
/// let mut py = Package::default();
/// py.name = "py3-pip".into();
/// py.version = "24.0-r0".into();
/// let mut options = SearchOptions::default();
/// options.exact = true;
/// assert!(search(std::slice::from_ref(&py), &["py3"], options)?.is_empty());
/// assert_eq!(search(std::slice::from_ref(&py), &["py3-*"], options)?.len(), 1);
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
            let wildcard = pattern.contains(['*', '?', '[']);
            let text = if wildcard || options.exact {
                (*pattern).to_owned()
            } else {
                format!("*{}*", glob::Pattern::escape(pattern))
            };
            glob::Pattern::new(&text).map_err(|err| SearchError {
                pattern: (*pattern).to_owned(),
                problem: err.msg.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let matches = |package: &Package| {
        globs.is_empty()
            || globs.iter().any(|glob| {
                glob.matches(&package.name)
                    || (options.description
                        && package
                            .description
                            .as_deref()
                            .is_some_and(|d| glob.matches(d)))
            })
    };
    let mut found: Vec<&Package> = packages.iter().filter(|p| matches(p)).collect();
    found.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| newest_first(a, b)));
    if !options.all_versions {
        found.dedup_by(|later, earlier| later.name == earlier.name);
    }
    Ok(found)
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
/// ```
/// use apk_repo::index::ApkIndex;
/// let report = apk_repo::search::policy("bash", &[("repo", &ApkIndex::default())]);
/// assert!(report.versions.is_empty());
/// assert_eq!(report.to_string(), "bash policy:\n");
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

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        assert_eq!(
            names(&search(&repo.packages, &["libssl?"], exact).unwrap()),
            ["libssl3-3.3.1-r0"]
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
