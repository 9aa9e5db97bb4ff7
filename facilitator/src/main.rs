//! `x402-facilitator`: the x402 facilitator HTTP service.
//!
//! The signing key comes from `FACILITATOR_PRIVATE_KEY` or `--key-file`; it is never logged or
//! shown in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use clap::Parser;
use x402_domain::DeployedToken;
use x402_facilitator::{
    AccessConfig, Contracts, Service, ServiceConfig, ServiceOptions, SettleConfig,
};

#[derive(Parser, Debug)]
#[command(
    name = "x402-facilitator",
    version,
    about = "x402 facilitator: verify and settle Permit2 witness payments through X402Settlement"
)]
struct Cli {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment file written by script/deploy-local.sh (deployments/<chainId>.json).
    #[arg(long, env = "DEPLOYMENT_FILE")]
    deployment: Option<PathBuf>,
    /// X402Settlement address (instead of, or overriding, the deployment file).
    #[arg(long, env = "SETTLEMENT")]
    settlement: Option<Address>,
    /// Permit2 address (instead of, or overriding, the deployment file).
    #[arg(long, env = "PERMIT2")]
    permit2: Option<Address>,
    /// Accepted token (repeatable; replaces the deployment file's list).
    #[arg(long = "token")]
    tokens: Vec<Address>,
    /// PostgreSQL URL for the idempotency state.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Address to listen on.
    #[arg(long, env = "FACILITATOR_LISTEN", default_value = "127.0.0.1:4020")]
    listen: SocketAddr,
    /// File holding the facilitator's private key (hex); else FACILITATOR_PRIVATE_KEY is read.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Facilitator fee in basis points (capped by each payment's signed maximum).
    #[arg(long, default_value_t = 0)]
    fee_bps: u16,
    /// Settle exact/upto payments in chargeBatch transactions with an evidence Merkle root.
    #[arg(long)]
    batch: bool,
    /// Most payments per batch.
    #[arg(long, default_value_t = 100)]
    batch_max_items: usize,
    /// Longest a payment waits for its batch, in milliseconds.
    #[arg(long, default_value_t = 250)]
    batch_max_wait_ms: u64,
    /// Receipt polling interval in milliseconds.
    #[arg(long, default_value_t = 100)]
    receipt_poll_ms: u64,
    /// Seconds a transaction may stay unmined before it is re-sent with higher fees.
    #[arg(long, default_value_t = 20)]
    bump_after_secs: u64,
    /// Most fee bumps per transaction.
    #[arg(long, default_value_t = 5)]
    max_bumps: u32,
    /// Refuse payments whose deadline is closer than this many seconds.
    #[arg(long, default_value_t = 6)]
    min_validity_secs: u64,
    /// Address of x402's exact Permit2 proxy (its payments are refused when it has no code).
    #[arg(long, default_value_t = x402_domain::X402_EXACT_PERMIT2_PROXY)]
    x402_exact_permit2_proxy: Address,
    /// Address of x402's upto Permit2 proxy.
    #[arg(long, default_value_t = x402_domain::X402_UPTO_PERMIT2_PROXY)]
    x402_upto_permit2_proxy: Address,
    /// File of accepted API keys, one `name:key` (or bare `key`) per line; `#` starts a comment.
    /// Callers send `Authorization: Bearer <key>` (the x402 SDK's createAuthHeaders) or `X-API-Key`.
    #[arg(long, env = "FACILITATOR_API_KEYS_FILE")]
    api_keys_file: Option<PathBuf>,
    /// Refuse /verify and /settle without a valid API key (401) instead of serving unauthenticated
    /// callers from their shared budget.
    #[arg(long)]
    require_api_key: bool,
    /// Sustained /verify + /settle requests per second per API key.
    #[arg(long, default_value_t = 5000.0)]
    per_key_rate: f64,
    /// Burst per API key.
    #[arg(long, default_value_t = 10000.0)]
    per_key_burst: f64,
    /// Sustained requests per second of all unauthenticated callers together.
    #[arg(long, default_value_t = 5000.0)]
    anonymous_rate: f64,
    /// Burst of all unauthenticated callers together.
    #[arg(long, default_value_t = 10000.0)]
    anonymous_burst: f64,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 65536)]
    max_body_bytes: usize,
    /// Log as JSON lines (default: human-readable).
    #[arg(long)]
    json_logs: bool,
}

fn load_key(cli: &Cli) -> Result<PrivateKeySigner> {
    let raw = match &cli.key_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading --key-file {}", p.display()))?,
        None => std::env::var("FACILITATOR_PRIVATE_KEY")
            .context("no signing key: set FACILITATOR_PRIVATE_KEY or pass --key-file <file>")?,
    };
    // The error deliberately does not echo the input.
    raw.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| anyhow::anyhow!("the facilitator key is not a 32-byte hex private key"))
}

/// Reads `name:key` lines (a bare key is named by its position); the keys are never logged.
fn api_keys(cli: &Cli) -> Result<Vec<(String, String)>> {
    let Some(path) = &cli.api_keys_file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --api-keys-file {}", path.display()))?;
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, key) = line
            .split_once(':')
            .map(|(n, k)| (n.trim().to_string(), k.trim()))
            .unwrap_or((format!("key{}", i + 1), line));
        if key.len() < 16 {
            bail!(
                "--api-keys-file {} line {}: the key of {name:?} is shorter than 16 characters",
                path.display(),
                i + 1
            );
        }
        keys.push((name, key.to_string()));
    }
    if keys.is_empty() {
        bail!("--api-keys-file {} holds no key", path.display());
    }
    Ok(keys)
}

fn contracts(cli: &Cli) -> Result<(Contracts, Option<u64>)> {
    let (mut c, chain_id) = match &cli.deployment {
        Some(path) => {
            let (c, id) = Contracts::from_deployment_file(path)?;
            (c, Some(id))
        }
        None => (
            Contracts {
                settlement: Address::ZERO,
                permit2: Address::ZERO,
                tokens: Vec::new(),
                deploy_block: 0,
            },
            None,
        ),
    };
    if let Some(s) = cli.settlement {
        c.settlement = s;
    }
    if let Some(p) = cli.permit2 {
        c.permit2 = p;
    }
    if !cli.tokens.is_empty() {
        c.tokens = cli
            .tokens
            .iter()
            .map(|a| DeployedToken {
                symbol: a.to_string(),
                address: *a,
                decimals: 0,
                stablecoin: false,
            })
            .collect();
    }
    if c.settlement.is_zero() || c.permit2.is_zero() {
        bail!("no contracts: pass --deployment deployments/<chainId>.json (from script/deploy-local.sh) or --settlement and --permit2");
    }
    Ok((c, chain_id))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if cli.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let signer = load_key(&cli)?;
    let (contracts, chain_id) = contracts(&cli)?;
    let settle = SettleConfig {
        fee_bps: cli.fee_bps,
        batching: cli.batch,
        batch_max_items: cli.batch_max_items,
        batch_max_wait: Duration::from_millis(cli.batch_max_wait_ms),
        receipt_poll: Duration::from_millis(cli.receipt_poll_ms),
        bump_after: Duration::from_secs(cli.bump_after_secs),
        max_bumps: cli.max_bumps,
        min_validity: Duration::from_secs(cli.min_validity_secs),
        ..SettleConfig::default()
    };
    let rpc_url = cli
        .rpc_url
        .parse()
        .with_context(|| format!("--rpc-url {} is not a URL", cli.rpc_url))?;
    let service = Service::start_with(
        ServiceConfig {
            rpc_url,
            contracts,
            chain_id,
            signer,
            database_url: cli.database_url.clone(),
            settle,
        },
        ServiceOptions {
            x402_proxies: (cli.x402_exact_permit2_proxy, cli.x402_upto_permit2_proxy),
            access: AccessConfig {
                api_keys: api_keys(&cli)?,
                require_api_key: cli.require_api_key,
                per_key_per_s: cli.per_key_rate,
                per_key_burst: cli.per_key_burst,
                anonymous_per_s: cli.anonymous_rate,
                anonymous_burst: cli.anonymous_burst,
                max_body_bytes: cli.max_body_bytes,
            },
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("binding {}", cli.listen))?;
    tracing::info!(listen = %listener.local_addr()?, "serving x402 facilitator API");
    axum::serve(listener, x402_facilitator::router(service))
        .with_graceful_shutdown(async {
            // Ctrl-C or SIGTERM: stop accepting requests and let in-flight ones finish.
            x402_service::shutdown::signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await?;
    Ok(())
}
