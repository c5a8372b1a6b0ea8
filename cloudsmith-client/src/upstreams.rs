//! Docker upstreams: `/repos/{owner}/{repo}/upstream/docker/` and
//! `.../upstream/docker/{slug_perm}/`.

use http::{Method, StatusCode};
use pull_through_core::http::may_have_been_processed;
use pull_through_core::{Deleted, Error, ExposeSecret, ValidationError};

use crate::bodies::{DockerUpstreamPatch, DockerUpstreamRequest};
use crate::client::{CloudsmithClient, checked_identifier};
use crate::model::{AuthMode, DockerUpstream, Mode};
use crate::rules::{IDENTIFIER_RULES, UPSTREAM_NAME_RULES, check_priority, check_upstream_url};

fn invalid(field: &str, problem: impl Into<String>) -> Error {
    Error::InvalidInput(ValidationError::InvalidValue {
        field: field.to_owned(),
        problem: problem.into(),
    })
}

/// Only the two Docker modes the Go spec and the docs' schema list. `Cache Only` is in
/// the newest Python binding alone (the reference's open question 5): it is still read
/// (a [`Mode`] variant), never sent.
fn check_mode(mode: &Mode) -> Result<(), Error> {
    match mode {
        Mode::ProxyOnly | Mode::CacheAndProxy => Ok(()),
        other => Err(invalid(
            "mode",
            format!(
                "{:?} is not a Docker upstream mode of the API's spec; use \"Cache and \
                 Proxy\" (caches) or \"Proxy Only\"",
                other.as_str()
            ),
        )),
    }
}

fn check_auth(
    mode: &AuthMode,
    username: Option<&str>,
    secret_len: Option<usize>,
) -> Result<(), Error> {
    if let AuthMode::Other(other) = mode {
        return Err(invalid(
            "auth_mode",
            format!(
                "{other:?} is not an authentication mode of Docker upstreams; use \"None\", \
                 \"Username and Password\" or \"Certificate and Key\" (there is no Token for Docker)"
            ),
        ));
    }
    if let Some(username) = username {
        if username.is_empty() || username.chars().count() > 64 {
            return Err(invalid(
                "auth_username",
                "must be 1 to 64 characters (a pull token's identity id)",
            ));
        }
    }
    if let Some(len) = secret_len {
        if len == 0 || len > 4096 {
            return Err(invalid(
                "auth_secret",
                "must be 1 to 4096 characters (the pull token; its length only is checked)",
            ));
        }
    }
    Ok(())
}

/// Whether a field is sent, and with what: not sent, sent as `null`, or sent with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    No,
    Null,
    Value,
}

impl Sent {
    fn of<T>(field: Option<Option<T>>) -> Sent {
        match field {
            None => Sent::No,
            Some(None) => Sent::Null,
            Some(Some(_)) => Sent::Value,
        }
    }
}

/// Refuses credentials that do not go with the authentication mode sent: `None` with a
/// username or secret (the server would keep them unused, and a plan could never show
/// them), `Username and Password` without both (on a create) or clearing either (on a
/// patch), and `Certificate and Key`, whose certificate and key this crate does not send.
/// Without a mode in a patch, the stored one applies and nothing is checked.
fn check_auth_fields(
    mode: Option<&AuthMode>,
    username: Sent,
    secret: Sent,
    create: bool,
) -> Result<(), Error> {
    let missing = |sent: Sent| sent == Sent::Null || (create && sent == Sent::No);
    match mode {
        Some(AuthMode::None) if username == Sent::Value || secret == Sent::Value => Err(invalid(
            "auth_mode",
            "\"None\" sends no credentials, yet auth_username or auth_secret is set; use \
             \"Username and Password\" (a pull token) or leave both out",
        )),
        Some(AuthMode::UsernameAndPassword) if missing(username) || missing(secret) => {
            Err(invalid(
                "auth_mode",
                "\"Username and Password\" needs both auth_username and auth_secret (a pull \
                 token's identity id and the token)",
            ))
        }
        Some(AuthMode::CertificateAndKey) => Err(invalid(
            "auth_mode",
            "\"Certificate and Key\" needs auth_certificate and auth_certificate_key, which \
             this crate does not send; Chainguard's registry takes a pull token (\"Username \
             and Password\")",
        )),
        _ => Ok(()),
    }
}

/// The URL without its trailing slash, for matching what the server stores.
pub(crate) fn normalized(url: &str) -> &str {
    url.trim().strip_suffix('/').unwrap_or(url.trim())
}

impl CloudsmithClient {
    fn upstreams_path(&self, repository: &str) -> Result<String, Error> {
        IDENTIFIER_RULES.check(repository)?;
        Ok(format!(
            "repos/{}/{repository}/upstream/docker/",
            self.owner()
        ))
    }

    fn upstream_path(&self, repository: &str, slug_perm: &str) -> Result<String, Error> {
        let slug_perm = checked_identifier("slug_perm", slug_perm)?;
        Ok(format!("{}{slug_perm}/", self.upstreams_path(repository)?))
    }

    /// Every Docker upstream of a repository (all pages), in the order the server lists
    /// them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a repository identifier that is not a slug;
    /// [`Error::NotFound`] for a repository that does not exist; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// for upstream in client.list_upstreams("chainguard").await? {
    ///     println!("{} {} priority {:?}", upstream.name, upstream.upstream_url, upstream.priority);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_upstreams(&self, repository: &str) -> Result<Vec<DockerUpstream>, Error> {
        let path = self.upstreams_path(repository)?;
        self.list_all(&path, &[], "Docker upstream list").await
    }

    /// One upstream by `slug_perm`, `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for identifiers that are not slugs; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// let upstream = client.get_upstream("chainguard", "Xy12Ab34Cd56").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_upstream(
        &self,
        repository: &str,
        slug_perm: &str,
    ) -> Result<Option<DockerUpstream>, Error> {
        let path = self.upstream_path(repository, slug_perm)?;
        self.get_opt(&path, "Docker upstream").await
    }

    /// Creates a Docker upstream, checked first: the name ([`UPSTREAM_NAME_RULES`]), the
    /// URL (one of Cloudsmith's two Chainguard URLs, sent without a trailing slash), the
    /// priority (1 to 32767), the modes, the credentials' lengths, and that the
    /// credentials go with the authentication mode (`None` without any, `Username and
    /// Password` with both; `Certificate and Key` is refused, as no certificate is sent).
    ///
    /// A create is never repeated blindly (the API has no idempotency key, and a duplicate
    /// can come back as a bare 500): the HTTP layer sends it again only after a 429 or a
    /// connection never made; one that failed with a 5xx or lost its answer is followed by
    /// a list of the repository's upstreams, and the one of that name is returned if the
    /// create went through; only when there is none is it sent again, within the retry
    /// policy's attempts and budget. A 500 that outlasts the tries while another upstream
    /// of the repository has the same URL names that upstream as a possible cause:
    /// Cloudsmith's Terraform provider reads such a 500 as a duplicate URL (two upstreams
    /// of `https://cgr.dev` are legitimate in a shared repository, so it is not taken for
    /// one at once).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request; the API's refusals (422 naming the
    /// field; [`Error::AlreadyExists`] for a name taken); the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// use cloudsmith_client::DockerUpstreamRequest;
    /// let upstream = client.create_upstream("chainguard", &DockerUpstreamRequest::public("cgr-public")).await?;
    /// println!("{}", upstream.slug_perm);
    /// # Ok(()) }
    /// ```
    pub async fn create_upstream(
        &self,
        repository: &str,
        body: &DockerUpstreamRequest,
    ) -> Result<DockerUpstream, Error> {
        let path = self.upstreams_path(repository)?;
        UPSTREAM_NAME_RULES.check(&body.name)?;
        let mut body = body.clone();
        body.upstream_url = check_upstream_url(&body.upstream_url)?.to_owned();
        check_priority(body.priority)?;
        check_mode(&body.mode)?;
        check_auth(
            &body.auth_mode,
            body.auth_username.as_deref(),
            body.auth_secret
                .as_ref()
                .map(|s| s.expose_secret().chars().count()),
        )?;
        check_auth_fields(
            Some(&body.auth_mode),
            Sent::of(Some(body.auth_username.as_ref())),
            Sent::of(Some(body.auth_secret.as_ref())),
            true,
        )?;
        let mut schedule = self.schedule();
        loop {
            let mut request = self.create_request(&path).json(&body.wire_json());
            if let Some(secret) = &body.auth_secret {
                request = request.sensitive(secret);
            }
            let mut err = match self.send(request).await {
                Ok(answer) => return answer.json("Docker upstream").await,
                Err(err) if may_have_been_processed(&err) => err,
                Err(err) => return Err(err),
            };
            let existing = self.list_upstreams(repository).await?;
            if let Some(created) = existing.iter().find(|u| u.name == body.name) {
                return Ok(created.clone());
            }
            // A 500 may be transient, or (Cloudsmith's Terraform provider assumes) a second
            // upstream of one URL refused; two of https://cgr.dev are legitimate in a
            // shared repository (two organizations'), and Cloudsmith's own example makes
            // two. So it is tried again like any 5xx, and a twin is only named, as a
            // possible cause, when the tries run out.
            let Some(wait) = schedule.next_wait() else {
                let twin = existing
                    .iter()
                    .find(|u| normalized(&u.upstream_url) == body.upstream_url);
                if let (Some(twin), Some(StatusCode::INTERNAL_SERVER_ERROR), Error::Api(api)) =
                    (twin, err.status(), &mut err)
                {
                    api.fix = Some(format!(
                        "repository {repository} already has upstream {:?} of {}; if \
                         Cloudsmith refuses a second upstream of one URL (its Terraform \
                         provider reads a bare 500 so, its own examples make two), use that \
                         upstream, delete it first, or put this one in another repository",
                        twin.name, body.upstream_url
                    ));
                }
                return Err(err);
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Changes the fields `patch` sets (`PATCH .../upstream/docker/{slug_perm}/`), checked
    /// as [`create_upstream`](Self::create_upstream) checks them. Send `auth_secret` only to
    /// rotate it: it is write-only and replaces the stored password.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient, new_token: pull_through_core::SecretString) -> Result<(), pull_through_core::Error> {
    /// use cloudsmith_client::DockerUpstreamPatch;
    /// client.update_upstream("chainguard", "Xy12Ab34Cd56", &DockerUpstreamPatch::default().with_secret(new_token)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_upstream(
        &self,
        repository: &str,
        slug_perm: &str,
        patch: &DockerUpstreamPatch,
    ) -> Result<DockerUpstream, Error> {
        let path = self.upstream_path(repository, slug_perm)?;
        let mut patch = patch.clone();
        if let Some(name) = &patch.name {
            UPSTREAM_NAME_RULES.check(name)?;
        }
        if let Some(url) = &patch.upstream_url {
            patch.upstream_url = Some(check_upstream_url(url)?.to_owned());
        }
        if let Some(priority) = patch.priority {
            check_priority(priority)?;
        }
        if let Some(mode) = &patch.mode {
            check_mode(mode)?;
        }
        check_auth(
            patch.auth_mode.as_ref().unwrap_or(&AuthMode::None),
            patch.auth_username.as_ref().and_then(|u| u.as_deref()),
            patch
                .auth_secret
                .as_ref()
                .and_then(|s| s.as_ref())
                .map(|s| s.expose_secret().chars().count()),
        )?;
        check_auth_fields(
            patch.auth_mode.as_ref(),
            Sent::of(patch.auth_username.as_ref().map(Option::as_ref)),
            Sent::of(patch.auth_secret.as_ref().map(Option::as_ref)),
            false,
        )?;
        // The same fields written twice end the same: safe to retry.
        let mut request = self
            .request(Method::PATCH, &path)
            .idempotent(true)
            .json(&patch.wire_json());
        if let Some(Some(secret)) = &patch.auth_secret {
            request = request.sensitive(secret);
        }
        self.send(request).await?.json("Docker upstream").await
    }

    /// Deletes an upstream (`204`); 404 is [`Deleted::AlreadyAbsent`]. What it cached
    /// stays in the repository as packages.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for identifiers that are not slugs; the core's [`Error`].
    ///
    /// ```no_run
    /// # async fn example(client: &cloudsmith_client::CloudsmithClient) -> Result<(), pull_through_core::Error> {
    /// client.delete_upstream("chainguard", "Xy12Ab34Cd56").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_upstream(
        &self,
        repository: &str,
        slug_perm: &str,
    ) -> Result<Deleted, Error> {
        let path = self.upstream_path(repository, slug_perm)?;
        self.delete_path(&path).await
    }
}
