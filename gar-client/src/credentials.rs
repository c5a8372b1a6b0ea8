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
use crate::rules::{check_repository_id, is_version_number, secret_id_for};

/// The update mask of a remote's credentials, the whole subtree (what the contract and
/// gcloud's read-modify-write both change).
pub(crate) const CREDENTIALS_MASK: &str = "remoteRepositoryConfig.upstreamCredentials";

/// The same as the two leaf paths gcloud and Terraform send (reference §1.6).
const CREDENTIALS_LEAVES: [&str; 2] = [
    "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.username",
    "remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials.passwordSecretVersion",
];

/// Whether Artifact Registry refused a PATCH's update mask itself (400 `INVALID_ARGUMENT`
/// whose message names the mask or a field path), not the values it carried.
fn is_mask_refusal(err: &Error) -> bool {
    err.status() == Some(http::StatusCode::BAD_REQUEST)
        && err.api().is_some_and(|api| {
            let message = api.message.to_ascii_lowercase();
            api.code.as_deref() == Some("INVALID_ARGUMENT")
                && !api.message.contains(UPSTREAM_VALIDATION)
                && [
                    "update_mask",
                    "updatemask",
                    "update mask",
                    "field path",
                    "field mask",
                ]
                .iter()
                .any(|named| message.contains(named))
        })
}

/// The message of Artifact Registry's refusal of a remote's upstream check (400
/// "Failed to validate remote upstream: ..."), when that is the error.
fn validation_failure(err: &Error) -> Option<&str> {
    if err.status() != Some(http::StatusCode::BAD_REQUEST) {
        return None;
    }
    let api = err.api()?;
    [api.message.as_str(), api.body.as_str()]
        .into_iter()
        .find(|text| text.contains(UPSTREAM_VALIDATION))
}

/// Whether the upstream check failed because Artifact Registry could not read the secret
/// (permission denied on `secretmanager.versions.access`, on the secret): what a new grant
/// does until it has propagated (reference §3.3), so worth waiting out.
fn is_secret_unreadable(err: &Error) -> bool {
    validation_failure(err).is_some_and(|text| {
        text.contains("secretmanager.versions.access")
            || (text.contains("ermission") && text.contains("denied") && text.contains("/secrets/"))
    })
}

/// Whether the upstream check failed because cgr.dev refused the credentials ("failed to
/// fetch bearer token; generic::unauthenticated: Unauthorized error returned by the external
/// repository ... this typically means your upstream credentials are invalid", reference
/// §1.4): no wait makes a bad pull token good.
fn is_upstream_unauthorized(err: &Error) -> bool {
    validation_failure(err).is_some_and(|text| {
        text.contains("generic::unauthenticated")
            || text.contains("Unauthorized error returned by the external repository")
            || text.contains("upstream credentials are invalid")
    })
}

/// cgr.dev refused the pull token Artifact Registry presented: what to do about it.
fn refused_upstream(err: Error, username: &str) -> Error {
    match err {
        Error::Api(mut api) => {
            api.fix = Some(format!(
                "cgr.dev refused the pull token {username} that Artifact Registry presented: a \
                 pull token needs the registry.pull role and must not have expired or been \
                 deleted; mint a new one (chainctl auth pull-token --parent ORG, whose role is \
                 registry.pull) and apply it as a rotation"
            ));
            Error::Api(api)
        }
        other => other,
    }
}

/// What a write of a remote's credentials left: the repository as the pinning PATCH
/// answered it, and whether the cache's secret was made by this write.
pub(crate) struct Written {
    pub(crate) repository: Repository,
    pub(crate) new_secret: bool,
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
    /// While Artifact Registry answers "Failed to validate remote upstream" because it
    /// cannot read the secret (a new grant takes minutes to reach it), the PATCH is retried
    /// within the client's validation retry budget. When cgr.dev refused the credentials
    /// ("... generic::unauthenticated ... upstream credentials are invalid"), it fails at
    /// once, saying to mint a new pull token with the registry.pull role.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; after the budget, the last
    /// refusal with what to do; [`Error::Api`] with what to do about the pull token when
    /// cgr.dev refused it; the core's [`Error`]. None holds the password.
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
        self.write_credentials_of(repository, username, password)
            .await
            .map(|written| written.repository)
    }

    /// [`GarClient::write_upstream_credentials`], saying too whether the secret was made
    /// now: a new secret holds only the version just added, so its versions are not listed
    /// (there are no older ones to retire); its policy is read for the etag all the same.
    pub(crate) async fn write_credentials_of(
        &self,
        repository: &str,
        username: &str,
        password: &SecretString,
    ) -> Result<Written, Error> {
        check_repository_id(repository)?;
        let secret = secret_id_for(repository);
        let new_secret = self.make_secret(&secret).await?.is_some();
        let added = self.add_secret_version(&secret, password).await?;
        let version = added
            .version_id()
            .filter(|v| is_version_number(v))
            .ok_or_else(|| {
                Error::Decode(Box::new(pull_through_core::error::DecodeError::new(
                    "gar",
                    "secret version",
                    "name",
                    "does not end in /versions/<number>",
                )))
            })?
            .to_owned();
        // Read then write, even on a secret just made: the reference documents the etag
        // read from getIamPolicy, not what a never-set policy's etag is.
        self.grant_secret_accessor(&secret).await?;
        let repository = self
            .pin_upstream_credentials(repository, username, &version)
            .await?;
        Ok(Written {
            repository,
            new_secret,
        })
    }

    /// Pins version `version` of the cache's secret, with `username`, as remote
    /// `repository`'s upstream credentials (a PATCH of
    /// `remoteRepositoryConfig.upstreamCredentials` alone; when Artifact Registry refuses
    /// that mask, of its two leaf paths `...usernamePasswordCredentials.username` and
    /// `...usernamePasswordCredentials.passwordSecretVersion`, as gcloud and Terraform send
    /// them), retried while Artifact Registry cannot yet read the secret.
    ///
    /// `version` is a number: whether Artifact Registry resolves `versions/latest` is not
    /// documented (reference §8), and a pin by number is what a rotation retires the
    /// versions around.
    ///
    /// # Errors
    ///
    /// As [`GarClient::write_upstream_credentials`]; [`Error::InvalidInput`] for a version
    /// that is not a number, before any request.
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
        check_repository_id(repository)?;
        if !is_version_number(version) {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "version".to_owned(),
                    problem: format!(
                        "{version:?} is not a secret version number; pin a version by its \
                         number, such as 3 (whether Artifact Registry resolves versions/latest \
                         is not documented)"
                    ),
                },
            ));
        }
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
            match self.patch_credentials(repository, &body).await {
                Ok(patched) => return Ok(patched),
                Err(err) if is_secret_unreadable(&err) => {
                    if !schedule.wait().await {
                        return Err(self.propagation_error(err, &secret).await);
                    }
                }
                Err(err) if is_upstream_unauthorized(&err) => {
                    return Err(refused_upstream(err, username));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// PATCHes the credentials of `body` (or their absence) into remote `repository` with
    /// the subtree mask `remoteRepositoryConfig.upstreamCredentials`, or, once Artifact
    /// Registry refused that mask, with the two leaf paths.
    ///
    /// Which of the two Google takes is an open question: the contract and the seed's
    /// issue name the subtree (any field path of the message is a valid mask by AIP-161),
    /// while gcloud and Terraform send the leaves (reference §1.6). The subtree is tried
    /// first; a 400 that names the mask makes this client use the leaves from then on.
    /// Clearing both leaves leaves an empty `usernamePasswordCredentials`, which reads as
    /// no credentials.
    async fn patch_credentials(
        &self,
        repository: &str,
        body: &Repository,
    ) -> Result<Repository, Error> {
        use std::sync::atomic::Ordering;
        let leaves = &self.inner().credentials_leaf_masks;
        if !leaves.load(Ordering::Relaxed) {
            match self
                .patch_repository(repository, &[CREDENTIALS_MASK], body)
                .await
            {
                Err(err) if is_mask_refusal(&err) => leaves.store(true, Ordering::Relaxed),
                other => return other,
            }
        }
        self.patch_repository(repository, &CREDENTIALS_LEAVES, body)
            .await
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
    /// Nothing is disabled when the repository pins no version of its secret. A pin of
    /// `versions/latest` (made by hand) stands for the version
    /// `GET .../versions/latest` names; when that is not enabled, nothing is disabled.
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
        // A pin by alias (`versions/latest`, set by hand: whether Artifact Registry resolves
        // it is an open question, reference §8) is compared by the number it stands for now.
        // When that cannot be read, or is not enabled, the pin is broken already and nothing
        // is retired: disabling would leave no version to repair it with.
        let pinned = if is_version_number(&pinned) {
            pinned
        } else if pinned == "latest" {
            match self.get_secret_version(&secret, "latest").await? {
                Some(newest) if newest.is_enabled() => match newest.version_id() {
                    Some(number) if is_version_number(number) => number.to_owned(),
                    _ => return Ok(Vec::new()),
                },
                _ => return Ok(Vec::new()),
            }
        } else {
            return Ok(Vec::new());
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

    /// Removes remote `repository`'s upstream credentials: deletes its secret, then PATCHes
    /// `remoteRepositoryConfig.upstreamCredentials` with none in the body.
    ///
    /// The secret goes first so that a run stopped between the two steps leaves the
    /// username in place: the next run still sees credentials to remove, and does both
    /// steps again (the secret's 404 then is nothing to delete). The other order would
    /// leave a secret that no run looks for again.
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
        check_repository_id(repository)?;
        self.delete_secret(&secret_id_for(repository)).await?;
        self.patch_credentials(repository, &Repository::default())
            .await
    }

    /// Grants the service agent access to remote `repository`'s secret, when that is all
    /// that is missing.
    pub(crate) async fn repair_grant(&self, repository: &str) -> Result<Grant, Error> {
        self.grant_secret_accessor(&secret_id_for(repository)).await
    }
}
