//! PostgreSQL: migrations, the checkpoint, and one transaction per committed range (event rows,
//! blocks, the payments fold and the checkpoint together), and reorg rollbacks.

mod columns;
mod lineage;
mod write;

use std::time::Duration;

use alloy::primitives::{Address, B256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

pub use columns::{insert_sql, Kind};
pub use lineage::PendingGroup;

use crate::decode::{LogRows, Rows};
use crate::rpc::BlockHeader;

/// Tables holding rows of indexed blocks, deleted above a reorg's common ancestor: one row per
/// log (keyed by chain_id, block_number, log_index), and `native_transfers` (one per transaction).
pub fn event_tables() -> impl Iterator<Item = &'static str> {
    LogRows::TABLES.iter().copied().chain(Rows::OTHER_TABLES)
}

/// Event tables whose rows are each a whole payment of one source, or none (nullable
/// `payment_id`): a rollback deletes those payments with them.
fn single_event_source(table: &str) -> Option<x402_domain::PaymentSource> {
    match table {
        "eip3009_authorizations" => Some(x402_domain::PaymentSource::Eip3009),
        "permit2_proxy_settlements" => Some(x402_domain::PaymentSource::Permit2Proxy),
        _ => None,
    }
}

/// Event tables with a payment_id feeding the `payments` fold.
const PAYMENT_TABLES: [&str; 7] = [
    "charges",
    "authorizations",
    "captures",
    "voids",
    "reclaims",
    "refunds",
    "split_payments",
];

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connection lost, server restarting, query failed: the indexer reconnects and resumes from
    /// the checkpoint.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The checkpoint is not where this indexer left it: another indexer writes the same chain, or
    /// an earlier commit's outcome was unknown. The indexer resumes from the stored checkpoint.
    #[error("checkpoint moved: expected block {expected}, found {found:?}")]
    CheckpointMoved {
        /// Where this indexer thought the checkpoint was.
        expected: i64,
        /// Where it is.
        found: Option<i64>,
    },
    /// The database already indexes another deployment of this chain.
    #[error("the database indexes {field} {stored} on chain {chain_id}, but the configuration says {configured}; use a fresh database (or the matching deployment file)")]
    DeploymentMismatch {
        /// Chain id.
        chain_id: u64,
        /// Which setting differs.
        field: &'static str,
        /// The stored value.
        stored: String,
        /// The configured value.
        configured: String,
    },
}

impl StoreError {
    /// Whether retrying later can help (everything but a deployment mismatch and migration errors).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Database(_) | Self::CheckpointMoved { .. })
    }
}

/// How far a chain is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Last committed block (start_block - 1 before anything is committed).
    pub block_number: i64,
    /// Its hash (zero for block -1).
    pub block_hash: B256,
}

/// One block as stored in `blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlock {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
}

/// A block to store with a committed range and how many of its logs the range holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRow {
    /// The header.
    pub header: BlockHeader,
    /// Logs of this block in the range (rows plus skipped).
    pub log_count: u32,
}

/// Everything one range commits.
#[derive(Debug, Clone, Default)]
pub struct RangeBatch {
    /// First block of the range.
    pub from: u64,
    /// Last block of the range: the new checkpoint.
    pub to: u64,
    /// Hash of `to`: the new checkpoint hash.
    pub to_hash: B256,
    /// Blocks to store (with logs, the checkpoint block, and near the head every block).
    pub blocks: Vec<BlockRow>,
    /// Decoded rows.
    pub rows: Rows,
}

/// What a rollback removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollbackSummary {
    /// Event rows (and skipped logs) deleted.
    pub rows_deleted: u64,
    /// Payments recomputed from the remaining history.
    pub payments_recomputed: usize,
}

/// Counts for `x402-indexer status`.
#[derive(Debug, Clone, Default)]
pub struct TableCounts {
    /// (table, rows for this chain) for every event table plus blocks and payments.
    pub tables: Vec<(&'static str, i64)>,
}

/// The database of one indexer.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
    chain_id: i64,
}

impl Store {
    /// Connects lazily (connections open on first use and reopen after a server restart).
    pub fn connect_lazy(database_url: &str, chain_id: u64) -> Result<Self, StoreError> {
        let options: PgConnectOptions = database_url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            // A connection broken by a server restart is detected before use, not mid-transaction.
            .test_before_acquire(true)
            .connect_lazy_with(options.application_name("x402-indexer"));
        Ok(Self {
            pool,
            chain_id: chain_id as i64,
        })
    }

    /// The pool (for tests and tools that read what the indexer wrote).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the schema's pending migrations (the whole history, `x402_domain::schema`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        x402_domain::schema::migrate(&self.pool).await?;
        Ok(())
    }

    /// The stored checkpoint, if this chain was ever indexed.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row =
            sqlx::query("SELECT block_number, block_hash FROM checkpoint WHERE chain_id = $1")
                .bind(self.chain_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| Checkpoint {
            block_number: r.get(0),
            block_hash: b256(r.get::<Vec<u8>, _>(1)),
        }))
    }

    /// Creates the checkpoint at `start_block - 1` (`start_hash` is that block's hash) unless it
    /// exists; refuses a database that indexes another deployment. Returns the checkpoint.
    pub async fn init_checkpoint(
        &self,
        settlement: Address,
        registry: Address,
        start_block: u64,
        start_hash: B256,
    ) -> Result<Checkpoint, StoreError> {
        sqlx::query(
            "INSERT INTO checkpoint (chain_id, block_number, block_hash, settlement_address, registry_address, start_block)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain_id) DO NOTHING",
        )
        .bind(self.chain_id)
        .bind(start_block as i64 - 1)
        .bind(start_hash.to_vec())
        .bind(settlement.to_vec())
        .bind(registry.to_vec())
        .bind(start_block as i64)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT block_number, block_hash, settlement_address, registry_address, start_block FROM checkpoint WHERE chain_id = $1",
        )
        .bind(self.chain_id)
        .fetch_one(&self.pool)
        .await?;
        let stored_settlement = Address::from_slice(&row.get::<Vec<u8>, _>(2));
        let stored_registry = Address::from_slice(&row.get::<Vec<u8>, _>(3));
        let stored_start: i64 = row.get(4);
        let mismatch = |field, stored: String, configured: String| StoreError::DeploymentMismatch {
            chain_id: self.chain_id as u64,
            field,
            stored,
            configured,
        };
        if stored_settlement != settlement {
            return Err(mismatch(
                "settlement",
                stored_settlement.to_string(),
                settlement.to_string(),
            ));
        }
        if stored_registry != registry {
            return Err(mismatch(
                "registry",
                stored_registry.to_string(),
                registry.to_string(),
            ));
        }
        if stored_start != start_block as i64 {
            return Err(mismatch(
                "start_block",
                stored_start.to_string(),
                start_block.to_string(),
            ));
        }
        Ok(Checkpoint {
            block_number: row.get(0),
            block_hash: b256(row.get::<Vec<u8>, _>(1)),
        })
    }

    /// The start block recorded with the checkpoint.
    pub async fn start_block(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT start_block FROM checkpoint WHERE chain_id = $1")
                .bind(self.chain_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(v.map(|v| v as u64))
    }

    /// Stored blocks numbered above `above`, highest first.
    pub async fn blocks_above(&self, above: i64) -> Result<Vec<StoredBlock>, StoreError> {
        let rows = sqlx::query("SELECT number, hash FROM blocks WHERE chain_id = $1 AND number > $2 ORDER BY number DESC")
            .bind(self.chain_id)
            .bind(above)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredBlock {
                number: r.get::<i64, _>(0) as u64,
                hash: b256(r.get::<Vec<u8>, _>(1)),
            })
            .collect())
    }

    /// Whether any block at or below `number` is stored (i.e. history extends below the window).
    pub async fn has_blocks_at_or_below(&self, number: i64) -> Result<bool, StoreError> {
        let v: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE chain_id = $1 AND number <= $2)",
        )
        .bind(self.chain_id)
        .bind(number)
        .fetch_one(&self.pool)
        .await?;
        Ok(v)
    }

    /// Commits one range in a single transaction: moves the checkpoint from `prev` to the range's
    /// end (failing with [`StoreError::CheckpointMoved`] if it is not at `prev`), inserts blocks and
    /// rows, refolds touched payments, prunes blocks that left the reorg window.
    pub async fn commit_range(
        &self,
        prev: Checkpoint,
        batch: &RangeBatch,
        reorg_window: u64,
    ) -> Result<(), StoreError> {
        self.commit_range_after(prev, batch, reorg_window, None, None)
            .await
    }

    /// [`Self::commit_range`] that may overlap with the commit of the previous range (on another
    /// connection). The row inserts, which do not depend on earlier ranges, run at once; then,
    /// once `predecessor` fires (the previous commit holds the checkpoint row lock), this
    /// transaction locks the checkpoint row, which waits for the previous commit to finish, and
    /// checks it is at `prev`; `locked` fires once this transaction holds the lock. The escrow
    /// recompute reads history only after that, so it sees every earlier range. If the previous
    /// commit fails, this one finds the checkpoint elsewhere and fails too.
    pub async fn commit_range_after(
        &self,
        prev: Checkpoint,
        batch: &RangeBatch,
        reorg_window: u64,
        predecessor: Option<tokio::sync::oneshot::Receiver<()>>,
        locked: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Losing the last commits in a PostgreSQL crash is harmless: rows and checkpoint vanish
        // together, the next compare-and-set fails and the indexer re-indexes from the stored
        // checkpoint. Not waiting for the WAL flush keeps commits off the disk's latency.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        write::insert_blocks(&mut tx, self.chain_id, &batch.blocks).await?;
        write::insert_rows(&mut tx, self.chain_id, &batch.rows).await?;
        // Charges fold set-based (fast path) from this range's own rows.
        if !batch.rows.charges.is_empty() {
            sqlx::query("SELECT fold_charges($1, $2, $3)")
                .bind(self.chain_id)
                .bind(batch.from as i64)
                .bind(batch.to as i64)
                .execute(&mut *tx)
                .await?;
        }
        // EIP-3009 payments have no lifecycle: one event each, folded the same way.
        if batch
            .rows
            .eip3009_authorizations
            .iter()
            .any(|a| a.payment_id.is_some())
        {
            sqlx::query("SELECT fold_eip3009($1, $2, $3)")
                .bind(self.chain_id)
                .bind(batch.from as i64)
                .bind(batch.to as i64)
                .execute(&mut *tx)
                .await?;
        }
        // x402 Permit2 proxy payments: one event each too.
        if batch
            .rows
            .permit2_proxy_settlements
            .iter()
            .any(|a| a.payment_id.is_some())
        {
            sqlx::query("SELECT fold_permit2_proxy($1, $2, $3)")
                .bind(self.chain_id)
                .bind(batch.from as i64)
                .bind(batch.to as i64)
                .execute(&mut *tx)
                .await?;
        }
        // EIP-3009 authorizations executed through the settlement contract: one event each too.
        if !batch.rows.authorization_charges.is_empty() {
            sqlx::query("SELECT fold_authorization_charges($1, $2, $3)")
                .bind(self.chain_id)
                .bind(batch.from as i64)
                .bind(batch.to as i64)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(predecessor) = predecessor {
            // Err: the previous commit gave up before locking; the check below then fails.
            predecessor.await.ok();
        }
        // Locks the checkpoint row: two indexers on one chain (or two overlapping commits)
        // serialize here, and whoever finds the checkpoint moved gives up.
        let row = sqlx::query(
            "SELECT block_number, block_hash FROM checkpoint WHERE chain_id = $1 FOR UPDATE",
        )
        .bind(self.chain_id)
        .fetch_optional(&mut *tx)
        .await?;
        let found = row.map(|r| Checkpoint {
            block_number: r.get(0),
            block_hash: b256(r.get::<Vec<u8>, _>(1)),
        });
        if found != Some(prev) {
            return Err(StoreError::CheckpointMoved {
                expected: prev.block_number,
                found: found.map(|c| c.block_number),
            });
        }
        sqlx::query("UPDATE checkpoint SET block_number = $2, block_hash = $3, updated_at = now() WHERE chain_id = $1")
            .bind(self.chain_id)
            .bind(batch.to as i64)
            .bind(batch.to_hash.to_vec())
            .execute(&mut *tx)
            .await?;
        if let Some(locked) = locked {
            locked.send(()).ok();
        }
        // Escrow lifecycles are recomputed from the whole history, now including every earlier range.
        let escrows = batch.rows.touched_escrow_ids();
        if !escrows.is_empty() {
            sqlx::query("SELECT recompute_payments($1, $2)")
                .bind(self.chain_id)
                .bind(columns::hashes(&escrows))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM blocks WHERE chain_id = $1 AND number < $2 AND log_count = 0")
            .bind(self.chain_id)
            .bind(batch.to as i64 - reorg_window as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rolls everything above `ancestor` back in one transaction: deletes event rows and blocks,
    /// recomputes the payments they touched from the remaining history, and moves the checkpoint
    /// from `expected` to (`ancestor`, `ancestor_hash`).
    pub async fn rollback_to(
        &self,
        expected: Checkpoint,
        ancestor: i64,
        ancestor_hash: B256,
    ) -> Result<RollbackSummary, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE checkpoint SET block_number = $2, block_hash = $3, updated_at = now()
             WHERE chain_id = $1 AND block_number = $4 AND block_hash = $5",
        )
        .bind(self.chain_id)
        .bind(ancestor)
        .bind(ancestor_hash.to_vec())
        .bind(expected.block_number)
        .bind(expected.block_hash.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::CheckpointMoved {
                expected: expected.block_number,
                found: None,
            });
        }
        let mut summary = RollbackSummary::default();
        let mut ids: Vec<Vec<u8>> = Vec::new();
        for table in event_tables() {
            if PAYMENT_TABLES.contains(&table) {
                let deleted: Vec<Vec<u8>> = sqlx::query_scalar(&format!(
                    "DELETE FROM {table} WHERE chain_id = $1 AND block_number > $2 RETURNING payment_id"
                ))
                .bind(self.chain_id)
                .bind(ancestor)
                .fetch_all(&mut *tx)
                .await?;
                summary.rows_deleted += deleted.len() as u64;
                ids.extend(deleted);
            } else if let Some(source) = single_event_source(table) {
                // Their payments have no other event: they go with them.
                let deleted: Vec<Option<Vec<u8>>> = sqlx::query_scalar(&format!(
                    "DELETE FROM {table} WHERE chain_id = $1 AND block_number > $2 RETURNING payment_id"
                ))
                .bind(self.chain_id)
                .bind(ancestor)
                .fetch_all(&mut *tx)
                .await?;
                summary.rows_deleted += deleted.len() as u64;
                let gone: Vec<Vec<u8>> = deleted.into_iter().flatten().collect();
                if !gone.is_empty() {
                    summary.payments_recomputed += gone.len();
                    sqlx::query("DELETE FROM payments WHERE chain_id = $1 AND source = $2 AND payment_id = ANY($3)")
                        .bind(self.chain_id)
                        .bind(source.as_str())
                        .bind(gone)
                        .execute(&mut *tx)
                        .await?;
                }
            } else if table == "authorization_charges" {
                // Their payments have no other event either: they go with them.
                let gone: Vec<Vec<u8>> = sqlx::query_scalar(
                    "DELETE FROM authorization_charges WHERE chain_id = $1 AND block_number > $2 RETURNING payment_id",
                )
                .bind(self.chain_id)
                .bind(ancestor)
                .fetch_all(&mut *tx)
                .await?;
                summary.rows_deleted += gone.len() as u64;
                if !gone.is_empty() {
                    summary.payments_recomputed += gone.len();
                    sqlx::query("DELETE FROM payments WHERE chain_id = $1 AND source = 'settlement_eip3009' AND payment_id = ANY($2)")
                        .bind(self.chain_id)
                        .bind(gone)
                        .execute(&mut *tx)
                        .await?;
                }
            } else {
                summary.rows_deleted += sqlx::query(&format!(
                    "DELETE FROM {table} WHERE chain_id = $1 AND block_number > $2"
                ))
                .bind(self.chain_id)
                .bind(ancestor)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
        }
        ids.sort_unstable();
        ids.dedup();
        summary.payments_recomputed += ids.len();
        if !ids.is_empty() {
            sqlx::query("SELECT recompute_payments($1, $2)")
                .bind(self.chain_id)
                .bind(ids)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM blocks WHERE chain_id = $1 AND number > $2")
            .bind(self.chain_id)
            .bind(ancestor)
            .execute(&mut *tx)
            .await?;
        // The scoped lineage's coverage goes back with the transfers just deleted.
        sqlx::query(
            "UPDATE lineage_wallets SET covered_to = $2 WHERE chain_id = $1 AND covered_to > $2",
        )
        .bind(self.chain_id)
        .bind(ancestor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Row counts of this chain's tables.
    pub async fn counts(&self) -> Result<TableCounts, StoreError> {
        let mut tables = Vec::new();
        for table in event_tables().chain(["blocks", "payments"]) {
            let n: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE chain_id = $1"))
                    .bind(self.chain_id)
                    .fetch_one(&self.pool)
                    .await?;
            tables.push((table, n));
        }
        Ok(TableCounts { tables })
    }
}

fn b256(bytes: Vec<u8>) -> B256 {
    if bytes.len() == 32 {
        B256::from_slice(&bytes)
    } else {
        B256::ZERO
    }
}
