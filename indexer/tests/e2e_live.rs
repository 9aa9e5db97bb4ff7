//! End to end through the real `x402-indexer` binary in live mode: following while traffic runs,
//! reorgs of depth 1 to 20 under a running indexer (`anvil_reorg`, `anvil_rollback`), a reorg
//! while the indexer is stopped, and a reorg deeper than the stored window. After each step the
//! database must equal `eth_getLogs` over the canonical chain.

use std::time::Duration;

use x402_testkit::anvil::AnvilOptions;
use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};
use x402_testkit::traffic::PaymentMode;

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");
const SYNC: Duration = Duration::from_secs(60);

/// Funding transactions must stay below any reorg the test makes: bury them.
async fn bury_funding(s: &Scenario) -> anyhow::Result<()> {
    s.traffic.anvil().mine(25).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_following_while_traffic_runs() -> anyhow::Result<()> {
    let mut s = Scenario::start(BIN, "e2e-live", ScenarioOptions::default()).await?;
    let mut indexer = s.indexer.spawn_index(&[])?;
    s.assert_synced(SYNC).await?;
    for round in 0..4 {
        s.traffic.round().await?;
        if round % 2 == 1 {
            // Compare while the indexer is still following, not only at the end.
            s.assert_synced(SYNC).await?;
        }
    }
    s.traffic.charge_batch(30, 1, true).await?;
    let report = s.assert_synced(SYNC).await?;
    assert!(report.truth.count("charges") >= 4 * 8 + 30);
    assert!(
        indexer.try_status().is_none(),
        "the indexer stopped:\n{}",
        indexer.log_tail(30)
    );
    let status = indexer.terminate(Duration::from_secs(20)).await?;
    assert!(
        status.success(),
        "SIGTERM did not stop the indexer cleanly ({status}):\n{}",
        indexer.log_tail(30)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_mining_with_reorgs_while_following() -> anyhow::Result<()> {
    // Blocks every 250 ms whether or not there is traffic, as on a real chain: the head moves
    // under the indexer all the time, and reorgs hit a chain that keeps growing.
    let opts = ScenarioOptions {
        anvil: AnvilOptions {
            block_time: Some(Duration::from_millis(250)),
            ..AnvilOptions::default()
        },
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, "e2e-interval", opts).await?;
    s.traffic.anvil().mine(25).await?;
    let mut indexer = s.indexer.spawn_index(&[])?;
    for depth in [2u64, 6] {
        s.traffic.charge_batch(8, 1, true).await?;
        s.traffic.charge(PaymentMode::Upto).await?;
        s.assert_synced(SYNC).await?;
        s.traffic.anvil().reorg(depth).await?;
        s.traffic.charge(PaymentMode::Exact).await?;
        s.assert_synced(SYNC)
            .await
            .map_err(|e| anyhow::anyhow!("after reorg {depth}: {e}\n{}", indexer.log_tail(30)))?;
    }
    assert!(
        indexer.try_status().is_none(),
        "the indexer stopped:\n{}",
        indexer.log_tail(30)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_of_depth_1_to_20_while_following() -> anyhow::Result<()> {
    let mut s = Scenario::start(BIN, "e2e-reorg", ScenarioOptions::default()).await?;
    bury_funding(&s).await?;
    let mut indexer = s.indexer.spawn_index(&[])?;
    let mut checked = 0;
    for depth in [1u64, 2, 3, 5, 8, 13, 20] {
        // Enough blocks with events that the reorg removes some of each kind.
        s.traffic.round().await?;
        if depth > 12 {
            s.traffic.round().await?;
        }
        let before = s.assert_synced(SYNC).await?;
        s.traffic.anvil().reorg(depth).await?;
        // Same height, new hashes, the events gone: the indexer must notice without a new block.
        let after = s
            .assert_synced(SYNC)
            .await
            .map_err(|e| anyhow::anyhow!("after reorg {depth}: {e}\n{}", indexer.log_tail(30)))?;
        assert!(
            after.truth.total() < before.truth.total(),
            "reorg {depth} removed no events: the test proves nothing"
        );
        // And it keeps following on the new branch.
        s.traffic.charge(PaymentMode::Exact).await?;
        s.assert_synced(SYNC).await?;
        checked += 1;
    }
    for depth in [4u64, 11] {
        s.traffic.round().await?;
        s.assert_synced(SYNC).await?;
        // A shorter chain, then new blocks at the same heights with other contents.
        s.traffic.anvil().rollback(depth).await?;
        s.traffic.charge_batch(5, 0, true).await?;
        s.traffic.charge(PaymentMode::Upto).await?;
        s.assert_synced(SYNC).await.map_err(|e| {
            anyhow::anyhow!("after rollback {depth}: {e}\n{}", indexer.log_tail(30))
        })?;
        checked += 1;
    }
    assert_eq!(checked, 9);
    assert!(
        indexer.try_status().is_none(),
        "the indexer stopped:\n{}",
        indexer.log_tail(30)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_while_the_indexer_is_stopped() -> anyhow::Result<()> {
    let mut s = Scenario::start(BIN, "e2e-reorg-stopped", ScenarioOptions::default()).await?;
    bury_funding(&s).await?;
    s.traffic.round().await?;
    s.traffic.round().await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    let before = s.assert_synced(SYNC).await?;

    // While it is down the last 9 blocks are replaced and the chain grows on the new branch.
    s.traffic.anvil().reorg(9).await?;
    s.traffic.charge(PaymentMode::Exact).await?;
    s.traffic.charge_batch(4, 0, false).await?;
    // The stale rows are still there: the check must see them.
    assert!(
        s.assert_consistent().await.is_err(),
        "the reorg changed nothing the database holds"
    );

    s.indexer.index_until_caught_up(SYNC).await?;
    let after = s.assert_synced(SYNC).await?;
    assert_ne!(after.truth, before.truth);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_deeper_than_the_window_stops_the_indexer() -> anyhow::Result<()> {
    let opts = ScenarioOptions {
        indexer: IndexerSettings {
            finality_depth: 3,
            reorg_window: 5,
            ..IndexerSettings::default()
        },
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, "e2e-deep-reorg", opts).await?;
    bury_funding(&s).await?;
    let mut indexer = s.indexer.spawn_index(&[])?;
    s.traffic.round().await?;
    s.assert_synced(SYNC).await?;
    s.traffic.anvil().reorg(12).await?;
    s.traffic.charge(PaymentMode::Exact).await?;
    let status = indexer.wait(SYNC).await?;
    assert!(
        !status.success(),
        "the indexer kept going after a reorg deeper than its window"
    );
    let log = indexer.log_tail(20).to_lowercase();
    assert!(
        log.contains("reorg") && log.contains("window"),
        "no clear error in the log:\n{log}"
    );
    Ok(())
}
