//! [`Backoff`]: how long to wait between the polls of an operation, the retries of an IAM
//! read-modify-write that raced another writer, and the retries of a PATCH that Artifact
//! Registry refused while an IAM grant propagates. These waits are Google's protocol (an
//! operation is polled until done; ABORTED asks for the whole read-modify-write again),
//! not HTTP policy: each request still goes through the core's retries.

use std::time::Duration;

/// Waits that double from `initial` up to `max`, for at most `max_attempts` tries and at
/// most `budget` of waiting in all (the time spent in requests is not counted, so that a
/// schedule is the same on a slow machine).
///
/// ```
/// use gar_client::Backoff;
/// use std::time::Duration;
/// let quick = Backoff::new(Duration::from_millis(10), Duration::from_millis(40))
///     .with_budget(Duration::from_millis(100))
///     .with_max_attempts(10);
/// assert_eq!(quick.waits(), [10, 20, 40, 30].map(Duration::from_millis));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// The most waiting in all.
    pub budget: Duration,
    /// The most tries in all, the first included.
    pub max_attempts: u32,
}

impl Backoff {
    /// Doubling waits from `initial` (at least a millisecond, so that a schedule always
    /// spends its budget) to `max`, with a budget of 20 minutes and no limit on attempts.
    ///
    /// ```
    /// let backoff = gar_client::Backoff::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(10));
    /// assert_eq!(backoff.budget.as_secs(), 1200);
    /// ```
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.max(Duration::from_millis(1));
        Backoff {
            initial,
            max: max.max(initial),
            budget: Duration::from_secs(20 * 60),
            max_attempts: u32::MAX,
        }
    }

    /// Sets the most waiting in all.
    ///
    /// ```
    /// # use gar_client::Backoff;
    /// # use std::time::Duration;
    /// let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(2)).with_budget(Duration::from_secs(3));
    /// assert_eq!(backoff.waits().iter().sum::<Duration>(), Duration::from_secs(3));
    /// ```
    pub fn with_budget(mut self, budget: Duration) -> Backoff {
        self.budget = budget;
        self
    }

    /// Sets the most tries in all (at least 1).
    ///
    /// ```
    /// # use gar_client::Backoff;
    /// # use std::time::Duration;
    /// let once = Backoff::new(Duration::from_secs(1), Duration::from_secs(2)).with_max_attempts(1);
    /// assert!(once.waits().is_empty());
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Backoff {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Every wait of the schedule, in order (the last one cut to fit the budget).
    ///
    /// ```
    /// # use gar_client::Backoff;
    /// # use std::time::Duration;
    /// let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(4))
    ///     .with_budget(Duration::from_secs(60)).with_max_attempts(5);
    /// assert_eq!(backoff.waits(), [1, 2, 4, 4].map(Duration::from_secs));
    /// ```
    pub fn waits(&self) -> Vec<Duration> {
        let mut schedule = self.schedule();
        std::iter::from_fn(|| schedule.next_wait()).collect()
    }

    pub(crate) fn schedule(&self) -> Schedule {
        Schedule {
            backoff: *self,
            next: self.initial,
            spent: Duration::ZERO,
            attempts: 1,
        }
    }
}

/// One run through a [`Backoff`].
#[derive(Debug)]
pub(crate) struct Schedule {
    backoff: Backoff,
    next: Duration,
    spent: Duration,
    attempts: u32,
}

impl Schedule {
    /// The wait before the next try, or `None` when the tries or the budget are spent.
    pub(crate) fn next_wait(&mut self) -> Option<Duration> {
        if self.attempts >= self.backoff.max_attempts {
            return None;
        }
        let left = self.backoff.budget.saturating_sub(self.spent);
        if left.is_zero() {
            return None;
        }
        let wait = self.next.min(left);
        self.spent += wait;
        self.attempts += 1;
        self.next = (self.next * 2).min(self.backoff.max);
        Some(wait)
    }

    /// Waits before the next try; `false` when the tries or the budget are spent.
    pub(crate) async fn wait(&mut self) -> bool {
        match self.next_wait() {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_initial_wait_still_ends() {
        let backoff =
            Backoff::new(Duration::ZERO, Duration::ZERO).with_budget(Duration::from_millis(5));
        assert_eq!(backoff.waits(), [Duration::from_millis(1); 5]);
    }
}
