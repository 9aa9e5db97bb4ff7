//! x402 facilitator for the x402-settle contracts.
//!
//! Data flows one way: an HTTP request ([`api`], bodies in [`wire`]) is checked by its kind's
//! module ([`settlement`] for ours) (static checks, then one batched read of the chain through [`chain`]),
//! then [`settle`] claims the payment id in the idempotency [`store`], submits through
//! [`submit`] (directly, or collected by the [`batcher`] into one `chargeBatch` with an
//! evidence Merkle root) and records the result. [`escrow`] captures and voids escrows after
//! their `authorize`. Standard x402 payloads have their own checks: EIP-3009 in [`eip3009`],
//! x402's Permit2 proxy payments (settled by calling x402's proxies) in [`proxy`]. The wire
//! types (bodies, payloads, refusal codes in [`reason`]) are `x402-protocol`'s, shared with the
//! payers and resource servers; counters live in [`metrics`], start-up in [`service`], settings
//! in [`config`].

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
pub mod store;
pub mod submit;
pub mod wire;
