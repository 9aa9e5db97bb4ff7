//! x402's own Permit2 payments: `exact` and `upto` through `x402ExactPermit2Proxy` /
//! `x402UptoPermit2Proxy` (payload `permit2Authorization` with `witness.to`, the x402 SDK's
//! `assetTransferMethod: "permit2"`).
//!
//! The Permit2 signature names the proxy as spender, so these payments settle only through it:
//! the facilitator calls exact `settle(permit, owner, witness, signature)` or upto
//! `settle(permit, amount, owner, witness, signature)`, and the proxy has Permit2 move the tokens
//! from the payer to `witness.to`. Evidence cannot ride along: the proxy emits `Settled()` with no
//! fields, so the evidence hash is kept only in the facilitator's idempotency row.
//!
//! Where a proxy has no code (anvil, most devnets) nothing could ever settle such a payment, so
//! `/supported` does not advertise it and `/verify` refuses it with the SDK's
//! `permit2_proxy_not_deployed`. Where it has code, the checks are the SDK facilitator's (same
//! order, same reason codes), with the chain reads in one JSON-RPC batch ([`state`]), the clock
//! being the later of the wall clock and the latest block, and the Permit2 nonce and allowance
//! checked explicitly instead of diagnosed after a failed simulation.

mod payload;
mod state;

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use serde::Deserialize;
use x402_bindings::{x402ExactPermit2Proxy, x402UptoPermit2Proxy, IERC20};
use x402_protocol::proxy::{AuthorizationJson, ProxyPaymentPayload};
use x402_protocol::{StdRequirements, SCHEME_EXACT, SCHEME_UPTO};

use crate::chain::{Chain, ChainError};
use crate::eip3009::{
    check_accepted, check_asset, check_network, payment_id, standard_requirements,
};
use crate::reason::{Reason, Rejected};
use crate::settle::OnChain;
use crate::signature::Recovered;
pub use payload::{ProxyPayment, ProxyScheme};
use state::{ProxyQuery, ProxyState};

// The proxies' deterministic addresses are shared with the indexer, owned by x402-domain.
pub use x402_domain::{X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};

/// Where x402's Permit2 proxies are, and, for each one that has code, the Permit2 it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X402Proxies {
    /// The exact proxy's address.
    pub exact: Address,
    /// The upto proxy's address.
    pub upto: Address,
    /// The exact proxy's `PERMIT2()`, when it has code.
    pub exact_permit2: Option<Address>,
    /// The upto proxy's `PERMIT2()`, when it has code.
    pub upto_permit2: Option<Address>,
}

impl X402Proxies {
    /// Looks the proxies up on the chain (their code and `PERMIT2()`, once at start).
    pub async fn discover(
        chain: &Chain,
        exact: Address,
        upto: Address,
    ) -> Result<Self, ChainError> {
        let permit2_of = |proxy: Address| async move {
            match chain.has_code(proxy).await? {
                true => state::proxy_permit2(chain, proxy).await.map(Some),
                false => Ok(None),
            }
        };
        Ok(Self {
            exact,
            upto,
            exact_permit2: permit2_of(exact).await?,
            upto_permit2: permit2_of(upto).await?,
        })
    }

    /// Whether the proxy of `scheme` has code.
    pub fn deployed(&self, scheme: ProxyScheme) -> bool {
        self.permit2(scheme).is_some()
    }

    fn permit2(&self, scheme: ProxyScheme) -> Option<Address> {
        match scheme {
            ProxyScheme::Exact => self.exact_permit2,
            ProxyScheme::Upto => self.upto_permit2,
        }
    }

    /// The proxy of `scheme`.
    pub fn address(&self, scheme: ProxyScheme) -> Address {
        match scheme {
            ProxyScheme::Exact => self.exact,
            ProxyScheme::Upto => self.upto,
        }
    }
}

/// The scheme a proxy payload is for: the requirements' (the SDK routes by it), else the
/// payload's, else by the spender it signed.
fn scheme_of(
    proxies: &X402Proxies,
    payload: &serde_json::Value,
    requirements: &serde_json::Value,
) -> ProxyScheme {
    let text = |v: Option<&serde_json::Value>| v.and_then(|s| s.as_str()).map(str::to_owned);
    let scheme = text(requirements.get("scheme"))
        .or_else(|| text(payload.get("accepted").and_then(|a| a.get("scheme"))))
        .or_else(|| text(payload.get("scheme")));
    let spender = text(
        payload
            .get("payload")
            .and_then(|p| p.get("permit2Authorization"))
            .and_then(|a| a.get("spender")),
    )
    .and_then(|s| s.parse::<Address>().ok());
    if scheme.as_deref() == Some(SCHEME_UPTO) || (scheme.is_none() && spender == Some(proxies.upto))
    {
        ProxyScheme::Upto
    } else {
        ProxyScheme::Exact
    }
}

fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Verifies x402 Permit2 proxy payments and finds their settlements on chain.
#[derive(Debug, Clone)]
pub struct ProxyVerifier {
    chain: Chain,
    chain_id: u64,
    facilitator: Address,
    min_validity: u64,
    proxies: X402Proxies,
}

impl ProxyVerifier {
    /// A verifier settling as `facilitator`; deadlines closer than `min_validity` seconds are
    /// refused (the SDK's margin is 6 s).
    pub fn new(
        chain: Chain,
        chain_id: u64,
        facilitator: Address,
        min_validity: u64,
        proxies: X402Proxies,
    ) -> Self {
        Self {
            chain,
            chain_id,
            facilitator,
            min_validity,
            proxies,
        }
    }

    /// The proxies.
    pub fn proxies(&self) -> &X402Proxies {
        &self.proxies
    }

    /// The checks that need no chain access, each named below, in the SDK's order. `settling`: a
    /// settle request, where an upto amount below the signed maximum is what to move (the
    /// requirements' amount, lowered by the server, or our top-level `amount`).
    pub fn check_static(
        &self,
        payload: &serde_json::Value,
        requirements: &serde_json::Value,
        settle_amount: Option<U256>,
        settling: bool,
        accepts_token: impl Fn(Address) -> bool,
    ) -> Result<ProxyPayment, Rejected> {
        let scheme = scheme_of(&self.proxies, payload, requirements);
        let proxy = self.proxies.address(scheme);
        // Named in every refusal before the payment id is known, even of a payload that does not
        // parse.
        let payer = payload
            .get("payload")
            .and_then(|p| p.get("permit2Authorization"))
            .and_then(|a| a.get("from"))
            .and_then(|f| f.as_str())
            .and_then(|f| f.parse::<Address>().ok());
        let early =
            |(reason, message): (Reason, String)| Rejected::of_payer(payer, reason, message);
        let permit2 = self.deployed_permit2(scheme).map_err(early)?;
        let env = ProxyPaymentPayload::deserialize(payload).map_err(|e| {
            early((
                Reason::InvalidPayload,
                format!("paymentPayload (x402 Permit2): {e}"),
            ))
        })?;
        let a = &env.payload.permit2_authorization;
        let r = standard_requirements(env.x402_version, requirements).map_err(early)?;
        check_scheme(scheme, &env, &r).map_err(early)?;
        let mismatch = match scheme {
            ProxyScheme::Exact => Reason::Eip3009NetworkMismatch,
            ProxyScheme::Upto => Reason::UptoNetworkMismatch,
        };
        check_network(self.chain_id, &r.network, env.paid_network(), mismatch).map_err(early)?;
        check_asset(&r, accepts_token).map_err(early)?;
        check_accepted(env.accepted.as_ref(), &r, false).map_err(early)?;
        let id = payment_id(
            self.chain_id,
            proxy,
            a.permitted.token,
            a.from,
            B256::from(a.nonce),
        );
        let fail =
            |(reason, message): (Reason, String)| Rejected::of_payment(a.from, id, reason, message);
        self.check_spender_and_witness(scheme, a, &r)
            .map_err(fail)?;
        self.check_deadline(a).map_err(fail)?;
        let amount = check_amount(scheme, settling, a, &r, settle_amount).map_err(fail)?;
        check_token(a, &r).map_err(fail)?;
        Ok(ProxyPayment {
            scheme,
            proxy,
            permit2,
            payment_id: id,
            payer: a.from,
            token: a.permitted.token,
            permitted: a.permitted.amount,
            amount,
            nonce: a.nonce,
            deadline: a.deadline,
            to: a.witness.to,
            facilitator: a.witness.facilitator,
            valid_after: a.witness.valid_after,
            signature: env.payload.signature.clone(),
        })
    }

    /// The Permit2 the proxy of `scheme` uses, if the proxy has code: else nothing could ever
    /// settle the payment.
    fn deployed_permit2(&self, scheme: ProxyScheme) -> Result<Address, (Reason, String)> {
        self.proxies.permit2(scheme).ok_or_else(|| {
            (
                Reason::Permit2ProxyNotDeployed,
                format!(
                    "{} has no code at {} on this chain, so this Permit2 payment could never settle",
                    scheme.contract(),
                    self.proxies.address(scheme)
                ),
            )
        })
    }

    /// The permit's spender is the scheme's proxy, its witness pays `payTo`, and an upto witness
    /// names this facilitator (the only one the proxy lets settle).
    fn check_spender_and_witness(
        &self,
        scheme: ProxyScheme,
        a: &AuthorizationJson,
        r: &StdRequirements,
    ) -> Result<(), (Reason, String)> {
        let proxy = self.proxies.address(scheme);
        if a.spender != proxy {
            return Err((
                Reason::InvalidPermit2Spender,
                format!(
                    "the permit's spender {} is not {} {proxy}",
                    a.spender,
                    scheme.contract()
                ),
            ));
        }
        if a.witness.to != r.pay_to {
            return Err((
                Reason::Permit2RecipientMismatch,
                format!("witness.to {} is not payTo {}", a.witness.to, r.pay_to),
            ));
        }
        if let Some(f) = a.witness.facilitator.filter(|f| *f != self.facilitator) {
            return Err((
                Reason::UptoFacilitatorMismatch,
                format!(
                    "witness.facilitator {f} is not this facilitator {} (extra.facilitatorAddress of /supported)",
                    self.facilitator
                ),
            ));
        }
        Ok(())
    }

    /// The deadline at least `min_validity` away on the wall clock, which alone already proves
    /// expiry; the chain's clock is applied after the read.
    fn check_deadline(&self, a: &AuthorizationJson) -> Result<(), (Reason, String)> {
        let now = wall_clock();
        if a.deadline < U256::from(now + self.min_validity) {
            return Err((
                Reason::Permit2DeadlineExpired,
                format!(
                    "deadline {} has passed or is less than {} s away (now {now})",
                    a.deadline, self.min_validity
                ),
            ));
        }
        Ok(())
    }

    /// Signature, time, nonce, balance, allowance and the simulated `settle`, read in one batch.
    pub async fn check_chain(&self, p: &ProxyPayment) -> Result<(), Rejected> {
        let fail = |reason: Reason, message: String| {
            Rejected::of_payment(p.payer, p.payment_id, reason, message)
        };
        let digest = p.digest(self.chain_id);
        let signature = Recovered::over(&p.signature, digest, p.payer);
        let query = ProxyQuery {
            payer: p.payer,
            token: p.token,
            permit2: p.permit2,
            nonce: p.nonce,
            proxy: p.proxy,
            facilitator: self.facilitator,
            simulation: p.settle_call(),
            erc1271: (!signature.by_payer()).then(|| (digest, p.signature.clone())),
        };
        let s: ProxyState = state::read(&self.chain, &query)
            .await
            .map_err(|e| fail(Reason::UnexpectedVerifyError, e.to_string()))?;
        signature
            .check(s.payer_is_contract, s.erc1271_valid)
            .map_err(|why| fail(Reason::Permit2InvalidSignature, why))?;
        self.check_clock(p, s.timestamp)
            .map_err(|(r, m)| fail(r, m))?;
        check_payer_state(p, &s).map_err(|(r, m)| fail(r, m))
    }

    /// The deadline and `witness.validAfter` on the chain's clock (the later of the wall clock
    /// and the latest block's `timestamp`).
    fn check_clock(&self, p: &ProxyPayment, timestamp: u64) -> Result<(), (Reason, String)> {
        let now = wall_clock().max(timestamp);
        if p.deadline < U256::from(now + self.min_validity) {
            return Err((
                Reason::Permit2DeadlineExpired,
                format!(
                    "deadline {} has passed or is less than {} s away on the chain's clock (now {now}, latest block {timestamp})",
                    p.deadline, self.min_validity
                ),
            ));
        }
        if p.valid_after > U256::from(now) {
            return Err((
                Reason::Permit2NotYetValid,
                format!(
                    "witness.validAfter {} is in the future (chain time {now})",
                    p.valid_after
                ),
            ));
        }
        Ok(())
    }

    /// The settlement of payment `id` by `payer` through either proxy, from the chain: the
    /// proxies' `Settled()` carries nothing, so this walks the payer's token transfers (newest
    /// first), keeps those made by a transaction to a proxy, and matches the decoded `settle`
    /// call's payment id.
    pub async fn find_settlement(
        &self,
        id: B256,
        payer: Address,
        from_block: u64,
    ) -> Result<Option<OnChain>, String> {
        let provider = self.chain.provider();
        let filter = Filter::new()
            .event_signature(IERC20::Transfer::SIGNATURE_HASH)
            .topic1(payer.into_word())
            .from_block(from_block);
        let logs = provider
            .get_logs(&filter)
            .await
            .map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for log in logs.iter().rev() {
            let Some(hash) = log.transaction_hash else {
                continue;
            };
            if !seen.insert(hash) {
                continue;
            }
            let Some(tx) = provider
                .get_transaction_by_hash(hash)
                .await
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            use alloy::consensus::Transaction as _;
            let to = tx.inner.to();
            let input = tx.inner.input();
            let found = if to == Some(self.proxies.exact) {
                x402ExactPermit2Proxy::settleCall::abi_decode(input)
                    .ok()
                    .map(|c| {
                        (
                            payment_id(
                                self.chain_id,
                                self.proxies.exact,
                                c.permit.permitted.token,
                                c.owner,
                                B256::from(c.permit.nonce),
                            ),
                            c.permit.permitted.amount,
                        )
                    })
            } else if to == Some(self.proxies.upto) {
                x402UptoPermit2Proxy::settleCall::abi_decode(input)
                    .ok()
                    .map(|c| {
                        (
                            payment_id(
                                self.chain_id,
                                self.proxies.upto,
                                c.permit.permitted.token,
                                c.owner,
                                B256::from(c.permit.nonce),
                            ),
                            c.amount,
                        )
                    })
            } else {
                None
            };
            if let Some((_, amount)) = found.filter(|(f, _)| *f == id) {
                return Ok(Some(OnChain {
                    tx: hash,
                    amount,
                    batch_id: U256::ZERO,
                    facilitator: tx.inner.signer(),
                }));
            }
        }
        Ok(None)
    }
}

// The checks that need nothing of the verifier: the static ones in the order `check_static` runs
// them, then the payer's state as the chain read it.

/// Both the requirements and the payload are for the proxy's scheme, and the witness has that
/// scheme's shape (upto names its facilitator, exact does not).
fn check_scheme(
    scheme: ProxyScheme,
    env: &ProxyPaymentPayload,
    r: &StdRequirements,
) -> Result<(), (Reason, String)> {
    let paid_scheme = env.paid_scheme();
    let expected = match scheme {
        ProxyScheme::Exact => SCHEME_EXACT,
        ProxyScheme::Upto => SCHEME_UPTO,
    };
    if r.scheme != expected || paid_scheme != Some(expected) {
        let reason = match scheme {
            ProxyScheme::Exact => Reason::UnsupportedPayloadType,
            ProxyScheme::Upto => Reason::UptoInvalidScheme,
        };
        return Err((
            reason,
            format!("a payment through {} settles scheme {expected:?} (requirements: {:?}, payload: {paid_scheme:?})", scheme.contract(), r.scheme),
        ));
    }
    match (scheme, env.payload.permit2_authorization.witness.facilitator) {
        (ProxyScheme::Upto, None) => Err((
            Reason::UnsupportedPayloadType,
            "an upto Permit2 payload's witness names its facilitator (witness.facilitator is missing)".into(),
        )),
        (ProxyScheme::Exact, Some(_)) => Err((
            Reason::UnsupportedPayloadType,
            "an exact Permit2 payload's witness is {to, validAfter}; witness.facilitator belongs to upto".into(),
        )),
        _ => Ok(()),
    }
}

/// The amount the settlement moves. Settling upto: the requested amount (a settle request's,
/// else the requirements' as the server lowered it), at most the signed maximum. Otherwise the
/// permitted amount, which must be the required one (and a settle request's explicit amount).
fn check_amount(
    scheme: ProxyScheme,
    settling: bool,
    a: &AuthorizationJson,
    r: &StdRequirements,
    settle_amount: Option<U256>,
) -> Result<U256, (Reason, String)> {
    let permitted = a.permitted.amount;
    if scheme == ProxyScheme::Upto && settling {
        let amount = settle_amount.unwrap_or(r.amount);
        if amount > permitted {
            return Err((
                Reason::UptoSettlementExceedsAmount,
                format!("settle amount {amount} is above the signed maximum {permitted}"),
            ));
        }
        return Ok(amount);
    }
    if permitted != r.amount {
        return Err((
            Reason::Permit2AmountMismatch,
            format!(
                "permitted.amount {permitted} is not the required amount {}",
                r.amount
            ),
        ));
    }
    if let Some(s) = settle_amount.filter(|s| *s != permitted) {
        return Err((
            Reason::Permit2AmountMismatch,
            format!("an exact payment settles its permitted amount {permitted}, not {s}"),
        ));
    }
    Ok(permitted)
}

/// The permitted token is the requirements' asset.
fn check_token(a: &AuthorizationJson, r: &StdRequirements) -> Result<(), (Reason, String)> {
    if a.permitted.token != r.asset {
        return Err((
            Reason::Permit2TokenMismatch,
            format!(
                "permitted.token {} is not asset {}",
                a.permitted.token, r.asset
            ),
        ));
    }
    Ok(())
}

/// What the chain says of the payer, in the order the refusal names it: the Permit2 nonce is
/// unused, the balance and the allowance to Permit2 cover the amount, and the proxy's `settle`
/// simulation succeeds.
fn check_payer_state(p: &ProxyPayment, s: &ProxyState) -> Result<(), (Reason, String)> {
    if s.nonce_used {
        return Err((
            Reason::Permit2InvalidNonce,
            format!(
                "Permit2 nonce {} of {} is already used or cancelled",
                p.nonce, p.payer
            ),
        ));
    }
    if s.balance < p.amount {
        return Err((
            Reason::Permit2InsufficientBalance,
            format!(
                "payer balance {} is below the amount {}",
                s.balance, p.amount
            ),
        ));
    }
    if s.allowance < p.amount {
        return Err((
            Reason::InsufficientAllowance,
            format!(
                "the payer's allowance to Permit2 {} is {}, below the amount {}: the payer must approve Permit2 first",
                p.permit2, s.allowance, p.amount
            ),
        ));
    }
    if let Err(why) = &s.simulation {
        return Err((
            Reason::Permit2SimulationFailed,
            format!("simulated {}.settle reverted: {why}", p.scheme.contract()),
        ));
    }
    Ok(())
}
