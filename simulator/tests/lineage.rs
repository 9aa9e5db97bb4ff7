//! Scoped funding lineage (issue 15) on the simulated economy, whose classes are known: the same
//! chain indexed with every Transfer (`full`) and with the address-filtered lineage (`scoped`,
//! depth 2) gives every payment and every payer the same class, from fewer transfer rows, every
//! one of which full indexing also has; and a scoped indexer stopped in the middle of its
//! expansion resumes to exactly the rows of an uninterrupted run (nothing lost, nothing twice).

mod common;

use std::time::Duration;

use common::Stack;
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use x402_indexer::config::{Lineage, LineageMode};
use x402_simulator::{build, Scale};
use x402_testkit::TestDb;

async fn texts(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

const PAYMENT_CLASSES: &str =
    "select concat_ws('|', encode(payment_id, 'hex'), class) from payment_classes order by 1";
const PAYER_CLASSES: &str =
    "select concat_ws('|', encode(payer, 'hex'), class) from payer_classes order by 1";
const TRANSFERS: &str = "select concat_ws('|', block_number, log_index, encode(block_hash, 'hex'),
        encode(tx_hash, 'hex'), encode(token, 'hex'), encode(from_address, 'hex'),
        encode(to_address, 'hex'), amount::text, block_time::text)
    from token_transfers order by block_number, log_index";
const NATIVE: &str = "select concat_ws('|', block_number, tx_index, encode(tx_hash, 'hex'),
        encode(from_address, 'hex'), encode(to_address, 'hex'), value::text, block_time::text)
    from native_transfers order by block_number, tx_index";

fn scoped(addresses_per_request: usize) -> Lineage {
    Lineage {
        mode: LineageMode::Scoped,
        depth: 2,
        addresses_per_request,
    }
}

async fn fresh_db() -> TestDb {
    let db = TestDb::create().await.expect("database");
    x402_indexer::migrate(&db.url(), &CancellationToken::new())
        .await
        .expect("indexer migrations");
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scoped_lineage_classifies_like_full_indexing_and_resumes_exactly() {
    let plan = build("lineage", Scale::SMALL);
    let stack = Stack::start(&plan).await;
    let (truth, _) = stack.simulate(&plan).await;

    let full = stack.classify(&plan, &truth).await;
    // Labels first: the scoped indexer stops at the exchanges the classifier knows.
    let scoped_db = fresh_db().await;
    let scoped_pool = stack.import_labels(&scoped_db, &plan, &truth).await;
    stack
        .index(&scoped_db, scoped(500), CancellationToken::new())
        .await;
    let scoped_pool = stack.classify_labelled(scoped_pool, &truth).await;

    let (full_payments, scoped_payments) = (
        texts(&full, PAYMENT_CLASSES).await,
        texts(&scoped_pool, PAYMENT_CLASSES).await,
    );
    assert_eq!(full_payments.len(), plan.payment_count());
    assert_eq!(
        full_payments, scoped_payments,
        "every payment gets the same class"
    );
    assert_eq!(
        texts(&full, PAYER_CLASSES).await,
        texts(&scoped_pool, PAYER_CLASSES).await,
        "every payer gets the same class"
    );

    // The scoped rows are a strict subset of the full rows, far fewer of them.
    let (full_rows, scoped_rows) = (
        texts(&full, TRANSFERS).await,
        texts(&scoped_pool, TRANSFERS).await,
    );
    let all: std::collections::HashSet<&String> = full_rows.iter().collect();
    assert!(
        scoped_rows.iter().all(|r| all.contains(r)),
        "a scoped transfer row that full indexing does not have"
    );
    eprintln!(
        "token_transfers: full {}, scoped {}",
        full_rows.len(),
        scoped_rows.len()
    );
    assert!(!scoped_rows.is_empty());
    // The economy's transfers are nearly all funding of its payers; the bench measures a chain
    // where they are a small share.
    assert!(
        scoped_rows.len() < full_rows.len(),
        "scoped {} rows vs full {}",
        scoped_rows.len(),
        full_rows.len()
    );
    let full_native = texts(&full, NATIVE).await;
    let scoped_native = texts(&scoped_pool, NATIVE).await;
    let native_set: std::collections::HashSet<&String> = full_native.iter().collect();
    assert!(scoped_native.iter().all(|r| native_set.contains(r)));
    // Complete within the scope: every transfer of full indexing from or to a tracked wallet is
    // in the scoped database (field 5/6 of a transfer row, 3/4 of a native row: from, to).
    let tracked: std::collections::HashSet<String> = texts(
        &scoped_pool,
        "select encode(address, 'hex') from lineage_wallets",
    )
    .await
    .into_iter()
    .collect();
    let touching = |rows: &[String], from: usize| -> Vec<String> {
        rows.iter()
            .filter(|r| {
                let f: Vec<&str> = r.split('|').collect();
                tracked.contains(f[from]) || tracked.contains(f[from + 1])
            })
            .cloned()
            .collect()
    };
    let scoped_set: std::collections::HashSet<&String> = scoped_rows.iter().collect();
    let missing: Vec<String> = touching(&full_rows, 5)
        .into_iter()
        .filter(|r| !scoped_set.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "transfers of tracked wallets missing: {missing:#?}"
    );
    let scoped_native_set: std::collections::HashSet<&String> = scoped_native.iter().collect();
    let expected_native = touching(&full_native, 3);
    eprintln!(
        "native_transfers: full {}, of tracked wallets {}, scoped {}",
        full_native.len(),
        expected_native.len(),
        scoped_native.len()
    );
    assert!(
        expected_native
            .iter()
            .all(|r| scoped_native_set.contains(r)),
        "native transfers of tracked wallets missing"
    );
    let depths: Vec<(i32, i64)> =
        sqlx::query_as("select depth, count(*) from lineage_wallets group by depth order by depth")
            .fetch_all(&scoped_pool)
            .await
            .unwrap();
    // The standard economy's payers are mostly funded by (labelled, untracked) exchanges.
    eprintln!("tracked wallets per depth: {depths:?}");
    assert_eq!(depths.first().map(|d| d.0), Some(0));
    assert!(
        depths.iter().any(|d| d.0 == 1) && depths.iter().all(|d| d.0 <= 2),
        "payers and payees, then their funders up to depth 2: {depths:?}"
    );

    // One wallet per request and one request at a time: many small commits, stopped while some
    // wallets are covered and others still wait.
    let restart_db = fresh_db().await;
    stack.import_labels(&restart_db, &plan, &truth).await;
    let stop = CancellationToken::new();
    let mut config = stack.indexer_config(&restart_db, scoped(1));
    config.fetch.concurrency = 1;
    let pool = restart_db.pool().await.unwrap();
    let mut stopped_at = None;
    let mut run = std::pin::pin!(x402_indexer::run(config, stop.clone()));
    let outcome = loop {
        tokio::select! {
            outcome = &mut run => break outcome,
            _ = tokio::time::sleep(Duration::from_millis(2)), if stopped_at.is_none() => {
                let (covered, waiting): (i64, i64) = sqlx::query_as(
                    "select count(*) filter (where w.covered_to = c.block_number),
                            count(*) filter (where w.covered_to < c.block_number)
                     from lineage_wallets w join checkpoint c using (chain_id)",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                if covered > 0 && waiting > 0 {
                    stop.cancel();
                    stopped_at = Some((covered, waiting));
                }
            }
        }
    };
    outcome.expect("the stopped indexer exits cleanly");
    let (covered, waiting) = stopped_at.expect("stopped in the middle of the expansion");
    eprintln!("stopped with {covered} wallets covered, {waiting} waiting");
    stack
        .index(&restart_db, scoped(1), CancellationToken::new())
        .await;
    assert_eq!(
        texts(&pool, TRANSFERS).await,
        scoped_rows,
        "the resumed run stores exactly the uninterrupted run's transfers"
    );
    assert_eq!(texts(&pool, NATIVE).await, scoped_native);
    let behind: i64 = sqlx::query_scalar(
        "select count(*) from lineage_wallets w join checkpoint c using (chain_id)
         where w.covered_to <> c.block_number",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(behind, 0, "every tracked wallet is caught up");
}
