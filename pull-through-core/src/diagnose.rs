//! [`Diagnosis`]: one of a vendor's rules for a cache that the cache breaks, named, with
//! what to do. Backends return them from
//! [`PullThroughBackend::diagnose`](crate::PullThroughBackend::diagnose); the flows add
//! them to a failed verification.

use std::fmt;

use serde::Serialize;

/// A rule a cache breaks, as the vendor's tutorials state it.
///
/// ```
/// use pull_through_core::Diagnosis;
/// let diagnosis = Diagnosis::new(
///     "token authentication",
///     "token authentication is off",
///     "set enableTokenAuthentication to true",
/// );
/// assert_eq!(diagnosis.to_string(), "token authentication: token authentication is off; set enableTokenAuthentication to true");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnosis {
    /// The rule's short name (`url`, `token authentication`).
    pub check: String,
    /// How the cache breaks it.
    pub problem: String,
    /// What to do about it.
    pub hint: String,
}

impl Diagnosis {
    /// A broken rule.
    ///
    /// ```
    /// # use pull_through_core::Diagnosis;
    /// let diagnosis = Diagnosis::new("url", "the URL has a path", "use https://cgr.dev/");
    /// assert_eq!(diagnosis.check, "url");
    /// ```
    pub fn new(
        check: impl Into<String>,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnosis {
        Diagnosis {
            check: check.into(),
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; {}", self.check, self.problem, self.hint)
    }
}
