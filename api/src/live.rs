//! Live ingest for `x402-api-bench --live-rate N`: while the scenarios run, new payments arrive
//! as the indexer and the classifier write them (a charge folded by the indexer's
//! `recompute_payments` with its block and checkpoint in one transaction; then the classifier's
//! verdict and state in another), and a probe measures how long each classified payment takes
//! to show in the API's read model (`/v1/payments?payer=...`, cache bypassed).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::keccak256;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use rand::seq::IndexedRandom;
use sqlx::PgPool;
use tokio::sync::Mutex;

/// A classified payment the probe waits to see: its payer, id (hex) and classification time.
type Pending = VecDeque<(String, String, Instant)>;

/// What a live run wrote and measured.
#[derive(Debug, Clone, Default)]
pub struct LiveOutcome {
    /// Payments written.
    pub payments: u64,
    /// Classified payments the probe saw in the API.
    pub seen: u64,
    /// 99th percentile of classification -> visible in the API, ms.
    pub freshness_p99_ms: f64,
    /// Median of the same, ms.
    pub freshness_p50_ms: f64,
    /// Classified payments still not visible when the run stopped.
    pub unseen: u64,
    /// Age of the oldest of those at the stop, ms (a lower bound of their freshness).
    pub oldest_unseen_ms: f64,
}

/// Runs live ingest at `rate` payments/s until `stop`, and the freshness probe against `base`.
pub struct Live {
    pool: PgPool,
    chain: i64,
    /// The last block before the run: what [`Live::finish`] rolls back to.
    start_block: i64,
    stop: Arc<AtomicBool>,
    writer: tokio::task::JoinHandle<anyhow::Result<u64>>,
    probe: tokio::task::JoinHandle<Histogram<u64>>,
    pending: Arc<Mutex<Pending>>,
}

impl Live {
    /// Starts writing and probing.
    pub async fn start(pool: PgPool, chain: i64, base: String, rate: u32) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(Mutex::new(Pending::new()));
        let ctx = Context::load(&pool, chain).await?;
        let start_block = ctx.block;
        let writer = tokio::spawn(write(
            pool.clone(),
            chain,
            ctx,
            rate,
            stop.clone(),
            pending.clone(),
        ));
        let probe = tokio::spawn(probe(base, stop.clone(), pending.clone()));
        Ok(Self {
            pool,
            chain,
            start_block,
            stop,
            writer,
            probe,
            pending,
        })
    }

    /// Stops, removes what it wrote as the indexer's rollback to the block before the run would
    /// (the payments, their charges, verdicts and blocks; the checkpoint moves back, so the API's
    /// next refresh re-reads those blocks and removes the payments), and reports.
    pub async fn finish(self) -> anyhow::Result<LiveOutcome> {
        self.stop.store(true, Ordering::Relaxed);
        let payments = self.writer.await??;
        let h = self.probe.await?;
        let (unseen, oldest_unseen_ms) = {
            let p = self.pending.lock().await;
            let oldest = p
                .front()
                .map(|(_, _, at)| at.elapsed().as_secs_f64() * 1000.0)
                .unwrap_or(0.0);
            (p.len() as u64, oldest)
        };
        let mut tx = self.pool.begin().await?;
        for sql in [
            "delete from payment_classes c using payments p where c.chain_id = $1 and p.chain_id = $1
                 and c.payment_id = p.payment_id and p.first_block_number > $2",
            "delete from payments where chain_id = $1 and first_block_number > $2",
            "delete from charges where chain_id = $1 and block_number > $2",
            "delete from blocks where chain_id = $1 and number > $2",
            "update checkpoint set block_number = $2, updated_at = now(),
                 block_hash = coalesce((select hash from blocks where chain_id = $1 and number = $2), block_hash)
             where chain_id = $1",
            "update classifier_state set updated_at = clock_timestamp() where chain_id = $1 and $2 = $2",
        ] {
            sqlx::query(sql)
                .bind(self.chain)
                .bind(self.start_block)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(LiveOutcome {
            payments,
            seen: h.len(),
            freshness_p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
            freshness_p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
            unseen,
            oldest_unseen_ms,
        })
    }
}

/// Who pays whom in the new payments, and where the chain is.
struct Context {
    payers: Vec<Vec<u8>>,
    payees: Vec<Vec<u8>>,
    token: Vec<u8>,
    facilitator: Vec<u8>,
    block: i64,
    time: DateTime<Utc>,
}

impl Context {
    async fn load(pool: &PgPool, chain: i64) -> anyhow::Result<Self> {
        let payers: Vec<Vec<u8>> = sqlx::query_scalar(
            "select payer from payments where chain_id = $1 group by payer order by payer limit 20000",
        )
        .bind(chain)
        .fetch_all(pool)
        .await?;
        let payees: Vec<Vec<u8>> =
            sqlx::query_scalar("select distinct payee from payments where chain_id = $1")
                .bind(chain)
                .fetch_all(pool)
                .await?;
        let (token, facilitator): (Vec<u8>, Vec<u8>) =
            sqlx::query_as("select token, facilitator from payments where chain_id = $1 limit 1")
                .bind(chain)
                .fetch_one(pool)
                .await?;
        let (block, time): (i64, DateTime<Utc>) = sqlx::query_as(
            "select max(first_block_number), max(first_block_time) from payments where chain_id = $1",
        )
        .bind(chain)
        .fetch_one(pool)
        .await?;
        let checkpoint: Option<i64> =
            sqlx::query_scalar("select block_number from checkpoint where chain_id = $1")
                .bind(chain)
                .fetch_optional(pool)
                .await?;
        anyhow::ensure!(
            !payers.is_empty() && !payees.is_empty(),
            "live ingest needs payments to continue from"
        );
        Ok(Self {
            payers,
            payees,
            token,
            facilitator,
            block: block.max(checkpoint.unwrap_or(0)),
            time,
        })
    }
}

async fn write(
    pool: PgPool,
    chain: i64,
    mut ctx: Context,
    rate: u32,
    stop: Arc<AtomicBool>,
    pending: Arc<Mutex<Pending>>,
) -> anyhow::Result<u64> {
    // One block every 100 ms with rate/10 payments.
    let per_block = (rate / 10).max(1) as usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut written = 0u64;
    let mut n = 0u64;
    // Ids differ between runs on the same database.
    let run: u64 = rand::random();
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        ctx.block += 1;
        ctx.time += chrono::Duration::seconds(2);
        let hash = keccak256(format!("live-block-{run}-{}", ctx.block));
        let mut batch = Vec::new();
        for i in 0..per_block {
            n += 1;
            let (payer, payee) = {
                let mut rng = rand::rng();
                (
                    ctx.payers.choose(&mut rng).expect("payers").clone(),
                    ctx.payees.choose(&mut rng).expect("payees").clone(),
                )
            };
            batch.push((
                keccak256(format!("live-payment-{run}-{n}")).to_vec(),
                payer,
                payee,
                i as i32,
            ));
        }
        // The indexer: the charges of the block, folded, the block and the checkpoint.
        let mut tx = pool.begin().await?;
        sqlx::query(
            "insert into blocks (chain_id, number, hash, parent_hash, block_time, log_count)
             values ($1, $2, $3, $3, $4, $5) on conflict do nothing",
        )
        .bind(chain)
        .bind(ctx.block)
        .bind(hash.as_slice())
        .bind(ctx.time)
        .bind(per_block as i32)
        .execute(&mut *tx)
        .await?;
        for (id, payer, payee, log) in &batch {
            sqlx::query(
                "insert into charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id,
                    payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee,
                    request_hash, evidence_hash, batch_id)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 1000000, 1000000, 0, 0, $12, $12, 0)",
            )
            .bind(chain)
            .bind(ctx.block)
            .bind(hash.as_slice())
            .bind(ctx.time)
            .bind(keccak256(id).as_slice())
            .bind(*log)
            .bind(id.as_slice())
            .bind(payer.as_slice())
            .bind(payee.as_slice())
            .bind(ctx.token.as_slice())
            .bind(ctx.facilitator.as_slice())
            .bind(keccak256([id.as_slice(), b"request".as_slice()].concat()).as_slice())
            .execute(&mut *tx)
            .await?;
        }
        let ids: Vec<Vec<u8>> = batch.iter().map(|b| b.0.clone()).collect();
        sqlx::query("select recompute_payments($1, $2)")
            .bind(chain)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update checkpoint set block_number = $2, block_hash = $3, updated_at = now() where chain_id = $1",
        )
        .bind(chain)
        .bind(ctx.block)
        .bind(hash.as_slice())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The classifier: the verdicts and its state, in one transaction.
        let mut tx = pool.begin().await?;
        sqlx::query(
            "insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share,
                cluster_id, rule_version, label_version)
             select $1, id, 'external', '{}', '{}', 0, 0, null, s.rule_version, s.label_version
             from unnest($2::bytea[]) id, classifier_state s where s.chain_id = $1",
        )
        .bind(chain)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update classifier_state set last_block = $2, updated_at = clock_timestamp(),
                 payments_classified = payments_classified + $3 where chain_id = $1",
        )
        .bind(chain)
        .bind(ctx.block)
        .bind(ids.len() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let at = Instant::now();
        written += batch.len() as u64;
        // The probe follows the block's last payment.
        if let Some((id, payer, _, _)) = batch.last() {
            pending.lock().await.push_back((
                format!("0x{}", alloy_primitives::hex::encode(payer)),
                format!("0x{}", alloy_primitives::hex::encode(id)),
                at,
            ));
        }
    }
    Ok(written)
}

async fn probe(
    base: String,
    stop: Arc<AtomicBool>,
    pending: Arc<Mutex<Pending>>,
) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
    let http = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        let next = pending.lock().await.front().cloned();
        let Some((payer, id, at)) = next else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let url = format!("{base}/v1/payments?payer={payer}&limit=1");
        let seen = match http
            .get(&url)
            .header("cache-control", "no-cache")
            .send()
            .await
        {
            Ok(r) => r
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["items"][0]["payment_id"].as_str().map(|s| s == id))
                .unwrap_or(false),
            Err(_) => false,
        };
        if seen {
            let _ = h.record((at.elapsed().as_micros() as u64).max(1));
            pending.lock().await.pop_front();
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    h
}
