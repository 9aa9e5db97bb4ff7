//! What every event table shares: where its log sits ([`LogMeta`]), the declaration macro that
//! derives a row type, its column list and its bulk insert from one list of fields, and the
//! bulk insert itself.

use alloy_primitives::B256;

use super::column::Kind;

/// Where a log sits in the chain; every event row carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMeta {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Block timestamp, unix seconds.
    pub block_time: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// Columns every event table starts with, after `chain_id`.
pub const META_COLUMNS: [(&str, Kind); 5] = [
    ("block_number", Kind::Int8),
    ("block_hash", Kind::Bytea),
    ("block_time", Kind::Time),
    ("tx_hash", Kind::Bytea),
    ("log_index", Kind::Int4),
];

/// A table holding one row per decoded log.
pub trait EventTable: Sized {
    /// The table's name.
    const TABLE: &'static str;
    /// Its columns after `chain_id` and [`META_COLUMNS`], in declaration order.
    const COLUMNS: &'static [(&'static str, Kind)];
    /// Where the row's log sits.
    fn meta(&self) -> &LogMeta;
    /// Binds one array per column of [`Self::COLUMNS`] (after the meta columns).
    #[cfg(feature = "store")]
    fn bind_columns<'q>(
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
        rows: &[Self],
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
}

/// `INSERT INTO table (chain_id, meta..., cols...) SELECT $1, ... FROM UNNEST($2, ...) ... ON
/// CONFLICT DO NOTHING`: one statement per table however many rows, and a replayed range inserts
/// nothing twice (the log key is unique).
pub fn insert_sql(table: &str, cols: &[(&str, Kind)]) -> String {
    let all: Vec<(&str, Kind)> = META_COLUMNS
        .iter()
        .copied()
        .chain(cols.iter().copied())
        .collect();
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

/// Inserts `rows` into their table (nothing when empty).
#[cfg(feature = "store")]
pub async fn insert<T: EventTable>(
    conn: &mut sqlx::PgConnection,
    chain_id: i64,
    rows: &[T],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_sql(T::TABLE, T::COLUMNS);
    let meta = |f: fn(&LogMeta) -> i64| rows.iter().map(|r| f(r.meta())).collect::<Vec<_>>();
    let hash = |f: fn(&LogMeta) -> B256| {
        rows.iter()
            .map(|r| f(r.meta()).to_vec())
            .collect::<Vec<_>>()
    };
    let q = sqlx::query(&sql)
        .bind(chain_id)
        .bind(meta(|m| m.block_number as i64))
        .bind(hash(|m| m.block_hash))
        .bind(meta(|m| m.block_time as i64))
        .bind(hash(|m| m.tx_hash))
        .bind(
            rows.iter()
                .map(|r| r.meta().log_index as i32)
                .collect::<Vec<_>>(),
        );
    T::bind_columns(q, rows).execute(conn).await?;
    Ok(())
}

/// The column name of a declared field: the field's own name unless the declaration gives one.
#[doc(hidden)]
#[macro_export]
macro_rules! __event_column_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $col:literal) => {
        $col
    };
}

/// Declares the event tables: for each, the row struct (a [`LogMeta`] plus the fields), its
/// [`EventTable`] implementation (table name, columns, bulk-insert binding), and a `LogRows`
/// struct holding a `Vec` of every table's rows with `counts()` and (feature `store`)
/// `insert_all`. A field's column type follows from its Rust type ([`super::Column`]); `as
/// "name"` stores it under another column name.
macro_rules! event_tables {
    ($(
        $(#[doc = $doc:literal])*
        $table:ident => $row:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $ty:ty $(as $col:literal)?
            ),* $(,)?
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, PartialEq, Eq)]
            #[allow(missing_docs)]
            pub struct $row {
                pub meta: $crate::events::LogMeta,
                $(
                    $(#[doc = $fdoc])*
                    pub $field: $ty,
                )*
            }

            impl $crate::events::EventTable for $row {
                const TABLE: &'static str = stringify!($table);
                const COLUMNS: &'static [(&'static str, $crate::events::Kind)] = &[
                    $((
                        $crate::__event_column_name!($field $($col)?),
                        <$ty as $crate::events::Column>::KIND,
                    ),)*
                ];

                fn meta(&self) -> &$crate::events::LogMeta {
                    &self.meta
                }

                #[cfg(feature = "store")]
                fn bind_columns<'q>(
                    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
                    rows: &[Self],
                ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
                    $(
                        let q = q.bind(
                            rows.iter()
                                .map(|r| $crate::events::Column::bound(&r.$field))
                                .collect::<Vec<_>>(),
                        );
                    )*
                    q
                }
            }
        )*

        /// The rows of every event table decoded from one range, by table.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct LogRows {
            $(pub $table: Vec<$row>,)*
        }

        impl LogRows {
            /// The declared event tables, in declaration order.
            pub const TABLES: &'static [&'static str] = &[$(stringify!($table),)*];

            /// Rows per table, in declaration order.
            pub fn counts(&self) -> Vec<(&'static str, usize)> {
                vec![$((stringify!($table), self.$table.len()),)*]
            }

            /// Inserts every table's rows, one statement per non-empty table.
            #[cfg(feature = "store")]
            pub async fn insert_all(
                &self,
                conn: &mut sqlx::PgConnection,
                chain_id: i64,
            ) -> Result<(), sqlx::Error> {
                $($crate::events::insert(&mut *conn, chain_id, &self.$table).await?;)*
                Ok(())
            }
        }
    };
}

pub(crate) use event_tables;

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
}
