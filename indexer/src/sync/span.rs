//! Adaptive `eth_getLogs` span: halves when the node refuses a range, steers towards a target
//! number of logs per range, grows back after successes.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::RangeLimits;

/// Shared by the concurrent fetchers; the planner reads it for each new range.
#[derive(Debug)]
pub struct SpanController {
    limits: RangeLimits,
    current: AtomicU64,
}

impl SpanController {
    /// Starts at `limits.initial_blocks`.
    pub fn new(limits: RangeLimits) -> Self {
        Self {
            current: AtomicU64::new(limits.initial_blocks),
            limits,
        }
    }

    /// The span the next range should use.
    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }

    /// The node refused `span` blocks: the next ranges use at most half of it. Returns the span to
    /// split the refused range into.
    pub fn too_large(&self, span: u64) -> u64 {
        let half = (span / 2).max(self.limits.min_blocks).max(1);
        self.current.fetch_min(half, Ordering::Relaxed);
        half
    }

    /// The response for `span` blocks was `bytes` long, over `budget`: the span that should fit,
    /// in proportion (at least `min_blocks`); later ranges use at most that. Returns it.
    pub fn too_large_by(&self, span: u64, bytes: u64, budget: u64) -> u64 {
        let scaled = (span as u128 * budget.max(1) as u128 / bytes.max(1) as u128) as u64;
        let next = scaled.min(span / 2).max(self.limits.min_blocks).max(1);
        self.current.fetch_min(next, Ordering::Relaxed);
        next
    }

    /// `span` blocks returned `logs` logs: aim the next span at the target log count, never more
    /// than doubling at once and within the limits.
    pub fn succeeded(&self, span: u64, logs: u64) {
        let target = self.limits.target_logs;
        let proposed = if logs == 0 {
            span.saturating_mul(2)
        } else {
            // Logs per block times target; u128 avoids overflow for huge spans.
            ((span as u128 * target as u128) / logs as u128) as u64
        };
        let next = proposed
            .min(span.saturating_mul(2))
            .clamp(self.limits.min_blocks, self.limits.max_blocks);
        // Concurrent fetchers report out of order; the latest report wins, which is good enough
        // for a heuristic that converges within a few ranges.
        self.current.store(next, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RangeLimits {
        RangeLimits {
            initial_blocks: 1000,
            min_blocks: 10,
            max_blocks: 10_000,
            target_logs: 5_000,
        }
    }

    #[test]
    fn shrinks_on_refusal_down_to_the_minimum() {
        let s = SpanController::new(limits());
        assert_eq!(s.too_large(1000), 500);
        assert_eq!(s.current(), 500);
        assert_eq!(s.too_large(15), 10);
        assert_eq!(s.too_large(10), 10);
        assert_eq!(s.current(), 10);
    }

    #[test]
    fn oversized_responses_shrink_in_proportion() {
        let s = SpanController::new(limits());
        // 1000 blocks gave 80 MB against an 8 MB budget: 100 blocks.
        assert_eq!(s.too_large_by(1000, 80_000_000, 8_000_000), 100);
        assert_eq!(s.current(), 100);
        // Barely over: still at least halves.
        assert_eq!(s.too_large_by(100, 9, 8), 50);
        // Never below the minimum.
        assert_eq!(s.too_large_by(50, u64::MAX, 1), 10);
    }

    #[test]
    fn grows_back_at_most_doubling_and_within_max() {
        let s = SpanController::new(limits());
        s.too_large(1000);
        s.succeeded(500, 0);
        assert_eq!(s.current(), 1000);
        s.succeeded(8000, 10);
        assert_eq!(s.current(), 10_000);
    }

    #[test]
    fn steers_towards_the_target_log_count() {
        let s = SpanController::new(limits());
        // 1000 blocks gave 20_000 logs: 4x the target, so a quarter of the span.
        s.succeeded(1000, 20_000);
        assert_eq!(s.current(), 250);
        // 250 blocks gave 2_500 logs: half the target, so double.
        s.succeeded(250, 2_500);
        assert_eq!(s.current(), 500);
        // Dense blocks never push it below the minimum.
        s.succeeded(10, 1_000_000);
        assert_eq!(s.current(), 10);
    }
}
