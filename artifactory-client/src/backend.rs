//! [`ArtifactoryBackend`]: the core's [`PullThroughBackend`] for Artifactory.

use apk_repo::access::apk_access;
use apk_repo::probe::check_repository;
use apk_repo::repo_url::RepoUrl;
use async_trait::async_trait;
use pull_through_core::listing::Listing;
use pull_through_core::pull::{docker_pulls, manifest_check};
use pull_through_core::reconcile;
use pull_through_core::{
    AccessItem, CacheName, CacheRole, CacheSpec, CacheState, Capabilities, ClientAccess,
    ClientLogin, Deleted, Diagnosis, Ensured, Error, ExposeSecret, FieldValue, NameCase, OrgName,
    PackageFormat, Plan, Probe, PullThroughBackend, Sensitive, Support, UpstreamKind, Verification,
};

use crate::client::ArtifactoryClient;
use crate::model::RepositoryConfig;
use crate::reconcile::Repositories;
use crate::rules::{KEY_RULES, check_new_key};

/// Artifactory as a [`PullThroughBackend`]: remote Docker and Alpine repositories for
/// Chainguard's upstreams, Docker and Generic virtuals for aggregates.
///
/// Plans and ensures compare field by field with what the server returns, ignoring its
/// noise (the ` (local file cache)` description suffix, letter case of types, fields it
/// fills itself). The upstream password cannot be compared (the server returns it
/// encrypted), so it is written when a repository is created, when the username changes,
/// and when the spec asks for a rotation; never on every run.
///
/// ```no_run
/// use artifactory_client::{ArtifactoryBackend, ArtifactoryClient};
/// use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream};
/// # async fn example() -> Result<(), pull_through_core::Error> {
/// let backend = ArtifactoryBackend::new(ArtifactoryClient::builder().from_env().build()?);
/// let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
/// println!("{}", backend.plan(&spec).await?);
/// backend.ensure(&spec).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ArtifactoryBackend {
    client: ArtifactoryClient,
    org: Option<OrgName>,
    docker_method: DockerAccessMethod,
}

/// How Docker clients address a repository (JFrog's "Docker access method").
///
/// ```
/// use artifactory_client::DockerAccessMethod;
/// assert_eq!(DockerAccessMethod::default(), DockerAccessMethod::RepositoryPath);
/// assert_eq!(DockerAccessMethod::Subdomain.registry("acme.jfrog.io", "cgr-public"), "acme-cgr-public.jfrog.io");
/// assert_eq!(DockerAccessMethod::Subdomain.registry("art.acme.com", "cgr-public"), "cgr-public.art.acme.com");
/// assert_eq!(DockerAccessMethod::RepositoryPath.registry("acme.jfrog.io", "cgr-public"), "acme.jfrog.io/cgr-public");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DockerAccessMethod {
    /// `<host>/<key>/chainguard/go`: the tutorials' method, no DNS or proxy setup needed.
    #[default]
    RepositoryPath,
    /// `<instance>-<key>.jfrog.io/chainguard/go` on SaaS, `<key>.<host>/chainguard/go`
    /// self-managed (needs a wildcard DNS entry and certificate).
    Subdomain,
}

impl DockerAccessMethod {
    /// The registry prefix images are pulled under (what follows is the path on cgr.dev).
    ///
    /// ```
    /// # use artifactory_client::DockerAccessMethod;
    /// assert_eq!(DockerAccessMethod::RepositoryPath.registry("h", "k"), "h/k");
    /// ```
    pub fn registry(self, host: &str, key: &str) -> String {
        match self {
            DockerAccessMethod::RepositoryPath => format!("{host}/{key}"),
            DockerAccessMethod::Subdomain => match host.strip_suffix(".jfrog.io") {
                Some(instance) => format!("{instance}-{key}.jfrog.io"),
                None => format!("{key}.{host}"),
            },
        }
    }

    /// The host `docker login` names.
    fn login_host(self, host: &str, key: &str) -> String {
        match self {
            DockerAccessMethod::RepositoryPath => host.to_owned(),
            DockerAccessMethod::Subdomain => self.registry(host, key),
        }
    }
}

impl ArtifactoryBackend {
    /// A backend over `client`.
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://h").with_access_token("t").build().unwrap();
    /// let backend = artifactory_client::ArtifactoryBackend::new(client);
    /// ```
    pub fn new(client: ArtifactoryClient) -> ArtifactoryBackend {
        ArtifactoryBackend {
            client,
            org: None,
            docker_method: DockerAccessMethod::default(),
        }
    }

    /// The Chainguard organization whose private images client access names
    /// (`<host>/<key>/<org>/chainguard-base:latest`); without it the reference says `<org>`.
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://h").with_access_token("t").build().unwrap();
    /// let backend = artifactory_client::ArtifactoryBackend::new(client).with_org("example.com".parse()?);
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn with_org(mut self, org: OrgName) -> ArtifactoryBackend {
        self.org = Some(org);
        self
    }

    /// How client access addresses Docker repositories (the repository-path method unless
    /// set).
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://h").with_access_token("t").build().unwrap();
    /// use artifactory_client::{ArtifactoryBackend, DockerAccessMethod};
    /// let backend = ArtifactoryBackend::new(client).with_docker_method(DockerAccessMethod::Subdomain);
    /// ```
    pub fn with_docker_method(mut self, method: DockerAccessMethod) -> ArtifactoryBackend {
        self.docker_method = method;
        self
    }

    /// The client.
    ///
    /// ```
    /// # let client = artifactory_client::ArtifactoryClient::builder().with_url("https://h").with_access_token("t").build().unwrap();
    /// let backend = artifactory_client::ArtifactoryBackend::new(client);
    /// assert_eq!(backend.client().host(), "h");
    /// ```
    pub fn client(&self) -> &ArtifactoryClient {
        &self.client
    }

    /// The core's view of a repository, with the address clients use.
    pub(crate) fn state_of(&self, config: &RepositoryConfig) -> Result<CacheState, Error> {
        let name = CacheName::new(config.key.clone())?;
        let format = match config.package_type.to_ascii_lowercase().as_str() {
            "docker" => PackageFormat::Docker,
            _ => PackageFormat::Apk,
        };
        let mut state = match config.rclass.to_ascii_lowercase().as_str() {
            "virtual" => CacheState::aggregate(
                name,
                format,
                config
                    .repositories
                    .iter()
                    .flatten()
                    .filter_map(|m| CacheName::new(m.clone()).ok())
                    .collect(),
            ),
            _ => {
                let mut state =
                    CacheState::remote(name, format, config.url.clone().unwrap_or_default());
                if let Some(user) = config.username.as_ref().filter(|u| !u.is_empty()) {
                    state = state.with_username(user.clone());
                }
                state
            }
        };
        if let Some(description) = config.clean_description() {
            state = state.with_description(description);
        }
        let settings = [
            (
                "packageType",
                Some(FieldValue::from(config.package_type.to_ascii_lowercase())),
            ),
            (
                "includesPattern",
                config.includes_pattern.clone().map(Into::into),
            ),
            (
                "enableTokenAuthentication",
                config.enable_token_authentication.map(Into::into),
            ),
            (
                "blockMismatchingMimeTypes",
                config.block_mismatching_mime_types.map(Into::into),
            ),
            (
                "disableUrlNormalization",
                config.disable_url_normalization.map(Into::into),
            ),
        ];
        for (field, value) in settings {
            if let Some(value) = value {
                state = state.with_setting(field, value);
            }
        }
        Ok(state.with_endpoint(self.endpoint(config)))
    }

    fn endpoint(&self, config: &RepositoryConfig) -> String {
        match config.package_type.to_ascii_lowercase().as_str() {
            "docker" => format!("{}/{}", self.client.host(), config.key),
            _ => format!("{}/{}/", self.client.repositories_url(), config.key),
        }
    }
}

#[async_trait]
impl PullThroughBackend for ArtifactoryBackend {
    fn vendor(&self) -> &str {
        "artifactory"
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::new("artifactory", NameCase::Insensitive)
            .with_aggregate(PackageFormat::Docker)
            .with_aggregate(PackageFormat::Apk);
        for kind in UpstreamKind::ALL {
            capabilities = capabilities.with_upstream(kind, Support::Supported);
        }
        capabilities
    }

    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        // The rules of a key Artifactory will create for this class and type: a spec whose
        // key the server would refuse is refused here, before any request.
        let desired = crate::reconcile::desired_config(spec);
        check_new_key(spec.name.as_str(), &desired.rclass, &desired.package_type)?;
        spec.validate()?;
        self.capabilities().check(spec)
    }

    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        reconcile::plan(&Repositories(self), spec).await
    }

    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        reconcile::ensure(&Repositories(self), spec).await
    }

    async fn listing(&self) -> Result<Listing, Error> {
        reconcile::listing(&Repositories(self)).await
    }

    async fn plan_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        reconcile::plan_in(&Repositories(self), spec, listing).await
    }

    async fn ensure_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Ensured, Error> {
        self.check_spec(spec)?;
        reconcile::ensure_in(&Repositories(self), spec, listing).await
    }

    async fn describe_in(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        reconcile::describe_in(&Repositories(self), name, listing).await
    }

    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        match self.client.get_repository(name.as_str()).await? {
            Some(config) => Ok(Some(self.state_of(&config)?)),
            None => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        let mut states = Vec::new();
        for summary in self.client.list_repositories(None, None).await? {
            let relevant = matches!(summary.rclass().as_str(), "remote" | "virtual")
                && matches!(
                    summary.package_type().as_str(),
                    "docker" | "alpine" | "generic"
                );
            if !relevant {
                continue;
            }
            if let Ok(name) = CacheName::new(summary.key.clone()) {
                if let Some(state) = self.describe(&name).await? {
                    states.push(state);
                }
            }
        }
        Ok(states)
    }

    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        KEY_RULES.check(name.as_str())?;
        self.client.delete_repository(name.as_str()).await
    }

    fn client_access(
        &self,
        state: &CacheState,
        login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        let host = self.client.host();
        let key = state.name.as_str();
        let mut access = ClientAccess::new(state.name.clone());
        match state.format {
            PackageFormat::Docker => {
                let (username, password) = match login {
                    Some(login) => (
                        login.username.clone(),
                        Sensitive::new(login.password_reference(), login.password.expose_secret()),
                    ),
                    None => (
                        self.client
                            .user()
                            .unwrap_or("<artifactory user>")
                            .to_owned(),
                        Sensitive::new("\"$ARTIFACTORY_TOKEN\"", "$ARTIFACTORY_TOKEN"),
                    ),
                };
                access = access.with(AccessItem::DockerLogin {
                    registry: self.docker_method.login_host(&host, key),
                    username,
                    password,
                });
                let registry = self.docker_method.registry(&host, key);
                for pull in docker_pulls(&registry, state, self.org.as_ref()) {
                    access = access.with(pull);
                }
            }
            _ => {
                let base = RepoUrl::artifactory(self.client.repositories_url().as_str(), key)
                    .map_err(|err| {
                        Error::InvalidInput(pull_through_core::ValidationError::InvalidValue {
                            field: "repository".to_owned(),
                            problem: err.to_string(),
                        })
                    })?;
                for item in apk_access(&base, login)? {
                    access = access.with(item);
                }
            }
        }
        Ok(access)
    }

    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        let mut verification = Verification::new(state.name.clone());
        let key = state.name.as_str();
        match probe {
            Probe::DockerManifest { image, reference } => {
                let path = format!("artifactory/api/docker/{key}/v2/{image}/manifests/{reference}");
                let request = self.client.authorized(self.client.http().get(&path));
                verification
                    .push(manifest_check(request, probe.to_string(), || docker_hint(state)).await);
            }
            Probe::ApkIndex { arch, package } => {
                let client = self.client.repo_client(key)?;
                for check in check_repository(&client, arch, package.as_deref(), |problem| {
                    apk_hint(state, problem)
                })
                .await
                {
                    verification.push(check);
                }
            }
            _ => {}
        }
        Ok(verification)
    }

    /// Lists the remotes: one authenticated read that only an admin's token passes.
    async fn check_access(&self) -> Result<(), Error> {
        self.client
            .list_repositories(Some("remote"), None)
            .await
            .map(drop)
    }

    /// Deletes what `probe` is answered from under `<key>-cache`: an image's folder (its
    /// manifests and tags, whatever the layout version) or an APK repository's index.
    async fn forget(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        let path = match probe {
            Probe::DockerManifest { image, .. } => image.clone(),
            Probe::ApkIndex { arch, .. } => format!("{arch}/APKINDEX.tar.gz"),
            _ => return Ok(Deleted::AlreadyAbsent),
        };
        self.client.clear_cache(name.as_str(), &path).await
    }

    /// The tutorials' debugging checks of a remote ([`ArtifactoryClient::check_remote`]);
    /// a repository that is not a remote breaks the first.
    async fn diagnose(&self, name: &CacheName) -> Result<Vec<Diagnosis>, Error> {
        let problems = self.client.check_remote(name.as_str()).await?;
        Ok(problems
            .into_iter()
            .map(|problem| {
                Diagnosis::new(
                    problem.check_name(),
                    problem.to_string(),
                    "applying the cache's spec again sets it as the tutorial does".to_owned(),
                )
            })
            .collect())
    }
}

/// The tutorials' debugging hint for a Docker pull that failed.
fn docker_hint(state: &CacheState) -> Option<String> {
    let url = state.upstream_url().unwrap_or_default();
    if state.upstream_url().is_some() && !pull_through_core::Upstream::CgrPublic.matches_url(url) {
        return Some(format!(
            "the remote's URL is {url:?}; it must be exactly https://cgr.dev/ with no additional components"
        ));
    }
    if state.settings.get("enableTokenAuthentication") != Some(&FieldValue::Bool(true))
        && state.upstream_url().is_some()
    {
        return Some("enable token authentication on the remote (enableTokenAuthentication: true; the REST default is false)".to_owned());
    }
    if matches!(
        &state.role,
        CacheRole::Remote {
            username: Some(_),
            ..
        }
    ) {
        return Some(
            "check the pull token: it must be bound to registry.pull and not expired".to_owned(),
        );
    }
    None
}

/// The tutorials' debugging hint for an APK fetch that failed.
fn apk_hint(state: &CacheState, problem: &str) -> Option<String> {
    if state.settings.get("disableUrlNormalization") != Some(&FieldValue::Bool(true))
        && state.upstream_url().is_some()
    {
        return Some("turn URL normalization off on the remote (disableUrlNormalization: true): package names with '+' are mangled otherwise".to_owned());
    }
    if problem.contains("403") || problem.contains("capabilities") {
        return Some(
            "the pull token lacks apk.pull: bind it to the identity, then mint a new token"
                .to_owned(),
        );
    }
    if problem.contains("401") {
        return Some("check the apk line's credentials: a user like linky@example.com must be written linky%40example.com".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pull_through_core::Reveal;

    #[test]
    fn apk_access_names_the_token_variable_and_exports_http_auth() {
        let client = ArtifactoryClient::builder()
            .with_url("https://example.jfrog.io")
            .with_access_token("admin-token")
            .build()
            .unwrap();
        let backend = ArtifactoryBackend::new(client);
        let state = CacheState::remote(
            CacheName::new("cg-private").unwrap(),
            PackageFormat::Apk,
            "https://apk.cgr.dev/example.com",
        );
        let login = ClientLogin::new("linky@example.com", "s3cret", "ARTIFACTORY_TOKEN");
        let access = backend.client_access(&state, Some(&login)).unwrap();
        let shown = access.render(Reveal::Names);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(
            lines[..2],
            [
                "https://linky%40example.com:${ARTIFACTORY_TOKEN}@example.jfrog.io/artifactory/cg-private/",
                "export HTTP_AUTH=\"basic:example.jfrog.io:linky@example.com:${ARTIFACTORY_TOKEN}\"",
            ]
        );
        assert!(!shown.contains("s3cret"), "{shown}");
        let exposed = access.render(Reveal::Secrets);
        assert!(
            exposed.contains("linky%40example.com:s3cret@example.jfrog.io"),
            "{exposed}"
        );
        assert!(
            exposed.contains("export HTTP_AUTH=basic:example.jfrog.io:linky@example.com:s3cret\n"),
            "{exposed}"
        );
        assert!(
            shown.contains(
                "  repositories:\n    - https://example.jfrog.io/artifactory/cg-private/\n"
            ),
            "{shown}"
        );
    }
}
