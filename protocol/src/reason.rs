//! Why a payment is refused: one `invalidReason` code per check, named as in the x402
//! specification where it has a name (`insufficient_funds`, `invalid_exact_evm_payload_*`,
//! `invalid_network`, ...) and after x402's Permit2 codes (`invalid_permit2_*`) otherwise.
//! Every refusal also carries a human-readable message saying what was expected.
//!
//! The standard x402 paths answer with the codes of the x402 SDK's own facilitator
//! (`@x402/evm` 2.27: `invalid_exact_evm_*`, `permit2_*`, `settlement_pending`), so a resource
//! server built on the SDK sees the same reasons whichever facilitator it uses.

use std::fmt;

/// A verification or settlement failure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// `x402Version` is not 1 or 2.
    InvalidX402Version,
    /// The payment payload is malformed (missing field, bad hex, ...).
    InvalidPayload,
    /// The payment requirements are malformed or not for this facilitator's contracts.
    InvalidPaymentRequirements,
    /// The scheme is not one this facilitator settles.
    UnsupportedScheme,
    /// The payload's scheme (or signed mode) differs from the requirements'.
    InvalidScheme,
    /// The network is not the chain this facilitator settles on, or differs between payload
    /// and requirements.
    InvalidNetwork,
    /// The token is not one this facilitator settles.
    UnsupportedAsset,
    /// The signed token differs from the required asset.
    InvalidPermit2Token,
    /// The signed spender is not the settlement contract.
    InvalidPermit2Spender,
    /// The signed payee differs from `payTo`.
    RecipientMismatch,
    /// The payload's `from` is not the signed `witness.payer` (the only wallet the signature can
    /// charge).
    PayerMismatch,
    /// The signed amount does not cover (exact: equal) the required amount, or the settle
    /// amount is outside what was signed.
    InvalidAmount,
    /// The witness names another facilitator.
    InvalidFacilitator,
    /// The witness's request hash differs from the one required.
    InvalidRequestHash,
    /// The signature does not recover to (or is not accepted by) the payer.
    InvalidSignature,
    /// `validAfter` is in the future.
    NotYetValid,
    /// The deadline has passed or is too close to settle safely.
    Expired,
    /// Escrow expiries are missing, past or out of order.
    InvalidEscrowExpiry,
    /// The Permit2 nonce was already used (the payment settled or was cancelled).
    NonceAlreadyUsed,
    /// The payer's token balance is below the amount.
    InsufficientFunds,
    /// The payer's ERC-20 allowance to Permit2 is below the amount.
    InsufficientAllowance,
    /// The payer's on-chain spending policy does not allow the amount now.
    SpendingPolicyExceeded,
    /// The `eth_call` simulation of the settlement reverted.
    SimulationFailed,
    /// The chain could not be read.
    UnexpectedVerifyError,
    /// The settlement transaction reverted or its batch item failed.
    InvalidTransactionState,
    /// The settlement could not be submitted or confirmed.
    UnexpectedSettleError,
    /// The escrow does not exist, is closed or cannot take this operation.
    InvalidEscrowState,
    /// EIP-3009: the scheme is not `exact` (the SDK's `invalid_exact_evm_scheme`).
    Eip3009Scheme,
    /// EIP-3009: the payload's network differs from the requirements'.
    Eip3009NetworkMismatch,
    /// EIP-3009: `extra.name` / `extra.version` (the token's EIP-712 domain) are missing.
    Eip3009MissingDomain,
    /// EIP-3009: the signed `to` is not `payTo`.
    Eip3009RecipientMismatch,
    /// EIP-3009: the signature is not the payer's (ECDSA or EIP-1271).
    Eip3009Signature,
    /// EIP-3009: the signed `value` is not the required amount.
    Eip3009ValueMismatch,
    /// EIP-3009: `extra.name` is not the token's EIP-712 name.
    Eip3009TokenNameMismatch,
    /// EIP-3009: `extra.version` is not the token's EIP-712 version.
    Eip3009TokenVersionMismatch,
    /// EIP-3009: the token does not implement EIP-3009 (`authorizationState` fails).
    Eip3009NotSupported,
    /// EIP-3009: the authorization's nonce was used or cancelled.
    Eip3009NonceUsed,
    /// EIP-3009: the payer's balance is below the value.
    Eip3009InsufficientBalance,
    /// EIP-3009: the simulated settlement reverted.
    Eip3009SimulationFailed,
    /// EIP-3009: the settlement transaction reverted.
    Eip3009TransactionFailed,
    /// The payer or the payee is on the token's blocklist (FiatToken `isBlacklisted`).
    BlacklistedAddress,
    /// A settlement transaction was sent but is not mined yet: retry the same request, which
    /// answers its outcome (the SDK retries once on this code).
    SettlementPending,
    /// x402's Permit2 proxy for this scheme has no code on this chain.
    Permit2ProxyNotDeployed,
    /// x402 Permit2 proxy: the payload is not the scheme's (exact: the scheme is not `exact`, or
    /// the witness is upto's; upto: the witness names no facilitator), as the SDK's facilitator.
    UnsupportedPayloadType,
    /// x402 Permit2 proxy: `witness.to` is not `payTo`.
    Permit2RecipientMismatch,
    /// x402 Permit2 proxy: the permit's deadline has passed or is too close.
    Permit2DeadlineExpired,
    /// x402 Permit2 proxy: `witness.validAfter` is in the future.
    Permit2NotYetValid,
    /// x402 Permit2 proxy: the permitted amount is not the required amount.
    Permit2AmountMismatch,
    /// x402 Permit2 proxy: the permitted token is not `asset`.
    Permit2TokenMismatch,
    /// x402 Permit2 proxy: the signature is not the payer's.
    Permit2InvalidSignature,
    /// x402 Permit2 proxy: the payer's balance is below the amount.
    Permit2InsufficientBalance,
    /// x402 Permit2 proxy: the Permit2 nonce is used or cancelled.
    Permit2InvalidNonce,
    /// x402 Permit2 proxy: the simulated `settle` reverted.
    Permit2SimulationFailed,
    /// x402 upto proxy: the scheme is not `upto`.
    UptoInvalidScheme,
    /// x402 upto proxy: the payload's network differs from the requirements'.
    UptoNetworkMismatch,
    /// x402 upto proxy: `witness.facilitator` is not this facilitator.
    UptoFacilitatorMismatch,
    /// x402 upto proxy: the settle amount is above the signed maximum.
    UptoSettlementExceedsAmount,
    /// x402 upto proxy: the settlement transaction reverted.
    UptoTransactionFailed,
}

impl Reason {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [Reason; 58] = [
        Reason::InvalidX402Version,
        Reason::InvalidPayload,
        Reason::InvalidPaymentRequirements,
        Reason::UnsupportedScheme,
        Reason::InvalidScheme,
        Reason::InvalidNetwork,
        Reason::UnsupportedAsset,
        Reason::InvalidPermit2Token,
        Reason::InvalidPermit2Spender,
        Reason::RecipientMismatch,
        Reason::PayerMismatch,
        Reason::InvalidAmount,
        Reason::InvalidFacilitator,
        Reason::InvalidRequestHash,
        Reason::InvalidSignature,
        Reason::NotYetValid,
        Reason::Expired,
        Reason::InvalidEscrowExpiry,
        Reason::NonceAlreadyUsed,
        Reason::InsufficientFunds,
        Reason::InsufficientAllowance,
        Reason::SpendingPolicyExceeded,
        Reason::SimulationFailed,
        Reason::UnexpectedVerifyError,
        Reason::InvalidTransactionState,
        Reason::UnexpectedSettleError,
        Reason::InvalidEscrowState,
        Reason::Eip3009Scheme,
        Reason::Eip3009NetworkMismatch,
        Reason::Eip3009MissingDomain,
        Reason::Eip3009RecipientMismatch,
        Reason::Eip3009Signature,
        Reason::Eip3009ValueMismatch,
        Reason::Eip3009TokenNameMismatch,
        Reason::Eip3009TokenVersionMismatch,
        Reason::Eip3009NotSupported,
        Reason::Eip3009NonceUsed,
        Reason::Eip3009InsufficientBalance,
        Reason::Eip3009SimulationFailed,
        Reason::Eip3009TransactionFailed,
        Reason::BlacklistedAddress,
        Reason::SettlementPending,
        Reason::Permit2ProxyNotDeployed,
        Reason::UnsupportedPayloadType,
        Reason::Permit2RecipientMismatch,
        Reason::Permit2DeadlineExpired,
        Reason::Permit2NotYetValid,
        Reason::Permit2AmountMismatch,
        Reason::Permit2TokenMismatch,
        Reason::Permit2InvalidSignature,
        Reason::Permit2InsufficientBalance,
        Reason::Permit2InvalidNonce,
        Reason::Permit2SimulationFailed,
        Reason::UptoInvalidScheme,
        Reason::UptoNetworkMismatch,
        Reason::UptoFacilitatorMismatch,
        Reason::UptoSettlementExceedsAmount,
        Reason::UptoTransactionFailed,
    ];

    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::InvalidX402Version => "invalid_x402_version",
            Reason::InvalidPayload => "invalid_payload",
            Reason::InvalidPaymentRequirements => "invalid_payment_requirements",
            Reason::UnsupportedScheme => "unsupported_scheme",
            Reason::InvalidScheme => "invalid_scheme",
            Reason::InvalidNetwork => "invalid_network",
            Reason::UnsupportedAsset => "unsupported_asset",
            Reason::InvalidPermit2Token => "invalid_permit2_token",
            Reason::InvalidPermit2Spender => "invalid_permit2_spender",
            Reason::RecipientMismatch => "invalid_exact_evm_payload_recipient_mismatch",
            Reason::PayerMismatch => "invalid_exact_evm_payload_payer_mismatch",
            Reason::InvalidAmount => "invalid_exact_evm_payload_authorization_value",
            Reason::InvalidFacilitator => "invalid_facilitator",
            Reason::InvalidRequestHash => "invalid_request_hash",
            Reason::InvalidSignature => "invalid_exact_evm_payload_signature",
            Reason::NotYetValid => "invalid_exact_evm_payload_authorization_valid_after",
            Reason::Expired => "invalid_exact_evm_payload_authorization_valid_before",
            Reason::InvalidEscrowExpiry => "invalid_escrow_expiry",
            Reason::NonceAlreadyUsed => "nonce_already_used",
            Reason::InsufficientFunds => "insufficient_funds",
            Reason::InsufficientAllowance => "permit2_allowance_required",
            Reason::SpendingPolicyExceeded => "spending_policy_exceeded",
            Reason::SimulationFailed => "simulation_failed",
            Reason::UnexpectedVerifyError => "unexpected_verify_error",
            Reason::InvalidTransactionState => "invalid_transaction_state",
            Reason::UnexpectedSettleError => "unexpected_settle_error",
            Reason::InvalidEscrowState => "invalid_escrow_state",
            Reason::Eip3009Scheme => "invalid_exact_evm_scheme",
            Reason::Eip3009NetworkMismatch => "invalid_exact_evm_network_mismatch",
            Reason::Eip3009MissingDomain => "invalid_exact_evm_missing_eip712_domain",
            Reason::Eip3009RecipientMismatch => "invalid_exact_evm_recipient_mismatch",
            Reason::Eip3009Signature => "invalid_exact_evm_signature",
            Reason::Eip3009ValueMismatch => {
                "invalid_exact_evm_payload_authorization_value_mismatch"
            }
            Reason::Eip3009TokenNameMismatch => "invalid_exact_evm_token_name_mismatch",
            Reason::Eip3009TokenVersionMismatch => "invalid_exact_evm_token_version_mismatch",
            Reason::Eip3009NotSupported => "invalid_exact_evm_eip3009_not_supported",
            Reason::Eip3009NonceUsed => "invalid_exact_evm_nonce_already_used",
            Reason::Eip3009InsufficientBalance => "invalid_exact_evm_insufficient_balance",
            Reason::Eip3009SimulationFailed => "invalid_exact_evm_transaction_simulation_failed",
            Reason::Eip3009TransactionFailed => "invalid_exact_evm_transaction_failed",
            Reason::BlacklistedAddress => "blacklisted_address",
            Reason::SettlementPending => "settlement_pending",
            Reason::Permit2ProxyNotDeployed => "permit2_proxy_not_deployed",
            Reason::UnsupportedPayloadType => "unsupported_payload_type",
            Reason::Permit2RecipientMismatch => "invalid_permit2_recipient_mismatch",
            Reason::Permit2DeadlineExpired => "permit2_deadline_expired",
            Reason::Permit2NotYetValid => "permit2_not_yet_valid",
            Reason::Permit2AmountMismatch => "permit2_amount_mismatch",
            Reason::Permit2TokenMismatch => "permit2_token_mismatch",
            Reason::Permit2InvalidSignature => "invalid_permit2_signature",
            Reason::Permit2InsufficientBalance => "permit2_insufficient_balance",
            Reason::Permit2InvalidNonce => "permit2_invalid_nonce",
            Reason::Permit2SimulationFailed => "permit2_simulation_failed",
            Reason::UptoInvalidScheme => "invalid_upto_evm_scheme",
            Reason::UptoNetworkMismatch => "invalid_upto_evm_network_mismatch",
            Reason::UptoFacilitatorMismatch => "upto_facilitator_mismatch",
            Reason::UptoSettlementExceedsAmount => {
                "invalid_upto_evm_payload_settlement_exceeds_amount"
            }
            Reason::UptoTransactionFailed => "invalid_upto_evm_transaction_failed",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal: the code and what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The code.
    pub reason: Reason,
    /// What was expected and what was found.
    pub message: String,
}

impl Refusal {
    /// A refusal with its message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_distinct_snake_case() {
        let codes: HashSet<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        for c in codes {
            assert!(
                c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit()),
                "{c}"
            );
        }
    }
}
