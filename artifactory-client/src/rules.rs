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

/// Keys Artifactory keeps for itself (JFrog's "Repository Naming Rules and Limitations"),
/// compared without regard to letter case, as keys are.
const RESERVED_KEYS: [&str; 6] = [
    ".",
    "..",
    "&",
    "jfrog-logs",
    "artifactory-build-info",
    "release-bundles",
];
/// Key beginnings Artifactory keeps for itself, compared without regard to letter case.
const RESERVED_PREFIXES: [&str; 2] = ["jfrog-system-reserved", "jfrog-artifactory-system"];

/// The longest key of a remote repository: Artifactory appends `-cache` to name its cache.
const MAX_REMOTE_KEY_LEN: usize = 58;

fn refused(what: &str, key: &str, rule: &str) -> ValidationError {
    ValidationError::InvalidName {
        what: what.to_owned(),
        name: key.to_owned(),
        rule: rule.to_owned(),
    }
}

/// The rules every new key must follow beyond [`KEY_RULES`], whatever its class and
/// package type: no `-cache` ending and no reserved name (see [`check_docker_key`]).
fn check_creatable_key(key: &str) -> Result<(), ValidationError> {
    KEY_RULES.check(key)?;
    let lower = key.to_ascii_lowercase();
    if RESERVED_KEYS.contains(&lower.as_str())
        || RESERVED_PREFIXES
            .iter()
            .any(|prefix| lower.starts_with(prefix))
    {
        return Err(refused(
            "Artifactory repository key",
            key,
            "the name is reserved by Artifactory (., .., &, jfrog-logs, artifactory-build-info, \
             release-bundles, and keys starting with jfrog-system-reserved or \
             jfrog-artifactory-system); choose another",
        ));
    }
    if lower.ends_with("-cache") {
        return Err(refused(
            "Artifactory repository key",
            key,
            "a key cannot end with '-cache' (Artifactory names a remote's cache <key>-cache); \
             choose another ending",
        ));
    }
    Ok(())
}

/// The rules for a Docker repository's key: [`KEY_RULES`], no `-cache` ending (Artifactory
/// names a remote's cache `<key>-cache`), no reserved name (`.`, `..`, `&`, `jfrog-logs`,
/// `artifactory-build-info`, `release-bundles`, or a start of `jfrog-system-reserved` or
/// `jfrog-artifactory-system`, in any letter case), and no `_` (the Docker client cannot
/// pull through a repository path with one).
///
/// JFrog also refuses upper-case letters in Docker keys; that rule is in the checks of a
/// new key (`check_new_key`), as a key differing from an existing one only in letter case
/// is answered as a duplicate first.
///
/// # Errors
///
/// [`ValidationError::InvalidName`] saying the rule.
///
/// ```
/// assert!(artifactory_client::check_docker_key("cgr_public").is_err());
/// assert!(artifactory_client::check_docker_key("cgr-public-cache").is_err());
/// assert!(artifactory_client::check_docker_key("release-bundles").is_err());
/// assert!(artifactory_client::check_docker_key("cgr.public").is_ok());
/// ```
pub fn check_docker_key(key: &str) -> Result<(), ValidationError> {
    check_creatable_key(key)?;
    if key.contains('_') {
        return Err(refused(
            "Artifactory Docker repository key",
            key,
            "'_' is not allowed in Docker repository keys (the Docker client cannot use it); \
             use '-' or '.'",
        ));
    }
    Ok(())
}

/// Every rule a key must follow for Artifactory to create a repository of class `rclass`
/// (`local`, `remote`, `virtual`, `federated`) and `package_type`: [`KEY_RULES`], no
/// `-cache` ending, no reserved name, for Docker [`check_docker_key`] and no upper-case
/// letter, and the class's length (remote keys at most [`MAX_REMOTE_KEY_LEN`] characters,
/// Docker local and federated keys 63, the others 64).
///
/// `create_repository` and the backend's `check_spec` call it, so a key the server would
/// refuse is refused before any request.
///
/// # Errors
///
/// [`ValidationError::InvalidName`] saying the rule.
pub(crate) fn check_new_key(
    key: &str,
    rclass: &str,
    package_type: &str,
) -> Result<(), ValidationError> {
    let docker = package_type.eq_ignore_ascii_case("docker");
    if docker {
        check_docker_key(key)?;
        if key.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(refused(
                "Artifactory Docker repository key",
                key,
                "upper-case letters are not allowed in Docker repository keys; use lower case",
            ));
        }
    } else {
        check_creatable_key(key)?;
    }
    let max = match rclass.to_ascii_lowercase().as_str() {
        "remote" => MAX_REMOTE_KEY_LEN,
        "local" | "federated" if docker => 63,
        _ => 64,
    };
    let count = key.chars().count();
    if count > max {
        return Err(refused(
            "Artifactory repository key",
            key,
            &format!(
                "it has {count} characters; a {} {rclass} repository key has at most {max}",
                if docker { "Docker" } else { "non-Docker" }
            ),
        ));
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

#[cfg(test)]
mod new_key_tests {
    use super::*;

    fn rule(err: ValidationError) -> String {
        match err {
            ValidationError::InvalidName { rule, .. } => rule,
            other => panic!("not an InvalidName: {other:?}"),
        }
    }

    #[test]
    fn remote_keys_stop_at_58() {
        assert!(check_new_key(&"k".repeat(58), "remote", "alpine").is_ok());
        let err = check_new_key(&"k".repeat(59), "remote", "docker").unwrap_err();
        assert!(rule(err).contains("at most 58"));
        assert!(check_new_key(&"k".repeat(64), "virtual", "generic").is_ok());
        assert!(check_new_key(&"k".repeat(64), "local", "docker").is_err());
        assert!(check_new_key(&"k".repeat(63), "local", "docker").is_ok());
    }

    #[test]
    fn docker_keys_are_lower_case() {
        let err = check_new_key("Cgr-public", "virtual", "docker").unwrap_err();
        assert!(rule(err).contains("upper-case"));
        assert!(check_new_key("Cg-private", "remote", "alpine").is_ok());
    }

    #[test]
    fn no_cache_ending_and_no_reserved_name() {
        for key in ["cg-private-cache", "X-CACHE"] {
            let err = check_new_key(key, "virtual", "generic").unwrap_err();
            assert!(rule(err).contains("-cache"), "{key}");
        }
        for key in [
            "jfrog-logs",
            "Jfrog-logs",
            "artifactory-build-info",
            "release-bundles",
            "Jfrog-system-reserved-x",
            "jfrog-artifactory-system1",
        ] {
            let err = check_new_key(key, "remote", "alpine").unwrap_err();
            assert!(rule(err).contains("reserved"), "{key}");
        }
        // `.`, `..` and `&` already break KEY_RULES.
        for key in [".", "..", "&"] {
            assert!(check_new_key(key, "remote", "alpine").is_err(), "{key}");
        }
        assert!(check_new_key("cache", "remote", "alpine").is_ok());
        assert!(check_new_key("my-cache-1", "remote", "alpine").is_ok());
    }
}
