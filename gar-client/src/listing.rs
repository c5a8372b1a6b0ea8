//! A run's [`Listing`] of Artifact Registry: one `repositories.list` of the location (whole
//! repositories, 1,000 a page), so that a fleet reads no repository on its own.
//!
//! A repository without credentials is kept whole, as the reconcile's resource. One with
//! credentials is kept as listed ([`Listed`], a type of its own beside the whole [`Found`]), because
//! a private spec still reads its secret's pinned version and policy (see the reconcile's
//! `read`): the reconcile then reads those two and not the repository.
//!
//! A listing is a snapshot: a repository made by someone else since is found by our
//! create's `ALREADY_EXISTS`, which the core answers by reading and updating; one deleted
//! since is seen as it was listed (unchanged, or a write that fails with `NOT_FOUND`), and
//! the next run makes it again.

use pull_through_core::listing::Listing;
use pull_through_core::{CacheName, CacheState, Error};

use crate::backend::GarBackend;
use crate::client::GarClient;
use crate::model::Repository;
use crate::reconcile::Found;

/// A repository as the run's listing (or a describe) read it, before any secret was read.
#[derive(Debug, Clone)]
pub(crate) struct Listed(pub(crate) Repository);

/// Repository `id` as listed, if the listing holds it with credentials.
pub(crate) fn listed(listing: &Listing, id: &str) -> Option<Listed> {
    listing.resource::<Listed>(id)
}

/// Forgets listed repository `id`.
pub(crate) fn forget_listed(listing: &Listing, id: &str) {
    listing.forget(id);
}

/// Every repository of the client's location, by id.
pub(crate) async fn list(client: &GarClient) -> Result<Vec<(String, Repository)>, Error> {
    Ok(client
        .list_repositories()
        .await?
        .into_iter()
        .filter_map(|repository| Some((repository.id()?.to_owned(), repository)))
        .collect())
}

/// Keeps `repository` in `listing`: whole, or as [`Listed`] when it has credentials.
fn keep(listing: &Listing, id: &str, repository: Repository) {
    match repository.credentials() {
        None => listing.remember(
            id,
            Found {
                repository,
                accessor: None,
                pin_broken: false,
            },
        ),
        Some(_) => listing.remember(id, Listed(repository)),
    }
}

impl GarBackend {
    /// One listing of the location's repositories.
    pub(crate) async fn list_once(&self) -> Result<Listing, Error> {
        let repositories = list(self.client()).await?;
        let listing = Listing::of_names(repositories.iter().map(|(id, _)| id.clone()));
        for (id, repository) in repositories {
            keep(&listing, &id, repository);
        }
        Ok(listing)
    }

    /// The cache `name` as the run knows it, read (and kept) when the listing cannot say.
    /// Its secret is not read: a describe shows the pin, not whether it can be read.
    pub(crate) async fn describe_known(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        let id = name.as_str();
        if let Some(found) = listing.resource::<Found>(id) {
            return self.state_of(&found.repository).map(Some);
        }
        if let Some(Listed(repository)) = listed(listing, id) {
            return self.state_of(&repository).map(Some);
        }
        if listing.holds(id) == Some(false) {
            return Ok(None);
        }
        let Some(repository) = self.client().get_repository(id).await? else {
            return Ok(None);
        };
        let state = self.state_of(&repository)?;
        keep(listing, id, repository);
        Ok(Some(state))
    }
}
