//! The funding graph in compact form: addresses interned to dense `u32` ids (in address order, so
//! ids never depend on load order), token and native transfers and payments sorted
//! chronologically, and per-address adjacency in CSR arrays.
//!
//! Dust is decided per sender/receiver pair: a transfer is dust while the pair's cumulative amount
//! (of that token, or of native currency) up to and including it stays below the threshold, so 30
//! drips of 0.99 count from the second one on while one stray drip stays dust.

use std::collections::{HashMap, HashSet};

use crate::config::RuleConfig;
use crate::input::{Inputs, Transfer};
use crate::types::{Addr, Hash32, ZERO_ADDR};

/// Node id of an address.
pub type Node = u32;

/// A transfer with interned endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// Sender.
    pub from: Node,
    /// Recipient.
    pub to: Node,
    /// Token id (index into the sorted token addresses of the inputs); `NATIVE` for native-currency
    /// transfers.
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
    /// A native-currency transfer: a funding edge, never token provenance.
    pub native: bool,
    /// Index in `Inputs::transfers` (or `Inputs::native` for native edges).
    pub src: u32,
}

/// The token id of native-currency edges (no payment token has it).
pub const NATIVE: u32 = u32::MAX;

/// "No group" in `Graph::payee_group`.
pub const NO_GROUP: u32 = u32::MAX;

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
        Csr {
            offsets: counts,
            items,
        }
    }

    /// Items of `n`.
    pub fn get(&self, n: Node) -> &[u32] {
        &self.items[self.range(n)]
    }

    /// Positions of `n`'s items in the flat item array (for arrays parallel to it).
    pub fn range(&self, n: Node) -> std::ops::Range<usize> {
        let n = n as usize;
        self.offsets[n] as usize..self.offsets[n + 1] as usize
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
    /// Parallel to `neighbors`' items: the block of the pair's earliest non-dust edge.
    pub neighbor_since: Vec<i64>,
    /// Payments per payer, chronological.
    pub by_payer: Csr,
    /// Distinct non-dust recipients per node.
    pub children: Vec<u32>,
    /// First non-dust incoming edge per node (token or native).
    pub first_in: Vec<Option<u32>>,
    /// The edge that ties a node to its funding cluster: its first funding when the funder links,
    /// else its first native (gas) funding from a funder that links.
    pub link_in: Vec<Option<u32>>,
    /// Payee-side group per node: a payee and the wallets it declared share one group (`NO_GROUP`
    /// for wallets that are neither).
    pub payee_group: Vec<u32>,
    /// Distinct payers per node as a payee.
    pub payee_payers: Vec<u32>,
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
        // A payment that moves the token straight from payer to payee (standard EIP-3009, the
        // settlement's `chargeWithAuthorization`, x402's Permit2 proxies) leaves a Transfer that
        // *is* the payment: counting it as funding would make every payee a funder of its payers.
        let payment_legs: HashSet<(Hash32, Addr, Addr, Addr)> = inputs
            .payments
            .iter()
            .map(|p| (p.tx, p.payer, p.payee, p.token))
            .collect();
        let is_funding = |t: &Transfer| {
            !is_excluded(&t.from)
                && !is_excluded(&t.to)
                && !payment_legs.contains(&(t.tx, t.from, t.to, t.token))
        };

        let mut addrs: Vec<Addr> =
            Vec::with_capacity(inputs.payments.len() / 4 + inputs.transfers.len());
        for p in &inputs.payments {
            addrs.push(p.payer);
            addrs.push(p.payee);
        }
        for t in &inputs.transfers {
            if is_funding(t) {
                addrs.push(t.from);
                addrs.push(t.to);
            }
        }
        for t in &inputs.native {
            addrs.push(t.from);
            addrs.push(t.to);
        }
        for d in &inputs.declarations {
            addrs.push(d.payee);
            addrs.push(d.wallet);
        }
        addrs.sort_unstable();
        addrs.dedup();
        let index: HashMap<Addr, Node> = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, i as Node))
            .collect();
        let n = addrs.len();

        let mut tokens: Vec<Addr> = inputs
            .payments
            .iter()
            .map(|p| p.token)
            .chain(inputs.transfers.iter().map(|t| t.token))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        let dust: Vec<u128> = tokens.iter().map(|t| cfg.dust_threshold(t)).collect();
        let tok = |a: &Addr| tokens.binary_search(a).expect("token interned") as u32;

        let mut edges: Vec<Edge> = inputs
            .transfers
            .iter()
            .enumerate()
            .filter(|(_, t)| is_funding(t) && t.from != t.to)
            .map(|(i, t)| Edge {
                from: index[&t.from],
                to: index[&t.to],
                token: tok(&t.token),
                amount: t.amount,
                block: t.block,
                log_index: t.log_index,
                time: t.time,
                dust: false,
                native: false,
                src: i as u32,
            })
            .collect();
        edges.extend(
            inputs
                .native
                .iter()
                .enumerate()
                .filter(|(_, t)| t.from != t.to && t.value > 0)
                .map(|(i, t)| Edge {
                    from: index[&t.from],
                    to: index[&t.to],
                    token: NATIVE,
                    amount: t.value,
                    block: t.block,
                    log_index: t.tx_index,
                    time: t.time,
                    dust: false,
                    native: true,
                    src: i as u32,
                }),
        );
        // Within a block, native transactions sort by their index beside token logs by theirs; the
        // flag and source index make the order total.
        edges.sort_by_key(|e| (e.block, e.log_index, e.native, e.src));
        // Dust per sender/receiver pair and token: cumulative amount so far below the threshold.
        let mut pair_sum: HashMap<(Node, Node, u32), u128> = HashMap::new();
        for e in edges.iter_mut() {
            let threshold = if e.native {
                cfg.native_dust_wei as u128
            } else {
                dust[e.token as usize]
            };
            let sum = pair_sum.entry((e.from, e.to, e.token)).or_default();
            *sum = sum.saturating_add(e.amount);
            e.dust = *sum < threshold;
        }
        drop(pair_sum);

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
        pays.sort_by(|a, b| {
            (a.block, &inputs.payments[a.src as usize].id)
                .cmp(&(b.block, &inputs.payments[b.src as usize].id))
        });

        let nd = || edges.iter().enumerate().filter(|(_, e)| !e.dust);
        let in_edges = Csr::build(n, nd().map(|(i, e)| (e.to, i as u32)));
        let out_edges = Csr::build(n, nd().map(|(i, e)| (e.from, i as u32)));
        let by_payer = Csr::build(n, pays.iter().enumerate().map(|(i, p)| (p.payer, i as u32)));

        // Edges are chronological, so the first occurrence of a pair after a stable sort is its
        // earliest edge.
        let mut pairs: Vec<(Node, Node, i64)> = nd()
            .flat_map(|(_, e)| [(e.from, e.to, e.block), (e.to, e.from, e.block)])
            .collect();
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| (p.0, p.1));
        let neighbors = Csr::build(n, pairs.iter().map(|p| (p.0, p.1)));
        let neighbor_since: Vec<i64> = pairs.iter().map(|p| p.2).collect();
        drop(pairs);

        let mut children = vec![0u32; n];
        let mut out_pairs: Vec<(Node, Node)> = nd().map(|(_, e)| (e.from, e.to)).collect();
        out_pairs.sort_unstable();
        out_pairs.dedup();
        for (f, _) in &out_pairs {
            children[*f as usize] += 1;
        }

        let first_in: Vec<Option<u32>> = (0..n as Node)
            .map(|v| in_edges.get(v).first().copied())
            .collect();

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
            has_ecosystem[i] = inputs
                .labels
                .of(a)
                .any(|l| l.kind == crate::labels::LabelKind::Ecosystem);
        }

        // Cluster links: the first funder when it links, else the first native funder that does.
        let link_in: Vec<Option<u32>> = (0..n as Node)
            .map(|v| {
                let links = |e: &u32| blocked[edges[*e as usize].from as usize].is_none();
                match first_in[v as usize] {
                    Some(e) if links(&e) => Some(e),
                    _ => in_edges
                        .get(v)
                        .iter()
                        .copied()
                        .find(|e| edges[*e as usize].native && links(e)),
                }
            })
            .collect();

        // Payee-side groups: each payee with the wallets it ever declared (union-find, smallest root).
        let mut group: Vec<u32> = vec![NO_GROUP; n];
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let p = parent[x as usize];
                parent[x as usize] = parent[p as usize];
                x = p;
            }
            x
        }
        let mut payee_side = vec![false; n];
        for p in &pays {
            payee_side[p.payee as usize] = true;
        }
        for d in inputs.declarations.iter().filter(|d| d.declared) {
            let (a, b) = (index[&d.payee], index[&d.wallet]);
            payee_side[a as usize] = true;
            payee_side[b as usize] = true;
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
        for v in 0..n {
            if payee_side[v] {
                group[v] = root(&mut parent, v as u32);
            }
        }
        let mut payee_payers = vec![0u32; n];
        let mut pp: Vec<(Node, Node)> = pays.iter().map(|p| (p.payee, p.payer)).collect();
        pp.sort_unstable();
        pp.dedup();
        for (q, _) in pp {
            payee_payers[q as usize] += 1;
        }

        Graph {
            addrs,
            index,
            edges,
            pays,
            in_edges,
            out_edges,
            neighbors,
            neighbor_since,
            by_payer,
            children,
            first_in,
            link_in,
            payee_group: group,
            payee_payers,
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

    /// The earliest non-dust edge between `a` and `b`, in either direction.
    pub fn edge_between(&self, a: Node, b: Node) -> Option<u32> {
        let ab = self
            .out_edges
            .get(a)
            .iter()
            .copied()
            .find(|&e| self.edges[e as usize].to == b);
        let ba = self
            .out_edges
            .get(b)
            .iter()
            .copied()
            .find(|&e| self.edges[e as usize].to == a);
        match (ab, ba) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// The block from which `a` and `b` are funding neighbours, if they are.
    pub fn linked_since(&self, a: Node, b: Node) -> Option<i64> {
        let r = self.neighbors.range(a);
        self.neighbors
            .get(a)
            .binary_search(&b)
            .ok()
            .map(|i| self.neighbor_since[r.start + i])
    }

    /// Whether `v` belongs to the payee-side group `g` (a payee or one of its declared wallets).
    pub fn in_group(&self, v: Node, g: u32) -> bool {
        g != NO_GROUP && self.payee_group[v as usize] == g
    }
}
