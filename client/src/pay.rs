//! Paying a 402 answer: pick a requirement the local budget allows, sign the Permit2 witness
//! payment it describes, and wrap it as the x402 payment header.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{keccak256, Address, U256};
use alloy::signers::Signer;
use alloy::sol_types::SolValue;

use crate::budget::{Budget, BudgetError};
use crate::header::PaymentPayload;
use crate::permit::{PaymentMode, PaymentPermit, PaymentTerms, PermitError};
use crate::requirements::{PaymentRequired, PaymentRequirements};

/// Why a payment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// The budget refused every offered requirement.
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// The requirement cannot be signed as given.
    #[error("invalid requirement field {field}: {reason}")]
    Requirement {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Signing failed.
    #[error(transparent)]
    Permit(#[from] PermitError),
}

/// Choices the payer makes beyond the requirement.
#[derive(Debug, Clone, Default)]
pub struct PayOptions {
    /// Permit2 nonce to use; a fresh unique one when `None`.
    pub nonce: Option<U256>,
    /// Seconds the signature stays valid; the requirement's `maxTimeoutSeconds` when `None`.
    pub valid_for: Option<u64>,
    /// Earliest settlement time (unix seconds); 0 = immediately.
    pub valid_after: u64,
    /// The clock, for tests; the system clock when `None`.
    pub now: Option<u64>,
}

/// A signed payment and the requirement it answers.
#[derive(Debug, Clone)]
pub struct Payment {
    /// The requirement paid.
    pub requirements: PaymentRequirements,
    /// The x402 payload (its [`PaymentPayload::header`] is what the request carries).
    pub payload: PaymentPayload,
    /// The settlement contract's id for this payment.
    pub payment_id: alloy::primitives::B256,
}

static NONCE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A Permit2 nonce unique to this payer, process and moment. Permit2 nonces are unordered, so
/// uniqueness is all that matters; a 256-bit hash of time, process and a counter gives it.
pub fn fresh_nonce(payer: Address) -> U256 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = NONCE_COUNTER.fetch_add(1, Ordering::Relaxed);
    U256::from_be_bytes(
        keccak256(
            (
                payer,
                U256::from(nanos),
                U256::from(std::process::id()),
                U256::from(n),
            )
                .abi_encode(),
        )
        .0,
    )
}

/// The permit a requirement asks `payer` to sign.
pub fn permit_for(
    req: &PaymentRequirements,
    payer: Address,
    opts: &PayOptions,
) -> Result<PaymentPermit, PayError> {
    let mode = req.mode().ok_or_else(|| PayError::Requirement {
        field: "scheme",
        reason: format!("{:?} is not exact, upto or escrow", req.scheme),
    })?;
    let chain_id = req.chain_id().ok_or_else(|| PayError::Requirement {
        field: "network",
        reason: format!(
            "{:?} is not a CAIP-2 EVM network (eip155:<chainId>)",
            req.network
        ),
    })?;
    let now = opts.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let valid_for = opts.valid_for.unwrap_or(req.max_timeout_seconds);
    if valid_for == 0 {
        return Err(PayError::Requirement {
            field: "maxTimeoutSeconds",
            reason: "must be above 0".into(),
        });
    }
    let (authorization_expiry, refund_expiry) = if mode == PaymentMode::Escrow {
        let auth = now + req.extra.authorization_seconds.unwrap_or(valid_for);
        (
            auth,
            now + req.extra.refund_seconds.unwrap_or(0).max(auth - now),
        )
    } else {
        (0, 0)
    };
    let permit = PaymentPermit {
        chain_id,
        permit2: req.extra.permit2,
        settlement: req.extra.settlement,
        token: req.asset,
        amount: req.amount,
        nonce: opts.nonce.unwrap_or_else(|| fresh_nonce(payer)),
        deadline: now + valid_for,
        terms: PaymentTerms {
            payer,
            payee: req.pay_to,
            facilitator: req.extra.facilitator,
            request_hash: req.extra.request_hash,
            max_facilitator_fee_bps: req.extra.max_facilitator_fee_bps,
            valid_after: opts.valid_after,
            mode,
            authorization_expiry,
            refund_expiry,
        },
    };
    permit.validate()?;
    Ok(permit)
}

/// Pays a 402 answer: selects a requirement within `budget`, commits it, signs, and builds the
/// payload in the answer's x402 version. Nothing is committed when signing fails.
pub async fn pay<S: Signer + ?Sized>(
    signer: &S,
    required: &PaymentRequired,
    budget: &mut Budget,
    opts: &PayOptions,
) -> Result<Payment, PayError> {
    let req = budget.select(&required.accepts)?.clone();
    let permit = permit_for(&req, signer.address(), opts)?;
    let signed = permit.sign(signer).await?;
    budget.commit(&req)?;
    let mut payload = PaymentPayload::from_signed(&signed, &req, required.resource.clone());
    payload.extensions = required.extensions.clone();
    if required.x402_version < 2 {
        payload = payload.into_v1();
    }
    Ok(Payment {
        requirements: req,
        payload,
        payment_id: signed.payment_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::SettlementExtra;
    use alloy::primitives::{address, B256};
    use alloy::signers::local::PrivateKeySigner;

    fn required(scheme: &str, version: u8) -> PaymentRequired {
        PaymentRequired {
            x402_version: version,
            error: None,
            resource: None,
            accepts: vec![PaymentRequirements {
                scheme: scheme.into(),
                network: "eip155:31337".into(),
                amount: U256::from(700u64),
                asset: address!("1111111111111111111111111111111111111111"),
                pay_to: address!("2222222222222222222222222222222222222222"),
                max_timeout_seconds: 120,
                resource: None,
                description: None,
                mime_type: None,
                extra: SettlementExtra {
                    settlement: address!("3333333333333333333333333333333333333333"),
                    permit2: address!("4444444444444444444444444444444444444444"),
                    facilitator: address!("5555555555555555555555555555555555555555"),
                    request_hash: B256::repeat_byte(7),
                    max_facilitator_fee_bps: 25,
                    authorization_seconds: Some(600),
                    refund_seconds: Some(3600),
                    name: None,
                },
            }],
            extensions: None,
        }
    }

    #[tokio::test]
    async fn pays_within_budget_and_signs_what_was_asked() {
        let signer = PrivateKeySigner::random();
        let mut budget = Budget::new(U256::from(1_000u64), U256::from(1_000u64));
        let opts = PayOptions {
            now: Some(1_000_000),
            ..Default::default()
        };
        let p = pay(&signer, &required("exact", 2), &mut budget, &opts)
            .await
            .unwrap();
        assert_eq!(budget.spent, U256::from(700u64));
        let signed = p
            .payload
            .to_signed(31337, p.requirements.extra.permit2)
            .unwrap();
        assert_eq!(signed.recover_payer().unwrap(), signer.address());
        assert_eq!(signed.payment_id, p.payment_id);
        assert_eq!(signed.permit.deadline, 1_000_120);
        assert_eq!(signed.permit.terms.request_hash, B256::repeat_byte(7));
        // The second payment would exceed the total: refused, nothing committed.
        assert!(matches!(
            pay(&signer, &required("exact", 2), &mut budget, &opts).await,
            Err(PayError::Budget(_))
        ));
        assert_eq!(budget.spent, U256::from(700u64));
    }

    #[tokio::test]
    async fn escrow_expiries_and_v1_form() {
        let signer = PrivateKeySigner::random();
        let mut budget = Budget::new(U256::from(1_000u64), U256::from(10_000u64));
        let opts = PayOptions {
            now: Some(1_000_000),
            ..Default::default()
        };
        let p = pay(&signer, &required("escrow", 1), &mut budget, &opts)
            .await
            .unwrap();
        assert_eq!(p.payload.x402_version, 1);
        assert_eq!(p.payload.scheme(), Some("escrow"));
        let w = &p.payload.payload.permit2_authorization.witness;
        assert_eq!(
            (w.mode, w.authorization_expiry, w.refund_expiry),
            (2, 1_000_600, 1_003_600)
        );
    }

    #[test]
    fn nonces_are_unique() {
        let a = Address::repeat_byte(1);
        let set: std::collections::HashSet<_> = (0..1000).map(|_| fresh_nonce(a)).collect();
        assert_eq!(set.len(), 1000);
    }

    #[test]
    fn bad_requirements_are_named() {
        let mut r = required("exact", 2).accepts.remove(0);
        r.network = "base".into();
        assert!(matches!(
            permit_for(&r, Address::ZERO, &PayOptions::default()),
            Err(PayError::Requirement {
                field: "network",
                ..
            })
        ));
    }
}
