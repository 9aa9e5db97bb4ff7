//! Every `invalidReason` / `errorReason` the facilitator can answer, each provoked for real
//! against anvil (the one check that differs is asserted, the rest of the payment is valid).

mod harness;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::network::TransactionBuilder;
use alloy::primitives::{keccak256, Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use harness::{Env, USDC};
use serde_json::{json, Value};
use x402_client::header::PaymentPayload;
use x402_client::pay::{permit_for, PayOptions};
use x402_client::permit::SignedPayment;
use x402_client::policy::{set_policy, Policy};
use x402_client::requirements::PaymentRequirements;
use x402_protocol::{EscrowResponse, Reason, VerifyResponse};
use x402_testkit::AnvilRpc;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

alloy::sol! {
    #[sol(rpc)]
    interface IPausable {
        function pause() external;
        function unpause() external;
    }
    #[sol(rpc)]
    interface IMintable {
        function mint(address to, uint256 amount) external;
    }
    #[sol(rpc)]
    interface ISmartWallet {
        function approve(address token, address spender, uint256 amount) external;
    }
}

/// Deploys `tests/mocks/SmartWallet.sol` (EIP-1271) owned by `owner`, funds and approves it.
async fn smart_wallet(env: &Env, owner: &PrivateKeySigner) -> Address {
    let artifact = x402_testkit::paths::repo_root().join("out/SmartWallet.sol/SmartWallet.json");
    let text = std::fs::read_to_string(&artifact)
        .unwrap_or_else(|e| panic!("{} missing (run forge build): {e}", artifact.display()));
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut code: Vec<u8> = json["bytecode"]["object"]
        .as_str()
        .unwrap()
        .parse::<Bytes>()
        .unwrap()
        .to_vec();
    code.extend_from_slice(&alloy::sol_types::SolValue::abi_encode(&owner.address()));
    let deployer = env.provider_as(&x402_testkit::wallets::deployer());
    let receipt = deployer
        .send_transaction(TransactionRequest::default().with_deploy_code(code))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let wallet = receipt.contract_address.unwrap();
    IMintable::new(env.token.address, deployer)
        .mint(wallet, U256::from(100 * USDC))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    AnvilRpc::new(env.reader())
        .set_balance(owner.address(), U256::from(10u64).pow(U256::from(19u64)))
        .await
        .unwrap();
    ISmartWallet::new(wallet, env.provider_as(owner))
        .approve(env.token.address, env.chain.deployment.permit2, U256::MAX)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    wallet
}

/// A payment from a contract wallet, signed by `key` (the wallet's owner, or not).
fn wallet_payment(
    req: &PaymentRequirements,
    wallet: Address,
    key: &PrivateKeySigner,
) -> PaymentPayload {
    let permit = permit_for(req, wallet, &PayOptions::default()).unwrap();
    let sig = key.sign_hash_sync(&permit.signing_hash().unwrap()).unwrap();
    let signed = SignedPayment {
        payment_id: permit.payment_id(),
        payer: wallet,
        signature: Bytes::copy_from_slice(&sig.as_bytes()),
        permit,
    };
    PaymentPayload::from_signed(&signed, req, None)
}

fn body(payload: &Value, req: &Value) -> Value {
    json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req})
}

#[tokio::test]
async fn every_verify_refusal_has_its_own_code() {
    let env = Env::start(3, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(USDC), "invalid reasons");
    let good = env.sign(&payer, &req, PayOptions::default()).await;
    let ok = env.verify(&f, &good, &req).await;
    assert!(ok.is_valid, "the baseline payment is valid: {ok:?}");

    let good_v = serde_json::to_value(&good).unwrap();
    let req_v = serde_json::to_value(&req).unwrap();
    let other = Address::repeat_byte(0x42);
    let mut cases: Vec<(Reason, Value)> = Vec::new();

    let mut p = good_v.clone();
    p["x402Version"] = json!(7);
    cases.push((Reason::InvalidX402Version, body(&p, &req_v)));

    let mut p = good_v.clone();
    p["payload"]["signature"] = json!("0xzz");
    cases.push((Reason::InvalidPayload, body(&p, &req_v)));
    cases.push((
        Reason::InvalidPayload,
        json!({"paymentRequirements": req_v}),
    ));

    let mut r = req_v.clone();
    r["payTo"] = json!("not an address");
    cases.push((Reason::InvalidPaymentRequirements, body(&good_v, &r)));
    let mut r = req_v.clone();
    r["extra"]["settlement"] = json!(other);
    cases.push((Reason::InvalidPaymentRequirements, body(&good_v, &r)));

    let mut r = req_v.clone();
    r["scheme"] = json!("stream");
    cases.push((Reason::UnsupportedScheme, body(&good_v, &r)));

    let mut p = good_v.clone();
    p["accepted"]["scheme"] = json!("upto");
    cases.push((Reason::InvalidScheme, body(&p, &req_v)));

    let (mut p, mut r) = (good_v.clone(), req_v.clone());
    p["accepted"]["network"] = json!("eip155:1");
    r["network"] = json!("eip155:1");
    cases.push((Reason::InvalidNetwork, body(&p, &r)));

    let (mut p, mut r) = (good_v.clone(), req_v.clone());
    p["accepted"]["asset"] = json!(other);
    r["asset"] = json!(other);
    cases.push((Reason::UnsupportedAsset, body(&p, &r)));

    // Signed for OPG, presented as an answer to the USDC requirement.
    let opg = env.chain.deployment.token("OPG").unwrap().address;
    let mut opg_req = req.clone();
    opg_req.asset = opg;
    let mut p =
        serde_json::to_value(env.sign(&payer, &opg_req, PayOptions::default()).await).unwrap();
    p["accepted"] = req_v.clone();
    cases.push((Reason::InvalidPermit2Token, body(&p, &req_v)));

    let mut p = good_v.clone();
    p["payload"]["permit2Authorization"]["spender"] = json!(other);
    cases.push((Reason::InvalidPermit2Spender, body(&p, &req_v)));

    let mut p = good_v.clone();
    p["payload"]["permit2Authorization"]["witness"]["payee"] = json!(other);
    cases.push((Reason::RecipientMismatch, body(&p, &req_v)));

    // A payload naming another `from` than the signed payer: the signature charges only the
    // signed payer, so a facilitator must not report (or rate-limit) someone else as paying.
    let mut p = good_v.clone();
    p["payload"]["permit2Authorization"]["from"] = json!(env.payer(1).address());
    cases.push((Reason::PayerMismatch, body(&p, &req_v)));
    // Re-signing the terms for another payer changes the digest: the signature no longer
    // recovers to it.
    let mut p = good_v.clone();
    p["payload"]["permit2Authorization"]["from"] = json!(env.payer(1).address());
    p["payload"]["permit2Authorization"]["witness"]["payer"] = json!(env.payer(1).address());
    cases.push((Reason::InvalidSignature, body(&p, &req_v)));

    let mut two = req.clone();
    two.amount = U256::from(2 * USDC);
    let mut p = serde_json::to_value(env.sign(&payer, &two, PayOptions::default()).await).unwrap();
    p["accepted"] = req_v.clone();
    cases.push((Reason::InvalidAmount, body(&p, &req_v)));

    let mut elsewhere = req.clone();
    elsewhere.extra.facilitator = other;
    let p =
        serde_json::to_value(env.sign(&payer, &elsewhere, PayOptions::default()).await).unwrap();
    cases.push((
        Reason::InvalidFacilitator,
        body(&p, &serde_json::to_value(&elsewhere).unwrap()),
    ));

    let mut r = req_v.clone();
    r["extra"]["requestHash"] = json!(keccak256("another request"));
    let mut p = good_v.clone();
    p["accepted"] = r.clone();
    cases.push((Reason::InvalidRequestHash, body(&p, &r)));

    let p = env
        .sign(
            &payer,
            &req,
            PayOptions {
                valid_after: now() + 3600,
                ..Default::default()
            },
        )
        .await;
    cases.push((
        Reason::NotYetValid,
        body(&serde_json::to_value(p).unwrap(), &req_v),
    ));

    let p = env
        .sign(
            &payer,
            &req,
            PayOptions {
                valid_for: Some(2),
                ..Default::default()
            },
        )
        .await;
    cases.push((
        Reason::Expired,
        body(&serde_json::to_value(p).unwrap(), &req_v),
    ));

    let mut escrow = env.requirements("escrow", U256::from(USDC), "short escrow");
    escrow.extra.authorization_seconds = Some(2);
    let p = env.sign(&payer, &escrow, PayOptions::default()).await;
    cases.push((
        Reason::InvalidEscrowExpiry,
        body(
            &serde_json::to_value(p).unwrap(),
            &serde_json::to_value(&escrow).unwrap(),
        ),
    ));

    // A payer who holds nothing.
    let poor = PrivateKeySigner::random();
    let p = env.sign(&poor, &req, PayOptions::default()).await;
    cases.push((
        Reason::InsufficientFunds,
        body(&serde_json::to_value(p).unwrap(), &req_v),
    ));

    // Payer 1 withdraws its Permit2 approval.
    let p1 = env.payer(1);
    x402_bindings::IERC20::new(env.token.address, env.provider_as(&p1))
        .approve(env.chain.deployment.permit2, U256::ZERO)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let p = env.sign(&p1, &req, PayOptions::default()).await;
    cases.push((
        Reason::InsufficientAllowance,
        body(&serde_json::to_value(p).unwrap(), &req_v),
    ));

    // Payer 2 limits itself to half a token per payment, on chain.
    let p2 = env.payer(2);
    set_policy(
        env.provider_as(&p2),
        env.chain.deployment.settlement,
        env.token.address,
        Policy {
            max_per_payment: (USDC / 2) as u128,
            max_per_period: 0,
            period: 0,
            loosen_delay: 0,
        },
    )
    .await
    .unwrap();
    let p = env.sign(&p2, &req, PayOptions::default()).await;
    cases.push((
        Reason::SpendingPolicyExceeded,
        body(&serde_json::to_value(p).unwrap(), &req_v),
    ));

    // EIP-1271: a contract wallet's owner signs (valid); anyone else does not.
    let owner = PrivateKeySigner::random();
    let wallet = smart_wallet(&env, &owner).await;
    let by_owner = wallet_payment(&req, wallet, &owner);
    let v = env.verify(&f, &by_owner, &req).await;
    assert!(v.is_valid, "an EIP-1271 wallet's payment verifies: {v:?}");
    assert_eq!(v.payer, Some(wallet));
    let by_stranger = wallet_payment(&req, wallet, &PrivateKeySigner::random());
    cases.push((
        Reason::InvalidSignature,
        body(&serde_json::to_value(by_stranger).unwrap(), &req_v),
    ));

    for (want, b) in &cases {
        let got: VerifyResponse = env.post(&f, "/verify", b).await;
        assert!(!got.is_valid, "{want} case verified: {b}");
        assert_eq!(
            got.invalid_reason.as_deref(),
            Some(want.code()),
            "{got:?} for {b}"
        );
        assert!(got
            .invalid_message
            .as_deref()
            .is_some_and(|m| !m.is_empty()));
    }

    // Used nonce: the payment settled, then presented again.
    let s = env
        .settle(&f, &good, &req, keccak256("evidence"), None)
        .await;
    assert!(s.success, "{s:?}");
    assert_eq!(
        env.verify(&f, &good, &req).await.invalid_reason.as_deref(),
        Some(Reason::NonceAlreadyUsed.code())
    );
    // The EIP-1271 payment settles too.
    let s = env
        .settle(&f, &by_owner, &req, keccak256("wallet evidence"), None)
        .await;
    assert!(s.success, "{s:?}\n{}", f.log_text());

    // The chain's clock decides: two hours ahead of the wall clock, a deadline the wall clock
    // still accepts has passed, and the refusal says so (instead of a bare SignatureExpired).
    let rpc = AnvilRpc::new(env.reader());
    rpc.increase_time(7200).await.unwrap();
    rpc.mine(1).await.unwrap();
    // Past the facilitator's reuse of its last reading of the chain's clock.
    tokio::time::sleep(x402_facilitator::CLOCK_REUSE + std::time::Duration::from_millis(100)).await;
    let p = env
        .sign(
            &payer,
            &req,
            PayOptions {
                valid_for: Some(600),
                ..Default::default()
            },
        )
        .await;
    let v = env.verify(&f, &p, &req).await;
    assert_eq!(
        v.invalid_reason.as_deref(),
        Some(Reason::Expired.code()),
        "{v:?}"
    );
    assert!(v.invalid_message.unwrap().contains("chain's clock"));

    // The settlement simulation catches what only the chain knows: USDC (FiatToken) paused.
    let p = env
        .sign(
            &payer,
            &req,
            PayOptions {
                valid_for: Some(3 * 3600),
                ..Default::default()
            },
        )
        .await;
    let usdc = IPausable::new(
        env.token.address,
        env.provider_as(&x402_testkit::wallets::deployer()),
    );
    usdc.pause()
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let v = env.verify(&f, &p, &req).await;
    assert_eq!(
        v.invalid_reason.as_deref(),
        Some(Reason::SimulationFailed.code()),
        "{v:?}"
    );
    // Permit2 (solmate) reports the paused token as TRANSFER_FROM_FAILED.
    assert!(
        v.invalid_message
            .as_deref()
            .unwrap_or_default()
            .contains("TRANSFER_FROM_FAILED"),
        "{v:?}"
    );
    usdc.unpause()
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(env.verify(&f, &p, &req).await.is_valid);

    // A body that is not JSON at all is a 400 problem, not an x402 answer.
    let r = env
        .http
        .post(format!("{}/verify", f.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Escrow operations on an escrow that does not exist.
    let c: EscrowResponse = env.post(&f, "/escrow/capture", &json!({"paymentId": keccak256("nothing"), "amount": "1", "evidenceHash": keccak256("e")})).await;
    assert_eq!(
        c.error_reason.as_deref(),
        Some(Reason::InvalidEscrowState.code())
    );

    // With the chain gone, verification cannot read state.
    let pid = env.chain.anvil.pid().unwrap();
    std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = env.verify(&f, &good, &req).await;
    assert_eq!(
        v.invalid_reason.as_deref(),
        Some(Reason::UnexpectedVerifyError.code()),
        "{v:?}"
    );
}

#[tokio::test]
async fn settlement_failures_have_their_own_codes() {
    let env = Env::start(1, None).await;
    let f = env
        .facilitator(&["--batch", "--batch-max-wait-ms", "500"])
        .await;
    let payer = env.payer(0);
    // A period budget of 1.5 tokens: each 1-token payment verifies alone, the second in the
    // same batch exceeds the period and is skipped by the contract.
    set_policy(
        env.provider_as(&payer),
        env.chain.deployment.settlement,
        env.token.address,
        Policy {
            max_per_payment: 0,
            max_per_period: (3 * USDC / 2) as u128,
            period: 3600,
            loosen_delay: 0,
        },
    )
    .await
    .unwrap();
    let a = env.requirements("exact", U256::from(USDC), "batch a");
    let b = env.requirements("exact", U256::from(USDC), "batch b");
    let pa = env.sign(&payer, &a, PayOptions::default()).await;
    let pb = env.sign(&payer, &b, PayOptions::default()).await;
    assert!(env.verify(&f, &pa, &a).await.is_valid);
    assert!(env.verify(&f, &pb, &b).await.is_valid);
    let (ra, rb) = tokio::join!(
        env.settle(&f, &pa, &a, keccak256("a"), None),
        env.settle(&f, &pb, &b, keccak256("b"), None)
    );
    let (won, lost) = if ra.success { (ra, rb) } else { (rb, ra) };
    assert!(won.success, "{won:?}");
    assert!(!lost.success, "{lost:?}");
    assert_eq!(
        lost.error_reason.as_deref(),
        Some(Reason::InvalidTransactionState.code())
    );
    assert!(
        lost.error_message
            .as_deref()
            .unwrap()
            .contains("PeriodLimitExceeded"),
        "{lost:?}"
    );
    assert_eq!(
        lost.transaction, won.transaction,
        "both were in the same batch transaction"
    );

    // A facilitator without gas money cannot send: unexpected_settle_error, nothing claimed.
    let c = env.requirements("exact", U256::from(USDC / 4), "no gas");
    let pc = env.sign(&payer, &c, PayOptions::default()).await;
    let rpc = AnvilRpc::new(env.reader());
    rpc.set_balance(env.facilitator, U256::ZERO).await.unwrap();
    let r = env.settle(&f, &pc, &c, keccak256("c"), None).await;
    assert!(!r.success);
    assert_eq!(
        r.error_reason.as_deref(),
        Some(Reason::UnexpectedSettleError.code()),
        "{r:?}"
    );
    // With gas money back, the same payment settles: the failed attempt left no claim behind.
    rpc.set_balance(env.facilitator, U256::from(10u64).pow(U256::from(20u64)))
        .await
        .unwrap();
    let r = env.settle(&f, &pc, &c, keccak256("c"), None).await;
    assert!(r.success, "{r:?}\n{}", f.log_text());
}
