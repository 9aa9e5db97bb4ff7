//! The rule engine: for every payer, every rule over every payment, first match wins, every rule
//! that fired kept as a flag with its evidence. Pure computation over `Inputs`; the database
//! layer loads the inputs and writes the `Output` back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use crate::clusters::{round4, Cluster, Clusters};
use crate::config::RuleConfig;
use crate::evidence::{endpoint, hop, iso};
use crate::graph::{Graph, Node};
use crate::input::{Declaration, Inputs};
use crate::provenance::Provenance;
use crate::types::{hex0x, Addr, Class, Flag, Hash32};

/// One payment's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentVerdict {
    /// Payment id.
    pub id: Hash32,
    /// The payer (for incremental bookkeeping).
    pub payer: Addr,
    /// The first rule that matched.
    pub class: Class,
    /// Every rule that fired, in rule order.
    pub flags: Vec<Flag>,
    /// Why each rule fired, as compact JSON text (a million of these are written per run; text
    /// keeps them small in memory). [`PaymentVerdict::evidence_json`] parses it.
    pub evidence: String,
    /// FIFO share of the spent tokens from ecosystem wallets.
    pub project_share: f64,
    /// Haircut share of the same.
    pub haircut_share: f64,
    /// The payer's funding cluster, if any.
    pub cluster_id: Option<i64>,
}

impl PaymentVerdict {
    /// The evidence as a JSON value.
    pub fn evidence_json(&self) -> Value {
        serde_json::from_str(&self.evidence).expect("evidence is JSON the engine wrote")
    }
}

/// One payer's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct PayerVerdict {
    /// The payer.
    pub payer: Addr,
    /// The class of most of its volume.
    pub class: Class,
    /// Every flag any of its payments got.
    pub flags: Vec<Flag>,
    /// The full explanation.
    pub evidence: Value,
    /// Sender of its first non-dust incoming transfer.
    pub first_funder: Option<Addr>,
    /// Its funding cluster, if any.
    pub cluster_id: Option<i64>,
}

/// One funding cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRow {
    /// Stable id.
    pub cluster_id: i64,
    /// Root funder.
    pub root_funder: Addr,
    /// Number of wallets.
    pub members: i32,
    /// Statistics and verdict.
    pub stats: Value,
}

/// Everything one classification run produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// `RuleConfig::version`.
    pub rule_version: String,
    /// `LabelSet::version`.
    pub label_version: String,
    /// Payment verdicts, in payer order then chronological.
    pub payments: Vec<PaymentVerdict>,
    /// Payer verdicts, sorted by address.
    pub payers: Vec<PayerVerdict>,
    /// Every cluster with at least two wallets and a payer.
    pub clusters: Vec<ClusterRow>,
}

/// The global passes over one chain's inputs: the graph, provenance and clusters. Computed once
/// per run; evaluating payers only reads it.
pub struct Prepared {
    /// The interned funding graph.
    pub graph: Graph,
    /// FIFO/haircut provenance of every payment.
    pub provenance: Provenance,
    /// Funding clusters.
    pub clusters: Clusters,
}

/// Runs the global passes.
pub fn prepare(inputs: &Inputs, cfg: &RuleConfig) -> Prepared {
    let t = std::time::Instant::now();
    let graph = Graph::build(inputs, cfg);
    let t_graph = t.elapsed().as_secs_f64();
    let provenance = Provenance::compute(&graph, inputs, cfg.evidence_max_items);
    let t_prov = t.elapsed().as_secs_f64() - t_graph;
    let clusters = Clusters::compute(&graph, cfg, inputs.chain_id);
    tracing::debug!(
        graph_s = t_graph,
        provenance_s = t_prov,
        clusters_s = t.elapsed().as_secs_f64() - t_graph - t_prov,
        nodes = graph.len(),
        edges = graph.edges.len(),
        "prepared"
    );
    Prepared { graph, provenance, clusters }
}

/// Classifies the payments of `scope` payers (all payers when `None`).
pub fn classify(inputs: &Inputs, cfg: &RuleConfig, scope: Option<&BTreeSet<Addr>>) -> Output {
    let prepared = prepare(inputs, cfg);
    evaluate(&prepared, inputs, cfg, scope)
}

/// Evaluates the rules for the `scope` payers (all when `None`) over prepared passes.
pub fn evaluate(prepared: &Prepared, inputs: &Inputs, cfg: &RuleConfig, scope: Option<&BTreeSet<Addr>>) -> Output {
    let g = &prepared.graph;
    let prov = &prepared.provenance;
    let clusters = &prepared.clusters;
    let mut decl: BTreeMap<(Node, Node), Vec<&Declaration>> = BTreeMap::new();
    for d in &inputs.declarations {
        if let (Some(p), Some(w)) = (g.node(&d.payee), g.node(&d.wallet)) {
            decl.entry((p, w)).or_default().push(d);
        }
    }
    for v in decl.values_mut() {
        v.sort_by_key(|d| (d.block, d.log_index));
    }
    let ctx = Ctx { g, inputs, cfg, prov, clusters, decl };

    let payers: Vec<Node> = (0..g.len() as Node)
        .filter(|&v| !g.by_payer.get(v).is_empty())
        .filter(|&v| scope.is_none_or(|s| s.contains(&g.addrs[v as usize])))
        .collect();

    // Payers are independent given the shared read-only context: split them over two threads
    // and concatenate in order, so the output does not depend on scheduling.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
    let chunk = payers.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<PayerVerdict>, Vec<PaymentVerdict>)> = std::thread::scope(|s| {
        let handles: Vec<_> = payers
            .chunks(chunk)
            .map(|part| {
                let ctx = &ctx;
                s.spawn(move || {
                    let mut pv = Vec::with_capacity(part.len());
                    let mut pay = Vec::new();
                    for &a in part {
                        let (v, ps) = ctx.payer(a);
                        pv.push(v);
                        pay.extend(ps);
                    }
                    (pv, pay)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("classifier thread panicked")).collect()
    });
    let mut out_payers = Vec::with_capacity(payers.len());
    let mut out_payments = Vec::with_capacity(g.pays.len());
    for (pv, pay) in parts {
        out_payers.extend(pv);
        out_payments.extend(pay);
    }
    let out_clusters = clusters
        .list
        .iter()
        .map(|c| ClusterRow {
            cluster_id: c.id,
            root_funder: g.addrs[c.root as usize],
            members: c.members.len() as i32,
            stats: {
                let mut s = c.stats_json(g, cfg);
                s["root_funder"] = json!(hex0x(&g.addrs[c.root as usize]));
                s
            },
        })
        .collect();
    Output {
        rule_version: cfg.version(),
        label_version: inputs.labels.version(),
        payments: out_payments,
        payers: out_payers,
        clusters: out_clusters,
    }
}

struct Ctx<'a> {
    g: &'a Graph,
    inputs: &'a Inputs,
    cfg: &'a RuleConfig,
    prov: &'a Provenance,
    clusters: &'a Clusters,
    decl: BTreeMap<(Node, Node), Vec<&'a Declaration>>,
}

/// Funding-graph relations between one payer and one payee (the same for all their payments).
struct PairLink {
    funding: Option<Value>,
    shared_funder: Option<Value>,
}

/// Nodes within `max_hops - 1` of a payer, with BFS parents, for the funding-link rule.
struct Ball {
    dist: HashMap<Node, (u8, Node)>,
    order: Vec<Node>,
}

impl<'a> Ctx<'a> {
    fn addr(&self, v: Node) -> String {
        hex0x(&self.g.addrs[v as usize])
    }

    fn payer(&self, a: Node) -> (PayerVerdict, Vec<PaymentVerdict>) {
        let g = self.g;
        let cfg = self.cfg;
        let pays = g.by_payer.get(a);
        let first_in = g.first_in[a as usize];
        let first_funder = first_in.map(|e| g.edges[e as usize].from);
        let ball = self.ball(a);
        let mut pairs: BTreeMap<Node, PairLink> = BTreeMap::new();

        // Payer-level facts shared by all payments.
        let eco_first = first_in.and_then(|e| {
            let edge = &g.edges[e as usize];
            let l = g.has_ecosystem[edge.from as usize]
                .then(|| self.inputs.labels.ecosystem_at(&g.addrs[edge.from as usize], edge.block))
                .flatten()?;
            Some(json!({ "funding": hop(g, self.inputs, e), "label": l.to_json() }))
        });
        let cluster = self.clusters.of(a);
        let sybil = cluster.filter(|c| c.suspected && c.group.binary_search(&a).is_ok());
        let sybil_ev = sybil.map(|c| self.cluster_brief(c));
        let path = self.funding_path(a);
        // Where the funding path leads, as payment rows repeat it: the address only when it is not
        // the first funder itself.
        let traced_brief = match first_funder {
            Some(f) if path.1["address"] == json!(self.addr(f)) => json!({ "kind": path.1["kind"] }),
            _ => json!({ "address": path.1["address"], "kind": path.1["kind"] }),
        };

        let mut verdicts = Vec::with_capacity(pays.len());
        let mut by_class: BTreeMap<Class, (usize, u128)> = BTreeMap::new();
        let mut all_flags: BTreeSet<Flag> = BTreeSet::new();
        let mut linked_payees: BTreeMap<Node, (BTreeSet<Flag>, usize)> = BTreeMap::new();
        let (mut vol, mut eco_fifo, mut eco_hc) = (0f64, 0f64, 0f64);

        for &pi in pays {
            let p = &g.pays[pi as usize];
            let raw = &self.inputs.payments[p.src as usize];
            let spend = &self.prov.spends[pi as usize];
            let mut rules: Vec<(Flag, Value)> = Vec::new();

            if p.payer == p.payee {
                rules.push((Flag::SelfPayment, json!({ "payer": self.addr(a), "payee": self.addr(p.payee) })));
            }
            if g.has_ecosystem[a as usize] {
                if let Some(l) = self.inputs.labels.ecosystem_at(&g.addrs[a as usize], p.block) {
                    rules.push((Flag::InternalWallet, json!({ "label": l.to_json(), "payment_block": p.block })));
                }
            }
            if p.payer != p.payee {
                if let Some(d) = self.declaration(p.payee, a, p.block) {
                    rules.push((Flag::DeclaredWallet, d));
                }
                let link = pairs.entry(p.payee).or_insert_with(|| self.pair(a, p.payee, &ball));
                if let Some(f) = &link.funding {
                    rules.push((Flag::FundingLink, f.clone()));
                }
                if let Some(f) = &link.shared_funder {
                    rules.push((Flag::SharedFirstFunder, f.clone()));
                }
                if let Some(f) = self.flow_back(a, p.payee, p.token, p.time, p.amount) {
                    rules.push((Flag::FlowBack, f));
                }
            }
            if p.amount > 0 && spend.fifo >= cfg.project_min_share {
                rules.push((Flag::EcosystemFunds, self.provenance_json(spend)));
            }
            if let Some(e) = &eco_first {
                rules.push((Flag::EcosystemFirstFunder, e.clone()));
            }
            if let Some(e) = &sybil_ev {
                rules.push((Flag::SybilCluster, e.clone()));
            }
            if rules.is_empty() {
                match first_in.map(|e| &g.edges[e as usize]).filter(|e| e.block <= p.block) {
                    Some(e) => {
                        let fe = first_in.expect("first funding");
                        let _ = e;
                        // The payer evidence carries the funding path hop by hop with its labels;
                        // a million payment rows carry only where it leads.
                        rules.push((
                            Flag::ExternalFunding,
                            json!({
                                "first_funder": self.addr(g.edges[fe as usize].from),
                                "traced_to": traced_brief,
                            }),
                        ));
                    }
                    None => rules.push((
                        Flag::NoHistory,
                        json!({ "no_funding_at_or_before_block": p.block }),
                    )),
                }
            }

            let flags: Vec<Flag> = rules.iter().map(|r| r.0).collect();
            let class = flags[0].class();
            let mut rmap = Map::new();
            for (f, v) in rules {
                rmap.insert(f.as_str().to_string(), v);
            }
            let ev = json!({ "class_rule": flags[0].as_str(), "rules": Value::Object(rmap) });
            let e = by_class.entry(class).or_default();
            e.0 += 1;
            e.1 += p.amount;
            vol += p.amount as f64;
            eco_fifo += p.amount as f64 * spend.fifo;
            eco_hc += p.amount as f64 * spend.haircut;
            if class == Class::SelfDealing {
                let l = linked_payees.entry(p.payee).or_default();
                l.0.extend(flags.iter().copied().filter(|f| f.class() == Class::SelfDealing));
                l.1 += 1;
            }
            all_flags.extend(flags.iter().copied());
            verdicts.push(PaymentVerdict {
                id: raw.id,
                payer: raw.payer,
                class,
                flags,
                evidence: ev.to_string(),
                project_share: spend.fifo,
                haircut_share: spend.haircut,
                cluster_id: cluster.map(|c| c.id),
            });
        }

        // The payer's class: the class of most of its volume (more payments, then rule order, on ties).
        let class = by_class
            .iter()
            .max_by(|x, y| x.1 .1.cmp(&y.1 .1).then(x.1 .0.cmp(&y.1 .0)).then(y.0.cmp(x.0)))
            .map(|(c, _)| *c)
            .unwrap_or(Class::Unattributed);
        let classes: Map<String, Value> = by_class
            .iter()
            .map(|(c, (n, v))| (c.as_str().to_string(), json!({ "payments": n, "volume": v.to_string() })))
            .collect();
        let labels: Vec<Value> = self.inputs.labels.of(&g.addrs[a as usize]).map(|l| l.to_json()).collect();
        let mut ev = json!({
            "class_basis": "class of the largest share of the payer's volume (then most payments, then rule order)",
            "payments": pays.len(),
            "classes": classes,
            "labels": labels,
            "first_funding": first_in.map(|e| hop(g, self.inputs, e)),
            "funding_path": { "hops": path.0, "traced_to": path.1 },
            "project_share": {
                "fifo": if vol > 0.0 { round4(eco_fifo / vol) } else { 0.0 },
                "haircut": if vol > 0.0 { round4(eco_hc / vol) } else { 0.0 },
                "threshold": cfg.project_min_share,
            },
        });
        if let Some(c) = cluster {
            let mut s = c.stats_json(g, cfg);
            s["cluster_id"] = json!(c.id);
            s["root_funder"] = json!(self.addr(c.root));
            s["in_group"] = json!(c.group.binary_search(&a).is_ok());
            ev["cluster"] = s;
        }
        if let Some(e) = &eco_first {
            ev["ecosystem_first_funder"] = e.clone();
        }
        if !linked_payees.is_empty() {
            let list: Vec<Value> = linked_payees
                .iter()
                .take(cfg.evidence_max_items * 4)
                .map(|(p, (f, n))| {
                    json!({
                        "payee": self.addr(*p),
                        "flags": f.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
                        "payments": n,
                    })
                })
                .collect();
            ev["self_dealing_payees"] = json!({ "count": linked_payees.len(), "payees": list });
        }
        let verdict = PayerVerdict {
            payer: g.addrs[a as usize],
            class,
            flags: all_flags.into_iter().collect(),
            evidence: ev,
            first_funder: first_funder.map(|f| g.addrs[f as usize]),
            cluster_id: cluster.map(|c| c.id),
        };
        (verdict, verdicts)
    }

    fn cluster_brief(&self, c: &Cluster) -> Value {
        json!({
            "cluster_id": c.id,
            "root_funder": self.addr(c.root),
            "members": c.members.len(),
            "group_size": c.group.len(),
            "top_payee": c.top_payee.map(|p| self.addr(p)),
            "criteria_met": c.criteria.iter().filter(|x| **x).count(),
            "same_amount_share": round4(c.same_amount_share),
            "start_window_share": round4(c.start_window_share),
            "payment_count_cv": round4(c.count_cv),
        })
    }

    fn provenance_json(&self, spend: &crate::provenance::Spend) -> Value {
        let sources: Vec<Value> = spend
            .sources
            .iter()
            .map(|(v, amt)| {
                let a = &self.g.addrs[*v as usize];
                let label = self.inputs.labels.of(a).find(|l| l.kind == crate::labels::LabelKind::Ecosystem);
                json!({
                    "wallet": hex0x(a),
                    "amount": amt.to_string(),
                    "role": label.and_then(|l| l.role.clone()),
                    "label_source": label.map(|l| l.source.as_str()),
                })
            })
            .collect();
        json!({
            "fifo_share": round4(spend.fifo),
            "haircut_share": round4(spend.haircut),
            "threshold": self.cfg.project_min_share,
            "sources": sources,
        })
    }

    /// The payer's first-funder chain up to the evidence limit, and what it ends at.
    fn funding_path(&self, a: Node) -> (Vec<Value>, Value) {
        let g = self.g;
        let mut hops = Vec::new();
        let mut seen = BTreeSet::from([a]);
        let mut v = a;
        for _ in 0..self.cfg.evidence_path_hops {
            let Some(e) = g.first_in[v as usize] else {
                let end = if v == a {
                    json!({ "kind": "no_funding_history" })
                } else {
                    let mut end = endpoint(g, self.inputs, v, i64::MAX);
                    end["note"] = json!("no earlier funding recorded");
                    end
                };
                return (hops, end);
            };
            let edge = &g.edges[e as usize];
            hops.push(hop(g, self.inputs, e));
            let u = edge.from;
            let stop = g.blocked[u as usize].is_some()
                || (g.has_ecosystem[u as usize]
                    && self.inputs.labels.ecosystem_at(&g.addrs[u as usize], edge.block).is_some());
            if stop {
                return (hops, endpoint(g, self.inputs, u, edge.block));
            }
            if !seen.insert(u) {
                let mut end = endpoint(g, self.inputs, u, edge.block);
                end["note"] = json!("funding cycle");
                return (hops, end);
            }
            v = u;
        }
        let mut end = endpoint(g, self.inputs, v, i64::MAX);
        end["note"] = json!(format!("path truncated at {} hops", self.cfg.evidence_path_hops));
        (hops, end)
    }

    fn ball(&self, a: Node) -> Ball {
        let g = self.g;
        let mut dist = HashMap::new();
        let mut order = vec![a];
        dist.insert(a, (0u8, a));
        if g.blocked[a as usize].is_some() {
            return Ball { dist, order };
        }
        let mut frontier = vec![a];
        for d in 1..self.cfg.max_funding_hops {
            let mut next = Vec::new();
            for &x in &frontier {
                if x != a && g.blocked[x as usize].is_some() {
                    continue;
                }
                for &y in g.neighbors.get(x) {
                    if let std::collections::hash_map::Entry::Vacant(e) = dist.entry(y) {
                        e.insert((d as u8, x));
                        next.push(y);
                        order.push(y);
                    }
                }
            }
            frontier = next;
        }
        Ball { dist, order }
    }

    fn pair(&self, a: Node, b: Node, ball: &Ball) -> PairLink {
        let g = self.g;
        let h = self.cfg.max_funding_hops;
        let mut funding = None;
        if g.blocked[a as usize].is_none() {
            // b is within h hops if b itself, or one of its neighbours that may relay, is in the
            // ball (distance <= h - 1).
            let relay = |y: Node| y == a || g.blocked[y as usize].is_none();
            let via: Option<Node> = if let Some(&(d, _)) = ball.dist.get(&b) {
                let _ = d;
                Some(b)
            } else {
                let nb = g.neighbors.get(b);
                if nb.len() <= ball.order.len() {
                    nb.iter()
                        .copied()
                        .filter(|y| relay(*y) && ball.dist.contains_key(y))
                        .min_by_key(|y| (ball.dist[y].0, *y))
                } else {
                    ball.order.iter().copied().find(|&y| relay(y) && g.adjacent(y, b))
                }
            };
            if let Some(via) = via {
                // Rebuild the node path a -> ... -> via (-> b).
                let mut nodes = vec![via];
                let mut cur = via;
                while cur != a {
                    cur = ball.dist[&cur].1;
                    nodes.push(cur);
                }
                nodes.reverse();
                if via != b {
                    nodes.push(b);
                }
                let hops: Vec<Value> = nodes
                    .windows(2)
                    .map(|w| g.edge_between(w[0], w[1]).map(|e| hop(g, self.inputs, e)).unwrap_or(Value::Null))
                    .collect();
                funding = Some(json!({
                    "hops": hops.len(),
                    "max_hops": h,
                    "path": nodes.iter().map(|v| self.addr(*v)).collect::<Vec<_>>(),
                    "transfers": hops,
                }));
            }
        }
        let mut shared_funder = None;
        if let (Some(ea), Some(eb)) = (g.first_in[a as usize], g.first_in[b as usize]) {
            let (fa, fb) = (g.edges[ea as usize].from, g.edges[eb as usize].from);
            if fa == fb && g.blocked[fa as usize].is_none() {
                shared_funder = Some(json!({
                    "funder": self.addr(fa),
                    "funder_labels": self.inputs.labels.of(&g.addrs[fa as usize]).map(|l| l.to_json()).collect::<Vec<_>>(),
                    "payer_first_funding": hop(g, self.inputs, ea),
                    "payee_first_funding": hop(g, self.inputs, eb),
                }));
            }
        }
        PairLink { funding, shared_funder }
    }

    /// Whether `wallet` counts as declared by `payee` at `block`: the declaration in force then, or,
    /// with none yet, a later declaration (an admission covers earlier payments too). A withdrawal
    /// ends it for later payments.
    fn declaration(&self, payee: Node, wallet: Node, block: i64) -> Option<Value> {
        let list = self.decl.get(&(payee, wallet))?;
        let d = match list.iter().rev().find(|d| d.block <= block) {
            Some(d) => *d,
            None => *list.first()?,
        };
        d.declared.then(|| {
            json!({
                "payee": hex0x(&d.payee),
                "wallet": hex0x(&d.wallet),
                "tx": hex0x(&d.tx),
                "block": d.block,
                "note": d.note,
                "retroactive": d.block > block,
            })
        })
    }

    /// Tokens flowing from the payee back to the payer within the window after the payment, over
    /// at most `flow_back_max_hops` transfers that move forward in time. Each transfer into the
    /// payer counts once, at the bottleneck of its best path.
    fn flow_back(&self, a: Node, b: Node, token: u32, t: i64, amount: u128) -> Option<Value> {
        let g = self.g;
        if amount == 0 {
            return None;
        }
        let deadline = t.saturating_add(self.cfg.flow_back_window_secs);
        let ins = g.in_edges.get(a);
        let start = ins.partition_point(|&e| g.edges[e as usize].time < t);
        let mut total: u128 = 0;
        let mut paths: Vec<Vec<u32>> = Vec::new();
        let mut budget = 20_000usize;
        for &e in &ins[start..] {
            let edge = &g.edges[e as usize];
            if edge.time > deadline {
                break;
            }
            if edge.token != token {
                continue;
            }
            let mut path = vec![e];
            if let Some((bn, p)) = self.back_search(a, b, token, t, edge.from, edge.time, edge.amount, &mut path, &mut budget) {
                total = total.saturating_add(bn);
                paths.push(p);
            }
        }
        let share = total as f64 / amount as f64;
        if total == 0 || share < self.cfg.flow_back_min_share {
            return None;
        }
        let shown: Vec<Value> = paths
            .iter()
            .take(self.cfg.evidence_max_items)
            .map(|p| Value::Array(p.iter().rev().map(|&e| hop(g, self.inputs, e)).collect()))
            .collect();
        Some(json!({
            "amount_back": total.to_string(),
            "payment_amount": amount.to_string(),
            "share": round4(share.min(1.0)),
            "threshold": self.cfg.flow_back_min_share,
            "window_secs": self.cfg.flow_back_window_secs,
            "window_end": iso(deadline),
            "paths_found": paths.len(),
            "paths": shown,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn back_search(
        &self,
        a: Node,
        b: Node,
        token: u32,
        t: i64,
        s: Node,
        upper: i64,
        bottleneck: u128,
        path: &mut Vec<u32>,
        budget: &mut usize,
    ) -> Option<(u128, Vec<u32>)> {
        let g = self.g;
        if s == b {
            return Some((bottleneck, path.clone()));
        }
        if path.len() >= self.cfg.flow_back_max_hops || s == a || g.blocked[s as usize].is_some() {
            return None;
        }
        let mut best: Option<(u128, Vec<u32>)> = None;
        let ins = g.in_edges.get(s);
        let start = ins.partition_point(|&e| g.edges[e as usize].time < t);
        for &e in &ins[start..] {
            let edge = &g.edges[e as usize];
            if edge.time > upper {
                break;
            }
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            if edge.token != token {
                continue;
            }
            path.push(e);
            let r = self.back_search(a, b, token, t, edge.from, edge.time, bottleneck.min(edge.amount), path, budget);
            path.pop();
            if let Some(r) = r {
                if best.as_ref().is_none_or(|x| r.0 > x.0) {
                    best = Some(r);
                }
            }
        }
        best
    }
}
