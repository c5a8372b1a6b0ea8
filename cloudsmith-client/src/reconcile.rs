//! What Cloudsmith supplies to the core's shared reconcile, twice: [`Upstreams`] for remote
//! caches (a Docker upstream, in its own repository or the shared one) and [`Order`] for an
//! aggregate (the shared repository, whose upstreams' priorities it sets).
//!
//! Both are private, so their writes are reached only through
//! [`CloudsmithBackend`]'s `plan` and `ensure`, which check the spec first.

use async_trait::async_trait;
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
use crate::model::{DockerUpstream, Repository};
use crate::rules::{PRIVATE_UPSTREAM_URL, PUBLIC_UPSTREAM_URL, upstream_url_for};
use crate::upstreams::normalized;

/// A remote cache as read: its repository and its upstream.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) repository: Repository,
    pub(crate) upstream: DockerUpstream,
}

/// The shared repository as an aggregate reads it: its upstreams in resolution order.
#[derive(Debug, Clone)]
pub(crate) struct Ordered {
    pub(crate) repository: Repository,
    pub(crate) upstreams: Vec<DockerUpstream>,
}

/// Upstreams in the order the registry tries them: priority, then creation date.
pub(crate) fn in_resolution_order(mut upstreams: Vec<DockerUpstream>) -> Vec<DockerUpstream> {
    upstreams.sort_by(|a, b| {
        let key = |u: &DockerUpstream| (u.priority.unwrap_or(i64::MAX), u.created_at.clone());
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    upstreams
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

/// The remote caches of one backend, as the core's reconcile sees them.
pub(crate) struct Upstreams<'a>(pub(crate) &'a CloudsmithBackend);

impl Upstreams<'_> {
    fn own_repository(&self) -> bool {
        matches!(self.0.layout(), Layout::OwnRepository)
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
        self.0.locate(name).await
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

    async fn create(&self, spec: &CacheSpec) -> Result<Located, Error> {
        let request = desired_request(self.0, spec)?;
        let client = self.0.client();
        let slug = self.0.layout().repository_of(spec.name.as_str()).to_owned();
        let own_description = spec.description.clone().filter(|_| self.own_repository());
        let mut body = self.0.repository_body(&slug);
        if let Some(description) = &own_description {
            body = body.with_description(description.clone());
        }
        let (mut repository, made) = client.ensure_repository_made(&body).await?;
        if let Some(description) = own_description {
            // A repository of that slug already there keeps its own description otherwise.
            if repository.description.as_deref() != Some(description.as_str()) {
                repository = client
                    .update_repository(&slug, &RepositoryPatch::description(description))
                    .await?;
            }
        }
        let mut schedule = client.schedule();
        let upstream = loop {
            match client.create_upstream(&slug, &request).await {
                // Cloudsmith replicates across regions: a repository just made may not be
                // found yet (its Terraform provider retries such a 404 for a minute).
                Err(err) if made && err.is_not_found() => match schedule.next_wait() {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(err),
                },
                other => break other?,
            }
        };
        Ok(Located {
            repository,
            upstream,
        })
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
        Ok(updated)
    }

    fn state(&self, located: &Located) -> Result<CacheState, Error> {
        self.0.remote_state(located)
    }
}

/// The aggregate of the shared layout: the shared repository, whose members are its
/// upstreams in resolution order.
pub(crate) struct Order<'a>(pub(crate) &'a CloudsmithBackend);

fn members_of(spec: &CacheSpec) -> &[CacheName] {
    match &spec.kind {
        CacheKind::Aggregate(aggregate) => &aggregate.members,
        _ => &[],
    }
}

#[async_trait]
impl Reconcile for Order<'_> {
    type Resource = Ordered;

    fn vendor(&self) -> &str {
        "cloudsmith"
    }

    fn name_case(&self) -> NameCase {
        NameCase::Sensitive
    }

    async fn read(&self, name: &CacheName) -> Result<Option<Ordered>, Error> {
        self.0.ordered(name.as_str()).await
    }

    /// Never called, as for [`Upstreams`].
    async fn names(&self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }

    fn desired(&self, spec: &CacheSpec) -> Vec<(String, FieldValue)> {
        let members: Vec<String> = members_of(spec).iter().map(|m| m.to_string()).collect();
        let mut fields = vec![("members".to_owned(), FieldValue::from(members))];
        if let Some(description) = &spec.description {
            fields.push(("description".to_owned(), description.clone().into()));
        }
        fields
    }

    fn observed(&self, _spec: &CacheSpec, ordered: &Ordered) -> Observed {
        let members: Vec<String> = ordered.upstreams.iter().map(|u| u.name.clone()).collect();
        Observed::new().with("members", members).with_opt(
            "description",
            ordered
                .repository
                .description
                .clone()
                .filter(|d| !d.is_empty()),
        )
    }

    /// The aggregate orders the repository's upstreams; it neither adds nor removes them.
    fn check_update(&self, spec: &CacheSpec, ordered: &Ordered) -> Result<(), Error> {
        let members = members_of(spec);
        let missing: Vec<&str> = members
            .iter()
            .map(CacheName::as_str)
            .filter(|m| !ordered.upstreams.iter().any(|u| u.name == *m))
            .collect();
        let extra: Vec<&str> = ordered
            .upstreams
            .iter()
            .map(|u| u.name.as_str())
            .filter(|u| !members.iter().any(|m| m.as_str() == *u))
            .collect();
        let (what, hint) = match (missing.is_empty(), extra.is_empty()) {
            (true, true) => return Ok(()),
            (false, _) => (
                format!(
                    "the aggregate {}: {} not an upstream of repository {} yet",
                    spec.name,
                    missing.join(", "),
                    spec.name
                ),
                "apply the member caches first (each becomes an upstream of the \
                 repository), then the aggregate"
                    .to_owned(),
            ),
            (true, false) => (
                format!(
                    "the aggregate {}: repository {} also holds the upstreams {}, which the \
                     aggregate does not list",
                    spec.name,
                    spec.name,
                    extra.join(", ")
                ),
                "list them as members (in the order to try them) or delete them: an \
                 aggregate orders the repository's upstreams, it neither adds nor removes \
                 them"
                    .to_owned(),
            ),
        };
        // Found by reading, so not bad input: the core's check_update contract.
        Err(Error::Unsupported {
            vendor: "cloudsmith".to_owned(),
            what,
            hint,
        })
    }

    /// An aggregate is the repository its members are upstreams of: with no repository,
    /// none of them exists yet.
    async fn create(&self, spec: &CacheSpec) -> Result<Ordered, Error> {
        let members: Vec<&str> = members_of(spec).iter().map(CacheName::as_str).collect();
        Err(Error::Unsupported {
            vendor: "cloudsmith".to_owned(),
            what: format!(
                "the aggregate {}: repository {} does not exist yet, so none of {} is an \
                 upstream of it",
                spec.name,
                spec.name,
                members.join(", ")
            ),
            hint: "apply the member caches first (they create it), then the aggregate".to_owned(),
        })
    }

    /// Sets each member's priority to its position (1 first), only where it differs.
    async fn update(
        &self,
        spec: &CacheSpec,
        ordered: &Ordered,
        write: &Write<'_>,
    ) -> Result<Ordered, Error> {
        let client = self.0.client();
        let slug = ordered.repository.slug.clone();
        let mut repository = ordered.repository.clone();
        if write.changes("members") {
            for (position, member) in members_of(spec).iter().enumerate() {
                let priority = i64::try_from(position + 1).unwrap_or(i64::MAX);
                let Some(upstream) = ordered.upstreams.iter().find(|u| u.name == member.as_str())
                else {
                    continue;
                };
                if upstream.priority != Some(priority) {
                    client
                        .update_upstream(
                            &slug,
                            &upstream.slug_perm,
                            &DockerUpstreamPatch::default().with_priority(priority),
                        )
                        .await?;
                }
            }
        }
        if let (true, Some(description)) = (write.changes("description"), &spec.description) {
            repository = client
                .update_repository(&slug, &RepositoryPatch::description(description.clone()))
                .await?;
        }
        let upstreams = in_resolution_order(client.list_upstreams(&slug).await?);
        Ok(Ordered {
            repository,
            upstreams,
        })
    }

    fn state(&self, ordered: &Ordered) -> Result<CacheState, Error> {
        self.0.aggregate_state(ordered)
    }
}

/// The body a repository of this backend is created with.
impl CloudsmithBackend {
    pub(crate) fn repository_body(&self, slug: &str) -> RepositoryCreate {
        RepositoryCreate::private(slug).with_storage_region(self.storage_region())
    }
}
