//! `x402-classifier-bench`: the classifier's benchmark data and benchmark, kept out of the
//! service binary. `gen-data` writes a synthetic ecosystem into a fresh database's indexer tables
//! (the dataset `make bench-classify` and `make bench-api` use); `classify` creates a throwaway
//! database, generates the dataset and times a from-scratch classification.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use tracing::info;

use x402_classifier::{
    connect, generate, import_file_labels, migrate, set_checkpoint, write_seed, Follower,
    GenConfig, RuleConfig, Step,
};

#[derive(Parser)]
#[command(
    name = "x402-classifier-bench",
    version,
    about = "Benchmark data and the from-scratch classification benchmark of x402-classifier"
)]
struct Cli {
    /// PostgreSQL URL: the database to fill (`gen-data`), or whose server holds the throwaway
    /// benchmark database (`classify`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/x402"
    )]
    database_url: String,
    /// Chain id of the generated data.
    #[arg(long, env = "CHAIN_ID")]
    chain_id: Option<i64>,
    /// TOML file overriding rule thresholds (keys of `RuleConfig`; see the crate README).
    #[arg(long, env = "CLASSIFIER_RULES")]
    rules: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a synthetic ecosystem into a fresh database's indexer tables (then classifies it).
    GenData {
        /// Number of payments.
        #[arg(long, default_value_t = 1_000_000)]
        payments: usize,
        /// Number of payers.
        #[arg(long, default_value_t = 50_000)]
        payers: usize,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Skip the settlement plumbing transfers (payer -> settlement -> payee).
        #[arg(long)]
        no_plumbing: bool,
        /// Do not classify after generating.
        #[arg(long)]
        no_classify: bool,
    },
    /// Creates a fresh database, generates the dataset, and times a from-scratch classification
    /// (`BENCH classify_1m_seconds`).
    Classify {
        /// Number of payments.
        #[arg(long, default_value_t = 1_000_000)]
        payments: usize,
        /// Number of payers.
        #[arg(long, default_value_t = 50_000)]
        payers: usize,
        /// Keep the benchmark database afterwards (its name is printed).
        #[arg(long)]
        keep: bool,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx::query=error,sqlx::postgres::notice=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = RuleConfig::load(cli.rules.as_deref()).map_err(anyhow::Error::msg)?;
    let chain_id = cli.chain_id.unwrap_or(31337);
    match &cli.command {
        Command::GenData {
            payments,
            payers,
            seed: s,
            no_plumbing,
            no_classify,
        } => {
            let pool = connect(&cli.database_url).await?;
            gen_data(&pool, chain_id, *payments, *payers, *s, !no_plumbing).await?;
            if !no_classify {
                let t = Instant::now();
                let step = Follower::new(pool, cfg, cli.chain_id)
                    .from_scratch("benchmark data")
                    .await?;
                step.log();
                println!("classified in {:.2} s", t.elapsed().as_secs_f64());
            }
        }
        Command::Classify {
            payments,
            payers,
            keep,
        } => {
            let admin: PgConnectOptions = PgConnectOptions::from_str(&cli.database_url)?;
            let name = format!("x402_bench_{}", std::process::id());
            let mut conn = admin.clone().database("postgres").connect().await?;
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await?;
            let url_opts = admin.database(&name);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect_with(url_opts)
                .await?;
            let result = async {
                gen_data(&pool, chain_id, *payments, *payers, 42, true).await?;
                sqlx::query("vacuum analyze").execute(&pool).await?;
                let t = Instant::now();
                let step = Follower::new(pool.clone(), cfg, cli.chain_id)
                    .from_scratch("benchmark")
                    .await?;
                let secs = t.elapsed().as_secs_f64();
                step.log();
                let Step::Full { payments: n, .. } = step else {
                    bail!("benchmark did not classify")
                };
                let classes: Vec<(String, i64)> = sqlx::query_as(
                    "select class, count(*) from payment_classes group by class order by class",
                )
                .fetch_all(&pool)
                .await?;
                for (c, k) in classes {
                    println!("  {c:16} {k}");
                }
                println!("classified {n} payments from {payers} payers");
                println!("BENCH classify_1m_seconds {secs:.2} s");
                anyhow::Ok(())
            }
            .await;
            pool.close().await;
            if *keep {
                println!("kept database {name}");
            } else {
                // `with (force)`: a session the pool left behind must not keep the database alive.
                sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut conn)
                    .await?;
            }
            result?;
        }
    }
    Ok(())
}

/// Generates the dataset and writes it into the indexer tables of `pool`'s database, which must
/// not hold payments of `chain_id` yet.
async fn gen_data(
    pool: &sqlx::PgPool,
    chain_id: i64,
    payments: usize,
    payers: usize,
    seed_: u64,
    plumbing: bool,
) -> Result<()> {
    if payers == 0 || payments < payers {
        bail!("--payments must be at least --payers (and --payers at least 1), got {payments} payments for {payers} payers");
    }
    migrate(pool).await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from payments where chain_id = $1")
        .bind(chain_id)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        bail!("chain {chain_id} already has {existing} payments in this database; use a fresh database");
    }
    let t = Instant::now();
    let g = generate(&GenConfig {
        chain_id,
        payments,
        payers,
        seed: seed_,
        plumbing,
    });
    info!(
        seconds = t.elapsed().as_secs_f64(),
        payments = g.seed.payments.len(),
        transfers = g.seed.transfers.len(),
        "generated"
    );
    let t = Instant::now();
    write_seed(pool, &g.seed).await?;
    import_file_labels(pool, &g.file_labels).await?;
    set_checkpoint(pool, chain_id, g.last_block, &g.settlement, &g.registry).await?;
    println!(
        "wrote {} payments, {} transfers, {} registry events, {} declarations for chain {chain_id} in {:.1} s (checkpoint block {})",
        g.seed.payments.len(),
        g.seed.transfers.len(),
        g.seed.registry.len(),
        g.seed.declarations.len(),
        t.elapsed().as_secs_f64(),
        g.last_block
    );
    Ok(())
}
