//! Ground truth: what the database must hold, computed from `eth_getLogs` over the final canonical
//! chain, and the comparison with what the indexer wrote.
//!
//! Every log of the settlement contract and the registry, and every ERC-20 `Transfer` of the
//! payment tokens, must appear exactly once, in the table its event belongs to (logs of events
//! the indexer does not know, such as `OwnershipTransferred`, in `skipped_logs`), with the
//! canonical block hash and transaction hash; and nothing else may be there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use sqlx::{PgPool, Row};
use x402_bindings::{EcosystemRegistry, X402Settlement, IERC20};
use x402_domain::events::LogRows;

use crate::deploy::Deployment;
use crate::error::{ChainContext, Context, Error, Result};

alloy::sol! {
    /// EIP-3009 (FiatToken): an authorization was used.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
}

/// Blocks per `eth_getLogs` call when reading the truth (anvil has no limit; this bounds memory).
const TRUTH_RANGE: u64 = 5_000;

/// Identity of one log row: where it is and which transaction emitted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogKey {
    /// Block number.
    pub block_number: u64,
    /// Log index in the block.
    pub log_index: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
}

/// Rows per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroundTruth {
    /// Table name -> the log rows it must hold.
    pub tables: BTreeMap<&'static str, BTreeSet<LogKey>>,
}

impl GroundTruth {
    /// Rows over all tables.
    pub fn total(&self) -> usize {
        self.tables.values().map(BTreeSet::len).sum()
    }

    /// Rows of one table.
    pub fn count(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, BTreeSet::len)
    }
}

/// Every table that holds one row per log, with the `chain_id` column, that [`table_for`] maps
/// logs to: the declared event tables and the EIP-3009 authorizations.
pub fn log_tables() -> impl Iterator<Item = &'static str> {
    LogRows::TABLES
        .iter()
        .copied()
        .chain(["eip3009_authorizations"])
}

/// The table a log belongs to, by emitter and first topic.
pub fn table_for(log: &Log, deployment: &Deployment) -> &'static str {
    let Some(topic0) = log.topics().first().copied() else {
        return "skipped_logs";
    };
    let addr = log.address();
    if addr == deployment.settlement {
        match topic0 {
            t if t == X402Settlement::PaymentCharged::SIGNATURE_HASH => "charges",
            t if t == X402Settlement::PaymentAuthorized::SIGNATURE_HASH => "authorizations",
            t if t == X402Settlement::PaymentCaptured::SIGNATURE_HASH => "captures",
            t if t == X402Settlement::PaymentVoided::SIGNATURE_HASH => "voids",
            t if t == X402Settlement::PaymentReclaimed::SIGNATURE_HASH => "reclaims",
            t if t == X402Settlement::PaymentRefunded::SIGNATURE_HASH => "refunds",
            t if t == X402Settlement::SplitPaid::SIGNATURE_HASH => "split_payments",
            t if t == X402Settlement::BatchItemFailed::SIGNATURE_HASH => "batch_failures",
            t if t == X402Settlement::BatchSettled::SIGNATURE_HASH => "batches",
            t if t == X402Settlement::SpendingPolicySet::SIGNATURE_HASH => "spending_policies",
            t if t == X402Settlement::SplitSet::SIGNATURE_HASH => "splits",
            t if t == X402Settlement::ProtocolFeeChanged::SIGNATURE_HASH => "protocol_fee_changes",
            t if t == X402Settlement::TreasuryChanged::SIGNATURE_HASH => "treasury_changes",
            t if t == X402Settlement::ProtocolFeesWithdrawn::SIGNATURE_HASH => {
                "protocol_fee_withdrawals"
            }
            t if t == X402Settlement::AuthorizationCharged::SIGNATURE_HASH => {
                "authorization_charges"
            }
            _ => "skipped_logs",
        }
    } else if addr == deployment.registry {
        match topic0 {
            t if t == EcosystemRegistry::WalletLabeled::SIGNATURE_HASH => "registry_labels",
            t if t == EcosystemRegistry::WalletUnlabeled::SIGNATURE_HASH => "registry_labels",
            t if t == EcosystemRegistry::PayeeWalletDeclared::SIGNATURE_HASH => "declared_wallets",
            _ => "skipped_logs",
        }
    } else if topic0 == AuthorizationUsed::SIGNATURE_HASH && log.topics().len() == 3 {
        "eip3009_authorizations"
    } else if topic0 == IERC20::Transfer::SIGNATURE_HASH && log.topics().len() == 3 {
        "token_transfers"
    } else {
        // A Transfer-named log with the wrong shape (e.g. ERC-721's indexed amount).
        "skipped_logs"
    }
}

fn key_of(log: &Log) -> Result<LogKey> {
    let missing =
        |what: &str| Error::Setup(format!("anvil returned a log without {what}: {log:?}"));
    Ok(LogKey {
        block_number: log.block_number.ok_or_else(|| missing("blockNumber"))?,
        log_index: log.log_index.ok_or_else(|| missing("logIndex"))?,
        block_hash: log.block_hash.ok_or_else(|| missing("blockHash"))?,
        tx_hash: log
            .transaction_hash
            .ok_or_else(|| missing("transactionHash"))?,
    })
}

/// Reads the truth from the chain over `[from, to]`.
pub async fn from_chain(
    provider: &DynProvider,
    deployment: &Deployment,
    from: u64,
    to: u64,
) -> Result<GroundTruth> {
    let mut truth = GroundTruth::default();
    for t in log_tables() {
        truth.tables.insert(t, BTreeSet::new());
    }
    let tokens: Vec<Address> = deployment.tokens.iter().map(|t| t.address).collect();
    let mut start = from;
    while start <= to {
        let end = to.min(start + TRUTH_RANGE - 1);
        let contracts = Filter::new()
            .from_block(start)
            .to_block(end)
            .address(vec![deployment.settlement, deployment.registry]);
        let transfers = Filter::new()
            .from_block(start)
            .to_block(end)
            .address(tokens.clone())
            .event_signature(vec![
                IERC20::Transfer::SIGNATURE_HASH,
                AuthorizationUsed::SIGNATURE_HASH,
            ]);
        for filter in [contracts, transfers] {
            let logs = provider
                .get_logs(&filter)
                .await
                .chain_context(format!("eth_getLogs {start}..={end}"))?;
            for log in &logs {
                let table = table_for(log, deployment);
                if !truth
                    .tables
                    .get_mut(table)
                    .expect("every table is present")
                    .insert(key_of(log)?)
                {
                    return Err(Error::Setup(format!(
                        "the node itself returned a log twice: {log:?}"
                    )));
                }
            }
        }
        start = end + 1;
    }
    Ok(truth)
}

/// Reads what the indexer stored for `chain_id` up to block `to`.
pub async fn from_db(pool: &PgPool, chain_id: u64, to: u64) -> Result<GroundTruth> {
    let mut truth = GroundTruth::default();
    for table in log_tables() {
        let rows = sqlx::query(&format!(
            "SELECT block_number, log_index, block_hash, tx_hash FROM {table} WHERE chain_id = $1 AND block_number <= $2"
        ))
        .bind(chain_id as i64)
        .bind(to as i64)
        .fetch_all(pool)
        .await
        .context(format!("reading {table}"))?;
        let mut set = BTreeSet::new();
        for row in rows {
            let bytes32 = |col: &str| -> Result<B256> {
                let v: Vec<u8> = row.try_get(col).context(format!("{table}.{col}"))?;
                if v.len() != 32 {
                    return Err(Error::Mismatch(format!(
                        "{table}.{col} holds {} bytes, not 32",
                        v.len()
                    )));
                }
                Ok(B256::from_slice(&v))
            };
            let key = LogKey {
                block_number: row
                    .try_get::<i64, _>("block_number")
                    .context(format!("{table}.block_number"))? as u64,
                log_index: row
                    .try_get::<i32, _>("log_index")
                    .context(format!("{table}.log_index"))? as u64,
                block_hash: bytes32("block_hash")?,
                tx_hash: bytes32("tx_hash")?,
            };
            if !set.insert(key) {
                return Err(Error::Mismatch(format!("{table} holds {key:?} twice")));
            }
        }
        truth.tables.insert(table, set);
    }
    Ok(truth)
}

/// Describes every difference (at most 10 rows per table and side), or `None` when equal.
pub fn diff(chain: &GroundTruth, db: &GroundTruth) -> Option<String> {
    let mut out = String::new();
    let mut all_db: BTreeMap<(u64, u64), &'static str> = BTreeMap::new();
    for (table, rows) in &db.tables {
        for r in rows {
            if let Some(other) = all_db.insert((r.block_number, r.log_index), table) {
                out += &format!(
                    "log {}:{} is stored in both {other} and {table}\n",
                    r.block_number, r.log_index
                );
            }
        }
    }
    for table in log_tables() {
        let empty = BTreeSet::new();
        let want = chain.tables.get(table).unwrap_or(&empty);
        let got = db.tables.get(table).unwrap_or(&empty);
        let missing: Vec<_> = want.difference(got).collect();
        let extra: Vec<_> = got.difference(want).collect();
        if missing.is_empty() && extra.is_empty() {
            continue;
        }
        out += &format!(
            "{table}: chain has {}, database has {}\n",
            want.len(),
            got.len()
        );
        for m in missing.iter().take(10) {
            out += &format!("  missing {m:?}\n");
        }
        for e in extra.iter().take(10) {
            out += &format!("  extra   {e:?}\n");
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The indexer's checkpoint for `chain_id`: block number and hash, if it indexed any block.
pub async fn checkpoint(pool: &PgPool, chain_id: u64) -> Result<Option<(u64, B256)>> {
    let row = sqlx::query("SELECT block_number, block_hash FROM checkpoint WHERE chain_id = $1")
        .bind(chain_id as i64)
        .fetch_optional(pool)
        .await
        .context("reading the checkpoint")?;
    let Some(r) = row else { return Ok(None) };
    let n: i64 = r
        .try_get("block_number")
        .context("checkpoint.block_number")?;
    let h: Vec<u8> = r.try_get("block_hash").context("checkpoint.block_hash")?;
    // A checkpoint below block 0 (start block 0, nothing committed yet) means "nothing indexed".
    Ok(u64::try_from(n).ok().map(|n| (n, B256::from_slice(&h))))
}

/// Waits until the indexer's checkpoint is the chain's current head (same number and hash).
pub async fn wait_until_indexed(
    pool: &PgPool,
    provider: &DynProvider,
    chain_id: u64,
    timeout: Duration,
) -> Result<u64> {
    let start = Instant::now();
    let mut last = None;
    loop {
        let head = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .chain_context("reading the head")?
            .ok_or_else(|| Error::Setup("no latest block".into()))?;
        // The table does not exist before `migrate`: treat that as "not yet".
        if let Ok(Some((n, h))) = checkpoint(pool, chain_id).await {
            if n == head.header.number && h == head.header.hash {
                return Ok(n);
            }
            last = Some((n, h));
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!(
                    "the checkpoint to reach head {} {} (checkpoint now {last:?})",
                    head.header.number, head.header.hash
                ),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a successful comparison covered.
#[derive(Debug, Clone)]
pub struct TruthReport {
    /// Last block compared (the checkpoint).
    pub to_block: u64,
    /// The rows, per table.
    pub truth: GroundTruth,
}

/// Compares the database with the chain up to the indexer's checkpoint, which must itself be on
/// the canonical chain; also checks that every row's block is recorded in `blocks` with the same
/// hash and that `payments` holds exactly the charged or authorized payment ids.
pub async fn assert_db_matches_chain(
    pool: &PgPool,
    provider: &DynProvider,
    deployment: &Deployment,
) -> Result<TruthReport> {
    let chain_id = deployment.chain_id;
    let (to, hash) = checkpoint(pool, chain_id)
        .await?
        .ok_or_else(|| Error::Mismatch("the indexer wrote no checkpoint".into()))?;
    let canonical = provider
        .get_block_by_number(to.into())
        .await
        .chain_context(format!("reading block {to}"))?
        .ok_or_else(|| {
            Error::Mismatch(format!("checkpoint block {to} is above the chain's head"))
        })?;
    if canonical.header.hash != hash {
        return Err(Error::Mismatch(format!(
            "checkpoint {to} has hash {hash}, the canonical block is {}",
            canonical.header.hash
        )));
    }
    let chain = from_chain(provider, deployment, deployment.deploy_block, to).await?;
    let db = from_db(pool, chain_id, i64::MAX as u64).await?;
    if let Some(d) = diff(&chain, &db) {
        return Err(Error::Mismatch(d));
    }

    let orphan_blocks: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM ({}) r LEFT JOIN blocks b ON b.chain_id = $1 AND b.number = r.block_number \
         WHERE b.hash IS DISTINCT FROM r.block_hash",
        log_tables()
            .chain(["native_transfers"])
            .map(|t| format!("SELECT block_number, block_hash FROM {t} WHERE chain_id = $1"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    ))
    .bind(chain_id as i64)
    .fetch_one(pool)
    .await
    .context("checking rows against blocks")?;
    if orphan_blocks != 0 {
        return Err(Error::Mismatch(format!(
            "{orphan_blocks} rows name a block hash that `blocks` does not hold"
        )));
    }

    let payments_off: i64 = sqlx::query_scalar(
        "WITH want AS (SELECT payment_id FROM charges WHERE chain_id = $1 \
                       UNION SELECT payment_id FROM authorizations WHERE chain_id = $1 \
                       UNION SELECT payment_id FROM authorization_charges WHERE chain_id = $1 \
                       UNION SELECT payment_id FROM eip3009_authorizations WHERE chain_id = $1 AND payment_id IS NOT NULL \
                       UNION SELECT payment_id FROM permit2_proxy_settlements WHERE chain_id = $1 AND payment_id IS NOT NULL), \
              got AS (SELECT payment_id FROM payments WHERE chain_id = $1) \
         SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) a) \
              + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) b)",
    )
    .bind(chain_id as i64)
    .fetch_one(pool)
    .await
    .context("checking payments against charges and authorizations")?;
    if payments_off != 0 {
        return Err(Error::Mismatch(format!(
            "payments differs from the charged/authorized payment ids in {payments_off} ids"
        )));
    }
    Ok(TruthReport {
        to_block: to,
        truth: chain,
    })
}

/// One native transfer: block, position, hash, sender, recipient, value (decimal).
pub type NativeKey = (u64, u64, B256, Address, Address, String);

/// Native transfers of the canonical chain in `[from, to]`: top-level transactions with value and
/// a recipient whose receipt says they succeeded.
pub async fn native_transfers_from_chain(
    provider: &DynProvider,
    from: u64,
    to: u64,
) -> Result<BTreeSet<NativeKey>> {
    use alloy::consensus::Transaction as _;
    let mut out = BTreeSet::new();
    for n in from..=to {
        let block = provider
            .get_block_by_number(n.into())
            .full()
            .await
            .chain_context(format!("reading block {n}"))?
            .ok_or_else(|| Error::Setup(format!("block {n} missing")))?;
        for tx in block.transactions.txns() {
            let (Some(recipient), value) = (tx.to(), tx.value()) else {
                continue;
            };
            if value.is_zero() {
                continue;
            }
            let hash = *tx.inner.tx_hash();
            let receipt = provider
                .get_transaction_receipt(hash)
                .await
                .chain_context(format!("receipt of {hash}"))?
                .ok_or_else(|| Error::Setup(format!("no receipt for {hash}")))?;
            if receipt.status() {
                out.insert((
                    n,
                    tx.transaction_index.unwrap_or_default(),
                    hash,
                    tx.inner.signer(),
                    recipient,
                    value.to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// The `native_transfers` rows of `chain_id`.
pub async fn native_transfers_from_db(pool: &PgPool, chain_id: u64) -> Result<BTreeSet<NativeKey>> {
    let rows = sqlx::query(
        "SELECT block_number, tx_index, tx_hash, from_address, to_address, value::text AS value \
         FROM native_transfers WHERE chain_id = $1",
    )
    .bind(chain_id as i64)
    .fetch_all(pool)
    .await
    .context("reading native_transfers")?;
    let mut out = BTreeSet::new();
    for r in rows {
        let get = |c: &str| -> Result<Vec<u8>> {
            r.try_get::<Vec<u8>, _>(c)
                .context(format!("native_transfers.{c}"))
        };
        let (hash, from, to) = (get("tx_hash")?, get("from_address")?, get("to_address")?);
        if hash.len() != 32 || from.len() != 20 || to.len() != 20 {
            return Err(Error::Mismatch(
                "native_transfers holds a malformed hash or address".into(),
            ));
        }
        let key = (
            r.try_get::<i64, _>("block_number")
                .context("native_transfers.block_number")? as u64,
            r.try_get::<i32, _>("tx_index")
                .context("native_transfers.tx_index")? as u64,
            B256::from_slice(&hash),
            Address::from_slice(&from),
            Address::from_slice(&to),
            r.try_get::<String, _>("value")
                .context("native_transfers.value")?,
        );
        if !out.insert(key.clone()) {
            return Err(Error::Mismatch(format!(
                "native_transfers holds {key:?} twice"
            )));
        }
    }
    Ok(out)
}

/// Compares `native_transfers` with the canonical chain from the deploy block to the checkpoint.
/// Returns how many transfers there are.
pub async fn assert_native_transfers_match(
    pool: &PgPool,
    provider: &DynProvider,
    deployment: &Deployment,
) -> Result<usize> {
    let (to, _) = checkpoint(pool, deployment.chain_id)
        .await?
        .ok_or_else(|| Error::Mismatch("the indexer wrote no checkpoint".into()))?;
    let chain = native_transfers_from_chain(provider, deployment.deploy_block, to).await?;
    let db = native_transfers_from_db(pool, deployment.chain_id).await?;
    if chain != db {
        let missing: Vec<_> = chain.difference(&db).take(10).collect();
        let extra: Vec<_> = db.difference(&chain).take(10).collect();
        return Err(Error::Mismatch(format!(
            "native_transfers: chain has {}, database has {}\n  missing {missing:?}\n  extra {extra:?}",
            chain.len(),
            db.len()
        )));
    }
    Ok(chain.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(block: u64, index: u64, hash: u8) -> LogKey {
        LogKey {
            block_number: block,
            log_index: index,
            block_hash: B256::repeat_byte(hash),
            tx_hash: B256::repeat_byte(0xaa),
        }
    }

    fn truth(rows: &[(&'static str, LogKey)]) -> GroundTruth {
        let mut t = GroundTruth::default();
        for (table, k) in rows {
            t.tables.entry(table).or_default().insert(*k);
        }
        t
    }

    #[test]
    fn equal_sets_have_no_diff() {
        let t = truth(&[("charges", key(5, 0, 1)), ("token_transfers", key(5, 1, 1))]);
        assert_eq!(diff(&t, &t.clone()), None);
    }

    #[test]
    fn missing_extra_stale_and_misfiled_rows_are_reported() {
        let chain = truth(&[("charges", key(5, 0, 1)), ("token_transfers", key(6, 0, 2))]);
        // Row of an orphaned block (stale hash), a missing transfer, and a log in the wrong table.
        let db = truth(&[
            ("charges", key(5, 0, 9)),
            ("skipped_logs", key(7, 0, 3)),
            ("batches", key(7, 0, 3)),
        ]);
        let d = diff(&chain, &db).expect("a difference");
        assert!(d.contains("charges: chain has 1, database has 1"), "{d}");
        assert!(
            d.contains("token_transfers: chain has 1, database has 0"),
            "{d}"
        );
        assert!(d.contains("stored in both"), "{d}");
    }
}
