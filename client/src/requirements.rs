//! What a provider asks for in its HTTP 402 answer: x402 `PaymentRequired` and
//! `PaymentRequirements`, with the `extra` fields our settlement contract needs.
//!
//! Field names follow the x402 specification (version 2: `amount`, CAIP-2 `network` such as
//! `eip155:31337`); version 1 documents (`maxAmountRequired`, `resource` inside each
//! requirement) are read too. Amounts travel as decimal strings; `0x` hex strings and JSON
//! numbers are accepted on input.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::permit::PaymentMode;

/// The x402 `exact` scheme: settle exactly the signed amount.
pub const SCHEME_EXACT: &str = "exact";
/// The x402 `upto` scheme: settle any non-zero amount up to the signed maximum.
pub const SCHEME_UPTO: &str = "upto";
/// Our extension: pull up to the maximum into escrow now, capture with evidence later.
pub const SCHEME_ESCROW: &str = "escrow";

/// The payment mode a scheme name signs as, if the scheme is one we settle.
pub fn mode_of_scheme(scheme: &str) -> Option<PaymentMode> {
    match scheme {
        SCHEME_EXACT => Some(PaymentMode::Exact),
        SCHEME_UPTO => Some(PaymentMode::Upto),
        SCHEME_ESCROW => Some(PaymentMode::Escrow),
        _ => None,
    }
}

/// The scheme name a payment mode is offered under.
pub fn scheme_of_mode(mode: PaymentMode) -> &'static str {
    match mode {
        PaymentMode::Exact => SCHEME_EXACT,
        PaymentMode::Upto => SCHEME_UPTO,
        PaymentMode::Escrow => SCHEME_ESCROW,
    }
}

/// The CAIP-2 name of an EVM chain (`eip155:<chainId>`).
pub fn caip2(chain_id: u64) -> String {
    format!("eip155:{chain_id}")
}

/// The chain id in a CAIP-2 EVM network name, or `None` for anything else.
pub fn chain_id_of_network(network: &str) -> Option<u64> {
    network.strip_prefix("eip155:")?.parse().ok()
}

/// Serde for token amounts: written as decimal strings, read from decimal or `0x` hex strings
/// or JSON integers (x402 allows either string form).
pub mod amount {
    use alloy::primitives::U256;
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads a decimal or `0x` hex string, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(U256::from(n)),
            Raw::Str(s) => parse(&s).map_err(de::Error::custom),
        }
    }

    /// Parses a decimal or `0x`-prefixed hex amount.
    pub fn parse(s: &str) -> Result<U256, String> {
        let t = s.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => U256::from_str_radix(hex, 16),
            None => U256::from_str_radix(t, 10),
        };
        parsed.map_err(|e| format!("{s:?} is not a decimal or 0x-hex integer: {e}"))
    }
}

/// Serde for `u64` values x402 sends as strings (timestamps, nonces): written as decimal
/// strings, read from decimal/hex strings or JSON integers.
pub mod uint_string {
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads a decimal or `0x` hex string, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(n),
            Raw::Str(s) => {
                let v = super::amount::parse(&s).map_err(de::Error::custom)?;
                u64::try_from(v)
                    .map_err(|_| de::Error::custom(format!("{s} does not fit in 64 bits")))
            }
        }
    }
}

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

    #[test]
    fn networks_and_schemes() {
        assert_eq!(chain_id_of_network("eip155:8453"), Some(8453));
        assert_eq!(chain_id_of_network("base-sepolia"), None);
        assert_eq!(caip2(31337), "eip155:31337");
        for m in [PaymentMode::Exact, PaymentMode::Upto, PaymentMode::Escrow] {
            assert_eq!(mode_of_scheme(scheme_of_mode(m)), Some(m));
        }
        assert_eq!(mode_of_scheme("stream"), None);
    }
}
