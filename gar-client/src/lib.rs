//! Google Artifact Registry client for Chainguard pull-through caches: what Chainguard's
//! tutorial "How to set up pull through from Chainguard's registry to Google Artifact
//! Registry" makes a person click, in code, plus the IAM grant the tutorial leaves out.
//!
//! - [`GarClient`] calls Artifact Registry v1 (remote and virtual Docker repositories,
//!   their long-running operations, cached packages), Secret Manager v1 (the secret that
//!   holds a pull token's password, its versions), IAM on that secret, and Resource
//!   Manager (the project number that names the service agent). [`GarBuilder`] records
//!   the project, location, token source and endpoints; [`GarBuilder::from_env`] reads the
//!   variables below.
//! - [`auth`]: the [`TokenSource`](auth::TokenSource) the client holds, a static access
//!   token ([`StaticToken`](auth::StaticToken)) or Application Default Credentials
//!   ([`ApplicationDefault`](auth::ApplicationDefault), through `gcp_auth`: service-account
//!   key files, gcloud's user credentials, the metadata server, the gcloud CLI; not
//!   workload identity federation).
//! - Project ids, locations, repository ids and secret ids are checked before any request
//!   ([`check_project_id`], [`check_location`], [`check_repository_id`],
//!   [`check_secret_id`]).
//! - [`GarBackend`] is the core's `PullThroughBackend`: plans and ensures by field diff,
//!   writes the password only on create, username change and rotation, keeps the service
//!   agent's grant on the secret (a reconciled field, shown by `plan`), prints client access
//!   as the tutorial does, verifies with a pull through the Docker registry, and diagnoses
//!   with the tutorial's debugging hints.
//!
//! Google Artifact Registry has no remote repository type for APK packages: a cache of
//! `apk.cgr.dev`, `virtualapk.cgr.dev` or Wolfi is refused as `Error::Unsupported` at
//! check time.
//!
//! # The tutorial, step by step
//!
//! | tutorial step | API |
//! |---|---|
//! | create a remote Docker repository, custom upstream `https://cgr.dev/`, location `us-central1` | [`GarClient::create_repository`] (`POST v1/projects/P/locations/L/repositories?repositoryId=`, an operation polled until done) with [`model::Repository::remote_docker`] |
//! | pull `chainguard/go` through it | [`GarBackend`]'s `verify`: `GET /v2/P/REPO/chainguard/go/manifests/latest` on `L-docker.pkg.dev`, logged in as `oauth2accesstoken` |
//! | store the pull token's password | [`GarClient::ensure_secret`], [`GarClient::add_secret_version`] (base64 payload, `dataCrc32c`) |
//! | (left out by the tutorial) let Artifact Registry read it | [`GarClient::project_number`], [`GarClient::grant_secret_accessor`] (`getIamPolicy` / `setIamPolicy` with the etag) |
//! | edit the repository: Authenticated, username, secret version | [`GarClient::patch_repository`] with `updateMask=remoteRepositoryConfig.upstreamCredentials` |
//! | rotate the pull token | a new version, the PATCH of the pin, then (once a pull passed) [`GarClient::disable_old_versions`] |
//! | a virtual repository over both | [`model::Repository::virtual_docker`] (`upstreamPolicies`, the first member highest) |
//! | delete | [`GarClient::delete_repository`], [`GarClient::delete_secret`] |
//!
//! # A cache's secret
//!
//! The password of the private cache `REPO` is kept in the secret `pull-through-REPO`
//! ([`secret_id_for`]) in the client's project, with automatic replication. The
//! repository pins one version of it by number
//! (`projects/PROJECT/secrets/pull-through-REPO/versions/N`). A new password is a new
//! version, pinned; the version pinned before stays enabled (so it can be pinned back)
//! until a pull with the new one has passed and the rotation retires it
//! ([`GarClient::disable_old_versions`], the backend's `retire_credentials`); versions a
//! run that stopped half way added, which nothing pins, are disabled at the next write of
//! the cache's credentials (a rotation, a username change, the repair of a pin that
//! cannot be read) or by `retire_credentials`. Until then they stay enabled: a plan or
//! an ensure with nothing to write reads only the pinned version, not the list (one
//! request per cache, not a page of versions), and cannot tell such a version from the
//! one a rotation pinned before, which must stay enabled until its check pull has
//! passed. They hold a password of the spec, readable only by who may read the secret.
//! Removing a cache's credentials, or deleting the cache, deletes the secret.
//!
//! # Variables
//!
//! | variable | what |
//! |---|---|
//! | `GOOGLE_CLOUD_PROJECT` | the project id |
//! | `GOOGLE_CLOUD_LOCATION` | the location (`us-central1`, or `us`, `europe`, `asia`) |
//! | `GOOGLE_OAUTH_ACCESS_TOKEN` | a static access token; when unset, Application Default Credentials |
//! | `GOOGLE_CLOUD_QUOTA_PROJECT` | a project id, sent as `x-goog-user-project` (gcloud's ADC file's `quota_project_id` is not read) |
//! | `CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY`, `..._SECRETMANAGER`, `..._CLOUDRESOURCEMANAGER` | root URLs of the APIs (gcloud's own overrides) |
//! | `GAR_DOCKER_REGISTRY_URL` | root URL of the Docker registry |
//!
//! ```no_run
//! use gar_client::{GarBackend, GarClient};
//! use pull_through_core::{CacheName, CacheSpec, PullThroughBackend, Upstream};
//!
//! # async fn example() -> Result<(), pull_through_core::Error> {
//! let backend = GarBackend::new(GarClient::builder().from_env().build()?);
//! let spec = CacheSpec::remote(CacheName::new("chainguard-pull-through")?, Upstream::CgrPublic);
//! println!("{}", backend.plan(&spec).await?);
//! backend.ensure(&spec).await?;
//! # Ok(()) }
//! ```

pub mod auth;
mod backend;
mod backoff;
mod builder;
mod client;
mod credentials;
mod diagnose;
mod error;
#[cfg(feature = "fleet")]
mod fleet;
mod iam;
mod listing;
pub mod model;
mod operations;
mod pages;
mod projects;
mod reconcile;
mod repositories;
mod rules;
mod secrets;

pub use backend::GarBackend;
pub use backoff::Backoff;
pub use builder::{
    ARTIFACT_REGISTRY_URL_VAR, DOCKER_REGISTRY_URL_VAR, GarBuilder, LOCATION_VAR, PROJECT_VAR,
    QUOTA_PROJECT_VAR, RESOURCE_MANAGER_URL_VAR, SECRET_MANAGER_URL_VAR,
};
pub use client::GarClient;
pub use error::{DockerErrors, GoogleErrors};
#[cfg(feature = "fleet")]
pub use fleet::GarFactory;
pub use iam::Grant;
pub use projects::service_agent_member;
pub use rules::{
    PROJECT_ID_RULES, REPOSITORY_ID_RULES, SECRET_ID_RULES, SECRET_PREFIX, check_location,
    check_project_id, check_repository_id, check_secret_id, secret_id_for,
};
pub use secrets::crc32c;
