//! The escrow flow after `authorize` (which goes through [`Settler::settle`]): capture parts of
//! an escrow with the evidence of the work, void the rest, read its state.
//!
//! A capture is keyed by `(paymentId, evidenceHash)`: retried with the same evidence it answers
//! the first result instead of capturing twice.

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEvent};
use serde::Serialize;
use x402_bindings::settlement::IX402Settlement::EscrowRef;
use x402_bindings::X402Settlement;

use crate::reason::Reason;
use crate::settle::Settler;
use crate::submit::SubmitError;
use crate::wire::{CaptureRequest, EscrowResponse, VoidRequest};

/// An escrow's state as `GET /escrow/{paymentId}` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowView {
    /// The escrow.
    pub payment_id: B256,
    /// Payer.
    pub payer: alloy::primitives::Address,
    /// Payee.
    pub payee: alloy::primitives::Address,
    /// Facilitator.
    pub facilitator: alloy::primitives::Address,
    /// Token.
    pub token: alloy::primitives::Address,
    /// Signed maximum fee.
    pub max_facilitator_fee_bps: u16,
    /// End of captures.
    pub authorization_expiry: u64,
    /// End of refunds.
    pub refund_expiry: u64,
    /// Whether it is closed.
    pub closed: bool,
    /// Pulled into escrow.
    pub authorized: String,
    /// Captured so far.
    pub captured: String,
    /// Refunded so far.
    pub refunded: String,
}

impl Settler {
    fn escrow_response(
        &self,
        id: B256,
        ok: Result<(B256, U256), (Reason, String, Option<B256>)>,
    ) -> EscrowResponse {
        let network = self.verifier.network();
        match ok {
            Ok((tx, amount)) => EscrowResponse {
                success: true,
                error_reason: None,
                error_message: None,
                payment_id: id,
                transaction: tx.to_string(),
                amount: Some(amount.to_string()),
                network,
            },
            Err((reason, message, tx)) => EscrowResponse {
                success: false,
                error_reason: Some(reason.code().into()),
                error_message: Some(message),
                payment_id: id,
                transaction: tx.map(|t| t.to_string()).unwrap_or_default(),
                amount: None,
                network,
            },
        }
    }

    /// The escrow's permit and terms as authorized (the contract identifies an escrow by them),
    /// from its `PaymentAuthorized` event; `None` when it was never authorized.
    async fn escrow_ref(&self, id: B256) -> Result<Option<EscrowRef>, String> {
        let c = self.verifier.contracts();
        let filter = alloy::rpc::types::Filter::new()
            .address(c.settlement)
            .event_signature(X402Settlement::PaymentAuthorized::SIGNATURE_HASH)
            .topic1(id)
            .from_block(c.deploy_block);
        let logs = self
            .verifier
            .chain()
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| e.to_string())?;
        Ok(logs
            .last()
            .and_then(|l| l.log_decode::<X402Settlement::PaymentAuthorized>().ok())
            .map(|l| l.inner.data.escrow))
    }

    /// Reads an escrow; `None` when it does not exist.
    pub async fn escrow(&self, id: B256) -> Result<Option<EscrowView>, String> {
        Ok(self.escrow_with_ref(id).await?.map(|(view, _)| view))
    }

    async fn escrow_with_ref(&self, id: B256) -> Result<Option<(EscrowView, EscrowRef)>, String> {
        let Some(r) = self.escrow_ref(id).await? else {
            return Ok(None);
        };
        let c = X402Settlement::new(
            self.verifier.contracts().settlement,
            self.verifier.chain().provider().clone(),
        );
        let e = c
            .escrowOf(r.clone())
            .call()
            .await
            .map_err(|e| e.to_string())?;
        // EscrowStatus: 0 None, 1 Open, 2 Closed.
        let status: u8 = e.status;
        if status == 0 {
            return Ok(None);
        }
        let view = EscrowView {
            payment_id: id,
            payer: r.terms.payer,
            payee: r.terms.payee,
            facilitator: r.terms.facilitator,
            token: r.permit.permitted.token,
            max_facilitator_fee_bps: r.terms.maxFacilitatorFeeBps,
            authorization_expiry: r.terms.authorizationExpiry.to::<u64>(),
            refund_expiry: r.terms.refundExpiry.to::<u64>(),
            closed: status == 2,
            authorized: r.permit.permitted.amount.to_string(),
            captured: e.captured.to_string(),
            refunded: e.refunded.to_string(),
        };
        Ok(Some((view, r)))
    }

    /// Captures `amount` of an escrow for its payee, with the evidence of the work.
    pub async fn capture(&self, req: &CaptureRequest) -> EscrowResponse {
        let id = req.payment_id;
        let r = self.capture_inner(req).await;
        let result = match &r {
            Ok(_) => "success",
            Err((reason, _, _)) => reason.code(),
        };
        self.metrics
            .settle_total
            .with_label_values(&["capture", result])
            .inc();
        self.escrow_response(id, r)
    }

    async fn capture_inner(
        &self,
        req: &CaptureRequest,
    ) -> Result<(B256, U256), (Reason, String, Option<B256>)> {
        let id = req.payment_id;
        let unexpected = |e: String| (Reason::UnexpectedSettleError, e, None);
        let escrow = self.escrow_with_ref(id).await.map_err(unexpected)?;
        let Some((e, escrow_ref)) = escrow else {
            return Err((Reason::InvalidEscrowState, format!("no escrow {id}"), None));
        };
        if e.facilitator != self.verifier.facilitator() {
            return Err((
                Reason::InvalidFacilitator,
                format!("escrow {id} belongs to facilitator {}", e.facilitator),
                None,
            ));
        }
        if req.amount.is_zero() {
            return Err((
                Reason::InvalidAmount,
                "capture amount must be above 0".into(),
                None,
            ));
        }
        match self
            .store
            .claim_capture(id, req.evidence_hash, req.amount)
            .await
        {
            Err(err) => return Err(unexpected(err.to_string())),
            Ok(Some((true, tx, amount))) => {
                self.metrics.settle_replayed.inc();
                return Ok((tx.unwrap_or_default(), amount));
            }
            Ok(Some((false, _, _))) => {
                return Err((
                    Reason::UnexpectedSettleError,
                    "a capture with this evidence hash is in progress; retry later".into(),
                    None,
                ))
            }
            Ok(None) => {}
        }
        let fee = self.cfg.fee_bps.min(e.max_facilitator_fee_bps);
        let call = X402Settlement::captureCall {
            escrow: escrow_ref,
            amount: req.amount,
            facilitatorFeeBps: fee,
            evidenceHash: req.evidence_hash,
        };
        let settlement = self.verifier.contracts().settlement;
        let result = self
            .submitter
            .submit("capture", settlement, call.abi_encode().into())
            .await;
        match result {
            Ok(receipt) if receipt.status() => {
                let tx = receipt.transaction_hash;
                if let Err(err) = self.store.capture_settled(id, req.evidence_hash, tx).await {
                    tracing::error!(payment_id = %id, %tx, error = %err, "capture mined but not recorded");
                }
                tracing::info!(payment_id = %id, %tx, amount = %req.amount, evidence = %req.evidence_hash, "escrow captured");
                Ok((tx, req.amount))
            }
            Ok(receipt) => {
                let _ = self.store.release_capture(id, req.evidence_hash).await;
                Err((
                    Reason::InvalidTransactionState,
                    "capture reverted on chain".into(),
                    Some(receipt.transaction_hash),
                ))
            }
            Err(SubmitError::WouldRevert { reason, .. }) => {
                let _ = self.store.release_capture(id, req.evidence_hash).await;
                Err((
                    Reason::InvalidEscrowState,
                    format!("capture would revert: {reason}"),
                    None,
                ))
            }
            Err(err @ SubmitError::Send { .. }) => {
                let _ = self.store.release_capture(id, req.evidence_hash).await;
                Err(unexpected(err.to_string()))
            }
            Err(err) => Err(unexpected(err.to_string())),
        }
    }

    /// Returns the uncaptured rest of an escrow to its payer.
    pub async fn void(&self, req: &VoidRequest) -> EscrowResponse {
        let id = req.payment_id;
        let settlement = self.verifier.contracts().settlement;
        let before = self.escrow_with_ref(id).await;
        let remaining = match &before {
            Ok(Some((e, _))) => e
                .authorized
                .parse::<U256>()
                .unwrap_or_default()
                .saturating_sub(e.captured.parse().unwrap_or_default()),
            _ => U256::ZERO,
        };
        let Ok(Some((_, escrow_ref))) = before else {
            let why = match before {
                Err(e) => (Reason::UnexpectedSettleError, e, None),
                _ => (Reason::InvalidEscrowState, format!("no escrow {id}"), None),
            };
            return self.escrow_response(id, Err(why));
        };
        let call = X402Settlement::voidCall { escrow: escrow_ref }.abi_encode();
        let r = match self.submitter.submit("void", settlement, call.into()).await {
            Ok(receipt) if receipt.status() => Ok((receipt.transaction_hash, remaining)),
            Ok(receipt) => Err((
                Reason::InvalidTransactionState,
                "void reverted on chain".into(),
                Some(receipt.transaction_hash),
            )),
            Err(SubmitError::WouldRevert { reason, .. }) => Err((
                Reason::InvalidEscrowState,
                format!("void would revert: {reason}"),
                None,
            )),
            Err(e) => Err((Reason::UnexpectedSettleError, e.to_string(), None)),
        };
        let result = match &r {
            Ok(_) => "success",
            Err((reason, _, _)) => reason.code(),
        };
        self.metrics
            .settle_total
            .with_label_values(&["void", result])
            .inc();
        self.escrow_response(id, r)
    }
}
