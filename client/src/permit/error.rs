//! The one error type of the [`permit`](super) module.

/// Why a permit could not be built or signed.
#[derive(Debug, thiserror::Error)]
pub enum PermitError {
    /// A field holds a value the settlement contract (or Permit2) would reject.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The offending field, named as in the Solidity struct.
        field: &'static str,
        /// Why the value is rejected and what would be accepted.
        reason: String,
    },
    /// The signer failed (a hardware wallet refused, a remote signer was unreachable, ...).
    #[error("signing failed: {0}")]
    Signer(#[from] alloy::signers::Error),
}

impl PermitError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
