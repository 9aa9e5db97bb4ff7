//! Where the repository's tools and scripts are.

use std::path::{Path, PathBuf};

/// The repository root (the workspace that holds this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits one level below the root")
        .to_path_buf()
}

/// A Foundry tool from `node_modules/.bin` (anvil, forge, cast), or `$X402_<TOOL>` when set.
pub fn foundry_tool(name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(format!("X402_{}", name.to_uppercase())) {
        return PathBuf::from(p);
    }
    repo_root().join("node_modules/.bin").join(name)
}

/// A private scratch directory for one test or run, under `target/x402-testkit/`.
pub fn scratch_dir(label: &str) -> std::io::Result<PathBuf> {
    let dir = repo_root()
        .join("target/x402-testkit")
        .join(format!("{label}-{}", crate::unique_suffix()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
