//! What Artifact Registry supplies to the core's shared reconcile: how a repository is
//! read (with, for a private cache, whether the service agent may read its secret), the
//! settings a spec asks for, and how they are written.
//!
//! [`Repositories`] is private, so its writes are reached only through [`GarBackend`]'s
//! `plan` and `ensure`, which check the spec first.

use async_trait::async_trait;
use pull_through_core::reconcile::{Observed, PasswordWrite, Reconcile, Write};
use pull_through_core::{
    CacheKind, CacheName, CacheSpec, CacheState, Error, FieldChange, FieldValue, NameCase,
    UpstreamCredentials,
};

use crate::backend::GarBackend;
use crate::model::{FORMAT_DOCKER, MODE_REMOTE, MODE_VIRTUAL, Repository, VirtualRepositoryConfig};
use crate::rules::secret_id_for;

/// The URL a remote of cgr.dev is created with, and what equivalent URLs read as.
fn cgr_url() -> String {
    pull_through_core::Upstream::CgrPublic.url().to_string()
}

/// A repository as read, with whether the service agent holds `secretAccessor` on the
/// cache's secret (read only for a private cache's spec whose repository has
/// credentials).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) repository: Repository,
    pub(crate) accessor: Option<bool>,
}

/// The repositories of one backend, as the core's reconcile sees them for one spec.
pub(crate) struct Repositories<'a> {
    pub(crate) backend: &'a GarBackend,
    /// The service agent as an IAM member, when the spec has credentials.
    pub(crate) member: Option<String>,
}

fn credentials(spec: &CacheSpec) -> Option<&UpstreamCredentials> {
    match &spec.kind {
        CacheKind::Remote(remote) => remote.credentials.as_ref(),
        _ => None,
    }
}

/// The description a spec asks for; none (or empty) leaves the repository's alone.
fn description(spec: &CacheSpec) -> Option<String> {
    spec.description.clone().filter(|d| !d.is_empty())
}

/// The create body for a spec.
pub(crate) fn desired_repository(backend: &GarBackend, spec: &CacheSpec) -> Repository {
    match &spec.kind {
        CacheKind::Aggregate(aggregate) => {
            let members: Vec<&str> = aggregate.members.iter().map(CacheName::as_str).collect();
            Repository::virtual_docker(
                backend.client().project(),
                backend.client().location(),
                &members,
                description(spec),
            )
        }
        _ => Repository::remote_docker(description(spec)),
    }
}

impl Repositories<'_> {
    fn client(&self) -> &crate::GarClient {
        self.backend.client()
    }

    /// Writes the spec's credentials (a new version, the grant, the pin), then disables
    /// the versions neither the new pin nor the one it replaced (`before`) refer to:
    /// versions a run that stopped half way added. The version pinned before stays enabled
    /// until a rotation's check pull has passed with the new one (`retire_credentials`,
    /// the core's contract), so that a person can pin it back if the new password fails.
    async fn write_credentials(
        &self,
        spec: &CacheSpec,
        before: Option<&Repository>,
        credentials: &UpstreamCredentials,
        password: &pull_through_core::SecretString,
    ) -> Result<Repository, Error> {
        let id = spec.name.as_str();
        let secret = secret_id_for(id);
        let previous = before
            .and_then(Repository::credentials)
            .filter(|creds| self.client().pinned_secret(creds).as_deref() == Some(&*secret))
            .and_then(|creds| creds.secret())
            .map(|(_, version)| version.to_owned());
        let written = self
            .client()
            .write_upstream_credentials(id, credentials.username(), password)
            .await?;
        self.client()
            .disable_unpinned(id, &written, previous.as_deref())
            .await?;
        Ok(written)
    }
}

#[async_trait]
impl Reconcile for Repositories<'_> {
    type Resource = Found;

    fn vendor(&self) -> &str {
        "gar"
    }

    fn name_case(&self) -> NameCase {
        NameCase::Sensitive
    }

    async fn read(&self, name: &CacheName) -> Result<Option<Found>, Error> {
        let Some(repository) = self.client().get_repository(name.as_str()).await? else {
            return Ok(None);
        };
        let accessor = match (&self.member, repository.credentials()) {
            (Some(_), Some(_)) => Some(
                self.client()
                    .secret_accessor_granted(&secret_id_for(name.as_str()))
                    .await?,
            ),
            _ => None,
        };
        Ok(Some(Found {
            repository,
            accessor,
        }))
    }

    async fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .client()
            .list_repositories()
            .await?
            .iter()
            .filter_map(|r| r.id().map(str::to_owned))
            .collect())
    }

    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        let mut fields = Vec::new();
        match &spec.kind {
            CacheKind::Aggregate(aggregate) => {
                let members: Vec<String> =
                    aggregate.members.iter().map(|m| m.to_string()).collect();
                fields.push(("upstreamPolicies".to_owned(), members.into()));
            }
            _ => fields.push(("commonRepository.uri".to_owned(), cgr_url().into())),
        }
        if let Some(description) = description(spec) {
            fields.push(("description".to_owned(), description.into()));
        }
        if credentials(spec).is_some() {
            fields.push((
                "passwordSecret".to_owned(),
                secret_id_for(spec.name.as_str()).into(),
            ));
            if let Some(member) = &self.member {
                fields.push(("secretAccessor".to_owned(), member.clone().into()));
            }
        }
        fields
    }

    fn create_fields(&self, spec: &CacheSpec) -> Vec<FieldChange> {
        let mode = match &spec.kind {
            CacheKind::Aggregate(_) => MODE_VIRTUAL,
            _ => MODE_REMOTE,
        };
        let mut fields = vec![
            FieldChange::new("format", None, FORMAT_DOCKER.into()),
            FieldChange::new("mode", None, mode.into()),
        ];
        fields.extend(
            self.desired(spec)
                .into_iter()
                .map(|(field, value)| FieldChange::new(field, None, value)),
        );
        if let Some(credentials) = credentials(spec) {
            fields.push(FieldChange::new(
                "username",
                None,
                credentials.username().to_owned().into(),
            ));
            fields.push(FieldChange::new("password", None, FieldValue::Secret));
        }
        fields
    }

    fn observed(&self, spec: &CacheSpec, found: &Found) -> Observed {
        let repository = &found.repository;
        let mut observed = Observed::new();
        if let Some(url) = repository.upstream_uri() {
            // Google may keep or drop the trailing slash; the same upstream is no drift.
            let upstream = spec.upstream().cloned();
            let shown = match upstream {
                Some(upstream) if upstream.matches_url(url) => cgr_url(),
                _ => url.to_owned(),
            };
            observed = observed.with("commonRepository.uri", shown);
        }
        if repository.virtual_repository_config.is_some() {
            observed = observed.with("upstreamPolicies", repository.members());
        }
        observed = observed.with_opt(
            "description",
            repository.description.clone().filter(|d| !d.is_empty()),
        );
        if let Some(creds) = repository.credentials() {
            // By secret id only: Google echoes the project number where the id was sent,
            // and the version changes with every rotation.
            if let Some(secret) = self.client().pinned_secret(creds) {
                observed = observed.with("passwordSecret", secret);
            }
            observed = observed.with_username(creds.username.clone());
        }
        if let (Some(true), Some(member)) = (found.accessor, &self.member) {
            observed = observed.with("secretAccessor", member.clone());
        }
        observed
    }

    fn check_update(&self, spec: &CacheSpec, found: &Found) -> Result<(), Error> {
        let repository = &found.repository;
        let name = spec.name.as_str();
        let format = repository.format.as_deref().unwrap_or("unspecified");
        let mode = repository.mode.as_deref().unwrap_or("STANDARD_REPOSITORY");
        let wanted = match &spec.kind {
            CacheKind::Aggregate(_) => MODE_VIRTUAL,
            _ => MODE_REMOTE,
        };
        let refuse = |what: String| {
            Err(Error::Unsupported {
                vendor: "gar".to_owned(),
                what,
                hint: "Artifact Registry cannot change a repository's format, mode or upstream \
                       in place: delete it (its cache goes with it) and apply again"
                    .to_owned(),
            })
        };
        if format != FORMAT_DOCKER || mode != wanted {
            return refuse(format!(
                "turning {name} ({format} {mode}) into a DOCKER {wanted}"
            ));
        }
        if let (Some(upstream), Some(url)) = (spec.upstream(), repository.upstream_uri()) {
            if !upstream.matches_url(url) {
                return refuse(format!(
                    "changing the upstream of {name} from {url:?} to {}",
                    cgr_url()
                ));
            }
        }
        Ok(())
    }

    async fn create(&self, spec: &CacheSpec) -> Result<Found, Error> {
        let id = spec.name.as_str();
        // Anonymous first, credentials by PATCH after: the create also makes the service
        // agent the grant names (reference §3.3).
        let mut repository = self
            .client()
            .create_repository(id, &desired_repository(self.backend, spec))
            .await?;
        let mut accessor = None;
        if let Some(credentials) = credentials(spec) {
            repository = self
                .write_credentials(spec, None, credentials, credentials.password())
                .await?;
            accessor = Some(true);
        }
        Ok(Found {
            repository,
            accessor,
        })
    }

    async fn update(
        &self,
        spec: &CacheSpec,
        found: &Found,
        write: &Write<'_>,
    ) -> Result<Found, Error> {
        let id = spec.name.as_str();
        let mut mask = Vec::new();
        let mut changes = Repository::default();
        if write.changes("description") {
            mask.push("description");
            changes.description = description(spec);
        }
        if write.changes("upstreamPolicies") {
            if let CacheKind::Aggregate(aggregate) = &spec.kind {
                let members: Vec<&str> = aggregate.members.iter().map(CacheName::as_str).collect();
                mask.push("virtualRepositoryConfig");
                changes.virtual_repository_config = Some(VirtualRepositoryConfig::in_order(
                    self.client().project(),
                    self.client().location(),
                    &members,
                ));
            }
        }
        if !mask.is_empty() {
            self.client().patch_repository(id, &mask, &changes).await?;
        }
        match (write.password, credentials(spec)) {
            (PasswordWrite::Set(password), Some(credentials)) => {
                self.write_credentials(spec, Some(&found.repository), credentials, password)
                    .await?;
            }
            (PasswordWrite::Clear, _) => {
                self.client().clear_upstream_credentials(id).await?;
            }
            // The repository pins a secret this crate does not manage: the spec's password
            // goes into the cache's own secret, or the pin would stay foreign for ever.
            (_, Some(credentials)) if write.changes("passwordSecret") => {
                self.write_credentials(
                    spec,
                    Some(&found.repository),
                    credentials,
                    credentials.password(),
                )
                .await?;
            }
            // Only the grant is missing: repair it, and write nothing else.
            (_, Some(_)) if write.changes("secretAccessor") => {
                self.client().repair_grant(id).await?;
            }
            _ => {}
        }
        Ok(self
            .read(&spec.name)
            .await?
            .unwrap_or_else(|| found.clone()))
    }

    fn state(&self, found: &Found) -> Result<CacheState, Error> {
        self.backend.state_of(&found.repository)
    }
}
