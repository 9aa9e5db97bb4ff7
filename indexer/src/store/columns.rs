//! Bulk inserts as `INSERT ... SELECT ... FROM UNNEST($2::t[], ...)`: one statement per table per
//! range, whatever the number of rows, and `ON CONFLICT DO NOTHING` on the log key so a replayed
//! range inserts nothing twice.

use alloy::primitives::{B256, U256};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;

use crate::decode::LogMeta;

/// How a column travels: the array type it is bound as, and the expression that turns the
/// unnested value into the column's type.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// int8[] -> int8
    Int8,
    /// int4[] -> int4
    Int4,
    /// int2[] -> int2
    Int2,
    /// bytea[] -> bytea
    Bytea,
    /// text[] of decimal digits -> numeric(78,0) (exact, no float on the way)
    Numeric,
    /// int8[] of unix seconds -> timestamptz
    Time,
    /// text[] -> text (NULLs allowed)
    Text,
    /// bool[] -> bool
    Bool,
    /// text[] of array literals -> bytea[] (a 2-D array cannot be unnested row by row)
    ByteaArray,
    /// text[] of array literals -> int4[]
    Int4Array,
}

impl Kind {
    fn array_type(self) -> &'static str {
        match self {
            Kind::Int8 | Kind::Time => "int8[]",
            Kind::Int4 => "int4[]",
            Kind::Int2 => "int2[]",
            Kind::Bytea => "bytea[]",
            Kind::Numeric | Kind::Text | Kind::ByteaArray | Kind::Int4Array => "text[]",
            Kind::Bool => "bool[]",
        }
    }

    fn select(self, col: &str) -> String {
        match self {
            Kind::Numeric => format!("u.{col}::numeric(78,0)"),
            Kind::Time => format!("to_timestamp(u.{col})"),
            Kind::ByteaArray => format!("u.{col}::bytea[]"),
            Kind::Int4Array => format!("u.{col}::int4[]"),
            _ => format!("u.{col}"),
        }
    }
}

/// Columns every event row starts with, after chain_id.
pub const META: [(&str, Kind); 5] = [
    ("block_number", Kind::Int8),
    ("block_hash", Kind::Bytea),
    ("block_time", Kind::Time),
    ("tx_hash", Kind::Bytea),
    ("log_index", Kind::Int4),
];

/// `INSERT INTO table (chain_id, META..., cols...) SELECT $1, ... FROM UNNEST($2, ...) ... ON CONFLICT DO NOTHING`.
pub fn insert_sql(table: &str, cols: &[(&str, Kind)]) -> String {
    let all: Vec<(&str, Kind)> = META.iter().copied().chain(cols.iter().copied()).collect();
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    let selects: Vec<String> = all.iter().map(|(n, k)| k.select(n)).collect();
    let params: Vec<String> = all
        .iter()
        .enumerate()
        .map(|(i, (_, k))| format!("${}::{}", i + 2, k.array_type()))
        .collect();
    format!(
        "INSERT INTO {table} (chain_id, {}) SELECT $1, {} FROM UNNEST({}) AS u({}) ON CONFLICT DO NOTHING",
        names.join(", "),
        selects.join(", "),
        params.join(", "),
        names.join(", ")
    )
}

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

/// A PostgreSQL array literal of bytea values: `{"\\x01..","\\x02.."}`.
pub fn bytea_array_literal<B: AsRef<[u8]>>(items: &[B]) -> String {
    let inner: Vec<String> = items
        .iter()
        .map(|b| format!("\"\\\\x{}\"", alloy::hex::encode(b.as_ref())))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A PostgreSQL array literal of integers: `{1,2,3}`.
pub fn int_array_literal<I: std::fmt::Display>(items: &[I]) -> String {
    let inner: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("{{{}}}", inner.join(","))
}

/// Hashes as bytea values.
pub fn hashes(ids: &[B256]) -> Vec<Vec<u8>> {
    ids.iter().map(|h| h.to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_unnests_every_column() {
        let sql = insert_sql("voids", &[("amount", Kind::Numeric)]);
        assert_eq!(
            sql,
            "INSERT INTO voids (chain_id, block_number, block_hash, block_time, tx_hash, log_index, amount) \
             SELECT $1, u.block_number, u.block_hash, to_timestamp(u.block_time), u.tx_hash, u.log_index, u.amount::numeric(78,0) \
             FROM UNNEST($2::int8[], $3::bytea[], $4::int8[], $5::bytea[], $6::int4[], $7::text[]) \
             AS u(block_number, block_hash, block_time, tx_hash, log_index, amount) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn array_literals() {
        assert_eq!(
            bytea_array_literal(&[[1u8, 2], [0xab, 0xcd]]),
            r#"{"\\x0102","\\xabcd"}"#
        );
        assert_eq!(bytea_array_literal::<[u8; 1]>(&[]), "{}");
        assert_eq!(int_array_literal(&[100u16, 250]), "{100,250}");
    }
}
