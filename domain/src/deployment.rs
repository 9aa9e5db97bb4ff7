//! `deployments/<chainId>.json`, written by `script/Deploy.s.sol` (and by hand for a public
//! chain): where the contracts live, which tokens pay, and from which block to read. Every
//! crate reads it through [`Deployment::read`]; each takes the fields it needs.

use std::path::Path;

use alloy_primitives::Address;
use serde::Deserialize;

/// A payment token of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeployedToken {
    /// The ERC-20 contract.
    pub address: Address,
    /// Its symbol (`USDC`, `OPG` on the devnet), for display and lookups.
    #[serde(default)]
    pub symbol: String,
    /// Its decimals (amounts are stored in base units; this is for display and pricing).
    #[serde(default)]
    pub decimals: u8,
    /// A USD stablecoin (priced at par unless a configured price overrides it).
    #[serde(default)]
    pub stablecoin: bool,
}

/// A deployment file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Chain the contracts were deployed on.
    pub chain_id: u64,
    /// Who sent the deployment transactions (on the devnet: owner of the demo tokens). Absent in
    /// a hand-written file for a chain we did not deploy on.
    #[serde(default)]
    pub deployer: Option<Address>,
    /// Owner of the settlement contract and the registry (absent as `deployer`).
    #[serde(default)]
    pub owner: Option<Address>,
    /// First block holding any of the deployed contracts: reading starts here.
    #[serde(default)]
    pub deploy_block: u64,
    /// Permit2.
    pub permit2: Address,
    /// X402Settlement.
    pub settlement: Address,
    /// EcosystemRegistry.
    pub registry: Address,
    /// Payment tokens.
    #[serde(default)]
    pub tokens: Vec<DeployedToken>,
}

/// Why a deployment file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file could not be read.
    #[error("cannot read the deployment file {path}: {source} (run script/deploy-local.sh, or write one for your chain)")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a deployment file; the message names the field.
    #[error("{path} is not a valid deployment file: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with the field and position.
        source: serde_json::Error,
    },
    /// A field some program needs is absent or does not hold what it needs.
    #[error("deployment of chain {chain_id}: {problem}")]
    Missing {
        /// The deployment's chain.
        chain_id: u64,
        /// What is missing.
        problem: String,
    },
}

impl Deployment {
    /// Reads and parses a deployment file.
    pub fn read(path: &Path) -> Result<Self, DeploymentError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|source| DeploymentError::Parse {
            path: shown,
            source,
        })
    }

    /// Parses the JSON text of a deployment file.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The token with `symbol`.
    pub fn token(&self, symbol: &str) -> Result<&DeployedToken, DeploymentError> {
        self.tokens
            .iter()
            .find(|t| t.symbol == symbol)
            .ok_or_else(|| self.missing(format!("has no {symbol} token")))
    }

    /// The owner, which programs that act as the owner (the simulator, tests) need.
    pub fn owner(&self) -> Result<Address, DeploymentError> {
        self.owner
            .ok_or_else(|| self.missing("has no `owner` (the deploy script writes it)".into()))
    }

    /// The deployer, which programs that mint the devnet's tokens need.
    pub fn deployer(&self) -> Result<Address, DeploymentError> {
        self.deployer
            .ok_or_else(|| self.missing("has no `deployer` (the deploy script writes it)".into()))
    }

    fn missing(&self, problem: String) -> DeploymentError {
        DeploymentError::Missing {
            chain_id: self.chain_id,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITTEN: &str = r#"{"tokens":[{"address":"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0","symbol":"USDC","stablecoin":true,"decimals":6}],
        "chainId":31337,"deployer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","owner":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "deployBlock":3,"permit2":"0x000000000022D473030F116dDEE9F6B43aC78BA3",
        "settlement":"0x5FbDB2315678afecb367f032d93F642f64180aa3","registry":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "abi":{"settlement":"bindings/abi/X402Settlement.json"}}"#;

    #[test]
    fn parses_what_the_deploy_script_writes() {
        let d = Deployment::parse(WRITTEN).unwrap();
        assert_eq!(d.chain_id, 31337);
        assert_eq!(d.deploy_block, 3);
        let usdc = d.token("USDC").unwrap();
        assert_eq!((usdc.decimals, usdc.stablecoin), (6, true));
        assert!(d.owner().is_ok() && d.deployer().is_ok());
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let err = Deployment::parse(r#"{"chainId":8453,"permit2":"0x000000000022D473030F116dDEE9F6B43aC78BA3","registry":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("settlement"), "{err}");
    }

    #[test]
    fn a_hand_written_file_without_owner_says_so_when_the_owner_is_needed() {
        let d = Deployment::parse(r#"{"chainId":8453,"permit2":"0x000000000022D473030F116dDEE9F6B43aC78BA3",
            "settlement":"0x5FbDB2315678afecb367f032d93F642f64180aa3","registry":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"}"#)
            .unwrap();
        let err = d.owner().unwrap_err().to_string();
        assert!(err.contains("chain 8453") && err.contains("owner"), "{err}");
        assert!(d
            .token("USDC")
            .unwrap_err()
            .to_string()
            .contains("no USDC token"));
    }
}
