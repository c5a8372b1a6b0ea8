//! Creates whose answer may have been lost. An identity or a role binding is `POST`ed at
//! most once ([`at_most_once`](pull_through_core::http::RequestBuilder::at_most_once)):
//! when it fails in a way the server may have processed all the same (a 5xx, a connection
//! broken after the request went out), what the organization holds is read back before
//! the create is sent again. Sending it blindly would make a second identity (a pull
//! token nobody holds, and one that shares the first one's subject) or a second binding.

use pull_through_core::http::may_have_been_processed;
use pull_through_core::{Error, OrgId};

use super::ChainguardClient;
use crate::model::{Identity, Items, RoleBinding, RoleBindingRequest};

impl ChainguardClient {
    /// Creates `identity` under `org`; after a lost answer, finds it by its static
    /// subject, which is new for every pull token.
    pub(crate) async fn create_static_identity(
        &self,
        org: &OrgId,
        identity: &Identity,
    ) -> Result<Identity, Error> {
        let subject = identity
            .static_keys
            .as_ref()
            .map(|keys| keys.subject.as_str())
            .unwrap_or_default();
        let mut waits = self.retry.schedule();
        loop {
            let token = self.api_token().await?;
            let err = match self
                .api
                .post(&format!("iam/v1/identities/{org}"))
                .bearer_auth(&token)
                .json(identity)
                .at_most_once()
                .send()
                .await
            {
                Ok(answer) => return answer.json("identity").await,
                Err(err) => err,
            };
            if subject.is_empty() || !may_have_been_processed(&err) {
                return Err(err);
            }
            if let Some(made) = self.identity_with_subject(org, subject).await? {
                return Ok(made);
            }
            match waits.next_wait() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(err),
            }
        }
    }

    async fn identity_with_subject(
        &self,
        org: &OrgId,
        subject: &str,
    ) -> Result<Option<Identity>, Error> {
        let token = self.api_token().await?;
        let listed: Items<Identity> = self
            .api
            .get("iam/v1/identities")
            .query(&[("uidp.descendantsOf", org.as_str())])
            .bearer_auth(&token)
            .send()
            .await?
            .json("identity list")
            .await?;
        Ok(listed.items.into_iter().find(|identity| {
            identity.static_keys.as_ref().is_some_and(|keys| {
                keys.subject == subject && keys.issuer == crate::model::PULL_TOKEN_ISSUER
            })
        }))
    }

    /// The binding of `body.role` to `body.identity` in `parent`, if one exists: what a
    /// create whose answer was lost made.
    pub(crate) async fn existing_binding(
        &self,
        parent: &str,
        body: &RoleBindingRequest,
    ) -> Result<Option<RoleBinding>, Error> {
        let token = self.api_token().await?;
        let listed: Items<RoleBinding> = self
            .api
            .get("iam/v1/rolebindings")
            .query(&[("uidp.descendantsOf", parent)])
            .bearer_auth(&token)
            .send()
            .await?
            .json("role binding list")
            .await?;
        Ok(listed
            .items
            .into_iter()
            .find(|binding| binding.identity == body.identity && binding.role == body.role))
    }
}
