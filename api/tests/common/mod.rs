//! Test harness: a throwaway database per test with the indexer's, classifier's and API's
//! migrations, a small economy with known truth written as the indexer and classifier would, and
//! helpers to call the router in-process.

#![allow(dead_code)]

use std::time::Duration;

use alloy_primitives::{keccak256, Address, B256};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

use x402_api::AppState;

pub const CHAIN: i64 = 31337;

/// A throwaway database migrated to the current schema (`x402_testkit::TestDb`), dropped when
/// the value drops.
pub struct TestDb {
    pub pool: PgPool,
    db: x402_testkit::TestDb,
}

impl TestDb {
    pub async fn new() -> Self {
        let db = x402_testkit::TestDb::create()
            .await
            .expect("a throwaway database (is PostgreSQL on 127.0.0.1:5432?)");
        let pool = db.migrated(8).await.expect("the migrated schema");
        Self { pool, db }
    }
}

/// A deterministic address.
pub fn addr(n: u8) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xa0;
    b[19] = n;
    Address::from(b)
}

/// Lowercase 0x-hex of an address (API output is EIP-55; compare lowercased).
pub fn lc(a: Address) -> String {
    format!("{a:#x}")
}

pub fn pid(n: u32) -> B256 {
    keccak256(format!("payment-{n}"))
}

pub fn evidence(n: u32) -> B256 {
    keccak256(format!("evidence-{n}"))
}

// Actors of the small economy.
pub fn payer_a() -> Address {
    addr(0x0a)
}
pub fn payer_b() -> Address {
    addr(0x0b)
}
pub fn payer_c() -> Address {
    addr(0x0c)
}
pub fn payer_d() -> Address {
    addr(0x0d)
}
pub fn payer_e() -> Address {
    addr(0x0e)
}
pub fn payer_f() -> Address {
    addr(0x0f)
}
pub fn payer_g() -> Address {
    addr(0x10)
}
pub fn payee_1() -> Address {
    addr(0x51)
}
pub fn payee_2() -> Address {
    addr(0x52)
}
pub fn payee_3() -> Address {
    addr(0x53)
}
pub fn token_1() -> Address {
    addr(0x71)
}
pub fn token_2() -> Address {
    addr(0x72)
}
pub fn fac_1() -> Address {
    addr(0x81)
}
pub fn fac_2() -> Address {
    addr(0x82)
}
pub fn funder_x() -> Address {
    addr(0x91)
}
/// A third token (18 decimals) that no price source prices.
pub fn token_3() -> Address {
    addr(0x73)
}

/// The deployment file's tokens: T1 a 6-decimal stablecoin (USDC, priced at par), T2 an
/// 18-decimal token (OPG, unpriced unless a test prices it), T3 an 18-decimal token (WETH).
pub fn token_meta() -> Vec<x402_api::TokenMeta> {
    let t = |address, symbol: &str, decimals, stablecoin| x402_api::TokenMeta {
        address,
        symbol: Some(symbol.into()),
        decimals: Some(decimals),
        stablecoin,
    };
    vec![
        t(token_1(), "USDC", 6, true),
        t(token_2(), "OPG", 18, false),
        t(token_3(), "WETH", 18, false),
    ]
}

/// The raw amount of `token` in a money object (`{usd, tokens: [{token, raw, ...}]}`); panics
/// when the token is absent.
pub fn raw(m: &Value, token: Address) -> String {
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
        .unwrap_or_else(|| panic!("no {token} in {m}"))["raw"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The tokens (lowercase) a money object lists.
pub fn tokens_of(m: &Value) -> Vec<String> {
    m["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("not a money: {m}"))
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_lowercase())
        .collect()
}

/// One charge of the economy.
pub struct Charge {
    pub n: u32,
    pub day: &'static str,
    pub minute: u32,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub facilitator: Address,
    pub amount: u64,
    /// class, flags, project share; None = not classified yet.
    pub class: Option<(&'static str, &'static [&'static str], f64)>,
    pub batch: u64,
}

const EXT: Option<(&str, &[&str], f64)> = Some(("external", &["funded_by_exchange"], 0.0));

/// The small economy (see tests/api.rs for the hand-computed truth).
pub fn economy() -> Vec<Charge> {
    let c = |n, day, minute, payer, payee, token, facilitator, amount, class, batch| Charge {
        n,
        day,
        minute,
        payer,
        payee,
        token,
        facilitator,
        amount,
        class,
        batch,
    };
    vec![
        c(
            1,
            "2026-11-02",
            10,
            payer_a(),
            payee_1(),
            token_1(),
            fac_1(),
            100,
            EXT,
            0,
        ),
        c(
            2,
            "2026-11-03",
            10,
            payer_a(),
            payee_1(),
            token_1(),
            fac_1(),
            100,
            EXT,
            0,
        ),
        // Payments 3, 6 and 7 settle in batch 1 (one transaction, evidence root committed).
        c(
            3,
            "2026-11-10",
            30,
            payer_a(),
            payee_2(),
            token_1(),
            fac_1(),
            200,
            EXT,
            1,
        ),
        c(
            4,
            "2026-11-03",
            20,
            payer_b(),
            payee_1(),
            token_1(),
            fac_1(),
            300,
            EXT,
            0,
        ),
        c(
            5,
            "2026-11-02",
            20,
            payer_c(),
            payee_1(),
            token_1(),
            fac_2(),
            400,
            Some(("internal", &["ecosystem_wallet"], 0.0)),
            0,
        ),
        c(
            6,
            "2026-11-10",
            30,
            payer_d(),
            payee_2(),
            token_1(),
            fac_1(),
            500,
            Some(("project_funded", &["project_funded_fifo"], 0.6)),
            1,
        ),
        c(
            7,
            "2026-11-10",
            30,
            payer_e(),
            payer_e(),
            token_2(),
            fac_1(),
            50,
            Some(("self_payment", &["self_payment"], 0.0)),
            1,
        ),
        c(
            8,
            "2026-11-11",
            10,
            payer_b(),
            payee_2(),
            token_1(),
            fac_1(),
            100,
            EXT,
            0,
        ),
        c(
            9,
            "2026-11-16",
            10,
            payer_f(),
            payee_1(),
            token_1(),
            fac_1(),
            250,
            Some(("unattributed", &[], 0.0)),
            0,
        ),
        c(
            10,
            "2026-11-17",
            10,
            payer_g(),
            payee_3(),
            token_1(),
            fac_1(),
            1000,
            EXT,
            0,
        ),
        c(
            12,
            "2026-11-17",
            20,
            payer_a(),
            payee_3(),
            token_1(),
            fac_1(),
            80,
            None,
            0,
        ),
    ]
}

fn ts(day: &str, minute: u32) -> chrono::DateTime<chrono::Utc> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    d.and_hms_opt(12, minute, 0).unwrap().and_utc()
}

/// Writes the economy as the indexer (charges folded by its own `recompute_payments`) and the
/// classifier (payment and payer verdicts, a cluster, labels, state) would.
pub async fn seed(pool: &PgPool) {
    let batch_block = 1000i64;
    let mut ids = Vec::new();
    for (i, ch) in economy().iter().enumerate() {
        let (block, log_index, time) = if ch.batch == 1 {
            // Same block and transaction for the batch, logs in item order 3, 6, 7.
            (batch_block, ch.n as i32, ts("2026-11-10", 30))
        } else {
            (100 + i as i64, 0, ts(ch.day, ch.minute))
        };
        let tx = if ch.batch == 1 {
            keccak256("batch-tx")
        } else {
            keccak256(format!("tx-{}", ch.n))
        };
        sqlx::query(
            "insert into charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
                payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee,
                request_hash, evidence_hash, batch_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12::numeric, $12::numeric, 0, 0, $13, $14, $15::numeric)",
        )
        .bind(CHAIN)
        .bind(block)
        .bind(keccak256(format!("block-{block}")).as_slice())
        .bind(time)
        .bind(tx.as_slice())
        .bind(log_index)
        .bind(pid(ch.n).as_slice())
        .bind(ch.payer.as_slice())
        .bind(ch.payee.as_slice())
        .bind(ch.token.as_slice())
        .bind(ch.facilitator.as_slice())
        .bind(ch.amount.to_string())
        .bind(keccak256(format!("request-{}", ch.n)).as_slice())
        .bind(evidence(ch.n).as_slice())
        .bind(ch.batch.to_string())
        .execute(pool)
        .await
        .unwrap();
        ids.push(pid(ch.n).to_vec());
    }
    // The batch's BatchSettled with the root the contract would emit (computed in the test from
    // the documented construction, independently of the API's code).
    sqlx::query(
        "insert into batches (chain_id, block_number, block_hash, block_time, tx_hash, log_index, batch_id,
            facilitator, item_count, settled_count, evidence_root)
         values ($1, $2, $3, $4, $5, 99, 1, $6, 3, 3, $7)",
    )
    .bind(CHAIN)
    .bind(batch_block)
    .bind(keccak256(format!("block-{batch_block}")).as_slice())
    .bind(ts("2026-11-10", 30))
    .bind(keccak256("batch-tx").as_slice())
    .bind(fac_1().as_slice())
    .bind(batch_root().as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("select recompute_payments($1, $2)")
        .bind(CHAIN)
        .bind(&ids)
        .execute(pool)
        .await
        .unwrap();

    for ch in economy() {
        let Some((class, flags, share)) = ch.class else {
            continue;
        };
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        sqlx::query(
            "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
                cluster_id, rule_version, label_version)
             values ($1, $2, $3, $4, $5, $6::numeric, $6::numeric, null, 'rules-1', 'labels-1')",
        )
        .bind(CHAIN)
        .bind(pid(ch.n).as_slice())
        .bind(class)
        .bind(&flags)
        .bind(serde_json::json!({"rule": class, "payment": ch.n}))
        .bind(share.to_string())
        .execute(pool)
        .await
        .unwrap();
    }
    let payer_verdicts: [(Address, &str, &[&str], Option<i64>); 6] = [
        (payer_a(), "external", &["funded_by_exchange"], None),
        (payer_b(), "external", &["funded_by_exchange"], None),
        (payer_c(), "internal", &["ecosystem_wallet"], None),
        (
            payer_d(),
            "project_funded",
            &["project_funded_fifo"],
            Some(7),
        ),
        (payer_e(), "self_payment", &["self_payment"], None),
        (payer_g(), "external", &["funded_by_exchange"], None),
    ];
    for (payer, class, flags, cluster) in payer_verdicts {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        sqlx::query(
            "insert into payer_classes (chain_id, payer, class, flags, evidence, first_funder, cluster_id, rule_version, label_version, entity_id)
             values ($1, $2, $3, $4, $5, $6, $7, 'rules-1', 'labels-1', $8)",
        )
        .bind(CHAIN)
        .bind(payer.as_slice())
        .bind(class)
        .bind(&flags)
        .bind(serde_json::json!({"why": format!("{class} verdict"), "funding_path": [{"from": lc(funder_x()), "to": lc(payer)}]}))
        .bind(funder_x().as_slice())
        .bind(cluster)
        // A wallet nobody is tied to is its own entity (the classifier's rule).
        .bind(lc(payer))
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "insert into funding_clusters (chain_id, cluster_id, root_funder, members, stats)
         values ($1, 7, $2, 3, '{\"paying_members\": 1, \"suspected\": false}')",
    )
    .bind(CHAIN)
    .bind(funder_x().as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into labels (chain_id, address, kind, role, source, valid_from_block, note, registry_tx)
         values ($1, $2, 'ecosystem', 'treasury', 'registry', 5, 'project treasury', $3)",
    )
    .bind(CHAIN)
    .bind(payer_c().as_slice())
    .bind(keccak256("label-tx").as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into classifier_state (chain_id, last_block, rule_version, label_version, payments_classified)
         values ($1, 2000, 'rules-1', 'labels-1', 10)",
    )
    .bind(CHAIN)
    .execute(pool)
    .await
    .unwrap();
}

/// The evidence root of batch 1 (items 3, 6, 7 in log order), built from the contract's
/// documented construction: leaf = keccak(keccak(abi.encode(id, ev))); pairs sorted; odd carried.
pub fn batch_root() -> B256 {
    let leaf = |n: u32| {
        let mut enc = Vec::new();
        enc.extend_from_slice(pid(n).as_slice());
        enc.extend_from_slice(evidence(n).as_slice());
        keccak256(keccak256(enc))
    };
    let pair = |a: B256, b: B256| {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        keccak256([lo.as_slice(), hi.as_slice()].concat())
    };
    pair(pair(leaf(3), leaf(6)), leaf(7))
}

/// A database with the economy, its read model built, and a router over it.
pub struct Fixture {
    pub db: TestDb,
    pub state: AppState,
    pub app: Router,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_ttl(Duration::from_secs(60)).await
    }

    pub async fn with_ttl(ttl: Duration) -> Self {
        let db = TestDb::new().await;
        seed(&db.pool).await;
        Self::over(db, ttl, None, &[]).await
    }

    /// A fixture over `db` as it is (refreshed), with the economy's token metadata, a price file
    /// (TOML text) and `--price` flags.
    pub async fn over(
        db: TestDb,
        ttl: Duration,
        price_file: Option<&str>,
        prices: &[(&str, &str)],
    ) -> Self {
        Self::with_engine(db, ttl, price_file, prices, true).await
    }

    /// Like [`Fixture::over`]; `memory: false` computes every metric in SQL (`--engine sql`).
    pub async fn with_engine(
        db: TestDb,
        ttl: Duration,
        price_file: Option<&str>,
        prices: &[(&str, &str)],
        memory: bool,
    ) -> Self {
        x402_api::refresh(&db.pool, CHAIN).await.unwrap();
        let meta = token_meta();
        let flags: Vec<(String, String)> = prices
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let book =
            x402_api::PriceBook::build(&meta, price_file.map(|t| ("prices.toml", t)), &flags)
                .unwrap();
        let state = AppState::with_prices(db.pool.clone(), CHAIN, ttl, meta, book)
            .await
            .unwrap();
        let state = if memory { state } else { state.without_cube() };
        let app = x402_api::router(state.clone(), None);
        Self { db, state, app }
    }

    /// GET `uri` with optional extra headers; returns status, headers and body bytes.
    pub async fn raw(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    /// GET `uri` expecting JSON.
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.raw(uri, &[]).await;
        let v = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, v)
    }

    /// GET `uri` expecting 200 JSON.
    pub async fn ok(&self, uri: &str) -> Value {
        let (status, v) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {v}");
        v
    }

    /// GET `uri` expecting a 400 problem naming `param`; returns the rule.
    pub async fn bad(&self, uri: &str, param: &str) -> String {
        let (status, headers, body) = self.raw(uri, &[]).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(v["type"], "invalid-parameter", "{uri}: {v}");
        assert_eq!(v["param"], param, "{uri}: {v}");
        assert_eq!(v["status"], 400);
        let rule = v["rule"].as_str().unwrap().to_string();
        assert!(!rule.is_empty());
        rule
    }
}

/// Approximate float equality.
pub fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

/// One payment for a scenario of its own: charged at noon of `day` and, when `class` is set,
/// classified with `share` (project share, numeric text) and `cluster`.
pub struct Pay<'a> {
    pub n: u32,
    pub day: &'a str,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub amount: &'a str,
    pub class: Option<&'a str>,
    pub share: &'a str,
    pub cluster: Option<i64>,
}

impl Default for Pay<'_> {
    fn default() -> Self {
        Self {
            n: 0,
            day: "2026-11-02",
            payer: payer_a(),
            payee: payee_1(),
            token: token_1(),
            amount: "1",
            class: Some("external"),
            share: "0",
            cluster: None,
        }
    }
}

/// Writes `p` as the indexer (a charge folded by `recompute_payments`) and the classifier would.
pub async fn pay(pool: &PgPool, p: Pay<'_>) {
    let block = 10_000 + p.n as i64;
    sqlx::query(
        "insert into charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
            payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee,
            request_hash, evidence_hash, batch_id)
         values ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, 0, $11::numeric, $11::numeric, 0, 0, $12, $13, 0)",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(keccak256(format!("block-{block}")).as_slice())
    .bind(ts(p.day, p.n % 60))
    .bind(keccak256(format!("tx-{}", p.n)).as_slice())
    .bind(pid(p.n).as_slice())
    .bind(p.payer.as_slice())
    .bind(p.payee.as_slice())
    .bind(p.token.as_slice())
    .bind(fac_1().as_slice())
    .bind(p.amount)
    .bind(keccak256(format!("request-{}", p.n)).as_slice())
    .bind(evidence(p.n).as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("select recompute_payments($1, $2)")
        .bind(CHAIN)
        .bind(vec![pid(p.n).to_vec()])
        .execute(pool)
        .await
        .unwrap();
    if let Some(class) = p.class {
        sqlx::query(
            "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
                cluster_id, rule_version, label_version)
             values ($1, $2, $3, '{}', $4, $5::numeric, $5::numeric, $6, 'rules-1', 'labels-1')",
        )
        .bind(CHAIN)
        .bind(pid(p.n).as_slice())
        .bind(class)
        .bind(serde_json::json!({"payment": p.n, "cluster": {"cluster_id": p.cluster}}))
        .bind(p.share)
        .bind(p.cluster)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Writes a payer verdict (class, cluster, entity) as the classifier would.
pub async fn verdict(
    pool: &PgPool,
    payer: Address,
    class: &str,
    cluster: Option<i64>,
    entity: Option<(Address, &str)>,
) {
    sqlx::query(
        "insert into payer_classes (chain_id, payer, class, flags, evidence, first_funder, cluster_id,
            rule_version, label_version, entity_id, entity_reason)
         values ($1, $2, $3, '{}', $4, null, $5, 'rules-1', 'labels-1', $6, $7)",
    )
    .bind(CHAIN)
    .bind(payer.as_slice())
    .bind(class)
    .bind(serde_json::json!({"cluster": {"cluster_id": cluster}}))
    .bind(cluster)
    .bind(entity.map(|e| lc(e.0)).unwrap_or_else(|| lc(payer)))
    .bind(entity.map(|e| e.1))
    .execute(pool)
    .await
    .unwrap();
}

/// Writes `p` as the indexer writes a standard x402 EIP-3009 payment (source `eip3009`): the
/// `AuthorizationUsed` row with its matched Transfer, sent by facilitator `fac_2()`, folded by the
/// indexer's own `fold_eip3009`; then the classifier's verdict when `class` is set.
pub async fn pay_eip3009(pool: &PgPool, p: Pay<'_>) {
    let block = 20_000 + p.n as i64;
    sqlx::query(
        "insert into eip3009_authorizations (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
            token, authorizer, nonce, tx_from, tx_to, transfer_log_index, payee, amount, facilitator_listed, payment_id)
         values ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $6, 1, $10, $11::numeric, true, $12)",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(keccak256(format!("block-{block}")).as_slice())
    .bind(ts(p.day, p.n % 60))
    .bind(keccak256(format!("tx-{}", p.n)).as_slice())
    .bind(p.token.as_slice())
    .bind(p.payer.as_slice())
    .bind(keccak256(format!("nonce-{}", p.n)).as_slice())
    .bind(fac_2().as_slice())
    .bind(p.payee.as_slice())
    .bind(p.amount)
    .bind(pid(p.n).as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("select fold_eip3009($1, $2, $2)")
        .bind(CHAIN)
        .bind(block)
        .execute(pool)
        .await
        .unwrap();
    classify_payment(pool, &p).await;
}

/// Writes `p` as the indexer writes a payment through x402's Permit2 proxy (source
/// `permit2_proxy`), folded by the indexer's own `fold_permit2_proxy`; then the verdict.
pub async fn pay_permit2_proxy(pool: &PgPool, p: Pay<'_>) {
    let block = 30_000 + p.n as i64;
    sqlx::query(
        "insert into permit2_proxy_settlements (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
            proxy, with_permit, tx_from, tx_to, transfer_log_index, token, payer, payee, amount,
            facilitator_listed, payment_id)
         values ($1, $2, $3, $4, $5, 1, $6, false, $7, $6, 0, $8, $9, $10, $11::numeric, true, $12)",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(keccak256(format!("block-{block}")).as_slice())
    .bind(ts(p.day, p.n % 60))
    .bind(keccak256(format!("tx-{}", p.n)).as_slice())
    .bind(x402_domain::X402_EXACT_PERMIT2_PROXY.as_slice())
    .bind(fac_1().as_slice())
    .bind(p.token.as_slice())
    .bind(p.payer.as_slice())
    .bind(p.payee.as_slice())
    .bind(p.amount)
    .bind(pid(p.n).as_slice())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("select fold_permit2_proxy($1, $2, $2)")
        .bind(CHAIN)
        .bind(block)
        .execute(pool)
        .await
        .unwrap();
    classify_payment(pool, &p).await;
}

async fn classify_payment(pool: &PgPool, p: &Pay<'_>) {
    if let Some(class) = p.class {
        sqlx::query(
            "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
                cluster_id, rule_version, label_version)
             values ($1, $2, $3, '{}', $4, $5::numeric, $5::numeric, $6, 'rules-1', 'labels-1')",
        )
        .bind(CHAIN)
        .bind(pid(p.n).as_slice())
        .bind(class)
        .bind(serde_json::json!({"payment": p.n}))
        .bind(p.share)
        .bind(p.cluster)
        .execute(pool)
        .await
        .unwrap();
    }
}
