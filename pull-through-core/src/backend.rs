//! The one trait every backend implements: [`PullThroughBackend`], and what a backend can
//! do: [`Capabilities`].

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

use crate::access::{ClientAccess, ClientLogin};
use crate::diagnose::Diagnosis;
use crate::error::Error;
use crate::listing::Listing;
use crate::plan::{Deleted, Ensured, Plan};
use crate::spec::{CacheKind, CacheName, CacheSpec, NameCase};
use crate::state::CacheState;
use crate::upstream::{PackageFormat, Upstream, UpstreamKind};
use crate::verify::{Probe, Verification};

/// A registry or repository manager that can hold pull-through caches of Chainguard
/// upstreams: Artifactory, Google Artifact Registry, Cloudsmith.
///
/// Object safe, so tools hold a `Box<dyn PullThroughBackend>` and stay vendor-neutral.
///
/// # Contract
///
/// - [`check_spec`](Self::check_spec) makes no request; [`plan`](Self::plan) and
///   [`ensure`](Self::ensure) call it first, so an invalid spec never reaches the network.
/// - [`plan`](Self::plan) only reads.
/// - [`ensure`](Self::ensure) is idempotent: a second call with the same spec returns
///   [`Ensured::Unchanged`] and makes no write. Upstream passwords are written on create
///   and on [`CredentialWrite::Rotate`](crate::CredentialWrite::Rotate), never to compare.
/// - [`describe`](Self::describe) returns `Ok(None)` for an absent cache, not an error.
/// - [`delete`](Self::delete) of an absent cache is [`Deleted::AlreadyAbsent`].
/// - An upstream the backend cannot front is [`Error::Unsupported`], never a silent no-op.
///
/// The `conformance` module (feature `test-util`) checks these rules against any
/// implementation.
///
/// # Example
///
/// ```no_run
/// use pull_through_core::{CacheName, CacheSpec, Ensured, PullThroughBackend, Upstream};
///
/// async fn set_up(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
///     let spec = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
///     println!("{}", backend.plan(&spec).await?);
///     match backend.ensure(&spec).await? {
///         Ensured::Created { .. } => println!("created"),
///         Ensured::Updated { changes, .. } => println!("{} settings changed", changes.len()),
///         Ensured::Unchanged { .. } => println!("already as specified"),
///         _ => {}
///     }
///     Ok(())
/// }
/// ```
#[async_trait]
pub trait PullThroughBackend: Send + Sync + fmt::Debug {
    /// The vendor's short name (`"artifactory"`, `"gar"`, `"cloudsmith"`).
    ///
    /// ```
    /// # use pull_through_core::PullThroughBackend;
    /// fn describe_backend(backend: &dyn PullThroughBackend) -> String {
    ///     format!("{} backend", backend.vendor())
    /// }
    /// ```
    fn vendor(&self) -> &str;

    /// What this backend can front.
    ///
    /// ```
    /// # use pull_through_core::{PullThroughBackend, Support, UpstreamKind};
    /// fn can_front_apk(backend: &dyn PullThroughBackend) -> bool {
    ///     !matches!(backend.capabilities().upstream(UpstreamKind::Apk), Support::Unsupported { .. })
    /// }
    /// ```
    fn capabilities(&self) -> Capabilities;

    /// Checks a spec against the backend's rules (names, supported upstreams) and the
    /// rules every backend shares ([`CacheSpec::validate`]). Makes no request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] or [`Error::Unsupported`].
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// // Check a whole configuration before touching anything.
    /// fn check_all(backend: &dyn PullThroughBackend, specs: &[CacheSpec]) -> Result<(), pull_through_core::Error> {
    ///     specs.iter().try_for_each(|spec| backend.check_spec(spec))
    /// }
    /// ```
    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error>;

    /// What [`ensure`](Self::ensure) would do, field by field, without writing.
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend, spec: &CacheSpec) -> Result<(), pull_through_core::Error> {
    /// let plan = backend.plan(spec).await?;
    /// if plan.has_changes() {
    ///     println!("{plan}");
    /// }
    /// # Ok(()) }
    /// ```
    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error>;

    /// Makes the cache match the spec: creates it, updates what drifted, or leaves it.
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend, spec: &CacheSpec) -> Result<(), pull_through_core::Error> {
    /// let outcome = backend.ensure(spec).await?;
    /// println!("{}: wrote {}", outcome.state().name, outcome.wrote());
    /// # Ok(()) }
    /// ```
    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error>;

    /// The cache as it is, or `None` if there is no cache of that name.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// match backend.describe(&CacheName::new("cgr-public")?).await? {
    ///     Some(state) => println!("upstream {:?}", state.upstream_url()),
    ///     None => println!("no such cache"),
    /// }
    /// # Ok(()) }
    /// ```
    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error>;

    /// Every cache the backend holds that this crate can describe (remote and aggregate
    /// caches of the formats it supports).
    ///
    /// ```
    /// # use pull_through_core::PullThroughBackend;
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// for state in backend.list().await? {
    ///     println!("{} ({})", state.name, state.format);
    /// }
    /// # Ok(()) }
    /// ```
    async fn list(&self) -> Result<Vec<CacheState>, Error>;

    /// Every cache in one listing, taken once at the start of a run over many caches and
    /// handed to [`plan_in`](Self::plan_in), [`ensure_in`](Self::ensure_in) and
    /// [`describe_in`](Self::describe_in), so the run reads each cache at most once (see
    /// [`Listing`]). The default, [`Listing::unknown`], changes nothing: each call reads.
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend, specs: &[CacheSpec]) -> Result<(), pull_through_core::Error> {
    /// let listing = backend.listing().await?;
    /// for spec in specs {
    ///     backend.ensure_in(spec, &listing).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn listing(&self) -> Result<Listing, Error> {
        Ok(Listing::unknown())
    }

    /// [`plan`](Self::plan) within a run that took `listing`. The default plans as
    /// `plan` does.
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend, spec: &CacheSpec) -> Result<(), pull_through_core::Error> {
    /// let listing = backend.listing().await?;
    /// println!("{}", backend.plan_in(spec, &listing).await?);
    /// # Ok(()) }
    /// ```
    async fn plan_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Plan, Error> {
        let _ = listing;
        self.plan(spec).await
    }

    /// [`ensure`](Self::ensure) within a run that took `listing`: what it knows is not
    /// read again, and what is written is kept in it. The default ensures as `ensure`
    /// does.
    ///
    /// ```
    /// # use pull_through_core::{CacheSpec, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend, spec: &CacheSpec) -> Result<(), pull_through_core::Error> {
    /// let listing = backend.listing().await?;
    /// let outcome = backend.ensure_in(spec, &listing).await?;
    /// # Ok(()) }
    /// ```
    async fn ensure_in(&self, spec: &CacheSpec, listing: &Listing) -> Result<Ensured, Error> {
        let _ = listing;
        self.ensure(spec).await
    }

    /// [`describe`](Self::describe) within a run that took `listing`; what is read is kept
    /// in it, so an `ensure_in` of the same cache does not read it again. The default
    /// describes as `describe` does.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// let listing = backend.listing().await?;
    /// let state = backend.describe_in(&CacheName::new("cgr-public")?, &listing).await?;
    /// # Ok(()) }
    /// ```
    async fn describe_in(
        &self,
        name: &CacheName,
        listing: &Listing,
    ) -> Result<Option<CacheState>, Error> {
        let _ = listing;
        self.describe(name).await
    }

    /// Deletes the cache and everything it cached.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, Deleted, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// if backend.delete(&CacheName::new("cgr-public")?).await? == Deleted::AlreadyAbsent {
    ///     println!("nothing to delete");
    /// }
    /// # Ok(()) }
    /// ```
    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error>;

    /// The commands and lines a person uses to pull through the cache, with `login` as the
    /// person's credentials for the backend when it needs them.
    ///
    /// ```
    /// # use pull_through_core::{CacheState, ClientLogin, PullThroughBackend, Reveal};
    /// # fn example(backend: &dyn PullThroughBackend, state: &CacheState) -> Result<(), pull_through_core::Error> {
    /// let login = ClientLogin::new("linky@example.com", "token", "ARTIFACTORY_TOKEN");
    /// println!("{}", backend.client_access(state, Some(&login))?.render(Reveal::Names));
    /// # Ok(()) }
    /// ```
    fn client_access(
        &self,
        state: &CacheState,
        login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error>;

    /// Pulls through the cache as a client would and reports each step. A failed pull is a
    /// failed [`Check`](crate::Check) in the result, with the seeds' hint; `Err` is for
    /// when the verification itself could not run.
    ///
    /// ```
    /// # use pull_through_core::{CacheState, Probe, PullThroughBackend, Upstream};
    /// # async fn example(backend: &dyn PullThroughBackend, state: &CacheState) -> Result<(), pull_through_core::Error> {
    /// let verification = backend.verify(state, &Probe::default_for(&Upstream::CgrPublic)).await?;
    /// for check in &verification.checks {
    ///     println!("{} passed: {}", check.step, check.is_passed());
    /// }
    /// # Ok(()) }
    /// ```
    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error>;

    /// One cheap authenticated read that proves the backend accepts our credentials, so a
    /// tool can report a refused token once, naming where it came from, instead of once
    /// per cache. The default lists the caches; backends override it with something
    /// cheaper.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] or [`Error::PermissionDenied`] when the credentials are
    /// refused; any other error when the backend could not be asked.
    ///
    /// ```no_run
    /// # use pull_through_core::{ErrorKind, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) {
    /// if let Err(err) = backend.check_access().await {
    ///     if matches!(err.kind(), ErrorKind::Unauthenticated | ErrorKind::PermissionDenied) {
    ///         eprintln!("the token in ARTIFACTORY_ACCESS_TOKEN was refused: {err}");
    ///     }
    /// }
    /// # }
    /// ```
    async fn check_access(&self) -> Result<(), Error> {
        self.list().await.map(drop)
    }

    /// Drops from the cache of `name` what `probe` would be answered from, so the next
    /// [`verify`](Self::verify) with it goes upstream: after new credentials are written,
    /// a pull answered from the cache proves nothing about them. Nothing cached is
    /// [`Deleted::AlreadyAbsent`].
    ///
    /// # Errors
    ///
    /// The default is [`Error::Unsupported`], for backends whose cache cannot be cleared
    /// through their API: the caller then knows a check pull may be answered from the
    /// cache, and can say so.
    ///
    /// ```no_run
    /// # use pull_through_core::{CacheName, Probe, PullThroughBackend, Upstream};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// let probe = Probe::default_for(&Upstream::CgrPublic);
    /// backend.forget(&CacheName::new("cgr-public")?, &probe).await?;
    /// # Ok(()) }
    /// ```
    async fn forget(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        let _ = probe;
        Err(Error::Unsupported {
            vendor: self.vendor().to_owned(),
            what: format!("clearing what {name} cached"),
            hint: "a pull through it may be answered from its cache".to_owned(),
        })
    }

    /// The vendor's rules for the cache `name` (the tutorials' debugging checks) that it
    /// breaks, each named with what to do; empty when it breaks none or the backend has
    /// no such rules. Read only.
    ///
    /// ```no_run
    /// # use pull_through_core::{CacheName, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// for diagnosis in backend.diagnose(&CacheName::new("cgr-public")?).await? {
    ///     println!("{diagnosis}");
    /// }
    /// # Ok(()) }
    /// ```
    async fn diagnose(&self, name: &CacheName) -> Result<Vec<Diagnosis>, Error> {
        let _ = name;
        Ok(Vec::new())
    }

    /// Whether a remote whose upstream URL reads `upstream_url` fronts `upstream`, as this
    /// backend spells it: tools that must not touch a cache fronting something else
    /// (`destroy`) ask this rather than compare URLs. The default is
    /// [`Upstream::matches_url`] (one trailing `/` aside, the catalogue's URL); a vendor
    /// that spells an upstream its own way (Cloudsmith's public upstream is
    /// `https://cgr.dev/chainguard`) overrides it.
    ///
    /// ```no_run
    /// # use pull_through_core::{PullThroughBackend, Upstream};
    /// # fn example(backend: &dyn PullThroughBackend) {
    /// assert!(backend.fronts(&Upstream::CgrPublic, "https://cgr.dev/"));
    /// # }
    /// ```
    fn fronts(&self, upstream: &Upstream, upstream_url: &str) -> bool {
        upstream.matches_url(upstream_url)
    }

    /// Retires the copies of the upstream password the cache of `name` no longer uses,
    /// once a rotation's check pull has passed with the new one, and says what it retired
    /// (one line each). Backends that keep no copies (Artifactory stores one password in
    /// place) retire nothing: the default. Google Artifact Registry keeps each password as
    /// a Secret Manager version; the old ones are disabled here rather than when the new
    /// one is written, so that a rotation whose check pull fails leaves them usable.
    ///
    /// # Errors
    ///
    /// Any error of the backend's API; the rotation itself has already succeeded, so a
    /// caller reports it and carries on.
    ///
    /// ```no_run
    /// # use pull_through_core::{CacheName, PullThroughBackend};
    /// # async fn example(backend: &dyn PullThroughBackend) -> Result<(), pull_through_core::Error> {
    /// for retired in backend.retire_credentials(&CacheName::new("cgr-private")?).await? {
    ///     println!("retired {retired}");
    /// }
    /// # Ok(()) }
    /// ```
    async fn retire_credentials(&self, name: &CacheName) -> Result<Vec<String>, Error> {
        let _ = name;
        Ok(Vec::new())
    }
}

/// How well a backend supports an upstream.
///
/// ```
/// use pull_through_core::{Capabilities, NameCase, Support, UpstreamKind};
/// let caps = Capabilities::new("cloudsmith", NameCase::Sensitive).with_upstream(
///     UpstreamKind::Apk,
///     Support::Unproven { note: "no source shows an Alpine upstream of apk.cgr.dev working".into() },
/// );
/// assert!(matches!(caps.upstream(UpstreamKind::Apk), Support::Unproven { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// Works, as the seeds show.
    Supported,
    /// The vendor's API accepts it but nobody has shown it working with Chainguard; plans
    /// carry the note.
    Unproven {
        /// Why it is unproven.
        note: String,
    },
    /// The backend cannot front it.
    Unsupported {
        /// Why, and what to use instead.
        reason: String,
    },
}

/// What a backend can front, for callers to check before they plan.
///
/// ```
/// use pull_through_core::{Capabilities, NameCase, Support, UpstreamKind, PackageFormat};
///
/// let caps = Capabilities::new("gar", NameCase::Sensitive)
///     .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
///     .with_upstream(UpstreamKind::CgrPrivate, Support::Supported);
/// assert!(matches!(caps.upstream(UpstreamKind::Apk), Support::Unsupported { .. }));
/// assert!(!caps.supports_aggregate(PackageFormat::Docker));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The vendor.
    pub vendor: String,
    /// How the backend compares cache names.
    pub name_case: NameCase,
    upstreams: BTreeMap<UpstreamKind, Support>,
    aggregates: Vec<PackageFormat>,
}

impl Capabilities {
    /// A backend that supports nothing yet.
    ///
    /// ```
    /// # use pull_through_core::{Capabilities, NameCase, Support, UpstreamKind};
    /// let caps = Capabilities::new("artifactory", NameCase::Insensitive);
    /// assert!(matches!(caps.upstream(UpstreamKind::CgrPublic), Support::Unsupported { .. }));
    /// ```
    pub fn new(vendor: impl Into<String>, name_case: NameCase) -> Self {
        Capabilities {
            vendor: vendor.into(),
            name_case,
            upstreams: BTreeMap::new(),
            aggregates: Vec::new(),
        }
    }

    /// Declares the support for one upstream kind.
    ///
    /// ```
    /// # use pull_through_core::{Capabilities, NameCase, Support, UpstreamKind};
    /// let caps = Capabilities::new("gar", NameCase::Sensitive)
    ///     .with_upstream(UpstreamKind::CgrPublic, Support::Supported);
    /// assert_eq!(caps.upstream(UpstreamKind::CgrPublic), Support::Supported);
    /// ```
    pub fn with_upstream(mut self, kind: UpstreamKind, support: Support) -> Self {
        self.upstreams.insert(kind, support);
        self
    }

    /// Declares that aggregate caches of this format are supported.
    ///
    /// ```
    /// # use pull_through_core::{Capabilities, NameCase, PackageFormat};
    /// let caps = Capabilities::new("artifactory", NameCase::Insensitive).with_aggregate(PackageFormat::Docker);
    /// assert!(caps.supports_aggregate(PackageFormat::Docker));
    /// ```
    pub fn with_aggregate(mut self, format: PackageFormat) -> Self {
        if !self.aggregates.contains(&format) {
            self.aggregates.push(format);
        }
        self
    }

    /// The support for an upstream kind; undeclared kinds are unsupported.
    ///
    /// ```
    /// # use pull_through_core::{Capabilities, NameCase, Support, UpstreamKind};
    /// let caps = Capabilities::new("gar", NameCase::Sensitive);
    /// let Support::Unsupported { reason } = caps.upstream(UpstreamKind::Apk) else { unreachable!() };
    /// assert_eq!(reason, "gar has no remote repository type for apk.cgr.dev/<org name>");
    /// ```
    pub fn upstream(&self, kind: UpstreamKind) -> Support {
        self.upstreams
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| Support::Unsupported {
                reason: format!("{} has no remote repository type for {kind}", self.vendor),
            })
    }

    /// Whether aggregate caches of this format are supported.
    ///
    /// ```
    /// # use pull_through_core::{Capabilities, NameCase, PackageFormat};
    /// let caps = Capabilities::new("gar", NameCase::Sensitive);
    /// assert!(!caps.supports_aggregate(PackageFormat::Apk));
    /// ```
    pub fn supports_aggregate(&self, format: PackageFormat) -> bool {
        self.aggregates.contains(&format)
    }

    /// Refuses a spec this backend cannot hold.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] saying what and why.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, Capabilities, Error, NameCase, Upstream};
    /// let caps = Capabilities::new("gar", NameCase::Sensitive);
    /// let spec = CacheSpec::remote(CacheName::new("wolfi")?, Upstream::Wolfi);
    /// let err = caps.check(&spec).unwrap_err();
    /// assert!(matches!(err, Error::Unsupported { .. }));
    /// assert!(err.to_string().starts_with("gar does not support a cache of packages.wolfi.dev/os"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn check(&self, spec: &CacheSpec) -> Result<(), Error> {
        match &spec.kind {
            CacheKind::Remote(remote) => match self.upstream(remote.upstream.kind()) {
                Support::Unsupported { reason } => Err(Error::Unsupported {
                    vendor: self.vendor.clone(),
                    what: format!("a cache of {}", remote.upstream),
                    hint: reason,
                }),
                _ => Ok(()),
            },
            CacheKind::Aggregate(aggregate) if !self.supports_aggregate(aggregate.format) => {
                Err(Error::Unsupported {
                    vendor: self.vendor.clone(),
                    what: format!("aggregate caches of {} packages", aggregate.format),
                    hint: "point clients at the member caches directly".to_owned(),
                })
            }
            CacheKind::Aggregate(_) => Ok(()),
        }
    }

    /// The note a plan for this spec carries, when its upstream is unproven.
    ///
    /// ```
    /// # use pull_through_core::{CacheName, CacheSpec, Capabilities, NameCase, Support, Upstream, UpstreamKind};
    /// let caps = Capabilities::new("cloudsmith", NameCase::Sensitive)
    ///     .with_upstream(UpstreamKind::Wolfi, Support::Unproven { note: "untested".into() });
    /// let spec = CacheSpec::remote(CacheName::new("wolfi")?, Upstream::Wolfi);
    /// assert_eq!(caps.note_for(&spec).as_deref(), Some("untested"));
    /// # Ok::<(), pull_through_core::ValidationError>(())
    /// ```
    pub fn note_for(&self, spec: &CacheSpec) -> Option<String> {
        let upstream = spec.upstream()?;
        match self.upstream(upstream.kind()) {
            Support::Unproven { note } => Some(note),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::Upstream;

    #[test]
    fn check_refuses_unsupported_with_typed_errors() {
        let caps = Capabilities::new("gar", NameCase::Sensitive)
            .with_upstream(UpstreamKind::CgrPublic, Support::Supported)
            .with_upstream(
                UpstreamKind::Wolfi,
                Support::Unproven {
                    note: "untested".into(),
                },
            );
        let apk = CacheSpec::remote(
            CacheName::new("a").unwrap(),
            "apk.cgr.dev/chainguard".parse().unwrap(),
        );
        let err = caps.check(&apk).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }));
        assert!(err.to_string().contains("apk.cgr.dev/chainguard"), "{err}");

        let agg = CacheSpec::aggregate(
            CacheName::new("v").unwrap(),
            PackageFormat::Docker,
            vec![CacheName::new("a").unwrap()],
        );
        assert!(matches!(caps.check(&agg), Err(Error::Unsupported { .. })));

        let wolfi = CacheSpec::remote(CacheName::new("w").unwrap(), Upstream::Wolfi);
        assert!(caps.check(&wolfi).is_ok());
        assert_eq!(caps.note_for(&wolfi).as_deref(), Some("untested"));
    }

    #[test]
    fn trait_is_object_safe() {
        fn accepts(_: Option<Box<dyn PullThroughBackend>>) {}
        accepts(None);
    }
}
