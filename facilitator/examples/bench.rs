//! Load generator for `script/bench-facilitator.sh`: real anvil (the project deployed by the
//! deploy script), real PostgreSQL, the release `x402-facilitator` binary.
//!
//! 1. `/verify` at `--verify-clients` concurrent clients for `--verify-secs` seconds, over a pool
//!    of valid signed payments: throughput and p99 latency.
//! 2. `/verify` of standard x402 EIP-3009 payloads (USDC `TransferWithAuthorization`, the x402
//!    SDK's default) at the same concurrency: throughput and p99.
//! 3. Settlement with batching on anvil mining a block every second: `--settle-payments`
//!    payments sent by `--settle-clients` concurrent clients; payments settled per second from
//!    the first request to the last answer.
//!
//! Prints `BENCH <name> <value> <unit>` lines.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{keccak256, U256};
use alloy::providers::Provider;
use anyhow::{bail, Context, Result};
use clap::Parser;
use x402_client::budget::Budget;
use x402_client::pay::{pay, PayOptions};
use x402_client::requirements::{caip2, PaymentRequired, PaymentRequirements, SettlementExtra};
use x402_testkit::{wallets, AnvilOptions, DevChain, TestDb, Traffic};

#[derive(Parser, Debug)]
struct Args {
    /// The facilitator binary (release build).
    #[arg(long)]
    facilitator_bin: PathBuf,
    /// Concurrent /verify clients.
    #[arg(long, default_value_t = 64)]
    verify_clients: usize,
    /// Seconds of /verify load (after a 2-second warm-up).
    #[arg(long, default_value_t = 10)]
    verify_secs: u64,
    /// Also measure latency with the clients paced to this total rate (verifications/s; 0 skips).
    #[arg(long, default_value_t = 1000)]
    verify_rate: u64,
    /// Payments to settle in the batching run.
    #[arg(long, default_value_t = 3000)]
    settle_payments: usize,
    /// Concurrent /settle clients.
    #[arg(long, default_value_t = 600)]
    settle_clients: usize,
    /// Most items per chargeBatch.
    #[arg(long, default_value_t = 150)]
    batch_max_items: usize,
    /// Batch collection window in milliseconds.
    #[arg(long, default_value_t = 500)]
    batch_max_wait_ms: u64,
    /// Funded payer wallets.
    #[arg(long, default_value_t = 32)]
    payers: usize,
    /// anvil block gas limit.
    #[arg(long, default_value_t = 30_000_000)]
    gas_limit: u64,
}

struct Facilitator(Child);

impl Drop for Facilitator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn requirements(
    chain: &DevChain,
    token: alloy::primitives::Address,
    payee: alloy::primitives::Address,
    i: usize,
) -> PaymentRequirements {
    let d = &chain.deployment;
    PaymentRequirements {
        scheme: if i % 2 == 0 { "exact" } else { "upto" }.into(),
        network: caip2(d.chain_id),
        amount: U256::from(1_000 + i as u64 % 1_000),
        asset: token,
        pay_to: payee,
        max_timeout_seconds: 3600,
        resource: None,
        description: None,
        mime_type: None,
        extra: SettlementExtra {
            settlement: d.settlement,
            permit2: d.permit2,
            facilitator: wallets::facilitator().address(),
            request_hash: keccak256(format!("bench request {i}")),
            max_facilitator_fee_bps: 50,
            authorization_seconds: None,
            refund_seconds: None,
            name: None,
        },
    }
}

/// Signs `n` payments round-robin over the payers; returns the request bodies.
async fn bodies(
    chain: &DevChain,
    traffic: &Traffic,
    n: usize,
    offset: usize,
) -> Result<Vec<axum::body::Bytes>> {
    let token = chain.deployment.token("USDC")?.address;
    let mut out = Vec::with_capacity(n);
    for i in offset..offset + n {
        let req = requirements(
            chain,
            token,
            traffic.payees[i % traffic.payees.len()].address(),
            i,
        );
        let signer = &traffic.payers[i % traffic.payers.len()];
        let required = PaymentRequired {
            x402_version: 2,
            error: None,
            resource: None,
            accepts: vec![req.clone()],
            extensions: None,
        };
        let mut budget = Budget::new(U256::MAX, U256::MAX);
        let p = pay(signer, &required, &mut budget, &PayOptions::default()).await?;
        let body = serde_json::json!({
            "x402Version": 2, "paymentPayload": p.payload, "paymentRequirements": req,
            "evidenceHash": keccak256(format!("bench evidence {i}")),
        });
        out.push(axum::body::Bytes::from(serde_json::to_vec(&body)?));
    }
    Ok(out)
}

/// Signs `n` standard x402 `exact` EIP-3009 payloads (as `@x402/evm`'s client builds them),
/// round-robin over the payers; returns the `/verify` bodies.
fn eip3009_bodies(chain: &DevChain, traffic: &Traffic, n: usize) -> Result<Vec<axum::body::Bytes>> {
    use alloy::signers::SignerSync;
    let token = chain.deployment.token("USDC")?.address;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let signer = &traffic.payers[i % traffic.payers.len()];
        let payee = traffic.payees[i % traffic.payees.len()].address();
        let amount = U256::from(1_000 + i as u64 % 1_000);
        let req = serde_json::json!({
            "scheme": "exact", "network": caip2(chain.deployment.chain_id), "amount": amount.to_string(),
            "asset": token, "payTo": payee, "maxTimeoutSeconds": 3600,
            "extra": {"name": "USD Coin", "version": "2"},
        });
        let p = x402_facilitator::Eip3009Payment {
            payment_id: Default::default(),
            payer: signer.address(),
            payee,
            token,
            amount,
            valid_after: U256::from(now - 600),
            valid_before: U256::from(now + 3600),
            nonce: keccak256(format!("bench eip3009 {i}")),
            signature: Default::default(),
            domain_name: "USD Coin".into(),
            domain_version: "2".into(),
            x402_version: 2,
        };
        let sig = signer.sign_hash_sync(&p.digest(chain.deployment.chain_id))?;
        let payload = serde_json::json!({
            "x402Version": 2, "accepted": req,
            "payload": {"signature": format!("0x{}", alloy::hex::encode(sig.as_bytes())), "authorization": {
                "from": p.payer, "to": payee, "value": amount.to_string(), "validAfter": (now - 600).to_string(),
                "validBefore": (now + 3600).to_string(), "nonce": p.nonce}},
            "extensions": {"evidence": {"info": {"evidenceHash": keccak256(format!("bench evidence {i}"))}}},
        });
        let body = serde_json::json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req});
        out.push(axum::body::Bytes::from(serde_json::to_vec(&body)?));
    }
    Ok(out)
}

async fn start_facilitator(
    args: &Args,
    chain: &DevChain,
    db: &TestDb,
    extra: &[String],
) -> Result<(Facilitator, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = x402_testkit::paths::scratch_dir("bench-facilitator")?.join("facilitator.log");
    let out = std::fs::File::create(&log)?;
    let child = Command::new(&args.facilitator_bin)
        .args(["--rpc-url", &chain.anvil.url()])
        .arg("--deployment")
        .arg(&chain.deployment_file)
        .args([
            "--database-url",
            &db.url(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env("FACILITATOR_PRIVATE_KEY", wallets::FACILITATOR_KEY)
        .env("RUST_LOG", "warn,x402_facilitator::batcher=info")
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .spawn()
        .with_context(|| format!("starting {}", args.facilitator_bin.display()))?;
    let f = Facilitator(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{url}/supported"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        if Instant::now() > deadline {
            bail!("facilitator did not start; log: {}", log.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("facilitator at {url} (log {})", log.display());
    Ok((f, url))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// `clients` concurrent clients for `secs` seconds; with `rate` > 0 each client paces itself so
/// that together they send `rate` requests per second (open loop), else as fast as answered.
async fn verify_load(
    url: &str,
    bodies: Arc<Vec<axum::body::Bytes>>,
    clients: usize,
    secs: u64,
    rate: u64,
) -> Result<(f64, Duration, usize)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    // Warm-up: connections, caches.
    let run = |dur: Duration| {
        let http = http.clone();
        let bodies = bodies.clone();
        let url = url.to_string();
        async move {
            let stop = Instant::now() + dur;
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let http = http.clone();
                    let bodies = bodies.clone();
                    let url = format!("{url}/verify");
                    tokio::spawn(async move {
                        let mut lat = Vec::new();
                        let mut invalid = 0usize;
                        let mut i = c;
                        let interval = (rate > 0)
                            .then(|| Duration::from_secs_f64(clients as f64 / rate as f64));
                        let begin = Instant::now()
                            + interval
                                .map(|d| d.mul_f64(c as f64 / clients as f64))
                                .unwrap_or_default();
                        let mut sent = 0u32;
                        while Instant::now() < stop {
                            if let Some(d) = interval {
                                tokio::time::sleep_until((begin + d * sent).into()).await;
                                sent += 1;
                            }
                            let b = bodies[i % bodies.len()].clone();
                            i += clients;
                            let t = Instant::now();
                            let r = http
                                .post(&url)
                                .header("content-type", "application/json")
                                .body(b)
                                .send()
                                .await;
                            let ok = match r {
                                Ok(r) => r
                                    .json::<serde_json::Value>()
                                    .await
                                    .map(|v| v["isValid"] == true)
                                    .unwrap_or(false),
                                Err(_) => false,
                            };
                            lat.push(t.elapsed());
                            if !ok {
                                invalid += 1;
                            }
                        }
                        (lat, invalid)
                    })
                })
                .collect();
            let mut all = Vec::new();
            let mut invalid = 0;
            for t in tasks {
                let (l, i) = t.await.expect("client task");
                all.extend(l);
                invalid += i;
            }
            (all, invalid)
        }
    };
    run(Duration::from_secs(2)).await;
    let started = Instant::now();
    let (mut lat, invalid) = run(Duration::from_secs(secs)).await;
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();
    Ok((lat.len() as f64 / elapsed, percentile(&lat, 0.99), invalid))
}

async fn settle_load(
    url: &str,
    bodies: Vec<axum::body::Bytes>,
    clients: usize,
) -> Result<(f64, usize, Duration)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(120))
        .build()?;
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let http = http.clone();
            let queue = queue.clone();
            let url = format!("{url}/settle");
            tokio::spawn(async move {
                let mut ok = 0usize;
                let mut failed = Vec::new();
                let mut lat = Vec::new();
                loop {
                    let Some(b) = queue.lock().await.next() else {
                        break;
                    };
                    let t = Instant::now();
                    let r = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(b)
                        .send()
                        .await;
                    match r {
                        Ok(r) => {
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            if v["success"] == true {
                                ok += 1;
                            } else {
                                failed.push(v.to_string());
                            }
                        }
                        Err(e) => failed.push(e.to_string()),
                    }
                    lat.push(t.elapsed());
                }
                (ok, failed, lat)
            })
        })
        .collect();
    let mut ok = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (o, f, l) = t.await.expect("client task");
        ok += o;
        lat.extend(l);
        for msg in f.iter().take(3) {
            eprintln!("settle failed: {msg}");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();
    Ok((ok as f64 / elapsed, ok, percentile(&lat, 0.5)))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    eprintln!("starting anvil and deploying");
    // Funding runs on automine; the settle phase switches anvil to a block every second.
    let chain = DevChain::start_with(AnvilOptions {
        gas_limit: Some(args.gas_limit),
        ..Default::default()
    })
    .await?;
    let mut traffic = Traffic::new(
        &chain.anvil.url(),
        chain.deployment.clone(),
        &format!("bench-{}", x402_testkit::unique_suffix()),
    )
    .await?;
    traffic.fund(args.payers, 4, 1_000_000).await?;
    let db = TestDb::create().await?;

    eprintln!("signing payments");
    let verify_bodies = Arc::new(bodies(&chain, &traffic, 4096, 0).await?);
    let eip3009_verify_bodies = Arc::new(eip3009_bodies(&chain, &traffic, 4096)?);
    let settle_bodies = bodies(&chain, &traffic, args.settle_payments, 1_000_000).await?;

    let batch_args = vec![
        "--batch".to_string(),
        "--batch-max-items".into(),
        args.batch_max_items.to_string(),
        "--batch-max-wait-ms".into(),
        args.batch_max_wait_ms.to_string(),
        "--receipt-poll-ms".into(),
        "100".into(),
        // One-second blocks: a batch unmined for 3 blocks is re-sent with higher fees.
        "--bump-after-secs".into(),
        "3".into(),
    ];
    let (_f, url) = start_facilitator(&args, &chain, &db, &batch_args).await?;

    eprintln!(
        "verify: {} clients for {} s",
        args.verify_clients, args.verify_secs
    );
    let (per_s, p99, invalid) = verify_load(
        &url,
        verify_bodies.clone(),
        args.verify_clients,
        args.verify_secs,
        0,
    )
    .await?;
    if invalid > 0 {
        bail!("{invalid} verifications were not valid: the benchmark payments must all verify");
    }
    println!("BENCH facilitator_verify_per_s {per_s:.0} verifications/s");
    println!(
        "BENCH facilitator_verify_p99_ms {:.1} ms",
        p99.as_secs_f64() * 1000.0
    );
    if args.verify_rate > 0 {
        eprintln!(
            "verify: {} clients paced to {} verifications/s for {} s",
            args.verify_clients, args.verify_rate, args.verify_secs
        );
        let (paced, p99, invalid) = verify_load(
            &url,
            verify_bodies,
            args.verify_clients,
            args.verify_secs,
            args.verify_rate,
        )
        .await?;
        if invalid > 0 {
            bail!("{invalid} paced verifications were not valid");
        }
        eprintln!("paced run achieved {paced:.0} verifications/s");
        println!(
            "BENCH facilitator_verify_p99_at_{}_per_s_ms {:.1} ms",
            args.verify_rate,
            p99.as_secs_f64() * 1000.0
        );
    }

    eprintln!(
        "verify (EIP-3009): {} clients for {} s",
        args.verify_clients, args.verify_secs
    );
    let (per_s, p99, invalid) = verify_load(
        &url,
        eip3009_verify_bodies,
        args.verify_clients,
        args.verify_secs,
        0,
    )
    .await?;
    if invalid > 0 {
        bail!("{invalid} EIP-3009 verifications were not valid: the benchmark payments must all verify");
    }
    println!("BENCH facilitator_verify_eip3009_per_s {per_s:.0} verifications/s");
    println!(
        "BENCH facilitator_verify_eip3009_p99_ms {:.1} ms",
        p99.as_secs_f64() * 1000.0
    );

    let provider = chain.anvil.provider();
    provider
        .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await?;
    provider
        .raw_request::<_, ()>("evm_setIntervalMining".into(), (1u64,))
        .await?;
    eprintln!(
        "settle: {} payments, {} clients, 1-second blocks",
        args.settle_payments, args.settle_clients
    );
    let start_block = provider.get_block_number().await?;
    let (per_s, ok, p50) = settle_load(&url, settle_bodies, args.settle_clients).await?;
    let end_block = provider.get_block_number().await?;
    eprintln!(
        "settled {ok}/{} over blocks {start_block}..{end_block}; median settle latency {:.0} ms",
        args.settle_payments,
        p50.as_secs_f64() * 1000.0
    );
    for n in start_block..=end_block {
        if let Some(b) = provider.get_block_by_number(n.into()).await? {
            eprintln!(
                "  block {n}: {} transactions, gas used {} of {}, base fee {:?}",
                b.transactions.len(),
                b.header.gas_used,
                b.header.gas_limit,
                b.header.base_fee_per_gas
            );
        }
    }
    if ok < args.settle_payments {
        bail!("only {ok} of {} payments settled", args.settle_payments);
    }
    println!("BENCH facilitator_settle_per_s {per_s:.0} payments/s");
    Ok(())
}
