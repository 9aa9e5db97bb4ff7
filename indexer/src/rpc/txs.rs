//! Transactions and receipts, of any type.
//!
//! Chains add their own transaction types (OP-stack chains such as Base put a deposit
//! transaction, type `0x7e`, first in every block; others have theirs), so nothing here insists
//! on knowing a type:
//! - block transactions are read as raw JSON into [`BlockTx`], only the fields every type carries
//!   (`hash`, `from`, `to`, `value`, `transactionIndex`, `type`); the rest, such as calldata, is
//!   skipped unparsed, which also keeps full blocks cheap to read;
//! - receipts are read with alloy's `AnyNetwork` receipt type ([`AnyTransactionReceipt`]), which
//!   decodes any type byte and keeps unknown fields aside.

use alloy::network::AnyTransactionReceipt;
use alloy::primitives::{Address, Bloom, B256, U256, U64};
use alloy::rpc::types::TransactionReceipt;
use serde::Deserialize;

use super::{classify, BlockHeader, ChainClient, RpcError};

/// A transaction as listed in a block: the fields every transaction type has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockTx {
    /// Transaction hash.
    pub hash: B256,
    /// Sender (for an OP deposit: the L1 sender or its alias).
    pub from: Address,
    /// Recipient; `None` for a contract creation.
    #[serde(default)]
    pub to: Option<Address>,
    /// Native currency moved from `from` to `to` (absent on some types: zero).
    #[serde(default)]
    pub value: U256,
    /// Position in the block.
    #[serde(with = "alloy::serde::quantity")]
    pub transaction_index: u64,
    /// EIP-2718 type (0 legacy, 2 EIP-1559, 0x7e OP deposit, ...); absent on pre-typed nodes.
    #[serde(rename = "type", default, with = "alloy::serde::quantity::opt")]
    pub tx_type: Option<u64>,
}

/// A block with its transactions (`eth_getBlockByNumber(n, true)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullBlock {
    /// Block number.
    #[serde(with = "alloy::serde::quantity")]
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Unix timestamp in seconds.
    #[serde(with = "alloy::serde::quantity")]
    pub timestamp: u64,
    /// Bloom over the block's logs.
    pub logs_bloom: Bloom,
    /// The transactions, in block order.
    pub transactions: Vec<BlockTx>,
}

impl FullBlock {
    /// The header part.
    pub fn header(&self) -> BlockHeader {
        BlockHeader {
            number: self.number,
            hash: self.hash,
            parent_hash: self.parent_hash,
            timestamp: self.timestamp,
            logs_bloom: self.logs_bloom,
        }
    }
}

/// What the indexer needs from a receipt: where the transaction landed, who sent it, whether it
/// succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOutcome {
    /// Transaction hash.
    pub hash: B256,
    /// Block hash.
    pub block_hash: B256,
    /// Block number.
    pub block_number: u64,
    /// Position in the block.
    pub transaction_index: u64,
    /// Sender.
    pub from: Address,
    /// Recipient (`None` for a contract creation).
    pub to: Option<Address>,
    /// Status 1 (a reverted transaction moved no value).
    pub success: bool,
    /// EIP-2718 type byte as the node reported it.
    pub tx_type: u8,
}

impl TxOutcome {
    /// Reads an `AnyNetwork` receipt; `None` when it lacks its block (a pending transaction).
    pub fn from_receipt(r: &AnyTransactionReceipt) -> Option<Self> {
        let inner: &TransactionReceipt<_> = &r.inner;
        Some(Self {
            hash: inner.transaction_hash,
            block_hash: inner.block_hash?,
            block_number: inner.block_number?,
            transaction_index: inner.transaction_index?,
            from: inner.from,
            to: inner.to,
            success: inner.inner.inner.receipt.status.coerce_status(),
            tx_type: inner.inner.r#type,
        })
    }
}

impl ChainClient {
    /// Blocks `numbers` with their transactions, batched, retried. A block the node does not have
    /// is `None`.
    pub async fn full_blocks(&self, numbers: &[u64]) -> Result<Vec<Option<FullBlock>>, RpcError> {
        let mut out = Vec::with_capacity(numbers.len());
        // Full blocks are much larger than headers: smaller batches.
        let size = (self.header_batch_size / 5).max(1);
        for chunk in numbers.chunks(size) {
            let got = self
                .retrying("blocks with transactions", || async {
                    self.metrics
                        .rpc_requests
                        .with_label_values(&["eth_getBlockByNumber"])
                        .inc_by(chunk.len() as u64);
                    let mut batch = self.client.new_batch();
                    let mut waiters = Vec::with_capacity(chunk.len());
                    for n in chunk {
                        waiters.push(
                            batch
                                .add_call::<_, Option<FullBlock>>(
                                    "eth_getBlockByNumber",
                                    &(U64::from(*n), true),
                                )
                                .map_err(|e| classify(e, false))?,
                        );
                    }
                    batch.send().await.map_err(|e| classify(e, false))?;
                    let mut blocks = Vec::with_capacity(chunk.len());
                    for (n, w) in chunk.iter().zip(waiters) {
                        let block = w.await.map_err(|e| classify(e, false))?;
                        if let Some(b) = &block {
                            check_block(*n, b)?;
                        }
                        blocks.push(block);
                    }
                    Ok(blocks)
                })
                .await?;
            out.extend(got);
        }
        Ok(out)
    }

    /// Receipts of `hashes`, batched, retried. A transaction the node does not know (not mined,
    /// dropped by a reorg, or a node behind the head) is `None`.
    pub async fn receipts(&self, hashes: &[B256]) -> Result<Vec<Option<TxOutcome>>, RpcError> {
        let mut out = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(self.header_batch_size) {
            let got = self
                .retrying("receipts", || async {
                    self.metrics
                        .rpc_requests
                        .with_label_values(&["eth_getTransactionReceipt"])
                        .inc_by(chunk.len() as u64);
                    let mut batch = self.client.new_batch();
                    let mut waiters = Vec::with_capacity(chunk.len());
                    for h in chunk {
                        waiters.push(
                            batch
                                .add_call::<_, Option<AnyTransactionReceipt>>(
                                    "eth_getTransactionReceipt",
                                    &(*h,),
                                )
                                .map_err(|e| classify(e, false))?,
                        );
                    }
                    batch.send().await.map_err(|e| classify(e, false))?;
                    let mut outcomes = Vec::with_capacity(chunk.len());
                    for (h, w) in chunk.iter().zip(waiters) {
                        let receipt = w.await.map_err(|e| classify(e, false))?;
                        let outcome = receipt.as_ref().and_then(TxOutcome::from_receipt);
                        if let Some(o) = &outcome {
                            if o.hash != *h {
                                return Err(RpcError::invalid(format!(
                                    "asked for the receipt of {h}, got {}",
                                    o.hash
                                )));
                            }
                        }
                        outcomes.push(outcome);
                    }
                    Ok(outcomes)
                })
                .await?;
            out.extend(got);
        }
        Ok(out)
    }
}

/// A full block must be the one asked for, its transactions in order.
fn check_block(n: u64, b: &FullBlock) -> Result<(), RpcError> {
    if b.number != n {
        return Err(RpcError::invalid(format!(
            "asked for block {n}, got block {}",
            b.number
        )));
    }
    for (i, tx) in b.transactions.iter().enumerate() {
        if tx.transaction_index != i as u64 {
            return Err(RpcError::invalid(format!(
                "block {n}: transaction {} is listed at position {i} but says index {}",
                tx.hash, tx.transaction_index
            )));
        }
    }
    Ok(())
}
