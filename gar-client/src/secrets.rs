//! Secret Manager (reference §2): the secret that holds a private cache's upstream
//! password, its versions, and their states.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use http::{Method, StatusCode};
use pull_through_core::error::ApiError;
use pull_through_core::http::{RetryConfig, may_have_been_processed};
use pull_through_core::{Deleted, Error, ExposeSecret, SecretString};
use serde::Deserialize;

use crate::client::GarClient;
use crate::model::{Secret, SecretVersion};
use crate::rules::{check_secret_id, is_version_number};

/// The CRC32C (Castagnoli) of `data`, as Secret Manager checks `dataCrc32c`.
///
/// ```
/// assert_eq!(gar_client::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// The body of `:addVersion`: the payload as standard base64 and its CRC32C as a decimal
/// string (proto3 JSON writes an int64 as a string). It holds the secret: send it, never
/// show it.
fn payload_body(secret: &SecretString) -> (serde_json::Value, SecretString) {
    let bytes = secret.expose_secret().as_bytes();
    let encoded = BASE64_STANDARD.encode(bytes);
    let body = serde_json::json!({
        "payload": {"data": encoded, "dataCrc32c": crc32c(bytes).to_string()}
    });
    (body, SecretString::from(encoded))
}

impl GarClient {
    fn secret_path(&self, secret: &str) -> Result<String, Error> {
        check_secret_id(secret)?;
        Ok(format!("v1/projects/{}/secrets/{secret}", self.project()))
    }

    /// Creates secret `secret` with automatic replication; when it exists already (409),
    /// reads it instead, so that a run repeated after a crash makes no second secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; [`Error::NotFound`] when the
    /// secret exists (409) but cannot be read yet; the core's [`Error`] (an organization
    /// policy may refuse automatic replication).
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let secret = client.ensure_secret("pull-through-cgr-private").await?;
    /// println!("{}", secret.name);
    /// # Ok(()) }
    /// ```
    pub async fn ensure_secret(&self, secret: &str) -> Result<Secret, Error> {
        let path = format!("v1/projects/{}/secrets", self.project());
        match self.make_secret(secret).await {
            Ok(Some(created)) => Ok(created),
            Ok(None) => {
                self.get_secret(secret).await?.ok_or_else(|| {
                    // Google's own answer to the read: 404.
                    let mut api = ApiError::new(
                        "gar",
                        Method::GET,
                        self.inner()
                            .secret_manager
                            .base_url()
                            .join(&format!("{path}/{secret}"))
                            .map_or_else(|_| format!("{path}/{secret}"), String::from),
                        StatusCode::NOT_FOUND,
                        format!(
                            "secret {secret} exists (its create answered 409) but cannot be \
                                 read yet"
                        ),
                    );
                    api.code = Some("NOT_FOUND".to_owned());
                    api.fix = Some("run again in a minute".to_owned());
                    Error::NotFound(Box::new(api))
                })
            }
            Err(err) => Err(err),
        }
    }

    /// Creates secret `secret` with automatic replication: `Some` with the secret when
    /// this call made it, `None` when it was there already (409). A repeat after a lost
    /// answer is a 409, so `Some` means the secret is new: it holds no version and its
    /// IAM policy is empty, which spares the credentials' write a read of either.
    pub(crate) async fn make_secret(&self, secret: &str) -> Result<Option<Secret>, Error> {
        check_secret_id(secret)?;
        let path = format!("v1/projects/{}/secrets", self.project());
        let request = self
            .inner()
            .secret_manager
            .post(&path)
            .query(&[("secretId", secret)])
            .json(&serde_json::json!({"replication": {"automatic": {}}}))
            .idempotent(true);
        match self.json::<Secret>(request, "secret").await {
            Ok(created) => Ok(Some(created)),
            Err(err) if err.is_already_exists() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Secret `secret`, or `None` (404).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let exists = client.get_secret("pull-through-cgr-private").await?.is_some();
    /// # Ok(()) }
    /// ```
    pub async fn get_secret(&self, secret: &str) -> Result<Option<Secret>, Error> {
        let path = self.secret_path(secret)?;
        match self
            .json::<Secret>(self.inner().secret_manager.get(&path), "secret")
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Deletes secret `secret` and every version of it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_secret("pull-through-cgr-private").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_secret(&self, secret: &str) -> Result<Deleted, Error> {
        let path = self.secret_path(secret)?;
        match self.send(self.inner().secret_manager.delete(&path)).await {
            Ok(_) => Ok(Deleted::Removed),
            Err(err) if err.is_not_found() => Ok(Deleted::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }

    /// Adds a version holding `password` to secret `secret` (`:addVersion`, the payload
    /// base64 with its CRC32C), and answers it (its name carries the version number).
    ///
    /// The add is sent at most once: when its answer is lost (a 5xx, a connection broken
    /// after the request went out), the newest enabled versions are read back
    /// (`:access`, which the caller may do as Secret Manager Admin) and the version that
    /// holds `password` is answered; only when none does is the add sent again. A blind
    /// repeat would add the password twice.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules or a payload over 64 KiB; the
    /// core's [`Error`], which never holds the password.
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let password = pull_through_core::SecretString::from("pull-token-jwt");
    /// let version = client.add_secret_version("pull-through-cgr-private", &password).await?;
    /// println!("{:?}", version.version_id());
    /// # Ok(()) }
    /// ```
    pub async fn add_secret_version(
        &self,
        secret: &str,
        password: &SecretString,
    ) -> Result<SecretVersion, Error> {
        let path = format!("{}:addVersion", self.secret_path(secret)?);
        if password.expose_secret().len() > 64 * 1024 {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "password".to_owned(),
                    problem: "is larger than Secret Manager's 64 KiB payload limit".to_owned(),
                },
            ));
        }
        let (body, encoded) = payload_body(password);
        // Sent at most once: a repeat after a lost answer would add the password twice.
        // What the secret holds says whether the lost one was added.
        let mut resends = RetryConfig::default().with_max_attempts(3).schedule();
        loop {
            let request = self
                .inner()
                .secret_manager
                .post(&path)
                .json(&body)
                .sensitive(password)
                .sensitive(&encoded)
                .at_most_once();
            let err = match self.json(request, "secret version").await {
                Ok(added) => return Ok(added),
                Err(err) => err,
            };
            if !may_have_been_processed(&err) {
                return Err(err);
            }
            if let Some(added) = self.version_holding(secret, password).await? {
                return Ok(added);
            }
            match resends.next_wait() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(err),
            }
        }
    }

    /// The newest enabled version of `secret` whose payload is `password`, among the
    /// three newest enabled ones: what an `:addVersion` whose answer was lost added.
    async fn version_holding(
        &self,
        secret: &str,
        password: &SecretString,
    ) -> Result<Option<SecretVersion>, Error> {
        #[derive(Deserialize)]
        struct Accessed {
            payload: Payload,
        }
        #[derive(Deserialize)]
        struct Payload {
            #[serde(default)]
            data: String,
        }
        let path = self.secret_path(secret)?;
        // The payload as Google returns it: the password in base64, as secret as itself.
        let wanted =
            SecretString::from(BASE64_STANDARD.encode(password.expose_secret().as_bytes()));
        let newest = self.list_secret_versions(secret).await?;
        for version in newest.into_iter().filter(|v| v.is_enabled()).take(3) {
            let Some(id) = version.version_id().filter(|id| is_version_number(id)) else {
                continue;
            };
            let request = self
                .inner()
                .secret_manager
                .get(&format!("{path}/versions/{id}:access"))
                .sensitive(password)
                .sensitive(&wanted);
            let accessed: Accessed = self.json(request, "secret version payload").await?;
            let held = SecretString::from(accessed.payload.data);
            if held.expose_secret() == wanted.expose_secret() {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }

    /// Every version of secret `secret` (all pages), newest first as Google lists them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let enabled = client.list_secret_versions("pull-through-cgr-private").await?
    ///     .into_iter().filter(|v| v.is_enabled()).count();
    /// # Ok(()) }
    /// ```
    pub async fn list_secret_versions(&self, secret: &str) -> Result<Vec<SecretVersion>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            versions: Vec<SecretVersion>,
            next_page_token: Option<String>,
        }
        let path = format!("{}/versions", self.secret_path(secret)?);
        self.all_pages(
            &self.inner().secret_manager,
            &path,
            "100",
            "secret versions",
            |page: Page| (page.versions, page.next_page_token),
        )
        .await
    }

    /// Version `version` (a number, or `latest` for the newest) of secret `secret`: its
    /// name, with the number `latest` stands for, and its state; `None` when the secret or
    /// the version does not exist (404).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id breaking the rules or a version that is neither a
    /// number nor `latest`; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// if let Some(newest) = client.get_secret_version("pull-through-cgr-private", "latest").await? {
    ///     println!("{:?} is {}", newest.version_id(), newest.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_secret_version(
        &self,
        secret: &str,
        version: &str,
    ) -> Result<Option<SecretVersion>, Error> {
        if !is_version_number(version) && version != "latest" {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "version".to_owned(),
                    problem: "is neither a version number nor latest".to_owned(),
                },
            ));
        }
        let path = format!("{}/versions/{version}", self.secret_path(secret)?);
        match self
            .json::<SecretVersion>(self.inner().secret_manager.get(&path), "secret version")
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Disables version `version` of secret `secret` (it can no longer be read; it can be
    /// enabled again).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id or version breaking the rules; the core's
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.disable_secret_version("pull-through-cgr-private", "1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn disable_secret_version(
        &self,
        secret: &str,
        version: &str,
    ) -> Result<SecretVersion, Error> {
        self.version_action(secret, version, "disable").await
    }

    /// Destroys version `version` of secret `secret` (its payload is gone for good).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an id or version breaking the rules; the core's
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// client.destroy_secret_version("pull-through-cgr-private", "1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn destroy_secret_version(
        &self,
        secret: &str,
        version: &str,
    ) -> Result<SecretVersion, Error> {
        self.version_action(secret, version, "destroy").await
    }

    async fn version_action(
        &self,
        secret: &str,
        version: &str,
        action: &str,
    ) -> Result<SecretVersion, Error> {
        if !is_version_number(version) {
            return Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "version".to_owned(),
                    problem: "is not a version number".to_owned(),
                },
            ));
        }
        let path = format!("{}/versions/{version}:{action}", self.secret_path(secret)?);
        let request = self
            .inner()
            .secret_manager
            .request(Method::POST, &path)
            .json(&serde_json::json!({}))
            .idempotent(true);
        self.json(request, "secret version").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_carries_base64_and_a_decimal_crc32c() {
        let (body, encoded) = payload_body(&SecretString::from("123456789"));
        assert_eq!(
            body,
            serde_json::json!({"payload": {"data": "MTIzNDU2Nzg5", "dataCrc32c": "3808858755"}})
        );
        assert_eq!(encoded.expose_secret(), "MTIzNDU2Nzg5");
    }
}
