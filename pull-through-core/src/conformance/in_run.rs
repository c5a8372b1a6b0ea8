//! [`InRun`]: a backend whose every call is a run of its own, through a fresh listing, so
//! the suite holds of `plan_in`, `ensure_in` and `describe_in` as of their plain forms.

use async_trait::async_trait;

use crate::access::{ClientAccess, ClientLogin};
use crate::backend::{Capabilities, PullThroughBackend};
use crate::diagnose::Diagnosis;
use crate::error::Error;
use crate::plan::{Deleted, Ensured, Plan};
use crate::spec::{CacheName, CacheSpec};
use crate::state::CacheState;
use crate::upstream::Upstream;
use crate::verify::{Probe, Verification};

/// `plan`, `ensure` and `describe` of the backend inside, each through a
/// [`listing`](PullThroughBackend::listing) of its own and the backend's `plan_in`,
/// `ensure_in` and `describe_in`; every other call passed through. Run the suite on it
/// beside the backend itself.
///
/// ```no_run
/// # async fn example(backend: std::sync::Arc<dyn pull_through_core::PullThroughBackend>,
/// #     log: &dyn pull_through_core::conformance::RequestLog, fixtures: &pull_through_core::conformance::Fixtures) {
/// use pull_through_core::conformance::{InRun, run_all};
/// run_all(&InRun(backend), log, fixtures).await;
/// # }
/// ```
#[derive(Debug)]
pub struct InRun<B>(pub B);

#[async_trait]
impl<B> PullThroughBackend for InRun<B>
where
    B: std::ops::Deref + Send + Sync + std::fmt::Debug,
    B::Target: PullThroughBackend,
{
    fn vendor(&self) -> &str {
        self.0.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn check_spec(&self, spec: &CacheSpec) -> Result<(), Error> {
        self.0.check_spec(spec)
    }
    async fn plan(&self, spec: &CacheSpec) -> Result<Plan, Error> {
        // A bad spec sends no request: checked before the listing.
        self.0.check_spec(spec)?;
        self.0.plan_in(spec, &self.0.listing().await?).await
    }
    async fn ensure(&self, spec: &CacheSpec) -> Result<Ensured, Error> {
        self.0.check_spec(spec)?;
        self.0.ensure_in(spec, &self.0.listing().await?).await
    }
    async fn describe(&self, name: &CacheName) -> Result<Option<CacheState>, Error> {
        self.0.describe_in(name, &self.0.listing().await?).await
    }
    async fn list(&self) -> Result<Vec<CacheState>, Error> {
        self.0.list().await
    }
    async fn delete(&self, name: &CacheName) -> Result<Deleted, Error> {
        self.0.delete(name).await
    }
    fn client_access(
        &self,
        state: &CacheState,
        login: Option<&ClientLogin>,
    ) -> Result<ClientAccess, Error> {
        self.0.client_access(state, login)
    }
    async fn verify(&self, state: &CacheState, probe: &Probe) -> Result<Verification, Error> {
        self.0.verify(state, probe).await
    }
    async fn check_access(&self) -> Result<(), Error> {
        self.0.check_access().await
    }
    async fn forget(&self, name: &CacheName, probe: &Probe) -> Result<Deleted, Error> {
        self.0.forget(name, probe).await
    }
    async fn diagnose(&self, name: &CacheName) -> Result<Vec<Diagnosis>, Error> {
        self.0.diagnose(name).await
    }
    fn fronts(&self, upstream: &Upstream, upstream_url: &str) -> bool {
        self.0.fronts(upstream, upstream_url)
    }
    async fn retire_credentials(&self, name: &CacheName) -> Result<Vec<String>, Error> {
        self.0.retire_credentials(name).await
    }
}
