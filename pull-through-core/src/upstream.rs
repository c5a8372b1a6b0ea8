//! The closed catalogue of Chainguard upstreams a cache can front, with the seeds' rules
//! built in.
//!
//! An upstream is named the way people see it in pull references and repository lines:
//!
//! | catalogue name | format | cache URL | needs |
//! |---|---|---|---|
//! | `cgr.dev/chainguard` | Docker | `https://cgr.dev/` | nothing |
//! | `cgr.dev/<org name>` | Docker | `https://cgr.dev/` | a pull token with `registry.pull` |
//! | `apk.cgr.dev/<org name>` | APK | `https://apk.cgr.dev/<org name>` | a pull token with `apk.pull` |
//! | `virtualapk.cgr.dev/<org id>/chainguard` | APK | same, `https://` | nothing |
//! | `virtualapk.cgr.dev/<org id>/extra-packages` | APK | same, `https://` | nothing |
//! | `packages.wolfi.dev/os` | APK | `https://packages.wolfi.dev/os` | nothing |
//!
//! ```
//! use pull_through_core::{PackageFormat, PullTokenRole, Upstream};
//!
//! let upstream: Upstream = "cgr.dev/example.com".parse()?;
//! assert_eq!(upstream.url().as_str(), "https://cgr.dev/");
//! assert_eq!(upstream.format(), PackageFormat::Docker);
//! assert_eq!(upstream.required_role(), Some(PullTokenRole::RegistryPull));
//! assert_eq!(upstream.to_string(), "cgr.dev/example.com");
//!
//! // The image goes into the pull reference, never into the upstream.
//! assert!("https://cgr.dev/chainguard/go".parse::<Upstream>().is_err());
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::validation::ValidationError;

const CGR_HOST: &str = "cgr.dev";
const APK_HOST: &str = "apk.cgr.dev";
const VIRTUAL_APK_HOST: &str = "virtualapk.cgr.dev";
const WOLFI_HOST: &str = "packages.wolfi.dev";

/// A Chainguard organization's **name**, as `cgr.dev/<name>/...` and `apk.cgr.dev/<name>`
/// need it (for example `example.com`).
///
/// Chainguard names match `^[a-z0-9 ._-]{1,}$` and group names are 3 to 63 characters; a
/// space cannot appear in the URLs these names go into, so it is refused here too. A
/// 40-character hex string is refused with a hint, because that is an organization *id*.
///
/// ```
/// use pull_through_core::OrgName;
/// assert!(OrgName::new("example.com").is_ok());
/// assert!(OrgName::new("Example.com").is_err());
/// assert!(OrgName::new("0123456789abcdef0123456789abcdef01234567").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName(String);

impl OrgName {
    /// Validates an organization name.
    ///
    /// # Errors
    ///
    /// [`ValidationError::OrgNameExpected`] for an id, [`ValidationError::InvalidName`]
    /// for anything else that breaks the rules.
    ///
    /// ```
    /// # use pull_through_core::{OrgName, ValidationError};
    /// let err = OrgName::new("0123456789abcdef0123456789abcdef01234567").unwrap_err();
    /// assert!(matches!(err, ValidationError::OrgNameExpected { .. }));
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        if OrgId::is_valid(&name) {
            return Err(ValidationError::OrgNameExpected {
                given: name,
                context: "an organization name".to_owned(),
            });
        }
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !(3..=63).contains(&name.len()) || !valid_chars {
            return Err(ValidationError::InvalidName {
                what: "Chainguard organization name".to_owned(),
                name,
                rule: "use the organization's name exactly as `chainctl iam organizations list` \
                       shows it: 3 to 63 lowercase letters, digits, '.', '_' or '-'"
                    .to_owned(),
            });
        }
        Ok(OrgName(name))
    }

    /// The name.
    ///
    /// ```
    /// # use pull_through_core::OrgName;
    /// assert_eq!(OrgName::new("example.com")?.as_str(), "example.com");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgName({:?})", self.0)
    }
}

impl FromStr for OrgName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgName::new(s)
    }
}

impl TryFrom<String> for OrgName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrgName::new(value)
    }
}

impl From<OrgName> for String {
    fn from(value: OrgName) -> Self {
        value.0
    }
}

/// A Chainguard organization's **id**: the root group UID, 40 lowercase hex characters, as
/// `virtualapk.cgr.dev/<id>/...` and the platform API need it.
///
/// ```
/// use pull_through_core::OrgId;
/// assert!(OrgId::new("0123456789abcdef0123456789abcdef01234567").is_ok());
/// assert!(OrgId::new("example.com").is_err());
/// // A folder id is refused with a hint to use the part before the first '/'.
/// assert!(OrgId::new("0123456789abcdef0123456789abcdef01234567/0123456789abcdef").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    /// Validates an organization id.
    ///
    /// # Errors
    ///
    /// [`ValidationError::OrgIdExpected`] naming what was wrong.
    ///
    /// ```
    /// # use pull_through_core::{OrgId, ValidationError};
    /// let err = OrgId::new("example.com").unwrap_err();
    /// assert!(matches!(err, ValidationError::OrgIdExpected { .. }));
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        if OrgId::is_valid(&id) {
            return Ok(OrgId(id));
        }
        let context = match id.split_once('/') {
            Some((root, _)) if OrgId::is_valid(root) => format!(
                "this is a folder or identity id; the organization is its first segment, {root}, and"
            ),
            _ if id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()) => {
                "ids are lowercase; this".to_owned()
            }
            _ => "the Chainguard platform".to_owned(),
        };
        Err(ValidationError::OrgIdExpected { given: id, context })
    }

    fn is_valid(id: &str) -> bool {
        id.len() == 40 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    /// The id.
    ///
    /// ```
    /// # use pull_through_core::OrgId;
    /// let id = OrgId::new("0123456789abcdef0123456789abcdef01234567")?;
    /// assert_eq!(id.as_str().len(), 40);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgId({:?})", self.0)
    }
}

impl FromStr for OrgId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgId::new(s)
    }
}

impl TryFrom<String> for OrgId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrgId::new(value)
    }
}

impl From<OrgId> for String {
    fn from(value: OrgId) -> Self {
        value.0
    }
}

/// What a cache stores.
///
/// ```
/// use pull_through_core::{PackageFormat, Upstream};
/// assert_eq!(Upstream::CgrPublic.format(), PackageFormat::Docker);
/// assert_eq!(PackageFormat::Apk.to_string(), "apk");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PackageFormat {
    /// Container images (OCI / Docker registry v2).
    Docker,
    /// apk packages (Alpine / Wolfi repositories).
    Apk,
}

impl fmt::Display for PackageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PackageFormat::Docker => "docker",
            PackageFormat::Apk => "apk",
        })
    }
}

/// The Chainguard role a pull token needs for an upstream.
///
/// ```
/// use pull_through_core::{PullTokenRole, Upstream};
/// let upstream: Upstream = "apk.cgr.dev/example.com".parse()?;
/// assert_eq!(upstream.required_role(), Some(PullTokenRole::ApkPull));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PullTokenRole {
    /// `registry.pull`: pull container images from `cgr.dev/<org>`.
    #[serde(rename = "registry.pull")]
    RegistryPull,
    /// `apk.pull`: fetch packages from `apk.cgr.dev/<org>`.
    #[serde(rename = "apk.pull")]
    ApkPull,
}

impl PullTokenRole {
    /// The role's name as Chainguard spells it.
    ///
    /// ```
    /// # use pull_through_core::PullTokenRole;
    /// assert_eq!(PullTokenRole::ApkPull.as_str(), "apk.pull");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            PullTokenRole::RegistryPull => "registry.pull",
            PullTokenRole::ApkPull => "apk.pull",
        }
    }
}

impl fmt::Display for PullTokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the two public repositories `virtualapk.cgr.dev/<org id>/...` tracks.
///
/// ```
/// use pull_through_core::{Upstream, VirtualApkRepo};
/// let upstream: Upstream = "virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/extra-packages".parse()?;
/// assert!(matches!(upstream, Upstream::VirtualApk { repo: VirtualApkRepo::ExtraPackages, .. }));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VirtualApkRepo {
    /// `.../chainguard`: the Wolfi-based packages Chainguard images are built from.
    Chainguard,
    /// `.../extra-packages`: packages outside the main repository.
    ExtraPackages,
}

impl VirtualApkRepo {
    /// The path segment.
    ///
    /// ```
    /// # use pull_through_core::VirtualApkRepo;
    /// assert_eq!(VirtualApkRepo::ExtraPackages.as_str(), "extra-packages");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            VirtualApkRepo::Chainguard => "chainguard",
            VirtualApkRepo::ExtraPackages => "extra-packages",
        }
    }
}

/// One entry of the catalogue, without its organization: what a backend's
/// [`Capabilities`](crate::Capabilities) speak about.
///
/// ```
/// use pull_through_core::{Upstream, UpstreamKind};
/// let upstream: Upstream = "cgr.dev/example.com".parse()?;
/// assert_eq!(upstream.kind(), UpstreamKind::CgrPrivate);
/// assert_eq!(UpstreamKind::CgrPrivate.to_string(), "cgr.dev/<org name>");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UpstreamKind {
    /// [`Upstream::CgrPublic`].
    CgrPublic,
    /// [`Upstream::CgrPrivate`].
    CgrPrivate,
    /// [`Upstream::Apk`].
    Apk,
    /// [`Upstream::VirtualApk`] with [`VirtualApkRepo::Chainguard`].
    VirtualApkChainguard,
    /// [`Upstream::VirtualApk`] with [`VirtualApkRepo::ExtraPackages`].
    VirtualApkExtraPackages,
    /// [`Upstream::Wolfi`].
    Wolfi,
}

impl UpstreamKind {
    /// Every kind, in catalogue order.
    ///
    /// ```
    /// # use pull_through_core::{PackageFormat, UpstreamKind};
    /// let apk = UpstreamKind::ALL.iter().filter(|kind| kind.format() == PackageFormat::Apk).count();
    /// assert_eq!(apk, 4);
    /// ```
    pub const ALL: [UpstreamKind; 6] = [
        UpstreamKind::CgrPublic,
        UpstreamKind::CgrPrivate,
        UpstreamKind::Apk,
        UpstreamKind::VirtualApkChainguard,
        UpstreamKind::VirtualApkExtraPackages,
        UpstreamKind::Wolfi,
    ];

    /// The format a cache of this kind stores.
    ///
    /// ```
    /// # use pull_through_core::{PackageFormat, UpstreamKind};
    /// assert_eq!(UpstreamKind::Wolfi.format(), PackageFormat::Apk);
    /// ```
    pub fn format(&self) -> PackageFormat {
        match self {
            UpstreamKind::CgrPublic | UpstreamKind::CgrPrivate => PackageFormat::Docker,
            _ => PackageFormat::Apk,
        }
    }
}

impl fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamKind::CgrPublic => "cgr.dev/chainguard",
            UpstreamKind::CgrPrivate => "cgr.dev/<org name>",
            UpstreamKind::Apk => "apk.cgr.dev/<org name>",
            UpstreamKind::VirtualApkChainguard => "virtualapk.cgr.dev/<org id>/chainguard",
            UpstreamKind::VirtualApkExtraPackages => "virtualapk.cgr.dev/<org id>/extra-packages",
            UpstreamKind::Wolfi => "packages.wolfi.dev/os",
        })
    }
}

/// A Chainguard upstream a cache can front. The catalogue is closed: these are the
/// upstreams the seeds set up, each with its rules.
///
/// Parse one from its catalogue name (see the [module docs](self)), with or without
/// `https://` and a trailing `/`. Serde uses the same string form.
///
/// ```
/// use pull_through_core::Upstream;
/// let upstream: Upstream = "https://virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/chainguard/".parse()?;
/// assert_eq!(upstream.url().as_str(),
///     "https://virtualapk.cgr.dev/0123456789abcdef0123456789abcdef01234567/chainguard");
/// assert_eq!(upstream.required_role(), None);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Upstream {
    /// Chainguard's public images: pulled as `cgr.dev/chainguard/<image>`.
    CgrPublic,
    /// An organization's private images: pulled as `cgr.dev/<org name>/<image>`.
    CgrPrivate {
        /// The organization.
        org: OrgName,
    },
    /// An organization's APK repository, `https://apk.cgr.dev/<org name>`. Private, except
    /// the two public ones `apk.cgr.dev/chainguard` and `apk.cgr.dev/extra-packages`.
    Apk {
        /// The organization (or `chainguard` / `extra-packages`).
        org: OrgName,
    },
    /// A per-organization public proxy of Chainguard's APK repositories,
    /// `https://virtualapk.cgr.dev/<org id>/<repo>`.
    VirtualApk {
        /// The organization's id (a name will not resolve).
        org_id: OrgId,
        /// Which repository.
        repo: VirtualApkRepo,
    },
    /// Wolfi, `https://packages.wolfi.dev/os`.
    Wolfi,
}

impl Upstream {
    /// Which catalogue entry this is.
    ///
    /// ```
    /// # use pull_through_core::{Upstream, UpstreamKind};
    /// assert_eq!(Upstream::Wolfi.kind(), UpstreamKind::Wolfi);
    /// ```
    pub fn kind(&self) -> UpstreamKind {
        match self {
            Upstream::CgrPublic => UpstreamKind::CgrPublic,
            Upstream::CgrPrivate { .. } => UpstreamKind::CgrPrivate,
            Upstream::Apk { .. } => UpstreamKind::Apk,
            Upstream::VirtualApk {
                repo: VirtualApkRepo::Chainguard,
                ..
            } => UpstreamKind::VirtualApkChainguard,
            Upstream::VirtualApk {
                repo: VirtualApkRepo::ExtraPackages,
                ..
            } => UpstreamKind::VirtualApkExtraPackages,
            Upstream::Wolfi => UpstreamKind::Wolfi,
        }
    }

    /// What a cache of this upstream stores.
    ///
    /// ```
    /// # use pull_through_core::{PackageFormat, Upstream};
    /// assert_eq!(Upstream::Wolfi.format(), PackageFormat::Apk);
    /// ```
    pub fn format(&self) -> PackageFormat {
        self.kind().format()
    }

    /// The host that serves this upstream.
    ///
    /// ```
    /// # use pull_through_core::Upstream;
    /// assert_eq!("apk.cgr.dev/example.com".parse::<Upstream>()?.host(), "apk.cgr.dev");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn host(&self) -> &'static str {
        match self {
            Upstream::CgrPublic | Upstream::CgrPrivate { .. } => CGR_HOST,
            Upstream::Apk { .. } => APK_HOST,
            Upstream::VirtualApk { .. } => VIRTUAL_APK_HOST,
            Upstream::Wolfi => WOLFI_HOST,
        }
    }

    /// The upstream URL exactly as the seeds give it to a cache: `https://cgr.dev/` for
    /// both registry upstreams (the image path goes into pull references, not here), the
    /// repository URL without a trailing slash for APK upstreams.
    ///
    /// Backends whose vendor needs another spelling derive it from the variant in their own
    /// crate.
    ///
    /// ```
    /// # use pull_through_core::Upstream;
    /// let apk: Upstream = "apk.cgr.dev/example.com".parse().unwrap();
    /// assert_eq!(apk.url().as_str(), "https://apk.cgr.dev/example.com");
    /// ```
    pub fn url(&self) -> Url {
        let text = match self {
            Upstream::CgrPublic | Upstream::CgrPrivate { .. } => format!("https://{CGR_HOST}/"),
            Upstream::Apk { org } => format!("https://{APK_HOST}/{org}"),
            Upstream::VirtualApk { org_id, repo } => {
                format!("https://{VIRTUAL_APK_HOST}/{org_id}/{}", repo.as_str())
            }
            Upstream::Wolfi => format!("https://{WOLFI_HOST}/os"),
        };
        Url::parse(&text).expect("catalogue URLs are valid")
    }

    /// Whether a URL a backend reports is this upstream's URL: same scheme and host
    /// (ignoring letter case) and same path, ignoring one trailing `/`.
    ///
    /// Vendors spell the same upstream differently (Cloudsmith refuses a trailing `/`,
    /// Google Artifact Registry may drop it); a backend compares with this so that a
    /// spelling it chose itself never reads back as drift, while `https://cgr.dev/chainguard`
    /// for a registry upstream still does.
    ///
    /// ```
    /// # use pull_through_core::Upstream;
    /// assert!(Upstream::CgrPublic.matches_url("https://cgr.dev"));
    /// assert!(Upstream::CgrPublic.matches_url("HTTPS://CGR.DEV/"));
    /// assert!(!Upstream::CgrPublic.matches_url("https://cgr.dev/chainguard"));
    /// assert!(!Upstream::CgrPublic.matches_url("http://cgr.dev/"));
    /// ```
    pub fn matches_url(&self, actual: &str) -> bool {
        let Ok(actual) = Url::parse(actual.trim()) else {
            return false;
        };
        let expected = self.url();
        actual.scheme() == expected.scheme()
            && actual.host_str() == expected.host_str()
            && actual.port() == expected.port()
            && actual.username().is_empty()
            && actual.query().is_none()
            && actual.path().trim_end_matches('/') == expected.path().trim_end_matches('/')
    }

    /// The pull token role a cache of this upstream needs, or `None` for public upstreams.
    ///
    /// ```
    /// # use pull_through_core::{PullTokenRole, Upstream};
    /// assert_eq!("cgr.dev/example.com".parse::<Upstream>()?.required_role(), Some(PullTokenRole::RegistryPull));
    /// assert_eq!("apk.cgr.dev/extra-packages".parse::<Upstream>()?.required_role(), None);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn required_role(&self) -> Option<PullTokenRole> {
        match self {
            Upstream::CgrPrivate { .. } => Some(PullTokenRole::RegistryPull),
            Upstream::Apk { org } if !is_public_apk_org(org.as_str()) => {
                Some(PullTokenRole::ApkPull)
            }
            _ => None,
        }
    }

    /// The namespace of a registry upstream, which pull references through a cache start
    /// with: `chainguard` for public images, the organization name for private ones.
    ///
    /// ```
    /// # use pull_through_core::Upstream;
    /// assert_eq!(Upstream::CgrPublic.image_namespace(), Some("chainguard"));
    /// ```
    pub fn image_namespace(&self) -> Option<&str> {
        match self {
            Upstream::CgrPublic => Some("chainguard"),
            Upstream::CgrPrivate { org } => Some(org.as_str()),
            _ => None,
        }
    }

    /// Parses a catalogue name; see the [module docs](self).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] that says what is wrong and what to write instead.
    ///
    /// ```
    /// # use pull_through_core::{Upstream, ValidationError};
    /// assert_eq!(Upstream::parse("https://cgr.dev/chainguard/")?, Upstream::CgrPublic);
    /// let err = Upstream::parse("https://cgr.dev/").unwrap_err();
    /// assert!(matches!(err, ValidationError::UpstreamAmbiguous { .. }));
    /// # Ok::<(), ValidationError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Upstream, ValidationError> {
        let given = text.trim();
        let rest = strip_scheme(given)?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        check_authority(given, authority)?;
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        match authority.to_ascii_lowercase().as_str() {
            CGR_HOST => parse_cgr(given, &segments),
            APK_HOST => parse_apk(given, &segments),
            VIRTUAL_APK_HOST => parse_virtual_apk(given, &segments),
            WOLFI_HOST => match segments.as_slice() {
                ["os"] => Ok(Upstream::Wolfi),
                [] => Err(ValidationError::UpstreamIncomplete {
                    given: given.to_owned(),
                    hint: "the Wolfi repository is packages.wolfi.dev/os".to_owned(),
                }),
                _ => Err(ValidationError::UpstreamExtraComponents {
                    given: given.to_owned(),
                    hint: "the Wolfi repository is exactly packages.wolfi.dev/os".to_owned(),
                }),
            },
            _ => Err(ValidationError::UnknownUpstream {
                given: given.to_owned(),
            }),
        }
    }
}

fn is_public_apk_org(org: &str) -> bool {
    matches!(org, "chainguard" | "extra-packages")
}

fn strip_scheme(given: &str) -> Result<&str, ValidationError> {
    match given.split_once("://") {
        None => Ok(given),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => Ok(rest),
        Some((scheme, _)) => Err(ValidationError::UpstreamUrl {
            given: given.to_owned(),
            problem: format!(
                "the scheme is {scheme:?}; Chainguard upstreams are reached over https only"
            ),
        }),
    }
}

fn check_authority(given: &str, authority: &str) -> Result<(), ValidationError> {
    let problem = if authority.contains('@') {
        Some("it carries credentials; give them as the cache's credentials, never in the URL")
    } else if authority.contains(':') {
        Some("it names a port; Chainguard upstreams use the https default port")
    } else if given.contains('?') || given.contains('#') {
        Some("it has a query or fragment; remove everything after '?' or '#'")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ValidationError::UpstreamUrl {
            given: without_userinfo(given),
            problem: problem.to_owned(),
        }),
        None => Ok(()),
    }
}

fn without_userinfo(given: &str) -> String {
    match given.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{after}"),
            None => after.to_owned(),
        },
        None => given.to_owned(),
    }
}

fn parse_cgr(given: &str, segments: &[&str]) -> Result<Upstream, ValidationError> {
    match segments {
        [] => Err(ValidationError::UpstreamAmbiguous {
            given: given.to_owned(),
        }),
        ["chainguard"] => Ok(Upstream::CgrPublic),
        [org] => Ok(Upstream::CgrPrivate {
            org: OrgName::new(*org).map_err(|err| in_context(err, "cgr.dev/<org name>"))?,
        }),
        [namespace, image, ..] => Err(ValidationError::UpstreamExtraComponents {
            given: given.to_owned(),
            hint: format!(
                "a registry upstream stops at the namespace: write cgr.dev/{namespace}; the cache's \
                 URL is exactly https://cgr.dev/ and {image} goes into the pull reference"
            ),
        }),
    }
}

fn parse_apk(given: &str, segments: &[&str]) -> Result<Upstream, ValidationError> {
    match segments {
        [] => Err(ValidationError::UpstreamIncomplete {
            given: given.to_owned(),
            hint: "write apk.cgr.dev/<org name>".to_owned(),
        }),
        [org] => Ok(Upstream::Apk {
            org: OrgName::new(*org).map_err(|err| in_context(err, "apk.cgr.dev/<org name>"))?,
        }),
        [org, ..] => Err(ValidationError::UpstreamExtraComponents {
            given: given.to_owned(),
            hint: format!(
                "the repository is apk.cgr.dev/{org}; apk adds the architecture and file names itself"
            ),
        }),
    }
}

fn parse_virtual_apk(given: &str, segments: &[&str]) -> Result<Upstream, ValidationError> {
    let context = "virtualapk.cgr.dev/<org id>/...";
    match segments {
        [] | [_] => Err(ValidationError::UpstreamIncomplete {
            given: given.to_owned(),
            hint: "write virtualapk.cgr.dev/<org id>/chainguard or \
                   virtualapk.cgr.dev/<org id>/extra-packages"
                .to_owned(),
        }),
        [org_id, repo] => {
            let org_id = OrgId::new(*org_id).map_err(|err| in_context(err, context))?;
            let repo = match *repo {
                "chainguard" => VirtualApkRepo::Chainguard,
                "extra-packages" => VirtualApkRepo::ExtraPackages,
                other => {
                    return Err(ValidationError::UpstreamExtraComponents {
                        given: given.to_owned(),
                        hint: format!(
                            "{other:?} is not a virtualapk repository; use chainguard or extra-packages"
                        ),
                    });
                }
            };
            Ok(Upstream::VirtualApk { org_id, repo })
        }
        [org_id, repo, ..] => Err(ValidationError::UpstreamExtraComponents {
            given: given.to_owned(),
            hint: format!(
                "the repository is virtualapk.cgr.dev/{org_id}/{repo}; apk adds the architecture \
                 and file names itself"
            ),
        }),
    }
}

fn in_context(err: ValidationError, context: &str) -> ValidationError {
    match err {
        ValidationError::OrgIdExpected { given, .. } => ValidationError::OrgIdExpected {
            given,
            context: context.to_owned(),
        },
        ValidationError::OrgNameExpected { given, .. } => ValidationError::OrgNameExpected {
            given,
            context: context.to_owned(),
        },
        other => other,
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::CgrPublic => write!(f, "{CGR_HOST}/chainguard"),
            Upstream::CgrPrivate { org } => write!(f, "{CGR_HOST}/{org}"),
            Upstream::Apk { org } => write!(f, "{APK_HOST}/{org}"),
            Upstream::VirtualApk { org_id, repo } => {
                write!(f, "{VIRTUAL_APK_HOST}/{org_id}/{}", repo.as_str())
            }
            Upstream::Wolfi => write!(f, "{WOLFI_HOST}/os"),
        }
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upstream({self})")
    }
}

impl FromStr for Upstream {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Upstream::parse(s)
    }
}

impl TryFrom<String> for Upstream {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Upstream::parse(&value)
    }
}

impl From<Upstream> for String {
    fn from(value: Upstream) -> Self {
        value.to_string()
    }
}

/// The credentials a cache presents to its upstream: for Chainguard, a pull token's
/// identity id as username and its JWT as password.
///
/// The password is a [`SecretString`]; `Debug` shows only the username.
///
/// ```
/// use pull_through_core::UpstreamCredentials;
///
/// let creds = UpstreamCredentials::new(
///     "0123456789abcdef0123456789abcdef01234567/0123456789abcdef",
///     "eyJhbGciOiJSUzI1NiJ9.secret.sig",
/// )?;
/// assert!(!format!("{creds:?}").contains("secret"));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Clone)]
pub struct UpstreamCredentials {
    username: String,
    password: SecretString,
}

impl UpstreamCredentials {
    /// Pairs a username with its password.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidValue`] when either is empty.
    ///
    /// ```
    /// # use pull_through_core::UpstreamCredentials;
    /// let err = UpstreamCredentials::new("", "token").unwrap_err();
    /// assert!(err.to_string().contains("CHAINGUARD_IDENTITY_ID"));
    /// ```
    pub fn new(
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Result<Self, ValidationError> {
        let username = username.into();
        let password = password.into();
        if username.trim().is_empty() {
            return Err(ValidationError::InvalidValue {
                field: "credentials.username".to_owned(),
                problem: "is empty; for a pull token it is the identity id \
                          (CHAINGUARD_IDENTITY_ID)"
                    .to_owned(),
            });
        }
        if password.expose_secret().is_empty() {
            return Err(ValidationError::InvalidValue {
                field: "credentials.password".to_owned(),
                problem: "is empty; for a pull token it is the token (CHAINGUARD_TOKEN)".to_owned(),
            });
        }
        Ok(UpstreamCredentials { username, password })
    }

    /// The username (not a secret).
    ///
    /// ```
    /// # use pull_through_core::UpstreamCredentials;
    /// assert_eq!(UpstreamCredentials::new("org/identity", "t")?.username(), "org/identity");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    ///
    /// ```
    /// # use pull_through_core::{ExposeSecret, UpstreamCredentials};
    /// let creds = UpstreamCredentials::new("org/identity", "jwt")?;
    /// assert_eq!(creds.password().expose_secret(), "jwt");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn password(&self) -> &SecretString {
        &self.password
    }
}

impl fmt::Debug for UpstreamCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamCredentials")
            .field("username", &self.username)
            .field("password", &crate::redact::REDACTED)
            .finish()
    }
}

impl PartialEq for UpstreamCredentials {
    /// Compares usernames and passwords; the comparison of the password does not print it.
    fn eq(&self, other: &Self) -> bool {
        self.username == other.username
            && self.password.expose_secret() == other.password.expose_secret()
    }
}

impl Eq for UpstreamCredentials {}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG_ID: &str = "0123456789abcdef0123456789abcdef01234567";

    type Check = fn(&ValidationError) -> bool;

    #[test]
    fn catalogue_round_trips() {
        let names = [
            "cgr.dev/chainguard".to_owned(),
            "cgr.dev/example.com".to_owned(),
            "apk.cgr.dev/example.com".to_owned(),
            format!("virtualapk.cgr.dev/{ORG_ID}/chainguard"),
            format!("virtualapk.cgr.dev/{ORG_ID}/extra-packages"),
            "packages.wolfi.dev/os".to_owned(),
        ];
        for name in names {
            let upstream = Upstream::parse(&name).unwrap();
            assert_eq!(upstream.to_string(), name);
            let with_scheme = Upstream::parse(&format!("https://{name}/")).unwrap();
            assert_eq!(with_scheme, upstream);
        }
    }

    #[test]
    fn urls_are_exactly_the_seeds() {
        let cases = [
            ("cgr.dev/chainguard", "https://cgr.dev/"),
            ("cgr.dev/example.com", "https://cgr.dev/"),
            ("apk.cgr.dev/example.com", "https://apk.cgr.dev/example.com"),
            ("packages.wolfi.dev/os", "https://packages.wolfi.dev/os"),
        ];
        for (name, url) in cases {
            assert_eq!(Upstream::parse(name).unwrap().url().as_str(), url);
        }
        let virt = Upstream::parse(&format!("virtualapk.cgr.dev/{ORG_ID}/extra-packages")).unwrap();
        assert_eq!(
            virt.url().as_str(),
            format!("https://virtualapk.cgr.dev/{ORG_ID}/extra-packages")
        );
    }

    #[test]
    fn roles_and_formats() {
        let public_apk = Upstream::parse("apk.cgr.dev/chainguard").unwrap();
        assert_eq!(public_apk.required_role(), None);
        let private_apk = Upstream::parse("apk.cgr.dev/example.com").unwrap();
        assert_eq!(private_apk.required_role(), Some(PullTokenRole::ApkPull));
        assert_eq!(private_apk.format(), PackageFormat::Apk);
        assert_eq!(Upstream::CgrPublic.required_role(), None);
        assert_eq!(Upstream::Wolfi.format(), PackageFormat::Apk);
    }

    #[test]
    fn refusals_are_typed() {
        use ValidationError as V;
        let cases: Vec<(String, Check)> = vec![
            ("https://cgr.dev/".into(), |e| {
                matches!(e, V::UpstreamAmbiguous { .. })
            }),
            ("cgr.dev".into(), |e| {
                matches!(e, V::UpstreamAmbiguous { .. })
            }),
            ("https://cgr.dev/chainguard/go".into(), |e| {
                matches!(e, V::UpstreamExtraComponents { .. })
            }),
            ("http://cgr.dev/chainguard".into(), |e| {
                matches!(e, V::UpstreamUrl { .. })
            }),
            (
                "https://user:pw@cgr.dev/chainguard".into(),
                |e| matches!(e, V::UpstreamUrl { given, .. } if !given.contains("pw")),
            ),
            ("cgr.dev:443/chainguard".into(), |e| {
                matches!(e, V::UpstreamUrl { .. })
            }),
            ("cgr.dev/chainguard?x=1".into(), |e| {
                matches!(e, V::UpstreamUrl { .. })
            }),
            ("ghcr.io/chainguard".into(), |e| {
                matches!(e, V::UnknownUpstream { .. })
            }),
            ("apk.cgr.dev".into(), |e| {
                matches!(e, V::UpstreamIncomplete { .. })
            }),
            ("apk.cgr.dev/example.com/x86_64".into(), |e| {
                matches!(e, V::UpstreamExtraComponents { .. })
            }),
            (format!("apk.cgr.dev/{ORG_ID}"), |e| {
                matches!(e, V::OrgNameExpected { .. })
            }),
            (
                "virtualapk.cgr.dev/example.com/chainguard".into(),
                |e| matches!(e, V::OrgIdExpected { context, .. } if context.contains("virtualapk")),
            ),
            (format!("virtualapk.cgr.dev/{ORG_ID}"), |e| {
                matches!(e, V::UpstreamIncomplete { .. })
            }),
            (format!("virtualapk.cgr.dev/{ORG_ID}/extras"), |e| {
                matches!(e, V::UpstreamExtraComponents { .. })
            }),
            (
                format!("virtualapk.cgr.dev/{ORG_ID}/chainguard/x86_64"),
                |e| matches!(e, V::UpstreamExtraComponents { .. }),
            ),
            ("packages.wolfi.dev".into(), |e| {
                matches!(e, V::UpstreamIncomplete { .. })
            }),
            ("packages.wolfi.dev/os/x86_64".into(), |e| {
                matches!(e, V::UpstreamExtraComponents { .. })
            }),
            ("cgr.dev/Example.com".into(), |e| {
                matches!(e, V::InvalidName { .. })
            }),
        ];
        for (input, check) in cases {
            let err = Upstream::parse(&input).expect_err(&input);
            assert!(check(&err), "{input}: unexpected {err:?}");
        }
    }

    #[test]
    fn org_id_hints() {
        let folder = format!("{ORG_ID}/0123456789abcdef");
        let err = OrgId::new(folder).unwrap_err();
        assert!(err.to_string().contains(ORG_ID), "{err}");
        let upper = OrgId::new(ORG_ID.to_uppercase()).unwrap_err();
        assert!(upper.to_string().contains("lowercase"), "{upper}");
    }

    #[test]
    fn serde_uses_catalogue_names() {
        let json = serde_json::to_string(&Upstream::CgrPublic).unwrap();
        assert_eq!(json, "\"cgr.dev/chainguard\"");
        let back: Upstream = serde_json::from_str("\"https://apk.cgr.dev/example.com/\"").unwrap();
        assert_eq!(back.to_string(), "apk.cgr.dev/example.com");
        assert!(serde_json::from_str::<Upstream>("\"cgr.dev\"").is_err());
        let role = serde_json::to_string(&PullTokenRole::RegistryPull).unwrap();
        assert_eq!(role, "\"registry.pull\"");
    }

    #[test]
    fn credentials_refuse_empty_parts() {
        assert!(UpstreamCredentials::new("", "x").is_err());
        assert!(UpstreamCredentials::new("id", "").is_err());
    }
}
