//! x402-simulator: a simulated x402 economy driven through the real contracts.
//!
//! `plan` derives the economy from a seed ([`build`]: exchange hot wallets, external agents, the
//! project's labelled wallets, faucet and grant users, a provider's wash loop, a sybil farm, a
//! provider's declared wallet, a self-paying provider) with the class each payer is meant to get.
//! `run` executes it day by day on anvil ([`run()`], moving its clock): wallets fund each other
//! with plain transfers, payers sign Permit2 witness payments with `x402-client`, and providers
//! verify and settle them through running facilitators over HTTP ([`Facilitator`]): exact, upto
//! (metered), escrow with captures, voids, refunds and reclaims, and batches. `truth` keeps the
//! ground truth ([`Truth`]); `score` compares the classifier's verdicts with it ([`score()`]), per
//! class over payments, payers and volume, and per scenario.
//!
//! `adversary` adds the adversarial economy (`--economy adversarial`, or `combined` beside the
//! standard one): payees inflating their numbers the ways simple rules miss, and honest patterns
//! (cashback, a launch day) that must not be punished.
//!
//! Every module is private: what the binary and the integration tests use is re-exported below,
//! and that list is the crate's whole public surface.

#![warn(missing_docs)]

mod adversary;
mod chain;
mod facilitator;
mod plan;
mod progress;
mod run;
mod score;
mod truth;

// The economy and its ground truth.
pub use adversary::SCENARIOS;
pub use plan::{build, build_economy, Economy, Plan, Scale};
pub use truth::{Class, Truth};

// Running it (`x402-sim run`): the chain, the facilitators and the day-by-day driver.
pub use chain::{Chain, ChainError};
pub use facilitator::{Facilitator, FacilitatorError};
pub use progress::{Mode, Progress};
pub use run::{run, Env, RunError, RunOptions, Stats};

// Scoring the classifier (`x402-sim score`).
pub use score::{
    class_summary, render_class_summary, render_matrices, render_score, score, wait_for_classifier,
    ClassScore, Score, ScoreError, Scores, SummaryRow,
};

/// anvil's first development key: the deployer and owner of the demo deployment.
pub const ANVIL_OWNER_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
