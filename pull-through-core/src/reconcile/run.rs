//! The reconcile's steps, alone ([`plan`], [`ensure`]) or within a run that listed the
//! backend once ([`listing`], [`read_in`], [`describe_in`], [`plan_in`], [`ensure_in`]).

use crate::error::Error;
use crate::http::may_have_been_processed;
use crate::listing::Listing;
use crate::plan::{Ensured, Plan};
use crate::spec::{CacheName, CacheSpec, NameCase};
use crate::state::CacheState;
use crate::validation::ValidationError;

use super::{Reconcile, Write, diff};

/// What [`ensure`] would do, without writing: one read (two for a create where names
/// ignore case: the twin check lists them).
///
/// # Errors
///
/// What the vendor answered; [`Error::InvalidInput`] for a letter-case twin; what
/// [`Reconcile::check_update`] refuses.
///
/// See the [module documentation](super) for a whole backend.
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
/// See the [module documentation](super) for a whole backend.
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
