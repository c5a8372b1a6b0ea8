//! Cloudsmith client for Chainguard pull-through caches: what the tutorial "How to set up
//! pull through from Chainguard's registry to Cloudsmith" (seed 004) makes a person click,
//! in code.
//!
//! | tutorial step | API call | here |
//! |---|---|---|
//! | create a private repository | `POST /repos/{owner}/` with `repository_type_str: "Private"` (the API's default is `Public`) | [`CloudsmithClient::ensure_repository`], [`RepositoryCreate::private`] |
//! | add an upstream `https://cgr.dev/chainguard`, priority 1, mode Cache and Proxy, Verify SSL | `POST /repos/{owner}/{repo}/upstream/docker/` | [`CloudsmithClient::create_upstream`], [`DockerUpstreamRequest::public`] |
//! | for an organization's images, an upstream `https://cgr.dev` ("any other URL here will cause an error") with Username and Password from a pull token | the same, `auth_mode: "Username and Password"` | [`DockerUpstreamRequest::private`] |
//! | … in the same repository or a new one | | [`Layout`] |
//! | `docker login docker.cloudsmith.io` with the user slug and the API key | | [`CloudsmithBackend`]'s client access |
//! | `docker pull docker.cloudsmith.io/ORG/REPO/nginx:latest` | registry `GET /v2/ORG/REPO/nginx/manifests/latest` | client access, verification |
//! | `docker pull docker.cloudsmith.io/ORG/REPO/<org registry>/python:3.9-dev` | the same below the organization's name | client access, verification |
//! | the pull token expires: give the upstream a new one | `PATCH .../upstream/docker/{slug_perm}/` with `auth_secret` (and `auth_username` when the new token is another identity) | [`CloudsmithClient::update_upstream`], a rotating spec |
//! | check the key | `GET /user/self/`, `authenticated: true` | [`CloudsmithClient::check_key`] |
//!
//! Every call sends `X-Api-Key`, keeps the spec's trailing slashes, reads every page of a
//! list (`Link` / `X-Pagination-*`), goes through the core's retry policy (429 with
//! `Retry-After`) and waits when `X-RateLimit-Remaining` reaches 0 (the core's pacing,
//! [`pull_through_core::http::rate_limit_wait`]). A create is never repeated blindly: it
//! is the core's at-most-once request, and after a 5xx or a lost answer the client reads
//! first (a duplicate can come back as a bare 500). Error bodies (`detail`, `fields`, `code`)
//! become the core's errors naming the refused fields ([`CloudsmithErrors`]). Bad input is
//! refused before any request: slugs ([`REPOSITORY_SLUG_RULES`]), upstream names
//! ([`UPSTREAM_NAME_RULES`]), priorities ([`check_priority`]), and any upstream URL but the
//! two above ([`check_upstream_url`]). APK upstreams are refused: Cloudsmith has an
//! Alpine upstream, but no source shows it working with `apk.cgr.dev`.
//!
//! # How caches map to Cloudsmith
//!
//! **A remote cache is a Docker upstream named after the cache; which repository holds it
//! is the backend's [`Layout`].** Without a shared repository ([`Layout::OwnRepository`],
//! the seed's "new repository"), each cache is a private repository of its own, named after
//! the cache, holding that one upstream. With one ([`Layout::Shared`], the seed's "same
//! repository", `repository = "NAME"` in a config), every cache of the backend is an
//! upstream of that one repository, and an **aggregate named after the repository** is the
//! order of the repository's upstreams: its members are the upstreams in the order they
//! are tried, and ensuring it sets each member's priority to its position (1 first). The
//! aggregate exists while the repository's description ends in this crate's marker line
//! (`[pull-through: aggregate, the order of these upstreams]`, after the aggregate's own
//! description and a blank line), which its ensure writes and its delete removes. Without
//! an aggregate, upstreams are created with priority 1 for public images and 2 for an
//! organization's (public before private, as the seed gives the public one priority 1).
//!
//! Why: Cloudsmith has no virtual repository, so the thing that serves several upstreams in
//! order *is* a repository with several upstreams; the repository's description is the one
//! place the API lets it record that an aggregate was asked for (so that `describe` of the
//! aggregate is `None` until it is ensured and after it is deleted, and deleting it touches
//! no other cache); and whether caches share one is a property of how a person sets the
//! backend up, not of one cache, so it is a backend setting rather than a field every
//! cache would have to repeat consistently. An upstream
//! named after its cache is found again by name on every run (a re-run never makes a
//! duplicate); in a repository of its own, the one upstream of a Chainguard URL a person
//! set up by hand is taken over (a plan shows it renamed) rather than duplicated, though
//! `list` claims only repositories holding an upstream named after them of a Chainguard
//! URL (what `ensure` makes), never a person's. In the
//! shared repository upstreams are matched by name only: two organizations' caches both
//! front `https://cgr.dev` there, so a URL names no single cache.
//!
//! What follows, keeping the trait's contract (a second `ensure` writes nothing; `describe`
//! after `delete` is `None`):
//!
//! - The repository is created (Private, storage region `default` unless set) when the
//!   first cache that needs it is ensured.
//! - In the shared repository a remote's priority is written on create only: the order
//!   belongs to the aggregate, and a remote that compared it would undo the aggregate's
//!   order on every run. In a repository of its own the priority (1) is compared.
//! - A cache's description is its repository's, so only caches with a repository of their
//!   own and the aggregate have one (the aggregate's without the marker line).
//! - `delete` of a remote removes its upstream, then its repository when nothing else keeps
//!   it: in a repository of its own, no other upstream; in the shared repository, no other
//!   upstream and no aggregate marker. A repository that is kept is named in a warning with
//!   what keeps it. `delete` of the aggregate removes the marker only (and with it the
//!   claim on the order; the priorities stay as they are), never an upstream: its members
//!   are other caches. The shared repository goes with whichever delete leaves it holding
//!   neither an upstream nor the marker. A repository a run that died half-way left
//!   holding no upstream at all goes with the next delete of its cache. Before a
//!   repository goes, the delete also reads its upstreams of every other format the
//!   reference names and, when `package_count` says it has packages, looks for one that
//!   is not a Docker image; either keeps the repository. (Limitation: the API does not
//!   tell an image cached through an upstream from one a person pushed, so Docker images
//!   pushed by hand into a cache's repository go with it.)
//! - An aggregate neither adds nor removes upstreams: one whose members are not all the
//!   repository's upstreams is refused with what to do, before any write; `describe` of it
//!   lists every upstream as a member, so `pull-through destroy`, which compares the
//!   members with the config's, reports upstreams the config does not describe.
//! - Pull references: through the public upstream without the `chainguard/` prefix
//!   (`docker.cloudsmith.io/OWNER/REPO/nginx:latest`); through `https://cgr.dev` with the
//!   organization's registry name first (`docker.cloudsmith.io/OWNER/REPO/<org>/...`;
//!   client access prints `chainguard-base:latest` there, which every organization has,
//!   where the seed's example is `python:3.9-dev`). Probes name images as on cgr.dev
//!   (`chainguard/go`): through the public upstream the namespace is dropped.
//!
//! ```no_run
//! use cloudsmith_client::{CloudsmithBackend, CloudsmithClient, Layout};
//! use pull_through_core::{CacheName, CacheSpec, PackageFormat, PullThroughBackend, Upstream};
//!
//! # async fn example(pull_token: pull_through_core::UpstreamCredentials) -> Result<(), Box<dyn std::error::Error>> {
//! // The seed's "same repository": both upstreams in `chainguard`, public images first.
//! let backend = CloudsmithBackend::new(CloudsmithClient::builder().from_env().build()?)
//!     .with_layout(Layout::shared("chainguard")?)
//!     .with_org("example.com".parse()?);
//! let public = CacheSpec::remote(CacheName::new("cgr-public")?, Upstream::CgrPublic);
//! let private = CacheSpec::remote(CacheName::new("cgr-private")?, "cgr.dev/example.com".parse()?)
//!     .with_credentials(pull_token);
//! let order = CacheSpec::aggregate(CacheName::new("chainguard")?, PackageFormat::Docker,
//!     vec![public.name.clone(), private.name.clone()]);
//! for spec in [&public, &private, &order] {
//!     println!("{}", backend.ensure(spec).await?);
//! }
//! # Ok(()) }
//! ```

mod access;
mod backend;
mod bodies;
mod builder;
mod check;
mod client;
mod error;
#[cfg(feature = "fleet")]
mod fleet;
mod holdings;
mod layout;
mod listing;
mod marker;
mod model;
mod order;
mod packages;
mod reconcile;
mod repositories;
mod rules;
mod teardown;
mod upstreams;

pub use backend::CloudsmithBackend;
pub use bodies::{DockerUpstreamPatch, DockerUpstreamRequest, RepositoryCreate, RepositoryPatch};
pub use builder::{
    API_KEY_VAR, API_URL_VAR, CloudsmithBuilder, DEFAULT_API_URL, DEFAULT_DOCKER_URL,
    DEFAULT_REPLICATION_WAIT, DOCKER_URL_VAR, OWNER_VAR, USER_VAR,
};
pub use check::{UpstreamProblem, upstream_problems};
pub use client::CloudsmithClient;
pub use error::CloudsmithErrors;
#[cfg(feature = "fleet")]
pub use fleet::CloudsmithFactory;
pub use layout::Layout;
pub use model::{
    AuthMode, DEFAULT_STORAGE_REGION, DockerUpstream, Mode, Package, Repository, RepositoryType,
    UserBrief,
};
pub use rules::{
    IDENTIFIER_RULES, PRIORITY_RANGE, PRIVATE_UPSTREAM_URL, PUBLIC_UPSTREAM_URL,
    REPOSITORY_SLUG_RULES, UPSTREAM_NAME_RULES, check_priority, check_storage_region,
    check_upstream_url, upstream_url_for,
};
