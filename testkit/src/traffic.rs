//! Real payment traffic: funds payer wallets, signs Permit2 witness payments with `x402-client`
//! and settles them through the deployed X402Settlement (single charges, big batches, the escrow
//! lifecycle), plus registry labels, policies, splits and plain token transfers, so every event
//! type the indexer stores appears on the chain.

use alloy::network::EthereumWallet;
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use x402_bindings::settlement::IX402Settlement;
use x402_bindings::{EcosystemRegistry, X402Settlement, IERC20};
pub use x402_client::permit::PaymentMode;
use x402_client::permit::{PaymentPermit, PaymentTerms, SignedPayment};

use crate::anvil::AnvilRpc;
use crate::deploy::Deployment;
use crate::error::{ChainContext, Error, Result};
use crate::wallets;

/// Gas anvil may use per transaction when the generator sets it itself (big batches).
const BATCH_GAS_PER_ITEM: u64 = 140_000;
/// Gas limit of each funding transaction (a mint or an approval, under 100k), set rather than
/// estimated: alloy estimates against the pending block, which anvil builds by executing every
/// transaction in its pool, so funding thousands of wallets into a pool that is mined by hand (see
/// [`Traffic::fund_unmined`]) would execute that pool once per transaction.
const FUNDING_GAS: u64 = 200_000;
/// Gas each batch item may use (`chargeBatch`'s `itemGasLimit`): a charge needs about 100k, a
/// first-time payer or a contract wallet more.
const BATCH_ITEM_GAS_LIMIT: u32 = 300_000;

/// DemoOPG / DemoUSDC mint surface (owner only); not part of the shared bindings.
pub mod demo {
    alloy::sol! {
        #[sol(rpc)]
        interface IDemoToken {
            function mint(address to, uint256 amount) external;
        }
    }
}

/// An escrow the generator authorized and may still capture, void, reclaim or refund.
#[derive(Debug, Clone)]
pub struct OpenEscrow {
    /// The escrow's payment id.
    pub payment_id: B256,
    /// The permit and terms it was authorized with (what every later escrow call passes).
    pub escrow_ref: IX402Settlement::EscrowRef,
    /// Index of the payer in [`Traffic::payers`].
    pub payer: usize,
    /// Index of the payee in [`Traffic::payees`].
    pub payee: usize,
    /// Token.
    pub token: Address,
    /// Amount authorized.
    pub authorized: U256,
    /// Amount captured so far.
    pub captured: U256,
}

/// Counts of what the generator sent (for test assertions and bench reports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficCounts {
    /// Transactions mined.
    pub transactions: u64,
    /// Payments settled by `charge` or batch items settled.
    pub charges: u64,
    /// Batch items that failed on purpose.
    pub failed_items: u64,
    /// Batches.
    pub batches: u64,
    /// Escrow operations (authorize, capture, void, reclaim, refund).
    pub escrow_ops: u64,
}

/// A traffic generator bound to one deployment.
pub struct Traffic {
    provider: DynProvider,
    rpc: AnvilRpc,
    /// The deployment traffic goes through.
    pub deployment: Deployment,
    chain_id: u64,
    deployer: PrivateKeySigner,
    facilitator: PrivateKeySigner,
    /// Funded payer wallets.
    pub payers: Vec<PrivateKeySigner>,
    /// Payee wallets (they hold ether so they can refund and declare wallets).
    pub payees: Vec<PrivateKeySigner>,
    next_nonce: Vec<u64>,
    /// Escrows still open.
    pub escrows: Vec<OpenEscrow>,
    /// What was sent so far.
    pub counts: TrafficCounts,
    rng: u64,
    seed: String,
    rpc_url: String,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("payers", &self.payers.len())
            .field("counts", &self.counts)
            .finish()
    }
}

pub(crate) fn provider_for(rpc_url: &str, wallet: EthereumWallet) -> Result<DynProvider> {
    let url = rpc_url
        .parse()
        .map_err(|e| Error::Setup(format!("bad RPC URL {rpc_url}: {e}")))?;
    // Simple nonce management reads the nonce from the chain for every transaction, so the
    // generator keeps working after a reorg or rollback drops its transactions.
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(wallet)
        .connect_http(url)
        .erased())
}

impl Traffic {
    /// A generator with no payers yet; `seed` makes its wallets deterministic.
    pub async fn new(rpc_url: &str, deployment: Deployment, seed: &str) -> Result<Self> {
        let deployer = wallets::deployer();
        let facilitator = wallets::facilitator();
        let mut wallet = EthereumWallet::new(deployer.clone());
        wallet.register_signer(facilitator.clone());
        let provider = provider_for(rpc_url, wallet)?;
        let chain_id = provider.get_chain_id().await.chain_context("eth_chainId")?;
        let plain = ProviderBuilder::new()
            .connect_http(rpc_url.parse().expect("checked above"))
            .erased();
        Ok(Self {
            provider,
            rpc: AnvilRpc::new(plain),
            deployment,
            chain_id,
            deployer,
            facilitator,
            payers: Vec::new(),
            payees: Vec::new(),
            next_nonce: Vec::new(),
            escrows: Vec::new(),
            counts: TrafficCounts::default(),
            rng: u64::from_le_bytes(keccak256(seed.as_bytes())[..8].try_into().expect("8 bytes"))
                | 1,
            seed: seed.to_string(),
            rpc_url: rpc_url.to_string(),
        })
    }

    /// The provider traffic is sent with (its wallet holds every generator key).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The facilitator address every payment names.
    pub fn facilitator(&self) -> Address {
        self.facilitator.address()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: reproducible, good enough to vary amounts and choices.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.next_random() % n as u64) as usize
    }

    async fn chain_time(&self) -> Result<u64> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .chain_context("reading the latest block")?
            .ok_or_else(|| Error::Setup("no latest block".into()))?;
        Ok(block.header.timestamp)
    }

    /// Waits for a sent transaction's receipt by asking for it directly (anvil mines on send, so
    /// it is usually there at once; alloy's block-watching `get_receipt` would wait for a poll
    /// tick) and fails when it reverted.
    async fn mined(
        &mut self,
        what: &str,
        pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<TransactionReceipt> {
        let receipt = self.receipt(what, *pending.tx_hash()).await?;
        self.counts.transactions += 1;
        Ok(receipt)
    }

    async fn receipt(
        &self,
        what: &str,
        hash: alloy::primitives::TxHash,
    ) -> Result<TransactionReceipt> {
        let started = std::time::Instant::now();
        let timeout = std::time::Duration::from_secs(120);
        loop {
            let found = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .chain_context(format!("{what}: reading the receipt of {hash}"))?;
            if let Some(receipt) = found {
                if !receipt.status() {
                    return Err(Error::Chain {
                        context: what.to_string(),
                        message: format!("transaction {hash} reverted"),
                    });
                }
                return Ok(receipt);
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: format!("{what}: transaction {hash} to be mined"),
                    after: timeout,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Adds `payers` payer and `payees` payee wallets: ether for gas, `tokens_per_payer` whole
    /// tokens of every payment token minted to each payer, Permit2 approved for every token, and
    /// each payee's approval of the settlement contract (for refunds).
    pub async fn fund(
        &mut self,
        payers: usize,
        payees: usize,
        tokens_per_payer: u64,
    ) -> Result<()> {
        for (what, hash) in self.fund_unmined(payers, payees, tokens_per_payer).await? {
            self.receipt(what, hash).await?;
        }
        Ok(())
    }

    /// [`Self::fund`] without waiting: sends the transactions and returns them (what each is for,
    /// its hash), for a caller that mines them itself (see [`crate::mined::mine_all`]). They count
    /// in [`TrafficCounts::transactions`] already.
    pub async fn fund_unmined(
        &mut self,
        payers: usize,
        payees: usize,
        tokens_per_payer: u64,
    ) -> Result<Vec<(&'static str, B256)>> {
        let start_payer = self.payers.len();
        let start_payee = self.payees.len();
        let mut wallet = EthereumWallet::new(self.deployer.clone());
        wallet.register_signer(self.facilitator.clone());
        let new_payers: Vec<_> = (start_payer..start_payer + payers)
            .map(|i| wallets::derived(&format!("{}/payer", self.seed), i as u64))
            .collect();
        let new_payees: Vec<_> = (start_payee..start_payee + payees)
            .map(|i| wallets::derived(&format!("{}/payee", self.seed), i as u64))
            .collect();
        self.payers.extend(new_payers.iter().cloned());
        self.payees.extend(new_payees.iter().cloned());
        self.next_nonce.resize(self.payers.len(), 0);
        for s in self.payers.iter().chain(self.payees.iter()) {
            wallet.register_signer(s.clone());
        }
        self.provider = provider_for(&self.rpc_url(), wallet)?;
        let ether = U256::from(10u64).pow(U256::from(20u64));
        for s in new_payers.iter().chain(new_payees.iter()) {
            self.rpc.set_balance(s.address(), ether).await?;
        }
        let tokens = self.deployment.tokens.clone();
        // Send everything first and check the receipts after: one round trip per transaction
        // instead of two (the nonce filler reads the pending nonce, so order is kept).
        let mut sent = Vec::new();
        for p in &new_payers {
            for t in &tokens {
                let amount =
                    U256::from(tokens_per_payer) * U256::from(10u64).pow(U256::from(t.decimals));
                let mint = demo::IDemoToken::new(t.address, self.provider.clone())
                    .mint(p.address(), amount)
                    .from(self.deployer.address())
                    .gas(FUNDING_GAS)
                    .send()
                    .await
                    .chain_context(format!("minting {} to {}", t.symbol, p.address()))?;
                sent.push(("mint", *mint.tx_hash()));
                let approve = IERC20::new(t.address, self.provider.clone())
                    .approve(self.deployment.permit2, U256::MAX)
                    .from(p.address())
                    .gas(FUNDING_GAS)
                    .send()
                    .await
                    .chain_context(format!("approving Permit2 for {}", p.address()))?;
                sent.push(("approve Permit2", *approve.tx_hash()));
            }
        }
        for p in &new_payees {
            for t in &tokens {
                let approve = IERC20::new(t.address, self.provider.clone())
                    .approve(self.deployment.settlement, U256::MAX)
                    .from(p.address())
                    .gas(FUNDING_GAS)
                    .send()
                    .await
                    .chain_context(format!(
                        "payee {} approving the settlement contract",
                        p.address()
                    ))?;
                sent.push(("payee approve", *approve.tx_hash()));
            }
        }
        self.counts.transactions += sent.len() as u64;
        Ok(sent)
    }

    fn rpc_url(&self) -> String {
        self.rpc_url.clone()
    }

    /// Signs a payment from payer `payer` to payee `payee`.
    pub async fn sign_payment(
        &mut self,
        payer: usize,
        payee: usize,
        token: Address,
        amount: U256,
        mode: PaymentMode,
        expiries: (u64, u64),
    ) -> Result<SignedPayment> {
        let now = self.chain_time().await?;
        self.sign_payment_at(payer, payee, token, amount, mode, expiries, now)
    }

    /// [`Self::sign_payment`] with the chain time given (saves a round trip per payment).
    #[allow(clippy::too_many_arguments)]
    pub fn sign_payment_at(
        &mut self,
        payer: usize,
        payee: usize,
        token: Address,
        amount: U256,
        mode: PaymentMode,
        expiries: (u64, u64),
        now: u64,
    ) -> Result<SignedPayment> {
        let nonce = self.next_nonce[payer];
        self.next_nonce[payer] += 1;
        let request_hash = keccak256(format!("request/{}/{payer}/{nonce}", self.seed));
        let permit = PaymentPermit {
            chain_id: self.chain_id,
            permit2: self.deployment.permit2,
            settlement: self.deployment.settlement,
            token,
            amount,
            nonce: U256::from(nonce),
            deadline: now + 30 * 24 * 3600,
            terms: PaymentTerms {
                payer: self.payers[payer].address(),
                payee: self.payees[payee].address(),
                facilitator: self.facilitator.address(),
                request_hash,
                max_facilitator_fee_bps: 100,
                valid_after: 0,
                mode,
                authorization_expiry: expiries.0,
                refund_expiry: expiries.1,
            },
        };
        let signer = &self.payers[payer];
        permit
            .sign_sync(signer)
            .map_err(|e| Error::Setup(format!("signing a payment: {e}")))
    }

    fn settlement(&self) -> X402Settlement::X402SettlementInstance<DynProvider> {
        X402Settlement::new(self.deployment.settlement, self.provider.clone())
    }

    fn random_token(&mut self) -> (Address, U256) {
        let i = self.pick(self.deployment.tokens.len());
        let t = &self.deployment.tokens[i];
        let unit = U256::from(10u64).pow(U256::from(t.decimals.saturating_sub(3)));
        let address = t.address;
        let amount = unit * U256::from(1 + self.next_random() % 1000);
        (address, amount)
    }

    fn need_wallets(&self) -> Result<()> {
        if self.payers.is_empty() || self.payees.is_empty() {
            return Err(Error::Setup(
                "call Traffic::fund before sending payments".into(),
            ));
        }
        Ok(())
    }

    /// One `charge` (Exact or Upto: Upto settles 3/4 of the signed maximum).
    pub async fn charge(&mut self, mode: PaymentMode) -> Result<TransactionReceipt> {
        self.need_wallets()?;
        let (payer, payee) = (self.pick(self.payers.len()), self.pick(self.payees.len()));
        let (token, max) = self.random_token();
        let signed = self
            .sign_payment(payer, payee, token, max, mode, (0, 0))
            .await?;
        let amount = if mode == PaymentMode::Upto {
            max * U256::from(3u64) / U256::from(4u64)
        } else {
            max
        };
        let call = signed.to_call().map_err(|e| Error::Setup(e.to_string()))?;
        let evidence = keccak256(signed.payment_id);
        let pending = self
            .settlement()
            .charge(call, amount, 50, evidence)
            .from(self.facilitator.address())
            .send()
            .await
            .chain_context("charge")?;
        let receipt = self.mined("charge", pending).await?;
        self.counts.charges += 1;
        Ok(receipt)
    }

    /// Signs `items` Exact/Upto payments, round-robin over the payers.
    pub fn sign_batch(
        &mut self,
        items: usize,
        now: u64,
    ) -> Result<Vec<IX402Settlement::BatchItem>> {
        self.need_wallets()?;
        let mut out = Vec::with_capacity(items);
        for i in 0..items {
            let payer = (self.counts.charges as usize + i) % self.payers.len();
            let payee = self.pick(self.payees.len());
            let (token, max) = self.random_token();
            let mode = if i % 2 == 0 {
                PaymentMode::Exact
            } else {
                PaymentMode::Upto
            };
            let signed = self.sign_payment_at(payer, payee, token, max, mode, (0, 0), now)?;
            let amount = if mode == PaymentMode::Upto {
                max / U256::from(2u64)
            } else {
                max
            };
            out.push(IX402Settlement::BatchItem {
                payment: signed.to_call().map_err(|e| Error::Setup(e.to_string()))?,
                amount,
                facilitatorFeeBps: 50,
                evidenceHash: keccak256(signed.payment_id),
            });
        }
        Ok(out)
    }

    /// One `chargeBatch` of `items` payments; with `failing > 0`, that many extra items replay an
    /// already-used nonce so the batch also emits `BatchItemFailed`.
    pub async fn charge_batch(
        &mut self,
        items: usize,
        failing: usize,
        commit_root: bool,
    ) -> Result<TransactionReceipt> {
        let now = self.chain_time().await?;
        let mut batch = self.sign_batch(items, now)?;
        for i in 0..failing.min(items) {
            // The same signed payment again: Permit2 rejects the spent nonce, only this item fails.
            let dup = batch[i].clone();
            batch.push(dup);
        }
        let receipt = self.send_batch(batch, commit_root).await?;
        self.counts.charges += items as u64;
        self.counts.failed_items += failing.min(items) as u64;
        Ok(receipt)
    }

    /// Sends a signed batch as the facilitator, with a gas limit sized to it (no estimate round).
    pub async fn send_batch(
        &mut self,
        batch: Vec<IX402Settlement::BatchItem>,
        commit_root: bool,
    ) -> Result<TransactionReceipt> {
        // What the items use, plus what the contract keeps back before each item (two item
        // limits and its reserve) so a batch this size is never cut short.
        let gas = 200_000
            + BATCH_GAS_PER_ITEM * batch.len() as u64
            + 2 * u64::from(BATCH_ITEM_GAS_LIMIT)
            + 100_000;
        let pending = self
            .settlement()
            .chargeBatch(batch, commit_root, BATCH_ITEM_GAS_LIMIT)
            .from(self.facilitator.address())
            .gas(gas)
            .send()
            .await
            .chain_context("chargeBatch")?;
        let receipt = self.mined("chargeBatch", pending).await?;
        self.counts.batches += 1;
        Ok(receipt)
    }

    /// Authorizes an escrow (expiring `auth_secs` from now; refunds allowed for twice that).
    pub async fn authorize(&mut self, auth_secs: u64) -> Result<OpenEscrow> {
        self.need_wallets()?;
        let (payer, payee) = (self.pick(self.payers.len()), self.pick(self.payees.len()));
        let (token, max) = self.random_token();
        let now = self.chain_time().await?;
        let signed = self
            .sign_payment(
                payer,
                payee,
                token,
                max,
                PaymentMode::Escrow,
                (now + auth_secs, now + 2 * auth_secs),
            )
            .await?;
        let call = signed.to_call().map_err(|e| Error::Setup(e.to_string()))?;
        let pending = self
            .settlement()
            .authorize(call)
            .from(self.facilitator.address())
            .send()
            .await
            .chain_context("authorize")?;
        self.mined("authorize", pending).await?;
        self.counts.escrow_ops += 1;
        let escrow = OpenEscrow {
            payment_id: signed.payment_id,
            escrow_ref: signed
                .escrow_ref()
                .map_err(|e| Error::Setup(e.to_string()))?,
            payer,
            payee,
            token,
            authorized: max,
            captured: U256::ZERO,
        };
        self.escrows.push(escrow.clone());
        Ok(escrow)
    }

    /// Captures `amount` of an open escrow.
    pub async fn capture(&mut self, escrow: usize, amount: U256) -> Result<TransactionReceipt> {
        let id = self.escrows[escrow].payment_id;
        let escrow_ref = self.escrows[escrow].escrow_ref.clone();
        let pending = self
            .settlement()
            .capture(escrow_ref, amount, 50, keccak256(id))
            .from(self.facilitator.address())
            .send()
            .await
            .chain_context("capture")?;
        let receipt = self.mined("capture", pending).await?;
        self.escrows[escrow].captured += amount;
        self.counts.escrow_ops += 1;
        Ok(receipt)
    }

    /// The facilitator voids an escrow (returns the rest to the payer).
    pub async fn void(&mut self, escrow: usize) -> Result<TransactionReceipt> {
        let escrow_ref = self.escrows[escrow].escrow_ref.clone();
        let pending = self
            .settlement()
            .void(escrow_ref)
            .from(self.facilitator.address())
            .send()
            .await
            .chain_context("void")?;
        let receipt = self.mined("void", pending).await?;
        self.counts.escrow_ops += 1;
        Ok(receipt)
    }

    /// The payer reclaims an escrow (only after its authorization expiry: see [`AnvilRpc::increase_time`]).
    pub async fn reclaim(&mut self, escrow: usize) -> Result<TransactionReceipt> {
        let e = self.escrows[escrow].clone();
        let pending = self
            .settlement()
            .reclaim(e.escrow_ref)
            .from(self.payers[e.payer].address())
            .send()
            .await
            .chain_context("reclaim")?;
        let receipt = self.mined("reclaim", pending).await?;
        self.counts.escrow_ops += 1;
        Ok(receipt)
    }

    /// The payee refunds `amount` of what was captured.
    pub async fn refund(&mut self, escrow: usize, amount: U256) -> Result<TransactionReceipt> {
        let e = self.escrows[escrow].clone();
        let pending = self
            .settlement()
            .refund(e.escrow_ref, amount)
            .from(self.payees[e.payee].address())
            .send()
            .await
            .chain_context("refund")?;
        let receipt = self.mined("refund", pending).await?;
        self.counts.escrow_ops += 1;
        Ok(receipt)
    }

    /// A whole escrow lifecycle: authorize, capture half, refund a quarter of that, void the rest;
    /// and a second escrow that the payer reclaims after its expiry (moves anvil's clock).
    pub async fn escrow_lifecycle(&mut self) -> Result<()> {
        let e = self.authorize(3600).await?;
        let i = self.escrows.len() - 1;
        let half = e.authorized / U256::from(2u64);
        self.capture(i, half).await?;
        self.refund(i, half / U256::from(4u64)).await?;
        self.void(i).await?;
        self.escrows.remove(i);

        self.authorize(60).await?;
        let j = self.escrows.len() - 1;
        self.rpc.increase_time(61).await?;
        self.reclaim(j).await?;
        self.escrows.remove(j);
        Ok(())
    }

    /// Registry and settings events: the owner sets a protocol fee (so payments also pay the
    /// treasury), labels and unlabels a wallet, a payee declares one, a payer sets a (generous)
    /// spending policy and a payee registers a split.
    pub async fn settings(&mut self) -> Result<()> {
        self.need_wallets()?;
        let bps = 5 + (self.next_random() % 20) as u16;
        let treasury = wallets::derived(&format!("{}/treasury", self.seed), 0).address();
        let pending = self
            .settlement()
            .setTreasury(treasury)
            .from(self.deployer.address())
            .send()
            .await
            .chain_context("setTreasury")?;
        self.mined("setTreasury", pending).await?;
        let pending = self
            .settlement()
            .setProtocolFee(bps)
            .from(self.deployer.address())
            .send()
            .await
            .chain_context("setProtocolFee")?;
        self.mined("setProtocolFee", pending).await?;

        let registry = EcosystemRegistry::new(self.deployment.registry, self.provider.clone());
        let labeled =
            wallets::derived(&format!("{}/labeled", self.seed), self.next_random()).address();
        let role = (self.next_random() % 8) as u8;
        let pending = registry
            .label(labeled, role, "testkit label".into())
            .from(self.deployer.address())
            .send()
            .await
            .chain_context("registry label")?;
        self.mined("label", pending).await?;
        let pending = registry
            .unlabel(labeled, role, "testkit unlabel".into())
            .from(self.deployer.address())
            .send()
            .await
            .chain_context("registry unlabel")?;
        self.mined("unlabel", pending).await?;

        let payee = self.pick(self.payees.len());
        let declared =
            wallets::derived(&format!("{}/declared", self.seed), self.next_random()).address();
        let pending = registry
            .declareWallet(declared, true, "testkit declared".into())
            .from(self.payees[payee].address())
            .send()
            .await
            .chain_context("declareWallet")?;
        self.mined("declareWallet", pending).await?;

        let payer = self.pick(self.payers.len());
        let token = self.deployment.tokens[0].address;
        let policy = IX402Settlement::SpendingPolicy {
            maxPerPayment: u128::MAX / 4,
            maxPerPeriod: u128::MAX / 2,
            period: 86_400,
            loosenDelay: 0,
        };
        let pending = self
            .settlement()
            .setSpendingPolicy(token, policy)
            .from(self.payers[payer].address())
            .send()
            .await
            .chain_context("setSpendingPolicy")?;
        self.mined("setSpendingPolicy", pending).await?;

        let recipient = wallets::derived(&format!("{}/split", self.seed), payee as u64).address();
        let pending = self
            .settlement()
            .setSplit(vec![recipient], vec![500])
            .from(self.payees[payee].address())
            .send()
            .await
            .chain_context("setSplit")?;
        self.mined("setSplit", pending).await?;
        Ok(())
    }

    /// A plain ERC-20 transfer between two payers (funding lineage the indexer must keep).
    pub async fn token_transfer(&mut self) -> Result<TransactionReceipt> {
        self.need_wallets()?;
        let (a, b) = (self.pick(self.payers.len()), self.pick(self.payers.len()));
        let (token, amount) = self.random_token();
        let pending = IERC20::new(token, self.provider.clone())
            .transfer(self.payers[b].address(), amount)
            .from(self.payers[a].address())
            .send()
            .await
            .chain_context("token transfer")?;
        self.mined("transfer", pending).await
    }

    /// Native currency moves: the deployer tops up a payer's gas, a payer pays a payee in ether,
    /// and that payer sends ether to the settlement contract, which accepts none: the transaction
    /// is mined, reverted, and moved nothing. Returns the two successful transfers' hashes.
    pub async fn native_transfers(&mut self) -> Result<[B256; 2]> {
        use alloy::network::TransactionBuilder;
        use alloy::rpc::types::TransactionRequest;
        self.need_wallets()?;
        let (i, j) = (self.pick(self.payers.len()), self.pick(self.payees.len()));
        let (payer, payee) = (self.payers[i].address(), self.payees[j].address());
        let gwei = U256::from(1_000_000_000u64);
        let mut done = [B256::ZERO; 2];
        for (i, (from, to, value)) in [
            (
                self.deployer.address(),
                payer,
                gwei * U256::from(10_000_000u64),
            ),
            (payer, payee, gwei * U256::from(12_345u64)),
        ]
        .into_iter()
        .enumerate()
        {
            let tx = TransactionRequest::default()
                .with_from(from)
                .with_to(to)
                .with_value(value);
            let pending = self
                .provider
                .send_transaction(tx)
                .await
                .chain_context("native transfer")?;
            done[i] = *pending.tx_hash();
            self.mined("native transfer", pending).await?;
        }
        let tx = TransactionRequest::default()
            .with_from(payer)
            .with_to(self.deployment.settlement)
            .with_value(U256::from(1u64))
            .with_gas_limit(100_000);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .chain_context("reverting native transfer")?;
        let hash = *pending.tx_hash();
        let started = std::time::Instant::now();
        loop {
            let found = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .chain_context(format!("reading the receipt of {hash}"))?;
            if let Some(r) = found {
                if r.status() {
                    return Err(Error::Setup(format!(
                        "ether sent to the settlement contract was accepted ({hash})"
                    )));
                }
                break;
            }
            if started.elapsed() > std::time::Duration::from_secs(120) {
                return Err(Error::Timeout {
                    what: format!("the receipt of {hash}"),
                    after: started.elapsed(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.counts.transactions += 1;
        Ok(done)
    }

    /// One round of everything: settings events (a split first, so the payments below pay it),
    /// native transfers (one reverted), two charges (exact, upto), a batch with one failing item,
    /// an escrow lifecycle and a plain transfer.
    pub async fn round(&mut self) -> Result<()> {
        self.settings().await?;
        self.native_transfers().await?;
        self.charge(PaymentMode::Exact).await?;
        self.charge(PaymentMode::Upto).await?;
        self.charge_batch(6, 1, true).await?;
        self.escrow_lifecycle().await?;
        self.token_transfer().await?;
        Ok(())
    }

    /// The anvil RPC helper on the same node.
    pub fn anvil(&self) -> &AnvilRpc {
        &self.rpc
    }
}
