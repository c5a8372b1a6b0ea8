//! Repository key rules, checked before any request.

use pull_through_core::{NameRules, ValidationError};

const FORBIDDEN: &str = " !@#$%^&*()+={}[]:;<>,/?~`|\\\"'";

/// Artifactory's repository key rules: 1 to 64 characters, none of
/// `` !@#$%^&*()+={}[]:;<>,/?~`|\"' `` or space, not starting with a digit (the rules of
/// JFrog's UI and Terraform provider). Keys are unique regardless of letter case.
///
/// ```
/// use artifactory_client::KEY_RULES;
/// assert!(KEY_RULES.check("cgr-public").is_ok());
/// assert!(KEY_RULES.check("1cache").is_err());
/// assert!(KEY_RULES.check("cgr/public").is_err());
/// ```
pub const KEY_RULES: NameRules = NameRules {
    what: "Artifactory repository key",
    min_len: 1,
    max_len: 64,
    allowed: |c| c.is_ascii() && !c.is_control() && !FORBIDDEN.contains(c),
    // A leading '.' would let `.` and `..` through, which are path segments, not keys.
    first: |c| !c.is_ascii_digit() && c != '.',
    last: |_| true,
    description: "1 to 64 ASCII characters without spaces or any of !@#$%^&*()+={}[]:;<>,/?~`|\\\"', \
                  not starting with a digit or '.'",
};

/// The rules for a Docker repository's key: [`KEY_RULES`], and no `_` (the Docker client
/// cannot pull through a repository path with one).
///
/// # Errors
///
/// [`ValidationError::InvalidName`].
///
/// ```
/// assert!(artifactory_client::check_docker_key("cgr_public").is_err());
/// assert!(artifactory_client::check_docker_key("cgr.public").is_ok());
/// ```
pub fn check_docker_key(key: &str) -> Result<(), ValidationError> {
    KEY_RULES.check(key)?;
    if key.contains('_') {
        return Err(ValidationError::InvalidName {
            what: "Artifactory Docker repository key".to_owned(),
            name: key.to_owned(),
            rule: "'_' is not allowed in Docker repository keys (the Docker client cannot use \
                   it); use '-' or '.'"
                .to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table() {
        for good in [
            "cgr-public",
            "cg-apk-virt",
            "a",
            "cg_private",
            "x.y",
            &"k".repeat(64),
        ] {
            assert!(KEY_RULES.check(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1st",
            "has space",
            "a/b",
            "a:b",
            "a+b",
            "a@b",
            "a#b",
            ".",
            "..",
            "clé",
            &"k".repeat(65),
        ] {
            assert!(KEY_RULES.check(bad).is_err(), "{bad:?}");
        }
    }
}
