//! `x402-bench-lineage`: scoped funding lineage against full indexing (`make bench-lineage`,
//! `script/bench-lineage.sh`), on a chain where x402 payments are a small share of token traffic.
//!
//! 1. Seeds anvil (or loads the state cached under `--state-dir` for the same parameters):
//!    - `--wallets` wallets, each first funded by one of `--exchanges` exchange wallets (labelled
//!      `exchange` for the classifier, as on a public chain), then `--transfers` transfers in all
//!      between random wallets, of a bulk token: a test-only contract whose calls emit standard
//!      `Transfer` events in bulk (many per transaction, no balances), listed as a payment token so
//!      full indexing stores every one of them;
//!    - `--payers` payers and `--payees` payees of the real deployment; each payer's first funding
//!      is gas money (a native transfer) and USDC and OPG from one of `--funders` funders, which are
//!      wallets of the bulk traffic (their history is that traffic);
//!    - `--payments` payments settled through the real X402Settlement in `chargeBatch`es;
//!    - four fifths of the bulk traffic before the funding, the rest after the payments.
//! 2. For `full` and `scoped` lineage in turn, on a fresh database with the classifier's schema and
//!    the exchange labels imported (setup, untimed): times `x402-indexer index
//!    --exit-when-caught-up` followed by `x402-classifier classify --from-scratch`.
//! 3. Compares every payment's class between the two databases.
//!
//! stdout carries only the `BENCH <name> <value> <unit>` lines; progress goes to stderr.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolCall;
use anyhow::{ensure, Context, Result};
use clap::Parser;
use x402_bindings::IERC20;
use x402_testkit::anvil::{AnvilOptions, AnvilRpc};
use x402_testkit::traffic::demo::IDemoToken;
use x402_testkit::{wallets, DevChain, TestDb, Traffic};

/// Block gas limit of the benchmark chain (payment batches of 400 items fit in one block).
const GAS_LIMIT: u64 = 2_000_000_000;

/// The bulk token's runtime code: for every 48-byte record of the calldata (`from` 20 bytes, `to`
/// 20 bytes, `amount` 8 bytes) it emits `Transfer(from, to, amount)`. Assembled by hand (no
/// compiler run): PUSH1 0; loop: JUMPDEST; stop when i >= CALLDATASIZE; mstore(0, amount);
/// LOG3(0, 32, Transfer, from, to); i += 48; JUMP loop.
const BULK_TOKEN_CODE: &str = "60005b80361115604e57806028013560c01c600052806014013560601c813560601c7fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef60206000a36030016002565b00";
/// Bytes per record of a bulk-token call.
const RECORD: usize = 48;
/// Gas per record (calldata, LOG3 with 32 bytes of data, arithmetic) with a margin.
const GAS_PER_RECORD: u64 = 3_200;

#[derive(Debug, Parser)]
#[command(
    name = "x402-bench-lineage",
    about = "Scoped lineage vs full indexing (see script/bench-lineage.sh)"
)]
struct Args {
    /// The x402-indexer binary.
    #[arg(long)]
    indexer: PathBuf,
    /// The x402-classifier binary.
    #[arg(long)]
    classifier: PathBuf,
    /// Bulk-token transfers (unrelated traffic, the wallets' first fundings included).
    #[arg(long, default_value_t = 2_000_000)]
    transfers: usize,
    /// Wallets of the unrelated traffic.
    #[arg(long, default_value_t = 100_000)]
    wallets: usize,
    /// x402 payments.
    #[arg(long, default_value_t = 20_000)]
    payments: usize,
    /// Paying wallets.
    #[arg(long, default_value_t = 2_000)]
    payers: usize,
    /// Payees.
    #[arg(long, default_value_t = 20)]
    payees: usize,
    /// Funders of the payers (the first wallets of the traffic).
    #[arg(long, default_value_t = 200)]
    funders: usize,
    /// Exchange wallets giving the traffic's wallets their first tokens.
    #[arg(long, default_value_t = 4)]
    exchanges: usize,
    /// Scoped mode's funder depth.
    #[arg(long, default_value_t = 2)]
    depth: u32,
    /// Bulk-token records per transaction (calldata stays under 128 KiB).
    #[arg(long, default_value_t = 2_700)]
    records_per_tx: usize,
    /// Where seeded chain states are cached (relative to the repository root).
    #[arg(long, default_value = ".run/bench-lineage")]
    state_dir: PathBuf,
    /// Ignore the cached state.
    #[arg(long)]
    reseed: bool,
}

/// Deterministic pseudo-random numbers (xorshift64*): the same parameters give the same chain.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn address(kind: &str, i: usize) -> Address {
    Address::from_slice(&keccak256(format!("x402-bench-lineage/{kind}/{i}"))[12..])
}

fn cache_key(args: &Args) -> String {
    let mut h = DefaultHasher::new();
    (
        args.transfers,
        args.wallets,
        args.payments,
        args.payers,
        args.payees,
        args.funders,
        args.exchanges,
        args.records_per_tx,
        "lineage-v1",
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Sends `tx` (a JSON transaction object) through anvil's `eth_sendTransaction`: the sender is an
/// unlocked or impersonated account.
async fn send(p: &DynProvider, tx: serde_json::Value) -> Result<B256> {
    p.raw_request::<_, B256>("eth_sendTransaction".into(), (tx,))
        .await
        .context("eth_sendTransaction")
}

async fn check_receipts(p: &DynProvider, what: &str, hashes: &[B256]) -> Result<()> {
    for h in hashes {
        let r = loop {
            if let Some(r) = p.get_transaction_receipt(*h).await? {
                break r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        ensure!(r.status(), "{what}: transaction {h} reverted");
    }
    Ok(())
}

/// Bulk-token transfers `(from, to, amount)`, sent as big transactions from `sender`.
async fn bulk(
    p: &DynProvider,
    token: Address,
    sender: Address,
    transfers: &[(Address, Address, u64)],
    per_tx: usize,
) -> Result<()> {
    let mut hashes = Vec::new();
    for chunk in transfers.chunks(per_tx) {
        let mut data = Vec::with_capacity(chunk.len() * RECORD);
        for (from, to, amount) in chunk {
            data.extend_from_slice(from.as_slice());
            data.extend_from_slice(to.as_slice());
            data.extend_from_slice(&amount.to_be_bytes());
        }
        let gas = 50_000 + GAS_PER_RECORD * chunk.len() as u64;
        hashes.push(
            send(
                p,
                serde_json::json!({
                    "from": sender, "to": token, "data": Bytes::from(data),
                    "gas": format!("{gas:#x}"),
                }),
            )
            .await?,
        );
    }
    check_receipts(p, "bulk transfers", &hashes).await
}

/// Deploys and seeds a chain, dumping its state into `dir` when anvil stops.
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
    let p = chain.anvil.provider();
    let rpc = AnvilRpc::new(p.clone());
    let started = Instant::now();
    let token = address("bulk-token", 0);
    p.raw_request::<_, ()>(
        "anvil_setCode".into(),
        (token, Bytes::from(alloy::hex::decode(BULK_TOKEN_CODE)?)),
    )
    .await?;
    p.raw_request::<_, ()>("anvil_autoImpersonateAccount".into(), (true,))
        .await?;
    let sender = wallets::deployer().address();

    // The unrelated traffic: first fundings from the exchanges, then random pairs.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let wallets: Vec<Address> = (0..args.wallets).map(|i| address("wallet", i)).collect();
    let exchanges: Vec<Address> = (0..args.exchanges)
        .map(|i| address("exchange", i))
        .collect();
    let mut traffic: Vec<(Address, Address, u64)> = Vec::with_capacity(args.transfers);
    for (i, w) in wallets.iter().enumerate() {
        traffic.push((exchanges[i % exchanges.len()], *w, 1_000_000_000));
    }
    while traffic.len() < args.transfers {
        let (a, b) = (rng.below(wallets.len()), rng.below(wallets.len()));
        if a != b {
            traffic.push((wallets[a], wallets[b], 1 + rng.next() % 10_000_000));
        }
    }
    let before = traffic.len() * 4 / 5;
    bulk(&p, token, sender, &traffic[..before], args.records_per_tx).await?;
    eprintln!(
        "x402-bench-lineage: {before} bulk transfers in {:.1?}",
        started.elapsed()
    );

    // Payers: first funded by their funder (gas money, then both payment tokens).
    let mut payments =
        Traffic::new(&chain.anvil.url(), chain.deployment.clone(), "lineage").await?;
    // One whole token minted to each payer (FiatToken refuses to mint nothing): the rest of
    // its tokens, and its gas, come from its funder.
    payments.fund(args.payers, args.payees, 1).await?;
    let funders = &wallets[..args.funders];
    let whole = |decimals: u8| U256::from(10u64).pow(U256::from(decimals));
    let mut hashes = Vec::new();
    for f in funders {
        rpc.set_balance(*f, U256::from(10u64).pow(U256::from(21u64)))
            .await?;
        for t in &chain.deployment.tokens {
            let amount = U256::from(100_000u64) * whole(t.decimals);
            hashes.push(
                *IDemoToken::new(t.address, payments.provider().clone())
                    .mint(*f, amount)
                    .from(sender)
                    .send()
                    .await?
                    .tx_hash(),
            );
        }
    }
    for (i, payer) in payments.payers.iter().enumerate() {
        let funder = funders[i % funders.len()];
        hashes.push(
            send(
                &p,
                serde_json::json!({"from": funder, "to": payer.address(),
                    "value": format!("{:#x}", U256::from(10u64).pow(U256::from(16u64)))}),
            )
            .await?,
        );
        for t in &chain.deployment.tokens {
            let call = IERC20::transferCall {
                to: payer.address(),
                value: U256::from(50u64) * whole(t.decimals),
            };
            hashes.push(
                send(
                    &p,
                    serde_json::json!({"from": funder, "to": t.address,
                        "data": Bytes::from(call.abi_encode()), "gas": "0x30000"}),
                )
                .await?,
            );
        }
    }
    check_receipts(&p, "funding", &hashes).await?;
    eprintln!(
        "x402-bench-lineage: funded {} payers from {} funders ({:.1?})",
        args.payers,
        funders.len(),
        started.elapsed()
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut paid = 0;
    while paid < args.payments {
        let items = (args.payments - paid).min(400);
        let batch = payments.sign_batch(items, now)?;
        payments.send_batch(batch, true).await?;
        paid += items;
    }
    eprintln!(
        "x402-bench-lineage: {paid} payments ({:.1?})",
        started.elapsed()
    );
    bulk(&p, token, sender, &traffic[before..], args.records_per_tx).await?;

    let labels: String = exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!("[[label]]\naddress = \"{e}\"\nkind = \"exchange\"\nnote = \"bench exchange {i}\"\n\n")
        })
        .collect();
    std::fs::write(dir.join("labels.toml"), labels)?;
    std::fs::write(dir.join("bulk-token"), token.to_string())?;
    eprintln!(
        "x402-bench-lineage: seeded in {:.1?}; saving the state",
        started.elapsed()
    );
    let DevChain { anvil, .. } = chain;
    anvil.stop()?;
    std::fs::rename(&partial, dir.join("state.json")).context("anvil wrote no state dump")?;
    Ok(())
}

async fn run(cmd: &Path, args: &[String]) -> Result<()> {
    let status = tokio::process::Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .env("RUST_LOG", "warn")
        .status()
        .await
        .with_context(|| format!("running {}", cmd.display()))?;
    ensure!(
        status.success(),
        "{} {args:?} failed: {status}",
        cmd.display()
    );
    Ok(())
}

/// One mode: setup (schemas, labels), then indexing to caught-up and classification, timed.
struct Measured {
    seconds: f64,
    rows: i64,
    classes: Vec<(Vec<u8>, String)>,
    _db: TestDb,
}

async fn measure(args: &Args, dir: &Path, chain: &DevChain, mode: &str) -> Result<Measured> {
    let db = TestDb::create().await?;
    let url = db.url();
    let classifier = |rest: &[&str]| {
        let mut v = vec![
            "--database-url".to_string(),
            url.clone(),
            "--chain-id".into(),
            chain.deployment.chain_id.to_string(),
        ];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    run(
        &args.classifier,
        &classifier(&["migrate", "--indexer-schema"]),
    )
    .await?;
    let labels = dir.join("labels.toml");
    run(
        &args.classifier,
        &classifier(&["labels", "import", &labels.to_string_lossy()]),
    )
    .await?;
    let token = std::fs::read_to_string(dir.join("bulk-token"))?;
    let tokens: Vec<String> = chain
        .deployment
        .tokens
        .iter()
        .map(|t| format!("\"{}\"", t.address))
        .chain([format!("\"{}\"", token.trim())])
        .collect();
    let config = dir.join(format!("indexer-{mode}.toml"));
    std::fs::write(
        &config,
        format!(
            "tokens = [{}]\n\n[lineage]\nmode = \"{mode}\"\ndepth = {}\n",
            tokens.join(", "),
            args.depth
        ),
    )?;
    let indexer_args: Vec<String> = [
        "--config",
        &config.to_string_lossy(),
        "--rpc-url",
        &chain.anvil.url(),
        "--database-url",
        &url,
        "--deployment",
        &chain.deployment_file.to_string_lossy(),
        "--http-addr",
        "",
        "index",
        "--exit-when-caught-up",
        "--progress",
        "off",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let started = Instant::now();
    run(&args.indexer, &indexer_args).await?;
    let indexed = started.elapsed();
    run(
        &args.classifier,
        &classifier(&["classify", "--from-scratch"]),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let pool = db.pool().await?;
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from token_transfers) + (select count(*) from native_transfers)
              + (select count(*) from lineage_wallets)",
    )
    .fetch_one(&pool)
    .await?;
    let classes: Vec<(Vec<u8>, String)> =
        sqlx::query_as("select payment_id, class from payment_classes order by payment_id")
            .fetch_all(&pool)
            .await?;
    eprintln!(
        "x402-bench-lineage: {mode}: indexed in {:.1} s, classified {} payments by {seconds:.1} s, {rows} rows",
        indexed.as_secs_f64(),
        classes.len()
    );
    Ok(Measured {
        seconds,
        rows,
        classes,
        _db: db,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    for (flag, path) in [
        ("--indexer", &args.indexer),
        ("--classifier", &args.classifier),
    ] {
        ensure!(
            path.exists(),
            "{flag} {} does not exist: build it with cargo build --release",
            path.display()
        );
    }
    ensure!(
        args.funders <= args.wallets && args.wallets <= args.transfers && args.exchanges > 0,
        "need funders <= wallets <= transfers and at least one exchange"
    );
    let dir = x402_testkit::paths::repo_root()
        .join(&args.state_dir)
        .join(cache_key(&args));
    if args.reseed || !dir.join("state.json").exists() {
        eprintln!(
            "x402-bench-lineage: seeding a new chain into {}",
            dir.display()
        );
        seed(&args, &dir).await?;
    } else {
        eprintln!(
            "x402-bench-lineage: using the chain cached in {}",
            dir.display()
        );
    }
    let chain = DevChain::load(
        &dir.join("state.json"),
        &dir.join("deployment.json"),
        AnvilOptions {
            gas_limit: Some(GAS_LIMIT),
            ..AnvilOptions::default()
        },
    )
    .await?;
    let full = measure(&args, &dir, &chain, "full").await?;
    let scoped = measure(&args, &dir, &chain, "scoped").await?;
    ensure!(
        full.classes.len() >= args.payments,
        "full indexing classified {} payments of {}",
        full.classes.len(),
        args.payments
    );
    let equal = full.classes == scoped.classes;
    if !equal {
        let differing = full
            .classes
            .iter()
            .zip(&scoped.classes)
            .filter(|(a, b)| a != b)
            .count();
        eprintln!(
            "x402-bench-lineage: classes differ for {differing} payments (full {}, scoped {})",
            full.classes.len(),
            scoped.classes.len()
        );
    }
    println!("BENCH lineage_scoped_seconds {:.2} s", scoped.seconds);
    println!("BENCH lineage_full_seconds {:.2} s", full.seconds);
    println!("BENCH lineage_scoped_rows {} rows", scoped.rows);
    println!("BENCH lineage_full_rows {} rows", full.rows);
    println!("BENCH lineage_classes_equal {} 0/1", u8::from(equal));
    Ok(())
}
