//! Standard x402 `exact` payments over EIP-3009, as the x402 SDK (`@x402/evm`) makes them for
//! USDC: the payer signs a `TransferWithAuthorization` under the token's EIP-712 domain (named by
//! the requirements' `extra.name` and `extra.version`) and sends `payload.authorization` with
//! `payload.signature`. Our settlement contract executes them in `chargeWithAuthorization`.
//!
//! The wire shape, the signed struct, the token interface read to check one, and the payment id
//! the contract gives it; the payer signs in `x402-client`, the facilitator checks here.

use alloy::dyn_abi::Eip712Domain;
use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::sol_types::{SolStruct, SolValue};
use serde::{Deserialize, Serialize};

use crate::num::amount;
use crate::requirements::{ResourceInfo, StdRequirements};

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
    /// The scheme the payload was made for: `accepted.scheme` (version 2) or `scheme` (1).
    pub fn paid_scheme(&self) -> Option<&str> {
        self.accepted
            .as_ref()
            .map(|acc| acc.scheme.as_str())
            .or(self.scheme.as_deref())
    }

    /// The network the payload was made for: `accepted.network` (version 2) or `network` (1).
    pub fn paid_network(&self) -> Option<&str> {
        self.accepted
            .as_ref()
            .map(|acc| acc.network.as_str())
            .or(self.network.as_deref())
    }
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

    /// A version 2 payload as `@x402/evm`'s `ExactEvmScheme` client sends it (recorded).
    const SDK_PAYLOAD: &str = r#"{
        "x402Version": 2,
        "resource": {"url": "http://127.0.0.1:4021/infer", "description": "inference", "mimeType": "application/json"},
        "accepted": {
            "scheme": "exact", "network": "eip155:8453", "amount": "1500000",
            "asset": "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
            "payTo": "0x2222222222222222222222222222222222222222",
            "maxTimeoutSeconds": 300,
            "extra": {"name": "USD Coin", "version": "2"}
        },
        "payload": {
            "authorization": {
                "from": "0x1111111111111111111111111111111111111111",
                "to": "0x2222222222222222222222222222222222222222",
                "value": "1500000",
                "validAfter": "1764770000",
                "validBefore": "1764770900",
                "nonce": "0x0909090909090909090909090909090909090909090909090909090909090909"
            },
            "signature": "0x0102"
        },
        "extensions": {"evidence": {"info": {"evidenceHash": "0x0707070707070707070707070707070707070707070707070707070707070707"}}}
    }"#;

    #[test]
    fn the_sdk_payload_round_trips_unchanged() {
        let p: Eip3009PaymentPayload = serde_json::from_str(SDK_PAYLOAD).unwrap();
        assert_eq!(p.payload.authorization.value, U256::from(1_500_000u64));
        assert_eq!(
            p.accepted.as_ref().and_then(StdRequirements::domain),
            Some(("USD Coin".into(), "2".into()))
        );
        let want: serde_json::Value = serde_json::from_str(SDK_PAYLOAD).unwrap();
        let mut got = serde_json::to_value(&p).unwrap();
        // Addresses are written checksummed; the SDK may send them lower case.
        let lower = |v: &mut serde_json::Value| {
            *v = serde_json::from_str(&v.to_string().to_lowercase()).unwrap()
        };
        lower(&mut got);
        let mut want = want;
        lower(&mut want);
        assert_eq!(got, want);
    }

    #[test]
    fn with_evidence_sets_the_extension_a_resource_server_sends() {
        let mut p: Eip3009PaymentPayload = serde_json::from_str(SDK_PAYLOAD).unwrap();
        p.extensions = None;
        let json = serde_json::to_value(p.with_evidence(B256::repeat_byte(7))).unwrap();
        assert_eq!(
            json["extensions"]["evidence"]["info"]["evidenceHash"],
            serde_json::json!(B256::repeat_byte(7))
        );
    }
}
