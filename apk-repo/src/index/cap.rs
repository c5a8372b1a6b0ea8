//! The decompression cap: how many bytes an index may decompress to, and the reader that
//! holds a stream to it. Without it, an index of a megabyte could decompress to terabytes
//! and take the time of every reader. It bounds bytes of text, not memory: what the text
//! parses into is bounded by the package and memory caps ([`super::ReadOptions`]).

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use super::{IndexError, Limit};

/// The bytes decompressed so far against the cap, shared between the [`Capped`] reader
/// and the tar reader above it, which checks declared entry sizes against what is left.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    limit: u64,
    read: Rc<Cell<u64>>,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Budget {
        Budget {
            limit,
            read: Rc::new(Cell::new(0)),
        }
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.read.get() > self.limit
    }

    pub(crate) fn left(&self) -> u64 {
        self.limit.saturating_sub(self.read.get())
    }

    /// The error for `what` (`the index`, `the tar entry "APKINDEX" ...`).
    pub(crate) fn too_large(&self, what: impl Into<String>) -> IndexError {
        IndexError::TooLarge {
            what: what.into(),
            which: Limit::Decompressed,
            limit: self.limit,
            seen: self.read.get(),
        }
    }
}

/// A reader that yields at most one byte past its budget, then fails: like
/// [`Read::take`], but the overrun is an error the caller can tell from a short stream.
pub(crate) struct Capped<R> {
    inner: R,
    budget: Budget,
}

impl<R: Read> Capped<R> {
    pub(crate) fn new(inner: R, budget: Budget) -> Capped<R> {
        Capped { inner, budget }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let over = || std::io::Error::other("the decompression cap was reached");
        if self.budget.exceeded() {
            return Err(over());
        }
        // One byte more than is left tells a stream that ends at the cap from one that
        // goes on past it.
        let allowed = self.budget.left().saturating_add(1);
        let want = buf
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        let total = self.budget.read.get().saturating_add(read as u64);
        self.budget.read.set(total);
        if self.budget.exceeded() {
            return Err(over());
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_stops_one_byte_past_the_budget() {
        let budget = Budget::new(10);
        let mut capped = Capped::new(std::io::repeat(7), budget.clone());
        let mut sink = Vec::new();
        let err = capped.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.to_string(), "the decompression cap was reached");
        assert_eq!(
            budget.read.get(),
            11,
            "never more than one byte past the budget"
        );
        assert!(budget.exceeded());
        match budget.too_large("the index") {
            IndexError::TooLarge {
                what,
                which: Limit::Decompressed,
                limit,
                seen,
            } => {
                assert_eq!((what.as_str(), limit, seen), ("the index", 10, 11));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stream_that_ends_at_the_budget_passes() {
        let budget = Budget::new(10);
        let mut capped = Capped::new(&[1u8; 10][..], budget.clone());
        let mut sink = Vec::new();
        assert_eq!(capped.read_to_end(&mut sink).unwrap(), 10);
        assert!(!budget.exceeded());
        assert_eq!(budget.left(), 0);
    }
}
