//! Repositories: `/repos/{owner}/` and `/repos/{owner}/{identifier}/`.

use http::Method;
use pull_through_core::http::may_have_been_processed;
use pull_through_core::{Deleted, Error, ValidationError};

use crate::bodies::{RepositoryCreate, RepositoryPatch};
use crate::client::CloudsmithClient;
use crate::model::Repository;
use crate::rules::{IDENTIFIER_RULES, REPOSITORY_SLUG_RULES, check_storage_region};

impl CloudsmithClient {
    fn repository_path(&self, identifier: &str) -> Result<String, Error> {
        IDENTIFIER_RULES.check(identifier)?;
        Ok(format!("repos/{}/{identifier}/", self.owner()))
    }

    /// Every repository of the workspace (`GET /repos/{owner}/`, all pages), but those
    /// being deleted (see [`get_repository`](Self::get_repository)).
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// let slugs: Vec<String> = client.list_repositories().await?.into_iter().map(|r| r.slug).collect();
    /// # Ok(()) }
    /// ```
    pub async fn list_repositories(&self) -> Result<Vec<Repository>, Error> {
        let path = format!("repos/{}/", self.owner());
        let all: Vec<Repository> = self.list_all(&path, &[], "repository list").await?;
        Ok(all.into_iter().filter(|r| !r.is_deleted()).collect())
    }

    /// A repository by slug or `slug_perm`, `None` when there is none (404) or it is being
    /// deleted: Cloudsmith soft-deletes repositories, and whether a GET in the retention
    /// period answers 404 or 200 with `deleted_at` set is open (the reference's open
    /// question 4), so both are read as absent.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an identifier that is not a slug; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// if client.get_repository("chainguard").await?.is_none() {
    ///     println!("no repository chainguard");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_repository(&self, identifier: &str) -> Result<Option<Repository>, Error> {
        let path = self.repository_path(identifier)?;
        let found: Option<Repository> = self.get_opt(&path, "repository").await?;
        Ok(found.filter(|r| !r.is_deleted()))
    }

    /// Creates a repository (`POST /repos/{owner}/`), checked first: the slug by
    /// [`REPOSITORY_SLUG_RULES`], the name (1 to 50 characters), the storage region's shape.
    ///
    /// A create is never repeated blindly: the HTTP layer sends it again only after a 429
    /// or a connection never made; one that failed with a 5xx or lost its answer is
    /// followed by a read of the slug, and the repository found is returned (the create
    /// went through); only when there is none is it sent again, within the retry policy's
    /// attempts and budget.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request; [`Error::AlreadyExists`] when the slug
    /// is taken (the API answers 422 on `slug`), including by a repository deleted a short
    /// while ago: Cloudsmith soft-deletes repositories and keeps their slugs reserved; the
    /// core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// use cloudsmith_client::RepositoryCreate;
    /// let created = client.create_repository(&RepositoryCreate::private("chainguard")).await?;
    /// println!("{}", created.slug_perm);
    /// # Ok(()) }
    /// ```
    pub async fn create_repository(&self, body: &RepositoryCreate) -> Result<Repository, Error> {
        REPOSITORY_SLUG_RULES.check(&body.slug)?;
        let name_length = body.name.chars().count();
        if !(1..=50).contains(&name_length) {
            return Err(Error::InvalidInput(ValidationError::InvalidValue {
                field: "name".to_owned(),
                problem: format!(
                    "it has {name_length} characters; a repository's name has 1 to 50"
                ),
            }));
        }
        check_storage_region(&body.storage_region)?;
        let path = format!("repos/{}/", self.owner());
        let mut schedule = self.schedule();
        loop {
            let request = self.create_request(&path).json(body);
            let err = match self.send(request).await {
                Ok(answer) => return answer.json("repository").await,
                Err(err) if may_have_been_processed(&err) => err,
                Err(err) => return Err(err),
            };
            if let Some(found) = self.get_repository(&body.slug).await? {
                return Ok(found);
            }
            let Some(wait) = schedule.next_wait() else {
                return Err(err);
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sets a repository's description (`PATCH /repos/{owner}/{identifier}/`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an identifier that is not a slug; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// use cloudsmith_client::RepositoryPatch;
    /// client.update_repository("chainguard", &RepositoryPatch::description("Chainguard images")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_repository(
        &self,
        identifier: &str,
        patch: &RepositoryPatch,
    ) -> Result<Repository, Error> {
        let path = self.repository_path(identifier)?;
        // The same fields written twice end the same: safe to retry.
        let request = self
            .request(Method::PATCH, &path)
            .idempotent(true)
            .json(patch);
        self.send(request).await?.json("repository").await
    }

    /// Deletes a repository with everything in it (`DELETE /repos/{owner}/{identifier}/`).
    /// Any 2xx is success (the spec says 200, 204 is plausible); 404 is
    /// [`Deleted::AlreadyAbsent`]. Cloudsmith soft-deletes: the slug stays reserved for a
    /// while, so it cannot be created again at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an identifier that is not a slug; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_repository("chainguard").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_repository(&self, identifier: &str) -> Result<Deleted, Error> {
        let path = self.repository_path(identifier)?;
        self.delete_path(&path).await
    }

    /// The repository `body.slug`, created as `body` says when there is none. A create
    /// that another writer beat (422 on `slug`) is answered with that writer's repository;
    /// a slug that stays taken yet unreadable is a recently deleted repository's.
    ///
    /// # Errors
    ///
    /// As [`create_repository`](Self::create_repository), except that a slug taken by a
    /// repository that cannot be read (a recently deleted one) is [`Error::Api`] with a
    /// fix saying so, never [`Error::AlreadyExists`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// use cloudsmith_client::RepositoryCreate;
    /// let repository = client.ensure_repository(&RepositoryCreate::private("chainguard")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ensure_repository(&self, body: &RepositoryCreate) -> Result<Repository, Error> {
        self.ensure_repository_made(body)
            .await
            .map(|(repository, _)| repository)
    }

    /// As [`ensure_repository`](Self::ensure_repository), and whether this call created it.
    pub(crate) async fn ensure_repository_made(
        &self,
        body: &RepositoryCreate,
    ) -> Result<(Repository, bool), Error> {
        if let Some(found) = self.get_repository(&body.slug).await? {
            return Ok((found, false));
        }
        match self.create_repository(body).await {
            Ok(created) => Ok((created, true)),
            Err(Error::AlreadyExists(mut api)) => {
                if let Some(found) = self.get_repository(&body.slug).await? {
                    return Ok((found, false));
                }
                api.fix = Some(format!(
                    "no repository {} can be read, so the slug is most likely a recently \
                     deleted repository's: Cloudsmith keeps a deleted repository's slug \
                     reserved during its retention period; choose another name (slug) or \
                     restore that repository",
                    body.slug
                ));
                // Not AlreadyExists: callers (the core's reconcile among them) read that as
                // a race another writer won, and reading again would find nothing.
                Err(Error::Api(api))
            }
            Err(err) => Err(err),
        }
    }
}
