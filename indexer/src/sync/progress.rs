//! Backfill progress: an indicatif bar on a terminal (blocks/s, events/s, ETA), periodic log lines
//! otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::ProgressMode;

/// Progress of one backfill pass.
pub struct Progress {
    bar: Option<ProgressBar>,
    log_lines: bool,
    first: u64,
    target: u64,
    started: Instant,
    last_line: Instant,
    events: u64,
}

impl Progress {
    /// Starts tracking blocks `first..=target`.
    pub fn start(mode: ProgressMode, first: u64, target: u64) -> Self {
        let total = target.saturating_sub(first) + 1;
        let bar = (mode == ProgressMode::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} blocks {per_sec} {msg} ETA {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Self {
            log_lines: mode != ProgressMode::Off && bar.is_none(),
            bar,
            first,
            target,
            started: Instant::now(),
            last_line: Instant::now(),
            events: 0,
        }
    }

    /// A range up to `to` with `events` rows was committed.
    pub fn committed(&mut self, to: u64, events: u64) {
        self.events += events;
        let done = to.saturating_sub(self.first) + 1;
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let events_per_sec = self.events as f64 / elapsed;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{} events ({events_per_sec:.0}/s)", self.events));
        } else if self.log_lines && self.last_line.elapsed() >= Duration::from_secs(5) {
            self.last_line = Instant::now();
            let total = self.target.saturating_sub(self.first) + 1;
            let blocks_per_sec = done as f64 / elapsed;
            let eta = (total.saturating_sub(done)) as f64 / blocks_per_sec.max(1e-9);
            tracing::info!(
                block = to,
                target = self.target,
                percent = format!("{:.1}", 100.0 * done as f64 / total as f64),
                blocks_per_sec = format!("{blocks_per_sec:.0}"),
                events = self.events,
                events_per_sec = format!("{events_per_sec:.0}"),
                eta_secs = format!("{eta:.0}"),
                "backfill progress"
            );
        }
    }

    /// Ends the pass and logs its totals.
    pub fn finish(self, to: u64) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        if self.events > 0 || to >= self.first + 100 {
            tracing::info!(
                from = self.first,
                to,
                events = self.events,
                secs = format!("{elapsed:.2}"),
                events_per_sec = format!("{:.0}", self.events as f64 / elapsed.max(1e-3)),
                "indexed range"
            );
        }
    }
}
