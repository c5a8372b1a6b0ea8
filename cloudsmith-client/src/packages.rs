//! Packages: what a repository holds, images cached through its upstreams among them.

use pull_through_core::{Deleted, Error};

use crate::client::{CloudsmithClient, checked_identifier};
use crate::model::Package;
use crate::rules::IDENTIFIER_RULES;

impl CloudsmithClient {
    /// The packages of a repository matching a search (`GET /packages/{owner}/{repo}/
    /// ?query=...`, all pages), such as `name:nginx`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a repository identifier that is not a slug; the core's
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// for package in client.list_packages("chainguard", "name:nginx").await? {
    ///     println!("{} {:?}", package.name, package.version);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_packages(
        &self,
        repository: &str,
        query: &str,
    ) -> Result<Vec<Package>, Error> {
        IDENTIFIER_RULES.check(repository)?;
        let path = format!("packages/{}/{repository}/", self.owner());
        self.list_all(&path, &[("query", query)], "package list")
            .await
    }

    /// Deletes a package (`DELETE /packages/{owner}/{repo}/{slug_perm}/`); 404 is
    /// [`Deleted::AlreadyAbsent`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for identifiers that are not slugs; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_package("chainguard", "Pk12Pk34Pk56").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_package(
        &self,
        repository: &str,
        slug_perm: &str,
    ) -> Result<Deleted, Error> {
        IDENTIFIER_RULES.check(repository)?;
        let slug_perm = checked_identifier("slug_perm", slug_perm)?;
        let path = format!("packages/{}/{repository}/{slug_perm}/", self.owner());
        self.delete_path(&path).await
    }

    /// Drops what the repository cached of the Docker image `image` (its path below the
    /// repository, `nginx` or `example.com/chainguard-base`): every Docker package of
    /// exactly that name, so the next pull goes upstream.
    ///
    /// # Errors
    ///
    /// As [`list_packages`](Self::list_packages) and
    /// [`delete_package`](Self::delete_package).
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// client.forget_image("chainguard", "nginx").await?;
    /// # Ok(()) }
    /// ```
    pub async fn forget_image(&self, repository: &str, image: &str) -> Result<Deleted, Error> {
        let packages = self
            .list_packages(repository, &format!("name:{image}"))
            .await?;
        let mut outcome = Deleted::AlreadyAbsent;
        // The search is not an exact match: keep only the image itself.
        for package in packages
            .iter()
            .filter(|p| p.name == image && p.format.as_deref().is_none_or(|f| f == "docker"))
        {
            if self.delete_package(repository, &package.slug_perm).await? == Deleted::Removed {
                outcome = Deleted::Removed;
            }
        }
        Ok(outcome)
    }
}
