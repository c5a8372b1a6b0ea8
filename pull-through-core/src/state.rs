//! What a cache is: [`CacheState`], as a backend read it.
//!
//! ```
//! use pull_through_core::{CacheName, CacheState, PackageFormat};
//!
//! let state = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/")
//!     .with_setting("enableTokenAuthentication", true);
//! assert_eq!(state.upstream_url(), Some("https://cgr.dev/"));
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::plan::FieldValue;
use crate::spec::CacheName;
use crate::upstream::PackageFormat;

/// Whether an existing cache fronts an upstream or aggregates other caches.
///
/// ```
/// use pull_through_core::{CacheName, CacheRole, CacheState, PackageFormat};
/// let state = CacheState::remote(CacheName::new("cg-private")?, PackageFormat::Apk, "https://apk.cgr.dev/example.com")
///     .with_username("org/identity");
/// assert!(matches!(&state.role, CacheRole::Remote { username: Some(u), .. } if u == "org/identity"));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CacheRole {
    /// A cache of one upstream.
    Remote {
        /// The upstream URL exactly as the backend stores it.
        upstream_url: String,
        /// The username presented to the upstream, if any (the password is never read).
        username: Option<String>,
    },
    /// A cache over other caches.
    Aggregate {
        /// The members, in resolution order.
        members: Vec<CacheName>,
    },
}

/// A cache as it exists on a backend. Holds no secrets.
///
/// ```
/// use pull_through_core::{CacheName, CacheState, PackageFormat};
/// let state = CacheState::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker,
///         vec![CacheName::new("cgr-public")?])
///     .with_endpoint("example.jfrog.io/cgr-virt");
/// let json = serde_json::to_value(&state).unwrap();
/// assert_eq!(json["role"], "aggregate");
/// assert_eq!(json["members"][0], "cgr-public");
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CacheState {
    /// The cache's name.
    pub name: CacheName,
    /// What it serves.
    pub format: PackageFormat,
    /// Remote or aggregate.
    #[serde(flatten)]
    pub role: CacheRole,
    /// The description, without the noise some backends add to it.
    pub description: Option<String>,
    /// Where clients reach it, when the backend knows (a registry host and path, a
    /// repository URL).
    pub endpoint: Option<String>,
    /// The vendor-specific settings that matter for the seeds, normalised, by the
    /// vendor's field name.
    pub settings: BTreeMap<String, FieldValue>,
}

impl CacheState {
    /// A remote cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/");
    /// assert!(state.members().is_none());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn remote(name: CacheName, format: PackageFormat, upstream_url: impl Into<String>) -> Self {
        CacheState {
            name,
            format,
            role: CacheRole::Remote {
                upstream_url: upstream_url.into(),
                username: None,
            },
            description: None,
            endpoint: None,
            settings: BTreeMap::new(),
        }
    }

    /// An aggregate cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::aggregate(CacheName::new("v")?, PackageFormat::Docker, vec![]);
    /// assert!(state.upstream_url().is_none());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn aggregate(name: CacheName, format: PackageFormat, members: Vec<CacheName>) -> Self {
        CacheState {
            name,
            format,
            role: CacheRole::Aggregate { members },
            description: None,
            endpoint: None,
            settings: BTreeMap::new(),
        }
    }

    /// Sets the username presented to the upstream (remote caches only).
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("cgr-private")?, PackageFormat::Docker, "https://cgr.dev/")
    ///     .with_username("org/identity");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_username(mut self, name: impl Into<String>) -> Self {
        if let CacheRole::Remote { username, .. } = &mut self.role {
            *username = Some(name.into());
        }
        self
    }

    /// Sets the description.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("p")?, PackageFormat::Docker, "https://cgr.dev/")
    ///     .with_description("Chainguard public images");
    /// assert_eq!(state.description.as_deref(), Some("Chainguard public images"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets where clients reach the cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("p")?, PackageFormat::Docker, "https://cgr.dev/")
    ///     .with_endpoint("example.jfrog.io/p");
    /// assert_eq!(state.endpoint.as_deref(), Some("example.jfrog.io/p"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Records a vendor setting.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, FieldValue, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("p")?, PackageFormat::Apk, "https://apk.cgr.dev/example.com")
    ///     .with_setting("disableUrlNormalization", true);
    /// assert_eq!(state.settings["disableUrlNormalization"], FieldValue::Bool(true));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_setting(mut self, field: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.settings.insert(field.into(), value.into());
        self
    }

    /// The upstream URL, for a remote cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::remote(CacheName::new("p")?, PackageFormat::Docker, "https://cgr.dev/chainguard");
    /// // A debugging check: the seeds want exactly https://cgr.dev/.
    /// assert_ne!(state.upstream_url(), Some("https://cgr.dev/"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn upstream_url(&self) -> Option<&str> {
        match &self.role {
            CacheRole::Remote { upstream_url, .. } => Some(upstream_url),
            CacheRole::Aggregate { .. } => None,
        }
    }

    /// The members, for an aggregate cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheState, PackageFormat};
    /// let state = CacheState::aggregate(CacheName::new("v")?, PackageFormat::Docker, vec![CacheName::new("p")?]);
    /// assert_eq!(state.members().unwrap()[0].as_str(), "p");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn members(&self) -> Option<&[CacheName]> {
        match &self.role {
            CacheRole::Aggregate { members } => Some(members),
            CacheRole::Remote { .. } => None,
        }
    }
}

/// `<name>: <format> remote of <url>` (with the username presented to the upstream, when
/// there is one) or `<name>: <format> aggregate of <members>`, then `at <endpoint>` on a
/// line of its own when the backend knows where clients reach the cache. A state holds no
/// password, so nothing secret can show.
///
/// ```
/// use pull_through_core::{CacheName, CacheState, PackageFormat};
///
/// let remote = CacheState::remote(CacheName::new("cg-private")?, PackageFormat::Apk,
///         "https://apk.cgr.dev/example.com")
///     .with_username("org/identity");
/// assert_eq!(
///     remote.to_string(),
///     "cg-private: apk remote of https://apk.cgr.dev/example.com (username org/identity)"
/// );
///
/// let aggregate = CacheState::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker,
///         vec![CacheName::new("cgr-public")?, CacheName::new("cgr-private")?])
///     .with_endpoint("example.jfrog.io/cgr-virt");
/// assert_eq!(
///     aggregate.to_string(),
///     "cgr-virt: docker aggregate of cgr-public, cgr-private\n    at example.jfrog.io/cgr-virt"
/// );
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
impl fmt::Display for CacheState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ", self.name, self.format)?;
        match &self.role {
            CacheRole::Remote {
                upstream_url,
                username,
            } => {
                write!(f, "remote of {upstream_url}")?;
                if let Some(username) = username {
                    write!(f, " (username {username})")?;
                }
            }
            CacheRole::Aggregate { members } if members.is_empty() => {
                f.write_str("aggregate of no caches")?;
            }
            CacheRole::Aggregate { members } => {
                f.write_str("aggregate of ")?;
                for (index, member) in members.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{member}")?;
                }
            }
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, "\n    at {endpoint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> CacheName {
        CacheName::new(text).unwrap()
    }

    #[test]
    fn remote_display_without_username() {
        let state = CacheState::remote(
            name("cgr-public"),
            PackageFormat::Docker,
            "https://cgr.dev/",
        );
        assert_eq!(
            state.to_string(),
            "cgr-public: docker remote of https://cgr.dev/"
        );
    }

    #[test]
    fn remote_display_with_username_and_endpoint() {
        let state = CacheState::remote(
            name("cgr-private"),
            PackageFormat::Docker,
            "https://cgr.dev/",
        )
        .with_username("org/identity")
        .with_endpoint("example.jfrog.io/cgr-private")
        .with_description("not shown")
        .with_setting("enableTokenAuthentication", true);
        assert_eq!(
            state.to_string(),
            "cgr-private: docker remote of https://cgr.dev/ (username org/identity)\n    at \
             example.jfrog.io/cgr-private"
        );
    }

    #[test]
    fn aggregate_display() {
        let state = CacheState::aggregate(
            name("cg-apk-virt"),
            PackageFormat::Apk,
            vec![name("cg-private"), name("cg-chainguard"), name("cg-extras")],
        );
        assert_eq!(
            state.to_string(),
            "cg-apk-virt: apk aggregate of cg-private, cg-chainguard, cg-extras"
        );
    }

    #[test]
    fn aggregate_display_without_members() {
        let state = CacheState::aggregate(name("v"), PackageFormat::Docker, Vec::new())
            .with_endpoint("example.jfrog.io/v");
        assert_eq!(
            state.to_string(),
            "v: docker aggregate of no caches\n    at example.jfrog.io/v"
        );
    }
}
