//! The adversarial economy: payees inflating their numbers the ways the product spec's first
//! rules miss (issue 13, "Patterns that must be caught"), and honest patterns that look like
//! them and must not be punished ("False positives that must not happen"). Built from the
//! adversary's side, as someone who knows the rules would build it, and independently of the
//! classifier: each payer's class is what it *is*, not what a rule would say.
//!
//! | scenario | wallets (small) | built as | truth |
//! |---|---|---|---|
//! | `deep-funding` | 4 payers, 11 relays + a vault | payee (or a wallet it declared) -> m1 -> m2 (-> m3 -> m4) -> payer, which pays that payee | `self_dealing` |
//! | `slow-wash` | 3 | exchange-funded, pay over EIP-3009; the payee returns 90% of each day's payments 8 days later | `self_dealing` |
//! | `long-wash` | 3 payers, 9 relays | the payee returns each payment the same day over 4 hops of the same amount | `self_dealing` |
//! | `mixed-provenance` | 3 payers, 2 relays | 60% from the treasury over 2 relays, 40% from an exchange, in varied order | `project_funded` |
//! | `sub-dust-drips` | 2 | 30 transfers of 0.99 token each from the treasury, nothing else | `project_funded` |
//! | `stray-dust` | 2 | exchange-funded, after one dust transfer from the treasury / from a payee it pays | `external` |
//! | `random-farm` | funder + 12 | one funder, random amounts, starts spread over days, one payee few others pay | `suspected_sybil` |
//! | `spread-farm` | funder + 25 | one funder, random amounts and starts, spread over 3 payees | `suspected_sybil` |
//! | `gas-farm` | gas wallet + 10 | tokens from exchanges, ether for gas from one wallet (real transfers) | `suspected_sybil` |
//! | `cashback` | 7 (11 medium) | exchange-funded customers of a payee that pays 10% cashback weekly | `external` |
//! | `launch` | 10 (18 medium) | unrelated wallets (tokens and gas from exchanges) paying a new payee on its launch day, different amounts | `external` |
//! | `organic` | 10 (34 medium) | the adversary's payees' real customers, exchange-funded, own schedules | `external` |
//!
//! Everything is in USDC. Payers that pay plain `exact` use EIP-3009 (the x402 SDK's payload)
//! for about 40% of it, so both payment paths carry every scenario but the farms' fixed paths.
//! Fits any length the CLI allows (two weeks or more).

use std::ops::Range;

use crate::plan::{
    tokens, ActorId, Builder, Kind, NativeTransfer, PayPath, Rng, Tok, Transfer, Via,
};
use crate::truth::Class;

/// The adversarial scenarios' names, in the order they are built.
pub const SCENARIOS: [&str; 12] = [
    "deep-funding",
    "slow-wash",
    "long-wash",
    "mixed-provenance",
    "sub-dust-drips",
    "stray-dust",
    "random-farm",
    "spread-farm",
    "gas-farm",
    "cashback",
    "launch",
    "organic",
];

/// Wallets of the randomising farm paying one payee (issue 13).
const RANDOM_FARM: usize = 12;
/// Wallets of the farm spread over three payees (issue 13).
const SPREAD_FARM: usize = 25;
/// Wallets of the farm whose gas comes from one wallet.
const GAS_FARM: usize = 10;
/// A sub-dust drip: 0.99 token.
const DRIP: u64 = 990;
/// Drips per drip-funded payer (issue 13).
const DRIPS: usize = 30;
/// Days the slow wash waits before returning.
const SLOW_RETURN_DAYS: u32 = 8;
/// Share of a day's payments the slow wash returns, in percent.
const SLOW_RETURN_PCT: u64 = 90;
/// Relays between the long wash's payee and its payer (4 transfers in all).
const LONG_WASH_RELAYS: usize = 3;
/// Cashback in percent of a customer's weekly spending.
const CASHBACK_PCT: u64 = 10;

/// The adversary's payees.
struct Payees {
    deep: ActorId,
    slow_wash: ActorId,
    long_wash: ActorId,
    farmed: ActorId,
    /// Ordinary payees with real customers, which the spread farm and the gas farm also pay.
    plain: [ActorId; 3],
    cashback: ActorId,
    launch: ActorId,
}

/// Adds every adversarial and guard scenario to `b`, with `exchanges` and `treasury` of the
/// economy it runs in. Draws from its own random stream, so the rest of the plan is the same
/// with or without it.
pub(crate) fn scenarios(b: &mut Builder, exchanges: &[ActorId], treasury: ActorId) {
    let saved = std::mem::replace(&mut b.rng, Rng::new(&format!("{}/adversary", b.seed)));
    b.scenario = "adversary-payees";
    let payee = |b: &mut Builder, name: &str, float: u64, i: usize| {
        let pv = b.actor(format!("provider-{name}"), Kind::Provider, None);
        // A float withdrawn from an exchange, like every provider's.
        b.fund(0, 0, exchanges[i % 2], pv, Tok::Usdc, tokens(float));
        pv
    };
    let p = Payees {
        deep: payee(b, "deep-pockets", 300, 0),
        slow_wash: payee(b, "slow-rinse", 60, 1),
        long_wash: payee(b, "long-spin", 300, 0),
        farmed: payee(b, "niche-agent", 30, 1),
        plain: [
            payee(b, "translate", 30, 0),
            payee(b, "search", 30, 1),
            payee(b, "vision", 30, 0),
        ],
        cashback: payee(b, "cashback-chat", 30, 1),
        launch: payee(b, "fresh-launch", 30, 0),
    };
    deep_funding(b, &p, exchanges);
    slow_wash(b, &p, exchanges);
    long_wash(b, &p, exchanges);
    mixed_provenance(b, &p, exchanges, treasury);
    sub_dust_drips(b, &p, treasury);
    let organic = organic(b, &p, exchanges);
    stray_dust(b, &p, exchanges, treasury);
    random_farm(b, &p, exchanges);
    spread_farm(b, &p, exchanges);
    gas_farm(b, &p, exchanges);
    cashback(b, &p, exchanges);
    launch(b, &p, exchanges, &organic);
    b.scenario = "standard";
    b.rng = saved;
}

/// How a payer spends: on which days, how often, how much, to whom.
struct Spending<'a> {
    payees: &'a [ActorId],
    days: Range<u32>,
    /// Chance of each of `per_day` payments on a day.
    chance: f64,
    per_day: u64,
    /// Amount range, milli-tokens.
    amount: (u64, u64),
    /// `Some((style, batch))`: varied x402 paths (see `Builder::path`); `None`: `exact`, over
    /// EIP-3009 (the x402 SDK), our direct facilitator or our batching one.
    style: Option<(u8, bool)>,
}

/// Plans `payer`'s payments by `s`, never spending more than has arrived (`arrivals`: the day
/// from which an amount can be spent, milli-tokens). The payer starts on the first day of
/// `s.days` (its first payment is sure), then pays at its rate. Returns the milli-tokens spent.
fn spend(b: &mut Builder, payer: ActorId, arrivals: &[(u32, u64)], s: &Spending) -> u64 {
    let mut balance: u64 = arrivals
        .iter()
        .filter(|(day, _)| *day < s.days.start)
        .map(|(_, m)| m)
        .sum();
    let mut spent = 0;
    for d in s.days.clone() {
        balance += arrivals
            .iter()
            .filter(|(day, _)| *day == d)
            .map(|(_, m)| m)
            .sum::<u64>();
        for i in 0..s.per_day {
            let sure = d == s.days.start && i == 0;
            if !sure && !b.rng.chance(s.chance) {
                continue;
            }
            let amount = b.rng.range(s.amount.0, s.amount.1);
            // Escrows pull the signed maximum: it must be there in full.
            if amount > balance {
                continue;
            }
            let pv = s.payees[b.rng.range(0, s.payees.len() as u64 - 1) as usize];
            let path = match s.style {
                Some((style, batch)) => b.path(style, amount, batch),
                None => {
                    let roll = b.rng.unit();
                    if roll < 0.4 {
                        PayPath::Authorization
                    } else if roll < 0.7 {
                        PayPath::Exact(Via::Batch)
                    } else {
                        PayPath::Exact(Via::Direct)
                    }
                }
            };
            b.pay(d, payer, pv, Tok::Usdc, amount, path);
            balance -= amount;
            spent += amount;
        }
    }
    spent
}

fn last_day(b: &Builder) -> u32 {
    b.scale.days() - 1
}

/// Funds from the payee reach the payer over 3, 4 and 5 hops (each relay keeps a little), and
/// from a wallet the payee declared over 3.
fn deep_funding(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "deep-funding";
    // A wallet the payee declared in the registry (a "vault" filled from an exchange): its
    // tokens are the payee's own, though they never passed through the payee's address.
    let vault = b.actor("deep-pockets-vault".into(), Kind::Adversary, None);
    b.fund(0, 0, exchanges[1], vault, Tok::Usdc, tokens(100));
    b.days[0].declarations.push((p.deep, vault));
    for (k, depth, origin) in [
        (0, 3u32, p.deep),
        (1, 4, p.deep),
        (2, 5, p.deep),
        (3, 3, vault),
    ] {
        let payer = b.actor(
            format!("deep-funded-{k}"),
            Kind::Adversary,
            Some(Class::SelfDealing),
        );
        let start = 1 + k as u32;
        let mut amount = tokens(b.rng.range(40, 70));
        let mut from = origin;
        for hop in 0..depth {
            let to = if hop + 1 == depth {
                payer
            } else {
                b.actor(format!("deep-relay-{k}-{hop}"), Kind::Adversary, None)
            };
            b.fund(start + hop, 0, from, to, Tok::Usdc, amount);
            from = to;
            if hop + 1 < depth {
                amount = amount * 97 / 100;
            }
        }
        let arrived = start + depth - 1;
        spend(
            b,
            payer,
            &[(arrived, amount)],
            &Spending {
                payees: &[p.deep],
                days: arrived..last_day(b) + 1,
                chance: 0.6,
                per_day: 1,
                amount: (500, 3_000),
                style: None,
            },
        );
    }
}

/// Exchange-funded wallets pay the payee every day over EIP-3009; 8 days later it returns 90% of
/// each day's payments to them, and they pay on with it.
fn slow_wash(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "slow-wash";
    let last_paying = last_day(b) - SLOW_RETURN_DAYS;
    for k in 0..3u32 {
        let payer = b.actor(
            format!("slow-wash-{k}"),
            Kind::Adversary,
            Some(Class::SelfDealing),
        );
        let funded = tokens(b.rng.range(45, 70));
        b.fund(k, 0, exchanges[k as usize % 2], payer, Tok::Usdc, funded);
        let mut balance = funded;
        let mut returns: Vec<(u32, u64)> = Vec::new();
        for d in k + 1..=last_paying {
            balance += returns
                .iter()
                .filter(|(day, _)| *day == d)
                .map(|(_, m)| m)
                .sum::<u64>();
            // One payment a day, while the balance (returns included) covers it.
            let amount = b.rng.range(2_500, 6_000);
            if amount > balance {
                continue;
            }
            // Over EIP-3009, as the x402 SDK pays: the wash looks like any SDK customer.
            b.pay(
                d,
                payer,
                p.slow_wash,
                Tok::Usdc,
                amount,
                PayPath::Authorization,
            );
            balance -= amount;
            let paid = amount;
            let back = paid * SLOW_RETURN_PCT / 100;
            if back >= tokens(1) {
                let on = d + SLOW_RETURN_DAYS;
                b.after(
                    on,
                    0,
                    Transfer {
                        from: p.slow_wash,
                        to: payer,
                        token: Tok::Usdc,
                        milli: back,
                    },
                );
                returns.push((on + 1, back));
            }
        }
    }
}

/// Each payment goes back to its payer the same day over four transfers of the same amount
/// (payee -> r1 -> r2 -> r3 -> payer).
fn long_wash(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "long-wash";
    for k in 0..3u32 {
        let payer = b.actor(
            format!("long-wash-{k}"),
            Kind::Adversary,
            Some(Class::SelfDealing),
        );
        let relays: Vec<ActorId> = (0..LONG_WASH_RELAYS)
            .map(|j| b.actor(format!("long-wash-relay-{k}-{j}"), Kind::Adversary, None))
            .collect();
        let funded = tokens(b.rng.range(20, 40));
        b.fund(k, 0, exchanges[k as usize % 2], payer, Tok::Usdc, funded);
        for d in k + 1..=last_day(b) {
            if !b.rng.chance(0.7) {
                continue;
            }
            let amount = b.rng.range(3_000, 12_000).min(funded);
            b.pay(
                d,
                payer,
                p.long_wash,
                Tok::Usdc,
                amount,
                PayPath::Exact(Via::Batch),
            );
            let mut from = p.long_wash;
            for (stage, to) in relays.iter().copied().chain([payer]).enumerate() {
                b.after(
                    d,
                    stage,
                    Transfer {
                        from,
                        to,
                        token: Tok::Usdc,
                        milli: amount,
                    },
                );
                from = to;
            }
        }
    }
}

/// 60% of each payer's tokens come from the treasury over two relays, 40% from an exchange:
/// exchange first, treasury first, and both on one day.
fn mixed_provenance(b: &mut Builder, p: &Payees, exchanges: &[ActorId], treasury: ActorId) {
    b.scenario = "mixed-provenance";
    let payers: Vec<ActorId> = (0..3)
        .map(|k| {
            b.actor(
                format!("mixed-{k}"),
                Kind::Adversary,
                Some(Class::ProjectFunded),
            )
        })
        .collect();
    let relays: Vec<ActorId> = (0..2)
        .map(|j| b.actor(format!("mixed-relay-{j}"), Kind::Adversary, None))
        .collect();
    let totals: Vec<u64> = payers.iter().map(|_| tokens(b.rng.range(40, 60))).collect();
    let from_treasury: Vec<u64> = totals.iter().map(|t| t * 3 / 5).collect();
    let sum: u64 = from_treasury.iter().sum();
    b.fund(2, 0, treasury, relays[0], Tok::Usdc, sum);
    b.fund(3, 0, relays[0], relays[1], Tok::Usdc, sum);
    // Exchange part on day 1 (before), day 8 (after) or day 4 (with) the treasury's on day 4.
    let exchange_day = [1u32, 8, 4];
    for (k, &payer) in payers.iter().enumerate() {
        b.fund(4, 0, relays[1], payer, Tok::Usdc, from_treasury[k]);
        let exchange_part = totals[k] - from_treasury[k];
        b.fund(
            exchange_day[k],
            1,
            exchanges[k % 2],
            payer,
            Tok::Usdc,
            exchange_part,
        );
        let first = exchange_day[k].min(4);
        spend(
            b,
            payer,
            &[(4, from_treasury[k]), (exchange_day[k], exchange_part)],
            &Spending {
                payees: &p.plain,
                days: first..last_day(b) + 1,
                chance: 0.8,
                per_day: 1,
                amount: (2_000, 5_000),
                style: None,
            },
        );
    }
}

/// Two wallets living on 30 drips of 0.99 token each from the treasury (six a day).
fn sub_dust_drips(b: &mut Builder, p: &Payees, treasury: ActorId) {
    b.scenario = "sub-dust-drips";
    for k in 0..2 {
        let payer = b.actor(
            format!("drip-fed-{k}"),
            Kind::Adversary,
            Some(Class::ProjectFunded),
        );
        let mut arrivals = Vec::new();
        for i in 0..DRIPS {
            let day = 1 + (i / 6) as u32;
            b.transfer(day, 0, treasury, payer, Tok::Usdc, DRIP);
            arrivals.push((day, DRIP));
        }
        spend(
            b,
            payer,
            &arrivals,
            &Spending {
                payees: &p.plain,
                days: 2..last_day(b) + 1,
                chance: 0.8,
                per_day: 1,
                amount: (500, 2_500),
                style: None,
            },
        );
    }
}

/// How an exchange-funded agent behaves: daily chance of a payment and its usual amount
/// (milli-tokens), each drawn from a range.
struct Habit {
    rate: (f64, f64),
    base: (u64, u64),
}

/// Most agents: from a payment every fifth day to every other day, 0.5 to 12 tokens.
const USUAL: Habit = Habit {
    rate: (0.2, 0.6),
    base: (500, 12_000),
};

/// An exchange-funded agent with weekly top-ups covering its spending, paying `payees` from
/// `start` on its own schedule and paths.
fn exchange_agent(
    b: &mut Builder,
    agent: ActorId,
    exchange: ActorId,
    payees: &[ActorId],
    start: u32,
    habit: &Habit,
) {
    let days = b.scale.days();
    let rate = habit.rate.0 + (habit.rate.1 - habit.rate.0) * b.rng.unit();
    let base = b.rng.range(habit.base.0, habit.base.1);
    let style = b.rng.range(0, 2) as u8;
    let batch = b.rng.chance(0.4);
    // Weekly top-ups, each a week's expected outlay with a margin, from the start.
    let mut arrivals: Vec<(u32, u64)> = Vec::new();
    let mut d = start;
    while d < days {
        let amount = ((base as f64) * 1.4 * (7.0 * rate + 1.0)).round() as u64 + tokens(2);
        b.fund(d, 0, exchange, agent, Tok::Usdc, amount);
        arrivals.push((d, amount));
        d += 7;
    }
    spend(
        b,
        agent,
        &arrivals,
        &Spending {
            payees,
            days: start..days,
            chance: rate,
            per_day: 1,
            amount: (base * 7 / 10, base * 13 / 10),
            style: Some((style, batch)),
        },
    );
}

/// The adversary's payees' real customers; two also try the farmed payee a few times (small
/// amounts, from an extra withdrawal that morning), so the farm is most of its payer base but
/// not all of it.
fn organic(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) -> Vec<ActorId> {
    b.scenario = "organic";
    let days = b.scale.days();
    let n = b.scale.externals / 2 + 4;
    let honest_payees = [
        p.deep,
        p.slow_wash,
        p.long_wash,
        p.plain[0],
        p.plain[1],
        p.plain[2],
    ];
    (0..n)
        .map(|i| {
            let agent = b.actor(
                format!("organic-agent-{i}"),
                Kind::ExternalAgent,
                Some(Class::External),
            );
            let mut mine: Vec<ActorId> = Vec::new();
            for _ in 0..b.rng.range(1, 3) {
                let pv = honest_payees[b.rng.range(0, honest_payees.len() as u64 - 1) as usize];
                if !mine.contains(&pv) {
                    mine.push(pv);
                }
            }
            let start = b.rng.range(0, (days as u64 * 4 / 10).max(1)) as u32;
            exchange_agent(b, agent, exchanges[i % 2], &mine, start, &USUAL);
            if i < 2 {
                for _ in 0..3 {
                    let d = b.rng.range(start as u64, days as u64 - 1) as u32;
                    let amount = b.rng.range(500, 2_000);
                    b.fund(d, 0, exchanges[i % 2], agent, Tok::Usdc, tokens(3));
                    b.pay(
                        d,
                        agent,
                        p.farmed,
                        Tok::Usdc,
                        amount,
                        PayPath::Exact(Via::Direct),
                    );
                }
            }
            agent
        })
        .collect()
}

/// One dust transfer to an innocent wallet before its first exchange withdrawal: from the
/// treasury to one, from a self-dealing payee (that it then pays) to the other.
fn stray_dust(b: &mut Builder, p: &Payees, exchanges: &[ActorId], treasury: ActorId) {
    b.scenario = "stray-dust";
    for (k, from, dust) in [(0usize, treasury, 990u64), (1, p.deep, 500)] {
        let innocent = b.actor(
            format!("dusted-agent-{k}"),
            Kind::ExternalAgent,
            Some(Class::External),
        );
        b.transfer(2, 0, from, innocent, Tok::Usdc, dust);
        let payees = [p.deep, p.plain[k]];
        exchange_agent(b, innocent, exchanges[k], &payees, 3, &USUAL);
    }
}

/// Farm wallets funded by `funder` with random amounts on random days, each paying its own
/// payees at its own random rate and amounts; returns the funder's total outlay.
fn farm_wallets(
    b: &mut Builder,
    name: &str,
    n: usize,
    funder: ActorId,
    payees_of: impl Fn(usize) -> Vec<ActorId>,
) -> u64 {
    let days = b.scale.days();
    let mut total = 0;
    for i in 0..n {
        let w = b.actor(
            format!("{name}-{i}"),
            Kind::Adversary,
            Some(Class::SuspectedSybil),
        );
        let day = b.rng.range(1, (days as u64 * 2 / 3).max(2)) as u32;
        let amount = b.rng.range(tokens(12), tokens(45));
        b.fund(day, 1, funder, w, Tok::Usdc, amount);
        total += amount;
        let start = day + b.rng.range(0, 2) as u32;
        let lo = b.rng.range(500, 2_000);
        let hi = lo + b.rng.range(500, 3_000);
        let chance = 0.12 + 0.3 * b.rng.unit();
        spend(
            b,
            w,
            &[(day, amount)],
            &Spending {
                payees: &payees_of(i),
                days: start.min(days)..days,
                chance,
                per_day: 1,
                amount: (lo, hi),
                style: None,
            },
        );
    }
    total
}

/// One funder, 12 wallets, random amounts and start days, all paying one payee.
fn random_farm(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "random-farm";
    let funder = b.actor("random-farm-funder".into(), Kind::Adversary, None);
    let farmed = p.farmed;
    let total = farm_wallets(b, "random-farm", RANDOM_FARM, funder, |_| vec![farmed]);
    b.fund(0, 0, exchanges[0], funder, Tok::Usdc, total + tokens(1));
}

/// One funder, 25 wallets over three payees (9, 8, 8), random amounts and start days.
fn spread_farm(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "spread-farm";
    let funder = b.actor("spread-farm-funder".into(), Kind::Adversary, None);
    let plain = p.plain;
    let total = farm_wallets(b, "spread-farm", SPREAD_FARM, funder, |i| {
        vec![plain[i % 3]]
    });
    b.fund(0, 0, exchanges[1], funder, Tok::Usdc, total + tokens(1));
}

/// Ten wallets with tokens from exchanges (random amounts and days) whose ether for gas came
/// from one wallet in real transfers.
fn gas_farm(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "gas-farm";
    let days = b.scale.days();
    let gas = b.actor("gas-farm-funder".into(), Kind::Adversary, None);
    for i in 0..GAS_FARM {
        let w = b.actor(
            format!("gas-farm-{i}"),
            Kind::Adversary,
            Some(Class::SuspectedSybil),
        );
        // 0.01 to 0.05 ether: enough for the wallet's approvals.
        let wei = b.rng.range(10, 50) as u128 * 1_000_000_000_000_000;
        b.native.push(NativeTransfer {
            from: gas,
            to: w,
            wei,
        });
        let day = b.rng.range(1, (days as u64 * 2 / 3).max(2)) as u32;
        let amount = b.rng.range(tokens(12), tokens(45));
        b.fund(day, 0, exchanges[i % 2], w, Tok::Usdc, amount);
        let lo = b.rng.range(500, 2_000);
        let hi = lo + b.rng.range(500, 3_000);
        let chance = 0.12 + 0.3 * b.rng.unit();
        let payees = [p.plain[1 + i % 2]];
        spend(
            b,
            w,
            &[(day, amount)],
            &Spending {
                payees: &payees,
                days: day..days,
                chance,
                per_day: 1,
                amount: (lo, hi),
                style: None,
            },
        );
    }
}

/// Exchange-funded customers of a payee that sends each of them 10% of their week's spending
/// at the end of the week (one transfer per customer and week, at least a whole token).
fn cashback(b: &mut Builder, p: &Payees, exchanges: &[ActorId]) {
    b.scenario = "cashback";
    let n = 6 + b.scale.externals / 12;
    // Regular customers (8 to 45 tokens a week), so most weeks' cashback is a funding edge
    // (a whole token or more), not dust.
    let habit = Habit {
        rate: (0.4, 0.7),
        base: (3_000, 9_000),
    };
    for i in 0..n {
        let c = b.actor(
            format!("cashback-customer-{i}"),
            Kind::ExternalAgent,
            Some(Class::External),
        );
        let start = b.rng.range(0, 6) as u32;
        exchange_agent(b, c, exchanges[i % 2], &[p.cashback], start, &habit);
    }
    // The cashback: 10% of what each customer's payments settled in the week (exact and upto;
    // escrow captures minus refunds), sent on the week's last day after the payments.
    for w in 0..b.scale.weeks {
        let mut per: std::collections::BTreeMap<ActorId, u64> = Default::default();
        for d in w * 7..w * 7 + 7 {
            for x in &b.days[d as usize].payments {
                if x.payee == p.cashback {
                    let refund = match &x.path {
                        PayPath::Escrow { refund, .. } => *refund,
                        _ => 0,
                    };
                    *per.entry(x.payer).or_default() += x.settled_milli() - refund;
                }
            }
        }
        for (customer, spent) in per {
            let back = spent * CASHBACK_PCT / 100;
            if back >= tokens(1) {
                b.after(
                    w * 7 + 6,
                    0,
                    Transfer {
                        from: p.cashback,
                        to: customer,
                        token: Tok::Usdc,
                        milli: back,
                    },
                );
            }
        }
    }
}

/// A new payee's launch day: unrelated wallets, withdrawn from exchanges on different days in
/// different amounts (their gas too), pay it on that day, and four existing organic agents try
/// it too.
fn launch(b: &mut Builder, p: &Payees, exchanges: &[ActorId], organic: &[ActorId]) {
    b.scenario = "launch";
    let days = b.scale.days();
    let launch_day = days / 2;
    let n = 8 + b.scale.externals / 6;
    for i in 0..n {
        let u = b.actor(
            format!("launch-user-{i}"),
            Kind::ExternalAgent,
            Some(Class::External),
        );
        let funded_on = b.rng.range(0, launch_day as u64 - 1) as u32;
        let amount = b.rng.range(tokens(10), tokens(60));
        let exchange = exchanges[b.rng.range(0, 1) as usize];
        b.fund(funded_on, 0, exchange, u, Tok::Usdc, amount);
        // Their ether for gas is withdrawn from an exchange too (real transfers): a common
        // source of gas that is an exchange links nobody.
        let wei = b.rng.range(5, 40) as u128 * 1_000_000_000_000_000;
        b.native.push(NativeTransfer {
            from: exchange,
            to: u,
            wei,
        });
        let first = b.rng.range(500, 8_000);
        b.pay(
            launch_day,
            u,
            p.launch,
            Tok::Usdc,
            first,
            PayPath::Exact(if i % 2 == 0 { Via::Batch } else { Via::Direct }),
        );
        // Half keep using it afterwards, the others leave.
        if i % 2 == 0 {
            let lo = b.rng.range(300, 2_000);
            spend(
                b,
                u,
                &[(launch_day + 1, amount - first)],
                &Spending {
                    payees: &[p.launch],
                    days: launch_day + 1..days,
                    chance: 0.3,
                    per_day: 1,
                    amount: (lo, lo * 3),
                    style: None,
                },
            );
        }
    }
    // Existing customers trying the new payee on its first day, from what they hold: a small
    // amount each, covered by an extra exchange withdrawal that morning.
    for (k, &a) in organic.iter().take(4).enumerate() {
        let amount = b.rng.range(1_000, 4_000);
        b.fund(
            launch_day,
            0,
            exchanges[k % 2],
            a,
            Tok::Usdc,
            amount.max(tokens(1)) + tokens(1),
        );
        b.pay(
            launch_day,
            a,
            p.launch,
            Tok::Usdc,
            amount,
            PayPath::Exact(Via::Direct),
        );
    }
}
