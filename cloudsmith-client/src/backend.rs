//! [`CloudsmithBackend`]: the core's [`PullThroughBackend`] for Cloudsmith.

use async_trait::async_trait;
use pull_through_core::error::ApiError;
use pull_through_core::listing::Listing;
use pull_through_core::reconcile;
use pull_through_core::{
    CacheKind, CacheName, CacheSpec, CacheState, Capabilities, ClientAccess, ClientLogin, Deleted,
    Diagnosis, Ensured, Error, FieldValue, NameCase, OrgName, PackageFormat, Plan, Probe,
    PullThroughBackend, Support, Upstream, UpstreamKind, ValidationError, Verification,
};

use crate::client::CloudsmithClient;
use crate::layout::Layout;
use crate::model::DEFAULT_STORAGE_REGION;
use crate::order::{Order, Ordered, in_resolution_order};
use crate::reconcile::{Located, Upstreams, is_chainguard_url};
use crate::rules::{
    APK_UNPROVEN, REPOSITORY_SLUG_RULES, UPSTREAM_NAME_RULES, check_storage_region,
};

/// Cloudsmith as a [`PullThroughBackend`]: Chainguard's registry through Docker upstreams
/// of private repositories, laid out as [`Layout`] says (see the crate documentation for
/// why caches map this way).
///
/// Plans and ensures compare field by field with what the API answers. The upstream's
/// `auth_secret` cannot be read back, so it is written on create, on a username change and
/// on rotation, never on every run.
///
/// ```no_run
/// use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
/// use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream};
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = CloudsmithBackend::new(CloudsmithClient::builder().from_env().build()?)
///     .with_layout(Layout::shared("chainguard")?);
/// let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
/// println!("{}", backend.plan(&spec).await?);
/// backend.ensure(&spec).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CloudsmithBackend {
    client: CloudsmithClient,
    layout: Layout,
    org: Option<OrgName>,
    storage_region: String,
}

impl CloudsmithBackend {
    /// A backend over `client`, each cache in a repository of its own.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// let backend = cloudsmith_client::CloudsmithBackend::new(client);
    /// ```
    pub fn new(client: CloudsmithClient) -> CloudsmithBackend {
        CloudsmithBackend {
            client,
            layout: Layout::OwnRepository,
            org: None,
            storage_region: DEFAULT_STORAGE_REGION.to_owned(),
        }
    }

    /// Which repository holds each cache.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// use cloudsmith_client::{CloudsmithBackend, Layout};
    /// let backend = CloudsmithBackend::new(client).with_layout(Layout::shared("chainguard")?);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_layout(mut self, layout: Layout) -> CloudsmithBackend {
        self.layout = layout;
        self
    }

    /// The Chainguard organization whose private images client access names
    /// (`docker.cloudsmith.io/OWNER/REPO/<org>/...`); without it the reference says `<org>`.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// let backend = cloudsmith_client::CloudsmithBackend::new(client).with_org("example.com".parse()?);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_org(mut self, org: OrgName) -> CloudsmithBackend {
        self.org = Some(org);
        self
    }

    /// The storage region repositories are created in (`default` unless set).
    ///
    /// # Errors
    ///
    /// [`ValidationError::InvalidValue`] for a value not shaped like a region slug.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// let backend = cloudsmith_client::CloudsmithBackend::new(client).with_storage_region("de-frankfurt")?;
    /// assert_eq!(backend.storage_region(), "de-frankfurt");
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_storage_region(
        mut self,
        region: impl Into<String>,
    ) -> Result<CloudsmithBackend, ValidationError> {
        let region = region.into();
        check_storage_region(&region)?;
        self.storage_region = region;
        Ok(self)
    }

    /// The client.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// let backend = cloudsmith_client::CloudsmithBackend::new(client);
    /// assert_eq!(backend.client().owner(), "acme");
    /// ```
    pub fn client(&self) -> &CloudsmithClient {
        &self.client
    }

    /// The layout.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// let backend = cloudsmith_client::CloudsmithBackend::new(client);
    /// assert_eq!(backend.layout(), &cloudsmith_client::Layout::OwnRepository);
    /// ```
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The storage region repositories are created in.
    ///
    /// ```
    /// # let client = cloudsmith_client::CloudsmithClient::builder().with_owner("acme").with_api_key("k").build().unwrap();
    /// assert_eq!(cloudsmith_client::CloudsmithBackend::new(client).storage_region(), "default");
    /// ```
    pub fn storage_region(&self) -> &str {
        &self.storage_region
    }

    pub(crate) fn org(&self) -> Option<&OrgName> {
        self.org.as_ref()
    }

    /// Whether `name` is the shared layout's aggregate (the shared repository).
    pub(crate) fn is_shared_repository(&self, name: &str) -> bool {
        self.layout.shared_repository() == Some(name)
    }

    /// The priority an upstream is created with: 1 in a repository of its own; in the
    /// shared repository public images first (1, as the seed gives them) and an
    /// organization's after (2), until an aggregate orders them.
    pub(crate) fn default_priority(&self, upstream: &Upstream) -> i64 {
        match (&self.layout, upstream) {
            (Layout::Shared { .. }, Upstream::CgrPrivate { .. }) => 2,
            _ => 1,
        }
    }

    /// The upstream of cache `name`: in its own repository the one named after it, or the
    /// repository's only upstream of a Chainguard URL (set up by hand, before this crate
    /// managed it; a plan shows it renamed); in the shared repository the one named after it.
    pub(crate) async fn locate(&self, name: &CacheName) -> Result<Option<Located>, Error> {
        let slug = self.layout.repository_of(name.as_str());
        let Some(repository) = self.client.get_repository(slug).await? else {
            return Ok(None);
        };
        let upstreams = self.client.list_upstreams(slug).await?;
        Ok(self.pick(name.as_str(), upstreams).map(|upstream| Located {
            repository,
            upstream,
        }))
    }

    pub(crate) fn pick(
        &self,
        name: &str,
        upstreams: Vec<crate::model::DockerUpstream>,
    ) -> Option<crate::model::DockerUpstream> {
        if let Some(found) = upstreams.iter().find(|u| u.name == name) {
            return Some(found.clone());
        }
        if !matches!(self.layout, Layout::OwnRepository) {
            return None;
        }
        let mut adoptable = upstreams
            .into_iter()
            .filter(|u| is_chainguard_url(&u.upstream_url));
        match (adoptable.next(), adoptable.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// The shared layout's aggregate: the shared repository with its upstreams in
    /// resolution order, when the repository carries the aggregate's marker (one read
    /// when it does not).
    pub(crate) async fn aggregate(&self, slug: &str) -> Result<Option<Ordered>, Error> {
        let Some(repository) = self.client.get_repository(slug).await? else {
            return Ok(None);
        };
        if !crate::marker::read(repository.description.as_deref()).marked {
            return Ok(None);
        }
        let upstreams = in_resolution_order(self.client.list_upstreams(slug).await?);
        Ok(Some(Ordered {
            repository,
            upstreams,
        }))
    }

    /// The shared repository with its upstreams in resolution order, aggregate or not.
    pub(crate) async fn ordered(&self, slug: &str) -> Result<Option<Ordered>, Error> {
        let Some(repository) = self.client.get_repository(slug).await? else {
            return Ok(None);
        };
        let upstreams = in_resolution_order(self.client.list_upstreams(slug).await?);
        Ok(Some(Ordered {
            repository,
            upstreams,
        }))
    }

    /// `docker.cloudsmith.io/OWNER/REPO`.
    pub(crate) fn registry_of(&self, repository: &str) -> String {
        format!(
            "{}/{}/{repository}",
            self.client.docker_host(),
            self.client.owner()
        )
    }

    pub(crate) fn remote_state(&self, located: &Located) -> Result<CacheState, Error> {
        let upstream = &located.upstream;
        let name = match &self.layout {
            // Adopted upstreams keep their own name until a write renames them.
            Layout::OwnRepository => CacheName::new(located.repository.slug.clone())?,
            Layout::Shared { .. } => CacheName::new(upstream.name.clone())?,
        };
        let mut state =
            CacheState::remote(name, PackageFormat::Docker, upstream.upstream_url.clone())
                .with_endpoint(self.registry_of(&located.repository.slug))
                .with_setting("repository", located.repository.slug.clone());
        if let Some(username) = upstream.auth_username.as_ref().filter(|u| !u.is_empty()) {
            state = state.with_username(username.clone());
        }
        if let (Layout::OwnRepository, Some(description)) =
            (&self.layout, located.repository.description.as_ref())
        {
            if !description.is_empty() {
                state = state.with_description(description.clone());
            }
        }
        let settings: [(&str, Option<FieldValue>); 5] = [
            ("mode", upstream.mode.as_ref().map(|m| m.as_str().into())),
            ("priority", upstream.priority.map(Into::into)),
            ("verify_ssl", upstream.verify_ssl.map(Into::into)),
            (
                "auth_mode",
                upstream.auth_mode.as_ref().map(|m| m.as_str().into()),
            ),
            ("is_active", upstream.is_active.map(Into::into)),
        ];
        for (field, value) in settings {
            if let Some(value) = value {
                state = state.with_setting(field, value);
            }
        }
        Ok(state)
    }

    pub(crate) fn aggregate_state(&self, ordered: &Ordered) -> Result<CacheState, Error> {
        let members = ordered
            .upstreams
            .iter()
            .filter_map(|u| CacheName::new(u.name.clone()).ok())
            .collect();
        let mut state = CacheState::aggregate(
            CacheName::new(ordered.repository.slug.clone())?,
            PackageFormat::Docker,
            members,
        )
        .with_endpoint(self.registry_of(&ordered.repository.slug))
        .with_setting("repository", ordered.repository.slug.clone())
        .with_setting(
            "upstream_url",
            ordered
                .upstreams
                .iter()
                .map(|u| u.upstream_url.clone())
                .collect::<Vec<_>>(),
        );
        if let Some(description) = ordered.description() {
            state = state.with_description(description);
        }
        Ok(state)
    }

    fn check_names(&self, spec: &CacheSpec) -> Result<(), Error> {
        self.layout.check()?;
        let name = spec.name.as_str();
        match (&self.layout, &spec.kind) {
            (Layout::OwnRepository, CacheKind::Remote(_)) => {
                REPOSITORY_SLUG_RULES.check(name)?;
                UPSTREAM_NAME_RULES.check(name)?;
            }
            (Layout::OwnRepository, CacheKind::Aggregate(_)) => {
                return Err(Error::Unsupported {
                    vendor: "cloudsmith".to_owned(),
                    what: format!(
                        "the aggregate {name} with each cache in a repository of its own"
                    ),
                    hint: "Cloudsmith has no virtual repositories: one repository holding \
                           several upstreams is the aggregate. Set the backend's repository \
                           (every cache becomes an upstream of it) and name the aggregate \
                           after it"
                        .to_owned(),
                });
            }
            (Layout::Shared { repository }, CacheKind::Remote(_)) => {
                UPSTREAM_NAME_RULES.check(name)?;
                if name == repository {
                    return Err(Error::InvalidInput(ValidationError::InvalidValue {
                        field: "name".to_owned(),
                        problem: format!(
                            "{name} is the shared repository, which only an aggregate may be \
                             named after; give the upstream another name"
                        ),
                    }));
                }
            }
            (Layout::Shared { repository }, CacheKind::Aggregate(aggregate)) => {
                if name != repository {
                    return Err(Error::InvalidInput(ValidationError::InvalidValue {
                        field: "name".to_owned(),
                        problem: format!(
                            "an aggregate on this backend is the repository its members are \
                             upstreams of, {repository}; name it {repository}"
                        ),
                    }));
                }
                if aggregate.members.len() > 32767 {
                    return Err(Error::InvalidInput(ValidationError::InvalidMembers {
                        cache: name.to_owned(),
                        problem: "more than 32767 members: priorities stop at 32767".to_owned(),
                    }));
                }
                for member in &aggregate.members {
                    UPSTREAM_NAME_RULES.check(member.as_str())?;
                }
            }
            (_, _) => {}
        }
        Ok(())
    }
}

#[async_trait]
impl PullThroughBackend for CloudsmithBackend {
    fn vendor(&self) -> &str {
        "cloudsmith"
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::new("cloudsmith", NameCase::Sensitive);
        for kind in UpstreamKind::ALL {
            let support = match kind {
                UpstreamKind::CgrPublic | UpstreamKind::CgrPrivate => Support::Supported,
                _ => Support::Unsupported {
                    reason: APK_UNPROVEN.to_owned(),
                },
            };
            capabilities = capabilities.with_upstream(kind, support);
        }
        if matches!(self.layout, Layout::Shared { .. }) {
            capabilities = capabilities.with_aggregate(PackageFormat::Docker);
        }
        capabilities
    }

    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        // Unsupported first: an APK cache is refused for what it is, whatever its name.
        if spec.upstream().is_some() {
            self.capabilities().check(spec)?;
        }
        self.check_names(spec)?;
        spec.validate()?;
        self.capabilities().check(spec)
    }

    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.plan_in(spec, &Listing::unknown()).await
    }

    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        self.ensure_in(spec, &Listing::unknown()).await
    }

    /// One listing of the backend's caches (the shared repository and its upstreams, or
    /// every repository of the workspace), with what the run learns of the repositories
    /// as it writes them: see the crate's `listing.rs`.
    async fn listing(&self) -> Result<Listing, Error> {
        self.list_once().await
    }

    async fn plan_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        match &spec.kind {
            CacheKind::Aggregate(_) => {
                reconcile::plan_in(&Order(self, Some(listing)), spec, listing).await
            }
            _ => {
                let plan =
                    reconcile::plan_in(&Upstreams(self, Some(listing)), spec, listing).await?;
                Ok(match (&self.layout, &spec.description) {
                    (Layout::Shared { repository }, Some(_)) => plan.with_note(format!(
                        "the description is not stored: an upstream has none, and repository \
                         {repository}'s is its aggregate's"
                    )),
                    _ => plan,
                })
            }
        }
    }

    async fn ensure_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        match &spec.kind {
            CacheKind::Aggregate(_) => {
                reconcile::ensure_in(&Order(self, Some(listing)), spec, listing).await
            }
            _ => reconcile::ensure_in(&Upstreams(self, Some(listing)), spec, listing).await,
        }
    }

    async fn describe_in(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        self.describe_known(name, listing).await
    }

    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        if self.is_shared_repository(name.as_str()) {
            return match self.aggregate(name.as_str()).await? {
                Some(ordered) => self.aggregate_state(&ordered).map(Some),
                None => Ok(None),
            };
        }
        if crate::rules::IDENTIFIER_RULES
            .check(self.layout.repository_of(name.as_str()))
            .is_err()
        {
            // No repository can have that slug.
            return Ok(None);
        }
        match self.locate(name).await? {
            Some(located) => self.remote_state(&located).map(Some),
            None => Ok(None),
        }
    }

    /// The caches this backend made. In a repository of its own, a cache is a repository
    /// holding a Docker upstream named after it, of one of the two Chainguard URLs;
    /// repositories a person set up otherwise are not claimed (`describe` still finds
    /// one whose only Chainguard upstream has another name, so that `ensure` takes it
    /// over). In the shared repository, every upstream, and the aggregate while its
    /// marker is there.
    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        let mut states = Vec::new();
        match &self.layout {
            Layout::OwnRepository => {
                for repository in self.client.list_repositories().await? {
                    if CacheName::new(repository.slug.clone()).is_err() {
                        continue;
                    }
                    // Only what ensure makes: an upstream named after its repository, of a
                    // Chainguard URL. A repository set up by hand (its one Chainguard
                    // upstream under another name) is described when asked for by name,
                    // so that ensure can take it over, but it is not claimed here.
                    let upstreams = self.client.list_upstreams(&repository.slug).await?;
                    let made = upstreams
                        .into_iter()
                        .find(|u| u.name == repository.slug && is_chainguard_url(&u.upstream_url));
                    if let Some(upstream) = made {
                        states.push(self.remote_state(&Located {
                            repository,
                            upstream,
                        })?);
                    }
                }
            }
            Layout::Shared { repository } => {
                if let Some(ordered) = self.ordered(repository).await? {
                    for upstream in &ordered.upstreams {
                        if upstream.name == *repository
                            || CacheName::new(upstream.name.clone()).is_err()
                        {
                            continue;
                        }
                        states.push(self.remote_state(&Located {
                            repository: ordered.repository.clone(),
                            upstream: upstream.clone(),
                        })?);
                    }
                    if ordered.has_aggregate() {
                        states.push(self.aggregate_state(&ordered)?);
                    }
                }
            }
        }
        Ok(states)
    }

    /// Deletes the cache's upstream, then its repository when nothing else keeps it: in
    /// a repository of its own, no other upstream; in the shared repository, no other
    /// upstream and no aggregate. A repository that is kept is named in a warning with
    /// what it holds. The shared layout's aggregate is its marker in the shared
    /// repository's description: deleting it removes the marker (and with it the claim on
    /// the upstreams' order), never an upstream, and the repository too when it then
    /// holds nothing.
    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        self.layout.check()?;
        if self.is_shared_repository(name.as_str()) {
            return self.delete_aggregate(name).await;
        }
        if crate::rules::IDENTIFIER_RULES
            .check(self.layout.repository_of(name.as_str()))
            .is_err()
        {
            return Ok(Deleted::AlreadyAbsent);
        }
        self.delete_remote(name).await
    }

    fn client_access(
        &self,
        state: &CacheState,
        login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        Ok(self.access(state, login))
    }

    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        self.pull(state, probe).await
    }

    /// `GET /user/self/`, which must say `authenticated: true`; a refusal names the key's
    /// variable.
    async fn check_access(&self) -> Result<(), Error> {
        self.client.check_key().await.map(drop)
    }

    /// Deletes the cached image `probe` names (its Docker packages) from the cache's
    /// repository.
    async fn forget(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        let Probe::DockerManifest { image, .. } = probe else {
            return Ok(Deleted::AlreadyAbsent);
        };
        let Some(state) = self.describe(name).await? else {
            return Ok(Deleted::AlreadyAbsent);
        };
        let repository = self.layout.repository_of(name.as_str()).to_owned();
        let image = crate::access::image_path(&state, image);
        self.client.forget_image(&repository, &image).await
    }

    /// Whether an upstream URL is the one this backend gives `upstream`:
    /// `https://cgr.dev/chainguard` for Chainguard's public images, `https://cgr.dev` for
    /// an organization's (one trailing `/` aside, the scheme and host in any case). The
    /// catalogue's URL for public images is `https://cgr.dev/`, which Cloudsmith reaches
    /// only with the `chainguard/` namespace in every pull; a public upstream of that URL
    /// is not the cache a config describes here, so `destroy` leaves it. Every
    /// organization's cache fronts the same `https://cgr.dev` (the organization is in the
    /// pull token, not the URL). APK upstreams front nothing here: they are unsupported.
    fn fronts(&self, upstream: &Upstream, upstream_url: &str) -> bool {
        crate::rules::upstream_url_for(upstream)
            .is_ok_and(|expected| crate::reconcile::same_url(expected, upstream_url))
    }

    /// The seed's rules for each upstream of the cache ([`crate::upstream_problems`]).
    async fn diagnose(&self, name: &CacheName) -> Result<Vec<Diagnosis>, Error> {
        let upstreams = if self.is_shared_repository(name.as_str()) {
            self.aggregate(name.as_str()).await?.map(|o| o.upstreams)
        } else {
            self.locate(name).await?.map(|l| vec![l.upstream])
        };
        let Some(upstreams) = upstreams else {
            // Found absent by reading, not refused as input: the vendor's NotFound.
            let repository = self.layout.repository_of(name.as_str());
            return Err(Error::NotFound(Box::new(ApiError::new(
                "cloudsmith",
                http::Method::GET,
                self.client
                    .url_of(&format!("repos/{}/{repository}/", self.client.owner())),
                http::StatusCode::NOT_FOUND,
                format!(
                    "there is no cache {name} on this Cloudsmith backend (repository \
                     {repository} or its upstream {name} does not exist)"
                ),
            ))));
        };
        Ok(upstreams
            .iter()
            .flat_map(|upstream| {
                crate::check::upstream_problems(upstream)
                    .into_iter()
                    .map(move |problem| problem.diagnosis(&upstream.name))
            })
            .collect())
    }
}
