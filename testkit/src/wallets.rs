//! Keys: anvil's well-known development accounts and deterministic generated wallets.

use alloy::primitives::{keccak256, B256};
use alloy::signers::local::PrivateKeySigner;

/// anvil's first development key: the deployer (owns the demo tokens, the settlement and registry).
pub const DEPLOYER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// anvil's second development key: the facilitator the traffic generator settles as.
pub const FACILITATOR_KEY: &str =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// The deployer's signer.
pub fn deployer() -> PrivateKeySigner {
    DEPLOYER_KEY.parse().expect("a valid key")
}

/// The facilitator's signer.
pub fn facilitator() -> PrivateKeySigner {
    FACILITATOR_KEY.parse().expect("a valid key")
}

/// The `index`-th wallet derived from `seed`: the same seed gives the same wallets, so a cached
/// chain state and a rerun agree on who the payers are.
pub fn derived(seed: &str, index: u64) -> PrivateKeySigner {
    let mut counter = 0u64;
    loop {
        let key: B256 = keccak256(format!("x402-testkit/{seed}/{index}/{counter}"));
        // A hash is a valid secp256k1 key except with negligible probability; retry if not.
        if let Ok(signer) = PrivateKeySigner::from_bytes(&key) {
            return signer;
        }
        counter += 1;
    }
}
