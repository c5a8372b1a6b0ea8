//! What Cloudsmith supplies to the core's shared reconcile for remote caches: [`Upstreams`]
//! (a Docker upstream, in its own repository or the shared one). The aggregate's is
//! `order.rs`.
//!
//! Private, so its writes are reached only through [`CloudsmithBackend`]'s `plan` and
//! `ensure`, which check the spec first.

use async_trait::async_trait;
use pull_through_core::listing::Listing;
use pull_through_core::reconcile::{Observed, PasswordWrite, Reconcile, Write};
use pull_through_core::{
    CacheKind, CacheName, CacheSpec, CacheState, Error, FieldChange, FieldValue, NameCase,
    ValidationError,
};

use crate::backend::CloudsmithBackend;
use crate::bodies::{
    DockerUpstreamPatch, DockerUpstreamRequest, RepositoryCreate, RepositoryPatch,
};
use crate::layout::Layout;
use crate::listing::Known;
use crate::model::{DockerUpstream, Repository};
use crate::rules::{PRIVATE_UPSTREAM_URL, PUBLIC_UPSTREAM_URL, upstream_url_for};
use crate::upstreams::normalized;

/// A remote cache as read: its repository and its upstream.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) repository: Repository,
    pub(crate) upstream: DockerUpstream,
}

/// Whether `url` is one of Cloudsmith's two Chainguard upstream URLs.
pub(crate) fn is_chainguard_url(url: &str) -> bool {
    matches!(normalized(url), PUBLIC_UPSTREAM_URL | PRIVATE_UPSTREAM_URL)
}

/// Whether `actual` is the URL `expected`: same scheme, host and port (in any case), no
/// credentials or query, and the same path but for one trailing `/`.
pub(crate) fn same_url(expected: &str, actual: &str) -> bool {
    let (Ok(expected), Ok(actual)) = (url::Url::parse(expected), url::Url::parse(actual.trim()))
    else {
        return false;
    };
    let path = |url: &url::Url| url.path().trim_end_matches('/').to_owned();
    actual.scheme() == expected.scheme()
        && actual.host_str() == expected.host_str()
        && actual.port() == expected.port()
        && actual.username().is_empty()
        && actual.password().is_none()
        && actual.query().is_none()
        && path(&actual) == path(&expected)
}

/// The upstream a spec asks for: its POST body.
pub(crate) fn desired_request(
    backend: &CloudsmithBackend,
    spec: &CacheSpec,
) -> Result<DockerUpstreamRequest, Error> {
    let CacheKind::Remote(remote) = &spec.kind else {
        return Err(Error::InvalidInput(ValidationError::InvalidValue {
            field: "kind".to_owned(),
            problem: format!("{} is an aggregate, not an upstream", spec.name),
        }));
    };
    let url = upstream_url_for(&remote.upstream)?;
    let request = match &remote.credentials {
        Some(credentials) => DockerUpstreamRequest::private(spec.name.as_str(), credentials),
        None => DockerUpstreamRequest::public(spec.name.as_str()),
    };
    Ok(DockerUpstreamRequest {
        upstream_url: url.to_owned(),
        ..request
    }
    .with_priority(backend.default_priority(&remote.upstream)))
}

/// The remote caches of one backend, as the core's reconcile sees them, within a run's
/// listing when there is one.
pub(crate) struct Upstreams<'a>(
    pub(crate) &'a CloudsmithBackend,
    pub(crate) Option<&'a Listing>,
);

impl Upstreams<'_> {
    fn own_repository(&self) -> bool {
        matches!(self.0.layout(), Layout::OwnRepository)
    }

    fn known(&self) -> Option<Known> {
        self.1.and_then(Known::of)
    }

    /// Records what a write answered: the upstream (the shared repository's list) and the
    /// repository; the aggregate's kept read no longer says what the repository holds.
    async fn wrote(&self, located: &Located) {
        let Some(known) = self.known() else {
            return;
        };
        match (self.1, self.0.layout().shared_repository()) {
            (Some(listing), Some(shared)) => {
                // The shared repository is the aggregate's to write: kept as made.
                known.put_upstream(&located.upstream);
                listing.forget(shared);
            }
            _ => known.set_repository(located.repository.clone()).await,
        }
    }

    /// POSTs the upstream, waiting out replication when `made` the repository just now.
    async fn post_upstream(
        &self,
        slug: &str,
        request: &DockerUpstreamRequest,
        made: bool,
    ) -> Result<DockerUpstream, Error> {
        let client = self.0.client();
        let mut schedule = client.replication_schedule();
        loop {
            match client.create_upstream(slug, request).await {
                // Cloudsmith replicates across regions: a repository just made may not be
                // found yet. Its Terraform provider retries such a 404 for a minute; here
                // for the client's replication wait (a minute unless set).
                Err(err) if made && err.is_not_found() => match schedule.next_wait() {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(err),
                },
                other => return other,
            }
        }
    }
}

#[async_trait]
impl Reconcile for Upstreams<'_> {
    type Resource = Located;

    fn vendor(&self) -> &str {
        "cloudsmith"
    }

    fn name_case(&self) -> NameCase {
        NameCase::Sensitive
    }

    async fn read(&self, name: &CacheName) -> Result<Option<Located>, Error> {
        match self.known() {
            Some(known) => self.0.locate_known(name, &known).await,
            None => self.0.locate(name).await,
        }
    }

    /// Every cache in one listing ([`CloudsmithBackend::snapshot`]): the shared
    /// repository's upstreams whole; with a repository per cache, each repository by name
    /// (its upstream is in a list of its own, read when the cache is).
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<Located>)>>, Error> {
        let snapshot = self.0.snapshot().await?;
        Ok(Some(match self.0.layout().shared_repository() {
            Some(_) => snapshot
                .remotes()
                .into_iter()
                .map(|(name, located)| (name, Some(located)))
                .collect(),
            None => snapshot
                .repositories
                .into_iter()
                .map(|repository| (repository.slug, None))
                .collect(),
        }))
    }

    /// Never called: names are compared exactly ([`NameCase::Sensitive`]), as slugs are
    /// lowercase and upstreams are found by their exact name.
    async fn names(&self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }

    /// The compared settings: what the POST body sets, and in a repository of its own its
    /// priority and description. In the shared repository the priority is written on
    /// create only: the order of the repository's upstreams belongs to its aggregate.
    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        let Ok(request) = desired_request(self.0, spec) else {
            return Vec::new();
        };
        let mut fields = vec![
            ("name".to_owned(), FieldValue::from(request.name)),
            ("upstream_url".to_owned(), request.upstream_url.into()),
            ("mode".to_owned(), request.mode.as_str().into()),
        ];
        if self.own_repository() {
            fields.push(("priority".to_owned(), request.priority.into()));
        }
        fields.push(("verify_ssl".to_owned(), request.verify_ssl.into()));
        fields.push(("auth_mode".to_owned(), request.auth_mode.as_str().into()));
        if let (true, Some(description)) = (self.own_repository(), &spec.description) {
            fields.push(("description".to_owned(), description.clone().into()));
        }
        fields
    }

    /// Every field of the POST body (the password hidden), and the description the
    /// repository is created with.
    fn create_fields(&self, spec: &CacheSpec) -> Vec<FieldChange> {
        let Ok(request) = desired_request(self.0, spec) else {
            return Vec::new();
        };
        let mut fields = vec![
            FieldChange::new("name", None, request.name.into()),
            FieldChange::new("upstream_url", None, request.upstream_url.into()),
            FieldChange::new("mode", None, request.mode.as_str().into()),
            FieldChange::new("priority", None, request.priority.into()),
            FieldChange::new("verify_ssl", None, request.verify_ssl.into()),
            FieldChange::new("auth_mode", None, request.auth_mode.as_str().into()),
        ];
        if let Some(username) = request.auth_username {
            fields.push(FieldChange::new("username", None, username.into()));
            fields.push(FieldChange::new("password", None, FieldValue::Secret));
        }
        if let (true, Some(description)) = (self.own_repository(), &spec.description) {
            fields.push(FieldChange::new(
                "description",
                None,
                description.clone().into(),
            ));
        }
        fields
    }

    fn observed(&self, spec: &CacheSpec, located: &Located) -> Observed {
        let upstream = &located.upstream;
        // The server may store the URL with a trailing slash: the same URL is the desired one.
        let url = match spec.upstream().map(upstream_url_for) {
            Some(Ok(want)) if normalized(&upstream.upstream_url) == want => want.to_owned(),
            _ => upstream.upstream_url.clone(),
        };
        let mut observed = Observed::new()
            .with("name", upstream.name.clone())
            .with("upstream_url", url)
            .with_opt(
                "mode",
                upstream.mode.as_ref().map(|m| m.as_str().to_owned()),
            )
            .with_opt("verify_ssl", upstream.verify_ssl)
            .with_opt(
                "auth_mode",
                upstream.auth_mode.as_ref().map(|m| m.as_str().to_owned()),
            );
        if self.own_repository() {
            observed = observed.with_opt("priority", upstream.priority).with_opt(
                "description",
                located
                    .repository
                    .description
                    .clone()
                    .filter(|d| !d.is_empty()),
            );
        }
        match &upstream.auth_username {
            Some(username) => observed.with_username(username.clone()),
            None => observed,
        }
    }

    /// The repository (made unless the run knows it is there) and the upstream, each as
    /// its write answered it: nothing is read back.
    async fn create(&self, spec: &CacheSpec) -> Result<Located, Error> {
        let request = desired_request(self.0, spec)?;
        let client = self.0.client();
        let slug = self.0.layout().repository_of(spec.name.as_str()).to_owned();
        let own_description = spec.description.clone().filter(|_| self.own_repository());
        let mut body = self.0.repository_body(&slug);
        if let Some(description) = &own_description {
            body = body.with_description(description.clone());
        }
        let known = self.known();
        let (mut repository, made) = match &known {
            Some(known) => known.made_repository(self.0, &body).await?,
            None => client.ensure_repository_made(&body).await?,
        };
        if let Some(description) = own_description {
            // A repository of that slug already there keeps its own description otherwise.
            if repository.description.as_deref() != Some(description.as_str()) {
                repository = client
                    .update_repository(&slug, &RepositoryPatch::description(description))
                    .await?;
                if let Some(known) = &known {
                    known.set_repository(repository.clone()).await;
                }
            }
        }
        let upstream = match (self.post_upstream(&slug, &request, made).await, &known) {
            // The repository was listed, and has been deleted since: made again.
            (Err(err), Some(known)) if !made && err.is_not_found() => {
                known.forget_repository(&slug).await;
                let (again, made) = known.made_repository(self.0, &body).await?;
                repository = again;
                self.post_upstream(&slug, &request, made).await?
            }
            (upstream, _) => upstream?,
        };
        let located = Located {
            repository,
            upstream,
        };
        self.wrote(&located).await;
        Ok(located)
    }

    /// PATCHes only what differs: a rotation sends `auth_secret` alone, a username change
    /// `auth_username` and `auth_secret`; the description goes to the repository.
    async fn update(
        &self,
        spec: &CacheSpec,
        located: &Located,
        write: &Write<'_>,
    ) -> Result<Located, Error> {
        let desired = desired_request(self.0, spec)?;
        let mut patch = DockerUpstreamPatch::default();
        let mut description = None;
        for change in write.changes {
            match change.field.as_str() {
                "name" => patch.name = Some(desired.name.clone()),
                "upstream_url" => patch.upstream_url = Some(desired.upstream_url.clone()),
                "mode" => patch.mode = Some(desired.mode.clone()),
                "priority" => patch.priority = Some(desired.priority),
                "verify_ssl" => patch.verify_ssl = Some(desired.verify_ssl),
                "auth_mode" => patch.auth_mode = Some(desired.auth_mode.clone()),
                "username" => patch.auth_username = Some(desired.auth_username.clone()),
                "description" => description = spec.description.clone(),
                _ => {}
            }
        }
        match write.password {
            PasswordWrite::Set(password) => patch.auth_secret = Some(Some(password.clone())),
            PasswordWrite::Clear => patch.auth_secret = Some(None),
            _ => {}
        }
        let client = self.0.client();
        let slug = located.repository.slug.clone();
        let mut updated = located.clone();
        if !patch.is_empty() {
            updated.upstream = client
                .update_upstream(&slug, &located.upstream.slug_perm, &patch)
                .await?;
        }
        if let Some(description) = description {
            updated.repository = client
                .update_repository(&slug, &RepositoryPatch::description(description))
                .await?;
        }
        // Each PATCH answers the whole upstream or repository: nothing is read back.
        self.wrote(&updated).await;
        Ok(updated)
    }

    fn state(&self, located: &Located) -> Result<CacheState, Error> {
        self.0.remote_state(located)
    }
}

/// The body a repository of this backend is created with.
impl CloudsmithBackend {
    pub(crate) fn repository_body(&self, slug: &str) -> RepositoryCreate {
        RepositoryCreate::private(slug).with_storage_region(self.storage_region())
    }
}
