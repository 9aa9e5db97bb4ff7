//! Keeps the API's read model (`api_payment_facts`, `api_daily_stats`, `api_payer_days`,
//! `api_payer_stats`) in step with the indexer and the classifier.
//!
//! A refresh compares what the read model was built from (`api_refresh_state`) with the
//! classifier's `classifier_state.updated_at` and the indexer's checkpoint. The first refresh
//! (and `--full`) builds every day (`api_refresh_days`); every later one re-reads only the
//! payments that may have changed since and applies their per-payment deltas ([`delta`]), so its
//! cost follows what changed, not the size of the days it falls on. Either runs in one
//! transaction (readers see the old or the new model, never a mix); a transaction-level advisory
//! lock keeps several API processes from refreshing the same chain at once.

mod delta;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

pub use delta::Changes;

/// How many blocks below the last seen checkpoint a refresh re-reads when that block is no
/// longer known on the chain (a reorg rewrote the tail, or `blocks` no longer holds it).
const REORG_SLACK_BLOCKS: i64 = 128;

/// Most payments entering or leaving the facts in one refresh that are handed to the in-memory
/// model as deltas; past this (a from-scratch reclassification) it reloads instead.
const MAX_SHIPPED_DELTAS: i64 = 200_000;

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Days whose aggregates changed (every day for a rebuild; 0 when nothing changed).
    pub days: usize,
    /// Payments whose facts were written, changed or removed.
    pub payments: i64,
    /// The read model's generation after the refresh.
    pub generation: i64,
    /// What an incremental refresh changed, for the in-memory model to apply; `None` after a
    /// rebuild (or a change too large to ship), when it reloads.
    pub changes: Option<Changes>,
}

/// Errors of a refresh.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The database failed.
    #[error("refreshing the API read model failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Brings the read model of `chain_id` up to date; builds everything the first time.
pub async fn refresh(pool: &PgPool, chain_id: i64) -> Result<RefreshOutcome, RefreshError> {
    run(pool, chain_id, false).await
}

/// Rebuilds the whole read model of `chain_id` (after a bulk load, or to repair it).
pub async fn rebuild(pool: &PgPool, chain_id: i64) -> Result<RefreshOutcome, RefreshError> {
    run(pool, chain_id, true).await
}

async fn run(pool: &PgPool, chain_id: i64, full: bool) -> Result<RefreshOutcome, RefreshError> {
    let mut tx = pool.begin().await?;
    // Plan every statement for its bounds: the statements are prepared (and the payer-stats
    // function's are cached), and after a few executions PostgreSQL may switch to a generic plan,
    // which for `block >= $3` or `classified_at > $2` scans whole tables (seconds per refresh
    // instead of milliseconds).
    sqlx::query("set local plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    // Key: a constant tag mixed with the chain, so other advisory-lock users do not collide.
    sqlx::query("select pg_advisory_xact_lock(7000000 + $1)")
        .bind(chain_id)
        .execute(&mut *tx)
        .await?;

    let source: Source = sqlx::query_as(
        "select (select updated_at from classifier_state where chain_id = $1),
                (select block_number from checkpoint where chain_id = $1),
                (select block_hash from checkpoint where chain_id = $1)",
    )
    .bind(chain_id)
    .fetch_one(&mut *tx)
    .await?;
    let seen: Option<(Source, i64)> = sqlx::query_as(
        "select classifier_updated_at, checkpoint_block, checkpoint_hash, generation
         from api_refresh_state where chain_id = $1",
    )
    .bind(chain_id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|(c, b, h, g)| ((c, b, h), g));

    let (days, payments, changes) = match &seen {
        Some((seen, generation)) if !full => {
            if seen == &source {
                tx.rollback().await?;
                return Ok(RefreshOutcome {
                    days: 0,
                    payments: 0,
                    generation: *generation,
                    changes: None,
                });
            }
            // No reorg reached the checkpoint seen while `blocks` still has it with its hash.
            let intact: bool = sqlx::query_scalar(
                "select exists(select 1 from blocks where chain_id = $1 and number = $2 and hash = $3)",
            )
            .bind(chain_id)
            .bind(seen.1)
            .bind(&seen.2)
            .fetch_one(&mut *tx)
            .await?;
            let since = since(seen, &source, intact);
            let applied = delta::apply(&mut tx, chain_id, since).await?;
            if applied.inconsistent {
                // The model is not what the deltas assume (changed behind the refresh's back):
                // start over from the source.
                tracing::warn!("read model inconsistent with its deltas; rebuilding it");
                tx.rollback().await?;
                return Box::pin(run(pool, chain_id, true)).await;
            }
            let shipped = delta::size(&mut tx).await? <= MAX_SHIPPED_DELTAS;
            let changes = if shipped {
                Some(delta::read(&mut tx, chain_id).await?)
            } else {
                None
            };
            (applied.days, applied.payments, changes)
        }
        _ => {
            let (days, payments) = rebuild_days(&mut tx, chain_id, full).await?;
            (days, payments, None)
        }
    };
    let generation: i64 = sqlx::query_scalar(
        "insert into api_refresh_state (chain_id, classifier_updated_at, checkpoint_block, checkpoint_hash,
             refreshed_at, days_refreshed, generation)
         values ($1, $2, $3, $5, now(), $4, 1)
         on conflict (chain_id) do update set
             classifier_updated_at = excluded.classifier_updated_at,
             checkpoint_block = excluded.checkpoint_block,
             checkpoint_hash = excluded.checkpoint_hash,
             refreshed_at = now(),
             days_refreshed = excluded.days_refreshed,
             generation = api_refresh_state.generation + 1
         returning generation",
    )
    .bind(chain_id)
    .bind(source.0)
    .bind(source.1)
    .bind(days as i64)
    .bind(&source.2)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RefreshOutcome {
        days,
        payments,
        generation,
        changes,
    })
}

/// Where the read model comes from: the classifier state's `updated_at`, the indexer
/// checkpoint's block and hash.
type Source = (Option<DateTime<Utc>>, Option<i64>, Option<Vec<u8>>);

/// What an incremental refresh re-reads, given the source the model was built from (`seen`),
/// the source now, and whether the checkpoint block seen is still on the chain (`intact`).
fn since(seen: &Source, now: &Source, intact: bool) -> delta::Since {
    // The classifier writes its verdicts (classified_at = now()) and its state
    // (updated_at = now()) in one transaction, one transaction at a time: every verdict
    // committed after the state we saw was written by a later transaction, so has classified_at
    // > that state's updated_at. (Verdicts stamped exactly at it came with that state, and the
    // refresh that saw the state read them: re-reading them would make the first refresh after
    // a from-scratch classification re-read every payment.)
    let classified = (seen.0 != now.0).then(|| seen.0.unwrap_or(DateTime::<Utc>::UNIX_EPOCH));
    // The indexer writes payments with the checkpoint, so nothing changed while it stayed put.
    // When it moved on from an intact checkpoint, only later blocks changed; otherwise a reorg
    // may have rewritten the blocks below both the checkpoint seen and the current one (a
    // rollback moves it back first).
    // (A new hash at the same height is a reorg that ended where the last one started.)
    let block = (seen.1 != now.1 || seen.2 != now.2).then(|| match (seen.1, now.1) {
        (Some(a), Some(b)) if intact && b > a => a + 1,
        (Some(a), Some(b)) => a.min(b) - REORG_SLACK_BLOCKS,
        (Some(a), None) | (None, Some(a)) => a - REORG_SLACK_BLOCKS,
        (None, None) => i64::MIN,
    });
    delta::Since { classified, block }
}

/// Builds every day from the source (after emptying the model when `full`: days no longer in
/// `payments` at all must go too); returns the days and the payments written.
async fn rebuild_days(
    tx: &mut sqlx::PgConnection,
    chain_id: i64,
    full: bool,
) -> Result<(usize, i64), sqlx::Error> {
    if full {
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
    }
    let days: Vec<NaiveDate> = sqlx::query_scalar(
        "select distinct (first_block_time at time zone 'UTC')::date from payments where chain_id = $1 order by 1",
    )
    .bind(chain_id)
    .fetch_all(&mut *tx)
    .await?;
    if days.is_empty() {
        return Ok((0, 0));
    }
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
    Ok((days.len(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_only_what_moved() {
        let t = |s: i64| DateTime::<Utc>::from_timestamp(s, 0);
        let src = |s: i64, b: i64| (t(s), Some(b), Some(vec![b as u8]));
        // Only the classifier moved: verdicts since the state seen, no blocks.
        let s = since(&src(100, 500), &src(200, 500), true);
        assert_eq!((s.classified, s.block), (t(100), None));
        // Only the indexer moved, on from an intact checkpoint: the blocks after it.
        let s = since(&src(100, 500), &src(100, 520), true);
        assert_eq!((s.classified, s.block), (None, Some(501)));
        // A reorg replaced the checkpoint block seen: from below it.
        let s = since(&src(100, 500), &src(100, 520), false);
        assert_eq!(s.block, Some(500 - REORG_SLACK_BLOCKS));
        // A rollback moved the checkpoint back: from below the new one.
        let s = since(&src(100, 500), &src(100, 300), true);
        assert_eq!(s.block, Some(300 - REORG_SLACK_BLOCKS));
        // A reorg between two looks that ended at the same height: from below it.
        let s = since(&src(100, 500), &(t(100), Some(500), Some(vec![9])), false);
        assert_eq!(s.block, Some(500 - REORG_SLACK_BLOCKS));
        // Never seen a classifier state: every verdict.
        let s = since(&(None, Some(500), None), &src(100, 500), true);
        assert_eq!(s.classified, t(0));
    }
}
