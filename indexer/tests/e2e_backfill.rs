//! End to end through the real `x402-indexer` binary: backfill of a populated chain (and a replay
//! that must change nothing), and kill -9 in the middle of a backfill followed by a restart.
//! After each scenario the database must equal `eth_getLogs` over the canonical chain.

use std::time::{Duration, Instant};

use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};
use x402_testkit::truth;

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");

/// Tables every populated chain fills: every event kind the indexer stores.
const FILLED: &[&str] = &[
    "charges",
    "authorizations",
    "captures",
    "voids",
    "reclaims",
    "refunds",
    "split_payments",
    "batch_failures",
    "batches",
    "spending_policies",
    "splits",
    "protocol_fee_changes",
    "treasury_changes",
    "registry_labels",
    "declared_wallets",
    "token_transfers",
    "skipped_logs",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_of_a_populated_chain_equals_the_chain_and_replays_harmlessly(
) -> anyhow::Result<()> {
    let mut s = Scenario::start(BIN, "e2e-backfill", ScenarioOptions::default()).await?;
    for _ in 0..3 {
        s.traffic.round().await?;
    }
    s.traffic.charge_batch(40, 2, true).await?;

    s.indexer
        .index_until_caught_up(Duration::from_secs(90))
        .await?;
    let first = s.assert_synced(Duration::from_secs(5)).await?;
    for table in FILLED {
        assert!(
            first.truth.count(table) > 0,
            "the populated chain has no {table} rows"
        );
    }
    assert!(
        first.truth.total() > 150,
        "only {} rows: traffic did not run",
        first.truth.total()
    );

    // Running again from the checkpoint finds nothing new and must not duplicate anything.
    s.indexer
        .index_until_caught_up(Duration::from_secs(60))
        .await?;
    let again = s.assert_synced(Duration::from_secs(5)).await?;
    assert_eq!(again.truth, first.truth);
    // Each round tops up a payer's gas and pays a payee in ether (and one reverted transfer that
    // must not count): assert_synced compared them with the chain; make sure they exist.
    let native = truth::native_transfers_from_db(&s.pool, s.chain.deployment.chain_id).await?;
    assert_eq!(native.len(), 3 * 2, "{native:?}");

    // More traffic, then resume: only the new blocks are added.
    s.traffic.round().await?;
    s.indexer
        .index_until_caught_up(Duration::from_secs(60))
        .await?;
    let resumed = s.assert_synced(Duration::from_secs(5)).await?;
    assert!(resumed.truth.total() > first.truth.total());

    let status = s.indexer.status().await?;
    assert!(
        status.contains(&resumed.to_block.to_string()),
        "status does not show checkpoint {}:\n{status}",
        resumed.to_block
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_backfill_then_restart() -> anyhow::Result<()> {
    // One block per range and one range at a time: the backfill takes many commits, so the kill
    // lands between two of them (or inside one).
    let opts = ScenarioOptions {
        indexer: IndexerSettings {
            initial_blocks: 1,
            max_blocks: 1,
            concurrency: 1,
            ..IndexerSettings::default()
        },
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, "e2e-kill9", opts).await?;
    for _ in 0..4 {
        s.traffic.round().await?;
        s.traffic.charge_batch(10, 0, false).await?;
        // Empty blocks spread the events out and lengthen the backfill.
        s.traffic.anvil().mine(150).await?;
    }
    let (head, _) = s.traffic.anvil().head().await?;
    let chain_id = s.chain.deployment.chain_id;
    let start = s.chain.deployment.deploy_block;

    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    // Kill it three times, an eighth, three eighths and half way through, then let it finish.
    for eighths in [1, 3, 4] {
        let target = start + (head - start) * eighths / 8;
        let mut p = s.indexer.spawn_index(&["--progress", "off"])?;
        let mut seen = Vec::new();
        loop {
            let cp = truth::checkpoint(&s.pool, chain_id)
                .await?
                .map(|(n, _)| n)
                .unwrap_or(0);
            seen.push(cp);
            if cp >= target.max(start + 1) {
                break;
            }
            if let Some(status) = p.try_status() {
                anyhow::bail!(
                    "the indexer exited ({status}) before the kill:\n{}",
                    p.log_tail(40)
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "backfill too slow to reach block {target}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        p.kill9()?;
        kills += 1;
        // A COMMIT already on the wire when the process died may still land: give the server a
        // moment, then whatever was committed must be exactly the chain up to the checkpoint.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let report = s.assert_consistent().await?;
        seen.dedup();
        anyhow::ensure!(
            report.to_block < head,
            "the backfill finished before kill #{kills} (target {target}, head {head}, checkpoints seen {seen:?}): slow it down"
        );
    }
    s.indexer
        .index_until_caught_up(Duration::from_secs(120))
        .await?;
    let done = s.assert_synced(Duration::from_secs(5)).await?;
    assert_eq!(done.to_block, head);
    assert!(done.truth.count("charges") >= 4 * 12);
    Ok(())
}
