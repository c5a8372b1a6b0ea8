//! The memory cap: an estimate of the heap the reader holds for what it parsed, charged as
//! it parses. Text is small next to what it parses into (a nine-byte record becomes a
//! `Package` of about 460 bytes and two allocations; a two-byte list item a 24-byte `String`
//! and an allocation), so the decompression cap alone would let a few hundred kilobytes
//! of gzip take gigabytes.

use std::cell::Cell;
use std::rc::Rc;

use super::{IndexError, Limit};

/// What the allocator takes for a request of `bytes`: glibc's malloc adds an 8-byte
/// header, rounds up to 16 and takes 32 at least. Other allocators round alike; large
/// blocks (mapped whole pages) are underestimated by less than a page each.
pub(crate) fn heap(bytes: usize) -> u64 {
    if bytes == 0 {
        return 0;
    }
    (bytes as u64)
        .saturating_add(8)
        .next_multiple_of(16)
        .max(32)
}

/// The heap of `count` elements of `T` in one buffer.
pub(crate) fn heap_of<T>(count: usize) -> u64 {
    heap(count.saturating_mul(std::mem::size_of::<T>()))
}

/// The estimated bytes held against the cap, shared between the record reader (the line
/// and the record it builds) and what keeps the packages.
#[derive(Debug, Clone)]
pub(crate) struct Memory {
    limit: u64,
    used: Rc<Cell<u64>>,
}

impl Memory {
    pub(crate) fn new(limit: u64) -> Memory {
        Memory {
            limit,
            used: Rc::new(Cell::new(0)),
        }
    }

    /// What is left under the cap.
    pub(crate) fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used.get())
    }

    /// Charges `bytes`, or refuses them for `what` when they go past the cap: then
    /// nothing is charged.
    pub(crate) fn charge(
        &self,
        bytes: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), IndexError> {
        let total = self.used.get().saturating_add(bytes);
        if total > self.limit {
            return Err(IndexError::TooLarge {
                what: what(),
                which: Limit::Memory,
                limit: self.limit,
                seen: total,
            });
        }
        self.used.set(total);
        Ok(())
    }

    /// Gives back `bytes` charged earlier, once what they paid for is dropped.
    pub(crate) fn release(&self, bytes: u64) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_rounds_as_glibc_does() {
        assert_eq!(heap(0), 0);
        assert_eq!(heap(1), 32);
        assert_eq!(heap(24), 32);
        assert_eq!(heap(25), 48);
        assert_eq!(heap(400), 416);
        assert_eq!(heap_of::<u64>(3), 32);
    }

    #[test]
    fn a_charge_past_the_cap_is_refused_and_not_kept() {
        let memory = Memory::new(100);
        memory.charge(60, || unreachable!()).unwrap();
        let err = memory.charge(41, || "the record".to_owned()).unwrap_err();
        match err {
            IndexError::TooLarge {
                what,
                which,
                limit,
                seen,
            } => assert_eq!(
                (what.as_str(), which, limit, seen),
                ("the record", Limit::Memory, 100, 101)
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(memory.left(), 40, "the refused charge is not kept");
        memory.release(60);
        assert_eq!(memory.left(), 100);
        memory.charge(100, || unreachable!()).unwrap();
        assert_eq!(memory.left(), 0);
    }
}
