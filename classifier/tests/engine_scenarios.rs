//! Scenario tests of the rule engine with known truth: one per rule and one per false-positive
//! guard, each asserting the class, the flags and the evidence.

mod common;

use common::{addr, World, U};
use serde_json::Value;
use x402_classifier::{
    classify, hex0x, Class, Flag, Hash32, LabelKind, Output, PaymentVerdict, RuleConfig,
};

fn run(w: &World) -> Output {
    classify(&w.inputs(), &RuleConfig::default(), None)
}

fn verdict<'a>(out: &'a Output, id: &Hash32) -> &'a PaymentVerdict {
    out.payments
        .iter()
        .find(|p| &p.id == id)
        .expect("payment classified")
}

fn rule(v: &PaymentVerdict, flag: Flag) -> Value {
    let r = v.evidence_json()["rules"][flag.as_str()].clone();
    assert!(!r.is_null(), "no evidence for {flag:?} in {}", v.evidence);
    r
}

const EXCHANGE: u32 = 900;

/// A world with one labelled exchange.
fn world() -> World {
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    w
}

#[test]
fn self_payment() {
    let mut w = world();
    let a = addr(1);
    w.transfer(addr(EXCHANGE), a, 100 * U);
    let id = w.pay(a, a, 5 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::SelfPayment);
    assert_eq!(v.flags, vec![Flag::SelfPayment]);
    assert_eq!(rule(v, Flag::SelfPayment)["payee"], hex0x(&a));
    assert_eq!(v.evidence_json()["class_rule"], "self_payment");
}

#[test]
fn internal_wallet_from_registry_label_at_payment_block() {
    let mut w = world();
    let (treasury, payee) = (addr(1), addr(2));
    w.transfer(addr(EXCHANGE), treasury, 1000 * U);
    let before = w.pay(treasury, payee, 5 * U);
    let tx = w.registry_label(treasury, 0, "treasury multisig");
    let after = w.pay(treasury, payee, 5 * U);
    let out = run(&w);

    let v = verdict(&out, &after);
    assert_eq!(v.class, Class::Internal);
    assert_eq!(v.flags[0], Flag::InternalWallet);
    let label = rule(v, Flag::InternalWallet)["label"].clone();
    assert_eq!(label["registry_tx"], hex0x(&tx));
    assert_eq!(label["role"], "treasury");
    assert_eq!(label["source"], "registry");
    assert_eq!(label["note"], "treasury multisig");
    // The label holds from its block: the earlier payment is not internal.
    let v0 = verdict(&out, &before);
    assert_eq!(v0.class, Class::External);
    assert!(!v0.flags.contains(&Flag::InternalWallet));
}

#[test]
fn self_dealing_declared_wallet() {
    let mut w = world();
    let (payee, wallet) = (addr(1), addr(2));
    w.transfer(addr(EXCHANGE), wallet, 100 * U);
    let early = w.pay(wallet, payee, 5 * U);
    let tx = w.declare(payee, wallet, true);
    let late = w.pay(wallet, payee, 5 * U);
    w.declare(payee, wallet, false);
    let withdrawn = w.pay(wallet, payee, 5 * U);
    let out = run(&w);

    let v = verdict(&out, &late);
    assert_eq!(v.class, Class::SelfDealing);
    assert_eq!(v.flags, vec![Flag::DeclaredWallet]);
    let d = rule(v, Flag::DeclaredWallet);
    assert_eq!(d["tx"], hex0x(&tx));
    assert_eq!(d["retroactive"], false);
    // A later admission covers earlier payments too; a withdrawal ends it.
    let e = verdict(&out, &early);
    assert_eq!(e.class, Class::SelfDealing);
    assert_eq!(rule(e, Flag::DeclaredWallet)["retroactive"], true);
    assert_eq!(verdict(&out, &withdrawn).class, Class::External);
}

#[test]
fn self_dealing_funding_link_within_two_hops_not_three() {
    let mut w = world();
    let payee = addr(1);
    let (m, x2, m1, m2, x3) = (addr(10), addr(11), addr(20), addr(21), addr(22));
    w.transfer(addr(EXCHANGE), payee, 1000 * U);
    // Two hops: payee -> m -> x2.
    let t1 = w.transfer(payee, m, 50 * U);
    let t2 = w.transfer(m, x2, 40 * U);
    let two = w.pay(x2, payee, 5 * U);
    // Three hops: payee -> m1 -> m2 -> x3, where m2 first got exchange money (so no shared funder).
    w.transfer(addr(EXCHANGE), m2, 10 * U);
    w.transfer(addr(EXCHANGE), m1, 10 * U);
    w.transfer(payee, m1, 50 * U);
    w.transfer(m1, m2, 40 * U);
    // x3 holds mostly exchange money, so the payee's share of what it spends stays small.
    w.transfer(addr(EXCHANGE), x3, 100 * U);
    w.transfer(m2, x3, 30 * U);
    let three = w.pay(x3, payee, 5 * U);
    let out = run(&w);

    let v = verdict(&out, &two);
    assert_eq!(v.class, Class::SelfDealing);
    assert!(v.flags.contains(&Flag::FundingLink));
    let f = rule(v, Flag::FundingLink);
    assert_eq!(f["hops"], 2);
    assert_eq!(
        f["path"],
        serde_json::json!([hex0x(&x2), hex0x(&m), hex0x(&payee)])
    );
    assert_eq!(f["transfers"][0]["tx"], hex0x(&t2));
    assert_eq!(f["transfers"][1]["tx"], hex0x(&t1));
    assert_eq!(f["transfers"][1]["amount"], (50 * U).to_string());

    let v3 = verdict(&out, &three);
    assert_eq!(v3.class, Class::External, "{}", v3.evidence);
    assert!(!v3.flags.contains(&Flag::FundingLink));
}

#[test]
fn self_dealing_shared_first_funder() {
    let mut w = world();
    let (funder, payee, x) = (addr(1), addr(2), addr(3));
    w.transfer(addr(EXCHANGE), funder, 1000 * U);
    let tp = w.transfer(funder, payee, 10 * U);
    let tx = w.transfer(funder, x, 10 * U);
    let id = w.pay(x, payee, 5 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::SelfDealing);
    assert_eq!(v.flags, vec![Flag::FundingLink, Flag::SharedFirstFunder]);
    let s = rule(v, Flag::SharedFirstFunder);
    assert_eq!(s["funder"], hex0x(&funder));
    assert_eq!(s["payer_first_funding"]["tx"], hex0x(&tx));
    assert_eq!(s["payee_first_funding"]["tx"], hex0x(&tp));
}

#[test]
fn self_dealing_flow_back_within_window() {
    let mut w = world();
    let (payee, x, y) = (addr(1), addr(2), addr(3));
    let (m1, m2) = (addr(10), addr(11));
    for v in [payee, x, y, m1, m2] {
        w.transfer(addr(EXCHANGE), v, 10 * U);
    }
    // x pays 100, and 60 comes back over three hops within a day.
    let paid = w.pay(x, payee, 100 * U);
    w.wait(3600);
    let h1 = w.transfer(payee, m1, 70 * U);
    w.transfer(m1, m2, 65 * U);
    let h3 = w.transfer(m2, x, 60 * U);
    // y pays 100 and gets 60 back only after eight days: a return over the pair's lifetime counts
    // (unless a window is configured).
    let late = w.pay(y, payee, 100 * U);
    w.wait(8 * 24 * 3600);
    w.transfer(payee, m1, 70 * U);
    w.transfer(m1, m2, 65 * U);
    w.transfer(m2, y, 60 * U);
    let out = run(&w);

    let v = verdict(&out, &paid);
    assert_eq!(v.class, Class::SelfDealing, "{}", v.evidence);
    assert_eq!(v.flags, vec![Flag::FlowBack]);
    let f = rule(v, Flag::FlowBack);
    assert_eq!(f["amount_back"], (60 * U).to_string());
    assert_eq!(f["share"], 0.6);
    let path = f["paths"][0].as_array().unwrap();
    assert_eq!(path.len(), 3);
    assert_eq!(path[0]["tx"], hex0x(&h1));
    assert_eq!(path[2]["tx"], hex0x(&h3));

    let v2 = verdict(&out, &late);
    assert_eq!(v2.class, Class::SelfDealing, "{}", v2.evidence);
    assert_eq!(rule(v2, Flag::FlowBack)["window"], "pair lifetime");
    let week = RuleConfig {
        flow_back_window_secs: 7 * 24 * 3600,
        ..RuleConfig::default()
    };
    let out = classify(&w.inputs(), &week, None);
    assert_eq!(verdict(&out, &late).class, Class::External);
    assert_eq!(verdict(&out, &paid).class, Class::SelfDealing);
}

#[test]
fn project_funded_by_fifo_share_with_haircut_reported() {
    let mut w = world();
    let (treasury, x, payee) = (addr(1), addr(2), addr(3));
    w.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    w.transfer(addr(EXCHANGE), treasury, 10_000 * U);
    w.transfer(addr(EXCHANGE), x, 10 * U);
    w.transfer(treasury, x, 100 * U);
    let id = w.pay(x, payee, 50 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::ProjectFunded, "{}", v.evidence);
    assert_eq!(v.flags, vec![Flag::EcosystemFunds]);
    // FIFO: 10 exchange tokens first, then 40 of the treasury's: 0.8. Haircut: 100/110.
    assert!((v.project_share - 0.8).abs() < 1e-9);
    assert!((v.haircut_share - 100.0 / 110.0).abs() < 1e-9);
    let e = rule(v, Flag::EcosystemFunds);
    assert_eq!(e["fifo_share"], 0.8);
    assert_eq!(e["haircut_share"], 0.9091);
    assert_eq!(e["sources"][0]["wallet"], hex0x(&treasury));
    assert_eq!(e["sources"][0]["role"], "treasury");
    assert_eq!(e["sources"][0]["label_source"], "file");
    let payer = out.payers.iter().find(|p| p.payer == x).unwrap();
    assert_eq!(payer.class, Class::ProjectFunded);
    assert_eq!(payer.evidence["project_share"]["fifo"], 0.8);
}

#[test]
fn project_funded_through_an_intermediary() {
    let mut w = world();
    let (faucet, relay, x, payee) = (addr(1), addr(2), addr(3), addr(4));
    w.file_label(faucet, LabelKind::Ecosystem, Some("faucet"));
    w.transfer(addr(EXCHANGE), relay, 5 * U);
    w.transfer(faucet, relay, 100 * U);
    w.transfer(addr(EXCHANGE), x, 2 * U);
    w.transfer(relay, x, 100 * U);
    let id = w.pay(x, payee, 80 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::ProjectFunded, "{}", v.evidence);
    // x spends 2 exchange tokens, then 78 of relay's lot (which was 5/100 exchange, 95/100 faucet).
    assert!(
        v.project_share > 0.9 && v.project_share < 0.93,
        "{}",
        v.project_share
    );
    assert_eq!(
        rule(v, Flag::EcosystemFunds)["sources"][0]["wallet"],
        hex0x(&faucet)
    );
}

#[test]
fn project_funded_by_ecosystem_first_funder() {
    let mut w = world();
    let (faucet, x, payee) = (addr(1), addr(2), addr(3));
    w.file_label(faucet, LabelKind::Ecosystem, Some("faucet"));
    let tx = w.transfer(faucet, x, 5 * U);
    w.transfer(addr(EXCHANGE), x, 500 * U);
    let id = w.pay(x, payee, 100 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::ProjectFunded);
    assert_eq!(v.flags, vec![Flag::EcosystemFirstFunder]);
    assert!((v.project_share - 0.05).abs() < 1e-9);
    let e = rule(v, Flag::EcosystemFirstFunder);
    assert_eq!(e["funding"]["tx"], hex0x(&tx));
    assert_eq!(e["label"]["role"], "faucet");
}

/// A farm: `root` funds `n` wallets which all pay `payee`.
fn farm(w: &mut World, root: u32, n: u32, payee: u32, same: bool) -> Vec<Hash32> {
    w.transfer(addr(EXCHANGE), addr(root), 10_000 * U);
    let members: Vec<_> = (1..=n).map(|i| addr(root + i)).collect();
    for (i, m) in members.iter().enumerate() {
        w.transfer(
            addr(root),
            *m,
            (20 + if same { 0 } else { i as u128 * 7 }) * U,
        );
    }
    let mut ids = vec![];
    for round in 0..3u128 {
        for (i, m) in members.iter().enumerate() {
            let amount = if same { U } else { (i as u128 + 1) * U + round };
            if !same {
                w.wait(3600 * 5 * (i as i64 + 1));
                if i % 2 == 1 && round > 0 {
                    continue; // uneven counts
                }
            }
            ids.push(w.pay(*m, addr(payee), amount));
        }
    }
    ids
}

#[test]
fn suspected_sybil_cluster_meeting_criteria() {
    let mut w = world();
    let ids = farm(&mut w, 100, 6, 1, true);
    let out = run(&w);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
        assert_eq!(v.flags, vec![Flag::SybilCluster]);
        assert!(v.cluster_id.is_some());
    }
    let v = verdict(&out, &ids[0]);
    let c = rule(v, Flag::SybilCluster);
    assert_eq!(c["root_funder"], hex0x(&addr(100)));
    assert_eq!(c["group_size"], 6);
    assert_eq!(c["criteria_met"], 3);
    let row = out
        .clusters
        .iter()
        .find(|c| Some(c.cluster_id) == v.cluster_id)
        .unwrap();
    assert_eq!(row.members, 7);
    assert_eq!(row.stats["suspected"], true);
    assert_eq!(row.stats["same_amount_share"], 1.0);
    assert_eq!(row.stats["payment_count_cv"], 0.0);
    let payer = out.payers.iter().find(|p| p.payer == addr(101)).unwrap();
    assert_eq!(payer.class, Class::SuspectedSybil);
    assert_eq!(payer.evidence["cluster"]["in_group"], true);
}

#[test]
fn suspected_sybil_by_size_alone_but_not_small_irregular_clusters() {
    let mut w = world();
    let big = farm(&mut w, 100, 21, 1, false);
    let small = farm(&mut w, 300, 6, 2, false);
    let out = run(&w);
    let v = verdict(&out, &big[0]);
    assert_eq!(v.class, Class::SuspectedSybil, "{}", v.evidence);
    let s = verdict(&out, &small[0]);
    assert_eq!(s.class, Class::External, "{}", s.evidence);
    let row = out
        .clusters
        .iter()
        .find(|c| Some(c.cluster_id) == s.cluster_id)
        .unwrap();
    assert_eq!(row.stats["suspected"], false);
    assert!(
        row.stats["criteria_met"].as_u64().unwrap() < 2,
        "{}",
        row.stats
    );
}

#[test]
fn external_traced_to_exchange() {
    let mut w = world();
    let (x, payee) = (addr(1), addr(2));
    let tx = w.transfer(addr(EXCHANGE), x, 100 * U);
    let id = w.pay(x, payee, 5 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::External);
    assert_eq!(v.flags, vec![Flag::ExternalFunding]);
    let e = rule(v, Flag::ExternalFunding);
    assert_eq!(e["first_funder"], hex0x(&addr(EXCHANGE)));
    // The payer profile carries the funding path hop by hop.
    let payer = out.payers.iter().find(|p| p.payer == x).unwrap();
    assert_eq!(payer.evidence["funding_path"]["hops"][0]["tx"], hex0x(&tx));
    assert_eq!(
        payer.evidence["funding_path"]["traced_to"]["label"]["kind"],
        "exchange"
    );
    assert_eq!(e["traced_to"]["kind"], "exchange");
    // The address is repeated only when the path goes further than the first funder.
    assert!(e["traced_to"]["address"].is_null());
    assert_eq!(v.project_share, 0.0);

    // Funded through an unlabelled wallet that was itself funded by the exchange.
    let (relay, y) = (addr(7), addr(8));
    w.transfer(addr(EXCHANGE), relay, 100 * U);
    let hop2 = w.transfer(relay, y, 50 * U);
    let id2 = w.pay(y, payee, 5 * U);
    let out = run(&w);
    let v = verdict(&out, &id2);
    assert_eq!(v.class, Class::External);
    let e = rule(v, Flag::ExternalFunding);
    assert_eq!(e["first_funder"], hex0x(&relay));
    assert_eq!(e["traced_to"]["address"], hex0x(&addr(EXCHANGE)));
    let payer = out.payers.iter().find(|p| p.payer == y).unwrap();
    let hops = payer.evidence["funding_path"]["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["tx"], hex0x(&hop2));
    assert_eq!(hops[1]["from"], hex0x(&addr(EXCHANGE)));
}

#[test]
fn unattributed_without_history() {
    let mut w = world();
    let (x, payee) = (addr(1), addr(2));
    let id = w.pay(x, payee, 5 * U);
    w.transfer(addr(EXCHANGE), x, 100 * U);
    let later = w.pay(x, payee, 5 * U);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::Unattributed);
    assert_eq!(v.flags, vec![Flag::NoHistory]);
    assert_eq!(verdict(&out, &later).class, Class::External);
}

// ------------------------------------------------------------------ false-positive guards

#[test]
fn guard_exchange_or_hub_as_common_funder_links_nobody() {
    let mut w = world();
    let (payee, x) = (addr(1), addr(2));
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    w.transfer(addr(EXCHANGE), x, 10 * U);
    let id = w.pay(x, payee, 5 * U);
    // An unlabelled hub (funds >= hub_min_children wallets) is treated like an exchange.
    let hub = addr(500);
    let (payee2, y) = (addr(3), addr(4));
    w.transfer(hub, payee2, 10 * U);
    w.transfer(hub, y, 10 * U);
    for i in 0..8 {
        w.transfer(hub, addr(600 + i), 10 * U);
    }
    let id2 = w.pay(y, payee2, 5 * U);
    let cfg = RuleConfig {
        hub_min_children: 10,
        ..RuleConfig::default()
    };
    let out = classify(&w.inputs(), &cfg, None);
    for id in [id, id2] {
        let v = verdict(&out, &id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
        assert_eq!(v.flags, vec![Flag::ExternalFunding]);
    }
    assert_eq!(
        rule(verdict(&out, &id2), Flag::ExternalFunding)["traced_to"]["kind"],
        "hub"
    );
    // With the default hub threshold the same funder is an ordinary wallet and links them.
    let out = run(&w);
    assert_eq!(verdict(&out, &id2).class, Class::SelfDealing);
}

#[test]
fn guard_dust_taints_nobody() {
    let mut w = world();
    let (treasury, x, payee) = (addr(1), addr(2), addr(3));
    w.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    // Dust first from the treasury (would be the first funder) and from the payee (would link).
    // Dust is judged per sender/receiver pair: the payee's two transfers below stay under one
    // token together.
    w.transfer(treasury, x, U / 2);
    w.transfer(payee, x, U / 3);
    w.transfer(addr(EXCHANGE), x, 100 * U);
    let id = w.pay(x, payee, U / 4);
    // Dust "flowing back" within the window does not count either.
    w.transfer(payee, x, U / 2);
    let out = run(&w);
    let v = verdict(&out, &id);
    assert_eq!(v.class, Class::External, "{}", v.evidence);
    assert_eq!(v.flags, vec![Flag::ExternalFunding]);
    assert_eq!(v.project_share, 0.0);
    assert_eq!(
        rule(v, Flag::ExternalFunding)["traced_to"]["kind"],
        "exchange"
    );
    let payer = out.payers.iter().find(|p| p.payer == x).unwrap();
    assert_eq!(payer.first_funder, Some(addr(EXCHANGE)));

    // The same transfers at one token unit are not dust and do taint.
    let mut w2 = world();
    w2.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    w2.transfer(treasury, x, U);
    w2.transfer(addr(EXCHANGE), x, 100 * U);
    let id2 = w2.pay(x, payee, U / 4);
    assert_eq!(verdict(&run(&w2), &id2).class, Class::ProjectFunded);
}

#[test]
fn guard_paying_many_unrelated_payees_is_not_sybil() {
    let mut w = world();
    let x = addr(1);
    w.transfer(addr(EXCHANGE), x, 1000 * U);
    let mut ids = vec![];
    for p in 0..30 {
        ids.push(w.pay(x, addr(1000 + p), U));
    }
    // And 30 unrelated exchange-funded wallets paying one payee the same amount at once.
    let mut others = vec![];
    for i in 0..30 {
        w.transfer(addr(EXCHANGE), addr(2000 + i), 10 * U);
    }
    for i in 0..30 {
        others.push(w.pay(addr(2000 + i), addr(3000), U));
    }
    let out = run(&w);
    for id in ids.iter().chain(others.iter()) {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
        assert!(v.cluster_id.is_none());
    }
    assert!(out.clusters.is_empty());
}

#[test]
fn settlement_plumbing_is_not_funding() {
    // Payments move tokens payer -> settlement -> payee; the settlement is excluded, so two payers of
    // the same payee are not linked through it and the payee is not their funder.
    let mut w = world();
    let (a, b, payee) = (addr(1), addr(2), addr(3));
    w.transfer(addr(EXCHANGE), a, 10 * U);
    w.transfer(addr(EXCHANGE), b, 10 * U);
    w.pay(a, payee, 5 * U);
    let id = w.pay(b, payee, 5 * U);
    let out = run(&w);
    assert_eq!(verdict(&out, &id).class, Class::External);
}

// ------------------------------------------------------------------ determinism

/// A world exercising every rule at once.
fn busy_world() -> World {
    let mut w = world();
    let (treasury, payee) = (addr(1), addr(2));
    w.file_label(treasury, LabelKind::Ecosystem, Some("treasury"));
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    w.transfer(addr(EXCHANGE), treasury, 10_000 * U);
    farm(&mut w, 100, 6, 3, true);
    for i in 0..10 {
        let x = addr(200 + i);
        match i % 4 {
            0 => w.transfer(addr(EXCHANGE), x, 50 * U),
            1 => w.transfer(treasury, x, 50 * U),
            2 => w.transfer(payee, x, 50 * U),
            _ => [0; 32],
        };
        w.pay(x, payee, (i as u128 + 1) * U);
        w.pay(x, addr(4), U);
    }
    w.declare(payee, addr(203), true);
    w
}

#[test]
fn same_input_gives_identical_output_whatever_the_row_order() {
    let w = busy_world();
    let cfg = RuleConfig::default();
    let a = classify(&w.inputs(), &cfg, None);
    let b = classify(&w.inputs(), &cfg, None);
    let mut shuffled = w.inputs();
    shuffled.payments.reverse();
    shuffled.transfers.reverse();
    shuffled.declarations.reverse();
    let c = classify(&shuffled, &cfg, None);
    for other in [&b, &c] {
        assert_eq!(a.payers, other.payers);
        assert_eq!(a.clusters, other.clusters);
        // Payment order follows payer then chronology, not input order.
        assert_eq!(a.payments, other.payments);
        assert_eq!(a.rule_version, other.rule_version);
        assert_eq!(a.label_version, other.label_version);
    }
    let classes: std::collections::BTreeSet<_> = a.payments.iter().map(|p| p.class).collect();
    assert!(classes.len() >= 5, "{classes:?}");
}

#[test]
fn scoped_evaluation_matches_full_evaluation_for_those_payers() {
    let w = busy_world();
    let cfg = RuleConfig::default();
    let full = classify(&w.inputs(), &cfg, None);
    let scope: std::collections::BTreeSet<_> = [addr(201), addr(103)].into_iter().collect();
    let part = classify(&w.inputs(), &cfg, Some(&scope));
    assert_eq!(part.payers.len(), 2);
    for p in &part.payers {
        assert_eq!(Some(p), full.payers.iter().find(|f| f.payer == p.payer));
    }
    for p in &part.payments {
        assert_eq!(Some(p), full.payments.iter().find(|f| f.id == p.id));
    }
}

#[test]
fn guard_hub_funder_does_not_make_a_sybil_cluster() {
    // The same farm shape, but its funder funded as many wallets as the hub threshold: it is
    // treated like an exchange, so the wallets are not one cluster.
    let mut w = world();
    let ids = farm(&mut w, 100, 12, 1, true);
    let cfg = RuleConfig {
        hub_min_children: 12,
        ..RuleConfig::default()
    };
    let out = classify(&w.inputs(), &cfg, None);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
        assert!(v.cluster_id.is_none());
        assert_eq!(rule(v, Flag::ExternalFunding)["traced_to"]["kind"], "hub");
    }
    // One wallet fewer than the threshold: a suspected farm.
    let out = classify(
        &w.inputs(),
        &RuleConfig {
            hub_min_children: 13,
            ..RuleConfig::default()
        },
        None,
    );
    assert_eq!(verdict(&out, &ids[0]).class, Class::SuspectedSybil);
}

/// Payments that move the token straight from payer to payee (EIP-3009, x402's Permit2 proxies)
/// leave a Transfer that is the payment itself, not funding: organic payers of one provider stay
/// external, and a payee's later payment with that revenue is not "funded by its customers".
#[test]
fn direct_transfer_payments_are_not_funding_edges() {
    let mut w = world();
    let (a, b, provider, other) = (addr(1), addr(2), addr(3), addr(4));
    w.transfer(addr(EXCHANGE), a, 100 * U);
    w.transfer(addr(EXCHANGE), b, 100 * U);
    w.transfer(addr(EXCHANGE), provider, 10 * U);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(w.pay_direct(a, provider, 20 * U));
        ids.push(w.pay_direct(b, provider, 20 * U));
    }
    // The provider spends its revenue with another provider, and pays a customer back nothing.
    let spend = w.pay_direct(provider, other, 50 * U);
    let out = run(&w);
    for id in &ids {
        let v = verdict(&out, id);
        assert_eq!(v.class, Class::External, "{}", v.evidence);
    }
    let v = verdict(&out, &spend);
    assert_eq!(v.class, Class::External, "{}", v.evidence);
}
