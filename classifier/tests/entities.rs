//! Entities: wallets the evidence ties together (suspected cluster, declared wallets, a shared
//! first funder that is not an exchange, hub or ecosystem wallet) share one `entity_id`, the
//! smallest address among them; everybody else is its own entity.

mod common;

use common::{addr, World, U};
use x402_classifier::{classify, hex0x, Addr, LabelKind, Output, PayerVerdict, RuleConfig};

const EXCHANGE: u32 = 900;

fn payer(out: &Output, a: Addr) -> &PayerVerdict {
    out.payers
        .iter()
        .find(|p| p.payer == a)
        .expect("payer classified")
}

#[test]
fn entities_merge_what_the_evidence_ties_together_and_nothing_else() {
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    let (payee, other_payee) = (addr(1), addr(2));
    w.transfer(addr(EXCHANGE), payee, 100 * U);
    w.transfer(addr(EXCHANGE), other_payee, 100 * U);

    // A farm: one funder, six wallets paying the same amount at once (suspected cluster).
    let root = addr(300);
    w.transfer(addr(EXCHANGE), root, 1_000 * U);
    let farm: Vec<Addr> = (301..307).map(addr).collect();
    for m in &farm {
        w.transfer(root, *m, 20 * U);
    }
    for m in &farm {
        w.pay(*m, other_payee, U);
    }

    // Two friends funded by one ordinary wallet, paying different payees at different times.
    let (friend_funder, f1, f2) = (addr(400), addr(402), addr(401));
    w.transfer(addr(EXCHANGE), friend_funder, 100 * U);
    w.transfer(friend_funder, f1, 10 * U);
    w.wait(86_400);
    w.transfer(friend_funder, f2, 10 * U);
    w.pay(f1, payee, 3 * U);
    w.wait(86_400);
    w.pay(f2, other_payee, 4 * U);

    // A payee's declared wallet pays another payee: tied to its payee.
    let (provider, ops) = (addr(600), addr(50));
    w.transfer(addr(EXCHANGE), provider, 100 * U);
    w.transfer(addr(EXCHANGE), ops, 100 * U);
    w.declare(provider, ops, true);
    w.pay(ops, payee, 2 * U);
    w.pay(addr(700), provider, U); // gives the provider a payment so it is a payee

    // Faucet-funded users and exchange-funded users are distinct people.
    let faucet = addr(800);
    w.file_label(faucet, LabelKind::Ecosystem, Some("faucet"));
    let (u1, u2, e1, e2) = (addr(801), addr(802), addr(811), addr(812));
    w.transfer(faucet, u1, 5 * U);
    w.transfer(faucet, u2, 5 * U);
    w.transfer(addr(EXCHANGE), e1, 5 * U);
    w.transfer(addr(EXCHANGE), e2, 5 * U);
    for x in [u1, u2, e1, e2] {
        w.pay(x, payee, U);
    }
    let out = classify(&w.inputs(), &RuleConfig::default(), None);

    let smallest = *farm.iter().min().unwrap();
    for m in &farm {
        let p = payer(&out, *m);
        assert_eq!(p.entity_id, smallest);
        let why = p.entity_reason.as_deref().unwrap();
        assert!(
            why.contains("suspected_cluster") && why.contains("shared_first_funder"),
            "{why}"
        );
        assert_eq!(p.evidence["entity"]["entity_id"], hex0x(&smallest));
        assert_eq!(p.evidence["entity"]["paying_wallets"], 6);
    }
    for f in [f1, f2] {
        let p = payer(&out, f);
        assert_eq!(p.entity_id, f2, "the smaller address of the two");
        assert_eq!(p.entity_reason.as_deref(), Some("shared_first_funder"));
    }
    let p = payer(&out, ops);
    assert_eq!(p.entity_id, ops.min(provider));
    assert_eq!(p.entity_reason.as_deref(), Some("declared_wallets"));
    for x in [u1, u2, e1, e2, addr(700)] {
        let p = payer(&out, x);
        assert_eq!(p.entity_id, x, "singleton");
        assert_eq!(p.entity_reason, None);
    }
}
