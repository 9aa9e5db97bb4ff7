//! `x402-indexer`: a thin CLI over the `x402_indexer` library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;
use x402_indexer::config::{Overrides, ProgressMode, Settings};
use x402_indexer::rpc::RpcError;

/// Follows the x402-settle contracts into PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "x402-indexer", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// TOML configuration file (flags and environment override it).
    #[arg(long, global = true, env = "X402_INDEXER_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, global = true, env = "RPC_URL")]
    rpc_url: Option<String>,
    /// PostgreSQL connection string.
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Deployment file written by the deploy script (default deployments/<chainId>.json).
    #[arg(long, global = true, env = "X402_DEPLOYMENT")]
    deployment: Option<PathBuf>,
    /// Expected chain id (checked against eth_chainId).
    #[arg(long, global = true, env = "CHAIN_ID")]
    chain_id: Option<u64>,
    /// Address of the /metrics, /health and /ready server (empty disables it).
    #[arg(long, global = true, env = "X402_INDEXER_HTTP_ADDR")]
    http_addr: Option<String>,
    /// Log format.
    #[arg(long, global = true, env = "LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the database migrations.
    Migrate,
    /// Backfill from the deployment block, then follow the chain head.
    Index {
        /// Exit once caught up with the head instead of following it (benchmarks, tests).
        #[arg(long)]
        exit_when_caught_up: bool,
        /// Backfill progress display.
        #[arg(long, default_value = "auto")]
        progress: ProgressArg,
    },
    /// Print the checkpoint, the head, the lag and row counts.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProgressArg {
    /// A bar on a terminal, log lines otherwise.
    Auto,
    /// Log lines only.
    Log,
    /// No progress output.
    Off,
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.global.log_format);
    let g = &cli.global;
    let settings = Settings::load(
        g.config.as_deref(),
        Overrides {
            rpc_url: g.rpc_url.clone(),
            database_url: g.database_url.clone(),
            deployment: g.deployment.clone(),
            http_addr: g.http_addr.clone(),
            chain_id: g.chain_id,
        },
    )?;
    let cancel = x402_service::shutdown::cancel_on_signals("the current transaction");

    match cli.command {
        Command::Migrate => {
            let url = settings.database_url()?;
            x402_indexer::migrate(&url, &cancel).await?;
            tracing::info!("migrations applied");
        }
        Command::Index {
            exit_when_caught_up,
            progress,
        } => {
            let mut config = resolve(&settings, &cancel).await?;
            config.exit_when_caught_up = exit_when_caught_up;
            config.progress = match progress {
                ProgressArg::Auto => ProgressMode::Auto,
                ProgressArg::Log => ProgressMode::Log,
                ProgressArg::Off => ProgressMode::Off,
            };
            x402_indexer::run(config, cancel).await?;
        }
        Command::Status { json } => {
            let config = resolve(&settings, &cancel).await?;
            let s = x402_indexer::status(&config).await?;
            let (cp_block, cp_hash) = match s.checkpoint {
                Some(cp) => (Some(cp.block_number), Some(cp.block_hash.to_string())),
                None => (None, None),
            };
            let lag = cp_block.map(|b| (s.head as i64 - b).max(0));
            if json {
                let counts: serde_json::Map<String, serde_json::Value> = s
                    .counts
                    .tables
                    .iter()
                    .map(|(t, n)| (t.to_string(), (*n).into()))
                    .collect();
                let out = serde_json::json!({
                    "chain_id": s.chain_id, "head": s.head, "checkpoint": cp_block,
                    "checkpoint_hash": cp_hash, "lag": lag, "counts": counts,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("chain id     {}", s.chain_id);
                println!("head         {}", s.head);
                match (cp_block, cp_hash) {
                    (Some(b), Some(h)) => println!("checkpoint   {b} ({h})"),
                    _ => println!("checkpoint   none (never indexed)"),
                }
                if let Some(lag) = lag {
                    println!("lag          {lag} blocks");
                }
                for (table, n) in &s.counts.tables {
                    println!("{table:<22} {n}");
                }
            }
        }
    }
    Ok(())
}

/// Asks the RPC endpoint for its chain id (retrying until it answers) and resolves the settings.
async fn resolve(
    settings: &Settings,
    cancel: &CancellationToken,
) -> anyhow::Result<x402_indexer::Config> {
    let url = settings.rpc_url()?;
    let metrics = x402_indexer::ops::Metrics::new();
    let client = x402_indexer::rpc::ChainClient::new(
        url.clone(),
        std::time::Duration::from_secs(10),
        x402_indexer::rpc::Backoff {
            initial: std::time::Duration::from_millis(200),
            max: std::time::Duration::from_secs(5),
        },
        1,
        1 << 20,
        metrics,
        cancel.clone(),
    )?;
    let chain_id = match client.chain_id().await {
        Ok(id) => id,
        Err(RpcError::Cancelled) => anyhow::bail!("interrupted before {url} answered eth_chainId"),
        Err(e) => return Err(e).with_context(|| format!("eth_chainId on {url}")),
    };
    Ok(settings.resolve(chain_id)?)
}
