//! Getting sent transactions mined without ever waiting forever.
//!
//! anvil can drop a transaction it accepted: when a block fails to include it (its nonce was
//! taken, its fee cap fell below the base fee), the transaction leaves the pool, and with it every
//! later transaction of the same sender. A loop asking for the receipt then never ends. So every
//! wait here tells a dropped transaction from a slow one (anvil still knows a pending transaction
//! by its hash, not a dropped one) and fails at once, naming the transaction and what it was for.
//!
//! Two ways to get transactions mined:
//! - [`wait_mined`]: anvil mines by itself (automine); waits for every receipt, failing on a
//!   dropped transaction or when no receipt comes for a while.
//! - [`mine_all`]: anvil's automine is off and nothing else mines; mines blocks (`evm_mine`) until
//!   no transaction in the pool is ready, then requires every receipt. Nothing mines while the
//!   transactions are sent, so anvil's nonces for `eth_sendTransaction` and for `pending` counts
//!   come from an idle pool (interval mining races them: see the bench-lineage seeding).

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;

use crate::error::{ChainContext, Error, Result};

/// How often a missing receipt is asked for again.
const POLL: Duration = Duration::from_millis(20);

/// What happened to one transaction, as far as the node tells.
enum Status {
    Mined(Box<TransactionReceipt>),
    /// In the pool, not in a block yet.
    Pending,
    /// Unknown to the node: dropped (or never accepted).
    Unknown,
}

async fn status(provider: &DynProvider, what: &str, hash: B256) -> Result<Status> {
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .chain_context(format!("{what}: reading the receipt of {hash}"))?;
    if let Some(r) = receipt {
        return Ok(Status::Mined(Box::new(r)));
    }
    let tx = provider
        .get_transaction_by_hash(hash)
        .await
        .chain_context(format!("{what}: looking up transaction {hash}"))?;
    if tx.is_some() {
        return Ok(Status::Pending);
    }
    // Mined between the two calls: a block is stored before its transactions leave the pool,
    // so a transaction unknown now but mined shows its receipt on this second look.
    match provider
        .get_transaction_receipt(hash)
        .await
        .chain_context(format!("{what}: reading the receipt of {hash}"))?
    {
        Some(r) => Ok(Status::Mined(Box::new(r))),
        None => Ok(Status::Unknown),
    }
}

fn succeeded(what: &str, receipt: TransactionReceipt) -> Result<TransactionReceipt> {
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(Error::Chain {
            context: what.to_string(),
            message: format!("transaction {} reverted", receipt.transaction_hash),
        })
    }
}

/// Waits until every one of `hashes` (sent for `what`) is mined, and fails if one reverted, was
/// dropped by the node, or when no new receipt came for `stall` (the clock restarts with every
/// receipt, so a long list of slow transactions is fine). Returns the receipts in order.
pub async fn wait_mined(
    provider: &DynProvider,
    what: &str,
    hashes: &[B256],
    stall: Duration,
) -> Result<Vec<TransactionReceipt>> {
    let mut receipts = Vec::with_capacity(hashes.len());
    let mut progress = Instant::now();
    for (i, &hash) in hashes.iter().enumerate() {
        loop {
            match status(provider, what, hash).await? {
                Status::Mined(r) => {
                    receipts.push(succeeded(what, *r)?);
                    progress = Instant::now();
                    break;
                }
                Status::Unknown => {
                    return Err(Error::Dropped {
                        what: format!("{what} (transaction {} of {})", i + 1, hashes.len()),
                        hash,
                    })
                }
                Status::Pending if progress.elapsed() > stall => {
                    return Err(Error::Timeout {
                        what: format!(
                            "{what}: transaction {hash} ({} of {}) to be mined (it is still in \
                             the node's pool)",
                            i + 1,
                            hashes.len()
                        ),
                        after: stall,
                    })
                }
                Status::Pending => tokio::time::sleep(POLL).await,
            }
        }
    }
    Ok(receipts)
}

/// anvil's `txpool_status`: transactions ready for the next block, and queued ones (waiting for
/// an earlier nonce).
async fn pool_counts(provider: &DynProvider) -> Result<(u64, u64)> {
    #[derive(Debug, serde::Deserialize)]
    struct PoolStatus {
        pending: alloy::primitives::U64,
        queued: alloy::primitives::U64,
    }
    let s: PoolStatus = provider
        .raw_request("txpool_status".into(), ())
        .await
        .chain_context("txpool_status")?;
    Ok((s.pending.to(), s.queued.to()))
}

/// With automine off and nothing else mining: mines blocks (`evm_mine`: every ready transaction
/// the block gas limit allows) until no transaction in the pool is ready, then requires a
/// successful receipt for every one of `hashes` (sent for `what`). Returns the blocks mined.
/// Fails, naming the transaction, when one was dropped or is left queued behind a nonce gap, and
/// when a block mined nothing although transactions were ready (a transaction above the block
/// gas limit).
pub async fn mine_all(provider: &DynProvider, what: &str, hashes: &[B256]) -> Result<u64> {
    let mut blocks = 0;
    loop {
        let (ready, _) = pool_counts(provider).await?;
        if ready == 0 {
            break;
        }
        provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .chain_context(format!("{what}: evm_mine"))?;
        blocks += 1;
        let (left, _) = pool_counts(provider).await?;
        if left >= ready {
            return Err(Error::Setup(format!(
                "{what}: a mined block took none of the {ready} ready transactions (one needs more \
                 gas than the block gas limit?)"
            )));
        }
    }
    for (i, &hash) in hashes.iter().enumerate() {
        match status(provider, what, hash).await? {
            Status::Mined(r) => {
                succeeded(what, *r)?;
            }
            Status::Unknown => {
                return Err(Error::Dropped {
                    what: format!("{what} (transaction {} of {})", i + 1, hashes.len()),
                    hash,
                })
            }
            Status::Pending => {
                let (_, queued) = pool_counts(provider).await?;
                return Err(Error::Setup(format!(
                    "{what}: transaction {hash} ({} of {}) is still in the pool after every \
                     ready transaction was mined: it waits for an earlier nonce that no \
                     transaction has ({queued} queued)",
                    i + 1,
                    hashes.len()
                )));
            }
        }
    }
    Ok(blocks)
}
