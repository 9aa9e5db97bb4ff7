//! Decoding of `BatchItemFailed.reason`: revert data of the settlement contract, Permit2 or the
//! standard `Error(string)` / `Panic(uint256)`.

use alloy::sol_types::{Panic, Revert, SolError, SolInterface};
use x402_bindings::{Permit2::Permit2Errors, X402Settlement::X402SettlementErrors};

/// Returns the error's name and a readable form with its arguments, or None when the selector is
/// unknown or the data does not decode.
pub fn decode_revert_reason(data: &[u8]) -> Option<(String, String)> {
    if data.len() < 4 {
        return None;
    }
    let selector: [u8; 4] = data[..4].try_into().ok()?;
    if let Some(name) = X402SettlementErrors::name_by_selector(selector) {
        let decoded = X402SettlementErrors::abi_decode(data).ok()?;
        return Some((name.to_string(), detail(&decoded)));
    }
    if let Some(name) = Permit2Errors::name_by_selector(selector) {
        let decoded = Permit2Errors::abi_decode(data).ok()?;
        return Some((name.to_string(), detail(&decoded)));
    }
    if selector == Revert::SELECTOR {
        let r = Revert::abi_decode(data).ok()?;
        return Some(("Error".into(), format!("Error({:?})", r.reason)));
    }
    if selector == Panic::SELECTOR {
        let p = Panic::abi_decode(data).ok()?;
        return Some(("Panic".into(), format!("Panic({})", p.code)));
    }
    None
}

/// `Enum(Struct { a: 1 })` -> `Struct { a: 1 }`: the Debug of the inner error struct.
fn detail<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    match (text.find('('), text.rfind(')')) {
        (Some(open), Some(close)) if close > open => text[open + 1..close].to_string(),
        _ => text,
    }
}
