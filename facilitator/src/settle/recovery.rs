//! Crash recovery: what the chain says about a payment whose claim did not end in a record. A
//! settlement is looked up by its event (`PaymentCharged`, `PaymentAuthorized`,
//! `AuthorizationCharged` by payment id; a proxy payment by its `settle` transaction among the
//! payer's transfers), so a pending claim left by a crashed process, or a transaction of ours
//! that settled while an attempt was answered `settlement_pending`, is answered from the chain
//! and never settled twice (Permit2's and EIP-3009's nonces make a double charge impossible on
//! chain in any case).

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use x402_bindings::X402Settlement;

use super::Settler;
use crate::store::{Kind, Record, StoreError};
use crate::wire::SettleResponse;

/// A settlement found on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnChain {
    /// Transaction.
    pub tx: B256,
    /// Gross amount.
    pub amount: U256,
    /// Batch id (0 when settled alone or authorized).
    pub batch_id: U256,
    /// Facilitator that settled it.
    pub facilitator: Address,
}

impl Settler {
    /// The settlement event of `id` on chain, if it settled through our contract by us.
    pub(super) async fn settled_by_us(
        &self,
        id: B256,
        kind: Kind,
        payer: Address,
    ) -> Option<SettleResponse> {
        let found = self.find_on_chain(id, kind, payer).await.ok().flatten()?;
        if found.facilitator != self.verifier.facilitator() {
            return None;
        }
        let record = self.store.get(id).await.ok().flatten();
        let payer = record.as_ref().map(|r| r.payer).unwrap_or_default();
        let evidence = record.map(|r| r.evidence_hash).unwrap_or_default();
        let batch = (!found.batch_id.is_zero()).then_some(found.batch_id);
        Some(
            self.record_settled(id, payer, found.tx, found.amount, batch, evidence)
                .await,
        )
    }

    /// Looks the payment's `PaymentCharged` / `PaymentAuthorized` / `AuthorizationCharged` event
    /// up on chain; a proxy payment (no event of ours) by its `settle` transaction among the
    /// payer's transfers.
    pub async fn find_on_chain(
        &self,
        id: B256,
        kind: Kind,
        payer: Address,
    ) -> Result<Option<OnChain>, String> {
        let c = self.verifier.contracts();
        let signature = match kind {
            Kind::Proxy => {
                return self
                    .proxies
                    .find_settlement(id, payer, c.deploy_block)
                    .await
            }
            Kind::Charge => X402Settlement::PaymentCharged::SIGNATURE_HASH,
            Kind::Authorize => X402Settlement::PaymentAuthorized::SIGNATURE_HASH,
            Kind::Authorization => X402Settlement::AuthorizationCharged::SIGNATURE_HASH,
        };
        let filter = Filter::new()
            .address(c.settlement)
            .event_signature(signature)
            .topic1(id)
            .from_block(c.deploy_block);
        let logs = self
            .verifier
            .chain()
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| e.to_string())?;
        let Some(log) = logs.last() else {
            return Ok(None);
        };
        let tx = log.transaction_hash.unwrap_or_default();
        Ok(match kind {
            Kind::Charge => log
                .log_decode::<X402Settlement::PaymentCharged>()
                .ok()
                .map(|l| {
                    let d = l.inner.data;
                    OnChain {
                        tx,
                        amount: d.amount,
                        batch_id: d.batchId,
                        facilitator: d.facilitator,
                    }
                }),
            Kind::Authorize => log
                .log_decode::<X402Settlement::PaymentAuthorized>()
                .ok()
                .map(|l| {
                    let d = l.inner.data;
                    OnChain {
                        tx,
                        amount: d.escrow.permit.permitted.amount,
                        batch_id: U256::ZERO,
                        facilitator: d.escrow.terms.facilitator,
                    }
                }),
            Kind::Authorization => log
                .log_decode::<X402Settlement::AuthorizationCharged>()
                .ok()
                .map(|l| {
                    let d = l.inner.data;
                    OnChain {
                        tx,
                        amount: d.amount,
                        batch_id: U256::ZERO,
                        facilitator: d.facilitator,
                    }
                }),
            Kind::Proxy => None,
        })
    }

    /// Resolves a pending claim nobody is working on: settled on chain → recorded as settled;
    /// otherwise the claim is dropped so the payment can be settled afresh.
    pub async fn recover(&self, r: &Record) -> Result<(), StoreError> {
        if !self.store.take_over(r.payment_id, &r.owner).await? {
            return Ok(()); // changed meanwhile; the caller re-reads it
        }
        match self.find_on_chain(r.payment_id, r.kind, r.payer).await {
            Ok(Some(found)) => {
                tracing::info!(payment_id = %r.payment_id, tx = %found.tx, "recovered a settlement from the chain");
                let batch = (!found.batch_id.is_zero()).then_some(found.batch_id);
                self.store
                    .mark_settled(r.payment_id, found.tx, found.amount, batch)
                    .await
            }
            Ok(None) => {
                tracing::info!(payment_id = %r.payment_id, "abandoned claim with no settlement on chain; releasing it");
                self.store.release(r.payment_id).await
            }
            Err(e) => {
                tracing::warn!(payment_id = %r.payment_id, error = %e, "cannot check the chain for an abandoned claim");
                Ok(())
            }
        }
    }

    /// Recovers every claim left pending by earlier processes (run at start).
    pub async fn recover_orphans(&self) -> Result<usize, StoreError> {
        let orphans = self.store.orphans().await?;
        for r in &orphans {
            self.recover(r).await?;
        }
        Ok(orphans.len())
    }
}
