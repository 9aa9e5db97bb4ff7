//! Standard x402 `exact` payments over EIP-3009 against the deployed FiatToken v2.2 (USDC):
//! verify, settle through `chargeWithAuthorization` with the evidence extension, every refusal
//! with the SDK's code and nothing charged, idempotency and concurrency.

#![allow(clippy::too_many_arguments)] // the EIP-3009 call of the `sol!` interface below

mod harness;

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::SolEvent;
use harness::{Env, USDC};
use serde_json::{json, Value};
use x402_client::header::SettleResponse;
use x402_facilitator::Eip3009Payment;
use x402_protocol::eip3009::payment_id;
use x402_protocol::VerifyResponse;

alloy::sol! {
    #[sol(rpc)]
    interface IFiatToken {
        function blacklist(address account) external;
        function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature) external;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Auth {
    from: Address,
    to: Address,
    value: U256,
    valid_after: u64,
    valid_before: u64,
    nonce: B256,
}

impl Auth {
    fn new(env: &Env, payer: &PrivateKeySigner, value: u64) -> Self {
        Self {
            from: payer.address(),
            to: env.payee(0),
            value: U256::from(value),
            valid_after: now() - 600,
            valid_before: now() + 300,
            nonce: alloy::primitives::keccak256(x402_testkit::unique_suffix()),
        }
    }
}

/// The requirements an `@x402/express` server issues for USDC on this chain.
fn requirements(env: &Env, amount: u64) -> Value {
    json!({
        "scheme": "exact", "network": format!("eip155:{}", env.chain.deployment.chain_id),
        "amount": amount.to_string(), "asset": env.token.address, "payTo": env.payee(0),
        "maxTimeoutSeconds": 300, "extra": {"name": "USD Coin", "version": "2"}
    })
}

/// The payload `@x402/evm`'s exact client builds (x402 v2), signed by `key`.
fn payload(env: &Env, req: &Value, a: &Auth, key: &PrivateKeySigner) -> Value {
    let p = Eip3009Payment {
        payment_id: B256::ZERO,
        payer: a.from,
        payee: a.to,
        token: env.token.address,
        amount: a.value,
        valid_after: U256::from(a.valid_after),
        valid_before: U256::from(a.valid_before),
        nonce: a.nonce,
        signature: Default::default(),
        domain_name: "USD Coin".into(),
        domain_version: "2".into(),
        x402_version: 2,
    };
    let sig = key
        .sign_hash_sync(&p.digest(env.chain.deployment.chain_id))
        .unwrap();
    json!({
        "x402Version": 2,
        "resource": {"url": "http://localhost/paid"},
        "accepted": req,
        "payload": {
            "signature": format!("0x{}", alloy::hex::encode(sig.as_bytes())),
            "authorization": {
                "from": a.from, "to": a.to, "value": a.value.to_string(),
                "validAfter": a.valid_after.to_string(), "validBefore": a.valid_before.to_string(),
                "nonce": a.nonce,
            }
        }
    })
}

fn with_evidence(mut payload: Value, evidence: B256) -> Value {
    payload["extensions"] = json!({"evidence": {"info": {"evidenceHash": evidence}}});
    payload
}

async fn verify(
    env: &Env,
    f: &harness::Facilitator,
    payload: &Value,
    req: &Value,
) -> VerifyResponse {
    env.post(
        f,
        "/verify",
        &json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req}),
    )
    .await
}

async fn settle(
    env: &Env,
    f: &harness::Facilitator,
    payload: &Value,
    req: &Value,
) -> SettleResponse {
    env.post(
        f,
        "/settle",
        &json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req}),
    )
    .await
}

/// The `AuthorizationCharged` events of `id`.
async fn charged(env: &Env, id: B256) -> Vec<x402_bindings::X402Settlement::AuthorizationCharged> {
    use alloy::providers::Provider;
    let filter = alloy::rpc::types::Filter::new()
        .address(env.chain.deployment.settlement)
        .event_signature(x402_bindings::X402Settlement::AuthorizationCharged::SIGNATURE_HASH)
        .topic1(id)
        .from_block(0u64);
    let logs = env.reader().get_logs(&filter).await.unwrap();
    logs.iter()
        .map(|l| {
            l.log_decode::<x402_bindings::X402Settlement::AuthorizationCharged>()
                .unwrap()
                .inner
                .data
        })
        .collect()
}

#[tokio::test]
async fn eip3009_exact_verifies_and_settles_through_the_contract_with_evidence() {
    let env = Env::start(2, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = requirements(&env, 2 * USDC);
    let a = Auth::new(&env, &payer, 2 * USDC);
    let evidence = B256::repeat_byte(0xe1);
    let p = with_evidence(payload(&env, &req, &a, &payer), evidence);
    let id = payment_id(
        env.chain.deployment.chain_id,
        env.chain.deployment.settlement,
        env.token.address,
        payer.address(),
        a.nonce,
    );

    let v = verify(&env, &f, &p, &req).await;
    assert!(v.is_valid, "{v:?}");
    assert_eq!(v.payer, Some(payer.address()));
    assert_eq!(v.payment_id, Some(id));

    let (payer_before, payee_before) = (
        env.balance(payer.address()).await,
        env.balance(env.payee(0)).await,
    );
    let s = settle(&env, &f, &p, &req).await;
    assert!(s.success, "{s:?}\n{}", f.log_text());
    assert_eq!(s.payment_id, Some(id));
    assert_eq!(s.amount.as_deref(), Some("2000000"));
    assert_eq!(
        env.balance(payer.address()).await,
        payer_before - U256::from(2 * USDC)
    );
    assert_eq!(
        env.balance(env.payee(0)).await,
        payee_before + U256::from(2 * USDC)
    );
    let events = charged(&env, id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].evidenceHash, evidence,
        "the evidence extension lands in the event"
    );
    assert_eq!(events[0].facilitator, env.facilitator);
    assert_eq!(events[0].payee, env.payee(0));
    assert_eq!(events[0].authorizationNonce, a.nonce);

    // Idempotent: the same settle again answers the first result and charges nothing more.
    let again = settle(&env, &f, &p, &req).await;
    assert!(again.success);
    assert_eq!(again.transaction, s.transaction);
    assert_eq!(
        env.balance(payer.address()).await,
        payer_before - U256::from(2 * USDC)
    );
    // A settled authorization no longer verifies.
    let v = verify(&env, &f, &p, &req).await;
    assert_eq!(
        v.invalid_reason.as_deref(),
        Some("invalid_exact_evm_nonce_already_used"),
        "{v:?}"
    );

    // Without the extension the evidence recorded is zero; addresses in answers are checksummed.
    let a2 = Auth::new(&env, &payer, USDC);
    let req2 = requirements(&env, USDC);
    let p2 = payload(&env, &req2, &a2, &payer);
    let raw: Value = env
        .post(
            &f,
            "/settle",
            &json!({"x402Version": 2, "paymentPayload": p2, "paymentRequirements": req2}),
        )
        .await;
    assert_eq!(raw["success"], true, "{raw}");
    assert_eq!(
        raw["payer"].as_str().unwrap(),
        payer.address().to_checksum(None),
        "checksummed payer"
    );
    let id2: B256 = raw["paymentId"].as_str().unwrap().parse().unwrap();
    assert_eq!(charged(&env, id2).await[0].evidenceHash, B256::ZERO);
}

#[tokio::test]
async fn eip3009_refusals_use_the_sdk_codes_and_charge_nothing() {
    let env = Env::start(3, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = requirements(&env, USDC);
    let before = env.balance(payer.address()).await;

    let check = |what: &'static str, expected: &'static str| {
        move |v: VerifyResponse, s: SettleResponse| {
            assert!(!v.is_valid, "{what}: verify accepted it");
            assert_eq!(v.invalid_reason.as_deref(), Some(expected), "{what}: {v:?}");
            assert!(!s.success, "{what}: settle succeeded");
            assert_eq!(s.error_reason.as_deref(), Some(expected), "{what}: {s:?}");
        }
    };
    async fn both(
        env: &Env,
        f: &harness::Facilitator,
        p: &Value,
        r: &Value,
    ) -> (VerifyResponse, SettleResponse) {
        (verify(env, f, p, r).await, settle(env, f, p, r).await)
    }

    // Wrong payTo: signed to someone else.
    let mut a = Auth::new(&env, &payer, USDC);
    a.to = env.payee(1);
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &payer), &req).await;
    check("wrong payTo", "invalid_exact_evm_recipient_mismatch")(v, s);

    // Expired.
    let mut a = Auth::new(&env, &payer, USDC);
    a.valid_before = now() - 1;
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &payer), &req).await;
    check(
        "expired",
        "invalid_exact_evm_payload_authorization_valid_before",
    )(v, s);

    // Not yet valid.
    let mut a = Auth::new(&env, &payer, USDC);
    a.valid_after = now() + 120;
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &payer), &req).await;
    check(
        "not yet valid",
        "invalid_exact_evm_payload_authorization_valid_after",
    )(v, s);

    // Wrong value.
    let a = Auth::new(&env, &payer, USDC + 1);
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &payer), &req).await;
    check(
        "value",
        "invalid_exact_evm_payload_authorization_value_mismatch",
    )(v, s);

    // Signed by someone else.
    let a = Auth::new(&env, &payer, USDC);
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &env.payer(1)), &req).await;
    check("signature", "invalid_exact_evm_signature")(v, s);

    // Wrong EIP-712 domain name / version.
    let mut bad = req.clone();
    bad["extra"]["name"] = json!("Demo USDC");
    let a = Auth::new(&env, &payer, USDC);
    let (v, s) = both(&env, &f, &payload(&env, &bad, &a, &payer), &bad).await;
    check("name", "invalid_exact_evm_token_name_mismatch")(v, s);
    let mut bad = req.clone();
    bad["extra"]["version"] = json!("1");
    let (v, s) = both(&env, &f, &payload(&env, &bad, &a, &payer), &bad).await;
    check("version", "invalid_exact_evm_token_version_mismatch")(v, s);
    let mut bad = req.clone();
    bad["extra"] = json!({});
    let (v, s) = both(&env, &f, &payload(&env, &bad, &a, &payer), &bad).await;
    check("domain", "invalid_exact_evm_missing_eip712_domain")(v, s);

    // Insufficient balance: a fresh key holds nothing.
    let poor = PrivateKeySigner::random();
    let a = Auth::new(&env, &poor, USDC);
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &poor), &req).await;
    check("balance", "invalid_exact_evm_insufficient_balance")(v, s);

    // Reused nonce: executed directly on the token first (a front-run), then offered to us.
    let a = Auth::new(&env, &payer, USDC);
    let p = payload(&env, &req, &a, &payer);
    let sig: alloy::primitives::Bytes =
        p["payload"]["signature"].as_str().unwrap().parse().unwrap();
    let token = IFiatToken::new(env.token.address, env.provider_as(&env.payer(2)));
    token
        .transferWithAuthorization(
            a.from,
            a.to,
            a.value,
            U256::from(a.valid_after),
            U256::from(a.valid_before),
            a.nonce,
            sig,
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let after_front_run = env.balance(payer.address()).await;
    assert_eq!(after_front_run, before - U256::from(USDC));
    let (v, s) = both(&env, &f, &p, &req).await;
    check("reused nonce", "invalid_exact_evm_nonce_already_used")(v, s);

    // Blocklisted payer (FiatToken blacklist).
    let deployer = env.provider_as(&x402_testkit::wallets::deployer());
    IFiatToken::new(env.token.address, deployer)
        .blacklist(payer.address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let a = Auth::new(&env, &payer, USDC);
    let (v, s) = both(&env, &f, &payload(&env, &req, &a, &payer), &req).await;
    check("blocklisted", "blacklisted_address")(v, s);

    // x402's Permit2 proxy payload on a chain without the proxy.
    let proxy_payload = json!({
        "x402Version": 2, "accepted": req,
        "payload": {"signature": "0x00", "permit2Authorization": {
            "from": payer.address(), "permitted": {"token": env.token.address, "amount": "1000000"},
            "spender": "0x402085c248EeA27D92E8b30b2C58ed07f9E20001", "nonce": "1", "deadline": (now() + 300).to_string(),
            "witness": {"to": env.payee(0), "validAfter": "0"}}}
    });
    let (v, s) = both(&env, &f, &proxy_payload, &req).await;
    check("permit2 proxy", "permit2_proxy_not_deployed")(v, s);

    assert_eq!(
        env.balance(payer.address()).await,
        after_front_run,
        "no refusal charged anything"
    );
    let supported: Value = env
        .http
        .get(format!("{}/supported", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = supported.to_string();
    assert!(
        !text.contains("0x402085c248EeA27D92E8b30b2C58ed07f9E20001"),
        "proxy advertised: {text}"
    );
    assert_eq!(
        supported["kinds"][0]["extra"]["facilitatorAddress"]
            .as_str()
            .unwrap(),
        env.facilitator.to_checksum(None)
    );
}

#[tokio::test]
async fn concurrent_settles_of_one_authorization_charge_once() {
    let env = Env::start(1, None).await;
    // A batching facilitator: EIP-3009 payments settle one per transaction beside its batches.
    let f = env.facilitator(&["--batch"]).await;
    let payer = env.payer(0);
    let req = requirements(&env, USDC);
    let a = Auth::new(&env, &payer, USDC);
    let p = with_evidence(payload(&env, &req, &a, &payer), B256::repeat_byte(7));
    let before = env.balance(payer.address()).await;
    let results = futures::future::join_all((0..8).map(|_| settle(&env, &f, &p, &req))).await;
    let txs: std::collections::HashSet<_> = results
        .iter()
        .map(|r| {
            assert!(r.success, "{r:?}");
            r.transaction.clone()
        })
        .collect();
    assert_eq!(
        txs.len(),
        1,
        "every answer names the one transaction: {txs:?}"
    );
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(USDC),
        "charged once"
    );
    let id = payment_id(
        env.chain.deployment.chain_id,
        env.chain.deployment.settlement,
        env.token.address,
        payer.address(),
        a.nonce,
    );
    assert_eq!(charged(&env, id).await.len(), 1);
}

#[tokio::test]
async fn a_crashed_eip3009_settlement_is_recovered_from_the_chain_not_charged_again() {
    let env = Env::start(1, None).await;
    let payer = env.payer(0);
    let req = requirements(&env, USDC);
    let a = Auth::new(&env, &payer, USDC);
    let evidence = B256::repeat_byte(0x3c);
    let p = with_evidence(payload(&env, &req, &a, &payer), evidence);
    let d = &env.chain.deployment;
    let id = payment_id(
        d.chain_id,
        d.settlement,
        env.token.address,
        payer.address(),
        a.nonce,
    );

    // A process that crashed after its chargeWithAuthorization was mined but before recording it:
    // the claim is pending under a dead owner, the payment is on chain.
    let pool = env.db.pool().await.unwrap();
    x402_domain::schema::migrate(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO facilitator_settlements (payment_id, kind, payer, status, amount, evidence_hash, network, owner)
         VALUES ($1, 'authorization', $2, 'pending', 1000000, $3, 'eip155:31337', 'dead-process')",
    )
    .bind(id.as_slice())
    .bind(payer.address().as_slice())
    .bind(evidence.as_slice())
    .execute(&pool)
    .await
    .unwrap();
    let sig: alloy::primitives::Bytes =
        p["payload"]["signature"].as_str().unwrap().parse().unwrap();
    let receipt = x402_bindings::X402Settlement::new(
        d.settlement,
        env.provider_as(&x402_testkit::wallets::facilitator()),
    )
    .chargeWithAuthorization(
        env.token.address,
        a.from,
        a.to,
        a.value,
        U256::from(a.valid_after),
        U256::from(a.valid_before),
        a.nonce,
        sig,
        evidence,
    )
    .send()
    .await
    .unwrap()
    .get_receipt()
    .await
    .unwrap();
    assert!(receipt.status());
    let after_chain = env.balance(payer.address()).await;

    // The next process recovers the claim at start and answers the settle with that transaction.
    let f = env.facilitator(&[]).await;
    let s = settle(&env, &f, &p, &req).await;
    assert!(s.success, "{s:?}\n{}", f.log_text());
    assert_eq!(
        s.transaction,
        receipt.transaction_hash.to_string(),
        "recovered, not charged again"
    );
    assert_eq!(env.balance(payer.address()).await, after_chain);
    assert_eq!(charged(&env, id).await.len(), 1);
}
