//! The rows an answer is computed from. Both sources of the read model produce them alike: the
//! SQL tables ([`super::sql`]) and the in-memory copy ([`crate::cube`]); [`super::maths`] turns
//! them into the documents.

use chrono::NaiveDate;

use super::TokenPaymentSize;

/// Totals of one class in one token (raw units, USD where priced, taint-adjusted).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ClassTokenRow {
    pub(crate) class: String,
    pub(crate) token: Vec<u8>,
    pub(crate) count: i64,
    pub(crate) volume: String,
    pub(crate) usd: Option<String>,
    pub(crate) taint: String,
    pub(crate) taint_usd: Option<String>,
}

/// A (token, raw, USD) part of a money, as [`crate::money::Pricing::money`] adds them up.
pub(crate) type MoneyPart<'a> = (&'a [u8], Option<&'a str>, Option<&'a str>);

impl ClassTokenRow {
    /// The row's volume as a part of a money.
    pub(crate) fn volume_part(&self) -> MoneyPart<'_> {
        (&self.token, Some(self.volume.as_str()), self.usd.as_deref())
    }

    /// The row's taint-adjusted volume as a part of a money.
    pub(crate) fn taint_part(&self) -> MoneyPart<'_> {
        (
            &self.token,
            Some(self.taint.as_str()),
            self.taint_usd.as_deref(),
        )
    }
}

/// Totals of one class in one token in one period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PeriodClassRow {
    /// First day of the period.
    pub(crate) period: NaiveDate,
    #[sqlx(flatten)]
    pub(crate) totals: ClassTokenRow,
}

/// Distinct payers and entities per class (`None` = all classes in scope).
pub(crate) type Uniques = Vec<(Option<String>, i64, i64)>;

/// (period, distinct payers, distinct entities).
pub(crate) type PeriodCount = (NaiveDate, i64, i64);

/// (period, active payers, new payers).
pub(crate) type PeriodActive = (NaiveDate, i64, i64);

/// (cohort week, weeks after it, active payers, volume exact, volume as f64) of the cohorts
/// table; a cohort's row 0 is its first week, whose payers are the cohort.
pub(crate) type CohortRow = (NaiveDate, i64, i64, String, f64);

/// Raw counts behind the payer-activity figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct ActivityCounts {
    /// Distinct (day, payer).
    pub(crate) payer_days: i64,
    /// Distinct (ISO week, payer).
    pub(crate) payer_weeks: i64,
    /// Distinct (month, payer).
    pub(crate) payer_months: i64,
    /// Distinct payers.
    pub(crate) payers: i64,
    /// Payers with >= 2 active days.
    pub(crate) repeat: i64,
    /// Distinct (payer, payee).
    pub(crate) pairs: i64,
    /// Payers whose first payment (under the filters, up to the window's end) is in the window.
    pub(crate) new: i64,
    /// Distinct entities of the active payers.
    pub(crate) entities: i64,
}

/// Payment sizes in one token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SizeRow {
    pub(crate) token: Vec<u8>,
    #[sqlx(flatten)]
    pub(crate) size: TokenPaymentSize,
}

impl SizeRow {
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

/// Everything a summary is computed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryRows {
    /// Totals per class and token.
    pub(crate) classes: Vec<ClassTokenRow>,
    /// Distinct payers and entities per class and overall.
    pub(crate) uniques: Uniques,
    /// The activity counts over the activity classes.
    pub(crate) activity: ActivityCounts,
    /// Each payer's volume in the answer's unit (for concentration).
    pub(crate) payer_volumes: Vec<f64>,
    /// Each payee's volume in the answer's unit (for concentration).
    pub(crate) payee_volumes: Vec<f64>,
    /// Payment sizes per token, ordered by token.
    pub(crate) sizes: Vec<SizeRow>,
}

/// Everything a series is computed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeriesRows {
    /// Totals per period, class and token.
    pub(crate) classes: Vec<PeriodClassRow>,
    /// Distinct payers and entities per period.
    pub(crate) payers: Vec<PeriodCount>,
    /// Active and new payers of the activity classes per period.
    pub(crate) active: Vec<PeriodActive>,
}
