//! The testkit's own pieces against the real anvil and PostgreSQL: traffic emits every event
//! kind the indexer stores, the proxy injects exactly the faults asked for, databases and private
//! clusters come and go.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use x402_testkit::pg::PrivatePostgres;
use x402_testkit::truth;
use x402_testkit::{DevChain, Faults, FaultyProxy, TestDb, Traffic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traffic_round_emits_every_event_kind() -> anyhow::Result<()> {
    let chain = DevChain::start().await?;
    let mut traffic = Traffic::new(
        &chain.anvil.url(),
        chain.deployment.clone(),
        "harness-round",
    )
    .await?;
    traffic.fund(3, 2, 1_000).await?;
    traffic.round().await?;
    let head = chain.anvil.provider().get_block_number_checked().await?;
    let t = truth::from_chain(
        &chain.anvil.provider(),
        &chain.deployment,
        chain.deployment.deploy_block,
        head,
    )
    .await?;
    for table in [
        "charges",
        "authorizations",
        "captures",
        "voids",
        "reclaims",
        "refunds",
        "split_payments",
        "batch_failures",
        "batches",
        "spending_policies",
        "splits",
        "protocol_fee_changes",
        "treasury_changes",
        "registry_labels",
        "declared_wallets",
        "token_transfers",
        // OwnershipTransferred of the settlement contract and the registry.
        "skipped_logs",
    ] {
        assert!(
            t.count(table) > 0,
            "a round produced no {table} rows: {:?}",
            t.tables.keys()
        );
    }
    // The batch of 6 settles 6 charges plus the two single ones; one duplicate item fails.
    assert_eq!(t.count("charges"), 8);
    assert_eq!(t.count("batch_failures"), 1);
    Ok(())
}

trait HeadExt {
    async fn get_block_number_checked(&self) -> anyhow::Result<u64>;
}

impl HeadExt for alloy::providers::DynProvider {
    async fn get_block_number_checked(&self) -> anyhow::Result<u64> {
        use alloy::providers::Provider;
        Ok(self.get_block_number().await?)
    }
}

async fn rpc(client: &reqwest::Client, url: &str, body: Value) -> (u16, String) {
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("proxy answers");
    let status = r.status().as_u16();
    (status, r.text().await.expect("a body"))
}

fn get_logs(from: u64, to: u64) -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"fromBlock":format!("{from:#x}"),"toBlock":format!("{to:#x}")}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_injects_each_fault_on_schedule() -> anyhow::Result<()> {
    let chain = DevChain::start().await?;
    let proxy = FaultyProxy::start(&chain.anvil.url()).await?;
    let client = reqwest::Client::new();
    let url = proxy.url();
    let block_number = json!({"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]});

    // No faults: a plain pass-through.
    let (status, body) = rpc(&client, &url, block_number.clone()).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body)?["result"].is_string());

    proxy.set_faults(Faults {
        http_429_every: 2,
        ..Faults::default()
    });
    let statuses: Vec<u16> = futures_seq(&client, &url, &block_number, 4).await;
    assert_eq!(statuses, vec![200, 429, 200, 429]);

    proxy.set_faults(Faults {
        http_500_every: 1,
        methods: vec!["eth_getLogs".into()],
        ..Faults::default()
    });
    assert_eq!(
        rpc(&client, &url, block_number.clone()).await.0,
        200,
        "methods filter ignored"
    );
    assert_eq!(rpc(&client, &url, get_logs(0, 1)).await.0, 500);

    proxy.set_faults(Faults {
        truncate_every: 1,
        ..Faults::default()
    });
    let (status, body) = rpc(&client, &url, get_logs(0, 10)).await;
    assert_eq!(status, 200);
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "a truncated body still parsed: {body}"
    );

    proxy.set_faults(Faults {
        max_log_range: Some(5),
        ..Faults::default()
    });
    let (_, body) = rpc(&client, &url, get_logs(0, 5)).await;
    let answer: Value = serde_json::from_str(&body)?;
    assert_eq!(answer["error"]["code"], -32005);
    let (_, body) = rpc(&client, &url, get_logs(0, 4)).await;
    let logs = serde_json::from_str::<Value>(&body)?["result"]
        .as_array()
        .expect("logs")
        .len();
    assert!(logs > 0, "the deployment emitted logs in blocks 0..=4");

    proxy.set_faults(Faults {
        duplicate_logs_every: 1,
        ..Faults::default()
    });
    let (_, body) = rpc(&client, &url, get_logs(0, 4)).await;
    let doubled = serde_json::from_str::<Value>(&body)?["result"]
        .as_array()
        .expect("logs")
        .len();
    assert_eq!(doubled, 2 * logs);

    proxy.set_faults(Faults {
        hang_every: 1,
        hang_for: Duration::from_millis(700),
        ..Faults::default()
    });
    let start = Instant::now();
    assert_eq!(rpc(&client, &url, block_number.clone()).await.0, 504);
    assert!(start.elapsed() >= Duration::from_millis(700));

    let stats = proxy.stats();
    assert_eq!(stats.http_429.load(Ordering::Relaxed), 2);
    assert_eq!(stats.http_500.load(Ordering::Relaxed), 1);
    assert_eq!(stats.truncated.load(Ordering::Relaxed), 1);
    assert_eq!(stats.range_errors.load(Ordering::Relaxed), 1);
    assert_eq!(stats.duplicated.load(Ordering::Relaxed), 1);
    assert_eq!(stats.hangs.load(Ordering::Relaxed), 1);
    assert_eq!(stats.injected(), 7, "{}", stats.summary());
    Ok(())
}

async fn futures_seq(client: &reqwest::Client, url: &str, body: &Value, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(rpc(client, url, body.clone()).await.0);
    }
    out
}

async fn database_exists(name: &str) -> anyhow::Result<bool> {
    let pool =
        sqlx::PgPool::connect(&format!("{}/postgres", x402_testkit::db::server_url())).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&pool)
        .await?;
    Ok(found.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_databases_are_created_and_dropped() -> anyhow::Result<()> {
    let db = TestDb::create().await?;
    let name = db.name().to_string();
    assert!(name.starts_with("x402_test_"));
    let pool = db.pool().await?;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
    assert_eq!(one, 1);
    assert!(database_exists(&name).await?);
    drop(pool);
    drop(db);
    assert!(
        !database_exists(&name).await?,
        "database {name} survived its TestDb"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_cluster_restarts_on_the_same_port() -> anyhow::Result<()> {
    let pg = PrivatePostgres::start()?;
    let db = TestDb::create_on(&pg.server_url()).await?;
    let pool = db.pool().await?;
    sqlx::query("CREATE TABLE t (x int)").execute(&pool).await?;
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&pool)
        .await?;
    pg.stop()?;
    assert!(
        sqlx::query("SELECT 1").execute(&pool).await.is_err(),
        "the server answered while stopped"
    );
    pg.start_again()?;
    // The pool reconnects by itself once the server is back.
    let x: i32 = sqlx::query_scalar("SELECT x FROM t")
        .fetch_one(&pool)
        .await?;
    assert_eq!(x, 1);
    Ok(())
}
