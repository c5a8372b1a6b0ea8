//! What apk-tools 2.14.10 reads, checked on the bytes we write, not through our reader
//! (`../shared/reference/apk.md` §3): every tar entry of an index carries the ustar
//! typeflag `'0'`; a package is signature, control and data gzip members, its identity
//! the SHA-1 of the control member's compressed bytes, its `datahash` the SHA-256 of the
//! data member's; and the reader reports what apk-tools would skip.

use std::io::Read;

use apk_repo::index::{
    ApkIndex, IndexError, Keyring, Package, SignedIndex, SigningKey, SkippedEntry, sign_index,
    write_index,
};
use apk_repo::package::{PackageBuilder, gzip_members};
use aws_lc_rs::digest;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;

/// The gzip members of `bytes`, split with flate2 directly: (compressed bytes, decompressed).
fn members(bytes: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut reader = rest;
        let mut decompressed = Vec::new();
        flate2::bufread::GzDecoder::new(&mut reader)
            .read_to_end(&mut decompressed)
            .unwrap();
        let consumed = rest.len() - reader.len();
        out.push((&rest[..consumed], decompressed));
        rest = &rest[consumed..];
    }
    out
}

/// One tar header, read byte by byte.
#[derive(Debug)]
struct Header {
    name: String,
    typeflag: u8,
    body: Vec<u8>,
}

/// The tar entries of a (possibly cut) tar segment, and whether it ended with a zero block.
fn headers(tar: &[u8]) -> (Vec<Header>, bool) {
    assert_eq!(tar.len() % 512, 0, "a tar segment is whole blocks");
    let mut entries = Vec::new();
    let mut at = 0;
    while at < tar.len() {
        let block = &tar[at..at + 512];
        if block.iter().all(|b| *b == 0) {
            return (entries, true);
        }
        assert_eq!(&block[257..262], b"ustar", "ustar magic");
        let stored: u32 = octal(&block[148..156]) as u32;
        let computed: u32 = block
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        assert_eq!(stored, computed, "header checksum");
        let name_field = |range: std::ops::Range<usize>| {
            let field = &block[range];
            let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
            String::from_utf8(field[..end].to_vec()).unwrap()
        };
        let (prefix, name) = (name_field(345..500), name_field(0..100));
        let size = octal(&block[124..136]) as usize;
        entries.push(Header {
            name: if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            },
            typeflag: block[156],
            body: tar[at + 512..at + 512 + size].to_vec(),
        });
        at += 512 + size.div_ceil(512) * 512;
    }
    (entries, false)
}

fn octal(field: &[u8]) -> u64 {
    let text = std::str::from_utf8(field).unwrap();
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    u64::from_str_radix(text, 8).unwrap_or(0)
}

fn package(name: &str, version: &str) -> Package {
    let mut package = Package::default();
    package.name = name.into();
    package.version = version.into();
    package.arch = Some("x86_64".into());
    package
}

#[test]
fn every_entry_of_a_written_index_has_typeflag_0() {
    let key = SigningKey::generate("repo.rsa.pub").unwrap();
    let signed = sign_index(
        &write_index(&[package("bash", "5.2.37-r31")], "test"),
        &[&key],
    )
    .unwrap();
    let split = members(&signed);
    assert_eq!(split.len(), 2, "signature member, then the index member");
    let (signatures, ended) = headers(&split[0].1);
    assert!(!ended, "the signature segment has no end-of-archive blocks");
    let (index, ended) = headers(&split[1].1);
    assert!(ended, "the index tar ends with end-of-archive blocks");
    let names: Vec<&str> = signatures
        .iter()
        .chain(&index)
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        names,
        [".SIGN.RSA256.repo.rsa.pub", "DESCRIPTION", "APKINDEX"]
    );
    for header in signatures.iter().chain(&index) {
        assert_eq!(
            header.typeflag, b'0',
            "{}: typeflag {:?}; apk-tools reads only '0' and '7' as regular files",
            header.name, header.typeflag
        );
    }
}

/// A signature member as the old writer made it: a GNU header with a NUL typeflag.
fn nul_signature_member(key: &SigningKey, unsigned: &[u8]) -> Vec<u8> {
    let good = sign_index(unsigned, &[key]).unwrap();
    let (signature_member, _) = members(&good).remove(0);
    let mut tar = members(signature_member).remove(0).1;
    tar[156] = 0;
    let sum: u32 = tar[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    let mut bytes = encoder.finish().unwrap();
    bytes.extend_from_slice(unsigned);
    bytes
}

/// An index member whose `name` entry has a NUL typeflag.
fn index_with_nul(name: &str) -> Vec<u8> {
    let mut tar = members(&write_index(&[package("a", "1-r0")], "d"))
        .remove(0)
        .1;
    let mut at = 0;
    loop {
        let (entry, size) = (&tar[at..at + 100], octal(&tar[at + 124..at + 136]) as usize);
        if entry.starts_with(name.as_bytes()) && entry[name.len()] == 0 {
            break;
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    tar[at + 156] = 0;
    let sum: u32 = tar[at..at + 512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    tar[at + 148..at + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_signature_entry_apk_tools_would_skip_is_an_error_naming_it_and_the_rule() {
    let key = SigningKey::generate("x.rsa.pub").unwrap();
    let bytes = nul_signature_member(&key, &write_index(&[package("a", "1-r0")], "d"));
    let mut keyring = Keyring::new();
    keyring.add_pem(key.name(), &key.public_key_pem()).unwrap();
    let expected = ".SIGN.RSA256.x.rsa.pub: tar typeflag NUL; apk-tools reads only '0' and \
                    '7' as regular files and would skip it";
    for result in [
        ApkIndex::read(&bytes, &keyring),
        ApkIndex::read_unverified(&bytes),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, IndexError::SkippedEntry(_)), "{err:?}");
        assert_eq!(err.to_string(), expected);
    }
    assert!(SignedIndex::split(&bytes).is_err());
}

#[test]
fn an_apkindex_entry_apk_tools_would_skip_is_an_error_and_a_description_a_warning() {
    let err = ApkIndex::read_unverified(&index_with_nul("APKINDEX")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "APKINDEX: tar typeflag NUL; apk-tools reads only '0' and '7' as regular files and \
         would skip it"
    );

    let key = SigningKey::generate("k.rsa.pub").unwrap();
    let signed = sign_index(&index_with_nul("DESCRIPTION"), &[&key]).unwrap();
    let mut keyring = Keyring::new();
    keyring.add_pem(key.name(), &key.public_key_pem()).unwrap();
    let index = ApkIndex::read(&signed, &keyring).unwrap();
    assert_eq!(index.packages.len(), 1);
    assert_eq!(index.description, None, "apk-tools never sees it");
    assert_eq!(index.skipped, [SkippedEntry::new("DESCRIPTION", 0)]);
}

#[test]
fn a_built_package_is_what_apk_tools_verifies() {
    let key = SigningKey::generate("chainguard-test.rsa.pub").unwrap();
    let mut record = package("libstdc++", "14.2.0-r13");
    record.description = Some("GNU C++ library".into());
    record.license = Some("GPL-3.0-or-later".into());
    record.origin = Some("gcc".into());
    record.build_time = Some(1_700_000_000);
    record.depends = vec!["so:libc.so.6".into()];
    record.provides = vec!["so:libstdc++.so.6=6.0.33".into()];
    let readme = "libstdc++ for the tests\n";
    let built = PackageBuilder::new(record)
        .file("usr/share/doc/libstdc++/README", readme)
        .file("usr/lib/libstdc++.so.6", vec![0x7f; 700])
        .build(&[&key])
        .unwrap();
    let record = &built.record;
    assert_eq!(record.size, Some(built.bytes.len() as u64));
    assert_eq!(record.installed_size, Some(readme.len() as u64 + 700));

    let split = members(&built.bytes);
    assert_eq!(split.len(), 3, "signature, control, data");
    let [
        (_, signature_tar),
        (control_gz, control_tar),
        (data_gz, data_tar),
    ] = &split[..]
    else {
        unreachable!()
    };
    assert_eq!(
        &built.bytes[built.control.clone()],
        *control_gz,
        "BuiltPackage::control"
    );

    // Identity: C:Q1 + base64 of the SHA-1 of the control member's compressed bytes.
    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, control_gz);
    assert_eq!(
        record.checksum.as_deref(),
        Some(format!("Q1{}", BASE64_STANDARD.encode(sha1.as_ref())).as_str())
    );

    // The signature: RSA PKCS#1 v1.5 over the SHA-256 of the control member.
    let (signatures, ended) = headers(signature_tar);
    assert!(!ended);
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0].name, ".SIGN.RSA256.chainguard-test.rsa.pub");
    let der = pem::parse(key.public_key_pem()).unwrap().into_contents();
    let spki = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der);
    spki.verify(control_gz, &signatures[0].body)
        .expect("the signature verifies over the control member");

    // The control member: .PKGINFO only, no end-of-archive blocks.
    let (control, ended) = headers(control_tar);
    assert!(!ended, "the control segment is cut: the data tar follows");
    assert_eq!(control.len(), 1);
    assert_eq!(control[0].name, ".PKGINFO");
    let pkginfo = String::from_utf8(control[0].body.clone()).unwrap();
    let field = |key: &str| -> Vec<&str> {
        pkginfo
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .collect()
    };
    assert_eq!(field("pkgname"), ["libstdc++"]);
    assert_eq!(field("pkgver"), ["14.2.0-r13"]);
    assert_eq!(field("arch"), ["x86_64"]);
    assert_eq!(field("size"), [record.installed_size.unwrap().to_string()]);
    assert_eq!(field("depend"), ["so:libc.so.6"]);
    assert_eq!(field("provides"), ["so:libstdc++.so.6=6.0.33"]);
    let datahash = digest::digest(&digest::SHA256, data_gz);
    let hex: String = datahash
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(field("datahash"), [hex.as_str()]);

    // The data member: parents before children, directories '5', files '0', then the end;
    // before each file a PAX header ('x') with its SHA-1, which apk-tools 2.x checks (a
    // file without one is counted as broken and fails `apk add`).
    let (data, ended) = headers(data_tar);
    assert!(ended);
    for (at, header) in data.iter().enumerate().filter(|(_, h)| h.typeflag == b'0') {
        let pax = &data[at - 1];
        assert_eq!(
            pax.typeflag, b'x',
            "{}: no PAX header before it",
            header.name
        );
        let sha1: String = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &header.body)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // "<length> <key>=<value>\n", the length counting the whole record.
        let text = String::from_utf8(pax.body.clone()).unwrap();
        let (length, rest) = text.split_once(' ').unwrap();
        assert_eq!(length.parse::<usize>().unwrap(), pax.body.len(), "{text:?}");
        assert_eq!(
            rest,
            format!("APK-TOOLS.checksum.SHA1={sha1}\n"),
            "{}",
            header.name
        );
    }
    let data: Vec<Header> = data.into_iter().filter(|h| h.typeflag != b'x').collect();
    let mut seen_directories = Vec::new();
    for header in signatures.iter().chain(&control).chain(&data) {
        let is_directory = data
            .iter()
            .any(|h| h.name != header.name && h.name.starts_with(&format!("{}/", header.name)));
        let expected = if is_directory { b'5' } else { b'0' };
        assert_eq!(header.typeflag, expected, "{}", header.name);
        if is_directory {
            seen_directories.push(header.name.clone());
        } else if let Some((parent, _)) = header.name.rsplit_once('/') {
            assert!(
                seen_directories.iter().any(|d| d == parent),
                "{}: apk-tools needs its directory first (no dirent in archive)",
                header.name
            );
        }
    }
    let files: Vec<&str> = data
        .iter()
        .filter(|h| h.typeflag == b'0')
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        files,
        ["usr/share/doc/libstdc++/README", "usr/lib/libstdc++.so.6"]
    );

    // apk_repo's own splitter agrees with flate2's member boundaries.
    let ours = gzip_members(&built.bytes, 1 << 20).unwrap();
    let mut at = 0;
    for ((compressed, decompressed), member) in split.iter().zip(&ours) {
        assert_eq!(member.compressed, at..at + compressed.len());
        assert_eq!(&member.decompressed, decompressed);
        at += compressed.len();
    }
    assert!(matches!(
        gzip_members(&built.bytes, 100),
        Err(IndexError::TooLarge { limit: 100, .. })
    ));
}

#[test]
fn built_packages_are_deterministic_and_refuse_bad_paths() {
    let key = SigningKey::generate("k.rsa.pub").unwrap();
    let build = || {
        PackageBuilder::new(package("a", "1-r0"))
            .file("usr/share/doc/a/README", "a\n")
            .build(&[&key])
            .unwrap()
    };
    assert_eq!(build(), build());
    let unsigned = PackageBuilder::new(package("a", "1-r0"))
        .file("usr/share/doc/a/README", "a\n")
        .build(&[])
        .unwrap();
    assert_eq!(members(&unsigned.bytes).len(), 2, "control, data");
    assert_eq!(unsigned.record.checksum, build().record.checksum);
    for path in ["/etc/x", "", "usr/../etc", ".PKGINFO", "usr//x", "usr/bin/"] {
        let err = PackageBuilder::new(package("a", "1-r0"))
            .file(path, "x")
            .build(&[])
            .unwrap_err();
        assert!(matches!(err, IndexError::Package { .. }), "{path:?}: {err}");
    }
    assert!(
        PackageBuilder::new(package("a", "1-r0"))
            .build(&[])
            .is_err()
    );
    let mut broken = package("a", "1-r0");
    broken.description = Some("two\nlines".into());
    assert!(
        PackageBuilder::new(broken)
            .file("usr/a", "")
            .build(&[])
            .is_err()
    );
}
