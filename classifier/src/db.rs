//! Database access: the classifier's migrations.

/// The classifier's migrations (`classifier/migrations`).
///
/// The indexer's migrations live in the same `_sqlx_migrations` table with different version
/// numbers, so this migrator ignores applied versions it does not know (and the indexer's must do
/// the same for ours); otherwise whichever migrator runs second would refuse to start.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}
