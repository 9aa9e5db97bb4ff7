//! Where a payment comes from (`payments.source`), and the x402 contracts that make a source.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{address, Address};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{parse, UnknownName};

/// The source of a payment: which on-chain trace the indexer made it from. One payment model for
/// all of them; the classifier, the API and the dashboard treat them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PaymentSource {
    /// X402Settlement events (charges, escrows, batches), with their evidence.
    Settlement,
    /// A standard x402 EIP-3009 `transferWithAuthorization` sent by a facilitator.
    Eip3009,
    /// An EIP-3009 authorization executed through X402Settlement (`AuthorizationCharged`).
    SettlementEip3009,
    /// A token Transfer made by x402's Permit2 proxies (`x402ExactPermit2Proxy`,
    /// `x402UptoPermit2Proxy`).
    Permit2Proxy,
}

impl PaymentSource {
    /// Every source.
    pub const ALL: [PaymentSource; 4] = [
        PaymentSource::Settlement,
        PaymentSource::Eip3009,
        PaymentSource::SettlementEip3009,
        PaymentSource::Permit2Proxy,
    ];

    /// The name stored in `payments.source` and used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentSource::Settlement => "settlement",
            PaymentSource::Eip3009 => "eip3009",
            PaymentSource::SettlementEip3009 => "settlement_eip3009",
            PaymentSource::Permit2Proxy => "permit2_proxy",
        }
    }
}

impl fmt::Display for PaymentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentSource {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(
            "payment source",
            &PaymentSource::ALL,
            PaymentSource::as_str,
            s,
        )
    }
}

impl Serialize for PaymentSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PaymentSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `x402ExactPermit2Proxy`'s deterministic address, the same on every chain (the x402 SDK's
/// `x402ExactPermit2ProxyAddress`). The facilitator settles through it; the indexer reads its
/// payments (`permit2_proxy`).
pub const X402_EXACT_PERMIT2_PROXY: Address =
    address!("0x402085c248EeA27D92E8b30b2C58ed07f9E20001");

/// `x402UptoPermit2Proxy`'s deterministic address (the x402 SDK's `x402UptoPermit2ProxyAddress`).
pub const X402_UPTO_PERMIT2_PROXY: Address = address!("0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for s in PaymentSource::ALL {
            assert_eq!(s.as_str().parse::<PaymentSource>(), Ok(s));
        }
        let err = "permit2".parse::<PaymentSource>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`permit2` is not a payment source; expected one of settlement, eip3009, settlement_eip3009, permit2_proxy"
        );
    }
}
