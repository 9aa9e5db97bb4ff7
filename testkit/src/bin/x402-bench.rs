//! `x402-bench`: the indexer backfill benchmark behind `make bench-indexer`
//! (`script/bench-indexer.sh` builds it and the indexer in release mode and runs it).
//!
//! 1. Seeds anvil with at least `--events` indexable logs (big `chargeBatch` transactions from
//!    many payers through the real deployed contracts), or loads the seeded state cached under
//!    `--state-dir` by an earlier run (keyed by the contracts, the deploy script and the seed
//!    parameters; `--reseed` ignores the cache).
//! 2. Backfills a fresh PostgreSQL database with `x402-indexer index --exit-when-caught-up`,
//!    timing it and sampling its peak resident memory (`VmHWM`).
//! 3. Checks the database against `eth_getLogs` (outside the timed part): the figures count only a
//!    correct backfill.
//! 4. Optionally measures live head latency: a payment is mined, how long until the checkpoint
//!    covers its block.
//!
//! stdout carries only the `BENCH <name> <value> <unit>` lines; progress goes to stderr.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use clap::Parser;
use x402_testkit::anvil::{AnvilOptions, AnvilRpc};
use x402_testkit::traffic::PaymentMode;
use x402_testkit::{paths, truth, DevChain, IndexerCmd, TestDb, Traffic};

/// Block gas limit of the benchmark chain: big batches fit in one block each.
const GAS_LIMIT: u64 = 2_000_000_000;

#[derive(Debug, Parser)]
#[command(
    name = "x402-bench",
    about = "Indexer backfill benchmark (see script/bench-indexer.sh)"
)]
struct Args {
    /// The indexer binary to measure (a release build).
    #[arg(long)]
    indexer: PathBuf,
    /// Seed at least this many indexable logs (settlement events, registry events, token transfers).
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Payments per `chargeBatch` transaction while seeding.
    #[arg(long, default_value_t = 400)]
    batch_items: usize,
    /// Payer wallets while seeding.
    #[arg(long, default_value_t = 200)]
    payers: usize,
    /// Where seeded chain states are cached.
    #[arg(long, default_value = ".run/bench")]
    state_dir: PathBuf,
    /// Seed again even if a cached state exists.
    #[arg(long)]
    reseed: bool,
    /// Live head-latency samples after the backfill (0 skips the live part).
    #[arg(long, default_value_t = 25)]
    latency_samples: usize,
    /// Live-tail poll interval given to the indexer for the latency part, in milliseconds.
    #[arg(long, default_value_t = 100)]
    poll_interval_ms: u64,
}

/// A key that changes whenever what the seeded state depends on changes.
fn cache_key(args: &Args) -> Result<String> {
    let root = paths::repo_root();
    let mut files = Vec::new();
    collect_files(&root.join("contracts"), &mut files)?;
    for f in [
        "script/Deploy.s.sol",
        "script/deploy-local.sh",
        "foundry.toml",
        "package-lock.json",
    ] {
        files.push(root.join(f));
    }
    files.sort();
    let mut h = DefaultHasher::new();
    for f in &files {
        f.strip_prefix(&root).unwrap_or(f).hash(&mut h);
        std::fs::read(f)
            .with_context(|| format!("reading {}", f.display()))?
            .hash(&mut h);
    }
    (args.events, args.batch_items, args.payers, "seed-v2").hash(&mut h);
    Ok(format!("{:016x}", h.finish()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Deploys and seeds a new chain, dumping its state into `dir` when anvil stops.
async fn seed(args: &Args, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join("state.json.partial");
    let chain = DevChain::start_with(AnvilOptions {
        gas_limit: Some(GAS_LIMIT),
        dump_state: Some(partial.clone()),
        ..AnvilOptions::default()
    })
    .await?;
    std::fs::copy(&chain.deployment_file, dir.join("deployment.json"))?;
    let started = Instant::now();
    let mut traffic = Traffic::new(&chain.anvil.url(), chain.deployment.clone(), "bench").await?;
    traffic.fund(args.payers, 20, 1_000_000_000).await?;
    traffic.settings().await?;
    let (head, _) = AnvilRpc::new(chain.anvil.provider()).head().await?;
    let mut events = truth::from_chain(
        &chain.anvil.provider(),
        &chain.deployment,
        chain.deployment.deploy_block,
        head,
    )
    .await?
    .total();
    eprintln!(
        "x402-bench: funded {} payers in {:.1?} ({events} logs so far)",
        args.payers,
        started.elapsed()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut batches = 0;
    while events < args.events {
        let batch = traffic.sign_batch(args.batch_items, now)?;
        let receipt = traffic.send_batch(batch, true).await?;
        events += receipt.inner.logs().len();
        batches += 1;
        if batches % 20 == 0 {
            eprintln!(
                "x402-bench: seeded {events} logs in {batches} batches ({:.1?})",
                started.elapsed()
            );
        }
    }
    eprintln!(
        "x402-bench: seeded {events} logs in {:.1?}; saving the state",
        started.elapsed()
    );
    let DevChain { anvil, .. } = chain;
    anvil.stop()?;
    std::fs::rename(&partial, dir.join("state.json")).context("anvil wrote no state dump")?;
    Ok(())
}

/// Seeded states weigh hundreds of MB: keep only the current one.
fn remove_stale_states(current: &Path) -> Result<()> {
    let Some(parent) = current.parent() else {
        return Ok(());
    };
    for entry in std::fs::read_dir(parent)? {
        let path = entry?.path();
        // Only directories this tool wrote (they hold a state dump and its deployment file).
        if path != current
            && path.join("deployment.json").exists()
            && path.join("state.json").exists()
        {
            eprintln!(
                "x402-bench: removing the outdated seeded state {}",
                path.display()
            );
            std::fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}

/// Peak resident set of a live process, in KiB (`VmHWM`), or 0 once it is gone.
fn peak_rss_kib(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.indexer.exists(),
        "--indexer {} does not exist: build it with cargo build --release -p x402-indexer",
        args.indexer.display()
    );
    let dir = paths::repo_root()
        .join(&args.state_dir)
        .join(cache_key(&args)?);
    if args.reseed || !dir.join("state.json").exists() {
        eprintln!("x402-bench: seeding a new chain into {}", dir.display());
        seed(&args, &dir).await?;
        remove_stale_states(&dir)?;
    } else {
        eprintln!(
            "x402-bench: using the seeded chain cached in {}",
            dir.display()
        );
    }
    let load_started = Instant::now();
    let chain = DevChain::load(
        &dir.join("state.json"),
        &dir.join("deployment.json"),
        AnvilOptions {
            gas_limit: Some(GAS_LIMIT),
            ..AnvilOptions::default()
        },
    )
    .await?;
    let rpc = AnvilRpc::new(chain.anvil.provider());
    let (head, _) = rpc.head().await?;
    eprintln!(
        "x402-bench: anvil loaded {head} blocks in {:.1?}",
        load_started.elapsed()
    );

    let db = TestDb::create().await?;
    let config = dir.join("indexer.toml");
    std::fs::write(
        &config,
        format!("poll_interval_ms = {}\n", args.poll_interval_ms),
    )?;
    let mut cmd = IndexerCmd::new(
        &args.indexer,
        &chain.anvil.url(),
        &db.url(),
        &chain.deployment_file,
    )?;
    cmd.global_args = vec![
        "--config".into(),
        config.display().to_string(),
        "--http-addr=".into(),
    ];
    cmd.migrate().await?;

    // The timed part: a fresh database to caught-up.
    let started = Instant::now();
    let mut p = cmd.spawn_index(&["--exit-when-caught-up", "--progress", "log"])?;
    let pid = p.pid().expect("just spawned");
    let mut peak = 0;
    let status = loop {
        peak = peak.max(peak_rss_kib(pid));
        if let Some(status) = p.try_status() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let elapsed = started.elapsed();
    ensure!(
        status.success(),
        "the indexer failed ({status}):\n{}",
        p.log_tail(40)
    );
    eprintln!(
        "x402-bench: backfill took {elapsed:.2?} (indexer log: {})",
        p.log_path().display()
    );

    // Correctness, untimed: every log on the chain is in the database exactly once.
    let pool = db.pool().await?;
    let report =
        truth::assert_db_matches_chain(&pool, &chain.anvil.provider(), &chain.deployment).await?;
    ensure!(
        report.to_block == head,
        "the indexer stopped at block {} of {head}",
        report.to_block
    );
    let events = report.truth.total();
    println!(
        "BENCH indexer_backfill_events_per_s {:.0} events/s",
        events as f64 / elapsed.as_secs_f64()
    );
    println!("BENCH indexer_backfill_events {events} events");
    println!("BENCH indexer_peak_rss_mb {:.1} MB", peak as f64 / 1024.0);

    if args.latency_samples > 0 {
        let p50 = head_latency_p50(&args, &chain, &cmd, &pool).await?;
        println!("BENCH indexer_head_latency_p50_ms {p50:.0} ms");
    }
    Ok(())
}

/// Median time from a payment being mined to the checkpoint covering its block, live mode.
async fn head_latency_p50(
    args: &Args,
    chain: &DevChain,
    cmd: &IndexerCmd,
    pool: &sqlx::PgPool,
) -> Result<f64> {
    let mut traffic =
        Traffic::new(&chain.anvil.url(), chain.deployment.clone(), "bench-live").await?;
    traffic.fund(2, 1, 1_000).await?;
    let mut p = cmd.spawn_index(&["--progress", "off"])?;
    let provider = chain.anvil.provider();
    truth::wait_until_indexed(
        pool,
        &provider,
        chain.deployment.chain_id,
        Duration::from_secs(120),
    )
    .await?;
    let mut samples = Vec::with_capacity(args.latency_samples);
    for _ in 0..args.latency_samples {
        // automine: the block exists when the send returns, so the clock starts at the send.
        let sent = Instant::now();
        let receipt = traffic.charge(PaymentMode::Exact).await?;
        let block = receipt.block_number.context("a mined receipt")?;
        loop {
            if truth::checkpoint(pool, chain.deployment.chain_id)
                .await?
                .is_some_and(|(n, _)| n >= block)
            {
                break;
            }
            ensure!(
                sent.elapsed() < Duration::from_secs(30),
                "live indexing stalled:\n{}",
                p.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples.push(sent.elapsed().as_secs_f64() * 1000.0);
        // Spread the samples over the poll interval instead of locking onto its phase.
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    p.terminate(Duration::from_secs(20)).await?;
    samples.sort_by(f64::total_cmp);
    eprintln!(
        "x402-bench: head latency samples (ms, poll interval {} ms): {samples:.0?}",
        args.poll_interval_ms
    );
    Ok(samples[samples.len() / 2])
}
