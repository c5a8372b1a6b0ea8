//! What Cloudsmith supplies to the core's shared reconcile for the shared layout's
//! aggregate, [`Order`]: the shared repository's upstreams in the order they are tried,
//! which exists while the repository's description carries the aggregate's marker
//! (`marker.rs`).
//!
//! Private, so its writes are reached only through
//! [`CloudsmithBackend`]'s `plan` and `ensure`, which check the spec first.

use async_trait::async_trait;
use pull_through_core::listing::Listing;
use pull_through_core::reconcile::{Observed, Reconcile, Write};
use pull_through_core::{CacheKind, CacheName, CacheSpec, CacheState, Error, FieldValue, NameCase};

use crate::backend::CloudsmithBackend;
use crate::bodies::{DockerUpstreamPatch, RepositoryPatch};
use crate::listing::Known;
use crate::marker;
use crate::model::{DockerUpstream, Repository};

/// The shared repository as an aggregate reads it: its upstreams in resolution order.
#[derive(Debug, Clone)]
pub(crate) struct Ordered {
    pub(crate) repository: Repository,
    pub(crate) upstreams: Vec<DockerUpstream>,
}

impl Ordered {
    /// Whether the repository carries the aggregate's marker: whether the aggregate
    /// exists.
    pub(crate) fn has_aggregate(&self) -> bool {
        marker::read(self.repository.description.as_deref()).marked
    }

    /// The aggregate's description: the repository's, without the marker.
    pub(crate) fn description(&self) -> Option<String> {
        marker::read(self.repository.description.as_deref()).text
    }
}

/// Upstreams in the order the registry tries them: priority, then creation date.
pub(crate) fn in_resolution_order(mut upstreams: Vec<DockerUpstream>) -> Vec<DockerUpstream> {
    upstreams.sort_by(|a, b| {
        let key = |u: &DockerUpstream| (u.priority.unwrap_or(i64::MAX), u.created_at.clone());
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    upstreams
}

/// The aggregate of the shared layout: the shared repository's upstreams in resolution
/// order, while the repository carries the aggregate's marker; within a run's listing when
/// there is one.
pub(crate) struct Order<'a>(
    pub(crate) &'a CloudsmithBackend,
    pub(crate) Option<&'a Listing>,
);

fn members_of(spec: &CacheSpec) -> &[CacheName] {
    match &spec.kind {
        CacheKind::Aggregate(aggregate) => &aggregate.members,
        _ => &[],
    }
}

impl Order<'_> {
    fn known(&self) -> Option<Known> {
        self.1.and_then(Known::of)
    }

    /// Sets each member's priority to its position (1 first), only where it differs. Each
    /// PATCH answers the whole upstream, which replaces the one read: the upstreams are
    /// not listed again.
    async fn set_priorities(
        &self,
        spec: &CacheSpec,
        ordered: &Ordered,
    ) -> Result<Vec<DockerUpstream>, Error> {
        let client = self.0.client();
        let slug = &ordered.repository.slug;
        let known = self.known();
        let mut upstreams = ordered.upstreams.clone();
        for (position, member) in members_of(spec).iter().enumerate() {
            let priority = i64::try_from(position + 1).unwrap_or(i64::MAX);
            let Some(upstream) = upstreams.iter_mut().find(|u| u.name == member.as_str()) else {
                continue;
            };
            if upstream.priority != Some(priority) {
                *upstream = client
                    .update_upstream(
                        slug,
                        &upstream.slug_perm,
                        &DockerUpstreamPatch::default().with_priority(priority),
                    )
                    .await?;
                if let Some(known) = &known {
                    known.put_upstream(upstream);
                }
            }
        }
        Ok(in_resolution_order(upstreams))
    }

    /// Writes the repository's description (the marker in it), as the run then knows it.
    async fn write_description(&self, slug: &str, text: String) -> Result<Repository, Error> {
        let repository = self
            .0
            .client()
            .update_repository(slug, &RepositoryPatch::description(text))
            .await?;
        if let Some(known) = self.known() {
            known.set_repository(repository.clone()).await;
        }
        Ok(repository)
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

    /// The repository and its upstreams, when the repository carries the marker: without
    /// it the aggregate does not exist, whatever upstreams the repository holds.
    async fn read(&self, name: &CacheName) -> Result<Option<Ordered>, Error> {
        match self.known() {
            Some(known) => Ok(self
                .0
                .ordered_known(name.as_str(), Some(&known))
                .await?
                .filter(Ordered::has_aggregate)),
            None => self.0.aggregate(name.as_str()).await,
        }
    }

    /// The aggregate in one listing ([`CloudsmithBackend::snapshot`]), whole: the shared
    /// repository while it carries the marker, with its upstreams.
    async fn list_all(&self) -> Result<Option<Vec<(String, Option<Ordered>)>>, Error> {
        let snapshot = self.0.snapshot().await?;
        Ok(Some(
            snapshot
                .aggregate()
                .map(|ordered| (ordered.repository.slug.clone(), Some(ordered)))
                .into_iter()
                .collect(),
        ))
    }

    /// Never called: names are compared exactly ([`NameCase::Sensitive`]).
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
        Observed::new()
            .with("members", members)
            .with_opt("description", ordered.description())
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

    /// Checks the members against the repository's upstreams (which must all exist), sets
    /// their priorities, then writes the marker, last, so that a run killed half-way
    /// leaves no aggregate and the next one creates it again. The repository keeps its
    /// description when the spec has none.
    async fn create(&self, spec: &CacheSpec) -> Result<Ordered, Error> {
        let known = self.known();
        let Some(ordered) = self
            .0
            .ordered_known(spec.name.as_str(), known.as_ref())
            .await?
        else {
            let members: Vec<&str> = members_of(spec).iter().map(CacheName::as_str).collect();
            return Err(Error::Unsupported {
                vendor: "cloudsmith".to_owned(),
                what: format!(
                    "the aggregate {}: repository {} does not exist yet, so none of {} is \
                     an upstream of it",
                    spec.name,
                    spec.name,
                    members.join(", ")
                ),
                hint: "apply the member caches first (they create it), then the aggregate"
                    .to_owned(),
            });
        };
        self.check_update(spec, &ordered)?;
        let upstreams = self.set_priorities(spec, &ordered).await?;
        let text = spec.description.clone().or_else(|| ordered.description());
        let repository = self
            .write_description(
                &ordered.repository.slug,
                marker::write(text.as_deref(), true),
            )
            .await?;
        Ok(Ordered {
            repository,
            upstreams,
        })
    }

    /// Sets the priorities where the order differs, and the description (the marker
    /// kept).
    async fn update(
        &self,
        spec: &CacheSpec,
        ordered: &Ordered,
        write: &Write<'_>,
    ) -> Result<Ordered, Error> {
        let mut updated = ordered.clone();
        if write.changes("members") {
            updated.upstreams = self.set_priorities(spec, ordered).await?;
        }
        if let (true, Some(description)) = (write.changes("description"), &spec.description) {
            updated.repository = self
                .write_description(
                    &ordered.repository.slug,
                    marker::write(Some(description), true),
                )
                .await?;
        }
        Ok(updated)
    }

    fn state(&self, ordered: &Ordered) -> Result<CacheState, Error> {
        self.0.aggregate_state(ordered)
    }
}
