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
    pub fn is_passed(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Passed { .. })
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
    pub fn new(cache: CacheName) -> Self {
        Verification {
            cache,
            checks: Vec::new(),
        }
    }

    /// Adds a step.
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Whether there was at least one step and every step worked.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(Check::is_passed)
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
