//! Serving: the listener, the background refresher that keeps the read model and the cache in
//! step with the classifier, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::rollup;
use crate::state::{AppState, Synced};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Chain whose payments are served.
    pub chain_id: i64,
    /// Directory of static files served under `/` (the dashboard), if any.
    pub static_dir: Option<PathBuf>,
    /// `deployments/<chainId>.json`, for token symbols and decimals.
    pub deployment: Option<PathBuf>,
    /// `--price TOKEN=USD` values.
    pub prices: Vec<(String, String)>,
    /// The TOML price file.
    pub price_file: Option<PathBuf>,
    /// How long a cached response lives (zero disables the cache).
    pub cache_ttl: Duration,
    /// How often to check the classifier and indexer for changes.
    pub poll_interval: Duration,
    /// Whether this process refreshes the read model (else it only follows another's refreshes).
    pub refresh: bool,
    /// Answer the summary from the in-memory read model (else in SQL).
    pub memory: bool,
}

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding or serving failed.
    #[error("serving on {addr}: {source}")]
    Io {
        /// The listen address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The state could not be loaded.
    #[error("loading API state: {0}")]
    State(#[from] crate::ApiError),
    /// The deployment file could not be read.
    #[error("deployment file: {0}")]
    Deployment(String),
    /// The price configuration is invalid.
    #[error("price source: {0}")]
    Prices(#[from] crate::prices::PriceError),
    /// The first refresh failed.
    #[error(transparent)]
    Refresh(#[from] rollup::RefreshError),
}

/// Runs one refresh-and-sync step; logs and swallows failures (the next tick retries). Returns
/// what the sync did (None when it failed).
pub async fn tick(state: &AppState, refresh: bool) -> Option<Synced> {
    let mut done = None;
    if refresh {
        let t0 = std::time::Instant::now();
        match rollup::refresh(state.pool(), state.chain_id()).await {
            Ok(o) => {
                if o.payments > 0 {
                    tracing::info!(
                        days = o.days,
                        payments = o.payments,
                        generation = o.generation,
                        ms = t0.elapsed().as_millis() as u64,
                        "read model refreshed"
                    );
                }
                done = Some(o);
            }
            Err(e) => tracing::warn!(error = %e, "read model refresh failed; retrying next tick"),
        }
    }
    // Without changes to apply (a rebuild, or nothing new) the sync reloads if the generation moved.
    let refreshed = done
        .as_ref()
        .and_then(|o| o.changes.as_ref().map(|c| (o.generation, c)));
    let t0 = std::time::Instant::now();
    match state.sync_after(refreshed).await {
        Ok(synced) => {
            if synced != Synced::Unchanged {
                tracing::debug!(
                    ?synced,
                    ms = t0.elapsed().as_millis() as u64,
                    "in-memory read model and metadata synced"
                );
            }
            Some(synced)
        }
        Err(e) => {
            tracing::warn!(error = %e, "reloading API metadata failed; retrying next tick");
            None
        }
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    pool: sqlx::PgPool,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if cfg.refresh {
        let o = rollup::refresh(&pool, cfg.chain_id).await?;
        tracing::info!(
            days = o.days,
            payments = o.payments,
            generation = o.generation,
            "read model ready"
        );
    }
    let tokens = match &cfg.deployment {
        Some(path) => crate::state::read_deployment_tokens(path).map_err(ServeError::Deployment)?,
        None => Vec::new(),
    };
    let prices = crate::prices::PriceBook::load(&tokens, cfg.price_file.as_deref(), &cfg.prices)?;
    tracing::info!(source = %prices.describe(&tokens), "USD prices");
    let state = AppState::with_prices(pool, cfg.chain_id, cfg.cache_ttl, tokens, prices).await?;
    let state = if cfg.memory {
        state
    } else {
        state.without_cube()
    };
    let background = {
        let state = state.clone();
        let (every, refresh) = (cfg.poll_interval, cfg.refresh);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                tick(&state, refresh).await;
            }
        })
    };
    let app = crate::router(state, cfg.static_dir.clone());
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Io {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(cfg.listen);
    tracing::info!(%addr, chain_id = cfg.chain_id, "x402-api listening");
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServeError::Io { addr, source });
    background.abort();
    result
}
