//! Per-request lookup tables over the days of a window, so the passes over payer rows need no
//! date arithmetic and no price-segment search per row: the ISO week and the month each day
//! falls in, and each token's value per raw unit on each day.

use super::value::Prices;
use super::{start_of, Day};
use crate::metrics::Interval;

/// Week and month starts and token prices for the days `from..=to` (a window clipped to the
/// snapshot's days). Days outside fall back to computing the answer, so lookups are always
/// exact; the tables only make the common case cheap.
pub(super) struct Calendar<'a> {
    from: Day,
    to: Day,
    week: Vec<Day>,
    month: Vec<Day>,
    /// `price[token * len + (day - from)]`: what one raw unit of `token` counts on that day
    /// (1 when volumes stay in raw units of the token filter, 0 when unpriced).
    price: Vec<f64>,
    prices: &'a Prices,
}

impl<'a> Calendar<'a> {
    /// Tables for the days `from..=to` (none when the span is empty).
    pub(super) fn new(from: Day, to: Day, prices: &'a Prices) -> Self {
        let days: Vec<Day> = if from <= to {
            (from..=to).collect()
        } else {
            Vec::new()
        };
        let week = days.iter().map(|d| start_of(Interval::Week, *d)).collect();
        let month = days.iter().map(|d| start_of(Interval::Month, *d)).collect();
        let price = (0..prices.tokens())
            .flat_map(|t| days.iter().map(move |d| prices.unit_value(t, *d)))
            .collect();
        Self {
            from,
            to,
            week,
            month,
            price,
            prices,
        }
    }

    #[inline]
    fn at(&self, d: Day) -> Option<usize> {
        (self.from <= d && d <= self.to).then(|| (d - self.from) as usize)
    }

    /// First day of the ISO week holding `d`.
    #[inline]
    pub(super) fn week(&self, d: Day) -> Day {
        match self.at(d) {
            Some(i) => self.week[i],
            None => start_of(Interval::Week, d),
        }
    }

    /// First day of the month holding `d`.
    #[inline]
    pub(super) fn month(&self, d: Day) -> Day {
        match self.at(d) {
            Some(i) => self.month[i],
            None => start_of(Interval::Month, d),
        }
    }

    /// `raw` units of `token` on day `d` in the request's unit (`raw` times [`Prices::unit_value`]).
    #[inline]
    pub(super) fn value(&self, token: u32, d: Day, raw: f64) -> f64 {
        let len = self.week.len();
        match self.at(d) {
            Some(i) if (token as usize) < self.prices.tokens() as usize => {
                raw * self.price[token as usize * len + i]
            }
            _ => raw * self.prices.unit_value(token, d),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::cube::day_of;

    fn day(s: &str) -> Day {
        day_of(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn tables_agree_with_the_dates_inside_and_outside_the_span() {
        let prices = Prices::from_segments(vec![vec![]], false);
        let cal = Calendar::new(day("2026-11-20"), day("2026-12-10"), &prices);
        // Every day from before the span to after it: inside from the tables, outside computed.
        for d in day("2026-11-01")..=day("2026-12-31") {
            assert_eq!(cal.week(d), start_of(Interval::Week, d), "week of {d}");
            assert_eq!(cal.month(d), start_of(Interval::Month, d), "month of {d}");
        }
        // Sunday 2026-12-06 is in the ISO week of Monday 2026-11-30.
        assert_eq!(cal.week(day("2026-12-06")), day("2026-11-30"));
        assert_eq!(cal.month(day("2026-12-06")), day("2026-12-01"));
    }

    #[test]
    fn values_use_the_first_segment_holding_the_day() {
        // Token 0: 2.0 from 11-20 to 11-24, then 0.5 (an overlapping later segment loses);
        // token 1: never priced.
        let segments = vec![
            vec![
                (day("2026-11-20"), day("2026-11-25"), 2.0),
                (day("2026-11-22"), day("2026-12-31"), 0.5),
            ],
            vec![],
        ];
        let prices = Prices::from_segments(segments.clone(), false);
        let cal = Calendar::new(day("2026-11-21"), day("2026-11-30"), &prices);
        for d in day("2026-11-15")..=day("2026-12-05") {
            for t in 0..2 {
                assert_eq!(
                    cal.value(t, d, 3.0),
                    3.0 * prices.unit_value(t, d),
                    "token {t} on {d}"
                );
            }
        }
        assert_eq!(cal.value(0, day("2026-11-24"), 3.0), 6.0);
        assert_eq!(cal.value(0, day("2026-11-25"), 3.0), 1.5);
        assert_eq!(cal.value(0, day("2026-11-19"), 3.0), 0.0);
        assert_eq!(cal.value(1, day("2026-11-24"), 3.0), 0.0);
        // An unknown token is unpriced; with a token filter volumes stay in raw units.
        assert_eq!(cal.value(7, day("2026-11-24"), 3.0), 0.0);
        let raw = Prices::from_segments(segments, true);
        let cal = Calendar::new(day("2026-11-21"), day("2026-11-30"), &raw);
        assert_eq!(cal.value(1, day("2026-11-24"), 3.0), 3.0);
        assert_eq!(cal.value(0, day("2026-12-24"), 3.0), 3.0);
    }

    #[test]
    fn an_empty_span_computes_everything() {
        let prices = Prices::from_segments(
            vec![vec![(day("2026-11-01"), day("2026-12-01"), 4.0)]],
            false,
        );
        let cal = Calendar::new(day("2026-11-10"), day("2026-11-09"), &prices);
        assert_eq!(cal.week(day("2026-11-10")), day("2026-11-09"));
        assert_eq!(cal.value(0, day("2026-11-10"), 2.0), 8.0);
    }
}
