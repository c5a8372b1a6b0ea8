//! The real signed indexes in `../shared/testdata/apk/`: parse, verify, search; a tampered
//! copy fails. Skipped with a message when `../shared` is absent (a user's clone);
//! `PULL_THROUGH_REQUIRE_SHARED=1` (set by `.ci/run`) turns the skip into a failure.

use std::path::{Path, PathBuf};

use apk_repo::index::{
    ApkIndex, IndexError, Keyring, Limit, ReadOptions, SignedIndex, for_each_package,
};

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

fn keyring_of(dir: &Path) -> Keyring {
    Keyring::from_dir(dir).unwrap()
}

#[test]
fn alpine_index_verifies_and_parses() {
    let Some(data) = testdata() else { return };
    let folder = data.join("alpine-v3.16-main-x86_64");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let keyring = keyring_of(&folder);

    let split = SignedIndex::split(&bytes).unwrap();
    assert_eq!(split.signatures.len(), 1);
    assert_eq!(split.signatures[0].kind, "RSA");
    assert_eq!(
        split.signatures[0].key_name,
        "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"
    );

    let index = ApkIndex::read(&bytes, &keyring).unwrap();
    assert_eq!(
        index.signed_by.as_deref(),
        Some("alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
    );
    assert!(
        index.description.as_deref().unwrap().starts_with("v3.16"),
        "{:?}",
        index.description
    );
    assert!(
        (4_500..6_000).contains(&index.packages.len()),
        "{}",
        index.packages.len()
    );
    let musl = index.packages.iter().find(|p| p.name == "musl").unwrap();
    assert!(musl.version.starts_with("1.2."), "{}", musl.version);
    assert_eq!(musl.arch.as_deref(), Some("x86_64"));
    assert!(musl.checksum.as_deref().unwrap().starts_with("Q1"));
    assert!(
        index
            .packages
            .iter()
            .all(|p| apk_repo::version::validate(&p.version).is_ok())
    );
}

#[test]
fn rsa256_index_verifies() {
    let Some(data) = testdata() else { return };
    let folder = data.join("rsa256-signed");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let index = ApkIndex::read(&bytes, &keyring_of(&folder)).unwrap();
    assert_eq!(index.signed_by.as_deref(), Some("test-rsa256.rsa.pub"));
    assert_eq!(index.packages.len(), 1);
}

#[test]
fn multi_signed_index_needs_any_one_trusted_key() {
    let Some(data) = testdata() else { return };
    let folder = data.join("multi-signed");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let split = SignedIndex::split(&bytes).unwrap();
    assert_eq!(split.signatures.len(), 3);
    assert!(split.signatures.iter().all(|s| s.kind == "RSA256"));

    // Each key alone is enough.
    for entry in std::fs::read_dir(folder.join("keys")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let mut keyring = Keyring::new();
        keyring
            .add_pem(&name, &std::fs::read_to_string(&path).unwrap())
            .unwrap();
        assert_eq!(split.verify(&keyring).unwrap(), name);
    }
    let index = ApkIndex::read(&bytes, &keyring_of(&folder.join("keys"))).unwrap();
    assert!(!index.packages.is_empty());
}

#[test]
fn untrusted_and_tampered_indexes_fail() {
    let Some(data) = testdata() else { return };
    let folder = data.join("alpine-v3.16-main-x86_64");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();

    // A keyring without the Alpine key.
    let other = keyring_of(&data.join("rsa256-signed"));
    match ApkIndex::read(&bytes, &other) {
        Err(IndexError::UntrustedKeys { signed_by, trusted }) => {
            assert_eq!(
                signed_by,
                ["alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"]
            );
            assert_eq!(trusted, ["test-rsa256.rsa.pub"]);
        }
        other => panic!("expected UntrustedKeys, got {other:?}"),
    }

    // One byte flipped after the first gzip member.
    let boundary = bytes.len() - SignedIndex::split(&bytes).unwrap().signed.len();
    let mut tampered = bytes.clone();
    tampered[boundary + 100] ^= 0x01;
    match ApkIndex::read(&tampered, &keyring_of(&folder)) {
        Err(IndexError::BadSignature { key }) => {
            assert_eq!(key, "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub");
        }
        other => panic!("expected BadSignature, got {other:?}"),
    }

    // The signature of another index does not transfer.
    let rsa256 = std::fs::read(data.join("rsa256-signed/APKINDEX.tar.gz")).unwrap();
    let mut spliced = bytes[..boundary].to_vec();
    spliced.extend_from_slice(SignedIndex::split(&rsa256).unwrap().signed);
    assert!(matches!(
        ApkIndex::read(&spliced, &keyring_of(&folder)),
        Err(IndexError::BadSignature { .. })
    ));
}

#[test]
fn an_unsigned_index_reads_only_unverified() {
    let Some(data) = testdata() else { return };
    let bytes = std::fs::read(data.join("rsa256-signed/APKINDEX.tar.gz")).unwrap();
    let unsigned = SignedIndex::split(&bytes).unwrap().signed.to_vec();
    assert!(matches!(
        ApkIndex::read(&unsigned, &Keyring::new()),
        Err(IndexError::Unsigned)
    ));
    let index = ApkIndex::read_unverified(&unsigned).unwrap();
    assert_eq!(index.packages.len(), 1);
    assert_eq!(index.signed_by, None);
}

/// The cap of `which` an error met, and where.
fn cap_met(result: Result<ApkIndex, IndexError>) -> (Limit, u64, u64) {
    match result {
        Err(IndexError::TooLarge {
            which, limit, seen, ..
        }) => (which, limit, seen),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn the_real_indexes_read_well_within_the_default_caps() {
    let Some(data) = testdata() else { return };
    let folder = data.join("alpine-v3.16-main-x86_64");
    let bytes = std::fs::read(folder.join("APKINDEX.tar.gz")).unwrap();
    let keyring = keyring_of(&folder);
    let count = ApkIndex::read(&bytes, &keyring).unwrap().packages.len() as u64;
    assert_eq!(count, 4929);

    // The package cap is exact.
    let at = ReadOptions::default().with_max_packages(count);
    assert_eq!(
        ApkIndex::read_with(&bytes, &keyring, at)
            .unwrap()
            .packages
            .len() as u64,
        count
    );
    let under = ReadOptions::default().with_max_packages(count - 1);
    assert_eq!(
        cap_met(ApkIndex::read_with(&bytes, &keyring, under)),
        (Limit::Packages, count - 1, count)
    );

    // Parsed, the index takes about 6.4 MiB: far under the default gibibyte.
    let roomy = ReadOptions::default().with_max_memory(8 << 20);
    assert_eq!(
        ApkIndex::read_with(&bytes, &keyring, roomy)
            .unwrap()
            .packages
            .len() as u64,
        count
    );
    let tight = ReadOptions::default().with_max_memory(4 << 20);
    let (which, limit, seen) = cap_met(ApkIndex::read_with(&bytes, &keyring, tight));
    assert_eq!((which, limit), (Limit::Memory, 4 << 20));
    assert!(seen > 4 << 20, "{seen}");
    // Streamed, it holds one record at a time.
    let split = SignedIndex::split(&bytes).unwrap();
    let mut streamed = 0;
    let one_record = ReadOptions::default().with_max_memory(256 << 10);
    for_each_package(split.signed, one_record, |_| {
        streamed += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(streamed, count);

    for index in ["rsa256-signed", "multi-signed"] {
        let bytes = std::fs::read(data.join(index).join("APKINDEX.tar.gz")).unwrap();
        let read = ApkIndex::read_unverified_with(&bytes, ReadOptions::default()).unwrap();
        assert!(!read.packages.is_empty(), "{index}");
    }
}
