//! The fleet progress bar: what `apply`, `verify`, `rotate` and `destroy` show on a
//! terminal. [`BarState`] holds what is drawn (done of total, what is running) apart from
//! indicatif, so it can be checked without a terminal; [`Bar`] draws it.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, WeakProgressBar};

/// The columns the bar's line fits in: a terminal's usual width, less one so that the
/// line never wraps. indicatif cuts the message again on a narrower terminal
/// (`{wide_msg}`); this keeps a fleet of hundreds from listing every name, with "+N more"
/// instead of a name cut in two.
const LINE_WIDTH: usize = 79;

/// The bar's own width, in characters between the brackets.
const BAR_WIDTH: usize = 16;

/// How often the elapsed time is redrawn while nothing finishes.
const TICK: Duration = Duration::from_millis(200);

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
    /// (`pull token: cgr-private; cache: cgr-public`), as many as fit, then `+N more`.
    pub(crate) fn message(&self, width: usize) -> String {
        let count = self.running.len();
        for shown in (0..=count).rev() {
            let text = self.render(shown);
            if text.chars().count() <= width {
                return text;
            }
        }
        // Not even "N running" fits: cut it.
        self.render(0).chars().take(width).collect()
    }

    /// The first `shown` running entries, and how many more there are.
    fn render(&self, shown: usize) -> String {
        let hidden = self.running.len() - shown;
        if shown == 0 {
            return if hidden == 0 {
                String::new()
            } else {
                format!("{hidden} running")
            };
        }
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (what, subject) in &self.running[..shown] {
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

/// The bar on stderr, while one is drawn, so that a log line is written above it rather
/// than into it.
static ON_STDERR: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

fn on_stderr(bar: Option<&ProgressBar>) {
    *ON_STDERR.lock().unwrap_or_else(|p| p.into_inner()) = bar.map(ProgressBar::downgrade);
}

/// Writes `bytes` to `out` with `bar` (if any) cleared first and drawn again after, so the
/// line stands above the bar.
fn write_above(
    bar: Option<&ProgressBar>,
    bytes: &[u8],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match bar {
        Some(bar) => bar.suspend(|| out.write_all(bytes)),
        None => out.write_all(bytes),
    }
}

/// The log's writer (`tracing_subscriber`'s `with_writer`): stderr, above the bar while one
/// is drawn. A warning in the middle of a flow would otherwise land inside the bar's line
/// and be drawn over.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let bar = ON_STDERR
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(WeakProgressBar::upgrade);
        write_above(bar.as_ref(), bytes, &mut std::io::stderr().lock())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// A [`BarState`] and the indicatif bar that draws it.
struct Shown {
    state: BarState,
    bar: Option<ProgressBar>,
}

/// The progress bar of a flow over a fleet, for stderr on a terminal: done / total,
/// elapsed time and what is running; failed steps are printed above it. Each
/// [`begin`](pull_through_fleet::Progress::begin) starts a new bar, and the bar is cleared
/// once every cache is done (or when this is dropped), so the report that follows stands
/// alone.
pub(crate) struct Bar {
    shown: Mutex<Shown>,
    target: Box<dyn Fn() -> ProgressDrawTarget + Send + Sync>,
    tick: Option<Duration>,
    /// Whether this bar is the one on stderr, which the log writes above.
    stderr: bool,
}

impl Bar {
    /// A bar on stderr, redrawn while nothing finishes so the elapsed time moves.
    pub(crate) fn stderr() -> Bar {
        let mut bar = Bar::with_target(ProgressDrawTarget::stderr, Some(TICK));
        bar.stderr = true;
        bar
    }

    /// A bar drawn where `target` says, ticking every `tick` (none: drawn on changes only).
    pub(crate) fn with_target(
        target: impl Fn() -> ProgressDrawTarget + Send + Sync + 'static,
        tick: Option<Duration>,
    ) -> Bar {
        Bar {
            shown: Mutex::new(Shown {
                state: BarState::default(),
                bar: None,
            }),
            target: Box::new(target),
            tick,
            stderr: false,
        }
    }

    /// Clears and forgets the bar being drawn, if any.
    fn clear(&self, shown: &mut Shown) {
        if let Some(bar) = shown.bar.take() {
            if self.stderr {
                on_stderr(None);
            }
            bar.finish_and_clear();
        }
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, Shown> {
        // A panic elsewhere while drawing leaves a state that is still fine to draw.
        self.shown
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the bar shows now (a copy), for tests and for whoever asks.
    #[cfg(test)]
    pub(crate) fn state(&self) -> BarState {
        self.shown().state.clone()
    }
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        &format!("{{prefix:.bold}} [{{bar:{BAR_WIDTH}.cyan/blue}}] {{pos}}/{{len}} {{elapsed_precise}} {{wide_msg}}"),
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

impl pull_through_fleet::Progress for Bar {
    fn begin(&self, flow: &str, total: usize) {
        let mut shown = self.shown();
        shown.state.begin(flow, total);
        self.clear(&mut shown);
        if total == 0 {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), (self.target)());
        bar.set_style(style());
        bar.set_prefix(flow.to_owned());
        bar.tick();
        if let Some(tick) = self.tick {
            bar.enable_steady_tick(tick);
        }
        if self.stderr {
            on_stderr(Some(&bar));
        }
        shown.bar = Some(bar);
    }

    fn started(&self, what: &str, subject: &str) {
        let mut shown = self.shown();
        shown.state.started(what, subject);
        if let Some(bar) = &shown.bar {
            bar.set_message(shown.state.message(shown.state.message_width()));
        }
    }

    fn step(&self, what: &str, subject: &str, result: &str) {
        if !is_failure(result) {
            return;
        }
        let line = step_line(what, subject, result);
        match &self.shown().bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finished(&self, subject: &str) {
        let mut shown = self.shown();
        shown.state.finished(subject);
        if shown.state.complete() {
            self.clear(&mut shown);
            return;
        }
        let Some(bar) = &shown.bar else {
            return;
        };
        bar.set_length(shown.state.total() as u64);
        bar.set_position(shown.state.done() as u64);
        bar.set_message(shown.state.message(shown.state.message_width()));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        let mut shown = self.shown();
        self.clear(&mut shown);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use indicatif::TermLike;
    use pull_through_fleet::Progress;

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

    /// A terminal that keeps every line written, as text, without the padding.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl Screen {
        fn lines(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(line.to_owned());
            Ok(())
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            // indicatif pads over what a longer line left; only text counts here.
            if !text.trim().is_empty() {
                self.0.lock().unwrap().push(text.to_owned());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_draws_done_of_total_what_runs_and_failures_above_it() {
        let screen = Screen::default();
        let target = screen.clone();
        let bar = Bar::with_target(
            move || ProgressDrawTarget::term_like(Box::new(target.clone())),
            None,
        );
        bar.begin("verify", 3);
        bar.started("verify", "cgr-public");
        bar.started("verify", "cg-private");
        bar.step("verify", "cgr-public", "passed");
        bar.finished("cgr-public");
        bar.started("verify", "cgr-virt");
        // A failure is printed above the bar, which is drawn again under it as it is now.
        bar.step("verify", "cg-private", "failed");
        let lines = screen.lines();
        let failure = lines
            .iter()
            .position(|l| l == "  verify     cg-private           failed")
            .unwrap_or_else(|| panic!("{lines:#?}"));
        let drawn = &lines[failure + 1];
        assert!(drawn.contains("verify"), "{drawn}");
        // Done of total, then the elapsed time as HH:MM:SS.
        let (_, after) = drawn
            .split_once(" 1/3 ")
            .unwrap_or_else(|| panic!("{drawn}"));
        let elapsed: Vec<&str> = after[..8].split(':').collect();
        assert!(
            elapsed.len() == 3
                && elapsed
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit())),
            "{drawn}"
        );
        assert!(
            drawn.trim_end().ends_with(" cg-private, cgr-virt"),
            "{drawn}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("cgr-public           passed")),
            "what passed is not printed: {lines:#?}"
        );
        assert_eq!(bar.state().message(80), "cg-private, cgr-virt");
        assert!(
            lines
                .iter()
                .all(|l| l.trim_end().chars().count() <= LINE_WIDTH)
        );

        // The last cache done clears the bar; the next flow draws a new one.
        bar.finished("cg-private");
        bar.finished("cgr-virt");
        assert!(bar.shown().bar.is_none());
        bar.begin("rotate", 1);
        bar.started("rotate", "cgr-private");
        bar.step("rotate", "cgr-private", "failed");
        let lines = screen.lines();
        assert!(
            lines
                .last()
                .is_some_and(|l| l.contains(" 0/1 ") && l.contains("cgr-private")),
            "{lines:#?}"
        );
        drop(bar);
    }

    #[test]
    fn a_fleet_draws_one_line_that_fits_with_how_many_more_run() {
        let screen = Screen::default();
        let target = screen.clone();
        let bar = Bar::with_target(
            move || ProgressDrawTarget::term_like(Box::new(target.clone())),
            None,
        );
        bar.begin("destroy", 196);
        for n in 0..16 {
            bar.started("delete", &format!("team-{n:02}"));
        }
        bar.finished("team-00");
        let lines = screen.lines();
        let last = lines.last().unwrap().trim_end();
        assert!(last.chars().count() <= LINE_WIDTH, "{last}");
        assert!(
            last.contains(" 1/196 ") && last.ends_with(" delete: team-01, team-02 +13 more"),
            "{last}"
        );
    }

    #[test]
    fn a_log_line_is_written_above_the_bar_which_is_drawn_again_under_it() {
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(3),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.set_style(style());
        bar.set_prefix("destroy");
        bar.tick();
        let before = screen.lines().len();
        let mut out = Vec::new();
        write_above(Some(&bar), b"WARN kept repository chainguard\n", &mut out).unwrap();
        assert_eq!(out, b"WARN kept repository chainguard\n");
        let lines = screen.lines();
        assert!(lines.len() > before, "{lines:#?}");
        assert!(
            lines.last().is_some_and(|l| l.starts_with("destroy [")),
            "drawn again after the line: {lines:#?}"
        );
        let mut out = Vec::new();
        write_above(None, b"WARN\n", &mut out).unwrap();
        assert_eq!(out, b"WARN\n");
    }

    #[test]
    fn a_flow_over_no_cache_draws_nothing() {
        let screen = Screen::default();
        let target = screen.clone();
        let bar = Bar::with_target(
            move || ProgressDrawTarget::term_like(Box::new(target.clone())),
            None,
        );
        bar.begin("rotate", 0);
        assert!(bar.shown().bar.is_none());
        assert!(screen.lines().is_empty());
        // A hidden target (what indicatif does off a terminal) takes the same calls.
        let hidden = Bar::with_target(ProgressDrawTarget::hidden, None);
        hidden.begin("verify", 1);
        hidden.started("verify", "cgr-public");
        hidden.step("verify", "cgr-public", "failed");
        hidden.finished("cgr-public");
        assert_eq!(hidden.state().done(), 1);
    }
}
