//! End to end on anvil and PostgreSQL: the client signs, the facilitator binary verifies and
//! settles, the chain records the evidence; idempotency under concurrency and across restarts;
//! batching with an evidence root; escrow.

mod harness;

use std::collections::HashSet;

use alloy::primitives::{keccak256, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolEvent;
use harness::{Env, USDC};
use x402_bindings::X402Settlement;
use x402_client::pay::PayOptions;
use x402_client::permit::EvidenceTree;

#[tokio::test]
async fn client_pays_facilitator_verifies_and_settles_with_evidence() {
    let env = Env::start(1, None).await;
    let f = env.facilitator(&["--fee-bps", "50"]).await;

    let supported: serde_json::Value = env
        .http
        .get(format!("{}/supported", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes: HashSet<_> = supported["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["scheme"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        schemes,
        HashSet::from(["exact".to_string(), "upto".into(), "escrow".into()])
    );
    assert_eq!(supported["kinds"][0]["network"], "eip155:31337");
    assert_eq!(
        supported["signers"]["eip155:*"][0]
            .as_str()
            .unwrap()
            .to_lowercase(),
        env.facilitator.to_string().to_lowercase()
    );

    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(2 * USDC), "exact request");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;

    let v = env.verify(&f, &payload, &req).await;
    assert!(v.is_valid, "{v:?}");
    assert_eq!(v.payer, Some(payer.address()));
    let payment_id = v.payment_id.unwrap();

    let payer_before = env.balance(payer.address()).await;
    let payee_before = env.balance(env.payee(0)).await;
    let evidence = keccak256("response of the exact request");
    let s = env.settle(&f, &payload, &req, evidence, None).await;
    assert!(s.success, "{s:?}\n{}", f.log_text());
    assert_eq!(s.payer, Some(payer.address()));
    assert_eq!(s.amount.as_deref(), Some("2000000"));
    assert_eq!(s.payment_id, Some(payment_id));

    // The chain moved exactly the amount, the fee went to the facilitator, and the event carries
    // payer, payee, amount, request hash and evidence together.
    assert_eq!(
        env.balance(payer.address()).await,
        payer_before - U256::from(2 * USDC)
    );
    let fee = U256::from(2 * USDC) * U256::from(50u64) / U256::from(10_000u64);
    let events = env.charged_events(payment_id).await;
    assert_eq!(events.len(), 1);
    let (tx, ev) = &events[0];
    assert_eq!(
        env.balance(env.payee(0)).await,
        payee_before + U256::from(2 * USDC) - fee - ev.protocolFee
    );
    assert_eq!(tx.to_string(), s.transaction);
    assert_eq!(
        (ev.payer, ev.payee, ev.amount, ev.facilitatorFee),
        (payer.address(), env.payee(0), U256::from(2 * USDC), fee)
    );
    assert_eq!(ev.evidenceHash, evidence);
    assert_eq!(ev.requestHash, req.extra.request_hash);
    assert_eq!(ev.facilitator, env.facilitator);

    // Settling again answers the first result and charges nothing more.
    let again = env.settle(&f, &payload, &req, evidence, None).await;
    assert_eq!(again, s);
    assert_eq!(env.charged_events(payment_id).await.len(), 1);
    // Verifying a settled payment says why it cannot be paid again.
    let v = env.verify(&f, &payload, &req).await;
    assert_eq!(v.invalid_reason.as_deref(), Some("nonce_already_used"));

    let metrics = env
        .http
        .get(format!("{}/metrics", f.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"x402_facilitator_verify_total{result="valid"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("x402_facilitator_settle_replayed_total 1"),
        "{metrics}"
    );
    // The key never reaches the log.
    assert!(!f
        .log_text()
        .contains(&x402_testkit::wallets::FACILITATOR_KEY[2..]));
}

#[tokio::test]
async fn upto_settles_the_amount_used_and_v1_payloads_are_accepted() {
    let env = Env::start(1, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("upto", U256::from(5 * USDC), "upto request");
    let payload = env
        .sign(&payer, &req, PayOptions::default())
        .await
        .into_v1();
    assert_eq!(payload.header().0, "X-PAYMENT");
    let v = env.verify(&f, &payload, &req).await;
    assert!(v.is_valid, "{v:?}");
    let before = env.balance(payer.address()).await;
    let s = env
        .settle(
            &f,
            &payload,
            &req,
            keccak256("upto evidence"),
            Some(U256::from(3 * USDC / 2)),
        )
        .await;
    assert!(s.success, "{s:?}");
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(3 * USDC / 2)
    );
    let (_, ev) = &env.charged_events(s.payment_id.unwrap()).await[0];
    assert_eq!(
        (ev.amount, ev.maxAmount, ev.mode),
        (U256::from(3 * USDC / 2), U256::from(5 * USDC), 1)
    );

    // A payload sent as the base64 header string (version 1 `paymentHeader`) is read too.
    let req2 = env.requirements("upto", U256::from(USDC), "upto request 2");
    let p2 = env
        .sign(&payer, &req2, PayOptions::default())
        .await
        .into_v1();
    let v: x402_protocol::VerifyResponse = env
        .post(&f, "/verify", &serde_json::json!({"x402Version": 1, "paymentHeader": p2.encode(), "paymentRequirements": req2}))
        .await;
    assert!(v.is_valid, "{v:?}");

    // The x402 SDK's way to settle less: `paymentRequirements.amount` lowered below the
    // accepted (signed) maximum, no separate amount.
    let req3 = env.requirements("upto", U256::from(5 * USDC), "upto request 3");
    let p3 = env.sign(&payer, &req3, PayOptions::default()).await;
    let mut lowered = req3.clone();
    lowered.amount = U256::from(2 * USDC);
    let before = env.balance(payer.address()).await;
    let s = env
        .settle(&f, &p3, &lowered, keccak256("sdk upto evidence"), None)
        .await;
    assert!(s.success, "{s:?}");
    assert_eq!(s.amount.as_deref(), Some("2000000"));
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(2 * USDC)
    );
    // Raising it above the accepted maximum is refused.
    let p4 = env.sign(&payer, &req3, PayOptions::default()).await;
    let mut raised = req3.clone();
    raised.amount = U256::from(6 * USDC);
    let s = env
        .settle(&f, &p4, &raised, keccak256("too much"), None)
        .await;
    assert!(!s.success);
    assert_eq!(
        s.error_reason.as_deref(),
        Some("invalid_payment_requirements"),
        "{s:?}"
    );
}

#[tokio::test]
async fn concurrent_settles_of_one_payment_charge_once() {
    let env = Env::start(1, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(USDC), "concurrent");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;
    let before = env.balance(payer.address()).await;
    let evidence = keccak256("concurrent evidence");
    let results =
        futures::future::join_all((0..12).map(|_| env.settle(&f, &payload, &req, evidence, None)))
            .await;
    let txs: HashSet<_> = results
        .iter()
        .map(|r| {
            assert!(r.success, "{r:?}\n{}", f.log_text());
            r.transaction.clone()
        })
        .collect();
    assert_eq!(
        txs.len(),
        1,
        "every request answers the same transaction: {txs:?}"
    );
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(USDC),
        "charged once"
    );
    assert_eq!(
        env.charged_events(results[0].payment_id.unwrap())
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_restarted_facilitator_replays_and_recovers_settlements() {
    let env = Env::start(2, None).await;
    let mut f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(USDC), "restart");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;
    let first = env
        .settle(&f, &payload, &req, keccak256("restart evidence"), None)
        .await;
    assert!(first.success, "{first:?}");
    f.kill();

    // A process that crashed after its transaction was mined but before recording it: the
    // claim is pending under a dead owner, the charge is on chain.
    let payer2 = env.payer(1);
    let req2 = env.requirements("exact", U256::from(USDC), "crashed");
    let payload2 = env.sign(&payer2, &req2, PayOptions::default()).await;
    let signed2 = payload2
        .to_signed(31337, env.chain.deployment.permit2)
        .unwrap();
    let pool = env.db.pool().await.unwrap();
    sqlx::query(
        "INSERT INTO facilitator_settlements (payment_id, kind, payer, status, amount, evidence_hash, network, owner)
         VALUES ($1, 'charge', $2, 'pending', 1000000, $3, 'eip155:31337', 'dead-process')",
    )
    .bind(signed2.payment_id.as_slice())
    .bind(payer2.address().as_slice())
    .bind(B256::ZERO.as_slice())
    .execute(&pool)
    .await
    .unwrap();
    let fac = env.provider_as(&x402_testkit::wallets::facilitator());
    let receipt = X402Settlement::new(env.chain.deployment.settlement, fac)
        .charge(signed2.to_call().unwrap(), U256::from(USDC), 0, B256::ZERO)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());

    let f = env.facilitator(&[]).await;
    let again = env
        .settle(&f, &payload, &req, keccak256("restart evidence"), None)
        .await;
    assert_eq!(
        again, first,
        "the restarted process answers the first result"
    );
    let recovered = env.settle(&f, &payload2, &req2, B256::ZERO, None).await;
    assert!(recovered.success, "{recovered:?}\n{}", f.log_text());
    assert_eq!(
        recovered.transaction,
        receipt.transaction_hash.to_string(),
        "recovered from the chain, not charged again"
    );
    assert_eq!(env.charged_events(signed2.payment_id).await.len(), 1);
}

#[tokio::test]
async fn batching_settles_many_payments_in_one_transaction_with_an_evidence_root() {
    let env = Env::start(6, None).await;
    let f = env
        .facilitator(&[
            "--batch",
            "--batch-max-items",
            "50",
            "--batch-max-wait-ms",
            "1000",
        ])
        .await;
    let mut work = Vec::new();
    for i in 0..6 {
        let req = env.requirements(
            if i % 2 == 0 { "exact" } else { "upto" },
            U256::from(USDC + i as u64),
            &format!("batch {i}"),
        );
        let payload = env.sign(&env.payer(i), &req, PayOptions::default()).await;
        work.push((req, payload, keccak256(format!("evidence {i}"))));
    }
    let results = futures::future::join_all(
        work.iter()
            .map(|(req, p, ev)| env.settle(&f, p, req, *ev, None)),
    )
    .await;
    for r in &results {
        assert!(r.success, "{r:?}\n{}", f.log_text());
    }
    let txs: HashSet<_> = results.iter().map(|r| r.transaction.clone()).collect();
    assert_eq!(txs.len(), 1, "one chargeBatch transaction");
    assert!(results
        .iter()
        .all(|r| r.batch_id.is_some() && r.batch_id == results[0].batch_id));

    // The batch's root commits to every (paymentId, evidenceHash), in item order.
    let tx: B256 = results[0].transaction.parse().unwrap();
    let receipt = env
        .reader()
        .get_transaction_receipt(tx)
        .await
        .unwrap()
        .unwrap();
    let mut items = Vec::new();
    let mut root = None;
    for log in receipt.inner.logs() {
        if let Ok(ev) = log.log_decode::<X402Settlement::PaymentCharged>() {
            items.push((ev.inner.data.paymentId, ev.inner.data.evidenceHash));
        } else if let Ok(ev) = log.log_decode::<X402Settlement::BatchSettled>() {
            root = Some(ev.inner.data.evidenceRoot);
            assert_eq!(ev.inner.data.settledCount, U256::from(6u64));
        }
    }
    assert_eq!(items.len(), 6);
    let tree = EvidenceTree::from_items(&items);
    assert_eq!(Some(tree.root()), root);
    let (id, evidence) = items[3];
    let proof = tree.proof(3).unwrap();
    let batch_id: U256 = results[0].batch_id.as_ref().unwrap().parse().unwrap();
    let ok = X402Settlement::new(env.chain.deployment.settlement, env.reader())
        .verifyEvidence(batch_id, id, evidence, proof)
        .call()
        .await
        .unwrap();
    assert!(ok, "the contract verifies the evidence proof");
    let _ = X402Settlement::BatchItemFailed::SIGNATURE_HASH;
}

#[tokio::test]
async fn escrow_authorizes_captures_with_evidence_and_voids() {
    let env = Env::start(1, None).await;
    let f = env.facilitator(&[]).await;
    let payer = env.payer(0);
    let req = env.requirements("escrow", U256::from(10 * USDC), "escrow request");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;
    let v = env.verify(&f, &payload, &req).await;
    assert!(v.is_valid, "{v:?}");
    let before = env.balance(payer.address()).await;
    let a = env.authorize(&f, &payload, &req).await;
    assert!(a.success, "{a:?}\n{}", f.log_text());
    let id = a.payment_id.unwrap();
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(10 * USDC)
    );
    // Authorizing again replays.
    assert_eq!(env.authorize(&f, &payload, &req).await, a);

    let evidence = keccak256("first part of the work");
    let c = env.capture(&f, id, U256::from(4 * USDC), evidence).await;
    assert!(c.success, "{c:?}");
    let replay = env.capture(&f, id, U256::from(4 * USDC), evidence).await;
    assert_eq!(
        replay.transaction, c.transaction,
        "the same evidence captures once"
    );
    let view: serde_json::Value = env
        .http
        .get(format!("{}/escrow/{id}", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["captured"], "4000000");

    // The capture event carries the evidence.
    let filter = alloy::rpc::types::Filter::new()
        .address(env.chain.deployment.settlement)
        .event_signature(X402Settlement::PaymentCaptured::SIGNATURE_HASH)
        .topic1(id)
        .from_block(0u64);
    let logs = env.reader().get_logs(&filter).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        logs[0]
            .log_decode::<X402Settlement::PaymentCaptured>()
            .unwrap()
            .inner
            .data
            .evidenceHash,
        evidence
    );

    let v: x402_protocol::EscrowResponse = env
        .post(&f, "/escrow/void", &serde_json::json!({"paymentId": id}))
        .await;
    assert!(v.success, "{v:?}");
    assert_eq!(v.amount.as_deref(), Some("6000000"));
    assert_eq!(
        env.balance(payer.address()).await,
        before - U256::from(4 * USDC)
    );
    let closed: serde_json::Value = env
        .http
        .get(format!("{}/escrow/{id}", f.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed["closed"], true);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_stuck_transaction_is_re_sent_with_higher_fees() {
    let env = Env::start(1, None).await;
    let f = env.facilitator(&["--bump-after-secs", "1"]).await;
    let rpc = x402_testkit::AnvilRpc::new(env.reader());
    let payer = env.payer(0);
    let req = env.requirements("exact", U256::from(USDC), "stuck");
    let payload = env.sign(&payer, &req, PayOptions::default()).await;
    // No block is mined until well after the first bump.
    rpc.set_automine(false).await.unwrap();
    let miner = async {
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        rpc.mine(1).await.unwrap();
    };
    let (s, ()) = tokio::join!(
        env.settle(&f, &payload, &req, keccak256("stuck evidence"), None),
        miner
    );
    assert!(s.success, "{s:?}\n{}", f.log_text());
    let metrics = env
        .http
        .get(format!("{}/metrics", f.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metric(&metrics, "x402_facilitator_tx_bumped_total") >= 1.0,
        "{metrics}"
    );
    // The mined transaction is a replacement: it pays more than the first estimate would.
    let tx: B256 = s.transaction.parse().unwrap();
    let mined = env
        .reader()
        .get_transaction_by_hash(tx)
        .await
        .unwrap()
        .unwrap();
    let first_fee = env
        .reader()
        .estimate_eip1559_fees()
        .await
        .unwrap()
        .max_fee_per_gas;
    assert!(
        alloy::consensus::Transaction::max_fee_per_gas(&mined) > first_fee,
        "the mined version is the bumped one"
    );
    assert_eq!(env.charged_events(s.payment_id.unwrap()).await.len(), 1);
}

#[tokio::test]
async fn a_nonce_taken_behind_the_facilitators_back_is_resynchronised() {
    let env = Env::start(2, None).await;
    let f = env.facilitator(&[]).await;
    let req = env.requirements("exact", U256::from(USDC), "nonce a");
    let a = env
        .settle(
            &f,
            &env.sign(&env.payer(0), &req, PayOptions::default()).await,
            &req,
            B256::ZERO,
            None,
        )
        .await;
    assert!(a.success, "{a:?}");
    // Someone else uses the facilitator's key: its local nonce counter is now stale.
    let key = x402_testkit::wallets::facilitator();
    let other = env.provider_as(&key);
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(key.address())
        .value(U256::ZERO);
    other
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let req = env.requirements("exact", U256::from(USDC), "nonce b");
    let b = env
        .settle(
            &f,
            &env.sign(&env.payer(1), &req, PayOptions::default()).await,
            &req,
            B256::ZERO,
            None,
        )
        .await;
    assert!(b.success, "{b:?}\n{}", f.log_text());
    let metrics = env
        .http
        .get(format!("{}/metrics", f.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metric(&metrics, "x402_facilitator_nonce_resync_total") >= 2.0,
        "{metrics}"
    );
}
