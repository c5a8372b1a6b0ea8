//! Building apk v2 package files (`.apk`) and their index records: for fakes and tests
//! that serve packages a real apk-tools installs.
//!
//! An apk v2 package is three gzip members, one after another, whose decompressed bytes
//! form one tar stream (`../shared/reference/apk.md` §3.1–3.3; apk-tools 2.14.10
//! `src/package.c`, apk 3 `src/extract_v2.c`):
//!
//! 1. the **signature** member: a tar segment, without end-of-archive blocks, of
//!    `.SIGN.RSA256.<key name>` entries, each RSA PKCS#1 v1.5 over the SHA-256 of the
//!    compressed bytes of the control member;
//! 2. the **control** member: a tar segment, without end-of-archive blocks, holding
//!    `.PKGINFO`, whose `datahash` is the SHA-256 (hex) of the compressed bytes of the
//!    data member;
//! 3. the **data** member: a tar of the installed files, their parent directories first
//!    (apk-tools refuses a file whose directory has no entry: "no dirent in archive"),
//!    then the end-of-archive blocks.
//!
//! apk-tools checks a package this way: with `datahash` in `.PKGINFO`, the signature is
//! verified at the end of the control member over the control member alone, and the data
//! member is checked against `datahash`; without `datahash` the signature would cover
//! control and data together, and apk 3 refuses to compute the identity of such a package.
//! This builder always writes `datahash`. The package's identity, the index's
//! `C:Q1<base64>`, is the SHA-1 of the compressed bytes of the control member.
//!
//! Every tar entry has an explicit ustar typeflag: `'0'` for files, `'5'` for directories.
//!
//! ```
//! use apk_repo::index::{Package, SigningKey};
//! use apk_repo::package::{PackageBuilder, gzip_members};
//!
//! let key = SigningKey::generate("repo.rsa.pub")?;
//! let mut record = Package::default();
//! record.name = "hello".into();
//! record.version = "1.0-r0".into();
//! record.arch = Some("x86_64".into());
//! let built = PackageBuilder::new(record)
//!     .file("usr/share/doc/hello/README", "hello\n")
//!     .build(&[&key])?;
//! assert_eq!(built.record.size, Some(built.bytes.len() as u64));
//! assert!(built.record.checksum.as_deref().unwrap().starts_with("Q1"));
//! // Signature, control, data.
//! let members = gzip_members(&built.bytes, 1 << 20)?;
//! assert_eq!(members.len(), 3);
//! assert_eq!(members[1].compressed, built.control);
//! # Ok::<(), apk_repo::index::IndexError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read;
use std::ops::Range;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;

use crate::index::{IndexError, Package, SigningKey, gzip, signature_member, tar_entry};

/// Builds one `.apk` from an index record template and the files it installs.
///
/// The template gives the name, version, arch and the descriptive fields (`T`, `U`, `L`,
/// `o`, `m`, `t`, `c`, `k`, `D`, `p`, `i`); [`PackageBuilder::build`] fills in `C` (the
/// identity), `S` (the file's size) and `I` (the installed size, the sum of the files'
/// sizes) and writes the same facts into `.PKGINFO`.
///
/// ```
/// use apk_repo::index::Package;
/// use apk_repo::package::PackageBuilder;
///
/// let mut record = Package::default();
/// record.name = "sed".into();
/// record.version = "4.9-r5".into();
/// record.arch = Some("aarch64".into());
/// record.provides = vec!["cmd:sed=4.9-r5".into()];
/// let built = PackageBuilder::new(record).file("usr/bin/sed", "#!/bin/sh\n").build(&[])?;
/// assert_eq!(built.record.installed_size, Some(10));
/// assert_eq!(built.record.file_name(), "sed-4.9-r5.apk");
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PackageBuilder {
    record: Package,
    files: Vec<(String, Vec<u8>)>,
}

/// A built package: the `.apk` bytes and the index record that describes them.
///
/// ```
/// use apk_repo::index::Package;
/// use apk_repo::package::PackageBuilder;
///
/// let mut record = Package::default();
/// record.name = "a".into();
/// record.version = "1-r0".into();
/// let built = PackageBuilder::new(record).file("etc/a.conf", "x=1\n").build(&[])?;
/// // Unsigned: the control member comes first.
/// assert_eq!(built.control.start, 0);
/// assert_eq!(&built.bytes[..2], [0x1f, 0x8b]);
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuiltPackage {
    /// The index record: the template with `C`, `S` and `I` filled in.
    pub record: Package,
    /// The `.apk` file.
    pub bytes: Vec<u8>,
    /// Where the control member lies in [`BuiltPackage::bytes`]: the bytes whose SHA-1 is
    /// the identity (`C:`) and whose SHA-256 the signatures sign.
    pub control: Range<usize>,
}

impl PackageBuilder {
    /// A builder for the package `record` describes (name and version are required).
    ///
    /// ```
    /// let mut record = apk_repo::index::Package::default();
    /// record.name = "bash".into();
    /// record.version = "5.2.37-r31".into();
    /// let builder = apk_repo::package::PackageBuilder::new(record);
    /// ```
    pub fn new(record: Package) -> PackageBuilder {
        PackageBuilder {
            record,
            files: Vec::new(),
        }
    }

    /// Adds a regular file at `path` (relative, such as `usr/share/doc/bash/README`); its
    /// parent directories get entries of their own.
    ///
    /// ```
    /// # let mut record = apk_repo::index::Package::default();
    /// # record.name = "bash".into();
    /// # record.version = "5.2.37-r31".into();
    /// let builder = apk_repo::package::PackageBuilder::new(record)
    ///     .file("usr/share/doc/bash/README", "GNU Bash\n")
    ///     .file("etc/bash/bashrc", b"# bashrc\n".to_vec());
    /// ```
    #[must_use]
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> PackageBuilder {
        self.files.push((path.to_owned(), contents.into()));
        self
    }

    /// Writes the package, signed with each of `keys` (none: an unsigned package, which
    /// apk-tools installs only with `--allow-untrusted`).
    ///
    /// # Errors
    ///
    /// [`IndexError::Package`] for a record without name or version, a field holding a
    /// newline, no files, or a path that is absolute, empty, has `.`/`..` components or
    /// starts with `.` (apk-tools reads such top-level names as control files);
    /// [`IndexError::Keys`] if signing fails.
    ///
    /// ```
    /// # let mut record = apk_repo::index::Package::default();
    /// # record.name = "bash".into();
    /// # record.version = "5.2.37-r31".into();
    /// use apk_repo::package::PackageBuilder;
    /// assert!(PackageBuilder::new(record.clone()).file("/etc/passwd", "").build(&[]).is_err());
    /// assert!(PackageBuilder::new(record).file("usr/bin/bash", "").build(&[]).is_ok());
    /// ```
    pub fn build(&self, keys: &[&SigningKey]) -> Result<BuiltPackage, IndexError> {
        let problem = |problem: String| IndexError::Package { problem };
        let record = &self.record;
        if record.name.is_empty() || record.version.is_empty() {
            return Err(problem("the record needs a name and a version".to_owned()));
        }
        if self.files.is_empty() {
            return Err(problem(format!(
                "{}: a package needs at least one file",
                record.name
            )));
        }
        let mtime = record.build_time.unwrap_or(0);

        // The data member: directories first (parents before children), then the files.
        let mut directories = BTreeSet::new();
        for (path, _) in &self.files {
            check_path(path).map_err(|why| problem(format!("file {path:?}: {why}")))?;
            let mut parent = path.as_str();
            while let Some((up, _)) = parent.rsplit_once('/') {
                directories.insert(up.to_owned());
                parent = up;
            }
        }
        let mut data_tar = Vec::new();
        for directory in &directories {
            tar_entry(
                &mut data_tar,
                directory,
                b"",
                tar::EntryType::Directory,
                0o755,
                mtime,
            )
            .map_err(problem)?;
        }
        for (path, contents) in &self.files {
            // apk-tools 2.x verifies each file against the SHA-1 that abuild records in a
            // PAX header before it; a file without one is installed with the warning that
            // such packages "will be dropped" and counted as broken, so `apk add` fails.
            let sha1 = hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, contents));
            tar_entry(
                &mut data_tar,
                &pax_name(path),
                &pax_record("APK-TOOLS.checksum.SHA1", &sha1),
                tar::EntryType::XHeader,
                0o644,
                mtime,
            )
            .map_err(problem)?;
            tar_entry(
                &mut data_tar,
                path,
                contents,
                tar::EntryType::Regular,
                0o644,
                mtime,
            )
            .map_err(problem)?;
        }
        data_tar.resize(data_tar.len() + 1024, 0);
        let data = gzip(&data_tar);
        let installed: u64 = self.files.iter().map(|(_, c)| c.len() as u64).sum();

        // The control member: `.PKGINFO`, no end-of-archive blocks.
        let pkginfo = pkginfo(
            record,
            installed,
            &hex(digest::digest(&digest::SHA256, &data)),
        )
        .map_err(problem)?;
        let mut control_tar = Vec::new();
        tar_entry(
            &mut control_tar,
            ".PKGINFO",
            pkginfo.as_bytes(),
            tar::EntryType::Regular,
            0o644,
            mtime,
        )
        .map_err(problem)?;
        let control = gzip(&control_tar);

        let mut bytes = if keys.is_empty() {
            Vec::new()
        } else {
            signature_member(&control, keys)?
        };
        let start = bytes.len();
        bytes.extend_from_slice(&control);
        let control_range = start..bytes.len();
        bytes.extend_from_slice(&data);

        let identity = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &control);
        let mut record = record.clone();
        record.checksum = Some(format!("Q1{}", BASE64_STANDARD.encode(identity.as_ref())));
        record.size = Some(bytes.len() as u64);
        record.installed_size = Some(installed);
        Ok(BuiltPackage {
            record,
            bytes,
            control: control_range,
        })
    }
}

fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
        return Err("must be a relative file path");
    }
    if path.starts_with('.') {
        return Err("a top-level name starting with '.' is read as a control file");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("empty, '.' and '..' components are not allowed");
    }
    if path.contains(['\n', '\0']) {
        return Err("newlines and NUL are not allowed");
    }
    Ok(())
}

fn hex(digest: digest::Digest) -> String {
    digest
        .as_ref()
        .iter()
        .fold(String::new(), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// `.PKGINFO` as abuild writes it: `key = value` lines, one `depend`/`provides`/
/// `install_if` line per item.
fn pkginfo(record: &Package, installed: u64, datahash: &str) -> Result<String, String> {
    let mut lines: Vec<(&str, String)> = vec![
        ("pkgname", record.name.clone()),
        ("pkgver", record.version.clone()),
    ];
    let optional = [("pkgdesc", &record.description), ("url", &record.url)];
    lines.extend(
        optional
            .iter()
            .filter_map(|(k, v)| Some((*k, (*v).clone()?))),
    );
    if let Some(time) = record.build_time {
        lines.push(("builddate", time.to_string()));
    }
    lines.push(("size", installed.to_string()));
    if let Some(arch) = &record.arch {
        lines.push(("arch", arch.clone()));
    }
    let optional = [
        ("origin", &record.origin),
        ("commit", &record.commit),
        ("maintainer", &record.maintainer),
        ("license", &record.license),
    ];
    lines.extend(
        optional
            .iter()
            .filter_map(|(k, v)| Some((*k, (*v).clone()?))),
    );
    if let Some(priority) = record.provider_priority {
        lines.push(("provider_priority", priority.to_string()));
    }
    let lists = [
        ("depend", &record.depends),
        ("provides", &record.provides),
        ("install_if", &record.install_if),
    ];
    for (key, items) in lists {
        lines.extend(items.iter().map(|item| (key, item.clone())));
    }
    lines.push(("datahash", datahash.to_owned()));

    let mut text = format!("# Generated by apk-repo {}\n", env!("CARGO_PKG_VERSION"));
    for (key, value) in lines {
        if value.contains(['\n', '\r']) {
            return Err(format!("the {key} value holds a line break"));
        }
        let _ = writeln!(text, "{key} = {value}");
    }
    Ok(text)
}

/// One gzip member of a file: where its compressed bytes lie, and what they decompress to.
///
/// ```
/// # let unsigned = apk_repo::index::write_index(&[], "d");
/// let members = apk_repo::package::gzip_members(&unsigned, 1 << 20)?;
/// assert_eq!(members[0].compressed, 0..unsigned.len());
/// assert_eq!(members[0].decompressed.len() % 512, 0);
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GzipMember {
    /// The member's compressed bytes, as a range of the file: what apk-tools hashes.
    pub compressed: Range<usize>,
    /// The decompressed bytes.
    pub decompressed: Vec<u8>,
}

/// Splits an `.apk` or `APKINDEX.tar.gz` into its gzip members, decoding each with flate2
/// and counting the compressed bytes it consumed, at most `max_decompressed` bytes in all.
///
/// # Errors
///
/// [`IndexError::Malformed`] for bytes that are not gzip, [`IndexError::TooLarge`] past
/// the limit.
///
/// ```
/// use apk_repo::index::{SigningKey, sign_index, write_index};
/// let key = SigningKey::generate("k.rsa.pub")?;
/// let signed = sign_index(&write_index(&[], "d"), &[&key])?;
/// let members = apk_repo::package::gzip_members(&signed, 1 << 20)?;
/// assert_eq!(members.len(), 2);
/// assert_eq!(members[1].compressed.end, signed.len());
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
pub fn gzip_members(bytes: &[u8], max_decompressed: u64) -> Result<Vec<GzipMember>, IndexError> {
    let mut members = Vec::new();
    let mut rest = bytes;
    let mut budget = max_decompressed;
    while !rest.is_empty() {
        let start = bytes.len() - rest.len();
        let mut reader = rest;
        let mut decompressed = Vec::new();
        {
            let mut decoder = flate2::bufread::GzDecoder::new(&mut reader);
            let read = (&mut decoder)
                .take(budget.saturating_add(1))
                .read_to_end(&mut decompressed)
                .map_err(|err| IndexError::Malformed {
                    problem: format!("gzip member at byte {start}: {err}"),
                })?;
            if read as u64 > budget {
                return Err(IndexError::TooLarge {
                    what: format!("the file (at its gzip member from byte {start})"),
                    which: crate::index::Limit::Decompressed,
                    limit: max_decompressed,
                    seen: max_decompressed - budget + read as u64,
                });
            }
            budget -= read as u64;
        }
        // The decoder reads through a BufRead and consumes exactly the member.
        let consumed = rest.len() - reader.len();
        if consumed == 0 {
            break;
        }
        members.push(GzipMember {
            compressed: start..start + consumed,
            decompressed,
        });
        rest = &rest[consumed..];
    }
    Ok(members)
}

/// The name of the PAX header that describes `path`, as POSIX tar (and abuild) writes it.
fn pax_name(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((folder, file)) => format!("{folder}/PaxHeaders/{file}"),
        None => format!("PaxHeaders/{path}"),
    }
}

/// One PAX extended-header record, `"<length> <key>=<value>\n"`, where the length counts
/// the whole record, its own digits included.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut length = body.len() + 1;
    while length.to_string().len() + body.len() != length {
        length = length.to_string().len() + body.len();
    }
    format!("{length}{body}").into_bytes()
}

#[cfg(test)]
mod pax_tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        let record = pax_record("APK-TOOLS.checksum.SHA1", &"a".repeat(40));
        let text = String::from_utf8(record.clone()).unwrap();
        let (length, _) = text.split_once(' ').unwrap();
        assert_eq!(length.parse::<usize>().unwrap(), record.len());
        assert_eq!(pax_record("k", "v"), b"6 k=v\n");
        assert_eq!(pax_name("usr/lib/x.so"), "usr/lib/PaxHeaders/x.so");
    }
}
