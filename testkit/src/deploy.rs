//! Runs the project's real deploy script against an anvil and reads what it wrote.

use std::path::{Path, PathBuf};

use alloy::providers::Provider;

use crate::anvil::{Anvil, AnvilOptions};
use crate::error::{ChainContext, Context, Error, Result};
use crate::paths;

/// `deployments/<chainId>.json` and its tokens (owned by `x402_domain`).
pub use x402_domain::{DeployedToken as TokenInfo, Deployment};

/// Deploys with `script/deploy-local.sh` to the chain at `rpc_url`; the JSON lands in
/// `deployments/testkit-<unique>.json` (forge may only write under deployments/), is copied to
/// `out_file` and removed, so parallel tests never share a file.
pub async fn deploy(rpc_url: &str, out_file: &Path) -> Result<Deployment> {
    let root = paths::repo_root();
    let rel = format!("deployments/testkit-{}.json", crate::unique_suffix());
    let run_dir = out_file.parent().unwrap_or(Path::new(".")).to_path_buf();
    // One deploy at a time across test processes: when the contracts changed, the first forge
    // run compiles them and the others find its cache, instead of all compiling at once into the
    // same out/ directory.
    let lock_path = root.join("target/x402-testkit/deploy.lock");
    std::fs::create_dir_all(lock_path.parent().expect("has a parent"))
        .context("creating target/x402-testkit")?;
    let lock =
        std::fs::File::create(&lock_path).context(format!("creating {}", lock_path.display()))?;
    let lock = tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        // flock(2) rather than File::lock, which needs a newer Rust than the workspace's MSRV;
        // the lock is released when the file is closed.
        // SAFETY: flock on a descriptor this closure owns has no memory-safety preconditions.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            Ok(lock)
        } else {
            Err(std::io::Error::last_os_error())
        }
    })
    .await
    .map_err(|e| Error::Setup(format!("waiting for the deploy lock: {e}")))?
    .context(format!("locking {}", lock_path.display()))?;
    let output = tokio::process::Command::new("bash")
        .arg(root.join("script/deploy-local.sh"))
        .current_dir(&root)
        .env("RPC_URL", rpc_url)
        .env("DEPLOYMENTS_FILE", &rel)
        .env("RUN_DIR", &run_dir)
        .output()
        .await
        .context("running script/deploy-local.sh")?;
    drop(lock);
    let written = root.join(&rel);
    if !output.status.success() {
        let _ = std::fs::remove_file(&written);
        let log = std::fs::read_to_string(run_dir.join("deploy.log")).unwrap_or_default();
        return Err(Error::Setup(format!(
            "script/deploy-local.sh failed ({}):\n{}\n--- deploy.log ---\n{log}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let copied = std::fs::copy(&written, out_file)
        .context(format!("copying {rel} to {}", out_file.display()));
    let _ = std::fs::remove_file(&written);
    copied?;
    Ok(Deployment::read(out_file)?)
}

/// An anvil with the project deployed on it.
#[derive(Debug)]
pub struct DevChain {
    /// The node.
    pub anvil: Anvil,
    /// What the deploy script wrote.
    pub deployment: Deployment,
    /// The deployments file (pass it to the indexer's `--deployment`).
    pub deployment_file: PathBuf,
}

impl DevChain {
    /// Starts anvil with default options and deploys.
    pub async fn start() -> Result<Self> {
        Self::start_with(AnvilOptions::default()).await
    }

    /// Starts anvil with `opts` and deploys with the real deploy script.
    pub async fn start_with(opts: AnvilOptions) -> Result<Self> {
        let anvil = Anvil::spawn_with(opts)?;
        let dir =
            paths::scratch_dir("deploy").context("creating the deployment's scratch directory")?;
        let deployment_file = dir.join("deployment.json");
        let deployment = deploy(&anvil.url(), &deployment_file).await?;
        Ok(Self {
            anvil,
            deployment,
            deployment_file,
        })
    }

    /// Starts anvil from a state dumped earlier with its deployments file (see [`Self::dump`]).
    pub async fn load(
        state: &Path,
        deployment_file: &Path,
        mut opts: AnvilOptions,
    ) -> Result<Self> {
        opts.load_state = Some(state.to_path_buf());
        let anvil = Anvil::spawn_with(opts)?;
        let deployment = Deployment::read(deployment_file)?;
        let code = anvil
            .provider()
            .get_code_at(deployment.settlement)
            .await
            .chain_context("reading the settlement contract's code")?;
        if code.is_empty() {
            return Err(Error::Setup(format!(
                "state {} has no settlement contract at {}: delete it to reseed",
                state.display(),
                deployment.settlement
            )));
        }
        Ok(Self {
            anvil,
            deployment,
            deployment_file: deployment_file.to_path_buf(),
        })
    }
}
