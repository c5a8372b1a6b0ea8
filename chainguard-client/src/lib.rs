//! Chainguard platform client for pull-through: what Chainguard's pull-through tutorials
//! do with `chainctl`, in code.
//!
//! | chainctl | here |
//! |---|---|
//! | `chainctl iam organizations list` | [`ChainguardClient::list_organizations`], [`ChainguardClient::resolve_organization`] |
//! | `chainctl iam roles list` | [`ChainguardClient::list_roles`], [`ChainguardClient::find_builtin_role`] |
//! | `chainctl auth pull-token --parent ORG [--repository apk]` | [`ChainguardClient::create_pull_token`], [`PullToken`] renderings (`-o env`, `docker login`, JSON) |
//! | `chainctl auth pull-token list`, revoke | [`ChainguardClient::list_pull_tokens`], [`ChainguardClient::revoke_pull_token`], [`ChainguardClient::prune_expired_pull_tokens`] |
//! | `chainctl iam role-bindings create ... --role=apk.pull` | [`ChainguardClient::create_role_binding`]; [`ChainguardClient::create_role_binding_for_new_identity`] retries while a new identity propagates |
//! | `chainctl auth token --audience apk.cgr.dev` | [`ChainguardClient::token`] |
//! | `chainctl auth status` | [`ChainguardClient::status`], [`ChainguardClient::require_capability`] |
//! | `docker login cgr.dev` with a pull token | [`RegistryAuth::pull_token`] (challenge flow) |
//!
//! Tokens come from a [`auth::TokenSource`]: `CHAINGUARD_TOKEN`, chainctl's cache, an OIDC
//! exchange for an assumed identity (a token file, a variable, or GitHub Actions), or a
//! refresh token; each is cached per audience until shortly before it expires. Errors are
//! the core's, with Chainguard's `google.rpc.Status` envelope read by [`RpcStatus`].
//!
//! ```no_run
//! use chainguard_client::{ChainguardClient, PullTokenOptions};
//! use pull_through_core::PullTokenRole;
//!
//! # async fn example() -> Result<(), pull_through_core::Error> {
//! let client = ChainguardClient::builder().from_env()?.build()?;
//! let org = client.resolve_organization("example.com").await?;
//! let token = client.create_pull_token(&org, PullTokenOptions::new(PullTokenRole::ApkPull)).await?;
//! // Hand the credentials to a backend's CacheSpec; print only the shown form.
//! let credentials = token.credentials()?;
//! println!("{}", token.env_lines());
//! # Ok(()) }
//! ```

pub mod auth;
mod client;
pub mod model;
mod pull_token;
mod rpc;
mod tokens;

pub use client::{
    ChainguardBuilder, ChainguardClient, DEFAULT_API_URL, DEFAULT_ISSUER_URL, KeySize,
    PullTokenInfo, is_child_id,
};
/// Moved to the core, where the caches' registries use it too; kept here for existing callers.
pub use pull_through_core::registry::{BearerChallenge, RegistryAuth, parse_bearer_challenge};
pub use pull_token::{DEFAULT_TTL, MAX_TTL, PULL_TOKEN_AUDIENCE, PullToken, PullTokenOptions};
pub use rpc::RpcStatus;
