//! Revert data of the settlement contract and Permit2, decoded once for everyone who reads it:
//! the facilitator (simulations, failed settlements, batch items) and the indexer
//! (`BatchItemFailed.reason`).

use alloy::primitives::{Bytes, U256};
use alloy::sol_types::{Panic, Revert as ErrorString, SolError, SolInterface};
use x402_bindings::{Permit2::Permit2Errors, X402Settlement::X402SettlementErrors};

/// A revert decoded against the errors the settlement contract and Permit2 declare, or the
/// standard `Error(string)` / `Panic(uint256)`.
#[derive(Debug, Clone)]
pub enum Revert {
    /// One of `X402Settlement`'s custom errors.
    Settlement(X402SettlementErrors),
    /// One of Permit2's custom errors.
    Permit2(Permit2Errors),
    /// `Error(string)` (`require` with a message, `revert("...")`).
    Error(String),
    /// `Panic(uint256)` (overflow, division by zero, ...).
    Panic(U256),
}

impl Revert {
    /// Decodes revert data by its selector; `None` when the selector is unknown or the data
    /// does not decode as the error it names.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
        if X402SettlementErrors::name_by_selector(selector).is_some() {
            return X402SettlementErrors::abi_decode(data)
                .ok()
                .map(Self::Settlement);
        }
        if Permit2Errors::name_by_selector(selector).is_some() {
            return Permit2Errors::abi_decode(data).ok().map(Self::Permit2);
        }
        if selector == ErrorString::SELECTOR {
            return ErrorString::abi_decode(data)
                .ok()
                .map(|r| Self::Error(r.reason));
        }
        if selector == Panic::SELECTOR {
            return Panic::abi_decode(data).ok().map(|p| Self::Panic(p.code));
        }
        None
    }

    /// The error's name: `InvalidSignature`, `Error`, `Panic`.
    pub fn name(&self) -> String {
        match self {
            Self::Settlement(e) => X402SettlementErrors::name_by_selector(e.selector())
                .unwrap_or_default()
                .to_string(),
            Self::Permit2(e) => Permit2Errors::name_by_selector(e.selector())
                .unwrap_or_default()
                .to_string(),
            Self::Error(_) => "Error".into(),
            Self::Panic(_) => "Panic".into(),
        }
    }

    /// The error with its arguments: `InsufficientAmount { .. }`, `Error("...")`, `Panic(17)`.
    pub fn detail(&self) -> String {
        match self {
            Self::Settlement(e) => inner_debug(e),
            Self::Permit2(e) => inner_debug(e),
            Self::Error(reason) => format!("Error({reason:?})"),
            Self::Panic(code) => format!("Panic({code})"),
        }
    }
}

/// What a revert said, in one line for a refusal message or a log: which contract refused with
/// which error, the standard reason, or the raw data when nothing decodes it.
pub fn describe_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without data".into();
    }
    match Revert::decode(data) {
        Some(Revert::Settlement(e)) => format!("X402Settlement reverted with {e:?}"),
        Some(Revert::Permit2(e)) => format!("Permit2 reverted with {e:?}"),
        _ => alloy::sol_types::decode_revert_reason(data).unwrap_or_else(|| {
            format!(
                "reverted with unknown data {}",
                Bytes::copy_from_slice(data)
            )
        }),
    }
}

/// `Enum(Struct { a: 1 })` -> `Struct { a: 1 }`: the Debug of the inner error struct.
fn inner_debug<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    match (text.find('('), text.rfind(')')) {
        (Some(open), Some(close)) if close > open => text[open + 1..close].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;
    use x402_bindings::Permit2;

    #[test]
    fn settlement_permit2_and_standard_reverts_decode_by_name() {
        let data = x402_bindings::X402Settlement::NotFacilitator {
            caller: alloy::primitives::Address::ZERO,
            signedFacilitator: alloy::primitives::Address::repeat_byte(1),
        }
        .abi_encode();
        let r = Revert::decode(&data).unwrap();
        assert_eq!(r.name(), "NotFacilitator");
        assert!(r.detail().starts_with("NotFacilitator {"), "{}", r.detail());
        assert!(
            describe_revert(&data).starts_with("X402Settlement reverted with NotFacilitator("),
            "{}",
            describe_revert(&data)
        );

        let data = Permit2::InvalidNonce {}.abi_encode();
        let r = Revert::decode(&data).unwrap();
        assert_eq!(r.name(), "InvalidNonce");
        assert!(
            describe_revert(&data).contains("InvalidNonce"),
            "{}",
            describe_revert(&data)
        );

        let data = ErrorString::from("TRANSFER_FROM_FAILED").abi_encode();
        let r = Revert::decode(&data).unwrap();
        assert_eq!(
            (r.name(), r.detail()),
            ("Error".into(), "Error(\"TRANSFER_FROM_FAILED\")".into())
        );
        assert!(describe_revert(&data).contains("TRANSFER_FROM_FAILED"));

        let data = Panic::from(17u64).abi_encode();
        assert_eq!(Revert::decode(&data).unwrap().detail(), "Panic(17)");
    }

    #[test]
    fn unknown_and_empty_data() {
        assert!(Revert::decode(&[0xde, 0xad, 0xbe, 0xef]).is_none());
        assert!(Revert::decode(&[1]).is_none());
        assert_eq!(describe_revert(&[]), "reverted without data");
        assert_eq!(
            describe_revert(&[0xde, 0xad, 0xbe, 0xef]),
            "reverted with unknown data 0xdeadbeef"
        );
    }
}
