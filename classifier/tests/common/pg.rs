//! A fresh PostgreSQL database per test (indexer schema + classifier schema), dropped afterwards.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};
use std::str::FromStr;

use x402_classifier::db::{self, seed};

const SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A throwaway database.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
}

impl TestDb {
    /// Creates `x402_test_<random>` and applies both schemas.
    pub async fn new() -> TestDb {
        let name = format!("x402_test_{:016x}", rand::random::<u64>());
        let admin = PgConnectOptions::from_str(SERVER).unwrap();
        let mut conn = admin
            .clone()
            .connect()
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        conn.execute(format!("create database {name}").as_str())
            .await
            .unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(admin.database(&name))
            .await
            .unwrap();
        seed::indexer_migrator().run(&pool).await.unwrap();
        db::migrate(&pool).await.unwrap();
        TestDb { pool, name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let pool = self.pool.clone();
        // Drop from a separate runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                // `with (force)` ends the pool's sessions; waiting for the pool to close could hang
                // on a connection a failed test still holds.
                drop(pool);
                let dropped = async {
                    if let Ok(mut c) = PgConnectOptions::from_str(SERVER).unwrap().connect().await {
                        let _ = c
                            .execute(
                                format!("drop database if exists {name} with (force)").as_str(),
                            )
                            .await;
                    }
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(30), dropped).await;
            });
        })
        .join();
    }
}
