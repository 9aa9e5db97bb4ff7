//! x402's Permit2 proxy payments on the wire, as the x402 SDK (`@x402/evm`) sends them: Permit2's
//! `PermitWitnessTransferFrom` with the proxy as spender and the scheme's witness — exact
//! `Witness(address to,uint256 validAfter)`, upto `Witness(address to,address facilitator,uint256
//! validAfter)` (the SDK's `permit2WitnessTypes` / `uptoPermit2WitnessTypes`) — signed under the
//! domain `{name: "Permit2", chainId, verifyingContract: Permit2}`.

use alloy::primitives::{Address, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::num::amount;
use crate::requirements::StdRequirements;

/// The EIP-712 types of a payment through `x402ExactPermit2Proxy`.
pub mod exact_typed {
    alloy::sol! {
        /// Permit2's `TokenPermissions`.
        #[derive(Debug, PartialEq, Eq)]
        struct TokenPermissions { address token; uint256 amount; }
        /// The exact proxy's witness.
        #[derive(Debug, PartialEq, Eq)]
        struct Witness { address to; uint256 validAfter; }
        /// What the payer signs.
        #[derive(Debug, PartialEq, Eq)]
        struct PermitWitnessTransferFrom {
            TokenPermissions permitted;
            address spender;
            uint256 nonce;
            uint256 deadline;
            Witness witness;
        }
    }
}

/// The EIP-712 types of a payment through `x402UptoPermit2Proxy`.
pub mod upto_typed {
    alloy::sol! {
        /// Permit2's `TokenPermissions`.
        #[derive(Debug, PartialEq, Eq)]
        struct TokenPermissions { address token; uint256 amount; }
        /// The upto proxy's witness: only `facilitator` may settle.
        #[derive(Debug, PartialEq, Eq)]
        struct Witness { address to; address facilitator; uint256 validAfter; }
        /// What the payer signs.
        #[derive(Debug, PartialEq, Eq)]
        struct PermitWitnessTransferFrom {
            TokenPermissions permitted;
            address spender;
            uint256 nonce;
            uint256 deadline;
            Witness witness;
        }
    }
}

/// `permitted` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermittedJson {
    /// Token.
    pub token: Address,
    /// Amount (exact: the price; upto: the maximum), decimal string.
    #[serde(with = "amount")]
    pub amount: U256,
}

/// `witness` on the wire (`facilitator` only in upto).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessJson {
    /// Destination (must be `payTo`).
    pub to: Address,
    /// Upto: the only address allowed to settle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facilitator: Option<Address>,
    /// Unix seconds, decimal string.
    #[serde(with = "amount")]
    pub valid_after: U256,
}

/// `permit2Authorization` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationJson {
    /// Payer.
    pub from: Address,
    /// Token and amount.
    pub permitted: PermittedJson,
    /// The proxy.
    pub spender: Address,
    /// Permit2 unordered nonce, decimal string.
    #[serde(with = "amount")]
    pub nonce: U256,
    /// Unix seconds, decimal string.
    #[serde(with = "amount")]
    pub deadline: U256,
    /// The scheme's witness.
    pub witness: WitnessJson,
}

/// `payload` of a proxy payment: the signature and what it signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyPayload {
    /// The payer's signature.
    pub signature: Bytes,
    /// What was signed.
    pub permit2_authorization: AuthorizationJson,
}

/// The x402 `PaymentPayload` of a proxy payment (v2 `accepted`, or v1 `scheme`/`network`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyPaymentPayload {
    /// Protocol version, 1 or 2.
    pub x402_version: u8,
    /// Version 2: the requirement the client chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<StdRequirements>,
    /// Version 1: the scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Version 1: the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The signed permit.
    pub payload: ProxyPayload,
}

impl ProxyPaymentPayload {
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolStruct;

    #[test]
    fn the_witness_types_are_the_sdks() {
        assert_eq!(
            exact_typed::PermitWitnessTransferFrom::eip712_encode_type(),
            "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)"
        );
        assert_eq!(
            upto_typed::Witness::eip712_encode_type(),
            "Witness(address to,address facilitator,uint256 validAfter)"
        );
    }

    #[test]
    fn an_sdk_upto_payload_round_trips() {
        let json = serde_json::json!({
            "x402Version": 2,
            "accepted": {
                "scheme": "upto", "network": "eip155:8453", "amount": "5000",
                "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
                "payTo": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                "maxTimeoutSeconds": 300,
                "extra": {"assetTransferMethod": "permit2"}
            },
            "payload": {
                "signature": "0x0102",
                "permit2Authorization": {
                    "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                    "permitted": {"token": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "amount": "5000"},
                    "spender": "0x4020633461b2895a48930Ff97eE8fCdE8E520002",
                    "nonce": "77",
                    "deadline": "1900000000",
                    "witness": {
                        "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                        "facilitator": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                        "validAfter": "10"
                    }
                }
            }
        });
        let p: ProxyPaymentPayload = serde_json::from_value(json.clone()).unwrap();
        assert!(p
            .payload
            .permit2_authorization
            .witness
            .facilitator
            .is_some());
        // Addresses are written in lower case; the SDK checksums them.
        let lower = |v: &serde_json::Value| v.to_string().to_lowercase();
        assert_eq!(lower(&serde_json::to_value(&p).unwrap()), lower(&json));
    }
}
