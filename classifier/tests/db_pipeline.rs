//! The classifier against real PostgreSQL: the indexer's tables in, verdicts out; from-scratch and
//! incremental runs converge; a label added later reclassifies history; reorgs fall back to a full
//! run.

mod common;

use common::pg::TestDb;
use common::{addr, World, U};
use sqlx::Row;
use x402_classifier::{hex0x, Follower, LabelKind, RuleConfig, Step};

const EXCHANGE: u32 = 900;

type Snapshot = (Vec<String>, Vec<String>, Vec<String>);

/// Every verdict as text, sorted, without the classification timestamps.
async fn snapshot(db: &TestDb) -> Snapshot {
    let q = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
        }
    };
    (
        q("select concat_ws('|', encode(payment_id,'hex'), class, flags::text, evidence::text, project_share::text,
                 haircut_share::text, cluster_id::text, rule_version, label_version)
           from payment_classes order by payment_id").await,
        q("select concat_ws('|', encode(payer,'hex'), class, flags::text, evidence::text, encode(first_funder,'hex'),
                 cluster_id::text, rule_version, label_version, entity_id, entity_reason) from payer_classes order by payer").await,
        q("select concat_ws('|', cluster_id::text, encode(root_funder,'hex'), members::text, stats::text)
           from funding_clusters order by cluster_id").await,
    )
}

async fn class_of(db: &TestDb, id: &[u8; 32]) -> (String, Vec<String>, serde_json::Value) {
    let r = sqlx::query(
        "select class, flags, evidence, label_version from payment_classes where payment_id = $1",
    )
    .bind(&id[..])
    .fetch_one(&db.pool)
    .await
    .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

fn follower(db: &TestDb) -> Follower {
    Follower::new(db.pool.clone(), RuleConfig::default(), None)
}

#[tokio::test]
async fn from_scratch_writes_classes_flags_evidence_labels_and_state() {
    let db = TestDb::new().await;
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    let (ops, payee, x) = (addr(1), addr(2), addr(3));
    w.transfer(addr(EXCHANGE), ops, 1000 * U);
    let label_tx = w.registry_label(ops, 2, "ops hot wallet #2");
    let internal = w.pay(ops, payee, 5 * U);
    let fund = w.transfer(addr(EXCHANGE), x, 100 * U);
    let external = w.pay(x, payee, 5 * U);
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;

    let step = follower(&db).from_scratch("test").await.unwrap();
    assert!(matches!(step, Step::Full { payments: 2, .. }), "{step:?}");

    let (class, flags, ev) = class_of(&db, &internal).await;
    assert_eq!(class, "internal");
    assert_eq!(flags[0], "internal_wallet");
    assert_eq!(
        ev["rules"]["internal_wallet"]["label"]["registry_tx"],
        hex0x(&label_tx)
    );
    assert_eq!(
        ev["rules"]["internal_wallet"]["label"]["role"],
        "operations"
    );

    let (class, flags, ev) = class_of(&db, &external).await;
    assert_eq!(class, "external");
    assert_eq!(flags, vec!["external_funding"]);
    assert_eq!(
        ev["rules"]["external_funding"]["first_funder"],
        hex0x(&addr(EXCHANGE))
    );
    assert_eq!(
        ev["rules"]["external_funding"]["traced_to"]["kind"],
        "exchange"
    );

    // The payer profile: class, first funder, full explanation.
    let r = sqlx::query("select class, first_funder, evidence from payer_classes where payer = $1")
        .bind(&x[..])
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(r.get::<String, _>(0), "external");
    assert_eq!(r.get::<Vec<u8>, _>(1), addr(EXCHANGE).to_vec());
    let ev: serde_json::Value = r.get(2);
    assert_eq!(ev["funding_path"]["traced_to"]["kind"], "exchange");
    assert_eq!(ev["funding_path"]["traced_to"]["label"]["source"], "file");
    assert_eq!(ev["funding_path"]["hops"][0]["tx"], hex0x(&fund));
    assert_eq!(ev["classes"]["external"]["payments"], 1);

    // The effective label set, with the registry transaction behind each registry label.
    let labels: Vec<(String, String, Option<Vec<u8>>)> =
        sqlx::query_as("select kind, source, registry_tx from labels order by source, kind")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0], ("exchange".into(), "file".into(), None));
    assert_eq!(
        labels[1],
        (
            "ecosystem".into(),
            "registry".into(),
            Some(label_tx.to_vec())
        )
    );

    let (rv, lv, n): (String, String, i64) = sqlx::query_as(
        "select rule_version, label_version, payments_classified from classifier_state",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(rv, RuleConfig::default().version());
    assert!(lv.starts_with("l-") && lv != "l-empty");
    assert_eq!(n, 2);
    let versions: i64 = sqlx::query_scalar(
        "select count(*) from payment_classes where rule_version = $1 and label_version = $2",
    )
    .bind(&rv)
    .bind(&lv)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(versions, 2);
}

/// A first chunk of history: an exchange, a payee, a few payers and a farm in the making.
fn first_half(w: &mut World) -> Vec<[u8; 32]> {
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    let payee = addr(1);
    w.transfer(addr(EXCHANGE), payee, 1000 * U);
    let mut ids = vec![];
    for i in 0..6 {
        let x = addr(10 + i);
        w.transfer(addr(EXCHANGE), x, 50 * U);
        ids.push(w.pay(x, payee, 5 * U));
    }
    // A farm root funding 4 wallets (not yet a suspected cluster: needs 5).
    w.transfer(addr(EXCHANGE), addr(100), 1000 * U);
    for i in 1..=4 {
        w.transfer(addr(100), addr(100 + i), 20 * U);
    }
    for i in 1..=4 {
        ids.push(w.pay(addr(100 + i), addr(2), U));
    }
    // Unrelated payers far away from everything that happens next.
    for i in 0..5 {
        let x = addr(500 + i);
        w.transfer(addr(EXCHANGE), x, 50 * U);
        ids.push(w.pay(x, addr(3), 2 * U));
    }
    ids
}

/// What happens later: links to old payers, a flow-back for an old payment, the farm grows.
fn second_half(w: &mut World) {
    let payee = addr(1);
    // The payee funds a middleman who funds an old payer: a return of its old payment.
    w.transfer(payee, addr(50), 30 * U);
    w.transfer(addr(50), addr(10), 20 * U);
    // Flow-back to another old payer within the window: 3 hops, more than half the amount.
    w.transfer(payee, addr(60), 10 * U);
    w.transfer(addr(60), addr(61), 9 * U);
    w.transfer(addr(61), addr(11), 4 * U);
    // The farm's fifth wallet: now a suspected cluster, old payments of the first four change.
    w.transfer(addr(100), addr(105), 20 * U);
    w.pay(addr(105), addr(2), U);
    // A payee declares an old payer's wallet.
    w.declare(payee, addr(12), true);
    // New payments by old and new payers.
    w.pay(addr(13), payee, 3 * U);
    w.transfer(addr(EXCHANGE), addr(20), 50 * U);
    w.pay(addr(20), payee, 3 * U);
}

#[tokio::test]
async fn incremental_converges_with_from_scratch() {
    let db = TestDb::new().await;
    let mut w = World::default();
    let ids = first_half(&mut w);
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;
    let mut f = follower(&db);
    assert!(matches!(f.step().await.unwrap(), Step::Full { .. }));
    assert_eq!(f.step().await.unwrap(), Step::UpToDate { block: written });
    assert_eq!(class_of(&db, &ids[0]).await.0, "external");
    assert_eq!(class_of(&db, &ids[6]).await.0, "external");

    second_half(&mut w);
    let before = written;
    w.commit(&db, &mut written).await;
    // A fresh follower (as after a restart) loads the classified baseline and applies the delta.
    let step = follower(&db).step().await.unwrap();
    let Step::Incremental {
        from, to, payers, ..
    } = step
    else {
        panic!("expected incremental, got {step:?}")
    };
    assert_eq!((from, to), (before, written));
    // 17 payers in all; the five far-away ones were not re-evaluated.
    assert!(payers <= 12, "re-evaluated {payers} payers");
    let incremental = snapshot(&db).await;

    // The changes reached old payments. (The payee's transfer to a middleman after ids[0] is not a
    // funding link for it, a transfer after a payment never funds it, but it is a return.)
    assert_eq!(class_of(&db, &ids[0]).await.1, vec!["flow_back"]);
    assert_eq!(class_of(&db, &ids[1]).await.1, vec!["flow_back"]);
    assert_eq!(class_of(&db, &ids[2]).await.1, vec!["declared_wallet"]);
    assert_eq!(class_of(&db, &ids[6]).await.0, "suspected_sybil");

    let step = follower(&db).from_scratch("compare").await.unwrap();
    assert!(matches!(step, Step::Full { .. }));
    let scratch = snapshot(&db).await;
    assert_eq!(incremental.0.len(), scratch.0.len());
    for (a, b) in incremental.0.iter().zip(&scratch.0) {
        assert_eq!(a, b);
    }
    assert_eq!(incremental, scratch);
}

#[tokio::test]
async fn from_scratch_twice_is_identical() {
    let db = TestDb::new().await;
    let mut w = World::default();
    first_half(&mut w);
    second_half(&mut w);
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;
    follower(&db).from_scratch("one").await.unwrap();
    let a = snapshot(&db).await;
    follower(&db).from_scratch("two").await.unwrap();
    assert_eq!(a, snapshot(&db).await);
    assert!(!a.0.is_empty() && !a.2.is_empty());
}

#[tokio::test]
async fn label_added_later_reclassifies_history() {
    let db = TestDb::new().await;
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    let (grants, x, payee) = (addr(1), addr(2), addr(3));
    w.transfer(addr(EXCHANGE), grants, 1000 * U);
    w.transfer(grants, x, 100 * U);
    let old = w.pay(x, payee, 10 * U);
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;
    let mut f = follower(&db);
    f.step().await.unwrap();
    let (class, _, _) = class_of(&db, &old).await;
    assert_eq!(class, "external");
    let lv0: String = sqlx::query_scalar("select label_version from payment_classes")
        .fetch_one(&db.pool)
        .await
        .unwrap();

    // Later, the analyst learns the funder is the project's grants wallet.
    w.file_label(grants, LabelKind::Ecosystem, Some("treasury"));
    w.import_file_labels(&db).await;
    let step = f.step().await.unwrap();
    let Step::Full { reason, .. } = &step else {
        panic!("expected a full reclassification, got {step:?}")
    };
    assert!(reason.contains("label set changed"), "{reason}");
    let (class, flags, ev) = class_of(&db, &old).await;
    assert_eq!(class, "project_funded");
    assert_eq!(flags, vec!["ecosystem_funds", "ecosystem_first_funder"]);
    assert_eq!(
        ev["rules"]["ecosystem_first_funder"]["label"]["source"],
        "file"
    );
    let lv1: String = sqlx::query_scalar("select label_version from payment_classes")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_ne!(lv0, lv1);
    let incremental = snapshot(&db).await;
    follower(&db).from_scratch("compare").await.unwrap();
    assert_eq!(incremental, snapshot(&db).await);
}

#[tokio::test]
async fn reorg_below_last_classified_block_reclassifies_everything() {
    let db = TestDb::new().await;
    let mut w = World::default();
    first_half(&mut w);
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;
    let mut f = follower(&db);
    f.step().await.unwrap();
    // The indexer replaced the last classified block (same number, other hash) and went on.
    sqlx::query("update blocks set hash = '\\xdead' where number = $1")
        .bind(written)
        .execute(&db.pool)
        .await
        .unwrap();
    second_half(&mut w);
    w.commit(&db, &mut written).await;
    let step = f.step().await.unwrap();
    let Step::Full { reason, .. } = &step else {
        panic!("expected full, got {step:?}")
    };
    assert!(reason.contains("reorg"), "{reason}");
}

fn file_label(
    w: &World,
    n: u32,
    kind: LabelKind,
    role: Option<&str>,
    note: &str,
) -> x402_classifier::FileLabel {
    x402_classifier::FileLabel {
        chain_id: w.chain_id,
        address: addr(n),
        kind,
        role: role.map(String::from),
        from_block: 0,
        note: note.into(),
    }
}

async fn imported(db: &TestDb) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select encode(address, 'hex'), kind, note from label_file_entries order by address, kind",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn labels_import_merges_by_default_and_replaces_only_when_asked() {
    use x402_classifier::{import_labels, ImportMode};
    let db = TestDb::new().await;
    let w = World::default();
    let first = vec![
        file_label(&w, 1, LabelKind::Exchange, None, "cex"),
        file_label(&w, 2, LabelKind::Bridge, None, "bridge"),
        file_label(&w, 3, LabelKind::Ecosystem, Some("faucet"), "faucet"),
    ];
    let r = import_labels(&db.pool, &first, ImportMode::Merge)
        .await
        .unwrap();
    assert_eq!(
        (
            r.added.len(),
            r.replaced.len(),
            r.removed.len(),
            r.unchanged
        ),
        (3, 0, 0, 0)
    );

    // A second file naming only address 3 (now the treasury) and a new address 4: addresses 1 and
    // 2 keep their labels; 3's old label is reported as replaced.
    let second = vec![
        file_label(&w, 3, LabelKind::Ecosystem, Some("treasury"), "treasury"),
        file_label(&w, 4, LabelKind::Other, Some("vendor"), "vendor"),
    ];
    let r = import_labels(&db.pool, &second, ImportMode::Merge)
        .await
        .unwrap();
    assert_eq!(r.added, second);
    assert_eq!(r.replaced, vec![first[2].clone()]);
    assert!(r.removed.is_empty());
    let rows = imported(&db).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().any(|r| r.2 == "cex") && rows.iter().any(|r| r.2 == "bridge"));
    assert!(rows.iter().any(|r| r.2 == "treasury") && !rows.iter().any(|r| r.2 == "faucet"));

    // The same file again changes nothing.
    let r = import_labels(&db.pool, &second, ImportMode::Merge)
        .await
        .unwrap();
    assert!(!r.changed());
    assert_eq!(r.unchanged, 2);

    // --replace: the file becomes the whole imported set; what it does not name is removed.
    let third = vec![file_label(&w, 1, LabelKind::Exchange, None, "cex, renamed")];
    let r = import_labels(&db.pool, &third, ImportMode::Replace)
        .await
        .unwrap();
    assert_eq!(r.added, third);
    assert_eq!(r.replaced.len(), 1);
    assert_eq!(r.removed.len(), 3);
    let rows = imported(&db).await;
    assert_eq!(
        rows,
        vec![(
            hex::encode(addr(1)),
            "exchange".to_string(),
            "cex, renamed".to_string()
        )]
    );
}

#[tokio::test]
async fn native_transfers_are_funding_edges_when_the_indexer_records_them_and_entities_are_stored()
{
    let db = TestDb::new().await;
    let mut w = World::default();
    w.file_label(addr(EXCHANGE), LabelKind::Exchange, None);
    let (gas, payee) = (addr(100), addr(1));
    w.transfer(addr(EXCHANGE), payee, 10 * U);
    let members: Vec<_> = (101..107).map(addr).collect();
    for m in &members {
        w.gas(gas, *m, 1_000_000_000_000_000);
        w.transfer(addr(EXCHANGE), *m, 30 * U);
    }
    for m in &members {
        w.pay(*m, payee, U);
    }
    let mut written = 0;
    w.commit(&db, &mut written).await;
    w.import_file_labels(&db).await;

    // Before the indexer records native transfers (no table): exchange-funded singletons.
    follower(&db).from_scratch("no native table").await.unwrap();
    let rows: Vec<(String, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "select entity_id, entity_reason, first_funder from payer_classes order by payer",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), members.len());
    for (r, m) in rows.iter().zip(&members) {
        assert_eq!(r.0, hex0x(m));
        assert_eq!(r.1, None);
        assert_eq!(r.2, Some(addr(EXCHANGE).to_vec()));
    }

    // The indexer's table (created by its migration after the merge), with the gas transfers.
    write_native(&db, &w, 0).await;
    follower(&db).from_scratch("native table").await.unwrap();
    type Row = (String, Option<String>, Option<Vec<u8>>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "select entity_id, entity_reason, first_funder, class from payer_classes order by payer",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for r in &rows {
        assert_eq!(r.0, hex0x(&members[0]));
        assert!(
            r.1.as_deref().unwrap().contains("shared_first_funder"),
            "{r:?}"
        );
        assert_eq!(r.2, Some(gas.to_vec()));
        assert_eq!(r.3, "suspected_sybil");
    }
}

/// Creates the indexer's `native_transfers` table if needed (its migration is not part of this
/// crate) and writes the world's native transfers above block `after`.
async fn write_native(db: &TestDb, w: &World, after: i64) {
    sqlx::query(
        "create table if not exists native_transfers (chain_id int8, block_number int8, block_hash bytea,
           block_time timestamptz, tx_hash bytea, tx_index int4, from_address bytea, to_address bytea,
           value numeric(78,0), primary key (chain_id, block_number, tx_index))",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    for t in w.native.iter().filter(|t| t.block > after) {
        sqlx::query("insert into native_transfers values ($1, $2, '\\x00', to_timestamp($3), $4, $5, $6, $7, $8::numeric)")
            .bind(w.chain_id)
            .bind(t.block)
            .bind(t.time as f64)
            .bind(&t.tx[..])
            .bind(t.tx_index)
            .bind(&t.from[..])
            .bind(&t.to[..])
            .bind(t.value.to_string())
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn incremental_with_gas_funding_returns_and_declarations_converges_with_from_scratch() {
    let db = TestDb::new().await;
    let mut w = World::default();
    let mut ids = first_half(&mut w);
    let gas = addr(700);
    w.gas(addr(EXCHANGE), gas, 10_000_000_000_000_000_000);
    // Gas-funded wallets paying payee 4 (tokens from the exchange).
    for i in 0..4 {
        let m = addr(710 + i);
        w.gas(gas, m, 1_000_000_000_000_000);
        w.transfer(addr(EXCHANGE), m, 30 * U);
        ids.push(w.pay(m, addr(4), U));
    }
    let mut written = 0;
    w.commit(&db, &mut written).await;
    write_native(&db, &w, 0).await;
    w.import_file_labels(&db).await;
    let mut f = follower(&db);
    assert!(matches!(f.step().await.unwrap(), Step::Full { .. }));
    assert_eq!(class_of(&db, &ids[15]).await.0, "external");

    // Later: a fifth gas-funded wallet makes the group a farm; the payee's declared wallet returns
    // an old payment through two relays a month later; old payers keep paying.
    let before = written;
    second_half(&mut w);
    let m = addr(714);
    w.gas(gas, m, 1_000_000_000_000_000);
    w.transfer(addr(EXCHANGE), m, 30 * U);
    w.pay(m, addr(4), U);
    let ops = addr(80);
    w.transfer(addr(EXCHANGE), ops, 100 * U);
    w.declare(addr(1), ops, true);
    w.wait(30 * 86_400);
    w.transfer(ops, addr(81), 5 * U);
    w.transfer(addr(81), addr(82), 5 * U);
    w.transfer(addr(82), addr(14), 5 * U);
    w.commit(&db, &mut written).await;
    write_native(&db, &w, before).await;
    let step = follower(&db).step().await.unwrap();
    assert!(matches!(step, Step::Incremental { .. }), "{step:?}");
    let incremental = snapshot(&db).await;
    assert_eq!(class_of(&db, &ids[15]).await.0, "suspected_sybil");
    assert_eq!(class_of(&db, &ids[4]).await.1, vec!["flow_back"]);

    follower(&db).from_scratch("compare").await.unwrap();
    let scratch = snapshot(&db).await;
    for (a, b) in incremental.1.iter().zip(&scratch.1) {
        assert_eq!(a, b);
    }
    assert_eq!(incremental, scratch);
}
