//! PostgreSQL: the classifier's migrations, reading the indexer's tables, writing verdicts.

mod copy;
pub(crate) mod load;
pub(crate) mod seed;
pub(crate) mod write;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not what the schema promises.
    #[error("bad value in {table}.{column}: {message}")]
    BadValue {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Which chain to classify is ambiguous or unknown.
    #[error("{0}")]
    Chain(String),
}

/// Opens a pool on `url`.
pub async fn connect(url: &str) -> Result<PgPool, DbError> {
    let opts: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await?)
}

/// Applies the classifier's migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    x402_domain::schema::migrate(pool).await?;
    Ok(())
}

/// Converts a stored bytea to a fixed-size array, naming the column on error.
pub fn fixed<const N: usize>(
    v: &[u8],
    table: &'static str,
    column: &'static str,
) -> Result<[u8; N], DbError> {
    v.try_into().map_err(|_| DbError::BadValue {
        table,
        column,
        message: format!("expected {N} bytes, got {}", v.len()),
    })
}

/// Parses a stored numeric (as text) into base units. Amounts above u128 saturate: no real token
/// supply gets there, and the rules only compare shares.
pub fn amount(s: &str, table: &'static str, column: &'static str) -> Result<u128, DbError> {
    let digits = s.split('.').next().unwrap_or(s);
    if digits.starts_with('-') {
        return Err(DbError::BadValue {
            table,
            column,
            message: format!("negative amount {s}"),
        });
    }
    match digits.parse::<u128>() {
        Ok(v) => Ok(v),
        Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(u128::MAX),
        Err(e) => Err(DbError::BadValue {
            table,
            column,
            message: format!("`{s}`: {e}"),
        }),
    }
}
