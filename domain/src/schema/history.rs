//! The migration history: `domain/migrations`, embedded in every binary that opens the
//! database, applied whole.

#[cfg(feature = "store")]
use sqlx::{
    migrate::{MigrateError, Migrator},
    PgPool,
};

/// Versions the migrations were recorded under when each crate kept its own folder (the
/// indexer `0001`–`0010`, the facilitator `7001`–`7003`, the classifier and the API
/// timestamps), with the version each has now. A migration's checksum covers its SQL only,
/// which did not change, so renumbering the rows of `_sqlx_migrations` is all a database
/// migrated before needs. The indexer's versions kept their numbers and are not listed.
pub const LEGACY_VERSIONS: [(i64, i64); 11] = [
    (7001, 11),
    (7002, 12),
    (7003, 13),
    (20261121500000, 14),
    (20261121500100, 15),
    (20261121700000, 16),
    (20261121700001, 17),
    (20261121700002, 18),
    (20261203000000, 19),
    (20261203000100, 20),
    (20261203140000, 21),
];

#[cfg(feature = "store")]
/// The whole migration history. It refuses a database that recorded a version it does not
/// know (a newer binary migrated it): running old code on a newer schema is not safe.
pub fn migrator() -> Migrator {
    sqlx::migrate!("./migrations")
}

#[cfg(feature = "store")]
/// Brings the database to the current schema: renumbers versions recorded under the old
/// per-crate histories ([`LEGACY_VERSIONS`]), then applies every migration not yet applied.
/// Safe to run from several services at once (sqlx serializes the migrations with an
/// advisory lock; the renumbering is one idempotent statement).
pub async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    adopt_legacy_versions(pool).await?;
    migrator().run(pool).await
}

#[cfg(feature = "store")]
/// Renumbers rows of `_sqlx_migrations` recorded under a legacy version; returns how many.
async fn adopt_legacy_versions(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(0);
    }
    let (old, new): (Vec<i64>, Vec<i64>) = LEGACY_VERSIONS.iter().copied().unzip();
    let done = sqlx::query(
        "update _sqlx_migrations m set version = l.new
           from unnest($1::int8[], $2::int8[]) as l(old, new)
          where m.version = l.old",
    )
    .bind(&old)
    .bind(&new)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
