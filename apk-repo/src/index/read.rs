//! Reading the index members through the caps of [`ReadOptions`]: the decompressed bytes
//! (a [`Capped`] stream, and declared entry sizes checked against what is left), the
//! packages, and the memory of what is parsed ([`Memory`], charged by the record reader
//! for the line and the record it builds, and here for what is kept).

use std::io::{BufReader, Read};

use super::cap::{Budget, Capped};
use super::entries::for_each_entry;
use super::memory::{Memory, heap, heap_of};
use super::{IndexError, Limit, Package, ReadOptions, Records, SkippedEntry};

/// Streams the packages of the index members (the bytes after any signature member) to
/// `visit`, one at a time, without holding the decompressed index in memory. Returns the
/// `DESCRIPTION`. Entries apk-tools would skip are handled as in
/// [`ApkIndex::read`](super::ApkIndex::read): a skipped `APKINDEX` is an error; other
/// skipped entries are ignored here (read with [`ApkIndex::read`](super::ApkIndex::read)
/// to see them in [`ApkIndex::skipped`](super::ApkIndex::skipped)).
///
/// Every cap of `options` holds. The memory cap counts one record at a time here, since
/// `visit` takes each package: what `visit` keeps is its own to bound.
///
/// # Errors
///
/// [`IndexError::Malformed`], [`IndexError::Field`], [`IndexError::TooLarge`], or what
/// `visit` returns.
///
/// ```no_run
/// use apk_repo::index::{ReadOptions, SignedIndex, for_each_package};
/// # let bytes = Vec::<u8>::new();
/// let split = SignedIndex::split(&bytes)?;
/// let mut count = 0;
/// for_each_package(split.signed, ReadOptions::default(), |_| { count += 1; Ok(()) })?;
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
pub fn for_each_package(
    index_members: &[u8],
    options: ReadOptions,
    mut visit: impl FnMut(Package) -> Result<(), IndexError>,
) -> Result<Option<String>, IndexError> {
    let memory = Memory::new(options.max_memory);
    let mut each = |package: Package, held: u64| {
        let visited = visit(package);
        memory.release(held);
        visited
    };
    read_members(index_members, options, &memory, &mut each, &mut Vec::new())
}

/// What [`collect`] read: the `DESCRIPTION`, the packages and the skipped entries.
pub(crate) type Collected = (Option<String>, Vec<Package>, Vec<SkippedEntry>);

/// Reads every package into a list, the list and the packages charged to the memory cap.
pub(crate) fn collect(index_members: &[u8], options: ReadOptions) -> Result<Collected, IndexError> {
    let memory = Memory::new(options.max_memory);
    let mut packages = Vec::new();
    let mut skipped = Vec::new();
    // Each package's own heap was charged as it was parsed and stays charged.
    let mut keep = |package: Package, _held: u64| {
        let at = packages.len() + 1;
        push_charged(&mut packages, package, 0, &memory, || {
            format!("the package list, at package {at},")
        })
    };
    let description = read_members(index_members, options, &memory, &mut keep, &mut skipped)?;
    Ok((description, packages, skipped))
}

/// Pushes `item` onto `list`, charging `heap` and, when the list's buffer must grow, the
/// growth before it is allocated.
fn push_charged<T>(
    list: &mut Vec<T>,
    item: T,
    heap: u64,
    memory: &Memory,
    what: impl FnOnce() -> String,
) -> Result<(), IndexError> {
    if list.len() == list.capacity() {
        // Doubling, as `Vec` itself grows, keeps pushes amortised.
        let capacity = list.capacity().saturating_mul(2).max(4);
        let grown = heap_of::<T>(capacity) - heap_of::<T>(list.capacity());
        memory.charge(grown + heap, what)?;
        list.reserve_exact(capacity - list.len());
    } else {
        memory.charge(heap, what)?;
    }
    list.push(item);
    Ok(())
}

fn read_members(
    index_members: &[u8],
    options: ReadOptions,
    memory: &Memory,
    visit: &mut dyn FnMut(Package, u64) -> Result<(), IndexError>,
    skipped: &mut Vec<SkippedEntry>,
) -> Result<Option<String>, IndexError> {
    let budget = Budget::new(options.max_decompressed);
    let capped = Capped::new(
        flate2::bufread::MultiGzDecoder::new(index_members),
        budget.clone(),
    );
    let caps = Caps {
        budget: &budget,
        max_packages: options.max_packages,
        memory,
    };
    let result = read_entries(tar::Archive::new(capped), &caps, visit, skipped);
    // Whatever error the overrun surfaced as (a tar header, a record), the cap is why.
    if budget.exceeded() {
        return Err(budget.too_large("the index"));
    }
    result
}

/// The caps a read holds to.
struct Caps<'a> {
    budget: &'a Budget,
    max_packages: u64,
    memory: &'a Memory,
}

fn read_entries<R: Read>(
    mut archive: tar::Archive<R>,
    caps: &Caps<'_>,
    visit: &mut dyn FnMut(Package, u64) -> Result<(), IndexError>,
    skipped: &mut Vec<SkippedEntry>,
) -> Result<Option<String>, IndexError> {
    let malformed = |problem: String| IndexError::Malformed { problem };
    let mut description = None;
    let mut saw_index = false;
    let mut packages = 0u64;
    for_each_entry(&mut archive, "the index tar", |name, entry| {
        // A declared size past the cap cannot be read whole: refuse it from the header.
        if entry.size() > caps.budget.left() {
            return Err(caps.budget.too_large(format!(
                "the tar entry {name:?}, which declares {} bytes,",
                entry.size()
            )));
        }
        if let Some(skip) = SkippedEntry::check(&name, entry.header()) {
            if name == "APKINDEX" || name.starts_with(".SIGN.") {
                return Err(IndexError::SkippedEntry(skip));
            }
            // apk-tools never sees it; neither does this reader.
            let held = heap(skip.name.len());
            return push_charged(skipped, skip, held, caps.memory, || {
                "the list of skipped tar entries".to_owned()
            });
        }
        match name.as_str() {
            "APKINDEX" => {
                saw_index = true;
                let reader = BufReader::with_capacity(64 * 1024, entry);
                let mut records = Records::bounded(reader, caps.memory.clone());
                while let Some(package) = records.next() {
                    let package = package?;
                    packages += 1;
                    if packages > caps.max_packages {
                        return Err(IndexError::TooLarge {
                            what: "the APKINDEX".to_owned(),
                            which: Limit::Packages,
                            limit: caps.max_packages,
                            seen: packages,
                        });
                    }
                    visit(package, records.last_heap())?;
                }
            }
            "DESCRIPTION" => {
                let mut text = String::new();
                entry
                    .take(64 * 1024)
                    .read_to_string(&mut text)
                    .map_err(|err| malformed(format!("DESCRIPTION: {err}")))?;
                description = Some(text.trim_end().to_owned());
            }
            other if other.starts_with(".SIGN.") => {
                return Err(malformed(format!(
                    "signature entry {other:?} after the signature member"
                )));
            }
            // Unknown entries are skipped, as apk does.
            _ => {}
        }
        Ok(())
    })?;
    if !saw_index {
        return Err(malformed("there is no APKINDEX entry".to_owned()));
    }
    Ok(description)
}
