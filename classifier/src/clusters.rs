//! Funding clusters: wallets grouped under the same root funder by following each wallet's cluster
//! link (its first funder, or its first native gas funder when the first funder is an exchange),
//! after removing exchanges, bridges, the mint address and hub funders (which link nobody).
//!
//! A cluster is a suspected sybil farm when
//! - it has at least `sybil_large_cluster` paying wallets, whatever they pay (all of them are
//!   suspected), or
//! - for some payee, at least `sybil_min_members` of its wallets pay that payee (a *group*) and the
//!   group meets `sybil_min_criteria` of five criteria: same usual amount, started within one
//!   window, even payment counts, one funder's fan-out (through non-paying relays), a captive
//!   payee. The members of every such
//!   group are suspected.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::RuleConfig;
use crate::graph::{Graph, Node};
use crate::types::hex0x;

/// Names of the five criteria, in `criteria` order.
pub const CRITERIA: [&str; 5] = [
    "same_amount",
    "start_window",
    "count_cv",
    "fan_out",
    "captive_payee",
];

/// One payee's group inside a cluster and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The payee.
    pub payee: Node,
    /// Paying members that paid it, sorted.
    pub members: Vec<Node>,
    /// Share of the group whose usual amount is the group's usual amount.
    pub same_amount_share: f64,
    /// The group's usual amount.
    pub usual_amount: u128,
    /// Largest share of the group that started paying within one window.
    pub start_window_share: f64,
    /// Coefficient of variation of the group's payment counts.
    pub count_cv: f64,
    /// The group's share of the payee's distinct payers.
    pub payee_share: f64,
    /// Which criteria held, in [`CRITERIA`] order.
    pub criteria: [bool; 5],
    /// Whether the group meets enough criteria.
    pub suspected: bool,
}

impl Group {
    fn json(&self, g: &Graph) -> Value {
        json!({
            "payee": hex0x(&g.addrs[self.payee as usize]),
            "group_size": self.members.len(),
            "same_amount_share": round4(self.same_amount_share),
            "usual_amount": self.usual_amount.to_string(),
            "start_window_share": round4(self.start_window_share),
            "payment_count_cv": round4(self.count_cv),
            "payee_payer_share": round4(self.payee_share),
            "criteria": criteria_json(&self.criteria),
            "criteria_met": self.criteria.iter().filter(|c| **c).count(),
            "suspected": self.suspected,
        })
    }
}

fn criteria_json(c: &[bool; 5]) -> Value {
    Value::Object(
        CRITERIA
            .iter()
            .zip(c)
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect(),
    )
}

/// One cluster's verdict and statistics.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Stable id: derived from the chain and the root funder's address.
    pub id: i64,
    /// The wallet at the top of the funding tree.
    pub root: Node,
    /// Every wallet in the cluster, sorted.
    pub members: Vec<Node>,
    /// Members that made payments.
    pub paying: usize,
    /// Most paying members funded by one funder (directly or through members that never pay), and
    /// that funder.
    pub fan_out: (usize, Option<Node>),
    /// The payee paid by the most members.
    pub top_payee: Option<Node>,
    /// The group of the top payee (the cluster's headline statistics).
    pub top: Option<Group>,
    /// Paying members that paid `top_payee`, sorted.
    pub group: Vec<Node>,
    /// Groups of at least `sybil_min_members` (largest first), with their verdicts.
    pub groups: Vec<Group>,
    /// Suspected by size across all payees.
    pub large: bool,
    /// Suspected members, sorted: every paying member of a large cluster, else the members of
    /// suspected groups.
    pub flagged: Vec<Node>,
    /// Whether the cluster is a suspected sybil farm.
    pub suspected: bool,
}

impl Cluster {
    /// Statistics as evidence JSON (also the `funding_clusters.stats` column).
    pub fn stats_json(&self, g: &Graph, cfg: &RuleConfig) -> Value {
        let top = self.top.as_ref();
        let f = |v: Option<f64>| round4(v.unwrap_or(0.0));
        json!({
            "members": self.members.len(),
            "paying_members": self.paying,
            "fan_out": self.fan_out.0,
            "fan_out_funder": self.fan_out.1.map(|p| hex0x(&g.addrs[p as usize])),
            "top_payee": self.top_payee.map(|p| hex0x(&g.addrs[p as usize])),
            "group_size": self.group.len(),
            "same_amount_share": f(top.map(|t| t.same_amount_share)),
            "usual_amount": top.map(|t| t.usual_amount).unwrap_or(0).to_string(),
            "start_window_share": f(top.map(|t| t.start_window_share)),
            "payment_count_cv": f(top.map(|t| t.count_cv)),
            "payee_payer_share": f(top.map(|t| t.payee_share)),
            "criteria": criteria_json(&top.map(|t| t.criteria).unwrap_or_default()),
            "criteria_met": top.map(|t| t.criteria.iter().filter(|c| **c).count()).unwrap_or(0),
            "groups": self.groups.iter().take(cfg.evidence_max_items).map(|x| x.json(g)).collect::<Vec<_>>(),
            "large_cluster": self.large,
            "suspected_members": self.flagged.len(),
            "suspected": self.suspected,
            "thresholds": {
                "min_members": cfg.sybil_min_members,
                "same_amount_share": cfg.sybil_same_amount_share,
                "start_window_secs": cfg.sybil_start_window_secs,
                "start_window_share": cfg.sybil_start_share,
                "count_cv_max": cfg.sybil_count_cv_max,
                "fan_out": cfg.sybil_fan_out,
                "captive_share": cfg.sybil_captive_share,
                "captive_min_members": cfg.sybil_captive_min_members,
                "min_criteria": cfg.sybil_min_criteria,
                "large_cluster": cfg.sybil_large_cluster,
            },
        })
    }

    /// The group through which `v` is suspected (its largest suspected group), if any.
    pub fn suspect_group(&self, v: Node) -> Option<&Group> {
        self.groups
            .iter()
            .find(|x| x.suspected && x.members.binary_search(&v).is_ok())
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

/// The funder that ties `v` to its cluster, unless `v` links nobody.
pub fn link_funder(g: &Graph, v: usize) -> Option<Node> {
    if g.blocked[v].is_some() {
        return None;
    }
    Some(g.edges[g.link_in[v]? as usize].from)
}

impl Clusters {
    /// Builds the clusters of `g`.
    pub fn compute(g: &Graph, cfg: &RuleConfig, chain_id: i64) -> Clusters {
        let n = g.len();
        let mut uf: Vec<u32> = (0..n as u32).collect();
        for v in 0..n {
            if let Some(f) = link_funder(g, v) {
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
            let root = members
                .iter()
                .copied()
                .find(|&m| link_funder(g, m as usize).is_none())
                .unwrap_or(members[0]);
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
        self.of_node
            .get(v as usize)
            .filter(|&&i| i != u32::MAX)
            .map(|&i| &self.list[i as usize])
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
    let payers: Vec<Node> = members
        .iter()
        .copied()
        .filter(|&m| !g.by_payer.get(m).is_empty())
        .collect();
    // Members per payee.
    let mut by_payee: BTreeMap<Node, Vec<Node>> = BTreeMap::new();
    for &m in &payers {
        let mut payees: Vec<Node> = g
            .by_payer
            .get(m)
            .iter()
            .map(|&p| g.pays[p as usize].payee)
            .collect();
        payees.sort_unstable();
        payees.dedup();
        for p in payees {
            by_payee.entry(p).or_default().push(m);
        }
    }
    // Fan-out: paying members per funder, looking through relays (members that fund others but
    // never pay), so a root that spreads its wallets over a few relays still fans out to all of them.
    let mut fan: BTreeMap<Node, usize> = BTreeMap::new();
    for &m in &payers {
        let mut f = link_funder(g, m as usize);
        for _ in 0..members.len() {
            let Some(x) = f else { break };
            let relay = g.by_payer.get(x).is_empty() && x != root;
            match link_funder(g, x as usize) {
                Some(up) if relay => f = Some(up),
                _ => break,
            }
        }
        if let Some(f) = f {
            *fan.entry(f).or_default() += 1;
        }
    }
    let fan_out = fan
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(f, k)| (*k, Some(*f)))
        .unwrap_or((0, None));
    let fan_ok = fan_out.0 >= cfg.sybil_fan_out;

    // The payee paid by the most members (smallest node on ties).
    let top_payee = by_payee
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
        .map(|(p, _)| *p);
    let top = top_payee.map(|p| group(g, cfg, p, by_payee[&p].clone(), fan_ok));
    let mut groups: Vec<Group> = by_payee
        .iter()
        .filter(|(_, m)| m.len() >= cfg.sybil_min_members)
        .map(|(p, m)| group(g, cfg, *p, m.clone(), fan_ok))
        .collect();
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.payee.cmp(&b.payee))
    });

    let large = payers.len() >= cfg.sybil_large_cluster.max(cfg.sybil_min_members);
    let mut flagged: Vec<Node> = if large {
        payers.clone()
    } else {
        groups
            .iter()
            .filter(|x| x.suspected)
            .flat_map(|x| x.members.iter().copied())
            .collect()
    };
    flagged.sort_unstable();
    flagged.dedup();
    Cluster {
        id: cluster_id(chain_id, &g.addrs[root as usize]),
        root,
        paying: payers.len(),
        members,
        fan_out,
        top_payee,
        group: top.as_ref().map(|t| t.members.clone()).unwrap_or_default(),
        top,
        groups,
        large,
        suspected: !flagged.is_empty(),
        flagged,
    }
}

/// Statistics and criteria of the cluster members paying `payee`.
fn group(g: &Graph, cfg: &RuleConfig, payee: Node, members: Vec<Node>, fan_ok: bool) -> Group {
    // Per member: usual amount, first payment time, payment count (payments to this payee).
    let mut usual = Vec::with_capacity(members.len());
    let mut starts = Vec::with_capacity(members.len());
    let mut counts = Vec::with_capacity(members.len());
    for &m in &members {
        let ps: Vec<_> = g
            .by_payer
            .get(m)
            .iter()
            .map(|&p| &g.pays[p as usize])
            .filter(|p| p.payee == payee)
            .collect();
        let mut amounts: BTreeMap<u128, usize> = BTreeMap::new();
        for p in &ps {
            *amounts.entry(p.amount).or_default() += 1;
        }
        usual.push(
            amounts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(a, _)| *a)
                .unwrap_or(0),
        );
        starts.push(ps.iter().map(|p| p.time).min().unwrap_or(0));
        counts.push(ps.len() as f64);
    }
    let n = members.len();
    let mut modes: BTreeMap<u128, usize> = BTreeMap::new();
    for a in &usual {
        *modes.entry(*a).or_default() += 1;
    }
    let (mode, mode_n) = modes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(a, k)| (*a, *k))
        .unwrap_or((0, 0));
    starts.sort_unstable();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..starts.len() {
        while starts[hi] - starts[lo] > cfg.sybil_start_window_secs {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    let mean = counts.iter().sum::<f64>() / n.max(1) as f64;
    let var = counts.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n.max(1) as f64;
    let count_cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
    let base = g.payee_payers[payee as usize].max(1) as f64;
    let payee_share = n as f64 / base;
    let same_amount_share = mode_n as f64 / n.max(1) as f64;
    let start_window_share = best as f64 / n.max(1) as f64;
    let criteria = [
        same_amount_share >= cfg.sybil_same_amount_share,
        start_window_share >= cfg.sybil_start_share,
        count_cv <= cfg.sybil_count_cv_max,
        fan_ok,
        payee_share >= cfg.sybil_captive_share && n >= cfg.sybil_captive_min_members,
    ];
    let met = criteria.iter().filter(|x| **x).count();
    Group {
        payee,
        suspected: n >= cfg.sybil_min_members && met >= cfg.sybil_min_criteria,
        members,
        same_amount_share,
        usual_amount: mode,
        start_window_share,
        count_cv,
        payee_share,
        criteria,
    }
}
