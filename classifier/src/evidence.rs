//! Evidence JSON building blocks: transfers as hops, addresses with their labels.

use serde_json::{json, Value};

use crate::graph::{Blocker, Graph, Node};
use crate::input::Inputs;
use crate::types::hex0x;

/// RFC 3339 UTC timestamp of unix seconds.
pub fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// One transfer as a hop: from, to, token, amount, transaction, block and time.
pub fn hop(g: &Graph, inputs: &Inputs, edge: u32) -> Value {
    let e = &g.edges[edge as usize];
    if e.native {
        // Gas money: a funding edge of its own kind, with its value in wei.
        let t = &inputs.native[e.src as usize];
        return json!({
            "kind": "native",
            "from": hex0x(&t.from),
            "to": hex0x(&t.to),
            "value_wei": t.value.to_string(),
            "tx": hex0x(&t.tx),
            "block": t.block,
            "tx_index": t.tx_index,
            "time": iso(t.time),
        });
    }
    let t = &inputs.transfers[e.src as usize];
    json!({
        "from": hex0x(&t.from),
        "to": hex0x(&t.to),
        "token": hex0x(&t.token),
        "amount": t.amount.to_string(),
        "tx": hex0x(&t.tx),
        "block": t.block,
        "log_index": t.log_index,
        "time": iso(t.time),
    })
}

/// What a funding path ends at: the node's blocker, ecosystem label at `block`, any other label.
pub fn endpoint(g: &Graph, inputs: &Inputs, v: Node, block: i64) -> Value {
    let a = &g.addrs[v as usize];
    let labels = &inputs.labels;
    let eco = labels.ecosystem_at(a, block);
    let (kind, label) = match (g.blocked[v as usize], eco) {
        (Some(Blocker::Mint), _) => ("mint", None),
        (Some(Blocker::Pool), _) => {
            let l = labels.pool(a).expect("pool has a label");
            (l.kind.as_str(), Some(l.to_json()))
        }
        (_, Some(l)) => ("ecosystem", Some(l.to_json())),
        (Some(Blocker::Hub), None) => ("hub", None),
        (None, None) => match labels.of(a).next() {
            Some(l) => ("labelled", Some(l.to_json())),
            None => ("unlabelled_wallet", None),
        },
    };
    let mut v = json!({ "address": hex0x(a), "kind": kind });
    if let Some(l) = label {
        v["label"] = l;
    }
    if kind == "hub" {
        v["funded_wallets"] = json!(g.children[g.node(a).expect("node") as usize]);
    }
    v
}
