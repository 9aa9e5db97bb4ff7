//! x402-indexer: follows the x402-settle contracts into PostgreSQL, exactly once, through reorgs,
//! restarts and RPC faults.
//!
//! Data flows one way: [`rpc`] (chain access) -> [`decode`] (logs to typed rows) -> [`store`]
//! (one transaction per range), driven by [`sync`] (backfill, live tail, reorgs), observed through
//! [`ops`] (metrics, health, readiness). [`config`] resolves what to index.
//!
//! Library entry points: [`run`] indexes until shutdown (or until caught up when
//! [`Config::exit_when_caught_up`] is set), [`migrate`] applies the schema, [`status`] reports
//! the checkpoint and row counts.

pub mod config;
pub mod decode;
pub mod ops;
pub mod rpc;
pub mod store;
pub mod sync;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use config::{Config, ConfigError, Settings};

use ops::{Health, Metrics};
use rpc::{Backoff, ChainClient, RpcError};
use store::{Store, StoreError, TableCounts};
use sync::{Indexer, SyncError};

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The RPC endpoint serves another chain than configured.
    #[error("rpc_url serves chain {actual} but the configuration is for chain {expected}; point rpc_url at the right chain")]
    WrongChain {
        /// Configured chain id.
        expected: u64,
        /// What eth_chainId answered.
        actual: u64,
    },
    /// RPC failure (only shutdown ends the retries).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Database failure that retrying cannot fix.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Fatal sync failure (deep reorg, deployment mismatch).
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The metrics server could not bind its address.
    #[error("cannot serve metrics on {addr}: {source}; fix: choose a free --http-addr")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A chain client configured from `config`.
pub fn chain_client(
    config: &Config,
    metrics: Metrics,
    cancel: CancellationToken,
) -> Result<ChainClient, RpcError> {
    ChainClient::new(
        config.rpc_url.clone(),
        Duration::from_secs(config.fetch.rpc_timeout_secs),
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(config.fetch.max_backoff_secs),
        },
        config.fetch.header_batch_size,
        (config.fetch.max_response_mib as usize) << 20,
        metrics,
        cancel,
    )
}

/// Applies the migrations, waiting (with backoff) for PostgreSQL to accept connections.
pub async fn migrate(database_url: &str, cancel: &CancellationToken) -> Result<(), IndexerError> {
    let store = Store::connect_lazy(database_url, 0)?;
    retry_db(cancel, "migrate", || store.migrate()).await
}

/// Indexes until `shutdown` fires (or, with `exit_when_caught_up`, until the head is reached).
/// Runs migrations first, serves metrics when `http_addr` is set, and reconnects to the RPC
/// endpoint and PostgreSQL by itself; returns an error only for fatal conditions.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), IndexerError> {
    config.validate()?;
    let metrics = Metrics::new();
    let health = Arc::new(Health::default());
    let server_cancel = shutdown.child_token();
    let server = match config.http_addr {
        Some(addr) => {
            let (bound, handle) =
                ops::server::serve(addr, metrics.clone(), health.clone(), server_cancel.clone())
                    .await
                    .map_err(|source| IndexerError::Bind { addr, source })?;
            tracing::info!(%bound, "serving /metrics, /health, /ready");
            Some(handle)
        }
        None => None,
    };
    let result = run_with(config, metrics, health, shutdown).await;
    server_cancel.cancel();
    if let Some(handle) = server {
        handle.await.ok();
    }
    result
}

/// [`run`] with caller-owned metrics and health (to serve or inspect them elsewhere).
pub async fn run_with(
    config: Config,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), IndexerError> {
    let client = chain_client(&config, metrics.clone(), shutdown.clone())?;
    let actual = match client.chain_id().await {
        Ok(id) => id,
        Err(RpcError::Cancelled) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if actual != config.chain_id {
        return Err(IndexerError::WrongChain {
            expected: config.chain_id,
            actual,
        });
    }
    let store = Store::connect_lazy(&config.database_url, config.chain_id)?;
    match retry_db(&shutdown, "migrate", || store.migrate()).await {
        Ok(()) => {}
        Err(_) if shutdown.is_cancelled() => return Ok(()),
        Err(e) => return Err(e),
    }
    tracing::info!(
        chain_id = config.chain_id,
        settlement = %config.contracts.settlement,
        registry = %config.contracts.registry,
        tokens = config.contracts.tokens.len(),
        start_block = config.start_block,
        "indexing"
    );
    let indexer = Indexer::new(config, client, store, metrics, health, shutdown);
    indexer.run().await?;
    Ok(())
}

/// Checkpoint, head and row counts of one chain.
#[derive(Debug, Clone)]
pub struct Status {
    /// Chain id.
    pub chain_id: u64,
    /// Last committed block and hash, if any.
    pub checkpoint: Option<store::Checkpoint>,
    /// The chain head.
    pub head: u64,
    /// Rows per table.
    pub counts: TableCounts,
}

/// Reads the status of `config`'s chain.
pub async fn status(config: &Config) -> Result<Status, IndexerError> {
    let cancel = CancellationToken::new();
    let client = chain_client(config, Metrics::new(), cancel.clone())?;
    let head = client.latest().await?.number;
    let store = Store::connect_lazy(&config.database_url, config.chain_id)?;
    let checkpoint = store.checkpoint().await?;
    let counts = store.counts().await?;
    Ok(Status {
        chain_id: config.chain_id,
        checkpoint,
        head,
        counts,
    })
}

/// Retries a database operation while the failure is transient (server down or restarting).
async fn retry_db<F, Fut>(
    cancel: &CancellationToken,
    what: &str,
    mut op: F,
) -> Result<(), IndexerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let backoff = Backoff {
        initial: Duration::from_millis(200),
        max: Duration::from_secs(5),
    };
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && !cancel.is_cancelled() => {
                attempt += 1;
                let delay = backoff.delay(attempt);
                tracing::warn!(what, attempt, error = %e, "database unavailable, retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}
