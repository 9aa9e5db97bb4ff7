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
//! [`Cube::apply_days`] replaces exactly the days the SQL refresh rebuilt (reorgs and
//! reclassification included): their cells and histograms, and the rows of every payer active on
//! them before or after. Every figure is exact except where the SQL computes in floats too
//! (concentration statistics, computed here from f64 per-holder volumes).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use alloy_primitives::{Address, U256};
use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive, Zero};
use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use tokio::sync::RwLock;
use x402_domain::PaymentSource;

use crate::metrics::{
    ActivityCounts, ClassTokenRow, Interval, PeriodActive, PeriodClassRow, PeriodCount, SeriesRows,
    SizeRow, SummaryRows, Uniques, Window,
};
use crate::model::Class;
use crate::money::{plain, Pricing};
use crate::params::Filters;

type Day = i32;

fn day_of(d: NaiveDate) -> Day {
    d.num_days_from_ce()
}

fn date_of(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d).expect("a day of the read model")
}

/// Monday of the ISO week holding `d` (as `date_trunc('week', ...)`).
fn week_of(d: Day) -> Day {
    d - date_of(d).weekday().num_days_from_monday() as Day
}

/// (year, month) of `d` as one number (as `date_trunc('month', ...)`).
fn month_of(d: Day) -> i32 {
    let n = date_of(d);
    n.year() * 12 + n.month0() as i32
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
    volumes: Vec<U256>,
}

impl PayerRows {
    fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    fn of(&self, p: usize) -> (&[Row], &[U256]) {
        if p >= self.len() {
            return (&[], &[]);
        }
        let (a, b) = (self.start[p] as usize, self.start[p + 1] as usize);
        (&self.rows[a..b], &self.volumes[a..b])
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

fn u256(s: &str) -> Result<U256, sqlx::Error> {
    U256::from_str_radix(s, 10).map_err(|e| {
        sqlx::Error::Decode(format!("amount `{s}` is not a 256-bit integer: {e}").into())
    })
}

type RowRec = (
    NaiveDate,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
    String,
);
type CellRec = (
    NaiveDate,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
    String,
    String,
);
type BinRec = (
    NaiveDate,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    String,
    i64,
);

/// What one load read from the database (all days, or the given days).
struct Loaded {
    rows: Vec<RowRec>,
    cells: Vec<CellRec>,
    bins: Vec<BinRec>,
    entities: Vec<(Vec<u8>, Option<String>)>,
}

async fn load(
    pool: &PgPool,
    chain: i64,
    days: Option<&[NaiveDate]>,
) -> Result<Loaded, sqlx::Error> {
    let all = days.is_none();
    let days: Vec<NaiveDate> = days.map(|d| d.to_vec()).unwrap_or_default();
    // One snapshot of the read model for the three tables.
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<RowRec> = sqlx::query_as(
        "select day, payer, token, payee, facilitator, class, source, payments, volume::text
         from api_payer_days where chain_id = $1 and ($2 or day = any($3))",
    )
    .bind(chain)
    .bind(all)
    .bind(&days)
    .fetch_all(&mut *tx)
    .await?;
    let cells: Vec<CellRec> = sqlx::query_as(
        "select day, token, payee, facilitator, class, source, payments, volume::text, taint_adjusted::text
         from api_daily_stats where chain_id = $1 and ($2 or day = any($3))",
    )
    .bind(chain)
    .bind(all)
    .bind(&days)
    .fetch_all(&mut *tx)
    .await?;
    let bins: Vec<BinRec> = sqlx::query_as(
        "select day, token, payee, facilitator, class, source, amount::text, count(*)::int8
         from api_payment_facts where chain_id = $1 and ($2 or day = any($3))
         group by day, token, payee, facilitator, class, source, amount",
    )
    .bind(chain)
    .bind(all)
    .bind(&days)
    .fetch_all(&mut *tx)
    .await?;
    let entities: Vec<(Vec<u8>, Option<String>)> =
        sqlx::query_as("select payer, entity_id from payer_classes where chain_id = $1")
            .bind(chain)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Loaded {
        rows,
        cells,
        bins,
        entities,
    })
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
        let loaded = load(pool, chain, None).await?;
        let snap = Snapshot::default().with(loaded, None)?;
        *self.snap.write().await = Arc::new(snap);
        Ok(())
    }

    /// Replaces `days` (the days a refresh rebuilt) with what the read model now holds.
    pub async fn apply_days(
        &self,
        pool: &PgPool,
        chain: i64,
        days: &[NaiveDate],
    ) -> Result<(), sqlx::Error> {
        let loaded = load(pool, chain, Some(days)).await?;
        let old = self.snapshot().await;
        let set: Vec<Day> = days.iter().map(|d| day_of(*d)).collect();
        let snap = (*old).clone().with(loaded, Some(&set))?;
        *self.snap.write().await = Arc::new(snap);
        Ok(())
    }
}

impl Snapshot {
    /// This snapshot with `loaded` in place of `days` (every day when `None`).
    fn with(mut self, loaded: Loaded, days: Option<&[Day]>) -> Result<Self, sqlx::Error> {
        let dicts = Arc::make_mut(&mut self.dicts);
        let mut new_rows: HashMap<u32, Vec<(Row, U256)>> = HashMap::new();
        let mut day_payers: BTreeMap<Day, Vec<u32>> = BTreeMap::new();
        for (day, payer, token, payee, fac, class, source, _payments, volume) in &loaded.rows {
            let (Some(class), Some(source)) = (class_index(class), source_index(source)) else {
                continue;
            };
            let p = dicts.payers.id(payer);
            let d = day_of(*day);
            let row = Row {
                day: d,
                payee: dicts.payees.id(payee),
                token: dicts.tokens.id(token),
                facilitator: dicts.facilitators.id(fac),
                class,
                source,
            };
            new_rows.entry(p).or_default().push((row, u256(volume)?));
            day_payers.entry(d).or_default().push(p);
        }
        let mut cells: BTreeMap<Day, DayData> = BTreeMap::new();
        for (day, token, payee, fac, class, source, payments, volume, taint) in &loaded.cells {
            let (Some(class), Some(source)) = (class_index(class), source_index(source)) else {
                continue;
            };
            let taint = BigDecimal::from_str(taint)
                .map_err(|e| sqlx::Error::Decode(format!("taint `{taint}`: {e}").into()))?;
            cells.entry(day_of(*day)).or_default().cells.push(Cell {
                payee: dicts.payees.id(payee),
                token: dicts.tokens.id(token),
                facilitator: dicts.facilitators.id(fac),
                class,
                source,
                payments: *payments,
                volume: u256(volume)?,
                taint: (!taint.is_zero()).then_some(taint),
            });
        }
        for (day, token, payee, fac, class, source, amount, payments) in &loaded.bins {
            let (Some(class), Some(source)) = (class_index(class), source_index(source)) else {
                continue;
            };
            cells.entry(day_of(*day)).or_default().bins.push(Bin {
                payee: dicts.payees.id(payee),
                token: dicts.tokens.id(token),
                facilitator: dicts.facilitators.id(fac),
                class,
                source,
                amount: u256(amount)?,
                payments: *payments,
            });
        }
        // Payers whose rows change: active on the replaced days before or after.
        let mut touched: Vec<u32> = new_rows.keys().copied().collect();
        match days {
            Some(days) => {
                for d in days {
                    if let Some(old) = self.days.get(d) {
                        touched.extend(old.payers.iter().copied());
                    }
                    self.days.remove(d);
                }
            }
            None => {
                self.days.clear();
                self.payers = Arc::new(PayerRows::default());
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let replaced: Vec<Day> = days.map(|d| d.to_vec()).unwrap_or_default();
        // One new array: untouched payers' rows copied, touched payers' merged.
        let old = &self.payers;
        let mut next = PayerRows {
            start: Vec::with_capacity(dicts.payers.len() + 1),
            rows: Vec::with_capacity(old.rows.len() + loaded.rows.len()),
            volumes: Vec::with_capacity(old.rows.len() + loaded.rows.len()),
        };
        next.start.push(0);
        let mut touched = touched.into_iter().peekable();
        for p in 0..dicts.payers.len() {
            let (rows, volumes) = old.of(p);
            if touched.peek() == Some(&(p as u32)) {
                touched.next();
                let mut merged: Vec<(Row, U256)> = rows
                    .iter()
                    .zip(volumes)
                    .filter(|(r, _)| !replaced.contains(&r.day))
                    .map(|(r, v)| (*r, *v))
                    .collect();
                merged.extend(new_rows.remove(&(p as u32)).unwrap_or_default());
                merged.sort_by_key(|(r, _)| r.day);
                for (r, v) in merged {
                    next.rows.push(r);
                    next.volumes.push(v);
                }
            } else {
                next.rows.extend_from_slice(rows);
                next.volumes.extend_from_slice(volumes);
            }
            next.start.push(next.rows.len() as u32);
        }
        self.payers = Arc::new(next);
        for (d, mut data) in cells {
            data.payers = day_payers.remove(&d).unwrap_or_default();
            data.payers.sort_unstable();
            data.payers.dedup();
            data.coarse = coarse_cells(&data.cells);
            data.coarse_bins = coarse_bins(&data.bins);
            self.days.insert(d, Arc::new(data));
        }
        // Entities: the classifier's entity of each payer, else the payer itself.
        let mut by_payer: HashMap<Vec<u8>, String> = HashMap::new();
        for (payer, entity) in loaded.entities {
            if let Some(e) = entity {
                by_payer.insert(payer, e);
            }
        }
        let entity: Vec<u32> = (0..dicts.payers.len() as u32)
            .map(|p| {
                let key = dicts.payers.key(p).to_vec();
                let e = by_payer
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| format!("0x{}", alloy_primitives::hex::encode(&key)));
                dicts.entities.id(e.as_bytes())
            })
            .collect();
        self.entity = Arc::new(entity);
        Ok(self)
    }
}

fn coarse_cells(cells: &[Cell]) -> Vec<Cell> {
    let mut acc: BTreeMap<(u32, u32, u8, u8), Cell> = BTreeMap::new();
    for c in cells {
        let e = acc
            .entry((c.token, c.facilitator, c.class, c.source))
            .or_insert_with(|| Cell {
                payee: ANY_PAYEE,
                payments: 0,
                volume: U256::ZERO,
                taint: None,
                ..c.clone()
            });
        e.payments += c.payments;
        e.volume += c.volume;
        if let Some(t) = &c.taint {
            e.taint = Some(e.taint.take().unwrap_or_default() + t);
        }
    }
    acc.into_values().collect()
}

fn coarse_bins(bins: &[Bin]) -> Vec<Bin> {
    let mut acc: BTreeMap<(u32, u32, u8, u8, U256), i64> = BTreeMap::new();
    for b in bins {
        *acc.entry((b.token, b.facilitator, b.class, b.source, b.amount))
            .or_default() += b.payments;
    }
    acc.into_iter()
        .map(
            |((token, facilitator, class, source, amount), payments)| Bin {
                payee: ANY_PAYEE,
                token,
                facilitator,
                class,
                source,
                amount,
                payments,
            },
        )
        .collect()
}

/// A filter translated to dictionary ids. `None` fields match everything; `empty` when a filter
/// names a value the read model has never seen (nothing matches).
#[derive(Debug, Clone, Copy)]
struct Want {
    token: Option<u32>,
    payee: Option<u32>,
    facilitator: Option<u32>,
    /// Bit per `Class::ALL` index.
    classes: u16,
    /// Bit per `PaymentSource::ALL` index.
    sources: u16,
    empty: bool,
}

impl Want {
    fn new(d: &Dicts, f: &Filters, classes: Option<&[String]>) -> Self {
        let mut empty = false;
        let mut id = |dict: &Dict, a: Option<Address>| match a {
            None => None,
            Some(a) => match dict.get(a.as_slice()) {
                Some(i) => Some(i),
                None => {
                    empty = true;
                    Some(u32::MAX - 1)
                }
            },
        };
        let token = id(&d.tokens, f.token);
        let payee = id(&d.payees, f.payee);
        let facilitator = id(&d.facilitators, f.facilitator);
        let classes = match classes {
            None => u16::MAX,
            Some(cs) => cs
                .iter()
                .filter_map(|c| class_index(c))
                .fold(0u16, |m, i| m | (1 << i)),
        };
        let sources = match &f.sources {
            None => u16::MAX,
            Some(ss) => ss
                .iter()
                .filter_map(|s| source_index(s.as_str()))
                .fold(0u16, |m, i| m | (1 << i)),
        };
        Self {
            token,
            payee,
            facilitator,
            classes,
            sources,
            empty,
        }
    }

    #[inline]
    fn dims(&self, token: u32, payee: u32, facilitator: u32, class: u8, source: u8) -> bool {
        self.token.is_none_or(|t| t == token)
            && self.payee.is_none_or(|p| p == payee)
            && self.facilitator.is_none_or(|f| f == facilitator)
            && self.classes & (1 << class) != 0
            && self.sources & (1 << source) != 0
    }

    fn row(&self, r: &Row) -> bool {
        self.dims(r.token, r.payee, r.facilitator, r.class, r.source)
    }

    /// Matches every dimension of a row but its class (for passes that test two class sets).
    #[inline]
    fn dims_but_class(&self, r: &Row) -> bool {
        !self.empty
            && self.token.is_none_or(|t| t == r.token)
            && self.payee.is_none_or(|p| p == r.payee)
            && self.facilitator.is_none_or(|f| f == r.facilitator)
            && self.sources & (1 << r.source) != 0
    }

    /// Matches a cell; coarse cells (payee summed) only serve requests without a payee filter.
    fn cell(&self, c: &Cell) -> bool {
        self.token.is_none_or(|t| t == c.token)
            && self.facilitator.is_none_or(|f| f == c.facilitator)
            && self.classes & (1 << c.class) != 0
            && self.sources & (1 << c.source) != 0
            && self.payee.is_none_or(|p| p == c.payee)
    }

    fn bin(&self, b: &Bin) -> bool {
        self.token.is_none_or(|t| t == b.token)
            && self.facilitator.is_none_or(|f| f == b.facilitator)
            && self.classes & (1 << b.class) != 0
            && self.sources & (1 << b.source) != 0
            && self.payee.is_none_or(|p| p == b.payee)
    }
}

/// Sums of the cells of one row: payments, raw volume, taint-adjusted volume, and per price
/// segment of the token the raw and taint-adjusted volume (valued at that segment's price).
#[derive(Debug, Default)]
struct ClassTotals {
    count: i64,
    volume: U256,
    taint: BigDecimal,
    segments: BTreeMap<usize, (U256, BigDecimal)>,
}

impl ClassTotals {
    fn add(&mut self, c: &Cell, segment: Option<usize>) {
        self.count += c.payments;
        self.volume += c.volume;
        if let Some(t) = &c.taint {
            self.taint += t;
        }
        if let Some(s) = segment {
            let seg = self.segments.entry(s).or_default();
            seg.0 += c.volume;
            if let Some(t) = &c.taint {
                seg.1 += t;
            }
        }
    }

    /// USD value of the volume and of the taint-adjusted volume, `None` when no day of the row
    /// has a price.
    fn usd(&self, prices: &Prices, token: u32) -> (Option<String>, Option<String>) {
        if self.segments.is_empty() {
            return (None, None);
        }
        let price = |i: usize| &prices.segments[token as usize][i].2;
        let usd: BigDecimal = self
            .segments
            .iter()
            .map(|(i, (v, _))| u256_dec(*v) * price(*i))
            .sum();
        let taint_usd: BigDecimal = self.segments.iter().map(|(i, (_, t))| t * price(*i)).sum();
        (Some(plain(&usd)), Some(plain(&taint_usd)))
    }
}

/// USD per raw unit of each token id for each day, from a request's price segments.
struct Prices {
    /// By token id: (first day, day after the last, USD per raw unit, as f64).
    segments: Vec<Vec<(Day, Day, BigDecimal, f64)>>,
}

impl Prices {
    fn new(d: &Dicts, p: &Pricing) -> Self {
        let segments = (0..d.tokens.len() as u32)
            .map(|t| {
                let a = Address::from_slice(d.tokens.key(t));
                p.segments_of(&a)
                    .map(|s| {
                        (
                            day_of(s.from),
                            day_of(s.to),
                            s.usd_per_raw.clone(),
                            s.usd_per_raw.to_f64().unwrap_or(0.0),
                        )
                    })
                    .collect()
            })
            .collect();
        Self { segments }
    }

    /// Index of the segment pricing `token` on `day`.
    #[inline]
    fn segment(&self, token: u32, day: Day) -> Option<usize> {
        self.segments
            .get(token as usize)?
            .iter()
            .position(|s| s.0 <= day && day < s.1)
    }
}

fn u256_dec(v: U256) -> BigDecimal {
    BigDecimal::from_str(&v.to_string()).unwrap_or_default()
}

fn u256_f64(v: U256) -> f64 {
    let limbs = v.as_limbs();
    limbs
        .iter()
        .rev()
        .fold(0.0, |acc, l| acc * 18_446_744_073_709_551_616.0 + *l as f64)
}

impl Snapshot {
    /// Whether anything is loaded.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    fn days_in(&self, w: Window) -> impl Iterator<Item = &DayData> {
        self.days
            .range(day_of(w.from)..=day_of(w.to))
            .map(|(_, d)| d.as_ref())
    }

    /// Everything a summary is computed from (as [`crate::metrics`] reads it in SQL).
    pub(crate) fn summary_rows(
        &self,
        w: Window,
        f: &Filters,
        p: &Pricing,
        activity_classes: &[String],
    ) -> SummaryRows {
        let (uniques, activity, payer_volumes) = self.payer_figures(w, f, p, activity_classes);
        SummaryRows {
            classes: self.class_rows(w, f, p),
            uniques,
            activity,
            payer_volumes,
            payee_volumes: self.payee_volumes(w, f, p),
            sizes: self.sizes(w, f),
        }
    }

    /// Totals per class and token (the summary's `class_rows`).
    fn class_rows(&self, w: Window, f: &Filters, p: &Pricing) -> Vec<ClassTokenRow> {
        let Some((prices, acc)) = self.class_totals(w, f, p, |_, c| (c.class, c.token)) else {
            return Vec::new();
        };
        acc.into_iter()
            .map(|((class, token), t)| self.class_token_row(class, token, &t, &prices))
            .collect()
    }

    /// The row of one class and token from its totals.
    fn class_token_row(
        &self,
        class: u8,
        token: u32,
        t: &ClassTotals,
        prices: &Prices,
    ) -> ClassTokenRow {
        let (usd, taint_usd) = t.usd(prices, token);
        ClassTokenRow {
            class: Class::ALL[class as usize].as_str().to_string(),
            token: self.dicts.tokens.key(token).to_vec(),
            count: t.count,
            volume: t.volume.to_string(),
            usd,
            taint: plain(&t.taint),
            taint_usd,
        }
    }

    /// The cells of window `w` under the filters, summed by `key(day, cell)` (the class and token
    /// rows of the summary and the series), with the prices they are valued at; `None` when the
    /// filters select nothing.
    fn class_totals<K: Ord>(
        &self,
        w: Window,
        f: &Filters,
        p: &Pricing,
        key: impl Fn(Day, &Cell) -> K,
    ) -> Option<(Prices, BTreeMap<K, ClassTotals>)> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return None;
        }
        let prices = Prices::new(&self.dicts, p);
        let mut acc: BTreeMap<K, ClassTotals> = BTreeMap::new();
        for (day, data) in self.days.range(day_of(w.from)..=day_of(w.to)) {
            let cells = if want.payee.is_some() {
                &data.cells
            } else {
                &data.coarse
            };
            for c in cells.iter().filter(|c| want.cell(c)) {
                acc.entry(key(*day, c))
                    .or_default()
                    .add(c, prices.segment(c.token, *day));
            }
        }
        Some((prices, acc))
    }

    /// The payer figures of a summary in one pass over each payer's rows: distinct payers and
    /// entities per class (under the class filter), the activity counts (under the activity
    /// classes), and each active payer's volume in the request's unit (for concentration).
    fn payer_figures(
        &self,
        w: Window,
        f: &Filters,
        p: &Pricing,
        activity_classes: &[String],
    ) -> (Uniques, ActivityCounts, Vec<f64>) {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        let act = Want::new(&self.dicts, f, Some(activity_classes));
        let n_classes = Class::ALL.len();
        let mut payers = vec![0i64; n_classes + 1];
        let mut entity_seen: Vec<u16> = vec![0; self.dicts.entities.len()];
        let mut act_entity = vec![false; self.dicts.entities.len()];
        let mut out = ActivityCounts::default();
        let mut values = Vec::new();
        if !want.empty {
            let prices = Prices::new(&self.dicts, p);
            let per_token = p.per_token();
            let (from, to) = (day_of(w.from), day_of(w.to));
            let mut payees: Vec<u32> = Vec::new();
            for pid in 0..self.payers.len() {
                let (rows, volumes) = self.payers.of(pid);
                let mut mask = 0u16;
                let mut value = 0.0;
                let mut first: Option<Day> = None;
                let (mut days, mut weeks, mut months) = (0i64, 0i64, 0i64);
                let (mut last_day, mut last_week, mut last_month) = (Day::MIN, Day::MIN, i32::MIN);
                payees.clear();
                for (r, vol) in rows.iter().zip(volumes) {
                    if r.day > to {
                        break;
                    }
                    // Dimensions other than the class, once for both class sets.
                    if !want.dims_but_class(r) {
                        continue;
                    }
                    let in_act = act.classes & (1 << r.class) != 0;
                    if in_act {
                        first.get_or_insert(r.day);
                    }
                    if r.day < from {
                        continue;
                    }
                    if want.classes & (1 << r.class) != 0 {
                        mask |= 1 << r.class;
                        value += if per_token {
                            u256_f64(*vol)
                        } else {
                            match prices.segment(r.token, r.day) {
                                Some(s) => u256_f64(*vol) * prices.segments[r.token as usize][s].3,
                                None => 0.0,
                            }
                        };
                    }
                    if in_act {
                        if r.day != last_day {
                            days += 1;
                            last_day = r.day;
                            let wk = week_of(r.day);
                            if wk != last_week {
                                weeks += 1;
                                last_week = wk;
                            }
                            let m = month_of(r.day);
                            if m != last_month {
                                months += 1;
                                last_month = m;
                            }
                        }
                        payees.push(r.payee);
                    }
                }
                let entity = self.entity[pid] as usize;
                if mask != 0 {
                    for (c, n) in payers.iter_mut().enumerate().take(n_classes) {
                        if mask & (1 << c) != 0 {
                            *n += 1;
                        }
                    }
                    payers[n_classes] += 1;
                    entity_seen[entity] |= mask | (1 << n_classes);
                    values.push(value);
                }
                if days > 0 {
                    payees.sort_unstable();
                    payees.dedup();
                    out.payers += 1;
                    out.payer_days += days;
                    out.payer_weeks += weeks;
                    out.payer_months += months;
                    out.pairs += payees.len() as i64;
                    if days >= 2 {
                        out.repeat += 1;
                    }
                    if first.is_some_and(|d| d >= from) {
                        out.new += 1;
                    }
                    if !act_entity[entity] {
                        act_entity[entity] = true;
                        out.entities += 1;
                    }
                }
            }
        }
        let mut entities = vec![0i64; n_classes + 1];
        for m in entity_seen {
            for (c, n) in entities.iter_mut().enumerate() {
                if m & (1 << c) != 0 {
                    *n += 1;
                }
            }
        }
        let mut uniques: Uniques = (0..n_classes)
            .filter(|&c| payers[c] > 0)
            .map(|c| {
                (
                    Some(Class::ALL[c].as_str().to_string()),
                    payers[c],
                    entities[c],
                )
            })
            .collect();
        uniques.push((None, payers[n_classes], entities[n_classes]));
        (uniques, out, values)
    }

    /// Each payee's volume in the request's unit (for concentration).
    fn payee_volumes(&self, w: Window, f: &Filters, p: &Pricing) -> Vec<f64> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return Vec::new();
        }
        let prices = Prices::new(&self.dicts, p);
        let per_token = p.per_token();
        let mut payee_values: HashMap<u32, f64> = HashMap::new();
        for (day, data) in self.days.range(day_of(w.from)..=day_of(w.to)) {
            for c in data.cells.iter().filter(|c| want.cell(c)) {
                let v = if per_token {
                    u256_f64(c.volume)
                } else {
                    match prices.segment(c.token, *day) {
                        Some(s) => u256_f64(c.volume) * prices.segments[c.token as usize][s].3,
                        None => 0.0,
                    }
                };
                *payee_values.entry(c.payee).or_default() += v;
            }
        }
        payee_values.into_values().collect()
    }

    /// Payments, mean and median amount per token.
    fn sizes(&self, w: Window, f: &Filters) -> Vec<SizeRow> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return Vec::new();
        }
        let mut by_token: BTreeMap<u32, Vec<(U256, i64)>> = BTreeMap::new();
        for data in self.days_in(w) {
            let bins = if want.payee.is_some() {
                &data.bins
            } else {
                &data.coarse_bins
            };
            for b in bins.iter().filter(|b| want.bin(b)) {
                by_token
                    .entry(b.token)
                    .or_default()
                    .push((b.amount, b.payments));
            }
        }
        let mut out: Vec<SizeRow> = by_token
            .into_iter()
            .map(|(token, mut bins)| {
                bins.sort_unstable_by_key(|b| b.0);
                let n: i64 = bins.iter().map(|b| b.1).sum();
                let total = bins
                    .iter()
                    .fold(U256::ZERO, |t, (a, c)| t + *a * U256::from(*c as u64));
                // percentile_disc(0.5): the first value at position >= 0.5 * n (1-based).
                let k = (n + 1) / 2;
                let mut seen = 0;
                let median = bins
                    .iter()
                    .find(|b| {
                        seen += b.1;
                        seen >= k
                    })
                    .map(|b| b.0)
                    .unwrap_or_default();
                let average = (u256_dec(total) / BigDecimal::from(n.max(1)))
                    .with_scale_round(6, RoundingMode::HalfUp);
                SizeRow::new(
                    self.dicts.tokens.key(token).to_vec(),
                    n,
                    average.to_plain_string(),
                    median.to_string(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.token.cmp(&b.token));
        out
    }
}

impl Snapshot {
    /// Everything a series is computed from (as [`crate::metrics`] reads it in SQL).
    pub(crate) fn series_rows(
        &self,
        w: Window,
        f: &Filters,
        iv: Interval,
        p: &Pricing,
        activity_classes: &[String],
    ) -> SeriesRows {
        SeriesRows {
            classes: self.period_class_rows(w, f, iv, p),
            payers: self.period_payers(w, f, iv),
            active: self.period_active(w, f, iv, activity_classes),
        }
    }

    /// Totals per period, class and token (the series' class rows).
    fn period_class_rows(
        &self,
        w: Window,
        f: &Filters,
        iv: Interval,
        p: &Pricing,
    ) -> Vec<PeriodClassRow> {
        let period_of = |day: Day| day_of(iv.start(date_of(day)));
        let Some((prices, acc)) =
            self.class_totals(w, f, p, |day, c| (period_of(day), c.class, c.token))
        else {
            return Vec::new();
        };
        acc.into_iter()
            .map(|((period, class, token), t)| PeriodClassRow {
                period: date_of(period),
                totals: self.class_token_row(class, token, &t, &prices),
            })
            .collect()
    }

    /// Distinct payers and entities per period (all classes in scope).
    fn period_payers(&self, w: Window, f: &Filters, iv: Interval) -> Vec<PeriodCount> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return Vec::new();
        }
        let (from, to) = (day_of(w.from), day_of(w.to));
        let periods = period_table(w, iv);
        let mut payers = vec![0i64; periods.len()];
        // (period, entity) of every active payer; an entity counts once per period.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for pid in 0..self.payers.len() {
            let rows = self.payers.of(pid).0;
            let mut last = u32::MAX;
            for r in window_rows(rows, from, to) {
                if !want.row(r) {
                    continue;
                }
                let k = periods.index(r.day);
                if k != last {
                    payers[k as usize] += 1;
                    pairs.push((k, self.entity[pid]));
                    last = k;
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut entities = vec![0i64; periods.len()];
        for (k, _) in pairs {
            entities[k as usize] += 1;
        }
        (0..periods.len())
            .filter(|&k| payers[k] > 0)
            .map(|k| (date_of(periods.starts[k]), payers[k], entities[k]))
            .collect()
    }

    /// Active and new payers of the activity classes per period.
    fn period_active(
        &self,
        w: Window,
        f: &Filters,
        iv: Interval,
        classes: &[String],
    ) -> Vec<PeriodActive> {
        let want = Want::new(&self.dicts, f, Some(classes));
        if want.empty {
            return Vec::new();
        }
        let (from, to) = (day_of(w.from), day_of(w.to));
        let periods = period_table(w, iv);
        let mut active = vec![0i64; periods.len()];
        let mut new = vec![0i64; periods.len()];
        for pid in 0..self.payers.len() {
            let rows = self.payers.of(pid).0;
            let mut first: Option<Day> = None;
            let mut last = u32::MAX;
            for r in rows.iter().take_while(|r| r.day <= to) {
                if !want.row(r) {
                    continue;
                }
                first.get_or_insert(r.day);
                if r.day < from {
                    continue;
                }
                let k = periods.index(r.day);
                if k != last {
                    active[k as usize] += 1;
                    let first_period = day_of(iv.start(date_of(first.unwrap_or(r.day))));
                    if first_period == periods.starts[k as usize] {
                        new[k as usize] += 1;
                    }
                    last = k;
                }
            }
        }
        (0..periods.len())
            .filter(|&k| active[k] > 0)
            .map(|k| (date_of(periods.starts[k]), active[k], new[k]))
            .collect()
    }
}

/// The periods of a window and which period each of its days falls in.
struct Periods {
    starts: Vec<Day>,
    /// First day of the window and the period index of each day from it.
    from: Day,
    of_day: Vec<u32>,
}

impl Periods {
    fn len(&self) -> usize {
        self.starts.len()
    }
    #[inline]
    fn index(&self, d: Day) -> u32 {
        self.of_day[(d - self.from) as usize]
    }
}

fn period_table(w: Window, iv: Interval) -> Periods {
    let starts: Vec<Day> = iv.periods(w).into_iter().map(day_of).collect();
    let from = day_of(w.from);
    let of_day = (from..=day_of(w.to))
        .map(|d| starts.partition_point(|s| *s <= d).saturating_sub(1) as u32)
        .collect();
    Periods {
        starts,
        from,
        of_day,
    }
}

/// The rows of a payer within [from, to] (rows are sorted by day).
#[inline]
fn window_rows(rows: &[Row], from: Day, to: Day) -> impl Iterator<Item = &Row> {
    let start = rows.partition_point(|r| r.day < from);
    rows[start..].iter().take_while(move |r| r.day <= to)
}
