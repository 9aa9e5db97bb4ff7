//! End to end through the real `x402-indexer` binary: PostgreSQL stops and starts again under a
//! running indexer, during live following with traffic, and in the middle of a backfill. The
//! server is a private throwaway cluster (restarting the machine's shared server would break every
//! other test running at the same time). The indexer must reconnect by itself and end with the
//! database equal to the chain.

use std::time::Duration;

use x402_testkit::pg::PrivatePostgres;
use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};
use x402_testkit::truth;

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");
const SYNC: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_under_a_running_indexer() -> anyhow::Result<()> {
    let pg = PrivatePostgres::start()?;
    let opts = ScenarioOptions {
        pg_server: Some(pg.server_url()),
        // Slow backfill (one block per range) so the first restart lands in its middle.
        indexer: IndexerSettings {
            initial_blocks: 1,
            max_blocks: 1,
            concurrency: 1,
            ..IndexerSettings::default()
        },
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, "e2e-pg-restart", opts).await?;
    for _ in 0..2 {
        s.traffic.round().await?;
        s.traffic.anvil().mine(200).await?;
    }
    let (head, _) = s.traffic.anvil().head().await?;
    let chain_id = s.chain.deployment.chain_id;
    let mut indexer = s.indexer.spawn_index(&[])?;
    let t0 = std::time::Instant::now();

    // 1. Mid-backfill.
    let deadline = std::time::Instant::now() + SYNC;
    loop {
        let cp = truth::checkpoint(&s.pool, chain_id)
            .await?
            .map_or(0, |(n, _)| n);
        if cp > head / 4 {
            anyhow::ensure!(
                cp < head,
                "backfill finished before the restart: slow it down"
            );
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "backfill did not progress:\n{}",
            indexer.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("{:?}: restarting mid-backfill", t0.elapsed());
    pg.stop()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        indexer.try_status().is_none(),
        "the indexer died with the database:\n{}",
        indexer.log_tail(30)
    );
    pg.start_again()?;
    s.assert_synced(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;

    // 2. While following, with traffic arriving during the outage.
    eprintln!("{:?}: caught up; restarting while following", t0.elapsed());
    pg.stop()?;
    s.traffic.round().await?;
    s.traffic.charge_batch(10, 1, true).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.start_again()?;
    s.traffic.round().await?;
    let report = s
        .assert_synced(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
    eprintln!("{:?}: caught up again", t0.elapsed());
    assert!(report.truth.count("charges") >= 3 * 8 + 10);
    assert!(
        indexer.try_status().is_none(),
        "the indexer stopped:\n{}",
        indexer.log_tail(30)
    );
    Ok(())
}
