//! Backfill of a populated chain: real anvil, the real deploy script, signed Permit2 traffic
//! through the deployed contracts, a fresh PostgreSQL database. The database must equal the
//! ground truth from `eth_getLogs`, the payments fold must equal the contract's own escrow state,
//! and indexing again (resume, replay) must change nothing but the new blocks.

use std::time::Duration;

use alloy::primitives::aliases::U48;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use sqlx::Row;
use tokio_util::sync::CancellationToken;
use x402_bindings::settlement::IX402Settlement;
use x402_bindings::{ISignatureTransfer, X402Settlement};
use x402_indexer::config::{Deployment, ProgressMode};
use x402_indexer::Config;
use x402_testkit::{assert_db_matches_chain, DevChain, TestDb, Traffic};

fn config_for(chain: &DevChain, db: &TestDb) -> Config {
    let deployment =
        Deployment::read(&chain.deployment_file).expect("the deploy script's file parses");
    let mut config =
        Config::for_deployment(chain.anvil.url().parse().unwrap(), db.url(), &deployment);
    config.exit_when_caught_up = true;
    config.progress = ProgressMode::Off;
    // Small spans: many ranges, concurrent fetches, ordered commits, span adaptation.
    config.range.initial_blocks = 3;
    config.range.target_logs = 20;
    config.fetch.concurrency = 3;
    config.fetch.channel_capacity = 2;
    config.reorg_window = 16;
    config
}

async fn index(config: &Config) {
    tokio::time::timeout(
        Duration::from_secs(120),
        x402_indexer::run(config.clone(), CancellationToken::new()),
    )
    .await
    .expect("indexing finished in time")
    .expect("indexing succeeded");
}

/// Every payment's folded state against the contract: escrows against `escrowOf`, charges against
/// their event (gross amount, fees).
async fn assert_payments_match_contract(chain: &DevChain, pool: &sqlx::PgPool) -> usize {
    let provider = chain.anvil.provider();
    let settlement = X402Settlement::new(chain.deployment.settlement, &provider);
    // Each escrow is named by its EscrowRef, rebuilt from its stored PaymentAuthorized row (the
    // event carries it in full): a column the indexer got wrong makes `escrowOf` answer `None`.
    let rows = sqlx::query(
        "SELECT p.payment_id, p.captured_amount::text, p.refunded_amount::text, p.closed,
                a.token, a.amount::text, a.nonce::text, a.deadline::text, a.payer, a.payee,
                a.facilitator, a.request_hash, a.max_facilitator_fee_bps, a.valid_after,
                a.authorization_expiry, a.refund_expiry, a.protocol_fee_bps
         FROM payments p JOIN authorizations a USING (chain_id, payment_id)
         WHERE p.chain_id = $1 AND p.mode = 2",
    )
    .bind(chain.deployment.chain_id as i64)
    .fetch_all(pool)
    .await
    .unwrap();
    for row in &rows {
        let id = B256::from_slice(&row.get::<Vec<u8>, _>(0));
        let amount = |i: usize| row.get::<String, _>(i).parse::<U256>().unwrap();
        let addr = |i: usize| Address::from_slice(&row.get::<Vec<u8>, _>(i));
        let u48 = |i: usize| U48::from(row.get::<i64, _>(i) as u64);
        let escrow = IX402Settlement::EscrowRef {
            permit: ISignatureTransfer::PermitTransferFrom {
                permitted: ISignatureTransfer::TokenPermissions {
                    token: addr(4),
                    amount: amount(5),
                },
                nonce: amount(6),
                deadline: amount(7),
            },
            terms: IX402Settlement::PaymentTerms {
                payer: addr(8),
                payee: addr(9),
                facilitator: addr(10),
                requestHash: B256::from_slice(&row.get::<Vec<u8>, _>(11)),
                maxFacilitatorFeeBps: row.get::<i32, _>(12) as u16,
                validAfter: u48(13),
                mode: 2,
                authorizationExpiry: u48(14),
                refundExpiry: u48(15),
            },
        };
        let state = settlement.escrowOf(escrow).call().await.unwrap();
        assert_ne!(
            state.status, 0,
            "escrowOf knows the stored EscrowRef of {id}"
        );
        assert_eq!(amount(1), U256::from(state.captured), "captured of {id}");
        assert_eq!(amount(2), U256::from(state.refunded), "refunded of {id}");
        assert_eq!(row.get::<bool, _>(3), state.status == 2, "closed of {id}");
        assert_eq!(
            row.get::<i32, _>(16) as u16,
            state.protocolFeeBps,
            "protocol fee of {id}"
        );
    }
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM charges c JOIN payments p USING (chain_id, payment_id)
         WHERE p.settled_amount <> c.amount OR p.facilitator_fee <> c.facilitator_fee
            OR p.protocol_fee <> c.protocol_fee OR p.payer <> c.payer OR p.status <> 'charged'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0, "charges folded into payments");
    let ids: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT payment_id FROM charges UNION SELECT payment_id FROM authorizations) ids",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        payments, ids,
        "one payments row per charged or authorized payment"
    );
    rows.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_equals_chain_then_resume_and_replay_change_nothing_else() {
    let chain = DevChain::start().await.expect("anvil + deploy script");
    let mut traffic = Traffic::new(
        &chain.anvil.url(),
        chain.deployment.clone(),
        "indexer-backfill",
    )
    .await
    .unwrap();
    traffic.fund(4, 2, 1_000).await.unwrap();
    for _ in 0..3 {
        traffic.round().await.unwrap();
    }
    let db = TestDb::create().await.unwrap();
    let config = config_for(&chain, &db);
    let pool = db.pool().await.unwrap();

    index(&config).await;
    let report = assert_db_matches_chain(&pool, &chain.anvil.provider(), &chain.deployment)
        .await
        .expect("database equals the chain");
    let counts = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    // The traffic produced every kind of row the rounds emit.
    for table in [
        "charges",
        "authorizations",
        "captures",
        "batch_failures",
        "batches",
        "token_transfers",
        "payments",
    ] {
        assert!(counts(table).await > 0, "{table} is empty: {report:?}");
    }
    let failure_names: i64 =
        sqlx::query_scalar("SELECT count(*) FROM batch_failures WHERE error_name IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        failure_names,
        counts("batch_failures").await,
        "every batch failure reason decodes"
    );
    let escrows = assert_payments_match_contract(&chain, &pool).await;
    assert!(escrows > 0, "the rounds open escrows");

    // More traffic, then resume from the checkpoint.
    traffic.round().await.unwrap();
    index(&config).await;
    assert_db_matches_chain(&pool, &chain.anvil.provider(), &chain.deployment)
        .await
        .expect("resume equals the chain");
    assert_payments_match_contract(&chain, &pool).await;

    // Replay: move the checkpoint back to the start as if commits had been lost; re-indexing the
    // same blocks must insert nothing twice and leave the database equal to the chain.
    let before = counts("token_transfers").await;
    let start = chain.deployment.deploy_block as i64;
    sqlx::query("DELETE FROM blocks")
        .execute(&pool)
        .await
        .unwrap();
    let start_hash = if start == 0 {
        vec![0u8; 32]
    } else {
        let block = chain
            .anvil
            .provider()
            .get_block_by_number(((start - 1) as u64).into())
            .await
            .unwrap()
            .unwrap();
        block.header.hash.to_vec()
    };
    sqlx::query("UPDATE checkpoint SET block_number = $1, block_hash = $2")
        .bind(start - 1)
        .bind(start_hash)
        .execute(&pool)
        .await
        .unwrap();
    index(&config).await;
    assert_eq!(counts("token_transfers").await, before);
    assert_db_matches_chain(&pool, &chain.anvil.provider(), &chain.deployment)
        .await
        .expect("replay equals the chain");
    assert_payments_match_contract(&chain, &pool).await;
}
