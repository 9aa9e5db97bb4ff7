//! alloy bindings for the x402-settle contracts.
//!
//! The ABIs under `bindings/abi/` are exported from `forge build` by `node script/abi.js export`
//! and checked for drift by `node script/abi.js check` (part of `make test`), so these types
//! always match the compiled contracts. Nothing here is written by hand.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    /// The settlement contract: charges, escrow lifecycle, batches, policies, splits.
    #[allow(missing_docs)]
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    X402Settlement,
    "abi/X402Settlement.json"
);

sol!(
    /// The ecosystem registry: the project's labelled wallets and payees' declared wallets.
    #[allow(missing_docs)]
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    EcosystemRegistry,
    "abi/EcosystemRegistry.json"
);

sol!(
    /// Uniswap Permit2 (nonce bitmap, domain separator, signature transfers).
    #[allow(missing_docs)]
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Permit2,
    "abi/Permit2.json"
);

sol!(
    /// The ERC-20 surface the indexer and facilitator use (Transfer events, balances, allowances).
    #[allow(missing_docs)]
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    IERC20,
    "abi/IERC20.json"
);
