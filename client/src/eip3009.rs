//! Standard x402 `exact` payments over EIP-3009, as the x402 SDK (`@x402/evm`) makes them for
//! USDC: the payer signs a `TransferWithAuthorization` under the token's EIP-712 domain (named by
//! the requirements' `extra.name` and `extra.version`) and sends `payload.authorization` with
//! `payload.signature`. Our settlement contract executes them in `chargeWithAuthorization`.
//!
//! This module owns the wire shape (the facilitator parses with these types) and the signed
//! struct; [`sign`] is the one place a payer signs one.

use alloy::dyn_abi::Eip712Domain;
use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::signers::SignerSync;
use alloy::sol_types::{SolStruct, SolValue};
use serde::{Deserialize, Serialize};

use crate::requirements::{amount, ResourceInfo, SCHEME_EXACT};

alloy::sol! {
    /// EIP-3009's signed message.
    #[allow(missing_docs)]
    #[derive(Debug, PartialEq, Eq)]
    struct TransferWithAuthorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }

    /// What the EIP-3009 path reads from the token (FiatToken v2.2 implements all of it; a token
    /// without `isBlacklisted` simply has no blocklist).
    #[allow(missing_docs)]
    #[sol(rpc)]
    interface IEip3009Token {
        function name() external view returns (string);
        function version() external view returns (string);
        function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
        function isBlacklisted(address account) external view returns (bool);
    }
}

/// The standard x402 `PaymentRequirements` (any scheme's), as the SDK sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StdRequirements {
    /// Scheme.
    pub scheme: String,
    /// CAIP-2 network.
    pub network: String,
    /// Amount in the token's smallest unit (v1: `maxAmountRequired`).
    #[serde(with = "amount", alias = "maxAmountRequired")]
    pub amount: U256,
    /// Token.
    pub asset: Address,
    /// Payee.
    pub pay_to: Address,
    /// How long the signed payment stays valid, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_timeout_seconds: Option<u64>,
    /// Scheme data (`name`, `version` for EIP-3009).
    #[serde(default)]
    pub extra: serde_json::Value,
}

impl StdRequirements {
    /// The requirements of an EIP-3009 `exact` payment of `amount` of `asset` (whose EIP-712
    /// domain is `name`, `version`) to `pay_to`.
    pub fn exact(
        network: String,
        asset: Address,
        domain: (&str, &str),
        pay_to: Address,
        amount: U256,
        max_timeout_seconds: u64,
    ) -> Self {
        Self {
            scheme: SCHEME_EXACT.into(),
            network,
            amount,
            asset,
            pay_to,
            max_timeout_seconds: Some(max_timeout_seconds),
            extra: serde_json::json!({"name": domain.0, "version": domain.1}),
        }
    }

    /// `extra.name` and `extra.version`, when both are non-empty strings.
    pub fn domain(&self) -> Option<(String, String)> {
        let text = |key: &str| {
            self.extra
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some((text("name")?, text("version")?))
    }
}

/// The signed EIP-3009 authorization on the wire (`payload.authorization`); numbers are decimal
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Payer.
    pub from: Address,
    /// Payee.
    pub to: Address,
    /// Amount.
    #[serde(with = "amount")]
    pub value: U256,
    /// Unix seconds.
    #[serde(with = "amount")]
    pub valid_after: U256,
    /// Unix seconds.
    #[serde(with = "amount")]
    pub valid_before: U256,
    /// 32-byte nonce, unique per payer.
    pub nonce: B256,
}

impl Authorization {
    /// The EIP-712 digest a payer signs for this authorization on `token` of `chain_id`, under
    /// the token's domain `name`, `version`.
    pub fn signing_hash(&self, name: &str, version: &str, chain_id: u64, token: Address) -> B256 {
        let domain = Eip712Domain::new(
            Some(name.to_owned().into()),
            Some(version.to_owned().into()),
            Some(U256::from(chain_id)),
            Some(token),
            None,
        );
        TransferWithAuthorization {
            from: self.from,
            to: self.to,
            value: self.value,
            validAfter: self.valid_after,
            validBefore: self.valid_before,
            nonce: self.nonce,
        }
        .eip712_signing_hash(&domain)
    }
}

/// `payload` of an EIP-3009 `exact` payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactEvmPayload {
    /// 65-byte ECDSA signature, or an EIP-1271 wallet's signature bytes.
    pub signature: Bytes,
    /// What was signed.
    pub authorization: Authorization,
}

/// The x402 `PaymentPayload` of an EIP-3009 payment (version 2 with `accepted`; version 1 with
/// `scheme`/`network`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eip3009PaymentPayload {
    /// Protocol version, 1 or 2.
    pub x402_version: u8,
    /// Version 2: the resource paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// Version 2: the requirement the client chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<StdRequirements>,
    /// Version 1: the scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Version 1: the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The signed authorization.
    pub payload: ExactEvmPayload,
    /// Version 2 extensions (the resource server adds `evidence` at settle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

impl Eip3009PaymentPayload {
    /// Attaches the evidence hash of the work paid for as the x402 `evidence` extension
    /// (`extensions.evidence.info.evidenceHash`), the way a resource server sends it to `/settle`.
    pub fn with_evidence(mut self, evidence_hash: B256) -> Self {
        let ext = self.extensions.get_or_insert_with(|| serde_json::json!({}));
        ext["evidence"] = serde_json::json!({"info": {"evidenceHash": evidence_hash}});
        self
    }
}

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
    let chain_id = crate::requirements::chain_id_of_network(&requirements.network)
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

/// The id `X402Settlement.chargeWithAuthorization` gives a payment:
/// `keccak256(abi.encode(chainId, settlement, token, payer, nonce))`.
pub fn payment_id(
    chain_id: u64,
    settlement: Address,
    token: Address,
    payer: Address,
    nonce: B256,
) -> B256 {
    keccak256((U256::from(chain_id), settlement, token, payer, nonce).abi_encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Signature;
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
