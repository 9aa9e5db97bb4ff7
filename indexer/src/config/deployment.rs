//! `deployments/<chainId>.json`, written by `script/Deploy.s.sol`: where the contracts live and
//! from which block to index.

use std::path::Path;

use alloy::primitives::Address;
use serde::Deserialize;

use super::ConfigError;

/// A payment token as the deploy script records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeployedToken {
    /// The ERC-20 contract.
    pub address: Address,
    /// Its symbol, for logs and progress lines.
    #[serde(default)]
    pub symbol: String,
    /// Its decimals (informational; amounts are stored in base units).
    #[serde(default)]
    pub decimals: u8,
}

/// The parts of a deployment file the indexer needs; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Chain the contracts were deployed on.
    pub chain_id: u64,
    /// The X402Settlement contract.
    pub settlement: Address,
    /// The EcosystemRegistry contract.
    pub registry: Address,
    /// Payment tokens whose every Transfer is indexed.
    #[serde(default)]
    pub tokens: Vec<DeployedToken>,
    /// First block holding any of the deployed contracts: indexing starts here.
    pub deploy_block: u64,
}

impl Deployment {
    /// Reads and parses a deployment file; errors name the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| ConfigError::Invalid {
            field: "deployment".into(),
            problem: format!("{} is not a valid deployment file: {e}", path.display()),
            fix: "regenerate it with the deploy script (forge script script/Deploy.s.sol --broadcast)".into(),
        })
    }

    /// Parses the JSON text of a deployment file.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_deploy_script_format() {
        let d = Deployment::parse(
            r#"{"chainId":31337,"permit2":"0x000000000022D473030F116dDEE9F6B43aC78BA3",
                "settlement":"0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "registry":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                "tokens":[{"address":"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0","symbol":"USDC","decimals":6}],
                "deployBlock":3,"abi":{"settlement":"bindings/abi/X402Settlement.json"}}"#,
        )
        .unwrap();
        assert_eq!(d.chain_id, 31337);
        assert_eq!(d.deploy_block, 3);
        assert_eq!(d.tokens.len(), 1);
        assert_eq!(d.tokens[0].symbol, "USDC");
        assert_eq!(d.tokens[0].decimals, 6);
    }

    #[test]
    fn missing_field_is_an_error() {
        let err = Deployment::parse(
            r#"{"chainId":1,"settlement":"0x5FbDB2315678afecb367f032d93F642f64180aa3"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("registry"), "{err}");
    }
}
