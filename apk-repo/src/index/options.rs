//! How an index is read: the caps on what a hostile index can make the reader spend.
//!
//! An `APKINDEX.tar.gz` is a few hundred kilobytes that a server (or anyone on the path of
//! a plain-http mirror) chooses. Three caps bound what reading it costs, and each ends the
//! read with [`IndexError::TooLarge`](super::IndexError::TooLarge) naming the [`Limit`]:
//! the decompressed bytes (the time spent, and the text one line may take), the number of
//! packages, and the memory of what is parsed. The last is needed because text is small
//! next to what it parses into: `P:a\nV:1\n\n` is nine bytes and a [`Package`](super::Package)
//! of about 460, so 300 MiB of such records (a few hundred kilobytes gzipped) would
//! otherwise take some 15 GiB.

/// The largest decompressed index read by default: 300 MiB, apko's limit. Real indexes
/// are far smaller (Alpine's v3.16 `main`, 4,929 packages: 1.9 MB; Chainguard's largest:
/// about 120 MB), so only a decompression bomb or a corrupt stream meets it.
///
/// ```
/// use apk_repo::index::{DEFAULT_MAX_DECOMPRESSED, ReadOptions};
/// assert_eq!(ReadOptions::default().max_decompressed, DEFAULT_MAX_DECOMPRESSED);
/// assert_eq!(DEFAULT_MAX_DECOMPRESSED, 300 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 300 * 1024 * 1024;

/// The most packages read by default: a million. Alpine's v3.16 `main` holds 4,929, and
/// the largest real indexes (about 120 MB of records of 400 to 600 bytes) a few hundred
/// thousand; nine-byte records made to fill memory meet it after 9 MB of text.
///
/// ```
/// use apk_repo::index::{DEFAULT_MAX_PACKAGES, ReadOptions};
/// assert_eq!(ReadOptions::default().max_packages, DEFAULT_MAX_PACKAGES);
/// assert_eq!(DEFAULT_MAX_PACKAGES, 1_000_000);
/// ```
pub const DEFAULT_MAX_PACKAGES: u64 = 1_000_000;

/// The most memory the parsed index may hold by default: 1 GiB, counted as
/// [`ReadOptions::max_memory`] describes. Alpine's v3.16 `main` takes 6.4 MiB; 200,000
/// generated packages shaped like Wolfi's (88 MB of text) take 250 MiB, so the largest
/// real indexes (about 120 MB) take some 350 MiB.
///
/// ```
/// use apk_repo::index::{DEFAULT_MAX_MEMORY, ReadOptions};
/// assert_eq!(ReadOptions::default().max_memory, DEFAULT_MAX_MEMORY);
/// assert_eq!(DEFAULT_MAX_MEMORY, 1 << 30);
/// ```
pub const DEFAULT_MAX_MEMORY: u64 = 1024 * 1024 * 1024;

/// How an index is read: its three caps.
///
/// - `max_decompressed` counts every decompressed byte of the index members (tar headers,
///   padding and entries apk skips included); a tar entry whose header declares more than
///   is left under it is refused from its header, before a byte of it is decompressed.
/// - `max_packages` counts the packages read.
/// - `max_memory` counts an estimate of the heap the reader holds for what it parsed:
///   the packages kept, the record being parsed (a list field is refused from its text,
///   before it is built), the line being read and the skipped entries.
///
/// The reader's memory is then at most about `max_memory` (one very long line can take up
/// to twice the room left under it for a moment, as its buffer doubles before it is
/// charged) plus fixed buffers of some 300 KiB (the inflater and its window, a 64 KiB read buffer, a `DESCRIPTION` of at
/// most 64 KiB, and a long name and a PAX header of at most 64 KiB each, refused past
/// that from their header) and, when the index is signed, the signature member (at most
/// 16 MiB, read before the index).
///
/// ```
/// use apk_repo::index::ReadOptions;
/// let options = ReadOptions::default()
///     .with_max_decompressed(1024 * 1024 * 1024)
///     .with_max_packages(5_000_000)
///     .with_max_memory(4 << 30);
/// assert_eq!((options.max_decompressed, options.max_packages, options.max_memory), (1 << 30, 5_000_000, 4 << 30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The most decompressed bytes read (default [`DEFAULT_MAX_DECOMPRESSED`]).
    pub max_decompressed: u64,
    /// The most packages read (default [`DEFAULT_MAX_PACKAGES`]).
    pub max_packages: u64,
    /// The most memory, in estimated bytes of heap, the parsed index may hold (default
    /// [`DEFAULT_MAX_MEMORY`]). The estimate counts each allocation as glibc's allocator
    /// takes it (the request and an 8-byte header rounded up to 16 bytes, 32 at least).
    pub max_memory: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            max_packages: DEFAULT_MAX_PACKAGES,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

impl ReadOptions {
    /// With the decompression cap set to `bytes`.
    ///
    /// ```
    /// let options = apk_repo::index::ReadOptions::default().with_max_decompressed(64 << 20);
    /// assert_eq!(options.max_decompressed, 64 << 20);
    /// ```
    pub fn with_max_decompressed(mut self, bytes: u64) -> ReadOptions {
        self.max_decompressed = bytes;
        self
    }

    /// With the package cap set to `packages`.
    ///
    /// ```
    /// let options = apk_repo::index::ReadOptions::default().with_max_packages(10);
    /// assert_eq!(options.max_packages, 10);
    /// ```
    pub fn with_max_packages(mut self, packages: u64) -> ReadOptions {
        self.max_packages = packages;
        self
    }

    /// With the memory cap set to `bytes`.
    ///
    /// ```
    /// let options = apk_repo::index::ReadOptions::default().with_max_memory(256 << 20);
    /// assert_eq!(options.max_memory, 256 << 20);
    /// ```
    pub fn with_max_memory(mut self, bytes: u64) -> ReadOptions {
        self.max_memory = bytes;
        self
    }
}

/// Which cap of [`ReadOptions`] a read met.
///
/// ```
/// use apk_repo::index::{ApkIndex, IndexError, Limit, ReadOptions, write_index};
/// let bytes = write_index(&[], "repo");
/// let err = ApkIndex::read_unverified_with(&bytes, ReadOptions::default().with_max_decompressed(100)).unwrap_err();
/// assert!(matches!(err, IndexError::TooLarge { which: Limit::Decompressed, limit: 100, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`ReadOptions::max_decompressed`]: decompressed bytes.
    Decompressed,
    /// [`ReadOptions::max_packages`]: packages.
    Packages,
    /// [`ReadOptions::max_memory`]: estimated bytes of memory.
    Memory,
}

impl Limit {
    /// The message of [`IndexError::TooLarge`](super::IndexError::TooLarge).
    pub(crate) fn message(self, what: &str, limit: u64, seen: u64) -> String {
        match self {
            Limit::Decompressed => format!(
                "{what} goes past the decompression cap of {limit} bytes (stopped after {seen} \
                 decompressed bytes): a gzip bomb, or an index larger than any real one; if it \
                 is genuine, raise the cap (max_decompressed of ReadOptions, \
                 RepoClientBuilder::read_options, or the argument of gzip_members)"
            ),
            Limit::Packages => format!(
                "{what} goes past the cap of {limit} packages (stopped at package {seen}): an \
                 index of tiny records made to fill memory, or one larger than any real one; if \
                 it is genuine, raise the cap (ReadOptions::with_max_packages, given to \
                 ApkIndex::read_with or RepoClientBuilder::read_options)"
            ),
            Limit::Memory => format!(
                "{what} goes past the memory cap of {limit} bytes (the parsed index would hold \
                 about {seen} bytes): records made to fill memory, or an index larger than any \
                 real one; if it is genuine, raise the cap (ReadOptions::with_max_memory, given \
                 to ApkIndex::read_with or RepoClientBuilder::read_options)"
            ),
        }
    }
}
