//! Why a payment is refused: one `invalidReason` code per check (x402's names, the x402 SDK's
//! own codes on the standard paths), as `x402-protocol` owns them.

pub use x402_protocol::{Reason, Refusal};
