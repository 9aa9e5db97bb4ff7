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
    /// Every class, in the order the rules apply ([`x402_domain::Class::ALL`]), then
    /// `unclassified`.
    pub const ALL: [Class; x402_domain::Class::ALL.len() + 1] = {
        let mut all = [Class::Unclassified; x402_domain::Class::ALL.len() + 1];
        let mut i = 0;
        while i < x402_domain::Class::ALL.len() {
            all[i] = Class::of(x402_domain::Class::ALL[i]);
            i += 1;
        }
        all
    };

    /// The classifier's class this is (`None` for `unclassified`): the one place the API's
    /// list meets [`x402_domain::Class`], exhaustive both ways, so the names and the rule
    /// order come from the domain.
    pub const fn domain(self) -> Option<x402_domain::Class> {
        use x402_domain::Class as D;
        match self {
            Class::SelfPayment => Some(D::SelfPayment),
            Class::Internal => Some(D::Internal),
            Class::SelfDealing => Some(D::SelfDealing),
            Class::ProjectFunded => Some(D::ProjectFunded),
            Class::SuspectedSybil => Some(D::SuspectedSybil),
            Class::External => Some(D::External),
            Class::Unattributed => Some(D::Unattributed),
            Class::Unclassified => None,
        }
    }

    /// The API's class of a classifier class.
    pub const fn of(class: x402_domain::Class) -> Class {
        use x402_domain::Class as D;
        match class {
            D::SelfPayment => Class::SelfPayment,
            D::Internal => Class::Internal,
            D::SelfDealing => Class::SelfDealing,
            D::ProjectFunded => Class::ProjectFunded,
            D::SuspectedSybil => Class::SuspectedSybil,
            D::External => Class::External,
            D::Unattributed => Class::Unattributed,
        }
    }

    /// The name stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self.domain() {
            Some(class) => class.as_str(),
            None => "unclassified",
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

#[cfg(test)]
mod class_tests {
    use super::Class;

    #[test]
    fn the_api_classes_are_the_domain_classes_then_unclassified() {
        let names: Vec<&str> = Class::ALL.iter().map(|c| c.as_str()).collect();
        let mut want: Vec<&str> = x402_domain::Class::ALL.iter().map(|c| c.as_str()).collect();
        want.push("unclassified");
        assert_eq!(names, want);
        for d in x402_domain::Class::ALL {
            assert_eq!(Class::of(d).domain(), Some(d));
            assert_eq!(d.as_str().parse::<Class>(), Ok(Class::of(d)));
        }
        assert_eq!(Class::Unclassified.domain(), None);
    }
}
