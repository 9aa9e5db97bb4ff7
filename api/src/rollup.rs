//! Keeps the API's read model (`api_payment_facts`, `api_daily_stats`, `api_payer_days`) in step
//! with the indexer and the classifier.
//!
//! A refresh compares what the read model was built from (`api_refresh_state`) with the
//! classifier's `classifier_state.updated_at` and the indexer's checkpoint, asks
//! `api_changed_days` which days may be stale, and rebuilds exactly those days in one transaction
//! (readers see the old or the new days, never a mix). A transaction-level advisory lock keeps
//! several API processes from refreshing the same chain at once.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

/// How many blocks below the last seen checkpoint a refresh re-reads: reorgs rewrite the tail.
const REORG_SLACK_BLOCKS: i64 = 128;

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Days rebuilt (0 when nothing changed).
    pub days: usize,
    /// Payments written into the facts of those days.
    pub payments: i64,
    /// The read model's generation after the refresh.
    pub generation: i64,
    /// The days rebuilt.
    pub changed: Vec<NaiveDate>,
}

/// Errors of a refresh.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The database failed.
    #[error("refreshing the API read model failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Brings the read model of `chain_id` up to date; rebuilds everything the first time.
pub async fn refresh(pool: &PgPool, chain_id: i64) -> Result<RefreshOutcome, RefreshError> {
    run(pool, chain_id, false).await
}

/// Rebuilds the whole read model of `chain_id` (after a bulk load, or to repair it).
pub async fn rebuild(pool: &PgPool, chain_id: i64) -> Result<RefreshOutcome, RefreshError> {
    run(pool, chain_id, true).await
}

async fn run(pool: &PgPool, chain_id: i64, full: bool) -> Result<RefreshOutcome, RefreshError> {
    let mut tx = pool.begin().await?;
    // Key: a constant tag mixed with the chain, so other advisory-lock users do not collide.
    sqlx::query("select pg_advisory_xact_lock(7000000 + $1)")
        .bind(chain_id)
        .execute(&mut *tx)
        .await?;

    let source: (Option<DateTime<Utc>>, Option<i64>) = sqlx::query_as(
        "select (select updated_at from classifier_state where chain_id = $1),
                (select block_number from checkpoint where chain_id = $1)",
    )
    .bind(chain_id)
    .fetch_one(&mut *tx)
    .await?;
    let seen: Option<(Option<DateTime<Utc>>, Option<i64>, i64)> = sqlx::query_as(
        "select classifier_updated_at, checkpoint_block, generation from api_refresh_state where chain_id = $1",
    )
    .bind(chain_id)
    .fetch_optional(&mut *tx)
    .await?;

    let days: Vec<NaiveDate> = match &seen {
        _ if full => {
            // Days no longer in payments at all must go too, so start from an empty model.
            for table in [
                "api_payment_facts",
                "api_daily_stats",
                "api_payer_days",
                "api_payer_stats",
            ] {
                // Table names come from this constant list, never from input.
                sqlx::query(&format!("delete from {table} where chain_id = $1"))
                    .bind(chain_id)
                    .execute(&mut *tx)
                    .await?;
            }
            all_days(&mut tx, chain_id).await?
        }
        None => all_days(&mut tx, chain_id).await?,
        Some((seen_cls, seen_block, generation)) => {
            if (seen_cls, seen_block) == (&source.0, &source.1) {
                tx.rollback().await?;
                return Ok(RefreshOutcome {
                    days: 0,
                    payments: 0,
                    generation: *generation,
                    changed: Vec::new(),
                });
            }
            // The classifier writes its verdicts (classified_at = now()) and its state
            // (updated_at = now()) in one transaction, one transaction at a time: every verdict
            // committed after the state we saw has classified_at >= that state's updated_at.
            let cls_since = if seen_cls == &source.0 {
                DateTime::<Utc>::MAX_UTC
            } else {
                seen_cls.unwrap_or(DateTime::<Utc>::MIN_UTC)
            };
            let block_since = if seen_block == &source.1 {
                i64::MAX
            } else {
                seen_block
                    .map(|b| b - REORG_SLACK_BLOCKS)
                    .unwrap_or(i64::MIN)
            };
            let mut days: Vec<NaiveDate> =
                sqlx::query_scalar("select api_changed_days($1, $2, $3)")
                    .bind(chain_id)
                    .bind(cls_since)
                    .bind(block_since)
                    .fetch_all(&mut *tx)
                    .await?;
            // Days the read model has but the source lost entirely (a reorg removed every
            // payment of a day) are caught by the block-days branch of api_changed_days.
            days.sort();
            days.dedup();
            days
        }
    };

    let payments: i64 = if days.is_empty() {
        0
    } else {
        // Payers active on the rebuilt days, before and after: their profiles change.
        let payers_sql = "select coalesce(array_agg(distinct payer), '{}') from api_payer_days
                          where chain_id = $1 and day = any ($2)";
        let before: Vec<Vec<u8>> = sqlx::query_scalar(payers_sql)
            .bind(chain_id)
            .bind(&days)
            .fetch_one(&mut *tx)
            .await?;
        let n = sqlx::query_scalar("select api_refresh_days($1, $2)")
            .bind(chain_id)
            .bind(&days)
            .fetch_one(&mut *tx)
            .await?;
        let mut payers: Vec<Vec<u8>> = sqlx::query_scalar(payers_sql)
            .bind(chain_id)
            .bind(&days)
            .fetch_one(&mut *tx)
            .await?;
        payers.extend(before);
        payers.sort();
        payers.dedup();
        sqlx::query("select api_refresh_payer_stats($1, $2)")
            .bind(chain_id)
            .bind(&payers)
            .execute(&mut *tx)
            .await?;
        n
    };
    let generation: i64 = sqlx::query_scalar(
        "insert into api_refresh_state (chain_id, classifier_updated_at, checkpoint_block, refreshed_at, days_refreshed, generation)
         values ($1, $2, $3, now(), $4, 1)
         on conflict (chain_id) do update set
             classifier_updated_at = excluded.classifier_updated_at,
             checkpoint_block = excluded.checkpoint_block,
             refreshed_at = now(),
             days_refreshed = excluded.days_refreshed,
             generation = api_refresh_state.generation + 1
         returning generation",
    )
    .bind(chain_id)
    .bind(source.0)
    .bind(source.1)
    .bind(days.len() as i64)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RefreshOutcome {
        days: days.len(),
        payments,
        generation,
        changed: days,
    })
}

async fn all_days(
    tx: &mut sqlx::PgConnection,
    chain_id: i64,
) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct (first_block_time at time zone 'UTC')::date from payments where chain_id = $1 order by 1",
    )
    .bind(chain_id)
    .fetch_all(tx)
    .await
}
