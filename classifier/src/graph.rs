//! The funding graph in compact form: addresses interned to dense `u32` ids (in address order, so
//! ids never depend on load order), transfers and payments sorted chronologically, and
//! per-address adjacency in CSR arrays.

use std::collections::HashMap;

use crate::config::RuleConfig;
use crate::input::Inputs;
use crate::types::{Addr, ZERO_ADDR};

/// Node id of an address.
pub type Node = u32;

/// A transfer with interned endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// Sender.
    pub from: Node,
    /// Recipient.
    pub to: Node,
    /// Token id (index into `Graph::tokens`).
    pub token: u32,
    /// Amount, base units.
    pub amount: u128,
    /// Block.
    pub block: i64,
    /// Log index.
    pub log_index: i32,
    /// Unix seconds.
    pub time: i64,
    /// Below the token's dust threshold: no funding edge, no taint.
    pub dust: bool,
    /// Index in `Inputs::transfers`.
    pub src: u32,
}

/// A payment with interned parties.
#[derive(Debug, Clone, Copy)]
pub struct Pay {
    /// Payer.
    pub payer: Node,
    /// Payee.
    pub payee: Node,
    /// Token id.
    pub token: u32,
    /// Amount.
    pub amount: u128,
    /// Block.
    pub block: i64,
    /// Unix seconds.
    pub time: i64,
    /// Index in `Inputs::payments`.
    pub src: u32,
}

/// Compressed adjacency: the items of node `n` are `items[offsets[n]..offsets[n+1]]`.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Csr {
    /// Builds from `(node, item)` pairs; items keep the pairs' order within a node.
    fn build(nodes: usize, pairs: impl Iterator<Item = (Node, u32)> + Clone) -> Csr {
        let mut counts = vec![0u32; nodes + 1];
        for (n, _) in pairs.clone() {
            counts[n as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut items = vec![0u32; counts[nodes] as usize];
        for (n, it) in pairs {
            items[fill[n as usize] as usize] = it;
            fill[n as usize] += 1;
        }
        Csr { offsets: counts, items }
    }

    /// Items of `n`.
    pub fn get(&self, n: Node) -> &[u32] {
        let n = n as usize;
        &self.items[self.offsets[n] as usize..self.offsets[n + 1] as usize]
    }
}

/// Why a node links nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// The zero address (mints).
    Mint,
    /// Labelled exchange or bridge.
    Pool,
    /// Funded at least `hub_min_children` distinct wallets.
    Hub,
}

impl Blocker {
    /// Name used in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Blocker::Mint => "mint",
            Blocker::Pool => "exchange_or_bridge",
            Blocker::Hub => "hub",
        }
    }
}

/// The interned, sorted, indexed view of one chain's inputs.
pub struct Graph {
    /// Address of each node (sorted, so node ids follow address order).
    pub addrs: Vec<Addr>,
    index: HashMap<Addr, Node>,
    /// Token addresses.
    pub tokens: Vec<Addr>,
    /// Transfers sorted by (block, log index), settlement plumbing removed.
    pub edges: Vec<Edge>,
    /// Payments sorted by (block, payment id).
    pub pays: Vec<Pay>,
    /// Non-dust incoming edges per node, chronological.
    pub in_edges: Csr,
    /// Non-dust outgoing edges per node, chronological.
    pub out_edges: Csr,
    /// Distinct funding neighbours per node (either direction, non-dust), sorted.
    pub neighbors: Csr,
    /// Payments per payer, chronological.
    pub by_payer: Csr,
    /// Distinct non-dust recipients per node.
    pub children: Vec<u32>,
    /// First non-dust incoming edge per node.
    pub first_in: Vec<Option<u32>>,
    /// Why a node links nobody, if it does not.
    pub blocked: Vec<Option<Blocker>>,
    /// Whether a node has any ecosystem label (fast path for label lookups).
    pub has_ecosystem: Vec<bool>,
}

impl Graph {
    /// Interns and indexes `inputs` under `cfg`.
    pub fn build(inputs: &Inputs, cfg: &RuleConfig) -> Graph {
        let mut excluded = inputs.excluded.clone();
        excluded.sort();
        let is_excluded = |a: &Addr| excluded.binary_search(a).is_ok();

        let mut addrs: Vec<Addr> = Vec::with_capacity(inputs.payments.len() / 4 + inputs.transfers.len());
        for p in &inputs.payments {
            addrs.push(p.payer);
            addrs.push(p.payee);
        }
        for t in &inputs.transfers {
            if !is_excluded(&t.from) && !is_excluded(&t.to) {
                addrs.push(t.from);
                addrs.push(t.to);
            }
        }
        addrs.sort_unstable();
        addrs.dedup();
        let index: HashMap<Addr, Node> = addrs.iter().enumerate().map(|(i, a)| (*a, i as Node)).collect();
        let n = addrs.len();

        let mut tokens: Vec<Addr> = inputs.payments.iter().map(|p| p.token).chain(inputs.transfers.iter().map(|t| t.token)).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let dust: Vec<u128> = tokens.iter().map(|t| cfg.dust_threshold(t)).collect();
        let tok = |a: &Addr| tokens.binary_search(a).expect("token interned") as u32;

        let mut edges: Vec<Edge> = inputs
            .transfers
            .iter()
            .enumerate()
            .filter(|(_, t)| !is_excluded(&t.from) && !is_excluded(&t.to) && t.from != t.to)
            .map(|(i, t)| {
                let token = tok(&t.token);
                Edge {
                    from: index[&t.from],
                    to: index[&t.to],
                    token,
                    amount: t.amount,
                    block: t.block,
                    log_index: t.log_index,
                    time: t.time,
                    dust: t.amount < dust[token as usize],
                    src: i as u32,
                }
            })
            .collect();
        edges.sort_by_key(|e| (e.block, e.log_index, e.src));

        let mut pays: Vec<Pay> = inputs
            .payments
            .iter()
            .enumerate()
            .map(|(i, p)| Pay {
                payer: index[&p.payer],
                payee: index[&p.payee],
                token: tok(&p.token),
                amount: p.amount,
                block: p.block,
                time: p.time,
                src: i as u32,
            })
            .collect();
        pays.sort_by(|a, b| (a.block, &inputs.payments[a.src as usize].id).cmp(&(b.block, &inputs.payments[b.src as usize].id)));

        let nd = || edges.iter().enumerate().filter(|(_, e)| !e.dust);
        let in_edges = Csr::build(n, nd().map(|(i, e)| (e.to, i as u32)));
        let out_edges = Csr::build(n, nd().map(|(i, e)| (e.from, i as u32)));
        let by_payer = Csr::build(n, pays.iter().enumerate().map(|(i, p)| (p.payer, i as u32)));

        let mut pairs: Vec<(Node, Node)> = nd().flat_map(|(_, e)| [(e.from, e.to), (e.to, e.from)]).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let neighbors = Csr::build(n, pairs.iter().copied());

        let mut children = vec![0u32; n];
        let mut out_pairs: Vec<(Node, Node)> = nd().map(|(_, e)| (e.from, e.to)).collect();
        out_pairs.sort_unstable();
        out_pairs.dedup();
        for (f, _) in &out_pairs {
            children[*f as usize] += 1;
        }

        let first_in: Vec<Option<u32>> = (0..n as Node).map(|v| in_edges.get(v).first().copied()).collect();

        let mut blocked = vec![None; n];
        let mut has_ecosystem = vec![false; n];
        for (i, a) in addrs.iter().enumerate() {
            if *a == ZERO_ADDR {
                blocked[i] = Some(Blocker::Mint);
            } else if inputs.labels.pool(a).is_some() {
                blocked[i] = Some(Blocker::Pool);
            } else if children[i] as usize >= cfg.hub_min_children {
                blocked[i] = Some(Blocker::Hub);
            }
            has_ecosystem[i] = inputs.labels.of(a).any(|l| l.kind == crate::labels::LabelKind::Ecosystem);
        }

        Graph {
            addrs,
            index,
            tokens,
            edges,
            pays,
            in_edges,
            out_edges,
            neighbors,
            by_payer,
            children,
            first_in,
            blocked,
            has_ecosystem,
        }
    }

    /// Node of `a`, if it appears in the inputs.
    pub fn node(&self, a: &Addr) -> Option<Node> {
        self.index.get(a).copied()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The earliest non-dust edge between `a` and `b`, in either direction.
    pub fn edge_between(&self, a: Node, b: Node) -> Option<u32> {
        let ab = self.out_edges.get(a).iter().copied().find(|&e| self.edges[e as usize].to == b);
        let ba = self.out_edges.get(b).iter().copied().find(|&e| self.edges[e as usize].to == a);
        match (ab, ba) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Whether `b` is a funding neighbour of `a`.
    pub fn adjacent(&self, a: Node, b: Node) -> bool {
        self.neighbors.get(a).binary_search(&b).is_ok()
    }
}
