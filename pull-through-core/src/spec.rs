//! What a cache should be: [`CacheSpec`], and [`CacheSet`] for a whole configuration.
//!
//! ```
//! use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, Upstream};
//!
//! let public = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
//! let virt = CacheSpec::aggregate(
//!     CacheName::new("cgr-virt")?,
//!     PackageFormat::Docker,
//!     vec![CacheName::new("cgr-public")?],
//! );
//! // Aggregates come after their members, whatever order they were given in.
//! let set = CacheSet::new(vec![virt, public], NameCase::Insensitive)?;
//! let order: Vec<&str> = set.in_apply_order().map(|spec| spec.name.as_str()).collect();
//! assert_eq!(order, ["cgr-public", "cgr-virt"]);
//! # Ok::<(), pull_through_core::ValidationError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::upstream::{PackageFormat, Upstream, UpstreamCredentials};
use crate::validation::ValidationError;

/// A cache's name as the backend knows it (Artifactory key, Artifact Registry repository
/// id, Cloudsmith slug).
///
/// This type checks only what every backend needs: 1 to 255 printable ASCII characters
/// with no whitespace and no `/`. Each backend's `check_spec` applies its own, stricter
/// [`NameRules`](crate::NameRules).
///
/// ```
/// use pull_through_core::CacheName;
/// assert!(CacheName::new("cgr-public").is_ok());
/// assert!(CacheName::new("cgr public").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CacheName(String);

impl CacheName {
    /// Validates a cache name.
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidName`] when the name is empty, too long, or has a
    /// character no backend accepts.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, ValidationError};
    /// let err = CacheName::new("has/slash").unwrap_err();
    /// assert!(matches!(err, ValidationError::InvalidName { .. }));
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        let valid = (1..=255).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_graphic() && c != '/');
        if !valid {
            return Err(ValidationError::InvalidName {
                what: "cache name".to_owned(),
                name,
                rule: "use 1 to 255 printable ASCII characters without spaces or '/'; each \
                       backend narrows this further"
                    .to_owned(),
            });
        }
        Ok(CacheName(name))
    }

    /// The name.
    ///
    /// ```
    /// # use pull_through_core::CacheName;
    /// assert_eq!(CacheName::new("cgr-public")?.as_str(), "cgr-public");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CacheName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheName({:?})", self.0)
    }
}

impl std::str::FromStr for CacheName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CacheName::new(s)
    }
}

impl TryFrom<String> for CacheName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CacheName::new(value)
    }
}

impl From<CacheName> for String {
    fn from(value: CacheName) -> Self {
        value.0
    }
}

/// When a backend writes a remote cache's upstream credentials.
///
/// Vendors store upstream passwords write-only (Artifactory returns them encrypted,
/// Cloudsmith not at all), so a backend cannot tell whether the stored password is the one
/// in the spec. Writing it on every run would make every run a change; instead it is
/// written when the cache is created and when a rotation is asked for.
///
/// ```
/// use pull_through_core::{CacheKind, CacheName, CacheSpec, CredentialWrite, UpstreamCredentials};
/// let spec = CacheSpec::remote(CacheName::new("cgr-private")?, "cgr.dev/example.com".parse()?)
///     .with_credentials(UpstreamCredentials::new("org/identity", "new-token")?)
///     .rotating_credentials();
/// let CacheKind::Remote(remote) = &spec.kind else { unreachable!() };
/// assert_eq!(remote.credential_write, CredentialWrite::Rotate);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialWrite {
    /// Write credentials only when creating the cache (and when the username changed).
    #[default]
    OnCreate,
    /// Write the credentials now, even if the cache exists: a rotation.
    Rotate,
}

/// A cache of one upstream.
///
/// ```
/// use pull_through_core::{CacheKind, CacheName, CacheSpec, Upstream};
/// let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
/// let CacheKind::Remote(remote) = &spec.kind else { unreachable!() };
/// assert!(remote.credentials.is_none());
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteSpec {
    /// What it caches.
    pub upstream: Upstream,
    /// What it presents to the upstream; required when the upstream needs a pull token.
    pub credentials: Option<UpstreamCredentials>,
    /// When the credentials are written.
    pub credential_write: CredentialWrite,
}

/// A cache that serves the union of other caches, in order (Artifactory's virtual
/// repositories).
///
/// ```
/// use pull_through_core::{CacheKind, CacheName, CacheSpec, PackageFormat};
/// let spec = CacheSpec::aggregate(CacheName::new("cg-apk-virt")?, PackageFormat::Apk,
///     vec![CacheName::new("cg-private")?, CacheName::new("cg-chainguard")?]);
/// let CacheKind::Aggregate(aggregate) = &spec.kind else { unreachable!() };
/// assert_eq!(aggregate.members.len(), 2);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AggregateSpec {
    /// What it serves; every member must serve the same.
    pub format: PackageFormat,
    /// The member caches, in resolution order.
    pub members: Vec<CacheName>,
}

/// Whether a cache fronts one upstream or aggregates other caches.
///
/// ```
/// use pull_through_core::{CacheKind, CacheName, CacheSpec, Upstream};
/// let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
/// match &spec.kind {
///     CacheKind::Remote(remote) => assert_eq!(remote.upstream, Upstream::CgrPublic),
///     CacheKind::Aggregate(_) => unreachable!(),
///     _ => {}
/// }
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheKind {
    /// A cache of one upstream.
    Remote(RemoteSpec),
    /// A cache over other caches.
    Aggregate(AggregateSpec),
}

/// What one cache should be. Build with [`CacheSpec::remote`] or
/// [`CacheSpec::aggregate`], then the `with_*` methods.
///
/// ```
/// use pull_through_core::{CacheName, CacheSpec, Upstream, UpstreamCredentials};
///
/// let spec = CacheSpec::remote(CacheName::new("cgr-private")?, "cgr.dev/example.com".parse()?)
///     .with_credentials(UpstreamCredentials::new("org/identity", "jwt")?)
///     .with_description("Chainguard private images");
/// spec.validate()?;
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheSpec {
    /// The cache's name.
    pub name: CacheName,
    /// What it fronts.
    pub kind: CacheKind,
    /// A description for people browsing the backend.
    pub description: Option<String>,
}

impl CacheSpec {
    /// A cache of one upstream, without credentials.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, PackageFormat, Upstream};
    /// let spec = CacheSpec::remote(CacheName::new("cg-chainguard")?, Upstream::Wolfi);
    /// assert_eq!(spec.format(), PackageFormat::Apk);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn remote(name: CacheName, upstream: Upstream) -> Self {
        CacheSpec {
            name,
            kind: CacheKind::Remote(RemoteSpec {
                upstream,
                credentials: None,
                credential_write: CredentialWrite::OnCreate,
            }),
            description: None,
        }
    }

    /// A cache over other caches, in resolution order.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, PackageFormat};
    /// let spec = CacheSpec::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker,
    ///     vec![CacheName::new("cgr-public")?]);
    /// assert!(spec.upstream().is_none());
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn aggregate(name: CacheName, format: PackageFormat, members: Vec<CacheName>) -> Self {
        CacheSpec {
            name,
            kind: CacheKind::Aggregate(AggregateSpec { format, members }),
            description: None,
        }
    }

    /// Sets the credentials presented to the upstream. No effect on aggregates.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, UpstreamCredentials};
    /// let spec = CacheSpec::remote(CacheName::new("cg-private")?, "apk.cgr.dev/example.com".parse()?)
    ///     .with_credentials(UpstreamCredentials::new("org/identity", "token")?);
    /// spec.validate()?;
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_credentials(mut self, credentials: UpstreamCredentials) -> Self {
        if let CacheKind::Remote(remote) = &mut self.kind {
            remote.credentials = Some(credentials);
        }
        self
    }

    /// Asks the backend to write the credentials even if the cache exists. No effect on
    /// aggregates.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream, ValidationError};
    /// let err = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic)
    ///     .rotating_credentials()
    ///     .validate()
    ///     .unwrap_err();
    /// assert!(matches!(err, ValidationError::RotationWithoutCredentials { .. }));
    /// # Ok::<(), ValidationError>(())
    /// ```
    pub fn rotating_credentials(mut self) -> Self {
        if let CacheKind::Remote(remote) = &mut self.kind {
            remote.credential_write = CredentialWrite::Rotate;
        }
        self
    }

    /// Sets the description.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream};
    /// let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic)
    ///     .with_description("Chainguard public images");
    /// assert_eq!(spec.description.as_deref(), Some("Chainguard public images"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// What the cache serves.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, PackageFormat, Upstream};
    /// assert_eq!(CacheSpec::remote(CacheName::new("p")?, Upstream::CgrPublic).format(), PackageFormat::Docker);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn format(&self) -> PackageFormat {
        match &self.kind {
            CacheKind::Remote(remote) => remote.upstream.format(),
            CacheKind::Aggregate(aggregate) => aggregate.format,
        }
    }

    /// The upstream, for a remote cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, Upstream};
    /// let spec = CacheSpec::remote(CacheName::new("p")?, Upstream::CgrPublic);
    /// assert_eq!(spec.upstream().map(|u| u.url().to_string()).as_deref(), Some("https://cgr.dev/"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn upstream(&self) -> Option<&Upstream> {
        match &self.kind {
            CacheKind::Remote(remote) => Some(&remote.upstream),
            CacheKind::Aggregate(_) => None,
        }
    }

    /// Checks the rules that hold whatever the backend: credentials where the upstream
    /// needs a pull token, a rotation only with credentials, an aggregate with members,
    /// none twice and not itself.
    ///
    /// # Errors
    ///
    /// The first [`ValidationError`] found.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, ValidationError};
    /// let err = CacheSpec::remote(CacheName::new("cgr-private")?, "cgr.dev/example.com".parse()?)
    ///     .validate()
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "cache \"cgr-private\": upstream cgr.dev/example.com needs credentials: \
    ///     create a pull token with the registry.pull role for the organization and pass its identity id \
    ///     as username and its token as password");
    /// # Ok::<(), ValidationError>(())
    /// ```
    pub fn validate(&self) -> Result<(), ValidationError> {
        match &self.kind {
            CacheKind::Remote(remote) => {
                if let (Some(role), None) = (remote.upstream.required_role(), &remote.credentials) {
                    return Err(ValidationError::MissingCredentials {
                        cache: self.name.to_string(),
                        upstream: remote.upstream.to_string(),
                        role: role.to_string(),
                    });
                }
                if remote.credential_write == CredentialWrite::Rotate
                    && remote.credentials.is_none()
                {
                    return Err(ValidationError::RotationWithoutCredentials {
                        cache: self.name.to_string(),
                    });
                }
                Ok(())
            }
            CacheKind::Aggregate(aggregate) => {
                let invalid = |problem: String| ValidationError::InvalidMembers {
                    cache: self.name.to_string(),
                    problem,
                };
                if aggregate.members.is_empty() {
                    return Err(invalid(
                        "it has no members; list the caches it serves".into(),
                    ));
                }
                if aggregate.members.contains(&self.name) {
                    return Err(invalid("it lists itself as a member".into()));
                }
                let mut seen = BTreeSet::new();
                for member in &aggregate.members {
                    if !seen.insert(member) {
                        return Err(invalid(format!(
                            "member {:?} is listed twice",
                            member.as_str()
                        )));
                    }
                }
                Ok(())
            }
        }
    }
}

/// How a backend compares cache names.
///
/// ```
/// use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, Upstream};
/// let twins = || vec![
///     CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic),
///     CacheSpec::remote(CacheName::new("CGR-PUBLIC").unwrap(), Upstream::CgrPublic),
/// ];
/// assert!(CacheSet::new(twins(), NameCase::Sensitive).is_ok());
/// assert!(CacheSet::new(twins(), NameCase::Insensitive).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameCase {
    /// `a` and `A` are different caches.
    Sensitive,
    /// `a` and `A` are the same cache (Artifactory: "Case insensitive repository key
    /// already exists").
    Insensitive,
}

/// A whole configuration's caches for one backend, checked together: unique names, every
/// member defined, members of the aggregate's format, no cycles. Iterate them in the order
/// they must be applied (members before the aggregates over them).
///
/// ```
/// use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, ValidationError};
///
/// let virt = CacheSpec::aggregate(CacheName::new("v")?, PackageFormat::Docker,
///     vec![CacheName::new("missing")?]);
/// let err = CacheSet::new(vec![virt], NameCase::Sensitive).unwrap_err();
/// assert!(matches!(err, ValidationError::InvalidMembers { .. }));
/// # Ok::<(), ValidationError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CacheSet {
    specs: Vec<CacheSpec>,
    order: Vec<usize>,
}

impl CacheSet {
    /// Checks each spec and the set as a whole.
    ///
    /// # Errors
    ///
    /// The first [`ValidationError`] found, naming the cache.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, Upstream};
    /// let set = CacheSet::new(vec![CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic)], NameCase::Sensitive)?;
    /// assert_eq!(set.specs().len(), 1);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn new(specs: Vec<CacheSpec>, case: NameCase) -> Result<Self, ValidationError> {
        let fold = |name: &CacheName| match case {
            NameCase::Sensitive => name.as_str().to_owned(),
            NameCase::Insensitive => name.as_str().to_ascii_lowercase(),
        };
        let mut index = BTreeMap::new();
        for (position, spec) in specs.iter().enumerate() {
            spec.validate()?;
            if index.insert(fold(&spec.name), position).is_some() {
                return Err(ValidationError::DuplicateName {
                    name: spec.name.to_string(),
                    case_note: match case {
                        NameCase::Sensitive => String::new(),
                        NameCase::Insensitive => " (this backend ignores letter case)".to_owned(),
                    },
                });
            }
        }
        for spec in &specs {
            let CacheKind::Aggregate(aggregate) = &spec.kind else {
                continue;
            };
            for member in &aggregate.members {
                let problem = match index.get(&fold(member)).map(|&i| &specs[i]) {
                    // The name's own text, quoted as the other messages quote names:
                    // `{member:?}` would print the type's Debug form, `CacheName("...")`.
                    None => Some(format!(
                        "member {:?} is not defined; define it in the same configuration",
                        member.as_str()
                    )),
                    Some(found) if found.format() != aggregate.format => Some(format!(
                        "member {:?} serves {} but the aggregate serves {}",
                        member.as_str(),
                        found.format(),
                        aggregate.format
                    )),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    return Err(ValidationError::InvalidMembers {
                        cache: spec.name.to_string(),
                        problem,
                    });
                }
            }
        }
        let order = apply_order(&specs, &index, fold)?;
        Ok(CacheSet { specs, order })
    }

    /// The specs in the order they were given.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, Upstream};
    /// let set = CacheSet::new(vec![CacheSpec::remote(CacheName::new("a")?, Upstream::CgrPublic)], NameCase::Sensitive)?;
    /// assert_eq!(set.specs()[0].name.as_str(), "a");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn specs(&self) -> &[CacheSpec] {
        &self.specs
    }

    /// The specs with every aggregate after its members; remotes first, in the order given.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, Upstream};
    /// let set = CacheSet::new(vec![
    ///     CacheSpec::aggregate(CacheName::new("v")?, PackageFormat::Apk, vec![CacheName::new("w")?]),
    ///     CacheSpec::remote(CacheName::new("w")?, Upstream::Wolfi),
    /// ], NameCase::Sensitive)?;
    /// assert_eq!(set.in_apply_order().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["w", "v"]);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn in_apply_order(&self) -> impl Iterator<Item = &CacheSpec> {
        self.order.iter().map(|&i| &self.specs[i])
    }

    /// The specs in the order they can be deleted: aggregates before their members.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, Upstream};
    /// let set = CacheSet::new(vec![
    ///     CacheSpec::remote(CacheName::new("w")?, Upstream::Wolfi),
    ///     CacheSpec::aggregate(CacheName::new("v")?, PackageFormat::Apk, vec![CacheName::new("w")?]),
    /// ], NameCase::Sensitive)?;
    /// assert_eq!(set.in_delete_order().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["v", "w"]);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn in_delete_order(&self) -> impl Iterator<Item = &CacheSpec> {
        self.order.iter().rev().map(|&i| &self.specs[i])
    }

    /// What a verification of the cache `name` pulls by default: the seeds' probe for a
    /// remote's upstream ([`Probe::default_for`](crate::Probe::default_for)), and for an
    /// aggregate its first member's (members are checked to exist and form no cycle, so
    /// this ends). `None` for a name not in the set.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSet, CacheSpec, NameCase, PackageFormat, Probe, Upstream};
    /// let set = CacheSet::new(vec![
    ///     CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic),
    ///     CacheSpec::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker, vec![CacheName::new("cgr-public")?]),
    /// ], NameCase::Sensitive)?;
    /// assert_eq!(set.default_probe(&CacheName::new("cgr-virt")?), Some(Probe::default_for(&Upstream::CgrPublic)));
    /// assert_eq!(set.default_probe(&CacheName::new("gone")?), None);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn default_probe(&self, name: &CacheName) -> Option<crate::Probe> {
        let mut spec = self.specs.iter().find(|s| &s.name == name)?;
        // At most one step per spec: the set has no cycles.
        for _ in 0..=self.specs.len() {
            match &spec.kind {
                CacheKind::Remote(remote) => {
                    return Some(crate::Probe::default_for(&remote.upstream));
                }
                CacheKind::Aggregate(aggregate) => {
                    let first = aggregate.members.first()?;
                    spec = self
                        .specs
                        .iter()
                        .find(|s| s.name.as_str().eq_ignore_ascii_case(first.as_str()))?;
                }
            }
        }
        None
    }
}

/// Depth-first topological order; a member reached while its aggregate is still open
/// means a cycle.
fn apply_order(
    specs: &[CacheSpec],
    index: &BTreeMap<String, usize>,
    fold: impl Fn(&CacheName) -> String,
) -> Result<Vec<usize>, ValidationError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        at: usize,
        specs: &[CacheSpec],
        index: &BTreeMap<String, usize>,
        fold: &dyn Fn(&CacheName) -> String,
        marks: &mut [Mark],
        order: &mut Vec<usize>,
    ) -> Result<(), ValidationError> {
        match marks[at] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                return Err(ValidationError::InvalidMembers {
                    cache: specs[at].name.to_string(),
                    problem: "its members lead back to it; aggregates must not form a cycle"
                        .to_owned(),
                });
            }
            Mark::New => {}
        }
        marks[at] = Mark::Open;
        if let CacheKind::Aggregate(aggregate) = &specs[at].kind {
            for member in &aggregate.members {
                visit(index[&fold(member)], specs, index, fold, marks, order)?;
            }
        }
        marks[at] = Mark::Done;
        order.push(at);
        Ok(())
    }

    let mut marks = vec![Mark::New; specs.len()];
    let mut order = Vec::with_capacity(specs.len());
    let remotes_first = (0..specs.len())
        .filter(|&i| matches!(specs[i].kind, CacheKind::Remote(_)))
        .chain((0..specs.len()).filter(|&i| matches!(specs[i].kind, CacheKind::Aggregate(_))));
    for at in remotes_first {
        visit(at, specs, index, &fold, &mut marks, &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> CacheName {
        CacheName::new(text).unwrap()
    }

    fn docker_virtual(text: &str, members: &[&str]) -> CacheSpec {
        CacheSpec::aggregate(
            name(text),
            PackageFormat::Docker,
            members.iter().map(|m| name(m)).collect(),
        )
    }

    #[test]
    fn cache_names() {
        for bad in ["", "a b", "a/b", "tab\t", "é"] {
            assert!(CacheName::new(bad).is_err(), "{bad:?}");
        }
        assert!(CacheName::new("a".repeat(256)).is_err());
        assert!(CacheName::new("cg-apk_virt.1").is_ok());
    }

    #[test]
    fn private_upstreams_need_credentials() {
        let spec = CacheSpec::remote(name("p"), "apk.cgr.dev/example.com".parse().unwrap());
        let err = spec.validate().unwrap_err();
        assert!(
            matches!(&err, ValidationError::MissingCredentials { role, .. } if role == "apk.pull"),
            "{err:?}"
        );
        let rotating = CacheSpec::remote(name("p"), Upstream::CgrPublic).rotating_credentials();
        assert!(matches!(
            rotating.validate(),
            Err(ValidationError::RotationWithoutCredentials { .. })
        ));
    }

    #[test]
    fn aggregate_member_rules() {
        assert!(docker_virtual("v", &[]).validate().is_err());
        assert!(docker_virtual("v", &["v"]).validate().is_err());
        assert!(docker_virtual("v", &["a", "a"]).validate().is_err());
    }

    #[test]
    fn set_rules() {
        let public = || CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic);
        let dup = CacheSet::new(
            vec![
                public(),
                CacheSpec::remote(name("CGR-PUBLIC"), Upstream::CgrPublic),
            ],
            NameCase::Insensitive,
        );
        assert!(matches!(dup, Err(ValidationError::DuplicateName { .. })));
        assert!(
            CacheSet::new(
                vec![
                    public(),
                    CacheSpec::remote(name("CGR-PUBLIC"), Upstream::CgrPublic)
                ],
                NameCase::Sensitive
            )
            .is_ok()
        );

        let wrong_format = CacheSet::new(
            vec![
                public(),
                CacheSpec::aggregate(
                    name("apk-virt"),
                    PackageFormat::Apk,
                    vec![name("cgr-public")],
                ),
            ],
            NameCase::Sensitive,
        );
        assert!(
            matches!(wrong_format, Err(ValidationError::InvalidMembers { problem, .. }) if problem.contains("serves docker"))
        );

        let cycle = CacheSet::new(
            vec![docker_virtual("a", &["b"]), docker_virtual("b", &["a"])],
            NameCase::Sensitive,
        );
        assert!(
            matches!(cycle, Err(ValidationError::InvalidMembers { problem, .. }) if problem.contains("cycle"))
        );
    }

    #[test]
    fn member_messages_name_the_member_not_its_type() {
        let undefined = CacheSet::new(vec![docker_virtual("v", &["missing"])], NameCase::Sensitive)
            .unwrap_err();
        assert_eq!(
            undefined.to_string(),
            "aggregate cache \"v\": member \"missing\" is not defined; define it in the same \
             configuration"
        );

        let wrong_format = CacheSet::new(
            vec![
                CacheSpec::remote(name("cgr-public"), Upstream::CgrPublic),
                CacheSpec::aggregate(
                    name("apk-virt"),
                    PackageFormat::Apk,
                    vec![name("cgr-public")],
                ),
            ],
            NameCase::Sensitive,
        )
        .unwrap_err();
        assert_eq!(
            wrong_format.to_string(),
            "aggregate cache \"apk-virt\": member \"cgr-public\" serves docker but the aggregate \
             serves apk"
        );

        let twice = docker_virtual("v", &["a", "a"]).validate().unwrap_err();
        assert_eq!(
            twice.to_string(),
            "aggregate cache \"v\": member \"a\" is listed twice"
        );
    }

    #[test]
    fn nested_aggregates_order() {
        let set = CacheSet::new(
            vec![
                docker_virtual("outer", &["inner", "r2"]),
                docker_virtual("inner", &["r1"]),
                CacheSpec::remote(name("r1"), Upstream::CgrPublic),
                CacheSpec::remote(name("r2"), Upstream::CgrPublic),
            ],
            NameCase::Sensitive,
        )
        .unwrap();
        let order: Vec<_> = set.in_apply_order().map(|s| s.name.as_str()).collect();
        assert_eq!(order, ["r1", "r2", "inner", "outer"]);
        let delete: Vec<_> = set.in_delete_order().map(|s| s.name.as_str()).collect();
        assert_eq!(delete, ["outer", "inner", "r2", "r1"]);
    }
}
