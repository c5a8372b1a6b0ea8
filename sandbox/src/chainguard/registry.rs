//! The fake `cgr.dev`: registry v2 with token auth by challenge. Public images under
//! `chainguard/`, private ones under the organization's name, which need a pull token
//! bound to `registry.pull`. A token works for the one repository it was issued for (the
//! real registry answers 403 to a token reused for another scope); a token asked for
//! without a scope (what `docker login` and `skopeo login` ask for) opens `/v2/` only.
//!
//! Every image has the tags `latest` and `latest-dev`, each an OCI index over a
//! linux/amd64 and a linux/arm64 manifest with a config and one gzip tar layer, all
//! addressed by their sha256 digests. Served: `GET /v2/`, `GET /token`, `GET`/`HEAD` of
//! `/v2/<name>/manifests/<tag or digest>` and `/v2/<name>/blobs/<digest>` (with
//! `Docker-Content-Digest`, `Content-Type`, `Content-Length`), and
//! `GET /v2/<name>/tags/list` with `n`/`last` pagination and a `Link` header. A client
//! whose `Accept` takes no index gets a tag's linux/amd64 manifest, as from distribution.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::REGISTRY_AUDIENCE;
use super::world::{World, capabilities, mint_into};
use crate::common::{basic, bearer, bearer_challenge, docker_errors as errors};
use crate::upstream::{accepts_index, platform_manifest, tags_page};

pub(crate) const PUBLIC_IMAGES: [&str; 3] =
    ["chainguard/go", "chainguard/nginx", "chainguard/mariadb"];

/// The tags every image has (what anonymous callers see on the real public catalogue).
pub(crate) const TAGS: [&str; 2] = ["latest", "latest-dev"];

/// The platforms of every image's index, as cgr.dev builds them.
const PLATFORMS: [&str; 2] = ["amd64", "arm64"];

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One repository: its tags, its manifests (the index and one image manifest per
/// platform) and its blobs (configs and layers), all addressed by their sha256 digests.
#[derive(Debug, Default)]
pub(crate) struct Image {
    /// tag -> the digest of its index
    pub(crate) tags: BTreeMap<String, String>,
    /// digest -> (bytes, media type)
    pub(crate) manifests: HashMap<String, (Vec<u8>, &'static str)>,
    /// digest -> bytes
    pub(crate) blobs: HashMap<String, Vec<u8>>,
}

impl Image {
    /// Builds the image `repository`: for every tag, an index over a linux/amd64 and a
    /// linux/arm64 manifest, each with its config and one gzip tar layer.
    fn build(repository: &str) -> Image {
        let mut image = Image::default();
        for tag in TAGS {
            let mut entries = Vec::new();
            for arch in PLATFORMS {
                let file = format!("{repository}:{tag} linux/{arch}\n");
                let tar = tar_with(&[
                    ("etc/", None),
                    ("etc/pull-through-sandbox", Some(file.as_bytes())),
                ]);
                let layer = gzip_stored(&tar);
                let layer_digest = sha256(&layer);
                let config = json!({
                    "architecture": arch,
                    "os": "linux",
                    "created": "2026-01-01T00:00:00Z",
                    "config": {
                        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                        "Labels": {"image": repository, "tag": tag}
                    },
                    "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
                    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "pull-through sandbox"}]
                })
                .to_string()
                .into_bytes();
                let config_digest = sha256(&config);
                let manifest = json!({
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": config_digest, "size": config.len()},
                    "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": layer.len()}]
                })
                .to_string()
                .into_bytes();
                let digest = sha256(&manifest);
                entries.push(json!({
                    "mediaType": MANIFEST,
                    "digest": digest,
                    "size": manifest.len(),
                    "platform": {"architecture": arch, "os": "linux"}
                }));
                image.blobs.insert(config_digest, config);
                image.blobs.insert(layer_digest, layer);
                image.manifests.insert(digest, (manifest, MANIFEST));
            }
            let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries})
                .to_string()
                .into_bytes();
            let digest = sha256(&index);
            image.tags.insert(tag.to_owned(), digest.clone());
            image.manifests.insert(digest, (index, INDEX));
        }
        image
    }

    /// The manifest `reference` (a tag or a digest) names, as a client accepting
    /// `accepts_index` gets it: a tag's index, or, for a client that takes no index, its
    /// linux/amd64 manifest (what distribution answers such a client).
    fn manifest(
        &self,
        reference: &str,
        accepts_index: bool,
    ) -> Option<(&[u8], &'static str, String)> {
        let digest = if reference.starts_with("sha256:") {
            reference.to_owned()
        } else {
            let index = self.tags.get(reference)?;
            if accepts_index {
                index.clone()
            } else {
                let (bytes, _) = self.manifests.get(index)?;
                platform_manifest(bytes, "linux", "amd64")?
            }
        };
        let (bytes, media_type) = self.manifests.get(&digest)?;
        Some((bytes, media_type, digest))
    }
}

/// A ustar archive of `entries`: a directory when the content is `None` (name ending
/// in `/`), else a regular file (typeflag `'0'`), all owned by root, mode 0755/0644,
/// mtime 0.
fn tar_with(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in entries {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let (mode, size, typeflag) = match content {
            Some(bytes) => ("0000644", bytes.len(), b'0'),
            None => ("0000755", 0, b'5'),
        };
        let octal = |field: &mut [u8], value: String| {
            field[..value.len()].copy_from_slice(value.as_bytes())
        };
        octal(&mut header[100..108], mode.to_owned());
        octal(&mut header[108..116], "0000000".to_owned());
        octal(&mut header[116..124], "0000000".to_owned());
        octal(&mut header[124..136], format!("{size:011o}"));
        octal(&mut header[136..148], format!("{:011o}", 0));
        header[156] = typeflag;
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        octal(&mut header[148..156], format!("{checksum:06o}\0 "));
        out.extend_from_slice(&header);
        if let Some(bytes) = content {
            out.extend_from_slice(bytes);
            out.resize(out.len().next_multiple_of(512), 0);
        }
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// `data` in a gzip member of stored (uncompressed) deflate blocks: valid gzip that
/// needs no compressor.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let length = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(data.len() % (1 << 32))
            .unwrap_or(0)
            .to_le_bytes(),
    );
    out
}

/// CRC-32 (IEEE), bit by bit: the layers are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) world: Arc<World>,
    /// repository -> its tags, manifests and blobs
    pub(crate) images: HashMap<String, Image>,
}

fn sha256(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!(
        "sha256:{}",
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl Registry {
    pub(crate) fn new(world: Arc<World>, org_name: &str) -> Registry {
        let private = format!("{org_name}/chainguard-base");
        let images = PUBLIC_IMAGES
            .iter()
            .map(|s| (*s).to_owned())
            .chain([private])
            .map(|repository| {
                let image = Image::build(&repository);
                (repository, image)
            })
            .collect();
        Registry { world, images }
    }

    fn is_public(repository: &str) -> bool {
        repository.starts_with("chainguard/")
    }
}

pub(crate) fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/v2/", get(base))
        .route("/token", get(token))
        .route("/v2/{*path}", get(content).head(content))
        .with_state(registry)
}

fn challenge(headers: &HeaderMap, scope: Option<&str>) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("cgr.dev");
    bearer_challenge(&format!("http://{host}/token"), "cgr.dev", scope)
}

async fn base(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let state = registry.world.lock();
    match bearer(&headers).and_then(|t| state.token(t, REGISTRY_AUDIENCE)) {
        Some(_) => {
            let mut answer = axum::Json(json!({})).into_response();
            answer.headers_mut().insert(
                "docker-distribution-api-version",
                HeaderValue::from_static("registry/2.0"),
            );
            answer
        }
        None => challenge(&headers, None),
    }
}

/// The repository a token request's scopes ask to pull: the first
/// `repository:<name>:<actions>` whose actions include `pull`. Other scopes (`registry:catalog:*`,
/// push) are ignored, as token servers do; none at all asks for a login token.
fn pull_scope(query: &[(String, String)]) -> Option<String> {
    query
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' '))
        .find_map(|scope| {
            let rest = scope.strip_prefix("repository:")?;
            let (name, actions) = rest.rsplit_once(':')?;
            actions
                .split(',')
                .any(|action| action == "pull" || action == "*")
                .then(|| name.to_owned())
        })
}

/// `GET /token?service=cgr.dev[&scope=repository:<name>:pull]`. With a scope, a token
/// for that one repository (403 for a private one the caller may not pull); without one,
/// a login token, which opens `/v2/` only (what `docker login` and `skopeo login` ask
/// for). Basic credentials: a pull token (identity id and JWT) or `_token` and a
/// Chainguard token for `cgr.dev`; none is anonymous.
async fn token(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let service = query
        .iter()
        .find(|(key, _)| key == "service")
        .map(|(_, value)| value.as_str());
    if service != Some("cgr.dev") {
        return errors(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "service must be cgr.dev",
        );
    }
    let repository = pull_scope(&query);
    let mut state = registry.world.lock();
    let (subject, roles) = match basic(&headers) {
        None => ("anonymous".to_owned(), Vec::new()),
        Some((user, password)) if user == "_token" => {
            match state.token(&password, REGISTRY_AUDIENCE) {
                Some(minted) => (minted.subject.clone(), minted.roles.clone()),
                None => return errors(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid token"),
            }
        }
        Some((user, password)) => match state.verify_pull_token(&password) {
            Ok(identity) if identity == user => {
                let roles = state.roles_of(&identity);
                (identity, roles)
            }
            Ok(_) => {
                return errors(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "the username is not the token's identity",
                );
            }
            Err(problem) => return errors(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &problem),
        },
    };
    if let Some(repository) = repository.as_deref().filter(|r| !Registry::is_public(r)) {
        let namespace_ok = repository.split('/').next() == Some(state.org_name.as_str());
        let allowed = namespace_ok
            && roles
                .iter()
                .any(|(_, role)| capabilities(role).contains(&"repo.blobs.get"));
        if !allowed {
            return errors(
                StatusCode::FORBIDDEN,
                "DENIED",
                "the caller may not pull this repository: bind registry.pull",
            );
        }
    }
    let token = mint_into(&mut state, &subject, REGISTRY_AUDIENCE, roles, repository);
    axum::Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": 3600,
        "issued_at": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    }))
    .into_response()
}

/// `GET`/`HEAD` of `/v2/<name>/manifests/<reference>`, `/v2/<name>/blobs/<digest>` and
/// `GET /v2/<name>/tags/list[?n=&last=]`, with a token for `<name>`.
async fn content(
    State(registry): State<Arc<Registry>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let (repository, kind, reference) = match path.rsplitn(3, '/').collect::<Vec<_>>().as_slice() {
        [reference, kind, repository]
            if matches!(*kind, "manifests" | "blobs")
                || (*kind == "tags" && *reference == "list") =>
        {
            ((*repository).to_owned(), *kind, (*reference).to_owned())
        }
        _ => return errors(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such path"),
    };
    {
        let state = registry.world.lock();
        match bearer(&headers).and_then(|t| state.token(t, REGISTRY_AUDIENCE)) {
            None => return challenge(&headers, Some(&repository)),
            Some(minted) if minted.scope.as_deref() != Some(repository.as_str()) => {
                return errors(
                    StatusCode::FORBIDDEN,
                    "DENIED",
                    "the token is for another repository",
                );
            }
            Some(_) => {}
        }
    }
    let Some(image) = registry.images.get(&repository) else {
        return errors(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        );
    };
    let (body, media_type, digest) = match kind {
        "tags" => {
            let tags: Vec<String> = image.tags.keys().cloned().collect();
            return tags_page(&repository, &tags, &query, &format!("/v2/{repository}"));
        }
        "manifests" => match image.manifest(&reference, accepts_index(&headers)) {
            Some((bytes, media_type, digest)) => (bytes, media_type, digest),
            None => {
                return errors(
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                );
            }
        },
        _ => match image.blobs.get(&reference) {
            Some(bytes) => (bytes.as_slice(), "application/octet-stream", reference),
            None => return errors(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown"),
        },
    };
    let length = body.len();
    let mut answer = if method == Method::HEAD {
        Vec::new().into_response()
    } else {
        body.to_vec().into_response()
    };
    let headers = answer.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(media_type));
    if let Ok(value) = HeaderValue::from_str(&digest) {
        headers.insert("docker-content-digest", value);
    }
    headers.insert("content-length", HeaderValue::from(length));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_is_a_gzip_tar_with_the_right_checksums() {
        let tar = tar_with(&[("etc/", None), ("etc/a", Some(b"hello\n"))]);
        assert_eq!(tar.len() % 512, 0);
        assert_eq!(tar[156], b'5');
        assert_eq!(tar[512 + 156], b'0');
        // The header checksum: the sum of the header's bytes with the field as spaces.
        let mut header = tar[512..1024].to_vec();
        let stored = String::from_utf8_lossy(&header[148..154]).into_owned();
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(u32::from_str_radix(&stored, 8).unwrap(), sum);
        let gz = gzip_stored(&tar);
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(
            &gz[gz.len() - 4..],
            &u32::try_from(tar.len()).unwrap().to_le_bytes()
        );
    }

    #[test]
    fn every_image_is_a_two_platform_index_of_consistent_digests() {
        let image = Image::build("chainguard/go");
        assert_eq!(
            image.tags.keys().collect::<Vec<_>>(),
            ["latest", "latest-dev"]
        );
        let (index, media_type, digest) = image.manifest("latest", true).unwrap();
        assert_eq!(media_type, INDEX);
        assert_eq!(sha256(index), digest);
        let parsed: serde_json::Value = serde_json::from_slice(index).unwrap();
        let platforms: Vec<&str> = parsed["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["platform"]["architecture"].as_str().unwrap())
            .collect();
        assert_eq!(platforms, ["amd64", "arm64"]);
        for entry in parsed["manifests"].as_array().unwrap() {
            let (bytes, _, digest) = image
                .manifest(entry["digest"].as_str().unwrap(), true)
                .unwrap();
            assert_eq!(sha256(bytes), digest);
            assert_eq!(entry["size"], bytes.len());
            let manifest: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let blobs =
                std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap());
            for blob in blobs {
                let bytes = &image.blobs[blob["digest"].as_str().unwrap()];
                assert_eq!(sha256(bytes), blob["digest"]);
                assert_eq!(blob["size"], bytes.len());
            }
        }
        // A client taking no index gets the linux/amd64 manifest.
        let (_, media_type, digest) = image.manifest("latest", false).unwrap();
        assert_eq!(media_type, MANIFEST);
        assert_eq!(parsed["manifests"][0]["digest"], digest);
    }

    #[test]
    fn the_pull_scope_is_read_from_any_scope_parameter() {
        let query = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(pull_scope(&query(&[("service", "cgr.dev")])), None);
        assert_eq!(
            pull_scope(&query(&[
                ("scope", "registry:catalog:*"),
                ("scope", "repository:chainguard/go:pull")
            ])),
            Some("chainguard/go".to_owned())
        );
        assert_eq!(
            pull_scope(&query(&[("scope", "repository:a/b:push")])),
            None
        );
    }
}
