//! Payments to our settlement contract (`X402Settlement`): the Permit2 witness payload
//! (`permit2Authorization.witness.payee`) settled by `charge`, a `chargeBatch` item (exact, upto)
//! or `authorize` (escrow). Its checks, before any compute runs: the static ones (the payload's
//! shape and its match with the requirements, the signed terms, the amount, the time window),
//! then the signature and the chain state (nonce, balance, Permit2 allowance, spending policy, a
//! simulation of the settlement) read in one batch.
//!
//! Checks run cheapest first and stop at the first failure, so a refusal names the most basic
//! thing wrong with a payment.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::SolCall;
use x402_bindings::X402Settlement;
use x402_protocol::{
    caip2, HeaderError, PaymentMode, PaymentPayload, PaymentRequirements, SignedPayment,
};

use crate::chain::{Chain, PaymentState, SimulationQuery, StateQuery};
use crate::config::Contracts;
use crate::reason::{Reason, Rejected};
use crate::signature::Recovered;

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
        refuse(&self.payment, reason, message)
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

/// A refusal of a signed payment, naming its payer and id.
fn refuse(payment: &SignedPayment, reason: Reason, message: String) -> Rejected {
    Rejected::of_payment(payment.payer, payment.payment_id, reason, message)
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

    /// The checks that need no chain access, each named below, in this order. `payload` and
    /// `requirements` are the request's; `settle_amount` is the amount a settle request asks for
    /// (`upto` only); `modes` are the payment modes the calling endpoint settles.
    pub fn check_static(
        &self,
        payload: &serde_json::Value,
        requirements: &serde_json::Value,
        settle_amount: Option<U256>,
        modes: &[PaymentMode],
    ) -> Result<SettlementPayment, Rejected> {
        let payload = parse_payload(payload)?;
        let payer = payload.payload.permit2_authorization.from;
        let r = parse_requirements(requirements, payer)?;
        let mode = check_scheme(&payload, &r, modes)?;
        self.check_network(&payload, &r)?;
        self.check_our_contracts(&r, payer)?;
        check_accepted(&payload, &r, mode)?;
        let payment = self.signed_payment(&payload)?;
        check_payee_and_asset(&payment, &r, self.contracts.settlement)?;
        self.check_facilitator_and_request(&payment, &r)?;
        let amount = check_amount(&payment, &r, mode, settle_amount)?;
        self.check_time_window(&payment, mode)?;
        let fee_bps = self
            .fee_bps
            .min(payment.permit.terms.max_facilitator_fee_bps);
        Ok(SettlementPayment {
            payment,
            requirements: r,
            mode,
            amount,
            fee_bps,
            x402_version: payload.x402_version,
        })
    }

    /// The requirements name this chain, and the payload was made for the same network.
    fn check_network(
        &self,
        payload: &PaymentPayload,
        r: &PaymentRequirements,
    ) -> Result<(), Rejected> {
        let fail = |message: String| {
            Rejected::of_payer(
                payload.payload.permit2_authorization.from,
                Reason::InvalidNetwork,
                message,
            )
        };
        if r.chain_id() != Some(self.chain_id) {
            return Err(fail(format!(
                "paymentRequirements.network {:?} is not {}",
                r.network,
                self.network()
            )));
        }
        if payload.network() != Some(r.network.as_str()) {
            return Err(fail(format!(
                "paymentPayload network {:?} differs from paymentRequirements.network {:?}",
                payload.network(),
                r.network
            )));
        }
        Ok(())
    }

    /// The requirements name this facilitator's settlement contract and Permit2, and a token it
    /// settles.
    fn check_our_contracts(&self, r: &PaymentRequirements, payer: Address) -> Result<(), Rejected> {
        let c = &self.contracts;
        if r.extra.settlement != c.settlement {
            return Err(Rejected::of_payer(
                payer,
                Reason::InvalidPaymentRequirements,
                format!(
                    "extra.settlement {} is not this facilitator's settlement contract {}",
                    r.extra.settlement, c.settlement
                ),
            ));
        }
        if r.extra.permit2 != c.permit2 {
            return Err(Rejected::of_payer(
                payer,
                Reason::InvalidPaymentRequirements,
                format!(
                    "extra.permit2 {} is not Permit2 on this chain ({})",
                    r.extra.permit2, c.permit2
                ),
            ));
        }
        if !c.accepts_token(r.asset) {
            return Err(Rejected::of_payer(
                payer,
                Reason::UnsupportedAsset,
                format!("asset {} is not a token this facilitator settles", r.asset),
            ));
        }
        Ok(())
    }

    /// The payment as signed for this chain's Permit2, with its id: the fields a valid payment
    /// must have (escrow expiries in order, the signed payer being `from`).
    fn signed_payment(&self, payload: &PaymentPayload) -> Result<SignedPayment, Rejected> {
        let payer = payload.payload.permit2_authorization.from;
        payload
            .to_signed(self.chain_id, self.contracts.permit2)
            .map_err(|e| match e {
                HeaderError::Invalid { field, reason } if field.contains("Expiry") => {
                    Rejected::of_payer(
                        payer,
                        Reason::InvalidEscrowExpiry,
                        format!("{field}: {reason}"),
                    )
                }
                HeaderError::Invalid { field, reason } if field.ends_with("witness.payer") => {
                    Rejected::of_payer(payer, Reason::PayerMismatch, format!("{field}: {reason}"))
                }
                other => Rejected::of_payer(payer, Reason::InvalidPayload, other.to_string()),
            })
    }

    /// The witness and `extra` name this facilitator, and the signed request hash is the
    /// requirements'.
    fn check_facilitator_and_request(
        &self,
        payment: &SignedPayment,
        r: &PaymentRequirements,
    ) -> Result<(), Rejected> {
        let t = &payment.permit.terms;
        if t.facilitator != self.facilitator {
            return Err(refuse(
                payment,
                Reason::InvalidFacilitator,
                format!(
                    "the witness names facilitator {}, this facilitator is {}",
                    t.facilitator, self.facilitator
                ),
            ));
        }
        if r.extra.facilitator != self.facilitator {
            return Err(refuse(
                payment,
                Reason::InvalidFacilitator,
                format!(
                    "extra.facilitator {} is not this facilitator ({})",
                    r.extra.facilitator, self.facilitator
                ),
            ));
        }
        if t.request_hash != r.extra.request_hash {
            return Err(refuse(
                payment,
                Reason::InvalidRequestHash,
                format!(
                    "signed requestHash {} differs from extra.requestHash {}",
                    t.request_hash, r.extra.request_hash
                ),
            ));
        }
        Ok(())
    }

    /// The deadline (and an escrow's authorization expiry) at least `min_validity` away on the
    /// wall clock. `validAfter` is judged on the chain's clock, after the chain read (the chain
    /// may be ahead of the wall clock); a deadline the wall clock already passed is refused here.
    fn check_time_window(
        &self,
        payment: &SignedPayment,
        mode: PaymentMode,
    ) -> Result<(), Rejected> {
        let p = &payment.permit;
        let now = now();
        let margin = self.min_validity.as_secs();
        if p.deadline < now + margin {
            return Err(refuse(
                payment,
                Reason::Expired,
                format!(
                    "deadline {} has passed or is less than {margin} s away (now {now})",
                    p.deadline
                ),
            ));
        }
        if mode == PaymentMode::Escrow && p.terms.authorization_expiry < now + margin {
            return Err(refuse(
                payment,
                Reason::InvalidEscrowExpiry,
                format!(
                    "authorizationExpiry {} has passed or is less than {margin} s away (now {now})",
                    p.terms.authorization_expiry
                ),
            ));
        }
        Ok(())
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
        let fail = |reason: Reason, message: String| v.reject(reason, message);
        let digest = v
            .payment
            .permit
            .signing_hash()
            .map_err(|e| fail(Reason::InvalidPayload, e.to_string()))?;
        // An EOA's signature is checked locally; anything else is asked of the payer's wallet
        // (EIP-1271) in the same batch as the state reads.
        let signature = Recovered::over(&v.payment.signature, digest, v.payment.payer);
        let simulation = SimulationQuery {
            settlement: self.contracts.settlement,
            facilitator: self.facilitator,
            calldata: v.settlement_call(evidence_hash),
        };
        if signature.by_payer() {
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
            payer: v.payment.payer,
            token: v.payment.permit.token,
            permit2: self.contracts.permit2,
            nonce: v.payment.permit.nonce,
            simulation,
            erc1271: (!signature.by_payer()).then(|| (digest, v.payment.signature.clone())),
        };
        let state = self
            .chain
            .payment_state(&query)
            .await
            .map_err(|e| fail(Reason::UnexpectedVerifyError, e.to_string()))?;
        signature
            .check(state.payer_is_contract, state.erc1271_valid)
            .map_err(|why| fail(Reason::InvalidSignature, why))?;
        self.check_clock(v, state.timestamp)?;
        check_payer_state(v, &state)
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

// The checks that need nothing of the verifier: the static ones in the order `check_static` runs
// them, then the payer's state as the chain read it.

/// Reads the payment payload (an object, or a base64 header string) of an x402 version we speak.
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
    let payload = parsed
        .map_err(|e| Rejected::bare(Reason::InvalidPayload, format!("paymentPayload: {e}")))?;
    if !(1..=2).contains(&payload.x402_version) {
        return Err(Rejected::bare(
            Reason::InvalidX402Version,
            format!(
                "x402Version {} is not supported (1 or 2)",
                payload.x402_version
            ),
        ));
    }
    Ok(payload)
}

/// Reads the payment requirements (`payer` is named in a refusal).
fn parse_requirements(
    value: &serde_json::Value,
    payer: Address,
) -> Result<PaymentRequirements, Rejected> {
    if value.is_null() {
        return Err(Rejected::of_payer(
            payer,
            Reason::InvalidPaymentRequirements,
            "paymentRequirements is missing",
        ));
    }
    serde_json::from_value(value.clone()).map_err(|e| {
        Rejected::of_payer(
            payer,
            Reason::InvalidPaymentRequirements,
            format!("paymentRequirements: {e}"),
        )
    })
}

/// The requirements' scheme is one this endpoint settles (`modes`), and the payload, its signed
/// `witness.mode` included, was made for it: the payment's mode.
fn check_scheme(
    payload: &PaymentPayload,
    r: &PaymentRequirements,
    modes: &[PaymentMode],
) -> Result<PaymentMode, Rejected> {
    let fail = |reason, message: String| {
        Rejected::of_payer(payload.payload.permit2_authorization.from, reason, message)
    };
    let Some(mode) = r.mode() else {
        return Err(fail(
            Reason::UnsupportedScheme,
            format!(
                "scheme {:?} is not settled here (exact, upto, escrow)",
                r.scheme
            ),
        ));
    };
    if !modes.contains(&mode) {
        return Err(fail(
            Reason::UnsupportedScheme,
            format!("scheme {:?} is not settled by this endpoint", r.scheme),
        ));
    }
    let Some(scheme) = payload.scheme() else {
        return Err(fail(
            Reason::InvalidPayload,
            "paymentPayload names no scheme (accepted.scheme or scheme)".into(),
        ));
    };
    if scheme != r.scheme {
        return Err(fail(
            Reason::InvalidScheme,
            format!(
                "paymentPayload scheme {scheme:?} differs from paymentRequirements.scheme {:?}",
                r.scheme
            ),
        ));
    }
    if payload.signed_scheme() != Some(r.scheme.as_str()) {
        return Err(fail(
            Reason::InvalidScheme,
            format!(
                "the signed witness.mode {} does not match scheme {:?}",
                payload.payload.permit2_authorization.witness.mode, r.scheme
            ),
        ));
    }
    Ok(mode)
}

/// What the payload accepted (`accepted`, x402 v2) is what the requirements ask. `upto`: the x402
/// SDK settles a lower amount by lowering `paymentRequirements.amount` below the accepted
/// maximum; any other scheme must settle what was accepted.
fn check_accepted(
    payload: &PaymentPayload,
    r: &PaymentRequirements,
    mode: PaymentMode,
) -> Result<(), Rejected> {
    let Some(acc) = &payload.accepted else {
        return Ok(());
    };
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
            return Err(Rejected::of_payer(
                payload.payload.permit2_authorization.from,
                Reason::InvalidPaymentRequirements,
                format!("paymentPayload.accepted.{field} differs from paymentRequirements.{field}"),
            ));
        }
    }
    Ok(())
}

/// The signed token, payee and spender are the requirements' asset, `payTo` and our settlement
/// contract.
fn check_payee_and_asset(
    payment: &SignedPayment,
    r: &PaymentRequirements,
    settlement: Address,
) -> Result<(), Rejected> {
    let p = &payment.permit;
    if p.settlement != settlement {
        return Err(refuse(
            payment,
            Reason::InvalidPermit2Spender,
            format!(
                "signed spender {} is not the settlement contract {settlement}",
                p.settlement
            ),
        ));
    }
    if p.token != r.asset {
        return Err(refuse(
            payment,
            Reason::InvalidPermit2Token,
            format!("signed token {} differs from asset {}", p.token, r.asset),
        ));
    }
    if p.terms.payee != r.pay_to {
        return Err(refuse(
            payment,
            Reason::RecipientMismatch,
            format!(
                "signed payee {} differs from payTo {}",
                p.terms.payee, r.pay_to
            ),
        ));
    }
    Ok(())
}

/// The amount the settlement moves, held against what was signed and required: exact settles the
/// signed amount, which is the required one; upto settles the requested amount (a settle
/// request's, else the requirements'), above 0 and at most the signed maximum; escrow authorizes
/// the signed maximum, at least the required amount.
fn check_amount(
    payment: &SignedPayment,
    r: &PaymentRequirements,
    mode: PaymentMode,
    settle_amount: Option<U256>,
) -> Result<U256, Rejected> {
    let signed = payment.permit.amount;
    let fail = |message: String| refuse(payment, Reason::InvalidAmount, message);
    match mode {
        PaymentMode::Exact => {
            if signed != r.amount {
                return Err(fail(format!(
                    "signed amount {signed} is not the required amount {}",
                    r.amount
                )));
            }
            if let Some(a) = settle_amount.filter(|a| *a != signed) {
                return Err(fail(format!(
                    "an exact payment settles its signed amount {signed}, not {a}"
                )));
            }
            Ok(signed)
        }
        PaymentMode::Upto => {
            if signed < r.amount {
                return Err(fail(format!(
                    "signed maximum {signed} is below the required maximum {}",
                    r.amount
                )));
            }
            let a = settle_amount.unwrap_or(r.amount);
            if a.is_zero() || a > signed {
                return Err(fail(format!(
                    "settle amount {a} must be above 0 and at most the signed maximum {signed}"
                )));
            }
            Ok(a)
        }
        PaymentMode::Escrow => {
            if signed < r.amount {
                return Err(fail(format!(
                    "signed maximum {signed} is below the required amount {}",
                    r.amount
                )));
            }
            Ok(signed)
        }
    }
}

/// What the chain says of the payer, in the order the refusal names it: the Permit2 nonce is
/// unused, the balance, the allowance to Permit2 and the spending policy cover the amount, and
/// the settlement's simulation succeeds.
fn check_payer_state(v: &SettlementPayment, state: &PaymentState) -> Result<(), Rejected> {
    let payer = v.payment.payer;
    if state.nonce_used {
        return Err(v.reject(
            Reason::NonceAlreadyUsed,
            format!(
                "Permit2 nonce {} of {payer} is already used",
                v.payment.permit.nonce
            ),
        ));
    }
    if state.balance < v.amount {
        return Err(v.reject(
            Reason::InsufficientFunds,
            format!(
                "payer balance {} is below the amount {}",
                state.balance, v.amount
            ),
        ));
    }
    if state.allowance < v.amount {
        return Err(v.reject(
            Reason::InsufficientAllowance,
            format!(
                "payer's allowance to Permit2 {} is below the amount {}",
                state.allowance, v.amount
            ),
        ));
    }
    if state.remaining_budget < v.amount {
        return Err(v.reject(
            Reason::SpendingPolicyExceeded,
            format!(
                "the payer's spending policy allows {} now, the payment needs {}",
                state.remaining_budget, v.amount
            ),
        ));
    }
    if let Err(why) = &state.simulation {
        return Err(v.reject(
            Reason::SimulationFailed,
            format!("simulated settlement reverted: {why}"),
        ));
    }
    Ok(())
}
