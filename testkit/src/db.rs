//! A fresh PostgreSQL database per test, dropped afterwards.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::error::{Context, Result};

/// Server the throwaway databases live on: `$X402_TEST_PG_URL`, else the server part of
/// `$DATABASE_URL`, else the local trust-auth server.
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("X402_TEST_PG_URL") {
        return url.trim_end_matches('/').to_string();
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        // postgres://user@host:port/db?opts -> postgres://user@host:port
        if let Some((scheme, rest)) = url.split_once("://") {
            let server = rest.split(['/', '?']).next().unwrap_or(rest);
            return format!("{scheme}://{server}");
        }
    }
    "postgres://postgres@127.0.0.1:5432".to_string()
}

/// A database named `x402_test_<random>`; dropped (best effort) when this value drops, unless
/// `X402_KEEP_DB=1` (then its name is printed for inspection).
#[derive(Debug)]
pub struct TestDb {
    name: String,
    server: String,
}

impl TestDb {
    /// Creates the database on the default server ([`server_url`]).
    pub async fn create() -> Result<Self> {
        Self::create_on(&server_url()).await
    }

    /// Creates the database on `server` (`postgres://user@host:port`, no database name).
    pub async fn create_on(server: &str) -> Result<Self> {
        let server = server.trim_end_matches('/').to_string();
        let name = format!("x402_test_{}", crate::unique_suffix());
        let mut admin = admin_connection(&server).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .context(format!("creating database {name} on {server}"))?;
        admin.close().await.ok();
        Ok(Self { name, server })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its connection URL (what the indexer gets as `--database-url`).
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// A small pool for the test's own queries.
    pub async fn pool(&self) -> Result<PgPool> {
        self.pool_of(4).await
    }

    /// A pool of at most `max_connections` on a database migrated to the current schema (the
    /// whole history, `x402_domain::schema`), for tests that write tables directly.
    pub async fn migrated(&self, max_connections: u32) -> Result<PgPool> {
        let pool = self.pool_of(max_connections).await?;
        x402_domain::schema::migrate(&pool)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))
            .context(format!("migrating {}", self.name))?;
        Ok(pool)
    }

    async fn pool_of(&self, max_connections: u32) -> Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(max_connections)
            // Fail fast while a test has the server stopped, instead of sqlx's 30 s default.
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(&self.url())
            .await
            .context(format!("connecting to {}", self.url()))
    }
}

async fn admin_connection(server: &str) -> Result<sqlx::PgConnection> {
    let url = format!("{server}/postgres");
    let opts = url
        .parse::<PgConnectOptions>()
        .context(format!("parsing {url}"))?;
    opts.disable_statement_logging()
        .connect()
        .await
        .context(format!(
            "connecting to {url} (is PostgreSQL running? see script/setup.sh)"
        ))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var("X402_KEEP_DB").is_ok_and(|v| v == "1") {
            eprintln!("x402-testkit: keeping database {}", self.url());
            return;
        }
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a private one.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = admin_connection(&server).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        });
        let _ = handle.join();
    }
}
