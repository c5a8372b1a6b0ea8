//! Deletes: a remote cache's upstream, then its repository when nothing else keeps it;
//! the shared layout's aggregate, which is its marker in the shared repository's
//! description.

use pull_through_core::{CacheName, Deleted, Error, ErrorKind};

use crate::backend::CloudsmithBackend;
use crate::bodies::RepositoryPatch;
use crate::holdings::OTHER_UPSTREAM_FORMATS;
use crate::layout::Layout;
use crate::marker;
use crate::model::Repository;

impl CloudsmithBackend {
    /// Deletes a remote cache's upstream; then its repository, when the repository is
    /// the cache's own or the shared one and nothing else keeps it.
    ///
    /// A repository left holding no upstream at all by a run that died half-way (between
    /// the upstream's delete and the repository's, or the repository's create and the
    /// upstream's) is deleted too, when nothing else keeps it: in its own layout it is
    /// what is left of the cache ([`Deleted::Removed`]); the shared repository is no
    /// cache, so the cache is [`Deleted::AlreadyAbsent`] either way.
    pub(crate) async fn delete_remote(&self, name: &CacheName) -> Result<Deleted, Error> {
        let client = self.client();
        let slug = self.layout().repository_of(name.as_str());
        let Some(repository) = client.get_repository(slug).await? else {
            return Ok(Deleted::AlreadyAbsent);
        };
        // Another cache's delete may take the shared repository between the read and
        // the list: then this cache went with it.
        let upstreams = match client.list_upstreams(slug).await {
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Deleted::AlreadyAbsent),
            listed => listed?,
        };
        let Some(upstream) = self.pick(name.as_str(), upstreams.clone()) else {
            let own = matches!(self.layout(), Layout::OwnRepository);
            let removed =
                upstreams.is_empty() && self.delete_repository_if_unused(&repository, None).await?;
            return Ok(if removed && own {
                Deleted::Removed
            } else {
                Deleted::AlreadyAbsent
            });
        };
        let deleted = client.delete_upstream(slug, &upstream.slug_perm).await?;
        self.delete_repository_if_unused(&repository, Some(&upstream.slug_perm))
            .await?;
        Ok(deleted)
    }

    /// Deletes the shared layout's aggregate: the marker goes from the repository's
    /// description (its text stays), and the repository too when it then holds nothing.
    pub(crate) async fn delete_aggregate(&self, name: &CacheName) -> Result<Deleted, Error> {
        let client = self.client();
        let Some(repository) = client.get_repository(name.as_str()).await? else {
            return Ok(Deleted::AlreadyAbsent);
        };
        let described = marker::read(repository.description.as_deref());
        if !described.marked {
            return Ok(Deleted::AlreadyAbsent);
        }
        let unmarked = client
            .update_repository(
                &repository.slug,
                &RepositoryPatch::description(marker::write(described.text.as_deref(), false)),
            )
            .await?;
        self.delete_repository_if_unused(&unmarked, None).await?;
        Ok(Deleted::Removed)
    }

    /// Deletes `repository` when it holds nothing but what this backend deletes: no
    /// Docker upstream (but `deleted`, which may still be listed a moment after its
    /// delete), in the shared layout no aggregate, no upstream of another format, and no
    /// package but Docker images. A repository that is kept is named in a warning with
    /// what keeps it. Whether it was deleted.
    ///
    /// Docker images are taken for what the cache's upstreams cached: the API says
    /// nothing that tells an image cached through an upstream from one a person pushed,
    /// so an image pushed by hand into a cache's repository goes with it.
    async fn delete_repository_if_unused(
        &self,
        repository: &Repository,
        deleted: Option<&str>,
    ) -> Result<bool, Error> {
        // The caches of a shared repository are deleted concurrently (`destroy`), and the
        // one whose delete leaves it empty takes it: a repository gone by the time this
        // one looks (404) was taken by another cache's delete, not a failure of this one.
        // (This reads the API as consistent; were two deletes each to see the other's
        // upstream through replication lag, both would keep the repository, and the
        // warning below names it.)
        match self
            .delete_repository_unless_kept(repository, deleted)
            .await
        {
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
            done => done,
        }
    }

    async fn delete_repository_unless_kept(
        &self,
        repository: &Repository,
        deleted: Option<&str>,
    ) -> Result<bool, Error> {
        let slug = &repository.slug;
        let mut kept = Vec::new();
        if matches!(self.layout(), Layout::Shared { .. })
            && marker::read(repository.description.as_deref()).marked
        {
            kept.push(format!("the aggregate {slug} (its order of the upstreams)"));
        }
        if kept.is_empty() {
            let left: Vec<String> = self
                .client()
                .list_upstreams(slug)
                .await?
                .into_iter()
                .filter(|u| Some(u.slug_perm.as_str()) != deleted)
                .map(|u| format!("the Docker upstream {:?}", u.name))
                .collect();
            kept.extend(left);
        }
        if kept.is_empty() {
            kept.extend(self.other_holdings(repository).await?);
        }
        if kept.is_empty() {
            self.client().delete_repository(slug).await?;
            return Ok(true);
        }
        tracing::warn!(
            repository = %slug,
            holds = %kept.join(", "),
            "cloudsmith: kept repository {slug}: it still holds {}; delete it by hand if it \
             should go",
            kept.join(", ")
        );
        Ok(false)
    }

    /// What else `repository` holds, the first kind found: a package that is not a Docker
    /// image (read only when `package_count` says there are packages), or an upstream of
    /// another format (one list per format the reference names).
    async fn other_holdings(&self, repository: &Repository) -> Result<Vec<String>, Error> {
        let client = self.client();
        let slug = &repository.slug;
        if repository.package_count != Some(0) {
            if let Some(package) = client.non_docker_package(slug).await? {
                return Ok(vec![format!(
                    "the {} package {:?} (not an image cached through an upstream)",
                    package.format.as_deref().unwrap_or("non-Docker"),
                    package.name
                )]);
            }
        }
        for format in OTHER_UPSTREAM_FORMATS {
            let names = client.other_upstream_names(slug, format).await?;
            if !names.is_empty() {
                return Ok(names
                    .into_iter()
                    .map(|name| format!("the {format} upstream {name:?}"))
                    .collect());
            }
        }
        Ok(Vec::new())
    }
}
