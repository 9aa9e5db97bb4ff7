//! The summary's rows from a snapshot: totals per class and token, the payer figures (distinct
//! payers and entities, activity counts, per-payer volumes), per-payee volumes and payment sizes.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use bigdecimal::{BigDecimal, RoundingMode};

use super::calendar::Calendar;
use super::filter::Want;
use super::median::weighted_kth;
use super::value::{u256_dec, u256_f64, CellTotals, Prices};
use super::{day_of, Bin, Cell, Day, DayData, Row, Snapshot};
use crate::metrics::{ActivityCounts, ClassTokenRow, SizeRow, SummaryRows, Uniques, Window};
use crate::model::Class;
use crate::money::{plain, Pricing};
use crate::params::Filters;

impl Snapshot {
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
    pub(super) fn class_token_row(
        &self,
        class: u8,
        token: u32,
        t: &CellTotals,
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
    pub(super) fn class_totals<K: Ord>(
        &self,
        w: Window,
        f: &Filters,
        p: &Pricing,
        key: impl Fn(Day, &Cell) -> K,
    ) -> Option<(Prices, BTreeMap<K, CellTotals>)> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return None;
        }
        let prices = Prices::new(&self.dicts, p);
        let mut acc: BTreeMap<K, CellTotals> = BTreeMap::new();
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
    ///
    /// Payers without a row in the window are skipped after two comparisons; for the others the
    /// rows before the window are read only until the first one of the activity classes (which
    /// makes the payer a returning one), then the window's rows once. Weeks, months and prices
    /// come from per-request tables and distinct payees from a mark per payee, so the inner loop
    /// neither hashes nor allocates.
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
            let (from, to) = (day_of(w.from), day_of(w.to));
            let cal = self.calendar(from, to, &prices);
            let pass = PayerPass {
                want: want.classes,
                act: act.classes,
                to,
                cal: &cal,
            };
            // The payer that last counted each payee (distinct payees per payer).
            let mut payee_mark: Vec<u32> = vec![u32::MAX; self.dicts.payees.len()];
            let dims = want.filters_dims();
            for pid in 0..self.payers.len() {
                let Some((before, rows, volumes)) = self.payers.around(pid, from, to) else {
                    continue;
                };
                // Two copies of the pass: without a filter on the other dimensions the row test
                // is skipped altogether.
                let (returning, fig) = if dims {
                    pass.run(pid as u32, before, rows, volumes, &mut payee_mark, |r| {
                        want.dims_but_class(r)
                    })
                } else {
                    pass.run(pid as u32, before, rows, volumes, &mut payee_mark, |_| true)
                };
                let PayerFigures {
                    mask,
                    value,
                    days,
                    weeks,
                    months,
                    pairs,
                } = fig;
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
                    out.payers += 1;
                    out.payer_days += days;
                    out.payer_weeks += weeks;
                    out.payer_months += months;
                    out.pairs += pairs;
                    if days >= 2 {
                        out.repeat += 1;
                    }
                    if !returning {
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

    /// Each payee's volume in the request's unit (for concentration), summed in an array by
    /// payee id (no hashing), in the order the payees first appear.
    fn payee_volumes(&self, w: Window, f: &Filters, p: &Pricing) -> Vec<f64> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return Vec::new();
        }
        let prices = Prices::new(&self.dicts, p);
        let (from, to) = (day_of(w.from), day_of(w.to));
        let cal = self.calendar(from, to, &prices);
        let mut volume: Vec<f64> = vec![0.0; self.dicts.payees.len()];
        let mut seen = vec![false; self.dicts.payees.len()];
        let mut order: Vec<u32> = Vec::new();
        for (day, data) in self.days.range(from..=to) {
            for c in data.cells.iter().filter(|c| want.cell(c)) {
                let i = c.payee as usize;
                if !seen[i] {
                    seen[i] = true;
                    order.push(c.payee);
                }
                volume[i] += cal.value(c.token, *day, u256_f64(c.volume));
            }
        }
        order.into_iter().map(|i| volume[i as usize]).collect()
    }

    /// Payments, mean and median amount per token: the bins of the window's days under the
    /// filters, gathered per token (as 128-bit amounts while they fit), then summed and the
    /// median selected without sorting them.
    fn sizes(&self, w: Window, f: &Filters) -> Vec<SizeRow> {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        if want.empty {
            return Vec::new();
        }
        // Bins per payee answer a payee filter; else those summed over payees.
        let fine = want.payee.is_some();
        fn bins_of(data: &DayData, fine: bool) -> &[Bin] {
            if fine {
                &data.bins
            } else {
                &data.coarse_bins
            }
        }
        // Room for every bin of the window in the first token's list (usually the only one).
        let room: usize = self.days_in(w).map(|d| bins_of(d, fine).len()).sum();
        let mut by_token: Vec<Amounts> = vec![Amounts::default(); self.dicts.tokens.len()];
        for data in self.days_in(w) {
            for b in bins_of(data, fine).iter().filter(|b| want.bin(b)) {
                let amounts = &mut by_token[b.token as usize];
                if let Amounts::Narrow(v) = amounts {
                    if v.capacity() == 0 {
                        v.reserve(room);
                    }
                }
                amounts.push(b.amount, b.payments);
            }
        }
        // Token ids are not in address order: sort the rows by token, as the SQL does.
        let mut out: Vec<SizeRow> = by_token
            .into_iter()
            .enumerate()
            .filter_map(|(token, amounts)| {
                let (n, total, median) = amounts.size()?;
                let average = (u256_dec(total) / BigDecimal::from(n.max(1)))
                    .with_scale_round(6, RoundingMode::HalfUp);
                Some(SizeRow::new(
                    self.dicts.tokens.key(token as u32).to_vec(),
                    n,
                    average.to_plain_string(),
                    median.to_string(),
                ))
            })
            .collect();
        out.sort_by(|a, b| a.token.cmp(&b.token));
        out
    }
}

/// One payer's figures in a window (see [`Snapshot::payer_figures`]).
#[derive(Debug, Default)]
struct PayerFigures {
    /// Bit per class of the class filter the payer paid in.
    mask: u16,
    /// Its volume under the class filter, in the request's unit.
    value: f64,
    /// Distinct days, ISO weeks, months and payees with payments of the activity classes.
    days: i64,
    weeks: i64,
    months: i64,
    pairs: i64,
}

/// What the pass over each payer's rows needs from the request.
struct PayerPass<'a> {
    /// Bits of the class filter and of the activity classes.
    want: u16,
    act: u16,
    /// Last day of the window.
    to: Day,
    cal: &'a Calendar<'a>,
}

impl PayerPass<'_> {
    /// One payer's figures from its rows `before` the window and from the window's start on
    /// (with their volumes), counting rows that pass `dims`; also whether it paid in the
    /// activity classes before the window (a returning payer). `payee_mark` holds, per payee,
    /// the last payer that counted it.
    #[inline(always)]
    fn run(
        &self,
        pid: u32,
        before: &[Row],
        rows: &[Row],
        volumes: &[f64],
        payee_mark: &mut [u32],
        dims: impl Fn(&Row) -> bool,
    ) -> (bool, PayerFigures) {
        let returning = before
            .iter()
            .any(|r| self.act & (1 << r.class) != 0 && dims(r));
        let mut fig = PayerFigures::default();
        let (mut last_day, mut last_week, mut last_month) = (Day::MIN, Day::MIN, Day::MIN);
        for (r, raw) in rows.iter().zip(volumes) {
            if r.day > self.to {
                break;
            }
            if !dims(r) {
                continue;
            }
            let bit = 1u16 << r.class;
            if self.want & bit != 0 {
                fig.mask |= bit;
                fig.value += self.cal.value(r.token, r.day, *raw);
            }
            if self.act & bit != 0 {
                if r.day != last_day {
                    fig.days += 1;
                    last_day = r.day;
                    let wk = self.cal.week(r.day);
                    if wk != last_week {
                        fig.weeks += 1;
                        last_week = wk;
                    }
                    let m = self.cal.month(r.day);
                    if m != last_month {
                        fig.months += 1;
                        last_month = m;
                    }
                }
                let mark = &mut payee_mark[r.payee as usize];
                if *mark != pid {
                    *mark = pid;
                    fig.pairs += 1;
                }
            }
        }
        (returning, fig)
    }
}

/// The (amount, payments) bins of one token: 128-bit while every amount fits (compact to
/// gather and select in), 256-bit otherwise.
#[derive(Debug, Clone)]
enum Amounts {
    Narrow(Vec<(u128, i64)>),
    Wide(Vec<(U256, i64)>),
}

impl Default for Amounts {
    fn default() -> Self {
        Amounts::Narrow(Vec::new())
    }
}

impl Amounts {
    fn push(&mut self, amount: U256, payments: i64) {
        match self {
            Amounts::Narrow(v) => match u128::try_from(amount) {
                Ok(a) => v.push((a, payments)),
                Err(_) => {
                    let mut wide: Vec<(U256, i64)> =
                        v.iter().map(|(a, c)| (U256::from(*a), *c)).collect();
                    wide.push((amount, payments));
                    *self = Amounts::Wide(wide);
                }
            },
            Amounts::Wide(v) => v.push((amount, payments)),
        }
    }

    /// Payments, their total amount and the median amount (`percentile_disc(0.5)`: the first
    /// amount at position >= n / 2); `None` without payments.
    fn size(self) -> Option<(i64, U256, U256)> {
        match self {
            Amounts::Narrow(mut v) => {
                let n: i64 = v.iter().map(|b| b.1).sum();
                // Exact in 128 bits unless it overflows; then again in 256.
                let total = v
                    .iter()
                    .try_fold(0u128, |t, (a, c)| t.checked_add(a.checked_mul(*c as u128)?))
                    .map(U256::from)
                    .unwrap_or_else(|| {
                        v.iter().fold(U256::ZERO, |t, (a, c)| {
                            t + U256::from(*a) * U256::from(*c as u64)
                        })
                    });
                let median = weighted_kth(&mut v, (n + 1) / 2)?;
                Some((n, total, U256::from(median)))
            }
            Amounts::Wide(mut v) => {
                let n: i64 = v.iter().map(|b| b.1).sum();
                let total = v
                    .iter()
                    .fold(U256::ZERO, |t, (a, c)| t + *a * U256::from(*c as u64));
                let median = weighted_kth(&mut v, (n + 1) / 2)?;
                Some((n, total, median))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_narrow_and_wide_amounts() {
        let mut a = Amounts::default();
        for (amount, n) in [(30u64, 1i64), (10, 2), (20, 1)] {
            a.push(U256::from(amount), n);
        }
        // 10, 10, 20, 30: median at position 2.
        assert_eq!(a.size(), Some((4, U256::from(70), U256::from(10))));
        // Amounts past 128 bits switch to 256-bit arithmetic on the way.
        let big = U256::from(u128::MAX) + U256::from(1);
        let mut a = Amounts::default();
        a.push(U256::from(5), 1);
        a.push(big, 2);
        assert!(matches!(a, Amounts::Wide(_)));
        assert_eq!(
            a.size(),
            Some((3, big * U256::from(2) + U256::from(5), big))
        );
        // A total past 128 bits from amounts that fit is summed again in 256 bits.
        let mut a = Amounts::default();
        a.push(U256::from(u128::MAX), 3);
        assert_eq!(
            a.size(),
            Some((
                3,
                U256::from(u128::MAX) * U256::from(3),
                U256::from(u128::MAX)
            ))
        );
        assert_eq!(Amounts::default().size(), None);
    }
}
