//! Response bodies and the API's enums, field names and strings exactly as Cloudsmith's
//! API spells them (reference/cloudsmith.md §1, §2, §5). Responses ignore unknown fields
//! (the schema grows with every release) and read enums with an `Other` fallback (their
//! values drift between releases); requests (`bodies.rs`) send only documented values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string enum of the API with an `Other(String)` fallback on read.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $example_variant:ident, $example_text:literal {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know: the API's enums drift between releases,
            /// so a value read is kept rather than refused. Sent as written.
            Other(String),
        }

        impl $name {
            #[doc = concat!(
                "The value as the API spells it.\n\n```\n",
                "use cloudsmith_client::", stringify!($name), ";\n",
                "assert_eq!(", stringify!($name), "::", stringify!($example_variant),
                ".as_str(), ", stringify!($example_text), ");\n```"
            )]
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }

            #[doc = concat!(
                "Reads the API's spelling; anything else is `Other`.\n\n```\n",
                "use cloudsmith_client::", stringify!($name), ";\n",
                "assert_eq!(", stringify!($name), "::parse(", stringify!($example_text), "), ",
                stringify!($name), "::", stringify!($example_variant), ");\n",
                "assert_eq!(", stringify!($name), "::parse(\"Something New\"), ",
                stringify!($name), "::Other(\"Something New\".into()));\n```"
            )]
            pub fn parse(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::parse(&String::deserialize(deserializer)?))
            }
        }
    };
}

api_enum! {
    /// An upstream's `mode`. The API's default is `Proxy Only`, which does not cache: the
    /// seed and this crate send `Cache and Proxy`. `Cache Only` is in the newest Python
    /// binding only (reference, open uncertainty 5): read, never sent (the client refuses
    /// it for Docker before any request).
    ///
    /// ```
    /// use cloudsmith_client::Mode;
    /// assert_eq!(serde_json::to_value(Mode::CacheAndProxy)?, "Cache and Proxy");
    /// let read: Mode = serde_json::from_value("Cache Only".into())?;
    /// assert_eq!(read, Mode::CacheOnly);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    Mode, CacheAndProxy, "Cache and Proxy" {
        /// `Proxy Only`: fetched from the upstream every time, never kept.
        ProxyOnly => "Proxy Only",
        /// `Cache and Proxy`: fetched once, then served from the repository.
        CacheAndProxy => "Cache and Proxy",
        /// `Cache Only`: served only from what was cached.
        CacheOnly => "Cache Only",
    }
}

api_enum! {
    /// An upstream's `auth_mode`. Docker upstreams take `None`, `Username and Password` and
    /// `Certificate and Key`; there is no `Token` for Docker.
    ///
    /// ```
    /// use cloudsmith_client::AuthMode;
    /// assert_eq!(serde_json::to_value(AuthMode::UsernameAndPassword)?, "Username and Password");
    /// assert_eq!(serde_json::to_value(AuthMode::None)?, "None");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    AuthMode, UsernameAndPassword, "Username and Password" {
        /// `None`: anonymous pulls (public images).
        None => "None",
        /// `Username and Password`: a Chainguard pull token's identity id and token.
        UsernameAndPassword => "Username and Password",
        /// `Certificate and Key`: mutual TLS.
        CertificateAndKey => "Certificate and Key",
    }
}

api_enum! {
    /// A repository's `repository_type_str`. The API's default is `Public`: this crate
    /// sends `Private`, as the seed's repository is. `Open-Source` cannot be created
    /// through the API.
    ///
    /// ```
    /// use cloudsmith_client::RepositoryType;
    /// assert_eq!(serde_json::to_value(RepositoryType::OpenSource)?, "Open-Source");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    RepositoryType, Private, "Private" {
        /// `Public`.
        Public => "Public",
        /// `Private`.
        Private => "Private",
        /// `Open-Source`.
        OpenSource => "Open-Source",
    }
}

/// The storage region a repository is created in unless another is given.
///
/// ```
/// assert_eq!(cloudsmith_client::DEFAULT_STORAGE_REGION, "default");
/// ```
pub const DEFAULT_STORAGE_REGION: &str = "default";

/// A repository as `GET /repos/{owner}/{identifier}/` and the list answer it (the fields
/// this crate reads; the rest are ignored).
///
/// ```
/// let repository: cloudsmith_client::Repository = serde_json::from_value(serde_json::json!({
///     "name": "chainguard", "slug": "chainguard", "slug_perm": "aBcD1234eFgH",
///     "namespace": "acme", "repository_type_str": "Private", "storage_region": "default",
///     "self_url": "https://api.cloudsmith.io/repos/acme/chainguard/", "package_count": 0,
///     "gpg_keys": []}))?;
/// assert_eq!(repository.slug, "chainguard");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Repository {
    /// The descriptive name.
    #[serde(default)]
    pub name: String,
    /// The slug, which names it in URLs and pull references.
    pub slug: String,
    /// The immutable identifier.
    #[serde(default)]
    pub slug_perm: String,
    /// The workspace (owner) slug.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// `Public`, `Private` or `Open-Source`.
    #[serde(default)]
    pub repository_type_str: Option<RepositoryType>,
    /// The storage region's slug.
    #[serde(default)]
    pub storage_region: Option<String>,
    /// Where the API serves it.
    #[serde(default)]
    pub self_url: Option<String>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was (soft-)deleted, if it was.
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// How many packages it holds (cached images among them).
    #[serde(default)]
    pub package_count: Option<u64>,
}

impl Repository {
    /// Whether the repository is being deleted (`deleted_at` is set): Cloudsmith
    /// soft-deletes, and a GET during the retention period may still answer it (the
    /// reference's open question 4). Such a repository is absent to this crate.
    ///
    /// ```
    /// let gone: cloudsmith_client::Repository = serde_json::from_value(serde_json::json!({
    ///     "slug": "chainguard", "deleted_at": "2026-11-30T11:00:00Z"}))?;
    /// assert!(gone.is_deleted());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.as_deref().is_some_and(|at| !at.is_empty())
    }
}

/// An upstream as the `.../upstream/docker/` endpoints answer it. `auth_secret` is
/// write-only (the API no longer returns it, or returns it empty), so it is not read at all.
///
/// ```
/// let upstream: cloudsmith_client::DockerUpstream = serde_json::from_value(serde_json::json!({
///     "slug_perm": "Xy12Ab34Cd56", "name": "cgr-public", "upstream_url": "https://cgr.dev/chainguard",
///     "mode": "Cache and Proxy", "priority": 1, "verify_ssl": true, "is_active": true,
///     "auth_mode": "None", "auth_username": null, "auth_secret": null, "disable_reason": "N/A"}))?;
/// assert_eq!(upstream.mode, Some(cloudsmith_client::Mode::CacheAndProxy));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DockerUpstream {
    /// The identifier used in paths.
    pub slug_perm: String,
    /// The name.
    pub name: String,
    /// The upstream's URL as stored.
    pub upstream_url: String,
    /// How it caches.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Resolution order, 1 first.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Whether the upstream's certificate is verified.
    #[serde(default)]
    pub verify_ssl: Option<bool>,
    /// Whether it is used.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// How it authenticates.
    #[serde(default)]
    pub auth_mode: Option<AuthMode>,
    /// The username it presents.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// When it was created (ties of priority resolve by it).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Whether it is available.
    #[serde(default)]
    pub available: Option<bool>,
    /// Whether it waits for validation.
    #[serde(default)]
    pub pending_validation: Option<bool>,
    /// Why it was disabled (`N/A` when it was not).
    #[serde(default)]
    pub disable_reason: Option<String>,
    /// The reason in words.
    #[serde(default)]
    pub disable_reason_text: Option<String>,
}

/// `GET /user/self/`: who the API key belongs to. The endpoint also answers anonymous
/// callers, with `authenticated: false`.
///
/// ```
/// let me: cloudsmith_client::UserBrief = serde_json::from_value(serde_json::json!({
///     "authenticated": true, "slug": "linky", "slug_perm": "abc123", "name": "Linky",
///     "email": "linky@example.com"}))?;
/// assert!(me.authenticated);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserBrief {
    /// Whether the caller is logged in as a user.
    #[serde(default)]
    pub authenticated: bool,
    /// The user slug (`docker login -u`).
    #[serde(default)]
    pub slug: Option<String>,
    /// The immutable user identifier.
    #[serde(default)]
    pub slug_perm: Option<String>,
    /// The user's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
}

/// One package of `GET /packages/{owner}/{repo}/` (an image cached through an upstream is
/// one).
///
/// ```
/// let package: cloudsmith_client::Package = serde_json::from_value(serde_json::json!({
///     "slug_perm": "Pk12Pk34Pk56", "name": "nginx", "format": "docker", "version": "latest"}))?;
/// assert_eq!(package.format.as_deref(), Some("docker"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Package {
    /// The identifier used in paths.
    pub slug_perm: String,
    /// The package (image) name.
    #[serde(default)]
    pub name: String,
    /// The format (`docker`).
    #[serde(default)]
    pub format: Option<String>,
    /// The version (a tag or digest).
    #[serde(default)]
    pub version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_exactly_as_the_api_spells_them() {
        for (mode, text) in [
            (Mode::ProxyOnly, "Proxy Only"),
            (Mode::CacheAndProxy, "Cache and Proxy"),
            (Mode::CacheOnly, "Cache Only"),
        ] {
            assert_eq!(serde_json::to_value(&mode).unwrap(), text);
            assert_eq!(serde_json::from_value::<Mode>(text.into()).unwrap(), mode);
        }
        for (auth, text) in [
            (AuthMode::None, "None"),
            (AuthMode::UsernameAndPassword, "Username and Password"),
            (AuthMode::CertificateAndKey, "Certificate and Key"),
        ] {
            assert_eq!(serde_json::to_value(&auth).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<AuthMode>(text.into()).unwrap(),
                auth
            );
        }
        for (kind, text) in [
            (RepositoryType::Public, "Public"),
            (RepositoryType::Private, "Private"),
            (RepositoryType::OpenSource, "Open-Source"),
        ] {
            assert_eq!(serde_json::to_value(&kind).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<RepositoryType>(text.into()).unwrap(),
                kind
            );
        }
        // Letter case matters to the API: a differently cased value is not the variant.
        assert_eq!(
            Mode::parse("cache and proxy"),
            Mode::Other("cache and proxy".into())
        );
        assert_eq!(AuthMode::parse("Token"), AuthMode::Other("Token".into()));
    }
}
