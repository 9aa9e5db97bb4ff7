//! Permit2 witness payments and the hashes that go with them.
//!
//! * [`PaymentPermit`]: the payment a payer signs, and the signed result ([`SignedPayment`]) a
//!   facilitator submits (both `x402-protocol`'s, shared with the facilitator).
//! * [`payment_id()`]: the id the settlement contract gives a payment.
//! * [`evidence`]: the evidence hash of one inference.
//! * [`merkle`]: the evidence tree a batch commits to, with proofs.
//! * [`policy`]: a spending policy signed by the payer (`setSpendingPolicyBySig`).
//! * [`eip712`]: the raw EIP-712 structs, for callers that need the type strings or hashes.

pub mod evidence;
pub mod merkle;
pub mod policy;

pub use evidence::{evidence_hash, Evidence};
pub use merkle::{evidence_leaf, verify_proof, EvidenceTree};
pub use policy::{PolicySignature, SpendingPolicyPermit};
pub use x402_protocol::eip712;
pub use x402_protocol::{
    payment_id, PaymentMode, PaymentPermit, PaymentTerms, PermitError, SignedPayment,
};
