//! Storage of the scoped funding lineage: the tracked wallets (`lineage_wallets`), their depth,
//! how far each one's transfers are stored, and the transaction that writes a chunk's transfers
//! together with its new coverage (so a restart resumes exactly where the last chunk ended).

use alloy::primitives::Address;
use sqlx::Row;

use super::{Checkpoint, Store, StoreError};
use crate::decode::Rows;

/// Wallets whose stored history ends at the same block: fetched together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingGroup {
    /// Their history is stored up to this block (`start_block - 1`: nothing yet).
    pub covered_to: i64,
    /// The wallets, in address order.
    pub wallets: Vec<Address>,
}

impl Store {
    /// Tracks payers, payees and declared wallets (and their payees) at depth 0: new ones with no
    /// history (`covered_to = start_block - 1`), known ones moved up to depth 0. `skip` (the zero
    /// address, the settlement contract) is never tracked. Returns how many rows changed.
    pub async fn lineage_seed(
        &self,
        start_block: u64,
        skip: &[Address],
    ) -> Result<u64, StoreError> {
        let n = sqlx::query(
            "INSERT INTO lineage_wallets (chain_id, address, depth, covered_to)
             SELECT $1, x.a, 0, $2 FROM (
                 SELECT payer AS a FROM payments WHERE chain_id = $1
                 UNION SELECT payee FROM payments WHERE chain_id = $1
                 UNION SELECT wallet FROM declared_wallets WHERE chain_id = $1
                 UNION SELECT payee FROM declared_wallets WHERE chain_id = $1
             ) x
             WHERE x.a <> ALL($3)
             ON CONFLICT (chain_id, address) DO UPDATE SET depth = 0
             WHERE lineage_wallets.depth > 0",
        )
        .bind(self.chain_id)
        .bind(start_block as i64 - 1)
        .bind(skip.iter().map(|a| a.to_vec()).collect::<Vec<_>>())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }

    /// One expansion step: every sender of a stored token or native transfer into a tracked wallet
    /// of depth < `max_depth` becomes tracked at that depth + 1 (or moves up to it). Labelled
    /// wallets (registry roles; exchanges, bridges and ecosystem wallets imported from the
    /// classifier's label file) and `skip` stay untracked: the classifier judges them by their
    /// label, not their history. Derived from the stored rows only, so
    /// it is idempotent and a restart recomputes the same set. Returns how many rows changed.
    pub async fn lineage_expand(
        &self,
        max_depth: u32,
        start_block: u64,
        skip: &[Address],
    ) -> Result<u64, StoreError> {
        // Wallets the classifier judges by their label: registry roles, and exchanges, bridges
        // and ecosystem wallets of its imported label file (its table, when it exists here).
        let file_labels: bool =
            sqlx::query_scalar("SELECT to_regclass('label_file_entries') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let file_stop = if file_labels {
            "AND NOT EXISTS (SELECT 1 FROM label_file_entries f WHERE f.chain_id = $1
                             AND f.address = s.a AND f.kind IN ('exchange', 'bridge', 'ecosystem'))"
        } else {
            ""
        };
        let n = sqlx::query(&format!(
            "WITH senders AS (
                 SELECT t.from_address AS a, w.depth + 1 AS depth
                 FROM lineage_wallets w
                 JOIN token_transfers t ON t.chain_id = w.chain_id AND t.to_address = w.address
                 WHERE w.chain_id = $1 AND w.depth < $2
                 UNION ALL
                 SELECT n.from_address, w.depth + 1
                 FROM lineage_wallets w
                 JOIN native_transfers n ON n.chain_id = w.chain_id AND n.to_address = w.address
                 WHERE w.chain_id = $1 AND w.depth < $2
             )
             INSERT INTO lineage_wallets (chain_id, address, depth, covered_to)
             SELECT $1, s.a, min(s.depth), $3 FROM senders s
             WHERE s.a <> ALL($4)
               AND NOT EXISTS (SELECT 1 FROM registry_labels l
                               WHERE l.chain_id = $1 AND l.wallet = s.a)
               {file_stop}
             GROUP BY s.a
             ON CONFLICT (chain_id, address) DO UPDATE SET depth = EXCLUDED.depth
             WHERE lineage_wallets.depth > EXCLUDED.depth"
        ))
        .bind(self.chain_id)
        .bind(max_depth as i32)
        .bind(start_block as i64 - 1)
        .bind(skip.iter().map(|a| a.to_vec()).collect::<Vec<_>>())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Tracked wallets whose history is stored below `upto`, grouped by where it ends (oldest
    /// first).
    pub async fn lineage_pending(&self, upto: i64) -> Result<Vec<PendingGroup>, StoreError> {
        let rows = sqlx::query(
            "SELECT covered_to, array_agg(address ORDER BY address)
             FROM lineage_wallets WHERE chain_id = $1 AND covered_to < $2
             GROUP BY covered_to ORDER BY covered_to",
        )
        .bind(self.chain_id)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let wallets: Vec<Vec<u8>> = r.try_get(1)?;
            out.push(PendingGroup {
                covered_to: r.try_get(0)?,
                wallets: wallets
                    .into_iter()
                    .filter(|w| w.len() == 20)
                    .map(|w| Address::from_slice(&w))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Writes the transfers of `wallets` and moves their coverage from `from_covered` to the
    /// checkpoint `cp`, in one transaction, provided the checkpoint is still `cp` (a reorg or
    /// another writer in between: [`StoreError::CheckpointMoved`], nothing written). Rows already
    /// stored (a transfer between two tracked wallets, or the range's own rows) are kept once.
    pub async fn lineage_commit(
        &self,
        cp: Checkpoint,
        from_covered: i64,
        wallets: &[Address],
        rows: &Rows,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let here: Option<i64> = sqlx::query_scalar(
            "SELECT block_number FROM checkpoint
             WHERE chain_id = $1 AND block_number = $2 AND block_hash = $3 FOR SHARE",
        )
        .bind(self.chain_id)
        .bind(cp.block_number)
        .bind(cp.block_hash.to_vec())
        .fetch_optional(&mut *tx)
        .await?;
        if here.is_none() {
            return Err(StoreError::CheckpointMoved {
                expected: cp.block_number,
                found: None,
            });
        }
        super::write::insert_rows(&mut tx, self.chain_id, rows).await?;
        sqlx::query(
            "UPDATE lineage_wallets SET covered_to = $2
             WHERE chain_id = $1 AND covered_to = $3 AND address = ANY($4)",
        )
        .bind(self.chain_id)
        .bind(cp.block_number)
        .bind(from_covered)
        .bind(wallets.iter().map(|a| a.to_vec()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tracked wallets per depth (status and tests).
    pub async fn lineage_depths(&self) -> Result<Vec<(i32, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT depth, count(*) FROM lineage_wallets WHERE chain_id = $1
             GROUP BY depth ORDER BY depth",
        )
        .bind(self.chain_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
