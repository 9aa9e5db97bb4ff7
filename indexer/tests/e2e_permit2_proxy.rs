//! Standard x402 Permit2 payments: a facilitator calls x402's Permit2 proxy, which moves the
//! payer's tokens to the payee and emits `Settled()` / `SettledWithPermit()`. Through the real
//! `x402-indexer` binary each must become one payment with `source = 'permit2_proxy'` (payer =
//! Transfer.from, payee = Transfer.to, facilitator = the transaction's sender), exactly once
//! through RPC faults on the receipts the senders come from, a reorg and a restart.
//!
//! The code placed at x402's proxy address (anvil_setCode) is not x402's proxy: it is a minimal
//! contract that does what the indexer observes of one, a `transferFrom(payer, payee, amount)` of
//! the token followed by the proxy's event, in a transaction sent to the proxy address. The
//! indexer reads only those logs and the transaction's sender and recipient, never the Permit2
//! signature, so this exercises exactly the indexer's side.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolEvent, SolValue};
use sqlx::Row;
use x402_bindings::IERC20;
use x402_domain::X402_EXACT_PERMIT2_PROXY;
use x402_indexer::decode::{Settled, SettledWithPermit};
use x402_testkit::proxy::Faults;
use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};
use x402_testkit::wallets;

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");
const SYNC: Duration = Duration::from_secs(90);

/// Runtime code: calldata = abi.encode(token, from, to, amount, topic); calls
/// `token.transferFrom(from, to, amount)`, reverts if it fails, then emits LOG1(topic) with no
/// data (the shape of `Settled()` / `SettledWithPermit()`).
///
/// ```text
/// 0x00 PUSH4 0x23b872dd PUSH1 0xe0 SHL PUSH1 0 MSTORE        selector at memory 0..4
/// 0x0b PUSH1 0x20 CALLDATALOAD PUSH1 0x04 MSTORE              from
/// 0x11 PUSH1 0x40 CALLDATALOAD PUSH1 0x24 MSTORE              to
/// 0x17 PUSH1 0x60 CALLDATALOAD PUSH1 0x44 MSTORE              amount
/// 0x1d PUSH1 0x20 PUSH1 0 PUSH1 0x64 PUSH1 0 PUSH1 0 PUSH1 0 CALLDATALOAD GAS CALL
/// 0x2c ISZERO PUSH1 0x39 JUMPI
/// 0x30 PUSH1 0x80 CALLDATALOAD PUSH1 0 PUSH1 0 LOG1 STOP
/// 0x39 JUMPDEST PUSH1 0 DUP1 REVERT
/// ```
const PROXY_STAND_IN: &str = "6323b872dd60e01b600052602035600452604035602452606035604452602060006064600060006000355af115603957608035600060 00a1005b600080fd";

fn stand_in_code() -> Bytes {
    alloy::hex::decode(PROXY_STAND_IN.replace(' ', ""))
        .expect("hex")
        .into()
}

async fn send_as(
    s: &Scenario,
    who: &PrivateKeySigner,
    tx: TransactionRequest,
) -> anyhow::Result<()> {
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(who.clone()))
        .connect_http(s.chain.anvil.url().parse()?);
    let r = p.send_transaction(tx).await?.get_receipt().await?;
    anyhow::ensure!(r.status(), "transaction {} reverted", r.transaction_hash);
    Ok(())
}

/// `payer` lets the proxy pull `token`; `facilitator` calls the proxy, which moves `amount` to
/// `payee` and emits `topic`.
async fn pay(
    s: &Scenario,
    token: Address,
    payer: &PrivateKeySigner,
    payee: Address,
    amount: u64,
    facilitator: &PrivateKeySigner,
    topic: B256,
) -> anyhow::Result<()> {
    let approve = IERC20::approveCall {
        spender: X402_EXACT_PERMIT2_PROXY,
        value: U256::from(amount),
    };
    send_as(
        s,
        payer,
        TransactionRequest::default()
            .to(token)
            .input(alloy::sol_types::SolCall::abi_encode(&approve).into()),
    )
    .await?;
    let call = (token, payer.address(), payee, U256::from(amount), topic).abi_encode();
    send_as(
        s,
        facilitator,
        TransactionRequest::default()
            .to(X402_EXACT_PERMIT2_PROXY)
            .input(call.into()),
    )
    .await
}

/// (payer, payee, amount, facilitator, listed, token) of every proxy payment.
async fn proxy_payments(
    s: &Scenario,
) -> anyhow::Result<Vec<(Address, Address, U256, Address, bool, Address)>> {
    let rows = sqlx::query(
        "SELECT payer, payee, settled_amount::text AS amount, facilitator, facilitator_listed, token
         FROM payments WHERE chain_id = $1 AND source = 'permit2_proxy'",
    )
    .bind(s.chain.deployment.chain_id as i64)
    .fetch_all(&s.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let addr = |c: &str| Address::from_slice(&r.get::<Vec<u8>, _>(c));
        out.push((
            addr("payer"),
            addr("payee"),
            r.get::<String, _>("amount").parse()?,
            addr("facilitator"),
            r.get("facilitator_listed"),
            addr("token"),
        ));
    }
    out.sort();
    Ok(out)
}

/// Places the proxy stand-in at x402's exact proxy address and funds a facilitator's gas.
async fn stand_in_proxy(s: &Scenario, seed: &str) -> anyhow::Result<PrivateKeySigner> {
    let facilitator = wallets::derived(&format!("{seed}/facilitator"), 0);
    s.traffic
        .anvil()
        .set_balance(
            facilitator.address(),
            U256::from(10u64).pow(U256::from(20u64)),
        )
        .await?;
    s.chain
        .anvil
        .provider()
        .raw_request::<_, serde_json::Value>(
            "anvil_setCode".into(),
            (X402_EXACT_PERMIT2_PROXY, stand_in_code()),
        )
        .await?;
    Ok(facilitator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_settlements_are_payments_through_faults_a_reorg_and_a_restart() -> anyhow::Result<()>
{
    // Senders from receipts (no block transactions), one block per range: the faults on the
    // receipts hit the new fetch.
    let settings = IndexerSettings {
        native_transfers: Some(false),
        initial_blocks: 1,
        max_blocks: 1,
        ..IndexerSettings::default()
    };
    let opts = ScenarioOptions {
        proxy: true,
        indexer: settings,
        ..ScenarioOptions::default()
    };
    let s = Scenario::start(BIN, "e2e-permit2-proxy", opts).await?;
    let facilitator = stand_in_proxy(&s, "e2e-permit2-proxy").await?;
    let token = s.chain.deployment.tokens[0].address;
    let payers = s.traffic.payers.clone();
    let payees: Vec<Address> = s.traffic.payees.iter().map(|p| p.address()).collect();

    pay(
        &s,
        token,
        &payers[0],
        payees[0],
        1_000,
        &facilitator,
        Settled::SIGNATURE_HASH,
    )
    .await?;
    pay(
        &s,
        token,
        &payers[1],
        payees[1],
        2_500,
        &facilitator,
        SettledWithPermit::SIGNATURE_HASH,
    )
    .await?;
    // Proxy logs without a Transfer, or in a transaction not sent to the proxy, are not
    // payments: the pairing's unit tests (decode::permit2_proxy) cover them.

    let proxy = s.proxy.as_ref().expect("asked for a proxy");
    proxy.set_faults(Faults {
        methods: vec!["eth_getTransactionReceipt".into()],
        null_receipts_every: 2,
        truncate_every: 3,
        http_500_every: 5,
        ..Faults::default()
    });
    s.indexer
        .index_until_caught_up(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\nproxy: {}", proxy.stats().summary()))?;
    s.assert_consistent()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let stats = proxy.stats();
    assert!(stats.injected() >= 2, "{}", stats.summary());

    let f = facilitator.address();
    let first = (
        payers[0].address(),
        payees[0],
        U256::from(1_000),
        f,
        false,
        token,
    );
    let second = (
        payers[1].address(),
        payees[1],
        U256::from(2_500),
        f,
        false,
        token,
    );
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(proxy_payments(&s).await?, both);
    let with_permit: Vec<bool> = sqlx::query_scalar(
        "SELECT with_permit FROM permit2_proxy_settlements WHERE chain_id = $1 ORDER BY block_number",
    )
    .bind(s.chain.deployment.chain_id as i64)
    .fetch_all(&s.pool)
    .await?;
    assert_eq!(with_permit, vec![false, true]);

    // A reorg drops the last payment; the indexer (restarted: it compares its window with the
    // chain at start) drops it too, and indexing again adds nothing twice.
    proxy.set_faults(Faults::default());
    s.traffic.anvil().rollback(1).await?;
    s.traffic.anvil().mine(1).await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    s.assert_consistent()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(proxy_payments(&s).await?, vec![first]);
    pay(
        &s,
        token,
        &payers[1],
        payees[1],
        2_500,
        &facilitator,
        SettledWithPermit::SIGNATURE_HASH,
    )
    .await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    s.assert_consistent()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(proxy_payments(&s).await?, both);
    Ok(())
}

/// Scoped lineage (issue 15) fetches no `Transfer` in its sweep: the Transfers of the proxy
/// settlements' transactions are asked for by block hash, so the proxy payments are the same as
/// with full indexing and their payers and payees become lineage wallets, whose every `Transfer`
/// is then stored; indexing again adds nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_lineage_tracks_the_payers_of_proxy_payments() -> anyhow::Result<()> {
    let opts = ScenarioOptions {
        indexer: IndexerSettings {
            scoped_lineage: Some(2),
            ..IndexerSettings::default()
        },
        ..ScenarioOptions::default()
    };
    let s = Scenario::start(BIN, "e2e-permit2-proxy-scoped", opts).await?;
    let facilitator = stand_in_proxy(&s, "e2e-permit2-proxy-scoped").await?;
    let token = s.chain.deployment.tokens[0].address;
    let payers = s.traffic.payers.clone();
    let payees: Vec<Address> = s.traffic.payees.iter().map(|p| p.address()).collect();
    for (i, amount) in [(0, 1_000u64), (1, 2_500)] {
        pay(
            &s,
            token,
            &payers[i],
            payees[i],
            amount,
            &facilitator,
            Settled::SIGNATURE_HASH,
        )
        .await?;
    }
    s.indexer.index_until_caught_up(SYNC).await?;

    let f = facilitator.address();
    let mut expected = vec![
        (
            payers[0].address(),
            payees[0],
            U256::from(1_000),
            f,
            false,
            token,
        ),
        (
            payers[1].address(),
            payees[1],
            U256::from(2_500),
            f,
            false,
            token,
        ),
    ];
    expected.sort();
    assert_eq!(proxy_payments(&s).await?, expected);
    let chain_id = s.chain.deployment.chain_id as i64;
    let depth = |wallet: Address| {
        sqlx::query_scalar::<_, i32>(
            "SELECT depth FROM lineage_wallets WHERE chain_id = $1 AND address = $2",
        )
        .bind(chain_id)
        .bind(wallet.to_vec())
        .fetch_optional(&s.pool)
    };
    for wallet in [
        payers[0].address(),
        payers[1].address(),
        payees[0],
        payees[1],
    ] {
        assert_eq!(
            depth(wallet).await?,
            Some(0),
            "{wallet} is a depth-0 lineage wallet"
        );
    }
    // Every Transfer from or to a proxy payer, on the chain and in the database.
    let provider = s.chain.anvil.provider();
    for payer in [payers[0].address(), payers[1].address()] {
        let mut on_chain = 0;
        for position in [1, 2] {
            let filter = alloy::rpc::types::Filter::new()
                .from_block(0)
                .address(token)
                .event_signature(IERC20::Transfer::SIGNATURE_HASH);
            let filter = if position == 1 {
                filter.topic1(payer.into_word())
            } else {
                filter.topic2(payer.into_word())
            };
            on_chain += provider.get_logs(&filter).await?.len();
        }
        let stored: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM token_transfers WHERE chain_id = $1 AND token = $2
             AND (from_address = $3 OR to_address = $3)",
        )
        .bind(chain_id)
        .bind(token.to_vec())
        .bind(payer.to_vec())
        .fetch_one(&s.pool)
        .await?;
        assert!(on_chain >= 2, "the payer's funding and payment: {on_chain}");
        assert_eq!(stored as usize, on_chain, "every Transfer of payer {payer}");
    }

    s.indexer.index_until_caught_up(SYNC).await?;
    assert_eq!(proxy_payments(&s).await?, expected);
    Ok(())
}
