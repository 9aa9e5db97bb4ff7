//! Scenarios of a project inflating its numbers while knowing the rules (issue 13), each with
//! known truth: funds from the payee at any depth, slow or long wash returns, mixed provenance,
//! sub-dust drips, randomised and gas-funded farms. And the false positives that must not happen:
//! cashback, transfers after a payment, a return counted twice, a busy launch day.

mod common;

use common::{addr, World, U};
use serde_json::Value;
use x402_classifier::{
    classify, hex0x, Addr, Class, Hash32, LabelKind, Output, PayerVerdict, PaymentVerdict,
    RuleConfig,
};

const EXCHANGE: u32 = 900;
const EXCHANGE2: u32 = 901;
/// 0.001 ETH: a plausible gas top-up, well above the native dust threshold.
const GAS: u128 = 1_000_000_000_000_000;

fn run(w: &World) -> Output {
    classify(&w.inputs(), &RuleConfig::default(), None)
}

fn verdict<'a>(out: &'a Output, id: &Hash32) -> &'a PaymentVerdict {
    out.payments
        .iter()
        .find(|p| &p.id == id)
        .expect("payment classified")
}

fn payer(out: &Output, a: Addr) -> &PayerVerdict {
    out.payers
        .iter()
        .find(|p| p.payer == a)
        .expect("payer classified")
}

fn flags(v: &PaymentVerdict) -> Vec<&'static str> {
    v.flags.iter().map(|f| f.as_str()).collect()
}

fn rule(v: &PaymentVerdict, name: &str) -> Value {
    let r = v.evidence_json()["rules"][name].clone();
    assert!(!r.is_null(), "no evidence for {name} in {}", v.evidence);
    r
}

fn world() -> World {
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    w.file_label(addr(EXCHANGE2), LabelKind::Exchange, None);
    w
}

/// A small deterministic generator for "random" amounts and delays.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

// ------------------------------------------------------------------ funds from the payee

#[test]
fn funds_that_start_at_the_payee_any_depth_are_self_dealing() {
    let mut w = world();
    let payee = addr(1);
    w.transfer(addr(EXCHANGE), payee, 10_000 * U);
    // payee -> m1 -> m2 -> x (three hops: beyond the 2-hop funding link), and a five-hop chain to y.
    let (m1, m2, x) = (addr(10), addr(11), addr(12));
    w.transfer(payee, m1, 100 * U);
    w.transfer(m1, m2, 100 * U);
    w.transfer(m2, x, 100 * U);
    let chain: Vec<Addr> = (20..25).map(addr).collect();
    let y = addr(25);
    w.transfer(payee, chain[0], 300 * U);
    for k in 0..chain.len() - 1 {
        w.transfer(chain[k], chain[k + 1], 300 * U);
    }
    w.transfer(chain[4], y, 300 * U);
    w.wait(3 * 86_400);
    let px: Vec<_> = (0..4).map(|_| w.pay(x, payee, 20 * U)).collect();
    let py = w.pay(y, payee, 250 * U);
    let out = run(&w);

    for id in px.iter().chain([&py]) {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SelfDealing, "{}", v.evidence);
        assert!(flags(v).contains(&"payee_funds"), "{:?}", flags(v));
    }
    let e = rule(verdict(&out, &px[0]), "payee_funds");
    assert_eq!(e["payee"], hex0x(&payee));
    assert_eq!(e["fifo_share"], 1.0);
    assert_eq!(e["sources"][0]["wallet"], hex0x(&payee));
    assert_eq!(payer(&out, x).class, Class::SelfDealing);
    assert_eq!(payer(&out, y).class, Class::SelfDealing);
}

#[test]
fn funds_from_a_declared_wallet_of_the_payee_count_as_the_payee() {
    let mut w = world();
    let (payee, ops, m1, m2, x) = (addr(1), addr(2), addr(10), addr(11), addr(12));
    w.transfer(addr(EXCHANGE), payee, 1_000 * U);
    w.transfer(addr(EXCHANGE), ops, 1_000 * U);
    w.declare(payee, ops, true);
    w.transfer(ops, m1, 100 * U);
    w.transfer(m1, m2, 100 * U);
    w.transfer(m2, x, 100 * U);
    let id = w.pay(x, payee, 60 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::SelfDealing, "{}", v.evidence);
    let e = rule(v, "payee_funds");
    assert_eq!(e["sources"][0]["wallet"], hex0x(&ops));
}

#[test]
fn a_payer_mostly_funded_elsewhere_is_not_tainted_by_a_small_payee_share() {
    let mut w = world();
    let (payee, m0, m1, x) = (addr(1), addr(9), addr(10), addr(12));
    w.transfer(addr(EXCHANGE), payee, 1_000 * U);
    w.transfer(addr(EXCHANGE), m0, 5 * U);
    w.transfer(addr(EXCHANGE), m1, 50 * U);
    w.transfer(addr(EXCHANGE), x, 300 * U);
    w.transfer(payee, m0, 40 * U);
    w.transfer(m0, m1, 40 * U);
    w.transfer(m1, x, 60 * U);
    // x holds 300 exchange tokens then 60 from m1 (m1's lots: 50 exchange, then 10 of what came
    // from the payee three hops away): at most 10 of 360 from the payee.
    let ids: Vec<_> = (0..6).map(|_| w.pay(x, payee, 50 * U)).collect();
    let out = run(&w);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
    }
}

// ------------------------------------------------------------------ wash returns

#[test]
fn slow_wash_return_after_eight_days_is_self_dealing() {
    let mut w = world();
    let (payee, x, m) = (addr(1), addr(2), addr(3));
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    w.transfer(addr(EXCHANGE), x, 500 * U);
    let paid: Vec<_> = (0..3).map(|_| w.pay(x, payee, 100 * U)).collect();
    // 90% of every payment comes back, eight days later, directly and through a middleman.
    w.wait(8 * 86_400);
    w.transfer(payee, x, 180 * U);
    w.wait(86_400);
    w.transfer(payee, m, 90 * U);
    w.wait(86_400);
    w.transfer(m, x, 90 * U);
    let out = run(&w);
    // 270 of 300 came back; each return counts once, against the latest payments not yet covered.
    let mut back = 0u128;
    for id in &paid {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SelfDealing, "{}", v.evidence);
        let f = rule(v, "flow_back");
        assert!(f["share"].as_f64().unwrap() >= 0.5, "{f}");
        back += f["amount_back"].as_str().unwrap().parse::<u128>().unwrap();
    }
    assert_eq!(back, 270 * U);
    assert_eq!(payer(&out, x).class, Class::SelfDealing);
}

#[test]
fn long_wash_return_over_conserved_amounts_is_self_dealing() {
    let mut w = world();
    let (payee, x) = (addr(1), addr(2));
    // Four relays with large balances of their own, so the returned tokens are mixed in and only the
    // amounts tie the path together.
    let relays: Vec<Addr> = (10..14).map(addr).collect();
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    for r in &relays {
        w.transfer(addr(EXCHANGE), *r, 5_000 * U);
    }
    w.transfer(addr(EXCHANGE), x, 200 * U);
    let paid = w.pay(x, payee, 100 * U);
    w.wait(3600);
    let mut amount = 99 * U;
    let first = w.transfer(payee, relays[0], amount);
    for k in 0..relays.len() - 1 {
        w.wait(1800);
        amount -= U / 2;
        w.transfer(relays[k], relays[k + 1], amount);
    }
    w.wait(1800);
    let last = w.transfer(relays[3], x, amount - U / 2);
    let out = run(&w);
    let v = verdict(&out, &paid);
    assert_eq!(v.class, Class::SelfDealing, "{}", v.evidence);
    let f = rule(v, "flow_back");
    assert_eq!(f["amount_back"], (amount - U / 2).to_string());
    let path = f["paths"][0].as_array().unwrap();
    assert_eq!(path.len(), 5);
    assert_eq!(path[0]["tx"], hex0x(&first));
    assert_eq!(path[4]["tx"], hex0x(&last));
}

#[test]
fn one_return_is_counted_once_across_payments() {
    let mut w = world();
    let (payee, x) = (addr(1), addr(2));
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    w.transfer(addr(EXCHANGE), x, 500 * U);
    let paid: Vec<_> = (0..3).map(|_| w.pay(x, payee, 100 * U)).collect();
    w.wait(3600);
    w.transfer(payee, x, 60 * U);
    let out = run(&w);
    let classes: Vec<Class> = paid.iter().map(|id| verdict(&out, id).class).collect();
    // The 60 returned covers 60% of one payment (the latest before it), not of all three.
    assert_eq!(
        classes,
        vec![Class::External, Class::External, Class::SelfDealing],
        "{classes:?}"
    );
    let f = rule(verdict(&out, &paid[2]), "flow_back");
    assert_eq!(f["amount_back"], (60 * U).to_string());
    assert_eq!(payer(&out, x).class, Class::External);
}

// ------------------------------------------------------------------ mixed provenance

fn mixed(treasury_first: bool) -> (World, Addr, Vec<Hash32>) {
    let mut w = world();
    let (treasury, h1, h2, x, payee) = (addr(1), addr(2), addr(3), addr(4), addr(5));
    w.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    w.transfer(addr(EXCHANGE), treasury, 10_000 * U);
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    w.transfer(addr(EXCHANGE), h1, 2 * U);
    w.transfer(addr(EXCHANGE), h2, 2 * U);
    w.transfer(addr(EXCHANGE), x, U); // x's first funder is the exchange either way
    let via_hops = |w: &mut World| {
        w.transfer(treasury, h1, 60 * U);
        w.transfer(h1, h2, 60 * U);
        w.transfer(h2, x, 60 * U);
    };
    if treasury_first {
        via_hops(&mut w);
        w.transfer(addr(EXCHANGE), x, 39 * U);
    } else {
        w.transfer(addr(EXCHANGE), x, 39 * U);
        via_hops(&mut w);
    }
    let ids = (0..10).map(|_| w.pay(x, payee, 10 * U)).collect();
    (w, x, ids)
}

#[test]
fn mixed_provenance_is_project_funded_whatever_the_spending_order() {
    for treasury_first in [true, false] {
        let (w, x, ids) = mixed(treasury_first);
        let out = run(&w);
        for id in &ids {
            let v = verdict(&out, id);
            assert_eq!(
                v.class,
                Class::ProjectFunded,
                "treasury_first={treasury_first}: {}",
                v.evidence
            );
            let e = rule(v, "ecosystem_funds");
            assert!(e["haircut_share"].as_f64().unwrap() >= 0.5, "{e}");
        }
        assert_eq!(payer(&out, x).class, Class::ProjectFunded);
    }
}

// ------------------------------------------------------------------ dust

#[test]
fn many_sub_dust_transfers_are_not_dust() {
    let mut w = world();
    let (treasury, payee, x) = (addr(1), addr(2), addr(3));
    w.file_label(treasury, LabelKind::Ecosystem, Some("faucet"));
    w.transfer(addr(EXCHANGE), treasury, 10_000 * U);
    for _ in 0..30 {
        w.transfer(treasury, x, U * 99 / 100);
    }
    w.transfer(addr(EXCHANGE), x, 5 * U);
    let id = w.pay(x, payee, 20 * U);
    // One stray sub-dust transfer still taints nobody.
    let y = addr(4);
    w.transfer(treasury, y, U * 99 / 100);
    w.transfer(addr(EXCHANGE), y, 100 * U);
    let clean = w.pay(y, payee, 20 * U);
    let out = run(&w);

    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::ProjectFunded, "{}", v.evidence);
    assert!(v.project_share > 0.9, "{}", v.project_share);
    assert_eq!(payer(&out, x).first_funder, Some(treasury));
    let c = verdict(&out, &clean);
    assert_eq!(c.class, Class::External, "{}", c.evidence);
    assert_eq!(c.project_share, 0.0);
    assert_eq!(payer(&out, y).first_funder, Some(addr(EXCHANGE)));
}

// ------------------------------------------------------------------ farms

/// `n` unrelated exchange-funded wallets paying `payee` a little each (the payee's organic base).
fn organic_payers(w: &mut World, from: u32, n: u32, payee: Addr, rng: &mut Lcg) -> Vec<Hash32> {
    let mut ids = vec![];
    for i in 0..n {
        let x = addr(from + i);
        let ex = if i % 2 == 0 { EXCHANGE } else { EXCHANGE2 };
        w.transfer(addr(ex), x, (50 + rng.below(50) as u128) * U);
        ids.push(w.pay(x, payee, (1 + rng.below(9) as u128) * U));
    }
    ids
}

#[test]
fn randomised_farm_on_a_captive_payee_is_sybil() {
    let mut w = world();
    let mut rng = Lcg(7);
    let (funder, payee) = (addr(100), addr(1));
    w.transfer(addr(EXCHANGE), funder, 10_000 * U);
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    let organic = organic_payers(&mut w, 500, 3, payee, &mut rng);
    let members: Vec<Addr> = (101..113).map(addr).collect();
    let mut farm_ids = vec![];
    for m in &members {
        // Funded at a random time, random amount; starts days apart; random counts and amounts.
        w.wait(rng.below(2 * 86_400) as i64 + 3600);
        w.transfer(funder, *m, (20 + rng.below(60) as u128) * U);
        for _ in 0..(1 + rng.below(6)) {
            w.wait(rng.below(20_000) as i64 + 600);
            farm_ids.push(w.pay(*m, payee, U + rng.below(3 * U as u64) as u128));
        }
    }
    let out = run(&w);
    for id in &farm_ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
    }
    let v0 = verdict(&out, &farm_ids[0]);
    let c = rule(v0, "sybil_cluster");
    assert_eq!(c["root_funder"], hex0x(&funder));
    // Cluster ids reach 2^63: evidence carries them as strings.
    assert_eq!(c["cluster_id"], v0.cluster_id.unwrap().to_string());
    let row = out
        .clusters
        .iter()
        .find(|r| r.root_funder == funder)
        .unwrap();
    assert_eq!(row.stats["criteria"]["fan_out"], true, "{}", row.stats);
    assert_eq!(
        row.stats["criteria"]["captive_payee"], true,
        "{}",
        row.stats
    );
    for id in &organic {
        assert_eq!(verdict(&out, id).class, Class::External);
    }
}

#[test]
fn randomised_farm_funded_through_relays_still_fans_out() {
    let mut w = world();
    let mut rng = Lcg(13);
    let (funder, payee) = (addr(100), addr(1));
    w.transfer(addr(EXCHANGE), funder, 10_000 * U);
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    let organic = organic_payers(&mut w, 500, 4, payee, &mut rng);
    let relays: Vec<Addr> = (90..93).map(addr).collect();
    for r in &relays {
        w.transfer(funder, *r, 1_000 * U);
    }
    let mut farm_ids = vec![];
    for i in 0..12u32 {
        let m = addr(101 + i);
        w.wait(rng.below(2 * 86_400) as i64 + 3600);
        w.transfer(
            relays[(i % 3) as usize],
            m,
            (20 + rng.below(60) as u128) * U,
        );
        for _ in 0..(1 + rng.below(6)) {
            w.wait(rng.below(20_000) as i64 + 600);
            farm_ids.push(w.pay(m, payee, U + rng.below(3 * U as u64) as u128));
        }
    }
    let out = run(&w);
    for id in &farm_ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
    }
    let row = out
        .clusters
        .iter()
        .find(|r| r.root_funder == funder)
        .unwrap();
    assert_eq!(row.stats["fan_out"], 12, "{}", row.stats);
    assert_eq!(row.stats["fan_out_funder"], hex0x(&funder));
    for id in &organic {
        assert_eq!(verdict(&out, id).class, Class::External);
    }
}

#[test]
fn farm_spread_over_three_payees_is_sybil_by_size_across_payees() {
    let mut w = world();
    let mut rng = Lcg(11);
    let funder = addr(100);
    let payees = [addr(1), addr(2), addr(3)];
    w.transfer(addr(EXCHANGE), funder, 100_000 * U);
    let mut organic = vec![];
    for (k, p) in payees.iter().enumerate() {
        w.transfer(addr(EXCHANGE), *p, 10 * U);
        organic.extend(organic_payers(
            &mut w,
            500 + 20 * k as u32,
            12,
            *p,
            &mut rng,
        ));
    }
    let mut farm_ids = vec![];
    for i in 0..25u32 {
        let m = addr(101 + i);
        w.wait(rng.below(86_400) as i64 + 600);
        w.transfer(funder, m, (20 + rng.below(80) as u128) * U);
        for _ in 0..(1 + rng.below(4)) {
            w.wait(rng.below(20_000) as i64 + 600);
            farm_ids.push(w.pay(
                m,
                payees[(i % 3) as usize],
                U + rng.below(2 * U as u64) as u128,
            ));
        }
    }
    let out = run(&w);
    for id in &farm_ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
    }
    for id in &organic {
        assert_eq!(verdict(&out, id).class, Class::External);
    }
}

#[test]
fn gas_funded_farm_is_one_cluster() {
    let mut w = world();
    let mut rng = Lcg(3);
    let (gas_wallet, payee) = (addr(100), addr(1));
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    w.gas(addr(EXCHANGE), gas_wallet, 100 * GAS);
    let organic = organic_payers(&mut w, 500, 3, payee, &mut rng);
    let mut farm_ids = vec![];
    let members: Vec<Addr> = (101..113).map(addr).collect();
    for (i, m) in members.iter().enumerate() {
        w.wait(rng.below(86_400) as i64 + 600);
        // Tokens from exchanges; gas from one wallet, before the tokens for half of them, after for
        // the others.
        let ex = if i % 2 == 0 { EXCHANGE } else { EXCHANGE2 };
        if i % 2 == 0 {
            w.gas(
                gas_wallet,
                *m,
                GAS + rng.below(1_000) as u128 * 1_000_000_000,
            );
            w.transfer(addr(ex), *m, (30 + rng.below(50) as u128) * U);
        } else {
            w.transfer(addr(ex), *m, (30 + rng.below(50) as u128) * U);
            w.gas(
                gas_wallet,
                *m,
                GAS + rng.below(1_000) as u128 * 1_000_000_000,
            );
        }
        for _ in 0..(1 + rng.below(5)) {
            w.wait(rng.below(20_000) as i64 + 600);
            farm_ids.push(w.pay(*m, payee, U + rng.below(3 * U as u64) as u128));
        }
    }
    // A single gas-dust transfer to an organic payer links nobody.
    w.gas(gas_wallet, addr(500), 1_000);
    let out = run(&w);
    for id in &farm_ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
        assert_eq!(rule(v, "sybil_cluster")["root_funder"], hex0x(&gas_wallet));
    }
    for id in &organic {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
        assert!(v.cluster_id.is_none());
    }
    // The payer profile shows the native funding edge.
    let p = payer(&out, members[0]);
    assert_eq!(p.first_funder, Some(gas_wallet));
    assert_eq!(
        p.evidence["first_funding"]["kind"], "native",
        "{}",
        p.evidence
    );
}

// ------------------------------------------------------------------ false positives

#[test]
fn guard_cashback_does_not_make_customers_self_dealing() {
    let mut w = world();
    let payee = addr(1);
    w.transfer(addr(EXCHANGE), payee, 1_000 * U);
    let mut ids = vec![];
    for c in 0..8u32 {
        let x = addr(10 + c);
        w.transfer(addr(EXCHANGE), x, 100 * U);
        for _ in 0..10 {
            ids.push(w.pay(x, payee, 10 * U));
            w.transfer(payee, x, U); // 10% cashback
        }
        // Topped up later, the customer spends its cashback first (FIFO): still not self-dealing.
        w.transfer(addr(EXCHANGE), x, 100 * U);
        for _ in 0..3 {
            ids.push(w.pay(x, payee, 10 * U));
            w.transfer(payee, x, U);
        }
    }
    let out = run(&w);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
    }
}

#[test]
fn guard_a_transfer_after_a_payment_is_never_funding_for_it() {
    let mut w = world();
    let (payee, treasury, x, m) = (addr(1), addr(2), addr(3), addr(4));
    w.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    w.transfer(addr(EXCHANGE), treasury, 10_000 * U);
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    w.transfer(addr(EXCHANGE), x, 100 * U);
    let early = w.pay(x, payee, 30 * U);
    // Afterwards the payee pays x a little for something else, through a middleman too, and the
    // treasury sends x a grant.
    w.transfer(payee, x, 5 * U);
    w.transfer(payee, m, 5 * U);
    w.transfer(m, x, 4 * U);
    w.transfer(treasury, x, 500 * U);
    let out = run(&w);
    let v = verdict(&out, &early);
    assert_eq!(v.class, Class::External, "{}", v.evidence);
    assert_eq!(flags(v), vec!["external_funding"]);
    assert_eq!(v.project_share, 0.0);
}

#[test]
fn guard_launch_day_of_unrelated_wallets_is_not_a_farm() {
    let mut w = world();
    let mut rng = Lcg(5);
    let payee = addr(1);
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    let mut ids = vec![];
    let wallets: Vec<Addr> = (100..160).map(addr).collect();
    for (i, x) in wallets.iter().enumerate() {
        let ex = if i % 3 == 0 { EXCHANGE2 } else { EXCHANGE };
        w.gas(addr(ex), *x, GAS);
        w.transfer(addr(ex), *x, (10 + rng.below(200) as u128) * U);
    }
    // All on one day, different amounts, same payee.
    for x in &wallets {
        w.wait(rng.below(1200) as i64 + 12);
        ids.push(w.pay(*x, payee, U + rng.below(5 * U as u64) as u128));
    }
    let out = run(&w);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
        assert!(v.cluster_id.is_none());
    }
    assert!(out.clusters.is_empty());
}
