//! The evidence tree a batch commits to; it lives in `x402-evidence`, shared with the API.

pub use x402_evidence::{evidence_leaf, verify_proof, EvidenceTree};
