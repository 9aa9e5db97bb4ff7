//! Classifies every x402 payment into exactly one class (the first rule that matches), keeps every
//! rule that fired as a flag, and records the evidence an analyst needs to see why.
//!
//! Data flows one way: `db::load` reads the indexer's tables into [`input::Inputs`],
//! [`engine::classify`] computes verdicts in memory ([`graph`], [`provenance`], [`clusters`]),
//! and `db::write` stores them in bulk.

pub mod clusters;
pub mod config;
pub mod db;
pub mod engine;
pub mod entities;
pub mod evidence;
pub mod gen;
pub mod graph;
pub mod incremental;
pub mod input;
pub mod labels;
pub mod provenance;
pub mod types;
