//! Where the tokens a payment spent came from, propagated hop by hop over every token transfer in
//! chronological order, at any depth:
//! - the share from ecosystem wallets (project funds), FIFO and haircut (pro rata);
//! - the share that passed through the payee's side (the payee or a wallet it declared), FIFO and
//!   pro rata, so funds that start at the payee are recognised however many wallets they cross.
//!
//! Each wallet keeps, per token, a FIFO queue of lots (amount, share of ecosystem origin, the last
//! [`TAGS`] payee-side wallets the tokens passed through) and a haircut balance (known balance, its
//! ecosystem part, and its part per payee-side wallet, at most [`PRORATA_TAGS`] of them, the
//! largest). An ecosystem wallet's outflows are fully ecosystem-origin while it is labelled; an
//! exchange, bridge or mint resets every origin (their funds are pooled); everybody else passes on
//! what it consumed, and a payee-side wallet adds itself to what it sends. Dust carries no origin.
//! Tokens whose origin is unknown (balances from before indexing) count as neither. Native
//! currency never enters provenance.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::graph::{Blocker, Graph, Node, NO_GROUP};
use crate::input::Inputs;

const NO_ORIGIN: Node = Node::MAX;
/// How many payee-side wallets a lot remembers (the most recent first). Tokens that passed through
/// more payees than this forget the oldest.
pub const TAGS: usize = 4;
/// How many payee-side wallets a haircut balance tracks (the largest shares).
pub const PRORATA_TAGS: usize = 8;

#[derive(Clone, Copy, PartialEq)]
struct Lot {
    amount: u128,
    eco: f64,
    origin: Node,
    tags: [Node; TAGS],
}

impl Lot {
    fn plain(amount: u128) -> Lot {
        Lot {
            amount,
            eco: 0.0,
            origin: NO_ORIGIN,
            tags: [NO_ORIGIN; TAGS],
        }
    }

    fn same_kind(&self, o: &Lot) -> bool {
        self.eco == o.eco && self.origin == o.origin && self.tags == o.tags
    }

    fn has_tags(&self) -> bool {
        self.tags[0] != NO_ORIGIN
    }

    /// The first tag in payee-side group `g`, if any.
    fn tag_in(&self, g: &Graph, group: u32) -> Option<Node> {
        self.tags
            .iter()
            .copied()
            .take_while(|t| *t != NO_ORIGIN)
            .find(|t| g.in_group(*t, group))
    }

    /// Records that the tokens passed through payee-side wallet `w` (most recent first).
    fn tag(&mut self, w: Node) {
        if self.tags.contains(&w) {
            return;
        }
        self.tags.copy_within(0..TAGS - 1, 1);
        self.tags[0] = w;
    }
}

#[derive(Default)]
struct Wallet {
    lots: VecDeque<Lot>,
    balance: u128,
    eco_balance: f64,
    /// Pro-rata amounts per payee-side wallet.
    tagged: Vec<(Node, f64)>,
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
    /// FIFO share that passed through the payee's side (the payee or its declared wallets), 0..1.
    pub payee_fifo: f64,
    /// Pro-rata share of the same, 0..1.
    pub payee_haircut: f64,
    /// The payee-side wallets those tokens came from, with FIFO amounts (largest first).
    pub payee_sources: Vec<(Node, u128)>,
}

/// Provenance of every payment, indexed like `Graph::pays`, and the payee-side origin of the
/// transfers payers received (what a wash return is made of).
pub struct Provenance {
    /// One entry per payment.
    pub spends: Vec<Spend>,
    /// Per token edge into a payer that carried payee-side tokens: per payee-side wallet, the FIFO
    /// amount and the pro-rata amount.
    pub edge_origin: HashMap<u32, Vec<(Node, u128, f64)>>,
}

enum Sender {
    /// Pooled funds: origin reset.
    Reset,
    /// An ecosystem wallet at this block.
    Source,
    /// An ordinary wallet passing on what it holds.
    Track,
}

/// What one transfer or payment carries: FIFO slices, haircut share, pro-rata payee-side amounts.
struct Outflow {
    slices: Vec<Lot>,
    haircut: f64,
    tagged: Vec<(Node, f64)>,
}

impl Provenance {
    /// Runs the propagation over every transfer and payment of `g`.
    pub fn compute(g: &Graph, inputs: &Inputs, max_sources: usize) -> Provenance {
        let mut wallets: HashMap<(Node, u32), Wallet> = HashMap::new();
        let mut spends = vec![Spend::default(); g.pays.len()];
        let mut edge_origin = HashMap::new();
        let (mut ei, mut pi) = (0usize, 0usize);
        // Merge the two chronological streams; payments come after the transfers of their block.
        while ei < g.edges.len() || pi < g.pays.len() {
            let take_edge = match (g.edges.get(ei), g.pays.get(pi)) {
                (Some(e), Some(p)) => e.block <= p.block,
                (Some(_), None) => true,
                _ => false,
            };
            if take_edge && g.edges[ei].native {
                ei += 1;
                continue;
            }
            let (from, to, token, amount, block, dust) = if take_edge {
                let e = &g.edges[ei];
                (e.from, e.to, e.token, e.amount, e.block, e.dust)
            } else {
                let p = &g.pays[pi];
                (p.payer, p.payee, p.token, p.amount, p.block, false)
            };
            if amount > 0 {
                let mut out = outflow(g, inputs, &mut wallets, from, token, amount, block);
                if !take_edge {
                    spends[pi] = spend(g, &out, amount, g.payee_group[to as usize], max_sources);
                }
                // A payee-side sender adds itself to what it sends (not for pooled senders).
                let side = g.payee_group[from as usize] != NO_GROUP
                    && !matches!(
                        g.blocked[from as usize],
                        Some(Blocker::Mint | Blocker::Pool)
                    );
                if side {
                    for s in &mut out.slices {
                        s.tag(from);
                    }
                    out.tagged.retain(|t| t.0 != from);
                    out.tagged.push((from, amount as f64));
                }
                if take_edge && !dust && !g.by_payer.get(to).is_empty() {
                    if let Some(o) = origin_summary(&out) {
                        edge_origin.insert(ei as u32, o);
                    }
                }
                if !matches!(g.blocked[to as usize], Some(Blocker::Mint | Blocker::Pool)) {
                    let w = wallets.entry((to, token)).or_default();
                    if dust {
                        push_lot(w, Lot::plain(amount));
                    } else {
                        for s in out.slices {
                            push_lot(w, s);
                        }
                        w.eco_balance += amount as f64 * out.haircut;
                        for (n, a) in out.tagged {
                            add_tagged(&mut w.tagged, n, a);
                        }
                    }
                    w.balance = w.balance.saturating_add(amount);
                }
            }
            if take_edge {
                ei += 1;
            } else {
                pi += 1;
            }
        }
        Provenance {
            spends,
            edge_origin,
        }
    }
}

fn classify_sender(g: &Graph, inputs: &Inputs, from: Node, block: i64) -> Sender {
    if let Some(Blocker::Mint | Blocker::Pool) = g.blocked[from as usize] {
        return Sender::Reset;
    }
    if g.has_ecosystem[from as usize]
        && inputs
            .labels
            .ecosystem_at(&g.addrs[from as usize], block)
            .is_some()
    {
        Sender::Source
    } else {
        Sender::Track
    }
}

fn outflow(
    g: &Graph,
    inputs: &Inputs,
    wallets: &mut HashMap<(Node, u32), Wallet>,
    from: Node,
    token: u32,
    amount: u128,
    block: i64,
) -> Outflow {
    match classify_sender(g, inputs, from, block) {
        Sender::Reset => Outflow {
            slices: vec![Lot::plain(amount)],
            haircut: 0.0,
            tagged: vec![],
        },
        Sender::Source => Outflow {
            slices: vec![Lot {
                amount,
                eco: 1.0,
                origin: from,
                tags: [NO_ORIGIN; TAGS],
            }],
            haircut: 1.0,
            tagged: vec![],
        },
        Sender::Track => consume(wallets.entry((from, token)).or_default(), amount),
    }
}

/// Takes `amount` out of a wallet: FIFO slices of its oldest lots (whatever the queue cannot cover
/// has unknown origin), and the pro-rata shares of its balance.
fn consume(w: &mut Wallet, amount: u128) -> Outflow {
    let mut slices: Vec<Lot> = Vec::new();
    let mut left = amount;
    while left > 0 {
        let Some(front) = w.lots.front_mut() else {
            break;
        };
        let take = left.min(front.amount);
        let slice = Lot {
            amount: take,
            ..*front
        };
        match slices.last_mut() {
            Some(last) if last.same_kind(&slice) => last.amount += take,
            _ => slices.push(slice),
        }
        front.amount -= take;
        left -= take;
        if front.amount == 0 {
            w.lots.pop_front();
        }
    }
    if left > 0 {
        slices.push(Lot::plain(left));
    }
    let mut haircut = 0.0;
    let mut tagged = Vec::new();
    if w.balance > 0 {
        let used = amount.min(w.balance);
        let r = used as f64 / w.balance as f64;
        let ratio = (w.eco_balance / w.balance as f64).clamp(0.0, 1.0);
        let eco_used = ratio * used as f64;
        w.eco_balance = (w.eco_balance - eco_used).max(0.0);
        haircut = (eco_used / amount as f64).clamp(0.0, 1.0);
        for t in w.tagged.iter_mut() {
            let out = t.1 * r;
            t.1 -= out;
            if out > 0.0 {
                tagged.push((t.0, out));
            }
        }
        w.tagged.retain(|t| t.1 >= 1.0);
        w.balance -= used;
    }
    Outflow {
        slices,
        haircut,
        tagged,
    }
}

fn spend(g: &Graph, out: &Outflow, amount: u128, group: u32, max_sources: usize) -> Spend {
    let mut s = Spend {
        haircut: out.haircut,
        ..Spend::default()
    };
    let mut eco_amount = 0f64;
    let mut sources: BTreeMap<Node, u128> = BTreeMap::new();
    let mut payee_amount: u128 = 0;
    let mut payee_sources: BTreeMap<Node, u128> = BTreeMap::new();
    for l in &out.slices {
        if l.eco > 0.0 {
            let tainted = l.amount as f64 * l.eco;
            eco_amount += tainted;
            if l.origin != NO_ORIGIN {
                *sources.entry(l.origin).or_default() += tainted as u128;
            }
        }
        if let Some(t) = l.tag_in(g, group) {
            payee_amount += l.amount;
            *payee_sources.entry(t).or_default() += l.amount;
        }
    }
    s.fifo = (eco_amount / amount as f64).clamp(0.0, 1.0);
    s.sources = top(sources, max_sources);
    s.payee_fifo = (payee_amount as f64 / amount as f64).clamp(0.0, 1.0);
    s.payee_sources = top(payee_sources, max_sources);
    let pr: f64 = out
        .tagged
        .iter()
        .filter(|t| g.in_group(t.0, group))
        .map(|t| t.1)
        .sum();
    s.payee_haircut = (pr / amount as f64).clamp(0.0, 1.0);
    s
}

fn top(m: BTreeMap<Node, u128>, n: usize) -> Vec<(Node, u128)> {
    let mut v: Vec<(Node, u128)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Per payee-side wallet: FIFO amount and pro-rata amount an edge carried.
fn origin_summary(out: &Outflow) -> Option<Vec<(Node, u128, f64)>> {
    if out.tagged.is_empty() && !out.slices.iter().any(Lot::has_tags) {
        return None;
    }
    let mut m: BTreeMap<Node, (u128, f64)> = BTreeMap::new();
    for l in &out.slices {
        for t in l.tags.iter().copied().take_while(|t| *t != NO_ORIGIN) {
            m.entry(t).or_default().0 += l.amount;
        }
    }
    for (n, a) in &out.tagged {
        m.entry(*n).or_default().1 += a;
    }
    Some(m.into_iter().map(|(n, (f, p))| (n, f, p)).collect())
}

fn push_lot(w: &mut Wallet, lot: Lot) {
    if let Some(back) = w.lots.back_mut() {
        if back.same_kind(&lot) {
            back.amount = back.amount.saturating_add(lot.amount);
            return;
        }
    }
    w.lots.push_back(lot);
}

fn add_tagged(v: &mut Vec<(Node, f64)>, n: Node, a: f64) {
    match v.iter_mut().find(|t| t.0 == n) {
        Some(t) => t.1 += a,
        None => v.push((n, a)),
    }
    if v.len() > PRORATA_TAGS {
        v.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        v.truncate(PRORATA_TAGS);
    }
}
