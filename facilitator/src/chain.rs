//! Chain reads for verification: everything one payment needs, in one JSON-RPC batch.
//!
//! Why a JSON-RPC batch and not Multicall3: anvil has no Multicall3 at the canonical address,
//! and the settlement simulation must be an `eth_call` *from the facilitator* (the contract
//! only lets the signed facilitator settle), which a multicall contract cannot do. A batch is
//! one HTTP round trip carrying five calls (balance, Permit2 allowance, Permit2 nonce bitmap,
//! remaining policy budget, settlement simulation; plus the payer's code and its EIP-1271 answer
//! when the signature does not recover to the payer), works on every node, and needs no contract.
//!
//! Most payments are valid, and a successful simulation already proves every state condition
//! the separate reads are for (the contracts revert on each of them), so verification first sends
//! only the simulation ([`Chain::simulate`]) and reads the state to name a refusal only when the
//! simulation fails. Each `eth_call` is the node's most expensive work per verification.

use alloy::network::Ethereum;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::client::{BatchRequest, Waiter};
use alloy::rpc::types::{BlockNumberOrTag, TransactionInput, TransactionRequest};
use alloy::sol;
use alloy::sol_types::SolCall;
use x402_bindings::{Permit2, X402Settlement, IERC20};
use x402_protocol::eip3009::IEip3009Token;

sol! {
    /// EIP-1271: contract wallets answer whether a signature is theirs.
    interface IERC1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4 magicValue);
    }
}

/// `IERC1271.isValidSignature.selector`, the value a wallet returns for a valid signature.
pub const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// A chain read failed (transport, node error); not a property of the payment.
#[derive(Debug, thiserror::Error)]
#[error("chain read {what} failed: {message}")]
pub struct ChainError {
    /// Which read.
    pub what: &'static str,
    /// The node's or transport's message.
    pub message: String,
}

impl ChainError {
    pub(crate) fn new(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self {
            what,
            message: e.to_string(),
        }
    }
}

/// What a revert said, decoded against the settlement contract's and Permit2's errors.
pub use x402_protocol::describe_revert;

/// The `timestamp` of an `eth_getBlockByNumber` answer.
fn block_timestamp(block: serde_json::Value) -> Result<u64, ChainError> {
    block
        .get("timestamp")
        .and_then(|t| t.as_str())
        .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| ChainError::new("eth_getBlockByNumber", "the latest block has no timestamp"))
}

/// The settlement's simulation in a batch: `Ok(())` when it succeeded, `Err` with the decoded
/// revert when the contract refused; a transport or node failure is a [`ChainError`].
async fn simulation_outcome(w: Waiter<Bytes>) -> Result<Result<(), String>, ChainError> {
    match w.await {
        Ok(_) => Ok(Ok(())),
        Err(e) => match e.as_error_resp() {
            Some(payload) => Ok(Err(match payload.as_revert_data() {
                Some(data) => describe_revert(&data),
                None => payload.message.to_string(),
            })),
            None => Err(ChainError::new("simulation", e)),
        },
    }
}

/// The chain's clock for one batch: a recent reading, or the latest block read in the batch.
enum ClockRead {
    Recent(u64),
    Read(Waiter<serde_json::Value>),
}

/// The settlement call one verification simulates, from the facilitator.
#[derive(Debug, Clone)]
pub struct SimulationQuery {
    /// The settlement contract.
    pub settlement: Address,
    /// The facilitator (caller of the simulation).
    pub facilitator: Address,
    /// Calldata of the settlement call.
    pub calldata: Bytes,
}

impl SimulationQuery {
    fn request(&self) -> TransactionRequest {
        call_request(
            Some(self.facilitator),
            self.settlement,
            self.calldata.to_vec(),
        )
    }
}

/// The simulation alone, with the chain's clock.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// Timestamp of the latest block (the chain's clock).
    pub timestamp: u64,
    /// `Ok` when the simulated settlement succeeded, else the decoded revert.
    pub simulation: Result<(), String>,
}

/// The on-chain state one payment's verification looks at.
#[derive(Debug, Clone)]
pub struct PaymentState {
    /// Timestamp of the latest block (the chain's clock).
    pub timestamp: u64,
    /// Whether the payer address has code (a contract wallet); only read when the signature
    /// does not recover to the payer.
    pub payer_is_contract: bool,
    /// EIP-1271 answer, when asked: whether the wallet accepted the signature.
    pub erc1271_valid: Option<bool>,
    /// The payer's token balance.
    pub balance: U256,
    /// The payer's ERC-20 allowance to Permit2.
    pub allowance: U256,
    /// Whether the Permit2 nonce is already used.
    pub nonce_used: bool,
    /// What the payer's spending policy still allows in this token.
    pub remaining_budget: U256,
    /// `Ok` when the settlement simulation succeeded, else the decoded revert.
    pub simulation: Result<(), String>,
}

/// The inputs of one EIP-3009 verification's batch.
#[derive(Debug, Clone)]
pub struct Eip3009Query {
    /// The authorization's `from`.
    pub payer: Address,
    /// The authorization's `to`.
    pub payee: Address,
    /// The token.
    pub token: Address,
    /// The authorization nonce.
    pub nonce: B256,
    /// Also read the token's EIP-712 `name()` and `version()` (not cached yet).
    pub read_domain: bool,
    /// The `chargeWithAuthorization` call to simulate.
    pub simulation: SimulationQuery,
    /// When set, also read the payer's code and ask it (EIP-1271) whether it signed this digest.
    pub erc1271: Option<(B256, Bytes)>,
}

/// The on-chain state one EIP-3009 payment's verification looks at.
#[derive(Debug, Clone)]
pub struct Eip3009State {
    /// Timestamp of the latest block (the chain's clock).
    pub timestamp: u64,
    /// The token's EIP-712 `name()` and `version()`, when asked (None: the call failed).
    pub domain: Option<(Option<String>, Option<String>)>,
    /// The payer's balance.
    pub balance: U256,
    /// Whether the nonce is used; `None` when the token has no `authorizationState` (no EIP-3009).
    pub nonce_used: Option<bool>,
    /// FiatToken blocklist of the payer.
    pub payer_blacklisted: bool,
    /// FiatToken blocklist of the payee.
    pub payee_blacklisted: bool,
    /// Whether the payer has code (only read when the signature does not recover to it).
    pub payer_is_contract: bool,
    /// EIP-1271 answer, when asked.
    pub erc1271_valid: Option<bool>,
    /// `Ok` when the simulated `chargeWithAuthorization` succeeded, else the decoded revert.
    pub simulation: Result<(), String>,
}

/// Read access to the chain (no key).
#[derive(Clone, Debug)]
pub struct Chain {
    provider: DynProvider<Ethereum>,
    /// The latest block's timestamp and when it was read: verifications within
    /// [`CLOCK_REUSE`] of a read reuse it instead of adding a block read to their batch.
    clock: std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, u64)>>>,
}

/// How long one read of the chain's clock serves later verifications. The clock only decides
/// expiry and `validAfter` together with the wall clock (the later of the two), so a reading a
/// fraction of a second old changes nothing but a jump of the chain's time in that fraction.
pub const CLOCK_REUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// A call of `input` on `to` (from `from` when it matters), for `eth_call`.
pub(crate) fn call_request(
    from: Option<Address>,
    to: Address,
    input: Vec<u8>,
) -> TransactionRequest {
    TransactionRequest {
        from,
        to: Some(to.into()),
        input: TransactionInput::new(input.into()),
        ..Default::default()
    }
}

/// Adds an `eth_call` of `tx` at the latest block to `batch`; `what` names it in errors.
pub(crate) fn add_eth_call(
    batch: &mut BatchRequest<'_>,
    what: &'static str,
    tx: TransactionRequest,
) -> Result<Waiter<Bytes>, ChainError> {
    batch
        .add_call::<_, Bytes>("eth_call", &(tx, BlockNumberOrTag::Latest))
        .map_err(|e| ChainError::new(what, e))
}

/// Adds a view call (`call` on `to`, at the latest block) to `batch`; `what` names it in errors.
pub(crate) fn add_view(
    batch: &mut BatchRequest<'_>,
    what: &'static str,
    to: Address,
    call: impl SolCall,
) -> Result<Waiter<Bytes>, ChainError> {
    add_eth_call(batch, what, call_request(None, to, call.abi_encode()))
}

/// The 32-byte word a view returned; a shorter answer (no code at the address, a wrong
/// function) is an error naming `what`.
pub(crate) fn word(what: &'static str, raw: Bytes) -> Result<U256, ChainError> {
    if raw.len() < 32 {
        return Err(ChainError::new(
            what,
            format!(
                "returned {} bytes, expected a 32-byte word (is the address right?)",
                raw.len()
            ),
        ));
    }
    Ok(U256::from_be_slice(&raw[..32]))
}

/// The inputs of one verification's batch.
#[derive(Debug, Clone)]
pub struct StateQuery {
    /// The payer.
    pub payer: Address,
    /// The token.
    pub token: Address,
    /// Permit2's address.
    pub permit2: Address,
    /// The Permit2 nonce.
    pub nonce: U256,
    /// The settlement call to simulate (its contract also answers the remaining budget).
    pub simulation: SimulationQuery,
    /// When set, also ask the payer (a contract wallet) whether it signed this digest.
    pub erc1271: Option<(B256, Bytes)>,
}

impl Chain {
    /// Wraps a provider.
    pub fn new(provider: DynProvider<Ethereum>) -> Self {
        Self {
            provider,
            clock: Default::default(),
        }
    }

    /// The chain's clock if read less than [`CLOCK_REUSE`] ago.
    fn recent_clock(&self) -> Option<u64> {
        match *self.clock.lock().expect("chain clock") {
            Some((at, timestamp)) if at.elapsed() < CLOCK_REUSE => Some(timestamp),
            _ => None,
        }
    }

    fn set_clock(&self, timestamp: u64) {
        *self.clock.lock().expect("chain clock") = Some((std::time::Instant::now(), timestamp));
    }

    /// Adds a read of the latest block to `batch` unless the clock was read recently.
    fn clock_in(&self, batch: &mut BatchRequest<'_>) -> Result<ClockRead, ChainError> {
        Ok(match self.recent_clock() {
            Some(t) => ClockRead::Recent(t),
            None => ClockRead::Read(
                batch
                    .add_call::<_, serde_json::Value>(
                        "eth_getBlockByNumber",
                        &(BlockNumberOrTag::Latest, false),
                    )
                    .map_err(|e| ChainError::new("eth_getBlockByNumber", e))?,
            ),
        })
    }

    /// The clock of a sent batch (remembered for later batches when it was read).
    async fn clock_of(&self, clock: ClockRead) -> Result<u64, ChainError> {
        match clock {
            ClockRead::Recent(t) => Ok(t),
            ClockRead::Read(b) => {
                let t = block_timestamp(
                    b.await
                        .map_err(|e| ChainError::new("eth_getBlockByNumber", e))?,
                )?;
                self.set_clock(t);
                Ok(t)
            }
        }
    }

    /// Only the settlement's simulation (and the clock, when stale): one `eth_call`. Its success
    /// proves what the state reads of [`Self::payment_state`] and [`Self::eip3009_state`] check
    /// (nonce, balance, allowance, policy, blocklist, pause), since the contracts revert on each.
    pub async fn simulate(&self, q: &SimulationQuery) -> Result<Simulated, ChainError> {
        let mut batch = BatchRequest::new(self.provider.client());
        let clock = self.clock_in(&mut batch)?;
        let simulation = batch
            .add_call::<_, Bytes>("eth_call", &(q.request(), BlockNumberOrTag::Latest))
            .map_err(|e| ChainError::new("simulation", e))?;
        batch
            .send()
            .await
            .map_err(|e| ChainError::new("batch", e))?;
        Ok(Simulated {
            timestamp: self.clock_of(clock).await?,
            simulation: simulation_outcome(simulation).await?,
        })
    }

    /// The underlying provider.
    pub fn provider(&self) -> &DynProvider<Ethereum> {
        &self.provider
    }

    /// Reads everything one payment's verification needs in one batch request.
    pub async fn payment_state(&self, q: &StateQuery) -> Result<PaymentState, ChainError> {
        let latest = BlockNumberOrTag::Latest;
        let mut batch = BatchRequest::new(self.provider.client());
        // The payer's code only matters when its signature is not a plain ECDSA one.
        let code = match q.erc1271 {
            Some(_) => Some(
                batch
                    .add_call::<_, Bytes>("eth_getCode", &(q.payer, latest))
                    .map_err(|e| ChainError::new("eth_getCode", e))?,
            ),
            None => None,
        };
        let clock = self.clock_in(&mut batch)?;
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
        let bitmap_index = q.nonce >> 8;
        let bitmap = add_view(
            &mut batch,
            "nonceBitmap",
            q.permit2,
            Permit2::nonceBitmapCall {
                _0: q.payer,
                _1: bitmap_index,
            },
        )?;
        let budget = add_view(
            &mut batch,
            "remainingBudget",
            q.simulation.settlement,
            X402Settlement::remainingBudgetCall {
                payer: q.payer,
                token: q.token,
            },
        )?;
        let erc1271 = match &q.erc1271 {
            Some((digest, sig)) => Some(add_view(
                &mut batch,
                "isValidSignature",
                q.payer,
                IERC1271::isValidSignatureCall {
                    hash: *digest,
                    signature: sig.clone(),
                },
            )?),
            None => None,
        };
        let simulation = add_eth_call(&mut batch, "simulation", q.simulation.request())?;
        batch
            .send()
            .await
            .map_err(|e| ChainError::new("batch", e))?;

        let timestamp = self.clock_of(clock).await?;
        let payer_is_contract = match code {
            Some(w) => !w
                .await
                .map_err(|e| ChainError::new("eth_getCode", e))?
                .is_empty(),
            None => false,
        };
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
        let remaining_budget = word(
            "remainingBudget",
            budget
                .await
                .map_err(|e| ChainError::new("remainingBudget", e))?,
        )?;
        let bit = (q.nonce & U256::from(0xffu8)).to::<usize>();
        let nonce_used = bitmap.bit(bit);
        let erc1271_valid = match erc1271 {
            // A wallet that reverts or returns anything but the magic value rejects the signature.
            Some(w) => {
                Some(matches!(w.await, Ok(raw) if raw.len() >= 4 && raw[..4] == ERC1271_MAGIC))
            }
            None => None,
        };
        let simulation = simulation_outcome(simulation).await?;
        Ok(PaymentState {
            timestamp,
            payer_is_contract,
            erc1271_valid,
            balance,
            allowance,
            nonce_used,
            remaining_budget,
            simulation,
        })
    }

    /// Reads everything one EIP-3009 payment's verification needs in one batch request.
    pub async fn eip3009_state(&self, q: &Eip3009Query) -> Result<Eip3009State, ChainError> {
        let latest = BlockNumberOrTag::Latest;
        let mut batch = BatchRequest::new(self.provider.client());
        let clock = self.clock_in(&mut batch)?;
        let domain = match q.read_domain {
            true => Some((
                add_view(&mut batch, "name", q.token, IEip3009Token::nameCall {})?,
                add_view(
                    &mut batch,
                    "version",
                    q.token,
                    IEip3009Token::versionCall {},
                )?,
            )),
            false => None,
        };
        let balance = add_view(
            &mut batch,
            "balanceOf",
            q.token,
            IERC20::balanceOfCall { account: q.payer },
        )?;
        let used = add_view(
            &mut batch,
            "authorizationState",
            q.token,
            IEip3009Token::authorizationStateCall {
                authorizer: q.payer,
                nonce: q.nonce,
            },
        )?;
        let payer_listed = add_view(
            &mut batch,
            "isBlacklisted",
            q.token,
            IEip3009Token::isBlacklistedCall { account: q.payer },
        )?;
        let payee_listed = add_view(
            &mut batch,
            "isBlacklisted",
            q.token,
            IEip3009Token::isBlacklistedCall { account: q.payee },
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
        let simulation = add_eth_call(&mut batch, "simulation", q.simulation.request())?;
        batch
            .send()
            .await
            .map_err(|e| ChainError::new("batch", e))?;

        let timestamp = self.clock_of(clock).await?;
        let string_of = |raw: Result<Bytes, _>| -> Option<String> {
            raw.ok().and_then(|b: Bytes| {
                <alloy::sol_types::sol_data::String as alloy::sol_types::SolType>::abi_decode(&b)
                    .ok()
            })
        };
        let domain = match domain {
            Some((name, version)) => Some((string_of(name.await), string_of(version.await))),
            None => None,
        };
        let balance = word(
            "balanceOf",
            balance.await.map_err(|e| ChainError::new("balanceOf", e))?,
        )?;
        // A token without EIP-3009 reverts (or answers nothing) here.
        let nonce_used = match used.await {
            Ok(raw) if raw.len() >= 32 => Some(!U256::from_be_slice(&raw[..32]).is_zero()),
            _ => None,
        };
        // A token without a blocklist reverts here: nobody is listed.
        let listed = |raw: Result<Bytes, _>| matches!(raw, Ok(b) if b.len() >= 32 && !U256::from_be_slice(&b[..32]).is_zero());
        let payer_blacklisted = listed(payer_listed.await);
        let payee_blacklisted = listed(payee_listed.await);
        let (payer_is_contract, erc1271_valid) = match erc1271 {
            Some((code, answer)) => (
                !code
                    .await
                    .map_err(|e| ChainError::new("eth_getCode", e))?
                    .is_empty(),
                Some(
                    matches!(answer.await, Ok(raw) if raw.len() >= 4 && raw[..4] == ERC1271_MAGIC),
                ),
            ),
            None => (false, None),
        };
        let simulation = simulation_outcome(simulation).await?;
        Ok(Eip3009State {
            timestamp,
            domain,
            balance,
            nonce_used,
            payer_blacklisted,
            payee_blacklisted,
            payer_is_contract,
            erc1271_valid,
            simulation,
        })
    }

    /// Whether `address` has code (x402's Permit2 proxies are looked for this way).
    pub async fn has_code(&self, address: Address) -> Result<bool, ChainError> {
        Ok(!self
            .provider
            .get_code_at(address)
            .await
            .map_err(|e| ChainError::new("eth_getCode", e))?
            .is_empty())
    }

    /// The chain id the node reports.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::new("eth_chainId", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn reverts_are_decoded_by_name() {
        let data = X402Settlement::NotFacilitator {
            caller: Address::ZERO,
            signedFacilitator: Address::repeat_byte(1),
        }
        .abi_encode();
        let text = describe_revert(&data);
        assert!(text.contains("NotFacilitator"), "{text}");
        let data = alloy::sol_types::Revert::from("TRANSFER_FROM_FAILED").abi_encode();
        assert!(describe_revert(&data).contains("TRANSFER_FROM_FAILED"));
        assert_eq!(describe_revert(&[]), "reverted without data");
    }
}
