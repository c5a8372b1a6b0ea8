//! Peak memory of the test process, from `/proc/self` (Linux), for the tests of the
//! reader's caps. Tests that measure take turns ([`ONE_AT_A_TIME`]) so one's peak is not
//! another's.

use std::sync::{Mutex, MutexGuard};

pub(crate) const MIB: u64 = 1024 * 1024;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The turn of one measuring test: hold it for the whole test.
pub(crate) fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The peak resident memory in bytes, from `/proc/self/status`.
fn peak() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `read` and returns what it returned with how far the peak rose above the memory
/// in use before it (`None` where the peak cannot be reset and read).
pub(crate) fn measured<T>(read: impl FnOnce() -> T) -> (T, Option<u64>) {
    // Writing 5 resets the peak to the current use (Linux 4.0 and later).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = peak().filter(|_| reset);
    let result = read();
    let rise = before.and_then(|before| Some(peak()?.saturating_sub(before)));
    if rise.is_none() {
        eprintln!("note: peak memory is not measurable here; only the error is checked");
    }
    (result, rise)
}
