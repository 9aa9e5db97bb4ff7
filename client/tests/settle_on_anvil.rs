//! Signatures and hashes made by `x402_client::permit` settle on the real contracts: Permit2 built
//! from source and X402Settlement, deployed to anvil by the project's deploy script.

use alloy::primitives::{keccak256, Address, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolEvent, SolStruct};
use x402_bindings::settlement::IX402Settlement;
use x402_bindings::X402Settlement;
use x402_client::permit::{
    eip712, evidence_hash, evidence_leaf, EvidenceTree, PaymentMode, PaymentPermit, PaymentTerms,
    SpendingPolicyPermit,
};
use x402_testkit::{DevChain, Traffic};

async fn setup() -> anyhow::Result<(DevChain, Traffic)> {
    let chain = DevChain::start().await?;
    let mut traffic = Traffic::new(
        &chain.anvil.url(),
        chain.deployment.clone(),
        "client-settle",
    )
    .await?;
    traffic.fund(3, 2, 1_000_000).await?;
    Ok((chain, traffic))
}

async fn chain_time(traffic: &Traffic) -> anyhow::Result<u64> {
    let block = traffic
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?;
    Ok(block.expect("latest block").header.timestamp)
}

fn permit(
    chain: &DevChain,
    traffic: &Traffic,
    nonce: u64,
    mode: PaymentMode,
    now: u64,
) -> PaymentPermit {
    let d = &chain.deployment;
    PaymentPermit {
        chain_id: d.chain_id,
        permit2: d.permit2,
        settlement: d.settlement,
        token: d.tokens[1].address,
        amount: U256::from(2_500_000u64),
        nonce: U256::from(nonce),
        deadline: now + 3600,
        terms: PaymentTerms {
            payer: traffic.payers[0].address(),
            payee: traffic.payees[0].address(),
            facilitator: traffic.facilitator(),
            request_hash: keccak256(format!("request {nonce}")),
            max_facilitator_fee_bps: 200,
            valid_after: 0,
            mode,
            authorization_expiry: 0,
            refund_expiry: 0,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_charge_settles_with_the_predicted_payment_id() -> anyhow::Result<()> {
    let (chain, traffic) = setup().await?;
    let now = chain_time(&traffic).await?;
    let payer = traffic.payers[0].clone();
    let signed = permit(&chain, &traffic, 42, PaymentMode::Exact, now)
        .sign(&payer)
        .await?;
    assert_eq!(signed.recover_payer()?, payer.address());

    let settlement = X402Settlement::new(chain.deployment.settlement, traffic.provider().clone());
    let on_chain_id = settlement
        .paymentIdOf(payer.address(), U256::from(42u64))
        .call()
        .await?;
    assert_eq!(
        on_chain_id, signed.payment_id,
        "paymentIdOf disagrees with the client"
    );

    let evidence = evidence_hash(
        signed.permit.terms.request_hash,
        keccak256("response"),
        "model-a",
        b"",
    );
    let receipt = settlement
        .charge(signed.to_call()?, signed.permit.amount, 100, evidence)
        .from(traffic.facilitator())
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let charged = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| X402Settlement::PaymentCharged::decode_log(&l.inner).ok())
        .expect("a PaymentCharged event");
    assert_eq!(charged.paymentId, signed.payment_id);
    assert_eq!(charged.payer, payer.address());
    assert_eq!(charged.evidenceHash, evidence);
    assert_eq!(charged.requestHash, signed.permit.terms.request_hash);
    assert_eq!(charged.amount, signed.permit.amount);

    // The same signature cannot settle twice (Permit2 nonce spent).
    let replay = settlement
        .charge(signed.to_call()?, signed.permit.amount, 100, evidence)
        .from(traffic.facilitator())
        .send()
        .await;
    assert!(replay.is_err(), "a replayed signature settled");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_witness_is_rejected() -> anyhow::Result<()> {
    let (chain, traffic) = setup().await?;
    let now = chain_time(&traffic).await?;
    let payer = traffic.payers[1].clone();
    let mut signed = permit(&chain, &traffic, 7, PaymentMode::Upto, now)
        .sign(&payer)
        .await?;
    // Redirect the funds after signing: the witness hash no longer matches the signature.
    signed.permit.terms.payee = traffic.payees[1].address();
    let settlement = X402Settlement::new(chain.deployment.settlement, traffic.provider().clone());
    let sent = settlement
        .charge(signed.to_call()?, U256::from(1_000u64), 0, keccak256("e"))
        .from(traffic.facilitator())
        .send()
        .await;
    assert!(sent.is_err(), "a payment with a redirected payee settled");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_evidence_root_and_proofs_match_the_contract() -> anyhow::Result<()> {
    let (chain, traffic) = setup().await?;
    let now = chain_time(&traffic).await?;
    let settlement = X402Settlement::new(chain.deployment.settlement, traffic.provider().clone());
    let mut items = Vec::new();
    let mut settled = Vec::new();
    for i in 0..5u64 {
        let payer = &traffic.payers[(i % 3) as usize];
        let mut unsigned = permit(&chain, &traffic, 100 + i, PaymentMode::Exact, now);
        unsigned.terms.payer = payer.address();
        let signed = unsigned.sign_sync(payer)?;
        let ev = keccak256(format!("evidence {i}"));
        assert_eq!(
            settlement
                .evidenceLeaf(signed.payment_id, ev)
                .call()
                .await?,
            evidence_leaf(signed.payment_id, ev)
        );
        settled.push((signed.payment_id, ev));
        items.push(IX402Settlement::BatchItem {
            payment: signed.to_call()?,
            amount: signed.permit.amount,
            facilitatorFeeBps: 50,
            evidenceHash: ev,
        });
    }
    // An item charged to someone else than its signed payer fails alone and stays out of the tree.
    let mut forged = items[0].clone();
    forged.payment.terms.payer = Address::repeat_byte(0x42);
    items.insert(2, forged);

    let receipt = settlement
        .chargeBatch(items, true, 300_000)
        .from(traffic.facilitator())
        .gas(3_000_000)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let logs = receipt.inner.logs();
    let batch = logs
        .iter()
        .find_map(|l| X402Settlement::BatchSettled::decode_log(&l.inner).ok())
        .expect("a BatchSettled event");
    assert_eq!(batch.itemCount, U256::from(6u64));
    assert_eq!(batch.settledCount, U256::from(5u64));
    assert!(logs
        .iter()
        .any(|l| l.topic0() == Some(&X402Settlement::BatchItemFailed::SIGNATURE_HASH)));

    let tree = EvidenceTree::from_items(&settled);
    assert_eq!(
        batch.evidenceRoot,
        tree.root(),
        "client and contract Merkle roots differ"
    );
    for (i, (id, ev)) in settled.iter().enumerate() {
        let proof = tree.proof(i).expect("in range");
        assert!(
            settlement
                .verifyEvidence(batch.batchId, *id, *ev, proof.clone())
                .call()
                .await?,
            "proof {i}"
        );
        assert!(
            !settlement
                .verifyEvidence(batch.batchId, *id, keccak256("forged"), proof)
                .call()
                .await?
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_signature_is_accepted_once() -> anyhow::Result<()> {
    let (chain, traffic) = setup().await?;
    let now = chain_time(&traffic).await?;
    let payer = traffic.payers[2].clone();
    let settlement = X402Settlement::new(chain.deployment.settlement, traffic.provider().clone());
    assert_eq!(
        settlement.SET_SPENDING_POLICY_TYPEHASH().call().await?,
        keccak256(eip712::SetSpendingPolicy::eip712_encode_type().as_bytes()),
        "the contract's SetSpendingPolicy type hash differs from the client's"
    );
    let token = chain.deployment.tokens[0].address;
    let signed = SpendingPolicyPermit {
        chain_id: chain.deployment.chain_id,
        settlement: chain.deployment.settlement,
        payer: payer.address(),
        token,
        max_per_payment: 5_000,
        max_per_period: 20_000,
        period: 3600,
        loosen_delay: 0,
        nonce: settlement.policyNonces(payer.address()).call().await?,
        deadline: now + 600,
    }
    .sign(&payer)
    .await?;
    // Anyone may submit it: the facilitator pays the gas.
    let submit = || {
        settlement
            .setSpendingPolicyBySig(
                payer.address(),
                token,
                signed.permit.policy(),
                U256::from(signed.permit.deadline),
                signed.signature.clone(),
            )
            .from(traffic.facilitator())
    };
    let receipt = submit().send().await?.get_receipt().await?;
    assert!(receipt.status());
    let set = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| X402Settlement::SpendingPolicySet::decode_log(&l.inner).ok())
        .expect("a SpendingPolicySet event");
    assert_eq!(
        (
            set.payer,
            set.policy.maxPerPayment,
            set.policy.maxPerPeriod,
            set.policy.period
        ),
        (payer.address(), 5_000, 20_000, 3600)
    );
    assert_eq!(
        settlement
            .remainingBudget(payer.address(), token)
            .call()
            .await?,
        U256::from(5_000u64)
    );
    assert!(
        submit().send().await.is_err(),
        "a policy signature was accepted twice"
    );
    Ok(())
}
