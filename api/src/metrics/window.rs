//! The calendar of an answer: its window of whole UTC days and the periods (day, ISO week,
//! month) a series or an activity count divides it into.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::params::Filters;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_cover_window() {
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

    #[test]
    fn period_starts_and_ends() {
        // 2026-12-06 is a Sunday: its ISO week starts on Monday 2026-11-30.
        assert_eq!(Interval::Week.start(d("2026-12-06")), d("2026-11-30"));
        assert_eq!(Interval::Week.start(d("2026-11-30")), d("2026-11-30"));
        assert_eq!(Interval::Month.start(d("2026-02-28")), d("2026-02-01"));
        assert_eq!(Interval::Day.start(d("2026-02-28")), d("2026-02-28"));
        // A month after January 31st's month start is February 1st, not March 3rd.
        assert_eq!(Interval::Month.next(d("2026-01-01")), d("2026-02-01"));
        assert_eq!(Interval::Week.next(d("2026-12-28")), d("2027-01-04"));
        assert_eq!(Interval::Week.unit(), "week");
    }

    #[test]
    fn resolve_takes_missing_ends_from_the_data() {
        let bounds = Some((d("2026-11-01"), d("2026-11-30")));
        let only_from = Filters {
            from: Some(d("2026-11-10")),
            ..Default::default()
        };
        assert_eq!(
            Window::resolve(&only_from, bounds),
            Some(Window {
                from: d("2026-11-10"),
                to: d("2026-11-30")
            })
        );
        // A start after the data's last day: one empty day, not an inverted window.
        let beyond = Filters {
            from: Some(d("2026-12-15")),
            ..Default::default()
        };
        let w = Window::resolve(&beyond, bounds).unwrap();
        assert_eq!(
            (w.from, w.to, w.days()),
            (d("2026-12-15"), d("2026-12-15"), 1)
        );
        // No data and no window given: nothing to resolve.
        assert_eq!(Window::resolve(&Filters::default(), None), None);
        assert_eq!(
            Window::resolve(&Filters::default(), bounds).unwrap().days(),
            30
        );
    }
}
