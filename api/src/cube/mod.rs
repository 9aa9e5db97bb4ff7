//! The read model in memory: the summary's figures for any window and filter combination,
//! computed from compact pre-aggregated rows instead of SQL scans (issue 14).
//!
//! Three structures, each a copy of a read-model table in dictionary-encoded form:
//!
//! * per payer, its `api_payer_days` rows sorted by day (payer-major: distinct payers, entities,
//!   active days / weeks / months, repeat and new payers, payees per payer and per-payer volumes
//!   are one pass over each payer's few rows, with no hashing);
//! * per day, the `api_daily_stats` cells (day x token x payee x facilitator x class x source:
//!   counts, volumes, taint-adjusted volumes) plus the same summed over payees (the "coarse" cells
//!   answers without a payee filter read);
//! * per day, histograms of payment amounts (amount -> payments) per cell and per coarse cell,
//!   so the median is exact without reading payments.
//!
//! [`Cube::apply`] follows each incremental refresh of the SQL model by its per-payment deltas
//! (new payments, reclassified ones, payments a reorg removed): the touched cells and payer rows
//! take their new values, the histograms move by the payments that left and entered, and the
//! untouched days stay shared with the previous snapshot. Every figure is exact except where the
//! SQL computes in floats too (concentration statistics, computed here from f64 per-holder
//! volumes).
//!
//! This module holds the structures and the [`Cube`] that swaps snapshots; `load` reads the
//! tables into a snapshot, `apply` moves a snapshot by a refresh's changes, `filter` translates
//! a request's filters to dictionary ids, `value` sums and prices volumes, and `summary` and
//! `series` answer with the rows [`crate::metrics`] computes its documents from.

mod apply;
mod calendar;
mod filter;
mod load;
mod median;
mod series;
mod summary;
mod value;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use alloy_primitives::U256;
use bigdecimal::BigDecimal;
use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use tokio::sync::RwLock;
use x402_domain::PaymentSource;

use crate::metrics::Interval;
use crate::model::Class;
use crate::rollup::Changes;

type Day = i32;

fn day_of(d: NaiveDate) -> Day {
    d.num_days_from_ce()
}

fn date_of(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d).expect("a day of the read model")
}

/// The first day of the period of `iv` holding `d` (as `date_trunc`).
fn start_of(iv: Interval, d: Day) -> Day {
    day_of(iv.start(date_of(d)))
}

/// Interns byte strings (addresses, entity ids) as dense ids.
#[derive(Debug, Clone, Default)]
struct Dict {
    keys: Vec<Vec<u8>>,
    ids: HashMap<Vec<u8>, u32>,
}

impl Dict {
    fn id(&mut self, k: &[u8]) -> u32 {
        if let Some(&i) = self.ids.get(k) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(k.to_vec());
        self.ids.insert(k.to_vec(), i);
        i
    }
    fn get(&self, k: &[u8]) -> Option<u32> {
        self.ids.get(k).copied()
    }
    fn key(&self, i: u32) -> &[u8] {
        &self.keys[i as usize]
    }
    fn len(&self) -> usize {
        self.keys.len()
    }
}

#[derive(Debug, Clone, Default)]
struct Dicts {
    payers: Dict,
    payees: Dict,
    tokens: Dict,
    facilitators: Dict,
    entities: Dict,
}

fn class_index(s: &str) -> Option<u8> {
    Class::ALL
        .iter()
        .position(|c| c.as_str() == s)
        .map(|i| i as u8)
}

fn source_index(s: &str) -> Option<u8> {
    PaymentSource::ALL
        .iter()
        .position(|c| c.as_str() == s)
        .map(|i| i as u8)
}

/// One `api_payer_days` row of a payer (its volume is kept apart, in [`PayerRows::volumes`], so
/// the passes that only count read 20 bytes a row).
#[derive(Debug, Clone, Copy)]
struct Row {
    day: Day,
    payee: u32,
    token: u32,
    facilitator: u32,
    class: u8,
    source: u8,
}

/// Every payer's rows in one contiguous array, payer after payer, each payer's sorted by day.
#[derive(Debug, Clone, Default)]
struct PayerRows {
    /// Payer `p`'s rows are `rows[start[p]..start[p + 1]]`.
    start: Vec<u32>,
    rows: Vec<Row>,
    /// Each row's volume in raw units as the nearest f64 ([`value::u256_f64`]): per-payer
    /// volumes only feed concentration, which is computed in floats (as the SQL does), so the
    /// exact amount is not kept and the pass reads 8 bytes a row instead of 32.
    volumes: Vec<f64>,
}

impl PayerRows {
    fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    fn of(&self, p: usize) -> (&[Row], &[f64]) {
        if p >= self.len() {
            return (&[], &[]);
        }
        let (a, b) = (self.start[p] as usize, self.start[p + 1] as usize);
        (&self.rows[a..b], &self.volumes[a..b])
    }

    /// Payer `p`'s rows split at day `from`: the rows before it, and the rows from it on with
    /// their volumes (rows are sorted by day); `None` when all its rows are before `from` or
    /// after `to`, so passes over a window skip most inactive payers after two comparisons.
    #[inline(always)]
    fn around(&self, p: usize, from: Day, to: Day) -> Option<(&[Row], &[Row], &[f64])> {
        let (rows, volumes) = self.of(p);
        let (head, tail) = (rows.first()?, rows.last()?);
        if tail.day < from || head.day > to {
            return None;
        }
        let start = if head.day >= from {
            0
        } else {
            rows.partition_point(|r| r.day < from)
        };
        Some((&rows[..start], &rows[start..], &volumes[start..]))
    }
}

/// Payee id of a coarse cell (summed over payees).
const ANY_PAYEE: u32 = u32::MAX;

/// One `api_daily_stats` cell (or its sum over payees).
#[derive(Debug, Clone)]
struct Cell {
    payee: u32,
    token: u32,
    facilitator: u32,
    class: u8,
    source: u8,
    payments: i64,
    volume: U256,
    /// Taint-adjusted volume (exact), None when zero.
    taint: Option<BigDecimal>,
}

/// Payments of one amount in one cell.
#[derive(Debug, Clone)]
struct Bin {
    payee: u32,
    token: u32,
    facilitator: u32,
    class: u8,
    source: u8,
    amount: U256,
    payments: i64,
}

#[derive(Debug, Clone, Default)]
struct DayData {
    cells: Vec<Cell>,
    coarse: Vec<Cell>,
    bins: Vec<Bin>,
    coarse_bins: Vec<Bin>,
    /// Payers with rows on this day.
    payers: Vec<u32>,
}

/// An immutable state of the cube; queries read one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    dicts: Arc<Dicts>,
    /// Rows of each payer (by payer id), sorted by day.
    payers: Arc<PayerRows>,
    /// Entity id of each payer (by payer id).
    entity: Arc<Vec<u32>>,
    days: BTreeMap<Day, Arc<DayData>>,
}

/// The in-memory read model of one chain, shared by the request handlers.
#[derive(Debug, Default)]
pub struct Cube {
    snap: RwLock<Arc<Snapshot>>,
}

impl Cube {
    /// An empty cube (answers nothing until loaded).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot.
    pub async fn snapshot(&self) -> Arc<Snapshot> {
        self.snap.read().await.clone()
    }

    /// Loads every day of `chain` from the read model.
    pub async fn reload(&self, pool: &PgPool, chain: i64) -> Result<(), sqlx::Error> {
        let snap = Snapshot::from_loaded(load::load(pool, chain).await?)?;
        *self.snap.write().await = Arc::new(snap);
        Ok(())
    }

    /// Applies what an incremental refresh changed in the SQL read model (the snapshot must be
    /// the model as it was before that refresh).
    pub async fn apply(&self, changes: &Changes) -> Result<(), sqlx::Error> {
        let old = self.snapshot().await;
        let snap = (*old).clone().apply(changes)?;
        *self.snap.write().await = Arc::new(snap);
        Ok(())
    }
}

impl Snapshot {
    /// Whether anything is loaded.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The per-request tables for the days `from..=to` that hold data.
    fn calendar<'a>(
        &self,
        from: Day,
        to: Day,
        prices: &'a value::Prices,
    ) -> calendar::Calendar<'a> {
        let first = self.days.keys().next().map_or(from, |d| from.max(*d));
        let last = self.days.keys().next_back().map_or(to, |d| to.min(*d));
        calendar::Calendar::new(first, last, prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        day_of(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn days_and_period_starts() {
        assert_eq!(date_of(day("2026-12-06")).to_string(), "2026-12-06");
        // Sunday 2026-12-06 is in the ISO week of Monday 2026-11-30.
        assert_eq!(
            start_of(Interval::Week, day("2026-12-06")),
            day("2026-11-30")
        );
        assert_eq!(
            start_of(Interval::Month, day("2026-12-06")),
            day("2026-12-01")
        );
        assert_eq!(
            start_of(Interval::Day, day("2026-12-06")),
            day("2026-12-06")
        );
    }

    #[test]
    fn around_splits_a_payers_rows_at_the_window() {
        let row = |d| Row {
            day: day(d),
            payee: 0,
            token: 0,
            facilitator: 0,
            class: 0,
            source: 0,
        };
        // Payer 0: four rows; payer 1: none; payer 2: one.
        let rows = vec![
            row("2026-11-01"),
            row("2026-11-05"),
            row("2026-11-05"),
            row("2026-11-09"),
            row("2026-11-20"),
        ];
        let payers = PayerRows {
            start: vec![0, 4, 4, 5],
            volumes: (0..rows.len()).map(|i| i as f64).collect(),
            rows,
        };
        let days = |rs: &[Row]| rs.iter().map(|r| r.day).collect::<Vec<Day>>();
        let (before, from_on, volumes) = payers
            .around(0, day("2026-11-02"), day("2026-11-05"))
            .unwrap();
        assert_eq!(days(before), vec![day("2026-11-01")]);
        // The rows from the window's start on, to be read up to its end.
        assert_eq!(
            days(from_on),
            vec![day("2026-11-05"), day("2026-11-05"), day("2026-11-09")]
        );
        assert_eq!(volumes, &[1.0, 2.0, 3.0]);
        // A window starting before the first row: nothing before it.
        let (before, from_on, _) = payers
            .around(0, day("2026-10-01"), day("2026-11-01"))
            .unwrap();
        assert_eq!((before.len(), from_on.len()), (0, 4));
        // A window between two rows: the cheap test lets it through, the rows from its start
        // on begin after its end (the passes read none of them).
        let (before, from_on, _) = payers
            .around(0, day("2026-11-06"), day("2026-11-08"))
            .unwrap();
        assert_eq!((before.len(), days(from_on)), (3, vec![day("2026-11-09")]));
        // After every row, before every row, no rows, no such payer.
        assert!(payers
            .around(0, day("2026-11-10"), day("2026-11-30"))
            .is_none());
        assert!(payers
            .around(2, day("2026-11-01"), day("2026-11-19"))
            .is_none());
        assert!(payers
            .around(1, day("2026-11-01"), day("2026-11-30"))
            .is_none());
        assert!(payers
            .around(3, day("2026-11-01"), day("2026-11-30"))
            .is_none());
    }

    #[test]
    fn dict_interns_once() {
        let mut d = Dict::default();
        assert_eq!((d.id(b"a"), d.id(b"b"), d.id(b"a")), (0, 1, 0));
        assert_eq!(
            (d.get(b"b"), d.get(b"c"), d.key(1), d.len()),
            (Some(1), None, &b"b"[..], 2)
        );
        assert_eq!(class_index(Class::ALL[2].as_str()), Some(2));
        assert_eq!(class_index("no such class"), None);
        assert_eq!(source_index(PaymentSource::ALL[0].as_str()), Some(0));
    }
}
