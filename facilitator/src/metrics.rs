//! Prometheus metrics, served as text at `GET /metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// The service's metrics (cheap to clone: every field is a shared handle).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Verifications by result (`valid` or the invalidReason code).
    pub verify_total: IntCounterVec,
    /// Verification latency.
    pub verify_seconds: Histogram,
    /// Settlements by kind (`charge`, `batch`, `authorize`, `capture`, `void`) and result.
    pub settle_total: IntCounterVec,
    /// Settlement latency by kind.
    pub settle_seconds: HistogramVec,
    /// Settle requests answered from the idempotency store.
    pub settle_replayed: IntCounter,
    /// Items per `chargeBatch`.
    pub batch_items: Histogram,
    /// Transactions sent (first sends).
    pub tx_sent: IntCounter,
    /// Fee bumps (re-sends).
    pub tx_bumped: IntCounter,
    /// Nonce reads from the chain (start and after rejections).
    pub nonce_resync: IntCounter,
    /// Settlements waiting for a batch.
    pub batch_queue: IntGauge,
    /// Requests refused before any work (401, 413, 429), by status.
    pub refused_requests: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("x402_facilitator".into()), None).expect("valid prefix");
        let latency = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let verify_total = IntCounterVec::new(
            Opts::new("verify_total", "Verifications by result"),
            &["result"],
        )
        .unwrap();
        let verify_seconds = Histogram::with_opts(
            HistogramOpts::new("verify_seconds", "Verification latency").buckets(latency.clone()),
        )
        .unwrap();
        let settle_total = IntCounterVec::new(
            Opts::new("settle_total", "Settlements by kind and result"),
            &["kind", "result"],
        )
        .unwrap();
        let settle_seconds = HistogramVec::new(
            HistogramOpts::new("settle_seconds", "Settlement latency").buckets(latency),
            &["kind"],
        )
        .unwrap();
        let settle_replayed = IntCounter::new(
            "settle_replayed_total",
            "Settle requests answered from the store",
        )
        .unwrap();
        let batch_items = Histogram::with_opts(
            HistogramOpts::new("batch_items", "Items per chargeBatch")
                .buckets(vec![1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0]),
        )
        .unwrap();
        let tx_sent = IntCounter::new("tx_sent_total", "Transactions sent").unwrap();
        let tx_bumped = IntCounter::new("tx_bumped_total", "Fee-bumped re-sends").unwrap();
        let nonce_resync =
            IntCounter::new("nonce_resync_total", "Nonce reads from the chain").unwrap();
        let batch_queue = IntGauge::new("batch_queue", "Settlements waiting for a batch").unwrap();
        let refused_requests = IntCounterVec::new(
            Opts::new(
                "refused_requests_total",
                "Requests refused by key, rate or size",
            ),
            &["status"],
        )
        .unwrap();
        for c in [
            Box::new(verify_total.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(verify_seconds.clone()),
            Box::new(settle_total.clone()),
            Box::new(settle_seconds.clone()),
            Box::new(settle_replayed.clone()),
            Box::new(batch_items.clone()),
            Box::new(tx_sent.clone()),
            Box::new(tx_bumped.clone()),
            Box::new(nonce_resync.clone()),
            Box::new(batch_queue.clone()),
            Box::new(refused_requests.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Self {
            registry,
            verify_total,
            verify_seconds,
            settle_total,
            settle_seconds,
            settle_replayed,
            batch_items,
            tx_sent,
            refused_requests,
            tx_bumped,
            nonce_resync,
            batch_queue,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_metrics() {
        let m = Metrics::new();
        m.verify_total
            .with_label_values(&["insufficient_funds"])
            .inc();
        m.tx_sent.inc();
        let text = m.render();
        assert!(
            text.contains(r#"x402_facilitator_verify_total{result="insufficient_funds"} 1"#),
            "{text}"
        );
        assert!(text.contains("x402_facilitator_tx_sent_total 1"));
    }
}
