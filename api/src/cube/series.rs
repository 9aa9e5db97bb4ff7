//! The series' rows from a snapshot: totals per period, class and token, distinct payers and
//! entities per period, active and new payers per period.

use super::filter::Want;
use super::{date_of, day_of, start_of, Day, Row, Snapshot};
use crate::metrics::{Interval, PeriodActive, PeriodClassRow, PeriodCount, SeriesRows, Window};
use crate::money::Pricing;
use crate::params::Filters;

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
        let Some((prices, acc)) =
            self.class_totals(w, f, p, |day, c| (start_of(iv, day), c.class, c.token))
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
                    let first_period = start_of(iv, first.unwrap_or(r.day));
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn day(s: &str) -> Day {
        day_of(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn period_table_indexes_each_day() {
        // Wednesday 2026-11-18 to Tuesday 2026-12-01: weeks of 11-16, 11-23 and 11-30.
        let w = Window {
            from: NaiveDate::from_ymd_opt(2026, 11, 18).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        };
        let weeks = period_table(w, Interval::Week);
        assert_eq!(
            weeks.starts,
            vec![day("2026-11-16"), day("2026-11-23"), day("2026-11-30")]
        );
        let at = |s| weeks.index(day(s));
        assert_eq!(
            [
                at("2026-11-18"),
                at("2026-11-22"),
                at("2026-11-23"),
                at("2026-12-01")
            ],
            [0, 0, 1, 2]
        );
        let months = period_table(w, Interval::Month);
        assert_eq!((months.len(), months.index(day("2026-11-30"))), (2, 0));
        assert_eq!(months.index(day("2026-12-01")), 1);
    }

    #[test]
    fn window_rows_keep_the_window() {
        let row = |d| Row {
            day: day(d),
            payee: 0,
            token: 0,
            facilitator: 0,
            class: 0,
            source: 0,
        };
        let rows = [
            row("2026-11-01"),
            row("2026-11-05"),
            row("2026-11-05"),
            row("2026-11-09"),
        ];
        let days: Vec<Day> = window_rows(&rows, day("2026-11-02"), day("2026-11-05"))
            .map(|r| r.day)
            .collect();
        assert_eq!(days, vec![day("2026-11-05"), day("2026-11-05")]);
        assert_eq!(
            window_rows(&rows, day("2026-11-10"), day("2026-11-30")).count(),
            0
        );
    }
}
