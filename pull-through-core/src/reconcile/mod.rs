//! The reconcile every backend shares, written once: read the cache, diff it field by
//! field against the spec, then create, update or leave it; the upstream password written
//! only on create, on a username change and on rotation (a stored password cannot be read
//! back, so it is never compared); a name that differs only in letter case from an
//! existing one refused where the vendor's names ignore case.
//!
//! A backend implements the small [`Reconcile`] trait (how to read, the settings a spec
//! asks for, what of the server's answer is noise, how to write) and calls [`plan`] and
//! [`ensure`] from its [`PullThroughBackend`](crate::PullThroughBackend) methods, the way
//! object_store's backends share their multipart and listing code.
//!
//! ```
//! use async_trait::async_trait;
//! use pull_through_core::reconcile::{self, Observed, Reconcile, Write};
//! use pull_through_core::{CacheName, CacheSpec, CacheState, Ensured, Error, FieldValue, NameCase, PackageFormat, Upstream};
//! use std::sync::Mutex;
//!
//! /// A backend that keeps one upstream URL per cache in memory.
//! #[derive(Default)]
//! struct Memory(Mutex<Vec<(String, String)>>);
//!
//! #[async_trait]
//! impl Reconcile for Memory {
//!     type Resource = (String, String);
//!     fn vendor(&self) -> &str { "memory" }
//!     fn name_case(&self) -> NameCase { NameCase::Sensitive }
//!     async fn read(&self, name: &CacheName) -> Result<Option<Self::Resource>, Error> {
//!         Ok(self.0.lock().unwrap().iter().find(|(n, _)| n == name.as_str()).cloned())
//!     }
//!     async fn names(&self) -> Result<Vec<String>, Error> {
//!         Ok(self.0.lock().unwrap().iter().map(|(n, _)| n.clone()).collect())
//!     }
//!     fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
//!         vec![("url".into(), spec.upstream().unwrap().url().to_string().into())]
//!     }
//!     fn observed(&self, _: &CacheSpec, (_, url): &Self::Resource) -> Observed {
//!         Observed::new().with("url", url.clone())
//!     }
//!     async fn create(&self, spec: &CacheSpec) -> Result<Self::Resource, Error> {
//!         let made = (spec.name.to_string(), spec.upstream().unwrap().url().to_string());
//!         self.0.lock().unwrap().push(made.clone());
//!         Ok(made)
//!     }
//!     async fn update(&self, spec: &CacheSpec, _: &Self::Resource, _: &Write<'_>) -> Result<Self::Resource, Error> {
//!         unreachable!("the spec never changes in this example")
//!     }
//!     fn state(&self, (name, url): &Self::Resource) -> Result<CacheState, Error> {
//!         Ok(CacheState::remote(CacheName::new(name.clone())?, PackageFormat::Docker, url.clone()))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let memory = Memory::default();
//! let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
//! assert!(matches!(reconcile::ensure(&memory, &spec).await?, Ensured::Created { .. }));
//! assert!(matches!(reconcile::ensure(&memory, &spec).await?, Ensured::Unchanged { .. }));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::Error;
use crate::plan::{Diff, FieldChange, FieldValue};
use crate::spec::{CacheKind, CacheName, CacheSpec, CredentialWrite, NameCase};
use crate::state::CacheState;

/// What a vendor's resource holds of the settings a spec sets, with the server's noise
/// already removed (letter case it changes, suffixes it adds, defaults it fills in), and
/// the username it presents upstream.
///
/// ```
/// use pull_through_core::reconcile::Observed;
/// use pull_through_core::FieldValue;
/// let observed = Observed::new().with("enableTokenAuthentication", true).with_username("org/id");
/// assert_eq!(observed.get("enableTokenAuthentication"), Some(&FieldValue::Bool(true)));
/// assert_eq!(observed.username(), Some("org/id"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observed {
    fields: BTreeMap<String, FieldValue>,
    username: Option<String>,
}

impl Observed {
    /// Nothing observed yet.
    ///
    /// ```
    /// # use pull_through_core::reconcile::Observed;
    /// assert_eq!(Observed::new().username(), None);
    /// ```
    pub fn new() -> Observed {
        Observed::default()
    }

    /// Records a setting's value.
    ///
    /// ```
    /// # use pull_through_core::reconcile::Observed;
    /// let observed = Observed::new().with("url", "https://cgr.dev/");
    /// assert!(observed.get("url").is_some());
    /// ```
    pub fn with(mut self, field: impl Into<String>, value: impl Into<FieldValue>) -> Observed {
        self.fields.insert(field.into(), value.into());
        self
    }

    /// Records a setting's value when there is one; a setting the server does not report
    /// differs from any desired value.
    ///
    /// ```
    /// # use pull_through_core::reconcile::Observed;
    /// let observed = Observed::new().with_opt("includesPattern", None::<String>);
    /// assert!(observed.get("includesPattern").is_none());
    /// ```
    pub fn with_opt(
        self,
        field: impl Into<String>,
        value: Option<impl Into<FieldValue>>,
    ) -> Observed {
        match value {
            Some(value) => self.with(field, value),
            None => self,
        }
    }

    /// Records the username the resource presents upstream; empty is none, as vendors
    /// that answer `""` for a remote without credentials mean it.
    ///
    /// ```
    /// # use pull_through_core::reconcile::Observed;
    /// assert_eq!(Observed::new().with_username("").username(), None);
    /// ```
    pub fn with_username(mut self, username: impl Into<String>) -> Observed {
        let username = username.into();
        self.username = (!username.is_empty()).then_some(username);
        self
    }

    /// A setting's value, if the server reported it.
    ///
    /// ```
    /// # use pull_through_core::{FieldValue, reconcile::Observed};
    /// assert_eq!(Observed::new().with("a", 1i64).get("a"), Some(&FieldValue::Integer(1)));
    /// ```
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.fields.get(field)
    }

    /// The username, if any.
    ///
    /// ```
    /// # use pull_through_core::reconcile::Observed;
    /// assert_eq!(Observed::new().with_username("u").username(), Some("u"));
    /// ```
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
}

/// What to do with the upstream password in a write.
///
/// ```
/// use pull_through_core::reconcile::PasswordWrite;
/// assert!(PasswordWrite::default().is_keep());
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub enum PasswordWrite<'a> {
    /// Leave the stored password as it is.
    #[default]
    Keep,
    /// Write this password (create, username change, rotation).
    Set(&'a SecretString),
    /// Remove stored credentials: the spec has none any more.
    Clear,
}

impl PasswordWrite<'_> {
    /// Whether the stored password stays as it is.
    ///
    /// ```
    /// # use pull_through_core::reconcile::PasswordWrite;
    /// assert!(!PasswordWrite::Clear.is_keep());
    /// ```
    pub fn is_keep(&self) -> bool {
        matches!(self, PasswordWrite::Keep)
    }
}

/// One update: the settings that differ (for the vendor to build its body from) and the
/// password rule's decision.
///
/// ```
/// use pull_through_core::reconcile::{PasswordWrite, Write};
/// use pull_through_core::FieldChange;
/// let changes = vec![FieldChange::new("url", None, "https://cgr.dev/".into())];
/// let write = Write::new(&changes, PasswordWrite::Keep);
/// assert!(write.changes("url"));
/// assert!(!write.changes("username"));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Write<'a> {
    /// The settings that differ, as a plan shows them (`username` and `password`
    /// included when they are written).
    pub changes: &'a [FieldChange],
    /// What to do with the password.
    pub password: PasswordWrite<'a>,
}

impl<'a> Write<'a> {
    /// A write of `changes`, doing `password` with the password.
    ///
    /// ```
    /// # use pull_through_core::reconcile::{PasswordWrite, Write};
    /// let write = Write::new(&[], PasswordWrite::Clear);
    /// assert!(!write.password.is_keep());
    /// ```
    pub fn new(changes: &'a [FieldChange], password: PasswordWrite<'a>) -> Write<'a> {
        Write { changes, password }
    }

    /// Whether `field` is written.
    ///
    /// ```
    /// # use pull_through_core::reconcile::{PasswordWrite, Write};
    /// let write = Write::new(&[], PasswordWrite::Keep);
    /// assert!(!write.changes("description"));
    /// ```
    pub fn changes(&self, field: &str) -> bool {
        self.changes.iter().any(|change| change.field == field)
    }
}

/// What a backend supplies to the shared reconcile.
///
/// `Resource` is the vendor's own model of a cache as read from its API. The reconcile
/// reads it, asks [`observed`](Self::observed) what it holds of the settings
/// [`desired`](Self::desired) names, and writes through [`create`](Self::create) and
/// [`update`](Self::update), which return the resource as written (read back, or taken
/// from the write's answer when it carries it).
///
/// See the [module documentation](self) for a whole implementation.
#[async_trait]
pub trait Reconcile: Send + Sync {
    /// The vendor's model of one cache.
    type Resource: Send + Sync;

    /// The vendor's short name, for errors.
    fn vendor(&self) -> &str;

    /// How the vendor compares names: where case is ignored, a name differing only in
    /// case from an existing one is refused before it is created.
    fn name_case(&self) -> NameCase;

    /// The cache of that exact name, or `None`.
    async fn read(&self, name: &CacheName) -> Result<Option<Self::Resource>, Error>;

    /// The names of every cache, for the letter-case twin check (only called where the
    /// vendor ignores case).
    async fn names(&self) -> Result<Vec<String>, Error>;

    /// Every cache in one listing, for a run over many ([`Listing`](crate::listing::Listing)): each name, with the
    /// whole resource where the vendor's list answer holds it (`None` where a cache must
    /// still be read on its own). `Ok(None)`, the default, where the vendor cannot list
    /// every cache cheaply: the run then reads each cache, as without a listing.
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<Self::Resource>)>>, Error> {
        Ok(None)
    }

    /// The settings the spec asks for, in the order a plan shows them; not the username
    /// nor the password, which the reconcile handles itself. A setting the spec leaves
    /// open is left out.
    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)>;

    /// What a create sends, as a plan shows it. The default: the desired settings, then
    /// the username and a hidden password when the spec has credentials.
    fn create_fields(&self, spec: &CacheSpec) -> Vec<FieldChange> {
        let mut fields: Vec<FieldChange> = self
            .desired(spec)
            .into_iter()
            .map(|(field, value)| FieldChange::new(field, None, value))
            .collect();
        if let Some(credentials) = remote_credentials(spec) {
            fields.push(FieldChange::new(
                "username",
                None,
                credentials.username().to_owned().into(),
            ));
            fields.push(FieldChange::new("password", None, FieldValue::Secret));
        }
        fields
    }

    /// What `resource` holds of the desired settings, with the server's noise removed,
    /// and its username. `spec` is there for settings the vendor stores in several
    /// equivalent spellings (an upstream URL with or without its trailing slash).
    fn observed(&self, spec: &CacheSpec, resource: &Self::Resource) -> Observed;

    /// Refuses a change the vendor cannot make in place (a repository's class or type).
    /// The default accepts every change.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] saying how to proceed.
    fn check_update(&self, spec: &CacheSpec, resource: &Self::Resource) -> Result<(), Error> {
        let _ = (spec, resource);
        Ok(())
    }

    /// Creates the cache, with the spec's password if it has credentials. An
    /// [`Error::is_already_exists`] answer makes the reconcile read and update instead.
    async fn create(&self, spec: &CacheSpec) -> Result<Self::Resource, Error>;

    /// Writes what differs: the settings in `write.changes`, and the password as
    /// `write.password` says.
    async fn update(
        &self,
        spec: &CacheSpec,
        resource: &Self::Resource,
        write: &Write<'_>,
    ) -> Result<Self::Resource, Error>;

    /// The cache as the core reports it.
    fn state(&self, resource: &Self::Resource) -> Result<CacheState, Error>;
}

fn remote_credentials(spec: &CacheSpec) -> Option<&crate::upstream::UpstreamCredentials> {
    match &spec.kind {
        CacheKind::Remote(remote) => remote.credentials.as_ref(),
        _ => None,
    }
}

/// The settings that differ between `spec` and `resource`, and what to do with the
/// password: written when the username changes or the spec rotates, cleared when the
/// spec has no credentials and the resource has a username, kept otherwise.
///
/// See the [module documentation](self) for a whole backend; `diff` is what [`plan`]
/// shows of an existing cache.
pub fn diff<'a, R: Reconcile + ?Sized>(
    backend: &R,
    spec: &'a CacheSpec,
    resource: &R::Resource,
) -> (Vec<FieldChange>, PasswordWrite<'a>) {
    let observed = backend.observed(spec, resource);
    let mut diff = Diff::new();
    let mut password = PasswordWrite::Keep;
    if let CacheKind::Remote(remote) = &spec.kind {
        let want = remote.credentials.as_ref().map(|c| c.username());
        let have = observed.username();
        if want != have {
            let shown = |user: Option<&str>| user.map(|u| FieldValue::from(u.to_owned()));
            diff = diff.push(FieldChange::new(
                "username",
                shown(have),
                shown(want).unwrap_or_else(|| FieldValue::from(String::new())),
            ));
        }
        password = match (&remote.credentials, want != have) {
            (Some(credentials), true) => PasswordWrite::Set(credentials.password()),
            (Some(credentials), false) if remote.credential_write == CredentialWrite::Rotate => {
                PasswordWrite::Set(credentials.password())
            }
            (None, true) => PasswordWrite::Clear,
            _ => PasswordWrite::Keep,
        };
    }
    for (field, want) in backend.desired(spec) {
        diff = diff.field(&field, want, observed.get(&field).cloned());
    }
    if !password.is_keep() {
        diff = diff.secret("password", true);
    }
    (diff.into_changes(), password)
}

mod run;
#[cfg(test)]
mod tests;

pub use run::{describe_in, ensure, ensure_in, listing, plan, plan_in, read_in};
