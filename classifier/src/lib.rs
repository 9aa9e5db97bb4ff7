//! Classifies every x402 payment into exactly one class (the first rule that matches), keeps every
//! rule that fired as a flag, and records the evidence an analyst needs to see why.
//!
//! Data flows one way: `db::load` reads the indexer's tables into [`Inputs`], [`classify`]
//! computes verdicts in memory (`graph`, `provenance`, `clusters`), and `db::write` stores them in
//! bulk; a [`Follower`] does the three as the indexer advances.
//!
//! Every module is private: what the binaries, the simulator's tests and this crate's integration
//! tests use is re-exported below, and that list is the crate's whole public surface.

mod clusters;
mod config;
mod db;
mod engine;
mod entities;
mod evidence;
mod gen;
mod graph;
mod incremental;
mod input;
mod labels;
mod provenance;
mod types;

// Classification in memory: the rules, the inputs and the verdicts.
pub use config::RuleConfig;
pub use engine::{classify, Output, PayerVerdict, PaymentVerdict};
pub use input::{Declaration, Inputs, NativeTransfer, Payment, Transfer};
pub use labels::{
    fold_registry, read_label_file, FileLabel, Label, LabelFileError, LabelKind, LabelSet,
    RegistryEvent,
};
pub use types::{hex0x, Addr, Class, Flag, Hash32};

// Following the indexer's tables in PostgreSQL (`x402-classifier run`, `labels import`).
pub use db::load::{checkpoint, Checkpoint};
pub use db::write::{import_file_labels, import_labels, ImportMode, ImportReport};
pub use db::{connect, migrate, DbError};
pub use incremental::{Follower, Step};

// Chain data written straight into the indexer's tables: the benchmark's generated dataset
// (`x402-classifier-bench`) and the database tests' known ecosystems.
pub use db::seed::{set_checkpoint, write_seed, Seed};
pub use gen::{generate, GenConfig, Generated};
