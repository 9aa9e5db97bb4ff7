//! Decoding of `BatchItemFailed.reason`: revert data of the settlement contract, Permit2 or the
//! standard `Error(string)` / `Panic(uint256)`, decoded by `x402_protocol::Revert` (the same
//! decoder the facilitator's messages use).

/// Returns the error's name and a readable form with its arguments, or None when the selector is
/// unknown or the data does not decode.
pub fn decode_revert_reason(data: &[u8]) -> Option<(String, String)> {
    x402_protocol::Revert::decode(data).map(|r| (r.name(), r.detail()))
}
