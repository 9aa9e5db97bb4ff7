//! What a provider asks for in its HTTP 402 answer: x402 `PaymentRequired` and
//! `PaymentRequirements`, with the `extra` fields our settlement contract needs.
//!
//! Field names follow the x402 specification (version 2: `amount`, CAIP-2 `network` such as
//! `eip155:31337`); version 1 documents (`maxAmountRequired`, `resource` inside each
//! requirement) are read too. Amounts travel as decimal strings; `0x` hex strings and JSON
//! numbers are accepted on input.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::num::amount;
use crate::scheme::{chain_id_of_network, mode_of_scheme, PaymentMode, SCHEME_EXACT};

/// The protected resource a 402 answer is about (x402 `ResourceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// URL of the resource.
    pub url: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// Scheme-specific data for our schemes: where and how the payment settles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementExtra {
    /// The settlement contract (Permit2 `spender`).
    pub settlement: Address,
    /// Permit2's address on this chain (the EIP-712 verifying contract).
    pub permit2: Address,
    /// The facilitator that will settle (bound into the witness).
    pub facilitator: Address,
    /// Hash of the inference request this payment is for (bound into the witness).
    pub request_hash: B256,
    /// Largest facilitator fee the payer is asked to accept, in basis points.
    #[serde(default)]
    pub max_facilitator_fee_bps: u16,
    /// Escrow only: seconds from signing until captures stop and the payer may reclaim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_seconds: Option<u64>,
    /// Escrow only: seconds from signing until the payee can no longer refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_seconds: Option<u64>,
    /// Token name, for display (x402 convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One way to pay that a provider accepts (x402 `PaymentRequirements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// `exact`, `upto` or `escrow`.
    pub scheme: String,
    /// CAIP-2 network, e.g. `eip155:31337`.
    pub network: String,
    /// Price (exact) or maximum (upto, escrow) in the token's smallest unit. Version 1 calls it
    /// `maxAmountRequired`.
    #[serde(with = "amount", alias = "maxAmountRequired")]
    pub amount: U256,
    /// The ERC-20 token.
    pub asset: Address,
    /// Who is paid.
    pub pay_to: Address,
    /// How long the signed payment stays valid, in seconds.
    pub max_timeout_seconds: u64,
    /// Version 1 only: the resource URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Version 1 only: description of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version 1 only: MIME type of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Settlement contract, Permit2, facilitator, request hash and fee terms.
    pub extra: SettlementExtra,
}

impl PaymentRequirements {
    /// The payment mode this requirement's scheme signs as.
    pub fn mode(&self) -> Option<PaymentMode> {
        mode_of_scheme(&self.scheme)
    }

    /// The chain id of `network`.
    pub fn chain_id(&self) -> Option<u64> {
        chain_id_of_network(&self.network)
    }
}

/// The standard x402 `PaymentRequirements` of any scheme (the SDK's shape: `extra` is the
/// scheme's own, e.g. the token's EIP-712 `name` and `version` for EIP-3009).
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

/// The body (version 1) or `PAYMENT-REQUIRED` header (version 2) of a 402 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Protocol version (1 or 2).
    pub x402_version: u8,
    /// Why payment is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Version 2: the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The ways to pay the provider accepts.
    pub accepts: Vec<PaymentRequirements>,
    /// Version 2 extensions, passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

/// Why a requirements document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequirementsError {
    /// The JSON does not have the x402 shape; the message names the field.
    #[error("payment requirements are not valid x402 JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Base64 decoding of a `PAYMENT-REQUIRED` header failed.
    #[error("PAYMENT-REQUIRED header is not base64: {0}")]
    Base64(String),
    /// The document lists no requirement.
    #[error("`accepts` is empty: the provider offered no way to pay")]
    Empty,
}

impl PaymentRequired {
    /// Reads a 402 body, or a single `PaymentRequirements` object (wrapped as version 2).
    pub fn from_json(json: &str) -> Result<Self, RequirementsError> {
        let value: serde_json::Value = serde_json::from_str(json)?;
        let doc = if value.get("accepts").is_some() {
            serde_json::from_value::<Self>(value)?
        } else {
            let one: PaymentRequirements = serde_json::from_value(value)?;
            Self {
                x402_version: 2,
                error: None,
                resource: None,
                accepts: vec![one],
                extensions: None,
            }
        };
        if doc.accepts.is_empty() {
            return Err(RequirementsError::Empty);
        }
        Ok(doc)
    }

    /// Reads a version 2 `PAYMENT-REQUIRED` header (base64 JSON).
    pub fn from_header(value: &str) -> Result<Self, RequirementsError> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|e| RequirementsError::Base64(e.to_string()))?;
        Self::from_json(&String::from_utf8_lossy(&raw))
    }

    /// The version 2 `PAYMENT-REQUIRED` header value (base64 JSON).
    pub fn to_header(&self) -> String {
        use base64::Engine as _;
        let json = serde_json::to_vec(self).expect("requirements serialize");
        base64::engine::general_purpose::STANDARD.encode(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"{
        "x402Version": 2,
        "resource": {"url": "https://p.example/infer"},
        "accepts": [{
            "scheme": "exact", "network": "eip155:31337", "amount": "10000",
            "asset": "0x1111111111111111111111111111111111111111",
            "payTo": "0x2222222222222222222222222222222222222222",
            "maxTimeoutSeconds": 60,
            "extra": {
                "settlement": "0x3333333333333333333333333333333333333333",
                "permit2": "0x4444444444444444444444444444444444444444",
                "facilitator": "0x5555555555555555555555555555555555555555",
                "requestHash": "0x0000000000000000000000000000000000000000000000000000000000000001",
                "maxFacilitatorFeeBps": 50
            }
        }]
    }"#;

    #[test]
    fn reads_v2_and_round_trips_through_the_header() {
        let doc = PaymentRequired::from_json(V2).unwrap();
        let r = &doc.accepts[0];
        assert_eq!(r.amount, U256::from(10_000u64));
        assert_eq!(r.mode(), Some(PaymentMode::Exact));
        assert_eq!(r.chain_id(), Some(31337));
        assert_eq!(r.extra.max_facilitator_fee_bps, 50);
        let back = PaymentRequired::from_header(&doc.to_header()).unwrap();
        assert_eq!(back, doc);
        // Amounts are written as decimal strings, as x402 requires.
        assert!(serde_json::to_string(r)
            .unwrap()
            .contains(r#""amount":"10000""#));
    }

    #[test]
    fn reads_v1_max_amount_required_and_hex_amounts() {
        let v1 = V2
            .replace(r#""amount": "10000""#, r#""maxAmountRequired": "0x2710""#)
            .replace(r#""x402Version": 2"#, r#""x402Version": 1"#);
        let doc = PaymentRequired::from_json(&v1).unwrap();
        assert_eq!(doc.accepts[0].amount, U256::from(10_000u64));
    }

    #[test]
    fn a_single_requirement_is_accepted() {
        let doc = PaymentRequired::from_json(V2).unwrap();
        let one = serde_json::to_string(&doc.accepts[0]).unwrap();
        assert_eq!(
            PaymentRequired::from_json(&one).unwrap().accepts,
            doc.accepts
        );
    }

    #[test]
    fn errors_name_the_field() {
        let bad = V2.replace(r#""payTo""#, r#""payee""#);
        let err = PaymentRequired::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("payTo"), "{err}");
        let bad = V2.replace(r#""10000""#, r#""ten""#);
        let err = PaymentRequired::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("not a decimal"), "{err}");
        let empty = r#"{"x402Version":2,"accepts":[]}"#;
        assert!(matches!(
            PaymentRequired::from_json(empty),
            Err(RequirementsError::Empty)
        ));
    }
}
