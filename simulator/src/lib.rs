//! x402-simulator: a simulated x402 economy driven through the real contracts.
//!
//! [`plan`] derives the economy from a seed (exchange hot wallets, external agents, the project's
//! labelled wallets, faucet and grant users, a provider's wash loop, a sybil farm, a provider's
//! declared wallet, a self-paying provider) with the class each payer is meant to get. [`run`]
//! executes it day by day on anvil (moving its clock): wallets fund each other with plain
//! transfers, payers sign Permit2 witness payments with `x402-client`, and providers verify and
//! settle them through running facilitators over HTTP ([`facilitator`]): exact, upto (metered),
//! escrow with captures, voids, refunds and reclaims, and batches. [`truth`] keeps the ground
//! truth; [`score`] compares the classifier's verdicts with it, per class over payments, payers
//! and volume, and per scenario.
//!
//! [`adversary`] adds the adversarial economy (`--economy adversarial`, or `combined` beside the
//! standard one): payees inflating their numbers the ways simple rules miss, and honest patterns
//! (cashback, a launch day) that must not be punished.

#![warn(missing_docs)]

pub mod adversary;
pub mod chain;
pub mod facilitator;
pub mod plan;
pub mod progress;
pub mod run;
pub mod score;
pub mod truth;

pub use plan::{build, build_economy, Economy, Plan, Scale};
pub use truth::{Class, Truth};

/// anvil's first development key: the deployer and owner of the demo deployment.
pub const ANVIL_OWNER_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
