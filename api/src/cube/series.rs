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
        let (payers, active) = self.period_payers(w, f, iv, activity_classes);
        SeriesRows {
            classes: self.period_class_rows(w, f, iv, p),
            payers,
            active,
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

    /// Distinct payers and entities per period (all classes in scope), and active and new
    /// payers of the activity classes per period, in one pass over each payer's rows.
    ///
    /// Payers without a row in the window are skipped after two comparisons; the rows before
    /// the window are read only until the first one of the activity classes (the payer's first
    /// period). An entity with one wallet counts when its payer does; the payers of entities
    /// with several wallets are read entity after entity, so a mark per period counts each
    /// entity once.
    fn period_payers(
        &self,
        w: Window,
        f: &Filters,
        iv: Interval,
        activity_classes: &[String],
    ) -> (Vec<PeriodCount>, Vec<PeriodActive>) {
        let want = Want::new(&self.dicts, f, f.class_names().as_deref());
        let act = Want::new(&self.dicts, f, Some(activity_classes));
        if want.empty {
            return (Vec::new(), Vec::new());
        }
        let periods = period_table(w, iv);
        let pass = PeriodPass {
            want: want.classes,
            act: act.classes,
            from: day_of(w.from),
            to: day_of(w.to),
            periods: &periods,
        };
        // Two copies of the pass: without a filter on the other dimensions the row test is
        // skipped altogether.
        let c = if want.filters_dims() {
            self.period_pass(&pass, |r| want.dims_but_class(r))
        } else {
            self.period_pass(&pass, |_| true)
        };
        let counts = (0..periods.len())
            .filter(|&k| c.payers[k] > 0)
            .map(|k| (date_of(periods.starts[k]), c.payers[k], c.entities[k]))
            .collect();
        let activity = (0..periods.len())
            .filter(|&k| c.active[k] > 0)
            .map(|k| (date_of(periods.starts[k]), c.active[k], c.new[k]))
            .collect();
        (counts, activity)
    }

    /// [`Snapshot::period_payers`]' counts over every payer, with rows passing `dims`.
    #[inline(always)]
    fn period_pass(&self, pass: &PeriodPass, dims: impl Fn(&Row) -> bool) -> PeriodCounts {
        let n = pass.periods.len();
        let mut c = PeriodCounts {
            payers: vec![0; n],
            entities: vec![0; n],
            active: vec![0; n],
            new: vec![0; n],
        };
        let mut wallets = vec![0u32; self.dicts.entities.len()];
        for e in self.entity.iter() {
            wallets[*e as usize] += 1;
        }
        let mut shared: Vec<u32> = Vec::new();
        for pid in 0..self.payers.len() {
            let entity = self.entity[pid];
            if wallets[entity as usize] > 1 {
                shared.push(pid as u32);
                continue;
            }
            if let Some((before, rows, _)) = self.payers.around(pid, pass.from, pass.to) {
                pass.run(before, rows, &dims, &mut c, |c, k| c.entities[k] += 1);
            }
        }
        // The entity that last counted in each period.
        shared.sort_unstable_by_key(|p| self.entity[*p as usize]);
        let mut mark = vec![u32::MAX; n];
        for pid in shared {
            let entity = self.entity[pid as usize];
            if let Some((before, rows, _)) = self.payers.around(pid as usize, pass.from, pass.to) {
                pass.run(before, rows, &dims, &mut c, |c, k| {
                    if mark[k] != entity {
                        mark[k] = entity;
                        c.entities[k] += 1;
                    }
                });
            }
        }
        c
    }
}

/// Per-period counts of a series' payers.
struct PeriodCounts {
    payers: Vec<i64>,
    entities: Vec<i64>,
    active: Vec<i64>,
    new: Vec<i64>,
}

/// What the pass over each payer's rows needs from a series request.
struct PeriodPass<'a> {
    /// Bits of the class filter and of the activity classes.
    want: u16,
    act: u16,
    /// The window.
    from: Day,
    to: Day,
    periods: &'a Periods,
}

impl PeriodPass<'_> {
    /// Counts one payer from its rows `before` the window and from the window's start on, with
    /// rows passing `dims`: in `payers` once per period with rows of the class filter (calling
    /// `entity` for that period too), in `active` once per period with rows of the activity
    /// classes, and in `new` in the period of its first payment of those.
    #[inline(always)]
    fn run(
        &self,
        before: &[Row],
        rows: &[Row],
        dims: &impl Fn(&Row) -> bool,
        c: &mut PeriodCounts,
        mut entity: impl FnMut(&mut PeriodCounts, usize),
    ) {
        // Before the window, the first payment's period can only be the window's first one
        // (which may start before the window).
        let mut first: Option<u32> = before
            .iter()
            .find(|r| self.act & (1 << r.class) != 0 && dims(r))
            .map(|r| {
                if r.day >= self.periods.starts[0] {
                    0
                } else {
                    u32::MAX
                }
            });
        let (mut last, mut last_act) = (u32::MAX, u32::MAX);
        for r in rows {
            if r.day > self.to {
                break;
            }
            if !dims(r) {
                continue;
            }
            let bit = 1u16 << r.class;
            if (self.want | self.act) & bit == 0 {
                continue;
            }
            let k = self.periods.index(r.day);
            if self.want & bit != 0 && k != last {
                c.payers[k as usize] += 1;
                entity(c, k as usize);
                last = k;
            }
            if self.act & bit != 0 && k != last_act {
                c.active[k as usize] += 1;
                if *first.get_or_insert(k) == k {
                    c.new[k as usize] += 1;
                }
                last_act = k;
            }
        }
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
}
