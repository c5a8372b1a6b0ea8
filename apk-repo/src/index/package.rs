//! Index records: [`Package`] and the streaming record reader.

use std::io::BufRead;

use super::IndexError;

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

    fn set(&mut self, letter: u8, value: &str, line: u64) -> Result<(), IndexError> {
        let number = |value: &str| {
            value.parse::<u64>().map_err(|_| IndexError::Field {
                line,
                field: char::from(letter),
                problem: format!("{value:?} is not a whole number"),
            })
        };
        let list = |value: &str| value.split_whitespace().map(str::to_owned).collect();
        match letter {
            b'C' => self.checksum = Some(value.to_owned()),
            b'P' => self.name = value.to_owned(),
            b'V' => self.version = value.to_owned(),
            b'A' => self.arch = Some(value.to_owned()),
            b'S' => self.size = Some(number(value)?),
            b'I' => self.installed_size = Some(number(value)?),
            b'T' => self.description = Some(value.to_owned()),
            b'U' => self.url = Some(value.to_owned()),
            b'L' => self.license = Some(value.to_owned()),
            b'o' => self.origin = Some(value.to_owned()),
            b'm' => self.maintainer = Some(value.to_owned()),
            b't' => self.build_time = Some(number(value)?),
            b'c' => self.commit = Some(value.to_owned()),
            b'k' => self.provider_priority = Some(number(value)?),
            b'D' => self.depends = list(value),
            b'p' => self.provides = list(value),
            b'i' => self.install_if = list(value),
            other => self.other.push((char::from(other), value.to_owned())),
        }
        Ok(())
    }
}

/// Reads APKINDEX text record by record, never holding more than one record; lines of
/// any length are fine (real indexes have `p:` lines over 64 KiB).
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
    Records {
        reader,
        line: 0,
        buffer: Vec::new(),
        done: false,
    }
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
}

impl<R: BufRead> Records<R> {
    fn next_record(&mut self) -> Result<Option<Package>, IndexError> {
        let mut package: Option<Package> = None;
        loop {
            self.buffer.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buffer)
                .map_err(|err| IndexError::Malformed {
                    problem: format!("reading the index text: {err}"),
                })?;
            if read == 0 {
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
            package
                .get_or_insert_with(Package::default)
                .set(text[0], value, self.line)?;
        }
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
