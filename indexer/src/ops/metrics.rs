//! Prometheus metrics of one indexer, kept in its own registry (no global state, so tests can run
//! several indexers in one process).

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// All metrics the indexer exports on `/metrics`.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Latest block number the RPC endpoint reported.
    pub head_block: IntGauge,
    /// Latest block committed to the database.
    pub indexed_block: IntGauge,
    /// head_block - indexed_block.
    pub head_lag: IntGauge,
    /// Event rows written, by table.
    pub events: IntCounterVec,
    /// Logs recorded in skipped_logs.
    pub skipped_logs: IntCounter,
    /// Reorgs handled (live or found at start-up).
    pub reorgs: IntCounter,
    /// Depth of the latest reorg, in blocks.
    pub last_reorg_depth: IntGauge,
    /// RPC requests sent, by method.
    pub rpc_requests: IntCounterVec,
    /// RPC failures, by kind (range_too_large, http, rpc, timeout, malformed, invalid).
    pub rpc_errors: IntCounterVec,
    /// RPC retries after a failure.
    pub rpc_retries: IntCounter,
    /// Current eth_getLogs span in blocks.
    pub range_span: IntGauge,
    /// Ranges committed to the database.
    pub commits: IntCounter,
    /// Database failures (each followed by a reconnect and a resume from the checkpoint).
    pub db_errors: IntCounter,
    /// Time to commit one range.
    pub commit_seconds: Histogram,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("x402_indexer".into()), None).expect("valid prefix");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let counter_vec = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let commit_seconds = Histogram::with_opts(
            HistogramOpts::new("commit_seconds", "Seconds to commit one range").buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(commit_seconds.clone()))
            .expect("unique metric");
        Self {
            head_block: gauge(
                "head_block",
                "Latest block number reported by the RPC endpoint",
            ),
            indexed_block: gauge("indexed_block", "Latest block committed to the database"),
            head_lag: gauge(
                "head_lag_blocks",
                "Blocks between the chain head and the checkpoint",
            ),
            events: counter_vec("events_total", "Event rows written, by table", "table"),
            skipped_logs: counter("skipped_logs_total", "Logs recorded as skipped"),
            reorgs: counter("reorgs_total", "Reorgs rolled back"),
            last_reorg_depth: gauge("last_reorg_depth_blocks", "Depth of the latest reorg"),
            rpc_requests: counter_vec(
                "rpc_requests_total",
                "RPC requests sent, by method",
                "method",
            ),
            rpc_errors: counter_vec("rpc_errors_total", "RPC failures, by kind", "kind"),
            rpc_retries: counter("rpc_retries_total", "RPC retries after a failure"),
            range_span: gauge("range_span_blocks", "Current eth_getLogs span"),
            commits: counter("commits_total", "Ranges committed"),
            db_errors: counter("db_errors_total", "Database failures"),
            commit_seconds,
            registry,
        }
    }

    /// Sets the head and recomputes the lag.
    pub fn set_head(&self, head: u64) {
        self.head_block.set(head as i64);
        self.head_lag
            .set((head as i64 - self.indexed_block.get()).max(0));
    }

    /// Sets the indexed block and recomputes the lag.
    pub fn set_indexed(&self, block: i64) {
        self.indexed_block.set(block);
        self.head_lag.set((self.head_block.get() - block).max(0));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# error: {e}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
