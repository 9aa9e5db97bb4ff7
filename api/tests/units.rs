//! Honest units: cross-token figures in USD from the configured price source (never raw units
//! added across decimals), unpriced tokens said and left out, exact taint-adjusted volume, int8
//! ids as strings, and paying entities beside wallets. Every figure is computed by hand below.

mod common;

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use common::*;

const TTL: Duration = Duration::from_secs(60);

/// 2^53 + 1: the first integer a JSON number read by JavaScript cannot hold.
const BIG_CLUSTER: i64 = 9_007_199_254_740_993;

/// Two priced tokens of different decimals and one unpriced, all on 2026-11-02:
///
/// | n | payer | payee | token | raw | USD | class |
/// |---|---|---|---|---|---|---|
/// | 1 | A | P1 | USDC (6, par) | 5_000_000 | 5 | external |
/// | 2 | C | P1 | USDC | 15_000_000 | 15 | internal |
/// | 3 | B | P2 | OPG (18, 0.5 USD) | 10 x 10^18 | 5 | external |
/// | 4 | D | P2 | WETH (18, no price) | 10^18 | - | external |
///
/// Organic USD = 5 + 5 = 10 of 25 priced: share 0.4. Adding raw units gave
/// (5e6 + 1e19 + 1e18) / (2e7 + 1e19 + 1e18) = 0.99999...
async fn two_token_economy() -> Fixture {
    let db = TestDb::new().await;
    let pool = &db.pool;
    let rows = [
        (1, payer_a(), payee_1(), token_1(), "5000000", "external"),
        (2, payer_c(), payee_1(), token_1(), "15000000", "internal"),
        (
            3,
            payer_b(),
            payee_2(),
            token_2(),
            "10000000000000000000",
            "external",
        ),
        (
            4,
            payer_d(),
            payee_2(),
            token_3(),
            "1000000000000000000",
            "external",
        ),
    ];
    for (n, payer, payee, token, amount, class) in rows {
        pay(
            pool,
            Pay {
                n,
                payer,
                payee,
                token,
                amount,
                class: Some(class),
                cluster: (n == 1).then_some(BIG_CLUSTER),
                ..Default::default()
            },
        )
        .await;
    }
    verdict(pool, payer_a(), "external", Some(BIG_CLUSTER), None).await;
    sqlx::query(
        "insert into funding_clusters (chain_id, cluster_id, root_funder, members, stats)
         values ($1, $2, $3, 2, $4)",
    )
    .bind(CHAIN)
    .bind(BIG_CLUSTER)
    .bind(funder_x().as_slice())
    .bind(serde_json::json!({"cluster_id": BIG_CLUSTER, "paying_members": 1}))
    .execute(pool)
    .await
    .unwrap();
    Fixture::over(db, TTL, None, &[("OPG", "0.5")]).await
}

#[tokio::test]
async fn organic_share_adds_usd_not_raw_units_of_different_decimals() {
    let fx = two_token_economy().await;
    let s = fx.ok("/v1/metrics/summary").await;
    let share = s["organic"]["volume_share"].as_f64().unwrap();
    assert!(
        (share - 0.4).abs() < 1e-12,
        "organic share {share}, want 0.4"
    );
    // The old figure, raw units added across 6 and 18 decimals.
    let raw_sum_share = (5e6 + 1e19 + 1e18) / (2e7 + 1e19 + 1e18);
    assert!((share - raw_sum_share).abs() > 0.5);
    assert_eq!(s["gross"]["volume"]["usd"], "25");
    assert_eq!(s["organic"]["volume"]["usd"], "10");
    // Every amount with its unit; WETH is listed, unpriced, and left out of the USD total.
    let w = &s["gross"]["volume"]["tokens"][2];
    assert_eq!(
        *w,
        serde_json::json!({"token": token_3().to_checksum(None), "symbol": "WETH", "decimals": 18, "raw": "1000000000000000000", "usd": null})
    );
    assert_eq!(
        s["prices"]["unpriced_tokens"],
        serde_json::json!([token_3().to_checksum(None)])
    );
    assert!(s["prices"]["source"]
        .as_str()
        .unwrap()
        .contains("OPG at 0.5 USD"));
    assert_eq!(
        raw(&s["organic"]["volume"], token_2()),
        "10000000000000000000"
    );
    assert_eq!(s["by_class"]["internal"]["volume"]["usd"], "15");
    let internal = s["by_class"]["internal"]["volume_share"].as_f64().unwrap();
    assert!((internal - 0.6).abs() < 1e-12);
    // Concentration in USD: C 15, A 5, B 5; D holds only unpriced WETH.
    let c = &s["concentration"]["payers"];
    assert_eq!(c["holders"], 3);
    assert!((c["top1_share"].as_f64().unwrap() - 0.6).abs() < 1e-12);
    // Payees: P1 20 USD, P2 5 USD (+ unpriced WETH).
    assert_eq!(s["concentration"]["payees"]["holders"], 2);
    assert!((s["concentration"]["payees"]["top1_share"].as_f64().unwrap() - 0.8).abs() < 1e-12);

    // Per token, exact raw units and shares in those units.
    let t1 = fx
        .ok(&format!("/v1/metrics/summary?token={}", lc(token_1())))
        .await;
    assert_eq!(raw(&t1["gross"]["volume"], token_1()), "20000000");
    assert!((t1["organic"]["volume_share"].as_f64().unwrap() - 0.25).abs() < 1e-12);
    let t2 = fx
        .ok(&format!("/v1/metrics/summary?token={}", lc(token_2())))
        .await;
    assert_eq!(t2["gross"]["volume"]["usd"], "5");
    assert!((t2["organic"]["volume_share"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // An unpriced token alone: exact raw units, no USD, the share in its own units.
    let t3 = fx
        .ok(&format!("/v1/metrics/summary?token={}", lc(token_3())))
        .await;
    assert!(t3["gross"]["volume"]["usd"].is_null());
    assert_eq!(
        raw(&t3["gross"]["volume"], token_3()),
        "1000000000000000000"
    );
    assert!((t3["organic"]["volume_share"].as_f64().unwrap() - 1.0).abs() < 1e-12);
}

#[tokio::test]
async fn lists_rank_by_usd_and_page_through_decimal_cursors() {
    let fx = two_token_economy().await;
    // Payees: P1 (20 USD) before P2 (5 USD), although P2 has ~10^19 raw units.
    let payees = fx.ok("/v1/payees").await;
    let order: Vec<String> = payees["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["payee"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(order, vec![lc(payee_1()), lc(payee_2())], "{payees}");
    let p2 = &payees["items"][1];
    assert_eq!(p2["volume"]["usd"], "5");
    assert_eq!(raw(&p2["volume"], token_3()), "1000000000000000000");
    // P2's organic share over its priced volume: OPG 5 of 5.
    assert!((p2["organic_share"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!((payees["items"][0]["organic_share"].as_f64().unwrap() - 0.25).abs() < 1e-12);

    // Payers: C 15, then A and B at 5 (by address), then D (unpriced only).
    let want = vec![lc(payer_c()), lc(payer_a()), lc(payer_b()), lc(payer_d())];
    let all = fx.ok("/v1/payers").await;
    let order: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["payer"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(order, want);
    let mut paged = Vec::new();
    let mut uri = "/v1/payers?limit=1".to_string();
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
            Some(c) => uri = format!("/v1/payers?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, want, "keyset paging over fractional USD keys");
    // With a token filter the list ranks by that token's raw units.
    let t2 = fx.ok(&format!("/v1/payers?token={}", lc(token_2()))).await;
    assert_eq!(t2["unit"], "raw units of OPG");
    assert_eq!(t2["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cluster_ids_above_2_pow_53_are_strings() {
    let fx = two_token_economy().await;
    let want = BIG_CLUSTER.to_string();
    let a = fx.ok(&format!("/v1/payers/{}", lc(payer_a()))).await;
    assert_eq!(a["cluster"]["cluster_id"], want.as_str());
    assert_eq!(a["cluster"]["stats"]["cluster_id"], want.as_str());
    assert_eq!(
        a["verdict"]["evidence"]["cluster"]["cluster_id"],
        want.as_str()
    );
    assert_eq!(
        a["example_payment"]["evidence"]["cluster"]["cluster_id"],
        want.as_str()
    );
    let p = fx.ok(&format!("/v1/payments/{}", pid(1))).await;
    assert_eq!(p["classification"]["cluster_id"], want.as_str());
    assert_eq!(p["batch_id"], "0");
    // The OpenAPI schema says so too.
    let doc = fx.ok("/openapi.json").await;
    let s = &doc["components"]["schemas"];
    assert_eq!(
        s["ClusterOut"]["properties"]["cluster_id"]["type"],
        "string"
    );
    let c = &s["Classification"]["properties"]["cluster_id"];
    assert!(c.to_string().contains("string"), "{c}");
}

#[tokio::test]
async fn daily_prices_apply_per_day_and_a_late_series_leaves_the_token_unpriced() {
    let db = TestDb::new().await;
    let opg = |n, day, amount| Pay {
        n,
        day,
        payer: payer_b(),
        payee: payee_2(),
        token: token_2(),
        amount,
        ..Default::default()
    };
    pay(&db.pool, opg(1, "2026-11-02", "10000000000000000000")).await;
    pay(&db.pool, opg(2, "2026-11-04", "1000000000000000000")).await;
    // 11-02 takes 11-01's 0.5; 11-04 takes 11-03's 1.25.
    let file = "[OPG]\n\"2026-11-01\" = \"0.5\"\n\"2026-11-03\" = \"1.25\"\n";
    let fx = Fixture::over(db, TTL, Some(file), &[]).await;
    let s = fx.ok("/v1/metrics/summary").await;
    assert_eq!(s["gross"]["volume"]["usd"], "6.25");
    let d = fx.ok("/v1/metrics/daily").await;
    assert_eq!(d["points"][0]["gross_volume"]["usd"], "5");
    assert_eq!(d["points"][2]["gross_volume"]["usd"], "1.25");
    // A window starting before the series: OPG is unpriced for it, said, and out of USD.
    let s = fx.ok("/v1/metrics/summary?from=2026-10-31").await;
    assert_eq!(s["gross"]["volume"]["usd"], "0");
    assert!(s["prices"]["unpriced_tokens"]
        .to_string()
        .contains(&token_2().to_checksum(None)));
    assert_eq!(
        raw(&s["gross"]["volume"], token_2()),
        "11000000000000000000"
    );
}

#[tokio::test]
async fn taint_adjusted_volume_is_exact_and_never_above_what_it_adjusts() {
    let db = TestDb::new().await;
    // Huge amounts and shares near and beyond 1 (a float8 share would round 1 - 1e-20 to 1 and
    // zero the first payment out; a share outside [0, 1] must be clamped).
    let cases = [
        (
            1,
            "123456789012345678901234567890123",
            "project_funded",
            "0.99999999999999999999",
        ),
        (2, "99999999999999999999999999999999999999", "external", "0"),
        (3, "1000", "project_funded", "1.5"),
        (4, "1000", "project_funded", "-0.5"),
    ];
    for (n, amount, class, share) in cases {
        pay(
            &db.pool,
            Pay {
                n,
                payer: addr(0x20 + n as u8),
                amount,
                class: Some(class),
                share,
                ..Default::default()
            },
        )
        .await;
    }
    let fx = Fixture::over(db, TTL, None, &[]).await;
    let s = fx.ok("/v1/metrics/summary").await;
    let taint = raw(&s["organic"]["taint_adjusted_volume"], token_1());
    // 1234567890123.45678901234567890123 + 99999999999999999999999999999999999999 + 0 + 1000.
    assert_eq!(
        taint,
        "100000000000000000000000001234567891122.45678901234567890123"
    );
    assert_eq!(
        s["organic"]["taint_adjusted_volume"]["usd"],
        "100000000000000000000000001234567.89112245678901234567890123"
    );
    let adjusted = BigDecimal::from_str(&raw(&s["by_class"]["external"]["volume"], token_1()))
        .unwrap()
        + BigDecimal::from_str(&raw(&s["by_class"]["project_funded"]["volume"], token_1()))
            .unwrap();
    assert!(BigDecimal::from_str(&taint).unwrap() <= adjusted);
    // The series carries the same exact figure.
    let d = fx.ok("/v1/metrics/daily").await;
    assert_eq!(
        raw(&d["points"][0]["taint_adjusted_organic_volume"], token_1()),
        taint
    );
}

#[tokio::test]
async fn entities_merge_wallets_the_evidence_ties_together() {
    let fx = Fixture::new().await;
    // The classifier ties A and B into one entity (A is the smaller address), stamping the
    // verdicts it rewrites as its upsert does.
    sqlx::query(
        "update payer_classes set entity_id = $1, entity_reason = 'common funder', classified_at = now()
         where chain_id = $2 and payer = any($3)",
    )
    .bind(lc(payer_a()))
    .bind(CHAIN)
    .bind(vec![payer_a().to_vec(), payer_b().to_vec()])
    .execute(&fx.db.pool)
    .await
    .unwrap();
    // ... and records that it wrote (its state moves), so the API's refresh follows.
    sqlx::query("update classifier_state set updated_at = clock_timestamp() where chain_id = $1")
        .bind(CHAIN)
        .execute(&fx.db.pool)
        .await
        .unwrap();
    x402_api::tick(&fx.state, true).await;
    let s = fx.ok("/v1/metrics/summary").await;
    assert_eq!(s["unique_payers"], 7);
    assert_eq!(s["unique_entities"], 6);
    assert_eq!(s["by_class"]["external"]["unique_payers"], 3);
    assert_eq!(s["by_class"]["external"]["unique_entities"], 2);
    assert_eq!(s["payer_activity"]["payers"], 3);
    assert_eq!(s["payer_activity"]["entities"], 2);
    // 11-03: A and B paid; one entity.
    let d = fx.ok("/v1/metrics/daily").await;
    let p = d["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == "2026-11-03")
        .unwrap();
    assert_eq!(p["unique_payers"], 2);
    assert_eq!(p["unique_entities"], 1);
    // P1's payers A, B, C, F are 3 entities; its external payers A, B one.
    let payees = fx.ok("/v1/payees").await;
    let p1 = &payees["items"][0];
    assert_eq!(
        (p1["payers"].as_i64(), p1["entities"].as_i64()),
        (Some(4), Some(3))
    );
    assert_eq!(p1["external_entities"], 1);
    let payers = fx.ok("/v1/payers?limit=100").await;
    let b = payers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["payer"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&lc(payer_b()))
        })
        .unwrap();
    assert_eq!(b["entity_id"], lc(payer_a()));
    let profile = fx.ok(&format!("/v1/payers/{}", lc(payer_b()))).await;
    assert_eq!(profile["entity_id"], lc(payer_a()));
    assert_eq!(profile["verdict"]["entity_reason"], "common funder");
    // F has no verdict: its own entity.
    let f = fx.ok(&format!("/v1/payers/{}", lc(payer_f()))).await;
    assert_eq!(f["entity_id"], lc(payer_f()));
}

#[tokio::test]
async fn profile_amounts_are_net_of_refunds_like_the_metrics() {
    let fx = Fixture::new().await;
    // Refund 30 of A's payment 1 (100 -> net 70), as the indexer records it.
    sqlx::query(
        "insert into refunds (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
            payer, payee, token, amount)
         values ($1, 900, $2, $3, $4, 0, $5, $6, $7, $8, 30)",
    )
    .bind(CHAIN)
    .bind(alloy_primitives::keccak256("block-900").as_slice())
    .bind(chrono::Utc::now())
    .bind(alloy_primitives::keccak256("refund-tx").as_slice())
    .bind(pid(1).as_slice())
    .bind(payer_a().as_slice())
    .bind(payee_1().as_slice())
    .bind(token_1().as_slice())
    .execute(&fx.db.pool)
    .await
    .unwrap();
    sqlx::query("select recompute_payments($1, $2)")
        .bind(CHAIN)
        .bind(vec![pid(1).to_vec()])
        .execute(&fx.db.pool)
        .await
        .unwrap();
    x402_api::rebuild(&fx.db.pool, CHAIN).await.unwrap();
    fx.state.sync().await.unwrap();
    let s = fx.ok("/v1/metrics/summary").await;
    assert_eq!(raw(&s["organic"]["volume"], token_1()), "1770");
    let a = fx.ok(&format!("/v1/payers/{}", lc(payer_a()))).await;
    assert_eq!(raw(&a["volume"], token_1()), "450");
    assert_eq!(raw(&a["refunded"], token_1()), "30");
    let ext = &a["by_class"][0];
    assert_eq!(ext["key"], "external");
    assert_eq!(raw(&ext["volume"], token_1()), "370");
    assert_eq!(raw(&ext["refunded"], token_1()), "30");
    // The profile's external volume is the metrics' external volume for this payer.
    let list = fx.ok("/v1/payers?class=external&limit=100").await;
    let mine = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["payer"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&lc(payer_a()))
        })
        .unwrap();
    assert_eq!(raw(&mine["volume"], token_1()), "370");
    let text = a["explanation"].to_string();
    assert!(
        text.contains("net of refunds") && text.contains("Refunded"),
        "{text}"
    );
}
