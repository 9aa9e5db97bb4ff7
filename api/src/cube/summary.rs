//! The summary's rows from a snapshot: totals per class and token, the payer figures (distinct
//! payers and entities, activity counts, per-payer volumes), per-payee volumes and payment sizes.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::U256;
use bigdecimal::{BigDecimal, RoundingMode};

use super::filter::Want;
use super::value::{u256_dec, CellTotals, Prices};
use super::{day_of, start_of, Cell, Day, DayData, Snapshot};
use crate::metrics::{
    ActivityCounts, ClassTokenRow, Interval, SizeRow, SummaryRows, Uniques, Window,
};
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
            let mut payees: Vec<u32> = Vec::new();
            for pid in 0..self.payers.len() {
                let (rows, volumes) = self.payers.of(pid);
                let mut mask = 0u16;
                let mut value = 0.0;
                let mut first: Option<Day> = None;
                let (mut days, mut weeks, mut months) = (0i64, 0i64, 0i64);
                let (mut last_day, mut last_week, mut last_month) = (Day::MIN, Day::MIN, Day::MIN);
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
                        value += prices.value_f64(r.token, r.day, *vol);
                    }
                    if in_act {
                        if r.day != last_day {
                            days += 1;
                            last_day = r.day;
                            let wk = start_of(Interval::Week, r.day);
                            if wk != last_week {
                                weeks += 1;
                                last_week = wk;
                            }
                            let m = start_of(Interval::Month, r.day);
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
        let mut payee_values: HashMap<u32, f64> = HashMap::new();
        for (day, data) in self.days.range(day_of(w.from)..=day_of(w.to)) {
            for c in data.cells.iter().filter(|c| want.cell(c)) {
                *payee_values.entry(c.payee).or_default() +=
                    prices.value_f64(c.token, *day, c.volume);
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
