//! A run's [`Listing`] of Cloudsmith, and what the run learns of the repositories beyond
//! the core's listing ([`Known`]), so that a fleet reads no cache twice and writes no
//! repository twice.
//!
//! - Shared layout: the shared repository and its Docker upstreams (two reads, whatever
//!   the number of caches). Every upstream is kept whole; the aggregate is named while the
//!   repository carries its marker, and read from [`Known`], which follows the run's own
//!   writes (an upstream made or changed by the run makes the aggregate's kept read stale,
//!   so it is forgotten).
//! - A repository per cache: the workspace's repositories (one read a page of 500). An
//!   upstream list is per repository, so each cache still costs one read (its upstreams),
//!   not two; a cache whose repository is not listed is created without any read.
//!
//! A listing is a snapshot. A repository or upstream made by someone else since is found
//! by our create (the repository's "already exists" is read; an upstream not known is
//! read before it is taken for absent). A repository deleted since: its upstream list
//! answers 404, and the cache is made again in the same run; in the shared layout a
//! deleted repository is seen as it was listed (an unchanged cache) or fails a write, and
//! the next run makes it again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use pull_through_core::listing::Listing;
use pull_through_core::reconcile;
use pull_through_core::{CacheName, CacheState, Error};

use crate::backend::CloudsmithBackend;
use crate::bodies::RepositoryCreate;
use crate::layout::Layout;
use crate::marker;
use crate::model::{DockerUpstream, Repository};
use crate::order::{Order, Ordered, in_resolution_order};
use crate::reconcile::{Located, Upstreams};
use crate::rules::IDENTIFIER_RULES;

/// What the run knows of one repository.
#[derive(Debug, Clone)]
enum Slot {
    /// Not listed: read before it is created.
    Unknown,
    /// Listed as absent: created without a read.
    Absent,
    /// Listed, or made or written by the run.
    Present(Box<Repository>),
}

/// What a run knows of the backend's repositories: each as listed and as the run wrote it,
/// and, in the shared layout, the shared repository's upstreams. Each repository has its
/// own lock, held while it is being made, so that caches of one repository running at once
/// make it once between them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// Whether a repository not in `slots` is absent (the workspace was listed whole).
    complete: bool,
    slots: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    /// The shared repository's upstreams, as listed and as written since.
    upstreams: Mutex<Option<Vec<DockerUpstream>>>,
}

impl Known {
    /// The run's knowledge kept in `listing`, if our listing made it.
    pub(crate) fn of(listing: &Listing) -> Option<Known> {
        listing.extra::<Known>()
    }

    fn slot(&self, slug: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.0.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry(slug.to_owned())
            .or_insert_with(|| {
                let slot = match self.0.complete {
                    true => Slot::Absent,
                    false => Slot::Unknown,
                };
                Arc::new(tokio::sync::Mutex::new(slot))
            })
            .clone()
    }

    /// Repository `slug`, when the run knows it is there.
    pub(crate) async fn repository(&self, slug: &str) -> Option<Repository> {
        match &*self.slot(slug).lock().await {
            Slot::Present(repository) => Some((**repository).clone()),
            _ => None,
        }
    }

    /// Records repository `slug` as the run wrote or read it.
    pub(crate) async fn set_repository(&self, repository: Repository) {
        let slot = self.slot(&repository.slug);
        *slot.lock().await = Slot::Present(Box::new(repository));
    }

    /// Forgets repository `slug`: it must be read before it is taken for there or absent.
    pub(crate) async fn forget_repository(&self, slug: &str) {
        *self.slot(slug).lock().await = Slot::Unknown;
    }

    /// The repository `body` makes: known, created without a read when listed absent, or
    /// read then created ([`ensure_repository_made`](crate::CloudsmithClient::ensure_repository));
    /// and whether this call made it.
    pub(crate) async fn made_repository(
        &self,
        backend: &CloudsmithBackend,
        body: &RepositoryCreate,
    ) -> Result<(Repository, bool), Error> {
        let client = backend.client();
        let slot = self.slot(&body.slug);
        let mut slot = slot.lock().await;
        let (repository, made) = match &*slot {
            Slot::Present(repository) => ((**repository).clone(), false),
            Slot::Absent => match client.create_repository(body).await {
                Ok(created) => (created, true),
                // Made by someone else since the listing: read it.
                Err(err) if err.is_already_exists() => client.ensure_repository_made(body).await?,
                Err(err) => return Err(err),
            },
            Slot::Unknown => client.ensure_repository_made(body).await?,
        };
        *slot = Slot::Present(Box::new(repository.clone()));
        Ok((repository, made))
    }

    /// The shared repository's upstreams, when the run knows them.
    pub(crate) fn upstreams(&self) -> Option<Vec<DockerUpstream>> {
        self.0
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the shared repository's upstreams as just listed.
    pub(crate) fn set_upstreams(&self, upstreams: Vec<DockerUpstream>) {
        *self
            .0
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(upstreams);
    }

    /// Records an upstream of the shared repository as a write answered it.
    pub(crate) fn put_upstream(&self, upstream: &DockerUpstream) {
        let mut upstreams = self
            .0
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(upstreams) = upstreams.as_mut() {
            match upstreams
                .iter_mut()
                .find(|u| u.slug_perm == upstream.slug_perm)
            {
                Some(kept) => *kept = upstream.clone(),
                None => upstreams.push(upstream.clone()),
            }
        }
    }
}

/// One listing of a backend's caches.
pub(crate) struct Snapshot {
    /// A repository per cache: every repository of the workspace.
    pub(crate) repositories: Vec<Repository>,
    /// Shared layout: the shared repository, if there is one, and its upstreams.
    pub(crate) shared: Option<(Repository, Vec<DockerUpstream>)>,
}

impl Snapshot {
    /// The upstreams of the shared repository as caches, by name (the first of a name,
    /// as [`CloudsmithBackend::pick`] finds it).
    pub(crate) fn remotes(&self) -> Vec<(String, Located)> {
        let Some((repository, upstreams)) = &self.shared else {
            return Vec::new();
        };
        let mut remotes: Vec<(String, Located)> = Vec::new();
        for upstream in upstreams {
            if !remotes.iter().any(|(name, _)| *name == upstream.name) {
                remotes.push((
                    upstream.name.clone(),
                    Located {
                        repository: repository.clone(),
                        upstream: upstream.clone(),
                    },
                ));
            }
        }
        remotes
    }

    /// The shared layout's aggregate, while the repository carries its marker.
    pub(crate) fn aggregate(&self) -> Option<Ordered> {
        let (repository, upstreams) = self.shared.as_ref()?;
        marker::read(repository.description.as_deref())
            .marked
            .then(|| Ordered {
                repository: repository.clone(),
                upstreams: in_resolution_order(upstreams.clone()),
            })
    }
}

impl CloudsmithBackend {
    /// Lists the backend's caches once: the shared repository and its upstreams, or every
    /// repository of the workspace.
    pub(crate) async fn snapshot(&self) -> Result<Snapshot, Error> {
        self.layout().check()?;
        match self.layout() {
            Layout::Shared { repository } => {
                let shared = match self.client().get_repository(repository).await? {
                    Some(found) => {
                        let upstreams = self.client().list_upstreams(repository).await?;
                        Some((found, upstreams))
                    }
                    None => None,
                };
                Ok(Snapshot {
                    repositories: Vec::new(),
                    shared,
                })
            }
            _ => Ok(Snapshot {
                repositories: self.client().list_repositories().await?,
                shared: None,
            }),
        }
    }

    /// The run's listing: every cache named, the shared layout's upstreams whole, and what
    /// the run knows of the repositories ([`Known`]).
    pub(crate) async fn list_once(&self) -> Result<Listing, Error> {
        let snapshot = self.snapshot().await?;
        let known = Known(Arc::new(Inner {
            complete: true,
            ..Inner::default()
        }));
        let listing = match self.layout().shared_repository() {
            Some(slug) => {
                let remotes = snapshot.remotes();
                let mut names: Vec<String> = remotes.iter().map(|(n, _)| n.clone()).collect();
                if snapshot.aggregate().is_some() {
                    names.push(slug.to_owned());
                }
                let listing = Listing::of_names(names);
                for (name, located) in remotes {
                    listing.remember(name, located);
                }
                match snapshot.shared {
                    Some((repository, upstreams)) => {
                        known.set_repository(repository).await;
                        known.set_upstreams(upstreams);
                    }
                    // No repository has no upstreams.
                    None => known.set_upstreams(Vec::new()),
                }
                listing
            }
            None => {
                let listing =
                    Listing::of_names(snapshot.repositories.iter().map(|r| r.slug.clone()));
                for repository in snapshot.repositories {
                    known.set_repository(repository).await;
                }
                listing
            }
        };
        listing.set_extra(known);
        Ok(listing)
    }

    /// [`describe`](pull_through_core::PullThroughBackend::describe) within a run: what the
    /// listing holds is not read, and what is read is kept for the `ensure_in` that follows.
    pub(crate) async fn describe_known(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        if self.is_shared_repository(name.as_str()) {
            return reconcile::describe_in(&Order(self, Some(listing)), name, listing).await;
        }
        if IDENTIFIER_RULES
            .check(self.layout().repository_of(name.as_str()))
            .is_err()
        {
            // No repository can have that slug.
            return Ok(None);
        }
        reconcile::describe_in(&Upstreams(self, Some(listing)), name, listing).await
    }

    /// Cache `name`'s upstream as the run knows it: kept in `known` (the shared layout's),
    /// or its repository's upstreams read once (the repository as listed). Read whole
    /// ([`locate`](Self::locate)) when the run does not know the repository.
    pub(crate) async fn locate_known(
        &self,
        name: &CacheName,
        known: &Known,
    ) -> Result<Option<Located>, Error> {
        let slug = self.layout().repository_of(name.as_str()).to_owned();
        let Some(repository) = known.repository(&slug).await else {
            let located = self.locate(name).await?;
            if let Some(located) = &located {
                known.set_repository(located.repository.clone()).await;
            }
            return Ok(located);
        };
        let shared = self.layout().shared_repository().is_some();
        if shared {
            let kept = known
                .upstreams()
                .and_then(|all| all.into_iter().find(|u| u.name == name.as_str()));
            if let Some(upstream) = kept {
                return Ok(Some(Located {
                    repository,
                    upstream,
                }));
            }
        }
        // Not known: made since the listing, or a repository of its own whose upstreams
        // are read now, once.
        match self.client().list_upstreams(&slug).await {
            Ok(upstreams) => {
                if shared {
                    known.set_upstreams(upstreams.clone());
                }
                Ok(self.pick(name.as_str(), upstreams).map(|upstream| Located {
                    repository,
                    upstream,
                }))
            }
            // Deleted since the listing: absent, so that it is made again.
            Err(err) if err.is_not_found() => {
                known.forget_repository(&slug).await;
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// The shared repository with its upstreams in resolution order, as the run knows
    /// them, or read ([`ordered`](Self::ordered)).
    pub(crate) async fn ordered_known(
        &self,
        slug: &str,
        known: Option<&Known>,
    ) -> Result<Option<Ordered>, Error> {
        if let Some(known) = known {
            if let (Some(repository), Some(upstreams)) =
                (known.repository(slug).await, known.upstreams())
            {
                return Ok(Some(Ordered {
                    repository,
                    upstreams: in_resolution_order(upstreams),
                }));
            }
        }
        let ordered = self.ordered(slug).await?;
        if let (Some(known), Some(ordered)) = (known, &ordered) {
            known.set_repository(ordered.repository.clone()).await;
            known.set_upstreams(ordered.upstreams.clone());
        }
        Ok(ordered)
    }
}
