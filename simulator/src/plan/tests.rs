//! The plan's properties over every economy and scale.

use super::*;
use crate::truth::Class;
use std::collections::{BTreeMap, HashSet};

#[test]
fn same_seed_same_economy() {
    let a = build("s", Scale::SMALL);
    let b = build("s", Scale::SMALL);
    assert_eq!(a.actors.len(), b.actors.len());
    for (x, y) in a.actors.iter().zip(&b.actors) {
        assert_eq!(x.signer.address(), y.signer.address());
    }
    assert_eq!(
        a.days
            .iter()
            .map(|d| d.payments.clone())
            .collect::<Vec<_>>(),
        b.days
            .iter()
            .map(|d| d.payments.clone())
            .collect::<Vec<_>>()
    );
    let c = build("t", Scale::SMALL);
    assert_ne!(a.actors[0].signer.address(), c.actors[0].signer.address());
}

#[test]
fn every_class_and_path_appears() {
    for scale in [Scale::SMALL, Scale::MEDIUM] {
        let plan = build("demo", scale);
        let payments: Vec<&Payment> = plan.days.iter().flat_map(|d| &d.payments).collect();
        let classes: HashSet<Class> = payments.iter().map(|p| p.class).collect();
        assert_eq!(classes.len(), Class::ALL.len(), "{classes:?}");
        let labels: HashSet<String> = payments.iter().map(|p| p.path.label()).collect();
        for l in [
            "exact/direct",
            "exact/batch",
            "exact/eip3009",
            "upto/direct",
            "upto/batch",
            "escrow/void",
            "escrow/reclaim",
            "escrow/void+refund",
        ] {
            assert!(labels.contains(l), "{l} missing from {labels:?}");
        }
        let sybils = plan.actors.iter().filter(|a| a.kind == Kind::Sybil).count();
        assert!(sybils >= 20);
    }
}

/// A realistic share of every economy pays the standard x402 way (EIP-3009, USDC only), across
/// the classes: the project's wallets, faucet users, a wash loop and organic agents in the
/// standard economy; a wash loop, farms' neighbours and organic customers in the adversarial one.
#[test]
fn eip3009_payments_are_usdc_and_span_the_classes() {
    for (economy, classes) in [
        (
            Economy::Standard,
            vec![Class::Internal, Class::SelfDealing, Class::External],
        ),
        (
            Economy::Adversarial,
            vec![Class::SelfDealing, Class::ProjectFunded, Class::External],
        ),
    ] {
        for scale in [Scale::SMALL, Scale::MEDIUM] {
            let plan = build_economy("demo", scale, economy);
            let payments: Vec<&Payment> = plan.days.iter().flat_map(|d| &d.payments).collect();
            let eip3009: Vec<&&Payment> = payments
                .iter()
                .filter(|p| p.path == PayPath::Authorization)
                .collect();
            assert!(eip3009.iter().all(|p| p.token == Tok::Usdc));
            let share = eip3009.len() as f64 / payments.len() as f64;
            assert!(
                (0.1..=0.5).contains(&share),
                "{economy:?} {scale:?}: {share:.2} of payments over EIP-3009"
            );
            let paid: HashSet<Class> = eip3009.iter().map(|p| p.class).collect();
            for c in &classes {
                assert!(
                    paid.contains(c),
                    "{economy:?} {scale:?}: no {c} over EIP-3009"
                );
            }
        }
    }
    // The slow wash pays over EIP-3009 only.
    let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
    let slow: Vec<&Payment> = plan
        .days
        .iter()
        .flat_map(|d| &d.payments)
        .filter(|p| plan.actors[p.payer].scenario == "slow-wash")
        .collect();
    assert!(!slow.is_empty() && slow.iter().all(|p| p.path == PayPath::Authorization));
}

/// Replays the plan's token flows per wallet: nobody ever spends more than it holds, so every
/// planned payment can settle (escrows pull their maximum; voids and reclaims return later).
/// The named scales and the corners the CLI allows (2..=26 weeks, no externals, 5 sybils).
fn scales() -> Vec<Scale> {
    let mut v = vec![Scale::SMALL, Scale::MEDIUM];
    for weeks in [2, 3, 5, 26] {
        v.push(Scale {
            weeks,
            ..Scale::SMALL
        });
    }
    v.push(Scale {
        externals: 0,
        sybils: 5,
        ..Scale::SMALL
    });
    v
}

/// Every economy at every scale of [`scales`].
fn plans() -> Vec<Plan> {
    scales()
        .into_iter()
        .flat_map(|s| Economy::ALL.map(|e| build_economy("demo", s, e)))
        .collect()
}

#[test]
fn nobody_overdraws() {
    for plan in plans() {
        let mut bal: BTreeMap<(ActorId, Tok), i128> = BTreeMap::new();
        for (a, t, m) in &plan.mints {
            *bal.entry((*a, *t)).or_default() += *m as i128;
        }
        let mut returns: Vec<(usize, (ActorId, Tok), i128)> = Vec::new();
        for (d, day) in plan.days.iter().enumerate() {
            for (_, key, amount) in returns.iter().filter(|r| r.0 == d) {
                *bal.entry(*key).or_default() += amount;
            }
            for stage in &day.funding {
                for t in stage {
                    *bal.entry((t.from, t.token)).or_default() -= t.milli as i128;
                    *bal.entry((t.to, t.token)).or_default() += t.milli as i128;
                }
            }
            for x in &day.payments {
                *bal.entry((x.payer, x.token)).or_default() -= x.milli as i128;
                let b = bal[&(x.payer, x.token)];
                assert!(
                    b >= 0,
                    "day {d}: {} overdraws {:?} ({b})",
                    plan.actors[x.payer].name,
                    x.token
                );
                // The payee side receives what settles (fees are at most 1%); the rest returns.
                let settled = x.settled_milli() as i128;
                *bal.entry((x.payee, x.token)).or_default() += settled * 99 / 100;
                // A void returns the rest the same day, a reclaim two days later.
                match &x.path {
                    PayPath::Escrow {
                        end: EscrowEnd::Reclaim,
                        ..
                    } => returns.push((d + 2, (x.payer, x.token), x.milli as i128 - settled)),
                    _ => *bal.entry((x.payer, x.token)).or_default() += x.milli as i128 - settled,
                }
                if let PayPath::Escrow { refund, .. } = x.path {
                    *bal.entry((x.payee, x.token)).or_default() -= refund as i128;
                    *bal.entry((x.payer, x.token)).or_default() += refund as i128;
                }
            }
            for t in day.after.iter().flatten() {
                *bal.entry((t.from, t.token)).or_default() -= t.milli as i128;
                assert!(
                    bal[&(t.from, t.token)] >= 0,
                    "day {d}: {} overdraws on transfer",
                    plan.actors[t.from].name
                );
                *bal.entry((t.to, t.token)).or_default() += t.milli as i128;
            }
            for ((a, _), b) in &bal {
                assert!(*b >= 0, "day {d}: {} below zero", plan.actors[*a].name);
            }
        }
    }
}

#[test]
fn funding_is_never_dust() {
    for plan in scales().into_iter().map(|s| build("demo", s)) {
        for day in &plan.days {
            for t in day.funding.iter().chain(&day.after).flatten() {
                assert!(t.milli >= tokens(1), "{t:?}");
            }
        }
    }
}

/// The adversary's only sub-token transfers are its drips and its two stray dust transfers.
#[test]
fn adversarial_dust_is_the_drips_and_the_strays() {
    for scale in scales() {
        let plan = build_economy("demo", scale, Economy::Adversarial);
        let dust: Vec<&Transfer> = plan
            .days
            .iter()
            .flat_map(|d| d.funding.iter().chain(&d.after).flatten())
            .filter(|t| t.milli < tokens(1))
            .collect();
        let to = |t: &Transfer| plan.actors[t.to].name.as_str();
        assert_eq!(dust.len(), 2 * 30 + 2);
        assert_eq!(
            dust.iter()
                .filter(|t| to(t).starts_with("drip-fed-") && t.milli == 990)
                .count(),
            60
        );
        assert_eq!(
            dust.iter()
                .filter(|t| to(t).starts_with("dusted-agent-"))
                .count(),
            2
        );
    }
}

/// The standard part of the combined economy is the standard economy, wallet for wallet and
/// payment for payment; the adversary only adds.
#[test]
fn combined_keeps_the_standard_economy() {
    let standard = build("demo", Scale::SMALL);
    let combined = build_economy("demo", Scale::SMALL, Economy::Combined);
    for (a, b) in standard.actors.iter().zip(&combined.actors) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.payer_class, b.payer_class);
    }
    for (a, b) in standard.days.iter().zip(&combined.days) {
        assert_eq!(a.payments[..], b.payments[..a.payments.len()]);
    }
    let names: HashSet<&str> = combined.actors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names.len(),
        combined.actors.len(),
        "a name used twice is one wallet"
    );
}

/// The adversarial economy has the scenarios of issue 13 with their sizes and truths.
#[test]
fn adversarial_scenarios_and_truths() {
    let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
    let payers = |scenario: &str| -> Vec<Class> {
        plan.payers()
            .filter(|(_, a, _)| a.scenario == scenario)
            .map(|(_, _, c)| c)
            .collect()
    };
    let expect = [
        ("deep-funding", Class::SelfDealing, 4),
        ("slow-wash", Class::SelfDealing, 3),
        ("long-wash", Class::SelfDealing, 3),
        ("mixed-provenance", Class::ProjectFunded, 3),
        ("sub-dust-drips", Class::ProjectFunded, 2),
        ("stray-dust", Class::External, 2),
        ("random-farm", Class::SuspectedSybil, 12),
        ("spread-farm", Class::SuspectedSybil, 25),
        ("gas-farm", Class::SuspectedSybil, 10),
        ("cashback", Class::External, 7),
        ("launch", Class::External, 10),
        ("organic", Class::External, 10),
    ];
    for (scenario, class, n) in expect {
        assert_eq!(payers(scenario), vec![class; n], "{scenario}");
    }
    assert_eq!(expect.map(|e| e.0), crate::adversary::SCENARIOS);
    // About the standard economy's size, so CI runs both in similar time.
    let n = plan.payment_count();
    assert!((450..=800).contains(&n), "{n} payments");
    // Every planned payer pays.
    let paying: HashSet<ActorId> = plan
        .days
        .iter()
        .flat_map(|d| &d.payments)
        .map(|p| p.payer)
        .collect();
    for (i, a, _) in plan.payers() {
        assert!(paying.contains(&i), "{} never pays", a.name);
    }
    // The gas farm's wallets get their ether from one wallet, the launch users theirs from
    // the exchanges, in real transfers.
    let from = |scenario: &str| -> Vec<&str> {
        plan.native
            .iter()
            .filter(|n| plan.actors[n.to].scenario == scenario)
            .map(|n| plan.actors[n.from].name.as_str())
            .collect()
    };
    assert_eq!(from("gas-farm"), vec!["gas-farm-funder"; 10]);
    let launch = from("launch");
    assert_eq!(launch.len(), 10);
    assert!(launch.iter().all(|f| f.starts_with("exchange-hot-wallet-")));
    assert_eq!(plan.native.len(), 20);
    // The spread farm pays three payees, nine or eight wallets each.
    let mut per_payee: BTreeMap<ActorId, HashSet<ActorId>> = BTreeMap::new();
    for p in plan.days.iter().flat_map(|d| &d.payments) {
        if plan.actors[p.payer].scenario == "spread-farm" {
            per_payee.entry(p.payee).or_default().insert(p.payer);
        }
    }
    assert_eq!(per_payee.len(), 3);
    // Farms randomise: no amount is shared by most of a farm's payments.
    for farm in ["random-farm", "spread-farm", "gas-farm"] {
        let amounts: Vec<u64> = plan
            .days
            .iter()
            .flat_map(|d| &d.payments)
            .filter(|p| plan.actors[p.payer].scenario == farm)
            .map(|p| p.milli)
            .collect();
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for a in &amounts {
            *counts.entry(*a).or_default() += 1;
        }
        let top = counts.values().max().copied().unwrap_or(0);
        assert!(
            amounts.len() > 40 && top * 10 < amounts.len(),
            "{farm}: {top} of {}",
            amounts.len()
        );
    }
}

/// The slow wash returns 90% of each day's payments exactly eight days later; the long wash
/// returns each payment the same day over four transfers of the same amount.
#[test]
fn wash_returns_are_slow_or_long() {
    let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
    let named = |n: &str| plan.actors.iter().position(|a| a.name == n).unwrap();
    let slow = named("slow-wash-0");
    let washer = named("provider-slow-rinse");
    for (d, day) in plan.days.iter().enumerate() {
        let paid: u64 = day
            .payments
            .iter()
            .filter(|p| p.payer == slow)
            .map(|p| p.milli)
            .sum();
        let back: u64 = plan
            .days
            .get(d + 8)
            .map(|x| {
                x.after
                    .iter()
                    .flatten()
                    .filter(|t| t.from == washer && t.to == slow)
                    .map(|t| t.milli)
                    .sum()
            })
            .unwrap_or(0);
        if paid >= 2_000 && d + 8 < plan.days.len() {
            assert_eq!(back, paid * 9 / 10, "day {d}");
        }
        let early: u64 = day
            .after
            .iter()
            .flatten()
            .filter(|t| t.from == washer && t.to == slow)
            .count() as u64;
        assert!(d >= 9 || early == 0, "a return within 8 days on day {d}");
    }
    let long = named("long-wash-0");
    for day in &plan.days {
        for p in day.payments.iter().filter(|p| p.payer == long) {
            assert_eq!(day.after.len(), 4);
            for stage in &day.after {
                assert!(stage.iter().any(|t| t.milli == p.milli));
            }
            assert!(day.after[0]
                .iter()
                .any(|t| t.from == p.payee && t.milli == p.milli));
            assert!(day.after[3]
                .iter()
                .any(|t| t.to == long && t.milli == p.milli));
        }
    }
}

#[test]
fn labels_file_names_the_exchanges() {
    let plan = build("demo", Scale::SMALL);
    let text = plan.labels_toml(31337);
    assert_eq!(text.matches("kind = \"exchange\"").count(), 2);
    for e in plan.exchanges() {
        assert!(text.contains(&format!("{:#x}", e.signer.address())));
    }
}
