//! A facilitator's HTTP bodies: x402's `/verify`, `/settle` and `/supported` requests and
//! answers, plus our escrow endpoints. What a resource server sends, what the facilitator reads
//! and what it answers are these types on both sides. Payloads and requirements are taken as raw
//! JSON so that a malformed one is answered with an `invalidReason` naming the field, as x402
//! expects, not a bare HTTP 422.

use alloy::primitives::{Address, B256, U256};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::num::{amount, opt_amount};
use crate::payload::HeaderError;

/// Body of `POST /verify`, `POST /settle` and `POST /escrow/authorize`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    /// Protocol version of the request (optional; the payload's own version decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x402_version: Option<u8>,
    /// The `PaymentPayload` object, or (version 1 style) its base64 header string.
    #[serde(default, alias = "paymentHeader")]
    pub payment_payload: serde_json::Value,
    /// The `PaymentRequirements` the provider issued.
    #[serde(default)]
    pub payment_requirements: serde_json::Value,
    /// Settle only: hash of the evidence of the work paid for (zero when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_hash: Option<B256>,
    /// Settle only, `upto`: amount to settle (at most the signed maximum); defaults to the
    /// requirements' amount.
    #[serde(default, with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub amount: Option<U256>,
}

/// The x402 extension key under which a resource server attaches the evidence hash to a settle
/// request: `paymentPayload.extensions.evidence.info.evidenceHash` (0x + 64 hex digits).
pub const EVIDENCE_EXTENSION: &str = "evidence";

/// Which payment a payload carries, by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// Our Permit2 witness (`permit2Authorization.witness.payee`), settled by `charge`/`authorize`.
    Settlement,
    /// Standard EIP-3009 (`authorization` + `signature`), settled by `chargeWithAuthorization`.
    Eip3009,
    /// x402's Permit2 proxy payload (`permit2Authorization.witness.to`).
    X402Permit2,
}

impl PaymentRequest {
    /// The payment payload as JSON, decoding a version 1 base64 header string.
    pub fn payload_json(&self) -> Result<std::borrow::Cow<'_, serde_json::Value>, String> {
        match &self.payment_payload {
            serde_json::Value::Null => Err("paymentPayload is missing".into()),
            serde_json::Value::String(header) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(header.trim())
                    .map_err(|e| format!("paymentPayload is a string but not base64: {e}"))?;
                serde_json::from_slice(&raw)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|e| format!("paymentPayload (base64) is not JSON: {e}"))
            }
            other => Ok(std::borrow::Cow::Borrowed(other)),
        }
    }

    /// The evidence hash of a settle request: the top-level `evidenceHash` (our client), else the
    /// x402 extension `paymentPayload.extensions.evidence.info.evidenceHash`; zero when neither.
    pub fn evidence(&self, payload: &serde_json::Value) -> Result<B256, String> {
        if let Some(e) = self.evidence_hash {
            return Ok(e);
        }
        let Some(ext) = payload
            .get("extensions")
            .and_then(|x| x.get(EVIDENCE_EXTENSION))
        else {
            return Ok(B256::ZERO);
        };
        let raw = ext.get("info").and_then(|i| i.get("evidenceHash")).ok_or_else(|| {
            format!("paymentPayload.extensions.{EVIDENCE_EXTENSION} must be {{\"info\": {{\"evidenceHash\": \"0x…\"}}}}")
        })?;
        raw.as_str()
            .and_then(|s| s.parse::<B256>().ok())
            .ok_or_else(|| format!("paymentPayload.extensions.{EVIDENCE_EXTENSION}.info.evidenceHash {raw} is not 0x + 64 hex digits"))
    }
}

impl PayloadKind {
    /// Tells the payload kinds apart by their x402 shape.
    pub fn of(payload: &serde_json::Value) -> PayloadKind {
        let inner = payload.get("payload");
        if inner.and_then(|p| p.get("authorization")).is_some() {
            return PayloadKind::Eip3009;
        }
        let witness = inner
            .and_then(|p| p.get("permit2Authorization"))
            .and_then(|a| a.get("witness"));
        match witness {
            Some(w) if w.get("to").is_some() && w.get("payee").is_none() => {
                PayloadKind::X402Permit2
            }
            _ => PayloadKind::Settlement,
        }
    }
}

/// x402 `VerifyResponse`, with the human-readable message and payment id added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the payment may be accepted.
    pub is_valid: bool,
    /// The failure code, when not valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    /// What exactly was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_message: Option<String>,
    /// The payer, when the payload named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Address>,
    /// The id the settlement contract gives this payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<B256>,
}

/// The x402 `SettleResponse`, as a provider relays it in `PAYMENT-RESPONSE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleResponse {
    /// Whether the payment settled.
    pub success: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// Human-readable detail of the failure (our addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Address>,
    /// Settlement transaction hash ("" when it failed before one existed).
    pub transaction: String,
    /// CAIP-2 network.
    pub network: String,
    /// Amount settled (gross), decimal string (our addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The settlement contract's payment id (our addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<B256>,
    /// The batch the payment settled in, when batched (our addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

impl SettleResponse {
    /// Reads a `PAYMENT-RESPONSE` header (base64 JSON).
    pub fn decode(header: &str) -> Result<Self, HeaderError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .map_err(|e| HeaderError::Base64(e.to_string()))?;
        Ok(serde_json::from_slice(&raw)?)
    }

    /// The `PAYMENT-RESPONSE` header value.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(self).expect("settle response serializes"))
    }
}

/// One (scheme, network) this facilitator settles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedKind {
    /// Protocol version.
    pub x402_version: u8,
    /// Scheme.
    pub scheme: String,
    /// CAIP-2 network.
    pub network: String,
    /// Our settlement parameters: contracts, tokens, facilitator, fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

/// x402 `GET /supported`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedResponse {
    /// Supported kinds.
    pub kinds: Vec<SupportedKind>,
    /// Extensions implemented.
    pub extensions: Vec<String>,
    /// Signer addresses per CAIP-2 pattern.
    pub signers: std::collections::BTreeMap<String, Vec<Address>>,
}

/// Body of `POST /escrow/capture`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// The escrow.
    pub payment_id: B256,
    /// Gross amount to capture.
    #[serde(with = "amount")]
    pub amount: U256,
    /// Evidence of the work this capture pays for; also the idempotency key of the capture.
    pub evidence_hash: B256,
}

/// Body of `POST /escrow/void`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoidRequest {
    /// The escrow.
    pub payment_id: B256,
}

/// Answer of the escrow operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowResponse {
    /// Whether the operation happened (or had already happened).
    pub success: bool,
    /// Failure code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// Failure detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The escrow.
    pub payment_id: B256,
    /// Transaction hash ("" when none).
    pub transaction: String,
    /// Amount moved, decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// CAIP-2 network.
    pub network: String,
}
