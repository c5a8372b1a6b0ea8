//! Typed refusals of bad input, raised before any request is sent.
//!
//! Every variant's message says what is wrong and how to fix it; match on the variant to
//! react in code.
//!
//! ```
//! use pull_through_core::{Upstream, ValidationError};
//!
//! let err = "virtualapk.cgr.dev/acme.com/chainguard".parse::<Upstream>().unwrap_err();
//! assert!(matches!(err, ValidationError::OrgIdExpected { .. }));
//! assert!(err.to_string().contains("chainctl iam organizations list"));
//! ```

use std::fmt;

/// Why an input was refused. Raised by constructors and by each backend's `check_spec`,
/// always before a request is sent.
///
/// ```
/// use pull_through_core::{CacheName, CacheSpec, ValidationError};
/// let spec = CacheSpec::remote(CacheName::new("cg-private")?, "apk.cgr.dev/example.com".parse()?);
/// match spec.validate() {
///     Err(ValidationError::MissingCredentials { role, .. }) => assert_eq!(role, "apk.pull"),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A name (of a cache, repository, organization) breaks a rule of the system it is for.
    #[error("{what} {name:?} is not valid: {rule}")]
    InvalidName {
        /// What the name names, e.g. "Artifactory repository key".
        what: String,
        /// The name as given.
        name: String,
        /// The rule it breaks, phrased as what to do.
        rule: String,
    },

    /// An upstream that is not in the catalogue of Chainguard upstreams.
    #[error(
        "{given:?} is not a Chainguard upstream; use one of: cgr.dev/chainguard, \
         cgr.dev/<org name>, apk.cgr.dev/<org name>, virtualapk.cgr.dev/<org id>/chainguard, \
         virtualapk.cgr.dev/<org id>/extra-packages, packages.wolfi.dev/os"
    )]
    UnknownUpstream {
        /// The upstream as given.
        given: String,
    },

    /// An upstream URL with more path than the upstream takes (the seeds: the URL "must not
    /// contain additional components").
    #[error("{given:?} has additional components: {hint}")]
    UpstreamExtraComponents {
        /// The upstream as given.
        given: String,
        /// What to write instead.
        hint: String,
    },

    /// An upstream URL that is missing a required component.
    #[error("{given:?} is incomplete: {hint}")]
    UpstreamIncomplete {
        /// The upstream as given.
        given: String,
        /// What to write instead.
        hint: String,
    },

    /// An upstream given as `https://cgr.dev/`, which is the URL of both the public and the
    /// private registry upstreams.
    #[error(
        "{given:?} is the URL of both Chainguard's public images and an organization's private \
         images; name the upstream as cgr.dev/chainguard (public) or cgr.dev/<org name> \
         (private). The cache's URL will be exactly https://cgr.dev/ either way"
    )]
    UpstreamAmbiguous {
        /// The upstream as given.
        given: String,
    },

    /// An upstream URL that is not `https`, or that carries a port, userinfo, query or
    /// fragment.
    #[error("{given:?} is not a usable upstream URL: {problem}")]
    UpstreamUrl {
        /// The upstream as given, with any userinfo removed.
        given: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// An organization name where an organization id is needed (virtualapk.cgr.dev is
    /// addressed by id; a name will not resolve).
    #[error(
        "{given:?} is not an organization id; {context} needs the organization id (40 lowercase \
         hex characters), not its name. Find it in the ID column of \
         `chainctl iam organizations list -o table`"
    )]
    OrgIdExpected {
        /// The value as given.
        given: String,
        /// Where the id was needed.
        context: String,
    },

    /// An organization id where an organization name is needed (apk.cgr.dev and cgr.dev are
    /// addressed by name).
    #[error(
        "{given:?} looks like an organization id; {context} needs the organization name (such as \
         example.com), not its id. Find it in the NAME column of \
         `chainctl iam organizations list -o table`"
    )]
    OrgNameExpected {
        /// The value as given.
        given: String,
        /// Where the name was needed.
        context: String,
    },

    /// Credentials would travel over plain `http` to a host that is not loopback.
    #[error(
        "refusing to send credentials over plain http to {url}; use https (plain http is \
         accepted only for loopback addresses such as 127.0.0.1 or localhost)"
    )]
    InsecureTransport {
        /// The URL, redacted.
        url: String,
    },

    /// A URL that could not be parsed or does not fit where it was given.
    #[error("{field}: {given:?} is not a valid URL: {problem}")]
    InvalidUrl {
        /// The setting or argument the URL was given for.
        field: String,
        /// The URL as given, redacted.
        given: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A cache whose upstream needs credentials was specified without any.
    #[error(
        "cache {cache:?}: upstream {upstream} needs credentials: create a pull token with the \
         {role} role for the organization and pass its identity id as username and its token as \
         password"
    )]
    MissingCredentials {
        /// The cache.
        cache: String,
        /// The upstream, as its catalogue name.
        upstream: String,
        /// The Chainguard role the pull token needs.
        role: String,
    },

    /// A cache asked to rotate credentials without being given new ones.
    #[error("cache {cache:?}: credential rotation was requested but no credentials were given")]
    RotationWithoutCredentials {
        /// The cache.
        cache: String,
    },

    /// An aggregate cache whose member list is unusable.
    #[error("aggregate cache {cache:?}: {problem}")]
    InvalidMembers {
        /// The aggregate cache.
        cache: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// Two caches with the same name (compared the way the backend compares names).
    #[error("cache name {name:?} is used twice{case_note}; give each cache its own name")]
    DuplicateName {
        /// The second occurrence.
        name: String,
        /// Empty, or a note that the backend compares names ignoring case.
        case_note: String,
    },

    /// A value outside what the field accepts.
    #[error("{field}: {problem}")]
    InvalidValue {
        /// The setting or argument.
        field: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// The rules a backend applies to the names of its caches (Artifactory repository keys,
/// Google Artifact Registry repository ids, Cloudsmith slugs).
///
/// Each backend declares its rules as a constant; [`NameRules::check`] turns a violation
/// into [`ValidationError::InvalidName`] with a message that states the whole rule.
///
/// ```
/// use pull_through_core::NameRules;
///
/// const GAR_REPOSITORY_ID: NameRules = NameRules {
///     what: "Artifact Registry repository id",
///     min_len: 1,
///     max_len: 63,
///     allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
///     first: |c| c.is_ascii_lowercase(),
///     last: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
///     description: "1 to 63 lowercase letters, digits and hyphens, starting with a letter \
///                   and ending with a letter or digit",
/// };
/// assert!(GAR_REPOSITORY_ID.check("cgr-remote").is_ok());
/// assert!(GAR_REPOSITORY_ID.check("Cgr_Remote").is_err());
/// ```
#[derive(Clone, Copy)]
pub struct NameRules {
    /// What the name names, used in the message ("Artifactory repository key").
    pub what: &'static str,
    /// Fewest characters.
    pub min_len: usize,
    /// Most characters.
    pub max_len: usize,
    /// Which characters may appear anywhere.
    pub allowed: fn(char) -> bool,
    /// Which characters may come first.
    pub first: fn(char) -> bool,
    /// Which characters may come last.
    pub last: fn(char) -> bool,
    /// The whole rule in words, shown when a name breaks it.
    pub description: &'static str,
}

impl fmt::Debug for NameRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameRules")
            .field("what", &self.what)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl NameRules {
    /// Checks a name against the rules.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidName`] naming the first rule the name breaks.
    ///
    /// ```
    /// # use pull_through_core::{NameRules, ValidationError};
    /// const KEY: NameRules = NameRules {
    ///     what: "key", min_len: 1, max_len: 64,
    ///     allowed: |c| c.is_ascii_alphanumeric() || c == '-',
    ///     first: |c| c.is_ascii_alphabetic(), last: |_| true,
    ///     description: "1 to 64 letters, digits or hyphens, starting with a letter",
    /// };
    /// let err = KEY.check("1st").unwrap_err();
    /// assert_eq!(err.to_string(), "key \"1st\" is not valid: it starts with a character that may not \
    ///     come first; use 1 to 64 letters, digits or hyphens, starting with a letter");
    /// ```
    pub fn check(&self, name: &str) -> Result<(), ValidationError> {
        let count = name.chars().count();
        let problem = if count < self.min_len || count > self.max_len {
            Some(format!("it has {count} characters"))
        } else if let Some(bad) = name.chars().find(|c| !(self.allowed)(*c)) {
            Some(format!("{bad:?} is not allowed"))
        } else if !name.chars().next().is_some_and(self.first) {
            Some("it starts with a character that may not come first".to_owned())
        } else if !name.chars().last().is_some_and(self.last) {
            Some("it ends with a character that may not come last".to_owned())
        } else {
            None
        };
        match problem {
            None => Ok(()),
            Some(problem) => Err(ValidationError::InvalidName {
                what: self.what.to_owned(),
                name: name.to_owned(),
                rule: format!("{problem}; use {}", self.description),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: NameRules = NameRules {
        what: "test name",
        min_len: 2,
        max_len: 5,
        allowed: |c| c.is_ascii_lowercase() || c == '-',
        first: |c| c.is_ascii_lowercase(),
        last: |c| c != '-',
        description: "2 to 5 lowercase letters or hyphens",
    };

    #[test]
    fn each_rule_has_its_message() {
        let cases = [
            ("a", "it has 1 characters"),
            ("abcdef", "it has 6 characters"),
            ("aB", "'B' is not allowed"),
            ("-ab", "starts with"),
            ("ab-", "ends with"),
        ];
        for (name, expected) in cases {
            let err = RULES.check(name).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{name}: {text}");
            assert!(text.contains("2 to 5 lowercase letters"), "{text}");
        }
        assert!(RULES.check("ab-c").is_ok());
    }
}
