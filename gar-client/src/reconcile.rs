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

use pull_through_core::listing::Listing;

use crate::backend::GarBackend;
use crate::listing::{Listed, forget_listed, listed};
use crate::model::{FORMAT_DOCKER, MODE_REMOTE, MODE_VIRTUAL, Repository, VirtualRepositoryConfig};
use crate::rules::secret_id_for;

/// The plan's field for the secret a private remote's credentials pin: the secret of
/// `remoteRepositoryConfig.upstreamCredentials.usernamePasswordCredentials
/// .passwordSecretVersion`, whatever the version (every rotation changes it) and however
/// Google spells the project; its value is the secret id, or the whole name of another
/// project's secret. Not a field path of Google's (none holds the secret without its
/// version), so it is named after the one it is read from, as `gcloud artifacts
/// repositories describe` shows it.
const PASSWORD_SECRET: &str = "upstreamCredentials.passwordSecret";

/// The plan's field for the grant Artifact Registry needs on that secret: the member
/// `roles/secretmanager.secretAccessor` binds in the secret's IAM policy, as `gcloud
/// secrets get-iam-policy SECRET` lists a binding (role, members) and `gcloud secrets
/// add-iam-policy-binding SECRET --role=... --member=...` adds it. The value is the
/// service agent as an IAM member.
const SECRET_ACCESSOR: &str = "passwordSecret.iamPolicy[roles/secretmanager.secretAccessor]";

/// The URL a remote of cgr.dev is created with, and what equivalent URLs read as.
fn cgr_url() -> String {
    pull_through_core::Upstream::CgrPublic.url().to_string()
}

/// A repository as read, with (only for a private cache's spec whose repository has
/// credentials) whether the service agent holds `secretAccessor` on the cache's secret, and
/// whether the version its credentials pin of that secret can be read.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) repository: Repository,
    pub(crate) accessor: Option<bool>,
    /// The credentials pin the cache's own secret, but that secret or version is gone, or
    /// the version is disabled or destroyed: pulls fail with 403 although the pin's text
    /// looks right.
    pub(crate) pin_broken: bool,
}

/// The repositories of one backend, as the core's reconcile sees them for one spec.
pub(crate) struct Repositories<'a> {
    pub(crate) backend: &'a GarBackend,
    /// The service agent as an IAM member, when the spec has credentials.
    pub(crate) member: Option<String>,
    /// The run's listing, whose repositories are not read again (`listing.rs`).
    pub(crate) listing: Option<&'a Listing>,
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

    /// Drops the listed repository `id` before a write: whatever the write's end, the
    /// listing no longer says what the location holds.
    fn forget(&self, id: &str) {
        if let Some(listing) = self.listing {
            forget_listed(listing, id);
        }
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
            .write_credentials_of(id, credentials.username(), password)
            .await?;
        // A secret made by this write holds only the version just pinned: nothing to
        // retire, so its versions are not listed.
        if !written.new_secret {
            self.client()
                .disable_unpinned(id, &written.repository, previous.as_deref())
                .await?;
        }
        Ok(written.repository)
    }
}

impl Repositories<'_> {
    /// Whether `creds` pin a version of the cache's own secret `secret` that cannot be
    /// read: the secret or the version is missing, or the version is not `ENABLED`. A pin
    /// of another secret is not read here (the plan shows it as another secret).
    async fn pin_broken(
        &self,
        secret: &str,
        creds: &crate::model::UsernamePasswordCredentials,
    ) -> Result<bool, Error> {
        if self.client().pinned_secret(creds).as_deref() != Some(secret) {
            return Ok(false);
        }
        let Some((_, version)) = creds.secret() else {
            return Ok(false);
        };
        if version != "latest" && !crate::rules::is_version_number(version) {
            return Ok(true);
        }
        Ok(!self
            .client()
            .get_secret_version(secret, version)
            .await?
            .is_some_and(|found| found.is_enabled()))
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

    /// The repository (from the run's listing when it holds it, else read), and for a
    /// private spec whose repository pins credentials, the pinned version and the
    /// secret's policy. Those two are read per cache: Secret Manager lists secrets but
    /// neither their versions' states nor their policies (`secrets.list` answers each
    /// secret's name, replication, labels and etag, which says nothing of either), and
    /// without them a disabled version or a removed grant, which break every pull, would
    /// go unseen.
    async fn read(&self, name: &CacheName) -> Result<Option<Found>, Error> {
        let listed = self
            .listing
            .and_then(|listing| listed(listing, name.as_str()));
        let repository = match listed {
            Some(Listed(repository)) => repository,
            None => match self.client().get_repository(name.as_str()).await? {
                Some(repository) => repository,
                None => return Ok(None),
            },
        };
        let (accessor, pin_broken) = match (&self.member, repository.credentials()) {
            (Some(_), Some(creds)) => {
                let secret = secret_id_for(name.as_str());
                let pin_broken = self.pin_broken(&secret, creds).await?;
                let accessor = self.client().secret_accessor_granted(&secret).await?;
                (Some(accessor), pin_broken)
            }
            _ => (None, false),
        };
        Ok(Some(Found {
            repository,
            accessor,
            pin_broken,
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

    /// Every repository of the location (`repositories.list`, whole repositories, 1,000 a
    /// page): whole for a repository without credentials; one with credentials is still
    /// read on its own for a private spec (its secret's version and policy, see
    /// [`read`](Self::read)), so it is named without a resource here.
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<Found>)>>, Error> {
        Ok(Some(
            crate::listing::list(self.client())
                .await?
                .into_iter()
                .map(|(id, repository)| {
                    let whole = repository.credentials().is_none().then_some(Found {
                        repository,
                        accessor: None,
                        pin_broken: false,
                    });
                    (id, whole)
                })
                .collect(),
        ))
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
                PASSWORD_SECRET.to_owned(),
                secret_id_for(spec.name.as_str()).into(),
            ));
            if let Some(member) = &self.member {
                fields.push((SECRET_ACCESSOR.to_owned(), member.clone().into()));
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
            // and the version changes with every rotation. A pin that cannot be read is no
            // pin: the plan shows it, and ensure writes the spec's password again.
            if let Some(secret) = self
                .client()
                .pinned_secret(creds)
                .filter(|_| !found.pin_broken)
            {
                observed = observed.with(PASSWORD_SECRET, secret);
            }
            observed = observed.with_username(creds.username.clone());
        }
        if let (Some(true), Some(member)) = (found.accessor, &self.member) {
            observed = observed.with(SECRET_ACCESSOR, member.clone());
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
        if let Some(upstream) = spec.upstream() {
            match repository.upstream_uri() {
                Some(url) if !upstream.matches_url(url) => {
                    return refuse(format!(
                        "changing the upstream of {name} from {url:?} to {}",
                        cgr_url()
                    ));
                }
                Some(_) => {}
                // No URL at all (`dockerRepository.publicRepository: DOCKER_HUB`, or an
                // upstream of another shape): another upstream, which no PATCH can change
                // (reference §1.7), rather than a field to write for ever.
                None => {
                    let from = repository
                        .remote_repository_config
                        .as_ref()
                        .and_then(|remote| remote.docker_repository.as_ref())
                        .and_then(|docker| docker.public_repository.as_deref())
                        .map_or_else(
                            || "an upstream without a URL".to_owned(),
                            |public| format!("dockerRepository.publicRepository {public}"),
                        );
                    return refuse(format!(
                        "changing the upstream of {name} from {from} to {}",
                        cgr_url()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The repository comes from the create operation's `response`, and with credentials
    /// from the pinning PATCH's answer (each the whole repository): nothing is read back.
    async fn create(&self, spec: &CacheSpec) -> Result<Found, Error> {
        let id = spec.name.as_str();
        self.forget(id);
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
            pin_broken: false,
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
        self.forget(id);
        // Each write answers the whole repository as it left it; the last answer is what
        // the repository holds, so nothing is read back. The grant is known from writing
        // it, and a pin just written is readable (the PATCH's upstream check read it).
        let mut written = found.clone();
        if !mask.is_empty() {
            written.repository = self.client().patch_repository(id, &mask, &changes).await?;
        }
        match (write.password, credentials(spec)) {
            (PasswordWrite::Set(password), Some(credentials)) => {
                written.repository = self
                    .write_credentials(spec, Some(&found.repository), credentials, password)
                    .await?;
                written.accessor = self.member.as_ref().map(|_| true);
                written.pin_broken = false;
            }
            (PasswordWrite::Clear, _) => {
                written.repository = self.client().clear_upstream_credentials(id).await?;
                written.accessor = None;
                written.pin_broken = false;
            }
            // The repository pins a secret this crate does not manage: the spec's password
            // goes into the cache's own secret, or the pin would stay foreign for ever.
            (_, Some(credentials)) if write.changes(PASSWORD_SECRET) => {
                written.repository = self
                    .write_credentials(
                        spec,
                        Some(&found.repository),
                        credentials,
                        credentials.password(),
                    )
                    .await?;
                written.accessor = self.member.as_ref().map(|_| true);
                written.pin_broken = false;
            }
            // Only the grant is missing: repair it, and write nothing else.
            (_, Some(_)) if write.changes(SECRET_ACCESSOR) => {
                self.client().repair_grant(id).await?;
                written.accessor = Some(true);
            }
            _ => {}
        }
        Ok(written)
    }

    fn state(&self, found: &Found) -> Result<CacheState, Error> {
        self.backend.state_of(&found.repository)
    }
}
