//! Index records: [`Package`] and the streaming record reader.

use std::io::{BufRead, Read};

use super::IndexError;
use super::memory::{Memory, heap, heap_of};

/// One package of an APKINDEX, every field typed, unknown fields kept.
///
/// ```
/// use apk_repo::index::parse_records;
/// let text = "C:Q1abc=\nP:wget\nV:1.24.5-r5\nA:x86_64\nS:512\nD:so:libc.so.6 libssl3\nZ:future\n\n";
/// let packages = parse_records(text.as_bytes()).collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(packages[0].name, "wget");
/// assert_eq!(packages[0].depends, ["so:libc.so.6", "libssl3"]);
/// assert_eq!(packages[0].file_name(), "wget-1.24.5-r5.apk");
/// assert_eq!(packages[0].other, [('Z', "future".to_owned())]);
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Package {
    /// `C`: the identity checksum (`Q1` + base64 SHA-1 of the control stream).
    pub checksum: Option<String>,
    /// `P`: the name.
    pub name: String,
    /// `V`: the version.
    pub version: String,
    /// `A`: the architecture.
    pub arch: Option<String>,
    /// `S`: the size of the `.apk` in bytes.
    pub size: Option<u64>,
    /// `I`: the installed size in bytes.
    pub installed_size: Option<u64>,
    /// `T`: the description.
    pub description: Option<String>,
    /// `U`: the project URL.
    pub url: Option<String>,
    /// `L`: the licence.
    pub license: Option<String>,
    /// `o`: the origin (source package).
    pub origin: Option<String>,
    /// `m`: the maintainer.
    pub maintainer: Option<String>,
    /// `t`: the build time, Unix seconds.
    pub build_time: Option<u64>,
    /// `c`: the commit it was built from.
    pub commit: Option<String>,
    /// `k`: the provider priority.
    pub provider_priority: Option<u64>,
    /// `D`: dependencies.
    pub depends: Vec<String>,
    /// `p`: what it provides.
    pub provides: Vec<String>,
    /// `i`: install-if conditions.
    pub install_if: Vec<String>,
    /// Fields this crate does not know, in order, as (letter, value).
    pub other: Vec<(char, String)>,
}

impl Package {
    /// The file name apk fetches: `<name>-<version>.apk`.
    ///
    /// ```
    /// let mut package = apk_repo::index::Package::default();
    /// package.name = "libstdc++".into();
    /// package.version = "13.2.0-r1".into();
    /// assert_eq!(package.file_name(), "libstdc++-13.2.0-r1.apk");
    /// ```
    pub fn file_name(&self) -> String {
        format!("{}-{}.apk", self.name, self.version)
    }

    /// Sets field `letter` to `value`, charging what it allocates to `charge` first (a
    /// list is refused from its text, before it is built).
    fn set(&mut self, letter: u8, value: &str, charge: &mut Charge) -> Result<(), IndexError> {
        let line = charge.line;
        let number = |value: &str| {
            value.parse::<u64>().map_err(|_| IndexError::Field {
                line,
                field: char::from(letter),
                problem: format!("{value:?} is not a whole number"),
            })
        };
        match letter {
            b'C' => charge.optional(&mut self.checksum, value)?,
            b'P' => charge.text(&mut self.name, value)?,
            b'V' => charge.text(&mut self.version, value)?,
            b'A' => charge.optional(&mut self.arch, value)?,
            b'S' => self.size = Some(number(value)?),
            b'I' => self.installed_size = Some(number(value)?),
            b'T' => charge.optional(&mut self.description, value)?,
            b'U' => charge.optional(&mut self.url, value)?,
            b'L' => charge.optional(&mut self.license, value)?,
            b'o' => charge.optional(&mut self.origin, value)?,
            b'm' => charge.optional(&mut self.maintainer, value)?,
            b't' => self.build_time = Some(number(value)?),
            b'c' => charge.optional(&mut self.commit, value)?,
            b'k' => self.provider_priority = Some(number(value)?),
            b'D' => charge.list(&mut self.depends, value)?,
            b'p' => charge.list(&mut self.provides, value)?,
            b'i' => charge.list(&mut self.install_if, value)?,
            other => charge.other(&mut self.other, char::from(other), value)?,
        }
        Ok(())
    }
}

/// The heap of a list field: its buffer and each item.
fn list_heap(list: &[String], capacity: usize) -> u64 {
    heap_of::<String>(capacity) + list.iter().map(|item| heap(item.capacity())).sum::<u64>()
}

/// What setting one field allocates and frees, charged to the memory cap as it goes.
struct Charge<'a> {
    memory: &'a Memory,
    line: u64,
    added: u64,
    freed: u64,
}

impl Charge<'_> {
    fn add(&mut self, bytes: u64) -> Result<(), IndexError> {
        let line = self.line;
        self.memory
            .charge(bytes, || format!("the APKINDEX record at line {line}"))?;
        self.added += bytes;
        Ok(())
    }

    fn text(&mut self, slot: &mut String, value: &str) -> Result<(), IndexError> {
        self.add(heap(value.len()))?;
        self.freed += heap(slot.capacity());
        *slot = value.to_owned();
        Ok(())
    }

    fn optional(&mut self, slot: &mut Option<String>, value: &str) -> Result<(), IndexError> {
        self.add(heap(value.len()))?;
        self.freed += slot.as_ref().map_or(0, |old| heap(old.capacity()));
        *slot = Some(value.to_owned());
        Ok(())
    }

    fn list(&mut self, slot: &mut Vec<String>, value: &str) -> Result<(), IndexError> {
        // Counted from the text: a line of one-letter items would take twenty-eight
        // times its length once built.
        let (count, items) = value
            .split_whitespace()
            .fold((0, 0), |(count, bytes), item| {
                (count + 1, bytes + heap(item.len()))
            });
        self.add(heap_of::<String>(count) + items)?;
        self.freed += list_heap(slot, slot.capacity());
        // `with_capacity` allocates exactly `count` elements, as charged.
        let mut list = Vec::with_capacity(count);
        list.extend(value.split_whitespace().map(str::to_owned));
        *slot = list;
        Ok(())
    }

    fn other(
        &mut self,
        slot: &mut Vec<(char, String)>,
        letter: char,
        value: &str,
    ) -> Result<(), IndexError> {
        let before = slot.capacity();
        slot.push((letter, value.to_owned()));
        // Charged once pushed: the growth is at most what the list already held.
        let grown = heap_of::<(char, String)>(slot.capacity()) - heap_of::<(char, String)>(before);
        self.add(heap(value.len()) + grown)
    }
}

/// Reads APKINDEX text record by record, never holding more than one record; lines of
/// any length are fine (real indexes have `p:` lines over 64 KiB). Nothing here caps the
/// memory a record takes (a line of one-letter list items takes about 28 times its
/// length): [`ApkIndex::read_with`](super::ApkIndex::read_with) and
/// [`for_each_package`](super::for_each_package) read through the caps of
/// [`ReadOptions`](super::ReadOptions).
///
/// Each item is a package, or an error naming the line and field that broke.
///
/// ```
/// use apk_repo::index::parse_records;
/// let text = "P:a\nV:1.0-r0\n\nP:b\nV:2.0-r0\nS:big\n";
/// let results: Vec<_> = parse_records(text.as_bytes()).collect();
/// assert_eq!(results[0].as_ref().unwrap().name, "a");
/// assert!(results[1].as_ref().unwrap_err().to_string().contains("line 6"));
/// ```
pub fn parse_records<R: BufRead>(reader: R) -> Records<R> {
    Records::bounded(reader, Memory::new(u64::MAX))
}

/// The iterator of [`parse_records`].
///
/// ```
/// let mut records = apk_repo::index::parse_records("P:a\nV:1-r0\n".as_bytes());
/// assert_eq!(records.next().unwrap()?.name, "a");
/// assert!(records.next().is_none());
/// # Ok::<(), apk_repo::index::IndexError>(())
/// ```
#[derive(Debug)]
pub struct Records<R> {
    reader: R,
    line: u64,
    buffer: Vec<u8>,
    done: bool,
    memory: Memory,
    /// Charged for the line buffer's capacity, until the reader is dropped.
    buffer_heap: u64,
    /// Charged for the record being built, or for the last one returned.
    record_heap: u64,
}

impl<R: BufRead> Records<R> {
    /// Reads records, charging the line buffer and each record to `memory`.
    pub(crate) fn bounded(reader: R, memory: Memory) -> Records<R> {
        Records {
            reader,
            line: 0,
            buffer: Vec::new(),
            done: false,
            memory,
            buffer_heap: 0,
            record_heap: 0,
        }
    }

    /// The heap charged for the package [`Iterator::next`] returned last: its taker
    /// releases it when it drops the package, or keeps it charged while it holds it.
    pub(crate) fn last_heap(&self) -> u64 {
        self.record_heap
    }

    fn next_record(&mut self) -> Result<Option<Package>, IndexError> {
        // The last record's charge went with it.
        self.record_heap = 0;
        let result = self.build_record();
        if result.is_err() {
            self.memory.release(std::mem::take(&mut self.record_heap));
        }
        result
    }

    fn build_record(&mut self) -> Result<Option<Package>, IndexError> {
        let mut package: Option<Package> = None;
        loop {
            self.read_line()?;
            if self.buffer.is_empty() {
                self.done = true;
                return finish(package, self.line);
            }
            self.line += 1;
            let text = trim_line_end(&self.buffer);
            if text.is_empty() {
                if package.is_some() {
                    return finish(package, self.line);
                }
                continue;
            }
            if text.len() < 2 || text[1] != b':' {
                return Err(IndexError::Field {
                    line: self.line,
                    field: char::from(text[0]),
                    problem: "expected a line of the form X:value".to_owned(),
                });
            }
            let value = std::str::from_utf8(&text[2..]).map_err(|_| IndexError::Field {
                line: self.line,
                field: char::from(text[0]),
                problem: "the value is not UTF-8".to_owned(),
            })?;
            let mut charge = Charge {
                memory: &self.memory,
                line: self.line,
                added: 0,
                freed: 0,
            };
            let set = package
                .get_or_insert_with(Package::default)
                .set(text[0], value, &mut charge);
            let (added, freed) = (charge.added, charge.freed);
            self.record_heap += added;
            set?;
            self.memory.release(freed);
            self.record_heap = self.record_heap.saturating_sub(freed);
        }
    }

    /// Reads the next line into the buffer (empty at the end), charging the buffer's
    /// growth: a line may take what is left under the cap, and no more is read.
    fn read_line(&mut self) -> Result<(), IndexError> {
        self.buffer.clear();
        let room = self.memory.left().saturating_add(self.buffer_heap);
        (&mut self.reader)
            .take(room.saturating_add(1))
            .read_until(b'\n', &mut self.buffer)
            .map_err(|err| IndexError::Malformed {
                problem: format!("reading the index text: {err}"),
            })?;
        let grown = heap(self.buffer.capacity()).saturating_sub(self.buffer_heap);
        let line = self.line + 1;
        self.memory
            .charge(grown, || format!("APKINDEX line {line}"))?;
        self.buffer_heap += grown;
        Ok(())
    }
}

impl<R> Drop for Records<R> {
    fn drop(&mut self) {
        // The line buffer goes with the reader; a returned record's charge does not.
        self.memory.release(self.buffer_heap);
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn finish(package: Option<Package>, line: u64) -> Result<Option<Package>, IndexError> {
    match package {
        Some(package) if package.name.is_empty() || package.version.is_empty() => {
            Err(IndexError::Field {
                line,
                field: if package.name.is_empty() { 'P' } else { 'V' },
                problem: "the record before this line has no name or no version".to_owned(),
            })
        }
        other => Ok(other),
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Package, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(package)) => Some(Ok(package)),
            Ok(None) => None,
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_typed() {
        let text = "C:Q1Xw==\nP:openssl\nV:3.3.1-r0\nA:aarch64\nS:1234\nI:5678\n\
                    T:Toolkit: TLS and crypto\nU:https://www.openssl.org\nL:Apache-2.0\n\
                    o:openssl\nm:Wolfi <wolfi@example.com>\nt:1700000000\nc:abcdef\nk:100\n\
                    D:so:libc.so.6 libcrypto3=3.3.1-r0\np:cmd:openssl=3.3.1-r0\ni:a b\nq:x\n";
        let package = parse_records(text.as_bytes()).next().unwrap().unwrap();
        assert_eq!(
            package.description.as_deref(),
            Some("Toolkit: TLS and crypto")
        );
        assert_eq!(package.size, Some(1234));
        assert_eq!(package.installed_size, Some(5678));
        assert_eq!(package.build_time, Some(1_700_000_000));
        assert_eq!(package.provider_priority, Some(100));
        assert_eq!(package.depends, ["so:libc.so.6", "libcrypto3=3.3.1-r0"]);
        assert_eq!(package.provides, ["cmd:openssl=3.3.1-r0"]);
        assert_eq!(package.install_if, ["a", "b"]);
        assert_eq!(package.other, [('q', "x".to_owned())]);
        assert_eq!(package.arch.as_deref(), Some("aarch64"));
    }

    #[test]
    fn very_long_lines_and_crlf() {
        let provides: Vec<String> = (0..20_000).map(|i| format!("so:lib{i}.so")).collect();
        let text = format!("P:big\r\nV:1.0-r0\r\np:{}\r\n\r\n", provides.join(" "));
        assert!(text.len() > 200_000);
        let package = parse_records(text.as_bytes()).next().unwrap().unwrap();
        assert_eq!(package.provides.len(), 20_000);
    }

    #[test]
    fn broken_records_name_the_line() {
        for (text, needle) in [
            ("P:a\nV:1\nS:x\n", "line 3"),
            ("P:a\nnonsense\n", "line 2"),
            ("V:1.0\n\n", "no name"),
            ("P:a\nV:1\nT:\u{0}\n", ""),
        ] {
            let first = parse_records(text.as_bytes()).next().unwrap();
            if needle.is_empty() {
                assert!(first.is_ok(), "control characters in values are kept");
            } else {
                let err = first.unwrap_err().to_string();
                assert!(err.contains(needle), "{text:?}: {err}");
            }
        }
        let mut records = parse_records("P:a\nV:1\nS:x\n\nP:b\nV:1\n".as_bytes());
        assert!(records.next().unwrap().is_err());
        assert!(
            records.next().is_none(),
            "iteration stops at the first error"
        );
    }
}
