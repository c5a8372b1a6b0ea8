//! Secret Manager (reference §2): the secret that holds a private cache's upstream
//! password, its versions, and their states.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use http::Method;
use pull_through_core::{Deleted, Error, ExposeSecret, SecretString};
use serde::Deserialize;

use crate::client::GarClient;
use crate::model::{Secret, SecretVersion};
use crate::rules::check_secret_id;

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
    /// [`Error::InvalidInput`] for an id breaking the rules; the core's [`Error`] (an
    /// organization policy may refuse automatic replication).
    ///
    /// ```no_run
    /// # async fn example(client: &gar_client::GarClient) -> Result<(), pull_through_core::Error> {
    /// let secret = client.ensure_secret("pull-through-cgr-private").await?;
    /// println!("{}", secret.name);
    /// # Ok(()) }
    /// ```
    pub async fn ensure_secret(&self, secret: &str) -> Result<Secret, Error> {
        check_secret_id(secret)?;
        let path = format!("v1/projects/{}/secrets", self.project());
        let request = self
            .inner()
            .secret_manager
            .post(&path)
            .query(&[("secretId", secret)])
            .json(&serde_json::json!({"replication": {"automatic": {}}}))
            // A repeat after a lost answer is a 409, which is handled below.
            .idempotent(true);
        match self.json::<Secret>(request, "secret").await {
            Ok(created) => Ok(created),
            Err(err) if err.is_already_exists() => {
                self.get_secret(secret)
                    .await?
                    .ok_or_else(|| Error::Unsupported {
                        vendor: "gar".to_owned(),
                        what: format!("reading secret {secret}"),
                        hint: "it exists but cannot be read yet; run again".to_owned(),
                    })
            }
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
        let request = self
            .inner()
            .secret_manager
            .post(&path)
            .json(&body)
            .sensitive(password)
            .sensitive(&encoded);
        self.json(request, "secret version").await
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
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("pageSize", "100")];
            if let Some(token) = &token {
                query.push(("pageToken", token.as_str()));
            }
            let request = self.inner().secret_manager.get(&path).query(&query);
            let page: Page = self.json(request, "secret versions").await?;
            all.extend(page.versions);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(all),
            }
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
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
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
