//! Why a payment is refused: one `invalidReason` code per check (x402's names, the x402 SDK's
//! own codes on the standard paths), as `x402-protocol` owns them, and the refusal as every check
//! of every payment kind returns it.

use alloy::primitives::{Address, B256};

pub use x402_protocol::{Reason, Refusal};

/// A refused payment, with whatever identified it.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// Why.
    pub refusal: Refusal,
    /// The payer, when the payload named one.
    pub payer: Option<Address>,
    /// The payment id, when it could be computed.
    pub payment_id: Option<B256>,
}

impl Rejected {
    /// A refusal of a payload too malformed to name its payer.
    pub(crate) fn bare(reason: Reason, message: impl Into<String>) -> Self {
        Self::naming(None, None, reason, message)
    }

    /// A refusal naming the payer, before the payment id can be computed.
    pub(crate) fn of_payer(
        payer: impl Into<Option<Address>>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self::naming(payer.into(), None, reason, message)
    }

    /// A refusal naming the payer and the payment.
    pub(crate) fn of_payment(
        payer: Address,
        payment_id: B256,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self::naming(Some(payer), Some(payment_id), reason, message)
    }

    fn naming(
        payer: Option<Address>,
        payment_id: Option<B256>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            refusal: Refusal::new(reason, message),
            payer,
            payment_id,
        }
    }
}
