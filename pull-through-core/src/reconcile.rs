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
use crate::http::may_have_been_processed;
use crate::listing::Listing;
use crate::plan::{Diff, Ensured, FieldChange, FieldValue, Plan};
use crate::spec::{CacheKind, CacheName, CacheSpec, CredentialWrite, NameCase};
use crate::state::CacheState;
use crate::validation::ValidationError;

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

    /// Every cache in one listing, for a run over many ([`Listing`]): each name, with the
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

/// What [`ensure`] would do, without writing: one read (two for a create where names
/// ignore case: the twin check lists them).
///
/// # Errors
///
/// What the vendor answered; [`Error::InvalidInput`] for a letter-case twin; what
/// [`Reconcile::check_update`] refuses.
///
/// See the [module documentation](self) for a whole backend.
pub async fn plan<R>(backend: &R, spec: &CacheSpec) -> Result<Plan, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    plan_in(backend, spec, &Listing::unknown()).await
}

/// [`plan`] within a run: what `listing` knows is not read again.
///
/// # Errors
///
/// As [`plan`].
///
/// ```
/// # use pull_through_core::reconcile::Reconcile;
/// # async fn example<R: Reconcile>(backend: &R, spec: &pull_through_core::CacheSpec) -> Result<(), pull_through_core::Error>
/// # where R::Resource: Clone + 'static {
/// use pull_through_core::reconcile;
/// let listing = reconcile::listing(backend).await?;
/// let plan = reconcile::plan_in(backend, spec, &listing).await?;
/// # Ok(()) }
/// ```
pub async fn plan_in<R>(backend: &R, spec: &CacheSpec, listing: &Listing) -> Result<Plan, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    match read_in(backend, &spec.name, listing).await? {
        None => {
            refuse_case_twin(backend, &spec.name, listing).await?;
            Ok(Plan::create(spec.name.clone(), backend.create_fields(spec)))
        }
        Some(resource) => {
            backend.check_update(spec, &resource)?;
            Ok(Plan::update(
                spec.name.clone(),
                diff(backend, spec, &resource).0,
            ))
        }
    }
}

/// Makes the cache match the spec: creates it, updates what differs, or leaves it. A
/// second call with the same spec reads once and writes nothing. A create that races
/// another (the vendor answers that it exists) is reconciled with a read and an update.
/// A create whose answer was lost ([`may_have_been_processed`]: a 5xx, a connection
/// broken after the request went out) is read back: found, it was made (`Created`, or
/// `Updated` when what was made differs from the spec); not found, the create's error is
/// returned.
///
/// # Errors
///
/// As [`plan`], and what the vendor answered to the write.
///
/// See the [module documentation](self) for a whole backend.
pub async fn ensure<R>(backend: &R, spec: &CacheSpec) -> Result<Ensured, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    ensure_in(backend, spec, &Listing::unknown()).await
}

/// [`ensure`] within a run: a cache the listing does not hold is created without a read,
/// one it holds whole is not read again, and what was written is kept in it for later
/// calls of the run.
///
/// # Errors
///
/// As [`ensure`].
///
/// ```
/// # use pull_through_core::reconcile::Reconcile;
/// # async fn example<R: Reconcile>(backend: &R, specs: &[pull_through_core::CacheSpec]) -> Result<(), pull_through_core::Error>
/// # where R::Resource: Clone + 'static {
/// use pull_through_core::reconcile;
/// let listing = reconcile::listing(backend).await?;
/// for spec in specs {
///     reconcile::ensure_in(backend, spec, &listing).await?;
/// }
/// # Ok(()) }
/// ```
pub async fn ensure_in<R>(
    backend: &R,
    spec: &CacheSpec,
    listing: &Listing,
) -> Result<Ensured, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    let name = spec.name.as_str();
    // Set when a create's answer was lost and the read found the cache it made.
    let mut created_unanswered = false;
    let resource = match read_in(backend, &spec.name, listing).await? {
        Some(resource) => resource,
        None => {
            refuse_case_twin(backend, &spec.name, listing).await?;
            match backend.create(spec).await {
                Ok(created) => {
                    let state = backend.state(&created)?;
                    listing.remember(name, created);
                    return Ok(Ensured::Created { state });
                }
                Err(err) if err.is_already_exists() => match backend.read(&spec.name).await? {
                    Some(resource) => resource,
                    None => {
                        // A letter-case twin made since the listing was taken answers
                        // "exists" too: say so, rather than that the cache vanished.
                        refuse_case_twin(backend, &spec.name, &Listing::unknown()).await?;
                        return Err(Error::Unsupported {
                            vendor: backend.vendor().to_owned(),
                            what: format!(
                                "ensuring {}: it vanished while being created",
                                spec.name
                            ),
                            hint: "apply again".to_owned(),
                        });
                    }
                },
                // The vendor may have made the cache and lost the answer (a 5xx, a
                // connection broken after the request went out): what it holds says
                // which. Failing here instead would leave a cache the caller believes
                // was never made, holding credentials the caller then revokes.
                Err(err) if may_have_been_processed(&err) => {
                    match backend.read(&spec.name).await? {
                        Some(made) => {
                            created_unanswered = true;
                            made
                        }
                        None => return Err(err),
                    }
                }
                Err(err) => return Err(err),
            }
        }
    };
    backend.check_update(spec, &resource)?;
    let (changes, password) = diff(backend, spec, &resource);
    if changes.is_empty() {
        let state = backend.state(&resource)?;
        if created_unanswered {
            listing.remember(name, resource);
            return Ok(Ensured::Created { state });
        }
        return Ok(Ensured::Unchanged { state });
    }
    // Whatever the update's answer, what was kept no longer says what the backend holds.
    listing.forget(name);
    let written = backend
        .update(
            spec,
            &resource,
            &Write {
                changes: &changes,
                password,
            },
        )
        .await?;
    let state = backend.state(&written)?;
    listing.remember(name, written);
    Ok(Ensured::Updated { state, changes })
}

/// One listing of the whole backend through [`Reconcile::list_all`], or
/// [`Listing::unknown`] where the backend has none.
///
/// # Errors
///
/// What the vendor answered to the listing.
///
/// ```
/// # use pull_through_core::reconcile::Reconcile;
/// # async fn example<R: Reconcile>(backend: &R) -> Result<(), pull_through_core::Error>
/// # where R::Resource: Clone + 'static {
/// let listing = pull_through_core::reconcile::listing(backend).await?;
/// # Ok(()) }
/// ```
pub async fn listing<R>(backend: &R) -> Result<Listing, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    let Some(all) = backend.list_all().await? else {
        return Ok(Listing::unknown());
    };
    let listing = Listing::of_names(all.iter().map(|(name, _)| name.clone()));
    for (name, resource) in all {
        if let Some(resource) = resource {
            listing.remember(name, resource);
        }
    }
    Ok(listing)
}

/// The cache `name` as the run knows it: kept in `listing`, absent from a complete
/// listing, or read (and then kept).
///
/// # Errors
///
/// What the vendor answered to the read.
///
/// ```
/// # use pull_through_core::reconcile::Reconcile;
/// # async fn example<R: Reconcile>(backend: &R, name: &pull_through_core::CacheName) -> Result<(), pull_through_core::Error>
/// # where R::Resource: Clone + 'static {
/// let listing = pull_through_core::listing::Listing::unknown();
/// let first = pull_through_core::reconcile::read_in(backend, name, &listing).await?; // a read
/// let again = pull_through_core::reconcile::read_in(backend, name, &listing).await?; // none
/// # Ok(()) }
/// ```
pub async fn read_in<R>(
    backend: &R,
    name: &CacheName,
    listing: &Listing,
) -> Result<Option<R::Resource>, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    if let Some(resource) = listing.resource::<R::Resource>(name.as_str()) {
        return Ok(Some(resource));
    }
    if listing.holds(name.as_str()) == Some(false) {
        return Ok(None);
    }
    let read = backend.read(name).await?;
    if let Some(resource) = &read {
        listing.remember(name.as_str(), resource.clone());
    }
    Ok(read)
}

/// [`Reconcile::state`] of the cache as the run knows it ([`read_in`]).
///
/// # Errors
///
/// What the vendor answered to the read.
///
/// ```
/// # use pull_through_core::reconcile::Reconcile;
/// # async fn example<R: Reconcile>(backend: &R, name: &pull_through_core::CacheName) -> Result<(), pull_through_core::Error>
/// # where R::Resource: Clone + 'static {
/// let listing = pull_through_core::reconcile::listing(backend).await?;
/// let state = pull_through_core::reconcile::describe_in(backend, name, &listing).await?;
/// # Ok(()) }
/// ```
pub async fn describe_in<R>(
    backend: &R,
    name: &CacheName,
    listing: &Listing,
) -> Result<Option<CacheState>, Error>
where
    R: Reconcile + ?Sized,
    R::Resource: Clone + 'static,
{
    read_in(backend, name, listing)
        .await?
        .map(|resource| backend.state(&resource))
        .transpose()
}

/// Where names ignore case, reads match exactly: a name that differs only in case from
/// an existing one would be planned as a create that can never succeed.
async fn refuse_case_twin<R: Reconcile + ?Sized>(
    backend: &R,
    name: &CacheName,
    listing: &Listing,
) -> Result<(), Error> {
    if backend.name_case() != NameCase::Insensitive {
        return Ok(());
    }
    let names: Vec<String> = match listing.names() {
        Some(names) => names.map(str::to_owned).collect(),
        None => backend.names().await?,
    };
    match names
        .iter()
        .find(|other| other.as_str() != name.as_str() && other.eq_ignore_ascii_case(name.as_str()))
    {
        Some(twin) => Err(Error::InvalidInput(ValidationError::InvalidValue {
            field: "name".to_owned(),
            problem: format!(
                "{name}: {twin} already exists on {}, whose names are unique regardless of \
                 letter case; name the cache {twin} or choose another name",
                backend.vendor()
            ),
        })),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::upstream::{Upstream, UpstreamCredentials};
    use crate::{ExposeSecret, PackageFormat};

    /// A cache as the fake vendor stores it: key, url, username, and the writes it saw.
    #[derive(Debug, Clone, Default)]
    struct Stored {
        key: String,
        url: String,
        username: String,
    }

    #[derive(Default)]
    struct Fake {
        stored: Mutex<Vec<Stored>>,
        writes: Mutex<Vec<String>>,
        /// Another writer creates the cache (with another URL) just before our create.
        racing_writer: std::sync::atomic::AtomicBool,
        /// Caches of this URL cannot be turned into another.
        frozen_url: Option<String>,
        /// The next create answers 502: after storing the cache (its answer lost), or
        /// without (a gateway that never passed it on).
        create_502: Mutex<Option<bool>>,
        /// Reads and listings sent.
        reads: std::sync::atomic::AtomicUsize,
    }

    impl Fake {
        fn reads(&self) -> usize {
            self.reads.swap(0, std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl Reconcile for Fake {
        type Resource = Stored;
        fn vendor(&self) -> &str {
            "fake"
        }
        fn name_case(&self) -> NameCase {
            NameCase::Insensitive
        }
        async fn read(&self, name: &CacheName) -> Result<Option<Stored>, Error> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self
                .stored
                .lock()
                .unwrap()
                .iter()
                .find(|s| s.key == name.as_str())
                .cloned())
        }
        async fn names(&self) -> Result<Vec<String>, Error> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self
                .stored
                .lock()
                .unwrap()
                .iter()
                .map(|s| s.key.clone())
                .collect())
        }
        async fn list_all(&self) -> Result<Option<Vec<(String, Option<Stored>)>>, Error> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(
                self.stored
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|s| (s.key.clone(), Some(s.clone())))
                    .collect(),
            ))
        }
        fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
            vec![(
                "url".into(),
                spec.upstream().unwrap().url().to_string().into(),
            )]
        }
        fn observed(&self, _: &CacheSpec, stored: &Stored) -> Observed {
            Observed::new()
                .with("url", stored.url.clone())
                .with_username(stored.username.clone())
        }
        fn check_update(&self, spec: &CacheSpec, stored: &Stored) -> Result<(), Error> {
            match &self.frozen_url {
                Some(url)
                    if *url == stored.url && spec.upstream().unwrap().url().as_str() != url =>
                {
                    Err(Error::Unsupported {
                        vendor: "fake".into(),
                        what: format!("turning {} into another kind", spec.name),
                        hint: "delete it first".into(),
                    })
                }
                _ => Ok(()),
            }
        }
        async fn create(&self, spec: &CacheSpec) -> Result<Stored, Error> {
            if self
                .racing_writer
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                self.stored.lock().unwrap().push(Stored {
                    key: spec.name.to_string(),
                    url: "https://cgr.dev/chainguard".into(),
                    username: String::new(),
                });
                return Err(Error::AlreadyExists(Box::new(crate::error::ApiError::new(
                    "fake",
                    http::Method::PUT,
                    "https://fake/caches",
                    http::StatusCode::CONFLICT,
                    "already exists",
                ))));
            }
            let twin = self.stored.lock().unwrap().iter().any(|s| {
                s.key != spec.name.as_str() && s.key.eq_ignore_ascii_case(spec.name.as_str())
            });
            if twin {
                return Err(Error::AlreadyExists(Box::new(crate::error::ApiError::new(
                    "fake",
                    http::Method::PUT,
                    "https://fake/caches",
                    http::StatusCode::CONFLICT,
                    "a cache of that name exists, whatever its case",
                ))));
            }
            let stored = Stored {
                key: spec.name.to_string(),
                url: spec.upstream().unwrap().url().to_string(),
                username: match &spec.kind {
                    CacheKind::Remote(r) => r
                        .credentials
                        .as_ref()
                        .map(|c| c.username().to_owned())
                        .unwrap_or_default(),
                    _ => String::new(),
                },
            };
            let bad_gateway = || {
                Err(Error::from_api(
                    crate::error::ApiError::new(
                        "fake",
                        http::Method::PUT,
                        "https://fake/caches",
                        http::StatusCode::BAD_GATEWAY,
                        "bad gateway",
                    ),
                    None,
                ))
            };
            let fault = self.create_502.lock().unwrap().take();
            if fault == Some(false) {
                return bad_gateway();
            }
            self.writes
                .lock()
                .unwrap()
                .push(format!("create {}", stored.key));
            self.stored.lock().unwrap().push(stored.clone());
            if fault == Some(true) {
                return bad_gateway();
            }
            Ok(stored)
        }
        async fn update(
            &self,
            spec: &CacheSpec,
            stored: &Stored,
            write: &Write<'_>,
        ) -> Result<Stored, Error> {
            let fields: Vec<&str> = write.changes.iter().map(|c| c.field.as_str()).collect();
            let password = match write.password {
                PasswordWrite::Keep => "keep".to_owned(),
                PasswordWrite::Set(p) => format!("set {}", p.expose_secret()),
                PasswordWrite::Clear => "clear".to_owned(),
            };
            self.writes
                .lock()
                .unwrap()
                .push(format!("update {} {fields:?} {password}", stored.key));
            let mut updated = stored.clone();
            updated.username = match &spec.kind {
                CacheKind::Remote(r) => r
                    .credentials
                    .as_ref()
                    .map(|c| c.username().to_owned())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let mut all = self.stored.lock().unwrap();
            all.retain(|s| s.key != stored.key);
            all.push(updated.clone());
            Ok(updated)
        }
        fn state(&self, stored: &Stored) -> Result<CacheState, Error> {
            Ok(CacheState::remote(
                CacheName::new(stored.key.clone())?,
                PackageFormat::Docker,
                stored.url.clone(),
            ))
        }
    }

    fn private(user: &str, password: &str) -> CacheSpec {
        CacheSpec::remote(
            CacheName::new("cgr-private").unwrap(),
            "cgr.dev/example.com".parse::<Upstream>().unwrap(),
        )
        .with_credentials(UpstreamCredentials::new(user, password).unwrap())
    }

    fn writes(fake: &Fake) -> Vec<String> {
        std::mem::take(&mut *fake.writes.lock().unwrap())
    }

    #[tokio::test]
    async fn the_password_is_written_on_create_username_change_and_rotation_only() {
        let fake = Fake::default();
        assert!(matches!(
            ensure(&fake, &private("org/a", "one")).await.unwrap(),
            Ensured::Created { .. }
        ));
        assert_eq!(writes(&fake), ["create cgr-private"]);

        // Another password alone is never compared, so never written.
        assert!(matches!(
            ensure(&fake, &private("org/a", "two")).await.unwrap(),
            Ensured::Unchanged { .. }
        ));
        assert!(writes(&fake).is_empty());

        let rotated = ensure(&fake, &private("org/a", "three").rotating_credentials())
            .await
            .unwrap();
        let Ensured::Updated { changes, .. } = rotated else {
            panic!("a rotation updates")
        };
        assert_eq!(
            changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            ["password: (sensitive value) -> (sensitive value)"]
        );
        assert_eq!(
            writes(&fake),
            ["update cgr-private [\"password\"] set three"]
        );

        ensure(&fake, &private("org/b", "four")).await.unwrap();
        assert_eq!(
            writes(&fake),
            ["update cgr-private [\"username\", \"password\"] set four"]
        );

        // A spec without credentials clears the stored ones.
        let public = CacheSpec::remote(
            CacheName::new("cgr-private").unwrap(),
            "cgr.dev/example.com".parse::<Upstream>().unwrap(),
        );
        let plan = plan(&fake, &public).await.unwrap();
        assert_eq!(
            plan.to_string(),
            "~ cgr-private\n    username: \"org/b\" -> \"\"\n    password: (sensitive value) -> (sensitive value)"
        );
        ensure(&fake, &public).await.unwrap();
        assert_eq!(
            writes(&fake),
            ["update cgr-private [\"username\", \"password\"] clear"]
        );
    }

    fn public(name: &str) -> CacheSpec {
        CacheSpec::remote(CacheName::new(name).unwrap(), Upstream::CgrPublic)
    }

    #[tokio::test]
    async fn within_a_listing_absent_caches_are_created_unread_and_listed_ones_not_read_again() {
        let fake = Fake::default();
        let listing = super::listing(&fake).await.unwrap();
        assert_eq!(fake.reads(), 1, "one listing");
        for name in ["a", "b"] {
            assert!(matches!(
                ensure_in(&fake, &public(name), &listing).await.unwrap(),
                Ensured::Created { .. }
            ));
        }
        assert_eq!(
            fake.reads(),
            0,
            "no read, no twin listing: the listing said absent"
        );
        // What was written is kept: the same run's describe reads nothing.
        assert!(
            describe_in(&fake, &public("a").name, &listing)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(fake.reads(), 0);

        // The next run: one listing holding whole caches, and nothing else.
        let listing = super::listing(&fake).await.unwrap();
        for name in ["a", "b"] {
            assert!(matches!(
                ensure_in(&fake, &public(name), &listing).await.unwrap(),
                Ensured::Unchanged { .. }
            ));
            plan_in(&fake, &public(name), &listing).await.unwrap();
        }
        assert_eq!(fake.reads(), 1);
        assert_eq!(writes(&fake), ["create a", "create b"]);
    }

    #[tokio::test]
    async fn a_cache_made_in_the_run_is_not_taken_for_absent_once_forgotten() {
        let fake = Fake::default();
        let listing = Listing::of_names([]);
        ensure_in(&fake, &public("a"), &listing).await.unwrap();
        listing.forget("a");
        fake.reads();
        assert!(
            read_in(&fake, &public("a").name, &listing)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(fake.reads(), 1, "read, not assumed absent");
        assert_eq!(writes(&fake), ["create a"], "never made twice");
    }

    #[tokio::test]
    async fn a_case_twin_made_after_the_listing_is_reported_as_one() {
        let fake = Fake::default();
        let listing = super::listing(&fake).await.unwrap();
        fake.stored.lock().unwrap().push(Stored {
            key: "CGR-public".into(),
            url: "https://cgr.dev/".into(),
            username: String::new(),
        });
        let err = ensure_in(&fake, &public("cgr-public"), &listing)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("CGR-public already exists"),
            "{err}"
        );
        assert!(writes(&fake).is_empty());
    }

    #[tokio::test]
    async fn a_racing_create_is_reconciled_by_reading_and_updating() {
        let fake = Fake::default();
        fake.racing_writer
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
        let Ensured::Updated { changes, .. } = ensure(&fake, &spec).await.unwrap() else {
            panic!("the other writer's cache is updated to the spec")
        };
        assert_eq!(
            changes[0].to_string(),
            "url: \"https://cgr.dev/chainguard\" -> \"https://cgr.dev/\""
        );
        assert_eq!(writes(&fake), ["update cgr-public [\"url\"] keep"]);
        assert_eq!(fake.stored.lock().unwrap().len(), 1, "no duplicate");
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_is_read_back_and_not_made_twice() {
        let fake = Fake::default();
        *fake.create_502.lock().unwrap() = Some(true);
        let credentials = UpstreamCredentials::new("org/a", "jwt-a").unwrap();
        let spec = CacheSpec::remote(
            CacheName::new("cgr-private").unwrap(),
            "cgr.dev/example.com".parse::<Upstream>().unwrap(),
        )
        .with_credentials(credentials);
        let Ensured::Created { state } = ensure(&fake, &spec).await.unwrap() else {
            panic!("the create happened: its answer was lost")
        };
        assert_eq!(state.name.as_str(), "cgr-private");
        assert_eq!(writes(&fake), ["create cgr-private"], "no second write");
        assert_eq!(fake.stored.lock().unwrap().len(), 1);

        // A 502 for a create that never reached the vendor is the error.
        let other = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
        *fake.create_502.lock().unwrap() = Some(false);
        let err = ensure(&fake, &other).await.unwrap_err();
        assert_eq!(err.status(), Some(http::StatusCode::BAD_GATEWAY));
        assert_eq!(fake.stored.lock().unwrap().len(), 1);
        assert!(matches!(
            ensure(&fake, &other).await.unwrap(),
            Ensured::Created { .. }
        ));
    }

    #[tokio::test]
    async fn a_change_the_vendor_cannot_make_is_refused_before_any_write() {
        let fake = Fake {
            frozen_url: Some("https://cgr.dev/chainguard".into()),
            ..Fake::default()
        };
        fake.stored.lock().unwrap().push(Stored {
            key: "cgr-public".into(),
            url: "https://cgr.dev/chainguard".into(),
            username: String::new(),
        });
        let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
        for result in [
            plan(&fake, &spec).await.map(drop),
            ensure(&fake, &spec).await.map(drop),
        ] {
            assert!(
                matches!(&result, Err(Error::Unsupported { hint, .. }) if hint == "delete it first"),
                "{result:?}"
            );
        }
        assert!(writes(&fake).is_empty());
    }

    #[tokio::test]
    async fn a_drifted_setting_is_updated_and_a_case_twin_refused_before_any_write() {
        let fake = Fake::default();
        fake.stored.lock().unwrap().push(Stored {
            key: "cgr-public".into(),
            url: "https://cgr.dev/chainguard".into(),
            username: String::new(),
        });
        let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
        let Ensured::Updated { changes, .. } = ensure(&fake, &spec).await.unwrap() else {
            panic!("drift is updated")
        };
        assert_eq!(
            changes[0].to_string(),
            "url: \"https://cgr.dev/chainguard\" -> \"https://cgr.dev/\""
        );
        assert_eq!(writes(&fake), ["update cgr-public [\"url\"] keep"]);

        let twin = CacheSpec::remote(CacheName::new("CGR-Public").unwrap(), Upstream::CgrPublic);
        let err = plan(&fake, &twin).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: name: CGR-Public: cgr-public already exists on fake, whose names are unique regardless of letter case; name the cache cgr-public or choose another name"
        );
        assert!(ensure(&fake, &twin).await.is_err());
        assert!(writes(&fake).is_empty());
    }
}
