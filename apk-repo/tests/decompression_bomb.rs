//! Gzip bombs against the index reader: a megabyte that decompresses to a gigabyte is
//! refused with [`IndexError::TooLarge`] (or, for a tar extension entry, as malformed),
//! without decompressing or allocating what it claims. The bombs are built here, a member
//! of a mebibyte of zeros repeated, never stored. Where `/proc/self` tells (Linux), each
//! test also checks the process's peak memory; the tests take turns so one's peak is not
//! another's. What small text parses into is in `parsed_memory.rs`.

mod support;

use std::io::{Read, Write};

use support::{MIB, measured, turn};

use apk_repo::index::{
    ApkIndex, DEFAULT_MAX_DECOMPRESSED, IndexError, Limit, Package, ReadOptions, write_index,
};

const GIB: u64 = 1024 * MIB;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn header(name: &str, kind: tar::EntryType, size: u64) -> Vec<u8> {
    let mut header = if kind == tar::EntryType::GNULongName {
        tar::Header::new_gnu()
    } else {
        tar::Header::new_ustar()
    };
    header.set_path(name).unwrap();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// A tar header in one gzip member, then `zeros` bytes of zeros as members of a mebibyte
/// each: about a kilobyte of file per mebibyte of bomb.
fn bomb(header: &[u8], zeros: u64) -> Vec<u8> {
    let mebibyte = gzip(&vec![0; MIB as usize]);
    let mut bytes = gzip(header);
    for _ in 0..zeros / MIB {
        bytes.extend_from_slice(&mebibyte);
    }
    bytes
}

/// The fields of a [`IndexError::TooLarge`] of the decompression cap.
fn too_large(err: IndexError) -> (String, u64, u64) {
    match err {
        IndexError::TooLarge {
            what,
            which: Limit::Decompressed,
            limit,
            seen,
        } => (what, limit, seen),
        other => panic!("expected TooLarge of the decompression cap, got {other:?}"),
    }
}

#[test]
fn a_gigabyte_bomb_is_refused_from_its_header() {
    let _turn = turn();
    let bytes = bomb(&header("APKINDEX", tar::EntryType::Regular, GIB), GIB);
    assert!(
        bytes.len() < 2 * MIB as usize,
        "the bomb is {} bytes",
        bytes.len()
    );

    let (result, rise) = measured(|| ApkIndex::read_unverified(&bytes));
    let err = result.unwrap_err();
    let message = err.to_string();
    let (what, limit, seen) = too_large(err);
    assert_eq!(
        what,
        "the tar entry \"APKINDEX\", which declares 1073741824 bytes,"
    );
    assert_eq!(limit, DEFAULT_MAX_DECOMPRESSED);
    assert_eq!(seen, 512, "only the header was decompressed");
    assert_eq!(
        message,
        "the tar entry \"APKINDEX\", which declares 1073741824 bytes, goes past the \
         decompression cap of 314572800 bytes (stopped after 512 decompressed bytes): a gzip \
         bomb, or an index larger than any real one; if it is genuine, raise the cap \
         (max_decompressed of ReadOptions, RepoClientBuilder::read_options, or the argument \
         of gzip_members)"
    );
    if let Some(rise) = rise {
        assert!(rise < 16 * MIB, "peak memory rose by {rise} bytes");
    }
}

#[test]
fn a_long_name_bomb_is_refused_from_its_header() {
    // The tar crate would read a GNU long name whole into memory before yielding the
    // entry it names; the reader refuses one past 64 KiB from its header instead.
    let _turn = turn();
    let bytes = bomb(
        &header("././@LongLink", tar::EntryType::GNULongName, GIB),
        GIB,
    );
    let cap = 16 * MIB;
    let options = ReadOptions::default().with_max_decompressed(cap);

    for options in [options, ReadOptions::default()] {
        let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
        match result {
            Err(IndexError::Malformed { problem }) => assert_eq!(
                problem,
                "the index tar: a GNU long-name entry (typeflag 'L') declares 1073741824 \
                 bytes; extension entries of more than 65536 bytes are refused before they \
                 are read (real ones take a few hundred)"
            ),
            other => panic!("{other:?}"),
        }
        if let Some(rise) = rise {
            assert!(rise < 16 * MIB, "peak memory rose by {rise} bytes");
        }
    }
}

#[test]
fn a_bomb_past_the_cap_in_skipped_entries_stops_at_the_cap() {
    // Entries that each fit under what is left, but not together: nothing declares the
    // whole, so the cap on the stream stops it, one byte past the cap (here in the
    // seventeenth header, which the cap cuts).
    let _turn = turn();
    let mut bytes = Vec::new();
    for i in 0..32 {
        bytes.extend(bomb(
            &header(&format!("junk-{i}"), tar::EntryType::Regular, MIB),
            MIB,
        ));
    }
    let cap = 16 * (512 + MIB) + 100;
    let options = ReadOptions::default().with_max_decompressed(cap);

    let (result, rise) = measured(|| ApkIndex::read_unverified_with(&bytes, options));
    let (what, limit, seen) = too_large(result.unwrap_err());
    assert_eq!((what.as_str(), limit), ("the index", cap));
    assert_eq!(seen, cap + 1, "one byte past the cap, and no further");
    if let Some(rise) = rise {
        assert!(rise < 16 * MIB, "peak memory rose by {rise} bytes");
    }
}

#[test]
fn a_signature_member_bomb_is_malformed() {
    // The signature member is read on its own, so this bomb is one member: a signature
    // entry and 64 MiB of zeros, compressed as they are generated.
    let _turn = turn();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(&header(
            ".SIGN.RSA256.k.rsa.pub",
            tar::EntryType::Regular,
            64 * MIB,
        ))
        .unwrap();
    let zeros = vec![0; MIB as usize];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bytes = encoder.finish().unwrap();
    assert!(
        bytes.len() < MIB as usize,
        "the bomb is {} bytes",
        bytes.len()
    );
    let (result, rise) = measured(|| ApkIndex::read_unverified(&bytes));
    match result {
        Err(IndexError::Malformed { problem }) => assert_eq!(
            problem,
            "the signature member decompresses to more than 16777216 bytes; real signatures \
             are a few hundred bytes each"
        ),
        other => panic!("{other:?}"),
    }
    if let Some(rise) = rise {
        assert!(rise < 64 * MIB, "peak memory rose by {rise} bytes");
    }
}

#[test]
fn an_index_at_the_cap_passes_and_a_smaller_cap_refuses_it() {
    let _turn = turn();
    let packages: Vec<Package> = (0..2000)
        .map(|i| {
            let mut package = Package::default();
            package.name = format!("package-{i}");
            package.version = "1.0-r0".to_owned();
            package
        })
        .collect();
    let bytes = write_index(&packages, "d");
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut tar)
        .unwrap();
    let size = tar.len() as u64;

    for cap in [size, size + 1] {
        let options = ReadOptions::default().with_max_decompressed(cap);
        let index = ApkIndex::read_unverified_with(&bytes, options).unwrap();
        assert_eq!(index.packages.len(), 2000, "cap {cap} of {size}");
    }
    // Two blocks short: the reader needs every block but the second end-of-archive one.
    let cap = size - 1024;
    let options = ReadOptions::default().with_max_decompressed(cap);
    let (what, limit, seen) =
        too_large(ApkIndex::read_unverified_with(&bytes, options).unwrap_err());
    assert_eq!((what.as_str(), limit, seen), ("the index", cap, cap + 1));
    // Far short: the APKINDEX entry's own header says it cannot fit.
    let cap = size / 2;
    let options = ReadOptions::default().with_max_decompressed(cap);
    let (what, limit, _) = too_large(ApkIndex::read_unverified_with(&bytes, options).unwrap_err());
    assert!(
        what.starts_with("the tar entry \"APKINDEX\", which declares "),
        "{what}"
    );
    assert_eq!(limit, cap);
}
