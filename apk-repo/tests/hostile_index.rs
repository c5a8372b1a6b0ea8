//! Property tests of the APKINDEX reader on hostile bytes: real signed indexes with bytes
//! flipped, cut, inserted or repeated; tar streams with entries of every type and size
//! claim; record text of any shape. No input may panic, every error is an
//! [`IndexError`] of the reading kinds, and what is read stays proportional to the input
//! (at most one package per two lines of record text). Gzip bombs are in
//! `decompression_bomb.rs`.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use apk_repo::index::{
    ApkIndex, IndexError, Keyring, Limit, Package, ReadOptions, SignedIndex, SigningKey,
    for_each_package, parse_records, render_records, sign_index, write_index,
};
use apk_repo::package::gzip_members;
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Signed indexes to mutate, and a keyring that trusts every one: one written here, and
/// the small real ones of `../shared/testdata/apk/` when that folder is present.
fn corpus() -> &'static (Vec<Vec<u8>>, Keyring) {
    static CORPUS: OnceLock<(Vec<Vec<u8>>, Keyring)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let key = SigningKey::generate("hostile.rsa.pub").unwrap();
        let mut keyring = Keyring::new();
        keyring
            .add_pem("hostile.rsa.pub", &key.public_key_pem())
            .unwrap();
        let packages: Vec<Package> = (0..5)
            .map(|i| package(&format!("p{i}"), "1.0-r0"))
            .collect();
        let mut indexes = vec![sign_index(&write_index(&packages, "hostile"), &[&key]).unwrap()];
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/apk");
        for (folder, keys) in [
            ("rsa256-signed", "rsa256-signed"),
            ("multi-signed", "multi-signed/keys"),
        ] {
            if let Ok(bytes) = std::fs::read(shared.join(folder).join("APKINDEX.tar.gz")) {
                for (name, pem) in pems(&shared.join(keys)) {
                    keyring.add_pem(&name, &pem).unwrap();
                }
                indexes.push(bytes);
            }
        }
        (indexes, keyring)
    })
}

fn pems(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pub"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

fn package(name: &str, version: &str) -> Package {
    let mut package = Package::default();
    package.name = name.to_owned();
    package.version = version.to_owned();
    package
}

/// One way to damage bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Repeat { at: usize, len: usize },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..2048).prop_map(|(at, len)| Mutation::Repeat { at, len }),
        1 => (any::<usize>(), 1usize..512).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match mutation {
        Mutation::Flip { at, mask } => bytes[at % len] ^= mask,
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::Insert { at, bytes: new } => {
            let at = at % len;
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Repeat { at, len: n } => {
            let at = at % len;
            let end = (at + n).min(len);
            let copy = bytes[at..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Remove { at, len: n } => {
            let at = at % len;
            bytes.drain(at..(at + n).min(len));
        }
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The errors reading may give: never a fetch or package-building error, and every one
/// says something.
fn check_error(err: &IndexError) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(
            err,
            IndexError::Unsigned
                | IndexError::UntrustedKeys { .. }
                | IndexError::BadSignature { .. }
                | IndexError::Malformed { .. }
                | IndexError::Field { .. }
                | IndexError::TooLarge { .. }
                | IndexError::SkippedEntry(_)
        ),
        "{err:?}"
    );
    prop_assert!(!err.to_string().is_empty());
    Ok(())
}

/// A cap met names the cap of `options` it met, and where it stopped agrees with it.
fn check_cap(err: &IndexError, options: ReadOptions) -> Result<(), TestCaseError> {
    if let IndexError::TooLarge {
        which, limit, seen, ..
    } = *err
    {
        match which {
            Limit::Decompressed => {
                prop_assert_eq!(limit, options.max_decompressed);
                prop_assert!(seen <= limit.saturating_add(1));
            }
            Limit::Packages => {
                prop_assert_eq!(limit, options.max_packages);
                prop_assert_eq!(seen, limit + 1);
            }
            Limit::Memory => {
                prop_assert_eq!(limit, options.max_memory);
                prop_assert!(seen > limit);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }
    Ok(())
}

/// A read index holds at most one package per eight decompressed bytes (`P:a\nV:1\n`).
fn check_proportional(index: &ApkIndex, decompressed: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        index.packages.len() * 8 <= decompressed,
        "{} packages from {decompressed} bytes",
        index.packages.len()
    );
    Ok(())
}

/// Reads `bytes` every way the crate offers; none may panic.
fn read_every_way(bytes: &[u8], options: ReadOptions) -> Result<(), TestCaseError> {
    let (_, keyring) = corpus();
    let decompressed = gzip_members(bytes, 1 << 24)
        .map(|members| members.iter().map(|m| m.decompressed.len()).sum::<usize>());
    for read in [
        ApkIndex::read_with(bytes, keyring, options),
        ApkIndex::read_unverified_with(bytes, options),
    ] {
        match read {
            Ok(index) => {
                if let Ok(decompressed) = decompressed {
                    check_proportional(&index, decompressed)?;
                }
                prop_assert!(index.packages.len() as u64 <= options.max_packages);
            }
            Err(err) => {
                check_error(&err)?;
                check_cap(&err, options)?;
            }
        }
    }
    if let Ok(split) = SignedIndex::split(bytes) {
        let _ = split.verify(keyring);
        let mut count = 0usize;
        match for_each_package(split.signed, options, |_| {
            count += 1;
            Ok(())
        }) {
            Ok(_) => prop_assert!(count as u64 <= options.max_packages),
            Err(err) => {
                check_error(&err)?;
                check_cap(&err, options)?;
            }
        }
    }
    Ok(())
}

/// A tar entry with any name, typeflag and size claim, its body as given.
fn tar_entry(name: &str, typeflag: u8, claimed: Option<u64>, body: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    let _ = header.set_path(name);
    header.set_size(claimed.unwrap_or(body.len() as u64));
    header.set_mode(0o644);
    header.as_mut_bytes()[156] = typeflag;
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

const RECORD_PIECES: &[&str] = &[
    "P:",
    "V:",
    "S:",
    "I:",
    "t:",
    "k:",
    "D:",
    "p:",
    "i:",
    "C:",
    "Z:",
    "\n",
    "\n\n",
    "\r\n",
    ":",
    "a",
    "1.0-r0",
    "18446744073709551616",
    "-1",
    " ",
    "so:libc.so.6",
];

fn record_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => proptest::sample::select(RECORD_PIECES).prop_map(|p| p.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

fn entry_strategy() -> impl Strategy<Value = (String, u8, Option<u64>, Vec<u8>)> {
    (
        prop_oneof![
            Just("APKINDEX".to_owned()),
            Just("DESCRIPTION".to_owned()),
            Just(".SIGN.RSA256.k.rsa.pub".to_owned()),
            "[a-zA-Z./]{1,20}",
        ],
        proptest::sample::select(&[b'0', b'7', 0, b'5', b'2', b'L', b'K', b'x', b'g', b'S'][..]),
        proptest::option::weighted(0.2, any::<u64>()),
        record_text(),
    )
}

/// Packages whose every field survives rendering: no line breaks, list items without
/// whitespace, letters of unknown fields that are not known fields.
fn renderable_package() -> impl Strategy<Value = Package> {
    let text = || "[^\n\r]{0,12}";
    let item = "[!-~]{1,10}";
    let other_letter = proptest::sample::select(&['Z', 'q', 'r', 'y', 'M', 'F'][..]);
    (
        ("[!-~]{1,12}", "[0-9][0-9a-z._~-]{0,8}"),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        ),
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        ),
        (
            proptest::collection::vec(item, 0..4),
            proptest::collection::vec(item, 0..4),
            proptest::collection::vec(item, 0..3),
        ),
        proptest::collection::vec((other_letter, text()), 0..3),
    )
        .prop_map(
            |(
                (name, version),
                (description, origin, commit),
                (size, installed),
                (time, priority),
                (depends, provides, install_if),
                other,
            )| {
                let mut package = Package::default();
                package.name = name;
                package.version = version;
                package.description = description;
                package.origin = origin;
                package.commit = commit;
                package.size = size;
                package.installed_size = installed;
                package.build_time = time;
                package.provider_priority = priority;
                package.depends = depends;
                package.provides = provides;
                package.install_if = install_if;
                package.other = other;
                package
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn damaged_real_indexes_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (indexes, _) = corpus();
        let mut bytes = which.get(indexes).clone();
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        read_every_way(&bytes, ReadOptions::default())?;
    }

    #[test]
    fn damaged_index_tars_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        cap in prop_oneof![Just(u64::MAX), 0u64..20_000],
        packages in prop_oneof![Just(u64::MAX), 0u64..8],
        memory in prop_oneof![Just(u64::MAX), 0u64..20_000],
    ) {
        // Damage behind the gzip layer, so the tar and record readers see it.
        let (indexes, _) = corpus();
        let original = which.get(indexes);
        let split = SignedIndex::split(original).unwrap();
        let mut tar = gunzip(split.signed);
        for mutation in &mutations {
            mutate(&mut tar, mutation);
        }
        let mut bytes = original[..original.len() - split.signed.len()].to_vec();
        bytes.extend(gzip(&tar));
        let options = ReadOptions::default()
            .with_max_decompressed(cap)
            .with_max_packages(packages)
            .with_max_memory(memory);
        read_every_way(&bytes, options)?;
    }

    #[test]
    fn hand_made_tars_never_panic(
        entries in proptest::collection::vec(entry_strategy(), 0..5),
        end_blocks in 0usize..3,
        cap in prop_oneof![Just(ReadOptions::default().max_decompressed), 0u64..8192],
        packages in prop_oneof![Just(ReadOptions::default().max_packages), 0u64..4],
        memory in prop_oneof![Just(ReadOptions::default().max_memory), 0u64..4096],
    ) {
        let mut tar = Vec::new();
        for (name, typeflag, claimed, body) in &entries {
            tar.extend(tar_entry(name, *typeflag, *claimed, body));
        }
        tar.resize(tar.len() + 512 * end_blocks, 0);
        let bytes = gzip(&tar);
        let options = ReadOptions::default()
            .with_max_decompressed(cap)
            .with_max_packages(packages)
            .with_max_memory(memory);
        read_every_way(&bytes, options)?;
        // The record text alone stays proportional too: read as a single APKINDEX entry.
        if let Ok(index) = ApkIndex::read_unverified(&bytes) {
            check_proportional(&index, tar.len())?;
        }
    }

    #[test]
    fn record_text_never_panics_and_stays_proportional(text in prop_oneof![record_text(), any::<Vec<u8>>()]) {
        let lines = text.split(|&b| b == b'\n').count();
        let mut packages = 0usize;
        for record in parse_records(&text[..]) {
            match record {
                Ok(package) => {
                    prop_assert!(!package.name.is_empty() && !package.version.is_empty());
                    packages += 1;
                }
                Err(IndexError::Field { line, .. }) => {
                    prop_assert!(line as usize <= lines, "line {line} of {lines}");
                }
                Err(err) => prop_assert!(false, "{err:?}"),
            }
        }
        prop_assert!(packages * 2 <= lines, "{packages} packages from {lines} lines");
    }

    #[test]
    fn rendered_records_read_back(packages in proptest::collection::vec(renderable_package(), 0..6)) {
        let text = render_records(&packages);
        let read: Vec<Package> = parse_records(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&read, &packages);
        let index = ApkIndex::read_unverified(&write_index(&packages, "d")).unwrap();
        prop_assert_eq!(&index.packages, &packages);
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read_every_way(&bytes, ReadOptions::default())?;
        let _ = gzip_members(&bytes, 1 << 20);
        // Random bytes behind a valid gzip layer reach the tar reader.
        read_every_way(&gzip(&bytes), ReadOptions::default())?;
    }
}
