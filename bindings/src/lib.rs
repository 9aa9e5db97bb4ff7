//! alloy bindings for the x402-settle contracts.
//!
//! The ABIs under `bindings/abi/` are exported from `forge build` by `node script/abi.js export`
//! and checked for drift by `node script/abi.js check` (part of `make test`), so these types
//! always match the compiled contracts. Nothing here is written by hand.
//!
//! Each contract is expanded in its own module because the settlement and Permit2 ABIs both
//! reference `ISignatureTransfer` structs, which `sol!` emits as a sibling module; the contract
//! modules are re-exported at the crate root, and the settlement's `ISignatureTransfer` structs
//! (`PermitTransferFrom`, `TokenPermissions`) as [`ISignatureTransfer`].

#![allow(missing_docs, clippy::too_many_arguments)]

/// The settlement contract: charges, escrow lifecycle, batches, policies, splits.
pub mod settlement {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        X402Settlement,
        "abi/X402Settlement.json"
    );
}

/// The ecosystem registry: the project's labelled wallets and payees' declared wallets.
pub mod registry {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        EcosystemRegistry,
        "abi/EcosystemRegistry.json"
    );
}

/// Uniswap Permit2 (nonce bitmap, domain separator, signature transfers).
pub mod permit2 {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Permit2,
        "abi/Permit2.json"
    );
}

/// The ERC-20 surface the indexer and facilitator use (Transfer events, balances, allowances).
pub mod erc20 {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        IERC20,
        "abi/IERC20.json"
    );
}

/// x402's exact Permit2 proxy (`settle(permit, owner, witness, signature)`), as the x402 SDK
/// publishes its interface; the ABI comes from the test fixture implementing it
/// (`tests/x402proxy/`).
pub mod exact_proxy {
    alloy::sol!(
        #[allow(missing_docs, non_camel_case_types)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        x402ExactPermit2Proxy,
        "abi/x402ExactPermit2Proxy.json"
    );
}

/// x402's upto Permit2 proxy (`settle(permit, amount, owner, witness, signature)`, callable only
/// by the witness's facilitator), as the x402 SDK publishes its interface (fixture:
/// `tests/x402proxy/`).
pub mod upto_proxy {
    alloy::sol!(
        #[allow(missing_docs, non_camel_case_types)]
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        x402UptoPermit2Proxy,
        "abi/x402UptoPermit2Proxy.json"
    );
}

pub use erc20::IERC20;
pub use exact_proxy::x402ExactPermit2Proxy;
pub use permit2::Permit2;
pub use registry::EcosystemRegistry;
pub use settlement::{ISignatureTransfer, X402Settlement};
pub use upto_proxy::x402UptoPermit2Proxy;
