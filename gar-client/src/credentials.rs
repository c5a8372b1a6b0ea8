//! A remote's upstream credentials, in the order that works on a fresh project (reference
//! §3.3, the seed's order): the repository exists (made anonymously, which also makes the
//! Artifact Registry service agent), then the secret and a version of it, then the
//! service agent's grant on the secret, then the PATCH that pins the version. Each step is
//! idempotent, so a run that stopped half way converges when run again: the secret is
//! made once (409 is read), a grant already present is not written, and the older enabled
//! versions are disabled once the new one is pinned.

use pull_through_core::{Error, SecretString};

use crate::client::GarClient;
use crate::error::UPSTREAM_VALIDATION;
use crate::iam::Grant;
use crate::model::{
    RemoteRepositoryConfig, Repository, SECRET_ACCESSOR_ROLE, UpstreamCredentials,
    UsernamePasswordCredentials,
};
use crate::rules::{check_repository_id, secret_id_for};

/// The update mask of a remote's credentials, the whole subtree (what the contract and
/// gcloud's read-modify-write both change).
pub(crate) const CREDENTIALS_MASK: &str = "remoteRepositoryConfig.upstreamCredentials";

/// Whether Artifact Registry refused the credentials it was given while checking the
/// upstream (as it does until a new grant has propagated).
fn is_validation_failure(err: &Error) -> bool {
    err.status() == Some(http::StatusCode::BAD_REQUEST)
        && err.api().is_some_and(|api| {
            api.message.contains(UPSTREAM_VALIDATION) || api.body.contains(UPSTREAM_VALIDATION)
        })
}

impl GarClient {
    /// Writes `password` as the upstream password of remote `repository` and presents it
    /// upstream with `username`: makes the cache's secret (`pull-through-REPO`) if it is
    /// missing, adds a version, grants the Artifact Registry service agent
    /// `roles/secretmanager.secretAccessor` on the secret unless it holds it, then pins
    /// the version with a PATCH of `remoteRepositoryConfig.upstreamCredentials` alone.
    /// Older versions stay enabled: see [`GarClient::disable_old_versions`], which a
    /// rotation calls once a pull with the new password has passed.
    ///
    /// While Artifact Registry answers "Failed to validate remote upstream" (a new grant
    /// takes minutes to reach it), the PATCH is retried within the client's validation
    /// retry budget.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; after the budget, the last
    /// refusal with what to do; the core's [`Error`]. None holds the password.
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let password = pull_through_core::SecretString::from("pull-token-jwt");
    /// let repo = client.write_upstream_credentials("cgr-private", "org/identity", &password).await?;
    /// client.disable_old_versions("cgr-private").await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_upstream_credentials(
        &self,
        repository: &str,
        username: &str,
        password: &SecretString,
    ) -> Result<Repository, Error> {
        check_repository_id(repository)?;
        let secret = secret_id_for(repository);
        self.ensure_secret(&secret).await?;
        let added = self.add_secret_version(&secret, password).await?;
        let version = added
            .version_id()
            .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| {
                Error::Decode(Box::new(pull_through_core::error::DecodeError::new(
                    "gar",
                    "secret version",
                    "name",
                    "does not end in /versions/<number>",
                )))
            })?
            .to_owned();
        self.grant_secret_accessor(&secret).await?;
        self.pin_upstream_credentials(repository, username, &version)
            .await
    }

    /// Pins version `version` of the cache's secret, with `username`, as remote
    /// `repository`'s upstream credentials (a PATCH of
    /// `remoteRepositoryConfig.upstreamCredentials` alone), retried while Artifact
    /// Registry cannot yet read the secret.
    ///
    /// # Errors
    ///
    /// As [`GarClient::write_upstream_credentials`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.pin_upstream_credentials("cgr-private", "org/identity", "3").await?;
    /// # Ok(()) }
    /// ```
    pub async fn pin_upstream_credentials(
        &self,
        repository: &str,
        username: &str,
        version: &str,
    ) -> Result<Repository, Error> {
        let secret = secret_id_for(repository);
        let pin = self.secret_version_name(&secret, version);
        let body = Repository {
            remote_repository_config: Some(RemoteRepositoryConfig {
                upstream_credentials: Some(UpstreamCredentials {
                    username_password_credentials: Some(UsernamePasswordCredentials::new(
                        username, pin,
                    )),
                }),
                ..RemoteRepositoryConfig::default()
            }),
            ..Repository::default()
        };
        let mut schedule = self.inner().validation_retry.schedule();
        loop {
            match self
                .patch_repository(repository, &[CREDENTIALS_MASK], &body)
                .await
            {
                Ok(patched) => return Ok(patched),
                Err(err) if is_validation_failure(&err) => {
                    if !schedule.wait().await {
                        return Err(self.propagation_error(err, &secret).await);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The last refusal, with what to do about it.
    async fn propagation_error(&self, err: Error, secret: &str) -> Error {
        let member = self
            .service_agent()
            .await
            .unwrap_or_else(|_| "the Artifact Registry service agent".to_owned());
        let budget = self.inner().validation_retry.budget.as_secs();
        let fix = format!(
            "Artifact Registry still could not pull from https://cgr.dev/ with the credentials \
             after {budget} s of retries. IAM grants take 2 to 7 minutes, sometimes longer, to \
             reach Artifact Registry: {member} was granted {SECRET_ACCESSOR_ROLE} on secret \
             {secret}; run apply again in a few minutes (every step is idempotent). If it \
             keeps failing, check the pull token: it needs the registry.pull role and must not \
             have expired"
        );
        match err {
            Error::Api(mut api) => {
                api.fix = Some(fix);
                Error::Api(api)
            }
            other => other,
        }
    }

    /// Disables the enabled versions of remote `repository`'s secret other than the one
    /// its credentials pin (nothing references them any more), and answers their names.
    /// Nothing is disabled when the repository pins no version of its secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// for name in client.disable_old_versions("cgr-private").await? {
    ///     println!("disabled {name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn disable_old_versions(&self, repository: &str) -> Result<Vec<String>, Error> {
        match self.get_repository(repository).await? {
            Some(found) => self.disable_unpinned(repository, &found, None).await,
            None => Ok(Vec::new()),
        }
    }

    /// [`GarClient::disable_old_versions`] of `found`, as just read or written, sparing
    /// version `keep` too when given.
    pub(crate) async fn disable_unpinned(
        &self,
        repository: &str,
        found: &Repository,
        keep: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let secret = secret_id_for(repository);
        // The project segment is compared as Google may spell it: id or number.
        self.project_number().await?;
        let pinned = match found.credentials() {
            Some(creds) if self.pinned_secret(creds).as_deref() == Some(&*secret) => {
                match creds.secret() {
                    Some((_, version)) => version.to_owned(),
                    None => return Ok(Vec::new()),
                }
            }
            _ => return Ok(Vec::new()),
        };
        let mut disabled = Vec::new();
        for version in self.list_secret_versions(&secret).await? {
            let Some(id) = version.version_id() else {
                continue;
            };
            if version.is_enabled() && id != pinned && Some(id) != keep {
                self.disable_secret_version(&secret, id).await?;
                disabled.push(self.secret_version_name(&secret, id));
            }
        }
        Ok(disabled)
    }

    /// Removes remote `repository`'s upstream credentials (a PATCH of
    /// `remoteRepositoryConfig.upstreamCredentials` with none in the body), then deletes
    /// its secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.clear_upstream_credentials("cgr-private").await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_upstream_credentials(&self, repository: &str) -> Result<Repository, Error> {
        let patched = self
            .patch_repository(repository, &[CREDENTIALS_MASK], &Repository::default())
            .await?;
        self.delete_secret(&secret_id_for(repository)).await?;
        Ok(patched)
    }

    /// Grants the service agent access to remote `repository`'s secret, when that is all
    /// that is missing.
    pub(crate) async fn repair_grant(&self, repository: &str) -> Result<Grant, Error> {
        self.grant_secret_accessor(&secret_id_for(repository)).await
    }
}
