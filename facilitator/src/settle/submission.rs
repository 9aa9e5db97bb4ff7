//! Stage 4: submit a claimed, chain-checked payment, through the batcher (our own charges, when
//! batching) or as its own transaction, and say what that came to: an [`Outcome`] for the record
//! stage.

use alloy::primitives::{B256, U256};
use alloy::rpc::types::TransactionReceipt;

use super::payment::{Prepared, Transaction};
use super::Settler;
use crate::batcher::BatchResult;
use crate::reason::{Reason, Refusal, Rejected};
use crate::submit::SubmitError;

/// What settling a claimed payment came to.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Mined: the payment is settled.
    Settled {
        /// The transaction.
        tx: B256,
        /// Gross amount charged.
        amount: U256,
        /// The batch, when batched.
        batch_id: Option<U256>,
    },
    /// This attempt charged nothing, so the claim is released and the payer may retry.
    NotCharged {
        /// Why.
        refusal: Refusal,
        /// The transaction, when one was mined.
        tx: Option<B256>,
        /// Whether a transaction of ours may have settled the payment before (an earlier attempt
        /// answered `settlement_pending`, a process that crashed before recording): that
        /// settlement is the answer, if the chain has it.
        maybe_settled_before: bool,
    },
    /// Perhaps charged, not known yet: the claim stays, and the same request retried answers the
    /// outcome.
    Unresolved {
        /// Why.
        refusal: Refusal,
        /// The last transaction sent, if any.
        tx: Option<B256>,
    },
}

impl Outcome {
    /// The payment failed its chain checks after the claim: nothing was submitted. A used nonce
    /// may be our own settlement, made before a crash or by a transaction not yet recorded.
    pub fn refused(rejected: Rejected) -> Self {
        let maybe_settled_before = matches!(
            rejected.refusal.reason,
            Reason::NonceAlreadyUsed | Reason::Eip3009NonceUsed | Reason::Permit2InvalidNonce
        );
        Outcome::NotCharged {
            refusal: rejected.refusal,
            tx: None,
            maybe_settled_before,
        }
    }

    fn not_charged(reason: Reason, message: String, tx: Option<B256>, before: bool) -> Self {
        Outcome::NotCharged {
            refusal: Refusal::new(reason, message),
            tx,
            maybe_settled_before: before,
        }
    }

    /// What the batcher answered for one item.
    fn of_batch(result: BatchResult) -> Self {
        match result {
            BatchResult::Settled {
                tx,
                batch_id,
                amount,
            } => Outcome::Settled {
                tx,
                amount,
                batch_id: Some(batch_id),
            },
            BatchResult::ItemFailed { tx, reason } => Outcome::not_charged(
                Reason::InvalidTransactionState,
                format!("the batch skipped this payment: {reason}"),
                Some(tx),
                true,
            ),
            BatchResult::Reverted { tx } => Outcome::not_charged(
                Reason::InvalidTransactionState,
                "the batch transaction reverted".into(),
                Some(tx),
                false,
            ),
            BatchResult::Error {
                message,
                maybe_mined: false,
            } => Outcome::not_charged(Reason::UnexpectedSettleError, message, None, false),
            BatchResult::Error {
                message,
                maybe_mined: true,
            } => Outcome::Unresolved {
                refusal: Refusal::new(Reason::UnexpectedSettleError, message),
                tx: None,
            },
        }
    }

    /// What sending `t`, settling `amount`, came to.
    fn of_transaction(
        t: &Transaction,
        amount: U256,
        result: Result<TransactionReceipt, SubmitError>,
    ) -> Self {
        let label = t.label;
        match result {
            Ok(receipt) if receipt.status() => Outcome::Settled {
                tx: receipt.transaction_hash,
                amount,
                batch_id: None,
            },
            // Another transaction of ours (an earlier attempt answered `settlement_pending`) may
            // have settled it first: that settlement is the answer, not the revert.
            Ok(receipt) => Outcome::not_charged(
                t.reverted,
                format!("{label} reverted on chain"),
                Some(receipt.transaction_hash),
                true,
            ),
            Err(SubmitError::WouldRevert { reason, .. }) => Outcome::not_charged(
                t.reverted,
                format!("{label} would revert: {reason}"),
                None,
                true,
            ),
            Err(e @ SubmitError::Send { .. }) => {
                Outcome::not_charged(Reason::UnexpectedSettleError, e.to_string(), None, false)
            }
            // Sent but not mined yet: x402's `settlement_pending`, which the SDK retries once.
            Err(e @ SubmitError::NotMined { .. }) => {
                let last = match &e {
                    SubmitError::NotMined { hashes, .. } => hashes.last().copied(),
                    _ => None,
                };
                Outcome::Unresolved {
                    refusal: Refusal::new(Reason::SettlementPending, e.to_string()),
                    tx: last,
                }
            }
        }
    }
}

impl Settler {
    /// Submits the payment and waits for its receipt (or its batch's).
    pub(super) async fn submit(&self, p: &Prepared) -> Outcome {
        let id = p.payment.id();
        if let (Some(batcher), Some(item)) = (&self.batcher, p.payment.batch_item(p.evidence)) {
            return Outcome::of_batch(batcher.settle(item, id).await);
        }
        let t = p
            .payment
            .transaction(p.evidence, self.verifier.contracts().settlement);
        let result = self
            .submitter
            .submit(t.label, t.to, t.calldata.clone())
            .await;
        Outcome::of_transaction(&t, p.payment.amount(), result)
    }
}
