//! [`GarBackend`]: the core's [`PullThroughBackend`] for Google Artifact Registry.

use async_trait::async_trait;
use pull_through_core::listing::Listing;
use pull_through_core::pull::docker_pulls;
use pull_through_core::reconcile;
use pull_through_core::{
    AccessItem, CacheKind, CacheName, CacheSpec, CacheState, Capabilities, ClientAccess,
    ClientLogin, Deleted, Diagnosis, Ensured, Error, ExposeSecret, FieldValue, NameCase, OrgName,
    PackageFormat, Plan, Probe, PullThroughBackend, Sensitive, SnippetKind, Support, UpstreamKind,
    Verification,
};

use crate::client::GarClient;
use crate::model::{MODE_REMOTE, MODE_VIRTUAL, Repository};
use crate::reconcile::Repositories;
use crate::rules::{check_repository_id, secret_id_for};

/// Google Artifact Registry as a [`PullThroughBackend`]: remote Docker repositories of
/// `https://cgr.dev/` (public, or authenticated with a pull token whose password is kept
/// in Secret Manager), and virtual Docker repositories over them.
///
/// Plans and ensures compare field by field: the upstream (`commonRepository.uri`), the
/// description, a virtual's members in order (`upstreamPolicies`), and for a private cache
/// the secret its credentials pin (`upstreamCredentials.passwordSecret`: by secret id, not
/// version nor project spelling; a pinned version that is missing, disabled or destroyed
/// counts as no pin, so that ensure writes the password again) and whether the Artifact
/// Registry service agent may read that secret
/// (`passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]`, the member the
/// secret's policy binds to that role), which `ensure` repairs on its own. The password is written on create, username change, rotation and
/// to replace a pin that cannot be read.
///
/// ```no_run
/// use gar_client::{GarBackend, GarClient};
/// use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let backend = GarBackend::new(GarClient::builder().from_env().build()?);
/// let spec = CacheSpec::remote(CacheName::new("chainguard-pull-through")?, Upstream::CgrPublic);
/// println!("{}", backend.plan(&spec).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GarBackend {
    client: GarClient,
    org: Option<OrgName>,
}

impl GarBackend {
    /// A backend over `client`.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// let backend = gar_client::GarBackend::new(client);
    /// ```
    pub fn new(client: GarClient) -> GarBackend {
        GarBackend { client, org: None }
    }

    /// The Chainguard organization whose private images client access names
    /// (`.../REPO/<org>/chainguard-base:latest`); without it the reference says `<org>`.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// let backend = gar_client::GarBackend::new(client).with_org("example.com".parse()?);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_org(mut self, org: OrgName) -> GarBackend {
        self.org = Some(org);
        self
    }

    /// The client.
    ///
    /// ```
    /// # let client = gar_client::GarClient::builder().with_project("my-project").with_location("us").with_access_token("t").build().unwrap();
    /// let backend = gar_client::GarBackend::new(client);
    /// assert_eq!(backend.client().project(), "my-project");
    /// ```
    pub fn client(&self) -> &GarClient {
        &self.client
    }

    /// The reconcile of one spec: a private cache's needs the service agent's name, read
    /// once per client.
    async fn repositories<'a>(
        &'a self,
        spec: &CacheSpec,
        listing: Option<&'a Listing>,
    ) -> Result<Repositories<'a>, Error> {
        let private =
            matches!(&spec.kind, CacheKind::Remote(remote) if remote.credentials.is_some());
        let member = match private {
            true => Some(self.client.service_agent().await?),
            false => None,
        };
        Ok(Repositories {
            backend: self,
            member,
            listing,
        })
    }

    /// The core's view of a repository.
    pub(crate) fn state_of(&self, repository: &Repository) -> Result<CacheState, Error> {
        let id = repository.id().unwrap_or_default();
        let name = CacheName::new(id.to_owned())?;
        let mode = repository.mode.clone().unwrap_or_default();
        let mut state = if mode == MODE_VIRTUAL {
            CacheState::aggregate(
                name,
                PackageFormat::Docker,
                repository
                    .members()
                    .into_iter()
                    .filter_map(|member| CacheName::new(member).ok())
                    .collect(),
            )
        } else {
            let mut state = CacheState::remote(
                name,
                PackageFormat::Docker,
                repository.upstream_uri().unwrap_or_default(),
            );
            if let Some(creds) = repository.credentials().filter(|c| !c.username.is_empty()) {
                state = state.with_username(creds.username.clone());
            }
            state
        };
        if let Some(description) = repository.description.as_ref().filter(|d| !d.is_empty()) {
            state = state.with_description(description.clone());
        }
        if let Some(format) = &repository.format {
            state = state.with_setting("format", format.clone());
        }
        if !mode.is_empty() {
            state = state.with_setting("mode", mode);
        }
        if let Some(creds) = repository.credentials() {
            state = state.with_setting(
                "passwordSecretVersion",
                FieldValue::from(creds.password_secret_version.clone()),
            );
        }
        Ok(state.with_endpoint(self.client.image_prefix(id)))
    }
}

/// Whether the cache is one this backend describes: a Docker remote or virtual.
fn is_cache(repository: &Repository) -> bool {
    repository.format.as_deref() == Some(crate::model::FORMAT_DOCKER)
        && matches!(repository.mode.as_deref(), Some(MODE_REMOTE | MODE_VIRTUAL))
}

#[async_trait]
impl PullThroughBackend for GarBackend {
    fn vendor(&self) -> &str {
        "gar"
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::new("gar", NameCase::Sensitive)
            .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
            .with_upstream(UpstreamKind::CgrPrivate, Support::Supported)
            .with_aggregate(PackageFormat::Docker);
        for kind in UpstreamKind::ALL {
            if kind.format() == PackageFormat::Apk {
                capabilities = capabilities.with_upstream(
                    kind,
                    Support::Unsupported {
                        reason: format!(
                            "GAR has no remote repository type for apk.cgr.dev (nor any APK \
                             repository such as {kind}): front it with Artifactory or \
                             Cloudsmith, or point apk at it directly"
                        ),
                    },
                );
            }
        }
        capabilities
    }

    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        check_repository_id(spec.name.as_str())?;
        if let CacheKind::Aggregate(aggregate) = &spec.kind {
            for member in &aggregate.members {
                check_repository_id(member.as_str())?;
            }
        }
        // What GAR cannot front at all is said first: an APK upstream is refused as
        // unsupported, not for the credentials it would need.
        self.capabilities().check(spec)?;
        spec.validate().map_err(Error::InvalidInput)
    }

    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        reconcile::plan(&self.repositories(spec, None).await?, spec).await
    }

    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        reconcile::ensure(&self.repositories(spec, None).await?, spec).await
    }

    /// One `repositories.list` of the location (see the crate's `listing.rs`): a
    /// repository without credentials is not read again; one with credentials is not
    /// either, though a private spec still reads its secret's pinned version and policy.
    async fn listing(&self) -> Result<Listing, Error> {
        self.list_once().await
    }

    async fn plan_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        let repositories = self.repositories(spec, Some(listing)).await?;
        reconcile::plan_in(&repositories, spec, listing).await
    }

    async fn ensure_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        let repositories = self.repositories(spec, Some(listing)).await?;
        reconcile::ensure_in(&repositories, spec, listing).await
    }

    /// The repository as listed or described before in the run, else read (and kept, so
    /// that the `ensure_in` that follows does not read it again).
    async fn describe_in(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        self.describe_known(name, listing).await
    }

    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        match self.client.get_repository(name.as_str()).await? {
            Some(repository) => Ok(Some(self.state_of(&repository)?)),
            None => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        self.client
            .list_repositories()
            .await?
            .iter()
            .filter(|repository| is_cache(repository))
            .map(|repository| self.state_of(repository))
            .collect()
    }

    /// Deletes the repository, then the cache's secret (`pull-through-REPO`) when the
    /// repository had upstream credentials or was not there at all: a run that died between
    /// the two deletes left the secret behind, and the run after it finds no repository to
    /// tell whether it had credentials. A missing secret, or Secret Manager disabled in the
    /// project (403 `SERVICE_DISABLED`: a project of public caches need not enable it), is
    /// nothing to delete. A public cache that is there is deleted without touching Secret
    /// Manager.
    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        check_repository_id(name.as_str())?;
        let had_credentials = self
            .client
            .get_repository(name.as_str())
            .await?
            .map(|repository| repository.credentials().is_some());
        let deleted = self.client.delete_repository(name.as_str()).await?;
        if had_credentials != Some(false) {
            match self
                .client
                .delete_secret(&secret_id_for(name.as_str()))
                .await
            {
                Ok(_) => {}
                Err(err) if crate::error::is_service_disabled(&err) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(deleted)
    }

    fn client_access(
        &self,
        state: &CacheState,
        login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        let host = self.client.docker_host();
        let snippet = |title: &str, text: String| AccessItem::Snippet {
            kind: SnippetKind::Shell,
            title: title.to_owned(),
            text: Sensitive::new(text.clone(), text),
        };
        let mut access = ClientAccess::new(state.name.clone())
            .with(snippet(
                "let Docker use gcloud's credentials for the registry",
                format!("gcloud auth configure-docker {host}"),
            ))
            .with(snippet(
                "or write the same into ~/.docker/config.json",
                format!("{{\"credHelpers\":{{\"{host}\":\"gcloud\"}}}}"),
            ))
            .with(snippet(
                "or log in with an access token (it lasts about an hour)",
                format!(
                    "gcloud auth print-access-token | docker login -u oauth2accesstoken \
                     --password-stdin https://{host}"
                ),
            ));
        if let Some(login) = login.filter(|l| !l.password.expose_secret().is_empty()) {
            // Google's documented form, the token on standard input rather than in docker's
            // argv (the core's DockerLogin item has no such form), at the registry's own URL.
            // Google takes an access token only with this username, whatever the login's.
            // `echo` is a shell builtin: with the token itself, it is in no process's argv.
            let registry = format!("{}://{host}", self.client.inner().docker_url.scheme());
            let line = |password: &str| {
                format!(
                    "echo {password} | docker login -u oauth2accesstoken --password-stdin \
                     {registry}"
                )
            };
            let token = login.password.expose_secret();
            access = access.with(AccessItem::Snippet {
                kind: SnippetKind::Shell,
                title: format!("or log in with the access token in {}", login.password_var),
                text: Sensitive::new(
                    line(&login.password_reference()),
                    line(&format!("'{}'", token.replace('\'', r"'\''"))),
                ),
            });
        }
        for pull in docker_pulls(
            &self.client.image_prefix(state.name.as_str()),
            state,
            self.org.as_ref(),
        ) {
            access = access.with(pull);
        }
        Ok(access)
    }

    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        let mut verification = Verification::new(state.name.clone());
        if let Probe::DockerManifest { image, reference } = probe {
            verification.push(
                crate::diagnose::pull_manifest(&self.client, state, probe, image, reference).await,
            );
        }
        Ok(verification)
    }

    /// One authenticated read: the first repository of the location.
    async fn check_access(&self) -> Result<(), Error> {
        self.client.probe_access().await
    }

    /// Deletes the package `probe` pulls (`chainguard/go`) from the repository.
    async fn forget(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        match probe {
            Probe::DockerManifest { image, .. } => {
                self.client.delete_package(name.as_str(), image).await
            }
            _ => Ok(Deleted::AlreadyAbsent),
        }
    }

    /// Disables the versions of the cache's secret that its credentials no longer pin
    /// ([`GarClient::disable_old_versions`]); a rotation calls it once a pull with the new
    /// password has passed.
    async fn retire_credentials(&self, name: &CacheName) -> Result<Vec<String>, Error> {
        check_repository_id(name.as_str())?;
        self.client.disable_old_versions(name.as_str()).await
    }

    /// The tutorial's debugging checks and the IAM grant it leaves out.
    async fn diagnose(&self, name: &CacheName) -> Result<Vec<Diagnosis>, Error> {
        crate::diagnose::diagnose(&self.client, name.as_str()).await
    }
}
