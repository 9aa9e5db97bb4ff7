//! Transactions and receipts of types the indexer does not know must decode without failing: a
//! Base (OP-stack) block puts deposit transactions (type 0x7e, no signature, `mint`,
//! `sourceHash`) first, and its receipts carry L1-fee and deposit fields. The fixtures in
//! `tests/fixtures` are answers written field for field as a Base node returns them; a small
//! JSON-RPC server answers with them, and the real client and fetcher read them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{address, Address, B256, U256};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use x402_indexer::config::RangeLimits;
use x402_indexer::decode::Decoder;
use x402_indexer::ops::Metrics;
use x402_indexer::rpc::{Backoff, ChainClient};
use x402_indexer::sync::{Fetcher, NativeScope, SpanController};

const BLOCK: &str = include_str!("fixtures/base_block_with_deposit.json");
const RECEIPTS: &str = include_str!("fixtures/base_receipts.json");

struct Node {
    block: Value,
    receipts: HashMap<String, Value>,
}

fn answer(node: &Node, call: &Value) -> Value {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let params = call.get("params").cloned().unwrap_or(json!([]));
    let result = match call.get("method").and_then(Value::as_str) {
        Some("eth_chainId") => json!("0x2105"),
        Some("eth_getBlockByNumber") => {
            if params[0] == node.block["number"] {
                let mut b = node.block.clone();
                if params[1] == json!(false) {
                    let hashes: Vec<Value> = b["transactions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["hash"].clone())
                        .collect();
                    b["transactions"] = Value::Array(hashes);
                }
                b
            } else {
                Value::Null
            }
        }
        Some("eth_getTransactionReceipt") => node
            .receipts
            .get(params[0].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or(Value::Null),
        Some("eth_getLogs") => json!([]),
        other => {
            return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("{other:?} not served")}})
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

async fn rpc(State(node): State<Arc<Node>>, Json(req): Json<Value>) -> Json<Value> {
    Json(match req {
        Value::Array(calls) => Value::Array(calls.iter().map(|c| answer(&node, c)).collect()),
        one => answer(&node, &one),
    })
}

/// Serves the fixtures; returns the URL.
async fn base_node() -> String {
    let node = Arc::new(Node {
        block: serde_json::from_str(BLOCK).unwrap(),
        receipts: serde_json::from_str(RECEIPTS).unwrap(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(axum::routing::post(rpc))
        .with_state(node);
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

fn client(url: &str) -> ChainClient {
    ChainClient::new(
        url.parse().unwrap(),
        Duration::from_secs(5),
        Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        100,
        16 << 20,
        Metrics::new(),
        CancellationToken::new(),
    )
    .unwrap()
}

fn fixture_block() -> (u64, B256, Vec<Value>) {
    let b: Value = serde_json::from_str(BLOCK).unwrap();
    let n =
        u64::from_str_radix(b["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    (
        n,
        b["hash"].as_str().unwrap().parse().unwrap(),
        b["transactions"].as_array().unwrap().clone(),
    )
}

fn hash_of(tx: &Value) -> B256 {
    tx["hash"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_base_block_with_deposit_transactions_decodes() {
    let url = base_node().await;
    let (n, hash, txs) = fixture_block();
    let blocks = client(&url).full_blocks(&[n, n + 1]).await.unwrap();
    let block = blocks[0].as_ref().expect("the fixture block");
    assert!(blocks[1].is_none(), "a block the node lacks is None");
    assert_eq!((block.number, block.hash), (n, hash));
    let types: Vec<Option<u64>> = block.transactions.iter().map(|t| t.tx_type).collect();
    assert_eq!(types, vec![Some(0x7e), Some(0x7e), Some(2)]);
    let deposit = &block.transactions[1];
    assert_eq!(
        deposit.from,
        address!("0x977f82a600a1414e583f7f13623f1ac5d58b1c0b")
    );
    assert_eq!(deposit.value, U256::from(20_000_000_000_000_000u64));
    assert_eq!(block.transactions[2].hash, hash_of(&txs[2]));

    let mut wanted: Vec<B256> = txs.iter().map(hash_of).collect();
    wanted.push(B256::repeat_byte(0xee));
    let receipts = client(&url).receipts(&wanted).await.unwrap();
    let system = receipts[0].expect("deposit receipt");
    assert_eq!(
        (system.tx_type, system.success, system.block_hash),
        (0x7e, true, hash)
    );
    assert_eq!(
        system.to,
        Some(address!("0x4200000000000000000000000000000000000015"))
    );
    let eip1559 = receipts[2].expect("type-2 receipt with L1 fee fields");
    assert_eq!((eip1559.tx_type, eip1559.transaction_index), (2, 2));
    assert!(
        receipts[3].is_none(),
        "an unknown transaction has no receipt"
    );
}

#[tokio::test]
async fn native_transfers_of_a_base_block_include_deposits_with_value() {
    let url = base_node().await;
    let (n, hash, txs) = fixture_block();
    let fetcher = Fetcher {
        client: client(&url),
        contracts: vec![address!("0x5FbDB2315678afecb367f032d93F642f64180aa3")],
        tokens: Vec::new(),
        token_topics: Vec::new(),
        check_blooms: true,
        native: Some(NativeScope::default()),
        eip3009: None,
        permit2_proxy: None,
        authorized_transfers: false,
        blooms_saturated: Default::default(),
        decoder: Decoder::new(Address::repeat_byte(1), Address::repeat_byte(2), []),
        span: Arc::new(SpanController::new(RangeLimits::default())),
    };
    let (tx, mut rx) = mpsc::channel(4);
    fetcher.fetch(n, n, n, &tx).await.unwrap();
    drop(tx);
    let batch = rx.recv().await.unwrap().unwrap();
    assert_eq!((batch.to, batch.to_hash), (n, hash));
    let got: Vec<(u64, B256, U256)> = batch
        .rows
        .native_transfers
        .iter()
        .map(|t| (t.tx_index, t.tx_hash, t.value))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, hash_of(&txs[1]), U256::from(20_000_000_000_000_000u64)),
            (2, hash_of(&txs[2]), U256::from(10_000_000_000_000_000u64)),
        ],
        "the system deposit moves no value; the user deposit and the transfer do"
    );
    assert!(batch
        .rows
        .native_transfers
        .iter()
        .all(|t| t.block_hash == hash && t.block_number == n));
}
