//! x402's own Permit2 payments (`exact` and `upto` through `x402ExactPermit2Proxy` /
//! `x402UptoPermit2Proxy`, payload `permit2Authorization` with `witness.to`).
//!
//! Those payments can only settle through x402's proxy contracts (the Permit2 signature names the
//! proxy as spender). Where a proxy has no code (anvil, most devnets) nothing could ever settle
//! them, so `/supported` does not advertise them and `/verify` refuses them with the SDK's
//! `permit2_proxy_not_deployed` instead of the SDK facilitator's success-with-nothing-moved.
//! Settling through a deployed proxy is not implemented by this facilitator: such payments are
//! refused with `unsupported_payload_type`, naming the proxy.

use alloy::primitives::Address;

use crate::chain::{Chain, ChainError};
use crate::reason::{Reason, Refusal};
use crate::verify::Rejected;

// The proxies' deterministic addresses are shared with the indexer, owned by x402-domain.
pub use x402_domain::{X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};

/// Where x402's Permit2 proxies are, and whether they exist on this chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X402Proxies {
    /// The exact proxy's address.
    pub exact: Address,
    /// The upto proxy's address.
    pub upto: Address,
    /// Whether the exact proxy has code.
    pub exact_deployed: bool,
    /// Whether the upto proxy has code.
    pub upto_deployed: bool,
}

impl X402Proxies {
    /// Looks the proxies up on the chain (their code, once at start).
    pub async fn discover(
        chain: &Chain,
        exact: Address,
        upto: Address,
    ) -> Result<Self, ChainError> {
        Ok(Self {
            exact,
            upto,
            exact_deployed: chain.has_code(exact).await?,
            upto_deployed: chain.has_code(upto).await?,
        })
    }

    /// The refusal of an x402 Permit2 proxy payload.
    pub fn refuse(&self, payload: &serde_json::Value) -> Rejected {
        let auth = payload
            .get("payload")
            .and_then(|p| p.get("permit2Authorization"));
        let payer = auth
            .and_then(|a| a.get("from"))
            .and_then(|f| f.as_str())
            .and_then(|f| f.parse::<Address>().ok());
        let spender = auth
            .and_then(|a| a.get("spender"))
            .and_then(|f| f.as_str())
            .and_then(|f| f.parse::<Address>().ok());
        let upto = payload
            .get("accepted")
            .and_then(|a| a.get("scheme"))
            .and_then(|s| s.as_str())
            == Some("upto")
            || spender == Some(self.upto);
        let (proxy, deployed, name) = if upto {
            (self.upto, self.upto_deployed, "x402UptoPermit2Proxy")
        } else {
            (self.exact, self.exact_deployed, "x402ExactPermit2Proxy")
        };
        let refusal = if deployed {
            Refusal::new(
                Reason::UnsupportedPayloadType,
                format!("payments through {name} ({proxy}) are not settled by this facilitator; pay with EIP-3009 or this facilitator's own Permit2 scheme"),
            )
        } else {
            Refusal::new(
                Reason::Permit2ProxyNotDeployed,
                format!("{name} has no code at {proxy} on this chain, so this Permit2 payment could never settle"),
            )
        };
        Rejected {
            refusal,
            payer,
            payment_id: None,
        }
    }
}
