//! The standard economy's scenarios: every actor built to match one rule of the product spec.

use super::builder::{outlay, Builder};
use super::model::{tokens, ActorId, Kind, PayPath, Payment, Tok, Transfer, Via};
use crate::truth::Class;

/// The providers' indices among [`Plan::actors`] (built first, in this order).
pub mod providers {
    /// Pays itself now and then (self_payment); cashes out to an exchange weekly.
    pub const SELF_PAYER: usize = 0;
    /// The sybil farm's target.
    pub const FARMED: usize = 1;
    /// Declares a wallet of its own in the registry, which then pays it.
    pub const DECLARER: usize = 2;
    /// Runs the wash loop.
    pub const WASHER: usize = 3;
    /// An ordinary provider; cashes out to an exchange weekly.
    pub const PLAIN: usize = 4;
    /// How many providers there are.
    pub const COUNT: usize = 5;
}

/// The exchange hot wallets (with their mints) and the treasury every economy has; the
/// treasury pays (as `internal`) when its class is given.
pub(super) fn backbone(b: &mut Builder, treasury_class: Option<Class>) -> (Vec<ActorId>, ActorId) {
    let exchanges: Vec<ActorId> = (0..2)
        .map(|i| b.actor(format!("exchange-hot-wallet-{i}"), Kind::Exchange, None))
        .collect();
    for &e in &exchanges {
        for t in Tok::ALL {
            b.mints.push((e, t, tokens(10_000_000)));
        }
    }
    let treasury = b.actor("treasury".into(), Kind::Treasury, treasury_class);
    for t in Tok::ALL {
        b.mints.push((treasury, t, tokens(10_000_000)));
    }
    (exchanges, treasury)
}

/// The standard economy; returns its exchanges and treasury.
pub(super) fn standard(b: &mut Builder) -> (Vec<ActorId>, ActorId) {
    let p: Vec<ActorId> = [
        "llm-chat",
        "image-gen",
        "embeddings",
        "code-review",
        "speech",
    ]
    .iter()
    .map(|n| b.actor(format!("provider-{n}"), Kind::Provider, None))
    .collect();
    // The self-paying provider's only payments are to itself.
    b.actors[p[providers::SELF_PAYER]].payer_class = Some(Class::SelfPayment);
    let (exchanges, treasury) = backbone(b, Some(Class::Internal));

    // Providers keep a float from an exchange (the withdrawal makes an exchange their first
    // funder, which links them to nobody).
    for (i, &pv) in p.iter().enumerate() {
        let float = if i == providers::WASHER {
            tokens(500)
        } else {
            tokens(30)
        };
        b.fund(0, 0, exchanges[i % 2], pv, Tok::Usdc, float);
    }

    project_wallets(b, &p, treasury);
    external_agents(b, &p, &exchanges);
    wash_loop(b, &p);
    sybil_farm(b, &p, &exchanges);
    declared_wallet(b, &p, &exchanges);
    self_payments(b, &p);
    cash_outs(b, &p, &exchanges);
    (exchanges, treasury)
}

/// Treasury, team, test agents, the faucet with its users and the grant users.
fn project_wallets(b: &mut Builder, p: &[ActorId], treasury: ActorId) {
    let days = b.scale.days();
    // The treasury buys credits from a provider once a week, with the x402 SDK (EIP-3009).
    for w in 0..b.scale.weeks {
        let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
        let amount = b.rng.jitter(tokens(20), 0.3);
        b.pay(
            w * 7 + 2,
            treasury,
            pv,
            Tok::Usdc,
            amount,
            PayPath::Authorization,
        );
    }
    for i in 0..2 {
        let team = b.actor(format!("team-{i}"), Kind::Team, Some(Class::Internal));
        b.fund(0, 0, treasury, team, Tok::Usdc, tokens(2_000));
        for d in 0..days {
            if b.rng.chance(0.5) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(200, 3_000);
                // The second team wallet pays with the x402 SDK (EIP-3009), the first with ours.
                let path = if i == 1 {
                    PayPath::Authorization
                } else {
                    b.path(1, amount, false)
                };
                b.pay(d, team, pv, Tok::Usdc, amount, path);
            }
        }
    }
    // Test agents exercise every path every day, in both tokens.
    for i in 0..2 {
        let agent = b.actor(
            format!("test-agent-{i}"),
            Kind::TestAgent,
            Some(Class::Internal),
        );
        b.fund(0, 0, treasury, agent, Tok::Usdc, tokens(1_000));
        b.fund(0, 0, treasury, agent, Tok::Opg, tokens(1_000));
        for d in 0..days {
            for k in 0..2u32 {
                let pv = p[((d + k + i) as usize) % providers::COUNT];
                let token = if (d + k) % 3 == 0 {
                    Tok::Opg
                } else {
                    Tok::Usdc
                };
                let path = b.path(((d + k) % 3) as u8, 50, (d + k + i) % 2 == 0);
                b.pay(d, agent, pv, token, 50, path);
            }
        }
    }
    let faucet = b.actor("faucet".into(), Kind::Faucet, None);
    b.fund(0, 0, treasury, faucet, Tok::Usdc, tokens(100_000));
    // Airdrop waves: users arrive in the first weeks, burn their drip within days, most leave.
    let waves = (b.scale.weeks - 1).max(1);
    for i in 0..b.scale.faucet_users {
        let user = b.actor(
            format!("faucet-user-{i}"),
            Kind::FaucetUser,
            Some(Class::ProjectFunded),
        );
        let start = (i as u32 % waves) * 7 + b.rng.range(0, 2) as u32;
        let active = b.rng.range(3, 10) as u32;
        let mut spend = 0;
        for d in start..(start + active).min(days) {
            for _ in 0..b.rng.range(1, 3) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(100, 1_500);
                let batch = b.rng.chance(0.4);
                let path = b.path(0, amount, batch);
                b.pay(d, user, pv, Tok::Usdc, amount, path);
                spend += amount;
            }
        }
        b.fund(
            start,
            1,
            faucet,
            user,
            Tok::Usdc,
            (spend * 5 / 4).max(tokens(25)),
        );
    }
    for i in 0..b.scale.grant_users {
        let user = b.actor(
            format!("grant-user-{i}"),
            Kind::GrantUser,
            Some(Class::ProjectFunded),
        );
        let start = b.rng.range(1, 6) as u32;
        let mut spend = 0;
        for d in start..days {
            if b.rng.chance(0.7) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(300, 2_500);
                let path = b.path(2, amount, false);
                spend += amount;
                b.pay(d, user, pv, Tok::Usdc, amount, path);
            }
        }
        b.fund(
            start,
            0,
            treasury,
            user,
            Tok::Usdc,
            spend * 5 / 4 + tokens(2),
        );
    }
}

/// Organic agents: each funded from an exchange, paying one to three providers on its own
/// schedule; a quarter churn within two weeks, a quarter grow week over week.
fn external_agents(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    for i in 0..b.scale.externals {
        let agent = b.actor(
            format!("external-agent-{i}"),
            Kind::ExternalAgent,
            Some(Class::External),
        );
        let start = b.rng.range(0, (days as u64 * 6 / 10).max(1)) as u32;
        let lifecycle = b.rng.unit();
        let (end, growth) = if lifecycle < 0.25 {
            ((start + b.rng.range(4, 12) as u32).min(days), 0.0)
        } else if lifecycle < 0.5 {
            (days, 0.4)
        } else {
            (days, 0.0)
        };
        let rate = 0.4 + 0.9 * b.rng.unit();
        let n_providers = b.rng.range(1, 3) as usize;
        let mut mine: Vec<ActorId> = Vec::new();
        while mine.len() < n_providers {
            let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
            if !mine.contains(&pv) {
                mine.push(pv);
            }
        }
        let token = if b.rng.chance(0.75) {
            Tok::Usdc
        } else {
            Tok::Opg
        };
        let base = if token == Tok::Usdc {
            b.rng.range(20, 1_500)
        } else {
            b.rng.range(100, 5_000)
        };
        let style = b.rng.range(0, 2) as u8;
        let batch = b.rng.chance(0.4);
        // About a third of the USDC agents use the x402 SDK, which pays `exact` over EIP-3009.
        let sdk = token == Tok::Usdc && b.rng.chance(0.35);
        let exchange = exchanges[i % exchanges.len()];
        // Weekly top-ups for agents that run longer than a week, so growing agents are funded
        // more than once; each top-up covers that week's outlay with a margin.
        let mut week_spend: Vec<u64> = vec![0; b.scale.weeks as usize];
        for d in start..end {
            let weeks_in = ((d - start) / 7) as f64;
            let weekend = if d % 7 >= 5 { 0.5 } else { 1.0 };
            let lambda = rate * (1.0 + growth * weeks_in) * weekend;
            let n = (lambda + b.rng.unit()).floor() as u64;
            for _ in 0..n {
                let pv = mine[b.rng.range(0, mine.len() as u64 - 1) as usize];
                let amount = b.rng.jitter(base, 0.3);
                let path = if sdk {
                    PayPath::Authorization
                } else {
                    b.path(style, amount, batch)
                };
                let pay = Payment {
                    payer: agent,
                    payee: pv,
                    token,
                    milli: amount,
                    path,
                    class: Class::External,
                };
                week_spend[((d - start) / 7) as usize] += outlay(&pay);
                b.days[d as usize].payments.push(pay);
            }
        }
        for (w, spend) in week_spend.iter().enumerate() {
            let day = start + 7 * w as u32;
            if day < end && *spend > 0 || w == 0 {
                b.fund(
                    day.min(days - 1),
                    0,
                    exchange,
                    agent,
                    token,
                    spend * 5 / 4 + tokens(2),
                );
            }
        }
    }
}

/// The wash loop: each wave the washing provider funds fresh wallets, they pay it a round
/// amount a few times a day (every other wallet over EIP-3009), and sweep what is left back to
/// it.
fn wash_loop(b: &mut Builder, p: &[ActorId]) {
    let days = b.scale.days();
    let washer = p[providers::WASHER];
    let waves = 2.min(b.scale.weeks as usize - 1).max(1);
    let per_wave = b.scale.wash_wallets.div_ceil(waves);
    let mut n = 0;
    for wave in 0..waves {
        let start = (7 * (wave as u32 + 1) + 1).min(days - 5);
        for _ in 0..per_wave {
            if n == b.scale.wash_wallets {
                break;
            }
            let w = b.actor(
                format!("wash-wallet-{n}"),
                Kind::WashWallet,
                Some(Class::SelfDealing),
            );
            let path = if n % 2 == 0 {
                PayPath::Authorization
            } else {
                PayPath::Exact(Via::Direct)
            };
            n += 1;
            let funded = tokens(12);
            b.fund(start, 1, washer, w, Tok::Usdc, funded);
            let mut spent = 0;
            for d in start..start + 4 {
                for _ in 0..2 {
                    b.pay(d, w, washer, Tok::Usdc, tokens(1), path.clone());
                    spent += tokens(1);
                }
            }
            b.after(
                start + 3,
                0,
                Transfer {
                    from: w,
                    to: washer,
                    token: Tok::Usdc,
                    milli: funded - spent,
                },
            );
        }
    }
}

/// The sybil farm: one funder, funded from an exchange, gives each of its wallets the same amount
/// on the same day; they all start paying the same provider the same amount within minutes.
fn sybil_farm(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    let farmed = p[providers::FARMED];
    let funder = b.actor("sybil-funder".into(), Kind::SybilFunder, None);
    let start = (days / 3).max(1);
    let each = tokens(5);
    b.fund(
        start,
        0,
        exchanges[0],
        funder,
        Tok::Usdc,
        each * b.scale.sybils as u64 + tokens(1),
    );
    for i in 0..b.scale.sybils {
        let s = b.actor(
            format!("sybil-{i}"),
            Kind::Sybil,
            Some(Class::SuspectedSybil),
        );
        b.fund(start, 1, funder, s, Tok::Usdc, each);
        for d in [start, start + 1, start + 2, start + 4] {
            if d < days {
                b.pay(d, s, farmed, Tok::Usdc, 250, PayPath::Exact(Via::Batch));
            }
        }
    }
}

/// A provider declares a wallet in the registry; the wallet, funded from an exchange, pays it.
fn declared_wallet(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    let declarer = p[providers::DECLARER];
    let w = b.actor(
        "declared-wallet".into(),
        Kind::DeclaredWallet,
        Some(Class::SelfDealing),
    );
    b.days[1].declarations.push((declarer, w));
    let mut spend = 0;
    for d in (2..days).step_by(2) {
        let amount = b.rng.range(1_000, 3_000);
        let path = b.path(1, amount, false);
        spend += amount;
        b.pay(d, w, declarer, Tok::Usdc, amount, path);
    }
    b.fund(2, 0, exchanges[1], w, Tok::Usdc, spend * 5 / 4 + tokens(2));
}

/// The self-paying provider pays itself in the last week.
fn self_payments(b: &mut Builder, p: &[ActorId]) {
    let days = b.scale.days();
    let pv = p[providers::SELF_PAYER];
    for d in [days - 6, days - 4, days - 2] {
        b.pay(d, pv, pv, Tok::Usdc, tokens(2), PayPath::Exact(Via::Direct));
    }
}

/// Two providers deposit 40% of the week's revenue (exact, upto and captures) to an exchange at
/// the end of each week: money from payees reaches an exchange that funds payers, which must
/// link nobody.
fn cash_outs(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    for &idx in &[providers::SELF_PAYER, providers::PLAIN] {
        let pv = p[idx];
        for w in 0..b.scale.weeks {
            for t in Tok::ALL {
                let revenue: u64 = (w * 7..w * 7 + 7)
                    .flat_map(|d| b.days[d as usize].payments.iter())
                    .filter(|x| x.payee == pv && x.token == t && x.payer != pv)
                    .map(Payment::settled_milli)
                    .sum();
                let deposit = revenue * 2 / 5;
                if deposit >= tokens(1) {
                    let last = w * 7 + 6;
                    b.after(
                        last,
                        0,
                        Transfer {
                            from: pv,
                            to: exchanges[0],
                            token: t,
                            milli: deposit,
                        },
                    );
                }
            }
        }
    }
}
