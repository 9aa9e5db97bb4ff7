//! The package of `sdk/` in the unmodified x402 SDK pays every scheme through `x402-facilitator`,
//! and the indexer then sees each payment with the evidence its handler recorded:
//! `facilitator/sdk-e2e/indexed-sdk.mjs` (an `@x402/express` server with the package's
//! `X402SettleFacilitatorClient` and `EvidenceFacilitatorClient`, an `@x402/fetch` agent with
//! `registerX402SettleClient`) pays stock EIP-3009 `exact`, our `exact`, `upto`, an `escrow`
//! captured below its maximum (rest voided) and an `escrow` whose handler failed (voided); then
//! `x402-indexer` indexes the chain into its own database, which this test reads.

mod harness;

use std::time::Duration;

use alloy::primitives::{hex, B256, U256};
use harness::{key_hex, run_sdk_script, sdk_dir, Env};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use x402_indexer::config::{Deployment, ProgressMode};
use x402_indexer::Config;
use x402_testkit::{AnvilRpc, TestDb};

const PRICE: u64 = 1_000;
const MAX: u64 = 5_000;
const USED: u64 = 1_234;

fn tx_hash(r: &Value, route: &str) -> Vec<u8> {
    let tx = r[route]["transaction"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}: no transaction in {r}"));
    hex::decode(tx).unwrap_or_else(|e| panic!("{route}: transaction {tx:?}: {e}"))
}

fn evidence(r: &Value, route: &str) -> B256 {
    r[route]["evidenceHash"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}: the handler recorded no evidence: {r}"))
        .parse()
        .unwrap()
}

/// The one row `sql` (bound to the route's transaction hash) finds.
async fn row_of(pool: &PgPool, sql: &str, tx: &[u8], what: &str) -> PgRow {
    let mut rows = sqlx::query(sql).bind(tx).fetch_all(pool).await.unwrap();
    assert_eq!(
        rows.len(),
        1,
        "{what}: one indexed row for 0x{}",
        hex::encode(tx)
    );
    rows.remove(0)
}

fn amount(row: &PgRow, i: usize) -> U256 {
    row.get::<String, _>(i).parse().unwrap()
}

fn hash(row: &PgRow, i: usize) -> B256 {
    B256::from_slice(&row.get::<Vec<u8>, _>(i))
}

#[tokio::test]
async fn the_sdk_package_pays_every_scheme_and_the_indexer_sees_each_with_its_evidence() {
    let dir = sdk_dir();
    assert!(
        dir.join("node_modules/@x402/express/package.json").exists()
            && x402_testkit::paths::repo_root()
                .join("sdk/dist/src/index.js")
                .exists(),
        "run `npm ci --prefix facilitator/sdk-e2e` and `npm ci --prefix sdk && npm run build --prefix sdk` (script/test.sh does)"
    );
    let env = Env::start(1, None).await;
    let payer = env.payer(0);
    let f = env.facilitator(&[]).await;
    let payer_before = env.balance(payer.address()).await;

    let r = run_sdk_script(
        "indexed-sdk.mjs",
        vec![
            ("FACILITATOR_URL", f.url.clone()),
            ("CHAIN_ID", env.chain.deployment.chain_id.to_string()),
            ("USDC", env.token.address.to_string()),
            ("PAYEE", env.payee(0).to_string()),
            ("PAYER_KEY", key_hex(&payer)),
            ("EXACT_PRICE", PRICE.to_string()),
            ("MAX", MAX.to_string()),
            ("USED", USED.to_string()),
        ],
        Duration::from_secs(120),
        &f,
    )
    .await;
    // Each price once, the upto and the escrow what their handlers used; the failed escrow and
    // the escrow's unused rest went back.
    assert_eq!(
        env.balance(payer.address()).await,
        payer_before - U256::from(2 * PRICE + 2 * USED),
        "{r}"
    );

    // Past the indexer's finality depth, then index everything into the indexer's own database.
    AnvilRpc::new(env.reader()).mine(20).await.unwrap();
    let idx_db = TestDb::create().await.unwrap();
    let deployment = Deployment::read(&env.chain.deployment_file).unwrap();
    let mut config = Config::for_deployment(
        env.chain.anvil.url().parse().unwrap(),
        idx_db.url(),
        &deployment,
    );
    config.exit_when_caught_up = true;
    config.progress = ProgressMode::Off;
    tokio::time::timeout(
        Duration::from_secs(120),
        x402_indexer::run(config, CancellationToken::new()),
    )
    .await
    .expect("indexer finished in time")
    .expect("indexer succeeded");
    let pool = idx_db.pool().await.unwrap();

    // Stock EIP-3009 exact: the settlement contract's AuthorizationCharged.
    let row = row_of(
        &pool,
        "SELECT amount::text, evidence_hash, payer FROM authorization_charges WHERE tx_hash = $1",
        &tx_hash(&r, "eip3009"),
        "eip3009",
    )
    .await;
    assert_eq!(amount(&row, 0), U256::from(PRICE), "eip3009");
    assert_eq!(hash(&row, 1), evidence(&r, "eip3009"), "eip3009 evidence");
    assert_eq!(row.get::<Vec<u8>, _>(2), payer.address().to_vec());

    // Our exact and upto: PaymentCharged, the upto below its signed maximum.
    for (route, mode, settled, max) in [("exact", 0i16, PRICE, PRICE), ("upto", 1, USED, MAX)] {
        let row = row_of(
            &pool,
            "SELECT mode, amount::text, max_amount::text, evidence_hash, payer FROM charges WHERE tx_hash = $1",
            &tx_hash(&r, route),
            route,
        )
        .await;
        assert_eq!(row.get::<i16, _>(0), mode, "{route}");
        assert_eq!(amount(&row, 1), U256::from(settled), "{route}");
        assert_eq!(amount(&row, 2), U256::from(max), "{route}");
        assert_eq!(hash(&row, 3), evidence(&r, route), "{route} evidence");
        assert_eq!(row.get::<Vec<u8>, _>(4), payer.address().to_vec());
    }

    // Escrow: authorized at the maximum, captured what the handler used with its evidence, the
    // rest voided; the payment folds to captured and closed.
    let escrow_id: B256 = r["escrow"]["extra"]["paymentId"]
        .as_str()
        .unwrap_or_else(|| panic!("escrow: no paymentId in {r}"))
        .parse()
        .unwrap();
    let capture = row_of(
        &pool,
        "SELECT amount::text, evidence_hash, payment_id FROM captures WHERE tx_hash = $1",
        &tx_hash(&r, "escrow"),
        "escrow capture",
    )
    .await;
    assert_eq!(amount(&capture, 0), U256::from(USED));
    assert_eq!(hash(&capture, 1), evidence(&r, "escrow"), "escrow evidence");
    assert_eq!(hash(&capture, 2), escrow_id);
    let payment = |id: B256| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "SELECT mode, authorized_amount::text, captured_amount::text, voided_amount::text, evidence_hash, closed FROM payments WHERE payment_id = $1",
            )
            .bind(id.as_slice())
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("payment {id} not indexed: {e}"))
        }
    };
    let p = payment(escrow_id).await;
    assert_eq!(p.get::<i16, _>(0), 2);
    assert_eq!(amount(&p, 1), U256::from(MAX), "held at the signed maximum");
    assert_eq!(amount(&p, 2), U256::from(USED));
    assert_eq!(amount(&p, 3), U256::from(MAX - USED), "the rest voided");
    assert_eq!(
        p.get::<Option<Vec<u8>>, _>(4).map(|h| B256::from_slice(&h)),
        Some(evidence(&r, "escrow"))
    );
    assert!(p.get::<bool, _>(5), "closed");

    // The escrow whose handler failed: voided whole, nothing captured, no evidence.
    let void = row_of(
        &pool,
        "SELECT amount::text, payment_id FROM voids WHERE tx_hash = $1",
        &tx_hash(&r, "escrowFailed"),
        "failed escrow void",
    )
    .await;
    assert_eq!(amount(&void, 0), U256::from(MAX));
    let p = payment(hash(&void, 1)).await;
    assert_eq!(p.get::<i16, _>(0), 2);
    assert_eq!(amount(&p, 2), U256::ZERO, "nothing captured");
    assert_eq!(amount(&p, 3), U256::from(MAX));
    assert!(p.get::<Option<Vec<u8>>, _>(4).is_none(), "no evidence");
    assert!(p.get::<bool, _>(5), "closed");
}
