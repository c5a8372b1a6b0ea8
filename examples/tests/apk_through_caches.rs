//! What apk-tools needs from every APK cache `apply` sets up, checked on the bytes served
//! through the caches with the repository lines `apply` prints (issue 14, item 2;
//! `../shared/reference/apk.md` §3.1-§3.2): every tar entry of each `APKINDEX.tar.gz` has
//! typeflag `'0'`; every record's package file is `S:` bytes long and its control member
//! hashes (SHA-1 of the compressed bytes) to the record's `C:`; every `D:` is provided; a
//! Generic virtual serves its first member's packages byte for byte.
//!
//! Independent of our code: the HTTP fetches (plain `reqwest` with the credentials taken
//! from the printed line, not `apk_repo::fetch`), the tar headers (read byte by byte here,
//! checksums included), the APKINDEX text (parsed here, not with `apk_repo::index`), the
//! dependency rule, the base64 of `C:` (the `base64` crate) and the SHA-1 (`sha1sum` from
//! coreutils). Only the split into gzip members uses our code,
//! `apk_repo::package::gzip_members` (flate2 underneath; flate2 is not a dependency of this
//! package), and its boundaries are checked here independently: each member starts with
//! the gzip magic and ends with a CRC-32 and length (computed here) of what it decompressed
//! to, and the members cover the file without gap.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::process::{Command, Stdio};

use apk_repo::package::gzip_members;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use common::flow::{expect_code, flow, json, seeds};
use common::{parse_env, serve};

/// The APK caches of the shipped seeds.
const APK_CACHES: [&str; 4] = ["cg-private", "cg-chainguard", "cg-extras", "cg-apk-virt"];
const ARCH: &str = "x86_64";

/// A repository line `apply` printed, variables filled in, credentials taken out.
#[derive(Debug, Clone)]
struct Repo {
    /// `scheme://host/artifactory/<key>/`, without userinfo.
    base: String,
    user: String,
    password: String,
}

impl Repo {
    /// Reads `scheme://user:password@host/path/` the way a URL's userinfo is written.
    fn parse(line: &str) -> Repo {
        let (scheme, rest) = line
            .split_once("://")
            .unwrap_or_else(|| panic!("{line}: no scheme"));
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (userinfo, host) = rest[..authority_end]
            .rsplit_once('@')
            .unwrap_or_else(|| panic!("{line}: no credentials in the line"));
        let (user, password) = userinfo
            .split_once(':')
            .unwrap_or_else(|| panic!("{line}: no password in the line"));
        // The sandbox's user and token need no percent-encoding; one that did would need
        // decoding here.
        assert!(!userinfo.contains('%'), "{line}: percent-encoded userinfo");
        Repo {
            base: format!("{scheme}://{host}{}", &rest[authority_end..]),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> Vec<u8> {
        let url = format!("{}{path}", self.base);
        let response = client
            .get(&url)
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"));
        let status = response.status();
        let body = response.bytes().await.unwrap().to_vec();
        assert_eq!(
            status.as_u16(),
            200,
            "GET {url}: {}",
            String::from_utf8_lossy(&body)
        );
        body
    }
}

/// Replaces every `${VAR}` of `line` with its value in `values`.
fn expand(line: &str, values: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .unwrap_or_else(|| panic!("{line}: unclosed ${{"));
        let name = &rest[start + 2..start + end];
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("{line}: {name} is not in --secrets-out"));
        out.push_str(value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// CRC-32 (IEEE, reflected, as gzip's trailer holds it), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The gzip members of `bytes` as (compressed bytes, decompressed bytes), the split
/// checked independently of the splitter.
fn members<'a>(what: &str, bytes: &'a [u8]) -> Vec<(&'a [u8], Vec<u8>)> {
    let split = gzip_members(bytes, 64 << 20).unwrap_or_else(|err| panic!("{what}: {err}"));
    let mut next = 0;
    let mut out = Vec::new();
    for member in split {
        assert_eq!(
            member.compressed.start, next,
            "{what}: a gap between members"
        );
        next = member.compressed.end;
        let compressed = &bytes[member.compressed];
        assert!(
            compressed.len() >= 18,
            "{what}: a member too short for gzip"
        );
        assert_eq!(&compressed[..3], [0x1f, 0x8b, 8], "{what}: gzip magic");
        let trailer = &compressed[compressed.len() - 8..];
        let crc = u32::from_le_bytes(trailer[..4].try_into().unwrap());
        let size = u32::from_le_bytes(trailer[4..].try_into().unwrap());
        assert_eq!(crc, crc32(&member.decompressed), "{what}: member CRC-32");
        assert_eq!(
            size as usize,
            member.decompressed.len(),
            "{what}: member length"
        );
        out.push((compressed, member.decompressed));
    }
    assert_eq!(next, bytes.len(), "{what}: bytes after the last member");
    out
}

/// One tar entry, read byte by byte.
#[derive(Debug)]
struct Entry {
    name: String,
    typeflag: u8,
    body: Vec<u8>,
}

fn octal(field: &[u8]) -> u64 {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| char::from(*b))
        .collect();
    u64::from_str_radix(text.trim(), 8).unwrap_or_else(|err| panic!("octal {text:?}: {err}"))
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The entries of a tar segment (one gzip member's worth), and whether it ended with a
/// zero block.
fn tar_entries(what: &str, tar: &[u8]) -> (Vec<Entry>, bool) {
    assert_eq!(tar.len() % 512, 0, "{what}: a tar segment is whole blocks");
    let mut entries = Vec::new();
    let mut at = 0;
    while at < tar.len() {
        let block = &tar[at..at + 512];
        if block.iter().all(|b| *b == 0) {
            assert!(
                tar[at..].iter().all(|b| *b == 0),
                "{what}: data after the end-of-archive blocks"
            );
            return (entries, true);
        }
        let stored = octal(&block[148..156]);
        let computed: u64 = block
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    u64::from(b' ')
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        assert_eq!(stored, computed, "{what}: tar header checksum at byte {at}");
        let mut name = c_string(&block[..100]);
        if &block[257..262] == b"ustar" {
            let prefix = c_string(&block[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let size = usize::try_from(octal(&block[124..136])).unwrap();
        let body_start = at + 512;
        assert!(body_start + size <= tar.len(), "{what}: {name} is cut");
        entries.push(Entry {
            name,
            typeflag: block[156],
            body: tar[body_start..body_start + size].to_vec(),
        });
        at = body_start + size.div_ceil(512) * 512;
    }
    (entries, false)
}

/// Whether a member's tar is a signature segment: it holds `.SIGN.` entries.
fn is_signature(entries: &[Entry]) -> bool {
    entries.iter().any(|e| e.name.starts_with(".SIGN."))
}

/// The APKINDEX text as records of field letter to value.
fn records(text: &str) -> Vec<BTreeMap<char, String>> {
    let mut out = Vec::new();
    let mut current = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let bytes = line.as_bytes();
        assert!(
            bytes.len() >= 2 && bytes[1] == b':',
            "APKINDEX line {line:?} is not X:value"
        );
        let previous = current.insert(char::from(bytes[0]), line[2..].to_owned());
        assert!(previous.is_none(), "{line:?}: the letter twice in a record");
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The name of a dependency or provides entry: `name[op version]`.
fn dep_name(entry: &str) -> &str {
    entry.split(['<', '>', '=', '~']).next().unwrap_or(entry)
}

/// SHA-1 of `bytes`, lower-case hex, by coreutils' `sha1sum`.
fn sha1_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha1sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha1sum (coreutils) runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "sha1sum failed");
    let text = String::from_utf8(output.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The members of the Generic virtual `name` in the shipped seeds, in order.
fn virtual_members(name: &str) -> Vec<String> {
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(seeds()).unwrap()).unwrap();
    let cache = config["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not in the seeds"));
    cache["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

/// The repository line `apply` printed for each APK cache, variables filled in from
/// `--secrets-out`.
fn printed_lines(
    document: &serde_json::Value,
    secrets: &HashMap<String, String>,
) -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    for access in document["access"].as_array().unwrap() {
        let cache = access["cache"].as_str().unwrap();
        for line in access["lines"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            let is_repo = (line.starts_with("https://") || line.starts_with("http://"))
                && !line.contains(char::is_whitespace)
                && line.contains("/artifactory/")
                && line.ends_with('/');
            if is_repo {
                assert!(
                    line.contains("${"),
                    "{cache}: the printed line shows a secret: {line}"
                );
                let previous = lines.insert(cache.to_owned(), expand(line, secrets));
                assert!(previous.is_none(), "{cache}: two repository lines");
            }
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn every_apk_cache_serves_what_apk_tools_accepts_with_the_lines_apply_prints() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets_file = dir.path().join("secrets.env");
    let applied = flow(
        &served,
        &["apply"],
        &["--secrets-out", secrets_file.to_str().unwrap()],
    );
    expect_code(&applied, 0);
    let document = json(&applied);
    let secrets = parse_env(&std::fs::read_to_string(&secrets_file).unwrap());
    let lines = printed_lines(&document, &secrets);
    assert_eq!(
        lines.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        APK_CACHES.into_iter().collect::<BTreeSet<_>>(),
        "the caches apply printed an APK repository line for"
    );

    let client = reqwest::Client::new();
    // Package files by cache, for the virtual's comparison with its first member.
    let mut served_files: HashMap<(String, String), Vec<u8>> = HashMap::new();
    let virtual_first = virtual_members("cg-apk-virt")[0].clone();
    let mut checked = Vec::new();
    for cache in APK_CACHES {
        let repo = Repo::parse(&lines[cache]);
        let index_bytes = repo.get(&client, &format!("{ARCH}/APKINDEX.tar.gz")).await;
        let what = format!("{cache} APKINDEX.tar.gz");
        let split = members(&what, &index_bytes);

        // Every tar entry of every member: typeflag '0' (apk-tools skips anything else).
        let mut tars: Vec<Vec<Entry>> = Vec::new();
        for (at, (_, tar)) in split.iter().enumerate() {
            let (entries, ended) = tar_entries(&format!("{what} member {at}"), tar);
            for entry in &entries {
                assert_eq!(
                    entry.typeflag,
                    b'0',
                    "{what}: entry {} has typeflag {:?}; apk-tools reads only '0' and '7' as \
                     regular files",
                    entry.name,
                    char::from(entry.typeflag)
                );
            }
            if is_signature(&entries) {
                assert_eq!(at, 0, "{what}: the signature member comes first");
                assert!(
                    entries.iter().all(|e| e.name.starts_with(".SIGN.")),
                    "{what}: the signature member holds only .SIGN. entries"
                );
                assert!(
                    !ended,
                    "{what}: the signature segment has end-of-archive blocks"
                );
            }
            tars.push(entries);
        }
        assert!(
            is_signature(&tars[0]),
            "{what}: unsigned (no .SIGN. member first)"
        );
        assert_eq!(tars.len(), 2, "{what}: signature and index members");
        let names: BTreeSet<&str> = tars[1].iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            BTreeSet::from(["APKINDEX", "DESCRIPTION"]),
            "{what}: the index member's entries"
        );
        let text = &tars[1].iter().find(|e| e.name == "APKINDEX").unwrap().body;
        let records = records(std::str::from_utf8(text).unwrap());
        assert!(!records.is_empty(), "{what}: no packages");

        // Every D: is provided by a P: or a p: of the same index.
        let mut provided = BTreeSet::new();
        for record in &records {
            provided.insert(record[&'P'].clone());
            for entry in record
                .get(&'p')
                .map(String::as_str)
                .unwrap_or("")
                .split(' ')
            {
                if !entry.is_empty() {
                    provided.insert(dep_name(entry).to_owned());
                }
            }
        }
        let mut identities = BTreeSet::new();
        for record in &records {
            let name = &record[&'P'];
            for dep in record
                .get(&'D')
                .map(String::as_str)
                .unwrap_or("")
                .split(' ')
            {
                if dep.is_empty() || dep.starts_with('!') {
                    continue;
                }
                assert!(
                    provided.contains(dep_name(dep)),
                    "{what}: {name} depends on {dep}, which no package of the index provides"
                );
            }

            // The package file: S: bytes, control member hashing to C:.
            let version = &record[&'V'];
            let file = format!("{name}-{version}.apk");
            let package = repo.get(&client, &format!("{ARCH}/{file}")).await;
            let size: usize = record
                .get(&'S')
                .unwrap_or_else(|| panic!("{what}: {name} has no S:"))
                .parse()
                .unwrap();
            assert_eq!(package.len(), size, "{cache}/{file}: length against S:");
            let checksum = record
                .get(&'C')
                .unwrap_or_else(|| panic!("{what}: {name} has no C:"));
            assert!(
                identities.insert(checksum.clone()),
                "{what}: {name}'s C: is another record's (apk-tools keys packages by it)"
            );
            let digest = BASE64_STANDARD
                .decode(
                    checksum
                        .strip_prefix("Q1")
                        .unwrap_or_else(|| panic!("{what}: {name}: C: is not Q1")),
                )
                .unwrap();
            assert_eq!(digest.len(), 20, "{what}: {name}: C: is not a SHA-1");

            let package_what = format!("{cache}/{file}");
            let parts = members(&package_what, &package);
            let tars: Vec<Vec<Entry>> = parts
                .iter()
                .enumerate()
                .map(|(at, (_, tar))| tar_entries(&format!("{package_what} member {at}"), tar).0)
                .collect();
            let control = usize::from(is_signature(&tars[0]));
            assert!(
                parts.len() > control + 1,
                "{package_what}: no data member after the control member"
            );
            let pkginfo = tars[control]
                .iter()
                .find(|e| e.name == ".PKGINFO")
                .unwrap_or_else(|| panic!("{package_what}: the control member has no .PKGINFO"));
            let pkginfo = String::from_utf8_lossy(&pkginfo.body);
            assert!(
                pkginfo.lines().any(|l| l == format!("pkgname = {name}")),
                "{package_what}: .PKGINFO names another package:\n{pkginfo}"
            );
            assert!(
                pkginfo.lines().any(|l| l == format!("pkgver = {version}")),
                "{package_what}: .PKGINFO has another version:\n{pkginfo}"
            );
            assert_eq!(
                sha1_hex(parts[control].0),
                hex(&digest),
                "{package_what}: SHA-1 of the control member's compressed bytes against C:{checksum}"
            );

            served_files.insert((cache.to_owned(), file), package);
        }
        checked.push((cache, records.len()));
    }
    assert_eq!(checked.len(), APK_CACHES.len(), "{checked:?}");

    // The Generic virtual answers each path from its first member that has it: every
    // package of the first member comes through the virtual byte for byte.
    let virtual_repo = Repo::parse(&lines["cg-apk-virt"]);
    let mut compared = 0;
    for ((cache, file), bytes) in &served_files {
        if *cache != virtual_first {
            continue;
        }
        let through_virtual = match served_files.get(&("cg-apk-virt".to_owned(), file.clone())) {
            Some(bytes) => bytes.clone(),
            None => virtual_repo.get(&client, &format!("{ARCH}/{file}")).await,
        };
        assert!(
            through_virtual == *bytes,
            "cg-apk-virt/{file}: other bytes than {virtual_first}'s"
        );
        compared += 1;
    }
    assert!(
        compared > 0,
        "{virtual_first} served no package: {checked:?}"
    );
}
