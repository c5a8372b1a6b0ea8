//! Pulls through a Docker cache as a client makes them, shared by every backend: the
//! manifest probe [`manifest_check`] and the `docker pull` references
//! [`docker_pulls`] that client access prints. (The APK half lives in `apk-repo`, whose
//! `RepoClient` already fetches the way apk-tools does.)

use std::time::Instant;

use http::{HeaderValue, header};

use crate::access::AccessItem;
use crate::http::RequestBuilder;
use crate::state::{CacheRole, CacheState};
use crate::upstream::OrgName;
use crate::verify::Check;

/// The media types a Docker or OCI client accepts for a manifest: an index first, as
/// cgr.dev serves multi-platform images.
///
/// ```
/// assert!(pull_through_core::pull::MANIFEST_ACCEPT.starts_with("application/vnd.oci.image.index.v1+json"));
/// ```
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// Sends `request` (a `GET` of `.../v2/<image>/manifests/<reference>`, already
/// authorized the way the backend's registry wants) with Docker's `Accept` header, and
/// reports it as the check `step`: passed with the `Docker-Content-Digest`, or failed with
/// the answer and `hint`'s advice.
///
/// ```no_run
/// use pull_through_core::http::HttpClient;
/// use pull_through_core::pull::manifest_check;
/// # async fn example(http: &HttpClient) {
/// let request = http.get("v2/cgr-public/chainguard/go/manifests/latest");
/// let check = manifest_check(request, "chainguard/go:latest".into(), || Some("check the URL".into())).await;
/// println!("{check}");
/// # }
/// ```
pub async fn manifest_check(
    request: RequestBuilder<'_>,
    step: String,
    hint: impl FnOnce() -> Option<String>,
) -> Check {
    let started = Instant::now();
    let request = request.header(header::ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
    match request.send().await {
        Ok(answer) => {
            let digest = answer
                .headers()
                .get("docker-content-digest")
                .and_then(|d| d.to_str().ok())
                .unwrap_or("no digest")
                .to_owned();
            Check::passed(step, digest, started.elapsed())
        }
        Err(err) => Check::failed(step, err.to_string(), hint(), started.elapsed()),
    }
}

/// Whether the cache serves Chainguard's public images (a remote without credentials,
/// or an aggregate, which may hold a public member).
///
/// ```
/// use pull_through_core::{CacheName, CacheState, PackageFormat, pull::serves_public};
/// let public = CacheState::remote(CacheName::new("cgr-public")?, PackageFormat::Docker, "https://cgr.dev/");
/// assert!(serves_public(&public));
/// assert!(!serves_public(&public.with_username("org/id")));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
pub fn serves_public(state: &CacheState) -> bool {
    !matches!(
        &state.role,
        CacheRole::Remote {
            username: Some(_),
            ..
        }
    )
}

/// Whether the cache serves an organization's private images (a remote with
/// credentials, or an aggregate).
///
/// ```
/// use pull_through_core::{CacheName, CacheState, PackageFormat, pull::serves_private};
/// let virt = CacheState::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker, vec![]);
/// assert!(serves_private(&virt));
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
pub fn serves_private(state: &CacheState) -> bool {
    !serves_public(state) || matches!(&state.role, CacheRole::Aggregate { .. })
}

/// The seeds' `docker pull` references through a cache whose images live under
/// `registry` (`<host>/<key>`, `LOCATION-docker.pkg.dev/PROJECT/REPO`): the public
/// `chainguard/go:latest` and, for private images, `<org>/chainguard-base:latest`
/// (`<org>` when the organization is not known).
///
/// ```
/// use pull_through_core::{CacheName, CacheState, PackageFormat, Reveal, pull::docker_pulls};
/// let virt = CacheState::aggregate(CacheName::new("cgr-virt")?, PackageFormat::Docker, vec![]);
/// let pulls = docker_pulls("acme.jfrog.io/cgr-virt", &virt, Some(&"example.com".parse()?));
/// let shown: Vec<String> = pulls.iter().map(|p| p.render(Reveal::Names)).collect();
/// assert_eq!(shown, [
///     "docker pull acme.jfrog.io/cgr-virt/chainguard/go:latest",
///     "docker pull acme.jfrog.io/cgr-virt/example.com/chainguard-base:latest",
/// ]);
/// # Ok::<(), pull_through_core::ValidationError>(())
/// ```
pub fn docker_pulls(registry: &str, state: &CacheState, org: Option<&OrgName>) -> Vec<AccessItem> {
    let mut pulls = Vec::new();
    if serves_public(state) {
        pulls.push(AccessItem::DockerPull {
            reference: format!("{registry}/chainguard/go:latest"),
        });
    }
    if serves_private(state) {
        let org = org.map_or("<org>".to_owned(), ToString::to_string);
        pulls.push(AccessItem::DockerPull {
            reference: format!("{registry}/{org}/chainguard-base:latest"),
        });
    }
    pulls
}
