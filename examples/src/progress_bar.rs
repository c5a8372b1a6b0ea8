//! The fleet progress bar: what `apply`, `verify`, `rotate` and `destroy` show on a
//! terminal, drawn by indicatif from a [`BarState`], and the log's writer, which writes
//! above the bar while one is drawn.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, WeakProgressBar};

use crate::bar_state::{BAR_WIDTH, BarState, is_failure, step_line};

/// How often the elapsed time is redrawn while nothing finishes.
const TICK: Duration = Duration::from_millis(200);

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
    use crate::bar_state::LINE_WIDTH;

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
