//! A fresh PostgreSQL database per test, migrated to the current schema, dropped afterwards
//! (`x402_testkit::TestDb`).

use sqlx::PgPool;

/// A throwaway database and a pool on it.
pub struct TestDb {
    pub pool: PgPool,
    db: x402_testkit::TestDb,
}

impl TestDb {
    /// Creates `x402_test_<random>` and applies the schema.
    pub async fn new() -> TestDb {
        let db = x402_testkit::TestDb::create()
            .await
            .expect("a throwaway database (is PostgreSQL on 127.0.0.1:5432?)");
        let pool = db.migrated(4).await.expect("the migrated schema");
        TestDb { pool, db }
    }

    /// Its connection URL.
    pub fn url(&self) -> String {
        self.db.url()
    }
}
