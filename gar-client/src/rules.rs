//! The rules of Google's names, checked before any request: project ids, locations,
//! repository ids and secret ids, and the name of a cache's secret.

use pull_through_core::{Error, NameRules, ValidationError};

/// Google Cloud project ids: 6 to 30 lowercase letters, digits and hyphens, starting with a
/// letter and not ending with a hyphen (Resource Manager's `project_id` rule).
///
/// Legacy domain-scoped ids (`example.com:project`) are refused: Artifact Registry's
/// Docker host cannot carry a `:` in an image path, so they cannot front Docker pulls.
///
/// ```
/// use gar_client::PROJECT_ID_RULES;
/// assert!(PROJECT_ID_RULES.check("pull-through-sandbox").is_ok());
/// assert!(PROJECT_ID_RULES.check("1project").is_err());
/// assert!(PROJECT_ID_RULES.check("short").is_err());
/// assert!(PROJECT_ID_RULES.check("my-project-").is_err());
/// ```
pub const PROJECT_ID_RULES: NameRules = NameRules {
    what: "Google Cloud project id",
    min_len: 6,
    max_len: 30,
    allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    first: |c| c.is_ascii_lowercase(),
    last: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    description: "6 to 30 lowercase letters, digits and hyphens, starting with a letter and \
                  not ending with a hyphen (the project ID, not its display name or number)",
};

/// Artifact Registry repository ids, as gcloud checks them (`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
/// with the 63-character limit of AIP-122 (Google documents no other).
///
/// ```
/// use gar_client::REPOSITORY_ID_RULES;
/// assert!(REPOSITORY_ID_RULES.check("chainguard-pull-through").is_ok());
/// assert!(REPOSITORY_ID_RULES.check("Chainguard").is_err());
/// assert!(REPOSITORY_ID_RULES.check("cgr_public").is_err());
/// assert!(REPOSITORY_ID_RULES.check(&"a".repeat(64)).is_err());
/// ```
pub const REPOSITORY_ID_RULES: NameRules = NameRules {
    what: "Artifact Registry repository id",
    min_len: 1,
    max_len: 63,
    allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    first: |c| c.is_ascii_lowercase(),
    last: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    description: "1 to 63 lowercase letters, digits and hyphens, starting with a letter and \
                  ending with a letter or digit",
};

/// Secret Manager secret ids: 1 to 255 letters, digits, `-` and `_`.
///
/// ```
/// use gar_client::SECRET_ID_RULES;
/// assert!(SECRET_ID_RULES.check("pull-through-cgr-private").is_ok());
/// assert!(SECRET_ID_RULES.check("Pull_Through_1").is_ok());
/// assert!(SECRET_ID_RULES.check("pull.through").is_err());
/// ```
pub const SECRET_ID_RULES: NameRules = NameRules {
    what: "Secret Manager secret id",
    min_len: 1,
    max_len: 255,
    allowed: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    first: |_| true,
    last: |_| true,
    description: "1 to 255 letters, digits, hyphens and underscores",
};

/// The repository names gcloud keeps for Container Registry's domains.
const GCR_NAMES: [&str; 4] = ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"];

/// Google's multi-regions, the locations that are not a region.
const MULTI_REGIONS: [&str; 3] = ["us", "europe", "asia"];

/// The prefix of the secret that holds a private cache's upstream password: the secret of
/// repository `cgr-private` is `pull-through-cgr-private`.
///
/// ```
/// assert_eq!(gar_client::SECRET_PREFIX, "pull-through-");
/// ```
pub const SECRET_PREFIX: &str = "pull-through-";

/// Checks a repository id: [`REPOSITORY_ID_RULES`], and none of Container Registry's
/// domain names (`gcr.io`, `us.gcr.io`, `eu.gcr.io`, `asia.gcr.io`), which gcloud keeps
/// for gcr.io repositories.
///
/// # Errors
///
/// [`Error::InvalidInput`] stating the rule.
///
/// ```
/// assert!(gar_client::check_repository_id("cgr-public").is_ok());
/// let err = gar_client::check_repository_id("us.gcr.io").unwrap_err();
/// assert!(err.to_string().contains("Container Registry"), "{err}");
/// ```
pub fn check_repository_id(id: &str) -> Result<(), Error> {
    if GCR_NAMES.contains(&id) {
        return Err(Error::InvalidInput(ValidationError::InvalidName {
            what: REPOSITORY_ID_RULES.what.to_owned(),
            name: id.to_owned(),
            rule: "gcr.io, us.gcr.io, eu.gcr.io and asia.gcr.io are Container Registry's \
                   domains, kept for gcr.io repositories; use 1 to 63 lowercase letters, digits \
                   and hyphens, starting with a letter and ending with a letter or digit"
                .to_owned(),
        }));
    }
    REPOSITORY_ID_RULES.check(id).map_err(Error::InvalidInput)
}

/// Checks a project id against [`PROJECT_ID_RULES`].
///
/// # Errors
///
/// [`Error::InvalidInput`] stating the rule.
///
/// ```
/// assert!(gar_client::check_project_id("pull-through-sandbox").is_ok());
/// assert!(gar_client::check_project_id("123456789012").is_err());
/// ```
pub fn check_project_id(project: &str) -> Result<(), Error> {
    PROJECT_ID_RULES.check(project).map_err(Error::InvalidInput)
}

/// Checks a secret id against [`SECRET_ID_RULES`].
///
/// # Errors
///
/// [`Error::InvalidInput`] stating the rule.
///
/// ```
/// assert!(gar_client::check_secret_id("pull-through-cgr-private").is_ok());
/// assert!(gar_client::check_secret_id("a/b").is_err());
/// ```
pub fn check_secret_id(secret: &str) -> Result<(), Error> {
    SECRET_ID_RULES.check(secret).map_err(Error::InvalidInput)
}

/// Checks a location: a region such as `us-central1` or `europe-west4` (lowercase letters,
/// a hyphen, lowercase letters, then digits) or one of the multi-regions `us`, `europe`
/// and `asia`. Whether the project may use it is Google's to say.
///
/// # Errors
///
/// [`Error::InvalidInput`] stating the rule.
///
/// ```
/// assert!(gar_client::check_location("us-central1").is_ok());
/// assert!(gar_client::check_location("europe").is_ok());
/// assert!(gar_client::check_location("us-central").is_err());
/// assert!(gar_client::check_location("US-CENTRAL1").is_err());
/// assert!(gar_client::check_location("us-central1-a").is_err());
/// ```
pub fn check_location(location: &str) -> Result<(), Error> {
    if MULTI_REGIONS.contains(&location) || is_region(location) {
        return Ok(());
    }
    let shown = if location.len() <= 40 && location.chars().all(|c| c.is_ascii_graphic()) {
        format!("{location:?}")
    } else {
        format!("a value of {} characters", location.chars().count())
    };
    Err(Error::InvalidInput(ValidationError::InvalidValue {
        field: "location".to_owned(),
        problem: format!(
            "{shown} is not an Artifact Registry location; use a region such as us-central1 \
             (lowercase letters, a hyphen, lowercase letters and digits, not a zone such as \
             us-central1-a) or a multi-region: us, europe or asia"
        ),
    }))
}

/// `^[a-z]+-[a-z]+[0-9]+$`.
fn is_region(text: &str) -> bool {
    let Some((area, rest)) = text.split_once('-') else {
        return false;
    };
    let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &rest[letters.len()..];
    !area.is_empty()
        && area.chars().all(|c| c.is_ascii_lowercase())
        && !letters.is_empty()
        && letters.chars().all(|c| c.is_ascii_lowercase())
        && !digits.is_empty()
}

/// The id of the secret that holds the upstream password of repository `repository`:
/// [`SECRET_PREFIX`] followed by the repository id. A repository id has at most 63
/// characters of the secret id's alphabet, so the result is always a valid secret id.
///
/// ```
/// assert_eq!(gar_client::secret_id_for("chainguard-pull-through"), "pull-through-chainguard-pull-through");
/// ```
pub fn secret_id_for(repository: &str) -> String {
    format!("{SECRET_PREFIX}{repository}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_multi_regions() {
        for good in [
            "us-central1",
            "europe-west4",
            "asia-northeast1",
            "us",
            "europe",
            "asia",
            "northamerica-northeast2",
        ] {
            assert!(check_location(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "global",
            "us-central",
            "us-",
            "-central1",
            "us-central1-a",
            "us_central1",
            "Us-central1",
            "us-1",
        ] {
            let err = check_location(bad).unwrap_err();
            assert!(err.to_string().contains("multi-region"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_derived_secret_id_is_always_valid() {
        let longest = "a".repeat(63);
        assert!(check_repository_id(&longest).is_ok());
        assert!(check_secret_id(&secret_id_for(&longest)).is_ok());
    }

    #[test]
    fn project_ids() {
        assert!(check_project_id("abcdef").is_ok());
        assert!(check_project_id(&"a".repeat(30)).is_ok());
        assert!(check_project_id(&"a".repeat(31)).is_err());
        assert!(check_project_id("example.com:project").is_err());
        let err = check_project_id("My-Project").unwrap_err().to_string();
        assert!(err.contains("6 to 30 lowercase letters"), "{err}");
    }
}
