//! The whole flow: the client pays, the facilitator verifies and settles with evidence (alone
//! and batched), and the indexer (`x402-indexer`'s library, into its own database) records each
//! payment with its evidence hash, facilitator and amount.

mod harness;

use std::time::Duration;

use alloy::primitives::{keccak256, B256, U256};
use harness::{Env, USDC};
use sqlx::Row;
use tokio_util::sync::CancellationToken;
use x402_client::pay::PayOptions;
use x402_indexer::config::{Deployment, ProgressMode};
use x402_indexer::Config;
use x402_testkit::{AnvilRpc, TestDb};

#[tokio::test]
async fn the_indexer_sees_facilitator_settlements_with_their_evidence() {
    let env = Env::start(3, None).await;
    let single = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(3 * USDC), "indexed request");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;
    let evidence = keccak256("indexed evidence");
    let s = env.settle(&single, &payload, &req, evidence, None).await;
    assert!(s.success, "{s:?}");
    drop(single);

    let batched = env
        .facilitator(&["--batch", "--batch-max-wait-ms", "800"])
        .await;
    let mut work = Vec::new();
    for i in 1..3 {
        let req = env.requirements("upto", U256::from(USDC), &format!("indexed batch {i}"));
        let payload = env.sign(&env.payer(i), &req, PayOptions::default()).await;
        work.push((req, payload, keccak256(format!("batch evidence {i}"))));
    }
    let results = futures::future::join_all(
        work.iter()
            .map(|(r, p, e)| env.settle(&batched, p, r, *e, Some(U256::from(USDC / 2)))),
    )
    .await;
    for r in &results {
        assert!(r.success, "{r:?}");
    }
    // Past the indexer's finality depth.
    AnvilRpc::new(env.reader()).mine(20).await.unwrap();

    // The indexer keeps its own database (its migrator does not share `_sqlx_migrations`).
    let idx_db = TestDb::create().await.unwrap();
    let deployment = Deployment::read(&env.chain.deployment_file).unwrap();
    let mut config = Config::for_deployment(
        env.chain.anvil.url().parse().unwrap(),
        idx_db.url(),
        &deployment,
    );
    config.exit_when_caught_up = true;
    config.progress = ProgressMode::Off;
    tokio::time::timeout(
        Duration::from_secs(120),
        x402_indexer::run(config, CancellationToken::new()),
    )
    .await
    .expect("indexer finished in time")
    .expect("indexer succeeded");

    let pool = idx_db.pool().await.unwrap();
    let mut expected = vec![(
        s.payment_id.unwrap(),
        evidence,
        U256::from(3 * USDC),
        s.transaction.clone(),
        false,
    )];
    for ((_, _, e), r) in work.iter().zip(&results) {
        expected.push((
            r.payment_id.unwrap(),
            *e,
            U256::from(USDC / 2),
            r.transaction.clone(),
            true,
        ));
    }
    for (id, evidence, amount, tx, batched) in expected {
        let row = sqlx::query(
            "SELECT evidence_hash, amount::text, facilitator, payer, tx_hash, batch_id::text FROM charges WHERE payment_id = $1",
        )
        .bind(id.as_slice())
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("payment {id} not indexed: {e}"));
        assert_eq!(B256::from_slice(&row.get::<Vec<u8>, _>(0)), evidence);
        assert_eq!(row.get::<String, _>(1).parse::<U256>().unwrap(), amount);
        assert_eq!(
            row.get::<Vec<u8>, _>(2),
            env.facilitator.as_slice().to_vec()
        );
        assert_eq!(
            format!(
                "0x{}",
                alloy::primitives::hex::encode(row.get::<Vec<u8>, _>(4))
            ),
            tx
        );
        assert_eq!(row.get::<String, _>(5) != "0", batched, "batch id of {id}");
    }
}
