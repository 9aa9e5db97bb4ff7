//! Who sent the transactions behind the payments whose facilitator is only the transaction's
//! sender (EIP-3009 authorizations, x402 Permit2 proxy settlements): from the block's
//! transactions when they were fetched, else from the receipts, each checked to sit in the block
//! the range holds. In scoped lineage, also the token `Transfer`s a proxy settlement pairs with,
//! which the sweep does not fetch.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolEvent;
use x402_bindings::IERC20;

use super::fetch::{receipt_in_block, Fetcher};
use super::SyncError;
use crate::decode::Rows;
use crate::rpc::BlockTx;

/// Transaction hash -> (sender, recipient).
pub type Senders = HashMap<B256, (Address, Option<Address>)>;

/// How x402 Permit2 proxy settlements become payments.
#[derive(Debug, Clone)]
pub struct Permit2ProxyScope {
    /// Known facilitator addresses (recorded as `facilitator_listed`, not required).
    pub facilitators: HashSet<Address>,
    /// Scoped lineage, where the sweep fetches no `Transfer`: the payment tokens whose `Transfer`s
    /// in the settlements' transactions are asked for by block hash. Empty when the sweep fetches
    /// every `Transfer` (full lineage).
    pub transfers_by_block_hash: Vec<Address>,
}

impl Fetcher {
    /// Sender and recipient of each of `wanted` (tx hash, block number, block hash).
    pub(super) async fn tx_senders(
        &self,
        txs: &BTreeMap<u64, Vec<BlockTx>>,
        wanted: &[(B256, u64, B256)],
    ) -> Result<Senders, SyncError> {
        let mut senders = Senders::new();
        let mut receipts: Vec<(B256, u64, B256)> = Vec::new();
        for &(hash, number, block_hash) in wanted {
            match txs
                .get(&number)
                .and_then(|t| t.iter().find(|t| t.hash == hash))
            {
                Some(tx) => {
                    senders.insert(hash, (tx.from, tx.to));
                }
                None => receipts.push((hash, number, block_hash)),
            }
        }
        if !receipts.is_empty() {
            let hashes: Vec<B256> = receipts.iter().map(|r| r.0).collect();
            for ((hash, number, block_hash), outcome) in receipts
                .into_iter()
                .zip(self.client.receipts(&hashes).await?)
            {
                let o = receipt_in_block(&hash, outcome, number, block_hash)?;
                senders.insert(hash, (o.from, o.to));
            }
        }
        Ok(senders)
    }

    /// Scoped lineage: adds to `rows` the payment-token `Transfer`s of the proxy settlements'
    /// transactions, from the settlements' blocks asked for by block hash (the node answers a
    /// block's complete set of logs, or an error), so the pairing sees every `Transfer` full
    /// indexing would see, and the payers and payees become lineage wallets through `payments`.
    /// Transfers the range already holds are not added twice.
    pub(super) async fn add_proxy_transfers(
        &self,
        scope: &Permit2ProxyScope,
        rows: &mut Rows,
    ) -> Result<(), SyncError> {
        if scope.transfers_by_block_hash.is_empty() || rows.permit2_proxy_settlements.is_empty() {
            return Ok(());
        }
        let txs: HashSet<B256> = rows
            .permit2_proxy_settlements
            .iter()
            .map(|s| s.meta.tx_hash)
            .collect();
        let mut blocks: Vec<(u64, B256, u64)> = rows
            .permit2_proxy_settlements
            .iter()
            .map(|s| (s.meta.block_number, s.meta.block_hash, s.meta.block_time))
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        let hashes: Vec<(u64, B256)> = blocks.iter().map(|&(n, h, _)| (n, h)).collect();
        let found = self
            .client
            .logs_by_block_hash(
                &hashes,
                &scope.transfers_by_block_hash,
                &[IERC20::Transfer::SIGNATURE_HASH],
            )
            .await?;
        let held: HashSet<(u64, u64)> = rows
            .token_transfers
            .iter()
            .map(|t| (t.meta.block_number, t.meta.log_index))
            .collect();
        for ((number, _, time), logs) in blocks.iter().zip(found) {
            for log in logs {
                let in_settlement = log.transaction_hash.is_some_and(|h| txs.contains(&h));
                if in_settlement && !held.contains(&(*number, log.log_index.unwrap_or_default())) {
                    self.decoder.decode(&log, *time, rows);
                }
            }
        }
        Ok(())
    }

    /// Pairs the range's proxy settlements with their Transfers and fills in each transaction's
    /// sender and recipient.
    pub(super) async fn resolve_permit2_proxy(
        &self,
        scope: &Permit2ProxyScope,
        txs: &BTreeMap<u64, Vec<BlockTx>>,
        rows: &mut Rows,
    ) -> Result<(), SyncError> {
        if rows.permit2_proxy_settlements.is_empty() {
            return Ok(());
        }
        let mut wanted: Vec<(B256, u64, B256)> = rows
            .permit2_proxy_settlements
            .iter()
            .map(|s| (s.meta.tx_hash, s.meta.block_number, s.meta.block_hash))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let senders = self.tx_senders(txs, &wanted).await?;
        let missing = rows.resolve_permit2_proxy(&senders, &scope.facilitators);
        if let Some(h) = missing.first() {
            return Err(SyncError::ChainChanged(format!(
                "transaction {h} of an x402 Permit2 proxy log is not in its block"
            )));
        }
        Ok(())
    }
}
