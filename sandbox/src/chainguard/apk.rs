//! The fake APK repositories: `apk.cgr.dev/<org name>` (basic auth, 403 "caller does not
//! have the required capabilities" without `apk.pull`), the public `apk.cgr.dev/chainguard`
//! and `/extra-packages`, and `virtualapk.cgr.dev/<org id>/chainguard|extra-packages`.
//! Each serves a signed APKINDEX for x86_64 and aarch64, package files (some named with
//! `+`), and its key through `apk-configuration`.
//!
//! The package files are real signed apk v2 packages (signature, control with `.PKGINFO`,
//! data with `usr/share/doc/<name>/README`), built at start-up by
//! [`apk_repo::package::PackageBuilder`]; each index record's `C:` is the SHA-1 of the
//! package's control member, `S:` the file's size, and every `D:` is provided by a record
//! of the same index, so a real `apk update`/`search`/`fetch`/`add` works against them.

use std::collections::HashMap;
use std::sync::Arc;

use apk_repo::index::{Package, SigningKey, sign_index, write_index};
use apk_repo::package::PackageBuilder;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::APK_AUDIENCE;
use super::world::{World, capabilities};
use crate::common::{basic, random_hex};

pub(crate) const ARCHS: [&str; 2] = ["x86_64", "aarch64"];

/// A package of the fake repositories: name, version, what it depends on, what it
/// provides.
type Spec = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const WGET: Spec = (
    "wget",
    "1.24.5-r5",
    &["so:libssl.so.3"],
    &["cmd:wget=1.24.5-r5"],
);
const NPM: Spec = (
    "npm",
    "10.9.2-r0",
    &["so:libcares.so.2"],
    &["cmd:npm=10.9.2-r0"],
);
const SED: Spec = ("sed", "4.9-r5", &[], &["cmd:sed=4.9-r5"]);
const C_ARES: Spec = ("c-ares", "1.34.5-r0", &[], &["so:libcares.so.2=2.19.3"]);
const STUNNEL: Spec = (
    "stunnel",
    "5.74-r1",
    &["so:libssl.so.3"],
    &["cmd:stunnel=5.74-r1"],
);
const BASH: Spec = (
    "bash",
    "5.2.37-r31",
    &[],
    &["cmd:bash=5.2.37-r31", "/bin/bash"],
);
const OPENSSL: Spec = (
    "openssl",
    "3.5.0-r1",
    &[],
    &[
        "so:libssl.so.3=3",
        "so:libcrypto.so.3=3",
        "cmd:openssl=3.5.0-r1",
    ],
);
const LIBSTDCXX: Spec = (
    "libstdc++",
    "14.2.0-r13",
    &[],
    &["so:libstdc++.so.6=6.0.33"],
);

/// The packages of each repository.
const PRIVATE: &[Spec] = &[WGET, NPM, SED, C_ARES, STUNNEL, BASH, OPENSSL, LIBSTDCXX];
const CHAINGUARD: &[Spec] = &[WGET, SED, BASH, OPENSSL, LIBSTDCXX];
const EXTRAS: &[Spec] = &[NPM, C_ARES, STUNNEL];

/// The packages' build time (`t:`, `builddate`, tar mtimes): fixed, so the files are the
/// same on every start but for the signing key.
const BUILD_TIME: u64 = 1_748_736_000;

/// One repository's files.
#[derive(Debug)]
pub(crate) struct Repository {
    /// arch -> signed APKINDEX.tar.gz
    pub(crate) indexes: HashMap<&'static str, Vec<u8>>,
    /// arch/file -> bytes
    pub(crate) files: HashMap<String, Vec<u8>>,
}

/// The name a dependency or provides item names: `[!]name[op version]`.
fn dependency_name(item: &str) -> &str {
    let item = item.strip_prefix('!').unwrap_or(item);
    item.split(['<', '>', '=', '~']).next().unwrap_or(item)
}

/// Builds each package as a real signed apk v2 file (apk-repo's [`PackageBuilder`]) and
/// the signed index of their records, for each arch. A dependency the repository cannot
/// satisfy (`stunnel`'s `so:libssl.so.3` in `extra-packages`, which has no `openssl`) is
/// left out of that repository's record, since `apk add` would answer "no such package";
/// `so:libc.so.6` is not declared, because a libc package would change the packages every
/// test counts.
fn build(packages: &[Spec], key: &SigningKey, description: &str) -> Repository {
    let provided: Vec<&str> = packages
        .iter()
        .flat_map(|(name, _, _, provides)| {
            std::iter::once(*name).chain(provides.iter().map(|p| dependency_name(p)))
        })
        .collect();
    let mut indexes = HashMap::new();
    let mut files = HashMap::new();
    for arch in ARCHS {
        let mut entries = Vec::new();
        for (name, version, depends, provides) in packages {
            let mut record = Package::default();
            record.name = (*name).to_owned();
            record.version = (*version).to_owned();
            record.arch = Some(arch.to_owned());
            record.description = Some(format!("{name} (sandbox)"));
            record.url = Some(format!("https://example.com/sandbox/{name}"));
            record.license = Some("Apache-2.0".to_owned());
            record.origin = Some((*name).to_owned());
            record.maintainer = Some("Sandbox <sandbox@example.com>".to_owned());
            record.build_time = Some(BUILD_TIME);
            record.depends = depends
                .iter()
                .filter(|d| provided.contains(&dependency_name(d)))
                .map(|d| (*d).to_owned())
                .collect();
            record.provides = provides.iter().map(|p| (*p).to_owned()).collect();
            let readme =
                format!("{name} {version} for {arch}: a package of the pull-through sandbox.\n");
            let built = PackageBuilder::new(record)
                .file(&format!("usr/share/doc/{name}/README"), readme)
                .build(&[key])
                .expect("the sandbox's packages build");
            files.insert(format!("{arch}/{}", built.record.file_name()), built.bytes);
            entries.push(built.record);
        }
        let signed = sign_index(&write_index(&entries, description), &[key]).unwrap_or_default();
        indexes.insert(arch, signed);
    }
    Repository { indexes, files }
}

/// Every APK repository of the sandbox.
#[derive(Debug)]
pub(crate) struct ApkRepos {
    pub(crate) world: Arc<World>,
    pub(crate) key: SigningKey,
    pub(crate) private: Repository,
    pub(crate) chainguard: Repository,
    pub(crate) extras: Repository,
}

impl ApkRepos {
    pub(crate) fn new(world: Arc<World>) -> ApkRepos {
        let name = format!("chainguard-{}.rsa.pub", random_hex(32));
        let key = SigningKey::generate(&name).expect("an RSA key for the sandbox");
        ApkRepos {
            private: build(PRIVATE, &key, "sandbox private"),
            chainguard: build(CHAINGUARD, &key, "sandbox chainguard"),
            extras: build(EXTRAS, &key, "sandbox extra-packages"),
            world,
            key,
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

/// A 429 as the APK repositories' other refusals read (a status line as the body), with
/// no `Retry-After`: Chainguard documents the status only.
pub(crate) fn throttled(_throttle: &crate::rate_limit::Throttle) -> Response {
    text(StatusCode::TOO_MANY_REQUESTS, "429 TOO MANY REQUESTS")
}

fn unauthorized() -> Response {
    let mut answer = text(StatusCode::UNAUTHORIZED, "401 UNAUTHORIZED");
    answer.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"apk.cgr.dev\""),
    );
    answer
}

/// The roles behind Basic credentials: a pull token (identity id + JWT) or a Chainguard
/// token minted for `apk.cgr.dev` (any username).
#[allow(
    clippy::result_large_err,
    reason = "axum answers are Responses by value; the error is the answer to send"
)]
fn caller_roles(repos: &ApkRepos, headers: &HeaderMap) -> Result<Vec<(String, String)>, Response> {
    let (user, password) = basic(headers).ok_or_else(unauthorized)?;
    let state = repos.world.lock();
    if let Some(minted) = state.token(&password, APK_AUDIENCE) {
        return Ok(minted.roles.clone());
    }
    match state.verify_pull_token(&password) {
        Ok(identity) if identity == user => Ok(state.roles_of(&identity)),
        _ => Err(unauthorized()),
    }
}

fn serve(
    repository: &Repository,
    key: &SigningKey,
    rest: &str,
    headers: &HeaderMap,
    base: &str,
) -> Response {
    match rest.split_once('/') {
        None if rest == "apk-configuration" => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("apk.cgr.dev");
            axum::Json(json!({"jwks_uri": format!("http://{host}/{base}/keys.json")}))
                .into_response()
        }
        None if rest == "keys.json" => axum::Json(json!({"keys": [key.jwk()]})).into_response(),
        Some((arch, "APKINDEX.tar.gz")) => match repository.indexes.get(arch) {
            Some(index) => index.clone().into_response(),
            None => text(StatusCode::NOT_FOUND, "404 page not found"),
        },
        Some(_) => match repository.files.get(rest) {
            Some(file) => file.clone().into_response(),
            None => text(StatusCode::NOT_FOUND, "404 page not found"),
        },
        None => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

pub(crate) fn apk_router(repos: Arc<ApkRepos>) -> Router {
    Router::new().route("/{*path}", get(apk)).with_state(repos)
}

pub(crate) fn virtual_router(repos: Arc<ApkRepos>) -> Router {
    Router::new()
        .route("/{*path}", get(virtual_apk))
        .with_state(repos)
}

async fn apk(
    State(repos): State<Arc<ApkRepos>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let Some((org, rest)) = path.split_once('/') else {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    };
    match org {
        "chainguard" => return serve(&repos.chainguard, &repos.key, rest, &headers, org),
        "extra-packages" => return serve(&repos.extras, &repos.key, rest, &headers, org),
        _ => {}
    }
    if org != repos.world.lock().org_name {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    }
    let roles = match caller_roles(&repos, &headers) {
        Ok(roles) => roles,
        Err(answer) => return answer,
    };
    let needed = if rest.ends_with(".apk") {
        "apk.blobs.get"
    } else {
        "apk.list"
    };
    if !roles
        .iter()
        .any(|(_, role)| capabilities(role).contains(&needed))
    {
        return text(
            StatusCode::FORBIDDEN,
            "403 FORBIDDEN caller does not have the required capabilities",
        );
    }
    serve(&repos.private, &repos.key, rest, &headers, org)
}

async fn virtual_apk(
    State(repos): State<Arc<ApkRepos>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let mut parts = path.splitn(3, '/');
    let (Some(org_id), Some(repo), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    };
    if org_id != repos.world.lock().org_id {
        return text(
            StatusCode::NOT_FOUND,
            "404 page not found: virtualapk.cgr.dev is addressed by organization id",
        );
    }
    let base = format!("{org_id}/{repo}");
    match repo {
        "chainguard" => serve(&repos.chainguard, &repos.key, rest, &headers, &base),
        "extra-packages" => serve(&repos.extras, &repos.key, rest, &headers, &base),
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

#[cfg(test)]
mod tests {
    //! The served repositories checked on the bytes, not through apk-repo's index reader:
    //! tar headers read byte by byte, identities hashed here. Decompression uses
    //! [`apk_repo::package::gzip_members`] (flate2's member boundaries), since this crate
    //! has no gzip decoder of its own.

    use std::collections::HashMap;

    use apk_repo::package::{GzipMember, gzip_members};
    use aws_lc_rs::digest;
    use base64::Engine as _;
    use base64::prelude::BASE64_STANDARD;

    use super::*;

    fn repositories() -> (SigningKey, Vec<(&'static str, Repository)>) {
        let key = SigningKey::generate("chainguard-test.rsa.pub").unwrap();
        let repositories = vec![
            ("private", build(PRIVATE, &key, "private")),
            ("chainguard", build(CHAINGUARD, &key, "chainguard")),
            ("extra-packages", build(EXTRAS, &key, "extra-packages")),
        ];
        (key, repositories)
    }

    fn members(bytes: &[u8]) -> Vec<GzipMember> {
        gzip_members(bytes, 64 << 20).unwrap()
    }

    /// (name, typeflag, body) of each entry of a tar segment, read byte by byte.
    fn entries(tar: &[u8]) -> Vec<(String, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 512 <= tar.len() {
            let block = &tar[at..at + 512];
            if block.iter().all(|b| *b == 0) {
                break;
            }
            let end = block[..100].iter().position(|b| *b == 0).unwrap_or(100);
            let name = String::from_utf8(block[..end].to_vec()).unwrap();
            let size_text = std::str::from_utf8(&block[124..136]).unwrap();
            let size = usize::from_str_radix(size_text.trim_matches(['\0', ' ']), 8).unwrap();
            out.push((name, block[156], tar[at + 512..at + 512 + size].to_vec()));
            at += 512 + size.div_ceil(512) * 512;
        }
        out
    }

    /// The APKINDEX text as records of (letter, value) lines.
    fn records(text: &str) -> Vec<Vec<(char, String)>> {
        text.split("\n\n")
            .filter(|record| !record.trim().is_empty())
            .map(|record| {
                record
                    .lines()
                    .map(|line| {
                        let (letter, value) = line.split_once(':').unwrap();
                        assert_eq!(letter.len(), 1, "{line}");
                        (letter.chars().next().unwrap(), value.to_owned())
                    })
                    .collect()
            })
            .collect()
    }

    async fn served(repository: &Repository, key: &SigningKey, path: &str) -> Vec<u8> {
        let answer = serve(repository, key, path, &HeaderMap::new(), "chainguard");
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn served_indexes_and_packages_are_what_apk_tools_reads() {
        let (key, repositories) = repositories();
        for (label, repository) in &repositories {
            for arch in ARCHS {
                let index = served(repository, &key, &format!("{arch}/APKINDEX.tar.gz")).await;
                let index_members = members(&index);
                assert_eq!(index_members.len(), 2, "{label}/{arch}: signature, index");
                let mut text = None;
                for member in &index_members {
                    for (name, typeflag, body) in entries(&member.decompressed) {
                        assert_eq!(typeflag, b'0', "{label}/{arch}: {name}");
                        if name == "APKINDEX" {
                            text = Some(String::from_utf8(body).unwrap());
                        }
                    }
                }
                let records = records(&text.expect("an APKINDEX entry"));
                assert!(!records.is_empty());

                // Field order as apk writes it.
                let order = "CPVASITULomtckDpi";
                let field = |record: &[(char, String)], letter: char| -> Option<String> {
                    record
                        .iter()
                        .find(|(l, _)| *l == letter)
                        .map(|(_, v)| v.clone())
                };
                let name_of = |item: &str| {
                    let item = item.strip_prefix('!').unwrap_or(item);
                    item.split(['<', '>', '=', '~']).next().unwrap().to_owned()
                };
                let mut provided = Vec::new();
                for record in &records {
                    let positions: Vec<usize> = record
                        .iter()
                        .map(|(letter, _)| order.find(*letter).expect("a known letter"))
                        .collect();
                    assert!(positions.is_sorted(), "{label}/{arch}: {record:?}");
                    provided.push(field(record, 'P').unwrap());
                    for item in field(record, 'p').unwrap_or_default().split_whitespace() {
                        provided.push(name_of(item));
                    }
                }

                let mut identities = HashMap::new();
                for record in &records {
                    let name = field(record, 'P').unwrap();
                    let version = field(record, 'V').unwrap();
                    let at = format!("{label}/{arch}/{name}");
                    for dependency in field(record, 'D').unwrap_or_default().split_whitespace() {
                        assert!(
                            provided.contains(&name_of(dependency)),
                            "{at}: nothing provides {dependency}"
                        );
                    }
                    assert_eq!(field(record, 'A').as_deref(), Some(arch), "{at}");

                    let file =
                        served(repository, &key, &format!("{arch}/{name}-{version}.apk")).await;
                    assert_eq!(
                        field(record, 'S'),
                        Some(file.len().to_string()),
                        "{at}: S is the file's size"
                    );
                    let apk = members(&file);
                    assert_eq!(apk.len(), 3, "{at}: signature, control, data");

                    // C: the SHA-1 of the control member's compressed bytes.
                    let control = &file[apk[1].compressed.clone()];
                    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, control);
                    let checksum = format!("Q1{}", BASE64_STANDARD.encode(sha1.as_ref()));
                    assert_eq!(field(record, 'C'), Some(checksum.clone()), "{at}");
                    assert!(
                        identities.insert(checksum, name.clone()).is_none(),
                        "{at}: identities are distinct"
                    );

                    let signature = entries(&apk[0].decompressed);
                    assert_eq!(signature.len(), 1);
                    assert_eq!(signature[0].0, format!(".SIGN.RSA256.{}", key.name()));
                    assert_eq!(signature[0].1, b'0', "{at}");

                    let control_entries = entries(&apk[1].decompressed);
                    assert_eq!(control_entries.len(), 1);
                    let (pkginfo_name, typeflag, pkginfo) = &control_entries[0];
                    assert_eq!((pkginfo_name.as_str(), *typeflag), (".PKGINFO", b'0'));
                    let pkginfo = String::from_utf8(pkginfo.clone()).unwrap();
                    let info = |key: &str| {
                        pkginfo
                            .lines()
                            .find_map(|line| line.strip_prefix(&format!("{key} = ")))
                            .map(str::to_owned)
                    };
                    assert_eq!(info("pkgname"), Some(name.clone()), "{at}");
                    assert_eq!(info("pkgver"), Some(version.clone()), "{at}");
                    assert_eq!(info("arch").as_deref(), Some(arch), "{at}");
                    assert_eq!(info("size"), field(record, 'I'), "{at}");

                    // Data: directories ('5') before the README ('0'), which follows a
                    // PAX header ('x') holding its SHA-1, as apk-tools 2.x checks.
                    let data = entries(&apk[2].decompressed);
                    let readme = format!("usr/share/doc/{name}/README");
                    let (pax, file) = (&data[data.len() - 2], &data[data.len() - 1]);
                    assert_eq!(pax.1, b'x', "{at}: {}", pax.0);
                    let sha1: String = aws_lc_rs::digest::digest(
                        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                        &file.2,
                    )
                    .as_ref()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                    let record = String::from_utf8(pax.2.clone()).unwrap();
                    assert!(
                        record.ends_with(&format!(" APK-TOOLS.checksum.SHA1={sha1}\n")),
                        "{at}: {record:?}"
                    );
                    let data: Vec<_> = data.into_iter().filter(|e| e.1 != b'x').collect();
                    for (entry, typeflag, _) in &data {
                        let is_directory = readme.starts_with(&format!("{entry}/"));
                        let expected = if is_directory { b'5' } else { b'0' };
                        assert_eq!(*typeflag, expected, "{at}: {entry}");
                    }
                    assert_eq!(data.last().map(|e| e.0.as_str()), Some(readme.as_str()));
                    assert_eq!(
                        data.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
                        [
                            "usr",
                            "usr/share",
                            "usr/share/doc",
                            &format!("usr/share/doc/{name}"),
                            &readme
                        ]
                    );
                }
            }
        }
    }

    #[test]
    fn unsatisfiable_dependencies_are_left_out_per_repository() {
        let (_, repositories) = repositories();
        let stunnel = |repository: &Repository| {
            let file = repository.files.get("x86_64/stunnel-5.74-r1.apk").unwrap();
            let control = &members(file)[1];
            String::from_utf8(entries(&control.decompressed)[0].2.clone()).unwrap()
        };
        assert!(stunnel(&repositories[0].1).contains("depend = so:libssl.so.3"));
        assert!(!stunnel(&repositories[2].1).contains("depend = "));
    }
}
