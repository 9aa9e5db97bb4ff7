//! The metrics' rows read from the SQL read model (`api_daily_stats`, `api_payer_days`,
//! `api_payment_facts`), for when the in-memory copy is not loaded. Every function takes
//! validated filters and a resolved window and binds every value; the SQL text is constant.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::rows::{
    ActivityCounts, ClassTokenRow, CohortRow, PeriodActive, PeriodClassRow, PeriodCount,
    SeriesRows, SizeRow, SummaryRows, Uniques,
};
use super::{Coverage, Interval, Window};
use crate::error::ApiResult;
use crate::money::{bind_prices, px_cte, Pricing};
use crate::params::Filters;

/// The filter predicate on rollup tables. Binds: $1 chain, $2 from, $3 to, $4 token, $5 payee,
/// $6 facilitator, $7 classes, $8 sources.
const WHERE_ALL: &str = "chain_id = $1 and day between $2 and $3 \
    and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5) \
    and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))";

/// The filter predicate on `api_payer_days d` over all history up to the window's end, where a
/// payer's first payment is looked for: [`WHERE_ALL`] without the window's start, with the
/// activity classes (never null) in $7. Same binds.
const HISTORY: &str = "d.chain_id = $1 and d.day <= $3 \
    and ($4::bytea is null or d.token = $4) and ($5::bytea is null or d.payee = $5) \
    and ($6::bytea is null or d.facilitator = $6) and ($8::text[] is null or d.source = any($8)) and d.class = any($7)";

/// Binds the eight filter values in the order `WHERE_ALL` expects.
macro_rules! bind_filters {
    ($q:expr, $chain:expr, $w:expr, $f:expr, $classes:expr) => {
        $q.bind($chain)
            .bind($w.from)
            .bind($w.to)
            .bind($f.token_bytes())
            .bind($f.payee_bytes())
            .bind($f.facilitator_bytes())
            .bind($classes)
            .bind($f.source_names())
    };
}
pub(crate) use bind_filters;

/// The paying entity of a payer row `d` joined with its verdict `pc`: the classifier's
/// `payer_classes.entity_id` (lowercase 0x-hex of the smallest wallet of the entity), or the
/// wallet itself while the payer has no verdict.
pub(crate) const ENTITY: &str = "coalesce(pc.entity_id, '0x' || encode(d.payer, 'hex'))";

/// Everything a summary is computed from, read in parallel.
pub(super) async fn summary_rows(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    p: &Pricing,
    activity_classes: &[String],
) -> ApiResult<SummaryRows> {
    let (classes, uniques, activity, (payer_volumes, payee_volumes), sizes) = tokio::try_join!(
        class_rows(pool, chain, w, f, p),
        unique_payers(pool, chain, w, f),
        activity(pool, chain, w, f, activity_classes),
        holder_volumes(pool, chain, w, f, p),
        sizes(pool, chain, w, f),
    )?;
    Ok(SummaryRows {
        classes,
        uniques,
        activity,
        payer_volumes,
        payee_volumes,
        sizes,
    })
}

/// Totals per class and token, with USD where priced.
async fn class_rows(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    p: &Pricing,
) -> ApiResult<Vec<ClassTokenRow>> {
    let sql = format!(
        "with {px}
         select class, token, sum(payments)::int8 as count, sum(volume)::text as volume,
                sum(volume * px_usd)::text as usd, sum(taint_adjusted)::text as taint,
                sum(taint_adjusted * px_usd)::text as taint_usd
         from api_daily_stats left join px on px_token = token and day >= px_from and day < px_to
         where {WHERE_ALL}
         group by class, token",
        px = px_cte(9)
    );
    let q = bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names());
    Ok(bind_prices!(q, p).fetch_all(pool).await?)
}

/// Distinct payers and entities per class; `None` class = all.
async fn unique_payers(pool: &PgPool, chain: i64, w: Window, f: &Filters) -> ApiResult<Uniques> {
    let sql = format!(
        "select d.class, count(distinct d.payer)::int8, count(distinct {ENTITY})::int8
         from (select distinct payer, class from api_payer_days where {WHERE_ALL}) d
         left join payer_classes pc on pc.chain_id = $1 and pc.payer = d.payer
         group by grouping sets ((d.class), ())"
    );
    Ok(
        bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names())
            .fetch_all(pool)
            .await?,
    )
}

/// The payer-activity counts over the activity classes.
async fn activity(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    classes: &[String],
) -> ApiResult<ActivityCounts> {
    let sql = format!(
        "with act as (
            select day, payer, payee from api_payer_days where {WHERE_ALL}
         ),
         per_payer as (select payer, count(distinct day) as days from act group by payer),
         firsts as (
            select d.payer, min(d.day) as first_day
            from api_payer_days d
            where {HISTORY} and d.payer in (select payer from per_payer)
            group by d.payer
         )
         select
            (select count(*) from (select distinct day, payer from act) x)::int8 as payer_days,
            (select count(*) from (select distinct date_trunc('week', day::timestamp), payer from act) x)::int8
               as payer_weeks,
            (select count(*) from (select distinct date_trunc('month', day::timestamp), payer from act) x)::int8
               as payer_months,
            (select count(*) from per_payer)::int8 as payers,
            (select count(*) from per_payer where days >= 2)::int8 as repeat,
            (select count(*) from (select distinct payer, payee from act) x)::int8 as pairs,
            (select count(*) from firsts where first_day >= $2)::int8 as new,
            (select count(distinct {ENTITY}) from per_payer d
               left join payer_classes pc on pc.chain_id = $1 and pc.payer = d.payer)::int8 as entities"
    );
    Ok(bind_filters!(sqlx::query_as(&sql), chain, w, f, classes)
        .fetch_one(pool)
        .await?)
}

/// Per-payer and per-payee volumes, for concentration: raw units of the token filter, else USD
/// over the priced tokens.
async fn holder_volumes(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    p: &Pricing,
) -> ApiResult<(Vec<f64>, Vec<f64>)> {
    let value = if p.per_token() {
        "sum(volume)::float8"
    } else {
        "coalesce(sum(volume * px_usd), 0)::float8"
    };
    let of = |table: &str, holder: &str| {
        format!(
            "with {px} select {value} from {table}
             left join px on px_token = token and day >= px_from and day < px_to
             where {WHERE_ALL} group by {holder}",
            px = px_cte(9)
        )
    };
    let (payers_sql, payees_sql) = (
        of("api_payer_days", "payer"),
        of("api_daily_stats", "payee"),
    );
    let payers_q = bind_filters!(
        sqlx::query_scalar(&payers_sql),
        chain,
        w,
        f,
        f.class_names()
    );
    let payees_q = bind_filters!(
        sqlx::query_scalar(&payees_sql),
        chain,
        w,
        f,
        f.class_names()
    );
    let (payers, payees): (Vec<f64>, Vec<f64>) = tokio::try_join!(
        bind_prices!(payers_q, p).fetch_all(pool),
        bind_prices!(payees_q, p).fetch_all(pool),
    )?;
    Ok((payers, payees))
}

/// Average and median payment per token.
async fn sizes(pool: &PgPool, chain: i64, w: Window, f: &Filters) -> ApiResult<Vec<SizeRow>> {
    let sql = format!(
        "select token, count(*)::int8 as payments, round(avg(amount), 6)::text as average,
                (percentile_disc(0.5) within group (order by amount))::text as median
         from api_payment_facts where {WHERE_ALL} group by token order by token"
    );
    Ok(
        bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names())
            .fetch_all(pool)
            .await?,
    )
}

/// The versions and progress of the classification and of the read model (the coverage's
/// shares are filled in from the class totals).
pub(super) async fn coverage_versions(pool: &PgPool, chain: i64) -> ApiResult<Coverage> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<DateTime<Utc>>,
        Option<i64>,
        Option<DateTime<Utc>>,
        Option<i64>,
    );
    let row: Row = sqlx::query_as(
        "select s.rule_version, s.label_version, s.last_block, s.updated_at, r.generation, r.refreshed_at,
                r.checkpoint_block
         from (select 1) one
         left join classifier_state s on s.chain_id = $1
         left join api_refresh_state r on r.chain_id = $1",
    )
    .bind(chain)
    .fetch_one(pool)
    .await?;
    Ok(Coverage {
        rule_version: row.0,
        label_version: row.1,
        classified_through_block: row.2,
        classifier_updated_at: row.3,
        read_model_generation: row.4.unwrap_or(0),
        read_model_refreshed_at: row.5,
        indexed_through_block: row.6,
        ..Default::default()
    })
}

/// Everything a series is computed from, read in parallel: totals per period, class and token;
/// distinct payers and entities per period; active and new payers of the activity classes.
pub(super) async fn series_rows(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    iv: Interval,
    p: &Pricing,
    activity_classes: &[String],
) -> ApiResult<SeriesRows> {
    // The unit is one of three constants, passed as a bind value anyway.
    let class_sql = format!(
        "with {px}
         select date_trunc($9, day::timestamp)::date as period, class, token, sum(payments)::int8 as count,
                sum(volume)::text as volume, sum(volume * px_usd)::text as usd,
                sum(taint_adjusted)::text as taint, sum(taint_adjusted * px_usd)::text as taint_usd
         from api_daily_stats left join px on px_token = token and day >= px_from and day < px_to
         where {WHERE_ALL} group by 1, 2, 3",
        px = px_cte(10)
    );
    let payers_sql = format!(
        "select d.period, count(distinct d.payer)::int8, count(distinct {ENTITY})::int8
         from (select distinct date_trunc($9, day::timestamp)::date as period, payer
               from api_payer_days where {WHERE_ALL}) d
         left join payer_classes pc on pc.chain_id = $1 and pc.payer = d.payer
         group by 1"
    );
    let active_sql = format!(
        "with act as (select distinct date_trunc($9, day::timestamp)::date as period, payer
                      from api_payer_days where {WHERE_ALL}),
              firsts as (
                select d.payer, date_trunc($9, min(d.day)::timestamp)::date as first_period
                from api_payer_days d
                where {HISTORY} and d.payer in (select payer from act)
                group by d.payer)
         select a.period, count(*)::int8, count(*) filter (where f.first_period = a.period)::int8
         from act a join firsts f on f.payer = a.payer group by a.period"
    );
    let unit = iv.unit();
    let class_q =
        bind_filters!(sqlx::query_as(&class_sql), chain, w, f, f.class_names()).bind(unit);
    let (classes, payers, active): (Vec<PeriodClassRow>, Vec<PeriodCount>, Vec<PeriodActive>) = tokio::try_join!(
        bind_prices!(class_q, p).fetch_all(pool),
        bind_filters!(sqlx::query_as(&payers_sql), chain, w, f, f.class_names())
            .bind(unit)
            .fetch_all(pool),
        bind_filters!(sqlx::query_as(&active_sql), chain, w, f, activity_classes)
            .bind(unit)
            .fetch_all(pool),
    )?;
    Ok(SeriesRows {
        classes,
        payers,
        active,
    })
}

/// The weekly cohorts of the activity classes' payers whose first week starts in the window,
/// and their activity in each of the `weeks` weeks after it (up to the window's end), ordered
/// by cohort and week.
pub(super) async fn cohort_rows(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    classes: &[String],
    weeks: i64,
) -> ApiResult<Vec<CohortRow>> {
    let sql = format!(
        "with wk as (
            select payer, date_trunc('week', day::timestamp)::date as week, sum(volume) as volume
            from api_payer_days d
            where {HISTORY}
            group by 1, 2),
         firsts as (select payer, min(week) as cohort from wk group by payer)
         select f.cohort, ((wk.week - f.cohort) / 7)::int8 as k, count(*)::int8,
                sum(wk.volume)::text, sum(wk.volume)::float8
         from wk join firsts f on f.payer = wk.payer
         where f.cohort >= date_trunc('week', $2::date::timestamp)::date and wk.week - f.cohort <= 7 * $9
         group by 1, 2 order by 1, 2"
    );
    Ok(bind_filters!(sqlx::query_as(&sql), chain, w, f, classes)
        .bind(weeks as i32)
        .fetch_all(pool)
        .await?)
}
