//! One end-to-end scenario: anvil with the project deployed, a fresh database migrated by the
//! indexer, a funded traffic generator and the indexer command, optionally behind the faulty proxy.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::PgPool;

use crate::anvil::AnvilOptions;
use crate::db::TestDb;
use crate::deploy::DevChain;
use crate::error::{Context, Result};
use crate::indexer::IndexerCmd;
use crate::paths;
use crate::proxy::FaultyProxy;
use crate::traffic::Traffic;
use crate::truth::{self, TruthReport};

/// The indexer's TOML settings a scenario may change (the rest come from the deployment file).
#[derive(Debug, Clone)]
pub struct IndexerSettings {
    /// `finality_depth`.
    pub finality_depth: u64,
    /// `reorg_window`.
    pub reorg_window: u64,
    /// `poll_interval_ms`.
    pub poll_interval_ms: u64,
    /// `range.initial_blocks`.
    pub initial_blocks: u64,
    /// `range.max_blocks`.
    pub max_blocks: u64,
    /// `fetch.concurrency`.
    pub concurrency: usize,
    /// `fetch.rpc_timeout_secs`.
    pub rpc_timeout_secs: u64,
    /// `fetch.max_backoff_secs`.
    pub max_backoff_secs: u64,
    /// `native_transfers.enabled` (`None`: the indexer's default, on for anvil).
    pub native_transfers: Option<bool>,
    /// `tokens`, overriding the deployment file's list (`None`: the deployment's).
    pub tokens: Option<Vec<alloy::primitives::Address>>,
    /// `eip3009.facilitators_file` (a file the scenario writes; `None`: no list).
    pub facilitators: Option<Vec<alloy::primitives::Address>>,
    /// `[lineage] mode = "scoped"` with this `depth` (`None`: full, the default).
    pub scoped_lineage: Option<u32>,
}

impl Default for IndexerSettings {
    fn default() -> Self {
        Self {
            finality_depth: 12,
            reorg_window: 64,
            poll_interval_ms: 100,
            initial_blocks: 2_000,
            max_blocks: 100_000,
            concurrency: 4,
            rpc_timeout_secs: 5,
            max_backoff_secs: 1,
            native_transfers: None,
            tokens: None,
            facilitators: None,
            scoped_lineage: None,
        }
    }
}

impl IndexerSettings {
    /// The TOML file contents; `dir` holds the files it refers to (the facilitator list).
    pub fn to_toml(&self, dir: &std::path::Path) -> Result<String> {
        let mut top = format!(
            "finality_depth = {}\nreorg_window = {}\npoll_interval_ms = {}\n",
            self.finality_depth, self.reorg_window, self.poll_interval_ms
        );
        if let Some(tokens) = &self.tokens {
            let list: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
            top += &format!("tokens = [{}]\n", list.join(", "));
        }
        let mut text = format!(
            "{top}\n[range]\ninitial_blocks = {}\nmax_blocks = {}\n\n\
             [fetch]\nconcurrency = {}\nrpc_timeout_secs = {}\nmax_backoff_secs = {}\n",
            self.initial_blocks,
            self.max_blocks,
            self.concurrency,
            self.rpc_timeout_secs,
            self.max_backoff_secs
        );
        if let Some(on) = self.native_transfers {
            text += &format!("\n[native_transfers]\nenabled = {on}\n");
        }
        if let Some(depth) = self.scoped_lineage {
            text += &format!("\n[lineage]\nmode = \"scoped\"\ndepth = {depth}\n");
        }
        if let Some(list) = &self.facilitators {
            let file = dir.join("facilitators.toml");
            let entries: Vec<String> = list
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    format!("[[facilitator]]\naddress = \"{a}\"\nname = \"test facilitator {i}\"\n")
                })
                .collect();
            std::fs::write(&file, entries.join("\n")).context("writing the facilitator list")?;
            text += &format!("\n[eip3009]\nfacilitators_file = \"{}\"\n", file.display());
        }
        Ok(text)
    }
}

/// How to set a scenario up.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// anvil's options.
    pub anvil: AnvilOptions,
    /// The indexer's settings.
    pub indexer: IndexerSettings,
    /// Put the faulty proxy between the indexer and anvil.
    pub proxy: bool,
    /// Payer wallets to fund.
    pub payers: usize,
    /// Payee wallets.
    pub payees: usize,
    /// PostgreSQL server for the test database (default: [`crate::db::server_url`]).
    pub pg_server: Option<String>,
}

impl Default for ScenarioOptions {
    fn default() -> Self {
        Self {
            anvil: AnvilOptions::default(),
            indexer: IndexerSettings::default(),
            proxy: false,
            payers: 4,
            payees: 3,
            pg_server: None,
        }
    }
}

/// Everything one end-to-end test needs.
#[derive(Debug)]
pub struct Scenario {
    /// Traffic generator (sends straight to anvil).
    pub traffic: Traffic,
    /// The faulty proxy, when asked for.
    pub proxy: Option<FaultyProxy>,
    /// The indexer command (its RPC URL is the proxy's when there is one).
    pub indexer: IndexerCmd,
    /// Pool on the test database.
    pub pool: PgPool,
    /// The test database.
    pub db: TestDb,
    /// anvil with the deployment.
    pub chain: DevChain,
    /// The indexer's config file.
    pub config_file: PathBuf,
    /// Whether the indexer records native transfers (then the checks compare them with the
    /// chain; otherwise `native_transfers` must stay empty).
    pub native_transfers: bool,
}

impl Scenario {
    /// Starts anvil, deploys, creates and migrates the database, funds the traffic generator.
    /// `indexer_bin` is `env!("CARGO_BIN_EXE_x402-indexer")`; `seed` names the wallets.
    pub async fn start(indexer_bin: &str, seed: &str, opts: ScenarioOptions) -> Result<Self> {
        let chain = DevChain::start_with(opts.anvil.clone()).await?;
        let db = match &opts.pg_server {
            Some(server) => TestDb::create_on(server).await?,
            None => TestDb::create().await?,
        };
        let proxy = if opts.proxy {
            Some(FaultyProxy::start(&chain.anvil.url()).await?)
        } else {
            None
        };
        let rpc_url = proxy
            .as_ref()
            .map_or_else(|| chain.anvil.url(), FaultyProxy::url);
        let dir = paths::scratch_dir("scenario").context("creating the scenario directory")?;
        let config_file = dir.join("indexer.toml");
        std::fs::write(&config_file, opts.indexer.to_toml(&dir)?)
            .context("writing the indexer config")?;
        let mut indexer =
            IndexerCmd::new(indexer_bin, &rpc_url, &db.url(), &chain.deployment_file)?;
        indexer.global_args = vec![
            "--config".into(),
            config_file.display().to_string(),
            "--http-addr=".into(),
        ];
        indexer.migrate().await?;
        let pool = db.pool().await?;
        let mut traffic = Traffic::new(&chain.anvil.url(), chain.deployment.clone(), seed).await?;
        traffic.fund(opts.payers, opts.payees, 1_000_000).await?;
        Ok(Self {
            traffic,
            proxy,
            indexer,
            pool,
            db,
            chain,
            config_file,
            native_transfers: opts.indexer.native_transfers != Some(false),
        })
    }

    /// Rewrites the indexer's configuration file (e.g. to add a token deployed after the start);
    /// indexer processes started afterwards read it.
    pub fn reconfigure(&self, settings: &IndexerSettings) -> Result<()> {
        let dir = self
            .config_file
            .parent()
            .unwrap_or(std::path::Path::new("."));
        std::fs::write(&self.config_file, settings.to_toml(dir)?)
            .context("rewriting the indexer config")
    }

    /// Waits until the checkpoint is the head, then checks the database against the chain.
    pub async fn assert_synced(&self, timeout: Duration) -> Result<TruthReport> {
        let provider = self.chain.anvil.provider();
        truth::wait_until_indexed(
            &self.pool,
            &provider,
            self.chain.deployment.chain_id,
            timeout,
        )
        .await?;
        let report =
            truth::assert_db_matches_chain(&self.pool, &provider, &self.chain.deployment).await?;
        self.check_native_transfers().await?;
        Ok(report)
    }

    /// Checks the database against the chain up to the current checkpoint, without waiting.
    pub async fn assert_consistent(&self) -> Result<TruthReport> {
        let provider = self.chain.anvil.provider();
        let report =
            truth::assert_db_matches_chain(&self.pool, &provider, &self.chain.deployment).await?;
        self.check_native_transfers().await?;
        Ok(report)
    }

    async fn check_native_transfers(&self) -> Result<()> {
        let provider = self.chain.anvil.provider();
        if self.native_transfers {
            truth::assert_native_transfers_match(&self.pool, &provider, &self.chain.deployment)
                .await?;
        } else {
            let stored =
                truth::native_transfers_from_db(&self.pool, self.chain.deployment.chain_id).await?;
            if !stored.is_empty() {
                return Err(crate::Error::Mismatch(format!(
                    "native transfers are off but {} were stored",
                    stored.len()
                )));
            }
        }
        Ok(())
    }
}
