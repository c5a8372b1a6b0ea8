//! Cloudsmith's rules for what this crate sends, checked before any request: owner and
//! repository slugs, upstream names, priorities, upstream URLs and storage regions
//! (reference/cloudsmith.md §1, §2).

use pull_through_core::{Error, NameRules, Upstream, ValidationError};

/// The upstream of Chainguard's public images. Images are pulled through it without the
/// `chainguard/` namespace (`docker.cloudsmith.io/OWNER/REPO/nginx:latest`).
///
/// ```
/// assert_eq!(cloudsmith_client::PUBLIC_UPSTREAM_URL, "https://cgr.dev/chainguard");
/// ```
pub const PUBLIC_UPSTREAM_URL: &str = "https://cgr.dev/chainguard";

/// The upstream of an organization's private images, with a pull token ("any other URL
/// here will cause an error"). Images are pulled through it with the organization's
/// registry name first (`docker.cloudsmith.io/OWNER/REPO/example.com/python:3.9-dev`).
///
/// ```
/// assert_eq!(cloudsmith_client::PRIVATE_UPSTREAM_URL, "https://cgr.dev");
/// ```
pub const PRIVATE_UPSTREAM_URL: &str = "https://cgr.dev";

/// A workspace (owner) slug, or an existing repository's slug or `slug_perm` as it goes
/// into a path: the spec's `^[-a-zA-Z0-9_]+$`. The spec gives no length limit.
///
/// ```
/// use cloudsmith_client::IDENTIFIER_RULES;
/// assert!(IDENTIFIER_RULES.check("pull-through-sandbox").is_ok());
/// assert!(IDENTIFIER_RULES.check("acme/team").is_err());
/// ```
pub const IDENTIFIER_RULES: NameRules = NameRules {
    what: "Cloudsmith slug",
    min_len: 1,
    max_len: usize::MAX,
    allowed: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    first: |_| true,
    last: |_| true,
    description: "ASCII letters, digits, '-' and '_' (the spec's ^[-a-zA-Z0-9_]+$)",
};

/// The slug of a repository this crate creates: lowercase letters, digits, `-` and `_`, at
/// least 2 characters (Cloudsmith's docs). The repository is named after its slug, so the
/// slug also follows the name's rules: at most 50 characters, and a first character
/// matching `\w` (not `-`).
///
/// ```
/// use cloudsmith_client::REPOSITORY_SLUG_RULES;
/// assert!(REPOSITORY_SLUG_RULES.check("cgr-public").is_ok());
/// assert!(REPOSITORY_SLUG_RULES.check("Cgr-Public").is_err());
/// assert!(REPOSITORY_SLUG_RULES.check("c").is_err());
/// assert!(REPOSITORY_SLUG_RULES.check("-cgr").is_err());
/// ```
pub const REPOSITORY_SLUG_RULES: NameRules = NameRules {
    what: "Cloudsmith repository slug",
    min_len: 2,
    max_len: 50,
    allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_',
    first: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
    last: |_| true,
    description: "2 to 50 lowercase letters, digits, '-' and '_', not starting with '-' \
                  (the repository is named after its slug, and names start with a letter, \
                  digit or '_')",
};

/// An upstream's name: 1 to 64 characters matching `^\w[\w \-'\.\/()]+$`, so at least 2.
///
/// ```
/// use cloudsmith_client::UPSTREAM_NAME_RULES;
/// assert!(UPSTREAM_NAME_RULES.check("cgr-private").is_ok());
/// assert!(UPSTREAM_NAME_RULES.check("Chainguard (public)").is_ok());
/// assert!(UPSTREAM_NAME_RULES.check("x").is_err());
/// assert!(UPSTREAM_NAME_RULES.check("-x").is_err());
/// ```
pub const UPSTREAM_NAME_RULES: NameRules = NameRules {
    what: "Cloudsmith upstream name",
    min_len: 2,
    max_len: 64,
    allowed: |c| is_word(c) || " -'./()".contains(c),
    first: is_word,
    last: |_| true,
    description: "2 to 64 characters: letters, digits, '_', space and -'./(), starting with \
                  a letter, digit or '_' (the API's ^\\w[\\w \\-'\\.\\/()]+$)",
};

/// `\w` of the API's (Python) patterns.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The lowest and highest priority an upstream may have.
///
/// ```
/// assert_eq!(cloudsmith_client::PRIORITY_RANGE, 1..=32767);
/// ```
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i64> = 1..=32767;

/// Refuses a priority outside 1 to 32767.
///
/// # Errors
///
/// [`ValidationError::InvalidValue`] naming `priority`.
///
/// ```
/// assert!(cloudsmith_client::check_priority(1).is_ok());
/// assert!(cloudsmith_client::check_priority(0).is_err());
/// assert!(cloudsmith_client::check_priority(32768).is_err());
/// ```
pub fn check_priority(priority: i64) -> Result<(), ValidationError> {
    if PRIORITY_RANGE.contains(&priority) {
        return Ok(());
    }
    Err(ValidationError::InvalidValue {
        field: "priority".to_owned(),
        problem: format!(
            "{priority} is out of range; Cloudsmith takes 1 to 32767 (1 is tried first)"
        ),
    })
}

/// The one of Cloudsmith's two Chainguard upstream URLs `url` is, without its trailing
/// slash (the form this crate sends: Cloudsmith's Terraform provider refuses a trailing
/// `/`).
///
/// # Errors
///
/// [`ValidationError::UpstreamUrl`] for any other URL, saying which two are allowed.
///
/// ```
/// use cloudsmith_client::check_upstream_url;
/// assert_eq!(check_upstream_url("https://cgr.dev/")?, "https://cgr.dev");
/// assert_eq!(check_upstream_url("https://cgr.dev/chainguard")?, "https://cgr.dev/chainguard");
/// assert!(check_upstream_url("https://cgr.dev/example.com").is_err());
/// assert!(check_upstream_url("https://cgr.dev/chainguard/nginx").is_err());
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
pub fn check_upstream_url(url: &str) -> Result<&'static str, ValidationError> {
    match url.strip_suffix('/').unwrap_or(url) {
        PUBLIC_UPSTREAM_URL => Ok(PUBLIC_UPSTREAM_URL),
        PRIVATE_UPSTREAM_URL => Ok(PRIVATE_UPSTREAM_URL),
        _ => Err(ValidationError::UpstreamUrl {
            given: url.to_owned(),
            problem: format!(
                "Cloudsmith's Chainguard upstreams are exactly {PUBLIC_UPSTREAM_URL} (public \
                 images) or {PRIVATE_UPSTREAM_URL} (an organization's images, with a pull \
                 token); the image path goes into the pull reference"
            ),
        }),
    }
}

/// Why APK upstreams are refused: the API has an Alpine upstream, but nothing shows one
/// working in front of Chainguard's APK repositories.
pub(crate) const APK_UNPROVEN: &str = "Cloudsmith has an Alpine upstream, but no source shows \
     it working with apk.cgr.dev (Cloudsmith detects Alpine or Wolfi from the upstream's \
     domain, and Chainguard's packages are Wolfi-signed); use Artifactory for APK caches";

/// The Docker upstream URL this crate gives a cache of `upstream`: the public images'
/// [`PUBLIC_UPSTREAM_URL`], an organization's [`PRIVATE_UPSTREAM_URL`].
///
/// # Errors
///
/// [`Error::Unsupported`] for APK upstreams.
///
/// ```
/// use cloudsmith_client::upstream_url_for;
/// use pull_through_core::Upstream;
/// assert_eq!(upstream_url_for(&Upstream::CgrPublic)?, "https://cgr.dev/chainguard");
/// assert_eq!(upstream_url_for(&"cgr.dev/example.com".parse()?)?, "https://cgr.dev");
/// let err = upstream_url_for(&"apk.cgr.dev/example.com".parse()?).unwrap_err();
/// assert!(err.to_string().contains("no source shows it working with apk.cgr.dev"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn upstream_url_for(upstream: &Upstream) -> Result<&'static str, Error> {
    match upstream {
        Upstream::CgrPublic => Ok(PUBLIC_UPSTREAM_URL),
        Upstream::CgrPrivate { .. } => Ok(PRIVATE_UPSTREAM_URL),
        other => Err(Error::Unsupported {
            vendor: "cloudsmith".to_owned(),
            what: format!("a cache of {other}"),
            hint: APK_UNPROVEN.to_owned(),
        }),
    }
}

/// Refuses a storage region that is not shaped like a region slug (`default`, `us-ohio`).
/// The slugs themselves come from `GET /storage-regions/` and grow, so the shape is all
/// that is checked here.
///
/// # Errors
///
/// [`ValidationError::InvalidValue`] naming `storage_region`.
///
/// ```
/// assert!(cloudsmith_client::check_storage_region("de-frankfurt").is_ok());
/// assert!(cloudsmith_client::check_storage_region("Frankfurt, DE").is_err());
/// ```
pub fn check_storage_region(region: &str) -> Result<(), ValidationError> {
    let shaped = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if shaped {
        return Ok(());
    }
    Err(ValidationError::InvalidValue {
        field: "storage_region".to_owned(),
        problem: format!(
            "{region:?} is not a storage region slug; use one GET /storage-regions/ lists, \
             such as default, us-ohio, de-frankfurt or ie-dublin"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_names() {
        for good in [
            "cg",
            "cgr-public",
            "Chainguard (private) v2.0",
            "it's/ok",
            "_x",
            &"n".repeat(64),
        ] {
            assert!(UPSTREAM_NAME_RULES.check(good).is_ok(), "{good}");
        }
        for bad in ["", "c", " x", "-x", ".x", "a*b", "a:b", &"n".repeat(65)] {
            assert!(UPSTREAM_NAME_RULES.check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repository_slugs() {
        for good in ["cg", "cgr-public", "cgr_private", "0cache", &"s".repeat(50)] {
            assert!(REPOSITORY_SLUG_RULES.check(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "c",
            "Cgr",
            "cgr.public",
            "cgr public",
            "-cgr",
            &"s".repeat(51),
        ] {
            assert!(REPOSITORY_SLUG_RULES.check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_two_chainguard_urls() {
        for bad in [
            "http://cgr.dev",
            "https://cgr.dev//",
            "https://cgr.dev/chainguard/",
            "https://CGR.dev",
            "https://apk.cgr.dev/example.com",
            "cgr.dev",
        ] {
            let result = check_upstream_url(bad);
            // One trailing slash is tolerated (and dropped); nothing else is.
            if bad == "https://cgr.dev/chainguard/" {
                assert_eq!(result.unwrap(), PUBLIC_UPSTREAM_URL);
            } else {
                assert!(result.is_err(), "{bad}");
            }
        }
    }
}
