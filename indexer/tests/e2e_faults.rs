//! End to end through the real `x402-indexer` binary with a faulty JSON-RPC proxy between it and
//! anvil: rate limits, server errors, hangs, truncated bodies, duplicated logs and "range too
//! large" errors, and `eth_getLogs` answered by a node that lags the head (an empty answer, or one
//! cut at that node's head, status 200 and no error), during backfill and live following. The indexer must retry, never record a
//! failed range as empty, and end with the database equal to the chain. Each test also checks the
//! proxy really injected its faults, so none passes by accident.

use std::sync::atomic::Ordering;
use std::time::Duration;

use x402_testkit::proxy::{FaultStats, Faults, Lagging};
use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");
const SYNC: Duration = Duration::from_secs(150);

/// Backfill a populated chain, then follow new traffic, all under `faults`; returns the counters.
async fn run_under(
    seed: &str,
    faults: Faults,
    settings: IndexerSettings,
) -> anyhow::Result<std::sync::Arc<FaultStats>> {
    let opts = ScenarioOptions {
        proxy: true,
        indexer: settings,
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, seed, opts).await?;
    let proxy = s.proxy.as_ref().expect("asked for a proxy");
    s.traffic.round().await?;
    s.traffic.charge_batch(20, 1, true).await?;
    s.traffic.round().await?;
    proxy.set_faults(faults.clone());

    s.indexer
        .index_until_caught_up(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\nproxy: {}", proxy.stats().summary()))?;
    s.assert_synced(SYNC).await?;

    let mut indexer = s.indexer.spawn_index(&[])?;
    for _ in 0..2 {
        s.traffic.round().await?;
        s.assert_synced(SYNC)
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
    }
    assert!(
        indexer.try_status().is_none(),
        "the indexer gave up under faults:\n{}",
        indexer.log_tail(30)
    );
    let stats = proxy.stats();
    eprintln!("{seed}: {}", stats.summary());
    Ok(stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_retried() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-429-500",
        Faults {
            http_429_every: 3,
            http_500_every: 5,
            ..Faults::default()
        },
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.http_429.load(Ordering::Relaxed) >= 3,
        "{}",
        stats.summary()
    );
    assert!(
        stats.http_500.load(Ordering::Relaxed) >= 2,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_requests_time_out_and_are_retried() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-hang",
        Faults {
            hang_every: 7,
            hang_for: Duration::from_secs(4),
            ..Faults::default()
        },
        IndexerSettings {
            rpc_timeout_secs: 1,
            ..IndexerSettings::default()
        },
    )
    .await?;
    assert!(
        stats.hangs.load(Ordering::Relaxed) >= 2,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_bodies_are_retried_never_taken_as_empty() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-truncate",
        Faults {
            truncate_every: 2,
            methods: vec!["eth_getLogs".into()],
            ..Faults::default()
        },
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.truncated.load(Ordering::Relaxed) >= 3,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_header_batches_are_retried() -> anyhow::Result<()> {
    // Everything but eth_getLogs: block headers, head polling, chain id.
    let stats = run_under(
        "e2e-fault-truncate-headers",
        Faults {
            truncate_every: 3,
            methods: vec![
                "eth_getBlockByNumber".into(),
                "eth_blockNumber".into(),
                "eth_getBlockByHash".into(),
            ],
            ..Faults::default()
        },
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.truncated.load(Ordering::Relaxed) >= 2,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_logs_are_stored_once() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-duplicates",
        Faults {
            duplicate_logs_every: 1,
            methods: vec!["eth_getLogs".into()],
            ..Faults::default()
        },
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.duplicated.load(Ordering::Relaxed) >= 3,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_too_large_errors_shrink_the_span() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-range",
        Faults {
            max_log_range: Some(4),
            ..Faults::default()
        },
        IndexerSettings {
            initial_blocks: 1_000,
            ..IndexerSettings::default()
        },
    )
    .await?;
    assert!(
        stats.range_errors.load(Ordering::Relaxed) >= 1,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_at_once() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-chaos",
        Faults {
            http_429_every: 7,
            http_500_every: 11,
            hang_every: 13,
            hang_for: Duration::from_secs(3),
            truncate_every: 5,
            duplicate_logs_every: 3,
            max_log_range: Some(8),
            range_error_message: Some(
                "Log response size exceeded. Try a block range up to 8 blocks".into(),
            ),
            methods: Vec::new(),
            lagging_logs_every: 4,
            lag_blocks: 2,
            lagging: Lagging::Cut,
            null_receipts_every: 3,
        },
        IndexerSettings {
            rpc_timeout_secs: 1,
            initial_blocks: 50,
            ..IndexerSettings::default()
        },
    )
    .await?;
    assert!(stats.injected() >= 10, "{}", stats.summary());
    Ok(())
}

/// A load balancer that sends every other `eth_getLogs` to a node `lag` blocks behind the head.
fn lagging_node(lagging: Lagging) -> Faults {
    Faults {
        lagging_logs_every: 2,
        lag_blocks: 3,
        lagging,
        methods: vec!["eth_getLogs".into()],
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_answers_of_a_lagging_node_are_asked_again() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-lag-empty",
        lagging_node(Lagging::Empty),
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.lossy.load(Ordering::Relaxed) >= 3,
        "{}",
        stats.summary()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_cut_at_a_lagging_head_are_asked_again() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-lag-cut",
        lagging_node(Lagging::Cut),
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.lossy.load(Ordering::Relaxed) >= 3,
        "{}",
        stats.summary()
    );
    Ok(())
}

/// Every `eth_getLogs` answered by the lagging node, while following: the indexer may commit a
/// block only once that node can prove it (by hash), so never the newest blocks holding logs
/// (above its head), and never anything the chain contradicts; once the node is healthy again it
/// catches up to the exact chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_only_lags_gets_no_unproven_block_committed() -> anyhow::Result<()> {
    for lagging in [Lagging::Empty, Lagging::Cut] {
        let opts = ScenarioOptions {
            proxy: true,
            ..ScenarioOptions::default()
        };
        let mut s = Scenario::start(BIN, "e2e-fault-lag-live", opts).await?;
        let proxy = s.proxy.as_ref().expect("asked for a proxy");
        s.traffic.round().await?;
        let mut indexer = s.indexer.spawn_index(&[])?;
        let before = s.assert_synced(SYNC).await?.to_block;

        proxy.set_faults(Faults {
            lagging_logs_every: 1,
            lag_blocks: 4,
            lagging,
            methods: vec!["eth_getLogs".into()],
            ..Faults::default()
        });
        s.traffic.round().await?;
        s.traffic.charge_batch(5, 1, true).await?;
        let (head, _) = s.traffic.anvil().head().await?;
        // Wait (without a clock) until the indexer has been refused several times.
        while proxy.stats().lossy.load(Ordering::Relaxed) < 6 {
            assert!(
                indexer.try_status().is_none(),
                "the indexer stopped:\n{}",
                indexer.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Stopped, so the check reads a checkpoint and rows that belong together.
        indexer.kill9()?;
        let report = s.assert_consistent().await.map_err(|e| {
            anyhow::anyhow!(
                "{lagging:?}: the indexer committed what the lagging node said: {e}\n{}",
                indexer.log_tail(30)
            )
        })?;
        // The lagging node holds blocks up to head - 4 and can prove nothing above; each of the
        // last four blocks of the traffic holds watched logs, so none of them may be committed.
        assert!(
            report.to_block < head.saturating_sub(3),
            "{lagging:?}: checkpoint {} reached the blocks above the lagging head {} (before: {before})",
            report.to_block,
            head - 4
        );

        proxy.clear_faults();
        let mut indexer = s.indexer.spawn_index(&[])?;
        s.assert_synced(SYNC)
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
        assert!(
            indexer.try_status().is_none(),
            "the indexer stopped:\n{}",
            indexer.log_tail(30)
        );
    }
    Ok(())
}

/// Blocks with their transactions and receipts (native transfers, EIP-3009 senders): failures,
/// cut-off bodies and `null` receipts (a node that has not seen the transaction) are retried,
/// never taken as "no transfer".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_and_receipt_faults_are_retried() -> anyhow::Result<()> {
    let stats = run_under(
        "e2e-fault-receipts",
        Faults {
            methods: vec![
                "eth_getTransactionReceipt".into(),
                "eth_getBlockByNumber".into(),
            ],
            http_500_every: 5,
            truncate_every: 4,
            null_receipts_every: 3,
            ..Faults::default()
        },
        IndexerSettings::default(),
    )
    .await?;
    assert!(
        stats.null_receipts.load(Ordering::Relaxed) >= 2,
        "{}",
        stats.summary()
    );
    assert!(
        stats.truncated.load(Ordering::Relaxed) >= 2,
        "{}",
        stats.summary()
    );
    Ok(())
}
