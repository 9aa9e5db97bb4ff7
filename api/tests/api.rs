//! API tests against real PostgreSQL: every endpoint, every bad-parameter rule, and metric values
//! checked against truth computed by hand from the small economy in `common/mod.rs`:
//!
//! | n | day (2026-11) | payer | payee | token | fac | amount | class |
//! |---|---|---|---|---|---|---|---|
//! | 1 | 02 Mon | A | P1 | T1 | F1 | 100 | external |
//! | 2 | 03 | A | P1 | T1 | F1 | 100 | external |
//! | 3 | 10 (batch 1) | A | P2 | T1 | F1 | 200 | external |
//! | 4 | 03 | B | P1 | T1 | F1 | 300 | external |
//! | 5 | 02 | C | P1 | T1 | F2 | 400 | internal |
//! | 6 | 10 (batch 1) | D | P2 | T1 | F1 | 500 | project_funded (share 0.6) |
//! | 7 | 10 (batch 1) | E | E | T2 | F1 | 50 | self_payment |
//! | 8 | 11 | B | P2 | T1 | F1 | 100 | external |
//! | 9 | 16 Mon | F | P1 | T1 | F1 | 250 | unattributed |
//! | 10 | 17 | G | P3 | T1 | F1 | 1000 | external |
//! | 12 | 17 | A | P3 | T1 | F1 | 80 | (not classified) |

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

/// T1's gross volume: every payment but the self-payment in T2 (whose 50 raw units of an
/// 18-decimal token the old code added to T1's 6-decimal units).
const GROSS: f64 = 3030.0;

/// (key, payments, raw volume in `token`) of a profile's `by_class` or `top_payees`.
fn shares(v: &Value, token: alloy_primitives::Address) -> Vec<(String, i64, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_lowercase(),
                s["payments"].as_i64().unwrap(),
                raw(&s["volume"], token),
            )
        })
        .collect()
}

#[tokio::test]
async fn summary_matches_hand_computed_truth() {
    let fx = Fixture::new().await;
    let s = fx.ok("/v1/metrics/summary").await;
    assert_eq!(s["window"]["from"], "2026-11-02");
    assert_eq!(s["window"]["to"], "2026-11-17");
    assert_eq!(s["unit"], "USD over the priced tokens");
    // T1 is a stablecoin (par); T2 and T3 have no price: listed and left out of USD.
    assert_eq!(
        s["prices"]["unpriced_tokens"],
        serde_json::json!([token_2().to_checksum(None), token_3().to_checksum(None)])
    );
    assert_eq!(
        s["prices"]["priced_tokens"],
        serde_json::json!([token_1().to_checksum(None)])
    );
    let g = &s["gross"]["volume"];
    assert_eq!(raw(g, token_1()), "3030");
    assert_eq!(raw(g, token_2()), "50");
    // 3030 raw units of a 6-decimal token at 1 USD.
    assert_eq!(g["usd"], "0.00303");
    assert_eq!(
        g["tokens"][0],
        serde_json::json!({"token": token_1().to_checksum(None), "symbol": "USDC", "decimals": 6, "raw": "3030", "usd": "0.00303"})
    );
    assert!(g["tokens"][1]["usd"].is_null(), "T2 is unpriced");
    assert_eq!(s["gross"]["count"], 11);
    assert_eq!(raw(&s["organic"]["volume"], token_1()), "1800");
    assert_eq!(s["organic"]["volume"]["usd"], "0.0018");
    assert_eq!(s["organic"]["count"], 6);
    close(&s["organic"]["volume_share"], 1800.0 / GROSS);
    close(&s["organic"]["count_share"], 6.0 / 11.0);
    // 1800 x (1 - 0) + 500 x (1 - 0.6).
    assert_eq!(
        raw(&s["organic"]["taint_adjusted_volume"], token_1()),
        "2000"
    );
    assert_eq!(s["organic"]["taint_adjusted_volume"]["usd"], "0.002");
    let bc = &s["by_class"];
    assert_eq!(raw(&bc["internal"]["volume"], token_1()), "400");
    assert_eq!(bc["project_funded"]["count"], 1);
    assert_eq!(raw(&bc["self_payment"]["volume"], token_2()), "50");
    assert_eq!(
        bc["self_payment"]["volume"]["usd"], "0",
        "only unpriced volume"
    );
    close(&bc["self_payment"]["volume_share"], 0.0);
    assert_eq!(bc["suspected_sybil"]["count"], 0);
    assert_eq!(
        bc["suspected_sybil"]["volume"]["tokens"],
        serde_json::json!([])
    );
    assert_eq!(raw(&bc["unclassified"]["volume"], token_1()), "80");
    assert_eq!(bc["external"]["unique_payers"], 3);
    assert_eq!(bc["external"]["unique_entities"], 3);
    assert_eq!(bc["unclassified"]["unique_payers"], 1);
    assert_eq!(s["unique_payers"], 7);
    // No verdict ties wallets together: every wallet is its own entity.
    assert_eq!(s["unique_entities"], 7);

    // External activity over the 16 days 11-02..11-17: payer-days A{02,03,10} B{03,11} G{17}.
    let a = &s["payer_activity"];
    assert_eq!(a["classes"], serde_json::json!(["external"]));
    assert_eq!(a["payers"], 3);
    assert_eq!(a["entities"], 3);
    close(&a["dap_mean"], 6.0 / 16.0);
    close(&a["wap_mean"], 5.0 / 3.0); // weeks of 11-02, 11-09, 11-16: A2 + B2 + G1
    close(&a["map_mean"], 3.0);
    close(&a["stickiness"], (6.0 / 16.0) / 3.0);
    assert_eq!(a["new_payers"], 3);
    assert_eq!(a["returning_payers"], 0);
    assert_eq!(a["repeat_payers"], 2);
    close(&a["repeat_rate"], 2.0 / 3.0);
    close(&a["payees_per_payer"], 5.0 / 3.0);

    // T1 amounts 80 100 100 100 200 250 300 400 500 1000: median 200, mean 303; T2: one 50.
    let size = &s["payment_size"];
    assert_eq!(
        size["by_token"],
        serde_json::json!([
            {"token": token_1().to_checksum(None), "symbol": "USDC", "decimals": 6, "payments": 10, "average": "303.000000", "median": "200"},
            {"token": token_2().to_checksum(None), "symbol": "OPG", "decimals": 18, "payments": 1, "average": "50.000000", "median": "50"},
        ])
    );
    // 0.00303 USD over the 10 payments in priced tokens.
    assert_eq!(size["average_usd"], "0.000303");

    // In USD over the priced tokens: E's T2 volume is unpriced, so E holds nothing.
    // Payers: G 1000, D 500, A 480, B 400, C 400, F 250.
    assert_eq!(s["concentration"]["unit"], "USD over the priced tokens");
    let p = &s["concentration"]["payers"];
    assert_eq!(p["holders"], 6);
    close(&p["top1_share"], 1000.0 / GROSS);
    close(&p["top5_share"], 2780.0 / GROSS);
    close(&p["top10_share"], 1.0);
    let hhi =
        (1000f64.powi(2) + 500f64.powi(2) + 480f64.powi(2) + 2.0 * 400f64.powi(2) + 250f64.powi(2))
            / GROSS.powi(2);
    close(&p["hhi"], hhi);
    close(&p["effective_holders"], 1.0 / hhi);
    // Ascending 250 400 400 480 500 1000: sum(i x_i) = 12670; G = 2*12670/(6*3030) - 7/6.
    close(&p["gini"], 2.0 * 12670.0 / (6.0 * GROSS) - 7.0 / 6.0);
    // Payees: P1 1150, P3 1080, P2 800 (E's self-payment is unpriced).
    let q = &s["concentration"]["payees"];
    assert_eq!(q["holders"], 3);
    close(&q["top1_share"], 1150.0 / GROSS);
    close(
        &q["hhi"],
        (1150f64.powi(2) + 1080f64.powi(2) + 800f64.powi(2)) / GROSS.powi(2),
    );

    let c = &s["coverage"];
    close(&c["unattributed_volume_share"], 250.0 / GROSS);
    close(&c["unattributed_count_share"], 1.0 / 11.0);
    assert_eq!(c["unclassified_count"], 1);
    close(&c["unclassified_volume_share"], 80.0 / GROSS);
    assert_eq!(c["rule_version"], "rules-1");
    assert_eq!(c["label_version"], "labels-1");
    assert_eq!(c["classified_through_block"], 2000);
    assert_eq!(c["read_model_generation"], 1);
}

#[tokio::test]
async fn summary_filters() {
    let fx = Fixture::new().await;
    // Token T2 holds only the self-payment: exact raw units of T2, shares in T2's units.
    let s = fx
        .ok(&format!("/v1/metrics/summary?token={}", lc(token_2())))
        .await;
    assert_eq!(s["unit"], "raw units of OPG");
    assert_eq!(s["gross"]["volume"]["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(raw(&s["gross"]["volume"], token_2()), "50");
    assert!(s["gross"]["volume"]["usd"].is_null(), "T2 has no price");
    assert_eq!(
        s["prices"]["unpriced_tokens"],
        serde_json::json!([token_2().to_checksum(None)])
    );
    assert_eq!(s["by_class"]["self_payment"]["count"], 1);
    close(&s["by_class"]["self_payment"]["volume_share"], 1.0);
    close(&s["organic"]["volume_share"], 0.0);
    // Per token, the concentration is in raw units: E holds everything.
    assert_eq!(s["concentration"]["payers"]["holders"], 1);
    // Facilitator F2 settled only C's internal payment.
    let s = fx
        .ok(&format!("/v1/metrics/summary?facilitator={}", lc(fac_2())))
        .await;
    assert_eq!(raw(&s["gross"]["volume"], token_1()), "400");
    assert_eq!(tokens_of(&s["gross"]["volume"]), vec![lc(token_1())]);
    assert_eq!(s["by_class"]["internal"]["count"], 1);
    // Payee P1: 100 + 100 + 300 + 400 + 250.
    let s = fx
        .ok(&format!("/v1/metrics/summary?payee={}", lc(payee_1())))
        .await;
    assert_eq!(raw(&s["gross"]["volume"], token_1()), "1150");
    assert_eq!(raw(&s["organic"]["volume"], token_1()), "500");
    // Class filter: the activity metrics follow it.
    let s = fx
        .ok("/v1/metrics/summary?class=external,project_funded")
        .await;
    assert_eq!(raw(&s["gross"]["volume"], token_1()), "2300");
    assert_eq!(
        raw(&s["organic"]["taint_adjusted_volume"], token_1()),
        "2000"
    );
    assert_eq!(
        s["payer_activity"]["classes"],
        serde_json::json!(["project_funded", "external"])
    );
    assert_eq!(s["payer_activity"]["payers"], 4);
    // Window 11-10..11-17: active externals A (10), B (11), G (17); only G is new.
    let s = fx
        .ok("/v1/metrics/summary?from=2026-11-10&to=2026-11-17")
        .await;
    assert_eq!(raw(&s["gross"]["volume"], token_1()), "2130");
    assert_eq!(raw(&s["gross"]["volume"], token_2()), "50");
    assert_eq!(s["payer_activity"]["payers"], 3);
    assert_eq!(s["payer_activity"]["new_payers"], 1);
    assert_eq!(s["payer_activity"]["returning_payers"], 2);
    assert_eq!(s["payer_activity"]["repeat_payers"], 0);
    // A window without payments answers zeros, not an error.
    let s = fx
        .ok("/v1/metrics/summary?from=2027-01-01&to=2027-01-31")
        .await;
    assert_eq!(s["gross"]["count"], 0);
    assert_eq!(s["gross"]["volume"]["usd"], "0");
    assert_eq!(s["gross"]["volume"]["tokens"], serde_json::json!([]));
    assert_eq!(s["payment_size"]["by_token"], serde_json::json!([]));
}

#[tokio::test]
async fn series_daily_weekly_monthly() {
    let fx = Fixture::new().await;
    let d = fx.ok("/v1/metrics/daily").await;
    assert_eq!(d["unit"], "USD over the priced tokens");
    let points = d["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        16,
        "every day of the window, with or without payments"
    );
    let day = |p: &str| points.iter().find(|x| x["period"] == p).unwrap().clone();
    // 11-10: A 200 external, D 500 project-funded (0.6) in T1; E 50 self-payment in T2.
    let p = day("2026-11-10");
    assert_eq!(raw(&p["gross_volume"], token_1()), "700");
    assert_eq!(raw(&p["gross_volume"], token_2()), "50");
    assert_eq!(p["gross_volume"]["usd"], "0.0007");
    assert_eq!(p["gross_count"], 3);
    assert_eq!(raw(&p["organic_volume"], token_1()), "200");
    close(&p["organic_share_volume"], 200.0 / 700.0);
    close(&p["organic_share_count"], 1.0 / 3.0);
    assert_eq!(raw(&p["taint_adjusted_organic_volume"], token_1()), "400");
    assert_eq!(p["unique_payers"], 3);
    assert_eq!(p["unique_entities"], 3);
    assert_eq!(p["active_payers"], 1);
    assert_eq!(p["new_payers"], 0);
    assert_eq!(p["returning_payers"], 1);
    assert_eq!(
        raw(&p["by_class"]["project_funded"]["volume"], token_1()),
        "500"
    );
    let empty = day("2026-11-05");
    assert_eq!(empty["gross_count"], 0);
    assert_eq!(empty["gross_volume"]["usd"], "0");
    close(&empty["organic_share_volume"], 0.0);
    // Same via the generic endpoint.
    assert_eq!(fx.ok("/v1/metrics/series?interval=day").await, d);

    let w = fx.ok("/v1/metrics/weekly").await;
    let weeks: Vec<&Value> = w["points"].as_array().unwrap().iter().collect();
    assert_eq!(
        weeks
            .iter()
            .map(|p| p["period"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["2026-11-02", "2026-11-09", "2026-11-16"]
    );
    assert_eq!(raw(&weeks[0]["gross_volume"], token_1()), "900");
    assert_eq!(weeks[0]["active_payers"], 2);
    assert_eq!(weeks[0]["new_payers"], 2);
    assert_eq!(raw(&weeks[1]["gross_volume"], token_1()), "800");
    assert_eq!(weeks[1]["active_payers"], 2);
    assert_eq!(weeks[1]["new_payers"], 0);
    assert_eq!(raw(&weeks[2]["gross_volume"], token_1()), "1330");
    assert_eq!(weeks[2]["active_payers"], 1);
    assert_eq!(weeks[2]["new_payers"], 1);
    assert_eq!(fx.ok("/v1/metrics/series?interval=week").await, w);

    let m = fx.ok("/v1/metrics/monthly").await;
    assert_eq!(m["points"].as_array().unwrap().len(), 1);
    assert_eq!(raw(&m["points"][0]["gross_volume"], token_1()), "3030");
    assert_eq!(m["points"][0]["gross_volume"]["usd"], "0.00303");
    assert_eq!(m["points"][0]["active_payers"], 3);
    // With a token filter the series is exact in that token's raw units.
    let t = fx
        .ok(&format!("/v1/metrics/monthly?token={}", lc(token_1())))
        .await;
    assert_eq!(t["unit"], "raw units of USDC");
    assert_eq!(
        tokens_of(&t["points"][0]["gross_volume"]),
        vec![lc(token_1())]
    );
    close(&t["points"][0]["organic_share_volume"], 1800.0 / GROSS);
}

/// The retention cells as (cohort, week, active payers, retention, revenue, revenue retention).
type Cell = (String, i64, i64, f64, Option<String>, Option<f64>);

fn cells(r: &Value) -> Vec<Cell> {
    r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cohort"].as_str().unwrap().to_string(),
                c["week"].as_i64().unwrap(),
                c["active_payers"].as_i64().unwrap(),
                c["retention"].as_f64().unwrap(),
                c["revenue"].as_str().map(str::to_string),
                c["revenue_retention"].as_f64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn cohort_retention() {
    let fx = Fixture::new().await;
    // Every external payment is in T1, so the T1 table is the whole story.
    let r = fx
        .ok(&format!(
            "/v1/metrics/retention?weeks=4&token={}",
            lc(token_1())
        ))
        .await;
    // Cohort of week 11-02: A and B (week 0 revenue 100+100+300 = 500; week 1: 200+100 = 300;
    // week 2: none). Cohort of week 11-16: G (1000). Week 1 of the last cohort is not observable.
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        cells(&r),
        vec![
            ("2026-11-02".into(), 0, 2, 1.0, s("500"), Some(1.0)),
            ("2026-11-02".into(), 1, 2, 1.0, s("300"), Some(0.6)),
            ("2026-11-02".into(), 2, 0, 0.0, s("0"), Some(0.0)),
            ("2026-11-16".into(), 0, 1, 1.0, s("1000"), Some(1.0)),
        ]
    );
    assert_eq!(r["cells"][0]["cohort_size"], 2);
    // Without a token filter the payer retention is the same, but revenue is null: raw units of
    // tokens with different decimals do not add up.
    let r = fx.ok("/v1/metrics/retention?weeks=4").await;
    assert_eq!(
        cells(&r),
        vec![
            ("2026-11-02".into(), 0, 2, 1.0, None, None),
            ("2026-11-02".into(), 1, 2, 1.0, None, None),
            ("2026-11-02".into(), 2, 0, 0.0, None, None),
            ("2026-11-16".into(), 0, 1, 1.0, None, None),
        ]
    );
    assert!(r["cells"][0]["revenue"].is_null());
    // Cohorts start inside the window: from 11-09 leaves only G's cohort (A and B started earlier).
    let r = fx.ok("/v1/metrics/retention?from=2026-11-09").await;
    assert_eq!(r["cells"].as_array().unwrap().len(), 1);
    assert_eq!(r["cells"][0]["cohort"], "2026-11-16");
}

/// Adds payment 13 as the indexer and the classifier would: A pays P3 7 raw units of T2 on
/// 2026-11-17, classified external; then rebuilds the read model and reloads the metadata.
async fn a_also_pays_in_token_2(fx: &Fixture) {
    let pool = &fx.db.pool;
    let time = chrono::NaiveDate::from_ymd_opt(2026, 11, 17)
        .unwrap()
        .and_hms_opt(12, 30, 0)
        .unwrap()
        .and_utc();
    sqlx::query(
        "insert into charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
            payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee,
            request_hash, evidence_hash, batch_id)
         values ($1, 500, $2, $3, $4, 0, $5, $6, $7, $8, $9, 0, 7, 7, 0, 0, $10, $11, 0)",
    )
    .bind(CHAIN)
    .bind(alloy_primitives::keccak256("block-500").as_slice())
    .bind(time)
    .bind(alloy_primitives::keccak256("tx-13").as_slice())
    .bind(pid(13).as_slice())
    .bind(payer_a().as_slice())
    .bind(payee_3().as_slice())
    .bind(token_2().as_slice())
    .bind(fac_1().as_slice())
    .bind(alloy_primitives::keccak256("request-13").as_slice())
    .bind(evidence(13).as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("select recompute_payments($1, $2)")
        .bind(CHAIN)
        .bind(vec![pid(13).to_vec()])
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
            cluster_id, rule_version, label_version)
         values ($1, $2, 'external', '{funded_by_exchange}', '{\"payment\": 13}', 0, 0, null, 'rules-1', 'labels-1')",
    )
    .bind(CHAIN)
    .bind(pid(13).as_slice())
    .execute(pool)
    .await
    .unwrap();
    x402_api::rebuild(pool, CHAIN).await.unwrap();
    assert!(
        fx.state.sync().await.unwrap(),
        "the rebuild moves the generation"
    );
}

#[tokio::test]
async fn payer_profile_per_token() {
    let fx = Fixture::new().await;
    a_also_pays_in_token_2(&fx).await;
    let by_token = serde_json::json!([
        {"token": token_1().to_checksum(None), "payments": 4, "volume": "480"},
        {"token": token_2().to_checksum(None), "payments": 1, "volume": "7"},
    ]);

    // No filter: per token, never 480 + 7 raw units of tokens with different decimals; USD
    // over T1 only (T2 unpriced).
    let a = fx.ok(&format!("/v1/payers/{}", lc(payer_a()))).await;
    assert!(a["token"].is_null());
    assert_eq!(a["payments"], 5);
    assert_eq!(raw(&a["volume"], token_1()), "480");
    assert_eq!(raw(&a["volume"], token_2()), "7");
    assert_eq!(a["volume"]["usd"], "0.00048");
    assert_eq!(a["volume_by_token"], by_token);
    assert!(a["amount_basis"]
        .as_str()
        .unwrap()
        .starts_with("net settled"));

    // T1: the totals, classes, payees and flags count T1 alone; the breakdown stays complete.
    let t1 = fx
        .ok(&format!(
            "/v1/payers/{}?token={}",
            lc(payer_a()),
            lc(token_1())
        ))
        .await;
    assert_eq!(t1["token"], token_1().to_checksum(None));
    assert_eq!(t1["payments"], 4);
    assert_eq!(raw(&t1["volume"], token_1()), "480");
    assert_eq!(tokens_of(&t1["volume"]), vec![lc(token_1())]);
    assert_eq!(t1["active_days"], 4);
    assert_eq!(t1["payees"], 3);
    assert_eq!(t1["first_day"], "2026-11-02");
    assert_eq!(t1["last_day"], "2026-11-17");
    assert_eq!(
        shares(&t1["by_class"], token_1()),
        vec![
            ("external".into(), 3, "400".into()),
            ("unclassified".into(), 1, "80".into())
        ]
    );
    assert_eq!(
        raw(&t1["top_payees"][2]["volume"], token_1()),
        "80",
        "P3 without the T2 payment"
    );
    assert_eq!(
        tokens_of(&t1["top_payees"][2]["volume"]),
        vec![lc(token_1())]
    );
    assert_eq!(
        t1["payment_flags"],
        serde_json::json!([{"flag": "funded_by_exchange", "payments": 3}])
    );
    assert_eq!(t1["volume_by_token"], by_token);
    assert_eq!(
        t1["verdict"]["class"], "external",
        "the verdict is the payer's, unfiltered"
    );

    // T2: the single payment.
    let t2 = fx
        .ok(&format!(
            "/v1/payers/{}?token={}",
            lc(payer_a()),
            token_2().to_checksum(None)
        ))
        .await;
    assert_eq!(t2["payments"], 1);
    assert_eq!(raw(&t2["volume"], token_2()), "7");
    assert_eq!(t2["active_days"], 1);
    assert_eq!(t2["payees"], 1);
    assert_eq!(t2["first_day"], "2026-11-17");
    assert_eq!(t2["last_day"], "2026-11-17");
    assert_eq!(
        shares(&t2["by_class"], token_2()),
        vec![("external".into(), 1, "7".into())]
    );
    assert_eq!(
        shares(&t2["top_payees"], token_2()),
        vec![(lc(payee_3()), 1, "7".into())]
    );
    assert_eq!(
        t2["payment_flags"],
        serde_json::json!([{"flag": "funded_by_exchange", "payments": 1}])
    );

    // A payer with no payment in the token: zeros, not a mixed total (and still a profile).
    let e = fx
        .ok(&format!(
            "/v1/payers/{}?token={}",
            lc(payer_e()),
            lc(token_1())
        ))
        .await;
    assert_eq!(e["payments"], 0);
    assert_eq!(raw(&e["volume"], token_1()), "0");
    assert_eq!(e["by_class"], serde_json::json!([]));
    assert_eq!(
        e["volume_by_token"],
        serde_json::json!([{"token": token_2().to_checksum(None), "payments": 1, "volume": "50"}])
    );

    // The token is validated like everywhere else.
    let rule = fx
        .bad(
            &format!("/v1/payers/{}?token={}", lc(payer_a()), lc(addr(0x99))),
            "token",
        )
        .await;
    assert!(rule.contains("not a token"), "{rule}");
    fx.bad(&format!("/v1/payers/{}?token=0x12", lc(payer_a())), "token")
        .await;
    fx.bad(&format!("/v1/payers/{}?payee=0x12", lc(payer_a())), "payee")
        .await;
}

#[tokio::test]
async fn cohort_revenue_per_token_never_mixes_tokens() {
    let fx = Fixture::new().await;
    a_also_pays_in_token_2(&fx).await;
    // No filter: A's T2 payment on 11-17 makes the 11-02 cohort active in week 2, and no revenue
    // is reported rather than 0 + 7 raw units of another token.
    let r = fx.ok("/v1/metrics/retention?weeks=4").await;
    let all = cells(&r);
    assert_eq!(all[2], ("2026-11-02".into(), 2, 1, 0.5, None, None));
    assert!(all.iter().all(|c| c.4.is_none() && c.5.is_none()));
    // T1: A paid nothing in T1 in week 2 of its cohort (80 of it unclassified, not external).
    let r = fx
        .ok(&format!(
            "/v1/metrics/retention?weeks=4&token={}",
            lc(token_1())
        ))
        .await;
    assert_eq!(
        cells(&r)[2],
        ("2026-11-02".into(), 2, 0, 0.0, Some("0".into()), Some(0.0))
    );
    // T2: A's first T2 payment makes it a cohort of its own, in T2's units.
    let r = fx
        .ok(&format!(
            "/v1/metrics/retention?weeks=4&token={}",
            lc(token_2())
        ))
        .await;
    assert_eq!(
        cells(&r),
        vec![("2026-11-16".into(), 0, 1, 1.0, Some("7".into()), Some(1.0))]
    );
}

#[tokio::test]
async fn payments_keyset_pagination() {
    let fx = Fixture::new().await;
    let all = fx.ok("/v1/payments?limit=100").await;
    let ids: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["payment_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 11);
    assert!(all["next_cursor"].is_null());
    // Newest first: 17th 12:20 (12), 17th 12:10 (10), 16th (9), 11th (8), then the batch.
    assert_eq!(ids[0], pid(12).to_string());
    assert_eq!(ids[1], pid(10).to_string());
    assert_eq!(ids[2], pid(9).to_string());
    let first = &all["items"][0];
    assert_eq!(first["class"], "unclassified");
    assert_eq!(first["amount"], "80");
    assert_eq!(
        first["payer"].as_str().unwrap().to_lowercase(),
        lc(payer_a())
    );
    let ext = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["payment_id"] == pid(1).to_string())
        .unwrap();
    assert_eq!(ext["flags"], serde_json::json!(["funded_by_exchange"]));
    assert_eq!(ext["evidence_hash"], evidence(1).to_string());

    let mut paged = Vec::new();
    let mut uri = "/v1/payments?limit=3".to_string();
    loop {
        let page = fx.ok(&uri).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        paged.extend(
            items
                .iter()
                .map(|i| i["payment_id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/payments?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        paged, ids,
        "pages concatenate to the full list, no gaps or repeats"
    );

    let a = fx
        .ok(&format!("/v1/payments?payer={}", lc(payer_a())))
        .await;
    assert_eq!(a["items"].as_array().unwrap().len(), 4);
    let ext = fx
        .ok("/v1/payments?class=external&from=2026-11-03&to=2026-11-10")
        .await;
    let got: Vec<&str> = ext["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["payment_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [pid(3).to_string(), pid(4).to_string(), pid(2).to_string()]
    );
}

#[tokio::test]
async fn payers_and_payees_lists() {
    let fx = Fixture::new().await;
    let all = fx.ok("/v1/payers?limit=100").await;
    let items = all["items"].as_array().unwrap();
    let order: Vec<String> = items
        .iter()
        .map(|i| i["payer"].as_str().unwrap().to_lowercase())
        .collect();
    // Volume desc, ties (B and C at 400) by address.
    assert_eq!(
        order,
        [
            payer_g(),
            payer_d(),
            payer_a(),
            payer_b(),
            payer_c(),
            payer_f(),
            payer_e()
        ]
        .map(lc)
        .to_vec()
    );
    let a = &items[2];
    assert_eq!(a["class"], "external");
    assert_eq!(raw(&a["volume"], token_1()), "480");
    assert_eq!(a["volume"]["usd"], "0.00048");
    assert_eq!(a["entity_id"], lc(payer_a()), "a wallet of its own");
    assert_eq!(items[6]["volume"]["usd"], "0", "E paid only in unpriced T2");
    assert_eq!(all["unit"], "USD over the priced tokens");
    assert_eq!(a["payments"], 4);
    assert_eq!(a["payees"], 3);
    assert_eq!(a["active_days"], 4);
    assert_eq!(a["first_day"], "2026-11-02");
    assert_eq!(a["last_day"], "2026-11-17");
    assert_eq!(
        a["payment_classes"],
        serde_json::json!(["external", "unclassified"])
    );
    assert!(items[5]["class"].is_null(), "F has no payer verdict");

    let mut paged = Vec::new();
    let mut uri = "/v1/payers?limit=2".to_string();
    loop {
        let page = fx.ok(&uri).await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["payer"].as_str().unwrap().to_lowercase()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/payers?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, order);

    let payees = fx.ok("/v1/payees").await;
    let items = payees["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i["payee"].as_str().unwrap().to_lowercase())
            .collect::<Vec<_>>(),
        [payee_1(), payee_3(), payee_2(), payer_e()]
            .map(lc)
            .to_vec()
    );
    let p1 = &items[0];
    assert_eq!(raw(&p1["volume"], token_1()), "1150");
    assert_eq!(raw(&p1["organic_volume"], token_1()), "500");
    close(&p1["organic_share"], 500.0 / 1150.0);
    close(&p1["organic_share_count"], 3.0 / 5.0);
    assert_eq!(p1["payers"], 4);
    assert_eq!(p1["entities"], 4);
    assert_eq!(p1["external_payers"], 2);
    assert_eq!(p1["external_entities"], 2);
    // E's self-payment is all in unpriced T2: no USD share rather than a raw-unit one.
    let e = &items[3];
    assert_eq!(raw(&e["volume"], token_2()), "50");
    close(&e["organic_share"], 0.0);
    let page = fx.ok("/v1/payees?limit=1").await;
    let next = fx
        .ok(&format!(
            "/v1/payees?limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        next["items"][0]["payee"].as_str().unwrap().to_lowercase(),
        lc(payee_3())
    );
}

#[tokio::test]
async fn payer_profile_explains_the_class() {
    let fx = Fixture::new().await;
    let d = fx.ok(&format!("/v1/payers/{}", lc(payer_d()))).await;
    assert_eq!(d["verdict"]["class"], "project_funded");
    assert_eq!(
        d["verdict"]["flags"],
        serde_json::json!(["project_funded_fifo"])
    );
    assert_eq!(d["verdict"]["evidence"]["why"], "project_funded verdict");
    assert_eq!(
        d["verdict"]["first_funder"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        lc(funder_x())
    );
    assert_eq!(d["cluster"]["cluster_id"], "7");
    assert_eq!(d["cluster"]["members"], 3);
    assert_eq!(d["cluster"]["stats"]["paying_members"], 1);
    assert_eq!(
        d["payment_flags"],
        serde_json::json!([{"flag": "project_funded_fifo", "payments": 1}])
    );
    assert_eq!(d["example_payment"]["payment_id"], pid(6).to_string());
    assert_eq!(d["example_payment"]["evidence"]["payment"], 6);
    let text = d["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("project_funded") && text.contains("rules-1") && text.contains("cluster 7"),
        "{text}"
    );

    let a = fx.ok(&format!("/v1/payers/{}", lc(payer_a()))).await;
    assert_eq!(a["payments"], 4);
    assert_eq!(raw(&a["volume"], token_1()), "480");
    assert_eq!(a["active_days"], 4);
    assert_eq!(a["payees"], 3);
    assert_eq!(
        shares(&a["by_class"], token_1()),
        vec![
            ("external".into(), 3, "400".into()),
            ("unclassified".into(), 1, "80".into())
        ]
    );
    assert_eq!(a["by_class"][0]["volume"]["usd"], "0.0004");
    // P1 and P2 tie at 200 (ordered by address), then P3 at 80.
    let top: Vec<(String, String)> = a["top_payees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_lowercase(),
                raw(&p["volume"], token_1()),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            (lc(payee_1()), "200".into()),
            (lc(payee_2()), "200".into()),
            (lc(payee_3()), "80".into())
        ]
    );
    assert_eq!(
        a["payment_flags"],
        serde_json::json!([{"flag": "funded_by_exchange", "payments": 3}])
    );
    assert!(a["cluster"].is_null());

    let c = fx.ok(&format!("/v1/payers/{}", lc(payer_c()))).await;
    assert_eq!(c["labels"][0]["kind"], "ecosystem");
    assert_eq!(c["labels"][0]["role"], "treasury");
    assert_eq!(
        c["labels"][0]["registry_tx"],
        alloy_primitives::keccak256("label-tx").to_string()
    );

    // F paid but has no payer verdict yet: still a profile.
    let f = fx.ok(&format!("/v1/payers/{}", lc(payer_f()))).await;
    assert!(f["verdict"].is_null());
    assert_eq!(f["payments"], 1);
    // Nobody: 404 problem.
    let (status, v) = fx.get(&format!("/v1/payers/{}", lc(addr(0xee)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["type"], "not-found");
}

#[tokio::test]
async fn payment_detail_with_inclusion_proof() {
    let fx = Fixture::new().await;
    let p = fx.ok(&format!("/v1/payments/{}", pid(6))).await;
    assert_eq!(p["payer"].as_str().unwrap().to_lowercase(), lc(payer_d()));
    assert_eq!(p["settled_amount"], "500");
    assert_eq!(p["evidence_hash"], evidence(6).to_string());
    assert_eq!(p["batch_id"], "1");
    assert_eq!(p["events"][0]["kind"], "charged");
    assert_eq!(p["classification"]["class"], "project_funded");
    close(&p["classification"]["project_share"], 0.6);
    let proof = &p["inclusion_proof"];
    assert_eq!(proof["evidence_root"], batch_root().to_string());
    assert_eq!(proof["computed_root"], batch_root().to_string());
    assert_eq!(proof["root_matches"], true);
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["leaf_index"], 1);
    assert_eq!(proof["leaf_count"], 3);
    // Hand check: the proof of leaf 1 is [leaf 0, leaf 2].
    let leaf = |n: u32| {
        alloy_primitives::keccak256(alloy_primitives::keccak256(
            [pid(n).as_slice(), evidence(n).as_slice()].concat(),
        ))
    };
    assert_eq!(proof["leaf"], leaf(6).to_string());
    assert_eq!(
        proof["proof"],
        serde_json::json!([leaf(3).to_string(), leaf(7).to_string()])
    );
    // The carried-up third leaf proves with one sibling.
    let p7 = fx.ok(&format!("/v1/payments/{}", pid(7))).await;
    assert_eq!(p7["inclusion_proof"]["proof"].as_array().unwrap().len(), 1);
    assert_eq!(p7["inclusion_proof"]["verified"], true);

    let alone = fx.ok(&format!("/v1/payments/{}", pid(1))).await;
    assert!(alone["inclusion_proof"].is_null());
    assert_eq!(alone["batch_id"], "0");
    let unclassified = fx.ok(&format!("/v1/payments/{}", pid(12))).await;
    assert!(unclassified["classification"].is_null());
    let (status, v) = fx.get(&format!("/v1/payments/{}", pid(999))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["type"], "not-found");
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let fx = Fixture::new().await;
    let rule = fx.bad("/v1/metrics/summary?class=organic", "class").await;
    assert!(rule.contains("external"), "lists the valid classes: {rule}");
    fx.bad("/v1/metrics/summary?from=2026-11-10&to=2026-11-01", "to")
        .await;
    fx.bad("/v1/metrics/summary?from=2026-13-01", "from").await;
    fx.bad("/v1/metrics/summary?to=yesterday", "to").await;
    fx.bad("/v1/metrics/summary?payee=0x1234", "payee").await;
    fx.bad(
        "/v1/metrics/summary?facilitator=a0000000000000000000000000000000000000081",
        "facilitator",
    )
    .await;
    fx.bad(
        "/v1/metrics/summary?payee=0xZZ00000000000000000000000000000000000051",
        "payee",
    )
    .await;
    // A mixed-case address must carry a valid EIP-55 checksum.
    let good = payee_1().to_checksum(None);
    let flipped: String = good
        .char_indices()
        .map(|(i, ch)| {
            if i > 1 && ch.is_ascii_alphabetic() {
                if ch.is_uppercase() {
                    ch.to_ascii_lowercase()
                } else {
                    ch.to_ascii_uppercase()
                }
            } else {
                ch
            }
        })
        .collect();
    if flipped != good
        && flipped.chars().any(|c| c.is_ascii_uppercase())
        && flipped.chars().skip(2).any(|c| c.is_ascii_lowercase())
    {
        fx.bad(&format!("/v1/metrics/summary?payee={flipped}"), "payee")
            .await;
    }
    fx.ok(&format!("/v1/metrics/summary?payee={good}")).await;
    let rule = fx
        .bad(
            &format!("/v1/metrics/summary?token={}", lc(addr(0x99))),
            "token",
        )
        .await;
    assert!(rule.contains("not a token"), "{rule}");
    fx.bad("/v1/metrics/summary?bogus=1", "bogus").await;
    fx.bad("/v1/metrics/summary?class=external&class=internal", "class")
        .await;
    fx.bad("/v1/metrics/summary?format=xml", "format").await;
    fx.bad("/v1/metrics/series?interval=year", "interval").await;
    fx.bad("/v1/metrics/daily?interval=week", "interval").await;
    fx.bad("/v1/metrics/retention?weeks=99", "weeks").await;
    fx.bad("/v1/metrics/retention?weeks=-1", "weeks").await;
    let rule = fx.bad("/v1/payments?limit=5000", "limit").await;
    assert!(rule.contains("1000"), "{rule}");
    fx.bad("/v1/payments?limit=0", "limit").await;
    fx.bad("/v1/payments?limit=ten", "limit").await;
    fx.bad("/v1/payments?cursor=garbage!", "cursor").await;
    fx.bad("/v1/payments?cursor=eyJ0IjoxfQ", "cursor").await; // valid base64 JSON, wrong shape
    fx.bad("/v1/payments?payer=0x12", "payer").await;
    fx.bad("/v1/payers?limit=1001", "limit").await;
    fx.bad("/v1/payers?cursor=abc", "cursor").await;
    // A payment cursor is not a payer cursor.
    let page = fx.ok("/v1/payments?limit=1").await;
    fx.bad(
        &format!(
            "/v1/payers?cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
        "cursor",
    )
    .await;
    fx.bad("/v1/payees?class=nope", "class").await;
    fx.bad("/v1/payers/0xnothex", "address").await;
    fx.bad("/v1/payers/0x0a", "address").await;
    fx.bad("/v1/payments/0x1234", "payment_id").await;
    fx.bad(&format!("/v1/payments/{}?from=2026-11-01", pid(1)), "from")
        .await;
    // Unknown routes are problems too.
    let (status, v) = fx.get("/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["type"], "not-found");
}

#[tokio::test]
async fn csv_for_every_list_and_series() {
    let fx = Fixture::new().await;
    let csv = |body: Vec<u8>| String::from_utf8(body).unwrap();
    let (status, headers, body) = fx.raw("/v1/metrics/daily?format=csv", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv(body);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(
        header.contains(&"period")
            && header.contains(&"gross_volume.usd")
            && header.contains(&"gross_volume.tokens.0.raw")
            && header.contains(&"by_class.external.volume.usd"),
        "{header:?}"
    );
    assert_eq!(lines.count(), 16, "one row per day");
    let row = text.lines().find(|l| l.contains("2026-11-10")).unwrap();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[col("gross_volume.usd")], "0.0007");
    assert_eq!(cells[col("gross_volume.tokens.0.raw")], "700");
    assert_eq!(cells[col("gross_volume.tokens.0.symbol")], "USDC");
    assert_eq!(cells[col("gross_volume.tokens.1.raw")], "50");
    assert_eq!(
        cells[col("gross_volume.tokens.1.usd")],
        "",
        "T2 is unpriced"
    );
    assert_eq!(
        cells[col("by_class.project_funded.volume.tokens.0.raw")],
        "500"
    );

    // Accept: text/csv works too.
    let (_, headers, body) = fx
        .raw("/v1/metrics/weekly", &[("accept", "text/csv")])
        .await;
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(csv(body).lines().count(), 4);

    for (uri, rows) in [
        ("/v1/metrics/series?interval=month&format=csv", 1),
        ("/v1/metrics/retention?format=csv", 4),
        ("/v1/payments?format=csv&limit=100", 11),
        ("/v1/payers?format=csv", 7),
        ("/v1/payees?format=csv", 4),
    ] {
        let (status, headers, body) = fx.raw(uri, &[]).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"),
            "{uri}"
        );
        assert_eq!(csv(body).lines().count(), rows + 1, "{uri}");
    }
    let (_, _, body) = fx.raw("/v1/payers?format=csv", &[]).await;
    let text = csv(body);
    assert!(text.lines().next().unwrap().contains("payer"));
    assert!(text.to_lowercase().contains(&lc(payer_g())));
    // The summary becomes field,value rows.
    let (_, _, body) = fx.raw("/v1/metrics/summary?format=csv", &[]).await;
    let text = csv(body);
    assert!(text.starts_with("field,value\n"));
    assert!(
        text.lines().any(|l| l == "gross.volume.usd,0.00303"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "gross.volume.tokens.0.raw,3030"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "gross.volume.tokens.1.raw,50"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_gzip_cors_request_id_status_tokens() {
    let fx = Fixture::new().await;
    let doc = fx.ok("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/metrics/summary",
        "/v1/metrics/series",
        "/v1/metrics/daily",
        "/v1/metrics/weekly",
        "/v1/metrics/retention",
        "/v1/payments",
        "/v1/payments/{payment_id}",
        "/v1/payers",
        "/v1/payers/{address}",
        "/v1/payees",
        "/v1/tokens",
        "/v1/status",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let params = doc["paths"]["/v1/payments"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in [
        "from",
        "to",
        "token",
        "payee",
        "facilitator",
        "class",
        "payer",
        "cursor",
        "limit",
        "format",
    ] {
        assert!(names.contains(&n), "{n} not documented: {names:?}");
    }
    assert!(doc["components"]["schemas"]["Summary"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let (status, headers, body) = fx
        .raw(
            "/v1/metrics/daily",
            &[
                ("accept-encoding", "gzip"),
                ("origin", "https://example.org"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(!headers["x-request-id"].is_empty());
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2_decoder(&body), &mut plain).unwrap();
    assert!(plain.contains("\"points\""));
    // A client's own request id is kept.
    let (_, headers, _) = fx.raw("/v1/status", &[("x-request-id", "abc-123")]).await;
    assert_eq!(headers["x-request-id"], "abc-123");

    let status = fx.ok("/v1/status").await;
    assert_eq!(status["chain_id"], CHAIN);
    assert_eq!(status["generation"], 1);
    assert_eq!(status["data_window"]["from"], "2026-11-02");
    let tokens = fx.ok("/v1/tokens").await;
    let list: Vec<String> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["address"].as_str().unwrap().to_lowercase())
        .collect();
    // Tokens with payments plus the deployment's (T3 has no payments yet).
    assert_eq!(list, vec![lc(token_1()), lc(token_2()), lc(token_3())]);
    let t = &tokens["tokens"];
    assert_eq!(t[0]["symbol"], "USDC");
    assert_eq!(t[0]["stablecoin"], true);
    assert_eq!(t[0]["price_source"], "par");
    assert!(t[1]["price_source"].is_null(), "OPG has no price");
}

/// Minimal gzip reader over the body (tower-http's own decompression is not a dev-dependency).
fn flate2_decoder(body: &[u8]) -> impl std::io::Read + '_ {
    flate2::read::GzDecoder::new(body)
}

#[tokio::test]
async fn refresh_follows_reclassification_and_invalidates_the_cache() {
    let fx = Fixture::new().await;
    let before = fx.ok("/v1/metrics/summary").await;
    assert_eq!(raw(&before["organic"]["volume"], token_1()), "1800");
    // A later label reclassifies F's payment as external (as the classifier would: new verdict,
    // new classified_at, state updated).
    sqlx::query(
        "update payment_classes set class = 'external', flags = '{funded_by_exchange}', label_version = 'labels-2',
                classified_at = now() where chain_id = $1 and payment_id = $2",
    )
    .bind(CHAIN)
    .bind(pid(9).as_slice())
    .execute(&fx.db.pool)
    .await
    .unwrap();
    // Cached: still the old answer until the read model moves.
    assert_eq!(
        raw(
            &fx.ok("/v1/metrics/summary").await["organic"]["volume"],
            token_1()
        ),
        "1800"
    );
    let unchanged = x402_api::refresh(&fx.db.pool, CHAIN).await.unwrap();
    assert_eq!(
        unchanged.days, 0,
        "classifier_state did not move: nothing to do"
    );
    sqlx::query("update classifier_state set label_version = 'labels-2', updated_at = now() where chain_id = $1")
        .bind(CHAIN)
        .execute(&fx.db.pool)
        .await
        .unwrap();
    let o = x402_api::refresh(&fx.db.pool, CHAIN).await.unwrap();
    assert_eq!(o.days, 1, "only 2026-11-16 changed");
    assert_eq!(o.generation, 2);
    assert!(fx.state.sync().await.unwrap());
    let after = fx.ok("/v1/metrics/summary").await;
    assert_eq!(raw(&after["organic"]["volume"], token_1()), "2050");
    assert_eq!(after["by_class"]["unattributed"]["count"], 0);
    assert_eq!(after["coverage"]["label_version"], "labels-2");
    assert_eq!(after["coverage"]["read_model_generation"], 2);
    // F's precomputed profile followed too.
    let f = fx.ok(&format!("/v1/payers/{}", lc(payer_f()))).await;
    assert_eq!(
        shares(&f["by_class"], token_1()),
        vec![("external".into(), 1, "250".into())]
    );
    assert_eq!(
        f["payment_flags"],
        serde_json::json!([{"flag": "funded_by_exchange", "payments": 1}])
    );
    // A full rebuild gives the same figures.
    x402_api::rebuild(&fx.db.pool, CHAIN).await.unwrap();
    fx.state.sync().await.unwrap();
    let rebuilt = fx.ok("/v1/metrics/summary").await;
    assert_eq!(rebuilt["organic"], after["organic"]);
    assert_eq!(rebuilt["by_class"], after["by_class"]);
}

#[tokio::test]
async fn no_cache_header_recomputes() {
    // The SQL engine reads the read model's tables on every computation, so a change made
    // behind the cache's back shows once the cache is bypassed.
    let db = TestDb::new().await;
    seed(&db.pool).await;
    let fx = Fixture::with_engine(db, std::time::Duration::from_secs(60), None, &[], false).await;
    assert_eq!(fx.ok("/v1/metrics/summary").await["gross"]["count"], 11);
    // Change the read model behind the cache's back.
    sqlx::query("delete from api_daily_stats where chain_id = $1 and day = '2026-11-17'")
        .bind(CHAIN)
        .execute(&fx.db.pool)
        .await
        .unwrap();
    assert_eq!(
        fx.ok("/v1/metrics/summary").await["gross"]["count"],
        11,
        "cached"
    );
    let (_, _, body) = fx
        .raw("/v1/metrics/summary", &[("cache-control", "no-cache")])
        .await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["gross"]["count"], 9, "recomputed");
}

#[tokio::test]
async fn static_dir_is_served_under_root() {
    let fx = Fixture::new().await;
    let dir = std::env::temp_dir().join(format!("x402-api-static-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>dashboard</h1>").unwrap();
    let app = x402_api::router(fx.state.clone(), Some(dir.clone()));
    use tower::ServiceExt;
    let resp = app
        .clone()
        .oneshot(
            axum::http::Request::get("/index.html")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .oneshot(
            axum::http::Request::get("/v1/status")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    std::fs::remove_dir_all(dir).ok();
}

/// A `MakeWriter` collecting log output in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn request_ids_appear_in_logs() {
    let fx = Fixture::new().await;
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (status, headers, _) = fx
        .raw("/v1/metrics/summary", &[("x-request-id", "req-e2-42")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-request-id"], "req-e2-42");
    // A generated id is logged too.
    let (_, headers, _) = fx.raw("/v1/metrics/summary?class=nope", &[]).await;
    let generated = headers["x-request-id"].to_str().unwrap().to_string();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("request_id=req-e2-42"), "{text}");
    assert!(text.contains(&format!("request_id={generated}")), "{text}");
    assert!(text.contains("status=400"), "{text}");
}

#[tokio::test]
async fn tokens_carry_deployment_metadata_and_count_as_known() {
    let fx = Fixture::new().await;
    let extra = addr(0x73); // in the deployment, no payments yet
    let meta = vec![
        x402_api::TokenMeta {
            address: token_1(),
            symbol: Some("OPG".into()),
            decimals: Some(18),
            stablecoin: false,
        },
        x402_api::TokenMeta {
            address: extra,
            symbol: Some("USDC".into()),
            decimals: Some(6),
            stablecoin: true,
        },
    ];
    let state = x402_api::AppState::with_tokens(
        fx.db.pool.clone(),
        CHAIN,
        std::time::Duration::from_secs(60),
        meta,
    )
    .await
    .unwrap();
    let app = x402_api::router(state, None);
    let get = |uri: String| {
        let app = app.clone();
        async move {
            let resp = tower::ServiceExt::oneshot(
                app,
                axum::http::Request::get(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
            let status = resp.status();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let (_, tokens) = get("/v1/tokens".into()).await;
    let t1 = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["address"].as_str().unwrap().to_lowercase() == lc(token_1()))
        .unwrap();
    assert_eq!(t1["symbol"], "OPG");
    assert_eq!(t1["decimals"], 18);
    assert_eq!(t1["stablecoin"], false);
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 3);
    // A deployment token without payments is a valid filter (zeros), not a 400.
    let (status, s) = get(format!("/v1/metrics/summary?token={}", lc(extra))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["gross"]["count"], 0);
    // The stablecoin of that deployment is priced at par, even with no payments yet.
    assert_eq!(s["gross"]["volume"]["usd"], "0");
    assert_eq!(
        s["prices"]["priced_tokens"],
        serde_json::json!([extra.to_checksum(None)])
    );
}
