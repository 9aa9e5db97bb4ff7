//! Stage 5: record what settling came to in the idempotency store, and answer it. A settlement is
//! marked settled with its transaction; a failure that charged nothing releases the claim (unless
//! the chain shows our own earlier settlement of it); an unresolved one keeps the claim, so the
//! same request retried answers the outcome.

use alloy::primitives::{Address, B256, U256};

use super::payment::Prepared;
use super::submission::Outcome;
use super::Settler;
use crate::reason::Refusal;
use crate::wire::SettleResponse;

impl Settler {
    /// Records `outcome` and answers the request.
    pub(super) async fn record(&self, p: &Prepared, outcome: Outcome) -> SettleResponse {
        let id = p.payment.id();
        let payer = p.payment.payer();
        match outcome {
            Outcome::Settled {
                tx,
                amount,
                batch_id,
            } => {
                self.record_settled(id, payer, tx, amount, batch_id, p.evidence)
                    .await
            }
            Outcome::NotCharged {
                refusal,
                tx,
                maybe_settled_before,
            } => {
                if maybe_settled_before {
                    if let Some(done) = self.settled_by_us(id, p.payment.kind(), payer).await {
                        return done;
                    }
                }
                let _ = self.store.release(id).await;
                self.failed(p, refusal, tx)
            }
            Outcome::Unresolved { refusal, tx } => self.failed(p, refusal, tx),
        }
    }

    /// Marks the payment settled and answers its settlement.
    pub(super) async fn record_settled(
        &self,
        id: B256,
        payer: Address,
        tx: B256,
        amount: U256,
        batch_id: Option<U256>,
        evidence: B256,
    ) -> SettleResponse {
        if let Err(e) = self.store.mark_settled(id, tx, amount, batch_id).await {
            // The chain is the truth: the payment is settled even if recording it failed; a
            // retry finds it through the chain's events.
            tracing::error!(payment_id = %id, %tx, error = %e, "settled but not recorded");
        }
        tracing::info!(payment_id = %id, %payer, %tx, %amount, evidence = %evidence, "payment settled");
        SettleResponse {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some(payer),
            transaction: tx.to_string(),
            network: self.verifier.network(),
            amount: Some(amount.to_string()),
            payment_id: Some(id),
            batch_id: batch_id.filter(|b| !b.is_zero()).map(|b| b.to_string()),
        }
    }

    /// The answer to a claimed payment that did not settle (`tx`: the transaction, if any).
    fn failed(&self, p: &Prepared, refusal: Refusal, tx: Option<B256>) -> SettleResponse {
        SettleResponse {
            success: false,
            error_reason: Some(refusal.reason.code().into()),
            error_message: Some(refusal.message),
            payer: Some(p.payment.payer()),
            transaction: tx.map(|t| t.to_string()).unwrap_or_default(),
            network: self.verifier.network(),
            amount: None,
            payment_id: Some(p.payment.id()),
            batch_id: None,
        }
    }
}
