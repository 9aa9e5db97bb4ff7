//! Executes a [`Plan`] day by day: moves anvil's clock, sends the funding transfers, and has each
//! payer pay like an x402 client (sign a Permit2 witness payment for the provider's requirements
//! with `x402-client`, or, as the x402 SDK does, an EIP-3009 authorization of USDC with
//! `x402_client::eip3009`) while the provider verifies and settles it through a facilitator over
//! HTTP. Records what settled as the ground truth.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::{keccak256, Address, B256, U256};
use futures::{StreamExt, TryStreamExt};
use x402_client::budget::Budget;
use x402_client::eip3009;
use x402_client::pay::{pay, PayOptions};
use x402_client::permit::evidence_hash;
use x402_protocol::{
    caip2, scheme_of_mode, PaymentMode, PaymentRequired, PaymentRequirements, ResourceInfo,
    SettlementExtra,
};

use crate::chain::{Chain, ChainError, TokenInfo};
use crate::facilitator::{Facilitator, FacilitatorError};
use crate::plan::{ActorId, EscrowEnd, Kind, PayPath, Payment, Plan, Tok, Transfer, Via};
use crate::progress::Progress;
use crate::truth::{PayerTruth, PaymentTruth, Truth};

/// How long an escrow may be captured: under a simulated day, so the next day's step can reclaim.
const AUTHORIZATION_SECS: u64 = 20 * 3600;
/// How long the payee may refund captured funds.
const REFUND_SECS: u64 = 3 * 86_400;
/// How long a signed payment stays valid.
const VALID_FOR_SECS: u64 = 3600;
/// Blocks mined after the last event so the indexer's finality depth (12 by default) is passed.
const TAIL_BLOCKS: u64 = 16;

/// Why the run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Chain trouble.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Facilitator unreachable or answering nonsense.
    #[error(transparent)]
    Facilitator(#[from] FacilitatorError),
    /// The economy of this seed already ran on this deployment.
    #[error("the economy seeded {0:?} already ran on this deployment (its treasury is labelled): redeploy, or pass another --seed")]
    AlreadyRun(String),
    /// Signing failed.
    #[error("signing a payment: {0}")]
    Pay(#[from] x402_client::pay::PayError),
    /// Signing an EIP-3009 payment failed.
    #[error("signing an EIP-3009 payment: {0}")]
    Eip3009(#[from] x402_client::eip3009::Eip3009Error),
}

/// Run options.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Payers paying at the same time.
    pub concurrency: usize,
    /// Fee the providers accept (`maxFacilitatorFeeBps` in their requirements).
    pub max_fee_bps: u16,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            concurrency: 12,
            max_fee_bps: 100,
        }
    }
}

/// What the run did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Payments settled (charges and escrows).
    pub payments: u64,
    /// Per path label.
    pub by_path: BTreeMap<String, u64>,
    /// Payments settled over EIP-3009 (the x402 SDK's payload); the rest are Permit2 witness
    /// payments.
    pub eip3009: u64,
    /// Distinct `chargeBatch` batches the batching facilitator used.
    pub batches: u64,
    /// Escrow captures.
    pub captures: u64,
    /// Escrow voids.
    pub voids: u64,
    /// Escrow reclaims.
    pub reclaims: u64,
    /// Escrow refunds.
    pub refunds: u64,
    /// Plain token transfers (funding, sweeps, deposits).
    pub transfers: u64,
    /// Payments a facilitator refused or failed to settle, with its reason.
    pub refused: Vec<String>,
}

/// Everything a run talks to.
#[derive(Debug, Clone)]
pub struct Env {
    /// The chain.
    pub chain: Chain,
    /// Facilitator settling each payment alone (and escrows).
    pub direct: Facilitator,
    /// Facilitator in batching mode.
    pub batch: Facilitator,
    /// Options.
    pub options: RunOptions,
}

struct Ctx<'a> {
    env: &'a Env,
    plan: &'a Plan,
    tokens: HashMap<Tok, TokenInfo>,
    /// The EIP-712 (name, version) of the tokens EIP-3009 payments are made in, read once.
    domains: HashMap<Tok, (String, String)>,
    requests: AtomicU64,
}

impl Ctx<'_> {
    fn units(&self, token: Tok, milli: u64) -> U256 {
        let d = self.tokens[&token].decimals;
        U256::from(milli) * U256::from(10u64).pow(U256::from(d.saturating_sub(3)))
    }

    fn addr(&self, a: ActorId) -> Address {
        self.plan.actors[a].signer.address()
    }
}

/// An escrow left open for its payer to reclaim.
struct OpenEscrow {
    payer: Address,
    id: B256,
    expiry: u64,
}

/// What one payment left to do after the day's payments.
struct Outcome {
    payer: ActorId,
    truth: Option<PaymentTruth>,
    refused: Option<String>,
    batch_id: Option<String>,
    captures: u64,
    voided: bool,
    refund: Option<(Address, B256, U256)>,
    reclaim: Option<OpenEscrow>,
}

impl Outcome {
    /// Nothing done yet.
    fn new(payer: ActorId) -> Self {
        Self {
            payer,
            truth: None,
            refused: None,
            batch_id: None,
            captures: 0,
            voided: false,
            refund: None,
            reclaim: None,
        }
    }

    fn refused(payer: ActorId, msg: String) -> Self {
        Self {
            refused: Some(msg),
            ..Self::new(payer)
        }
    }

    /// Refused at `step` of `what` (a facilitator's answer), with the facilitator's reason and
    /// message.
    fn refused_at(
        payer: ActorId,
        what: &str,
        step: &str,
        reason: Option<String>,
        message: Option<String>,
    ) -> Self {
        Self::refused(
            payer,
            format!(
                "{what}: {step}: {} {}",
                reason.unwrap_or_default(),
                message.unwrap_or_default()
            ),
        )
    }
}

/// Runs the whole plan; returns the ground truth and what was done.
pub async fn run(env: &Env, plan: &Plan, progress: &Progress) -> Result<(Truth, Stats), RunError> {
    let mut tokens = HashMap::new();
    for t in Tok::ALL {
        tokens.insert(
            t,
            env.chain
                .deployment
                .token(t.symbol())
                .map_err(ChainError::from)?
                .clone(),
        );
    }
    let mut domains = HashMap::new();
    let eip3009_tokens: std::collections::BTreeSet<Tok> = plan
        .days
        .iter()
        .flat_map(|d| &d.payments)
        .filter(|p| p.path == PayPath::Authorization)
        .map(|p| p.token)
        .collect();
    for t in eip3009_tokens {
        domains.insert(t, env.chain.eip712_domain(tokens[&t].address).await?);
    }
    let ctx = Ctx {
        env,
        plan,
        tokens,
        domains,
        requests: AtomicU64::new(0),
    };
    let mut stats = Stats::default();
    let mut truth = Truth {
        chain_id: env.chain.deployment.chain_id,
        seed: plan.seed.clone(),
        scale: format!("{:?}", plan.scale),
        ..Truth::default()
    };
    let mut batches = std::collections::BTreeSet::new();
    let mut open: Vec<OpenEscrow> = Vec::new();
    let mut last_block = 0u64;

    // Registry labels cannot be given twice: a second run of the same seed on the same
    // deployment would stop half-way, so refuse it up front.
    let treasury = plan
        .actors
        .iter()
        .find(|a| a.kind == Kind::Treasury)
        .expect("the plan has a treasury");
    if !env
        .chain
        .roles_of(treasury.signer.address())
        .await?
        .is_zero()
    {
        return Err(RunError::AlreadyRun(plan.seed.clone()));
    }
    progress.stage("setting up wallets, tokens and registry labels");
    last_block = last_block.max(set_up(&ctx).await?);
    let (_, t0) = env.chain.head().await?;
    progress.start_days(plan.days.len() as u64, plan.payment_count() as u64);
    for (d, day) in plan.days.iter().enumerate() {
        // 08:00 on simulated day d, counted from the start.
        env.chain
            .travel_to(t0 + d as u64 * 86_400 + if d == 0 { 0 } else { 8 * 3600 })
            .await?;
        let (_, now) = env.chain.head().await?;
        last_block = last_block.max(reclaim_due(&ctx, &mut open, now, &mut stats).await?);
        for (payee, wallet) in &day.declarations {
            let b = env
                .chain
                .declare_wallet(
                    ctx.addr(*payee),
                    ctx.addr(*wallet),
                    "our settlement wallet (simulated)",
                )
                .await?;
            last_block = last_block.max(b);
        }
        for stage in &day.funding {
            last_block = last_block.max(transfers(&ctx, stage, &mut stats).await?);
        }
        // Payers pay concurrently, each its own payments in order.
        let mut by_payer: BTreeMap<ActorId, Vec<&Payment>> = BTreeMap::new();
        for p in &day.payments {
            by_payer.entry(p.payer).or_default().push(p);
        }
        let outcomes: Vec<Vec<Outcome>> =
            futures::stream::iter(by_payer.into_values().map(|list| {
                let ctx = &ctx;
                async move {
                    let mut out = Vec::with_capacity(list.len());
                    for p in list {
                        out.push(pay_one(ctx, p, d as u32, now).await?);
                        progress.payment();
                    }
                    Ok::<_, RunError>(out)
                }
            }))
            .buffer_unordered(env.options.concurrency.max(1))
            .try_collect()
            .await?;
        let mut refunds = Vec::new();
        for o in outcomes.into_iter().flatten() {
            if let Some(msg) = o.refused {
                progress.warn(&msg);
                stats.refused.push(msg);
                continue;
            }
            if let Some(b) = o.batch_id.filter(|b| b != "0") {
                batches.insert(b);
            }
            stats.captures += o.captures;
            stats.voids += o.voided as u64;
            if let Some(r) = o.refund {
                refunds.push(r);
            }
            if let Some(e) = o.reclaim {
                open.push(e);
            }
            if let Some(t) = o.truth {
                stats.payments += 1;
                if t.path == PayPath::Authorization.label() {
                    stats.eip3009 += 1;
                }
                *stats.by_path.entry(t.path.clone()).or_default() += 1;
                let a = &plan.actors[o.payer];
                truth.payers.entry(t.payer).or_insert_with(|| PayerTruth {
                    address: t.payer,
                    class: a.payer_class.expect("payers have a class"),
                    actor: a.name.clone(),
                    scenario: a.scenario.to_string(),
                });
                truth.payments.insert(t.payment_id, t);
            }
        }
        // The payees refund after the work is disputed; sequential, as each is one wallet's tx.
        for (payee, id, amount) in refunds {
            last_block = last_block.max(env.chain.refund(payee, id, amount).await?);
            stats.refunds += 1;
        }
        for stage in &day.after {
            last_block = last_block.max(transfers(&ctx, stage, &mut stats).await?);
        }
        let (head, _) = env.chain.head().await?;
        last_block = last_block.max(head);
        progress.day_done(d as u64 + 1, stats.payments, batches.len() as u64);
    }
    // Let the last escrows expire and reclaim them, then pass the indexer's finality depth.
    if let Some(latest) = open.iter().map(|e| e.expiry).max() {
        env.chain.travel_to(latest + 60).await?;
        let (_, now) = env.chain.head().await?;
        last_block = last_block.max(reclaim_due(&ctx, &mut open, now, &mut stats).await?);
    }
    env.chain.mine(TAIL_BLOCKS).await?;
    stats.batches = batches.len() as u64;
    truth.last_block = last_block;
    progress.finish(&format!(
        "{} payments settled, {} batches",
        stats.payments, stats.batches
    ));
    Ok((truth, stats))
}

/// Ether for gas (from anvil, or in real transfers where the plan says whose gas came from
/// whom), mints, Permit2 approvals, the payees' approvals for refunds and registry labels for
/// the project's wallets (and the facilitators, which the project runs).
async fn set_up(ctx: &Ctx<'_>) -> Result<u64, RunError> {
    let chain = &ctx.env.chain;
    let plan = ctx.plan;
    let ether = U256::from(10u64).pow(U256::from(20u64));
    let gas_sent: std::collections::HashSet<ActorId> = plan.native.iter().map(|n| n.to).collect();
    futures::stream::iter(
        plan.actors
            .iter()
            .enumerate()
            .filter(|(i, _)| !gas_sent.contains(i))
            .map(|(_, a)| chain.set_ether(a.signer.address(), ether)),
    )
    .buffer_unordered(16)
    .try_collect::<Vec<_>>()
    .await?;
    let mut last = 0;
    // Sequential: one sender's nonces in order (the farm's gas comes from one wallet).
    for n in &plan.native {
        last = chain
            .send_ether(ctx.addr(n.from), ctx.addr(n.to), U256::from(n.wei))
            .await?;
    }
    for (to, t, milli) in &plan.mints {
        last = chain
            .mint(ctx.tokens[t].address, ctx.addr(*to), ctx.units(*t, *milli))
            .await?;
    }
    let d = &chain.deployment;
    let approvals = plan.actors.iter().map(|a| async move {
        let mut last = 0;
        let who = a.signer.address();
        for t in Tok::ALL {
            let token = ctx.tokens[&t].address;
            if a.payer_class.is_some() {
                last = chain.approve(token, who, d.permit2).await?;
            }
            if a.kind == Kind::Provider {
                last = chain.approve(token, who, d.settlement).await?;
            }
        }
        Ok::<u64, ChainError>(last)
    });
    let blocks: Vec<u64> = futures::stream::iter(approvals)
        .buffer_unordered(16)
        .try_collect()
        .await?;
    last = last.max(blocks.into_iter().max().unwrap_or(0));
    let mut wallets = Vec::new();
    let mut roles = Vec::new();
    for a in &plan.actors {
        if let Some(r) = a.kind.registry_role() {
            wallets.push(a.signer.address());
            roles.push(r);
        }
    }
    for f in [&ctx.env.direct, &ctx.env.batch] {
        if !wallets.contains(&f.address) {
            wallets.push(f.address);
            roles.push(4);
        }
    }
    last = last.max(
        chain
            .label_many(wallets, roles, "project wallet (simulated economy)")
            .await?,
    );
    Ok(last)
}

/// Sends transfers: concurrently across senders, in order per sender.
async fn transfers(ctx: &Ctx<'_>, list: &[Transfer], stats: &mut Stats) -> Result<u64, RunError> {
    let mut by_sender: BTreeMap<ActorId, Vec<&Transfer>> = BTreeMap::new();
    for t in list {
        by_sender.entry(t.from).or_default().push(t);
    }
    let blocks: Vec<u64> = futures::stream::iter(by_sender.into_values().map(|ts| async move {
        let mut last = 0;
        for t in ts {
            let token = ctx.tokens[&t.token].address;
            last = ctx
                .env
                .chain
                .transfer(
                    token,
                    ctx.addr(t.from),
                    ctx.addr(t.to),
                    ctx.units(t.token, t.milli),
                )
                .await?;
        }
        Ok::<u64, ChainError>(last)
    }))
    .buffer_unordered(16)
    .try_collect()
    .await?;
    stats.transfers += list.len() as u64;
    Ok(blocks.into_iter().max().unwrap_or(0))
}

/// Payers reclaim their escrows whose authorization expired.
async fn reclaim_due(
    ctx: &Ctx<'_>,
    open: &mut Vec<OpenEscrow>,
    now: u64,
    stats: &mut Stats,
) -> Result<u64, RunError> {
    let mut last = 0;
    let (due, rest): (Vec<_>, Vec<_>) = open.drain(..).partition(|e| e.expiry < now);
    *open = rest;
    for e in due {
        last = ctx.env.chain.reclaim(e.payer, e.id).await?;
        stats.reclaims += 1;
    }
    Ok(last)
}

/// One payment, the x402 way: the provider states its requirements, the payer's client signs
/// them within its budget, the provider has the facilitator verify, does the work, and settles
/// with the evidence hash (or, for escrow, authorizes and captures per piece of work).
async fn pay_one(ctx: &Ctx<'_>, p: &Payment, day: u32, now: u64) -> Result<Outcome, RunError> {
    let plan = ctx.plan;
    let payer = &plan.actors[p.payer];
    let payee = &plan.actors[p.payee];
    let (mode, via) = match &p.path {
        PayPath::Exact(v) => (PaymentMode::Exact, *v),
        PayPath::Authorization => return pay_authorization(ctx, p, day, now).await,
        PayPath::Upto { via, .. } => (PaymentMode::Upto, *via),
        PayPath::Escrow { .. } => (PaymentMode::Escrow, Via::Direct),
    };
    let fac = if via == Via::Batch {
        &ctx.env.batch
    } else {
        &ctx.env.direct
    };
    let token = &ctx.tokens[&p.token];
    let n = ctx.requests.fetch_add(1, Ordering::Relaxed);
    let request = format!("{}/{}/{}/request-{n}", plan.seed, payer.name, payee.name);
    let request_hash = keccak256(request.as_bytes());
    let d = &ctx.env.chain.deployment;
    let req = PaymentRequirements {
        scheme: scheme_of_mode(mode).to_string(),
        network: caip2(d.chain_id),
        amount: ctx.units(p.token, p.milli),
        asset: token.address,
        pay_to: payee.signer.address(),
        max_timeout_seconds: VALID_FOR_SECS,
        resource: Some(format!("https://{}.example/v1/infer", payee.name)),
        description: Some("inference".into()),
        mime_type: Some("application/json".into()),
        extra: SettlementExtra {
            settlement: d.settlement,
            permit2: d.permit2,
            facilitator: fac.address,
            request_hash,
            max_facilitator_fee_bps: ctx.env.options.max_fee_bps,
            authorization_seconds: Some(AUTHORIZATION_SECS),
            refund_seconds: Some(REFUND_SECS),
            name: Some(token.symbol.clone()),
        },
    };
    let required = PaymentRequired {
        x402_version: 2,
        error: None,
        resource: None,
        accepts: vec![req],
        extensions: None,
    };
    // The agent's own spending cap: generous, it is the provider's price that varies.
    let mut budget = Budget::new(U256::MAX, U256::MAX);
    // The chain's clock, not the machine's: the simulation runs weeks ahead of the wall clock.
    let payment = pay(
        &payer.signer,
        &required,
        &mut budget,
        &PayOptions {
            now: Some(now),
            ..Default::default()
        },
    )
    .await?;
    let req = &payment.requirements;
    let what = format!(
        "{} -> {} ({}, day {day})",
        payer.name,
        payee.name,
        p.path.label()
    );
    let v = fac.verify(&payment.payload, req).await?;
    if !v.is_valid {
        return Ok(Outcome::refused_at(
            p.payer,
            &what,
            "verify refused",
            v.invalid_reason,
            v.invalid_message,
        ));
    }
    // The provider runs the inference and commits to what it answered.
    let evidence = |part: usize| {
        let response = keccak256(format!("{request}/response/{part}").as_bytes());
        evidence_hash(
            request_hash,
            response,
            &format!("{}-model-v1", payee.name),
            &[],
        )
    };
    let mut outcome = Outcome::new(p.payer);
    let settled = match &p.path {
        PayPath::Authorization => unreachable!("paid by pay_authorization"),
        PayPath::Exact(_) | PayPath::Upto { .. } => {
            let amount = match &p.path {
                PayPath::Upto { used, .. } => Some(ctx.units(p.token, *used)),
                _ => None,
            };
            let s = fac
                .settle(&payment.payload, req, Some(evidence(0)), amount)
                .await?;
            if !s.success {
                return Ok(Outcome::refused_at(
                    p.payer,
                    &what,
                    "settle failed",
                    s.error_reason,
                    s.error_message,
                ));
            }
            outcome.batch_id = s.batch_id.clone();
            amount.unwrap_or(req.amount)
        }
        PayPath::Escrow {
            captures,
            refund,
            end,
        } => {
            let s = fac.authorize(&payment.payload, req).await?;
            if !s.success {
                return Ok(Outcome::refused_at(
                    p.payer,
                    &what,
                    "authorize failed",
                    s.error_reason,
                    s.error_message,
                ));
            }
            let mut total = U256::ZERO;
            for (i, c) in captures.iter().enumerate() {
                let amount = ctx.units(p.token, *c);
                let a = fac.capture(payment.payment_id, amount, evidence(i)).await?;
                if !a.success {
                    return Ok(Outcome::refused_at(
                        p.payer,
                        &what,
                        "capture failed",
                        a.error_reason,
                        a.error_message,
                    ));
                }
                total += amount;
                outcome.captures += 1;
            }
            if *refund > 0 {
                outcome.refund = Some((
                    payee.signer.address(),
                    payment.payment_id,
                    ctx.units(p.token, *refund),
                ));
            }
            match end {
                EscrowEnd::Void => {
                    let a = fac.void(payment.payment_id).await?;
                    if !a.success {
                        return Ok(Outcome::refused_at(
                            p.payer,
                            &what,
                            "void failed",
                            a.error_reason,
                            a.error_message,
                        ));
                    }
                    outcome.voided = true;
                }
                EscrowEnd::Reclaim => {
                    let w = &payment.payload.payload.permit2_authorization.witness;
                    outcome.reclaim = Some(OpenEscrow {
                        payer: payer.signer.address(),
                        id: payment.payment_id,
                        expiry: w.authorization_expiry,
                    });
                }
            }
            total
        }
    };
    outcome.truth = Some(PaymentTruth {
        payment_id: payment.payment_id,
        payer: payer.signer.address(),
        payee: payee.signer.address(),
        class: p.class,
        path: p.path.label(),
        token: token.symbol.clone(),
        amount: settled.to_string(),
        day,
    });
    Ok(outcome)
}

/// One payment as a standard x402 client (the SDK) makes it in USDC: the provider states `exact`
/// requirements naming the token's EIP-712 domain, the payer signs an EIP-3009 authorization,
/// the provider has the direct facilitator verify it and settles it with the evidence of its
/// answer in the `evidence` extension; the settlement contract executes it in
/// `chargeWithAuthorization`.
async fn pay_authorization(
    ctx: &Ctx<'_>,
    p: &Payment,
    day: u32,
    now: u64,
) -> Result<Outcome, RunError> {
    let plan = ctx.plan;
    let payer = &plan.actors[p.payer];
    let payee = &plan.actors[p.payee];
    let fac = &ctx.env.direct;
    let token = &ctx.tokens[&p.token];
    let (name, version) = &ctx.domains[&p.token];
    let n = ctx.requests.fetch_add(1, Ordering::Relaxed);
    let request = format!("{}/{}/{}/request-{n}", plan.seed, payer.name, payee.name);
    let request_hash = keccak256(request.as_bytes());
    let d = &ctx.env.chain.deployment;
    let req = x402_protocol::StdRequirements::exact(
        caip2(d.chain_id),
        token.address,
        (name.as_str(), version.as_str()),
        payee.signer.address(),
        ctx.units(p.token, p.milli),
        VALID_FOR_SECS,
    );
    // The SDK draws a random nonce; the simulation derives it from the request, reproducibly.
    let nonce = keccak256(format!("{request}/eip3009-nonce").as_bytes());
    let resource = ResourceInfo {
        url: format!("https://{}.example/v1/infer", payee.name),
        description: Some("inference".into()),
        mime_type: Some("application/json".into()),
    };
    // The chain's clock, not the machine's: the simulation runs weeks ahead of the wall clock.
    // Valid from two simulated days back (not the SDK's ten minutes): the facilitator judges
    // `validAfter` by the latest block it has seen, which can lag the day's jump of the clock.
    let window = (
        now.saturating_sub(2 * 86_400),
        now.saturating_add(VALID_FOR_SECS),
    );
    let payload = eip3009::sign_window(&payer.signer, &req, Some(resource), window, nonce)?;
    let what = format!(
        "{} -> {} ({}, day {day})",
        payer.name,
        payee.name,
        p.path.label()
    );
    let v = fac.verify(&payload, &req).await?;
    if !v.is_valid {
        return Ok(Outcome::refused_at(
            p.payer,
            &what,
            "verify refused",
            v.invalid_reason,
            v.invalid_message,
        ));
    }
    let response = keccak256(format!("{request}/response/0").as_bytes());
    let evidence = evidence_hash(
        request_hash,
        response,
        &format!("{}-model-v1", payee.name),
        &[],
    );
    let s = fac
        .settle(&payload.with_evidence(evidence), &req, None, None)
        .await?;
    if !s.success {
        return Ok(Outcome::refused_at(
            p.payer,
            &what,
            "settle failed",
            s.error_reason,
            s.error_message,
        ));
    }
    let payment_id = x402_protocol::eip3009::payment_id(
        d.chain_id,
        d.settlement,
        token.address,
        payer.signer.address(),
        nonce,
    );
    if s.payment_id != Some(payment_id) {
        return Ok(Outcome::refused(
            p.payer,
            format!(
                "{what}: settled as payment {:?}, not the contract's id {payment_id}",
                s.payment_id
            ),
        ));
    }
    let mut outcome = Outcome::new(p.payer);
    outcome.truth = Some(PaymentTruth {
        payment_id,
        payer: payer.signer.address(),
        payee: payee.signer.address(),
        class: p.class,
        path: p.path.label(),
        token: token.symbol.clone(),
        amount: req.amount.to_string(),
        day,
    });
    Ok(outcome)
}
