//! The event tables declared in `x402_domain::events` against the schema the indexer's
//! migrations create: every declared column exists with the type its Rust
//! field maps to, and the table has no column the declaration leaves out (a migration adding one
//! must add it to the declaration). A row of every table then goes through the declared bulk
//! insert and back.

use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes, B256, U256};
use sqlx::{PgPool, Row};
use x402_domain::events::{Charge, LogMeta, LogRows, SkippedLog, Split, TokenTransfer};
use x402_domain::schema::migrate;
use x402_testkit::TestDb;

/// Columns of `table` after `chain_id`, in table order, with their `udt_name`.
async fn columns(pool: &PgPool, table: &str) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT column_name, udt_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .filter(|(name, _)| name != "chain_id")
        .collect())
}

/// Columns a table may hold that no event fills: the serial key and the ingest time some tables
/// keep, and the legacy `treasury` of `protocol_fee_changes` (see its row's documentation).
fn unfilled(table: &str, column: &str) -> bool {
    matches!(column, "id" | "inserted_at")
        || (table, column) == ("protocol_fee_changes", "treasury")
}

#[tokio::test]
async fn every_declared_table_matches_the_migrated_schema() -> anyhow::Result<()> {
    let db = TestDb::create().await?;
    let pool = db.pool().await?;
    migrate(&pool).await?;

    let declared: BTreeMap<&str, Vec<(&str, &str)>> = declarations();
    assert_eq!(declared.len(), LogRows::TABLES.len());
    for (table, want) in &declared {
        let got = columns(&pool, table).await?;
        assert!(!got.is_empty(), "declared table {table} does not exist");
        // By name: the insert names its columns, and a column added by a later migration
        // comes last in the table whatever its place in the declaration.
        let got: BTreeMap<String, String> = got
            .into_iter()
            .filter(|(c, _)| !unfilled(table, c))
            .collect();
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect();
        assert_eq!(
            got, want,
            "{table}: migrated columns (left) differ from the declaration in x402_domain::events (right)"
        );
    }
    Ok(())
}

/// (column, udt_name) of every declared table, meta columns first.
fn declarations() -> BTreeMap<&'static str, Vec<(&'static str, &'static str)>> {
    fn of<T: EventTable>() -> (&'static str, Vec<(&'static str, &'static str)>) {
        let cols = META_COLUMNS
            .iter()
            .chain(T::COLUMNS)
            .map(|(c, k)| (*c, k.udt_name()))
            .collect();
        (T::TABLE, cols)
    }
    use x402_domain::events::*;
    [
        of::<Charge>(),
        of::<Authorization>(),
        of::<Capture>(),
        of::<Void>(),
        of::<Reclaim>(),
        of::<Refund>(),
        of::<SplitPayment>(),
        of::<BatchFailure>(),
        of::<Batch>(),
        of::<SpendingPolicy>(),
        of::<Split>(),
        of::<ProtocolFeeChange>(),
        of::<TreasuryChange>(),
        of::<ProtocolFeeWithdrawal>(),
        of::<AuthorizationCharge>(),
        of::<RegistryLabel>(),
        of::<DeclaredWallet>(),
        of::<TokenTransfer>(),
        of::<SkippedLog>(),
    ]
    .into_iter()
    .collect()
}

fn meta(block: u64, log_index: u64) -> LogMeta {
    LogMeta {
        block_number: block,
        block_hash: B256::repeat_byte(block as u8),
        block_time: 1_700_000_000 + block,
        tx_hash: B256::repeat_byte(0xee),
        log_index,
    }
}

#[tokio::test]
async fn rows_go_through_the_declared_insert_unchanged_and_once() -> anyhow::Result<()> {
    let db = TestDb::create().await?;
    let pool = db.pool().await?;
    migrate(&pool).await?;

    let big = U256::MAX - U256::from(7);
    let rows = LogRows {
        charges: vec![Charge {
            meta: meta(5, 3),
            payment_id: B256::repeat_byte(1),
            payer: Address::repeat_byte(2),
            payee: Address::repeat_byte(3),
            token: Address::repeat_byte(4),
            facilitator: Address::repeat_byte(5),
            nonce: big,
            mode: 2,
            amount: U256::from(1_000_000u64),
            max_amount: U256::from(2_000_000u64),
            facilitator_fee: U256::from(10u64),
            protocol_fee: U256::ZERO,
            request_hash: B256::repeat_byte(6),
            evidence_hash: B256::repeat_byte(7),
            batch_id: U256::from(9u64),
        }],
        splits: vec![Split {
            meta: meta(5, 4),
            payee: Address::repeat_byte(3),
            recipients: vec![Address::repeat_byte(8), Address::repeat_byte(9)],
            bps: vec![2_500, 7_500],
        }],
        token_transfers: vec![TokenTransfer {
            meta: meta(6, 0),
            token: Address::repeat_byte(4),
            from: Address::repeat_byte(2),
            to: Address::repeat_byte(3),
            amount: big,
        }],
        skipped_logs: vec![SkippedLog {
            meta: meta(6, 1),
            address: Address::repeat_byte(0x77),
            topics: vec![B256::repeat_byte(0xaa), B256::repeat_byte(0xbb)],
            data: Bytes::from(vec![1, 2, 3]),
            reason: "unknown event".into(),
        }],
        ..LogRows::default()
    };
    for _ in 0..2 {
        // The second insert is a replayed range: nothing is added.
        let mut conn = pool.acquire().await?;
        rows.insert_all(&mut conn, 31337).await?;
    }

    let charge = sqlx::query(
        "SELECT count(*) OVER (), nonce::text, mode, amount::text, block_time = to_timestamp(1700000005), payer
         FROM charges WHERE chain_id = 31337",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(charge.get::<i64, _>(0), 1, "a replayed insert added a row");
    assert_eq!(charge.get::<String, _>(1), big.to_string());
    assert_eq!(charge.get::<i16, _>(2), 2);
    assert_eq!(charge.get::<String, _>(3), "1000000");
    assert!(charge.get::<bool, _>(4));
    assert_eq!(
        charge.get::<Vec<u8>, _>(5),
        Address::repeat_byte(2).to_vec()
    );

    let split = sqlx::query("SELECT recipients, bps FROM splits WHERE chain_id = 31337")
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        split.get::<Vec<Vec<u8>>, _>(0),
        vec![
            Address::repeat_byte(8).to_vec(),
            Address::repeat_byte(9).to_vec()
        ]
    );
    assert_eq!(split.get::<Vec<i32>, _>(1), vec![2_500, 7_500]);

    let transfer = sqlx::query(
        "SELECT from_address, to_address, amount::text FROM token_transfers WHERE chain_id = 31337",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(
        transfer.get::<Vec<u8>, _>(0),
        Address::repeat_byte(2).to_vec()
    );
    assert_eq!(
        transfer.get::<Vec<u8>, _>(1),
        Address::repeat_byte(3).to_vec()
    );
    assert_eq!(transfer.get::<String, _>(2), big.to_string());

    let skipped =
        sqlx::query("SELECT topics, data, reason FROM skipped_logs WHERE chain_id = 31337")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        skipped.get::<Vec<Vec<u8>>, _>(0),
        vec![vec![0xaa; 32], vec![0xbb; 32]]
    );
    assert_eq!(skipped.get::<Vec<u8>, _>(1), vec![1, 2, 3]);
    assert_eq!(skipped.get::<String, _>(2), "unknown event");
    Ok(())
}
