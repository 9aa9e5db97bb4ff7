//! The official x402 SDK, unmodified from npm (`facilitator/sdk-e2e`, `@x402/*` 2.27.0 pinned),
//! pays and settles through `x402-facilitator`: an `@x402/express` server using our facilitator
//! URL (with an API key, sent the SDK's way) and `@x402/fetch` / `@x402/evm` clients paying
//! EIP-3009 USDC (FiatToken v2.2) on anvil. This test prepares the chain and the facilitator, runs
//! `node facilitator/sdk-e2e/e2e.mjs`, then checks the SDK's answers and the chain.

mod harness;

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use harness::{key_hex, run_sdk_script, sdk_dir, Env};
use serde_json::Value;
use x402_bindings::X402Settlement::AuthorizationCharged;

alloy::sol! {
    #[sol(rpc)]
    interface IBlacklist {
        function blacklist(address account) external;
    }
}

const PRICE: u64 = 1000;

/// The `AuthorizationCharged` events a transaction emitted.
async fn charged_in(env: &Env, tx: &str) -> Vec<AuthorizationCharged> {
    let hash: B256 = tx
        .parse()
        .unwrap_or_else(|e| panic!("transaction {tx:?}: {e}"));
    let receipt = env
        .reader()
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .expect("mined");
    receipt
        .inner
        .logs()
        .iter()
        .filter(|l| {
            l.address() == env.chain.deployment.settlement
                && l.topics().first() == Some(&AuthorizationCharged::SIGNATURE_HASH)
        })
        .map(|l| l.log_decode::<AuthorizationCharged>().unwrap().inner.data)
        .collect()
}

#[tokio::test]
async fn the_unmodified_x402_sdk_pays_and_settles_through_us() {
    let dir = sdk_dir();
    assert!(
        dir.join("node_modules/@x402/express/package.json").exists(),
        "the SDK packages are not installed: run `npm ci --prefix facilitator/sdk-e2e` (script/test.sh does)"
    );
    let env = Env::start(2, None).await;
    let payer = env.payer(0);
    let blocked = env.payer(1);
    let poor = PrivateKeySigner::random();
    IBlacklist::new(
        env.token.address,
        env.provider_as(&x402_testkit::wallets::deployer()),
    )
    .blacklist(blocked.address())
    .send()
    .await
    .unwrap()
    .get_receipt()
    .await
    .unwrap();

    let scratch = x402_testkit::paths::scratch_dir("sdk-e2e").unwrap();
    let keys = scratch.join("api-keys");
    let api_key = format!("sdk-e2e-{}", x402_testkit::unique_suffix());
    std::fs::write(&keys, format!("# test keys\nresource-server:{api_key}\n")).unwrap();
    let f = env
        .facilitator(&[
            "--api-keys-file",
            keys.to_str().unwrap(),
            "--require-api-key",
        ])
        .await;

    let (payer_before, blocked_before, payee_before) = (
        env.balance(payer.address()).await,
        env.balance(blocked.address()).await,
        env.balance(env.payee(0)).await,
    );
    let r = run_sdk_script(
        "e2e.mjs",
        vec![
            ("FACILITATOR_URL", f.url.clone()),
            ("API_KEY", api_key.clone()),
            ("CHAIN_ID", env.chain.deployment.chain_id.to_string()),
            ("USDC", env.token.address.to_string()),
            ("PAYEE", env.payee(0).to_string()),
            ("OTHER_PAYEE", env.payee(1).to_string()),
            ("PAYER_KEY", key_hex(&payer)),
            ("BLOCKED_KEY", key_hex(&blocked)),
            ("POOR_KEY", key_hex(&poor)),
        ],
        Duration::from_secs(180),
        &f,
    )
    .await;

    // Every refusal reached the SDK with the SDK's own reason code.
    assert_eq!(r["replay"], "invalid_exact_evm_nonce_already_used", "{r}");
    assert_eq!(
        r["insufficientBalance"], "invalid_exact_evm_insufficient_balance",
        "{r}"
    );
    assert_eq!(r["blocklisted"], "blacklisted_address", "{r}");
    assert_eq!(
        r["expired"], "invalid_exact_evm_payload_authorization_valid_before",
        "{r}"
    );
    assert_eq!(
        r["wrongPayTo"], "invalid_exact_evm_recipient_mismatch",
        "{r}"
    );
    assert_eq!(
        r["wrongPayToSettle"], "invalid_exact_evm_recipient_mismatch",
        "{r}"
    );
    assert!(
        r["withoutKey"].as_str().unwrap_or_default().contains("401"),
        "no key must be refused: {r}"
    );
    let concurrent = r["concurrent"]["transactions"].as_array().unwrap();
    assert_eq!(
        concurrent.len(),
        1,
        "concurrent settles of one authorization name one transaction: {r}"
    );

    // Exactly three payments moved money: paid, wrapped, concurrent; nothing for the refusals.
    let paid = U256::from(3 * PRICE);
    assert_eq!(env.balance(payer.address()).await, payer_before - paid);
    assert_eq!(env.balance(env.payee(0)).await, payee_before + paid);
    assert_eq!(env.balance(blocked.address()).await, blocked_before);
    assert!(env.balance(poor.address()).await.is_zero());

    // Each went through the settlement contract, with the evidence of its response.
    for (what, tx, evidence) in [
        (
            "paid",
            r["paid"]["transaction"].as_str().unwrap(),
            Some(r["paid"]["evidenceHash"].as_str().unwrap()),
        ),
        (
            "wrapped",
            r["wrapped"]["transaction"].as_str().unwrap(),
            Some(r["wrapped"]["evidenceHash"].as_str().unwrap()),
        ),
        ("concurrent", concurrent[0].as_str().unwrap(), None),
    ] {
        let events = charged_in(&env, tx).await;
        assert_eq!(events.len(), 1, "{what}: one AuthorizationCharged in {tx}");
        let e = &events[0];
        assert_eq!(e.payer, payer.address(), "{what}");
        assert_eq!(e.payee, env.payee(0), "{what}");
        assert_eq!(e.amount, U256::from(PRICE), "{what}");
        assert_eq!(e.facilitator, env.facilitator, "{what}");
        let expected: B256 = evidence.map(|h| h.parse().unwrap()).unwrap_or_default();
        assert_eq!(
            e.evidenceHash, expected,
            "{what}: evidence from the settle request's extension (zero without it)"
        );
    }
    assert_eq!(
        r["paid"]["payer"].as_str().unwrap(),
        payer.address().to_checksum(None)
    );
    let _: Address = r["paid"]["payer"].as_str().unwrap().parse().unwrap();
}

/// The TypeScript package `sdk/` signs our Permit2 witness with viem; its unit test and this one
/// share `sdk/test/fixtures/permit2-witness.json`. Here the Rust client reads the fixture's wire
/// JSON and must reproduce its EIP-712 digest and signature, so the two signers cannot drift.
#[test]
fn the_typescript_sdk_signs_the_digest_the_rust_client_signs() {
    use x402_client::header::Permit2Authorization;
    use x402_client::permit::{PaymentMode, PaymentPermit, PaymentTerms};

    let path = x402_testkit::paths::repo_root().join("sdk/test/fixtures/permit2-witness.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let auth: Permit2Authorization =
        serde_json::from_value(fixture["permit2Authorization"].clone()).unwrap();
    let w = &auth.witness;
    let permit = PaymentPermit {
        chain_id: fixture["chainId"].as_u64().unwrap(),
        permit2: fixture["permit2"].as_str().unwrap().parse().unwrap(),
        settlement: auth.spender,
        token: auth.permitted.token,
        amount: auth.permitted.amount,
        nonce: auth.nonce,
        deadline: auth.deadline,
        terms: PaymentTerms {
            payer: w.payer,
            payee: w.payee,
            facilitator: w.facilitator,
            request_hash: w.request_hash,
            max_facilitator_fee_bps: w.max_facilitator_fee_bps,
            valid_after: w.valid_after,
            mode: PaymentMode::try_from(w.mode).unwrap(),
            authorization_expiry: w.authorization_expiry,
            refund_expiry: w.refund_expiry,
        },
    };
    let digest = permit.signing_hash().unwrap();
    assert_eq!(
        digest,
        fixture["digest"].as_str().unwrap().parse::<B256>().unwrap(),
        "EIP-712 digest"
    );
    let key: PrivateKeySigner = fixture["privateKey"].as_str().unwrap().parse().unwrap();
    assert_eq!(key.address(), auth.from);
    let signed = permit.sign_sync(&key).unwrap();
    assert_eq!(
        format!("{}", signed.signature),
        fixture["signature"].as_str().unwrap(),
        "signature"
    );
}

/// The package `sdk/` registered in the unmodified SDK: an `@x402/express` server and an
/// `@x402/fetch` client pay an `exact` and an `upto` route through us
/// (`facilitator/sdk-e2e/settle-sdk.mjs`); the upto handler settles below the signed maximum. The
/// same agent also pays a stock EIP-3009 `exact` provider through the package's fallback.
#[tokio::test]
async fn the_sdk_package_pays_exact_and_upto_through_our_contract() {
    use x402_bindings::X402Settlement::PaymentCharged;
    let dir = sdk_dir();
    let root = x402_testkit::paths::repo_root();
    assert!(
        dir.join("node_modules/@x402/express/package.json").exists()
            && root.join("sdk/dist/src/index.js").exists(),
        "run `npm ci --prefix facilitator/sdk-e2e` and `npm ci --prefix sdk && npm run build --prefix sdk` (script/test.sh does)"
    );
    const EXACT: u64 = 1_000;
    const UPTO_MAX: u64 = 5_000;
    const UPTO_USED: u64 = 1_234;
    let env = Env::start(1, None).await;
    let payer = env.payer(0);
    let f = env.facilitator(&[]).await;
    let payer_before = env.balance(payer.address()).await;

    let r = run_sdk_script(
        "settle-sdk.mjs",
        vec![
            ("FACILITATOR_URL", f.url.clone()),
            ("CHAIN_ID", env.chain.deployment.chain_id.to_string()),
            ("USDC", env.token.address.to_string()),
            ("PAYEE", env.payee(0).to_string()),
            ("PAYER_KEY", key_hex(&payer)),
            ("EXACT_PRICE", EXACT.to_string()),
            ("UPTO_MAX", UPTO_MAX.to_string()),
            ("UPTO_USED", UPTO_USED.to_string()),
        ],
        Duration::from_secs(120),
        &f,
    )
    .await;

    assert!(
        r["exact"]["evidenceHash"].is_string(),
        "the exact handler recorded its evidence: {r}"
    );
    // Each payment went through the settlement contract as our Permit2 witness payment, the upto
    // one charged what the handler used, not the signed maximum.
    for (route, mode, amount, max) in [
        ("exact", 0u8, EXACT, EXACT),
        ("upto", 1, UPTO_USED, UPTO_MAX),
    ] {
        let tx: B256 = r[route]["transaction"].as_str().unwrap().parse().unwrap();
        let receipt = env
            .reader()
            .get_transaction_receipt(tx)
            .await
            .unwrap()
            .expect("mined");
        let events: Vec<PaymentCharged> = receipt
            .inner
            .logs()
            .iter()
            .filter(|l| {
                l.address() == env.chain.deployment.settlement
                    && l.topics().first() == Some(&PaymentCharged::SIGNATURE_HASH)
            })
            .map(|l| l.log_decode::<PaymentCharged>().unwrap().inner.data)
            .collect();
        assert_eq!(events.len(), 1, "{route}: one PaymentCharged in {tx}");
        let e = &events[0];
        assert_eq!(e.payer, payer.address(), "{route}");
        assert_eq!(e.payee, env.payee(0), "{route}");
        assert_eq!(e.token, env.token.address, "{route}");
        assert_eq!(e.facilitator, env.facilitator, "{route}");
        assert_eq!(e.mode, mode, "{route}");
        assert_eq!(e.amount, U256::from(amount), "{route}: settled amount");
        assert_eq!(e.maxAmount, U256::from(max), "{route}: signed maximum");
        let evidence: B256 = r[route]["evidenceHash"]
            .as_str()
            .map(|h| h.parse().unwrap())
            .unwrap_or_default();
        assert_eq!(
            e.evidenceHash, evidence,
            "{route}: the evidence the handler recorded (zero without)"
        );
        assert_eq!(
            r[route]["payer"].as_str().unwrap(),
            payer.address().to_checksum(None),
            "{route}"
        );
    }
    // The same agent paid a stock EIP-3009 `exact` route through its fallback client.
    let tx = r["eip3009"]["transaction"].as_str().unwrap();
    let charged = charged_in(&env, tx).await;
    assert_eq!(
        charged.len(),
        1,
        "eip3009: one AuthorizationCharged in {tx}"
    );
    assert_eq!(charged[0].payer, payer.address());
    assert_eq!(charged[0].amount, U256::from(EXACT));
    assert_eq!(
        env.balance(payer.address()).await,
        payer_before - U256::from(2 * EXACT + UPTO_USED),
        "the payer paid the two exact prices and the upto amount used, nothing more"
    );
}

/// The USDC `Transfer`s a transaction emitted, as (from, to, value).
async fn transfers_in(
    env: &Env,
    tx: &str,
) -> (
    alloy::rpc::types::TransactionReceipt,
    Vec<(Address, Address, U256)>,
) {
    use x402_bindings::IERC20::Transfer;
    let hash: B256 = tx
        .parse()
        .unwrap_or_else(|e| panic!("transaction {tx:?}: {e}"));
    let receipt = env
        .reader()
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .expect("mined");
    let transfers = receipt
        .inner
        .logs()
        .iter()
        .filter(|l| {
            l.address() == env.token.address
                && l.topics().first() == Some(&Transfer::SIGNATURE_HASH)
        })
        .map(|l| {
            let t = l.log_decode::<Transfer>().unwrap().inner.data;
            (t.from, t.to, t.value)
        })
        .collect();
    (receipt, transfers)
}

/// x402's own Permit2 payments, where the chain has x402's proxies: on anvil with Permit2 and
/// the test proxies (`tests/x402proxy/`) placed at the SDK's canonical addresses, an unmodified
/// `@x402/fetch` client pays an `@x402/express` server with the SDK's Permit2 `exact`
/// (`assetTransferMethod: "permit2"`) and `upto` through this facilitator
/// (`facilitator/sdk-e2e/permit2-proxy.mjs`); the upto handler settles below the signed maximum.
/// Replays, expired permits, a missing Permit2 allowance, a wrong payTo and an upto settle above
/// the maximum reach the SDK with its reason codes and charge nothing.
#[tokio::test]
async fn the_unmodified_x402_sdk_pays_through_x402s_permit2_proxies() {
    use x402_domain::{X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};
    let dir = sdk_dir();
    assert!(
        dir.join("node_modules/@x402/express/package.json").exists(),
        "the SDK packages are not installed: run `npm ci --prefix facilitator/sdk-e2e` (script/test.sh does)"
    );
    const PRICE: u64 = 1_000;
    const UPTO_MAX: u64 = 5_000;
    const UPTO_USED: u64 = 1_234;
    let env = Env::start(2, None).await;
    env.place_x402_proxies().await;
    let payer = env.payer(0);
    let unapproved = env.payer(1);
    env.approve_canonical_permit2(&payer).await;
    let f = env.facilitator(&[]).await;

    // Advertised now that the proxies have code, with the facilitator the upto witness names.
    let supported: Value = env
        .http
        .get(format!("{}/supported", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (scheme, proxy) in [
        ("exact", X402_EXACT_PERMIT2_PROXY),
        ("upto", X402_UPTO_PERMIT2_PROXY),
    ] {
        let kind = supported["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["scheme"] == scheme && k["x402Version"] == 2)
            .unwrap_or_else(|| panic!("{scheme} not supported: {supported}"));
        assert!(
            kind["extra"]["assetTransferMethods"]
                .as_array()
                .unwrap()
                .contains(&Value::from("permit2")),
            "{scheme}: {kind}"
        );
        assert_eq!(kind["extra"]["x402Permit2Proxy"], proxy.to_checksum(None));
        assert_eq!(
            kind["extra"]["facilitatorAddress"],
            env.facilitator.to_checksum(None)
        );
    }

    let (payer_before, unapproved_before, payee_before, other_before) = (
        env.balance(payer.address()).await,
        env.balance(unapproved.address()).await,
        env.balance(env.payee(0)).await,
        env.balance(env.payee(1)).await,
    );
    let r = run_sdk_script(
        "permit2-proxy.mjs",
        vec![
            ("FACILITATOR_URL", f.url.clone()),
            ("CHAIN_ID", env.chain.deployment.chain_id.to_string()),
            ("USDC", env.token.address.to_string()),
            ("PAYEE", env.payee(0).to_string()),
            ("OTHER_PAYEE", env.payee(1).to_string()),
            ("PAYER_KEY", key_hex(&payer)),
            ("UNAPPROVED_KEY", key_hex(&unapproved)),
            ("PRICE", PRICE.to_string()),
            ("UPTO_MAX", UPTO_MAX.to_string()),
            ("UPTO_USED", UPTO_USED.to_string()),
        ],
        Duration::from_secs(180),
        &f,
    )
    .await;

    assert_eq!(r["abiMatchesSdk"], true, "{r}");
    assert_eq!(
        r["exact"]["spender"].as_str().unwrap(),
        X402_EXACT_PERMIT2_PROXY.to_checksum(None)
    );
    // Every refusal reached the SDK with the SDK's own reason code.
    assert_eq!(r["replay"], "permit2_invalid_nonce", "{r}");
    assert_eq!(r["expired"], "permit2_deadline_expired", "{r}");
    assert_eq!(r["noAllowance"], "permit2_allowance_required", "{r}");
    assert_eq!(r["noAllowanceUpto"], "permit2_allowance_required", "{r}");
    for route in ["exact", "upto"] {
        assert_eq!(
            r[format!("wrongPayTo_{route}")],
            serde_json::json!([
                "invalid_permit2_recipient_mismatch",
                "invalid_permit2_recipient_mismatch"
            ]),
            "{r}"
        );
    }
    assert_eq!(
        r["uptoAboveMax"], "invalid_upto_evm_payload_settlement_exceeds_amount",
        "{r}"
    );

    // Each payment was one transaction of ours to its proxy moving payer -> payee what was due.
    for (route, proxy, amount) in [
        ("exact", X402_EXACT_PERMIT2_PROXY, PRICE),
        ("upto", X402_UPTO_PERMIT2_PROXY, UPTO_USED),
    ] {
        let (receipt, transfers) =
            transfers_in(&env, r[route]["transaction"].as_str().unwrap()).await;
        assert!(receipt.status(), "{route}");
        assert_eq!(receipt.to, Some(proxy), "{route}: sent to the proxy");
        assert_eq!(receipt.from, env.facilitator, "{route}: sent by us");
        assert_eq!(
            transfers,
            vec![(payer.address(), env.payee(0), U256::from(amount))],
            "{route}"
        );
        assert_eq!(
            r[route]["payer"].as_str().unwrap(),
            payer.address().to_checksum(None)
        );
    }
    assert_eq!(r["upto"]["amount"], UPTO_USED.to_string(), "{r}");

    // Exactly the two payments moved money; nothing for the refusals.
    let paid = U256::from(PRICE + UPTO_USED);
    assert_eq!(env.balance(payer.address()).await, payer_before - paid);
    assert_eq!(env.balance(env.payee(0)).await, payee_before + paid);
    assert_eq!(env.balance(unapproved.address()).await, unapproved_before);
    assert_eq!(env.balance(env.payee(1)).await, other_before);
}
