//! x402 facilitator for the x402-settle contracts.
//!
//! Data flows one way: an HTTP request ([`api`], bodies in [`wire`]) goes through [`settle`], which
//! reads as the pipeline every payment takes: prepare (the payload's kind, parsed into a typed
//! payment by that kind's static checks), claim the payment id in the idempotency [`store`], verify
//! against the chain (one batched read through [`chain`]), submit through [`submit`] (directly, or
//! collected by the [`batcher`] into one `chargeBatch` with an evidence Merkle root) and record the
//! result. Each kind has its own checks: our settlement contract's Permit2 witness payments in
//! [`settlement`], standard EIP-3009 payments in [`eip3009`], x402's Permit2 proxy payments
//! (settled by calling x402's proxies) in [`proxy`]; the payer's signature is judged the same way
//! for all three ([`signature`]). [`escrow`] captures and voids escrows after their `authorize`.
//! The wire types (bodies, payloads, refusal codes in [`reason`]) are `x402-protocol`'s, shared
//! with the payers and resource servers; counters live in [`metrics`], start-up in [`service`],
//! settings in [`config`].

#![warn(missing_docs)]

pub mod api;
pub mod batcher;
pub mod chain;
pub mod config;
pub mod eip3009;
pub mod escrow;
pub mod guard;
pub mod metrics;
pub mod proxy;
pub mod reason;
pub mod service;
pub mod settle;
pub mod settlement;
pub mod signature;
pub mod store;
pub mod submit;
pub mod wire;
