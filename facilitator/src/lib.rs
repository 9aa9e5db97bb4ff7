//! x402 facilitator for the x402-settle contracts.
//!
//! Data flows one way: an HTTP request (`api`, served by [`router`]; bodies in `wire`) goes
//! through `settle`, which reads as the pipeline every payment takes: prepare (the payload's kind,
//! parsed into a typed payment by that kind's static checks), claim the payment id in the
//! idempotency `store`, verify against the chain (one batched read through `chain`), submit
//! through `submit` (directly, or collected by the `batcher` into one `chargeBatch` with an
//! evidence Merkle root) and record the result. Each kind has its own checks: our settlement
//! contract's Permit2 witness payments in `settlement`, standard EIP-3009 payments in `eip3009`,
//! x402's Permit2 proxy payments (settled by calling x402's proxies) in `proxy`; the payer's
//! signature is judged the same way for all three (`signature`). `escrow` captures and voids
//! escrows after their `authorize`. The wire types (bodies, payloads, refusal codes in `reason`)
//! are `x402-protocol`'s, shared with the payers and resource servers; counters live in
//! `metrics`, start-up in `service` ([`Service`]), settings in `config`.
//!
//! Every module is private: what the binary, the simulator's tests and this crate's integration
//! tests use is re-exported below, and that list is the crate's whole public surface.

#![warn(missing_docs)]

mod api;
mod batcher;
mod chain;
mod config;
mod eip3009;
mod escrow;
mod guard;
mod metrics;
mod proxy;
mod reason;
mod service;
mod settle;
mod settlement;
mod signature;
mod store;
mod submit;
mod wire;

// Start-up and serving: the settings, the service they start and its HTTP router.
pub use api::router;
pub use config::{ConfigError, Contracts, SettleConfig};
pub use guard::AccessConfig;
pub use service::{Service, ServiceConfig, ServiceError, ServiceOptions};

// Public for the integration tests and `examples/bench.rs`, which sign EIP-3009 and x402
// Permit2-proxy payments as a payer would (x402-client signs only the settlement contract's
// witness payments) with the digests the facilitator checks, and wait out its reuse of the
// chain's clock.
pub use chain::CLOCK_REUSE;
pub use eip3009::Eip3009Payment;
pub use proxy::{ProxyPayment, ProxyScheme};
