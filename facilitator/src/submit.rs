//! Sends the facilitator's transactions: one local nonce counter (resynchronised from the chain
//! whenever the node disagrees), EIP-1559 fees, re-sending with bumped fees when a transaction
//! stays unmined, and waiting for the receipt.
//!
//! Nonces are assigned under a lock and the transaction is handed to the node before the lock is
//! released, so concurrent settlements (and several batches in flight) get consecutive nonces
//! in the order the node sees them.

use std::time::{Duration, Instant};

use alloy::network::{Ethereum, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxHash};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use tokio::sync::Mutex;

use crate::chain::describe_revert;
use crate::metrics::Metrics;

/// Tuning of the submitter.
#[derive(Debug, Clone)]
pub struct SubmitConfig {
    /// How often receipts are polled.
    pub receipt_poll: Duration,
    /// How long a transaction may stay unmined before it is re-sent with higher fees.
    pub bump_after: Duration,
    /// Most re-sends of one transaction.
    pub max_bumps: u32,
}

/// Why a transaction did not make it on chain.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Gas estimation reverted: the call would fail; nothing was sent.
    #[error("{label} would revert: {reason}")]
    WouldRevert {
        /// The call.
        label: &'static str,
        /// Decoded revert.
        reason: String,
    },
    /// The node refused the transaction or could not be reached.
    #[error("sending {label} failed: {message}")]
    Send {
        /// The call.
        label: &'static str,
        /// Node or transport message.
        message: String,
    },
    /// The transaction stayed unmined through every fee bump.
    #[error("{label} not mined after {bumps} fee bumps (hashes {hashes:?})")]
    NotMined {
        /// The call.
        label: &'static str,
        /// Bumps tried.
        bumps: u32,
        /// Every hash sent.
        hashes: Vec<TxHash>,
    },
}

/// The facilitator's transaction sender.
#[derive(Debug)]
pub struct Submitter {
    provider: DynProvider<Ethereum>,
    from: Address,
    chain_id: u64,
    next_nonce: Mutex<Option<u64>>,
    block_gas: std::sync::OnceLock<u64>,
    cfg: SubmitConfig,
    metrics: Metrics,
}

/// Gas limit headroom over the estimate, in percent: other transactions in the same block can
/// change storage the estimate saw (warm/cold slots, policy buckets).
const GAS_HEADROOM_PERCENT: u64 = 30;

/// Fee increase per re-send, in percent; nodes require at least 10 % to replace a transaction.
const BUMP_PERCENT: u128 = 20;

fn is_nonce_error(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("nonce too low")
        || m.contains("nonce too high")
        || m.contains("invalid nonce")
        || m.contains("already known")
}

impl Submitter {
    /// A submitter sending from `from` through `provider` (which must sign for `from`).
    pub fn new(
        provider: DynProvider<Ethereum>,
        from: Address,
        chain_id: u64,
        cfg: SubmitConfig,
        metrics: Metrics,
    ) -> Self {
        Self {
            provider,
            from,
            chain_id,
            next_nonce: Mutex::new(None),
            block_gas: std::sync::OnceLock::new(),
            cfg,
            metrics,
        }
    }

    /// The sending address.
    pub fn from(&self) -> Address {
        self.from
    }

    /// Sends a call to `to`, re-sending with higher fees while unmined, and returns its receipt
    /// (which may show a revert: the caller decides what that means).
    pub async fn submit(
        &self,
        label: &'static str,
        to: Address,
        input: Bytes,
    ) -> Result<TransactionReceipt, SubmitError> {
        self.submit_with_reserve(label, to, input, 0).await
    }

    /// As [`Self::submit`], with `reserve` gas on top of the measured use: a call whose code
    /// checks `gasleft()` before work it may skip (`chargeBatch` stops before an item unless two
    /// item limits and its reserve are left) needs that much more than one execution used.
    pub async fn submit_with_reserve(
        &self,
        label: &'static str,
        to: Address,
        input: Bytes,
        reserve: u64,
    ) -> Result<TransactionReceipt, SubmitError> {
        let base = TransactionRequest::default()
            .with_from(self.from)
            .with_to(to)
            .with_input(input);
        let block_gas = self.block_gas_limit(label).await?;
        let gas = (self.gas_limit(label, &base).await? + reserve).min(block_gas);
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| SubmitError::Send {
                label,
                message: format!("fee estimate: {e}"),
            })?;
        let mut tx = base
            .with_gas_limit(gas)
            .with_chain_id(self.chain_id)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);

        let (nonce, first) = self.send_new(label, &mut tx).await?;
        let mut hashes = vec![first];
        let mut sent_at = Instant::now();
        let mut bumps = 0u32;
        let mut fee_checked = Instant::now();
        loop {
            tokio::time::sleep(self.cfg.receipt_poll).await;
            for h in hashes.iter().rev() {
                match self.provider.get_transaction_receipt(*h).await {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(tx = %h, error = %e, "receipt poll failed; retrying"),
                }
            }
            let max_fee = tx.max_fee_per_gas.unwrap_or_default();
            // A rising base fee (full blocks) can price a waiting transaction out: checked once a
            // second, and bumped at once rather than after `bump_after`.
            let mut floor = 0u128;
            if fee_checked.elapsed() >= Duration::from_secs(1) {
                fee_checked = Instant::now();
                if let Ok(Some(b)) = self
                    .provider
                    .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                    .await
                {
                    let base = u128::from(b.header.base_fee_per_gas.unwrap_or_default());
                    if base + base / 8 >= max_fee {
                        floor = 2 * base;
                    }
                }
            }
            if floor == 0 && sent_at.elapsed() < self.cfg.bump_after {
                continue;
            }
            if bumps >= self.cfg.max_bumps {
                return Err(SubmitError::NotMined {
                    label,
                    bumps,
                    hashes,
                });
            }
            bumps += 1;
            let tip = tx.max_priority_fee_per_gas.unwrap_or_default();
            let tip = tip + tip * BUMP_PERCENT / 100 + 1;
            tx.set_max_fee_per_gas((max_fee + max_fee * BUMP_PERCENT / 100 + 1).max(floor + tip));
            tx.set_max_priority_fee_per_gas(tip);
            match self.provider.send_transaction(tx.clone()).await {
                Ok(p) => {
                    self.metrics.tx_bumped.inc();
                    tracing::warn!(label, nonce, bump = bumps, tx = %p.tx_hash(), "transaction unmined; re-sent with higher fees");
                    hashes.push(*p.tx_hash());
                }
                // "nonce too low": one of the sent versions was mined meanwhile; keep polling.
                Err(e) if is_nonce_error(&e.to_string()) => {}
                Err(e) => {
                    tracing::warn!(label, nonce, error = %e, "fee bump refused; keeping the earlier transaction")
                }
            }
            sent_at = Instant::now();
        }
    }

    /// The gas limit to send with: the gas one execution uses (`eth_createAccessList` runs the
    /// call once, where `eth_estimateGas` binary-searches with ~25 executions: too slow for a
    /// 100-item batch), plus headroom, never above what a block holds. Nodes without
    /// `eth_createAccessList` get `eth_estimateGas`.
    async fn gas_limit(
        &self,
        label: &'static str,
        tx: &TransactionRequest,
    ) -> Result<u64, SubmitError> {
        let block_gas = self.block_gas_limit(label).await?;
        let revert_of = |e: &alloy::transports::TransportError| -> Result<String, SubmitError> {
            // Only a revert means the call itself would fail; anything else (no gas money,
            // node trouble) is a sending problem.
            match e.as_error_resp() {
                Some(p) => match p.as_revert_data() {
                    Some(d) => Ok(describe_revert(&d)),
                    None if p.message.to_ascii_lowercase().contains("revert") => {
                        Ok(p.message.to_string())
                    }
                    None => Err(SubmitError::Send {
                        label,
                        message: format!("gas estimate: {}", p.message),
                    }),
                },
                None => Err(SubmitError::Send {
                    label,
                    message: e.to_string(),
                }),
            }
        };
        let used = match self.provider.create_access_list(tx).await {
            Ok(r) => match r.error {
                Some(err) if err.to_ascii_lowercase().contains("revert") => {
                    return Err(SubmitError::WouldRevert { label, reason: err })
                }
                Some(err) => {
                    return Err(SubmitError::Send {
                        label,
                        message: format!("gas estimate: {err}"),
                    })
                }
                None => r.gas_used.saturating_to::<u64>(),
            },
            Err(e) if e.as_error_resp().is_some_and(|p| p.code == -32601) => {
                match self.provider.estimate_gas(tx.clone()).await {
                    Ok(g) => g,
                    Err(e) => {
                        return Err(SubmitError::WouldRevert {
                            label,
                            reason: revert_of(&e)?,
                        })
                    }
                }
            }
            Err(e) => {
                return Err(SubmitError::WouldRevert {
                    label,
                    reason: revert_of(&e)?,
                })
            }
        };
        if used > block_gas {
            return Err(SubmitError::Send {
                label,
                message: format!("needs {used} gas, more than a block holds ({block_gas}): settle fewer items per batch"),
            });
        }
        Ok((used + used * GAS_HEADROOM_PERCENT / 100).min(block_gas))
    }

    /// The chain's block gas limit (read once).
    async fn block_gas_limit(&self, label: &'static str) -> Result<u64, SubmitError> {
        if let Some(g) = self.block_gas.get() {
            return Ok(*g);
        }
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| SubmitError::Send {
                label,
                message: format!("reading the block gas limit: {e}"),
            })?
            .ok_or_else(|| SubmitError::Send {
                label,
                message: "the node has no latest block".into(),
            })?;
        Ok(*self.block_gas.get_or_init(|| block.header.gas_limit))
    }

    /// Assigns the next nonce and hands the transaction to the node; resynchronises the nonce
    /// from the chain when the node rejects ours.
    async fn send_new(
        &self,
        label: &'static str,
        tx: &mut TransactionRequest,
    ) -> Result<(u64, TxHash), SubmitError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut guard = self.next_nonce.lock().await;
            let nonce = match *guard {
                Some(n) => n,
                None => {
                    let n = self
                        .provider
                        .get_transaction_count(self.from)
                        .pending()
                        .await
                        .map_err(|e| SubmitError::Send {
                            label,
                            message: format!("nonce lookup: {e}"),
                        })?;
                    self.metrics.nonce_resync.inc();
                    n
                }
            };
            tx.set_nonce(nonce);
            match self.provider.send_transaction(tx.clone()).await {
                Ok(pending) => {
                    *guard = Some(nonce + 1);
                    self.metrics.tx_sent.inc();
                    return Ok((nonce, *pending.tx_hash()));
                }
                Err(e) => {
                    // Whatever happened, our counter may be wrong: read it from the chain next time.
                    *guard = None;
                    let msg = e.to_string();
                    if is_nonce_error(&msg) && attempts < 4 {
                        tracing::warn!(label, nonce, error = %msg, "nonce rejected; resynchronising from the chain");
                        continue;
                    }
                    return Err(SubmitError::Send {
                        label,
                        message: msg,
                    });
                }
            }
        }
    }
}
