//! Settlement: claim the payment id, verify again against the chain, submit (alone or through the
//! batcher), record the result. The claim makes settling idempotent: concurrent or repeated
//! requests for one payment wait for, or replay, the first result; a pending claim left by a
//! crashed process is recovered from the chain's events before anything is re-submitted.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use x402_bindings::X402Settlement;
use x402_protocol::PaymentMode;

use crate::batcher::{BatchResult, Batcher};
use crate::config::SettleConfig;
use crate::eip3009::{Eip3009Payment, Eip3009Verifier};
use crate::metrics::Metrics;
use crate::proxy::payload::{ProxyPayment, ProxyScheme};
use crate::proxy::ProxyVerifier;
use crate::reason::{Reason, Refusal, Rejected};
use crate::settlement::{SettlementPayment, SettlementVerifier};
use crate::store::{Claim, Kind, Record, Store, StoreError};
use crate::submit::{SubmitError, Submitter};
use crate::wire::{PayloadKind, PaymentRequest, SettleResponse};

/// A payment that passed its kind's static checks.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    /// Our Permit2 witness payment.
    Permit2(Box<SettlementPayment>),
    /// A standard EIP-3009 authorization.
    Eip3009(Box<Eip3009Payment>),
    /// x402's Permit2 payment through its exact or upto proxy.
    Proxy(Box<ProxyPayment>),
}

impl Prepared {
    fn id(&self) -> B256 {
        match self {
            Prepared::Permit2(v) => v.payment.payment_id,
            Prepared::Eip3009(p) => p.payment_id,
            Prepared::Proxy(p) => p.payment_id,
        }
    }

    fn payer(&self) -> Address {
        match self {
            Prepared::Permit2(v) => v.payment.payer,
            Prepared::Eip3009(p) => p.payer,
            Prepared::Proxy(p) => p.payer,
        }
    }

    fn amount(&self) -> U256 {
        match self {
            Prepared::Permit2(v) => v.amount,
            Prepared::Eip3009(p) => p.amount,
            Prepared::Proxy(p) => p.amount,
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Prepared::Permit2(v) if v.mode == PaymentMode::Escrow => Kind::Authorize,
            Prepared::Permit2(_) => Kind::Charge,
            Prepared::Eip3009(_) => Kind::Authorization,
            Prepared::Proxy(_) => Kind::Proxy,
        }
    }
}

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

struct InflightGuard<'a> {
    set: &'a Mutex<HashSet<B256>>,
    id: B256,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.set.lock().expect("inflight lock").remove(&self.id);
    }
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

    /// The verifier.
    pub fn verifier(&self) -> &SettlementVerifier {
        &self.verifier
    }

    fn failure(&self, rejected: Rejected) -> SettleResponse {
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

    fn replay_of(&self, r: &Record) -> SettleResponse {
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

    fn store_error(&self, e: StoreError, payer: Address, id: B256) -> SettleResponse {
        tracing::error!(payment_id = %id, error = %e, "idempotency store failed");
        self.failure(Rejected {
            refusal: Refusal::new(Reason::UnexpectedSettleError, e.to_string()),
            payer: Some(payer),
            payment_id: Some(id),
        })
    }

    /// Settles one payment (exact/upto by `charge` or a batch; escrow by `authorize`).
    pub async fn settle(&self, req: &PaymentRequest, modes: &[PaymentMode]) -> SettleResponse {
        let started = Instant::now();
        let kind_label = if modes.contains(&PaymentMode::Escrow) {
            "authorize"
        } else {
            "charge"
        };
        let response = self.settle_inner(req, modes).await;
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

    /// Classifies a request by its payload and runs the static checks of its kind; `settling`
    /// for a settle request (an upto proxy payment then moves the lowered amount).
    pub(crate) fn prepare(
        &self,
        req: &PaymentRequest,
        modes: &[PaymentMode],
        settling: bool,
    ) -> Result<(Prepared, B256), Rejected> {
        let payload = req
            .payload_json()
            .map_err(|m| Rejected::bare(Reason::InvalidPayload, m))?;
        let evidence = req
            .evidence(&payload)
            .map_err(|m| Rejected::bare(Reason::InvalidPayload, m))?;
        let prepared = match PayloadKind::of(&payload) {
            PayloadKind::Settlement => Prepared::Permit2(Box::new(
                // Our payload type reads the request's value itself (a version 1 header string too).
                self.verifier.check_static(
                    &req.payment_payload,
                    &req.payment_requirements,
                    req.amount,
                    modes,
                )?,
            )),
            PayloadKind::Eip3009 => {
                if !modes.contains(&PaymentMode::Exact) {
                    return Err(Rejected::bare(
                        Reason::UnsupportedScheme,
                        "an EIP-3009 authorization settles scheme exact at /settle only",
                    ));
                }
                let contracts = self.verifier.contracts();
                let p = self.eip3009.check_static(
                    &payload,
                    &req.payment_requirements,
                    req.amount,
                    |t| contracts.accepts_token(t),
                )?;
                Prepared::Eip3009(Box::new(p))
            }
            PayloadKind::X402Permit2 => {
                if !modes.contains(&PaymentMode::Exact) {
                    return Err(Rejected::bare(
                        Reason::UnsupportedScheme,
                        "x402's Permit2 proxy payments settle at /settle only",
                    ));
                }
                let contracts = self.verifier.contracts();
                let p = self.proxies.check_static(
                    &payload,
                    &req.payment_requirements,
                    req.amount,
                    settling,
                    |t| contracts.accepts_token(t),
                )?;
                Prepared::Proxy(Box::new(p))
            }
        };
        Ok((prepared, evidence))
    }

    /// `/verify`: every check of the payload's kind, nothing submitted.
    pub async fn verify(
        &self,
        req: &PaymentRequest,
        modes: &[PaymentMode],
    ) -> Result<(Address, B256), Rejected> {
        let (prepared, evidence) = self.prepare(req, modes, false)?;
        self.check_chain(&prepared, evidence).await?;
        Ok((prepared.payer(), prepared.id()))
    }

    async fn check_chain(&self, prepared: &Prepared, evidence: B256) -> Result<(), Rejected> {
        match prepared {
            Prepared::Permit2(v) => self.verifier.check_chain(v, evidence).await,
            Prepared::Eip3009(p) => self.eip3009.check_chain(p, evidence).await,
            Prepared::Proxy(p) => self.proxies.check_chain(p).await,
        }
    }

    async fn settle_inner(&self, req: &PaymentRequest, modes: &[PaymentMode]) -> SettleResponse {
        let (prepared, evidence) = match self.prepare(req, modes, true) {
            Ok(p) => p,
            Err(rej) => return self.failure(rej),
        };
        if let Prepared::Proxy(p) = &prepared {
            if p.amount.is_zero() {
                // An upto server that used nothing settles nothing (as the SDK's facilitator:
                // success, no transaction); the payment must still be one we could settle.
                return match self.proxies.check_chain(p).await {
                    Ok(()) => SettleResponse {
                        success: true,
                        error_reason: None,
                        error_message: None,
                        payer: Some(p.payer),
                        transaction: String::new(),
                        network: self.verifier.network(),
                        amount: Some("0".into()),
                        payment_id: Some(p.payment_id),
                        batch_id: None,
                    },
                    Err(rej) => self.failure(rej),
                };
            }
        }
        let id = prepared.id();
        let payer = prepared.payer();
        let kind = prepared.kind();
        let amount = prepared.amount();
        let network = self.verifier.network();

        // Claim the payment, or wait for / replay whoever claimed it first. The in-process
        // `inflight` mark is taken before the database claim, so a pending row of ours that is
        // not marked was abandoned (an unmined transaction, a crash) and can be recovered.
        let wait_until = Instant::now() + self.cfg.duplicate_wait;
        let in_progress = || {
            self.failure(Rejected {
                refusal: Refusal::new(
                    Reason::UnexpectedSettleError,
                    "the first settle request for this payment is still in progress; retry later",
                ),
                payer: Some(payer),
                payment_id: Some(id),
            })
        };
        let _guard = loop {
            if !self.inflight.lock().expect("inflight lock").insert(id) {
                // Another request of this process is settling it: wait for its result.
                match self.store.get(id).await {
                    Ok(Some(r)) if r.settled => {
                        self.metrics.settle_replayed.inc();
                        return self.replay_of(&r);
                    }
                    Ok(_) => {}
                    Err(e) => return self.store_error(e, payer, id),
                }
                if Instant::now() > wait_until {
                    return in_progress();
                }
                tokio::time::sleep(self.cfg.receipt_poll / 2).await;
                continue;
            }
            let guard = InflightGuard {
                set: &self.inflight,
                id,
            };
            let claim = match self
                .store
                .claim(id, kind, payer, amount, evidence, &network)
                .await
            {
                Ok(c) => c,
                Err(e) => return self.store_error(e, payer, id),
            };
            match claim {
                Claim::Mine => break guard,
                Claim::Taken(r) if r.settled => {
                    self.metrics.settle_replayed.inc();
                    return self.replay_of(&r);
                }
                Claim::Taken(r) => {
                    // Pending, and nobody in this process works on it: resolve it from the chain.
                    if let Err(e) = self.recover(&r).await {
                        return self.store_error(e, payer, id);
                    }
                    drop(guard);
                    if Instant::now() > wait_until {
                        return in_progress();
                    }
                    tokio::time::sleep(self.cfg.receipt_poll / 2).await;
                }
            }
        };

        // Verify against the chain now that nobody else can submit this payment.
        if let Err(rej) = self.check_chain(&prepared, evidence).await {
            if matches!(
                rej.refusal.reason,
                Reason::NonceAlreadyUsed | Reason::Eip3009NonceUsed | Reason::Permit2InvalidNonce
            ) {
                // Settled by us before a crash (or by a transaction that was not yet recorded)?
                if let Some(done) = self.settled_by_us(id, kind, payer).await {
                    return done;
                }
            }
            let _ = self.store.release(id).await;
            return self.failure(rej);
        }

        let fail = |reason: Reason, message: String, tx: Option<B256>| {
            let mut r = self.failure(Rejected {
                refusal: Refusal::new(reason, message),
                payer: Some(payer),
                payment_id: Some(id),
            });
            r.transaction = tx.map(|t| t.to_string()).unwrap_or_default();
            r
        };

        let (label, call, reverted_reason) = match (&self.batcher, &prepared) {
            (Some(batcher), Prepared::Permit2(v)) if v.mode != PaymentMode::Escrow => {
                return match batcher.settle(v.batch_item(evidence), id).await {
                    BatchResult::Settled {
                        tx,
                        batch_id,
                        amount,
                    } => {
                        self.record_success(id, payer, tx, amount, Some(batch_id), evidence)
                            .await
                    }
                    BatchResult::ItemFailed { tx, reason } => {
                        if let Some(done) = self.settled_by_us(id, kind, payer).await {
                            return done;
                        }
                        let _ = self.store.release(id).await;
                        fail(
                            Reason::InvalidTransactionState,
                            format!("the batch skipped this payment: {reason}"),
                            Some(tx),
                        )
                    }
                    BatchResult::Reverted { tx } => {
                        let _ = self.store.release(id).await;
                        fail(
                            Reason::InvalidTransactionState,
                            "the batch transaction reverted".into(),
                            Some(tx),
                        )
                    }
                    BatchResult::Error {
                        message,
                        maybe_mined,
                    } => {
                        if !maybe_mined {
                            let _ = self.store.release(id).await;
                        }
                        fail(Reason::UnexpectedSettleError, message, None)
                    }
                };
            }
            (_, Prepared::Permit2(v)) => {
                let label = if v.mode == PaymentMode::Escrow {
                    "authorize"
                } else {
                    "charge"
                };
                (
                    label,
                    v.settlement_call(evidence),
                    Reason::InvalidTransactionState,
                )
            }
            (_, Prepared::Eip3009(p)) => (
                "chargeWithAuthorization",
                p.settlement_call(evidence),
                Reason::Eip3009TransactionFailed,
            ),
            (_, Prepared::Proxy(p)) => (
                match p.scheme {
                    ProxyScheme::Exact => "x402ExactPermit2Proxy.settle",
                    ProxyScheme::Upto => "x402UptoPermit2Proxy.settle",
                },
                p.settle_call(),
                match p.scheme {
                    ProxyScheme::Exact => Reason::Eip3009TransactionFailed,
                    ProxyScheme::Upto => Reason::UptoTransactionFailed,
                },
            ),
        };
        let target = match &prepared {
            Prepared::Proxy(p) => p.proxy,
            _ => self.verifier.contracts().settlement,
        };
        match self.submitter.submit(label, target, call).await {
            Ok(receipt) if receipt.status() => {
                self.record_success(id, payer, receipt.transaction_hash, amount, None, evidence)
                    .await
            }
            Ok(receipt) => {
                // Another transaction of ours (an earlier attempt answered `settlement_pending`)
                // may have settled it first: answer that settlement, not the revert.
                if let Some(done) = self.settled_by_us(id, kind, payer).await {
                    return done;
                }
                let _ = self.store.release(id).await;
                fail(
                    reverted_reason,
                    format!("{label} reverted on chain"),
                    Some(receipt.transaction_hash),
                )
            }
            Err(SubmitError::WouldRevert { reason, .. }) => {
                if let Some(done) = self.settled_by_us(id, kind, payer).await {
                    return done;
                }
                let _ = self.store.release(id).await;
                fail(
                    reverted_reason,
                    format!("{label} would revert: {reason}"),
                    None,
                )
            }
            Err(e @ SubmitError::Send { .. }) => {
                let _ = self.store.release(id).await;
                fail(Reason::UnexpectedSettleError, e.to_string(), None)
            }
            // Sent but not mined yet: the claim stays, and the same request retried answers the
            // outcome (x402's `settlement_pending`, which the SDK retries once).
            Err(e @ SubmitError::NotMined { .. }) => {
                let last = match &e {
                    SubmitError::NotMined { hashes, .. } => hashes.last().copied(),
                    _ => None,
                };
                fail(Reason::SettlementPending, e.to_string(), last)
            }
        }
    }

    async fn record_success(
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

    /// The settlement event of `id` on chain, if it settled through our contract by us.
    async fn settled_by_us(&self, id: B256, kind: Kind, payer: Address) -> Option<SettleResponse> {
        let found = self.find_on_chain(id, kind, payer).await.ok().flatten()?;
        if found.facilitator != self.verifier.facilitator() {
            return None;
        }
        let record = self.store.get(id).await.ok().flatten();
        let payer = record.as_ref().map(|r| r.payer).unwrap_or_default();
        let evidence = record.map(|r| r.evidence_hash).unwrap_or_default();
        let batch = (!found.batch_id.is_zero()).then_some(found.batch_id);
        Some(
            self.record_success(id, payer, found.tx, found.amount, batch, evidence)
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
