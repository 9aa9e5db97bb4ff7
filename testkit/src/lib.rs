//! Dev-only harness for x402-settle's end-to-end tests and benchmarks.
//!
//! Every piece is the real thing: [`anvil`] runs Foundry's anvil, [`deploy`] runs
//! `script/deploy-local.sh`, [`db`] creates a real PostgreSQL database, [`traffic`] signs Permit2
//! payments with `x402-client` and settles them through the deployed contract, [`proxy`] sits
//! between the indexer and anvil injecting RPC faults on demand, [`indexer`] drives the
//! `x402-indexer` binary, and [`truth`] compares the database with `eth_getLogs` over the final
//! canonical chain.

#![warn(missing_docs)]

pub mod anvil;
pub mod db;
pub mod deploy;
pub mod eip3009;
mod error;
pub mod indexer;
pub mod mined;
pub mod paths;
pub mod pg;
pub mod proxy;
pub mod scenario;
pub mod traffic;
pub mod truth;
pub mod wallets;

pub use anvil::{Anvil, AnvilOptions, AnvilRpc};
pub use db::TestDb;
pub use deploy::{Deployment, DevChain, TokenInfo};
pub use error::{Error, Result};
pub use indexer::{IndexerCmd, IndexerProcess};
pub use proxy::{FaultStats, Faults, FaultyProxy, Lagging};
pub use scenario::{IndexerSettings, Scenario, ScenarioOptions};
pub use traffic::Traffic;
pub use truth::{assert_db_matches_chain, wait_until_indexed, GroundTruth};

/// A short random hex string for names that must not collide between parallel tests.
pub fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS per process; mixing in pid, time and a counter keeps
    // names unique across processes and within one.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}
