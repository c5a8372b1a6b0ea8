//! `APKINDEX.tar.gz`: split, verify, parse.
//!
//! The file is gzip members one after another: first (when signed) a tar segment of
//! `.SIGN.<TYPE>.<key name>` entries, then the index itself, a tar of `DESCRIPTION` and
//! `APKINDEX`. A signature is RSA PKCS#1 v1.5 over the SHA-1 (`RSA`), SHA-256 (`RSA256`)
//! or SHA-512 (`RSA512`) of the **compressed** bytes of every member after the signature
//! member; its key is looked up by file name in a [`Keyring`], and any one trusted, valid
//! signature suffices. Verification uses aws-lc-rs, not the `rsa` crate
//! (RUSTSEC-2023-0071).
//!
//! Tar entries are read the way apk-tools reads them: only the ustar typeflags `'0'` and
//! `'7'` are regular files. A signature or `APKINDEX` entry of another type (such as the
//! old NUL typeflag) is an error, [`IndexError::SkippedEntry`], because apk-tools skips
//! the entry and fails with `BAD signature`; any other entry apk-tools would skip is
//! reported in [`ApkIndex::skipped`].
//!
//! Reading holds to three caps ([`ReadOptions`]), each ending in [`IndexError::TooLarge`]
//! with the [`Limit`] it met: the decompressed size (default [`DEFAULT_MAX_DECOMPRESSED`],
//! 300 MiB: a gzip bomb stops after at most the cap's bytes, and a tar entry that declares
//! more than is left under it is refused from its header), the packages (default
//! [`DEFAULT_MAX_PACKAGES`], a million) and the memory of what is parsed (default
//! [`DEFAULT_MAX_MEMORY`], 1 GiB), which bound what small text parses into. Tar
//! extension entries (GNU long names, PAX headers) past 64 KiB are refused from their
//! header, before they are read.
//!
//! ```no_run
//! use apk_repo::index::{ApkIndex, Keyring};
//!
//! let keyring = Keyring::from_dir("/etc/apk/keys".as_ref())?;
//! let bytes = std::fs::read("APKINDEX.tar.gz").unwrap();
//! let index = ApkIndex::read(&bytes, &keyring)?;
//! println!("{} packages, signed by {:?}", index.packages.len(), index.signed_by);
//! # Ok::<(), apk_repo::index::IndexError>(())
//! ```

mod cap;
mod entries;
mod keys;
mod memory;
mod options;
mod package;
mod read;
mod writer;

use std::io::{Cursor, Read};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};

use entries::for_each_entry;
pub use keys::Keyring;
pub use options::{
    DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_MEMORY, DEFAULT_MAX_PACKAGES, Limit, ReadOptions,
};
pub use package::{Package, Records, parse_records};
pub use read::for_each_package;
pub use writer::{SigningKey, render_records, sign_index, write_index};
pub(crate) use writer::{gzip, signature_member, tar_entry};

/// apk 3 ignores signature entries larger than this.
const MAX_SIGNATURE_ENTRY: u64 = 64 * 1024;

/// The most the signature member may decompress to: a real one is a tar of a few
/// signatures of at most 1 KiB each.
const MAX_SIGNATURE_MEMBER: u64 = 16 * 1024 * 1024;

/// Why an index could not be verified or read.
///
/// ```
/// use apk_repo::index::{ApkIndex, IndexError, Keyring};
/// match ApkIndex::read(b"not an index", &Keyring::new()) {
///     Err(IndexError::Malformed { problem }) => println!("{problem}"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The index has no signature and one was required.
    #[error("the index is not signed; apk refuses unsigned indexes unless --allow-untrusted")]
    Unsigned,
    /// No signature's key is in the keyring.
    #[error(
        "no signature is by a trusted key: the index is signed by {signed_by:?}, the keyring holds \
         {trusted:?}; add the repository's public key to the keys folder (for apk.cgr.dev, key \
         discovery through <repo>/apk-configuration finds it)"
    )]
    UntrustedKeys {
        /// The key names the signatures name.
        signed_by: Vec<String>,
        /// The key names in the keyring.
        trusted: Vec<String>,
    },
    /// A trusted key's signature does not match the index.
    #[error(
        "the signature by {key} does not match the index: the file was altered, truncated, or \
         signed with another key of the same name"
    )]
    BadSignature {
        /// The key whose signature failed.
        key: String,
    },
    /// A problem with the keys themselves.
    #[error("{problem}")]
    Keys {
        /// What is wrong.
        problem: String,
    },
    /// Not a gzip/tar index as apk writes them.
    #[error("not a valid APKINDEX.tar.gz: {problem}")]
    Malformed {
        /// What is wrong.
        problem: String,
    },
    /// A record field that does not parse.
    #[error("APKINDEX line {line}, field {field}: {problem}")]
    Field {
        /// The line of the APKINDEX text.
        line: u64,
        /// The field letter.
        field: char,
        /// What is wrong.
        problem: String,
    },
    /// The index goes past a cap of [`ReadOptions`] (`which`): it decompresses to more
    /// than [`ReadOptions::max_decompressed`] or a tar entry declares more than is left
    /// under it (a decompression bomb), it holds more than [`ReadOptions::max_packages`]
    /// packages, or what it parses into would take more than [`ReadOptions::max_memory`]
    /// (records made to fill memory); or it is a genuine index larger than the cap.
    /// Reading stopped there. The message says how to raise the cap.
    #[error("{}", which.message(what, *limit, *seen))]
    TooLarge {
        /// What is too large: `the index`, a tar entry with its declared size, a gzip
        /// member, `the APKINDEX`, a record, a line.
        what: String,
        /// Which cap.
        which: Limit,
        /// The cap: decompressed bytes, packages or estimated bytes of memory.
        limit: u64,
        /// When reading stopped: the decompressed bytes read (at most one past the cap),
        /// the package reached, or the memory the parsed index would have held.
        seen: u64,
    },
    /// A signature or `APKINDEX` entry apk-tools would skip (its tar typeflag is not
    /// `'0'` or `'7'`): apk-tools then sees no signature or no index and fails.
    #[error("{0}")]
    SkippedEntry(SkippedEntry),
    /// A package file could not be built (see [`crate::package`]).
    #[error("cannot build the package: {problem}")]
    Package {
        /// What is wrong.
        problem: String,
    },
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] pull_through_core::Error),
}

/// A tar entry apk-tools would skip: apk-tools' tar reader (`apk_tar_parse`) treats only
/// the ustar typeflags `'0'` and `'7'` as regular files, so an entry with the old NUL
/// typeflag (or a directory, link, ...) is never seen as a file.
///
/// ```
/// use apk_repo::index::SkippedEntry;
/// let skipped = SkippedEntry::new(".SIGN.RSA256.x.rsa.pub", 0);
/// assert_eq!(skipped.to_string(),
///     ".SIGN.RSA256.x.rsa.pub: tar typeflag NUL; apk-tools reads only '0' and '7' as regular files and would skip it");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedEntry {
    /// The entry's name.
    pub name: String,
    /// The typeflag byte (offset 156 of the tar header).
    pub typeflag: u8,
}

impl SkippedEntry {
    /// The entry `name` with typeflag byte `typeflag`.
    ///
    /// ```
    /// let skipped = apk_repo::index::SkippedEntry::new("DESCRIPTION", b'5');
    /// assert!(skipped.to_string().starts_with("DESCRIPTION: tar typeflag '5';"));
    /// ```
    pub fn new(name: &str, typeflag: u8) -> SkippedEntry {
        SkippedEntry {
            name: name.to_owned(),
            typeflag,
        }
    }

    /// The entry of `header`, if apk-tools would skip it.
    fn check(name: &str, header: &tar::Header) -> Option<SkippedEntry> {
        let typeflag = header.as_bytes()[156];
        (!is_regular_for_apk(typeflag)).then(|| SkippedEntry::new(name, typeflag))
    }
}

impl std::fmt::Display for SkippedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: tar typeflag ", self.name)?;
        match self.typeflag {
            0 => f.write_str("NUL")?,
            flag if flag.is_ascii_graphic() => write!(f, "'{}'", char::from(flag))?,
            flag => write!(f, "0x{flag:02x}")?,
        }
        f.write_str("; apk-tools reads only '0' and '7' as regular files and would skip it")
    }
}

/// apk-tools' rule (`apk_tar_parse` in `src/io_archive.c`, 2.14.10; checked with the real
/// client): only `'0'` and `'7'` are regular files.
fn is_regular_for_apk(typeflag: u8) -> bool {
    matches!(typeflag, b'0' | b'7')
}

/// One signature entry.
///
/// ```
/// use apk_repo::index::{SignedIndex, SigningKey, sign_index, write_index};
/// let key = SigningKey::generate("repo.rsa.pub")?;
/// let signed = sign_index(&write_index(&[], "d"), &[&key])?;
/// let split = SignedIndex::split(&signed)?;
/// assert_eq!((split.signatures[0].kind.as_str(), split.signatures[0].key_name.as_str()), ("RSA256", "repo.rsa.pub"));
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signature {
    /// `RSA`, `RSA256`, `RSA512` or `DSA`.
    pub kind: String,
    /// The key's file name.
    pub key_name: String,
    bytes: Vec<u8>,
}

impl Signature {
    fn algorithm(
        &self,
    ) -> Option<(
        &'static digest::Algorithm,
        &'static signature::RsaParameters,
    )> {
        Some(match self.kind.as_str() {
            "RSA" => (
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
                &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            ),
            "RSA256" => (&digest::SHA256, &signature::RSA_PKCS1_2048_8192_SHA256),
            "RSA512" => (&digest::SHA512, &signature::RSA_PKCS1_2048_8192_SHA512),
            _ => return None,
        })
    }
}

/// An index split into its signatures and the signed bytes.
///
/// ```
/// use apk_repo::index::{SignedIndex, write_index};
/// let unsigned = write_index(&[], "d");
/// let split = SignedIndex::split(&unsigned)?;
/// assert!(split.signatures.is_empty());
/// assert_eq!(split.signed.len(), unsigned.len());
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug)]
pub struct SignedIndex<'a> {
    /// The signature entries, in file order; empty for an unsigned index.
    pub signatures: Vec<Signature>,
    /// The compressed bytes the signatures cover: the index members.
    pub signed: &'a [u8],
}

impl<'a> SignedIndex<'a> {
    /// Splits an `APKINDEX.tar.gz` after its signature member.
    ///
    /// # Errors
    ///
    /// [`IndexError::Malformed`] when the file is not gzip or the signature member is not
    /// a tar of signature entries.
    ///
    /// ```
    /// use apk_repo::index::SignedIndex;
    /// assert!(SignedIndex::split(b"not gzip").is_err());
    /// ```
    pub fn split(bytes: &'a [u8]) -> Result<SignedIndex<'a>, IndexError> {
        let malformed = |problem: String| IndexError::Malformed { problem };
        let mut cursor = Cursor::new(bytes);
        let mut first = Vec::new();
        {
            let mut member = flate2::bufread::GzDecoder::new(&mut cursor);
            // The first 512 bytes are the first tar header: enough to tell a signature
            // member from an unsigned index without decompressing a whole index.
            (&mut member)
                .take(512)
                .read_to_end(&mut first)
                .map_err(|err| malformed(format!("the first gzip member: {err}")))?;
            if !first.starts_with(b".SIGN.") {
                return Ok(SignedIndex {
                    signatures: Vec::new(),
                    signed: bytes,
                });
            }
            (&mut member)
                .take(MAX_SIGNATURE_MEMBER + 1)
                .read_to_end(&mut first)
                .map_err(|err| malformed(format!("the signature member: {err}")))?;
            if first.len() as u64 > MAX_SIGNATURE_MEMBER {
                return Err(malformed(format!(
                    "the signature member decompresses to more than {MAX_SIGNATURE_MEMBER} \
                     bytes; real signatures are a few hundred bytes each"
                )));
            }
        }
        let boundary = usize::try_from(cursor.position()).unwrap_or(bytes.len());
        let mut signatures = Vec::new();
        let mut archive = tar::Archive::new(&first[..]);
        for_each_entry(&mut archive, "the signature tar", |path, mut entry| {
            let Some((kind, key_name)) = path
                .strip_prefix(".SIGN.")
                .and_then(|rest| rest.split_once('.'))
            else {
                return Err(malformed(format!(
                    "unexpected entry {path:?} among the signatures"
                )));
            };
            if let Some(skipped) = SkippedEntry::check(&path, entry.header()) {
                return Err(IndexError::SkippedEntry(skipped));
            }
            if entry.size() > MAX_SIGNATURE_ENTRY {
                return Ok(());
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|err| malformed(format!("signature {path:?}: {err}")))?;
            signatures.push(Signature {
                kind: kind.to_owned(),
                key_name: key_name.to_owned(),
                bytes,
            });
            Ok(())
        })?;
        Ok(SignedIndex {
            signatures,
            signed: &bytes[boundary..],
        })
    }

    /// Checks the signatures against the keyring; returns the name of the key whose
    /// signature matched. Signatures by unknown keys are skipped, as apk does; any one
    /// trusted, valid signature suffices.
    ///
    /// # Errors
    ///
    /// [`IndexError::Unsigned`], [`IndexError::UntrustedKeys`] or
    /// [`IndexError::BadSignature`].
    ///
    /// ```
    /// use apk_repo::index::{IndexError, Keyring, SignedIndex};
    /// let unsigned = SignedIndex { signatures: vec![], signed: b"" };
    /// assert!(matches!(unsigned.verify(&Keyring::new()), Err(IndexError::Unsigned)));
    /// ```
    pub fn verify(&self, keyring: &Keyring) -> Result<String, IndexError> {
        if self.signatures.is_empty() {
            return Err(IndexError::Unsigned);
        }
        let mut failed = None;
        for signature in &self.signatures {
            let (Some(key), Some((digest_algorithm, parameters))) =
                (keyring.find(&signature.key_name), signature.algorithm())
            else {
                continue;
            };
            let digest = digest::digest(digest_algorithm, self.signed);
            let verified = UnparsedPublicKey::new(parameters, key)
                .verify_digest(&digest, &signature.bytes)
                .is_ok();
            if verified {
                return Ok(signature.key_name.clone());
            }
            failed.get_or_insert_with(|| signature.key_name.clone());
        }
        Err(match failed {
            Some(key) => IndexError::BadSignature { key },
            None => IndexError::UntrustedKeys {
                signed_by: self.signatures.iter().map(|s| s.key_name.clone()).collect(),
                trusted: keyring.names().map(str::to_owned).collect(),
            },
        })
    }
}

/// A parsed index.
///
/// ```
/// use apk_repo::index::{ApkIndex, Package, write_index};
/// let mut wget = Package::default();
/// wget.name = "wget".into();
/// wget.version = "1.24.5-r5".into();
/// let index = ApkIndex::read_unverified(&write_index(&[wget], "repo"))?;
/// assert_eq!(index.packages[0].name, "wget");
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ApkIndex {
    /// The `DESCRIPTION` entry (`v3.16.2-...`), if any.
    pub description: Option<String>,
    /// Every package, in file order.
    pub packages: Vec<Package>,
    /// The key whose signature was verified; `None` when read unverified.
    pub signed_by: Option<String>,
    /// Entries of the index tar apk-tools would skip but can do without (a `DESCRIPTION`
    /// or an unknown entry with a typeflag other than `'0'` or `'7'`): warnings. A
    /// skipped signature or `APKINDEX` is an error instead ([`IndexError::SkippedEntry`]).
    pub skipped: Vec<SkippedEntry>,
}

impl ApkIndex {
    /// Verifies the signature against `keyring`, then parses.
    ///
    /// # Errors
    ///
    /// [`IndexError`]: unsigned, untrusted, bad signature, malformed, or a bad field.
    ///
    /// ```no_run
    /// # use apk_repo::index::{ApkIndex, Keyring};
    /// # let (bytes, keyring) = (Vec::<u8>::new(), Keyring::new());
    /// let index = ApkIndex::read(&bytes, &keyring)?;
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn read(bytes: &[u8], keyring: &Keyring) -> Result<ApkIndex, IndexError> {
        ApkIndex::read_with(bytes, keyring, ReadOptions::default())
    }

    /// [`ApkIndex::read`] with options: the caps on the decompressed bytes, the packages
    /// and the memory the packages returned may take.
    ///
    /// # Errors
    ///
    /// As [`ApkIndex::read`], and [`IndexError::TooLarge`].
    ///
    /// ```no_run
    /// # use apk_repo::index::{ApkIndex, Keyring, ReadOptions};
    /// # let (bytes, keyring) = (Vec::<u8>::new(), Keyring::new());
    /// let mut options = ReadOptions::default();
    /// options.max_decompressed = 1024 * 1024 * 1024;
    /// let index = ApkIndex::read_with(&bytes, &keyring, options)?;
    /// # Ok::<(), apk_repo::index::IndexError>(())
    /// ```
    pub fn read_with(
        bytes: &[u8],
        keyring: &Keyring,
        options: ReadOptions,
    ) -> Result<ApkIndex, IndexError> {
        let split = SignedIndex::split(bytes)?;
        let key = split.verify(keyring)?;
        let (description, packages, skipped) = read::collect(split.signed, options)?;
        Ok(ApkIndex {
            description,
            packages,
            signed_by: Some(key),
            skipped,
        })
    }

    /// Parses without checking any signature (like `apk --allow-untrusted`).
    ///
    /// # Errors
    ///
    /// [`IndexError::Malformed`], [`IndexError::Field`] or [`IndexError::TooLarge`].
    ///
    /// ```
    /// assert!(apk_repo::index::ApkIndex::read_unverified(b"").is_err());
    /// ```
    pub fn read_unverified(bytes: &[u8]) -> Result<ApkIndex, IndexError> {
        ApkIndex::read_unverified_with(bytes, ReadOptions::default())
    }

    /// [`ApkIndex::read_unverified`] with options (see [`ApkIndex::read_with`]).
    ///
    /// # Errors
    ///
    /// As [`ApkIndex::read_unverified`].
    ///
    /// ```
    /// use apk_repo::index::{ApkIndex, IndexError, Limit, Package, ReadOptions, write_index};
    /// let mut package = Package::default();
    /// (package.name, package.version) = ("a".into(), "1-r0".into());
    /// let bytes = write_index(&[package.clone(), package], "repo");
    /// let err = ApkIndex::read_unverified_with(&bytes, ReadOptions::default().with_max_packages(1)).unwrap_err();
    /// assert!(matches!(err, IndexError::TooLarge { which: Limit::Packages, limit: 1, seen: 2, .. }));
    /// ```
    pub fn read_unverified_with(
        bytes: &[u8],
        options: ReadOptions,
    ) -> Result<ApkIndex, IndexError> {
        let split = SignedIndex::split(bytes)?;
        let (description, packages, skipped) = read::collect(split.signed, options)?;
        Ok(ApkIndex {
            description,
            packages,
            signed_by: None,
            skipped,
        })
    }
}
