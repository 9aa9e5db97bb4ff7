//! x402's Permit2 proxy payments at the facilitator's HTTP API, for what the SDK end-to-end test
//! (`sdk_e2e.rs`) cannot provoke through a stock client: the upto witness naming another
//! facilitator, foreign signatures, empty wallets, permits not yet valid, the wrong spender or
//! token, another chain or token, a transfer only the simulation can refuse, settle idempotency
//! and concurrency, our top-level upto `amount`, an upto that used nothing, and a settlement made
//! behind the service's back found on chain. Permit2 and the test proxies (`tests/x402proxy/`)
//! are placed at the SDK's canonical addresses on anvil.

mod harness;

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use harness::{Env, Facilitator, CANONICAL_PERMIT2};
use serde_json::{json, Value};
use x402_client::header::SettleResponse;
use x402_domain::{X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};
use x402_facilitator::{ProxyPayment, ProxyScheme};
use x402_protocol::VerifyResponse;

alloy::sol! {
    #[sol(rpc)]
    interface IFiatToken {
        function blacklist(address account) external;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One permit, as the SDK's exact / upto clients fill it.
#[derive(Clone)]
struct Permit {
    scheme: ProxyScheme,
    token: Address,
    amount: U256,
    spender: Address,
    nonce: U256,
    deadline: u64,
    to: Address,
    facilitator: Option<Address>,
    valid_after: u64,
}

impl Permit {
    fn new(env: &Env, scheme: ProxyScheme, amount: u64) -> Self {
        let nonce =
            U256::from_be_bytes(alloy::primitives::keccak256(x402_testkit::unique_suffix()).0);
        Self {
            scheme,
            token: env.token.address,
            amount: U256::from(amount),
            spender: match scheme {
                ProxyScheme::Exact => X402_EXACT_PERMIT2_PROXY,
                ProxyScheme::Upto => X402_UPTO_PERMIT2_PROXY,
            },
            nonce,
            deadline: now() + 300,
            to: env.payee(0),
            facilitator: (scheme == ProxyScheme::Upto).then_some(env.facilitator),
            valid_after: 0,
        }
    }

    /// Requirements as `@x402/express` issues them for this permit's route.
    fn requirements(&self, env: &Env) -> Value {
        let scheme = match self.scheme {
            ProxyScheme::Exact => "exact",
            ProxyScheme::Upto => "upto",
        };
        let mut extra = json!({"assetTransferMethod": "permit2"});
        if self.scheme == ProxyScheme::Upto {
            extra["facilitatorAddress"] = json!(env.facilitator);
        }
        json!({
            "scheme": scheme, "network": format!("eip155:{}", env.chain.deployment.chain_id),
            "amount": self.amount.to_string(), "asset": env.token.address, "payTo": env.payee(0),
            "maxTimeoutSeconds": 300, "extra": extra
        })
    }

    /// The payload the SDK's client builds, signed by `key` (as payer `from`).
    fn payload(&self, env: &Env, req: &Value, from: Address, key: &PrivateKeySigner) -> Value {
        let p = ProxyPayment {
            scheme: self.scheme,
            proxy: self.spender,
            permit2: CANONICAL_PERMIT2,
            payment_id: B256::ZERO,
            payer: from,
            token: self.token,
            permitted: self.amount,
            amount: self.amount,
            nonce: self.nonce,
            deadline: U256::from(self.deadline),
            to: self.to,
            facilitator: self.facilitator,
            valid_after: U256::from(self.valid_after),
            signature: Bytes::new(),
        };
        let sig = key
            .sign_hash_sync(&p.digest(env.chain.deployment.chain_id))
            .unwrap();
        let mut witness = json!({"to": self.to, "validAfter": self.valid_after.to_string()});
        if let Some(f) = self.facilitator {
            witness["facilitator"] = json!(f);
        }
        json!({
            "x402Version": 2, "accepted": req,
            "payload": {"signature": Bytes::copy_from_slice(&sig.as_bytes()), "permit2Authorization": {
                "from": from, "permitted": {"token": self.token, "amount": self.amount.to_string()},
                "spender": self.spender, "nonce": self.nonce.to_string(), "deadline": self.deadline.to_string(),
                "witness": witness}}
        })
    }
}

async fn verify(env: &Env, f: &Facilitator, p: &Value, req: &Value) -> VerifyResponse {
    env.post(
        f,
        "/verify",
        &json!({"x402Version": 2, "paymentPayload": p, "paymentRequirements": req}),
    )
    .await
}

async fn settle(env: &Env, f: &Facilitator, p: &Value, req: &Value) -> SettleResponse {
    env.post(
        f,
        "/settle",
        &json!({"x402Version": 2, "paymentPayload": p, "paymentRequirements": req}),
    )
    .await
}

/// `/verify` and `/settle` both refuse with `code`, naming the payer.
async fn refused(env: &Env, f: &Facilitator, what: &str, p: &Value, req: &Value, code: &str) {
    let v = verify(env, f, p, req).await;
    assert!(!v.is_valid, "{what}: {v:?}");
    assert_eq!(v.invalid_reason.as_deref(), Some(code), "{what}: {v:?}");
    assert!(v.payer.is_some(), "{what}: payer named");
    let s = settle(env, f, p, req).await;
    assert!(!s.success, "{what}: {s:?}");
    assert_eq!(s.error_reason.as_deref(), Some(code), "{what}: {s:?}");
    assert!(s.transaction.is_empty(), "{what}: nothing sent");
}

async fn set_up(payers: usize) -> (Env, Facilitator) {
    let env = Env::start(payers, None).await;
    env.place_x402_proxies().await;
    for i in 0..payers {
        env.approve_canonical_permit2(&env.payer(i)).await;
    }
    let f = env.facilitator(&[]).await;
    (env, f)
}

#[tokio::test]
async fn refusals_name_the_sdk_codes_and_charge_nothing() {
    let (env, f) = set_up(2).await;
    let payer = env.payer(0);
    let before = env.balance(payer.address()).await;

    // The upto witness names another facilitator: only that one could ever settle it.
    let mut p = Permit::new(&env, ProxyScheme::Upto, 2_000);
    p.facilitator = Some(env.payee(1));
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(
        &env,
        &f,
        "facilitator",
        &payload,
        &req,
        "upto_facilitator_mismatch",
    )
    .await;

    // Signed by someone else than `from`.
    for scheme in [ProxyScheme::Exact, ProxyScheme::Upto] {
        let p = Permit::new(&env, scheme, 1_000);
        let req = p.requirements(&env);
        let payload = p.payload(&env, &req, payer.address(), &env.payer(1));
        refused(
            &env,
            &f,
            "signature",
            &payload,
            &req,
            "invalid_permit2_signature",
        )
        .await;
    }

    // An empty wallet (its balance is checked before its allowance).
    let poor = PrivateKeySigner::random();
    let p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, poor.address(), &poor);
    refused(
        &env,
        &f,
        "balance",
        &payload,
        &req,
        "permit2_insufficient_balance",
    )
    .await;

    // Not valid for another hour.
    let mut p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    p.valid_after = now() + 3_600;
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(
        &env,
        &f,
        "valid after",
        &payload,
        &req,
        "permit2_not_yet_valid",
    )
    .await;

    // An exact payment signed for the upto proxy.
    let mut p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    p.spender = X402_UPTO_PERMIT2_PROXY;
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(
        &env,
        &f,
        "spender",
        &payload,
        &req,
        "invalid_permit2_spender",
    )
    .await;

    // Signed for another amount / token than required.
    let p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    let mut req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    req["amount"] = json!("999");
    let mut accepted = payload.clone();
    accepted["accepted"] = req.clone();
    refused(
        &env,
        &f,
        "amount",
        &accepted,
        &req,
        "permit2_amount_mismatch",
    )
    .await;
    let mut p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    p.token = env.chain.deployment.token("OPG").unwrap().address;
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(&env, &f, "token", &payload, &req, "permit2_token_mismatch").await;

    // An upto payment presented as exact, and the upto scheme on another network.
    let p = Permit::new(&env, ProxyScheme::Upto, 1_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    let mut exact_req = req.clone();
    exact_req["scheme"] = json!("exact");
    refused(
        &env,
        &f,
        "scheme",
        &payload,
        &exact_req,
        "unsupported_payload_type",
    )
    .await;
    let mut other = payload.clone();
    other["accepted"]["network"] = json!("eip155:1");
    refused(
        &env,
        &f,
        "network",
        &other,
        &req,
        "invalid_upto_evm_network_mismatch",
    )
    .await;

    // An exact payment presented against upto requirements.
    let p = Permit::new(&env, ProxyScheme::Upto, 1_000);
    let req = p.requirements(&env);
    let mut payload = p.payload(&env, &req, payer.address(), &payer);
    payload["accepted"]["scheme"] = json!("exact");
    refused(
        &env,
        &f,
        "upto scheme",
        &payload,
        &req,
        "invalid_upto_evm_scheme",
    )
    .await;

    // Another chain, and a token this facilitator does not settle.
    let p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    let mut req = p.requirements(&env);
    req["network"] = json!("eip155:1");
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(&env, &f, "chain", &payload, &req, "invalid_network").await;
    let mut p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    p.token = Address::repeat_byte(0x77);
    let mut req = p.requirements(&env);
    req["asset"] = json!(p.token);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    refused(&env, &f, "asset", &payload, &req, "unsupported_asset").await;

    // Everything checks out but the transfer itself: USDC refuses a blocklisted sender, so only
    // the simulated `settle` can tell.
    let blocked = env.payer(1);
    IFiatToken::new(
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
    let blocked_before = env.balance(blocked.address()).await;
    let p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, blocked.address(), &blocked);
    refused(
        &env,
        &f,
        "simulation",
        &payload,
        &req,
        "permit2_simulation_failed",
    )
    .await;
    assert_eq!(env.balance(blocked.address()).await, blocked_before);

    assert_eq!(
        env.balance(payer.address()).await,
        before,
        "nothing charged"
    );
}

#[tokio::test]
async fn settles_once_with_the_amount_due_and_finds_settlements_on_chain() {
    let (env, f) = set_up(1).await;
    let payer = env.payer(0);
    let payee_before = env.balance(env.payee(0)).await;

    // exact: verified, then settled by six concurrent requests in one transaction, then replayed.
    let p = Permit::new(&env, ProxyScheme::Exact, 1_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    let v = verify(&env, &f, &payload, &req).await;
    assert!(v.is_valid, "{v:?}");
    assert_eq!(v.payer, Some(payer.address()));
    let answers = futures::future::join_all((0..6).map(|_| settle(&env, &f, &payload, &req))).await;
    let txs: std::collections::HashSet<_> = answers
        .iter()
        .map(|a| {
            assert!(a.success, "{a:?}");
            a.transaction.clone()
        })
        .collect();
    assert_eq!(txs.len(), 1, "one transaction for one permit: {answers:?}");
    let again = settle(&env, &f, &payload, &req).await;
    assert_eq!(again.transaction, answers[0].transaction, "replayed");
    let v = verify(&env, &f, &payload, &req).await;
    assert_eq!(
        v.invalid_reason.as_deref(),
        Some("permit2_invalid_nonce"),
        "{v:?}"
    );

    // upto with our top-level settle amount: moves 700 of a 2,000 maximum.
    let p = Permit::new(&env, ProxyScheme::Upto, 2_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    let s: SettleResponse = env
        .post(
            &f,
            "/settle",
            &json!({"paymentPayload": payload, "paymentRequirements": req, "amount": "700"}),
        )
        .await;
    assert!(s.success, "{s:?}");
    assert_eq!(s.amount.as_deref(), Some("700"));

    // upto that used nothing: success, no transaction, nothing moved, the permit still unused.
    let p = Permit::new(&env, ProxyScheme::Upto, 2_000);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    let mut used_nothing = req.clone();
    used_nothing["amount"] = json!("0");
    let s = settle(&env, &f, &payload, &used_nothing).await;
    assert!(s.success && s.transaction.is_empty(), "{s:?}");
    assert_eq!(s.amount.as_deref(), Some("0"));
    assert!(verify(&env, &f, &payload, &req).await.is_valid);

    assert_eq!(
        env.balance(env.payee(0)).await,
        payee_before + U256::from(1_700u64),
        "the exact price and the upto amount used, once each"
    );

    // Settled by our key behind the service's back (as after a crash before recording): the
    // settle request finds that transaction among the payer's transfers and answers it.
    let p = Permit::new(&env, ProxyScheme::Exact, 500);
    let req = p.requirements(&env);
    let payload = p.payload(&env, &req, payer.address(), &payer);
    let call: Bytes = {
        let q = ProxyPayment {
            scheme: ProxyScheme::Exact,
            proxy: X402_EXACT_PERMIT2_PROXY,
            permit2: CANONICAL_PERMIT2,
            payment_id: B256::ZERO,
            payer: payer.address(),
            token: p.token,
            permitted: p.amount,
            amount: p.amount,
            nonce: p.nonce,
            deadline: U256::from(p.deadline),
            to: p.to,
            facilitator: None,
            valid_after: U256::ZERO,
            signature: payload["payload"]["signature"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        };
        q.settle_call()
    };
    let receipt = env
        .provider_as(&x402_testkit::wallets::facilitator())
        .send_transaction(
            alloy::rpc::types::TransactionRequest::default()
                .to(X402_EXACT_PERMIT2_PROXY)
                .input(alloy::rpc::types::TransactionInput::new(call)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let s = settle(&env, &f, &payload, &req).await;
    assert!(s.success, "{s:?}\n{}", f.log_text());
    assert_eq!(s.transaction, receipt.transaction_hash.to_string());
    assert_eq!(s.amount.as_deref(), Some("500"));
}
