//! The read model's dimensions and maintenance: the `source` filter partitions every additive
//! figure (issue 15) over a database holding payments of three sources, written as the indexer
//! writes them.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use alloy_primitives::Address;
use serde_json::Value;
use x402_domain::PaymentSource;

use common::*;

/// Raw units of `token` in a money object, 0 when absent.
fn units(m: &Value, token: Address) -> u128 {
    m["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("not a money: {m}"))
        .iter()
        .find(|t| {
            t["token"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&lc(token))
        })
        .map(|t| t["raw"].as_str().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// The seeded economy (settlement payments) plus EIP-3009 and Permit2-proxy payments.
async fn three_sources() -> Fixture {
    let db = TestDb::new().await;
    seed(&db.pool).await;
    let p = |n, day, payer, payee, token, amount, class| Pay {
        n,
        day,
        payer,
        payee,
        token,
        amount,
        class,
        ..Default::default()
    };
    let ext = Some("external");
    for pay in [
        p(
            101,
            "2026-11-05",
            payer_a(),
            payee_1(),
            token_1(),
            "70",
            ext,
        ),
        p(
            102,
            "2026-11-12",
            payer_f(),
            payee_2(),
            token_1(),
            "30",
            ext,
        ),
        p(
            103,
            "2026-11-12",
            payer_b(),
            payee_3(),
            token_2(),
            "9",
            Some("internal"),
        ),
    ] {
        pay_eip3009(&db.pool, pay).await;
    }
    for pay in [
        p(
            111,
            "2026-11-17",
            payer_g(),
            payee_1(),
            token_1(),
            "45",
            ext,
        ),
        // Not classified yet.
        p(
            112,
            "2026-11-03",
            payer_a(),
            payee_2(),
            token_1(),
            "5",
            None,
        ),
    ] {
        pay_permit2_proxy(&db.pool, pay).await;
    }
    Fixture::over(db, Duration::from_secs(60), None, &[]).await
}

fn with(path: &str, query: &str, source: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !query.is_empty() {
        parts.push(query.to_string());
    }
    if let Some(s) = source {
        parts.push(format!("source={s}"));
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The additive figures of a summary: counts and raw volumes (gross, per class, organic,
/// taint-adjusted) per token.
fn additive_summary(s: &Value) -> BTreeMap<String, u128> {
    let mut out = BTreeMap::new();
    out.insert(
        "gross.count".into(),
        s["gross"]["count"].as_u64().unwrap() as u128,
    );
    out.insert(
        "organic.count".into(),
        s["organic"]["count"].as_u64().unwrap() as u128,
    );
    for t in [token_1(), token_2()] {
        out.insert(format!("gross.{t}"), units(&s["gross"]["volume"], t));
        out.insert(format!("organic.{t}"), units(&s["organic"]["volume"], t));
        // Taint-adjusted volume is exact; these payments' shares are 0 or whole.
        let taint = &s["organic"]["taint_adjusted_volume"];
        out.insert(format!("taint.{t}"), units(taint, t));
    }
    for (class, c) in s["by_class"].as_object().unwrap() {
        out.insert(
            format!("{class}.count"),
            c["count"].as_u64().unwrap() as u128,
        );
        out.insert(
            format!("{class}.{}", token_1()),
            units(&c["volume"], token_1()),
        );
    }
    out
}

fn add(into: &mut BTreeMap<String, u128>, from: BTreeMap<String, u128>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

#[tokio::test]
async fn source_filter_partitions_every_additive_figure() {
    let fx = three_sources().await;
    // The source list: every PaymentSource, with the read model's payments.
    let sources = fx.ok("/v1/sources").await;
    let names: Vec<&str> = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = PaymentSource::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, all);
    let count_of = |name: &str| {
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["payments"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count_of("eip3009"), 3);
    assert_eq!(count_of("permit2_proxy"), 2);
    assert_eq!(count_of("settlement_eip3009"), 0);
    let total = fx.ok("/v1/metrics/summary").await["gross"]["count"]
        .as_i64()
        .unwrap();
    assert_eq!(
        all.iter().map(|s| count_of(s)).sum::<i64>(),
        total,
        "the sources count every payment"
    );
    assert!(count_of("settlement") > 0);

    let scopes = [
        String::new(),
        format!("token={}", lc(token_1())),
        format!("payee={}", lc(payee_1())),
        format!("facilitator={}", lc(fac_2())),
        "class=external".to_string(),
        "from=2026-11-10&to=2026-11-17".to_string(),
    ];
    for scope in &scopes {
        // Summary: the sources add up to the unfiltered figures.
        let whole = additive_summary(&fx.ok(&with("/v1/metrics/summary", scope, None)).await);
        let mut parts = BTreeMap::new();
        for s in &all {
            let part = fx.ok(&with("/v1/metrics/summary", scope, Some(s))).await;
            add(&mut parts, additive_summary(&part));
        }
        assert_eq!(parts, whole, "summary over sources, scope `{scope}`");
        // Two sources at once = their sum.
        let two = additive_summary(
            &fx.ok(&with(
                "/v1/metrics/summary",
                scope,
                Some("eip3009,permit2_proxy"),
            ))
            .await,
        );
        let mut sum = additive_summary(
            &fx.ok(&with("/v1/metrics/summary", scope, Some("eip3009")))
                .await,
        );
        add(
            &mut sum,
            additive_summary(
                &fx.ok(&with("/v1/metrics/summary", scope, Some("permit2_proxy")))
                    .await,
            ),
        );
        assert_eq!(two, sum, "a list of sources, scope `{scope}`");

        // Series: every point's counts and volumes.
        let points = |v: &Value| -> BTreeMap<String, u128> {
            let mut out = BTreeMap::new();
            for p in v["points"].as_array().unwrap() {
                let day = p["period"].as_str().unwrap();
                out.insert(
                    format!("{day}.gross"),
                    p["gross_count"].as_u64().unwrap() as u128,
                );
                out.insert(
                    format!("{day}.organic"),
                    p["organic_count"].as_u64().unwrap() as u128,
                );
                out.insert(format!("{day}.vol"), units(&p["gross_volume"], token_1()));
            }
            out
        };
        let whole = points(&fx.ok(&with("/v1/metrics/series", scope, None)).await);
        let mut parts = BTreeMap::new();
        for s in &all {
            let q = if scope.is_empty() {
                // Same window as the unfiltered series (a source's own data may be shorter).
                "from=2026-11-01&to=2026-11-17".to_string()
            } else if scope.contains("from=") {
                scope.clone()
            } else {
                format!("{scope}&from=2026-11-01&to=2026-11-17")
            };
            add(
                &mut parts,
                points(&fx.ok(&with("/v1/metrics/series", &q, Some(s))).await),
            );
        }
        for (k, v) in &whole {
            assert_eq!(
                parts.get(k).copied().unwrap_or(0),
                *v,
                "series {k}, scope `{scope}`"
            );
        }

        // Lists: payments per payer, per payee, and the payment list itself.
        let per = |v: &Value, key: &str| -> BTreeMap<String, u128> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i[key].as_str().unwrap().to_lowercase(),
                        i["payments"].as_u64().unwrap() as u128,
                    )
                })
                .collect()
        };
        for (path, key) in [("/v1/payers", "payer"), ("/v1/payees", "payee")] {
            let q = if scope.is_empty() {
                "limit=1000".to_string()
            } else {
                format!("{scope}&limit=1000")
            };
            let whole = per(&fx.ok(&with(path, &q, None)).await, key);
            let mut parts = BTreeMap::new();
            for s in &all {
                add(&mut parts, per(&fx.ok(&with(path, &q, Some(s))).await, key));
            }
            assert_eq!(parts, whole, "{path} over sources, scope `{scope}`");
        }
        let q = if scope.is_empty() {
            "limit=1000".to_string()
        } else {
            format!("{scope}&limit=1000")
        };
        let whole = fx.ok(&with("/v1/payments", &q, None)).await["items"]
            .as_array()
            .unwrap()
            .len();
        let mut n = 0;
        for s in &all {
            let page = fx.ok(&with("/v1/payments", &q, Some(s))).await;
            for item in page["items"].as_array().unwrap() {
                assert_eq!(item["source"], *s, "a payment listed under source {s}");
            }
            n += page["items"].as_array().unwrap().len();
        }
        assert_eq!(n, whole, "payments over sources, scope `{scope}`");
    }

    // The EIP-3009 payments alone: exactly the three written.
    let s = fx.ok("/v1/metrics/summary?source=eip3009").await;
    assert_eq!(s["gross"]["count"], 3);
    assert_eq!(units(&s["gross"]["volume"], token_1()), 100);
    assert_eq!(units(&s["gross"]["volume"], token_2()), 9);
    assert_eq!(s["unique_payers"], 3);
    // Cohorts follow the filter too: F's first payment ever is its EIP-3009 one.
    let r = fx
        .ok("/v1/metrics/retention?source=eip3009&from=2026-11-09&to=2026-11-15")
        .await;
    let sizes: Vec<i64> = r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["week"] == 0)
        .map(|c| c["cohort_size"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes, vec![1], "{r}");

    // The payment detail and the payer profile say where payments come from.
    let d = fx.ok(&format!("/v1/payments/{}", pid(101))).await;
    assert_eq!(d["source"], "eip3009");
    let d = fx.ok(&format!("/v1/payments/{}", pid(112))).await;
    assert_eq!(d["source"], "permit2_proxy");
    let profile = fx.ok(&format!("/v1/payers/{}", lc(payer_a()))).await;
    let by_source: BTreeMap<String, i64> = profile["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_string(),
                s["payments"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_source.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["eip3009", "permit2_proxy", "settlement"]
    );
    assert_eq!(by_source["eip3009"], 1);
    assert_eq!(by_source["permit2_proxy"], 1);
    assert_eq!(
        by_source.values().sum::<i64>(),
        profile["payments"].as_i64().unwrap()
    );

    // A bad value names the parameter and lists the valid ones, on every endpoint.
    for path in [
        "/v1/metrics/summary",
        "/v1/metrics/series",
        "/v1/metrics/retention",
        "/v1/payments",
        "/v1/payers",
        "/v1/payees",
    ] {
        let rule = fx.bad(&format!("{path}?source=permit2"), "source").await;
        for s in &all {
            assert!(rule.contains(s), "{path}: {rule}");
        }
        fx.bad(&format!("{path}?source=eip3009,,settlement"), "source")
            .await;
    }

    // The OpenAPI document describes the parameter with its values.
    let doc = fx.ok("/openapi.json").await;
    let params = doc["paths"]["/v1/metrics/summary"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let source = params.iter().find(|p| p["name"] == "source").unwrap();
    let text = source["description"].as_str().unwrap();
    for s in &all {
        assert!(text.contains(s), "{text}");
    }
    assert!(doc["paths"]["/v1/sources"].is_object());
}

/// A small deterministic generator (splitmix64) for the random sequences below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const CLASSES: [Option<&str>; 6] = [
    Some("external"),
    Some("external"),
    Some("internal"),
    Some("project_funded"),
    Some("unattributed"),
    None,
];

/// Writes payment `n` at `block` as the indexer writes its source (a charge folded by
/// `recompute_payments`, an EIP-3009 authorization folded by `fold_eip3009`, a Permit2-proxy
/// settlement folded by `fold_permit2_proxy`), the block row a reorg check reads, and the
/// classifier's verdict when `class` is set.
#[allow(clippy::too_many_arguments)]
async fn ingest(
    pool: &sqlx::PgPool,
    n: u32,
    block: i64,
    source: PaymentSource,
    day: &str,
    payer: Address,
    payee: Address,
    token: Address,
    amount: u64,
    class: Option<&str>,
    share: &str,
) {
    let time = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, n % 60, 0)
        .unwrap()
        .and_utc();
    let hash = alloy_primitives::keccak256(format!("block-{block}"));
    let tx = alloy_primitives::keccak256(format!("tx-{n}"));
    sqlx::query(
        "insert into blocks (chain_id, number, hash, parent_hash, block_time, log_count)
         values ($1, $2, $3, $3, $4, 2)
         on conflict (chain_id, number) do update set hash = excluded.hash, block_time = excluded.block_time",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(hash.as_slice())
    .bind(time)
    .execute(pool)
    .await
    .unwrap();
    match source {
        PaymentSource::Eip3009 => {
            sqlx::query(
                "insert into eip3009_authorizations (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                    token, authorizer, nonce, tx_from, tx_to, transfer_log_index, payee, amount, facilitator_listed, payment_id)
                 values ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $6, 1, $10, $11::numeric, true, $12)",
            )
            .bind(CHAIN)
            .bind(block)
            .bind(hash.as_slice())
            .bind(time)
            .bind(tx.as_slice())
            .bind(token.as_slice())
            .bind(payer.as_slice())
            .bind(alloy_primitives::keccak256(format!("nonce-{n}")).as_slice())
            .bind(fac_2().as_slice())
            .bind(payee.as_slice())
            .bind(amount.to_string())
            .bind(pid(n).as_slice())
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("select fold_eip3009($1, $2, $2)")
                .bind(CHAIN)
                .bind(block)
                .execute(pool)
                .await
                .unwrap();
        }
        PaymentSource::Permit2Proxy => {
            sqlx::query(
                "insert into permit2_proxy_settlements (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                    proxy, with_permit, tx_from, tx_to, transfer_log_index, token, payer, payee, amount,
                    facilitator_listed, payment_id)
                 values ($1, $2, $3, $4, $5, 1, $6, false, $7, $6, 0, $8, $9, $10, $11::numeric, true, $12)",
            )
            .bind(CHAIN)
            .bind(block)
            .bind(hash.as_slice())
            .bind(time)
            .bind(tx.as_slice())
            .bind(x402_domain::X402_EXACT_PERMIT2_PROXY.as_slice())
            .bind(fac_1().as_slice())
            .bind(token.as_slice())
            .bind(payer.as_slice())
            .bind(payee.as_slice())
            .bind(amount.to_string())
            .bind(pid(n).as_slice())
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("select fold_permit2_proxy($1, $2, $2)")
                .bind(CHAIN)
                .bind(block)
                .execute(pool)
                .await
                .unwrap();
        }
        _ => {
            sqlx::query(
                "insert into charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
                    payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee,
                    request_hash, evidence_hash, batch_id)
                 values ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, 0, $11::numeric, $11::numeric, 0, 0, $12, $13, 0)",
            )
            .bind(CHAIN)
            .bind(block)
            .bind(hash.as_slice())
            .bind(time)
            .bind(tx.as_slice())
            .bind(pid(n).as_slice())
            .bind(payer.as_slice())
            .bind(payee.as_slice())
            .bind(token.as_slice())
            .bind(fac_1().as_slice())
            .bind(amount.to_string())
            .bind(alloy_primitives::keccak256(format!("request-{n}")).as_slice())
            .bind(evidence(n).as_slice())
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("select recompute_payments($1, $2)")
                .bind(CHAIN)
                .bind(vec![pid(n).to_vec()])
                .execute(pool)
                .await
                .unwrap();
        }
    }
    if let Some(class) = class {
        sqlx::query(
            "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
                cluster_id, rule_version, label_version)
             values ($1, $2, $3, '{}', '{}', $4::numeric, $4::numeric, null, 'rules-1', 'labels-1')",
        )
        .bind(CHAIN)
        .bind(pid(n).as_slice())
        .bind(class)
        .bind(share)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Moves the indexer checkpoint to `block` and the classifier's state to now, as both do after
/// each step, so the API's refresh looks for changes.
async fn moved(pool: &sqlx::PgPool, block: i64) {
    sqlx::query(
        "insert into checkpoint (chain_id, block_number, block_hash, settlement_address, registry_address, start_block)
         values ($1, $2, $3, $4, $4, 1)
         on conflict (chain_id) do update set block_number = excluded.block_number, block_hash = excluded.block_hash",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(alloy_primitives::keccak256(format!("block-{block}")).as_slice())
    .bind(addr(0xee).as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("update classifier_state set updated_at = clock_timestamp() where chain_id = $1")
        .bind(CHAIN)
        .execute(pool)
        .await
        .unwrap();
}

/// Writes the classifier's verdict on `payer` (its class, and `entity` as its entity id) as the
/// classifier's upsert does: every write stamps `classified_at`.
async fn relabel_payer(pool: &sqlx::PgPool, payer: Address, class: &str, entity: Address) {
    sqlx::query(
        "insert into payer_classes (chain_id, payer, class, flags, evidence, rule_version, label_version, entity_id)
         values ($1, $2, $3, '{}', '{}', 'rules-1', 'labels-2', $4)
         on conflict (chain_id, payer) do update set class = excluded.class,
             entity_id = excluded.entity_id, classified_at = now()",
    )
    .bind(CHAIN)
    .bind(payer.as_slice())
    .bind(class)
    .bind(lc(entity))
    .execute(pool)
    .await
    .unwrap();
}

/// Removes payment `n` (written at `block`) as a reorg does: its events, verdict and payment go
/// and the block gets a new hash.
async fn reorg(pool: &sqlx::PgPool, n: u32, block: i64) {
    for table in [
        "charges",
        "eip3009_authorizations",
        "permit2_proxy_settlements",
    ] {
        sqlx::query(&format!(
            "delete from {table} where chain_id = $1 and block_number >= $2"
        ))
        .bind(CHAIN)
        .bind(block)
        .execute(pool)
        .await
        .unwrap();
    }
    for table in ["payment_classes", "payments"] {
        sqlx::query(&format!(
            "delete from {table} where chain_id = $1 and payment_id = $2"
        ))
        .bind(CHAIN)
        .bind(pid(n).as_slice())
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query("update blocks set hash = sha256(hash) where chain_id = $1 and number >= $2")
        .bind(CHAIN)
        .bind(block)
        .execute(pool)
        .await
        .unwrap();
}

/// One refresher tick, which must follow the change by its deltas (in SQL and in memory); then
/// the SQL model must equal a from-scratch build and the in-memory answers the SQL ones.
async fn follow(fx: &Fixture, step: &str) {
    assert_eq!(
        x402_api::tick(&fx.state, true).await,
        Some(x402_api::Synced::Applied),
        "{step}: the tick applies the refresh's deltas"
    );
    sql_model_equals_rebuild(&fx.db.pool, step).await;
    same_answers(fx, step).await;
}

/// Compares every read-model table with what a from-scratch build makes of the same source
/// (as values: a numeric 1.50 equals 1.5), inside a transaction that is rolled back.
async fn sql_model_equals_rebuild(pool: &sqlx::PgPool, step: &str) {
    let tables = [
        "api_payment_facts",
        "api_daily_stats",
        "api_payer_days",
        "api_payer_stats",
    ];
    let mut tx = pool.begin().await.unwrap();
    for t in tables {
        sqlx::query(&format!(
            "create temp table kept_{t} on commit drop as select * from {t} where chain_id = $1"
        ))
        .bind(CHAIN)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(&format!("delete from {t} where chain_id = $1"))
            .bind(CHAIN)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query(
        "select api_refresh_days($1, array(select distinct (first_block_time at time zone 'UTC')::date
                                           from payments where chain_id = $1))",
    )
    .bind(CHAIN)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "select api_refresh_payer_stats($1, array(select distinct payer from api_payer_days where chain_id = $1))",
    )
    .bind(CHAIN)
    .execute(&mut *tx)
    .await
    .unwrap();
    for t in tables {
        let diff: Vec<String> = sqlx::query_scalar(&format!(
            "select 'incremental only: ' || x::text
             from (select * from kept_{t} except all select * from {t} where chain_id = $1) x
             union all
             select 'rebuild only: ' || y::text
             from (select * from {t} where chain_id = $1 except all select * from kept_{t}) y"
        ))
        .bind(CHAIN)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert!(
            diff.is_empty(),
            "{step}: {t} differs from a rebuild:\n{}",
            diff.join("\n")
        );
    }
    tx.rollback().await.unwrap();
}

/// Every summary and series figure over a list of filter combinations, once from the in-memory read model
/// and once in SQL; panics on the first difference (floats within 1e-9, relative).
async fn same_answers(fx: &Fixture, step: &str) {
    let snap = fx
        .state
        .cube()
        .await
        .expect("the state keeps an in-memory model");
    let meta = fx.state.meta().await;
    let scopes = [
        String::new(),
        "class=external".into(),
        "class=internal,project_funded,unclassified".into(),
        format!("token={}", lc(token_1())),
        format!("token={}&class=external", lc(token_1())),
        format!("payee={}", lc(payee_1())),
        format!("facilitator={}", lc(fac_2())),
        "source=eip3009".into(),
        "source=settlement,permit2_proxy".into(),
        "from=2026-11-05&to=2026-11-12".into(),
        "from=2026-11-09&to=2026-11-15&class=external".into(),
        format!(
            "from=2026-11-01&to=2026-11-30&payee={}&source=settlement",
            lc(payee_2())
        ),
    ];
    for scope in &scopes {
        let q: Vec<(String, String)> = serde_urlencoded::from_str(scope).unwrap();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let raw = x402_api::RawFilters {
            from: get("from"),
            to: get("to"),
            token: get("token"),
            payee: get("payee"),
            facilitator: get("facilitator"),
            class: get("class"),
            source: get("source"),
        };
        let f = x402_api::Filters::parse(raw, &meta.tokens).unwrap();
        let w = x402_api::Window::resolve(&f, meta.bounds);
        let p = fx.state.pricing(&meta.tokens, f.token, w);
        let sql = x402_api::summary(&fx.db.pool, CHAIN, w, &f, &p, None)
            .await
            .unwrap();
        let mem = x402_api::summary(&fx.db.pool, CHAIN, w, &f, &p, Some(&snap))
            .await
            .unwrap();
        let (sql, mem) = (
            serde_json::to_value(&sql).unwrap(),
            serde_json::to_value(&mem).unwrap(),
        );
        equal_json(&mem, &sql, &format!("{step}, summary `{scope}`"));
        for iv in [
            x402_api::Interval::Day,
            x402_api::Interval::Week,
            x402_api::Interval::Month,
        ] {
            let sql = x402_api::series(&fx.db.pool, CHAIN, w, &f, iv, &p, None)
                .await
                .unwrap();
            let mem = x402_api::series(&fx.db.pool, CHAIN, w, &f, iv, &p, Some(&snap))
                .await
                .unwrap();
            equal_json(
                &serde_json::to_value(&mem).unwrap(),
                &serde_json::to_value(&sql).unwrap(),
                &format!("{step}, series {iv:?} `{scope}`"),
            );
        }
    }
}

fn equal_json(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                equal_json(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{at}.{k}"),
                );
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: {a} vs {b}");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                equal_json(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                "{at}: memory {x} vs sql {y}"
            );
        }
        _ => assert_eq!(a, b, "{at}: memory vs sql"),
    }
}

#[tokio::test]
async fn in_memory_read_model_equals_sql_after_random_ingests_reorgs_and_reclassifications() {
    let db = TestDb::new().await;
    seed(&db.pool).await;
    moved(&db.pool, 40_000).await;
    let fx = Fixture::over(db, Duration::from_secs(60), None, &[]).await;
    let pool = fx.db.pool.clone();
    sql_model_equals_rebuild(&pool, "seeded economy").await;
    same_answers(&fx, "seeded economy").await;

    let mut rng = Rng(0x402);
    let payers = [
        payer_a(),
        payer_b(),
        payer_f(),
        payer_g(),
        addr(0x20),
        addr(0x21),
        addr(0x22),
        addr(0x23),
    ];
    let payees = [payee_1(), payee_2(), payee_3()];
    let sources = [
        PaymentSource::Settlement,
        PaymentSource::Eip3009,
        PaymentSource::Permit2Proxy,
    ];
    let mut block = 50_000i64;
    // (payment number, block) of every payment written, newest last.
    let mut written: Vec<(u32, i64)> = Vec::new();
    let mut n = 1000u32;
    for step in 0..24 {
        let what = match rng.below(10) {
            0..=5 => "ingest",
            6 | 7 => "reclassify",
            _ => "reorg",
        };
        match what {
            "ingest" => {
                for _ in 0..1 + rng.below(4) {
                    n += 1;
                    block += 1;
                    let day = format!("2026-11-{:02}", 1 + rng.below(21));
                    let token = if rng.below(4) == 0 {
                        token_2()
                    } else {
                        token_1()
                    };
                    let share = rng.pick(&["0", "0.25", "1"]);
                    ingest(
                        &pool,
                        n,
                        block,
                        rng.pick(&sources),
                        &day,
                        rng.pick(&payers),
                        rng.pick(&payees),
                        token,
                        1 + rng.below(500),
                        rng.pick(&CLASSES),
                        share,
                    )
                    .await;
                    written.push((n, block));
                }
                moved(&pool, block).await;
            }
            "reclassify" => {
                if let Some(&(m, _)) = written.get(rng.below(written.len().max(1) as u64) as usize)
                {
                    let class = rng.pick(&["external", "internal", "suspected_sybil"]);
                    sqlx::query(
                        "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share,
                            haircut_share, cluster_id, rule_version, label_version)
                         values ($1, $2, $3, '{}', '{}', 0, 0, null, 'rules-1', 'labels-2')
                         on conflict (chain_id, payment_id) do update set class = excluded.class, classified_at = now()",
                    )
                    .bind(CHAIN)
                    .bind(pid(m).as_slice())
                    .bind(class)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
                // A later label ties two wallets into one entity.
                let (x, y) = (rng.pick(&payers), rng.pick(&payers));
                relabel_payer(&pool, x, "external", y).await;
                moved(&pool, block).await;
            }
            _ => {
                // The last 1-3 blocks are replaced by a longer chain without these payments.
                let k = (1 + rng.below(3) as usize).min(written.len());
                if k == 0 {
                    continue;
                }
                let gone: Vec<(u32, i64)> = written.split_off(written.len() - k);
                let from = gone[0].1;
                for table in [
                    "charges",
                    "eip3009_authorizations",
                    "permit2_proxy_settlements",
                ] {
                    sqlx::query(&format!(
                        "delete from {table} where chain_id = $1 and block_number >= $2"
                    ))
                    .bind(CHAIN)
                    .bind(from)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
                let ids: Vec<Vec<u8>> = gone.iter().map(|(m, _)| pid(*m).to_vec()).collect();
                for table in ["payment_classes", "payments"] {
                    sqlx::query(&format!(
                        "delete from {table} where chain_id = $1 and payment_id = any($2)"
                    ))
                    .bind(CHAIN)
                    .bind(&ids)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
                // The new chain's blocks keep the heights (new hashes) and add one.
                sqlx::query(
                    "update blocks set hash = sha256(hash) where chain_id = $1 and number >= $2",
                )
                .bind(CHAIN)
                .bind(from)
                .execute(&pool)
                .await
                .unwrap();
                block += 1;
                moved(&pool, block).await;
            }
        }
        let at = format!("step {step} ({what})");
        follow(&fx, &at).await;
    }

    // Cases the random walk may miss.
    // A new payer pays a new payee on a day nobody else paid on...
    n += 1;
    block += 1;
    let (lone, lone_payee) = (addr(0x30), addr(0x31));
    ingest(
        &pool,
        n,
        block,
        PaymentSource::Settlement,
        "2026-11-25",
        lone,
        lone_payee,
        token_1(),
        77,
        Some("external"),
        "0.25",
    )
    .await;
    moved(&pool, block).await;
    follow(&fx, "a new payer, payee and day").await;
    // ...and a reorg removes that payment: the payer's last payment of the day, the day's last.
    reorg(&pool, n, block).await;
    block += 1;
    moved(&pool, block).await;
    follow(&fx, "a reorg removes a payer's and a day's last payment").await;
    // A reclassification moves a payment between classes and changes its project share and
    // flags (taint-adjusted volume and the payer's flag counts move with it).
    let (m, _) = *written.last().expect("payments written");
    sqlx::query(
        "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share,
            haircut_share, cluster_id, rule_version, label_version)
         values ($1, $2, 'project_funded', '{funded_by_project}', '{}', 0.375, 0.375, null, 'rules-1', 'labels-3')
         on conflict (chain_id, payment_id) do update set class = excluded.class, flags = excluded.flags,
             project_share = excluded.project_share, classified_at = now()",
    )
    .bind(CHAIN)
    .bind(pid(m).as_slice())
    .execute(&pool)
    .await
    .unwrap();
    moved(&pool, block).await;
    follow(&fx, "a payment moved between classes").await;
    // A label added later reclassifies a payer (its profile's example payment follows its class)
    // and ties it to another wallet, with none of its payments changing.
    relabel_payer(&pool, payer_g(), "suspected_sybil", payer_b()).await;
    moved(&pool, block).await;
    follow(&fx, "a payer relabelled").await;
    // A from-scratch rebuild of the SQL read model gives what the incremental one gave.
    let incremental = {
        let snap = fx.state.cube().await.unwrap();
        let meta = fx.state.meta().await;
        let f = x402_api::Filters::default();
        let w = x402_api::Window::resolve(&f, meta.bounds);
        let p = fx.state.pricing(&meta.tokens, None, w);
        serde_json::to_value(
            x402_api::summary(&pool, CHAIN, w, &f, &p, Some(&snap))
                .await
                .unwrap(),
        )
        .unwrap()
    };
    x402_api::rebuild(&pool, CHAIN).await.unwrap();
    fx.state.sync().await.unwrap();
    same_answers(&fx, "after a full rebuild").await;
    let snap = fx.state.cube().await.unwrap();
    let meta = fx.state.meta().await;
    let f = x402_api::Filters::default();
    let w = x402_api::Window::resolve(&f, meta.bounds);
    let p = fx.state.pricing(&meta.tokens, None, w);
    let rebuilt = serde_json::to_value(
        x402_api::summary(&pool, CHAIN, w, &f, &p, Some(&snap))
            .await
            .unwrap(),
    )
    .unwrap();
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("coverage");
        v
    };
    equal_json(
        &strip(incremental),
        &strip(rebuilt),
        "incremental vs rebuilt",
    );
}

#[tokio::test]
async fn a_refresh_that_finds_the_model_inconsistent_rebuilds_it() {
    let fx = Fixture::new().await;
    // The model loses F's payer-days behind the refresh's back...
    sqlx::query("delete from api_payer_days where chain_id = $1 and payer = $2")
        .bind(CHAIN)
        .bind(payer_f().as_slice())
        .execute(&fx.db.pool)
        .await
        .unwrap();
    // ...then F's payment is reclassified: its delta would take a missing row below zero.
    sqlx::query(
        "update payment_classes set class = 'external', classified_at = now()
         where chain_id = $1 and payment_id = $2",
    )
    .bind(CHAIN)
    .bind(pid(9).as_slice())
    .execute(&fx.db.pool)
    .await
    .unwrap();
    moved(&fx.db.pool, 40_000).await;
    assert_eq!(
        x402_api::tick(&fx.state, true).await,
        Some(x402_api::Synced::Reloaded),
        "the refresh rebuilt the model and the process reloaded it"
    );
    sql_model_equals_rebuild(&fx.db.pool, "after the repair").await;
    same_answers(&fx, "after the repair").await;
}
