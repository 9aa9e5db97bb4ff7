//! Chain access for the simulator: the deployment it drives, plain transactions the economy's
//! wallets send themselves (token transfers, approvals, registry labels and declarations,
//! escrow refunds and reclaims), the token's EIP-712 domain, and anvil's clock. Payments never
//! go through here: they are signed with `x402-client` and settled by a facilitator over HTTP.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, TxHash, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use x402_bindings::{EcosystemRegistry, X402Settlement, IERC20};
use x402_protocol::eip3009::IEip3009Token;

/// Mint surface of the demo tokens (owner only); not part of the shared bindings.
mod demo {
    alloy::sol! {
        #[sol(rpc)]
        interface IDemoToken {
            function mint(address to, uint256 amount) external;
        }
    }
}

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The deployments file is unusable.
    #[error(transparent)]
    File(#[from] x402_domain::DeploymentError),
    /// The deployment does not fit the chain or the keys given.
    #[error("deployment file {path}: {reason}")]
    Deployment {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The node could not be reached or refused a call.
    #[error("{context}: {message}")]
    Rpc {
        /// What was being done.
        context: String,
        /// The node's or transport's answer.
        message: String,
    },
    /// A transaction was mined but reverted.
    #[error("{context}: transaction {tx} reverted")]
    Reverted {
        /// What was being done.
        context: String,
        /// The transaction.
        tx: TxHash,
    },
    /// The node is not anvil (the simulation needs its clock and balance methods).
    #[error("{0}")]
    NotAnvil(String),
}

fn rpc_err(
    context: impl Into<String>,
) -> impl FnOnce(alloy::transports::TransportError) -> ChainError {
    let context = context.into();
    move |e| ChainError::Rpc {
        context,
        message: e.to_string(),
    }
}

fn call_err(context: impl Into<String>) -> impl FnOnce(alloy::contract::Error) -> ChainError {
    let context = context.into();
    move |e| ChainError::Rpc {
        context,
        message: e.to_string(),
    }
}

/// `deployments/<chainId>.json` and its tokens (owned by `x402_domain`).
pub use x402_domain::{DeployedToken as TokenInfo, Deployment};

/// A connection to the chain with every simulated wallet's key.
#[derive(Clone)]
pub struct Chain {
    provider: DynProvider,
    reader: DynProvider,
    owner: Address,
    /// The deployment driven.
    pub deployment: Deployment,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.deployment.chain_id)
            .finish()
    }
}

impl Chain {
    /// Connects to `rpc_url`, checks it is anvil serving the deployment's chain with the
    /// contracts deployed, and holds `owner` (the deployment's owner) plus `wallets` as signers.
    pub async fn connect(
        rpc_url: &str,
        deployment: Deployment,
        owner: PrivateKeySigner,
        wallets: impl IntoIterator<Item = PrivateKeySigner>,
    ) -> Result<Self, ChainError> {
        let url: alloy::transports::http::reqwest::Url =
            rpc_url.parse().map_err(|e| ChainError::Rpc {
                context: format!("--rpc-url {rpc_url}"),
                message: format!("not a URL: {e}"),
            })?;
        let deployment_owner = deployment.owner()?;
        if owner.address() != deployment_owner {
            return Err(ChainError::Deployment {
                path: format!("chain {}", deployment.chain_id),
                reason: format!(
                    "is owned by {} but the owner key given is {}'s (pass the owner's key with --owner-key)",
                    deployment_owner,
                    owner.address()
                ),
            });
        }
        let owner_address = owner.address();
        let mut wallet = EthereumWallet::new(owner);
        for w in wallets {
            wallet.register_signer(w);
        }
        // Cached nonces: many wallets send concurrently, each its own transactions in order.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_cached_nonce_management()
            .with_chain_id(deployment.chain_id)
            .wallet(wallet)
            .connect_http(url.clone())
            .erased();
        let reader = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        let chain_id = reader.get_chain_id().await.map_err(rpc_err(format!(
            "cannot reach the chain at {rpc_url} (is the node running?)"
        )))?;
        if chain_id != deployment.chain_id {
            return Err(ChainError::Deployment {
                path: format!("chain {}", deployment.chain_id),
                reason: format!(
                    "is for chain {} but {rpc_url} serves chain {chain_id}",
                    deployment.chain_id
                ),
            });
        }
        let version: String = reader
            .raw_request("web3_clientVersion".into(), ())
            .await
            .map_err(rpc_err("web3_clientVersion"))?;
        if !version.to_lowercase().contains("anvil") {
            return Err(ChainError::NotAnvil(format!(
                "{rpc_url} runs {version}, not anvil: the simulation moves the chain's clock (evm_increaseTime) and needs anvil"
            )));
        }
        let code = reader
            .get_code_at(deployment.settlement)
            .await
            .map_err(rpc_err("reading the settlement contract"))?;
        if code.is_empty() {
            return Err(ChainError::Deployment {
                path: format!("chain {chain_id}"),
                reason: format!(
                    "has no settlement contract at {} (redeploy with script/deploy-local.sh)",
                    deployment.settlement
                ),
            });
        }
        Ok(Self {
            provider,
            reader,
            owner: owner_address,
            deployment,
        })
    }

    /// A provider without signers.
    pub fn reader(&self) -> &DynProvider {
        &self.reader
    }

    /// The latest block's number and timestamp.
    pub async fn head(&self) -> Result<(u64, u64), ChainError> {
        let block = self
            .reader
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_err("reading the latest block"))?
            .ok_or_else(|| ChainError::Rpc {
                context: "reading the latest block".into(),
                message: "none".into(),
            })?;
        Ok((block.header.number, block.header.timestamp))
    }

    /// Moves the clock so the next block is at `timestamp` or later, and mines that block.
    pub async fn travel_to(&self, timestamp: u64) -> Result<(), ChainError> {
        let (_, now) = self.head().await?;
        if timestamp > now {
            let _: serde_json::Value = self
                .reader
                .raw_request("evm_increaseTime".into(), (U256::from(timestamp - now),))
                .await
                .map_err(rpc_err("evm_increaseTime"))?;
        }
        self.mine(1).await
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) -> Result<(), ChainError> {
        let _: serde_json::Value = self
            .reader
            .raw_request("anvil_mine".into(), (U256::from(blocks),))
            .await
            .map_err(rpc_err("anvil_mine"))?;
        Ok(())
    }

    /// Gives `who` ether for gas.
    pub async fn set_ether(&self, who: Address, wei: U256) -> Result<(), ChainError> {
        let _: serde_json::Value = self
            .reader
            .raw_request("anvil_setBalance".into(), (who, wei))
            .await
            .map_err(rpc_err(format!("anvil_setBalance {who}")))?;
        Ok(())
    }

    /// Waits for a sent transaction's receipt (anvil automines, so it is there at once or
    /// within a few polls) and checks it succeeded; returns its block number.
    async fn confirm(&self, tx: TxHash, context: &str) -> Result<u64, ChainError> {
        for _ in 0..6000 {
            if let Some(r) = self
                .reader
                .get_transaction_receipt(tx)
                .await
                .map_err(rpc_err(context.to_string()))?
            {
                if !r.status() {
                    return Err(ChainError::Reverted {
                        context: context.to_string(),
                        tx,
                    });
                }
                return Ok(r.block_number.unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(ChainError::Rpc {
            context: context.to_string(),
            message: format!("transaction {tx} not mined after 30 s"),
        })
    }

    /// The owner mints `amount` of a demo token to `to`.
    pub async fn mint(&self, token: Address, to: Address, amount: U256) -> Result<u64, ChainError> {
        let what = format!("minting {amount} of {token} to {to}");
        let pending = demo::IDemoToken::new(token, &self.provider)
            .mint(to, amount)
            .from(self.owner)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// `from` transfers `amount` of `token` to `to`.
    pub async fn transfer(
        &self,
        token: Address,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Result<u64, ChainError> {
        let what = format!("transfer of {amount} {token} from {from} to {to}");
        let pending = IERC20::new(token, &self.provider)
            .transfer(to, amount)
            .from(from)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// `from` sends `wei` of ether to `to` in a plain transaction.
    pub async fn send_ether(
        &self,
        from: Address,
        to: Address,
        wei: U256,
    ) -> Result<u64, ChainError> {
        let what = format!("{from} sending {wei} wei to {to}");
        let tx = alloy::rpc::types::TransactionRequest::default()
            .from(from)
            .to(to)
            .value(wei);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(rpc_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// `owner` approves `spender` for all of its `token`.
    pub async fn approve(
        &self,
        token: Address,
        owner: Address,
        spender: Address,
    ) -> Result<u64, ChainError> {
        let what = format!("{owner} approving {spender} for {token}");
        let pending = IERC20::new(token, &self.provider)
            .approve(spender, U256::MAX)
            .from(owner)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// The registry owner labels `wallets` with `roles` (one transaction).
    pub async fn label_many(
        &self,
        wallets: Vec<Address>,
        roles: Vec<u8>,
        note: &str,
    ) -> Result<u64, ChainError> {
        let what = format!("labelling {} wallets in the registry", wallets.len());
        let pending = EcosystemRegistry::new(self.deployment.registry, &self.provider)
            .labelMany(wallets, roles, note.to_string())
            .from(self.owner)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// The EIP-712 domain name and version of an EIP-3009 token (FiatToken: `USD Coin`, `2`),
    /// which an x402 server names in `extra` and the payer signs under.
    pub async fn eip712_domain(&self, token: Address) -> Result<(String, String), ChainError> {
        let t = IEip3009Token::new(token, &self.reader);
        let context = || {
            format!("reading the EIP-712 name and version of token {token} (an EIP-3009 token such as FiatToken?)")
        };
        let name = t.name().call().await.map_err(call_err(context()))?;
        let version = t.version().call().await.map_err(call_err(context()))?;
        Ok((name, version))
    }

    /// The registry's role bitmap of `wallet`.
    pub async fn roles_of(&self, wallet: Address) -> Result<U256, ChainError> {
        EcosystemRegistry::new(self.deployment.registry, &self.reader)
            .rolesOf(wallet)
            .call()
            .await
            .map_err(call_err(format!("reading the registry roles of {wallet}")))
    }

    /// `payee` declares in the registry that it controls `wallet`.
    pub async fn declare_wallet(
        &self,
        payee: Address,
        wallet: Address,
        note: &str,
    ) -> Result<u64, ChainError> {
        let what = format!("{payee} declaring {wallet}");
        let pending = EcosystemRegistry::new(self.deployment.registry, &self.provider)
            .declareWallet(wallet, true, note.to_string())
            .from(payee)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// The permit and terms escrow `id` was authorized with (every later escrow call passes them),
    /// read from its `PaymentAuthorized` event.
    async fn escrow_ref(
        &self,
        id: B256,
    ) -> Result<x402_bindings::settlement::IX402Settlement::EscrowRef, ChainError> {
        use alloy::sol_types::SolEvent;
        let what = format!("finding the authorization of escrow {id}");
        let filter = alloy::rpc::types::Filter::new()
            .address(self.deployment.settlement)
            .event_signature(X402Settlement::PaymentAuthorized::SIGNATURE_HASH)
            .topic1(id)
            .from_block(0);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| ChainError::Rpc {
                context: what.clone(),
                message: e.to_string(),
            })?;
        logs.iter()
            .find_map(|l| l.log_decode::<X402Settlement::PaymentAuthorized>().ok())
            .map(|l| l.inner.data.escrow)
            .ok_or(ChainError::Rpc {
                context: what,
                message: "no PaymentAuthorized event".into(),
            })
    }

    /// The payee of escrow `id` refunds `amount` of what was captured.
    pub async fn refund(&self, payee: Address, id: B256, amount: U256) -> Result<u64, ChainError> {
        let what = format!("{payee} refunding {amount} of escrow {id}");
        let pending = X402Settlement::new(self.deployment.settlement, &self.provider)
            .refund(self.escrow_ref(id).await?, amount)
            .from(payee)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }

    /// The payer of escrow `id` reclaims what was not captured (after its authorization expiry).
    pub async fn reclaim(&self, payer: Address, id: B256) -> Result<u64, ChainError> {
        let what = format!("{payer} reclaiming escrow {id}");
        let pending = X402Settlement::new(self.deployment.settlement, &self.provider)
            .reclaim(self.escrow_ref(id).await?)
            .from(payer)
            .send()
            .await
            .map_err(call_err(what.clone()))?;
        self.confirm(*pending.tx_hash(), &what).await
    }
}
