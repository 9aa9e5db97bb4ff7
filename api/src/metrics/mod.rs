//! Organic-demand metrics computed from the read model (`api_daily_stats`, `api_payer_days`,
//! `api_payment_facts`). Every function takes validated filters and a resolved window and binds
//! every value; the SQL text is constant.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::cube::{ActivityCounts, Snapshot};
use crate::error::ApiResult;
use crate::model::Class;
use crate::money::{bind_prices, plain, px_cte, Money, PriceNote, Pricing};
use crate::params::Filters;
use crate::stats::{concentration, ratio, Concentration};

/// The filter predicate on rollup tables. Binds: $1 chain, $2 from, $3 to, $4 token, $5 payee,
/// $6 facilitator, $7 classes, $8 sources.
const WHERE_ALL: &str = "chain_id = $1 and day between $2 and $3 \
    and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5) \
    and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))";

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

/// A resolved window of whole UTC days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct Window {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Window {
    /// The filters' window, with missing ends taken from the data's first and last day.
    /// `None` when an end is missing and there is no data to take it from.
    pub fn resolve(f: &Filters, bounds: Option<(NaiveDate, NaiveDate)>) -> Option<Self> {
        let from = f.from.or(bounds.map(|b| b.0))?;
        let to = f.to.or(bounds.map(|b| b.1))?;
        // A one-sided window beyond the data is empty, not inverted.
        Some(Self {
            from,
            to: to.max(from),
        })
    }

    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// A period length for series and activity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// UTC days.
    Day,
    /// ISO weeks (Monday to Sunday).
    Week,
    /// Calendar months.
    Month,
}

impl Interval {
    /// The Postgres `date_trunc` unit.
    pub fn unit(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The start of the period holding `d`.
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d,
            Interval::Week => d - Days::new(d.weekday().num_days_from_monday() as u64),
            Interval::Month => d.with_day(1).expect("day 1 exists"),
        }
    }

    /// The start of the period after the one starting at `d`.
    pub fn next(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d + Days::new(1),
            Interval::Week => d + Days::new(7),
            Interval::Month => d + Months::new(1),
        }
    }

    /// Period starts covering the window.
    pub fn periods(self, w: Window) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut p = self.start(w.from);
        while p <= w.to {
            out.push(p);
            p = self.next(p);
        }
        out
    }
}

/// The paying entity of a payer row `d` joined with its verdict `pc`: the classifier's
/// `payer_classes.entity_id` (lowercase 0x-hex of the smallest wallet of the entity), or the
/// wallet itself while the payer has no verdict.
pub const ENTITY: &str = "coalesce(pc.entity_id, '0x' || encode(d.payer, 'hex'))";

/// Volume and count of one class.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ClassTotals {
    /// Volume per token (exact raw units) and in USD over the priced tokens.
    pub volume: Money,
    /// Number of payments.
    pub count: i64,
    /// Share of the gross volume, in the answer's `unit` (null when nothing in scope is priced).
    pub volume_share: Option<f64>,
    /// Share of the gross count.
    pub count_share: f64,
    /// Distinct paying wallets.
    pub unique_payers: i64,
    /// Distinct paying entities (wallets the evidence ties together count once).
    pub unique_entities: i64,
}

/// Gross totals.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Totals {
    /// Volume per token and in USD.
    pub volume: Money,
    /// Number of payments.
    pub count: i64,
}

/// Organic (external) demand.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Organic {
    /// External volume.
    pub volume: Money,
    /// External payments.
    pub count: i64,
    /// Organic share by volume: external volume / gross volume, in the answer's `unit` (null when
    /// nothing in scope is priced).
    pub volume_share: Option<f64>,
    /// Organic share by count: external payments / all payments.
    pub count_share: f64,
    /// Taint-adjusted organic volume: sum of amount x (1 - project share) over external and
    /// project-funded payments, exact (raw units keep their fraction), never above the external
    /// plus project-funded volume.
    pub taint_adjusted_volume: Money,
}

/// Payer activity over the activity classes (the class filter, default `external`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Activity {
    /// The classes whose payers are counted.
    pub classes: Vec<String>,
    /// Distinct payers active in the window.
    pub payers: i64,
    /// Distinct paying entities active in the window.
    pub entities: i64,
    /// Mean daily active payers over the window's days.
    pub dap_mean: f64,
    /// Mean weekly active payers over the ISO weeks the window touches.
    pub wap_mean: f64,
    /// Mean monthly active payers over the months the window touches.
    pub map_mean: f64,
    /// Stickiness: mean DAP / mean MAP.
    pub stickiness: f64,
    /// Payers whose first payment (ever, under the same token/payee/facilitator/source filters) falls in the window.
    pub new_payers: i64,
    /// Active payers that had paid before the window.
    pub returning_payers: i64,
    /// Payers who paid on at least 2 distinct days in the window.
    pub repeat_payers: i64,
    /// repeat_payers / payers.
    pub repeat_rate: f64,
    /// Mean number of distinct payees per payer.
    pub payees_per_payer: f64,
}

/// Payment size in one token.
#[derive(Debug, Clone, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct TokenPaymentSize {
    /// The token (EIP-55).
    #[sqlx(skip)]
    pub token: String,
    /// Its symbol.
    #[sqlx(skip)]
    pub symbol: Option<String>,
    /// Its decimals.
    #[sqlx(skip)]
    pub decimals: Option<u8>,
    /// Payments in it.
    pub payments: i64,
    /// Mean amount, raw units of the token (up to 6 decimals).
    pub average: String,
    /// Median amount (the lower middle value for an even count), raw units of the token.
    pub median: String,
}

/// Payment size statistics.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PaymentSize {
    /// Mean payment in USD over the payments in priced tokens (null when none is priced).
    pub average_usd: Option<String>,
    /// Per token, exact raw units (a median does not add across tokens).
    pub by_token: Vec<TokenPaymentSize>,
}

/// Concentration of volume among payers and among payees.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ConcentrationPair {
    /// The unit of the volumes: raw units of the `token` filter, or USD over the priced tokens
    /// (holders with only unpriced volume are left out).
    pub unit: String,
    /// Among payers.
    pub payers: Concentration,
    /// Among payees.
    pub payees: Concentration,
}

/// How much of the volume the classification covers, and with which rules and labels.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Coverage {
    /// Share of the volume classified `unattributed` (in the answer's `unit`).
    pub unattributed_volume_share: Option<f64>,
    /// Share of the payments classified `unattributed`.
    pub unattributed_count_share: f64,
    /// Payments the classifier has not reached yet.
    pub unclassified_count: i64,
    /// Share of the volume not classified yet (in the answer's `unit`).
    pub unclassified_volume_share: Option<f64>,
    /// Rule-set version of the current classification.
    pub rule_version: Option<String>,
    /// Label-set version of the current classification.
    pub label_version: Option<String>,
    /// Last indexed block the classifier has classified.
    pub classified_through_block: Option<i64>,
    /// The indexer checkpoint (last indexed block) the read model reflects: the answer counts
    /// every payment up to this block that the classifier had reached.
    pub indexed_through_block: Option<i64>,
    /// When the classifier last wrote.
    pub classifier_updated_at: Option<DateTime<Utc>>,
    /// The API read model's generation.
    pub read_model_generation: i64,
    /// When the API read model was last refreshed.
    pub read_model_refreshed_at: Option<DateTime<Utc>>,
}

/// The summary document.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Summary {
    /// The window the figures cover (null when there is no data and no window was given).
    pub window: Option<Window>,
    /// The unit of volume shares and concentration: raw units of the `token` filter, or USD over
    /// the priced tokens.
    pub unit: String,
    /// The price source and which tokens in scope it prices.
    pub prices: PriceNote,
    /// All payments in scope.
    pub gross: Totals,
    /// Per class (every class present, plus zeros for the rest).
    pub by_class: BTreeMap<String, ClassTotals>,
    /// Organic demand.
    pub organic: Organic,
    /// Distinct paying wallets, all classes in scope.
    pub unique_payers: i64,
    /// Distinct paying entities (wallets the evidence ties together: clusters, declared wallets,
    /// common funders), all classes in scope.
    pub unique_entities: i64,
    /// Active, new, returning and repeat payers.
    pub payer_activity: Activity,
    /// Average and median payment.
    pub payment_size: PaymentSize,
    /// Concentration among payers and payees.
    pub concentration: ConcentrationPair,
    /// Classification coverage and versions.
    pub coverage: Coverage,
}

/// Totals of one class in one token (raw units, USD where priced, taint-adjusted).
#[derive(sqlx::FromRow)]
pub(crate) struct ClassTokenRow {
    pub(crate) class: String,
    pub(crate) token: Vec<u8>,
    pub(crate) count: i64,
    pub(crate) volume: String,
    pub(crate) usd: Option<String>,
    pub(crate) taint: String,
    pub(crate) taint_usd: Option<String>,
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
async fn unique_payers(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
) -> ApiResult<Vec<(Option<String>, i64, i64)>> {
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

/// Payer activity over the activity classes, from the SQL read model.
async fn activity(pool: &PgPool, chain: i64, w: Window, f: &Filters) -> ApiResult<Activity> {
    let classes = f.activity_classes();
    let sql = format!(
        "with act as (
            select day, payer, payee from api_payer_days where {WHERE_ALL}
         ),
         per_payer as (select payer, count(distinct day) as days from act group by payer),
         firsts as (
            select d.payer, min(d.day) as first_day
            from api_payer_days d
            where d.chain_id = $1 and d.day <= $3
              and ($4::bytea is null or d.token = $4) and ($5::bytea is null or d.payee = $5)
              and ($6::bytea is null or d.facilitator = $6) and ($8::text[] is null or d.source = any($8)) and d.class = any($7)
              and d.payer in (select payer from per_payer)
            group by d.payer
         )
         select
            (select count(*) from (select distinct day, payer from act) x)::int8,
            (select count(*) from (select distinct date_trunc('week', day::timestamp), payer from act) x)::int8,
            (select count(*) from (select distinct date_trunc('month', day::timestamp), payer from act) x)::int8,
            (select count(*) from per_payer)::int8,
            (select count(*) from per_payer where days >= 2)::int8,
            (select count(*) from (select distinct payer, payee from act) x)::int8,
            (select count(*) from firsts where first_day >= $2)::int8,
            (select count(distinct {ENTITY}) from per_payer d
               left join payer_classes pc on pc.chain_id = $1 and pc.payer = d.payer)::int8"
    );
    let (payer_days, payer_weeks, payer_months, payers, repeat, pairs, new, entities): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = bind_filters!(sqlx::query_as(&sql), chain, w, f, &classes)
        .fetch_one(pool)
        .await?;
    let counts = ActivityCounts {
        payer_days,
        payer_weeks,
        payer_months,
        payers,
        repeat,
        pairs,
        new,
        entities,
    };
    Ok(activity_of(w, classes, counts))
}

/// The activity figures from their counts.
fn activity_of(w: Window, classes: Vec<String>, c: ActivityCounts) -> Activity {
    let ActivityCounts {
        payer_days,
        payer_weeks,
        payer_months,
        payers,
        repeat,
        pairs,
        new,
        entities,
    } = c;
    let weeks = Interval::Week.periods(w).len() as f64;
    let months = Interval::Month.periods(w).len() as f64;
    let dap = ratio(payer_days as f64, w.days() as f64);
    let map = ratio(payer_months as f64, months);
    Activity {
        classes,
        payers,
        entities,
        dap_mean: dap,
        wap_mean: ratio(payer_weeks as f64, weeks),
        map_mean: map,
        stickiness: ratio(dap, map),
        new_payers: new,
        returning_payers: payers - new,
        repeat_payers: repeat,
        repeat_rate: ratio(repeat as f64, payers as f64),
        payees_per_payer: ratio(pairs as f64, payers as f64),
    }
}

/// Per-payer and per-payee volumes, for concentration: raw units of the token filter, else USD
/// over the priced tokens.
async fn concentrations(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    p: &Pricing,
) -> ApiResult<ConcentrationPair> {
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
    Ok(ConcentrationPair {
        unit: p.unit(),
        payers: concentration(&payers),
        payees: concentration(&payees),
    })
}

/// Payment sizes in one token.
#[derive(sqlx::FromRow)]
pub(crate) struct SizeRow {
    token: Vec<u8>,
    #[sqlx(flatten)]
    size: TokenPaymentSize,
}

impl SizeRow {
    pub(crate) fn token(&self) -> &[u8] {
        &self.token
    }
    pub(crate) fn new(token: Vec<u8>, payments: i64, average: String, median: String) -> Self {
        Self {
            token,
            size: TokenPaymentSize {
                payments,
                average,
                median,
                ..Default::default()
            },
        }
    }
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

async fn coverage_versions(pool: &PgPool, chain: i64) -> ApiResult<Coverage> {
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

/// Computes the summary: from the in-memory read model when `cube` holds one, else in SQL.
pub async fn summary(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    p: &Pricing,
    cube: Option<&Snapshot>,
) -> ApiResult<Summary> {
    let mut coverage = coverage_versions(pool, chain).await?;
    let Some(w) = w else {
        return Ok(Summary {
            unit: p.unit(),
            prices: p.note(),
            by_class: zero_classes(p),
            coverage,
            ..Default::default()
        });
    };
    let (rows, uniques, activity, conc, sizes) = match cube.filter(|c| !c.is_empty()) {
        Some(c) => {
            let classes = f.activity_classes();
            let (uniques, counts, payer_values) = c.payer_figures(w, f, p, &classes);
            (
                c.class_rows(w, f, p),
                uniques,
                activity_of(w, classes, counts),
                ConcentrationPair {
                    unit: p.unit(),
                    payers: concentration(&payer_values),
                    payees: c.payee_concentration(w, f, p),
                },
                c.sizes(w, f),
            )
        }
        None => tokio::try_join!(
            class_rows(pool, chain, w, f, p),
            unique_payers(pool, chain, w, f),
            activity(pool, chain, w, f),
            concentrations(pool, chain, w, f, p),
            sizes(pool, chain, w, f),
        )?,
    };
    fn part(r: &ClassTokenRow) -> (&[u8], Option<&str>, Option<&str>) {
        (
            r.token.as_slice(),
            Some(r.volume.as_str()),
            r.usd.as_deref(),
        )
    }
    let gross_money = p.money(rows.iter().map(part));
    let gross_count: i64 = rows.iter().map(|r| r.count).sum();
    let mut by_class = zero_classes(p);
    for (name, totals) in by_class.iter_mut() {
        let mine: Vec<&ClassTokenRow> = rows.iter().filter(|r| &r.class == name).collect();
        let volume = p.money(mine.iter().map(|r| part(r)));
        let count: i64 = mine.iter().map(|r| r.count).sum();
        let (uniq, ents) = uniques
            .iter()
            .find(|(k, _, _)| k.as_deref() == Some(name.as_str()))
            .map(|u| (u.1, u.2))
            .unwrap_or((0, 0));
        *totals = ClassTotals {
            volume_share: p.share(&volume, &gross_money),
            volume,
            count,
            count_share: ratio(count as f64, gross_count as f64),
            unique_payers: uniq,
            unique_entities: ents,
        };
    }
    let class = |c: Class| by_class.get(c.as_str()).cloned().unwrap_or_default();
    let (ext, unattributed, unclassified) = (
        class(Class::External),
        class(Class::Unattributed),
        class(Class::Unclassified),
    );
    coverage.unattributed_volume_share = unattributed.volume_share;
    coverage.unattributed_count_share = unattributed.count_share;
    coverage.unclassified_count = unclassified.count;
    coverage.unclassified_volume_share = unclassified.volume_share;
    // The rollup stores taint-adjusted volume only for external and project-funded payments.
    let taint = p.money(rows.iter().map(|r| {
        (
            r.token.as_slice(),
            Some(r.taint.as_str()),
            r.taint_usd.as_deref(),
        )
    }));
    let (all_payers, all_entities) = uniques
        .iter()
        .find(|(k, _, _)| k.is_none())
        .map(|u| (u.1, u.2))
        .unwrap_or((0, 0));
    let by_token = sizes
        .into_iter()
        .map(|s| {
            let (token, symbol, decimals) = p.token_meta(&s.token);
            TokenPaymentSize {
                token,
                symbol,
                decimals,
                ..s.size
            }
        })
        .collect();
    // Mean USD payment over the payments in priced tokens.
    let priced_count: i64 = rows
        .iter()
        .filter(|r| p.is_priced(&r.token))
        .map(|r| r.count)
        .sum();
    let average_usd = gross_money.usd.as_deref().and_then(dec).map(|u| {
        if priced_count == 0 {
            "0".to_string()
        } else {
            plain(&(u / bigdecimal::BigDecimal::from(priced_count)).round(6))
        }
    });
    Ok(Summary {
        window: Some(w),
        unit: p.unit(),
        prices: p.note(),
        gross: Totals {
            volume: gross_money,
            count: gross_count,
        },
        organic: Organic {
            volume: ext.volume.clone(),
            count: ext.count,
            volume_share: ext.volume_share,
            count_share: ext.count_share,
            taint_adjusted_volume: taint,
        },
        by_class,
        unique_payers: all_payers,
        unique_entities: all_entities,
        payer_activity: activity,
        payment_size: PaymentSize {
            average_usd,
            by_token,
        },
        concentration: conc,
        coverage,
    })
}

fn dec(s: &str) -> Option<bigdecimal::BigDecimal> {
    crate::money::dec(Some(s))
}

fn zero_classes(p: &Pricing) -> BTreeMap<String, ClassTotals> {
    Class::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                ClassTotals {
                    volume: p.money([]),
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// Volume and count of one class in one period.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PeriodClass {
    /// Volume.
    pub volume: Money,
    /// Payments.
    pub count: i64,
}

/// One period of a series.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// First day of the period.
    pub period: NaiveDate,
    /// All payments in scope: volume.
    pub gross_volume: Money,
    /// All payments in scope: count.
    pub gross_count: i64,
    /// External volume.
    pub organic_volume: Money,
    /// External payments.
    pub organic_count: i64,
    /// Organic share by volume, in the answer's `unit` (null when nothing in scope is priced).
    pub organic_share_volume: Option<f64>,
    /// Organic share by count.
    pub organic_share_count: f64,
    /// Taint-adjusted organic volume (exact).
    pub taint_adjusted_organic_volume: Money,
    /// Distinct payers, all classes in scope.
    pub unique_payers: i64,
    /// Distinct paying entities, all classes in scope.
    pub unique_entities: i64,
    /// Distinct payers of the activity classes (DAP / WAP / MAP for day / week / month).
    pub active_payers: i64,
    /// Active payers whose first payment ever falls in this period.
    pub new_payers: i64,
    /// Active payers who had paid before this period.
    pub returning_payers: i64,
    /// Per class.
    pub by_class: BTreeMap<String, PeriodClass>,
}

/// A series document.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Series {
    /// Period length.
    pub interval: Option<Interval>,
    /// The window covered.
    pub window: Option<Window>,
    /// The unit of volume shares: raw units of the `token` filter, or USD over the priced tokens.
    pub unit: String,
    /// The price source and which tokens in scope it prices (for the whole window, so every
    /// point uses the same tokens).
    pub prices: PriceNote,
    /// Classes counted as active payers.
    pub activity_classes: Vec<String>,
    /// One point per period, oldest first, including periods without payments.
    pub points: Vec<SeriesPoint>,
}

/// (period, distinct payers, distinct entities).
pub(crate) type PeriodCount = (NaiveDate, i64, i64);
/// (period, active payers, new payers).
pub(crate) type PeriodActive = (NaiveDate, i64, i64);

/// Totals of one class in one token in one period.
#[derive(sqlx::FromRow)]
pub(crate) struct PeriodClassRow {
    pub(crate) period: NaiveDate,
    pub(crate) class: String,
    pub(crate) token: Vec<u8>,
    pub(crate) count: i64,
    pub(crate) volume: String,
    pub(crate) usd: Option<String>,
    pub(crate) taint: String,
    pub(crate) taint_usd: Option<String>,
}

/// Computes a series: from the in-memory read model when `cube` holds one, else in SQL.
pub async fn series(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    iv: Interval,
    p: &Pricing,
    cube: Option<&Snapshot>,
) -> ApiResult<Series> {
    let activity_classes = f.activity_classes();
    let Some(w) = w else {
        return Ok(Series {
            interval: Some(iv),
            unit: p.unit(),
            prices: p.note(),
            activity_classes,
            ..Default::default()
        });
    };
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
                where d.chain_id = $1 and d.day <= $3
                  and ($4::bytea is null or d.token = $4) and ($5::bytea is null or d.payee = $5)
                  and ($6::bytea is null or d.facilitator = $6) and ($8::text[] is null or d.source = any($8)) and d.class = any($7)
                  and d.payer in (select payer from act)
                group by d.payer)
         select a.period, count(*)::int8, count(*) filter (where f.first_period = a.period)::int8
         from act a join firsts f on f.payer = a.payer group by a.period"
    );
    let unit = iv.unit();
    let class_q =
        bind_filters!(sqlx::query_as(&class_sql), chain, w, f, f.class_names()).bind(unit);
    let (class_rows, payer_rows, active_rows): (
        Vec<PeriodClassRow>,
        Vec<PeriodCount>,
        Vec<PeriodActive>,
    ) = match cube.filter(|c| !c.is_empty()) {
        Some(c) => (
            c.period_class_rows(w, f, iv, p),
            c.period_payers(w, f, iv),
            c.period_active(w, f, iv, &activity_classes),
        ),
        None => tokio::try_join!(
            bind_prices!(class_q, p).fetch_all(pool),
            bind_filters!(sqlx::query_as(&payers_sql), chain, w, f, f.class_names())
                .bind(unit)
                .fetch_all(pool),
            bind_filters!(sqlx::query_as(&active_sql), chain, w, f, &activity_classes)
                .bind(unit)
                .fetch_all(pool),
        )?,
    };

    fn part(r: &PeriodClassRow) -> (&[u8], Option<&str>, Option<&str>) {
        (
            r.token.as_slice(),
            Some(r.volume.as_str()),
            r.usd.as_deref(),
        )
    }
    let mut points = Vec::new();
    for period in iv.periods(w) {
        let rows: Vec<&PeriodClassRow> = class_rows.iter().filter(|r| r.period == period).collect();
        let gross_count: i64 = rows.iter().map(|r| r.count).sum();
        let gross = p.money(rows.iter().map(|r| part(r)));
        let by_class: BTreeMap<String, PeriodClass> = Class::ALL
            .iter()
            .map(|c| {
                let mine: Vec<&&PeriodClassRow> =
                    rows.iter().filter(|r| r.class == c.as_str()).collect();
                (
                    c.as_str().to_string(),
                    PeriodClass {
                        volume: p.money(mine.iter().map(|r| part(r))),
                        count: mine.iter().map(|r| r.count).sum(),
                    },
                )
            })
            .collect();
        let taint = p.money(rows.iter().map(|r| {
            (
                r.token.as_slice(),
                Some(r.taint.as_str()),
                r.taint_usd.as_deref(),
            )
        }));
        let ext = by_class
            .get(Class::External.as_str())
            .cloned()
            .unwrap_or_default();
        let (active, new) = active_rows
            .iter()
            .find(|r| r.0 == period)
            .map(|r| (r.1, r.2))
            .unwrap_or((0, 0));
        let (uniq, ents) = payer_rows
            .iter()
            .find(|r| r.0 == period)
            .map(|r| (r.1, r.2))
            .unwrap_or((0, 0));
        points.push(SeriesPoint {
            period,
            organic_share_volume: p.share(&ext.volume, &gross),
            gross_volume: gross,
            gross_count,
            organic_volume: ext.volume,
            organic_count: ext.count,
            organic_share_count: ratio(ext.count as f64, gross_count as f64),
            taint_adjusted_organic_volume: taint,
            unique_payers: uniq,
            unique_entities: ents,
            active_payers: active,
            new_payers: new,
            returning_payers: active - new,
            by_class,
        });
    }
    Ok(Series {
        interval: Some(iv),
        window: Some(w),
        unit: p.unit(),
        prices: p.note(),
        activity_classes,
        points,
    })
}

/// One cohort's activity k weeks after its first week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortCell {
    /// First day (Monday) of the cohort's first-payment week.
    pub cohort: NaiveDate,
    /// Payers whose first payment fell in that week.
    pub cohort_size: i64,
    /// Weeks after the cohort week (0 = the cohort week itself).
    pub week: i64,
    /// Cohort payers who paid in week `week`.
    pub active_payers: i64,
    /// active_payers / cohort_size.
    pub retention: f64,
    /// The cohort's volume in week `week`, raw units of the `token` filter. Null without a
    /// `token` filter: raw units of tokens with different decimals do not add up.
    pub revenue: Option<String>,
    /// Revenue in week `week` / revenue in week 0. Null without a `token` filter (see `revenue`).
    pub revenue_retention: Option<f64>,
}

/// The cohort retention table.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Retention {
    /// The window cohorts start in.
    pub window: Option<Window>,
    /// Classes whose payers form the cohorts.
    pub classes: Vec<String>,
    /// Largest `week` reported.
    pub weeks: i64,
    /// One row per cohort and week offset, for offsets already observable by the window's end.
    pub cells: Vec<CohortCell>,
}

/// Computes cohort retention: payers grouped by the ISO week of their first payment (within
/// the window; earlier payers are not new), followed for `weeks` weeks.
pub async fn retention(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    weeks: i64,
) -> ApiResult<Retention> {
    let classes = f.activity_classes();
    let Some(w) = w else {
        return Ok(Retention {
            classes,
            weeks,
            ..Default::default()
        });
    };
    let sql = "with wk as (
            select payer, date_trunc('week', day::timestamp)::date as week, sum(volume) as volume
            from api_payer_days
            where chain_id = $1 and day <= $3
              and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5)
              and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and class = any($7)
            group by 1, 2),
         firsts as (select payer, min(week) as cohort from wk group by payer)
         select f.cohort, ((wk.week - f.cohort) / 7)::int8 as k, count(*)::int8,
                sum(wk.volume)::text, sum(wk.volume)::float8
         from wk join firsts f on f.payer = wk.payer
         where f.cohort >= date_trunc('week', $2::date::timestamp)::date and wk.week - f.cohort <= 7 * $9
         group by 1, 2 order by 1, 2";
    let rows: Vec<(NaiveDate, i64, i64, String, f64)> =
        bind_filters!(sqlx::query_as(sql), chain, w, f, &classes)
            .bind(weeks as i32)
            .fetch_all(pool)
            .await?;
    let last_week = Interval::Week.start(w.to);
    // Revenue only means something in one token's units (OPG has 18 decimals, USDC 6).
    let per_token = f.token.is_some();
    let mut cells = Vec::new();
    for cohort in rows.iter().filter(|r| r.1 == 0) {
        let (start, size, rev0) = (cohort.0, cohort.2, cohort.4);
        for k in 0..=weeks {
            let week_start = start + Days::new(7 * k as u64);
            if week_start > last_week {
                break;
            }
            let hit = rows.iter().find(|r| r.0 == start && r.1 == k);
            cells.push(CohortCell {
                cohort: start,
                cohort_size: size,
                week: k,
                active_payers: hit.map(|h| h.2).unwrap_or(0),
                retention: ratio(hit.map(|h| h.2).unwrap_or(0) as f64, size as f64),
                revenue: per_token.then(|| hit.map(|h| h.3.clone()).unwrap_or_else(|| "0".into())),
                revenue_retention: per_token.then(|| ratio(hit.map(|h| h.4).unwrap_or(0.0), rev0)),
            });
        }
    }
    Ok(Retention {
        window: Some(w),
        classes,
        weeks,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_window() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-11-18 is a Wednesday.
        let w = Window {
            from: d("2026-11-18"),
            to: d("2026-12-01"),
        };
        assert_eq!(
            Interval::Week.periods(w),
            vec![d("2026-11-16"), d("2026-11-23"), d("2026-11-30")]
        );
        assert_eq!(
            Interval::Month.periods(w),
            vec![d("2026-11-01"), d("2026-12-01")]
        );
        assert_eq!(Interval::Day.periods(w).len(), 14);
        assert_eq!(w.days(), 14);
    }
}
