//! Binding helpers for the bulk inserts of the tables the indexer writes itself (the declared
//! event tables bind through [`x402_domain::events`]), with the same `UNNEST` statement shape.

use alloy::primitives::{B256, U256};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;

use crate::decode::LogMeta;

pub use x402_domain::events::{insert_sql, Kind};

/// Binds the META columns of `rows`.
pub fn bind_meta<'q, T>(
    q: Query<'q, Postgres, PgArguments>,
    rows: &[T],
    meta: impl Fn(&T) -> &LogMeta,
) -> Query<'q, Postgres, PgArguments> {
    q.bind(
        rows.iter()
            .map(|r| meta(r).block_number as i64)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| meta(r).block_hash.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| meta(r).block_time as i64)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| meta(r).tx_hash.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| meta(r).log_index as i32)
            .collect::<Vec<_>>(),
    )
}

/// A bytea column (addresses, hashes, raw data).
pub fn bytes<T, B: AsRef<[u8]>>(rows: &[T], f: impl Fn(&T) -> B) -> Vec<Vec<u8>> {
    rows.iter().map(|r| f(r).as_ref().to_vec()).collect()
}

/// A numeric(78,0) column, bound as decimal text.
pub fn numeric<T>(rows: &[T], f: impl Fn(&T) -> U256) -> Vec<String> {
    rows.iter().map(|r| f(r).to_string()).collect()
}

/// Hashes as bytea values.
pub fn hashes(ids: &[B256]) -> Vec<Vec<u8>> {
    ids.iter().map(|h| h.to_vec()).collect()
}
