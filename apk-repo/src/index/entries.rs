//! Walking a tar's entries with its extension entries read here, not by the tar crate.
//!
//! The tar crate's `Entries` reads a GNU long name (`'L'`), long link (`'K'`) or PAX
//! header (`'x'`) whole into a growing buffer, whatever size its header declares, before
//! it yields the entry they describe: one declaring a gigabyte would take all of the
//! decompression cap in memory. Raw iteration (`Entries::raw`) yields them as entries, so
//! their declared size is refused past [`MAX_EXTENSION_ENTRY`] from the header, before a
//! byte is read. What is left is done as apk-tools' `apk_tar_parse` does it: a long name
//! or a PAX `path` names the next entry, and entries are framed by their headers' sizes
//! (apk-tools ignores a PAX `size`, and reads no GNU sparse maps; the tar crate honours
//! both, so an index that relied on them read differently from apk before).

use std::io::Read;

use super::IndexError;

/// The most an extension entry may declare: real long names and PAX headers take a few
/// hundred bytes (a path is at most 4 KiB on Linux).
pub(crate) const MAX_EXTENSION_ENTRY: u64 = 64 * 1024;

/// Calls `visit` with each entry that is not an extension, and its name (the long name,
/// else the PAX `path`, else the header's). `tar_name` names the tar in errors (`the
/// index tar`).
pub(crate) fn for_each_entry<R: Read>(
    archive: &mut tar::Archive<R>,
    tar_name: &str,
    mut visit: impl FnMut(String, tar::Entry<'_, R>) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let malformed = |problem: String| IndexError::Malformed {
        problem: format!("{tar_name}: {problem}"),
    };
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link = false;
    let mut pax: Option<Vec<u8>> = None;
    let entries = archive
        .entries()
        .map_err(|err| malformed(err.to_string()))?
        .raw(true);
    for entry in entries {
        let mut entry = entry.map_err(|err| malformed(err.to_string()))?;
        let header = entry.header();
        let flag = header.as_bytes()[156];
        if let Some(kind) = extension_kind(flag) {
            if entry.size() > MAX_EXTENSION_ENTRY {
                return Err(malformed(format!(
                    "a {kind} entry (typeflag '{}') declares {} bytes; extension entries \
                     of more than {MAX_EXTENSION_ENTRY} bytes are refused before they are \
                     read (real ones take a few hundred)",
                    char::from(flag),
                    entry.size()
                )));
            }
        }
        // apk-tools 2.14's `apk_tar_parse` applies these whatever the header's magic.
        if matches!(flag, b'L' | b'K' | b'x') {
            let twice = match flag {
                b'L' => long_name.is_some(),
                b'K' => std::mem::replace(&mut long_link, true),
                _ => pax.is_some(),
            };
            if twice {
                return Err(malformed(format!(
                    "two entries of typeflag '{}' describe the same entry",
                    char::from(flag)
                )));
            }
            if flag != b'K' {
                let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|err| malformed(format!("an extension entry: {err}")))?;
                if flag == b'L' {
                    long_name = Some(bytes);
                } else {
                    pax = Some(bytes);
                }
            }
            continue;
        }
        // As apk-tools names an entry: a PAX `path` over a GNU long name over the header's
        // own, each a C string (cut at its first NUL).
        let (long_name, pax) = (long_name.take(), pax.take());
        let header_path = entry.header().path_bytes().into_owned();
        let chosen: &[u8] = match (pax.as_deref().and_then(pax_path), long_name.as_deref()) {
            (Some(path), _) => path,
            (None, Some(long)) => long,
            (None, None) => &header_path,
        };
        let name = String::from_utf8_lossy(c_string(chosen)).into_owned();
        long_link = false;
        visit(name, entry)?;
    }
    if long_name.is_some() || long_link || pax.is_some() {
        return Err(malformed(
            "the tar ends with a long-name or PAX entry that describes no entry".to_owned(),
        ));
    }
    Ok(())
}

/// `bytes` up to its first NUL, as C reads a name.
fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == 0).next().unwrap_or(bytes)
}

/// The kind of extension entry a typeflag marks, for messages.
fn extension_kind(flag: u8) -> Option<&'static str> {
    Some(match flag {
        b'L' => "GNU long-name",
        b'K' => "GNU long-link",
        b'x' => "PAX header",
        b'g' => "PAX global header",
        _ => return None,
    })
}

/// The `path` record of PAX header bytes.
fn pax_path(pax: &[u8]) -> Option<&[u8]> {
    tar::PaxExtensions::new(pax)
        .filter_map(Result::ok)
        .find(|record| record.key_bytes() == b"path")
        .map(|record| record.value_bytes())
}
