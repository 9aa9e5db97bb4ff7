//! Settlement, as one pass a reader can follow top to bottom ([`Settler::settle`]):
//!
//! 1. **prepare** (`payment.rs`): the payload is told apart by its kind (our settlement contract's
//!    Permit2 witness, standard EIP-3009, x402's Permit2 proxy) and parsed into that kind's typed
//!    payment by its static checks;
//! 2. **claim** (`claim.rs`): the payment id is claimed in the idempotency store, so concurrent or
//!    repeated requests for one payment wait for, or replay, the first result;
//! 3. **verify against the chain** (`payment.rs`): the kind's chain checks, run after the claim so
//!    that nobody else can submit the payment between the check and the submission;
//! 4. **submit** (`submission.rs`): alone, or through the batcher into one `chargeBatch`;
//! 5. **record** (`record.rs`): the outcome is written to the store and answered; a failure that
//!    charged nothing releases the claim so the payer may retry.
//!
//! `/verify` is steps 1 and 3 only ([`Settler::verify`]). A claim left pending by a crashed
//! process is resolved from the chain's events before anything is re-submitted (`recovery.rs`).

mod claim;
mod payment;
mod record;
mod recovery;
mod submission;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::{Address, B256};
use x402_protocol::PaymentMode;

use crate::batcher::Batcher;
use crate::config::SettleConfig;
use crate::eip3009::Eip3009Verifier;
use crate::metrics::Metrics;
use crate::proxy::ProxyVerifier;
use crate::reason::Rejected;
use crate::settlement::SettlementVerifier;
use crate::store::Store;
use crate::submit::Submitter;
use crate::wire::{PaymentRequest, SettleResponse};
use payment::Prepared;
use submission::Outcome;

pub use recovery::OnChain;

/// Settles verified payments.
#[derive(Debug)]
pub struct Settler {
    pub(crate) verifier: SettlementVerifier,
    pub(crate) eip3009: Eip3009Verifier,
    pub(crate) proxies: ProxyVerifier,
    pub(crate) submitter: Arc<Submitter>,
    pub(crate) store: Store,
    batcher: Option<Batcher>,
    pub(crate) cfg: SettleConfig,
    pub(crate) metrics: Metrics,
    /// Payment ids this process is settling right now (a pending row of ours not in here was
    /// abandoned, e.g. after a transaction that was never mined).
    inflight: Mutex<HashSet<B256>>,
}

impl Settler {
    /// A settler; `batching` in `cfg` starts the batcher.
    pub fn new(
        verifier: SettlementVerifier,
        eip3009: Eip3009Verifier,
        proxies: ProxyVerifier,
        submitter: Arc<Submitter>,
        store: Store,
        cfg: SettleConfig,
        metrics: Metrics,
    ) -> Self {
        let batcher = cfg.batching.then(|| {
            Batcher::spawn(
                submitter.clone(),
                verifier.contracts().settlement,
                cfg.batch_max_items,
                cfg.batch_max_wait,
                metrics.clone(),
            )
        });
        Self {
            verifier,
            eip3009,
            proxies,
            submitter,
            store,
            batcher,
            cfg,
            metrics,
            inflight: Mutex::new(HashSet::new()),
        }
    }

    /// The verifier of payments to our settlement contract.
    pub fn verifier(&self) -> &SettlementVerifier {
        &self.verifier
    }

    /// `/verify`: every check of the payload's kind, nothing claimed or submitted.
    pub async fn verify(
        &self,
        req: &PaymentRequest,
        modes: &[PaymentMode],
    ) -> Result<(Address, B256), Rejected> {
        let prepared = self.prepare(req, modes, false)?;
        self.check_chain(&prepared).await?;
        Ok((prepared.payment.payer(), prepared.payment.id()))
    }

    /// Settles one payment (exact/upto by `charge` or a batch; escrow by `authorize`; standard
    /// payloads by `chargeWithAuthorization` or x402's proxy), counted in the metrics.
    pub async fn settle(&self, req: &PaymentRequest, modes: &[PaymentMode]) -> SettleResponse {
        let started = Instant::now();
        let kind_label = if modes.contains(&PaymentMode::Escrow) {
            "authorize"
        } else {
            "charge"
        };
        let response = self.settle_once(req, modes).await;
        let result = if response.success {
            "success"
        } else {
            response.error_reason.as_deref().unwrap_or("error")
        };
        self.metrics
            .settle_total
            .with_label_values(&[kind_label, result])
            .inc();
        self.metrics
            .settle_seconds
            .with_label_values(&[kind_label])
            .observe(started.elapsed().as_secs_f64());
        response
    }

    /// The pipeline: prepare, claim, verify against the chain, submit, record.
    async fn settle_once(&self, req: &PaymentRequest, modes: &[PaymentMode]) -> SettleResponse {
        // 1. Prepare: the payload's kind, parsed and statically checked (no chain access yet).
        let prepared = match self.prepare(req, modes, true) {
            Ok(prepared) => prepared,
            Err(rejected) => return self.refused(rejected),
        };
        if prepared.settles_nothing() {
            return self.settle_nothing(&prepared).await;
        }
        // 2. Claim the payment id; a duplicate request is answered here, from the first one. The
        // claim's in-process mark is held until the outcome is recorded.
        let _claim = match self.claim(&prepared).await {
            Ok(claim) => claim,
            Err(answered) => return answered,
        };
        // 3. Verify against the chain now that nobody else can submit this payment, 4. submit.
        let outcome = match self.check_chain(&prepared).await {
            Ok(()) => self.submit(&prepared).await,
            Err(rejected) => Outcome::refused(rejected),
        };
        // 5. Record: settled, released (nothing was charged) or left claimed (not mined yet).
        self.record(&prepared, outcome).await
    }

    /// An upto server that used nothing settles nothing (as the SDK's facilitator: success, no
    /// transaction, nothing claimed); the payment must still be one we could settle.
    async fn settle_nothing(&self, p: &Prepared) -> SettleResponse {
        if let Err(rejected) = self.check_chain(p).await {
            return self.refused(rejected);
        }
        SettleResponse {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some(p.payment.payer()),
            transaction: String::new(),
            network: self.verifier.network(),
            amount: Some("0".into()),
            payment_id: Some(p.payment.id()),
            batch_id: None,
        }
    }

    /// The answer to a payment refused before anything was submitted.
    fn refused(&self, rejected: Rejected) -> SettleResponse {
        SettleResponse {
            success: false,
            error_reason: Some(rejected.refusal.reason.code().into()),
            error_message: Some(rejected.refusal.message),
            payer: rejected.payer,
            transaction: String::new(),
            network: self.verifier.network(),
            amount: None,
            payment_id: rejected.payment_id,
            batch_id: None,
        }
    }
}
