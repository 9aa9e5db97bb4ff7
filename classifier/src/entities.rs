//! Entities: wallets the evidence ties together, so analysts can count customers rather than
//! wallets. Three kinds of evidence merge wallets (union-find over the funding graph's nodes):
//! - `suspected_cluster`: the suspected members of one suspected sybil cluster;
//! - `declared_wallets`: a payee and every wallet it declared;
//! - `shared_first_funder`: wallets whose first funder is the same wallet, when that funder links
//!   (not an exchange, bridge, the mint or a hub) and is not an ecosystem wallet (a faucet or a
//!   treasury funds many distinct users).
//!
//! An entity's id is its smallest address (node ids follow address order); a wallet nobody is tied
//! to is its own entity.

use std::collections::BTreeSet;

use crate::clusters::Clusters;
use crate::graph::{Graph, Node, NO_GROUP};

/// Why wallets were merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Suspected members of one sybil cluster.
    SuspectedCluster,
    /// A payee and its declared wallets.
    DeclaredWallets,
    /// The same first funder.
    SharedFirstFunder,
}

impl Reason {
    /// The reason's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SuspectedCluster => "suspected_cluster",
            Reason::DeclaredWallets => "declared_wallets",
            Reason::SharedFirstFunder => "shared_first_funder",
        }
    }
}

/// Every node's entity.
pub struct Entities {
    /// The entity's smallest node, per node.
    pub root: Vec<Node>,
    /// Wallets per entity root (1 for singletons), indexed by node.
    pub size: Vec<u32>,
    /// Paying wallets per entity root, indexed by node.
    pub paying: Vec<u32>,
    /// Why each merged entity was merged, indexed by root (empty for singletons).
    pub reasons: Vec<BTreeSet<Reason>>,
}

fn find(p: &mut [u32], mut x: u32) -> u32 {
    while p[x as usize] != x {
        let q = p[x as usize];
        p[x as usize] = p[q as usize];
        x = q;
    }
    x
}

impl Entities {
    /// Merges the wallets of `g` that the evidence ties together.
    pub fn compute(g: &Graph, clusters: &Clusters) -> Entities {
        let n = g.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        let mut unions: Vec<(Node, Node, Reason)> = Vec::new();
        for c in &clusters.list {
            for w in c.flagged.windows(2) {
                unions.push((w[0], w[1], Reason::SuspectedCluster));
            }
        }
        // Payee-side groups: every member to its group's root.
        for v in 0..n as Node {
            let grp = g.payee_group[v as usize];
            if grp != NO_GROUP && grp != v {
                unions.push((grp, v, Reason::DeclaredWallets));
            }
        }
        // Siblings under one linking, non-ecosystem first funder: each to the first sibling seen.
        let mut first_child: Vec<Node> = vec![Node::MAX; n];
        for v in 0..n as Node {
            let Some(e) = g.first_in[v as usize] else {
                continue;
            };
            let f = g.edges[e as usize].from;
            if g.blocked[f as usize].is_some() || g.has_ecosystem[f as usize] {
                continue;
            }
            match first_child[f as usize] {
                Node::MAX => first_child[f as usize] = v,
                s => unions.push((s, v, Reason::SharedFirstFunder)),
            }
        }
        for &(a, b, _) in &unions {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
        let root: Vec<Node> = (0..n as u32).map(|v| find(&mut parent, v)).collect();
        let mut size = vec![0u32; n];
        let mut paying = vec![0u32; n];
        for v in 0..n {
            size[root[v] as usize] += 1;
            if !g.by_payer.get(v as Node).is_empty() {
                paying[root[v] as usize] += 1;
            }
        }
        let mut reasons: Vec<BTreeSet<Reason>> = vec![BTreeSet::new(); n];
        for &(a, _, r) in &unions {
            reasons[root[a as usize] as usize].insert(r);
        }
        Entities {
            root,
            size,
            paying,
            reasons,
        }
    }

    /// The entity of `v`: its root node, and why it was merged (`None` for a singleton).
    pub fn of(&self, v: Node) -> (Node, Option<String>) {
        let r = self.root[v as usize];
        if self.size[r as usize] <= 1 {
            return (v, None);
        }
        let why: Vec<&str> = self.reasons[r as usize]
            .iter()
            .map(|x| x.as_str())
            .collect();
        (r, Some(why.join(",")))
    }
}
