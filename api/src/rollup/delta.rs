//! Per-payment maintenance of the read model: re-reads the payments that may have changed since
//! the last refresh, compares each with its fact, and applies the differences (the old
//! contribution subtracted, the new one added) to `api_payment_facts`, `api_daily_stats` and
//! `api_payer_days`, then recomputes the profiles of the payers involved. The cost follows the
//! number of payments re-read, not the size of the days they fall on.
//!
//! Every aggregate kept this way is a sum (payments, raw volumes, exact numeric taint-adjusted
//! volumes, refunds), so subtracting and adding contributions gives exactly what a rebuild
//! sums; a cell or payer-day whose payment count reaches zero is deleted, as a rebuild would not
//! have it. The statements run inside the caller's transaction and leave their work in
//! transaction-local tables (`on commit drop`), from which [`Changes`] is read.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

/// Where re-reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Since {
    /// Verdicts (payments and payers) written after this time, if the classifier moved.
    pub classified: Option<DateTime<Utc>>,
    /// Payments changed at or after this block, and facts written from such payments, if the
    /// indexer moved.
    pub block: Option<i64>,
}

/// A payment leaving (`sign` -1: its old fact) or entering (+1: its new fact) the read model.
/// A reclassified payment is both: its old fact out, its new one in.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FactDelta {
    /// -1 or +1.
    pub sign: i32,
    /// The payment's day.
    pub day: NaiveDate,
    /// Payer.
    pub payer: Vec<u8>,
    /// Payee.
    pub payee: Vec<u8>,
    /// Token.
    pub token: Vec<u8>,
    /// Facilitator.
    pub facilitator: Vec<u8>,
    /// Class (`unclassified` before a verdict).
    pub class: String,
    /// Payment source.
    pub source: String,
    /// Net amount, raw units, decimal.
    pub amount: String,
}

/// The value an `api_daily_stats` cell has after the refresh (`payments` 0: the cell is gone).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CellValue {
    /// Day.
    pub day: NaiveDate,
    /// Token.
    pub token: Vec<u8>,
    /// Payee.
    pub payee: Vec<u8>,
    /// Facilitator.
    pub facilitator: Vec<u8>,
    /// Class.
    pub class: String,
    /// Payment source.
    pub source: String,
    /// Payments.
    pub payments: i64,
    /// Volume, raw units, decimal.
    pub volume: String,
    /// Taint-adjusted volume, exact decimal.
    pub taint: String,
}

/// The value an `api_payer_days` row has after the refresh (`payments` 0: the row is gone).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayerDayValue {
    /// Day.
    pub day: NaiveDate,
    /// Payer.
    pub payer: Vec<u8>,
    /// Token.
    pub token: Vec<u8>,
    /// Payee.
    pub payee: Vec<u8>,
    /// Facilitator.
    pub facilitator: Vec<u8>,
    /// Class.
    pub class: String,
    /// Payment source.
    pub source: String,
    /// Payments.
    pub payments: i64,
    /// Volume, raw units, decimal.
    pub volume: String,
}

/// What one incremental refresh changed, for the in-memory read model to apply the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Payments that left or entered the facts.
    pub facts: Vec<FactDelta>,
    /// Every daily cell the refresh touched, with its new value.
    pub cells: Vec<CellValue>,
    /// Every payer-day row the refresh touched, with its new value.
    pub payer_days: Vec<PayerDayValue>,
    /// The entity of every payer that entered the facts or was reclassified (None: the payer is
    /// its own entity).
    pub entities: Vec<(Vec<u8>, Option<String>)>,
}

/// What [`apply`] did.
pub(super) struct Applied {
    /// Distinct days of the payments that left or entered the facts.
    pub days: usize,
    /// Payments whose fact was written, changed or removed.
    pub payments: i64,
    /// Whether a cell or payer-day went negative, or empty with a volume left: the model was not
    /// what the deltas assume, so the caller rebuilds it.
    pub inconsistent: bool,
}

/// The fact columns a payment's contribution depends on (its `block` is bookkeeping only).
const COMPARED: &str =
    "ts, day, payer, payee, token, facilitator, class, amount, project_share, refunded, source";
const FACT_COLUMNS: &str = "payment_id, ts, day, payer, payee, token, facilitator, class, amount, project_share, refunded, source, block";

/// Runs `sql`, binding the chain as `$1` and the bounds as `$2` (classified) and `$3` (block)
/// where the statement uses them (PostgreSQL refuses parameters a statement does not use).
async fn exec(
    tx: &mut PgConnection,
    sql: &str,
    chain: i64,
    since: Since,
) -> Result<u64, sqlx::Error> {
    let mut q = sqlx::query(sql);
    if sql.contains("$1") {
        q = q.bind(chain);
    }
    if sql.contains("$2") {
        q = q.bind(since.classified);
    }
    if sql.contains("$3") {
        q = q.bind(since.block);
    }
    Ok(q.execute(tx).await?.rows_affected())
}

/// Applies the deltas of every payment changed `since` to the SQL read model.
pub(super) async fn apply(
    tx: &mut PgConnection,
    chain: i64,
    since: Since,
) -> Result<Applied, sqlx::Error> {
    // Payments that may have changed: newly (re)classified, changed by a block at or after the
    // bound, or whose fact came from such a block (a reorg may have deleted the payment since).
    let mut candidates: Vec<&str> = Vec::new();
    if since.classified.is_some() {
        candidates.push(
            "select payment_id from payment_classes where chain_id = $1 and classified_at > $2",
        );
    }
    if since.block.is_some() {
        candidates.push(
            "select payment_id from payments where chain_id = $1 and updated_block_number >= $3",
        );
        candidates
            .push("select payment_id from api_payment_facts where chain_id = $1 and block >= $3");
    }
    if candidates.is_empty() {
        // Nothing moved: the same (empty) tables, so reading the changes needs no special case.
        candidates.push("select payment_id from payments where false");
    }
    exec(
        tx,
        &format!(
            "create temp table api_delta_ids on commit drop as {}",
            candidates.join(" union ")
        ),
        chain,
        since,
    )
    .await?;
    // Statistics, so the joins below pick index probes for a few candidates and hash joins for
    // many (a from-scratch reclassification re-reads every payment).
    exec(tx, "analyze api_delta_ids", chain, since).await?;
    // The fact each candidate should have (as `api_refresh_days` computes it) and the one it has.
    exec(
        tx,
        "create temp table api_delta_new on commit drop as
         select p.payment_id, p.first_block_time as ts, (p.first_block_time at time zone 'UTC')::date as day,
                p.payer, p.payee, p.token, p.facilitator, coalesce(pc.class, 'unclassified') as class,
                p.net_settled_amount as amount,
                least(greatest(coalesce(pc.project_share, 0), 0), 1) as project_share,
                p.refunded_amount as refunded, p.source, p.updated_block_number as block
         from api_delta_ids i
         join payments p on p.chain_id = $1 and p.payment_id = i.payment_id
         left join payment_classes pc on pc.chain_id = $1 and pc.payment_id = i.payment_id
         where p.settled_amount > 0",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        &format!(
            "create temp table api_delta_old on commit drop as
             select {FACT_COLUMNS} from api_payment_facts f
             where f.chain_id = $1 and f.payment_id in (select payment_id from api_delta_ids)"
        ),
        chain,
        since,
    )
    .await?;
    // The contributions that change: old facts out, new facts in, where they differ.
    let n_cols = COMPARED
        .split(", ")
        .map(|c| format!("n.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let o_cols = COMPARED
        .split(", ")
        .map(|c| format!("o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    exec(
        tx,
        &format!(
            "create temp table api_delta on commit drop as
             select -1 as sign, o.* from api_delta_old o
             where not exists (select 1 from api_delta_new n where n.payment_id = o.payment_id
                               and ({n_cols}) is not distinct from ({o_cols}))
             union all
             select 1 as sign, n.* from api_delta_new n
             where not exists (select 1 from api_delta_old o where o.payment_id = n.payment_id
                               and ({n_cols}) is not distinct from ({o_cols}))"
        ),
        chain,
        since,
    )
    .await?;

    // Facts: the gone deleted, the new and changed written (a changed `block` alone included).
    let removed = exec(
        tx,
        "delete from api_payment_facts f using api_delta_old o
         where f.chain_id = $1 and f.payment_id = o.payment_id
           and not exists (select 1 from api_delta_new n where n.payment_id = o.payment_id)",
        chain,
        since,
    )
    .await?;
    let set = FACT_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let f_cols = FACT_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("f.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let x_cols = FACT_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let written = exec(
        tx,
        &format!(
            "insert into api_payment_facts as f (chain_id, {FACT_COLUMNS})
             select $1, {FACT_COLUMNS} from api_delta_new
             on conflict (chain_id, payment_id) do update set {set}
             where ({f_cols}) is distinct from ({x_cols})"
        ),
        chain,
        since,
    )
    .await?;

    // Cells and payer-days: the summed deltas, added; their new values kept for the caller.
    exec(
        tx,
        "create temp table api_delta_cells (day date, token bytea, payee bytea, facilitator bytea,
             class text, source text, payments int8, volume numeric, taint numeric) on commit drop",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        "with d as (
             select day, token, payee, facilitator, class, source, sum(sign)::int8 as payments,
                    sum(sign * amount) as volume,
                    sum(case when class in ('external', 'project_funded')
                             then sign * amount * (1 - project_share) else 0 end) as taint
             from api_delta group by day, token, payee, facilitator, class, source
         ), up as (
             insert into api_daily_stats as s
                 (chain_id, day, token, payee, facilitator, class, source, payments, volume, taint_adjusted)
             select $1, day, token, payee, facilitator, class, source, payments, volume, taint from d
             on conflict (chain_id, day, token, payee, facilitator, class, source) do update set
                 payments = s.payments + excluded.payments, volume = s.volume + excluded.volume,
                 taint_adjusted = s.taint_adjusted + excluded.taint_adjusted
             returning s.day, s.token, s.payee, s.facilitator, s.class, s.source, s.payments, s.volume,
                       s.taint_adjusted
         )
         insert into api_delta_cells select * from up",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        "delete from api_daily_stats s using api_delta_cells c
         where s.chain_id = $1 and c.payments = 0 and s.day = c.day and s.token = c.token
           and s.payee = c.payee and s.facilitator = c.facilitator and s.class = c.class
           and s.source = c.source",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        "create temp table api_delta_payer_days (day date, payer bytea, token bytea, payee bytea,
             facilitator bytea, class text, source text, payments int8, volume numeric,
             refunded numeric) on commit drop",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        "with d as (
             select day, payer, token, payee, facilitator, class, source, sum(sign)::int8 as payments,
                    sum(sign * amount) as volume, sum(sign * refunded) as refunded
             from api_delta group by day, payer, token, payee, facilitator, class, source
         ), up as (
             insert into api_payer_days as s
                 (chain_id, day, payer, token, payee, facilitator, class, source, payments, volume, refunded)
             select $1, day, payer, token, payee, facilitator, class, source, payments, volume, refunded
             from d
             on conflict (chain_id, day, payer, token, payee, facilitator, class, source) do update set
                 payments = s.payments + excluded.payments, volume = s.volume + excluded.volume,
                 refunded = s.refunded + excluded.refunded
             returning s.day, s.payer, s.token, s.payee, s.facilitator, s.class, s.source, s.payments,
                       s.volume, s.refunded
         )
         insert into api_delta_payer_days select * from up",
        chain,
        since,
    )
    .await?;
    exec(
        tx,
        "delete from api_payer_days s using api_delta_payer_days c
         where s.chain_id = $1 and c.payments = 0 and s.day = c.day and s.payer = c.payer
           and s.token = c.token and s.payee = c.payee and s.facilitator = c.facilitator
           and s.class = c.class and s.source = c.source",
        chain,
        since,
    )
    .await?;
    let (days, inconsistent): (i64, bool) = sqlx::query_as(
        "select (select count(distinct day) from api_delta),
                exists(select 1 from api_delta_cells
                       where payments < 0 or (payments = 0 and (volume <> 0 or taint <> 0)))
                or exists(select 1 from api_delta_payer_days
                          where payments < 0 or (payments = 0 and (volume <> 0 or refunded <> 0)))",
    )
    .fetch_one(&mut *tx)
    .await?;

    // Profiles: payers whose payments moved, whose payments were reclassified (their flags), or
    // who were reclassified themselves (their class picks the example payment).
    let mut payers = String::from("select payer from api_delta");
    if since.classified.is_some() {
        payers.push_str(
            " union select n.payer from api_delta_new n
                join payment_classes pc on pc.chain_id = $1 and pc.payment_id = n.payment_id
              where pc.classified_at > $2
              union select payer from payer_classes where chain_id = $1 and classified_at > $2",
        );
    }
    exec(
        tx,
        &format!("create temp table api_delta_payers on commit drop as {payers}"),
        chain,
        since,
    )
    .await?;
    sqlx::query(
        "select api_refresh_payer_stats($1, (select coalesce(array_agg(payer), '{}') from api_delta_payers))",
    )
    .bind(chain)
    .execute(&mut *tx)
    .await?;
    Ok(Applied {
        days: days as usize,
        payments: (removed + written) as i64,
        inconsistent,
    })
}

/// Reads what [`apply`] changed, for the in-memory model.
pub(super) async fn read(tx: &mut PgConnection, chain: i64) -> Result<Changes, sqlx::Error> {
    let facts = sqlx::query_as(
        "select sign, day, payer, payee, token, facilitator, class, source, amount::text as amount
         from api_delta",
    )
    .fetch_all(&mut *tx)
    .await?;
    let cells = sqlx::query_as(
        "select day, token, payee, facilitator, class, source, payments, volume::text as volume,
                taint::text as taint
         from api_delta_cells",
    )
    .fetch_all(&mut *tx)
    .await?;
    let payer_days = sqlx::query_as(
        "select day, payer, token, payee, facilitator, class, source, payments, volume::text as volume
         from api_delta_payer_days",
    )
    .fetch_all(&mut *tx)
    .await?;
    // Entities of payers entering the facts (they may be new to the in-memory model) and of
    // reclassified payers.
    let entities = sqlx::query_as(
        "select u.payer, pc.entity_id
         from (select payer from api_delta where sign = 1 union select payer from api_delta_payers) u
         left join payer_classes pc on pc.chain_id = $1 and pc.payer = u.payer",
    )
    .bind(chain)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Changes {
        facts,
        cells,
        payer_days,
        entities,
    })
}

/// Rows of `api_delta` (payments out plus in): how large the change is.
pub(super) async fn size(tx: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from api_delta")
        .fetch_one(&mut *tx)
        .await
}
