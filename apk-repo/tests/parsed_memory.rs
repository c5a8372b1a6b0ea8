//! What small text parses into: `P:a\nV:1\n\n` is nine bytes and a `Package` of 400 bytes
//! with two allocations, so 300 MiB of such records (a few hundred kilobytes gzipped,
//! well under the decompression cap) took some 15 GiB before the package and memory caps.
//! Each test builds its index here and, where `/proc/self` tells (Linux), checks the
//! process's peak memory; every test takes its turn, so none allocates while another
//! measures. Also here: tar extension entries (GNU long names, PAX headers),
//! which are refused past 64 KiB from their header.

mod support;

use std::io::Write;

use apk_repo::index::{
    ApkIndex, DEFAULT_MAX_PACKAGES, IndexError, Limit, Package, ReadOptions, SignedIndex,
    for_each_package, write_index,
};
use support::{MIB, measured, turn};

/// The smallest record apk reads.
const TINY: &[u8] = b"P:a\nV:1\n\n";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar entry: a ustar header with typeflag `flag`, then `body`, padded to a block.
fn entry(name: &str, flag: u8, body: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    header.set_path(name).unwrap();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.as_mut_bytes()[156] = flag;
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A gzipped tar of `entries` with its end-of-archive blocks.
fn tar_gz(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut tar = entries.concat();
    tar.resize(tar.len() + 1024, 0);
    gzip(&tar)
}

/// An unsigned index whose APKINDEX is `mib` mebibytes of `record` repeated, built as
/// gzip members of a mebibyte each: about 2 KB of file per mebibyte of text.
fn repeated(record: &[u8], mib: u64) -> Vec<u8> {
    let chunk = record.repeat(MIB as usize / record.len());
    let size = chunk.len() as u64 * mib;
    let mut header = tar::Header::new_ustar();
    header.set_path("APKINDEX").unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let member = gzip(&chunk);
    let mut bytes = gzip(header.as_bytes());
    for _ in 0..mib {
        bytes.extend_from_slice(&member);
    }
    let padding = (512 - size % 512) % 512;
    bytes.extend(gzip(&vec![0; padding as usize + 1024]));
    bytes
}

/// One record whose `D:` line is `items` one-letter items: 2 bytes of text each, 56 of
/// memory once built (a 24-byte `String` and a 32-byte allocation).
fn one_long_list(items: usize) -> Vec<u8> {
    let mut text = b"P:a\nV:1\nD:".to_vec();
    text.extend("a ".repeat(items).as_bytes());
    text.extend_from_slice(b"\n\n");
    tar_gz(&[entry("APKINDEX", b'0', &text)])
}

/// The fields of a [`IndexError::TooLarge`].
fn too_large(err: IndexError) -> (String, Limit, u64, u64) {
    match err {
        IndexError::TooLarge {
            what,
            which,
            limit,
            seen,
        } => (what, which, limit, seen),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// The packages `for_each_package` reads from an unsigned index, or its error.
fn stream(bytes: &[u8], options: ReadOptions) -> Result<u64, IndexError> {
    let split = SignedIndex::split(bytes).unwrap();
    let mut count = 0;
    for_each_package(split.signed, options, |_| {
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

#[test]
fn tiny_records_stop_at_the_package_cap() {
    let _turn = turn();
    let bytes = repeated(TINY, 299);
    assert!(
        bytes.len() < MIB as usize,
        "299 MiB of records in {} bytes",
        bytes.len()
    );
    let options = ReadOptions::default().with_max_packages(10_000);

    let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the APKINDEX goes past the cap of 10000 packages (stopped at package 10001): an index \
         of tiny records made to fill memory, or one larger than any real one; if it is \
         genuine, raise the cap (ReadOptions::with_max_packages, given to ApkIndex::read_with \
         or RepoClientBuilder::read_options)"
    );
    assert_eq!(
        too_large(err),
        ("the APKINDEX".to_owned(), Limit::Packages, 10_000, 10_001)
    );
    if let Some(rise) = rise {
        assert!(rise < 16 * MIB, "peak memory rose by {rise} bytes");
    }
    // Streaming holds to the same cap.
    assert_eq!(
        too_large(stream(&bytes, options).unwrap_err()),
        ("the APKINDEX".to_owned(), Limit::Packages, 10_000, 10_001)
    );
}

#[test]
fn tiny_records_under_the_default_caps_stay_within_half_a_gibibyte() {
    let _turn = turn();
    let bytes = repeated(TINY, 299);

    let (result, rise) = measured(|| ApkIndex::read_unverified(&bytes));
    assert_eq!(
        too_large(result.unwrap_err()),
        (
            "the APKINDEX".to_owned(),
            Limit::Packages,
            DEFAULT_MAX_PACKAGES,
            DEFAULT_MAX_PACKAGES + 1
        )
    );
    if let Some(rise) = rise {
        // A million packages: a list buffer of 2^20 packages and two allocations of 32
        // bytes each (the name and the version), and some fixed buffers.
        let list = (1 << 20) * std::mem::size_of::<Package>() as u64;
        let bound = list + DEFAULT_MAX_PACKAGES * 64 + 16 * MIB;
        assert!(bound < 512 * MIB, "{bound}");
        assert!(rise < bound, "peak memory rose by {rise} bytes");
    }
}

#[test]
fn tiny_records_meet_a_lower_memory_cap_first() {
    let _turn = turn();
    let bytes = repeated(TINY, 299);
    let cap = 8 * MIB;
    let options = ReadOptions::default().with_max_memory(cap);

    let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
    let err = result.unwrap_err();
    let message = err.to_string();
    let (what, which, limit, seen) = too_large(err);
    assert_eq!((which, limit), (Limit::Memory, cap));
    assert!(seen > cap, "{seen}");
    // The package list is refused when it would grow: after a power of two of packages.
    let at: u64 = what
        .strip_prefix("the package list, at package ")
        .and_then(|rest| rest.strip_suffix(','))
        .unwrap_or_else(|| panic!("{what}"))
        .parse()
        .unwrap();
    assert!((at - 1).is_power_of_two(), "{at}");
    assert_eq!(
        message,
        format!(
            "the package list, at package {at}, goes past the memory cap of {cap} bytes (the \
             parsed index would hold about {seen} bytes): records made to fill memory, or an \
             index larger than any real one; if it is genuine, raise the cap \
             (ReadOptions::with_max_memory, given to ApkIndex::read_with or \
             RepoClientBuilder::read_options)"
        )
    );
    if let Some(rise) = rise {
        assert!(rise < cap + 8 * MIB, "peak memory rose by {rise} bytes");
    }
    // Streaming holds one record at a time: the memory cap is never met.
    assert_eq!(
        too_large(stream(&bytes, options).unwrap_err()),
        (
            "the APKINDEX".to_owned(),
            Limit::Packages,
            DEFAULT_MAX_PACKAGES,
            DEFAULT_MAX_PACKAGES + 1
        )
    );
}

#[test]
fn a_list_of_tiny_items_is_refused_before_it_is_built() {
    let _turn = turn();
    // 16 MiB of text that would take 448 MiB as a list.
    let items = 8 << 20;
    let bytes = one_long_list(items);
    let cap = 64 * MIB;
    let options = ReadOptions::default().with_max_memory(cap);

    let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
    let (what, which, limit, seen) = too_large(result.unwrap_err());
    assert_eq!(
        (what.as_str(), which, limit),
        ("the APKINDEX record at line 3", Limit::Memory, cap)
    );
    assert!(seen > items as u64 * 56, "{seen}");
    if let Some(rise) = rise {
        assert!(rise < cap, "peak memory rose by {rise} bytes");
    }
    let (what, which, _, _) = too_large(stream(&bytes, options).unwrap_err());
    assert_eq!(
        (what.as_str(), which),
        ("the APKINDEX record at line 3", Limit::Memory)
    );
    // The same list of a thousand items is read.
    let index = ApkIndex::read_unverified_with(&one_long_list(1000), options).unwrap();
    assert_eq!(index.packages[0].depends.len(), 1000);
}

#[test]
fn a_line_longer_than_the_memory_left_is_refused_as_it_is_read() {
    let _turn = turn();
    let bytes = one_long_list(8 << 20);
    let cap = MIB;
    let options = ReadOptions::default().with_max_memory(cap);

    let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
    let (what, which, limit, seen) = too_large(result.unwrap_err());
    assert_eq!(
        (what.as_str(), which, limit),
        ("APKINDEX line 3", Limit::Memory, cap)
    );
    assert!(seen > cap, "{seen}");
    if let Some(rise) = rise {
        assert!(rise < 8 * MIB, "peak memory rose by {rise} bytes");
    }
}

#[test]
fn kept_packages_are_charged_and_streamed_ones_are_not() {
    let _turn = turn();
    let packages: Vec<Package> = (0..20_000)
        .map(|i| {
            let mut package = Package::default();
            package.name = format!("package-{i}");
            package.version = "1.0-r0".to_owned();
            package.depends = vec!["so:libc.so.6".to_owned(), format!("dep-{i}")];
            package
        })
        .collect();
    let bytes = write_index(&packages, "d");
    let options = ReadOptions::default().with_max_memory(2 * MIB);

    let (what, which, limit, _) =
        too_large(ApkIndex::read_unverified_with(&bytes, options).unwrap_err());
    assert_eq!((which, limit), (Limit::Memory, 2 * MIB));
    // Whichever comes first past the cap: the next record, or the list growing for it.
    assert!(
        what.starts_with("the package list, at package ")
            || what.starts_with("the APKINDEX record at line "),
        "{what}"
    );
    assert_eq!(stream(&bytes, options).unwrap(), 20_000);
    let index = ApkIndex::read_unverified_with(&bytes, options.with_max_memory(32 * MIB)).unwrap();
    assert_eq!(index.packages, packages);
}

const RECORD: &[u8] = b"P:wget\nV:1.24.5-r5\n\n";

fn names(bytes: &[u8]) -> Vec<String> {
    let index = ApkIndex::read_unverified(bytes).unwrap();
    index.packages.into_iter().map(|p| p.name).collect()
}

fn malformed(bytes: &[u8]) -> String {
    match ApkIndex::read_unverified(bytes) {
        Err(IndexError::Malformed { problem }) => problem,
        other => panic!("{other:?}"),
    }
}

#[test]
fn long_names_and_pax_paths_name_the_next_entry() {
    let _turn = turn();
    let long_name = tar_gz(&[
        entry("././@LongLink", b'L', b"APKINDEX\0"),
        entry("cut-short", b'0', RECORD),
    ]);
    assert_eq!(names(&long_name), ["wget"]);
    let pax = tar_gz(&[
        entry("PaxHeaders/x", b'x', b"17 path=APKINDEX\n"),
        entry("cut-short", b'0', RECORD),
    ]);
    assert_eq!(names(&pax), ["wget"]);
    // Both: the PAX path wins, as in apk-tools; a name ends at its first NUL.
    let both = tar_gz(&[
        entry("././@LongLink", b'L', b"APKINDEX\0"),
        entry("PaxHeaders/x", b'x', b"14 path=other\n"),
        entry("cut-short", b'0', b"P:x\nV:1\n\n"),
        entry("././@LongLink", b'L', b"APKINDEX\0ignored after the NUL"),
        entry("cut-short", b'0', RECORD),
    ]);
    assert_eq!(names(&both), ["wget"]);
    // A long name of exactly the limit is read; it names an entry apk ignores.
    let at_limit = tar_gz(&[
        entry("././@LongLink", b'L', &[b'a'; 64 * 1024]),
        entry("ignored", b'0', b"P:x\nV:1\n\n"),
        entry("APKINDEX", b'0', RECORD),
    ]);
    assert_eq!(names(&at_limit), ["wget"]);
}

#[test]
fn extension_entries_past_64_kib_are_refused_from_their_header() {
    let _turn = turn();
    let body = vec![b'a'; 64 * 1024 + 1];
    for (flag, kind) in [
        (b'L', "GNU long-name"),
        (b'K', "GNU long-link"),
        (b'x', "PAX header"),
        (b'g', "PAX global header"),
    ] {
        let bytes = tar_gz(&[
            entry("extension", flag, &body),
            entry("APKINDEX", b'0', RECORD),
        ]);
        assert_eq!(
            malformed(&bytes),
            format!(
                "the index tar: a {kind} entry (typeflag '{}') declares 65537 bytes; extension \
                 entries of more than 65536 bytes are refused before they are read (real ones \
                 take a few hundred)",
                char::from(flag)
            )
        );
    }
    // The signature tar is walked the same way.
    let signature = tar_gz(&[
        entry(".SIGN.RSA256.k.rsa.pub", b'0', b"signature"),
        entry("././@LongLink", b'L', &body),
    ]);
    let mut bytes = signature;
    bytes.extend(tar_gz(&[entry("APKINDEX", b'0', RECORD)]));
    match SignedIndex::split(&bytes) {
        Err(IndexError::Malformed { problem }) => assert!(
            problem.starts_with(
                "the signature tar: a GNU long-name entry (typeflag 'L') declares 65537 bytes;"
            ),
            "{problem}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn extension_entries_that_describe_nothing_or_twice_are_malformed() {
    let _turn = turn();
    let twice = tar_gz(&[
        entry("././@LongLink", b'L', b"APKINDEX\0"),
        entry("././@LongLink", b'L', b"APKINDEX\0"),
        entry("cut-short", b'0', RECORD),
    ]);
    assert_eq!(
        malformed(&twice),
        "the index tar: two entries of typeflag 'L' describe the same entry"
    );
    let trailing = tar_gz(&[
        entry("APKINDEX", b'0', RECORD),
        entry("PaxHeaders/x", b'x', b"17 path=APKINDEX\n"),
    ]);
    assert_eq!(
        malformed(&trailing),
        "the index tar: the tar ends with a long-name or PAX entry that describes no entry"
    );
}
