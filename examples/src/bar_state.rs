//! What the fleet progress shows, apart from drawing it: the bar's [`BarState`] (done of
//! total, what is running, the message that fits) and the line of a finished step, so that
//! both can be checked without a terminal. [`crate::progress_bar`] draws them.

/// The columns the bar's line fits in: a terminal's usual width, less one so that the
/// line never wraps. indicatif cuts the message again on a narrower terminal
/// (`{wide_msg}`); this keeps a fleet of hundreds from listing every name, with "+N more"
/// instead of a name cut in two.
pub(crate) const LINE_WIDTH: usize = 79;

/// The bar's own width, in characters between the brackets.
pub(crate) const BAR_WIDTH: usize = 16;

/// One finished step as a line: `  verify     cgr-public           passed`. The plain lines
/// (stderr not a terminal) and the failures printed above the bar share it.
pub(crate) fn step_line(what: &str, subject: &str, result: &str) -> String {
    format!("  {what:<10} {subject:<20} {result}")
}

/// Whether a step's result is one a person should see even while the bar runs: the flows
/// say `failed` (with `: why` after apply's) or `skipped` (an aggregate over a failed
/// member).
pub(crate) fn is_failure(result: &str) -> bool {
    ["failed", "skipped"].iter().any(|word| {
        result
            .strip_prefix(word)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
    })
}

/// What the bar shows: the flow, done of total, and the work started and not finished
/// (in the order it started).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BarState {
    flow: String,
    total: usize,
    done: usize,
    /// `(what, subject)`: one entry per subject, its latest `what`.
    running: Vec<(String, String)>,
}

impl BarState {
    /// A new flow: counts start over.
    pub(crate) fn begin(&mut self, flow: &str, total: usize) {
        *self = BarState {
            flow: flow.to_owned(),
            total,
            ..BarState::default()
        };
    }

    /// `subject` is running `what`; a subject already running moves on to `what` (apply's
    /// cache after its pull token) and keeps its place.
    pub(crate) fn started(&mut self, what: &str, subject: &str) {
        match self.running.iter_mut().find(|(_, s)| s == subject) {
            Some(entry) => what.clone_into(&mut entry.0),
            None => self.running.push((what.to_owned(), subject.to_owned())),
        }
    }

    /// `subject` is done, whatever its result. A flow that reports more than it announced
    /// raises the total rather than showing 14/13.
    pub(crate) fn finished(&mut self, subject: &str) {
        self.running.retain(|(_, s)| s != subject);
        self.done += 1;
        self.total = self.total.max(self.done);
    }

    /// How many of the flow's caches are done.
    pub(crate) fn done(&self) -> usize {
        self.done
    }

    /// How many caches the flow covers.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Whether every announced cache is done.
    pub(crate) fn complete(&self) -> bool {
        self.done >= self.total
    }

    /// The characters left for [`message`](Self::message) on a line of [`LINE_WIDTH`]
    /// after the flow, the bar, `done/total` and the elapsed time (never fewer than "N
    /// running" needs).
    pub(crate) fn message_width(&self) -> usize {
        let digits = self.total.to_string().len();
        // "flow [bar] done/total HH:MM:SS "
        let fixed = self.flow.len() + 1 + (BAR_WIDTH + 2) + 1 + (2 * digits + 1) + 1 + 8 + 1;
        LINE_WIDTH
            .saturating_sub(fixed)
            .max(digits + " running".len())
    }

    /// What is running, in at most `width` characters: the subjects in the order they
    /// started, grouped by what they run when that is not the flow's own name
    /// (`pull token: cgr-private; cache: cgr-public`), each that fits (a long name is
    /// passed over for shorter ones after it), then `+N more`.
    pub(crate) fn message(&self, width: usize) -> String {
        let fits = |text: &str| text.chars().count() <= width;
        let mut shown: Vec<usize> = Vec::new();
        for index in 0..self.running.len() {
            shown.push(index);
            if !fits(&self.render(&shown)) {
                shown.pop();
            }
        }
        let text = self.render(&shown);
        if fits(&text) {
            return text;
        }
        // Not even "N running" fits: cut it.
        text.chars().take(width).collect()
    }

    /// The running entries at `shown` (indexes, in order), and how many more there are.
    fn render(&self, shown: &[usize]) -> String {
        let hidden = self.running.len() - shown.len();
        if shown.is_empty() {
            return if hidden == 0 {
                String::new()
            } else {
                format!("{hidden} running")
            };
        }
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (what, subject) in shown.iter().map(|&i| &self.running[i]) {
            match groups.iter_mut().find(|(w, _)| w == what) {
                Some((_, subjects)) => subjects.push(subject),
                None => groups.push((what, vec![subject])),
            }
        }
        let mut text = groups
            .iter()
            .map(|(what, subjects)| {
                let names = subjects.join(", ");
                if *what == self.flow {
                    names
                } else {
                    format!("{what}: {names}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        if hidden > 0 {
            text.push_str(&format!(" +{hidden} more"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(flow: &str, total: usize, running: &[(&str, &str)]) -> BarState {
        let mut state = BarState::default();
        state.begin(flow, total);
        for (what, subject) in running {
            state.started(what, subject);
        }
        state
    }

    #[test]
    fn the_state_counts_what_finished_and_keeps_what_runs_in_start_order() {
        let mut state = state("verify", 3, &[("verify", "b"), ("verify", "a")]);
        assert_eq!(state.message(80), "b, a");
        state.finished("b");
        assert_eq!(
            (state.done(), state.total(), state.complete()),
            (1, 3, false)
        );
        assert_eq!(state.message(80), "a");
        state.started("verify", "c");
        state.finished("a");
        state.finished("c");
        assert_eq!(
            (state.done(), state.total(), state.complete()),
            (3, 3, true)
        );
        assert_eq!(state.message(80), "");
        // One more than announced: the total follows instead of showing 4/3.
        state.finished("d");
        assert_eq!((state.done(), state.total()), (4, 4));
        // A new flow starts over.
        state.begin("rotate", 2);
        assert_eq!(state, self::state("rotate", 2, &[]));
    }

    #[test]
    fn a_subject_that_moves_on_keeps_its_place_under_its_new_work() {
        let mut state = state(
            "apply",
            3,
            &[("pull token", "cgr-private"), ("pull token", "cg-private")],
        );
        assert_eq!(state.message(80), "pull token: cgr-private, cg-private");
        state.started("cache", "cgr-public");
        state.started("cache", "cgr-private");
        assert_eq!(
            state.message(80),
            "cache: cgr-private, cgr-public; pull token: cg-private"
        );
        assert_eq!(state.running.len(), 3, "one entry per subject");
    }

    #[test]
    fn the_message_shows_as_many_names_as_fit_then_how_many_more() {
        let state = state(
            "destroy",
            9,
            &[
                ("delete", "cgr-public"),
                ("delete", "cgr-private"),
                ("delete", "chainguard-pull-through"),
            ],
        );
        let all = "delete: cgr-public, cgr-private, chainguard-pull-through";
        assert_eq!(state.message(all.len()), all);
        assert_eq!(
            state.message(all.len() - 1),
            "delete: cgr-public, cgr-private +1 more"
        );
        assert_eq!(state.message(30), "delete: cgr-public +2 more");
        assert_eq!(state.message(20), "3 running");
        // A name too long to fit is passed over for one that fits.
        let long_first = self::state(
            "destroy",
            9,
            &[
                ("delete", "chainguard-pull-through"),
                ("delete", "cgr-public"),
            ],
        );
        assert_eq!(long_first.message(30), "delete: cgr-public +1 more");
        assert_eq!(state.message(4), "3 ru");
        for width in 0..80 {
            assert!(state.message(width).chars().count() <= width, "{width}");
        }
    }

    #[test]
    fn the_message_gets_what_the_line_leaves() {
        // "verify [16] 13/13 HH:MM:SS " takes 6 + 1 + 18 + 1 + 5 + 1 + 8 + 1 = 41 of 79.
        assert_eq!(state("verify", 13, &[]).message_width(), 38);
        // "destroy [16] 196/196 HH:MM:SS ": 7 + 1 + 18 + 1 + 7 + 1 + 8 + 1 = 44.
        assert_eq!(state("destroy", 196, &[]).message_width(), 79 - 44);
        // However long the flow's name, "N running" still fits.
        assert_eq!(state(&"x".repeat(80), 196, &[]).message_width(), 11);
    }

    #[test]
    fn only_failed_and_skipped_results_are_failures() {
        for result in [
            "failed",
            "failed: 403 Forbidden",
            "skipped: member cg-private failed",
        ] {
            assert!(is_failure(result), "{result}");
        }
        for result in [
            "passed",
            "created",
            "rotated",
            "deleted",
            "failedover",
            "org/abc",
        ] {
            assert!(!is_failure(result), "{result}");
        }
        assert_eq!(
            step_line("verify", "cgr-public", "passed"),
            "  verify     cgr-public           passed"
        );
    }
}
