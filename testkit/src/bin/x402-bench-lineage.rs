//! `x402-bench-lineage`: scoped funding lineage against full indexing (`make bench-lineage`,
//! `script/bench-lineage.sh`), on a chain where x402 payments are a small share of token traffic.
//!
//! 1. Seeds anvil (or loads the state cached under `--state-dir` for the same parameters):
//!    - `--wallets` wallets, each first funded by one of `--exchanges` exchange wallets (labelled
//!      `exchange` for the classifier, as on a public chain), then `--transfers` transfers in all
//!      between random wallets, of the deployment's USDC (Circle's FiatToken): real `Transfer`
//!      logs with real balances, as a public chain's USDC has. To fit anvil, each sender permits
//!      (EIP-2612) a bench-only batcher contract once, and the batcher moves up to 2,700 transfers
//!      per transaction with `transferFrom`; anvil keeps no historical states (`--prune-history`);
//!    - `--payers` payers and `--payees` payees of the real deployment; each payer's first funding
//!      is gas money (a native transfer) and USDC and OPG from one of `--funders` funders, which are
//!      wallets of the unrelated traffic (their history is that traffic); these funding
//!      transactions are mined by hand, up to 2,000 per block (see `mine_all` in `x402_testkit::mined`);
//!    - `--payments` payments settled through the real X402Settlement in `chargeBatch`es;
//!    - four fifths of the unrelated traffic before the funding, the rest after the payments.
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
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{SolCall, SolValue};
use anyhow::{ensure, Context, Result};
use clap::Parser;
use x402_bindings::IERC20;
use x402_testkit::anvil::{AnvilOptions, AnvilRpc};
use x402_testkit::eip3009::IEip3009Token;
use x402_testkit::traffic::demo::IDemoToken;
use x402_testkit::{mined, wallets, DevChain, TestDb, Traffic};

/// Block gas limit of the benchmark chain (payment batches of 400 items fit in one block).
const GAS_LIMIT: u64 = 2_000_000_000;

/// anvil flags of the benchmark chain: no historical states kept (only the latest state is ever
/// read), which keeps anvil's memory to its blocks, receipts and call traces.
const ANVIL_FLAGS: [&str; 1] = ["--prune-history"];

/// Runtime code of the bench-only transfer batcher (set with `anvil_setCode`, no compiler run).
/// Calldata: the token (20 bytes), then 48-byte records (`from` 20, `to` 20, `amount` 8); for each
/// record it calls `token.transferFrom(from, to, amount)` and reverts with the token's reason when
/// that fails. The `Transfer` logs are the token's own: each `from` has approved the batcher once.
/// Assembled by hand:
///   PUSH1 20; loop: JUMPDEST; DUP1 CALLDATASIZE GT ISZERO PUSH2 end JUMPI
///   mstore(0, transferFrom selector << 224); mstore(4, calldataload(i) >> 96)
///   mstore(36, calldataload(i + 20) >> 96); mstore(68, calldataload(i + 40) >> 192)
///   call(gas, calldataload(0) >> 96, 0, 0, 100, 0, 32); ISZERO PUSH2 fail JUMPI
///   i += 48; JUMP loop; end: STOP; fail: revert with the return data
const BATCHER_CODE: &str = "60145b8036111561006b577f23b872dd00000000000000000000000000000000000000000000000000000000600052803560601c600452806014013560601c602452806028013560c01c6044526020600060646000600060003560601c5af11561006d57603001610002565b005b3d600060003e3d6000fd";
/// Runtime code of the bench-only permit submitter: calldata is the token (20 bytes), the spender
/// (20 bytes), then 85-byte records (`owner` 20, `v` 1, `r` 32, `s` 32); for each record it calls
/// the token's EIP-2612 `permit(owner, spender, 2^256 - 1, 2^256 - 1, v, r, s)`. Same shape as
/// [`BATCHER_CODE`] (records from byte 40, seven argument words, selector `d505accf`).
const PERMITTER_CODE: &str = "60285b80361115610085577fd505accf00000000000000000000000000000000000000000000000000000000600052803560601c60045260143560601c602452600019604452600019606452806014013560f81c608452806015013560a452806035013560c4526000600060e46000600060003560601c5af11561008757605501610002565b005b3d600060003e3d6000fd";
/// Bytes per transfer record.
const RECORD: usize = 48;
/// Bytes per permit record.
const PERMIT_RECORD: usize = 85;
/// Gas per FiatToken `transferFrom` through the batcher (about 29k to a new holder), with margin.
const GAS_PER_TRANSFER: u64 = 40_000;
/// Gas per FiatToken `permit` through the permitter (about 60k), with margin.
const GAS_PER_PERMIT: u64 = 80_000;
/// Largest calldata of one transaction (anvil refuses transactions above 128 KiB).
const MAX_CALLDATA: usize = 127 * 1024;
/// Funding transactions per hand-mined block (about what one-second blocks held before).
const WAVE: usize = 2_000;
/// Gas limit of a funding transaction (a mint, a token transfer), set rather than estimated:
/// anvil estimates against a pending block built by executing its whole pool, which holds up to a
/// [`WAVE`] of transactions while they are mined by hand (a plain ether transfer gets 21,000).
const FUNDING_GAS: u64 = 200_000;

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
    /// Transfers per batcher transaction (calldata stays under 128 KiB: at most 2,700).
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

/// The key of wallet `i` of `kind` (deterministic: the same parameters give the same chain).
fn key(kind: &str, i: usize) -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&keccak256(format!("x402-bench-lineage/{kind}/{i}")))
        .with_context(|| format!("deriving the key of {kind} {i}"))
}

/// Fixed addresses of the bench-only helper contracts.
fn helper(i: u8) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0xb5;
    a[19] = i;
    Address::from(a)
}

/// `keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")`.
fn permit_typehash() -> B256 {
    keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
}

/// Permit records (`owner`, `v`, `r`, `s`) letting `spender` move every token of each of `keys`
/// (their first permit: nonce 0), signed on every core.
fn sign_permits(keys: &[PrivateKeySigner], domain: B256, spender: Address) -> Result<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = keys.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = keys
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(chunk.len() * PERMIT_RECORD);
                    for k in chunk {
                        let inner = keccak256(
                            (
                                permit_typehash(),
                                k.address(),
                                spender,
                                U256::MAX,
                                U256::ZERO,
                                U256::MAX,
                            )
                                .abi_encode(),
                        );
                        let mut digest = Vec::with_capacity(66);
                        digest.extend_from_slice(&[0x19, 0x01]);
                        digest.extend_from_slice(domain.as_slice());
                        digest.extend_from_slice(inner.as_slice());
                        let sig = k.sign_hash_sync(&keccak256(&digest))?;
                        out.extend_from_slice(k.address().as_slice());
                        out.push(27 + u8::from(sig.v()));
                        out.extend_from_slice(&sig.r().to_be_bytes::<32>());
                        out.extend_from_slice(&sig.s().to_be_bytes::<32>());
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signing thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(keys.len() * PERMIT_RECORD);
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
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
        // v4: one batch per block for sure (hand-mined), the funding in blocks of 2,000.
        "lineage-v4",
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Peak resident memory of process `pid` in MiB (`VmHWM`), when /proc tells.
fn peak_rss_mib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// Sends `tx` (a JSON transaction object) through anvil's `eth_sendTransaction`: the sender is an
/// unlocked or impersonated account.
async fn send(p: &DynProvider, tx: serde_json::Value) -> Result<B256> {
    p.raw_request::<_, B256>("eth_sendTransaction".into(), (tx,))
        .await
        .context("eth_sendTransaction")
}

/// Sends `tx` and mines it alone in a block (automine is off). Automine does not keep one
/// transaction per block: when anvil mines slower than the transactions come (a loaded machine,
/// 100k holders), it packs every waiting one into the next block, up to the gas limit (26 batches
/// of 2,700 transfers in one block of the 2M chain: 44 MB of logs, which the indexer cannot fetch
/// under its 16 MiB response cap).
async fn send_alone(p: &DynProvider, what: &str, tx: serde_json::Value) -> Result<()> {
    let hash = send(p, tx).await?;
    mined::mine_all(p, what, &[hash]).await?;
    Ok(())
}

/// Transactions sent while automine is off and nothing else mines, mined by hand
/// ([`mined::mine_all`]) in blocks of about [`WAVE`].
struct Waves<'a> {
    p: &'a DynProvider,
    what: &'static str,
    sent: Vec<B256>,
    blocks: u64,
}

impl<'a> Waves<'a> {
    fn new(p: &'a DynProvider, what: &'static str) -> Self {
        Self {
            p,
            what,
            sent: Vec::new(),
            blocks: 0,
        }
    }

    async fn add(&mut self, hashes: impl IntoIterator<Item = B256>) -> Result<()> {
        self.sent.extend(hashes);
        if self.sent.len() >= WAVE {
            self.mine().await?;
        }
        Ok(())
    }

    /// Mines what was sent; returns the blocks mined so far.
    async fn mine(&mut self) -> Result<u64> {
        self.blocks += mined::mine_all(self.p, self.what, &self.sent).await?;
        self.sent.clear();
        Ok(self.blocks)
    }
}

/// Token transfers `(from, to, amount)` through the batcher, in transactions of `per_tx`.
async fn bulk(
    p: &DynProvider,
    token: Address,
    sender: Address,
    transfers: &[(Address, Address, u64)],
    per_tx: usize,
) -> Result<()> {
    for chunk in transfers.chunks(per_tx) {
        let mut data = Vec::with_capacity(20 + chunk.len() * RECORD);
        data.extend_from_slice(token.as_slice());
        for (from, to, amount) in chunk {
            data.extend_from_slice(from.as_slice());
            data.extend_from_slice(to.as_slice());
            data.extend_from_slice(&amount.to_be_bytes());
        }
        let gas = 100_000 + GAS_PER_TRANSFER * chunk.len() as u64;
        send_alone(
            p,
            "batched transfers",
            serde_json::json!({
                "from": sender, "to": helper(1), "data": Bytes::from(data),
                "gas": format!("{gas:#x}"),
            }),
        )
        .await?;
    }
    Ok(())
}

/// Submits `records` (see [`sign_permits`]) through the permitter.
async fn permits(
    p: &DynProvider,
    token: Address,
    spender: Address,
    sender: Address,
    records: &[u8],
) -> Result<()> {
    let per_tx = (MAX_CALLDATA - 40) / PERMIT_RECORD;
    for chunk in records.chunks(per_tx * PERMIT_RECORD) {
        let mut data = Vec::with_capacity(40 + chunk.len());
        data.extend_from_slice(token.as_slice());
        data.extend_from_slice(spender.as_slice());
        data.extend_from_slice(chunk);
        let gas = 100_000 + GAS_PER_PERMIT * (chunk.len() / PERMIT_RECORD) as u64;
        send_alone(
            p,
            "permits",
            serde_json::json!({
                "from": sender, "to": helper(2), "data": Bytes::from(data),
                "gas": format!("{gas:#x}"),
            }),
        )
        .await?;
    }
    Ok(())
}

/// Deploys and seeds a chain, dumping its state into `dir` when anvil stops.
async fn seed(args: &Args, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join("state.json.partial");
    let chain = DevChain::start_with(AnvilOptions {
        gas_limit: Some(GAS_LIMIT),
        dump_state: Some(partial.clone()),
        extra_args: ANVIL_FLAGS.map(String::from).to_vec(),
        ..AnvilOptions::default()
    })
    .await?;
    std::fs::copy(&chain.deployment_file, dir.join("deployment.json"))?;
    let p = chain.anvil.provider();
    let rpc = AnvilRpc::new(p.clone());
    let started = Instant::now();
    let usdc = chain
        .deployment
        .tokens
        .iter()
        .find(|t| t.symbol == "USDC")
        .context("the deployment has no USDC")?
        .address;
    for (i, code) in [(1, BATCHER_CODE), (2, PERMITTER_CODE)] {
        p.raw_request::<_, ()>(
            "anvil_setCode".into(),
            (helper(i), Bytes::from(alloy::hex::decode(code)?)),
        )
        .await?;
    }
    p.raw_request::<_, ()>("anvil_autoImpersonateAccount".into(), (true,))
        .await?;
    // Every block is mined by hand (testkit::mined::mine_all) but the payments' (see below), so
    // the chain's blocks are what the bench says: one batch per block, the funding in waves.
    rpc.set_automine(false).await?;
    let sender = wallets::deployer().address();

    // The unrelated traffic, in USDC: first fundings from the exchanges, then random pairs. Every
    // sender lets the batcher move its USDC once (an EIP-2612 permit).
    let keys = |kind: &str, n: usize| (0..n).map(|i| key(kind, i)).collect::<Result<Vec<_>>>();
    let exchange_keys = keys("exchange", args.exchanges)?;
    let wallet_keys = keys("wallet", args.wallets)?;
    let exchanges: Vec<Address> = exchange_keys.iter().map(|k| k.address()).collect();
    let wallets: Vec<Address> = wallet_keys.iter().map(|k| k.address()).collect();
    let domain = IEip3009Token::new(usdc, p.clone())
        .DOMAIN_SEPARATOR()
        .call()
        .await
        .context("USDC's DOMAIN_SEPARATOR")?;
    let signed: Vec<PrivateKeySigner> = exchange_keys.into_iter().chain(wallet_keys).collect();
    let records = sign_permits(&signed, domain, helper(1))?;
    drop(signed);
    eprintln!(
        "x402-bench-lineage: {} permits signed in {:.1?}",
        records.len() / PERMIT_RECORD,
        started.elapsed()
    );
    permits(&p, usdc, helper(1), sender, &records).await?;
    drop(records);
    let per_exchange = args.wallets.div_ceil(exchanges.len()) as u64;
    let first_funding: u64 = 1_000_000_000;
    let mut waves = Waves::new(&p, "minting to the exchanges");
    for e in &exchanges {
        let hash = *IDemoToken::new(usdc, p.clone())
            .mint(*e, U256::from(per_exchange * first_funding))
            .from(sender)
            .send()
            .await?
            .tx_hash();
        waves.add([hash]).await?;
    }
    waves.mine().await?;
    eprintln!(
        "x402-bench-lineage: {} permits and exchange mints in {:.1?}",
        exchanges.len() + wallets.len(),
        started.elapsed()
    );

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut traffic: Vec<(Address, Address, u64)> = Vec::with_capacity(args.transfers);
    for (i, w) in wallets.iter().enumerate() {
        traffic.push((exchanges[i % exchanges.len()], *w, first_funding));
    }
    // Each wallet sends about transfers / wallets of these (at most 10 USDC each), far below its
    // first funding.
    while traffic.len() < args.transfers {
        let (a, b) = (rng.below(wallets.len()), rng.below(wallets.len()));
        if a != b {
            traffic.push((wallets[a], wallets[b], 1 + rng.next() % 10_000_000));
        }
    }
    let before = traffic.len() * 4 / 5;
    bulk(&p, usdc, sender, &traffic[..before], args.records_per_tx).await?;
    eprintln!(
        "x402-bench-lineage: {before} USDC transfers in {:.1?}",
        started.elapsed()
    );

    // Payers: first funded by their funder (gas money, then both payment tokens). Many
    // transactions per block rather than one block per transaction (anvil's cost per block, a
    // state root over every holder, dominates the funding otherwise), mined by hand: automine off,
    // a wave of transactions sent, then `evm_mine` until they are all in. Never interval mining:
    // its timer queues the next block while the last one is still being built (a block of 2,000
    // transactions takes over a second on a loaded machine), and under that load anvil dropped
    // transactions it had accepted, with every later one of the same sender, whose receipts were
    // then awaited forever (2,000 payers / 200 funders hung with five of 6,000 funding transfers
    // gone). With nothing mining while transactions are sent, anvil's nonces come from an idle
    // pool. (The batched transfers keep one transaction per block: 2,700 logs, a block a public
    // chain could have.)
    let mut payments =
        Traffic::new(&chain.anvil.url(), chain.deployment.clone(), "lineage").await?;
    // One whole token minted to each payer (FiatToken refuses to mint nothing): the rest of
    // its tokens, and its gas, come from its funder.
    let per_wave = (WAVE / (2 * chain.deployment.tokens.len())).max(1);
    let mut waves = Waves::new(&p, "payers' own mint and Permit2 approvals");
    let mut funded = 0;
    while funded < args.payers {
        let n = per_wave.min(args.payers - funded);
        let payees = if funded == 0 { args.payees } else { 0 };
        let sent = payments.fund_unmined(n, payees, 1).await?;
        waves.add(sent.into_iter().map(|(_, h)| h)).await?;
        funded += n;
    }
    let mut blocks = waves.mine().await?;
    let funders = &wallets[..args.funders];
    let whole = |decimals: u8| U256::from(10u64).pow(U256::from(decimals));
    // The funders' tokens are mined before they pass them on (a block orders senders freely).
    let mut waves = Waves::new(&p, "minting to the funders");
    for f in funders {
        rpc.set_balance(*f, U256::from(10u64).pow(U256::from(21u64)))
            .await?;
        for t in &chain.deployment.tokens {
            let amount = U256::from(100_000u64) * whole(t.decimals);
            // Gas set, not estimated: see `FUNDING_GAS`.
            let hash = *IDemoToken::new(t.address, payments.provider().clone())
                .mint(*f, amount)
                .from(sender)
                .gas(FUNDING_GAS)
                .send()
                .await?
                .tx_hash();
            waves.add([hash]).await?;
        }
    }
    blocks += waves.mine().await?;
    let mut waves = Waves::new(&p, "funding the payers");
    for (i, payer) in payments.payers.iter().enumerate() {
        let funder = funders[i % funders.len()];
        let gas_money = send(
            &p,
            serde_json::json!({"from": funder, "to": payer.address(), "gas": "0x5208",
                "value": format!("{:#x}", U256::from(10u64).pow(U256::from(16u64)))}),
        )
        .await?;
        waves.add([gas_money]).await?;
        for t in &chain.deployment.tokens {
            let call = IERC20::transferCall {
                to: payer.address(),
                value: U256::from(50u64) * whole(t.decimals),
            };
            let hash = send(
                &p,
                serde_json::json!({"from": funder, "to": t.address,
                    "data": Bytes::from(call.abi_encode()), "gas": format!("{FUNDING_GAS:#x}")}),
            )
            .await?;
            waves.add([hash]).await?;
        }
    }
    blocks += waves.mine().await?;
    eprintln!(
        "x402-bench-lineage: funded {} payers from {} funders in {blocks} blocks ({:.1?})",
        args.payers,
        funders.len(),
        started.elapsed()
    );

    // The payments: one block per chargeBatch (each waits for its receipt).
    rpc.set_automine(true).await?;
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
    rpc.set_automine(false).await?;
    bulk(&p, usdc, sender, &traffic[before..], args.records_per_tx).await?;

    let labels: String = exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!("[[label]]\naddress = \"{e}\"\nkind = \"exchange\"\nnote = \"bench exchange {i}\"\n\n")
        })
        .collect();
    std::fs::write(dir.join("labels.toml"), labels)?;
    let head = p.get_block_number().await?;
    eprintln!(
        "x402-bench-lineage: seeded {head} blocks in {:.1?} (anvil peak memory {} MiB); saving the state",
        started.elapsed(),
        peak_rss_mib(chain.anvil.pid()).unwrap_or_default()
    );
    let DevChain { anvil, .. } = chain;
    anvil.stop()?;
    std::fs::rename(&partial, dir.join("state.json")).context("anvil wrote no state dump")?;
    eprintln!(
        "x402-bench-lineage: state saved ({} MiB) after {:.1?}",
        std::fs::metadata(dir.join("state.json"))?.len() >> 20,
        started.elapsed()
    );
    Ok(())
}

async fn run(cmd: &Path, args: &[String]) -> Result<()> {
    let status = tokio::process::Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        // BENCH_LOG=info shows where the time goes (the lineage logs each step with its duration).
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
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
    run(&args.classifier, &classifier(&["migrate"])).await?;
    let labels = dir.join("labels.toml");
    run(
        &args.classifier,
        &classifier(&["labels", "import", &labels.to_string_lossy()]),
    )
    .await?;
    let tokens: Vec<String> = chain
        .deployment
        .tokens
        .iter()
        .map(|t| format!("\"{}\"", t.address))
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
    let db_mib: i64 = sqlx::query_scalar("select pg_database_size(current_database()) >> 20")
        .fetch_one(&pool)
        .await?;
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
        "x402-bench-lineage: {mode}: indexed in {:.1} s, classified {} payments by {seconds:.1} s, {rows} rows, database {db_mib} MiB",
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
    let loading = Instant::now();
    let chain = DevChain::load(
        &dir.join("state.json"),
        &dir.join("deployment.json"),
        AnvilOptions {
            gas_limit: Some(GAS_LIMIT),
            extra_args: ANVIL_FLAGS.map(String::from).to_vec(),
            start_timeout: Some(std::time::Duration::from_secs(1_800)),
            ..AnvilOptions::default()
        },
    )
    .await?;
    eprintln!(
        "x402-bench-lineage: chain of {} blocks loaded in {:.1?}",
        chain.anvil.provider().get_block_number().await?,
        loading.elapsed()
    );
    let full = measure(&args, &dir, &chain, "full").await?;
    let scoped = measure(&args, &dir, &chain, "scoped").await?;
    eprintln!(
        "x402-bench-lineage: anvil peak memory {} MiB",
        peak_rss_mib(chain.anvil.pid()).unwrap_or_default()
    );
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
