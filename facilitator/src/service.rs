//! Wires the parts together: chain reader, submitter, idempotency store, verifier, settler.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use sqlx::postgres::PgPoolOptions;
use x402_protocol::{caip2, SCHEME_ESCROW, SCHEME_EXACT, SCHEME_UPTO};

use crate::chain::{Chain, ChainError};
use crate::config::{Contracts, SettleConfig};
use crate::eip3009::Eip3009Verifier;
use crate::guard::{AccessConfig, Guard};
use crate::metrics::Metrics;
use crate::proxy::ProxyScheme;
use crate::proxy::{ProxyVerifier, X402Proxies, X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};
use crate::settle::Settler;
use crate::settlement::SettlementVerifier;
use crate::store::{Store, StoreError};
use crate::submit::{SubmitConfig, Submitter};
use crate::wire::{SupportedKind, SupportedResponse};

/// Everything needed to start the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: alloy::transports::http::reqwest::Url,
    /// Contracts and accepted tokens.
    pub contracts: Contracts,
    /// The chain id the contracts are on (checked against the node).
    pub chain_id: Option<u64>,
    /// The facilitator's key.
    pub signer: PrivateKeySigner,
    /// PostgreSQL URL.
    pub database_url: String,
    /// Settlement tuning.
    pub settle: SettleConfig,
}

/// What the internet-facing service adds to [`ServiceConfig`]; the defaults serve everybody
/// (no keys) and look for x402's Permit2 proxies at their canonical addresses.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// x402's Permit2 proxies (exact, upto), looked for on the chain at start.
    pub x402_proxies: (Address, Address),
    /// API keys, rate limits, body limit.
    pub access: AccessConfig,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            x402_proxies: (X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY),
            access: AccessConfig::default(),
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The node is unreachable or on another chain.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The node serves another chain than the deployment file.
    #[error("the node at the RPC URL serves chain {node}, but the contracts are configured for chain {configured}")]
    WrongChain {
        /// Node's chain.
        node: u64,
        /// Configured chain.
        configured: u64,
    },
    /// The settlement contract has no code.
    #[error("no contract at settlement address {0}: deploy first (script/deploy-local.sh) or fix --settlement/--deployment")]
    NoSettlement(Address),
    /// The database is unreachable or migrations failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Connecting to the database failed.
    #[error("cannot connect to PostgreSQL at DATABASE_URL: {0}")]
    Database(sqlx::Error),
}

/// The running service's state.
#[derive(Debug)]
pub struct Service {
    /// Settles (and, through its verifier, verifies).
    pub settler: Settler,
    /// Metrics.
    pub metrics: Metrics,
    /// API keys and rate limits.
    pub guard: Guard,
    supported: SupportedResponse,
}

impl Service {
    /// Connects to the chain and the database, migrates, recovers abandoned claims.
    pub async fn start(cfg: ServiceConfig) -> Result<Arc<Self>, ServiceError> {
        Self::start_with(cfg, ServiceOptions::default()).await
    }

    /// [`Service::start`] with keys, limits and proxy addresses.
    pub async fn start_with(
        cfg: ServiceConfig,
        opts: ServiceOptions,
    ) -> Result<Arc<Self>, ServiceError> {
        let metrics = Metrics::new();
        let facilitator = cfg.signer.address();
        let read = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(cfg.rpc_url.clone())
            .erased();
        let chain = Chain::new(read.clone());
        let chain_id = chain.chain_id().await?;
        if let Some(configured) = cfg.chain_id.filter(|c| *c != chain_id) {
            return Err(ServiceError::WrongChain {
                node: chain_id,
                configured,
            });
        }
        let code = read
            .get_code_at(cfg.contracts.settlement)
            .await
            .map_err(|e| ChainError {
                what: "eth_getCode",
                message: e.to_string(),
            })?;
        if code.is_empty() {
            return Err(ServiceError::NoSettlement(cfg.contracts.settlement));
        }
        let write = ProviderBuilder::new()
            .disable_recommended_fillers()
            .wallet(EthereumWallet::from(cfg.signer.clone()))
            .connect_http(cfg.rpc_url.clone())
            .erased();
        let submitter = Arc::new(Submitter::new(
            write,
            facilitator,
            chain_id,
            SubmitConfig {
                receipt_poll: cfg.settle.receipt_poll,
                bump_after: cfg.settle.bump_after,
                max_bumps: cfg.settle.max_bumps,
            },
            metrics.clone(),
        ));
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(&cfg.database_url)
            .await
            .map_err(ServiceError::Database)?;
        let owner = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let store = Store::open(pool, owner).await?;
        let proxies =
            X402Proxies::discover(&chain, opts.x402_proxies.0, opts.x402_proxies.1).await?;
        let eip3009 = Eip3009Verifier::new(
            chain.clone(),
            chain_id,
            cfg.contracts.settlement,
            facilitator,
            cfg.settle.min_validity.as_secs(),
        );
        let proxy_verifier = ProxyVerifier::new(
            chain.clone(),
            chain_id,
            facilitator,
            cfg.settle.min_validity.as_secs(),
            proxies.clone(),
        );
        let verifier = SettlementVerifier::new(
            chain,
            chain_id,
            cfg.contracts.clone(),
            facilitator,
            cfg.settle.fee_bps,
            cfg.settle.min_validity,
        );
        let supported = supported(
            chain_id,
            &cfg.contracts,
            facilitator,
            cfg.settle.fee_bps,
            cfg.settle.batching,
            &proxies,
        );
        let settler = Settler::new(
            verifier,
            eip3009,
            proxy_verifier,
            submitter,
            store,
            cfg.settle.clone(),
            metrics.clone(),
        );
        let recovered = settler.recover_orphans().await?;
        if recovered > 0 {
            tracing::info!(
                recovered,
                "resolved settlements left pending by an earlier process"
            );
        }
        tracing::info!(%facilitator, chain_id, settlement = %cfg.contracts.settlement, batching = cfg.settle.batching, "facilitator ready");
        Ok(Arc::new(Self {
            settler,
            metrics,
            guard: Guard::new(opts.access),
            supported,
        }))
    }

    /// The `/supported` answer.
    pub fn supported(&self) -> &SupportedResponse {
        &self.supported
    }
}

fn supported(
    chain_id: u64,
    c: &Contracts,
    facilitator: Address,
    fee_bps: u16,
    batching: bool,
    proxies: &X402Proxies,
) -> SupportedResponse {
    let network = caip2(chain_id);
    // `facilitatorAddress` is the name the x402 SDK reads; `facilitator` is what our own client
    // reads. `exact` is also the standard EIP-3009 payment (settled through `chargeWithAuthorization`;
    // evidence in the `evidence` extension). x402's Permit2 proxy payments (the SDK's
    // `assetTransferMethod: "permit2"`) are advertised per scheme only where the proxy has code.
    let extra = serde_json::json!({
        "settlement": c.settlement,
        "permit2": c.permit2,
        "facilitator": facilitator,
        "facilitatorAddress": facilitator,
        "facilitatorFeeBps": fee_bps,
        "batching": batching,
        "tokens": c.tokens.iter().map(|t| serde_json::json!({"symbol": t.symbol, "address": t.address, "decimals": t.decimals})).collect::<Vec<_>>(),
    });
    let mut kinds = Vec::new();
    for version in [2u8, 1] {
        for scheme in [SCHEME_EXACT, SCHEME_UPTO, SCHEME_ESCROW] {
            let mut extra = extra.clone();
            let mut methods = match scheme {
                SCHEME_EXACT => vec!["eip3009", "x402-settle-permit2"],
                SCHEME_UPTO => vec!["x402-settle-permit2"],
                _ => vec![],
            };
            let proxy = match scheme {
                SCHEME_EXACT => Some(ProxyScheme::Exact),
                SCHEME_UPTO => Some(ProxyScheme::Upto),
                _ => None,
            };
            if let Some(p) = proxy.filter(|p| proxies.deployed(*p)) {
                methods.push("permit2");
                extra["x402Permit2Proxy"] = serde_json::json!(proxies.address(p));
            }
            if !methods.is_empty() && scheme != SCHEME_ESCROW {
                extra["assetTransferMethods"] = serde_json::json!(methods);
            }
            kinds.push(SupportedKind {
                x402_version: version,
                scheme: scheme.into(),
                network: network.clone(),
                extra: Some(extra),
            });
        }
    }
    let mut signers = BTreeMap::new();
    signers.insert("eip155:*".to_string(), vec![facilitator]);
    SupportedResponse {
        kinds,
        extensions: vec!["escrow".into(), "evidence".into()],
        signers,
    }
}
