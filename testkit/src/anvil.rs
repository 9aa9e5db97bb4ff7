//! A private anvil per test: free port, killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};

use crate::error::{ChainContext, Context, Error, Result};
use crate::paths;

/// How to start anvil.
#[derive(Debug, Clone, Default)]
pub struct AnvilOptions {
    /// Interval mining every this many seconds (`--block-time`); automine when `None`.
    pub block_time: Option<Duration>,
    /// Block gas limit (`--gas-limit`); anvil's default (30M) when `None`.
    pub gas_limit: Option<u64>,
    /// Start from a state dumped earlier (`--load-state`).
    pub load_state: Option<PathBuf>,
    /// Write the state here on exit (`--dump-state`); see [`Anvil::stop`].
    pub dump_state: Option<PathBuf>,
    /// Anything else, passed as is.
    pub extra_args: Vec<String>,
    /// How long to wait for anvil to listen (30 s when `None`; loading a big state takes longer).
    pub start_timeout: Option<Duration>,
}

/// A running anvil. Dropping it kills the process and deletes its log (kept when the test panics
/// or `X402_KEEP_LOGS=1`).
#[derive(Debug)]
pub struct Anvil {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Anvil {
    /// Starts anvil with default options (automine, chain id 31337).
    pub fn spawn() -> Result<Self> {
        Self::spawn_with(AnvilOptions::default())
    }

    /// Starts anvil on a free port and waits until it answers RPC.
    pub fn spawn_with(opts: AnvilOptions) -> Result<Self> {
        let dir = paths::scratch_dir("anvil").context("creating anvil's scratch directory")?;
        let log = dir.join("anvil.log");
        let out = std::fs::File::create(&log).context(format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating anvil's log handle")?;
        let bin = paths::foundry_tool("anvil");
        let mut cmd = Command::new(&bin);
        // Port 0: anvil binds a free port itself and prints it, so parallel tests never collide.
        cmd.args(["--port", "0", "--host", "127.0.0.1"]);
        if let Some(bt) = opts.block_time {
            cmd.args(["--block-time", &format!("{}", bt.as_secs_f64())]);
        }
        if let Some(gl) = opts.gas_limit {
            cmd.args(["--gas-limit", &gl.to_string()]);
        }
        if let Some(p) = &opts.load_state {
            cmd.arg("--load-state").arg(p);
        }
        if let Some(p) = &opts.dump_state {
            cmd.arg("--dump-state").arg(p);
        }
        cmd.args(&opts.extra_args);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().context(format!(
            "starting {} (run `bash script/setup.sh` to install Foundry from npm)",
            bin.display()
        ))?;
        let mut anvil = Self {
            child: Some(child),
            port: 0,
            log,
        };
        anvil.port = anvil.wait_for_port(opts.start_timeout.unwrap_or(Duration::from_secs(30)))?;
        Ok(anvil)
    }

    fn wait_for_port(&mut self, timeout: Duration) -> Result<u16> {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(rest) = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Listening on "))
            {
                let port = rest.rsplit(':').next().and_then(|p| p.trim().parse().ok());
                return port.ok_or_else(|| {
                    Error::Setup(format!("cannot parse anvil's address from {rest:?}"))
                });
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(Error::Setup(format!(
                    "anvil exited with {status} before listening:\n{text}"
                )));
            }
            if start.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: "anvil to listen".into(),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The HTTP RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// anvil's log file (every RPC call and transaction).
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// A read-only provider (no wallet).
    pub fn provider(&self) -> DynProvider {
        ProviderBuilder::new()
            .connect_http(self.url().parse().expect("a valid URL"))
            .erased()
    }

    /// Stops anvil with SIGTERM and waits, so `--dump-state` gets written.
    pub fn stop(mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            child.wait().context("waiting for anvil to exit")?;
        }
        Ok(())
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The log only matters when something went wrong; keep it then, or on request.
        if !std::thread::panicking() && std::env::var("X402_KEEP_LOGS").map_or(true, |v| v != "1") {
            if let Some(dir) = self.log.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// anvil's test-only RPC methods (mining, reorgs, time, state).
#[derive(Debug, Clone)]
pub struct AnvilRpc {
    provider: DynProvider,
}

impl AnvilRpc {
    /// Wraps a provider connected to anvil.
    pub fn new(provider: DynProvider) -> Self {
        Self { provider }
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(blocks),))
            .await
            .chain_context(format!("anvil_mine {blocks}"))?;
        Ok(())
    }

    /// Replaces the last `depth` blocks with as many new, empty blocks (other hashes, no logs).
    pub async fn reorg(&self, depth: u64) -> Result<()> {
        let no_txs: Vec<serde_json::Value> = Vec::new();
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_reorg".into(), (depth, no_txs))
            .await
            .chain_context(format!("anvil_reorg depth {depth}"))?;
        Ok(())
    }

    /// Removes the last `depth` blocks (the chain gets shorter).
    pub async fn rollback(&self, depth: u64) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_rollback".into(), (depth,))
            .await
            .chain_context(format!("anvil_rollback depth {depth}"))?;
        Ok(())
    }

    /// Moves the clock forward by `seconds` (applies to the next block).
    pub async fn increase_time(&self, seconds: u64) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (U256::from(seconds),))
            .await
            .chain_context("evm_increaseTime")?;
        Ok(())
    }

    /// Turns automine on or off.
    pub async fn set_automine(&self, on: bool) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (on,))
            .await
            .chain_context("evm_setAutomine")?;
        Ok(())
    }

    /// Sets an account's ether balance.
    pub async fn set_balance(&self, who: alloy::primitives::Address, wei: U256) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (who, wei))
            .await
            .chain_context("anvil_setBalance")?;
        Ok(())
    }

    /// The latest block's number and hash.
    pub async fn head(&self) -> Result<(u64, B256)> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .chain_context("eth_getBlockByNumber latest")?
            .ok_or_else(|| Error::Setup("anvil has no latest block".into()))?;
        Ok((block.header.number, block.header.hash))
    }
}
