//! Operations: metrics, health/readiness state, and the HTTP server exposing them.

pub mod metrics;
pub mod server;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

pub use metrics::Metrics;

/// Liveness and readiness as the sync loop reports them.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    head: AtomicU64,
    checkpoint: AtomicI64,
    progressed: AtomicBool,
}

impl Health {
    /// Ready means caught up with the head at least once since the last long backfill.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether `/ready` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Latest head seen.
    pub fn set_head(&self, head: u64) {
        self.head.store(head, Ordering::Relaxed);
    }

    /// Latest committed block.
    pub fn set_checkpoint(&self, block: i64) {
        self.checkpoint.store(block, Ordering::Relaxed);
        self.progressed.store(true, Ordering::Relaxed);
    }

    /// (head, checkpoint).
    pub fn positions(&self) -> (u64, i64) {
        (
            self.head.load(Ordering::Relaxed),
            self.checkpoint.load(Ordering::Relaxed),
        )
    }

    /// Whether the checkpoint moved since the previous call.
    pub fn progressed_since_last_check(&self) -> bool {
        self.progressed.swap(false, Ordering::Relaxed)
    }
}
