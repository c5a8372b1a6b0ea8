//! [`ArtifactoryBackend`]: the core's [`PullThroughBackend`] for Artifactory.

use std::time::Instant;

use apk_repo::http_auth::HttpAuth;
use apk_repo::index::ApkIndex;
use apk_repo::repo_url::RepoUrl;
use apk_repo::snippet::{Dockerfile, apko_contents};
use async_trait::async_trait;
use pull_through_core::{
    AccessItem, CacheKind, CacheName, CacheRole, CacheSpec, CacheState, Capabilities, Check,
    ClientAccess, ClientLogin, CredentialWrite, Deleted, Diff, Ensured, Error, ExposeSecret,
    FieldChange, FieldValue, NameCase, OrgName, PackageFormat, Plan, Probe, PullThroughBackend,
    Sensitive, SnippetKind, Support, UpstreamKind, Verification,
};

use crate::client::ArtifactoryClient;
use crate::model::RepositoryConfig;
use crate::rules::{KEY_RULES, check_docker_key};

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

    /// Clears from the cache of `name` what `probe` would be answered from, so the next
    /// [`verify`](PullThroughBackend::verify) with it goes upstream. After new credentials
    /// are written, a pull answered from the cache proves nothing about them.
    ///
    /// # Errors
    ///
    /// The core's [`Error`]; nothing cached is [`Deleted::AlreadyAbsent`].
    ///
    /// ```no_run
    /// # async fn example(backend: &artifactory_client::ArtifactoryBackend) -> Result<(), pull_through_core::Error> {
    /// use pull_through_core::{CacheName, Probe, Upstream};
    /// let probe = Probe::default_for(&Upstream::CgrPublic);
    /// backend.forget_probe(&CacheName::new("cgr-public")?, &probe).await?;
    /// # Ok(()) }
    /// ```
    pub async fn forget_probe(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        // The image's folder holds its manifests and tags, whatever the layout version;
        // an APK repository's index is the one file that names the packages.
        let path = match probe {
            Probe::DockerManifest { image, .. } => image.clone(),
            Probe::ApkIndex { arch, .. } => format!("{arch}/APKINDEX.tar.gz"),
            _ => return Ok(Deleted::AlreadyAbsent),
        };
        self.client.clear_cache(name.as_str(), &path).await
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

    /// The configuration a spec asks for.
    fn desired(spec: &CacheSpec) -> RepositoryConfig {
        let key = spec.name.as_str();
        let mut config = match &spec.kind {
            CacheKind::Remote(remote) => match remote.upstream.format() {
                PackageFormat::Docker => {
                    RepositoryConfig::remote_docker(key, remote.credentials.as_ref())
                }
                _ => RepositoryConfig::remote_alpine(
                    key,
                    &remote.upstream,
                    remote.credentials.as_ref(),
                ),
            },
            CacheKind::Aggregate(aggregate) => {
                let members: Vec<&str> = aggregate.members.iter().map(CacheName::as_str).collect();
                match aggregate.format {
                    PackageFormat::Docker => RepositoryConfig::virtual_docker(key, &members),
                    _ => RepositoryConfig::virtual_generic(key, &members),
                }
            }
            _ => RepositoryConfig::default(),
        };
        config.description = spec.description.clone();
        config
    }

    /// The fields that differ between the spec and the repository, and the JSON to send.
    fn changes(
        spec: &CacheSpec,
        desired: &RepositoryConfig,
        actual: &RepositoryConfig,
    ) -> (Vec<FieldChange>, serde_json::Value) {
        let mut diff = Diff::new();
        let mut body = serde_json::Map::new();
        // Real Artifactory answers `"username": ""` for a remote without credentials, so
        // empty and absent are the same; a spec without credentials clears stored ones.
        let mut clears_credentials = false;
        if matches!(spec.kind, CacheKind::Remote(_)) {
            let want = desired.username.clone().unwrap_or_default();
            let have = actual.username.clone().unwrap_or_default();
            if want != have {
                let shown =
                    |user: &str| (!user.is_empty()).then(|| FieldValue::from(user.to_owned()));
                diff = std::mem::take(&mut diff).push(FieldChange::new(
                    "username",
                    shown(&have),
                    shown(&want).unwrap_or_else(|| FieldValue::from(String::new())),
                ));
                body.insert("username".to_owned(), want.clone().into());
                clears_credentials = want.is_empty();
            }
        }
        let mut compare = |field: &str,
                           want: Option<FieldValue>,
                           have: Option<FieldValue>,
                           json: serde_json::Value| {
            if let Some(want) = want {
                if have.as_ref() != Some(&want) {
                    diff = std::mem::take(&mut diff).push(FieldChange::new(field, have, want));
                    body.insert(field.to_owned(), json);
                }
            }
        };
        let upstream_matches = match (spec.upstream(), actual.url.as_deref()) {
            (Some(upstream), Some(url)) => upstream.matches_url(url),
            _ => false,
        };
        if !upstream_matches {
            compare(
                "url",
                desired.url.clone().map(Into::into),
                actual.url.clone().map(Into::into),
                desired.url.clone().into(),
            );
        }
        compare(
            "includesPattern",
            desired.includes_pattern.clone().map(Into::into),
            actual.includes_pattern.clone().map(Into::into),
            desired.includes_pattern.clone().into(),
        );
        compare(
            "enableTokenAuthentication",
            desired.enable_token_authentication.map(Into::into),
            actual.enable_token_authentication.map(Into::into),
            desired.enable_token_authentication.into(),
        );
        compare(
            "blockMismatchingMimeTypes",
            desired.block_mismatching_mime_types.map(Into::into),
            actual.block_mismatching_mime_types.map(Into::into),
            desired.block_mismatching_mime_types.into(),
        );
        compare(
            "disableUrlNormalization",
            desired.disable_url_normalization.map(Into::into),
            actual.disable_url_normalization.map(Into::into),
            desired.disable_url_normalization.into(),
        );
        compare(
            "repositories",
            desired.repositories.clone().map(Into::into),
            actual.repositories.clone().map(Into::into),
            desired.repositories.clone().into(),
        );
        // An empty description and none are the same to Artifactory.
        compare(
            "description",
            desired
                .description
                .clone()
                .filter(|d| !d.is_empty())
                .map(Into::into),
            actual.clean_description().map(|d| d.to_owned().into()),
            desired.description.clone().into(),
        );
        let rotate = matches!(&spec.kind, CacheKind::Remote(remote) if remote.credential_write == CredentialWrite::Rotate);
        let username_changed = body.contains_key("username");
        if desired.password.is_some() && (rotate || username_changed) {
            diff = diff.secret("password", true);
        }
        if clears_credentials {
            body.insert("password".to_owned(), "".into());
            diff = diff.secret("password", true);
        }
        (diff.into_changes(), serde_json::Value::Object(body))
    }

    fn state(config: &RepositoryConfig) -> Result<CacheState, Error> {
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
        Ok(state)
    }

    fn endpoint(&self, config: &RepositoryConfig) -> String {
        match config.package_type.to_ascii_lowercase().as_str() {
            "docker" => format!("{}/{}", self.client.host(), config.key),
            _ => format!("{}/{}/", self.client.repositories_url(), config.key),
        }
    }

    /// Keys are unique regardless of letter case, but reads match exactly: a key that
    /// differs only in case would be planned as a create that can never succeed.
    async fn refuse_case_twin(&self, name: &CacheName) -> Result<(), Error> {
        let listed = self.client.list_repositories(None, None).await?;
        match listed
            .iter()
            .find(|r| r.key != name.as_str() && r.key.eq_ignore_ascii_case(name.as_str()))
        {
            Some(twin) => Err(Error::InvalidInput(
                pull_through_core::ValidationError::InvalidValue {
                    field: "name".to_owned(),
                    problem: format!(
                        "{name}: repository {} already exists and Artifactory keys are unique regardless of letter case; \
                         name the cache {} or choose another name",
                        twin.key, twin.key
                    ),
                },
            )),
            None => Ok(()),
        }
    }

    async fn read(&self, name: &CacheName) -> Result<Option<RepositoryConfig>, Error> {
        self.client.get_repository(name.as_str()).await
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
        match spec.format() {
            PackageFormat::Docker => check_docker_key(spec.name.as_str())?,
            _ => KEY_RULES.check(spec.name.as_str())?,
        }
        spec.validate()?;
        self.capabilities().check(spec)
    }

    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        self.check_spec(spec)?;
        let desired = Self::desired(spec);
        Ok(match self.read(&spec.name).await? {
            None => {
                self.refuse_case_twin(&spec.name).await?;
                let json = serde_json::to_value(&desired).unwrap_or_default();
                let fields = json
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(field, _)| *field != "key")
                    .map(|(field, value)| {
                        let shown = if field == "password" {
                            FieldValue::Secret
                        } else {
                            match value {
                                serde_json::Value::Bool(b) => (*b).into(),
                                serde_json::Value::Array(items) => items
                                    .iter()
                                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                                    .collect::<Vec<_>>()
                                    .into(),
                                other => other.as_str().unwrap_or_default().to_owned().into(),
                            }
                        };
                        FieldChange::new(field.clone(), None, shown)
                    })
                    .collect();
                Plan::create(spec.name.clone(), fields)
            }
            Some(actual) => {
                if !actual.rclass.eq_ignore_ascii_case(&desired.rclass)
                    || !actual
                        .package_type
                        .eq_ignore_ascii_case(&desired.package_type)
                {
                    return Err(Error::Unsupported {
                        vendor: "artifactory".to_owned(),
                        what: format!("turning {} ({} {}) into a {} {} repository", spec.name, actual.rclass, actual.package_type, desired.rclass, desired.package_type),
                        hint: "Artifactory cannot change a repository's class or type: delete it (its cache goes with it) and apply again".to_owned(),
                    });
                }
                Plan::update(spec.name.clone(), Self::changes(spec, &desired, &actual).0)
            }
        })
    }

    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        let plan = self.plan(spec).await?;
        let desired = Self::desired(spec);
        match plan.action {
            pull_through_core::PlanAction::NoChange => {
                let actual = self.read(&spec.name).await?.unwrap_or(desired);
                Ok(Ensured::Unchanged {
                    state: Self::state(&actual)?.with_endpoint(self.endpoint(&actual)),
                })
            }
            pull_through_core::PlanAction::Create { .. } => {
                match self.client.create_repository(&desired).await {
                    Ok(()) => {}
                    // A racing create: reconcile with what is there instead of failing.
                    Err(err) if err.is_already_exists() => {
                        return self.ensure_existing(spec, &desired).await;
                    }
                    Err(err) => return Err(err),
                }
                let created = self.read(&spec.name).await?.unwrap_or(desired);
                Ok(Ensured::Created {
                    state: Self::state(&created)?.with_endpoint(self.endpoint(&created)),
                })
            }
            _ => self.ensure_existing(spec, &desired).await,
        }
    }

    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        match self.read(name).await? {
            Some(config) => Ok(Some(
                Self::state(&config)?.with_endpoint(self.endpoint(&config)),
            )),
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
        let (user, password) = match login {
            Some(login) => (
                login.username.clone(),
                Sensitive::new(login.password_reference(), login.password.expose_secret()),
            ),
            None => (
                "<artifactory user>".to_owned(),
                Sensitive::new("\"$ARTIFACTORY_TOKEN\"", "$ARTIFACTORY_TOKEN"),
            ),
        };
        match state.format {
            PackageFormat::Docker => {
                let registry = self.docker_method.registry(&host, key);
                access = access.with(AccessItem::DockerLogin {
                    registry: self.docker_method.login_host(&host, key),
                    username: user,
                    password,
                });
                let private = matches!(
                    &state.role,
                    CacheRole::Remote {
                        username: Some(_),
                        ..
                    }
                ) || matches!(&state.role, CacheRole::Aggregate { .. });
                let public = !matches!(
                    &state.role,
                    CacheRole::Remote {
                        username: Some(_),
                        ..
                    }
                );
                if public {
                    access = access.with(AccessItem::DockerPull {
                        reference: format!("{registry}/chainguard/go:latest"),
                    });
                }
                if private {
                    let org = self
                        .org
                        .as_ref()
                        .map_or("<org>".to_owned(), ToString::to_string);
                    access = access.with(AccessItem::DockerPull {
                        reference: format!("{registry}/{org}/chainguard-base:latest"),
                    });
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
                let invalid = |field: &str, problem: String| {
                    Error::InvalidInput(pull_through_core::ValidationError::InvalidValue {
                        field: field.to_owned(),
                        problem,
                    })
                };
                let line = match login {
                    Some(login) => {
                        let line = base
                            .clone()
                            .with_credentials(&login.username, login.password.clone())
                            .map_err(|err| invalid("login", err.to_string()))?
                            .to_sensitive();
                        // Shown with the variable in place of the masked password, so the
                        // line works in a shell where the variable holds the token (access
                        // tokens need no percent-encoding).
                        let shown = line.shown().replacen(
                            ":*@",
                            &format!(":${{{}}}@", login.password_var),
                            1,
                        );
                        Sensitive::new(shown, line.expose())
                    }
                    None => Sensitive::new(base.expose(), base.expose()),
                };
                let dockerfile =
                    Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget"]).render();
                access = access.with(AccessItem::ApkRepository { url: line });
                // apk-tools and apko match HTTP_AUTH's second field against the host, and
                // apko cannot express a port, so a host with a port gets only the line.
                if let (Some(login), false) = (login, host.contains(':')) {
                    let auth = HttpAuth::basic(&host, &login.username, login.password.clone())
                        .map_err(|err| invalid("login", err.to_string()))?;
                    access = access.with(AccessItem::HttpAuth {
                        value: Sensitive::new(
                            format!(
                                "basic:{host}:{}:${{{}}}",
                                login.username, login.password_var
                            ),
                            auth.value(),
                        ),
                    });
                }
                let apko = apko_contents(&[base], &[], &["wget"], &["x86_64"]);
                let apko = format!(
                    "# apko reads credentials from HTTP_AUTH=basic:<host>:<user>:<token>, sent only to\n\
                     # exactly that host; keep the keyring your image already uses\n{apko}"
                );
                access = access
                    .with(AccessItem::Snippet {
                        kind: SnippetKind::Dockerfile,
                        title: "Dockerfile: the cache's line as a build secret mounted over /etc/apk/repositories".to_owned(),
                        text: Sensitive::new(dockerfile.clone(), dockerfile),
                    })
                    .with(AccessItem::Snippet {
                        kind: SnippetKind::Apko,
                        title: "apko: the cache as the image's repository".to_owned(),
                        text: Sensitive::new(apko.clone(), apko),
                    });
            }
        }
        Ok(access)
    }

    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        let mut verification = Verification::new(state.name.clone());
        let key = state.name.as_str();
        let started = Instant::now();
        match probe {
            Probe::DockerManifest { image, reference } => {
                let path = format!("artifactory/api/docker/{key}/v2/{image}/manifests/{reference}");
                let request = self.client.authorized(self.client.http().get(&path)).header(
                    http::header::ACCEPT,
                    http::HeaderValue::from_static("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"),
                );
                match request.send().await {
                    Ok(answer) => {
                        let digest = answer
                            .headers()
                            .get("docker-content-digest")
                            .and_then(|d| d.to_str().ok())
                            .unwrap_or("no digest")
                            .to_owned();
                        verification.push(Check::passed(
                            probe.to_string(),
                            digest,
                            started.elapsed(),
                        ));
                    }
                    Err(err) => verification.push(Check::failed(
                        probe.to_string(),
                        err.to_string(),
                        docker_hint(state),
                        started.elapsed(),
                    )),
                }
            }
            Probe::ApkIndex { arch, package } => {
                let path = format!("artifactory/{key}/{arch}/APKINDEX.tar.gz");
                let index = match self
                    .client
                    .authorized(self.client.http().get(&path))
                    .send()
                    .await
                {
                    Ok(answer) => answer
                        .bytes()
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|b| ApkIndex::read_unverified(&b).map_err(|e| e.to_string())),
                    Err(err) => Err(err.to_string()),
                };
                match index {
                    Ok(index) => {
                        verification.push(Check::passed(
                            format!("{arch}/APKINDEX.tar.gz"),
                            format!("{} packages", index.packages.len()),
                            started.elapsed(),
                        ));
                        let wanted = package.clone().or_else(|| {
                            index
                                .packages
                                .iter()
                                .find(|p| p.name.contains('+'))
                                .or(index.packages.first())
                                .map(|p| p.name.clone())
                        });
                        let found = wanted
                            .as_ref()
                            .and_then(|name| index.packages.iter().find(|p| &p.name == name));
                        if let (Some(name), None) = (&wanted, found) {
                            // A probe that fetches nothing must not pass.
                            verification.push(Check::failed(
                                format!("package {name}"),
                                format!("{name} is not in {arch}/APKINDEX.tar.gz"),
                                Some("probe a package the repository has (`pull-through apk search --repo ...`)".to_owned()),
                                started.elapsed(),
                            ));
                        }
                        if let Some(found) = found {
                            let file = found.file_name();
                            let at = Instant::now();
                            let url = self.client.repositories_url();
                            let mut target = url.clone();
                            if let Ok(mut segments) = target.path_segments_mut() {
                                segments.pop_if_empty().push(key).push(arch).push(&file);
                            }
                            match self
                                .client
                                .authorized(
                                    self.client.http().request_url(http::Method::GET, target),
                                )
                                .send()
                                .await
                            {
                                Ok(_) => verification.push(Check::passed(
                                    format!("package {file}"),
                                    "fetched",
                                    at.elapsed(),
                                )),
                                Err(err) => verification.push(Check::failed(
                                    format!("package {file}"),
                                    err.to_string(),
                                    apk_hint(state, &err.to_string()),
                                    at.elapsed(),
                                )),
                            }
                        }
                    }
                    Err(problem) => {
                        let hint = apk_hint(state, &problem);
                        verification.push(Check::failed(
                            format!("{arch}/APKINDEX.tar.gz"),
                            problem,
                            hint,
                            started.elapsed(),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(verification)
    }
}

impl ArtifactoryBackend {
    async fn ensure_existing(
        &self,
        spec: &CacheSpec,
        desired: &RepositoryConfig,
    ) -> Result<Ensured, Error> {
        let Some(actual) = self.read(&spec.name).await? else {
            return Err(Error::Unsupported {
                vendor: "artifactory".to_owned(),
                what: format!("ensuring {}: it vanished while being updated", spec.name),
                hint: "apply again".to_owned(),
            });
        };
        let (changes, body) = Self::changes(spec, desired, &actual);
        if changes.is_empty() {
            return Ok(Ensured::Unchanged {
                state: Self::state(&actual)?.with_endpoint(self.endpoint(&actual)),
            });
        }
        let writes_password = changes.iter().any(|c| c.field == "password");
        let password = if writes_password {
            desired.password.as_ref()
        } else {
            None
        };
        self.client
            .update_repository(&spec.name.to_string(), &body, password)
            .await?;
        let updated = self.read(&spec.name).await?.unwrap_or(actual);
        Ok(Ensured::Updated {
            state: Self::state(&updated)?.with_endpoint(self.endpoint(&updated)),
            changes,
        })
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
