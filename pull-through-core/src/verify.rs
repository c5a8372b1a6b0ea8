//! A pull through a cache, as a client would make it: [`Probe`] in, [`Verification`] out.
//!
//! ```
//! use pull_through_core::{CacheName, Check, Probe, Upstream, Verification};
//! use std::time::Duration;
//!
//! let probe = Probe::default_for(&Upstream::CgrPublic);
//! assert_eq!(probe, Probe::DockerManifest { image: "chainguard/go".into(), reference: "latest".into() });
//!
//! let mut verification = Verification::new(CacheName::new("cgr-public")?);
//! verification.push(Check::passed("manifest chainguard/go:latest", "sha256:abc", Duration::from_millis(40)));
//! assert!(verification.passed());
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::spec::CacheName;
use crate::upstream::Upstream;

/// What to pull through a cache.
///
/// ```
/// use pull_through_core::Probe;
/// let probe = Probe::ApkIndex { arch: "aarch64".into(), package: Some("wget".into()) };
/// assert_eq!(probe.to_string(), "aarch64/APKINDEX.tar.gz and package wget");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Probe {
    /// Fetch an image manifest (`GET /v2/<image>/manifests/<reference>`).
    DockerManifest {
        /// The image path below the cache (`chainguard/go`, `<org>/chainguard-base`).
        image: String,
        /// A tag or digest.
        reference: String,
    },
    /// Fetch `<arch>/APKINDEX.tar.gz`, and one package if named.
    ApkIndex {
        /// The architecture (`x86_64`, `aarch64`).
        arch: String,
        /// A package name to fetch after the index, if any.
        package: Option<String>,
    },
}

impl Probe {
    /// The seeds' probe for an upstream: `chainguard/go:latest` for public images,
    /// `<org>/chainguard-base:latest` for private ones, the x86_64 index for APK
    /// repositories.
    ///
    /// ```
    /// # use pull_through_core::{Probe, Upstream};
    /// let probe = Probe::default_for(&"apk.cgr.dev/example.com".parse::<Upstream>()?);
    /// assert_eq!(probe, Probe::ApkIndex { arch: "x86_64".into(), package: None });
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn default_for(upstream: &Upstream) -> Probe {
        match upstream {
            Upstream::CgrPublic => Probe::DockerManifest {
                image: "chainguard/go".to_owned(),
                reference: "latest".to_owned(),
            },
            Upstream::CgrPrivate { org } => Probe::DockerManifest {
                image: format!("{org}/chainguard-base"),
                reference: "latest".to_owned(),
            },
            _ => Probe::ApkIndex {
                arch: "x86_64".to_owned(),
                package: None,
            },
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::DockerManifest { image, reference } => {
                let separator = if reference.contains(':') { '@' } else { ':' };
                write!(f, "manifest {image}{separator}{reference}")
            }
            Probe::ApkIndex { arch, package } => {
                write!(f, "{arch}/APKINDEX.tar.gz")?;
                if let Some(package) = package {
                    write!(f, " and package {package}")?;
                }
                Ok(())
            }
        }
    }
}

/// The result of one step of a verification.
///
/// ```
/// use pull_through_core::{Check, CheckOutcome};
/// let check = Check::failed("manifest chainguard/go:latest", "401 Unauthorized",
///     Some("enable token authentication on the remote".into()), std::time::Duration::ZERO);
/// assert!(matches!(check.outcome, CheckOutcome::Failed { hint: Some(_), .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckOutcome {
    /// It worked.
    Passed {
        /// What came back (a digest, a package count).
        detail: String,
    },
    /// It failed.
    Failed {
        /// What went wrong.
        reason: String,
        /// The seeds' debugging hint that fits, when one does.
        hint: Option<String>,
    },
}

/// One step of a verification.
///
/// ```
/// use pull_through_core::Check;
/// let check = Check::passed("x86_64/APKINDEX.tar.gz", "412 packages", std::time::Duration::from_millis(80));
/// assert_eq!(serde_json::to_value(&check).unwrap()["elapsed"], 80);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// What was tried.
    pub step: String,
    /// How it went.
    #[serde(flatten)]
    pub outcome: CheckOutcome,
    /// How long it took.
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

impl Check {
    /// A step that worked.
    ///
    /// ```
    /// # use pull_through_core::Check;
    /// assert!(Check::passed("step", "ok", std::time::Duration::ZERO).is_passed());
    /// ```
    pub fn passed(step: impl Into<String>, detail: impl Into<String>, elapsed: Duration) -> Self {
        Check {
            step: step.into(),
            outcome: CheckOutcome::Passed {
                detail: detail.into(),
            },
            elapsed,
        }
    }

    /// A step that failed.
    ///
    /// ```
    /// # use pull_through_core::Check;
    /// assert!(!Check::failed("step", "403", None, std::time::Duration::ZERO).is_passed());
    /// ```
    pub fn failed(
        step: impl Into<String>,
        reason: impl Into<String>,
        hint: Option<String>,
        elapsed: Duration,
    ) -> Self {
        Check {
            step: step.into(),
            outcome: CheckOutcome::Failed {
                reason: reason.into(),
                hint,
            },
            elapsed,
        }
    }

    /// Whether the step worked.
    ///
    /// ```
    /// # use pull_through_core::Check;
    /// assert!(Check::passed("s", "d", std::time::Duration::ZERO).is_passed());
    /// ```
    pub fn is_passed(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Passed { .. })
    }
}

/// One line for a step that worked, `<step>: <detail> (<ms> ms)`; for a step that failed,
/// `<step>: <reason>` and, when there is one, the hint on a line of its own.
///
/// ```
/// use pull_through_core::Check;
/// use std::time::Duration;
///
/// let passed = Check::passed("manifest chainguard/go:latest", "sha256:abc", Duration::from_millis(40));
/// assert_eq!(passed.to_string(), "manifest chainguard/go:latest: sha256:abc (40 ms)");
///
/// let failed = Check::failed("x86_64/APKINDEX.tar.gz", "403 Forbidden",
///     Some("bind apk.pull and mint a new token".into()), Duration::from_millis(12));
/// assert_eq!(
///     failed.to_string(),
///     "x86_64/APKINDEX.tar.gz: 403 Forbidden\nhint: bind apk.pull and mint a new token"
/// );
/// ```
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            CheckOutcome::Passed { detail } => write!(
                f,
                "{}: {detail} ({} ms)",
                self.step,
                self.elapsed.as_millis()
            ),
            CheckOutcome::Failed { reason, hint } => {
                write!(f, "{}: {reason}", self.step)?;
                if let Some(hint) = hint {
                    write!(f, "\nhint: {hint}")?;
                }
                Ok(())
            }
        }
    }
}

mod millis {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Everything learned by pulling through one cache.
///
/// ```
/// use pull_through_core::{CacheName, Check, Verification};
/// let mut verification = Verification::new(CacheName::new("cg-private")?);
/// verification.push(Check::passed("x86_64/APKINDEX.tar.gz", "7 packages", std::time::Duration::ZERO));
/// verification.push(Check::failed("package wget", "404", None, std::time::Duration::ZERO));
/// assert!(!verification.passed());
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// The cache.
    pub cache: CacheName,
    /// The steps, in order.
    pub checks: Vec<Check>,
}

impl Verification {
    /// No steps yet.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Verification};
    /// assert!(Verification::new(CacheName::new("x")?).checks.is_empty());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn new(cache: CacheName) -> Self {
        Verification {
            cache,
            checks: Vec::new(),
        }
    }

    /// Adds a step.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Check, Verification};
    /// let mut verification = Verification::new(CacheName::new("x")?);
    /// verification.push(Check::passed("s", "d", std::time::Duration::ZERO));
    /// assert_eq!(verification.checks.len(), 1);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Whether there was at least one step and every step worked.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Verification};
    /// // No steps is not a pass.
    /// assert!(!Verification::new(CacheName::new("x")?).passed());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(Check::is_passed)
    }
}

/// `ok   <cache>` when [`Verification::passed`], else `FAIL <cache>`, then each check on
/// lines of its own, indented under the name. A verification without checks says so, since
/// it does not pass.
///
/// ```
/// use pull_through_core::{CacheName, Check, Verification};
/// use std::time::Duration;
///
/// let mut verification = Verification::new(CacheName::new("cg-private")?);
/// verification.push(Check::passed("x86_64/APKINDEX.tar.gz", "7 packages", Duration::from_millis(80)));
/// verification.push(Check::failed("package wget", "404 Not Found",
///     Some("the package is not in this repository".into()), Duration::from_millis(5)));
/// assert_eq!(
///     verification.to_string(),
///     "FAIL cg-private\n     x86_64/APKINDEX.tar.gz: 7 packages (80 ms)\n     package wget: 404 Not \
///      Found\n     hint: the package is not in this repository"
/// );
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The mark is as wide as "FAIL" so that names and checks line up in a list.
        let mark = if self.passed() { "ok  " } else { "FAIL" };
        write!(f, "{mark} {}", self.cache)?;
        if self.checks.is_empty() {
            return f.write_str("\n     no check was made");
        }
        for check in &self.checks {
            for line in check.to_string().lines() {
                write!(f, "\n     {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_probes_follow_the_seeds() {
        let private: Upstream = "cgr.dev/example.com".parse().unwrap();
        assert_eq!(
            Probe::default_for(&private).to_string(),
            "manifest example.com/chainguard-base:latest"
        );
        assert_eq!(
            Probe::default_for(&Upstream::Wolfi).to_string(),
            "x86_64/APKINDEX.tar.gz"
        );
        let digest = Probe::DockerManifest {
            image: "chainguard/go".into(),
            reference: "sha256:abc".into(),
        };
        assert_eq!(digest.to_string(), "manifest chainguard/go@sha256:abc");
    }

    #[test]
    fn passed_check_display() {
        let check = Check::passed(
            "manifest chainguard/go:latest",
            "sha256:abc",
            Duration::from_millis(1234),
        );
        assert_eq!(
            check.to_string(),
            "manifest chainguard/go:latest: sha256:abc (1234 ms)"
        );
    }

    #[test]
    fn failed_check_display_with_and_without_hint() {
        let with_hint = Check::failed(
            "manifest chainguard/go:latest",
            "401 Unauthorized",
            Some("enable token authentication on the remote".into()),
            Duration::from_millis(7),
        );
        assert_eq!(
            with_hint.to_string(),
            "manifest chainguard/go:latest: 401 Unauthorized\nhint: enable token authentication \
             on the remote"
        );
        let without_hint = Check::failed("package wget", "404", None, Duration::ZERO);
        assert_eq!(without_hint.to_string(), "package wget: 404");
    }

    #[test]
    fn passed_verification_display() {
        let mut verification = Verification::new(CacheName::new("cgr-public").unwrap());
        verification.push(Check::passed(
            "manifest chainguard/go:latest",
            "sha256:abc",
            Duration::from_millis(40),
        ));
        assert_eq!(
            verification.to_string(),
            "ok   cgr-public\n     manifest chainguard/go:latest: sha256:abc (40 ms)"
        );
    }

    #[test]
    fn failed_verification_display_indents_every_line() {
        let mut verification = Verification::new(CacheName::new("cg-private").unwrap());
        verification.push(Check::failed(
            "x86_64/APKINDEX.tar.gz",
            "403 Forbidden",
            Some("bind apk.pull".into()),
            Duration::ZERO,
        ));
        assert_eq!(
            verification.to_string(),
            "FAIL cg-private\n     x86_64/APKINDEX.tar.gz: 403 Forbidden\n     hint: bind apk.pull"
        );
    }

    #[test]
    fn empty_verification_display_says_nothing_was_checked() {
        let verification = Verification::new(CacheName::new("x").unwrap());
        assert_eq!(verification.to_string(), "FAIL x\n     no check was made");
    }

    #[test]
    fn empty_verification_does_not_pass() {
        let mut verification = Verification::new(CacheName::new("x").unwrap());
        assert!(!verification.passed());
        verification.push(Check::failed(
            "x86_64/APKINDEX.tar.gz",
            "403",
            Some("bind apk.pull".into()),
            Duration::ZERO,
        ));
        assert!(!verification.passed());
        let json = serde_json::to_value(&verification.checks[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"step": "x86_64/APKINDEX.tar.gz", "result": "failed",
                "reason": "403", "hint": "bind apk.pull", "elapsed": 0})
        );
    }
}
