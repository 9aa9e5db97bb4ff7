//! Where the tokens a payment spent came from: FIFO and haircut shares of ecosystem funds,
//! propagated hop by hop over every transfer in chronological order.
//!
//! Each wallet keeps, per token, a FIFO queue of lots (amount, share of ecosystem origin) and a
//! haircut balance (known balance, ecosystem part of it). An ecosystem wallet's outflows are fully
//! ecosystem-origin while it is labelled; an exchange, bridge or mint resets the origin (their
//! funds are pooled); everybody else passes on what it consumed. Dust carries no taint. Tokens
//! whose origin is unknown (balances from before indexing) count as non-ecosystem.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::graph::{Blocker, Graph, Node};
use crate::input::Inputs;

const NO_ORIGIN: Node = Node::MAX;

#[derive(Clone, Copy)]
struct Lot {
    amount: u128,
    eco: f64,
    origin: Node,
}

#[derive(Default)]
struct Wallet {
    lots: VecDeque<Lot>,
    balance: u128,
    eco_balance: f64,
}

/// The provenance of one payment's spent tokens.
#[derive(Debug, Clone, Default)]
pub struct Spend {
    /// FIFO share from ecosystem wallets, 0..1.
    pub fifo: f64,
    /// Haircut (pro-rata) share from ecosystem wallets, 0..1.
    pub haircut: f64,
    /// Ecosystem wallets the FIFO-consumed tainted tokens came from, with amounts (largest first).
    pub sources: Vec<(Node, u128)>,
}

/// Provenance of every payment, indexed like `Graph::pays`.
pub struct Provenance {
    /// One entry per payment.
    pub spends: Vec<Spend>,
}

enum Sender {
    /// Pooled funds: origin reset to non-ecosystem.
    Reset,
    /// An ecosystem wallet at this block.
    Source,
    /// An ordinary wallet passing on what it holds.
    Track,
}

impl Provenance {
    /// Runs the propagation over every transfer and payment of `g`.
    pub fn compute(g: &Graph, inputs: &Inputs, max_sources: usize) -> Provenance {
        let mut wallets: HashMap<(Node, u32), Wallet> = HashMap::new();
        let mut spends = vec![Spend::default(); g.pays.len()];
        let (mut ei, mut pi) = (0usize, 0usize);
        // Merge the two chronological streams; payments come after the transfers of their block.
        while ei < g.edges.len() || pi < g.pays.len() {
            let take_edge = match (g.edges.get(ei), g.pays.get(pi)) {
                (Some(e), Some(p)) => e.block <= p.block,
                (Some(_), None) => true,
                _ => false,
            };
            let (from, to, token, amount, block, dust) = if take_edge {
                let e = &g.edges[ei];
                (e.from, e.to, e.token, e.amount, e.block, e.dust)
            } else {
                let p = &g.pays[pi];
                (p.payer, p.payee, p.token, p.amount, p.block, false)
            };
            let sender = classify_sender(g, inputs, from, block);
            let mut spend = Spend::default();
            if amount > 0 {
                match sender {
                    Sender::Reset => {}
                    Sender::Source => {
                        spend.fifo = 1.0;
                        spend.haircut = 1.0;
                        spend.sources.push((from, amount));
                    }
                    Sender::Track => {
                        let w = wallets.entry((from, token)).or_default();
                        consume(w, amount, &mut spend, max_sources);
                    }
                }
                if !matches!(g.blocked[to as usize], Some(Blocker::Mint | Blocker::Pool)) {
                    let (eco, hc) = if dust { (0.0, 0.0) } else { (spend.fifo, spend.haircut) };
                    let origin = if eco > 0.0 { spend.sources.first().map(|s| s.0).unwrap_or(NO_ORIGIN) } else { NO_ORIGIN };
                    let w = wallets.entry((to, token)).or_default();
                    push_lot(w, Lot { amount, eco, origin });
                    w.balance = w.balance.saturating_add(amount);
                    w.eco_balance += amount as f64 * hc;
                }
            }
            if take_edge {
                ei += 1;
            } else {
                spends[pi] = spend;
                pi += 1;
            }
        }
        Provenance { spends }
    }
}

fn classify_sender(g: &Graph, inputs: &Inputs, from: Node, block: i64) -> Sender {
    if let Some(Blocker::Mint | Blocker::Pool) = g.blocked[from as usize] {
        return Sender::Reset;
    }
    if g.has_ecosystem[from as usize] && inputs.labels.ecosystem_at(&g.addrs[from as usize], block).is_some() {
        Sender::Source
    } else {
        Sender::Track
    }
}

fn push_lot(w: &mut Wallet, lot: Lot) {
    if let Some(back) = w.lots.back_mut() {
        if back.eco == lot.eco && back.origin == lot.origin {
            back.amount = back.amount.saturating_add(lot.amount);
            return;
        }
    }
    w.lots.push_back(lot);
}

fn consume(w: &mut Wallet, amount: u128, spend: &mut Spend, max_sources: usize) {
    // FIFO: oldest lots first; whatever the queue cannot cover has unknown (non-ecosystem) origin.
    let mut left = amount;
    let mut eco_amount = 0f64;
    let mut sources: BTreeMap<Node, u128> = BTreeMap::new();
    while left > 0 {
        let Some(front) = w.lots.front_mut() else { break };
        let take = left.min(front.amount);
        if front.eco > 0.0 {
            let tainted = take as f64 * front.eco;
            eco_amount += tainted;
            if front.origin != NO_ORIGIN {
                *sources.entry(front.origin).or_default() += tainted as u128;
            }
        }
        front.amount -= take;
        left -= take;
        if front.amount == 0 {
            w.lots.pop_front();
        }
    }
    spend.fifo = (eco_amount / amount as f64).clamp(0.0, 1.0);
    let mut s: Vec<(Node, u128)> = sources.into_iter().collect();
    s.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    s.truncate(max_sources);
    spend.sources = s;

    // Haircut: every outflow carries the wallet's current ecosystem ratio.
    if w.balance > 0 {
        let used = amount.min(w.balance);
        let ratio = (w.eco_balance / w.balance as f64).clamp(0.0, 1.0);
        let eco_used = ratio * used as f64;
        w.eco_balance = (w.eco_balance - eco_used).max(0.0);
        w.balance -= used;
        spend.haircut = (eco_used / amount as f64).clamp(0.0, 1.0);
    }
}
