//! The chain reads of one proxy payment's verification, in one JSON-RPC batch (as the other
//! payment kinds do in `chain.rs`): the latest block (the chain's clock), the payer's balance,
//! its ERC-20 allowance to Permit2, Permit2's nonce bitmap word, the payer's code and EIP-1271
//! answer (only when the signature does not recover to it), and an `eth_call` of the proxy's
//! `settle` from the facilitator (the upto proxy only lets `witness.facilitator` call).

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::client::BatchRequest;
use alloy::rpc::types::BlockNumberOrTag;
use alloy::sol_types::{SolCall, SolInterface};
use x402_bindings::{x402ExactPermit2Proxy, x402UptoPermit2Proxy, Permit2, IERC20};

use crate::chain::{
    add_eth_call, add_view, call_request, describe_revert, word, Chain, ChainError, ERC1271_MAGIC,
    IERC1271,
};

/// What one batch asks.
#[derive(Debug, Clone)]
pub struct ProxyQuery {
    /// The payer.
    pub payer: Address,
    /// The token.
    pub token: Address,
    /// The Permit2 the proxy uses.
    pub permit2: Address,
    /// The Permit2 nonce.
    pub nonce: U256,
    /// The proxy (target of the simulation).
    pub proxy: Address,
    /// The facilitator (caller of the simulation).
    pub facilitator: Address,
    /// Calldata of the proxy's `settle`.
    pub simulation: Bytes,
    /// When set, also read the payer's code and ask it (EIP-1271) whether it signed this digest.
    pub erc1271: Option<(B256, Bytes)>,
}

/// What the chain said.
#[derive(Debug, Clone)]
pub struct ProxyState {
    /// Timestamp of the latest block.
    pub timestamp: u64,
    /// The payer's token balance.
    pub balance: U256,
    /// The payer's ERC-20 allowance to Permit2.
    pub allowance: U256,
    /// Whether the Permit2 nonce is used (or cancelled).
    pub nonce_used: bool,
    /// Whether the payer has code (only read with `erc1271`).
    pub payer_is_contract: bool,
    /// EIP-1271 answer, when asked.
    pub erc1271_valid: Option<bool>,
    /// `Ok` when the simulated `settle` succeeded, else the decoded revert.
    pub simulation: Result<(), String>,
}

/// A revert of a proxy call, decoded against the proxies', Permit2's and the settlement
/// contract's errors.
pub fn describe_proxy_revert(data: &[u8]) -> String {
    if let Ok(e) = x402ExactPermit2Proxy::x402ExactPermit2ProxyErrors::abi_decode(data) {
        return format!("x402ExactPermit2Proxy reverted with {e:?}");
    }
    if let Ok(e) = x402UptoPermit2Proxy::x402UptoPermit2ProxyErrors::abi_decode(data) {
        return format!("x402UptoPermit2Proxy reverted with {e:?}");
    }
    describe_revert(data)
}

/// Reads everything one proxy payment's verification needs in one batch request.
pub async fn read(chain: &Chain, q: &ProxyQuery) -> Result<ProxyState, ChainError> {
    let latest = BlockNumberOrTag::Latest;
    let mut batch = BatchRequest::new(chain.provider().client());
    let block = batch
        .add_call::<_, serde_json::Value>("eth_getBlockByNumber", &(latest, false))
        .map_err(|e| ChainError::new("eth_getBlockByNumber", e))?;
    let balance = add_view(
        &mut batch,
        "balanceOf",
        q.token,
        IERC20::balanceOfCall { account: q.payer },
    )?;
    let allowance = add_view(
        &mut batch,
        "allowance",
        q.token,
        IERC20::allowanceCall {
            owner: q.payer,
            spender: q.permit2,
        },
    )?;
    let bitmap = add_view(
        &mut batch,
        "nonceBitmap",
        q.permit2,
        Permit2::nonceBitmapCall {
            _0: q.payer,
            _1: q.nonce >> 8,
        },
    )?;
    let erc1271 = match &q.erc1271 {
        Some((digest, sig)) => Some((
            batch
                .add_call::<_, Bytes>("eth_getCode", &(q.payer, latest))
                .map_err(|e| ChainError::new("eth_getCode", e))?,
            add_view(
                &mut batch,
                "isValidSignature",
                q.payer,
                IERC1271::isValidSignatureCall {
                    hash: *digest,
                    signature: sig.clone(),
                },
            )?,
        )),
        None => None,
    };
    let simulation = add_eth_call(
        &mut batch,
        "simulation",
        call_request(Some(q.facilitator), q.proxy, q.simulation.to_vec()),
    )?;
    batch
        .send()
        .await
        .map_err(|e| ChainError::new("batch", e))?;

    let block = block
        .await
        .map_err(|e| ChainError::new("eth_getBlockByNumber", e))?;
    let timestamp = block
        .get("timestamp")
        .and_then(|t| t.as_str())
        .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| ChainError {
            what: "eth_getBlockByNumber",
            message: "the latest block has no timestamp".into(),
        })?;
    let balance = word(
        "balanceOf",
        balance.await.map_err(|e| ChainError::new("balanceOf", e))?,
    )?;
    let allowance = word(
        "allowance",
        allowance
            .await
            .map_err(|e| ChainError::new("allowance", e))?,
    )?;
    let bitmap = word(
        "nonceBitmap",
        bitmap
            .await
            .map_err(|e| ChainError::new("nonceBitmap", e))?,
    )?;
    let nonce_used = bitmap.bit((q.nonce & U256::from(0xffu8)).to::<usize>());
    let (payer_is_contract, erc1271_valid) = match erc1271 {
        Some((code, answer)) => (
            !code
                .await
                .map_err(|e| ChainError::new("eth_getCode", e))?
                .is_empty(),
            // A wallet that reverts or answers anything but the magic value rejects it.
            Some(matches!(answer.await, Ok(raw) if raw.len() >= 4 && raw[..4] == ERC1271_MAGIC)),
        ),
        None => (false, None),
    };
    let simulation = match simulation.await {
        Ok(_) => Ok(()),
        Err(e) => match e.as_error_resp() {
            Some(payload) => Err(match payload.as_revert_data() {
                Some(data) => describe_proxy_revert(&data),
                None => payload.message.to_string(),
            }),
            None => return Err(ChainError::new("simulation", e)),
        },
    };
    Ok(ProxyState {
        timestamp,
        balance,
        allowance,
        nonce_used,
        payer_is_contract,
        erc1271_valid,
        simulation,
    })
}

/// The `PERMIT2()` a proxy settles through.
pub async fn proxy_permit2(chain: &Chain, proxy: Address) -> Result<Address, ChainError> {
    let raw = chain
        .provider()
        .call(call_request(
            None,
            proxy,
            x402ExactPermit2Proxy::PERMIT2Call {}.abi_encode(),
        ))
        .await
        .map_err(|e| ChainError::new("PERMIT2", e))?;
    let w = word("PERMIT2", raw)?;
    Ok(Address::from_word(w.into()))
}
