//! IAM on a secret (reference §3): the Artifact Registry service agent needs
//! `roles/secretmanager.secretAccessor` on the secret that holds a cache's password. The
//! grant is a read-modify-write of the secret's policy with its `etag`; a concurrent
//! change (409 `ABORTED`) makes the whole read and write run again.

use pull_through_core::Error;

use crate::client::GarClient;
use crate::model::{Policy, SECRET_ACCESSOR_ROLE};
use crate::rules::check_secret_id;

/// What [`GarClient::grant_secret_accessor`] did.
///
/// ```
/// use gar_client::Grant;
/// assert_ne!(Grant::Added, Grant::AlreadyPresent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// The policy was written with the member added.
    Added,
    /// The member held the role already; nothing was written.
    AlreadyPresent,
}

/// Whether an error is IAM's answer to a stale etag.
fn is_aborted(err: &Error) -> bool {
    err.api()
        .is_some_and(|api| api.code.as_deref() == Some("ABORTED"))
}

impl GarClient {
    fn policy_path(&self, secret: &str, method: &str) -> Result<String, Error> {
        check_secret_id(secret)?;
        Ok(format!(
            "v1/projects/{}/secrets/{secret}:{method}",
            self.project()
        ))
    }

    /// The IAM policy of secret `secret`, asked for in version 3 so that conditional
    /// bindings come back whole and a write keeps them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; [`Error::NotFound`] without
    /// such a secret; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let policy = client.get_secret_iam_policy("pull-through-cgr-private").await?;
    /// println!("{} bindings", policy.bindings.len());
    /// # Ok(()) }
    /// ```
    pub async fn get_secret_iam_policy(&self, secret: &str) -> Result<Policy, Error> {
        let path = self.policy_path(secret, "getIamPolicy")?;
        let request = self
            .inner()
            .secret_manager
            .get(&path)
            .query(&[("options.requestedPolicyVersion", "3")]);
        self.json(request, "IAM policy").await
    }

    /// Writes the IAM policy of secret `secret` (`:setIamPolicy` with `{"policy": ...}`),
    /// refused with 409 `ABORTED` when its etag is stale.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let mut policy = client.get_secret_iam_policy("pull-through-cgr-private").await?;
    /// policy.add("roles/secretmanager.secretAccessor", "user:linky@example.com");
    /// client.set_secret_iam_policy("pull-through-cgr-private", &policy).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_secret_iam_policy(
        &self,
        secret: &str,
        policy: &Policy,
    ) -> Result<Policy, Error> {
        let path = self.policy_path(secret, "setIamPolicy")?;
        let mut policy = policy.clone();
        // A conditional binding is only kept by a version 3 write.
        if policy.bindings.iter().any(|b| b.condition.is_some()) {
            policy.version = Some(3);
        }
        let request = self
            .inner()
            .secret_manager
            .post(&path)
            .json(&serde_json::json!({ "policy": policy }))
            // The etag makes a repeat harmless: it is refused as stale, and read again.
            .idempotent(true);
        self.json(request, "IAM policy").await
    }

    /// Whether the Artifact Registry service agent holds
    /// `roles/secretmanager.secretAccessor` on secret `secret`; `false` when there is no
    /// such secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// if !client.secret_accessor_granted("pull-through-cgr-private").await? {
    ///     println!("pulls through the cache will fail");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn secret_accessor_granted(&self, secret: &str) -> Result<bool, Error> {
        check_secret_id(secret)?;
        let member = self.service_agent().await?;
        match self.get_secret_iam_policy(secret).await {
            Ok(policy) => Ok(policy.grants(SECRET_ACCESSOR_ROLE, &member)),
            Err(err) if err.is_not_found() => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Grants `roles/secretmanager.secretAccessor` on secret `secret` to the Artifact
    /// Registry service agent: reads the policy, writes it with the member added unless it
    /// is there (then nothing is written), and on 409 `ABORTED` runs the whole
    /// read-modify-write again, within the client's IAM retry settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the last `ABORTED` when the
    /// retries ran out; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let grant = client.grant_secret_accessor("pull-through-cgr-private").await?;
    /// println!("{grant:?}");
    /// # Ok(()) }
    /// ```
    pub async fn grant_secret_accessor(&self, secret: &str) -> Result<Grant, Error> {
        check_secret_id(secret)?;
        let member = self.service_agent().await?;
        let mut schedule = self.inner().iam_retry.schedule();
        loop {
            let mut policy = self.get_secret_iam_policy(secret).await?;
            if !policy.add(SECRET_ACCESSOR_ROLE, &member) {
                return Ok(Grant::AlreadyPresent);
            }
            match self.set_secret_iam_policy(secret, &policy).await {
                Ok(_) => return Ok(Grant::Added),
                Err(err) if is_aborted(&err) => {
                    if !schedule.wait().await {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }
}
