//! Organic-demand metrics: the summary, the series and cohort retention over the read model.
//!
//! Each answer is read as rows (`rows`) from the in-memory read model ([`crate::cube`]) when it
//! is loaded, else from the SQL tables (`sql`); pure functions (`maths`) turn the rows into
//! the documents (`types`) over a window of days (`window`).

mod maths;
mod rows;
mod sql;
mod types;
mod window;

use sqlx::PgPool;

use crate::cube::Snapshot;
use crate::error::ApiResult;
use crate::money::Pricing;
use crate::params::Filters;

pub(crate) use rows::{
    ActivityCounts, ClassTokenRow, PeriodActive, PeriodClassRow, PeriodCount, SeriesRows, SizeRow,
    SummaryRows, Uniques,
};
pub(crate) use sql::{bind_filters, ENTITY};
pub use types::{
    Activity, ClassTotals, CohortCell, ConcentrationPair, Coverage, Organic, PaymentSize,
    PeriodClass, Retention, Series, SeriesPoint, Summary, TokenPaymentSize, Totals,
};
pub use window::{Interval, Window};

/// Computes the summary: from the in-memory read model when `cube` holds one, else in SQL.
pub async fn summary(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    p: &Pricing,
    cube: Option<&Snapshot>,
) -> ApiResult<Summary> {
    let coverage = sql::coverage_versions(pool, chain).await?;
    let Some(w) = w else {
        return Ok(Summary {
            unit: p.unit(),
            prices: p.note(),
            by_class: maths::zero_classes(p),
            coverage,
            ..Default::default()
        });
    };
    let classes = f.activity_classes();
    let rows = match cube.filter(|c| !c.is_empty()) {
        Some(c) => c.summary_rows(w, f, p, &classes),
        None => sql::summary_rows(pool, chain, w, f, p, &classes).await?,
    };
    Ok(maths::summary(w, p, classes, rows, coverage))
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
    let rows = match cube.filter(|c| !c.is_empty()) {
        Some(c) => c.series_rows(w, f, iv, p, &activity_classes),
        None => sql::series_rows(pool, chain, w, f, iv, p, &activity_classes).await?,
    };
    Ok(Series {
        interval: Some(iv),
        window: Some(w),
        unit: p.unit(),
        prices: p.note(),
        points: maths::series_points(w, iv, p, &rows),
        activity_classes,
    })
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
    let rows = sql::cohort_rows(pool, chain, w, f, &classes, weeks).await?;
    // Revenue only means something in one token's units (OPG has 18 decimals, USDC 6).
    let per_token = f.token.is_some();
    Ok(Retention {
        window: Some(w),
        classes,
        weeks,
        cells: maths::cohort_cells(w, weeks, per_token, &rows),
    })
}
