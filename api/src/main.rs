//! `x402-api`: serve the organic-demand API, maintain its read model or print its OpenAPI document
//! (the load test is `x402-api-bench`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use x402_api::{migrate, rebuild, refresh, serve, ServeConfig};

#[derive(Parser)]
#[command(
    name = "x402-api",
    version,
    about = "Organic-demand HTTP API over indexed and classified x402 payments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Db {
    /// PostgreSQL holding the indexer's and classifier's tables.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/x402_settle"
    )]
    database_url: String,
    /// Chain whose payments are served.
    #[arg(long, env = "CHAIN_ID", default_value_t = 31337)]
    chain_id: i64,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the API's migrations, refresh the read model and serve HTTP.
    Serve {
        #[command(flatten)]
        db: Db,
        /// Listen address.
        #[arg(long, env = "API_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve the static files of this directory (the dashboard) under `/`.
        #[arg(long, env = "API_STATIC_DIR")]
        static_dir: Option<PathBuf>,
        /// deployments/<chainId>.json, for token symbols and decimals (and which tokens are USD
        /// stablecoins, priced at par: `"stablecoin": true`).
        #[arg(long, env = "API_DEPLOYMENT")]
        deployment: Option<PathBuf>,
        /// USD price of a token for every day, `TOKEN=USD` (symbol of the deployment file or
        /// address; repeatable). Overrides the price file and par.
        #[arg(long = "price", value_name = "TOKEN=USD", value_parser = x402_api::parse_price_flag)]
        prices: Vec<(String, String)>,
        /// TOML price file: `TOKEN = "USD"` for one price, or a `[TOKEN]` table of
        /// `"YYYY-MM-DD" = "USD"` daily prices (a day takes the latest earlier entry).
        #[arg(long = "prices", env = "API_PRICES", value_name = "FILE")]
        price_file: Option<PathBuf>,
        /// Lifetime of cached responses, ms (0 disables the cache). Entries are keyed by the read
        /// model's generation, so a refresh retires them at once; the TTL only bounds memory.
        #[arg(long, env = "API_CACHE_TTL_MS", default_value_t = 300_000)]
        cache_ttl_ms: u64,
        /// How often to look for new classifications and blocks, ms. Each change rebuilds the
        /// touched days and retires the response cache, so this trades freshness for load.
        #[arg(long, env = "API_POLL_MS", default_value_t = 5_000)]
        poll_ms: u64,
        /// Do not refresh the read model (another API process does); only follow its generation.
        #[arg(long)]
        no_refresh: bool,
        /// Database connections.
        #[arg(long, env = "API_DB_CONNECTIONS", default_value_t = 16)]
        db_connections: u32,
        /// Where the summary is computed: `memory` (the in-memory read model, maintained day by
        /// day with the SQL one) or `sql` (every request scans the SQL read model).
        #[arg(long, env = "API_ENGINE", default_value = "memory", value_parser = ["memory", "sql"])]
        engine: String,
    },
    /// Apply the API's migrations (after the indexer's and the classifier's).
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Print the OpenAPI document `/openapi.json` serves (no database needed). `make openapi`
    /// writes it to dashboard/openapi.json, which the dashboard's types are generated from.
    Openapi,
    /// Bring the read model up to date once (`--full` rebuilds it).
    Refresh {
        #[command(flatten)]
        db: Db,
        /// Rebuild every day instead of the changed ones.
        #[arg(long)]
        full: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            db,
            listen,
            static_dir,
            deployment,
            prices,
            price_file,
            cache_ttl_ms,
            poll_ms,
            no_refresh,
            db_connections,
            engine,
        } => {
            let pool = connect(&db.database_url, db_connections).await?;
            migrate(&pool).await.context(
                "applying the API migrations (did the indexer and classifier migrate first?)",
            )?;
            let cfg = ServeConfig {
                listen,
                chain_id: db.chain_id,
                static_dir,
                deployment,
                prices,
                price_file,
                cache_ttl: Duration::from_millis(cache_ttl_ms),
                poll_interval: Duration::from_millis(poll_ms.max(50)),
                refresh: !no_refresh,
                memory: engine == "memory",
            };
            serve(pool, cfg, async {
                x402_service::shutdown::signal().await;
                tracing::info!("shutting down");
            })
            .await?;
        }
        Command::Migrate { db } => {
            let pool = connect(&db.database_url, 2).await?;
            migrate(&pool)
                .await
                .context("applying the API migrations")?;
            println!("api migrations applied");
        }
        Command::Openapi => print!("{}", x402_api::openapi_document()),
        Command::Refresh { db, full } => {
            let pool = connect(&db.database_url, 2).await?;
            migrate(&pool)
                .await
                .context("applying the API migrations")?;
            let t0 = std::time::Instant::now();
            let o = if full {
                rebuild(&pool, db.chain_id).await?
            } else {
                refresh(&pool, db.chain_id).await?
            };
            println!(
                "refreshed {} days ({} payments) in {:.1}s; generation {}",
                o.days,
                o.payments,
                t0.elapsed().as_secs_f64(),
                o.generation
            );
        }
    }
    Ok(())
}

async fn connect(url: &str, max: u32) -> anyhow::Result<sqlx::PgPool> {
    x402_api::connect(url, max)
        .await
        .with_context(|| format!("connecting to {url} (is PostgreSQL up and DATABASE_URL right?)"))
}
