//! `search` against the real Alpine v3.16 main index in `../shared/testdata/apk/`,
//! checked against an independent reading of apk-tools 2.14's rule (`src/app_search.c`,
//! `__apk_db_foreach_sorted_package` and `apk_pkg_match` in `src/database.c`): each
//! pattern becomes `*PATTERN*`, matched case-insensitively against each package's name
//! and every name it provides (`p:`, version suffix left off); each matching package name
//! is shown once with its newest matching version, sorted the way apk displays names.
//!
//! The expected side reads the gzip members and tar headers itself and the raw `P:`,
//! `V:` and `p:` lines, and matches with a `*`-only matcher of its own, so it shares
//! nothing with the crate's reader or glob except version comparison. Skipped with a
//! message when `../shared` is absent; `PULL_THROUGH_REQUIRE_SHARED=1` makes that a
//! failure.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use apk_repo::index::{ApkIndex, Keyring};
use apk_repo::search::{SearchOptions, policy, search};

fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/apk");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("PULL_THROUGH_REQUIRE_SHARED").is_some() {
        panic!(
            "{} is missing and PULL_THROUGH_REQUIRE_SHARED is set",
            dir.display()
        );
    }
    eprintln!(
        "skipping: {} is absent (it ships beside the repository in CI)",
        dir.display()
    );
    None
}

/// One record as the raw text has it.
struct Raw {
    name: String,
    version: String,
    provides: Vec<String>,
}

/// The `APKINDEX` member's text: every gzip member inflated, then tar headers walked by
/// hand (name at 0..100, octal size at 124..136, data padded to 512 bytes).
fn raw_apkindex_text(bytes: &[u8]) -> String {
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut tar)
        .unwrap();
    let mut at = 0;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            at += 512;
            continue;
        }
        let name_end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = std::str::from_utf8(&header[..name_end]).unwrap();
        let size_text = std::str::from_utf8(&header[124..136]).unwrap();
        let size =
            usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap();
        let data = &tar[at + 512..at + 512 + size];
        if name == "APKINDEX" {
            return String::from_utf8(data.to_vec()).unwrap();
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("no APKINDEX member");
}

fn raw_records(text: &str) -> Vec<Raw> {
    let mut records = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut raw = Raw {
            name: String::new(),
            version: String::new(),
            provides: Vec::new(),
        };
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("P:") {
                raw.name = value.to_owned();
            } else if let Some(value) = line.strip_prefix("V:") {
                raw.version = value.to_owned();
            } else if let Some(value) = line.strip_prefix("p:") {
                for entry in value.split(' ').filter(|e| !e.is_empty()) {
                    let end = entry.find(['=', '<', '>', '~']).unwrap_or(entry.len());
                    raw.provides.push(entry[..end].to_owned());
                }
            }
        }
        records.push(raw);
    }
    records
}

/// `*`-only glob, case-insensitive: the pieces between stars appear in order, the first
/// at the start unless the pattern starts with `*`, the last at the end likewise.
fn star_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let pieces: Vec<&str> = pattern.split('*').collect();
    if pieces.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// apk-tools' answer for `apk search PATTERN`, computed from the raw records.
fn expected(records: &[Raw], pattern: &str) -> Vec<String> {
    let wrapped = format!("*{pattern}*");
    let mut newest: BTreeMap<(String, String), &str> = BTreeMap::new();
    for raw in records {
        let hit = std::iter::once(&raw.name)
            .chain(&raw.provides)
            .any(|name| star_match(&wrapped, name));
        if !hit {
            continue;
        }
        let key = (raw.name.to_ascii_lowercase(), raw.name.clone());
        let slot = newest.entry(key).or_insert(&raw.version);
        if apk_repo::version::compare(&raw.version, slot).unwrap() == Ordering::Greater {
            *slot = &raw.version;
        }
    }
    newest
        .into_iter()
        .map(|((_, name), version)| format!("{name}-{version}"))
        .collect()
}

fn lines(found: &[&apk_repo::index::Package]) -> Vec<String> {
    found
        .iter()
        .map(|p| format!("{}-{}", p.name, p.version))
        .collect()
}

#[test]
fn star_match_is_a_plain_star_glob() {
    assert!(star_match("*-doc*", "zlib-doc"));
    assert!(star_match("*lib*ssl**", "so:libssl.so.3"));
    assert!(!star_match("*lib*ssl**", "openssl"));
    assert!(star_match("*zlib*", "ZLIB"));
    assert!(star_match("**", ""));
    assert!(!star_match("a*a", "a"));
}

#[test]
fn search_on_alpine_v3_16_agrees_with_the_apk_tools_rule() {
    let Some(data) = testdata() else { return };
    let folder = data.join("alpine-v3.16-main-x86_64");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let index = ApkIndex::read(&bytes, &Keyring::from_dir(&folder).unwrap()).unwrap();
    let records = raw_records(&raw_apkindex_text(&bytes));
    assert_eq!(records.len(), index.packages.len());

    // Counts measured with the independent rule; the old search (name only, `*` only
    // when the pattern had none) found 2, 10, 1,031, 7 and 110.
    for (pattern, count) in [
        ("lib*ssl*", 13),
        ("zlib", 11),
        ("*-doc", 1_034),
        ("busybox*", 7),
        ("py3-*", 110),
    ] {
        let want = expected(&records, pattern);
        let got = lines(&search(&index.packages, &[pattern], SearchOptions::default()).unwrap());
        assert_eq!(want.len(), count, "{pattern}: the independent rule");
        assert_eq!(got, want, "{pattern}");
    }

    let found =
        |patterns: &[&str], options| lines(&search(&index.packages, patterns, options).unwrap());
    let default = SearchOptions::default();
    let ssl = found(&["lib*ssl*"], default);
    for line in [
        "asterisk-18.13.0-r0",   // so:libasteriskssl.so.1
        "dovecot-2.3.19.1-r0",   // so:libssl_iostream_openssl.so
        "libevent-2.1.12-r4",    // so:libevent_openssl-2.1.so.7
        "libssl3-3.0.7-r0",      // its own name
        "openssl-dev-1.1.1s-r0", // pc:libssl
        "strongswan-5.9.5-r2",   // so:libstrongswan-openssl.so
    ] {
        assert!(ssl.contains(&line.to_owned()), "{line} in {ssl:?}");
    }
    assert_eq!(
        found(&["zlib"], default),
        [
            "dovecot-2.3.19.1-r0",
            "lua-lzlib-0.4.3-r1",
            "lua5.1-lzlib-0.4.3-r1",
            "lua5.2-lzlib-0.4.3-r1",
            "lua5.3-lzlib-0.4.3-r1",
            "lua5.4-lzlib-0.4.3-r1",
            "perl-compress-raw-zlib-2.105-r0",
            "zlib-1.2.12-r3",
            "zlib-dev-1.2.12-r3",
            "zlib-doc-1.2.12-r3",
            "zlib-static-1.2.12-r3",
        ]
    );
    assert_eq!(
        found(&["busybox*"], default),
        [
            "busybox-1.35.0-r17",
            "busybox-doc-1.35.0-r17",
            "busybox-extras-1.35.0-r17",
            "busybox-ifupdown-1.35.0-r17",
            "busybox-initscripts-4.2-r0",
            "busybox-static-1.35.0-r17",
            "busybox-suid-1.35.0-r17",
        ]
    );
    // Several patterns: the union, once each.
    assert_eq!(found(&["zlib", "busybox*"], default).len(), 11 + 7);

    let mut exact = SearchOptions::default();
    exact.exact = true;
    assert_eq!(found(&["zlib"], exact), ["zlib-1.2.12-r3"]);
    assert_eq!(found(&["so:libz.so.1"], exact), ["zlib-1.2.12-r3"]);
    assert_eq!(found(&["cmd:sh"], exact), ["busybox-1.35.0-r17"]);
    assert_eq!(
        found(&["so:libc.musl-x86_64.so.1"], exact),
        ["musl-1.2.3-r2"]
    );
    assert_eq!(found(&["zlib*"], exact).len(), 4, "a glob over whole names");
}

#[test]
fn policy_on_alpine_v3_16_prints_nothing_for_provided_names() {
    let Some(data) = testdata() else { return };
    let folder = data.join("alpine-v3.16-main-x86_64");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let index = ApkIndex::read(&bytes, &Keyring::from_dir(&folder).unwrap()).unwrap();
    let sources = [("https://dl-cdn.alpinelinux.org/alpine/v3.16/main", &index)];
    for provided in ["so:libc.musl-x86_64.so.1", "cmd:sh", "pc:zlib"] {
        assert_eq!(policy(provided, &sources).to_string(), "", "{provided}");
    }
    assert_eq!(
        policy("zlib", &sources).to_string(),
        "zlib policy:\n  1.2.12-r3:\n    https://dl-cdn.alpinelinux.org/alpine/v3.16/main\n"
    );
}
