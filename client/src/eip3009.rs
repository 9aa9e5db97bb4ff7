//! Standard x402 `exact` payments over EIP-3009, as the x402 SDK (`@x402/evm`) makes them for
//! USDC: the payer signs a `TransferWithAuthorization` under the token's EIP-712 domain (named by
//! the requirements' `extra.name` and `extra.version`) and sends `payload.authorization` with
//! `payload.signature`. Our settlement contract executes them in `chargeWithAuthorization`.
//!
//! The wire shape and the signed struct are `x402-protocol`'s (the facilitator parses with the
//! same types); [`sign`] is the one place a payer signs one.

use alloy::primitives::{Bytes, B256, U256};
use alloy::signers::SignerSync;

pub use x402_protocol::eip3009::{
    payment_id, Authorization, Eip3009PaymentPayload, ExactEvmPayload, IEip3009Token,
    TransferWithAuthorization,
};
pub use x402_protocol::StdRequirements;
use x402_protocol::{chain_id_of_network, ResourceInfo, SCHEME_EXACT};

/// Why an EIP-3009 payment could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum Eip3009Error {
    /// The requirements cannot be paid this way.
    #[error("invalid paymentRequirements.{field}: {reason}")]
    InvalidRequirements {
        /// The offending field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signer(#[from] alloy::signers::Error),
}

/// How far back the SDK dates `validAfter`, so a chain clock a little behind still accepts it.
pub const VALID_AFTER_SLACK_SECS: u64 = 600;

/// Signs an x402 version 2 `exact` payment for `requirements` over EIP-3009 as the x402 SDK does:
/// `value` is the required amount, valid from `now - 600` until `now + maxTimeoutSeconds` (unix
/// seconds; pass the chain's clock), under the domain `extra` names, with the payer's `nonce`.
pub fn sign(
    signer: &(impl SignerSync + alloy::signers::Signer),
    requirements: &StdRequirements,
    resource: Option<ResourceInfo>,
    now: u64,
    nonce: B256,
) -> Result<Eip3009PaymentPayload, Eip3009Error> {
    let timeout =
        requirements
            .max_timeout_seconds
            .ok_or_else(|| Eip3009Error::InvalidRequirements {
                field: "maxTimeoutSeconds",
                reason: "missing".into(),
            })?;
    sign_window(
        signer,
        requirements,
        resource,
        (
            now.saturating_sub(VALID_AFTER_SLACK_SECS),
            now.saturating_add(timeout),
        ),
        nonce,
    )
}

/// [`sign`] with an explicit validity window `(validAfter, validBefore)`, unix seconds.
pub fn sign_window(
    signer: &(impl SignerSync + alloy::signers::Signer),
    requirements: &StdRequirements,
    resource: Option<ResourceInfo>,
    (valid_after, valid_before): (u64, u64),
    nonce: B256,
) -> Result<Eip3009PaymentPayload, Eip3009Error> {
    let invalid = |field, reason: &str| Eip3009Error::InvalidRequirements {
        field,
        reason: reason.into(),
    };
    if requirements.scheme != SCHEME_EXACT {
        return Err(invalid("scheme", "EIP-3009 pays scheme \"exact\" only"));
    }
    let chain_id = chain_id_of_network(&requirements.network)
        .ok_or_else(|| invalid("network", "not an eip155:<chainId> network"))?;
    let (name, version) = requirements.domain().ok_or_else(|| {
        invalid(
            "extra",
            "must name the token's EIP-712 domain: extra.name and extra.version",
        )
    })?;
    let authorization = Authorization {
        from: signer.address(),
        to: requirements.pay_to,
        value: requirements.amount,
        valid_after: U256::from(valid_after),
        valid_before: U256::from(valid_before),
        nonce,
    };
    let digest = authorization.signing_hash(&name, &version, chain_id, requirements.asset);
    let signature = signer.sign_hash_sync(&digest)?;
    Ok(Eip3009PaymentPayload {
        x402_version: 2,
        resource,
        accepted: Some(requirements.clone()),
        scheme: None,
        network: None,
        payload: ExactEvmPayload {
            signature: Bytes::from(signature.as_bytes().to_vec()),
            authorization,
        },
        extensions: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, Signature};
    use alloy::signers::local::PrivateKeySigner;

    fn requirements() -> StdRequirements {
        StdRequirements::exact(
            "eip155:8453".into(),
            Address::repeat_byte(3),
            ("USD Coin", "2"),
            Address::repeat_byte(2),
            U256::from(1_500_000u64),
            300,
        )
    }

    #[test]
    fn signs_what_the_requirements_ask_and_round_trips_the_wire_shape() {
        let key = PrivateKeySigner::random();
        let p = sign(&key, &requirements(), None, 1_000, B256::repeat_byte(9)).unwrap();
        let a = &p.payload.authorization;
        assert_eq!(
            (a.from, a.to, a.value),
            (
                key.address(),
                Address::repeat_byte(2),
                U256::from(1_500_000u64)
            )
        );
        assert_eq!(
            (a.valid_after, a.valid_before),
            (U256::from(400), U256::from(1_300))
        );
        let digest = a.signing_hash("USD Coin", "2", 8453, Address::repeat_byte(3));
        let sig = Signature::from_raw(&p.payload.signature).unwrap();
        assert_eq!(
            sig.recover_address_from_prehash(&digest).unwrap(),
            key.address()
        );

        let json = serde_json::to_value(p.clone().with_evidence(B256::repeat_byte(7))).unwrap();
        assert_eq!(json["x402Version"], 2);
        assert_eq!(json["accepted"]["extra"]["name"], "USD Coin");
        assert_eq!(json["payload"]["authorization"]["value"], "1500000");
        assert_eq!(json["payload"]["authorization"]["validBefore"], "1300");
        assert_eq!(
            json["extensions"]["evidence"]["info"]["evidenceHash"],
            serde_json::json!(B256::repeat_byte(7))
        );
        let back: Eip3009PaymentPayload = serde_json::from_value(json).unwrap();
        assert_eq!(back.payload, p.payload);
    }

    #[test]
    fn refuses_requirements_it_cannot_pay() {
        let key = PrivateKeySigner::random();
        let mut r = requirements();
        r.extra = serde_json::json!({"name": "USD Coin"});
        let e = sign(&key, &r, None, 0, B256::ZERO).unwrap_err();
        assert!(e.to_string().contains("extra.version"), "{e}");
        let mut r = requirements();
        r.scheme = "upto".into();
        let e = sign(&key, &r, None, 0, B256::ZERO).unwrap_err();
        assert!(e.to_string().contains("paymentRequirements.scheme"), "{e}");
    }
}
