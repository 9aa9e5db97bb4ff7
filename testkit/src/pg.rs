//! A private PostgreSQL cluster for tests that restart the server: restarting the machine's shared
//! server would break every other test running at the same time, so the restart test gets its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result};

/// A throwaway cluster (initdb, own port and socket directory), stopped and deleted on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn pg_bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("X402_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("looking for PostgreSQL binaries in /usr/lib/postgresql (install postgresql or set X402_PG_BIN)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| {
        Error::Setup(
            "no initdb under /usr/lib/postgresql/*/bin: install postgresql or set X402_PG_BIN"
                .into(),
        )
    })
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("reading the free port")?.port())
}

impl PrivatePostgres {
    /// Creates and starts a cluster with trust authentication for user `postgres`.
    pub fn start() -> Result<Self> {
        let bin = pg_bin_dir()?;
        let dir = std::env::temp_dir().join(format!("x402-pg-{}", crate::unique_suffix()));
        std::fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
        let pg = Self {
            dir,
            bin,
            port: free_port()?,
        };
        if is_root() {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pg.dir)
                .status()
                .context("chown of the cluster directory")?;
            if !status.success() {
                return Err(Error::Setup(format!(
                    "chown postgres {} failed",
                    pg.dir.display()
                )));
            }
        }
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
            ],
        )?;
        pg.ctl("start")?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let path = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .context(format!("running {tool}"))?;
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            return Err(Error::Setup(format!(
                "{tool} {args:?} failed ({}): {}{}\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    fn ctl(&self, action: &str) -> Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        match action {
            "start" => self.run(
                "pg_ctl",
                &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
            ),
            "stop" => self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]),
            "kill" => self.run(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            ),
            other => Err(Error::Setup(format!("unknown pg_ctl action {other}"))),
        }
    }

    /// The server URL (append `/dbname`).
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Stops the server (fast shutdown: open connections are terminated).
    pub fn stop(&self) -> Result<()> {
        self.ctl("stop")
    }

    /// Starts it again on the same port.
    pub fn start_again(&self) -> Result<()> {
        self.ctl("start")
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.ctl("kill");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
