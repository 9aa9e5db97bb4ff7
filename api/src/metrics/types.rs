//! The documents the metrics answer with (their OpenAPI schemas): the summary, the series and
//! the cohort retention table, with their parts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Interval, Window};
use crate::money::{Money, PriceNote};
use crate::stats::Concentration;

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
