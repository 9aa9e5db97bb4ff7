//! Payer-side library for x402-settle.
//!
//! [`permit`] builds and signs what a payer (an agent's wallet) hands to a facilitator: the
//! Permit2 `PermitWitnessTransferFrom` whose witness is the settlement contract's `PaymentTerms`,
//! the payment id the contract will assign, the evidence hash a provider commits to, the Merkle
//! tree a batch commits over its evidence, and the EIP-712 signature that binds a spending policy.
//! [`eip3009`] signs standard x402 `exact` payments over EIP-3009 (the x402 SDK's USDC payload).
//! The wire types and signed structs are `x402-protocol`'s (re-exported here under the paths
//! payers use), so payer and facilitator read the same declarations; the tests in
//! `client/tests/` settle signatures made here on the real contracts deployed to anvil.

#![warn(missing_docs)]

pub mod budget;
pub mod eip3009;
pub mod header;
pub mod pay;
pub mod permit;
pub mod policy;
pub mod requirements;
