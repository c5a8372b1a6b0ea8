//! [`Progress`]: how the flows report each finished step to whoever watches.

/// Told of every finished step of a flow (a pull token made, a cache applied, deleted,
/// rotated), from whichever task finished it. A program shows a line or a bar; a library
/// caller may log, count, or ignore ([`NoProgress`]).
///
/// ```
/// use pull_through_fleet::Progress;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// #[derive(Default)]
/// struct Count(AtomicUsize);
/// impl Progress for Count {
///     fn step(&self, _what: &str, _subject: &str, _result: &str) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let count = Count::default();
/// count.step("cache", "cgr-public", "created");
/// assert_eq!(count.0.load(Ordering::Relaxed), 1);
/// ```
pub trait Progress: Send + Sync {
    /// A flow (`apply`, `verify`, `rotate`, `destroy`) starts over `total` caches, each of
    /// which is later reported [`finished`](Progress::finished) once. The default does
    /// nothing.
    ///
    /// ```
    /// use pull_through_fleet::{NoProgress, Progress};
    /// NoProgress.begin("apply", 196);
    /// ```
    fn begin(&self, flow: &str, total: usize) {
        let _ = (flow, total);
    }

    /// Work on `subject` began: `what` (`pull token`, `cache`, `verify`, `rotate`,
    /// `delete`, `revoke`) is now running. The default does nothing.
    ///
    /// ```
    /// use pull_through_fleet::{NoProgress, Progress};
    /// NoProgress.started("cache", "cgr-public");
    /// ```
    fn started(&self, what: &str, subject: &str) {
        let _ = (what, subject);
    }

    /// `what` (`cache`, `pull token`, `verify`, `delete`, `rotate`, `revoke`) happened to
    /// `subject` with `result`.
    fn step(&self, what: &str, subject: &str, result: &str);

    /// The cache `subject` is done in this flow, whatever the result: one of the `total`
    /// announced by [`begin`](Progress::begin). The default does nothing.
    ///
    /// ```
    /// use pull_through_fleet::{NoProgress, Progress};
    /// NoProgress.finished("cgr-public");
    /// ```
    fn finished(&self, subject: &str) {
        let _ = subject;
    }
}

/// Progress nobody watches.
///
/// ```
/// use pull_through_fleet::{NoProgress, Progress};
/// NoProgress.step("cache", "cgr-public", "created");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _what: &str, _subject: &str, _result: &str) {}
}
