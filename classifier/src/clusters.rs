//! Funding clusters: wallets grouped under the same root funder by following each wallet's first
//! funder, after removing exchanges, bridges, the mint address and hub funders (which link
//! nobody). A cluster is suspected to be a sybil farm when enough of its wallets pay the same payee
//! in the same way.

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::RuleConfig;
use crate::graph::{Graph, Node};
use crate::types::hex0x;

/// One cluster's verdict and statistics.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Stable id: derived from the chain and the root funder's address.
    pub id: i64,
    /// The wallet at the top of the first-funder tree.
    pub root: Node,
    /// Every wallet in the cluster, sorted.
    pub members: Vec<Node>,
    /// Members that made payments.
    pub paying: usize,
    /// The payee paid by the most members.
    pub top_payee: Option<Node>,
    /// Paying members that paid `top_payee`, sorted.
    pub group: Vec<Node>,
    /// Share of the group whose usual amount is the group's usual amount.
    pub same_amount_share: f64,
    /// The group's usual amount.
    pub usual_amount: u128,
    /// Largest share of the group that started paying within one window.
    pub start_window_share: f64,
    /// Coefficient of variation of the group's payment counts.
    pub count_cv: f64,
    /// Which criteria held: same amount, start window, count CV.
    pub criteria: [bool; 3],
    /// Whether the cluster is a suspected sybil farm.
    pub suspected: bool,
}

impl Cluster {
    /// Statistics as evidence JSON (also the `funding_clusters.stats` column).
    pub fn stats_json(&self, g: &Graph, cfg: &RuleConfig) -> serde_json::Value {
        json!({
            "members": self.members.len(),
            "paying_members": self.paying,
            "top_payee": self.top_payee.map(|p| hex0x(&g.addrs[p as usize])),
            "group_size": self.group.len(),
            "same_amount_share": round4(self.same_amount_share),
            "usual_amount": self.usual_amount.to_string(),
            "start_window_share": round4(self.start_window_share),
            "payment_count_cv": round4(self.count_cv),
            "criteria": {
                "same_amount": self.criteria[0],
                "start_window": self.criteria[1],
                "count_cv": self.criteria[2],
            },
            "criteria_met": self.criteria.iter().filter(|c| **c).count(),
            "suspected": self.suspected,
            "thresholds": {
                "min_members": cfg.sybil_min_members,
                "same_amount_share": cfg.sybil_same_amount_share,
                "start_window_secs": cfg.sybil_start_window_secs,
                "start_window_share": cfg.sybil_start_share,
                "count_cv_max": cfg.sybil_count_cv_max,
                "min_criteria": cfg.sybil_min_criteria,
                "large_cluster": cfg.sybil_large_cluster,
            },
        })
    }
}

/// Rounds a share for display.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Every cluster of at least two wallets containing a payer, and each node's cluster index.
pub struct Clusters {
    /// Clusters ordered by root address.
    pub list: Vec<Cluster>,
    /// Index into `list` per node (`u32::MAX` = none).
    pub of_node: Vec<u32>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

impl Clusters {
    /// Builds the clusters of `g`.
    pub fn compute(g: &Graph, cfg: &RuleConfig, chain_id: i64) -> Clusters {
        let n = g.len();
        let mut uf: Vec<u32> = (0..n as u32).collect();
        // The first-funder link of each wallet, unless either side links nobody.
        let funder_of = |v: usize| -> Option<Node> {
            if g.blocked[v].is_some() {
                return None;
            }
            let e = &g.edges[g.first_in[v]? as usize];
            g.blocked[e.from as usize].is_none().then_some(e.from)
        };
        for v in 0..n {
            if let Some(f) = funder_of(v) {
                let (a, b) = (find(&mut uf, v as u32), find(&mut uf, f));
                if a != b {
                    // Union by smaller root id keeps the structure independent of edge order.
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    uf[hi as usize] = lo;
                }
            }
        }
        let mut comps: BTreeMap<u32, Vec<Node>> = BTreeMap::new();
        for v in 0..n as u32 {
            let r = find(&mut uf, v);
            comps.entry(r).or_default().push(v);
        }
        let mut list = Vec::new();
        let mut of_node = vec![u32::MAX; n];
        for (_, members) in comps {
            if members.len() < 2 || !members.iter().any(|&m| !g.by_payer.get(m).is_empty()) {
                continue;
            }
            // The root: a member without an in-cluster funder (the smallest address if a cycle).
            let root = members.iter().copied().find(|&m| funder_of(m as usize).is_none()).unwrap_or(members[0]);
            let c = evaluate(g, cfg, chain_id, root, members);
            let idx = list.len() as u32;
            for &m in &c.members {
                of_node[m as usize] = idx;
            }
            list.push(c);
        }
        Clusters { list, of_node }
    }

    /// The cluster of `v`, if it is in one.
    pub fn of(&self, v: Node) -> Option<&Cluster> {
        self.of_node.get(v as usize).filter(|&&i| i != u32::MAX).map(|&i| &self.list[i as usize])
    }
}

/// Stable cluster id from the chain and the root funder's address.
pub fn cluster_id(chain_id: i64, root: &[u8]) -> i64 {
    let mut h = Sha256::new();
    h.update(chain_id.to_be_bytes());
    h.update(root);
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes")) & i64::MAX
}

fn evaluate(g: &Graph, cfg: &RuleConfig, chain_id: i64, root: Node, members: Vec<Node>) -> Cluster {
    let paying = members.iter().filter(|&&m| !g.by_payer.get(m).is_empty()).count();
    // The payee paid by the most members (smallest node on ties).
    let mut payee_members: BTreeMap<Node, usize> = BTreeMap::new();
    for &m in &members {
        let mut payees: Vec<Node> = g.by_payer.get(m).iter().map(|&p| g.pays[p as usize].payee).collect();
        payees.sort_unstable();
        payees.dedup();
        for p in payees {
            *payee_members.entry(p).or_default() += 1;
        }
    }
    let top_payee = payee_members.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(p, _)| *p);
    let mut c = Cluster {
        id: cluster_id(chain_id, &g.addrs[root as usize]),
        root,
        members,
        paying,
        top_payee,
        group: Vec::new(),
        same_amount_share: 0.0,
        usual_amount: 0,
        start_window_share: 0.0,
        count_cv: 0.0,
        criteria: [false; 3],
        suspected: false,
    };
    let Some(top) = top_payee else { return c };
    // Per group member: usual amount, first payment time, payment count (payments to the top payee).
    let mut usual = Vec::new();
    let mut starts = Vec::new();
    let mut counts = Vec::new();
    for &m in &c.members {
        let ps: Vec<_> = g.by_payer.get(m).iter().map(|&p| &g.pays[p as usize]).filter(|p| p.payee == top).collect();
        if ps.is_empty() {
            continue;
        }
        c.group.push(m);
        let mut amounts: BTreeMap<u128, usize> = BTreeMap::new();
        for p in &ps {
            *amounts.entry(p.amount).or_default() += 1;
        }
        usual.push(amounts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(a, _)| *a).unwrap_or(0));
        starts.push(ps.iter().map(|p| p.time).min().unwrap_or(0));
        counts.push(ps.len() as f64);
    }
    let n = c.group.len();
    if n == 0 {
        return c;
    }
    let mut modes: BTreeMap<u128, usize> = BTreeMap::new();
    for a in &usual {
        *modes.entry(*a).or_default() += 1;
    }
    let (mode, mode_n) = modes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(a, k)| (*a, *k)).unwrap_or((0, 0));
    c.usual_amount = mode;
    c.same_amount_share = mode_n as f64 / n as f64;
    starts.sort_unstable();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..starts.len() {
        while starts[hi] - starts[lo] > cfg.sybil_start_window_secs {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    c.start_window_share = best as f64 / n as f64;
    let mean = counts.iter().sum::<f64>() / n as f64;
    let var = counts.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    c.count_cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
    c.criteria = [
        c.same_amount_share >= cfg.sybil_same_amount_share,
        c.start_window_share >= cfg.sybil_start_share,
        c.count_cv <= cfg.sybil_count_cv_max,
    ];
    let met = c.criteria.iter().filter(|x| **x).count();
    c.suspected = n >= cfg.sybil_min_members && (met >= cfg.sybil_min_criteria || n >= cfg.sybil_large_cluster);
    c
}
