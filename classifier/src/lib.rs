//! Classifies every x402 payment into exactly one class (the first rule that matches), keeps every
//! rule that fired as a flag, and records the evidence an analyst needs to see why.

pub mod db;
