//! Batching mode: settlements wait up to `max_wait` (or until `max_items` are queued) and go out
//! together in one `chargeBatch(items, commitEvidenceRoot = true)`. Each waiter gets its own
//! result from the receipt's events: `PaymentCharged` for its payment id, or `BatchItemFailed`
//! with the decoded revert that skipped it.
//!
//! A batch is submitted on its own task, so the next batch starts collecting (and can be sent
//! with the next nonce) while the previous one waits for its block.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolCall;
use tokio::sync::{mpsc, oneshot};
use x402_bindings::X402Settlement;

use crate::chain::describe_revert;
use crate::metrics::Metrics;
use crate::submit::{SubmitError, Submitter};

/// What happened to one batched settlement.
#[derive(Debug, Clone)]
pub enum BatchResult {
    /// Settled in `tx`, batch `batch_id`, for `amount`.
    Settled {
        /// Transaction.
        tx: B256,
        /// Batch id.
        batch_id: U256,
        /// Gross amount charged.
        amount: U256,
    },
    /// The batch was mined but skipped this item.
    ItemFailed {
        /// Transaction.
        tx: B256,
        /// Decoded revert of the item.
        reason: String,
    },
    /// The whole batch transaction reverted (nothing settled).
    Reverted {
        /// Transaction.
        tx: B256,
    },
    /// The batch could not be sent or was not mined.
    Error {
        /// The submit error.
        message: String,
        /// Whether a transaction may still be mined (so the payment must not be retried blindly).
        maybe_mined: bool,
    },
}

struct Job {
    item: x402_bindings::settlement::IX402Settlement::BatchItem,
    payment_id: B256,
    reply: oneshot::Sender<BatchResult>,
}

/// Handle to the batching task.
#[derive(Debug, Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Job>,
}

/// Most gas one `chargeBatch` item may use: a charge with a facilitator fee, the protocol fee and
/// a payee's largest revenue split stays well below it, and no payer-chosen wallet or token can
/// burn more than this at the other items' expense.
pub const BATCH_ITEM_GAS_LIMIT: u32 = 400_000;

/// `chargeBatch` keeps back `BATCH_RESERVE_GAS + BATCH_RESERVE_GAS_PER_ITEM * items` (contract
/// constants) and starts an item only with two item limits left, so a batch is sent with that
/// much more gas than one execution measured.
fn batch_reserve_gas(items: usize) -> u64 {
    100_000 + 1_000 * items as u64 + 2 * u64::from(BATCH_ITEM_GAS_LIMIT)
}

/// Rounds of resubmitting the items a batch did not reach (out of gas before them) before they
/// are answered as failed.
const MAX_BATCH_ROUNDS: usize = 3;

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("payment_id", &self.payment_id)
            .finish()
    }
}

impl Batcher {
    /// Starts the batching task.
    pub fn spawn(
        submitter: Arc<Submitter>,
        settlement: Address,
        max_items: usize,
        max_wait: Duration,
        metrics: Metrics,
    ) -> Self {
        let (queue, rx) = mpsc::channel(max_items.max(1) * 16);
        tokio::spawn(collect(
            rx,
            submitter,
            settlement,
            max_items.max(1),
            max_wait,
            metrics,
        ));
        Self { queue }
    }

    /// Queues one item and waits for its result.
    pub async fn settle(
        &self,
        item: x402_bindings::settlement::IX402Settlement::BatchItem,
        payment_id: B256,
    ) -> BatchResult {
        let (reply, rx) = oneshot::channel();
        if self
            .queue
            .send(Job {
                item,
                payment_id,
                reply,
            })
            .await
            .is_err()
        {
            return BatchResult::Error {
                message: "the batching task stopped".into(),
                maybe_mined: false,
            };
        }
        rx.await.unwrap_or(BatchResult::Error {
            message: "the batching task dropped the item".into(),
            maybe_mined: true,
        })
    }
}

async fn collect(
    mut rx: mpsc::Receiver<Job>,
    submitter: Arc<Submitter>,
    settlement: Address,
    max_items: usize,
    max_wait: Duration,
    metrics: Metrics,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + max_wait;
        while jobs.len() < max_items {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) | Err(_) => break,
            }
        }
        metrics.batch_items.observe(jobs.len() as f64);
        tokio::spawn(submit_batch(
            jobs,
            submitter.clone(),
            settlement,
            metrics.clone(),
        ));
    }
}

/// Submits `jobs` as one batch; the items it did not reach (`attemptedCount < itemCount`: a
/// hostile item burned the gas the others needed) go out again in a new batch, at most
/// [`MAX_BATCH_ROUNDS`] times. Their Permit2 nonces are untouched, so nothing settles twice.
async fn submit_batch(
    jobs: Vec<Job>,
    submitter: Arc<Submitter>,
    settlement: Address,
    metrics: Metrics,
) {
    let mut jobs = jobs;
    for round in 1..=MAX_BATCH_ROUNDS {
        let last = round == MAX_BATCH_ROUNDS;
        jobs = submit_batch_once(jobs, &submitter, settlement, &metrics, last).await;
        if jobs.is_empty() {
            return;
        }
        tracing::warn!(
            left = jobs.len(),
            round,
            "batch stopped before its last items; resubmitting them"
        );
    }
}

/// One `chargeBatch`; answers every job it settled or skipped and returns the jobs it never
/// reached (none when `last`: those are answered as failed).
async fn submit_batch_once(
    jobs: Vec<Job>,
    submitter: &Submitter,
    settlement: Address,
    metrics: &Metrics,
    last: bool,
) -> Vec<Job> {
    let timer = metrics
        .settle_seconds
        .with_label_values(&["batch"])
        .start_timer();
    let items: Vec<_> = jobs.iter().map(|j| j.item.clone()).collect();
    let call = X402Settlement::chargeBatchCall {
        items,
        commitEvidenceRoot: true,
        itemGasLimit: BATCH_ITEM_GAS_LIMIT,
    }
    .abi_encode();
    let count = jobs.len();
    let outcome = submitter
        .submit_with_reserve(
            "chargeBatch",
            settlement,
            call.into(),
            batch_reserve_gas(count),
        )
        .await;
    timer.observe_duration();
    match outcome {
        Ok(receipt) => {
            let results = results_of(&receipt, settlement);
            let tx = receipt.transaction_hash;
            if !receipt.status() {
                metrics
                    .settle_total
                    .with_label_values(&["batch", "reverted"])
                    .inc();
                tracing::error!(%tx, count, "chargeBatch reverted");
            } else {
                metrics
                    .settle_total
                    .with_label_values(&["batch", "mined"])
                    .inc();
                tracing::info!(%tx, count, settled = results.charged.len(), batch_id = %results.batch_id, "batch settled");
            }
            let mut unreached = Vec::new();
            for (index, job) in jobs.into_iter().enumerate() {
                if receipt.status()
                    && !last
                    && (index as u64) >= results.attempted
                    && !results.charged.contains_key(&job.payment_id)
                    && !results.failed.contains_key(&job.payment_id)
                {
                    unreached.push(job);
                    continue;
                }
                let r = if !receipt.status() {
                    BatchResult::Reverted { tx }
                } else if let Some(amount) = results.charged.get(&job.payment_id) {
                    BatchResult::Settled {
                        tx,
                        batch_id: results.batch_id,
                        amount: *amount,
                    }
                } else if let Some(reason) = results.failed.get(&job.payment_id) {
                    BatchResult::ItemFailed {
                        tx,
                        reason: reason.clone(),
                    }
                } else {
                    BatchResult::ItemFailed {
                        tx,
                        reason: "the batch ran out of gas before this payment (not settled)".into(),
                    }
                };
                let _ = job.reply.send(r);
            }
            unreached
        }
        Err(e) => {
            metrics
                .settle_total
                .with_label_values(&["batch", "error"])
                .inc();
            tracing::error!(error = %e, count, "chargeBatch not settled");
            let maybe_mined = matches!(e, SubmitError::NotMined { .. });
            for job in jobs {
                let _ = job.reply.send(BatchResult::Error {
                    message: e.to_string(),
                    maybe_mined,
                });
            }
            Vec::new()
        }
    }
}

/// The per-payment outcome a batch receipt records.
struct BatchEvents {
    batch_id: U256,
    /// Items the contract got to (`BatchSettled.attemptedCount`); the rest never ran.
    attempted: u64,
    charged: HashMap<B256, U256>,
    failed: HashMap<B256, String>,
}

fn results_of(receipt: &TransactionReceipt, settlement: Address) -> BatchEvents {
    let mut out = BatchEvents {
        batch_id: U256::ZERO,
        attempted: u64::MAX,
        charged: HashMap::new(),
        failed: HashMap::new(),
    };
    for log in receipt.inner.logs() {
        if log.address() != settlement {
            continue;
        }
        if let Ok(ev) = log.log_decode::<X402Settlement::PaymentCharged>() {
            let d = ev.inner.data;
            out.batch_id = d.batchId;
            out.charged.insert(d.paymentId, d.amount);
        } else if let Ok(ev) = log.log_decode::<X402Settlement::BatchItemFailed>() {
            let d = ev.inner.data;
            out.batch_id = d.batchId;
            out.failed.insert(d.paymentId, describe_revert(&d.reason));
        } else if let Ok(ev) = log.log_decode::<X402Settlement::BatchSettled>() {
            out.batch_id = ev.inner.data.batchId;
            out.attempted = ev.inner.data.attemptedCount.saturating_to::<u64>();
        }
    }
    out
}
