//! Artifact Registry repositories (reference §1.4, §1.6): create (an operation), get,
//! list, patch with an update mask, delete (an operation), and the delete of a cached
//! package.

use http::Method;
use pull_through_core::{Deleted, Error};
use serde::Deserialize;

use crate::client::GarClient;
use crate::model::{Operation, Repository};
use crate::rules::check_repository_id;

/// The largest page Artifact Registry serves.
const PAGE_SIZE: &str = "1000";

impl GarClient {
    fn repositories_path(&self) -> String {
        format!(
            "v1/projects/{}/locations/{}/repositories",
            self.project(),
            self.location()
        )
    }

    fn repository_path(&self, id: &str) -> Result<String, Error> {
        check_repository_id(id)?;
        Ok(format!("{}/{id}", self.repositories_path()))
    }

    /// Creates repository `id` (`POST .../repositories?repositoryId=`) and waits for the
    /// operation. The repository is read from the operation's `response`, or with a `GET`
    /// when the finished operation carries neither response nor error.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules (nothing sent);
    /// [`Error::AlreadyExists`] when the id is taken; an operation that finished with an
    /// error, as that error; the core's [`Error`].
    ///
    /// ```no_run
    /// use gar_client::model::Repository;
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let repo = client.create_repository("chainguard-pull-through", &Repository::remote_docker(None)).await?;
    /// println!("{:?}", repo.registry_uri);
    /// # Ok(()) }
    /// ```
    pub async fn create_repository(
        &self,
        id: &str,
        repository: &Repository,
    ) -> Result<Repository, Error> {
        check_repository_id(id)?;
        let path = self.repositories_path();
        let request = self
            .inner()
            .artifact_registry
            .post(&path)
            .query(&[("repositoryId", id)])
            .json(repository);
        let started: Operation = self.json(request, "operation").await?;
        let finished = self.wait_operation(started).await?;
        if let Some(response) = finished.response {
            let created: Repository = serde_json::from_value(response).unwrap_or_default();
            if created.name.is_some() {
                return Ok(created);
            }
        }
        // Done without a response ("some services might not provide the result"): the
        // repository is what a read says.
        self.get_repository(id)
            .await?
            .ok_or_else(|| Error::Unsupported {
                vendor: "gar".to_owned(),
                what: format!("reading repository {id} after creating it"),
                hint: "the create finished but the repository cannot be read yet; run again"
                    .to_owned(),
            })
    }

    /// Repository `id`, or `None` when there is none (404).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// if client.get_repository("chainguard-pull-through").await?.is_none() {
    ///     println!("no such repository");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_repository(&self, id: &str) -> Result<Option<Repository>, Error> {
        let path = self.repository_path(id)?;
        match self
            .json::<Repository>(self.inner().artifact_registry.get(&path), "repository")
            .await
        {
            Ok(repository) => Ok(Some(repository)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Every repository of the location, all pages read.
    ///
    /// # Errors
    ///
    /// The core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let count = client.list_repositories().await?.len();
    /// # Ok(()) }
    /// ```
    pub async fn list_repositories(&self) -> Result<Vec<Repository>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            repositories: Vec<Repository>,
            next_page_token: Option<String>,
        }
        let path = self.repositories_path();
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("pageSize", PAGE_SIZE)];
            if let Some(token) = &token {
                query.push(("pageToken", token.as_str()));
            }
            let request = self.inner().artifact_registry.get(&path).query(&query);
            let page: Page = self.json(request, "repository list").await?;
            all.extend(page.repositories);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                // A server that hands back the token it was given would loop forever.
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// One cheap authenticated read: the first page of one repository.
    pub(crate) async fn probe_access(&self) -> Result<(), Error> {
        let request = self
            .inner()
            .artifact_registry
            .get(&self.repositories_path())
            .query(&[("pageSize", "1")]);
        self.send(request).await.map(drop)
    }

    /// Updates repository `id` with the fields of `changes` named in `update_mask`
    /// (`PATCH ...?updateMask=a,b`); answers the repository as updated.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules or an empty mask; the core's
    /// [`Error`] (400 for a mask naming an immutable field).
    ///
    /// ```no_run
    /// use gar_client::model::Repository;
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let mut changes = Repository::default();
    /// changes.description = Some("Chainguard images".into());
    /// client.patch_repository("cgr-public", &["description"], &changes).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch_repository(
        &self,
        id: &str,
        update_mask: &[&str],
        changes: &Repository,
    ) -> Result<Repository, Error> {
        let path = self.repository_path(id)?;
        if update_mask.is_empty() {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "updateMask".to_owned(),
                    problem: "is empty; name the fields to change".to_owned(),
                },
            ));
        }
        let mask = update_mask.join(",");
        let request = self
            .inner()
            .artifact_registry
            .request(Method::PATCH, &path)
            .query(&[("updateMask", mask.as_str())])
            .json(changes)
            // The same body applied twice gives the same repository.
            .idempotent(true);
        self.json(request, "repository").await
    }

    /// Deletes repository `id` and everything it cached, waiting for the operation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_repository("chainguard-pull-through").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_repository(&self, id: &str) -> Result<Deleted, Error> {
        let path = self.repository_path(id)?;
        self.delete_and_wait(self.inner().artifact_registry.delete(&path))
            .await
    }

    /// Deletes the cached package `package` (`chainguard/go`) of repository `id`, waiting
    /// for the operation, so that the next pull goes upstream. The package name is one
    /// percent-encoded path segment (`chainguard%2Fgo`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules or an empty package; the
    /// core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_package("chainguard-pull-through", "chainguard/go").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_package(&self, id: &str, package: &str) -> Result<Deleted, Error> {
        check_repository_id(id)?;
        if package.is_empty() || package.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "package".to_owned(),
                    problem: "is not an image name such as chainguard/go".to_owned(),
                },
            ));
        }
        let url = self.inner().artifact_registry.url_with_segments(&[
            "v1",
            "projects",
            self.project(),
            "locations",
            self.location(),
            "repositories",
            id,
            "packages",
            package,
        ]);
        self.delete_and_wait(
            self.inner()
                .artifact_registry
                .request_url(Method::DELETE, url),
        )
        .await
    }

    async fn delete_and_wait(
        &self,
        request: pull_through_core::http::RequestBuilder<'_>,
    ) -> Result<Deleted, Error> {
        let started: Operation = match self.json(request, "operation").await {
            Ok(operation) => operation,
            Err(err) if err.is_not_found() => return Ok(Deleted::AlreadyAbsent),
            Err(err) => return Err(err),
        };
        match self.wait_operation(started).await {
            Ok(_) => Ok(Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }
}
