//! The flows of **pull-through** as a library: a declarative config of Chainguard
//! pull-through caches, and `plan`, `apply`, `verify`, `status`, `rotate` and `destroy`
//! over any backends, with the pull-token lifecycle owned here.
//!
//! This crate knows no vendor. A backend's `[backends.NAME]` table is read by the
//! [`BackendFactory`] its vendor crate provides (`artifactory_client::ArtifactoryFactory`
//! with the `fleet` feature), registered in [`Factories`]; pull tokens come from any
//! [`PullTokens`](pull_through_core::tokens::PullTokens) (`chainguard_client::ChainguardClient`
//! implements it).
//!
//! - [`Config::parse`]: TOML, checked as a whole before any request; every problem names
//!   `file:line: field:` and what is allowed there.
//! - [`Deployment::connect`]: builds the backends, checks every cache against its
//!   backend's rules, checks each backend's credentials once, resolves the organization.
//! - The flows are [`Deployment`]'s methods; their results are serde types, and a cache's
//!   failure is in its outcome while the others go on.
//!
//! # Pull tokens
//!
//! One pull token per cache of a private upstream, tagged in its identity's description
//! (`pull-through config=NAME cache=KEY`). Which token a cache uses is read from the
//! backend (the username it stores), so a run that stopped half way is recognised on the
//! next: a token made for a cache that then failed is revoked again, stale and expired
//! tokens are revoked once the cache holds a working one, and a cache that keeps its token
//! is never rewritten (its password is not compared, and not written).
//!
//! The results are plain structs with public fields, so that tools can build them in
//! their own tests of what they render; while the crate is 0.x a field may be added in a
//! minor version. Enums are `#[non_exhaustive]`.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use pull_through_core::tokens::PullTokens;
//! use pull_through_fleet::{Config, Deployment, Environment, Factories, NoProgress};
//!
//! # async fn example(factories: Factories, tokens: Arc<dyn PullTokens>) -> Result<(), pull_through_fleet::FleetError> {
//! let text = std::fs::read_to_string("pull-through.toml").expect("readable");
//! let config = Config::parse("pull-through.toml", &text, &factories)?;
//! let deployment = Deployment::connect(config, &factories, &Environment::Process, tokens, None, 4).await?;
//! for plan in deployment.plan().await? {
//!     println!("{:?}", plan.plan);
//! }
//! for outcome in deployment.apply(&NoProgress).await? {
//!     println!("{}: {:?}", outcome.cache, outcome.result);
//! }
//! let failed = deployment.verify(&NoProgress).await.iter().filter(|v| !v.passed).count();
//! println!("{failed} caches failed to pull through");
//! # Ok(()) }
//! ```

mod config;
mod deployment;
mod env;
mod error;
mod factory;
mod flows;
mod progress;

pub use config::{CacheConfig, CacheIntent, Config, ConfigError, UpstreamTemplate};
pub use deployment::{Deployment, NEW_PULL_TOKEN};
pub use env::Environment;
pub use error::FleetError;
pub use factory::{
    BackendFactory, BackendTable, ConnectContext, Connected, Factories, Setting, TableField,
};
pub use flows::access::CacheAccess;
pub use flows::destroy::Destroyed;
pub use flows::outcome::{CacheOutcome, Outcome, TokenOutcome};
pub use flows::plan::{CachePlan, TokenPlan};
pub use flows::status::{CacheStatus, Status};
pub use flows::tokens::{OwnedToken, remaining};
pub use flows::verify::CacheVerification;
pub use progress::{NoProgress, Progress};
