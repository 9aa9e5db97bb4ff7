//! What the service needs to know: the chain, the contracts, its key, its database and how it
//! settles. Addresses come from `deployments/<chainId>.json` (written by `script/deploy-local.sh`)
//! or explicit flags, so the same binary runs against anvil or a public chain.

use std::path::Path;
use std::time::Duration;

use alloy::primitives::Address;

/// The contracts and tokens the facilitator settles through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contracts {
    /// The X402Settlement contract.
    pub settlement: Address,
    /// Permit2.
    pub permit2: Address,
    /// Tokens accepted as `asset` (empty: any token).
    pub tokens: Vec<Token>,
    /// Block the settlement contract was deployed at (lower bound for log searches).
    pub deploy_block: u64,
}

/// One accepted token (as the deployment file lists it).
pub use x402_domain::DeployedToken as Token;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The deployment file is unreadable or not the shape the deploy script writes.
    #[error(transparent)]
    Deployment(#[from] x402_domain::DeploymentError),
}

impl Contracts {
    /// Reads `deployments/<chainId>.json`; returns the contracts and the chain id the file is for.
    pub fn from_deployment_file(path: &Path) -> Result<(Self, u64), ConfigError> {
        let d = x402_domain::Deployment::read(path)?;
        Ok((
            Self {
                settlement: d.settlement,
                permit2: d.permit2,
                tokens: d.tokens,
                deploy_block: d.deploy_block,
            },
            d.chain_id,
        ))
    }

    /// Whether `asset` is accepted.
    pub fn accepts_token(&self, asset: Address) -> bool {
        self.tokens.is_empty() || self.tokens.iter().any(|t| t.address == asset)
    }
}

/// How settlements are submitted.
#[derive(Debug, Clone)]
pub struct SettleConfig {
    /// Facilitator fee charged, in basis points (capped by each payment's signed maximum).
    pub fee_bps: u16,
    /// Collect settlements into `chargeBatch` transactions.
    pub batching: bool,
    /// Most items per batch.
    pub batch_max_items: usize,
    /// Longest a settlement waits for its batch to fill.
    pub batch_max_wait: Duration,
    /// How often a pending transaction's receipt is polled.
    pub receipt_poll: Duration,
    /// How long a transaction may stay unmined before it is re-sent with higher fees.
    pub bump_after: Duration,
    /// Most fee bumps before giving up on a transaction.
    pub max_bumps: u32,
    /// A payment whose deadline is closer than this is refused (it could expire in flight).
    pub min_validity: Duration,
    /// How long a duplicate settle request waits for the first one to finish.
    pub duplicate_wait: Duration,
}

impl Default for SettleConfig {
    fn default() -> Self {
        Self {
            fee_bps: 0,
            batching: false,
            batch_max_items: 100,
            batch_max_wait: Duration::from_millis(250),
            receipt_poll: Duration::from_millis(100),
            bump_after: Duration::from_secs(20),
            max_bumps: 5,
            min_validity: Duration::from_secs(6),
            duplicate_wait: Duration::from_secs(120),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_deploy_script_output() {
        let dir =
            std::env::temp_dir().join(format!("x402-facilitator-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("31337.json");
        std::fs::write(
            &path,
            r#"{"chainId":31337,"deployBlock":3,"owner":"0x0000000000000000000000000000000000000001",
               "permit2":"0x0000000000000000000000000000000000000002","settlement":"0x0000000000000000000000000000000000000003",
               "registry":"0x0000000000000000000000000000000000000004",
               "tokens":[{"symbol":"USDC","address":"0x0000000000000000000000000000000000000005","decimals":6}]}"#,
        )
        .unwrap();
        let (c, chain) = Contracts::from_deployment_file(&path).unwrap();
        assert_eq!(chain, 31337);
        assert_eq!(c.deploy_block, 3);
        assert_eq!(c.tokens[0].symbol, "USDC");
        assert!(c.accepts_token(c.tokens[0].address));
        assert!(!c.accepts_token(Address::ZERO));
        std::fs::write(&path, r#"{"chainId":1}"#).unwrap();
        let err = Contracts::from_deployment_file(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("permit2") || err.contains("settlement"),
            "{err}"
        );
    }
}
