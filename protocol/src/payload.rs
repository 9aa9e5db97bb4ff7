//! The x402 payment a client sends with its retried request: the `PaymentPayload` JSON, carried
//! base64-encoded in the `PAYMENT-SIGNATURE` header (x402 version 2) or `X-PAYMENT` (version 1).
//!
//! Our scheme payload is a Permit2 witness transfer, shaped like x402's Permit2 payload
//! (`signature` plus `permit2Authorization` with `from`, `permitted`, `spender`, `nonce`,
//! `deadline`, `witness`); the witness carries the settlement contract's `PaymentTerms` fields
//! under their Solidity names.

use alloy::primitives::{Address, Bytes, B256, U256};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::num::{amount, uint_string};
use crate::permit::{PaymentPermit, PaymentTerms, PermitError, SignedPayment};
use crate::requirements::{PaymentRequirements, ResourceInfo};
use crate::scheme::{scheme_of_mode, PaymentMode};

/// Request header of x402 version 2.
pub const HEADER_V2: &str = "PAYMENT-SIGNATURE";
/// Request header of x402 version 1.
pub const HEADER_V1: &str = "X-PAYMENT";
/// Response header carrying the settlement result (version 2).
pub const RESPONSE_HEADER_V2: &str = "PAYMENT-RESPONSE";
/// Response header carrying the settlement result (version 1).
pub const RESPONSE_HEADER_V1: &str = "X-PAYMENT-RESPONSE";

/// The request header name for an x402 version.
pub fn header_name(x402_version: u8) -> &'static str {
    if x402_version >= 2 {
        HEADER_V2
    } else {
        HEADER_V1
    }
}

/// Permit2 `TokenPermissions` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permitted {
    /// The ERC-20.
    pub token: Address,
    /// Exact amount (exact) or maximum (upto, escrow), decimal string.
    #[serde(with = "amount")]
    pub amount: U256,
}

/// The `PaymentTerms` witness on the wire (Solidity field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessJson {
    /// Whose tokens move (must equal `permit2Authorization.from`).
    pub payer: Address,
    /// Who is paid.
    pub payee: Address,
    /// The only facilitator allowed to settle.
    pub facilitator: Address,
    /// Hash of the request paid for.
    pub request_hash: B256,
    /// Largest facilitator fee accepted, in basis points.
    pub max_facilitator_fee_bps: u16,
    /// Not settleable before this unix time.
    #[serde(with = "uint_string")]
    pub valid_after: u64,
    /// `PaymentMode` as signed: 0 exact, 1 upto, 2 escrow.
    pub mode: u8,
    /// Escrow only: end of captures (unix time), else 0.
    #[serde(with = "uint_string", default)]
    pub authorization_expiry: u64,
    /// Escrow only: end of refunds (unix time), else 0.
    #[serde(with = "uint_string", default)]
    pub refund_expiry: u64,
}

/// What the payer signed, as x402's `permit2Authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permit2Authorization {
    /// The payer (signer, EOA or EIP-1271 wallet).
    pub from: Address,
    /// Token and amount.
    pub permitted: Permitted,
    /// The settlement contract.
    pub spender: Address,
    /// Permit2 unordered nonce, decimal string.
    #[serde(with = "amount")]
    pub nonce: U256,
    /// Signature expiry (unix time).
    #[serde(with = "uint_string")]
    pub deadline: u64,
    /// The payment terms.
    pub witness: WitnessJson,
}

/// The scheme payload: signature and what it signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permit2Payload {
    /// 65-byte ECDSA signature, or an EIP-1271 wallet's signature bytes.
    pub signature: Bytes,
    /// What was signed.
    pub permit2_authorization: Permit2Authorization,
}

/// The x402 `PaymentPayload` (version 2 with `accepted`; version 1 with `scheme`/`network`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Protocol version, 1 or 2.
    pub x402_version: u8,
    /// Version 2: the resource paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// Version 2: the requirement the client chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<PaymentRequirements>,
    /// Version 1: the scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Version 1: the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The signed Permit2 witness transfer.
    pub payload: Permit2Payload,
    /// Version 2 extensions, echoed from the requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
}

/// Why a payment header could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// Not base64.
    #[error("payment header is not base64: {0}")]
    Base64(String),
    /// Not the x402 `PaymentPayload` shape; the message names the field.
    #[error("payment payload is not valid x402 JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field holds a value no valid payment can have.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field (JSON path).
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl PaymentPayload {
    /// Wraps a signed payment as the answer to `requirements` (x402 version 2).
    pub fn from_signed(
        signed: &SignedPayment,
        requirements: &PaymentRequirements,
        resource: Option<ResourceInfo>,
    ) -> Self {
        let p = &signed.permit;
        let t = &p.terms;
        Self {
            x402_version: 2,
            resource,
            accepted: Some(requirements.clone()),
            scheme: None,
            network: None,
            payload: Permit2Payload {
                signature: signed.signature.clone(),
                permit2_authorization: Permit2Authorization {
                    from: signed.payer,
                    permitted: Permitted {
                        token: p.token,
                        amount: p.amount,
                    },
                    spender: p.settlement,
                    nonce: p.nonce,
                    deadline: p.deadline,
                    witness: WitnessJson {
                        payer: t.payer,
                        payee: t.payee,
                        facilitator: t.facilitator,
                        request_hash: t.request_hash,
                        max_facilitator_fee_bps: t.max_facilitator_fee_bps,
                        valid_after: t.valid_after,
                        mode: t.mode as u8,
                        authorization_expiry: t.authorization_expiry,
                        refund_expiry: t.refund_expiry,
                    },
                },
            },
            extensions: None,
        }
    }

    /// Rewrites this payload in version 1 form (`scheme`/`network` instead of `accepted`).
    pub fn into_v1(mut self) -> Self {
        if let Some(acc) = self.accepted.take() {
            self.scheme = Some(acc.scheme);
            self.network = Some(acc.network);
        }
        self.x402_version = 1;
        self.resource = None;
        self
    }

    /// The scheme the payer chose (`accepted.scheme`, or version 1 `scheme`).
    pub fn scheme(&self) -> Option<&str> {
        self.accepted
            .as_ref()
            .map(|a| a.scheme.as_str())
            .or(self.scheme.as_deref())
    }

    /// The network the payer chose (`accepted.network`, or version 1 `network`).
    pub fn network(&self) -> Option<&str> {
        self.accepted
            .as_ref()
            .map(|a| a.network.as_str())
            .or(self.network.as_deref())
    }

    /// Rebuilds the signed payment, given the chain and Permit2 address the signature is for
    /// (they are part of the EIP-712 domain but not of the payload).
    pub fn to_signed(&self, chain_id: u64, permit2: Address) -> Result<SignedPayment, HeaderError> {
        let a = &self.payload.permit2_authorization;
        let w = &a.witness;
        let mode = PaymentMode::try_from(w.mode).map_err(|_| HeaderError::Invalid {
            field: "payload.permit2Authorization.witness.mode",
            reason: format!("{} is not 0 (exact), 1 (upto) or 2 (escrow)", w.mode),
        })?;
        let permit = PaymentPermit {
            chain_id,
            permit2,
            settlement: a.spender,
            token: a.permitted.token,
            amount: a.permitted.amount,
            nonce: a.nonce,
            deadline: a.deadline,
            terms: PaymentTerms {
                payer: w.payer,
                payee: w.payee,
                facilitator: w.facilitator,
                request_hash: w.request_hash,
                max_facilitator_fee_bps: w.max_facilitator_fee_bps,
                valid_after: w.valid_after,
                mode,
                authorization_expiry: w.authorization_expiry,
                refund_expiry: w.refund_expiry,
            },
        };
        permit.validate().map_err(|e| match e {
            PermitError::InvalidField { field, reason } => HeaderError::Invalid { field, reason },
            other => HeaderError::Invalid {
                field: "payload",
                reason: other.to_string(),
            },
        })?;
        if w.payer != a.from {
            return Err(HeaderError::Invalid {
                field: "payload.permit2Authorization.witness.payer",
                reason: format!("the signed payer {} differs from `from` {}: the payment is charged to the signed payer only", w.payer, a.from),
            });
        }
        Ok(SignedPayment {
            payment_id: permit.payment_id(),
            payer: a.from,
            signature: self.payload.signature.clone(),
            permit,
        })
    }

    /// The scheme name matching the signed mode (for checks against `accepted.scheme`).
    pub fn signed_scheme(&self) -> Option<&'static str> {
        PaymentMode::try_from(self.payload.permit2_authorization.witness.mode)
            .ok()
            .map(scheme_of_mode)
    }

    /// The header value: base64 of the JSON.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("payment payload serializes");
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// Reads a header value (base64 JSON).
    pub fn decode(header: &str) -> Result<Self, HeaderError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .map_err(|e| HeaderError::Base64(e.to_string()))?;
        Ok(serde_json::from_slice(&raw)?)
    }

    /// `(header name, header value)` to attach to the retried request.
    pub fn header(&self) -> (&'static str, String) {
        (header_name(self.x402_version), self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::SettlementExtra;
    use alloy::primitives::{address, keccak256};
    use alloy::signers::local::PrivateKeySigner;

    fn requirements() -> PaymentRequirements {
        PaymentRequirements {
            scheme: "exact".into(),
            network: "eip155:31337".into(),
            amount: U256::from(5_000u64),
            asset: address!("1111111111111111111111111111111111111111"),
            pay_to: address!("2222222222222222222222222222222222222222"),
            max_timeout_seconds: 60,
            resource: None,
            description: None,
            mime_type: None,
            extra: SettlementExtra {
                settlement: address!("3333333333333333333333333333333333333333"),
                permit2: address!("4444444444444444444444444444444444444444"),
                facilitator: address!("5555555555555555555555555555555555555555"),
                request_hash: keccak256(b"req"),
                max_facilitator_fee_bps: 30,
                authorization_seconds: None,
                refund_seconds: None,
                name: None,
            },
        }
    }

    fn signed(signer: &PrivateKeySigner) -> SignedPayment {
        let r = requirements();
        PaymentPermit {
            chain_id: 31337,
            permit2: r.extra.permit2,
            settlement: r.extra.settlement,
            token: r.asset,
            amount: r.amount,
            nonce: U256::from(99u64),
            deadline: 2_000_000_000,
            terms: PaymentTerms {
                payer: signer.address(),
                payee: r.pay_to,
                facilitator: r.extra.facilitator,
                request_hash: r.extra.request_hash,
                max_facilitator_fee_bps: 30,
                valid_after: 0,
                mode: PaymentMode::Exact,
                authorization_expiry: 0,
                refund_expiry: 0,
            },
        }
        .sign_sync(signer)
        .unwrap()
    }

    #[test]
    fn header_round_trip_rebuilds_the_signed_payment() {
        let signer = PrivateKeySigner::random();
        let s = signed(&signer);
        let payload = PaymentPayload::from_signed(&s, &requirements(), None);
        let (name, value) = payload.header();
        assert_eq!(name, HEADER_V2);
        let back = PaymentPayload::decode(&value).unwrap();
        assert_eq!(back, payload);
        let rebuilt = back.to_signed(31337, requirements().extra.permit2).unwrap();
        assert_eq!(rebuilt, s);
        assert_eq!(rebuilt.recover_payer().unwrap(), signer.address());
    }

    #[test]
    fn v1_form_uses_x_payment_and_scheme_network() {
        let signer = PrivateKeySigner::random();
        let v1 = PaymentPayload::from_signed(&signed(&signer), &requirements(), None).into_v1();
        assert_eq!(v1.header().0, HEADER_V1);
        assert_eq!(v1.scheme(), Some("exact"));
        assert_eq!(v1.network(), Some("eip155:31337"));
        let json = serde_json::to_value(&v1).unwrap();
        assert!(json.get("accepted").is_none());
        assert_eq!(json["payload"]["permit2Authorization"]["nonce"], "99");
    }

    #[test]
    fn a_payload_charging_another_wallet_than_the_signed_payer_is_refused() {
        // One owner's signature presented for a sibling wallet: `from` differs from the payer
        // the signature covers, so nobody but the signed payer can ever be charged.
        let signer = PrivateKeySigner::random();
        let mut p = PaymentPayload::from_signed(&signed(&signer), &requirements(), None);
        p.payload.permit2_authorization.from = Address::repeat_byte(0x42);
        match p.to_signed(31337, requirements().extra.permit2) {
            Err(HeaderError::Invalid { field, reason }) => {
                assert_eq!(field, "payload.permit2Authorization.witness.payer");
                assert!(reason.contains("differs from `from`"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let signer = PrivateKeySigner::random();
        let mut p = PaymentPayload::from_signed(&signed(&signer), &requirements(), None);
        p.payload.permit2_authorization.witness.mode = 7;
        match p.to_signed(31337, Address::ZERO) {
            Err(HeaderError::Invalid { field, .. }) => {
                assert_eq!(field, "payload.permit2Authorization.witness.mode")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PaymentPayload::decode("%%%"),
            Err(HeaderError::Base64(_))
        ));
        let err = serde_json::from_str::<PaymentPayload>(
            r#"{"x402Version":2,"payload":{"signature":"0x"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("permit2Authorization"), "{err}");
    }
}
