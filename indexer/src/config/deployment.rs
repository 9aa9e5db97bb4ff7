//! `deployments/<chainId>.json` (owned by `x402_domain::Deployment`): where the contracts live
//! and from which block to index.

use std::path::Path;

pub use x402_domain::{DeployedToken, Deployment};

use super::ConfigError;

/// Reads a deployment file; errors name the file and what is wrong with it.
pub fn load(path: &Path) -> Result<Deployment, ConfigError> {
    Deployment::read(path).map_err(|e| ConfigError::Invalid {
        field: "deployment".into(),
        problem: e.to_string(),
        fix: "regenerate it with the deploy script (forge script script/Deploy.s.sol --broadcast)"
            .into(),
    })
}
