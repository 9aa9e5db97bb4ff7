//! Configuration: a TOML file, overridden by flags/environment, resolved against the chain's id
//! and the deployment file into a validated [`Config`].
//!
//! Every bad value is reported as [`ConfigError::Invalid`], naming the field, what is wrong and
//! how to fix it.

mod deployment;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Url;
use serde::Deserialize;

pub use deployment::{DeployedToken, Deployment};

/// A configuration problem, always naming the field or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is missing or out of range.
    #[error("config field `{field}`: {problem}; fix: {fix}")]
    Invalid {
        /// The field (TOML key, flag or environment variable).
        field: String,
        /// What is wrong with it.
        problem: String,
        /// What to do about it.
        fix: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML file does not parse (unknown keys are errors too, to catch typos).
    #[error("config file {path}: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message, which names the key and line.
        message: String,
    },
}

fn invalid(field: &str, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// `eth_getLogs` range limits, in blocks per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RangeLimits {
    /// Span of the first requests.
    pub initial_blocks: u64,
    /// The span never shrinks below this (a single block still failing is retried, never skipped).
    pub min_blocks: u64,
    /// The span never grows above this.
    pub max_blocks: u64,
    /// Logs per request the span adapts towards (bounds the memory of one range).
    pub target_logs: u64,
}

impl Default for RangeLimits {
    fn default() -> Self {
        Self {
            initial_blocks: 10,
            min_blocks: 1,
            max_blocks: 100_000,
            target_logs: 5_000,
        }
    }
}

/// Fetching limits: concurrency, buffering, timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchLimits {
    /// Ranges fetched at the same time during backfill.
    pub concurrency: usize,
    /// Fetched ranges waiting for the database writer; a slow database slows fetching.
    pub channel_capacity: usize,
    /// Block headers per JSON-RPC batch request.
    pub header_batch_size: usize,
    /// Timeout of one RPC request, in seconds.
    pub rpc_timeout_secs: u64,
    /// Longest wait between retries, in seconds.
    pub max_backoff_secs: u64,
    /// Largest `eth_getLogs` response accepted, in MiB; a larger one is abandoned while it
    /// streams in and its range split in proportion. Bounds memory whatever the log density.
    pub max_response_mib: u64,
    /// Check every `eth_getLogs` answer against the `logsBloom` of every block of the range (one
    /// header per block, batched) and ask again when logs are missing. Turn off only for a node
    /// you run yourself: providers behind load balancers answer from nodes behind the head.
    pub check_blooms: bool,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            concurrency: 4,
            channel_capacity: 4,
            header_batch_size: 500,
            rpc_timeout_secs: 30,
            max_backoff_secs: 10,
            max_response_mib: 16,
            check_blooms: true,
        }
    }
}

/// `[native_transfers]`: top-level transactions that move native currency, the usual first funding
/// of an agent wallet (gas money). Reading them costs every block's transactions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeTransfersFile {
    /// On or off; default on for local chains (chain id 31337 or 1337), off elsewhere.
    pub enabled: Option<bool>,
    /// Only transfers from or to these addresses (the wallets that matter on a public chain);
    /// empty: every transfer.
    #[serde(default)]
    pub addresses: Vec<Address>,
}

/// `[eip3009]`: standard x402 payments, EIP-3009 `transferWithAuthorization` of the payment tokens
/// submitted by a facilitator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eip3009File {
    /// On or off (default on).
    pub enabled: Option<bool>,
    /// TOML file listing known facilitators (`[[facilitator]] address = "0x..", name = ".."`);
    /// without it (or with an empty list) any sender counts, flagged as not listed.
    pub facilitators_file: Option<PathBuf>,
}

/// `[permit2_proxy]`: standard x402 payments through x402's Permit2 proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit2ProxyFile {
    /// On or off (default on).
    pub enabled: Option<bool>,
    /// The proxies' addresses on this chain (default: x402's deterministic addresses,
    /// `x402_domain::X402_EXACT_PERMIT2_PROXY` and `X402_UPTO_PERMIT2_PROXY`).
    pub proxies: Option<Vec<Address>>,
}

/// x402 Permit2 proxy payments, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit2Proxy {
    /// Index them.
    pub enabled: bool,
    /// The proxies watched.
    pub proxies: Vec<Address>,
}

impl Permit2Proxy {
    /// x402's deterministic proxy addresses, on.
    pub fn x402_defaults() -> Self {
        Self {
            enabled: true,
            proxies: vec![
                x402_domain::X402_EXACT_PERMIT2_PROXY,
                x402_domain::X402_UPTO_PERMIT2_PROXY,
            ],
        }
    }

    /// The proxies to fetch logs from (none when off).
    pub fn watched(&self) -> &[Address] {
        if self.enabled {
            &self.proxies
        } else {
            &[]
        }
    }
}

/// `[lineage]`: which token transfers are indexed, all of them (`full`) or only the funding lineage
/// of the wallets that pay and get paid (`scoped`, see `sync::lineage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageFile {
    /// `full` (default) or `scoped`.
    pub mode: Option<LineageMode>,
    /// Scoped mode: funders followed above payers and payees (1 = their funders, 2 = funders of
    /// funders...). Default 2.
    pub depth: Option<u32>,
    /// Scoped mode: addresses per `eth_getLogs` topic filter (providers cap the list). Default 1000.
    pub addresses_per_request: Option<usize>,
}

/// How much token traffic the indexer stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineageMode {
    /// Every `Transfer` of every payment token, every native transfer (when enabled).
    #[default]
    Full,
    /// Transfers and native transfers from or to tracked wallets only: payers, payees, declared
    /// wallets, and their funders up to `depth`, fetched with address-filtered `eth_getLogs`.
    Scoped,
}

/// Lineage, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    /// Full or scoped.
    pub mode: LineageMode,
    /// Funder levels followed in scoped mode.
    pub depth: u32,
    /// Addresses per topic filter.
    pub addresses_per_request: usize,
}

impl Lineage {
    /// Default funder depth of the scoped mode.
    pub const DEFAULT_DEPTH: u32 = 2;
    /// Default addresses per topic filter: geth's cap on one topic position's list (1000 since
    /// go-ethereum #29535). Each request costs a node a pass over its range's logs whatever the
    /// list's length, so the longest list the node accepts means the fewest passes.
    pub const DEFAULT_ADDRESSES_PER_REQUEST: usize = 1000;

    fn from_file(f: &LineageFile) -> Self {
        Self {
            mode: f.mode.unwrap_or_default(),
            depth: f.depth.unwrap_or(Self::DEFAULT_DEPTH),
            addresses_per_request: f
                .addresses_per_request
                .unwrap_or(Self::DEFAULT_ADDRESSES_PER_REQUEST),
        }
    }
}

impl Default for Lineage {
    fn default() -> Self {
        Self::from_file(&LineageFile::default())
    }
}

/// A known x402 facilitator (an entry of the facilitators file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facilitator {
    /// The address that sends its settlement transactions.
    pub address: Address,
    /// Who it is.
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FacilitatorsFile {
    #[serde(default)]
    facilitator: Vec<Facilitator>,
}

/// Reads a facilitators file; errors name the file and the entry.
pub fn load_facilitators(path: &Path) -> Result<Vec<Facilitator>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_facilitators(&text).map_err(|message| ConfigError::Toml {
        path: path.display().to_string(),
        message,
    })
}

/// Parses the text of a facilitators file: zero addresses and duplicates are errors.
pub fn parse_facilitators(text: &str) -> Result<Vec<Facilitator>, String> {
    let file: FacilitatorsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    for (i, f) in file.facilitator.iter().enumerate() {
        if f.address == Address::ZERO {
            return Err(format!(
                "facilitator #{} ({:?}): the zero address is not a facilitator",
                i + 1,
                f.name
            ));
        }
        if !seen.insert(f.address) {
            return Err(format!(
                "facilitator #{} ({:?}): {} is listed twice",
                i + 1,
                f.name,
                f.address
            ));
        }
    }
    Ok(file.facilitator)
}

/// Native transfers, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeTransfers {
    /// Index them.
    pub enabled: bool,
    /// Only from or to these; empty: all.
    pub addresses: Vec<Address>,
}

/// EIP-3009 payments, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip3009 {
    /// Index them.
    pub enabled: bool,
    /// Known facilitators; empty: any sender, flagged.
    pub facilitators: Vec<Facilitator>,
}

/// Chain ids of local development chains (anvil, hardhat, geth --dev), where indexing every
/// block's transactions is cheap.
pub const LOCAL_CHAIN_IDS: [u64; 2] = [31337, 1337];

/// The TOML file, every key optional (flags and the deployment file fill the rest).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// JSON-RPC endpoint (http/https).
    pub rpc_url: Option<String>,
    /// PostgreSQL connection string.
    pub database_url: Option<String>,
    /// Expected chain id; checked against `eth_chainId`.
    pub chain_id: Option<u64>,
    /// Path of the deployment file (default `deployments/<chainId>.json`).
    pub deployment: Option<PathBuf>,
    /// Settlement contract, overriding the deployment file.
    pub settlement: Option<Address>,
    /// Registry contract, overriding the deployment file.
    pub registry: Option<Address>,
    /// Payment tokens, overriding the deployment file.
    pub tokens: Option<Vec<Address>>,
    /// First block to index, overriding the deployment file.
    pub start_block: Option<u64>,
    /// Blocks after which a block is considered final (default 12).
    pub finality_depth: Option<u64>,
    /// Recent block hashes kept to detect and undo reorgs (default 64, at least finality_depth).
    pub reorg_window: Option<u64>,
    /// How often the live tail polls for new blocks, in milliseconds (default 1000).
    pub poll_interval_ms: Option<u64>,
    /// Address of the metrics/health HTTP server (e.g. "127.0.0.1:9464").
    pub http_addr: Option<String>,
    /// `eth_getLogs` range limits.
    #[serde(default)]
    pub range: RangeLimits,
    /// Fetch concurrency and buffering.
    #[serde(default)]
    pub fetch: FetchLimits,
    /// Native-currency transfers.
    #[serde(default)]
    pub native_transfers: NativeTransfersFile,
    /// EIP-3009 payments.
    #[serde(default)]
    pub eip3009: Eip3009File,
    /// x402 Permit2 proxy payments.
    #[serde(default)]
    pub permit2_proxy: Permit2ProxyFile,
    /// Full or scoped token lineage.
    #[serde(default)]
    pub lineage: LineageFile,
}

/// Values given on the command line or in the environment; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--rpc-url` / `RPC_URL`.
    pub rpc_url: Option<String>,
    /// `--database-url` / `DATABASE_URL`.
    pub database_url: Option<String>,
    /// `--deployment` / `X402_DEPLOYMENT`.
    pub deployment: Option<PathBuf>,
    /// `--http-addr` / `X402_INDEXER_HTTP_ADDR`.
    pub http_addr: Option<String>,
    /// `--chain-id` / `CHAIN_ID`.
    pub chain_id: Option<u64>,
}

/// File and overrides merged, not yet checked against the chain.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    file: FileConfig,
}

/// The contracts the indexer follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contracts {
    /// The X402Settlement contract (all its events).
    pub settlement: Address,
    /// The EcosystemRegistry contract (all its events).
    pub registry: Address,
    /// Payment tokens (every ERC-20 Transfer).
    pub tokens: Vec<DeployedToken>,
}

/// Validated configuration of one indexer.
#[derive(Debug, Clone)]
pub struct Config {
    /// JSON-RPC endpoint.
    pub rpc_url: Url,
    /// PostgreSQL connection string.
    pub database_url: String,
    /// The chain's id, as `eth_chainId` reports it.
    pub chain_id: u64,
    /// What to index.
    pub contracts: Contracts,
    /// First block to index.
    pub start_block: u64,
    /// Depth after which blocks are treated as final (reported in status, bounds the window).
    pub finality_depth: u64,
    /// Number of recent block hashes kept for reorg detection (>= finality_depth).
    pub reorg_window: u64,
    /// `eth_getLogs` range limits.
    pub range: RangeLimits,
    /// Fetching limits.
    pub fetch: FetchLimits,
    /// Live-tail polling interval.
    pub poll_interval: Duration,
    /// Metrics/health server address; None disables it.
    pub http_addr: Option<SocketAddr>,
    /// Stop once the indexer has caught up with the head (benchmarks, tests) instead of following.
    pub exit_when_caught_up: bool,
    /// Progress display during backfill.
    pub progress: ProgressMode,
    /// Native-currency transfers.
    pub native_transfers: NativeTransfers,
    /// EIP-3009 payments.
    pub eip3009: Eip3009,
    /// x402 Permit2 proxy payments.
    pub permit2_proxy: Permit2Proxy,
    /// Full or scoped token lineage.
    pub lineage: Lineage,
}

/// How backfill progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Periodic log lines only.
    Log,
    /// Nothing but the usual logs.
    Off,
}

impl Settings {
    /// Reads the TOML file (when given) and applies the overrides.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::parse_file(&text).map_err(|message| ConfigError::Toml {
                    path: path.display().to_string(),
                    message,
                })?
            }
            None => FileConfig::default(),
        };
        if overrides.rpc_url.is_some() {
            file.rpc_url = overrides.rpc_url;
        }
        if overrides.database_url.is_some() {
            file.database_url = overrides.database_url;
        }
        if overrides.deployment.is_some() {
            file.deployment = overrides.deployment;
        }
        if overrides.http_addr.is_some() {
            file.http_addr = overrides.http_addr;
        }
        if overrides.chain_id.is_some() {
            file.chain_id = overrides.chain_id;
        }
        Ok(Self { file })
    }

    /// Parses TOML text into a [`FileConfig`]; the error message names the offending key.
    pub fn parse_file(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The PostgreSQL URL, required by every command.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        let url = self.file.database_url.clone().ok_or_else(|| {
            invalid(
                "database_url",
                "not set",
                "pass --database-url, set DATABASE_URL, or put database_url in the config file",
            )
        })?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "database_url",
                format!("`{url}` is not a PostgreSQL URL"),
                "use postgres://user@host:port/database",
            ));
        }
        Ok(url)
    }

    /// The RPC URL, required to index.
    pub fn rpc_url(&self) -> Result<Url, ConfigError> {
        let raw = self.file.rpc_url.clone().ok_or_else(|| {
            invalid(
                "rpc_url",
                "not set",
                "pass --rpc-url, set RPC_URL, or put rpc_url in the config file",
            )
        })?;
        let url = Url::parse(&raw).map_err(|e| {
            invalid(
                "rpc_url",
                format!("`{raw}` is not a URL ({e})"),
                "use http://host:port",
            )
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(invalid(
                "rpc_url",
                format!("scheme `{}` is not supported", url.scheme()),
                "use an http:// or https:// endpoint",
            ));
        }
        Ok(url)
    }

    /// The chain id the configuration expects, if it names one.
    pub fn expected_chain_id(&self) -> Option<u64> {
        self.file.chain_id
    }

    /// Checks everything against `rpc_chain_id` (what `eth_chainId` answered) and the deployment
    /// file, and returns the validated configuration.
    pub fn resolve(&self, rpc_chain_id: u64) -> Result<Config, ConfigError> {
        let f = &self.file;
        if let Some(expected) = f.chain_id {
            if expected != rpc_chain_id {
                return Err(invalid(
                    "chain_id",
                    format!(
                        "configured {expected} but the RPC endpoint serves chain {rpc_chain_id}"
                    ),
                    "point rpc_url at the right chain or correct chain_id",
                ));
            }
        }
        let explicit = f.settlement.is_some()
            && f.registry.is_some()
            && f.start_block.is_some()
            && f.tokens.is_some();
        let deployment = if explicit && f.deployment.is_none() {
            None
        } else {
            let path = f
                .deployment
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("deployments/{rpc_chain_id}.json")));
            if !path.exists() {
                return Err(invalid(
                    "deployment",
                    format!("{} does not exist", path.display()),
                    "run the deploy script for this chain, pass --deployment <file>, or set settlement, registry, tokens and start_block in the config file",
                ));
            }
            let d = deployment::load(&path)?;
            if d.chain_id != rpc_chain_id {
                return Err(invalid(
                    "deployment",
                    format!(
                        "{} is for chain {} but the RPC endpoint serves chain {rpc_chain_id}",
                        path.display(),
                        d.chain_id
                    ),
                    "pass the deployment file of this chain",
                ));
            }
            Some(d)
        };
        let contracts = Contracts {
            settlement: f
                .settlement
                .or(deployment.as_ref().map(|d| d.settlement))
                .expect("explicit or deployment"),
            registry: f
                .registry
                .or(deployment.as_ref().map(|d| d.registry))
                .expect("explicit or deployment"),
            tokens: match &f.tokens {
                Some(tokens) => tokens
                    .iter()
                    .map(|a| DeployedToken {
                        address: *a,
                        symbol: String::new(),
                        decimals: 0,
                        stablecoin: false,
                    })
                    .collect(),
                None => deployment
                    .as_ref()
                    .map(|d| d.tokens.clone())
                    .unwrap_or_default(),
            },
        };
        let start_block = f
            .start_block
            .or(deployment.as_ref().map(|d| d.deploy_block))
            .expect("explicit or deployment");
        let http_addr = match &f.http_addr {
            None => None,
            Some(s) if s.is_empty() => None,
            Some(s) => Some(s.parse::<SocketAddr>().map_err(|e| {
                invalid(
                    "http_addr",
                    format!("`{s}` is not host:port ({e})"),
                    "use e.g. 127.0.0.1:9464",
                )
            })?),
        };
        let config = Config {
            rpc_url: self.rpc_url()?,
            database_url: self.database_url()?,
            chain_id: rpc_chain_id,
            contracts,
            start_block,
            finality_depth: f.finality_depth.unwrap_or(12),
            reorg_window: f.reorg_window.unwrap_or(64),
            range: f.range,
            fetch: f.fetch,
            poll_interval: Duration::from_millis(f.poll_interval_ms.unwrap_or(1000)),
            http_addr,
            exit_when_caught_up: false,
            progress: ProgressMode::Auto,
            native_transfers: NativeTransfers {
                enabled: f
                    .native_transfers
                    .enabled
                    .unwrap_or(LOCAL_CHAIN_IDS.contains(&rpc_chain_id)),
                addresses: f.native_transfers.addresses.clone(),
            },
            eip3009: Eip3009 {
                enabled: f.eip3009.enabled.unwrap_or(true),
                facilitators: match &f.eip3009.facilitators_file {
                    Some(path) => load_facilitators(path)?,
                    None => Vec::new(),
                },
            },
            permit2_proxy: Permit2Proxy {
                enabled: f.permit2_proxy.enabled.unwrap_or(true),
                proxies: f
                    .permit2_proxy
                    .proxies
                    .clone()
                    .unwrap_or_else(|| Permit2Proxy::x402_defaults().proxies),
            },
            lineage: Lineage::from_file(&f.lineage),
        };
        config.validate()?;
        Ok(config)
    }
}

impl Config {
    /// A configuration with default limits for one deployment (handy for tests and tools).
    pub fn for_deployment(rpc_url: Url, database_url: String, deployment: &Deployment) -> Self {
        Self {
            rpc_url,
            database_url,
            chain_id: deployment.chain_id,
            contracts: Contracts {
                settlement: deployment.settlement,
                registry: deployment.registry,
                tokens: deployment.tokens.clone(),
            },
            start_block: deployment.deploy_block,
            finality_depth: 12,
            reorg_window: 64,
            range: RangeLimits::default(),
            fetch: FetchLimits::default(),
            poll_interval: Duration::from_millis(1000),
            http_addr: None,
            exit_when_caught_up: false,
            progress: ProgressMode::Auto,
            native_transfers: NativeTransfers {
                enabled: LOCAL_CHAIN_IDS.contains(&deployment.chain_id),
                addresses: Vec::new(),
            },
            eip3009: Eip3009 {
                enabled: true,
                facilitators: Vec::new(),
            },
            permit2_proxy: Permit2Proxy::x402_defaults(),
            lineage: Lineage::default(),
        }
    }

    /// Checks the limits are coherent; the error names the field and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.contracts.settlement == Address::ZERO {
            return Err(invalid(
                "settlement",
                "is the zero address",
                "set the deployed X402Settlement address",
            ));
        }
        if self.contracts.registry == Address::ZERO {
            return Err(invalid(
                "registry",
                "is the zero address",
                "set the deployed EcosystemRegistry address",
            ));
        }
        if let Some(t) = self
            .contracts
            .tokens
            .iter()
            .find(|t| t.address == Address::ZERO)
        {
            return Err(invalid(
                "tokens",
                format!("contains the zero address ({})", t.symbol),
                "remove it",
            ));
        }
        if let Some(p) = self.permit2_proxy.proxies.iter().find(|p| {
            **p == Address::ZERO
                || **p == self.contracts.settlement
                || **p == self.contracts.registry
                || self.contracts.tokens.iter().any(|t| t.address == **p)
        }) {
            return Err(invalid(
                "permit2_proxy.proxies",
                format!("contains {p}, the zero address or a contract already watched"),
                "list only x402 Permit2 proxy addresses (default: x402's two proxies)",
            ));
        }
        if self.finality_depth == 0 {
            return Err(invalid(
                "finality_depth",
                "must be at least 1",
                "use the chain's reorg depth, e.g. 12",
            ));
        }
        if self.reorg_window < self.finality_depth {
            return Err(invalid(
                "reorg_window",
                format!(
                    "{} is below finality_depth {}",
                    self.reorg_window, self.finality_depth
                ),
                "set reorg_window >= finality_depth (default 64)",
            ));
        }
        let r = &self.range;
        if r.min_blocks == 0 {
            return Err(invalid(
                "range.min_blocks",
                "must be at least 1",
                "set it to 1",
            ));
        }
        if r.max_blocks < r.min_blocks {
            return Err(invalid(
                "range.max_blocks",
                format!(
                    "{} is below range.min_blocks {}",
                    r.max_blocks, r.min_blocks
                ),
                "set max_blocks >= min_blocks",
            ));
        }
        if r.initial_blocks < r.min_blocks || r.initial_blocks > r.max_blocks {
            return Err(invalid(
                "range.initial_blocks",
                format!(
                    "{} is outside [{}, {}]",
                    r.initial_blocks, r.min_blocks, r.max_blocks
                ),
                "set it between range.min_blocks and range.max_blocks",
            ));
        }
        if r.target_logs == 0 {
            return Err(invalid(
                "range.target_logs",
                "must be at least 1",
                "use e.g. 10000",
            ));
        }
        let f = &self.fetch;
        if f.concurrency == 0 || f.concurrency > 64 {
            return Err(invalid(
                "fetch.concurrency",
                format!("{} is outside 1..=64", f.concurrency),
                "use e.g. 4",
            ));
        }
        if f.channel_capacity == 0 {
            return Err(invalid(
                "fetch.channel_capacity",
                "must be at least 1",
                "use e.g. 4",
            ));
        }
        if f.header_batch_size == 0 || f.header_batch_size > 10_000 {
            return Err(invalid(
                "fetch.header_batch_size",
                format!("{} is outside 1..=10000", f.header_batch_size),
                "use e.g. 500",
            ));
        }
        if f.rpc_timeout_secs == 0 {
            return Err(invalid(
                "fetch.rpc_timeout_secs",
                "must be at least 1",
                "use e.g. 30",
            ));
        }
        if f.max_backoff_secs == 0 {
            return Err(invalid(
                "fetch.max_backoff_secs",
                "must be at least 1",
                "use e.g. 10",
            ));
        }
        if f.max_response_mib == 0 || f.max_response_mib > 4096 {
            return Err(invalid(
                "fetch.max_response_mib",
                format!("{} is outside 1..=4096", f.max_response_mib),
                "use e.g. 16",
            ));
        }
        if let Some(a) = self
            .native_transfers
            .addresses
            .iter()
            .find(|a| **a == Address::ZERO)
        {
            return Err(invalid(
                "native_transfers.addresses",
                format!("contains the zero address ({a})"),
                "remove it",
            ));
        }
        if self.lineage.depth > 16 {
            return Err(invalid(
                "lineage.depth",
                format!("{} is above 16", self.lineage.depth),
                "use a small depth (2 or 3): each level multiplies the tracked wallets",
            ));
        }
        if self.lineage.addresses_per_request == 0 || self.lineage.addresses_per_request > 10_000 {
            return Err(invalid(
                "lineage.addresses_per_request",
                format!(
                    "{} is outside 1..=10000",
                    self.lineage.addresses_per_request
                ),
                "use what your provider accepts in one topic list, e.g. 1000 (geth's cap)",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(invalid(
                "poll_interval_ms",
                "must be at least 1",
                "use e.g. 1000",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> Settings {
        Settings {
            file: Settings::parse_file(toml).unwrap(),
        }
    }

    const EXPLICIT: &str = r#"
        rpc_url = "http://127.0.0.1:8545"
        database_url = "postgres://postgres@127.0.0.1/x"
        settlement = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        registry = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
        tokens = ["0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"]
        start_block = 5
    "#;

    fn field_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn explicit_contracts_resolve_without_deployment_file() {
        let c = settings(EXPLICIT).resolve(31337).unwrap();
        assert_eq!(c.start_block, 5);
        assert_eq!(c.contracts.tokens.len(), 1);
        assert_eq!(c.finality_depth, 12);
        assert_eq!(c.reorg_window, 64);
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = Settings::parse_file("rpc_ulr = \"x\"").unwrap_err();
        assert!(err.contains("rpc_ulr"), "{err}");
    }

    #[test]
    fn chain_id_mismatch_names_the_field() {
        let s = settings(&format!("chain_id = 1\n{EXPLICIT}"));
        assert_eq!(field_of(s.resolve(31337).unwrap_err()), "chain_id");
    }

    #[test]
    fn window_below_finality_is_rejected() {
        let s = settings(&format!(
            "finality_depth = 20\nreorg_window = 10\n{EXPLICIT}"
        ));
        let err = s.resolve(31337).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("reorg_window") && text.contains("fix:"),
            "{text}"
        );
    }

    #[test]
    fn bad_range_limits_are_rejected() {
        let s = settings(&format!(
            "{EXPLICIT}\n[range]\nmin_blocks = 10\nmax_blocks = 5\ninitial_blocks = 5\n"
        ));
        assert_eq!(field_of(s.resolve(31337).unwrap_err()), "range.max_blocks");
        let s = settings(&format!("{EXPLICIT}\n[fetch]\nconcurrency = 0\n"));
        assert_eq!(field_of(s.resolve(31337).unwrap_err()), "fetch.concurrency");
    }

    #[test]
    fn bad_urls_are_rejected() {
        let s = settings(&EXPLICIT.replace("http://127.0.0.1:8545", "ws://x"));
        assert_eq!(field_of(s.resolve(31337).unwrap_err()), "rpc_url");
        let s = settings(&EXPLICIT.replace("postgres://postgres@127.0.0.1/x", "mysql://x"));
        assert_eq!(field_of(s.resolve(31337).unwrap_err()), "database_url");
    }

    #[test]
    fn missing_deployment_file_says_how_to_fix() {
        let s = settings("rpc_url = \"http://127.0.0.1:8545\"\ndatabase_url = \"postgres://x@y/z\"\ndeployment = \"/nonexistent/31337.json\"");
        let text = s.resolve(31337).unwrap_err().to_string();
        assert!(
            text.contains("deployment") && text.contains("deploy script"),
            "{text}"
        );
    }

    #[test]
    fn lineage_is_full_by_default_and_scoped_on_request() {
        let c = settings(EXPLICIT).resolve(8453).unwrap();
        assert_eq!(c.lineage.mode, LineageMode::Full);
        assert_eq!(c.lineage.depth, Lineage::DEFAULT_DEPTH);
        let c = settings(&format!(
            "{EXPLICIT}\n[lineage]\nmode = \"scoped\"\ndepth = 3\naddresses_per_request = 100\n"
        ))
        .resolve(8453)
        .unwrap();
        assert_eq!(
            c.lineage,
            Lineage {
                mode: LineageMode::Scoped,
                depth: 3,
                addresses_per_request: 100
            }
        );
        let e = Settings::parse_file(&format!("{EXPLICIT}\n[lineage]\nmode = \"partial\"\n"))
            .unwrap_err();
        assert!(e.contains("partial"), "{e}");
        let e = settings(&format!(
            "{EXPLICIT}\n[lineage]\naddresses_per_request = 0\n"
        ))
        .resolve(8453)
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineage.addresses_per_request"), "{e}");
        let e = settings(&format!("{EXPLICIT}\n[lineage]\ndepth = 40\n"))
            .resolve(8453)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lineage.depth"), "{e}");
    }

    #[test]
    fn native_transfers_default_on_local_chains_only() {
        assert!(
            settings(EXPLICIT)
                .resolve(31337)
                .unwrap()
                .native_transfers
                .enabled
        );
        assert!(
            !settings(EXPLICIT)
                .resolve(8453)
                .unwrap()
                .native_transfers
                .enabled
        );
        let s = settings(&format!("{EXPLICIT}\n[native_transfers]\nenabled = true\naddresses = [\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"]\n"));
        let c = s.resolve(8453).unwrap();
        assert!(c.native_transfers.enabled);
        assert_eq!(c.native_transfers.addresses.len(), 1);
        let s = settings(&format!(
            "{EXPLICIT}\n[native_transfers]\nenabled = false\n"
        ));
        assert!(!s.resolve(31337).unwrap().native_transfers.enabled);
    }

    #[test]
    fn facilitators_file_is_parsed_and_checked() {
        let list = parse_facilitators(
            "[[facilitator]]\naddress = \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\nname = \"ours\"\n\n[[facilitator]]\naddress = \"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\"\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "ours");
        assert!(parse_facilitators("").unwrap().is_empty());
        let dup = "[[facilitator]]\naddress = \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\n[[facilitator]]\naddress = \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\n";
        assert!(parse_facilitators(dup)
            .unwrap_err()
            .contains("listed twice"));
        let zero = "[[facilitator]]\naddress = \"0x0000000000000000000000000000000000000000\"\n";
        assert!(parse_facilitators(zero)
            .unwrap_err()
            .contains("zero address"));
        assert!(parse_facilitators("[[facilitator]]\naddres = \"0x00\"\n")
            .unwrap_err()
            .contains("addres"));
    }

    #[test]
    fn overrides_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("x402-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("indexer.toml");
        std::fs::write(&path, EXPLICIT).unwrap();
        let s = Settings::load(
            Some(&path),
            Overrides {
                rpc_url: Some("http://10.0.0.1:1".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(s.rpc_url().unwrap().as_str(), "http://10.0.0.1:1/");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
