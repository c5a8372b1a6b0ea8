//! [`Listing`]: what one read of a whole backend found, handed to every call of one run so
//! that a fleet reads each cache at most once.
//!
//! A run over hundreds of caches that reads each cache before writing it pays one request
//! per cache for caches that do not exist yet (a first apply) and, where names ignore
//! letter case, one listing per create. A listing taken once at the start of the run
//! answers both: a name it does not hold is absent (create it without reading), and the
//! letter-case twin check is made against its names. Where the vendor's list answer holds
//! whole resources (Google's repositories, Cloudsmith's upstreams), it answers reads too.
//!
//! A listing is a snapshot. A cache created by someone else after it was taken makes our
//! create fail with "already exists", which the reconcile answers by reading and updating;
//! a cache deleted since makes a write fail, and the next run converges.
//!
//! ```
//! use pull_through_core::listing::Listing;
//! let listing = Listing::of_names(["cgr-public".to_owned()]);
//! assert_eq!(listing.holds("cgr-public"), Some(true));
//! assert_eq!(listing.holds("cgr-private"), Some(false));
//! assert_eq!(Listing::unknown().holds("cgr-public"), None);
//! ```

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// One backend's caches as listed at the start of a run: their names (when the listing is
/// complete) and the vendor's resources read so far, by name. Opaque to the flows: only
/// the backend that made it knows its resources' type.
///
/// ```
/// use pull_through_core::listing::Listing;
/// let listing = Listing::of_names(["cgr-public".to_owned()]).with_resource("cgr-public", 42u32);
/// assert_eq!(listing.resource::<u32>("cgr-public"), Some(42));
/// assert_eq!(listing.resource::<String>("cgr-public"), None);
/// ```
#[derive(Default)]
pub struct Listing {
    names: Option<BTreeSet<String>>,
    /// By resource type and cache name, so a backend may keep two views of one cache
    /// (as listed, as read whole) apart.
    resources: Mutex<HashMap<(TypeId, String), Box<dyn Any + Send + Sync>>>,
    /// What a backend keeps of the whole run beside its caches, by type.
    extras: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    /// Names the run has seen present since (remembered), so a cache made in this run is
    /// not taken for absent once what was kept of it is forgotten.
    seen: Mutex<BTreeSet<String>>,
}

impl fmt::Debug for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Listing")
            .field("names", &self.names.as_ref().map(BTreeSet::len))
            .field("resources", &resources)
            .finish_non_exhaustive()
    }
}

impl Listing {
    /// A listing that knows nothing: every question is answered by a read, as without one.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::unknown();
    /// assert!(!listing.is_complete());
    /// ```
    pub fn unknown() -> Listing {
        Listing::default()
    }

    /// A complete listing of these names (exactly as the vendor spells them).
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::of_names(vec!["cg-private".to_owned()]);
    /// assert!(listing.is_complete());
    /// ```
    pub fn of_names(names: impl IntoIterator<Item = String>) -> Listing {
        Listing {
            names: Some(names.into_iter().collect()),
            ..Listing::default()
        }
    }

    /// Adds the resource the listing answer held for `name`.
    ///
    /// ```
    /// use pull_through_core::listing::Listing;
    /// let listing = Listing::of_names(["a".to_owned()]).with_resource("a", "whole".to_owned());
    /// assert_eq!(listing.resource::<String>("a").as_deref(), Some("whole"));
    /// ```
    pub fn with_resource<R: Any + Send + Sync>(self, name: impl Into<String>, resource: R) -> Self {
        self.remember(name, resource);
        self
    }

    /// Whether it holds every cache of the backend (and so can say a cache is absent).
    ///
    /// ```
    /// assert!(pull_through_core::listing::Listing::of_names([]).is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.names.is_some()
    }

    /// `Some(true)` when the backend holds a cache of exactly this name, `Some(false)` when
    /// it holds none, `None` when this listing cannot say.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::of_names(["Cgr".to_owned()]);
    /// assert_eq!(listing.holds("cgr"), Some(false));
    /// ```
    pub fn holds(&self, name: &str) -> Option<bool> {
        let seen = || {
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(name)
        };
        self.names
            .as_ref()
            .map(|names| names.contains(name) || seen())
    }

    /// Every name the listing held when it was taken, when complete.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::of_names(["a".to_owned(), "b".to_owned()]);
    /// assert_eq!(listing.names().unwrap().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> Option<impl Iterator<Item = &str>> {
        self.names
            .as_ref()
            .map(|names| names.iter().map(String::as_str))
    }

    /// Keeps a resource read during the run (by a describe before an ensure, say), so the
    /// next call about `name` does not read it again.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::unknown();
    /// listing.remember("cgr-public", 7u8);
    /// assert_eq!(listing.resource::<u8>("cgr-public"), Some(7));
    /// ```
    pub fn remember<R: Any + Send + Sync>(&self, name: impl Into<String>, resource: R) {
        let name = name.into();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone());
        self.resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((TypeId::of::<R>(), name), Box::new(resource));
    }

    /// The resource kept for `name`, if it is of type `R`.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::unknown();
    /// assert_eq!(listing.resource::<u8>("cgr-public"), None);
    /// ```
    pub fn resource<R: Any + Clone>(&self, name: &str) -> Option<R> {
        self.resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(TypeId::of::<R>(), name.to_owned()))
            .and_then(|resource| resource.downcast_ref::<R>())
            .cloned()
    }

    /// Forgets what was kept for `name`: after a write it no longer says what the backend
    /// holds. The name is still known to be present.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::of_names([]).with_resource("a", 1u8);
    /// listing.forget("a");
    /// assert_eq!(listing.resource::<u8>("a"), None);
    /// assert_eq!(listing.holds("a"), Some(true));
    /// ```
    pub fn forget(&self, name: &str) {
        self.resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(_, kept), _| kept != name);
    }

    /// Keeps what a backend knows of the whole run beside its caches (its repositories'
    /// locks, say), one value per type; it names no cache.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::unknown();
    /// listing.set_extra(vec!["shared-repository".to_owned()]);
    /// assert_eq!(listing.extra::<Vec<String>>().unwrap(), ["shared-repository"]);
    /// assert_eq!(listing.holds("shared-repository"), None);
    /// ```
    pub fn set_extra<T: Any + Send + Sync>(&self, value: T) {
        self.extras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(TypeId::of::<T>(), Box::new(value));
    }

    /// What [`set_extra`](Self::set_extra) kept of type `T`.
    ///
    /// ```
    /// let listing = pull_through_core::listing::Listing::unknown();
    /// assert_eq!(listing.extra::<u32>(), None);
    /// ```
    pub fn extra<T: Any + Clone>(&self) -> Option<T> {
        self.extras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }
}
