//! EIP-3009 payments as x402 makes them on Base: the payer signs a `TransferWithAuthorization`
//! for the payee, and a facilitator's EOA submits it to the token (`transferWithAuthorization`),
//! paying the gas. Works with any EIP-3009 token that exposes its `DOMAIN_SEPARATOR()` (Circle's
//! FiatToken does).

use alloy::network::EthereumWallet;
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolValue;

use crate::error::{ChainContext, Error, Result};

alloy::sol! {
    /// The EIP-3009 surface of a token.
    #[allow(clippy::too_many_arguments)]
    #[sol(rpc)]
    interface IEip3009Token {
        function DOMAIN_SEPARATOR() external view returns (bytes32);
        function transferWithAuthorization(
            address from,
            address to,
            uint256 value,
            uint256 validAfter,
            uint256 validBefore,
            bytes32 nonce,
            uint8 v,
            bytes32 r,
            bytes32 s
        ) external;
    }
}

/// `keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")`.
pub fn transfer_with_authorization_typehash() -> B256 {
    keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)",
    )
}

/// One signed authorization.
#[derive(Debug, Clone, Copy)]
pub struct Authorization {
    /// The payer (signer).
    pub from: Address,
    /// The payee.
    pub to: Address,
    /// Amount in base units.
    pub value: U256,
    /// Valid from (unix seconds).
    pub valid_after: U256,
    /// Valid until (unix seconds).
    pub valid_before: U256,
    /// Random nonce, unique per payer.
    pub nonce: B256,
    /// Signature.
    pub v: u8,
    /// Signature.
    pub r: B256,
    /// Signature.
    pub s: B256,
}

/// Signs a `TransferWithAuthorization` of `value` from `payer` to `to`, valid for a day, under
/// the token's `domain_separator`.
pub fn sign(
    payer: &PrivateKeySigner,
    domain_separator: B256,
    to: Address,
    value: U256,
    nonce: B256,
) -> Result<Authorization> {
    let valid_after = U256::ZERO;
    let valid_before = U256::from(u64::MAX);
    let struct_hash = keccak256(
        (
            transfer_with_authorization_typehash(),
            payer.address(),
            to,
            value,
            valid_after,
            valid_before,
            nonce,
        )
            .abi_encode(),
    );
    let mut digest_input = Vec::with_capacity(66);
    digest_input.extend_from_slice(b"\x19\x01");
    digest_input.extend_from_slice(domain_separator.as_slice());
    digest_input.extend_from_slice(struct_hash.as_slice());
    let sig = payer
        .sign_hash_sync(&keccak256(digest_input))
        .map_err(|e| Error::Setup(format!("signing an EIP-3009 authorization: {e}")))?;
    Ok(Authorization {
        from: payer.address(),
        to,
        value,
        valid_after,
        valid_before,
        nonce,
        v: 27 + sig.v() as u8,
        r: sig.r().into(),
        s: sig.s().into(),
    })
}

/// Submits `auth` to `token` from `sender` (a facilitator's EOA, which pays the gas) on the chain
/// at `rpc_url` and waits for the receipt, which must succeed.
pub async fn submit(
    rpc_url: &str,
    sender: &PrivateKeySigner,
    token: Address,
    auth: &Authorization,
) -> Result<TransactionReceipt> {
    let provider = crate::traffic::provider_for(rpc_url, EthereumWallet::from(sender.clone()))?;
    let sender = sender.address();
    let t = IEip3009Token::new(token, provider.clone());
    let pending = t
        .transferWithAuthorization(
            auth.from,
            auth.to,
            auth.value,
            auth.valid_after,
            auth.valid_before,
            auth.nonce,
            auth.v,
            auth.r,
            auth.s,
        )
        .from(sender)
        .send()
        .await
        .chain_context(format!("transferWithAuthorization from {sender}"))?;
    let receipt = pending
        .get_receipt()
        .await
        .chain_context("waiting for transferWithAuthorization")?;
    if !receipt.status() {
        return Err(Error::Setup(format!(
            "transferWithAuthorization {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}

/// The token's EIP-712 domain separator.
pub async fn domain_separator(provider: &DynProvider, token: Address) -> Result<B256> {
    IEip3009Token::new(token, provider.clone())
        .DOMAIN_SEPARATOR()
        .call()
        .await
        .chain_context("DOMAIN_SEPARATOR()")
}
