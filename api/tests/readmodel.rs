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
