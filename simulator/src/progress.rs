//! Progress display: a bar on a terminal, a line per simulated week otherwise, or nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, lines otherwise.
    Auto,
    /// Lines on stderr.
    Lines,
    /// Nothing.
    Off,
}

/// The display of one run.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    days: AtomicU64,
    payments: AtomicU64,
}

impl Progress {
    /// A display in `mode`.
    pub fn new(mode: Mode) -> Self {
        let tty = std::io::stderr().is_terminal();
        let (bar, lines) = match mode {
            Mode::Auto if tty => (Some(ProgressBar::new_spinner()), false),
            Mode::Auto | Mode::Lines => (None, true),
            Mode::Off => (None, false),
        };
        Self {
            bar,
            lines,
            days: AtomicU64::new(0),
            payments: AtomicU64::new(0),
        }
    }

    /// A stage before the days start.
    pub fn stage(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None if self.lines => eprintln!("x402-sim: {what}"),
            None => {}
        }
    }

    /// The simulated days begin.
    pub fn start_days(&self, days: u64, payments: u64) {
        self.days.store(days, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(payments);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:32} [{bar:30}] {pos}/{len} payments, {elapsed}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b.set_message(format!("simulating day 1/{days}"));
        } else if self.lines {
            eprintln!("x402-sim: simulating {days} days, {payments} planned payments");
        }
    }

    /// One payment done.
    pub fn payment(&self) {
        self.payments.fetch_add(1, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// A simulated day finished.
    pub fn day_done(&self, day: u64, settled: u64, batches: u64) {
        let days = self.days.load(Ordering::Relaxed);
        match &self.bar {
            Some(b) => b.set_message(format!(
                "day {}/{days}, {batches} batches",
                (day + 1).min(days)
            )),
            None if self.lines && (day % 7 == 0 || day == days) => {
                eprintln!("x402-sim: week {} done (day {day}/{days}): {settled} payments settled, {batches} batches", day.div_ceil(7))
            }
            None => {}
        }
    }

    /// Something to say without breaking the bar.
    pub fn warn(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("warning: {msg}")),
            None => eprintln!("x402-sim: warning: {msg}"),
        }
    }

    /// The run is over.
    pub fn finish(&self, summary: &str) {
        match &self.bar {
            Some(b) => b.finish_with_message(summary.to_string()),
            None if self.lines => eprintln!("x402-sim: {summary}"),
            None => {}
        }
    }
}
