//! Following the indexer: classify from scratch once, then on every new checkpoint load only the
//! new rows, redo the cheap global passes in memory, and re-evaluate only the payers whose result
//! can have changed. A label or rule change, or a reorg below the last classified block, falls
//! back to a full reclassification, so incremental and from-scratch results converge.
//!
//! A payer is re-evaluated when:
//! - it made (or a capture/refund updated) a payment in the new blocks;
//! - it lies within `max(max_funding_hops, flow_back_max_hops, flow_back_conserved_max_hops)`
//!   funding hops of a new (token or native) transfer's or declaration's endpoints, or of a node
//!   that became (or stopped being) a hub: funding links, shared first funders and flow-back paths
//!   through new edges pass there;
//! - it paid a payee whose payee-side group a new declaration changed (returns through the
//!   declared wallet now count for it);
//! - the provenance (ecosystem or payee-side share) of any of its payments changed;
//! - its funding cluster's membership or statistics changed, or its entity did;
//! - its first-funder path (the evidence) changed.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use sqlx::PgPool;

use crate::config::RuleConfig;
use crate::db::load::{self, Checkpoint, Range};
use crate::db::{write, DbError};
use crate::engine::{evaluate, prepare, Prepared};
use crate::graph::{Graph, Node};
use crate::input::Inputs;
use crate::types::{Addr, Hash32};

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The indexer has no checkpoint yet.
    NoCheckpoint,
    /// Nothing new since the last classified block.
    UpToDate {
        /// The classified block.
        block: i64,
    },
    /// Everything was classified again.
    Full {
        /// Up to this block.
        block: i64,
        /// Why.
        reason: String,
        /// Payments classified.
        payments: usize,
    },
    /// New blocks were classified incrementally.
    Incremental {
        /// From (exclusive).
        from: i64,
        /// To (inclusive).
        to: i64,
        /// Payers re-evaluated.
        payers: usize,
        /// Payments written.
        payments: usize,
    },
}

impl Step {
    /// Logs what the step did (the classifier's and the benchmark's one report of a step).
    pub fn log(&self) {
        match self {
            Step::NoCheckpoint => {
                tracing::warn!("the indexer has no checkpoint yet; nothing to classify")
            }
            Step::UpToDate { block } => tracing::info!(block, "up to date"),
            Step::Full {
                block,
                reason,
                payments,
            } => tracing::info!(
                block,
                payments,
                reason = reason.as_str(),
                "classified everything"
            ),
            Step::Incremental {
                from,
                to,
                payers,
                payments,
            } => tracing::info!(from, to, payers, payments, "classified new blocks"),
        }
    }
}

/// Per-payer fingerprints of the global passes, to detect what changed between steps.
#[derive(Default)]
struct Fingerprints {
    spends: HashMap<Hash32, (u64, u64, u64, u64)>,
    entities: HashMap<Addr, u64>,
    /// Per payer: the payee-side origin of the transfers it received (what returns are made of).
    origins: HashMap<Addr, u64>,
    clusters: HashMap<Addr, u64>,
    paths: HashMap<Addr, u64>,
    blocked: BTreeSet<Addr>,
}

impl Fingerprints {
    fn of(p: &Prepared, inputs: &Inputs, cfg: &RuleConfig) -> Fingerprints {
        let g = &p.graph;
        let mut f = Fingerprints::default();
        for (i, pay) in g.pays.iter().enumerate() {
            let s = &p.provenance.spends[i];
            f.spends
                .insert(inputs.payments[pay.src as usize].id, spend_bits(s));
        }
        for (e, o) in &p.provenance.edge_origin {
            let edge = &g.edges[*e as usize];
            let mut h = DefaultHasher::new();
            edge.src.hash(&mut h);
            for (n, fifo, pr) in o {
                (g.addrs[*n as usize], fifo, pr.to_bits()).hash(&mut h);
            }
            // Order-independent combination (the map's iteration order is not stable).
            let slot = f.origins.entry(g.addrs[edge.to as usize]).or_default();
            *slot = slot.wrapping_add(h.finish());
        }
        for v in 0..g.len() as Node {
            if g.blocked[v as usize].is_some() {
                f.blocked.insert(g.addrs[v as usize]);
            }
            if g.by_payer.get(v).is_empty() {
                continue;
            }
            let a = g.addrs[v as usize];
            if let Some(c) = p.clusters.of(v) {
                let mut h = DefaultHasher::new();
                (
                    c.id,
                    c.members.len(),
                    c.paying,
                    c.top_payee.map(|t| g.addrs[t as usize]),
                )
                    .hash(&mut h);
                (c.suspected, c.large, c.fan_out.0, g.addrs[c.root as usize]).hash(&mut h);
                for x in c.top.iter().chain(&c.groups) {
                    (
                        g.addrs[x.payee as usize],
                        x.usual_amount,
                        x.criteria,
                        x.suspected,
                    )
                        .hash(&mut h);
                    (
                        x.same_amount_share.to_bits(),
                        x.start_window_share.to_bits(),
                    )
                        .hash(&mut h);
                    (
                        x.count_cv.to_bits(),
                        x.payee_share.to_bits(),
                        x.members.len(),
                    )
                        .hash(&mut h);
                }
                // Node ids shift when new addresses appear: hash addresses.
                for m in c.members.iter().chain(&c.group).chain(&c.flagged) {
                    g.addrs[*m as usize].hash(&mut h);
                }
                f.clusters.insert(a, h.finish());
            }
            let mut h = DefaultHasher::new();
            let (root, reason) = p.entities.of(v);
            let r = p.entities.root[v as usize] as usize;
            (
                g.addrs[root as usize],
                reason,
                p.entities.size[r],
                p.entities.paying[r],
            )
                .hash(&mut h);
            f.entities.insert(a, h.finish());
            f.paths.insert(a, path_fingerprint(g, inputs, cfg, v));
        }
        f
    }
}

fn spend_bits(s: &crate::provenance::Spend) -> (u64, u64, u64, u64) {
    (
        s.fifo.to_bits(),
        s.haircut.to_bits(),
        s.payee_fifo.to_bits(),
        s.payee_haircut.to_bits(),
    )
}

/// Hash of the first-funder chain the evidence reports (edge sources and where it stops).
fn path_fingerprint(g: &Graph, inputs: &Inputs, cfg: &RuleConfig, a: Node) -> u64 {
    let mut h = DefaultHasher::new();
    let mut v = a;
    for _ in 0..cfg.evidence_path_hops {
        let Some(e) = g.first_in[v as usize] else {
            break;
        };
        let edge = &g.edges[e as usize];
        (edge.src, g.blocked[edge.from as usize].map(|b| b.as_str())).hash(&mut h);
        let u = edge.from;
        if g.blocked[u as usize].is_some()
            || (g.has_ecosystem[u as usize]
                && inputs
                    .labels
                    .ecosystem_at(&g.addrs[u as usize], edge.block)
                    .is_some())
            || u == a
        {
            break;
        }
        v = u;
    }
    h.finish()
}

/// Follows one chain's indexer checkpoint.
pub struct Follower {
    pool: PgPool,
    cfg: RuleConfig,
    chain_id: Option<i64>,
    inputs: Option<Inputs>,
    payment_index: HashMap<Hash32, usize>,
    /// Fingerprints of the in-memory baseline; computed when the first incremental step needs them
    /// (a one-shot from-scratch run never does).
    fingerprints: Option<Fingerprints>,
}

impl Follower {
    /// A follower of `chain_id` (the only indexed chain when `None`).
    pub fn new(pool: PgPool, cfg: RuleConfig, chain_id: Option<i64>) -> Follower {
        Follower {
            pool,
            cfg,
            chain_id,
            inputs: None,
            payment_index: HashMap::new(),
            fingerprints: None,
        }
    }

    /// Classifies everything up to the checkpoint, replacing all stored verdicts.
    pub async fn from_scratch(&mut self, reason: &str) -> Result<Step, DbError> {
        let Some(cp) = load::checkpoint(&self.pool, self.chain_id).await? else {
            return Ok(Step::NoCheckpoint);
        };
        self.full(&cp, reason).await
    }

    async fn full(&mut self, cp: &Checkpoint, reason: &str) -> Result<Step, DbError> {
        let t = std::time::Instant::now();
        let inputs = load::inputs(&self.pool, cp).await?;
        let loaded = t.elapsed().as_secs_f64();
        let cfg = self.cfg.clone();
        let (inputs, out) = tokio::task::spawn_blocking(move || {
            let prepared = prepare(&inputs, &cfg);
            let t = std::time::Instant::now();
            let out = evaluate(&prepared, &inputs, &cfg, None);
            tracing::debug!(evaluate_s = t.elapsed().as_secs_f64(), "evaluated");
            (inputs, out)
        })
        .await
        .expect("classification task panicked");
        let computed = t.elapsed().as_secs_f64() - loaded;
        write::replace_all(
            &self.pool,
            cp.chain_id,
            &out,
            &inputs.labels,
            cp.block,
            &cp.hash,
        )
        .await?;
        tracing::info!(
            load_s = loaded,
            compute_s = computed,
            write_s = t.elapsed().as_secs_f64() - loaded - computed,
            payments = out.payments.len(),
            "full classification"
        );
        let n = out.payments.len();
        self.payment_index = inputs
            .payments
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        self.inputs = Some(inputs);
        self.fingerprints = None;
        Ok(Step::Full {
            block: cp.block,
            reason: reason.to_string(),
            payments: n,
        })
    }

    /// Loads the already-classified baseline (up to the stored state's block) into memory.
    async fn baseline(&mut self, cp: &Checkpoint, upto: i64) -> Result<(), DbError> {
        let baseline = Checkpoint {
            block: upto,
            ..cp.clone()
        };
        let inputs = load::inputs(&self.pool, &baseline).await?;
        self.payment_index = inputs
            .payments
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        self.inputs = Some(inputs);
        self.fingerprints = None;
        Ok(())
    }

    /// One step: classify whatever the indexer committed since the last step.
    pub async fn step(&mut self) -> Result<Step, DbError> {
        let Some(cp) = load::checkpoint(&self.pool, self.chain_id).await? else {
            return Ok(Step::NoCheckpoint);
        };
        self.chain_id = Some(cp.chain_id);
        let Some(state) = write::state(&self.pool, cp.chain_id).await? else {
            return self.full(&cp, "first classification").await;
        };
        let labels = load::label_set(&self.pool, cp.chain_id, cp.block).await?;
        if state.rule_version != self.cfg.version() {
            return self
                .full(
                    &cp,
                    &format!(
                        "rule version changed ({} -> {})",
                        state.rule_version,
                        self.cfg.version()
                    ),
                )
                .await;
        }
        if state.label_version != labels.version() {
            return self
                .full(
                    &cp,
                    &format!(
                        "label set changed ({} -> {})",
                        state.label_version,
                        labels.version()
                    ),
                )
                .await;
        }
        if cp.block < state.last_block {
            return self
                .full(
                    &cp,
                    "the indexer rolled back below the last classified block",
                )
                .await;
        }
        if let (Some(stored), Some(now)) = (
            state.last_block_hash.as_ref(),
            load::block_hash(&self.pool, cp.chain_id, state.last_block).await?,
        ) {
            if *stored != now {
                return self
                    .full(&cp, "reorg: the last classified block was replaced")
                    .await;
            }
        }
        if cp.block == state.last_block {
            return Ok(Step::UpToDate { block: cp.block });
        }
        if self.inputs.is_none() {
            self.baseline(&cp, state.last_block).await?;
        }
        let range = Range {
            after: state.last_block,
            upto: cp.block,
        };
        let settlement = cp.settlement;
        let (new_payments, new_transfers, new_native, new_decls) = futures::try_join!(
            load::payments(&self.pool, cp.chain_id, range),
            load::transfers(&self.pool, cp.chain_id, &settlement, range),
            load::native_transfers(&self.pool, cp.chain_id, range),
            load::declarations(&self.pool, cp.chain_id, range),
        )?;

        let mut inputs = self.inputs.take().expect("baseline loaded");
        let old = match self.fingerprints.take() {
            Some(f) => f,
            None => {
                let cfg = self.cfg.clone();
                let (back, f) = tokio::task::spawn_blocking(move || {
                    let f = Fingerprints::of(&prepare(&inputs, &cfg), &inputs, &cfg);
                    (inputs, f)
                })
                .await
                .expect("classification task panicked");
                inputs = back;
                f
            }
        };
        let mut changed: BTreeSet<Addr> = BTreeSet::new();
        let mut starts: BTreeSet<Addr> = BTreeSet::new();
        for p in new_payments {
            changed.insert(p.payer);
            starts.insert(p.payer);
            starts.insert(p.payee);
            match self.payment_index.get(&p.id) {
                Some(&i) => inputs.payments[i] = p,
                None => {
                    self.payment_index.insert(p.id, inputs.payments.len());
                    inputs.payments.push(p);
                }
            }
        }
        for t in &new_transfers {
            starts.insert(t.from);
            starts.insert(t.to);
        }
        for t in &new_native {
            starts.insert(t.from);
            starts.insert(t.to);
        }
        let mut declared: BTreeSet<Addr> = BTreeSet::new();
        for d in &new_decls {
            starts.insert(d.payee);
            starts.insert(d.wallet);
            declared.insert(d.payee);
            declared.insert(d.wallet);
        }
        inputs.transfers.extend(new_transfers);
        inputs.native.extend(new_native);
        inputs.declarations.extend(new_decls);
        inputs.labels = labels;

        let cfg = self.cfg.clone();
        let (inputs, out, fp, payers) = tokio::task::spawn_blocking(move || {
            let prepared = prepare(&inputs, &cfg);
            let fp = Fingerprints::of(&prepared, &inputs, &cfg);
            let affected = affected_payers(
                &prepared, &inputs, &cfg, &old, &fp, &changed, &starts, &declared,
            );
            let out = evaluate(&prepared, &inputs, &cfg, Some(&affected));
            (inputs, out, fp, affected.len())
        })
        .await
        .expect("classification task panicked");
        write::upsert(&self.pool, cp.chain_id, &out, cp.block, &cp.hash).await?;
        let n = out.payments.len();
        self.inputs = Some(inputs);
        self.fingerprints = Some(fp);
        Ok(Step::Incremental {
            from: state.last_block,
            to: cp.block,
            payers,
            payments: n,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn affected_payers(
    p: &Prepared,
    inputs: &Inputs,
    cfg: &RuleConfig,
    old: &Fingerprints,
    new: &Fingerprints,
    changed: &BTreeSet<Addr>,
    starts: &BTreeSet<Addr>,
    declared: &BTreeSet<Addr>,
) -> BTreeSet<Addr> {
    let g = &p.graph;
    let mut out: BTreeSet<Addr> = changed.clone();
    // Payers of payees whose payee-side group a new declaration touched.
    let groups: BTreeSet<u32> = declared
        .iter()
        .filter_map(|a| g.node(a))
        .map(|v| g.payee_group[v as usize])
        .filter(|x| *x != crate::graph::NO_GROUP)
        .collect();
    if !groups.is_empty() {
        for pay in &g.pays {
            if groups.contains(&g.payee_group[pay.payee as usize]) {
                out.insert(g.addrs[pay.payer as usize]);
            }
        }
    }
    // Neighbourhoods of new edges and of nodes whose hub status flipped.
    let flipped: BTreeSet<&Addr> = old.blocked.symmetric_difference(&new.blocked).collect();
    let radius = cfg
        .max_funding_hops
        .max(cfg.flow_back_max_hops)
        .max(cfg.flow_back_conserved_max_hops);
    let mut seen: HashMap<Node, usize> = HashMap::new();
    let mut frontier: Vec<Node> = Vec::new();
    for a in starts.iter().chain(flipped.iter().copied()) {
        if let Some(v) = g.node(a) {
            if seen.insert(v, 0).is_none() {
                frontier.push(v);
            }
        }
    }
    for d in 1..=radius {
        let mut next = Vec::new();
        for &x in &frontier {
            let expandable =
                g.blocked[x as usize].is_none() || flipped.contains(&g.addrs[x as usize]);
            if !expandable {
                continue;
            }
            for &y in g.neighbors.get(x) {
                if let std::collections::hash_map::Entry::Vacant(e) = seen.entry(y) {
                    e.insert(d);
                    next.push(y);
                }
            }
        }
        frontier = next;
    }
    for v in seen.keys() {
        if !g.by_payer.get(*v).is_empty() {
            out.insert(g.addrs[*v as usize]);
        }
    }
    // Provenance, cluster and evidence-path changes found by comparing fingerprints.
    for (i, pay) in g.pays.iter().enumerate() {
        let raw = &inputs.payments[pay.src as usize];
        let s = &p.provenance.spends[i];
        if old.spends.get(&raw.id) != Some(&spend_bits(s)) {
            out.insert(raw.payer);
        }
    }
    for (a, h) in &new.clusters {
        if old.clusters.get(a) != Some(h) {
            out.insert(*a);
        }
    }
    for a in old.clusters.keys() {
        if !new.clusters.contains_key(a) {
            out.insert(*a);
        }
    }
    for (a, h) in &new.origins {
        if old.origins.get(a) != Some(h) {
            out.insert(*a);
        }
    }
    for (a, h) in &new.entities {
        if old.entities.get(a) != Some(h) {
            out.insert(*a);
        }
    }
    for (a, h) in &new.paths {
        if old.paths.get(a) != Some(h) {
            out.insert(*a);
        }
    }
    out
}
