//! Drives the real `x402-indexer` binary: `migrate`, `index`, `status`, kill -9 and SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::paths;

/// How to invoke the indexer for one scenario.
#[derive(Debug, Clone)]
pub struct IndexerCmd {
    /// The binary (`env!("CARGO_BIN_EXE_x402-indexer")` in the indexer's tests).
    pub bin: PathBuf,
    /// `--rpc-url` (anvil, or the faulty proxy in front of it).
    pub rpc_url: String,
    /// `--database-url`.
    pub database_url: String,
    /// `--deployment` (the deployments JSON).
    pub deployment: PathBuf,
    /// Arguments given to every subcommand (e.g. `--config file`).
    pub global_args: Vec<String>,
    /// Extra arguments for `index` only.
    pub extra_args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Where process logs go.
    pub log_dir: PathBuf,
}

impl IndexerCmd {
    /// A command for this binary, chain, database and deployment.
    pub fn new(
        bin: impl Into<PathBuf>,
        rpc_url: &str,
        database_url: &str,
        deployment: &Path,
    ) -> Result<Self> {
        Ok(Self {
            bin: bin.into(),
            rpc_url: rpc_url.to_string(),
            database_url: database_url.to_string(),
            deployment: deployment.to_path_buf(),
            global_args: Vec::new(),
            extra_args: Vec::new(),
            // No backtraces: a failure's last lines should be its message.
            env: vec![
                ("RUST_LOG".into(), "info".into()),
                ("NO_COLOR".into(), "1".into()),
                ("RUST_BACKTRACE".into(), "0".into()),
                ("RUST_LIB_BACKTRACE".into(), "0".into()),
            ],
            log_dir: paths::scratch_dir("indexer")
                .context("creating the indexer's log directory")?,
        })
    }

    /// Adds arguments to every `index` invocation.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra_args.push(a.into());
        self
    }

    fn command(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(subcommand)
            .args([
                "--rpc-url",
                &self.rpc_url,
                "--database-url",
                &self.database_url,
            ])
            .arg("--deployment")
            .arg(&self.deployment)
            .args(&self.global_args)
            .args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `migrate` to completion.
    pub async fn migrate(&self) -> Result<()> {
        let out = tokio::process::Command::from(self.command("migrate", &[]))
            .output()
            .await
            .context(format!("running {} migrate", self.bin.display()))?;
        if !out.status.success() {
            return Err(Error::Setup(format!(
                "x402-indexer migrate failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// Runs `status` and returns its output.
    pub async fn status(&self) -> Result<String> {
        let out = tokio::process::Command::from(self.command("status", &[]))
            .output()
            .await
            .context(format!("running {} status", self.bin.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(Error::Setup(format!(
                "x402-indexer status failed ({}):\n{text}",
                out.status
            )));
        }
        Ok(text)
    }

    /// Starts `index` (backfill then follow) in the background; `args` go after the configured ones.
    pub fn spawn_index(&self, args: &[&str]) -> Result<IndexerProcess> {
        let log = self
            .log_dir
            .join(format!("index-{}.log", crate::unique_suffix()));
        let out = std::fs::File::create(&log).context(format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log handle")?;
        let extra: Vec<&str> = self
            .extra_args
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        let child = self
            .command("index", &extra)
            .stdout(out)
            .stderr(err)
            .spawn()
            .context(format!("starting {} index", self.bin.display()))?;
        Ok(IndexerProcess {
            child: Some(child),
            log,
        })
    }

    /// Runs `index --exit-when-caught-up` and waits for it to exit successfully.
    pub async fn index_until_caught_up(&self, timeout: Duration) -> Result<()> {
        let mut p = self.spawn_index(&["--exit-when-caught-up"])?;
        let status = p.wait(timeout).await?;
        if !status.success() {
            return Err(Error::Setup(format!(
                "x402-indexer index exited with {status}:\n{}",
                p.log_tail(60)
            )));
        }
        Ok(())
    }
}

/// A running `x402-indexer index`; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct IndexerProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl IndexerProcess {
    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its combined stdout/stderr log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its whole log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of its log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether it has exited (and how).
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends a signal to the process.
    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, sig) };
        }
    }

    /// `kill -9`: no chance to clean up, as in a crash or OOM kill.
    pub fn kill9(&mut self) -> Result<std::process::ExitStatus> {
        self.signal(libc::SIGKILL);
        let mut child = self
            .child
            .take()
            .ok_or_else(|| Error::Setup("indexer already stopped".into()))?;
        child.wait().context("reaping the killed indexer")
    }

    /// SIGTERM, then waits up to `timeout` for a clean exit.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        self.signal(libc::SIGTERM);
        self.wait(timeout).await
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub async fn wait(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_status() {
                self.child = None;
                return Ok(status);
            }
            if start.elapsed() > timeout {
                let tail = self.log_tail(40);
                let tail = if tail.is_empty() {
                    "(the indexer wrote nothing)".to_string()
                } else {
                    tail
                };
                return Err(Error::Timeout {
                    what: format!(
                        "the indexer (pid {:?}) to exit; log tail:\n{tail}",
                        self.pid()
                    ),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for IndexerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
