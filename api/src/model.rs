//! Value types shared by parameters and responses: classes, addresses, hashes, amounts.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{Address, B256};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A payment class, as the classifier writes it (`payment_classes.class`), plus `unclassified`
/// for payments the classifier has not reached yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Payer = payee.
    SelfPayment,
    /// Payer is a labelled ecosystem wallet.
    Internal,
    /// Payer and payee are linked (declared wallet, funding hops, shared funder, round trip).
    SelfDealing,
    /// Most of the tokens spent came from ecosystem wallets.
    ProjectFunded,
    /// Payer sits in a suspicious funding cluster.
    SuspectedSybil,
    /// Organic demand.
    External,
    /// Not enough history to decide.
    Unattributed,
    /// Not classified yet.
    Unclassified,
}

impl Class {
    /// Every class, in the order the rules apply (then `unclassified`).
    pub const ALL: [Class; 8] = [
        Class::SelfPayment,
        Class::Internal,
        Class::SelfDealing,
        Class::ProjectFunded,
        Class::SuspectedSybil,
        Class::External,
        Class::Unattributed,
        Class::Unclassified,
    ];

    /// The name stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::SelfPayment => "self_payment",
            Class::Internal => "internal",
            Class::SelfDealing => "self_dealing",
            Class::ProjectFunded => "project_funded",
            Class::SuspectedSybil => "suspected_sybil",
            Class::External => "external",
            Class::Unattributed => "unattributed",
            Class::Unclassified => "unclassified",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Class::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Class::ALL.iter().map(|c| c.as_str()).collect();
                format!("`{s}` is not a class; expected one of {}", names.join(", "))
            })
    }
}

/// Parses a 20-byte address written as `0x` + 40 hex digits. Mixed case must be a valid
/// EIP-55 checksum (a typo in a checksummed address is caught instead of silently matching nothing).
pub fn parse_address(param: &str, s: &str) -> Result<Address, ApiError> {
    let hex = s.strip_prefix("0x").ok_or_else(|| {
        ApiError::bad(
            param,
            "must be a 0x-prefixed 20-byte hex address (0x + 40 hex digits)",
        )
    })?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad(
            param,
            "must be a 0x-prefixed 20-byte hex address (0x + 40 hex digits)",
        ));
    }
    let mixed =
        hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        return Address::parse_checksummed(s, None)
            .map_err(|_| ApiError::bad(param, "mixed-case address fails its EIP-55 checksum"));
    }
    Address::from_str(s)
        .map_err(|_| ApiError::bad(param, "must be a 0x-prefixed 20-byte hex address"))
}

/// Parses a 32-byte hash written as `0x` + 64 hex digits.
pub fn parse_b256(param: &str, s: &str) -> Result<B256, ApiError> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad(
            param,
            "must be a 0x-prefixed 32-byte hex value (0x + 64 hex digits)",
        ));
    }
    B256::from_str(s).map_err(|_| ApiError::bad(param, "must be a 0x-prefixed 32-byte hex value"))
}

/// Renders database bytes (an address or hash) as 0x-hex; addresses get their EIP-55 checksum.
pub fn hex_bytes(bytes: &[u8]) -> String {
    if bytes.len() == 20 {
        Address::from_slice(bytes).to_checksum(None)
    } else {
        format!("0x{}", alloy_primitives::hex::encode(bytes))
    }
}

/// Serializes `Vec<u8>` columns as 0x-hex strings.
pub fn ser_hex<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex_bytes(v))
}

/// Serializes optional byte columns as 0x-hex strings or null.
pub fn ser_opt_hex<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex_bytes(b)),
        None => s.serialize_none(),
    }
}
