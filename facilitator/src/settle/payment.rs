//! The kinds of payment a request can carry, and everything that differs between them: how each
//! is parsed and statically checked, its chain checks, the transaction that settles it and the
//! kind of its idempotency row. Every `match` over the kinds is here; the rest of the pipeline
//! works on [`Prepared`].

use alloy::primitives::{Address, Bytes, B256, U256};
use x402_bindings::settlement::IX402Settlement::BatchItem;
use x402_protocol::PaymentMode;

use super::Settler;
use crate::eip3009::Eip3009Payment;
use crate::proxy::{ProxyPayment, ProxyScheme};
use crate::reason::{Reason, Rejected};
use crate::settlement::SettlementPayment;
use crate::store::Kind;
use crate::wire::{PayloadKind, PaymentRequest};

/// A request's payment, parsed into its kind and past that kind's static checks, with the
/// evidence hash its settlement records.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The payment.
    pub payment: Payment,
    /// The evidence hash of the work (zero when the request carries none).
    pub evidence: B256,
}

/// A payment of one of the three kinds.
#[derive(Debug, Clone)]
pub(crate) enum Payment {
    /// Our Permit2 witness payment, settled by our settlement contract.
    Settlement(Box<SettlementPayment>),
    /// A standard EIP-3009 authorization.
    Eip3009(Box<Eip3009Payment>),
    /// x402's Permit2 payment through its exact or upto proxy.
    Proxy(Box<ProxyPayment>),
}

/// The transaction that settles a payment on its own (not batched).
pub(super) struct Transaction {
    /// The call, as logs and errors name it.
    pub label: &'static str,
    /// The contract called.
    pub to: Address,
    /// Its calldata.
    pub calldata: Bytes,
    /// The refusal code of a revert (the SDK's on the standard paths).
    pub reverted: Reason,
}

impl Payment {
    /// The idempotency key.
    pub fn id(&self) -> B256 {
        match self {
            Payment::Settlement(v) => v.payment.payment_id,
            Payment::Eip3009(p) => p.payment_id,
            Payment::Proxy(p) => p.payment_id,
        }
    }

    /// Who pays.
    pub fn payer(&self) -> Address {
        match self {
            Payment::Settlement(v) => v.payment.payer,
            Payment::Eip3009(p) => p.payer,
            Payment::Proxy(p) => p.payer,
        }
    }

    /// The gross amount the settlement moves.
    pub fn amount(&self) -> U256 {
        match self {
            Payment::Settlement(v) => v.amount,
            Payment::Eip3009(p) => p.amount,
            Payment::Proxy(p) => p.amount,
        }
    }

    /// The kind of its idempotency row (which tells recovery what to look for on chain).
    pub fn kind(&self) -> Kind {
        match self {
            Payment::Settlement(v) if v.mode == PaymentMode::Escrow => Kind::Authorize,
            Payment::Settlement(_) => Kind::Charge,
            Payment::Eip3009(_) => Kind::Authorization,
            Payment::Proxy(_) => Kind::Proxy,
        }
    }

    /// Its `chargeBatch` item, if it can be batched: only our own charges (exact, upto) can.
    pub fn batch_item(&self, evidence: B256) -> Option<BatchItem> {
        match self {
            Payment::Settlement(v) if v.mode != PaymentMode::Escrow => Some(v.batch_item(evidence)),
            _ => None,
        }
    }

    /// The transaction that settles it alone; `settlement` is our settlement contract.
    pub fn transaction(&self, evidence: B256, settlement: Address) -> Transaction {
        match self {
            Payment::Settlement(v) => Transaction {
                label: if v.mode == PaymentMode::Escrow {
                    "authorize"
                } else {
                    "charge"
                },
                to: settlement,
                calldata: v.settlement_call(evidence),
                reverted: Reason::InvalidTransactionState,
            },
            Payment::Eip3009(p) => Transaction {
                label: "chargeWithAuthorization",
                to: settlement,
                calldata: p.settlement_call(evidence),
                reverted: Reason::Eip3009TransactionFailed,
            },
            Payment::Proxy(p) => Transaction {
                label: match p.scheme {
                    ProxyScheme::Exact => "x402ExactPermit2Proxy.settle",
                    ProxyScheme::Upto => "x402UptoPermit2Proxy.settle",
                },
                to: p.proxy,
                calldata: p.settle_call(),
                reverted: match p.scheme {
                    ProxyScheme::Exact => Reason::Eip3009TransactionFailed,
                    ProxyScheme::Upto => Reason::UptoTransactionFailed,
                },
            },
        }
    }
}

impl Prepared {
    /// An upto proxy payment the server settles for 0: nothing to submit.
    pub fn settles_nothing(&self) -> bool {
        matches!(&self.payment, Payment::Proxy(p) if p.amount.is_zero())
    }
}

impl Settler {
    /// Tells the request's payload kind and runs that kind's static checks (no chain access);
    /// `settling` for a settle request (an upto proxy payment then moves the lowered amount).
    pub(super) fn prepare(
        &self,
        req: &PaymentRequest,
        modes: &[PaymentMode],
        settling: bool,
    ) -> Result<Prepared, Rejected> {
        let payload = req
            .payload_json()
            .map_err(|m| Rejected::bare(Reason::InvalidPayload, m))?;
        let evidence = req
            .evidence(&payload)
            .map_err(|m| Rejected::bare(Reason::InvalidPayload, m))?;
        let requirements = &req.payment_requirements;
        let contracts = self.verifier.contracts();
        let payment = match PayloadKind::of(&payload) {
            PayloadKind::Settlement => Payment::Settlement(Box::new(
                // Our payload type reads the request's value itself (a version 1 header string too).
                self.verifier.check_static(
                    &req.payment_payload,
                    requirements,
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
                Payment::Eip3009(Box::new(self.eip3009.check_static(
                    &payload,
                    requirements,
                    req.amount,
                    |t| contracts.accepts_token(t),
                )?))
            }
            PayloadKind::X402Permit2 => {
                if !modes.contains(&PaymentMode::Exact) {
                    return Err(Rejected::bare(
                        Reason::UnsupportedScheme,
                        "x402's Permit2 proxy payments settle at /settle only",
                    ));
                }
                Payment::Proxy(Box::new(self.proxies.check_static(
                    &payload,
                    requirements,
                    req.amount,
                    settling,
                    |t| contracts.accepts_token(t),
                )?))
            }
        };
        Ok(Prepared { payment, evidence })
    }

    /// The kind's chain checks: signature, time on the chain's clock, nonce, balance, allowance
    /// and a simulation of the settlement, in one batch of reads.
    pub(super) async fn check_chain(&self, p: &Prepared) -> Result<(), Rejected> {
        match &p.payment {
            Payment::Settlement(v) => self.verifier.check_chain(v, p.evidence).await,
            Payment::Eip3009(e) => self.eip3009.check_chain(e, p.evidence).await,
            Payment::Proxy(x) => self.proxies.check_chain(x).await,
        }
    }
}
