//! Scoped funding lineage (`[lineage] mode = "scoped"`): instead of every `Transfer` of the payment
//! tokens, the indexer stores the transfers from or to the wallets that matter, fetched with
//! address-filtered `eth_getLogs` (topic 1 = `from`, topic 2 = `to`):
//! - payers, payees and declared wallets (depth 0), as payments appear in the main sweep;
//! - every wallet that sent tokens or native currency to a tracked wallet of depth < `depth`
//!   (its funders, then their funders), at depth + 1.
//!
//! Each tracked wallet's history is complete from the start block to its `covered_to`: a newly
//! tracked wallet is backfilled from the start block, known ones follow the checkpoint. A chunk of
//! wallets' transfers and their new coverage are written in one transaction, so a restart resumes
//! where the last chunk ended and rows shared by two wallets are stored once; a reorg lowers the
//! coverage with the rows it deletes (`Store::rollback_to`). Native transfers (top-level
//! transactions with value) of the tracked wallets come from the blocks' transactions, read once
//! per group of wallets sharing a coverage.
//!
//! What lies beyond the depth is in the indexer README ("Scoped lineage").

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;
use x402_bindings::IERC20;

use super::fetch::receipt_in_block;
use super::SyncError;
use crate::decode::{Decoder, NativeTransfer, Rows};
use crate::rpc::{BlockHeader, ChainClient, RpcError};
use crate::store::{Checkpoint, PendingGroup, Store};

/// The scoped lineage of one indexer.
pub struct Lineage {
    /// The chain.
    pub client: ChainClient,
    /// The database.
    pub store: Store,
    /// Payment tokens (their `Transfer`s are fetched).
    pub tokens: Vec<Address>,
    /// Never tracked: the zero address (mints), the settlement contract (payment plumbing).
    pub skip: Vec<Address>,
    /// Funder levels above payers and payees.
    pub depth: u32,
    /// Addresses per topic filter.
    pub chunk: usize,
    /// Largest block span of one request (split further when the node refuses it).
    pub max_span: u64,
    /// Chunks fetched at the same time.
    pub concurrency: usize,
    /// Also native transfers (from the blocks' transactions).
    pub native: bool,
    /// First indexed block.
    pub start_block: u64,
    /// Transfer logs -> rows.
    pub decoder: Decoder,
    /// Shutdown.
    pub cancel: CancellationToken,
}

impl Lineage {
    /// Brings every tracked wallet's history up to the checkpoint `cp`, tracking new payers,
    /// payees and funders until the set is closed under the depth.
    pub async fn catch_up(&self, cp: Checkpoint) -> Result<(), SyncError> {
        if cp.block_number < self.start_block as i64 {
            return Ok(());
        }
        self.store
            .lineage_seed(self.start_block, &self.skip)
            .await?;
        // Value-bearing transactions of the blocks read so far: each expansion round needs the
        // same blocks again for its new wallets.
        let mut seen: Option<ValueTxs> = None;
        loop {
            let started = std::time::Instant::now();
            while self
                .store
                .lineage_expand(self.depth, self.start_block, &self.skip)
                .await?
                > 0
            {}
            let pending = self.store.lineage_pending(cp.block_number).await?;
            tracing::info!(
                groups = pending.len(),
                wallets = pending.iter().map(|g| g.wallets.len()).sum::<usize>(),
                ms = started.elapsed().as_millis() as u64,
                "lineage: expanded"
            );
            if pending.is_empty() {
                return Ok(());
            }
            for group in pending {
                self.fetch_group(cp, group, &mut seen).await?;
            }
        }
    }

    async fn fetch_group(
        &self,
        cp: Checkpoint,
        group: PendingGroup,
        seen: &mut Option<ValueTxs>,
    ) -> Result<(), SyncError> {
        let from = (group.covered_to + 1) as u64;
        let to = cp.block_number as u64;
        let started = std::time::Instant::now();
        let logs_ns = AtomicU64::new(0);
        let commit_ns = AtomicU64::new(0);
        let native_ms = AtomicU64::new(0);
        let stored = AtomicU64::new(0);
        let (logs_ns, commit_ns, native_ms, stored) = (&logs_ns, &commit_ns, &native_ms, &stored);
        // The native-transfer scan (every block's transactions) and the chunks' token logs are
        // fetched at the same time (the node serves both, neither needs the other); a chunk waits
        // for the scan only to commit, so at most `concurrency` chunks are held in memory.
        let (native_tx, native_rx) = tokio::sync::watch::channel(None::<Arc<Vec<NativeTransfer>>>);
        let wallets = &group.wallets;
        let scan = async move {
            let native = if self.native {
                self.native_transfers(from, to, wallets, seen).await?
            } else {
                Vec::new()
            };
            native_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            native_tx.send_replace(Some(Arc::new(native)));
            Ok::<_, SyncError>(())
        };
        let chunks: Vec<&[Address]> = group.wallets.chunks(self.chunk).collect();
        let store = futures::stream::iter(chunks)
            .map(|chunk| {
                let mut native_rx = native_rx.clone();
                async move {
                    if self.cancel.is_cancelled() {
                        return Err(SyncError::Cancelled);
                    }
                    let t = std::time::Instant::now();
                    let mut rows = self.transfers(from, to, chunk).await?;
                    logs_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    // A failed scan ends `scan` with its own error first (`try_join!` polls it
                    // first); the sender is gone only then.
                    let native = native_rx
                        .wait_for(Option::is_some)
                        .await
                        .map_err(|_| {
                            SyncError::Task(
                                "the native-transfer scan ended without a result".into(),
                            )
                        })?
                        .clone()
                        .expect("waited for it");
                    let set: HashSet<&Address> = chunk.iter().collect();
                    rows.native_transfers = native
                        .iter()
                        .filter(|t| set.contains(&t.from) || set.contains(&t.to))
                        .cloned()
                        .collect();
                    let t = std::time::Instant::now();
                    self.store
                        .lineage_commit(cp, group.covered_to, chunk, &rows)
                        .await?;
                    commit_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    stored.fetch_add(rows.len() as u64, Ordering::Relaxed);
                    Ok::<_, SyncError>(())
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .try_collect::<Vec<()>>();
        tokio::try_join!(scan, store)?;
        tracing::info!(
            wallets = group.wallets.len(),
            from,
            to,
            rows = stored.load(Ordering::Relaxed),
            native_ms = native_ms.load(Ordering::Relaxed),
            logs_ms_summed = logs_ns.load(Ordering::Relaxed) / 1_000_000,
            commit_ms_summed = commit_ns.load(Ordering::Relaxed) / 1_000_000,
            ms = started.elapsed().as_millis() as u64,
            "lineage: wallets' transfers stored"
        );
        Ok(())
    }

    /// Token transfers from or to `chunk` in `[from, to]`, decoded with their block times and
    /// checked against the blocks' hashes.
    async fn transfers(&self, from: u64, to: u64, chunk: &[Address]) -> Result<Rows, SyncError> {
        let (sent, received) =
            tokio::try_join!(self.logs(from, to, chunk, 1), self.logs(from, to, chunk, 2))?;
        let mut logs: BTreeMap<(u64, u64), Log> = BTreeMap::new();
        for l in sent.into_iter().chain(received) {
            let key = (
                l.block_number.unwrap_or_default(),
                l.log_index.unwrap_or_default(),
            );
            logs.insert(key, l);
        }
        let numbers: Vec<u64> = logs
            .keys()
            .map(|(n, _)| *n)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let headers: BTreeMap<u64, BlockHeader> = self.headers(&numbers).await?;
        let mut rows = Rows::default();
        for ((n, _), log) in &logs {
            let header = headers[n];
            if log.block_hash != Some(header.hash) {
                return Err(SyncError::ChainChanged(format!(
                    "lineage: log of block {n} has block hash {:?} but the header says {}",
                    log.block_hash, header.hash
                )));
            }
            self.decoder.decode(log, header.timestamp, &mut rows);
        }
        // Only Transfer logs were asked for; anything else is a node bug, not data.
        if let Some(s) = rows.skipped_logs.first() {
            return Err(SyncError::Rpc(RpcError::invalid(format!(
                "lineage: undecodable Transfer log in block {}: {}",
                s.meta.block_number, s.reason
            ))));
        }
        Ok(rows)
    }

    /// `Transfer` logs whose topic `position` (1: from, 2: to) is in `chunk`, over `[from, to]`
    /// in spans of at most `max_span` blocks, halved when the node refuses one.
    fn logs<'a>(
        &'a self,
        from: u64,
        to: u64,
        chunk: &'a [Address],
        position: usize,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Log>, SyncError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut start = from;
            while start <= to {
                let end = start.saturating_add(self.max_span - 1).min(to);
                match self
                    .client
                    .logs_by_party(
                        start,
                        end,
                        &self.tokens,
                        IERC20::Transfer::SIGNATURE_HASH,
                        position,
                        chunk,
                    )
                    .await
                {
                    Ok(logs) => out.extend(logs),
                    Err(RpcError::RangeTooLarge(_) | RpcError::ResponseTooLarge { .. })
                        if end > start =>
                    {
                        let mid = start + (end - start) / 2;
                        out.extend(self.logs(start, mid, chunk, position).await?);
                        out.extend(self.logs(mid + 1, end, chunk, position).await?);
                    }
                    Err(e) => return Err(e.into()),
                }
                start = end + 1;
            }
            Ok(out)
        })
    }

    async fn headers(&self, numbers: &[u64]) -> Result<BTreeMap<u64, BlockHeader>, SyncError> {
        let mut out = BTreeMap::new();
        for (n, h) in numbers.iter().zip(self.client.headers(numbers).await?) {
            let h =
                h.ok_or_else(|| SyncError::ChainChanged(format!("lineage: block {n} is gone")))?;
            out.insert(*n, h);
        }
        Ok(out)
    }

    /// Successful top-level transactions with value between `[from, to]` sent by or to one of
    /// `wallets`: every block's transactions are read (what a plain node offers), unless `seen`
    /// already holds that range's value-bearing transactions; then the candidates' receipts, each
    /// read once while `seen` is kept (a funder's payout is a candidate again as its recipient's).
    async fn native_transfers(
        &self,
        from: u64,
        to: u64,
        wallets: &[Address],
        seen: &mut Option<ValueTxs>,
    ) -> Result<Vec<NativeTransfer>, SyncError> {
        if !seen.as_ref().is_some_and(|s| s.from <= from && s.to >= to) {
            *seen = self.value_txs(from, to).await?;
        }
        let scanned;
        let (all, mut outcomes) = match seen.as_mut() {
            Some(s) => (&s.txs, Some(&mut s.succeeded)),
            // Too many to keep: this call's own scan.
            None => {
                scanned = self.value_txs_unbounded(from, to).await?;
                (&scanned, None)
            }
        };
        let set: HashSet<&Address> = wallets.iter().collect();
        let candidates: Vec<&ValueTx> = all
            .iter()
            .filter(|v| v.block >= from && v.block <= to)
            .filter(|v| set.contains(&v.to) || set.contains(&v.from))
            .collect();
        let unknown: Vec<&ValueTx> = candidates
            .iter()
            .copied()
            .filter(|v| !outcomes.as_ref().is_some_and(|o| o.contains_key(&v.hash)))
            .collect();
        let mut fresh: HashMap<B256, bool> = HashMap::with_capacity(unknown.len());
        if !unknown.is_empty() {
            let hashes: Vec<B256> = unknown.iter().map(|v| v.hash).collect();
            let receipts = self.client.receipts(&hashes).await?;
            for (v, outcome) in unknown.into_iter().zip(receipts) {
                let o = receipt_in_block(&v.hash, outcome, v.block, v.block_hash)?;
                fresh.insert(v.hash, o.success);
            }
        }
        let mut out = Vec::new();
        for v in candidates {
            let succeeded = fresh
                .get(&v.hash)
                .or_else(|| outcomes.as_ref().and_then(|o| o.get(&v.hash)))
                .copied()
                .unwrap_or(false);
            if !succeeded {
                continue;
            }
            out.push(NativeTransfer {
                block_number: v.block,
                block_hash: v.block_hash,
                block_time: v.time,
                tx_hash: v.hash,
                tx_index: v.index,
                from: v.from,
                to: v.to,
                value: v.value,
            });
        }
        if let Some(o) = outcomes.as_mut() {
            o.extend(fresh);
        }
        Ok(out)
    }

    /// [`Self::value_txs_unbounded`], kept only when it stays under [`MAX_VALUE_TXS_KEPT`].
    async fn value_txs(&self, from: u64, to: u64) -> Result<Option<ValueTxs>, SyncError> {
        let txs = self.value_txs_unbounded(from, to).await?;
        Ok((txs.len() <= MAX_VALUE_TXS_KEPT).then_some(ValueTxs {
            from,
            to,
            txs,
            succeeded: HashMap::new(),
        }))
    }

    /// Every top-level transaction with value and a recipient in `[from, to]`, read in steps of
    /// [`NATIVE_BLOCKS_PER_STEP`] blocks, `concurrency` steps at a time (the node serialises and
    /// this process parses big blocks on every core).
    async fn value_txs_unbounded(&self, from: u64, to: u64) -> Result<Vec<ValueTx>, SyncError> {
        let steps: Vec<(u64, u64)> = (from..=to)
            .step_by(NATIVE_BLOCKS_PER_STEP as usize)
            .map(|start| {
                (
                    start,
                    start.saturating_add(NATIVE_BLOCKS_PER_STEP - 1).min(to),
                )
            })
            .collect();
        let parts: Vec<Vec<ValueTx>> = futures::stream::iter(steps)
            .map(|(start, end)| async move {
                if self.cancel.is_cancelled() {
                    return Err(SyncError::Cancelled);
                }
                let numbers: Vec<u64> = (start..=end).collect();
                let mut out = Vec::new();
                for (n, b) in numbers.iter().zip(self.client.full_blocks(&numbers).await?) {
                    let b = b.ok_or_else(|| {
                        SyncError::ChainChanged(format!("lineage: block {n} is gone"))
                    })?;
                    let header = b.header();
                    for t in b.transactions {
                        let Some(recipient) = t.to else { continue };
                        if !t.value.is_zero() {
                            out.push(ValueTx {
                                block: *n,
                                block_hash: header.hash,
                                time: header.timestamp,
                                hash: t.hash,
                                index: t.transaction_index,
                                from: t.from,
                                to: recipient,
                                value: t.value,
                            });
                        }
                    }
                }
                Ok::<_, SyncError>(out)
            })
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// A top-level transaction with value, as read from its block.
struct ValueTx {
    block: u64,
    block_hash: B256,
    time: u64,
    hash: B256,
    index: u64,
    from: Address,
    to: Address,
    value: alloy::primitives::U256,
}

/// The value-bearing transactions of blocks `[from, to]`.
pub(super) struct ValueTxs {
    from: u64,
    to: u64,
    txs: Vec<ValueTx>,
    /// Receipts already read: whether the transaction succeeded (checked against its block).
    succeeded: HashMap<B256, bool>,
}

/// Value-bearing transactions kept between expansion rounds (beyond, each round reads the
/// blocks again: memory stays bounded on a busy chain).
const MAX_VALUE_TXS_KEPT: usize = 1_000_000;

/// Blocks read per step of the native-transfer scan (one batch request; bounds memory with the
/// concurrency). Small enough that a range of a hundred blocks is still read `concurrency` steps
/// at a time (the node builds and this process parses big blocks on every core).
const NATIVE_BLOCKS_PER_STEP: u64 = 25;
