//! Payments to our settlement contract (`X402Settlement`): the Permit2 witness payload
//! (`permit2Authorization.witness.payee`) settled by `charge`, a `chargeBatch` item (exact, upto)
//! or `authorize` (escrow). Verification before any compute runs: the payload's shape, its match
//! with the requirements, the signature, the time window, and the chain state (nonce, balance,
//! Permit2 allowance, spending policy, a simulation of the settlement) read in one batch.
//!
//! Checks run cheapest first and stop at the first failure, so a refusal names the most basic
//! thing wrong with a payment.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, Bytes, Signature, B256, U256};
use alloy::sol_types::SolCall;
use x402_bindings::X402Settlement;
use x402_protocol::{
    caip2, HeaderError, PaymentMode, PaymentPayload, PaymentRequirements, SignedPayment,
};

use crate::chain::{Chain, SimulationQuery, StateQuery};
use crate::config::Contracts;
use crate::reason::{Reason, Rejected};
use crate::wire::PaymentRequest;

/// A payment to our settlement contract that passed the static checks, with what its settlement
/// will submit.
#[derive(Debug, Clone)]
pub struct SettlementPayment {
    /// The signed payment.
    pub payment: SignedPayment,
    /// The requirements it answers.
    pub requirements: PaymentRequirements,
    /// How it settles.
    pub mode: PaymentMode,
    /// Gross amount the settlement moves (escrow: the amount authorized).
    pub amount: U256,
    /// Facilitator fee charged, in basis points.
    pub fee_bps: u16,
    /// The payload's x402 version.
    pub x402_version: u8,
}

impl SettlementPayment {
    /// The `SignedPayment` call argument.
    pub fn call_payment(&self) -> x402_bindings::settlement::IX402Settlement::SignedPayment {
        self.payment.to_call().expect("validated when verified")
    }

    /// A `chargeBatch` item for this payment.
    pub fn batch_item(
        &self,
        evidence_hash: B256,
    ) -> x402_bindings::settlement::IX402Settlement::BatchItem {
        x402_bindings::settlement::IX402Settlement::BatchItem {
            payment: self.call_payment(),
            amount: self.amount,
            facilitatorFeeBps: self.fee_bps,
            evidenceHash: evidence_hash,
        }
    }

    /// A refusal of this payment, naming its payer and id.
    fn reject(&self, reason: Reason, message: String) -> Rejected {
        Rejected::of_payment(self.payment.payer, self.payment.payment_id, reason, message)
    }

    /// Calldata of the settlement: `charge` (exact, upto) or `authorize` (escrow).
    pub fn settlement_call(&self, evidence_hash: B256) -> Bytes {
        match self.mode {
            PaymentMode::Escrow => X402Settlement::authorizeCall {
                payment: self.call_payment(),
            }
            .abi_encode()
            .into(),
            _ => X402Settlement::chargeCall {
                payment: self.call_payment(),
                amount: self.amount,
                facilitatorFeeBps: self.fee_bps,
                evidenceHash: evidence_hash,
            }
            .abi_encode()
            .into(),
        }
    }
}

/// Checks payments to our settlement contract against this facilitator's chain, contracts and key.
#[derive(Debug, Clone)]
pub struct SettlementVerifier {
    chain: Chain,
    chain_id: u64,
    contracts: Contracts,
    facilitator: Address,
    fee_bps: u16,
    min_validity: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the payment payload: an object, or a base64 header string.
pub fn parse_payload(value: &serde_json::Value) -> Result<PaymentPayload, Rejected> {
    let parsed = match value {
        serde_json::Value::Null => {
            return Err(Rejected::bare(
                Reason::InvalidPayload,
                "paymentPayload is missing",
            ))
        }
        serde_json::Value::String(header) => PaymentPayload::decode(header),
        other => serde_json::from_value::<PaymentPayload>(other.clone()).map_err(HeaderError::from),
    };
    parsed.map_err(|e| Rejected::bare(Reason::InvalidPayload, format!("paymentPayload: {e}")))
}

impl SettlementVerifier {
    /// A verifier for `facilitator` settling through `contracts` on `chain_id`.
    pub fn new(
        chain: Chain,
        chain_id: u64,
        contracts: Contracts,
        facilitator: Address,
        fee_bps: u16,
        min_validity: Duration,
    ) -> Self {
        Self {
            chain,
            chain_id,
            contracts,
            facilitator,
            fee_bps,
            min_validity,
        }
    }

    /// The CAIP-2 network settled on.
    pub fn network(&self) -> String {
        caip2(self.chain_id)
    }

    /// The contracts settled through.
    pub fn contracts(&self) -> &Contracts {
        &self.contracts
    }

    /// The facilitator's address.
    pub fn facilitator(&self) -> Address {
        self.facilitator
    }

    /// The chain reader.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The checks that need no chain access. `settle_amount` is the amount a settle request asks
    /// for (`upto` only); `modes` are the payment modes the calling endpoint settles.
    pub fn check_static(
        &self,
        req: &PaymentRequest,
        settle_amount: Option<U256>,
        modes: &[PaymentMode],
    ) -> Result<SettlementPayment, Rejected> {
        let payload = parse_payload(&req.payment_payload)?;
        if !(1..=2).contains(&payload.x402_version) {
            return Err(Rejected::bare(
                Reason::InvalidX402Version,
                format!(
                    "x402Version {} is not supported (1 or 2)",
                    payload.x402_version
                ),
            ));
        }
        let payer = payload.payload.permit2_authorization.from;
        let with_payer =
            |reason: Reason, message: String| Rejected::of_payer(payer, reason, message);

        if req.payment_requirements.is_null() {
            return Err(with_payer(
                Reason::InvalidPaymentRequirements,
                "paymentRequirements is missing".into(),
            ));
        }
        let r: PaymentRequirements = serde_json::from_value(req.payment_requirements.clone())
            .map_err(|e| {
                with_payer(
                    Reason::InvalidPaymentRequirements,
                    format!("paymentRequirements: {e}"),
                )
            })?;

        let Some(mode) = r.mode() else {
            return Err(with_payer(
                Reason::UnsupportedScheme,
                format!(
                    "scheme {:?} is not settled here (exact, upto, escrow)",
                    r.scheme
                ),
            ));
        };
        if !modes.contains(&mode) {
            return Err(with_payer(
                Reason::UnsupportedScheme,
                format!("scheme {:?} is not settled by this endpoint", r.scheme),
            ));
        }
        let Some(scheme) = payload.scheme() else {
            return Err(with_payer(
                Reason::InvalidPayload,
                "paymentPayload names no scheme (accepted.scheme or scheme)".into(),
            ));
        };
        if scheme != r.scheme {
            return Err(with_payer(
                Reason::InvalidScheme,
                format!(
                    "paymentPayload scheme {scheme:?} differs from paymentRequirements.scheme {:?}",
                    r.scheme
                ),
            ));
        }
        if payload.signed_scheme() != Some(r.scheme.as_str()) {
            return Err(with_payer(
                Reason::InvalidScheme,
                format!(
                    "the signed witness.mode {} does not match scheme {:?}",
                    payload.payload.permit2_authorization.witness.mode, r.scheme
                ),
            ));
        }
        if r.chain_id() != Some(self.chain_id) {
            return Err(with_payer(
                Reason::InvalidNetwork,
                format!(
                    "paymentRequirements.network {:?} is not {}",
                    r.network,
                    self.network()
                ),
            ));
        }
        if payload.network() != Some(r.network.as_str()) {
            return Err(with_payer(
                Reason::InvalidNetwork,
                format!(
                    "paymentPayload network {:?} differs from paymentRequirements.network {:?}",
                    payload.network(),
                    r.network
                ),
            ));
        }
        if r.extra.settlement != self.contracts.settlement {
            return Err(with_payer(
                Reason::InvalidPaymentRequirements,
                format!(
                    "extra.settlement {} is not this facilitator's settlement contract {}",
                    r.extra.settlement, self.contracts.settlement
                ),
            ));
        }
        if r.extra.permit2 != self.contracts.permit2 {
            return Err(with_payer(
                Reason::InvalidPaymentRequirements,
                format!(
                    "extra.permit2 {} is not Permit2 on this chain ({})",
                    r.extra.permit2, self.contracts.permit2
                ),
            ));
        }
        if !self.contracts.accepts_token(r.asset) {
            return Err(with_payer(
                Reason::UnsupportedAsset,
                format!("asset {} is not a token this facilitator settles", r.asset),
            ));
        }
        if let Some(acc) = &payload.accepted {
            // `upto`: the x402 SDK settles a lower amount by lowering `paymentRequirements.amount`
            // below the accepted maximum; any other scheme must settle what was accepted.
            let amount_ok = match mode {
                PaymentMode::Upto => r.amount <= acc.amount,
                _ => acc.amount == r.amount,
            };
            for (field, same) in [
                ("asset", acc.asset == r.asset),
                ("payTo", acc.pay_to == r.pay_to),
                ("amount", amount_ok),
            ] {
                if !same {
                    return Err(with_payer(
                        Reason::InvalidPaymentRequirements,
                        format!("paymentPayload.accepted.{field} differs from paymentRequirements.{field}"),
                    ));
                }
            }
        }

        let payment = payload
            .to_signed(self.chain_id, self.contracts.permit2)
            .map_err(|e| match e {
                HeaderError::Invalid { field, reason } if field.contains("Expiry") => {
                    with_payer(Reason::InvalidEscrowExpiry, format!("{field}: {reason}"))
                }
                HeaderError::Invalid { field, reason } if field.ends_with("witness.payer") => {
                    with_payer(Reason::PayerMismatch, format!("{field}: {reason}"))
                }
                other => with_payer(Reason::InvalidPayload, other.to_string()),
            })?;
        let id = payment.payment_id;
        let fail =
            |reason: Reason, message: String| Rejected::of_payment(payer, id, reason, message);
        let p = &payment.permit;
        let t = &p.terms;
        if p.settlement != self.contracts.settlement {
            return Err(fail(
                Reason::InvalidPermit2Spender,
                format!(
                    "signed spender {} is not the settlement contract {}",
                    p.settlement, self.contracts.settlement
                ),
            ));
        }
        if p.token != r.asset {
            return Err(fail(
                Reason::InvalidPermit2Token,
                format!("signed token {} differs from asset {}", p.token, r.asset),
            ));
        }
        if t.payee != r.pay_to {
            return Err(fail(
                Reason::RecipientMismatch,
                format!("signed payee {} differs from payTo {}", t.payee, r.pay_to),
            ));
        }
        if t.facilitator != self.facilitator {
            return Err(fail(
                Reason::InvalidFacilitator,
                format!(
                    "the witness names facilitator {}, this facilitator is {}",
                    t.facilitator, self.facilitator
                ),
            ));
        }
        if r.extra.facilitator != self.facilitator {
            return Err(fail(
                Reason::InvalidFacilitator,
                format!(
                    "extra.facilitator {} is not this facilitator ({})",
                    r.extra.facilitator, self.facilitator
                ),
            ));
        }
        if t.request_hash != r.extra.request_hash {
            return Err(fail(
                Reason::InvalidRequestHash,
                format!(
                    "signed requestHash {} differs from extra.requestHash {}",
                    t.request_hash, r.extra.request_hash
                ),
            ));
        }
        let amount = match mode {
            PaymentMode::Exact => {
                if p.amount != r.amount {
                    return Err(fail(
                        Reason::InvalidAmount,
                        format!(
                            "signed amount {} is not the required amount {}",
                            p.amount, r.amount
                        ),
                    ));
                }
                if let Some(a) = settle_amount.filter(|a| *a != p.amount) {
                    return Err(fail(
                        Reason::InvalidAmount,
                        format!(
                            "an exact payment settles its signed amount {}, not {a}",
                            p.amount
                        ),
                    ));
                }
                p.amount
            }
            PaymentMode::Upto => {
                if p.amount < r.amount {
                    return Err(fail(
                        Reason::InvalidAmount,
                        format!(
                            "signed maximum {} is below the required maximum {}",
                            p.amount, r.amount
                        ),
                    ));
                }
                let a = settle_amount.unwrap_or(r.amount);
                if a.is_zero() || a > p.amount {
                    return Err(fail(
                        Reason::InvalidAmount,
                        format!(
                            "settle amount {a} must be above 0 and at most the signed maximum {}",
                            p.amount
                        ),
                    ));
                }
                a
            }
            PaymentMode::Escrow => {
                if p.amount < r.amount {
                    return Err(fail(
                        Reason::InvalidAmount,
                        format!(
                            "signed maximum {} is below the required amount {}",
                            p.amount, r.amount
                        ),
                    ));
                }
                p.amount
            }
        };
        // `validAfter` is judged on the chain's clock, after the chain read (the chain may be
        // ahead of the wall clock); a deadline the wall clock already passed is refused here.
        let now = now();
        let margin = self.min_validity.as_secs();
        if p.deadline < now + margin {
            return Err(fail(
                Reason::Expired,
                format!(
                    "deadline {} has passed or is less than {margin} s away (now {now})",
                    p.deadline
                ),
            ));
        }
        if mode == PaymentMode::Escrow && t.authorization_expiry < now + margin {
            return Err(fail(
                Reason::InvalidEscrowExpiry,
                format!(
                    "authorizationExpiry {} has passed or is less than {margin} s away (now {now})",
                    t.authorization_expiry
                ),
            ));
        }
        let fee_bps = self.fee_bps.min(t.max_facilitator_fee_bps);
        Ok(SettlementPayment {
            payment,
            requirements: r,
            mode,
            amount,
            fee_bps,
            x402_version: payload.x402_version,
        })
    }

    /// Signature, nonce, balance, allowance, policy and simulation.
    ///
    /// A payment whose signature recovers to its payer is first only simulated: a successful
    /// settlement simulation proves the nonce is unused and the balance, the Permit2 allowance and
    /// the spending policy suffice (the contract and Permit2 revert otherwise), so the state reads
    /// would only repeat it. When the simulation fails, or the payer is a contract wallet, the
    /// full batch is read and the refusal names the first failing check, as before.
    pub async fn check_chain(
        &self,
        v: &SettlementPayment,
        evidence_hash: B256,
    ) -> Result<(), Rejected> {
        let payer = v.payment.payer;
        let fail = |reason: Reason, message: String| v.reject(reason, message);
        let digest = v
            .payment
            .permit
            .signing_hash()
            .map_err(|e| fail(Reason::InvalidPayload, e.to_string()))?;
        // An EOA's signature is checked locally; anything else is asked of the payer's wallet
        // (EIP-1271) in the same batch as the state reads.
        let recovered = Signature::from_raw(&v.payment.signature)
            .ok()
            .and_then(|s| s.recover_address_from_prehash(&digest).ok());
        let ecrecover_ok = recovered == Some(payer);
        let simulation = SimulationQuery {
            settlement: self.contracts.settlement,
            facilitator: self.facilitator,
            calldata: v.settlement_call(evidence_hash),
        };
        if ecrecover_ok {
            let s = self
                .chain
                .simulate(&simulation)
                .await
                .map_err(|e| fail(Reason::UnexpectedVerifyError, e.to_string()))?;
            if s.simulation.is_ok() {
                return self.check_clock(v, s.timestamp);
            }
        }
        let query = StateQuery {
            payer,
            token: v.payment.permit.token,
            permit2: self.contracts.permit2,
            nonce: v.payment.permit.nonce,
            simulation,
            erc1271: (!ecrecover_ok).then(|| (digest, v.payment.signature.clone())),
        };
        let state = self
            .chain
            .payment_state(&query)
            .await
            .map_err(|e| fail(Reason::UnexpectedVerifyError, e.to_string()))?;
        if !ecrecover_ok {
            let wallet_ok = state.payer_is_contract && state.erc1271_valid == Some(true);
            if !wallet_ok {
                let why = match (state.payer_is_contract, recovered) {
                    (true, _) => "the payer's wallet (EIP-1271) rejected the signature".to_string(),
                    (false, Some(other)) => {
                        format!("the signature recovers to {other}, not the payer {payer}")
                    }
                    (false, None) => {
                        "the signature is not a valid 65-byte ECDSA signature".to_string()
                    }
                };
                return Err(fail(Reason::InvalidSignature, why));
            }
        }
        self.check_clock(v, state.timestamp)?;
        if state.nonce_used {
            return Err(fail(
                Reason::NonceAlreadyUsed,
                format!(
                    "Permit2 nonce {} of {payer} is already used",
                    v.payment.permit.nonce
                ),
            ));
        }
        if state.balance < v.amount {
            return Err(fail(
                Reason::InsufficientFunds,
                format!(
                    "payer balance {} is below the amount {}",
                    state.balance, v.amount
                ),
            ));
        }
        if state.allowance < v.amount {
            return Err(fail(
                Reason::InsufficientAllowance,
                format!(
                    "payer's allowance to Permit2 {} is below the amount {}",
                    state.allowance, v.amount
                ),
            ));
        }
        if state.remaining_budget < v.amount {
            return Err(fail(
                Reason::SpendingPolicyExceeded,
                format!(
                    "the payer's spending policy allows {} now, the payment needs {}",
                    state.remaining_budget, v.amount
                ),
            ));
        }
        if let Err(why) = state.simulation {
            return Err(fail(
                Reason::SimulationFailed,
                format!("simulated settlement reverted: {why}"),
            ));
        }
        Ok(())
    }

    /// The deadline and `validAfter` on the chain's clock (the later of the wall clock and the
    /// latest block's `timestamp`).
    fn check_clock(&self, v: &SettlementPayment, timestamp: u64) -> Result<(), Rejected> {
        let fail = |reason: Reason, message: String| v.reject(reason, message);
        // The chain's clock decides (a chain ahead of the wall clock, as after the demo's time
        // travel, expires deadlines the wall clock still accepts): say so rather than let the
        // simulation fail with Permit2's bare SignatureExpired.
        let chain_now = now().max(timestamp);
        let margin = self.min_validity.as_secs();
        if v.payment.permit.deadline < chain_now + margin {
            return Err(fail(
                Reason::Expired,
                format!(
                    "deadline {} has passed or is less than {margin} s away on the chain's clock (latest block time {timestamp}, wall clock {}): sign deadlines from the chain's time",
                    v.payment.permit.deadline,
                    now()
                ),
            ));
        }
        if v.payment.permit.terms.valid_after > chain_now {
            return Err(fail(
                Reason::NotYetValid,
                format!(
                    "validAfter {} is in the future (chain time {chain_now})",
                    v.payment.permit.terms.valid_after
                ),
            ));
        }
        Ok(())
    }
}
