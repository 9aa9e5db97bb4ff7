//! The rule engine: for every payer, every rule over every payment, first match wins, every rule
//! that fired kept as a flag with its evidence. Pure computation over `Inputs`; the database
//! layer loads the inputs and writes the `Output` back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use crate::clusters::{round4, Cluster, Clusters};
use crate::config::RuleConfig;
use crate::entities::Entities;
use crate::evidence::{endpoint, hop};
use crate::graph::{Graph, Node, NO_GROUP};
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
    /// The entity it belongs to: the smallest address of the wallets the evidence ties together
    /// (the payer itself when nothing does).
    pub entity_id: Addr,
    /// Why wallets were merged into that entity (`None` for a singleton).
    pub entity_reason: Option<String>,
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
    /// Entities (wallets the evidence ties together).
    pub entities: Entities,
}

/// Runs the global passes.
pub fn prepare(inputs: &Inputs, cfg: &RuleConfig) -> Prepared {
    let t = std::time::Instant::now();
    let graph = Graph::build(inputs, cfg);
    let t_graph = t.elapsed().as_secs_f64();
    let provenance = Provenance::compute(&graph, inputs, cfg.evidence_max_items);
    let t_prov = t.elapsed().as_secs_f64() - t_graph;
    let clusters = Clusters::compute(&graph, cfg, inputs.chain_id);
    let entities = Entities::compute(&graph, &clusters);
    tracing::debug!(
        graph_s = t_graph,
        provenance_s = t_prov,
        clusters_s = t.elapsed().as_secs_f64() - t_graph - t_prov,
        nodes = graph.len(),
        edges = graph.edges.len(),
        "prepared"
    );
    Prepared {
        graph,
        provenance,
        clusters,
        entities,
    }
}

/// Classifies the payments of `scope` payers (all payers when `None`).
pub fn classify(inputs: &Inputs, cfg: &RuleConfig, scope: Option<&BTreeSet<Addr>>) -> Output {
    let prepared = prepare(inputs, cfg);
    evaluate(&prepared, inputs, cfg, scope)
}

/// Evaluates the rules for the `scope` payers (all when `None`) over prepared passes.
pub fn evaluate(
    prepared: &Prepared,
    inputs: &Inputs,
    cfg: &RuleConfig,
    scope: Option<&BTreeSet<Addr>>,
) -> Output {
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
    let ctx = Ctx {
        g,
        inputs,
        cfg,
        prov,
        clusters,
        entities: &prepared.entities,
        decl,
    };

    let payers: Vec<Node> = (0..g.len() as Node)
        .filter(|&v| !g.by_payer.get(v).is_empty())
        .filter(|&v| scope.is_none_or(|s| s.contains(&g.addrs[v as usize])))
        .collect();

    // Payers are independent given the shared read-only context: split them over two threads
    // and concatenate in order, so the output does not depend on scheduling.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
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
        handles
            .into_iter()
            .map(|h| h.join().expect("classifier thread panicked"))
            .collect()
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
    entities: &'a Entities,
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

/// One transfer into the payer counted as a return of a payee's payments.
struct Return {
    edge: u32,
    /// "direct", "path" or "provenance".
    how: &'static str,
    /// The path from the payee's side, earliest hop last (as found backwards).
    path: Vec<u32>,
}

/// Flow-back of one (payer, payee, token): the returns, and per payment of the pair the amount
/// allocated to it and from which returns.
#[derive(Default)]
struct PairFlow {
    returns: Vec<Return>,
    per_payment: HashMap<u32, (u128, Vec<(usize, u128)>)>,
}

/// Payee-origin totals of one (payer, payee) so far: amount paid, FIFO and pro-rata payee-side parts.
#[derive(Default, Clone, Copy)]
struct PairOrigin {
    paid: f64,
    fifo: f64,
    haircut: f64,
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
        let mut pairs: BTreeMap<Node, PairLink> = BTreeMap::new();
        let mut flows: BTreeMap<(Node, u32), PairFlow> = BTreeMap::new();
        let mut origins: BTreeMap<Node, PairOrigin> = BTreeMap::new();

        // Payer-level facts shared by all payments.
        let eco_first = first_in.and_then(|e| {
            let edge = &g.edges[e as usize];
            let l = g.has_ecosystem[edge.from as usize]
                .then(|| {
                    self.inputs
                        .labels
                        .ecosystem_at(&g.addrs[edge.from as usize], edge.block)
                })
                .flatten()?;
            Some(json!({ "funding": hop(g, self.inputs, e), "label": l.to_json() }))
        });
        let cluster = self.clusters.of(a);
        let sybil = cluster.filter(|c| c.flagged.binary_search(&a).is_ok());
        let sybil_ev = sybil.map(|c| self.cluster_brief(c, a));
        let path = self.funding_path(a);
        // Where the funding path leads, as payment rows repeat it: the address only when it is not
        // the first funder itself.
        let traced_brief = match first_funder {
            Some(f) if path.1["address"] == json!(self.addr(f)) => {
                json!({ "kind": path.1["kind"] })
            }
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
                rules.push((
                    Flag::SelfPayment,
                    json!({ "payer": self.addr(a), "payee": self.addr(p.payee) }),
                ));
            }
            if g.has_ecosystem[a as usize] {
                if let Some(l) = self
                    .inputs
                    .labels
                    .ecosystem_at(&g.addrs[a as usize], p.block)
                {
                    rules.push((
                        Flag::InternalWallet,
                        json!({ "label": l.to_json(), "payment_block": p.block }),
                    ));
                }
            }
            if p.payer != p.payee {
                if let Some(d) = self.declaration(p.payee, a, p.block) {
                    rules.push((Flag::DeclaredWallet, d));
                }
                // Payments are chronological: the first payment to a payee sets the cutoff after which
                // transfers are no longer funding for the relationship.
                let link = pairs
                    .entry(p.payee)
                    .or_insert_with(|| self.pair(a, p.payee, p.block));
                if let Some(f) = &link.funding {
                    rules.push((Flag::FundingLink, f.clone()));
                }
                if let Some(f) = &link.shared_funder {
                    rules.push((Flag::SharedFirstFunder, f.clone()));
                }
                let flow = flows
                    .entry((p.payee, p.token))
                    .or_insert_with(|| self.pair_flow(a, p.payee, p.token, pays));
                if let Some(f) = self.flow_back_json(flow, pi, p.amount) {
                    rules.push((Flag::FlowBack, f));
                }
                let o = origins.entry(p.payee).or_default();
                let amt = p.amount as f64;
                o.paid += amt;
                o.fifo += amt * spend.payee_fifo;
                o.haircut += amt * spend.payee_haircut;
                if let Some(f) = self.payee_funds(p.payee, p.amount, spend, o) {
                    rules.push((Flag::PayeeFunds, f));
                }
            }
            if p.amount > 0 && spend.fifo.max(spend.haircut) >= cfg.project_min_share {
                rules.push((Flag::EcosystemFunds, self.provenance_json(spend)));
            }
            if let Some(e) = &eco_first {
                rules.push((Flag::EcosystemFirstFunder, e.clone()));
            }
            if let Some(e) = &sybil_ev {
                rules.push((Flag::SybilCluster, e.clone()));
            }
            if rules.is_empty() {
                match first_in
                    .map(|e| &g.edges[e as usize])
                    .filter(|e| e.block <= p.block)
                {
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
                l.0.extend(
                    flags
                        .iter()
                        .copied()
                        .filter(|f| f.class() == Class::SelfDealing),
                );
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
            .max_by(|x, y| {
                x.1 .1
                    .cmp(&y.1 .1)
                    .then(x.1 .0.cmp(&y.1 .0))
                    .then(y.0.cmp(x.0))
            })
            .map(|(c, _)| *c)
            .unwrap_or(Class::Unattributed);
        let classes: Map<String, Value> = by_class
            .iter()
            .map(|(c, (n, v))| {
                (
                    c.as_str().to_string(),
                    json!({ "payments": n, "volume": v.to_string() }),
                )
            })
            .collect();
        let labels: Vec<Value> = self
            .inputs
            .labels
            .of(&g.addrs[a as usize])
            .map(|l| l.to_json())
            .collect();
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
            // Ids go up to 2^63: a string, so JSON readers limited to 2^53 keep them exact.
            s["cluster_id"] = json!(c.id.to_string());
            s["root_funder"] = json!(self.addr(c.root));
            s["in_group"] = json!(c.group.binary_search(&a).is_ok());
            s["suspected_member"] = json!(c.flagged.binary_search(&a).is_ok());
            // The edge tying the payer to the cluster, when it is not its first funding (gas money
            // from a wallet while the tokens came from an exchange).
            if let Some(l) = g.link_in[a as usize].filter(|l| Some(*l) != first_in) {
                s["cluster_link"] = hop(g, self.inputs, l);
            }
            ev["cluster"] = s;
        }
        let (entity, entity_reason) = self.entities.of(a);
        ev["entity"] = json!({
            "entity_id": self.addr(entity),
            "wallets": self.entities.size[self.entities.root[a as usize] as usize].max(1),
            "paying_wallets": self.entities.paying[self.entities.root[a as usize] as usize].max(1),
            "reason": entity_reason,
        });
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
            entity_id: g.addrs[entity as usize],
            entity_reason,
        };
        (verdict, verdicts)
    }

    /// Why `a` is a suspected member of `c`: its group's statistics (or the top payee's group when
    /// the cluster is suspected by size).
    fn cluster_brief(&self, c: &Cluster, a: Node) -> Value {
        let grp = c.suspect_group(a).or(c.top.as_ref());
        json!({
            "cluster_id": c.id.to_string(),
            "root_funder": self.addr(c.root),
            "members": c.members.len(),
            "paying_members": c.paying,
            "suspected_by": if c.large && c.suspect_group(a).is_none() { "size" } else { "criteria" },
            "fan_out": c.fan_out.0,
            "payee": grp.map(|x| self.addr(x.payee)),
            "group_size": grp.map(|x| x.members.len()),
            "top_payee": c.top_payee.map(|p| self.addr(p)),
            "criteria_met": grp.map(|x| x.criteria.iter().filter(|k| **k).count()).unwrap_or(0),
            "criteria": grp.map(|x| crate::clusters::CRITERIA.iter().zip(x.criteria).filter(|k| k.1).map(|k| *k.0).collect::<Vec<_>>()),
            "same_amount_share": round4(grp.map(|x| x.same_amount_share).unwrap_or(0.0)),
            "start_window_share": round4(grp.map(|x| x.start_window_share).unwrap_or(0.0)),
            "payment_count_cv": round4(grp.map(|x| x.count_cv).unwrap_or(0.0)),
            "payee_payer_share": round4(grp.map(|x| x.payee_share).unwrap_or(0.0)),
        })
    }

    /// `payee_funds`: the payment's tokens came from the payee's side (FIFO or pro rata, at any
    /// depth), and so did the pair's payments so far. Cumulative shares keep cashback (a payee
    /// returning a small part of what it was paid) from flagging a customer that happens to spend
    /// its cashback first.
    fn payee_funds(
        &self,
        b: Node,
        amount: u128,
        spend: &crate::provenance::Spend,
        o: &PairOrigin,
    ) -> Option<Value> {
        let t = self.cfg.payee_origin_min_share;
        let share = spend.payee_fifo.max(spend.payee_haircut);
        if amount == 0 || o.paid <= 0.0 || share < t {
            return None;
        }
        let pair_share = o.fifo.max(o.haircut) / o.paid;
        if pair_share < t {
            return None;
        }
        let sources: Vec<Value> = spend
            .payee_sources
            .iter()
            .map(|(v, amt)| {
                json!({
                    "wallet": self.addr(*v),
                    "amount": amt.to_string(),
                    "relation": if *v == b { "payee" } else { "declared_wallet" },
                })
            })
            .collect();
        Some(json!({
            "payee": self.addr(b),
            "fifo_share": round4(spend.payee_fifo),
            "haircut_share": round4(spend.payee_haircut),
            "pair_fifo_share": round4((o.fifo / o.paid).min(1.0)),
            "pair_haircut_share": round4((o.haircut / o.paid).min(1.0)),
            "threshold": t,
            "sources": sources,
        }))
    }

    fn provenance_json(&self, spend: &crate::provenance::Spend) -> Value {
        let sources: Vec<Value> = spend
            .sources
            .iter()
            .map(|(v, amt)| {
                let a = &self.g.addrs[*v as usize];
                let label = self
                    .inputs
                    .labels
                    .of(a)
                    .find(|l| l.kind == crate::labels::LabelKind::Ecosystem);
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
                    && self
                        .inputs
                        .labels
                        .ecosystem_at(&g.addrs[u as usize], edge.block)
                        .is_some());
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
        end["note"] = json!(format!(
            "path truncated at {} hops",
            self.cfg.evidence_path_hops
        ));
        (hops, end)
    }

    /// Nodes within `max_funding_hops - 1` of `a` over links that existed at `cutoff`.
    fn ball(&self, a: Node, cutoff: i64) -> Ball {
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
                let r = g.neighbors.range(x);
                for (k, &y) in g.neighbors.get(x).iter().enumerate() {
                    if g.neighbor_since[r.start + k] > cutoff {
                        continue;
                    }
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

    /// Funding relations between payer `a` and payee `b` as they stood at `cutoff` (the block of
    /// the first payment between them): a transfer after a payment is never funding for it.
    fn pair(&self, a: Node, b: Node, cutoff: i64) -> PairLink {
        let g = self.g;
        let h = self.cfg.max_funding_hops;
        let mut funding = None;
        if g.blocked[a as usize].is_none() {
            let ball = self.ball(a, cutoff);
            // b is within h hops if b itself, or one of its neighbours that may relay, is in the
            // ball (distance <= h - 1), over links that existed at the cutoff.
            let relay = |y: Node| y == a || g.blocked[y as usize].is_none();
            let via: Option<Node> = if ball.dist.contains_key(&b) {
                Some(b)
            } else {
                let nb = g.neighbors.get(b);
                let r = g.neighbors.range(b);
                if nb.len() <= ball.order.len() {
                    nb.iter()
                        .enumerate()
                        .filter(|(k, y)| {
                            g.neighbor_since[r.start + k] <= cutoff
                                && relay(**y)
                                && ball.dist.contains_key(y)
                        })
                        .map(|(_, y)| *y)
                        .min_by_key(|y| (ball.dist[y].0, *y))
                } else {
                    ball.order
                        .iter()
                        .copied()
                        .find(|&y| relay(y) && g.linked_since(y, b).is_some_and(|s| s <= cutoff))
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
                    .map(|w| {
                        g.edge_between(w[0], w[1])
                            .map(|e| hop(g, self.inputs, e))
                            .unwrap_or(Value::Null)
                    })
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
            let before =
                g.edges[ea as usize].block <= cutoff && g.edges[eb as usize].block <= cutoff;
            if fa == fb && before && g.blocked[fa as usize].is_none() {
                shared_funder = Some(json!({
                    "funder": self.addr(fa),
                    "funder_labels": self.inputs.labels.of(&g.addrs[fa as usize]).map(|l| l.to_json()).collect::<Vec<_>>(),
                    "payer_first_funding": hop(g, self.inputs, ea),
                    "payee_first_funding": hop(g, self.inputs, eb),
                }));
            }
        }
        PairLink {
            funding,
            shared_funder,
        }
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

    /// Returns from payee `b` (or a wallet it declared) to payer `a` in `token`, allocated to the
    /// pair's payments: every transfer into `a` after its first payment to `b` counts for what
    /// came from `b`'s side, the largest of: all of it when sent by `b`'s side directly; what an
    /// amount-conserving (or short) path from `b`'s side brings; what provenance says passed
    /// through `b`'s side (FIFO or pro rata). Each return is allocated once, to the latest earlier
    /// payments of the pair not yet covered (and within `flow_back_window_secs` of them when set).
    fn pair_flow(&self, a: Node, b: Node, token: u32, pays: &[u32]) -> PairFlow {
        let g = self.g;
        let cfg = self.cfg;
        let mut flow = PairFlow::default();
        let grp = g.payee_group[b as usize];
        let mine: Vec<u32> = pays
            .iter()
            .copied()
            .filter(|&pi| {
                let p = &g.pays[pi as usize];
                p.payee == b && p.token == token && p.amount > 0
            })
            .collect();
        let Some(&first) = mine.first() else {
            return flow;
        };
        let first = g.pays[first as usize];
        let mut left: Vec<u128> = mine.iter().map(|&pi| g.pays[pi as usize].amount).collect();
        let ins = g.in_edges.get(a);
        let start = ins.partition_point(|&e| g.edges[e as usize].block <= first.block);
        let mut budget = 20_000usize;
        let mut stack: Vec<usize> = Vec::new();
        let mut next = 0usize;
        for &e in &ins[start..] {
            let edge = &g.edges[e as usize];
            if edge.token != token || edge.native {
                continue;
            }
            let (counted, how, path) = if g.in_group(edge.from, grp) {
                (edge.amount, "direct", vec![e])
            } else {
                let tagged = self.prov.edge_origin.get(&e).map_or(0u128, |o| {
                    let (f, p) = o
                        .iter()
                        .filter(|t| g.in_group(t.0, grp))
                        .fold((0u128, 0f64), |acc, t| {
                            (acc.0.saturating_add(t.1), acc.1 + t.2)
                        });
                    f.max(p as u128)
                });
                let lower = if cfg.flow_back_path_window_secs > 0 {
                    first
                        .time
                        .max(edge.time.saturating_sub(cfg.flow_back_path_window_secs))
                } else {
                    first.time
                };
                let mut path = vec![e];
                let found = self.back_search(
                    a,
                    grp,
                    token,
                    lower,
                    edge.from,
                    edge.time,
                    edge.amount,
                    edge.amount,
                    true,
                    &mut path,
                    &mut budget,
                );
                match found {
                    Some((bn, p)) if bn >= tagged => (bn, "path", p),
                    _ if tagged > 0 => (tagged, "provenance", vec![e]),
                    _ => (0, "", vec![]),
                }
            };
            let counted = counted.min(edge.amount);
            if counted == 0 {
                continue;
            }
            let ri = flow.returns.len();
            let mut rest = counted;
            // The payments before the return join the stack of uncovered payments; the return
            // covers the latest first (a cashback right after a payment is that payment's).
            while next < mine.len() && g.pays[mine[next] as usize].block < edge.block {
                stack.push(next);
                next += 1;
            }
            while rest > 0 {
                let Some(&k) = stack.last() else { break };
                let p = &g.pays[mine[k] as usize];
                if cfg.flow_back_window_secs > 0
                    && edge.time > p.time.saturating_add(cfg.flow_back_window_secs)
                {
                    break; // every payment below is older still
                }
                let take = rest.min(left[k]);
                left[k] -= take;
                rest -= take;
                let slot = flow.per_payment.entry(mine[k]).or_default();
                slot.0 += take;
                slot.1.push((ri, take));
                if left[k] == 0 {
                    stack.pop();
                }
            }
            let used = counted - rest;
            if used > 0 {
                flow.returns.push(Return { edge: e, how, path });
            }
        }
        flow
    }

    /// The flow-back evidence of payment `pi`, when enough of it came back.
    fn flow_back_json(&self, flow: &PairFlow, pi: u32, amount: u128) -> Option<Value> {
        let g = self.g;
        let (back, from) = flow.per_payment.get(&pi)?;
        let share = *back as f64 / amount as f64;
        if *back == 0 || share < self.cfg.flow_back_min_share {
            return None;
        }
        let shown = from.iter().take(self.cfg.evidence_max_items);
        let returns: Vec<Value> = shown
            .clone()
            .map(|(ri, take)| {
                let r = &flow.returns[*ri];
                json!({ "transfer": hop(g, self.inputs, r.edge), "counted": take.to_string(), "matched_by": r.how })
            })
            .collect();
        let paths: Vec<Value> = shown
            .filter(|(ri, _)| flow.returns[*ri].how != "provenance")
            .map(|(ri, _)| {
                Value::Array(
                    flow.returns[*ri]
                        .path
                        .iter()
                        .rev()
                        .map(|&e| hop(g, self.inputs, e))
                        .collect(),
                )
            })
            .collect();
        Some(json!({
            "amount_back": back.to_string(),
            "payment_amount": amount.to_string(),
            "share": round4(share.min(1.0)),
            "threshold": self.cfg.flow_back_min_share,
            "window_secs": self.cfg.flow_back_window_secs,
            "window": if self.cfg.flow_back_window_secs > 0 { "after the payment" } else { "pair lifetime" },
            "returns_counted": from.len(),
            "returns": returns,
            "paths": paths,
        }))
    }

    /// Searches backwards from `s` (which passed `last` on towards the payer) for the payee's side
    /// over time-ordered transfers no earlier than `lower`: up to `flow_back_max_hops` transfers
    /// with any amounts (the bottleneck counts), or up to `flow_back_conserved_max_hops` when every
    /// hop passes on at least `1 - tolerance` of what it received. Returns the best bottleneck.
    #[allow(clippy::too_many_arguments)]
    fn back_search(
        &self,
        a: Node,
        grp: u32,
        token: u32,
        lower: i64,
        s: Node,
        upper: i64,
        bottleneck: u128,
        last: u128,
        conserved: bool,
        path: &mut Vec<u32>,
        budget: &mut usize,
    ) -> Option<(u128, Vec<u32>)> {
        let g = self.g;
        let cfg = self.cfg;
        if g.in_group(s, grp) {
            return Some((bottleneck, path.clone()));
        }
        let len = path.len();
        if s == a || g.blocked[s as usize].is_some() || grp == NO_GROUP {
            return None;
        }
        if len >= cfg.flow_back_max_hops && !(conserved && len < cfg.flow_back_conserved_max_hops) {
            return None;
        }
        let tol = cfg.flow_back_conserve_tolerance;
        let mut best: Option<(u128, Vec<u32>)> = None;
        let ins = g.in_edges.get(s);
        let start = ins.partition_point(|&e| g.edges[e as usize].time < lower);
        for &e in &ins[start..] {
            let edge = &g.edges[e as usize];
            if edge.time > upper || *budget == 0 {
                break;
            }
            *budget -= 1;
            if edge.token != token || edge.native || path.contains(&e) {
                continue;
            }
            // Conserved: what s passed on is between (1 - tol) and (1 + tol) of what it received.
            let (x, y) = (edge.amount as f64, last as f64);
            let cons = conserved && y >= x * (1.0 - tol) && y <= x * (1.0 + tol);
            if len + 1 > cfg.flow_back_max_hops && !(cons && len < cfg.flow_back_conserved_max_hops)
            {
                continue;
            }
            path.push(e);
            let r = self.back_search(
                a,
                grp,
                token,
                lower,
                edge.from,
                edge.time,
                bottleneck.min(edge.amount),
                edge.amount,
                cons,
                path,
                budget,
            );
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
