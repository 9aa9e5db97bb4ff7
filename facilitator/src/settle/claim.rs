//! Stage 2: claim the payment id, so that exactly one request settles a payment. Concurrent or
//! repeated requests for it wait for, or replay, the first one's result.
//!
//! Two marks make a claim: the in-process `inflight` set, then the row in the idempotency store
//! (`INSERT … ON CONFLICT DO NOTHING`). The in-process mark is taken first, so a pending row of
//! ours that is not marked was abandoned (an unmined transaction, a crash) and can be recovered
//! from the chain before anything is re-submitted.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

use alloy::primitives::{Address, B256};

use super::payment::Prepared;
use super::Settler;
use crate::reason::{Reason, Rejected};
use crate::store::{Claim, Record, StoreError};
use crate::wire::SettleResponse;

/// This request's in-process mark on a claimed payment, removed when the request is done (its
/// row in the store is marked settled or released by the record stage).
pub(super) struct Claimed<'a> {
    set: &'a Mutex<HashSet<B256>>,
    id: B256,
}

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        self.set.lock().expect("inflight lock").remove(&self.id);
    }
}

impl Settler {
    /// Claims the payment for this request, or answers the request from whoever claimed it first
    /// (waiting for it up to `duplicate_wait`).
    pub(super) async fn claim(&self, p: &Prepared) -> Result<Claimed<'_>, SettleResponse> {
        let id = p.payment.id();
        let payer = p.payment.payer();
        let network = self.verifier.network();
        let wait_until = Instant::now() + self.cfg.duplicate_wait;
        let in_progress = || {
            self.refused(Rejected::of_payment(
                payer,
                id,
                Reason::UnexpectedSettleError,
                "the first settle request for this payment is still in progress; retry later",
            ))
        };
        loop {
            if !self.inflight.lock().expect("inflight lock").insert(id) {
                // Another request of this process is settling it: wait for its result.
                match self.store.get(id).await {
                    Ok(Some(r)) if r.settled => return Err(self.replay(&r)),
                    Ok(_) => {}
                    Err(e) => return Err(self.store_failed(e, payer, id)),
                }
                if Instant::now() > wait_until {
                    return Err(in_progress());
                }
                tokio::time::sleep(self.cfg.receipt_poll / 2).await;
                continue;
            }
            let claimed = Claimed {
                set: &self.inflight,
                id,
            };
            let claim = self
                .store
                .claim(
                    id,
                    p.payment.kind(),
                    payer,
                    p.payment.amount(),
                    p.evidence,
                    &network,
                )
                .await
                .map_err(|e| self.store_failed(e, payer, id))?;
            match claim {
                Claim::Mine => return Ok(claimed),
                Claim::Taken(r) if r.settled => return Err(self.replay(&r)),
                Claim::Taken(r) => {
                    // Pending, and nobody in this process works on it: resolve it from the chain.
                    if let Err(e) = self.recover(&r).await {
                        return Err(self.store_failed(e, payer, id));
                    }
                    drop(claimed);
                    if Instant::now() > wait_until {
                        return Err(in_progress());
                    }
                    tokio::time::sleep(self.cfg.receipt_poll / 2).await;
                }
            }
        }
    }

    /// The answer of a payment already settled, from its row.
    fn replay(&self, r: &Record) -> SettleResponse {
        self.metrics.settle_replayed.inc();
        SettleResponse {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some(r.payer),
            transaction: r.tx_hash.map(|h| h.to_string()).unwrap_or_default(),
            network: r.network.clone(),
            amount: Some(r.amount.to_string()),
            payment_id: Some(r.payment_id),
            batch_id: r.batch_id.filter(|b| !b.is_zero()).map(|b| b.to_string()),
        }
    }

    fn store_failed(&self, e: StoreError, payer: Address, id: B256) -> SettleResponse {
        tracing::error!(payment_id = %id, error = %e, "idempotency store failed");
        self.refused(Rejected::of_payment(
            payer,
            id,
            Reason::UnexpectedSettleError,
            e.to_string(),
        ))
    }
}
