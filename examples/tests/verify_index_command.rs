//! `pull-through apk verify-index --keys DIR FILE` on indexes apk-tools reads and on
//! indexes it would not (issue 14, item 1; `../shared/reference/apk.md` §3.1): apk-tools
//! reads only the tar typeflags `'0'` and `'7'` as regular files, so a signature or
//! `APKINDEX` entry with the old NUL typeflag is an error naming the entry and the rule,
//! and a `DESCRIPTION` entry with it a warning (apk-tools does without it).
//!
//! The good index comes from our writer (`apk_repo::index::write_index`, `sign_index`);
//! the bad ones are that index with one tar header rewritten here byte by byte (typeflag
//! at byte 156, the header checksum at 148..156) and the member re-gzipped here as stored
//! deflate blocks with a CRC-32 computed here. Splitting the good index into its gzip
//! members uses `apk_repo::package::gzip_members` (flate2 is not a dependency of this
//! package).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use apk_repo::index::{Package, SigningKey, sign_index, write_index};
use apk_repo::package::gzip_members;
use common::flow::expect_code;
use common::text;

const BIN: &str = env!("CARGO_BIN_EXE_pull-through");
const KEY_NAME: &str = "test-repo.rsa.pub";
const RULE: &str = "apk-tools reads only '0' and '7' as regular files and would skip it";

fn package(name: &str, version: &str) -> Package {
    let mut package = Package::default();
    package.name = name.into();
    package.version = version.into();
    package
}

/// A signing key, and a keys folder holding its public half under its name.
fn key_and_folder(dir: &Path) -> (SigningKey, PathBuf) {
    let key = SigningKey::generate(KEY_NAME).unwrap();
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::write(keys.join(KEY_NAME), key.public_key_pem()).unwrap();
    (key, keys)
}

fn unsigned_index() -> Vec<u8> {
    write_index(
        &[package("bash", "5.2.37-r31"), package("wget", "1.24.5-r5")],
        "test repository",
    )
}

fn verify_index(dir: &Path, keys: &Path, name: &str, bytes: &[u8]) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    Command::new(BIN)
        .args(["apk", "verify-index", "--keys"])
        .arg(keys)
        .arg(&file)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
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

/// One gzip member (RFC 1952) of `bytes` in stored deflate blocks (RFC 1951 §3.2.4).
fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = bytes.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
    out
}

/// Sets the typeflag of the tar entry named `name` in `tar` to `typeflag` and rewrites
/// the header checksum: the sum of the header's bytes with the checksum field as spaces,
/// six octal digits, NUL, space.
fn set_typeflag(tar: &mut [u8], name: &str, typeflag: u8) {
    let mut at = 0;
    while at + 512 <= tar.len() {
        let header = &mut tar[at..at + 512];
        assert!(
            header.iter().any(|b| *b != 0),
            "{name} is not in the tar segment"
        );
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let size_text = String::from_utf8_lossy(&header[124..136]).into_owned();
        let size = usize::from_str_radix(size_text.trim_matches(['\0', ' ']), 8).unwrap();
        if &header[..end] == name.as_bytes() {
            assert_eq!(header[156], b'0', "{name}: our writer's typeflag");
            header[156] = typeflag;
            let sum: u32 = header
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if (148..156).contains(&i) {
                        u32::from(b' ')
                    } else {
                        u32::from(*b)
                    }
                })
                .sum();
            header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            return;
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{name} is not in the tar segment");
}

/// `signed` with its signature member's tar rewritten by `edit` and re-gzipped here.
fn with_signature_tar(signed: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let members = gzip_members(signed, 1 << 20).unwrap();
    assert_eq!(members.len(), 2, "signature and index members");
    let mut tar = members[0].decompressed.clone();
    edit(&mut tar);
    let mut bytes = gzip_stored(&tar);
    bytes.extend_from_slice(&signed[members[1].compressed.clone()]);
    bytes
}

/// Our writer's unsigned index with its `name` entry's typeflag NUL, re-gzipped here and
/// signed again (the signature covers the index member's compressed bytes).
fn signed_with_nul_entry(key: &SigningKey, name: &str) -> Vec<u8> {
    let unsigned = unsigned_index();
    let members = gzip_members(&unsigned, 1 << 20).unwrap();
    assert_eq!(members.len(), 1, "one index member");
    let mut tar = members[0].decompressed.clone();
    set_typeflag(&mut tar, name, 0);
    sign_index(&gzip_stored(&tar), &[key]).unwrap()
}

#[test]
fn an_index_our_writer_signs_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (key, keys) = key_and_folder(dir.path());
    let signed = sign_index(&unsigned_index(), &[&key]).unwrap();
    let output = verify_index(dir.path(), &keys, "good.tar.gz", &signed);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("signed by {KEY_NAME}, 2 packages")),
        "{stdout}"
    );
    let all = format!("{stdout}{}", text(&output.stderr));
    assert!(!all.contains("warning"), "{all}");

    // The same index with its signature member re-gzipped here, unchanged: still good, so
    // the failures below come from the typeflag, not from this test's gzip.
    let regzipped = with_signature_tar(&signed, |_| {});
    assert_ne!(regzipped, signed);
    let output = verify_index(dir.path(), &keys, "regzipped.tar.gz", &regzipped);
    expect_code(&output, 0);
    assert!(
        text(&output.stdout).contains(&format!("signed by {KEY_NAME}, 2 packages")),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn a_signature_entry_with_the_nul_typeflag_fails_naming_the_entry_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (key, keys) = key_and_folder(dir.path());
    let signed = sign_index(&unsigned_index(), &[&key]).unwrap();
    let entry = format!(".SIGN.RSA256.{KEY_NAME}");
    let bad = with_signature_tar(&signed, |tar| set_typeflag(tar, &entry, 0));
    let output = verify_index(dir.path(), &keys, "nul-signature.tar.gz", &bad);
    expect_code(&output, 1);
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        all.contains(&format!("{entry}: tar typeflag NUL; {RULE}")),
        "{all}"
    );
}

#[test]
fn an_apkindex_entry_with_the_nul_typeflag_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, keys) = key_and_folder(dir.path());
    let bad = signed_with_nul_entry(&key, "APKINDEX");
    let output = verify_index(dir.path(), &keys, "nul-apkindex.tar.gz", &bad);
    expect_code(&output, 1);
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        all.contains(&format!("APKINDEX: tar typeflag NUL; {RULE}")),
        "{all}"
    );
}

#[test]
fn a_description_entry_with_the_nul_typeflag_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (key, keys) = key_and_folder(dir.path());
    let bad = signed_with_nul_entry(&key, "DESCRIPTION");
    let output = verify_index(dir.path(), &keys, "nul-description.tar.gz", &bad);
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("signed by {KEY_NAME}, 2 packages")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("warning: DESCRIPTION: tar typeflag NUL; {RULE}")),
        "{stdout}"
    );
}
