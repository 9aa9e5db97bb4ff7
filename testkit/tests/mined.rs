//! `x402_testkit::mined` against a real anvil: hand mining takes every sent transaction in as
//! few blocks as the gas limit allows, and a transaction that can never be mined (dropped from the
//! pool, stuck behind a nonce gap) fails the wait at once, naming it, instead of hanging it.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use serde_json::json;
use x402_testkit::{mined, wallets, Anvil, AnvilRpc, Error};

/// Two of anvil's development accounts, (2) and (4) (unlocked: `eth_sendTransaction` signs for
/// them; neither is the deployer or the facilitator).
const SENDERS: [&str; 2] = [
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
];

/// A wait that could never end fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(60);

async fn send(p: &DynProvider, from: &str, nonce: Option<u64>) -> anyhow::Result<B256> {
    let mut tx = json!({
        "from": from,
        "to": wallets::derived("mined-test", 0).address(),
        "value": "0x1",
        "gas": "0x5208",
    });
    if let Some(n) = nonce {
        tx["nonce"] = json!(format!("{n:#x}"));
    }
    Ok(p.raw_request("eth_sendTransaction".into(), (tx,)).await?)
}

/// anvil with automine off: nothing is mined unless the test mines it.
async fn idle_anvil() -> anyhow::Result<(Anvil, DynProvider)> {
    let anvil = Anvil::spawn()?;
    let p = anvil.provider();
    AnvilRpc::new(p.clone()).set_automine(false).await?;
    Ok((anvil, p))
}

#[tokio::test]
async fn mine_all_takes_every_sent_transaction_into_one_block() -> anyhow::Result<()> {
    let (_anvil, p) = idle_anvil().await?;
    let start = p.get_block_number().await?;
    let mut sent = Vec::new();
    for _ in 0..10 {
        for from in SENDERS {
            sent.push(send(&p, from, None).await?);
        }
    }
    let blocks = tokio::time::timeout(GUARD, mined::mine_all(&p, "transfers", &sent)).await??;
    assert_eq!(blocks, 1);
    assert_eq!(p.get_block_number().await?, start + 1);
    for h in &sent {
        let r = p.get_transaction_receipt(*h).await?.expect("mined");
        assert!(r.status());
        assert_eq!(r.block_number, Some(start + 1));
    }
    Ok(())
}

#[tokio::test]
async fn a_transaction_the_node_dropped_fails_both_waits_naming_it() -> anyhow::Result<()> {
    let (_anvil, p) = idle_anvil().await?;
    let kept = send(&p, SENDERS[0], None).await?;
    let dropped = send(&p, SENDERS[1], None).await?;
    p.raw_request::<_, serde_json::Value>("anvil_dropTransaction".into(), (dropped,))
        .await?;

    let err = tokio::time::timeout(
        GUARD,
        mined::wait_mined(&p, "paying someone", &[dropped], GUARD),
    )
    .await?
    .expect_err("a dropped transaction is never mined");
    assert!(
        matches!(&err, Error::Dropped { hash, what } if *hash == dropped && what.contains("paying someone")),
        "{err}"
    );

    let err = tokio::time::timeout(
        GUARD,
        mined::mine_all(&p, "paying someone", &[kept, dropped]),
    )
    .await?
    .expect_err("a dropped transaction is never mined");
    assert!(
        matches!(&err, Error::Dropped { hash, .. } if *hash == dropped),
        "{err}"
    );
    // The other transaction was mined all the same.
    assert!(p.get_transaction_receipt(kept).await?.is_some());
    Ok(())
}

#[tokio::test]
async fn mine_all_names_a_transaction_stuck_behind_a_nonce_gap() -> anyhow::Result<()> {
    let (_anvil, p) = idle_anvil().await?;
    let from: Address = SENDERS[0].parse()?;
    let next = p.get_transaction_count(from).await?;
    let fine = send(&p, SENDERS[0], Some(next)).await?;
    // Nonce next + 1 is never sent: next + 2 waits for it forever.
    let stuck = send(&p, SENDERS[0], Some(next + 2)).await?;

    let err = tokio::time::timeout(GUARD, mined::mine_all(&p, "gapped", &[fine, stuck]))
        .await?
        .expect_err("a transaction behind a nonce gap is never mined");
    assert!(err.to_string().contains(&stuck.to_string()), "{err}");
    assert!(err.to_string().contains("earlier nonce"), "{err}");
    assert!(p.get_transaction_receipt(fine).await?.is_some());
    Ok(())
}

#[tokio::test]
async fn wait_mined_returns_the_receipts_of_automined_transactions_in_order() -> anyhow::Result<()>
{
    let anvil = Anvil::spawn()?;
    let p = anvil.provider();
    let mut sent = Vec::new();
    for from in SENDERS.iter().chain(SENDERS.iter()) {
        sent.push(send(&p, from, None).await?);
    }
    let receipts =
        tokio::time::timeout(GUARD, mined::wait_mined(&p, "automined", &sent, GUARD)).await??;
    let hashes: Vec<B256> = receipts.iter().map(|r| r.transaction_hash).collect();
    assert_eq!(hashes, sent);
    assert!(receipts.iter().all(|r| r.status()));
    Ok(())
}
