//! The arithmetic from rows to documents, free of I/O: class totals and shares, organic demand,
//! activity means, payment sizes, series points and cohort cells. The concentration formulas
//! live in [`crate::stats`].

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::rows::{ActivityCounts, ClassTokenRow, CohortRow, SeriesRows, SummaryRows, Uniques};
use super::{
    Activity, ClassTotals, CohortCell, ConcentrationPair, Coverage, Interval, Organic, PaymentSize,
    PeriodClass, SeriesPoint, Summary, TokenPaymentSize, Totals, Window,
};
use crate::model::Class;
use crate::money::{dec, plain, Money, Pricing};
use crate::stats::{concentration, ratio};

/// Every class with zero volume and count (the `by_class` of an answer without data).
pub(super) fn zero_classes(p: &Pricing) -> BTreeMap<String, ClassTotals> {
    Class::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                ClassTotals {
                    volume: p.money([]),
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// The volume and the payment count of some class-and-token rows.
fn volume_and_count<'a>(
    p: &Pricing,
    rows: impl IntoIterator<Item = &'a ClassTokenRow>,
) -> (Money, i64) {
    let mut count = 0;
    let mut parts = Vec::new();
    for r in rows {
        count += r.count;
        parts.push(r.volume_part());
    }
    (p.money(parts), count)
}

/// Distinct payers and entities of one class (`None` = all classes in scope); 0 when absent.
fn uniques_of(uniques: &Uniques, class: Option<&str>) -> (i64, i64) {
    uniques
        .iter()
        .find(|(k, _, _)| k.as_deref() == class)
        .map(|u| (u.1, u.2))
        .unwrap_or((0, 0))
}

/// The activity figures from their counts.
pub(super) fn activity(w: Window, classes: Vec<String>, c: ActivityCounts) -> Activity {
    let weeks = Interval::Week.periods(w).len() as f64;
    let months = Interval::Month.periods(w).len() as f64;
    let dap = ratio(c.payer_days as f64, w.days() as f64);
    let map = ratio(c.payer_months as f64, months);
    Activity {
        classes,
        payers: c.payers,
        entities: c.entities,
        dap_mean: dap,
        wap_mean: ratio(c.payer_weeks as f64, weeks),
        map_mean: map,
        stickiness: ratio(dap, map),
        new_payers: c.new,
        returning_payers: c.payers - c.new,
        repeat_payers: c.repeat,
        repeat_rate: ratio(c.repeat as f64, c.payers as f64),
        payees_per_payer: ratio(c.pairs as f64, c.payers as f64),
    }
}

/// The summary of window `w` from its rows; `coverage` carries the versions, its shares are
/// filled in here.
pub(super) fn summary(
    w: Window,
    p: &Pricing,
    activity_classes: Vec<String>,
    rows: SummaryRows,
    mut coverage: Coverage,
) -> Summary {
    let SummaryRows {
        classes: rows,
        uniques,
        activity: counts,
        payer_volumes,
        payee_volumes,
        sizes,
    } = rows;
    let (gross_money, gross_count) = volume_and_count(p, &rows);
    let mut by_class = zero_classes(p);
    for (name, totals) in by_class.iter_mut() {
        let (volume, count) = volume_and_count(p, rows.iter().filter(|r| &r.class == name));
        let (uniq, ents) = uniques_of(&uniques, Some(name.as_str()));
        *totals = ClassTotals {
            volume_share: p.share(&volume, &gross_money),
            volume,
            count,
            count_share: ratio(count as f64, gross_count as f64),
            unique_payers: uniq,
            unique_entities: ents,
        };
    }
    let class = |c: Class| by_class.get(c.as_str()).cloned().unwrap_or_default();
    let (ext, unattributed, unclassified) = (
        class(Class::External),
        class(Class::Unattributed),
        class(Class::Unclassified),
    );
    coverage.unattributed_volume_share = unattributed.volume_share;
    coverage.unattributed_count_share = unattributed.count_share;
    coverage.unclassified_count = unclassified.count;
    coverage.unclassified_volume_share = unclassified.volume_share;
    // The rollup stores taint-adjusted volume only for external and project-funded payments.
    let taint = p.money(rows.iter().map(ClassTokenRow::taint_part));
    let (all_payers, all_entities) = uniques_of(&uniques, None);
    let by_token = sizes
        .into_iter()
        .map(|s| {
            let (token, symbol, decimals) = p.token_meta(&s.token);
            TokenPaymentSize {
                token,
                symbol,
                decimals,
                ..s.size
            }
        })
        .collect();
    // Mean USD payment over the payments in priced tokens.
    let priced_count: i64 = rows
        .iter()
        .filter(|r| p.is_priced(&r.token))
        .map(|r| r.count)
        .sum();
    let average_usd = dec(gross_money.usd.as_deref()).map(|u| {
        if priced_count == 0 {
            "0".to_string()
        } else {
            plain(&(u / bigdecimal::BigDecimal::from(priced_count)).round(6))
        }
    });
    Summary {
        window: Some(w),
        unit: p.unit(),
        prices: p.note(),
        gross: Totals {
            volume: gross_money,
            count: gross_count,
        },
        organic: Organic {
            volume: ext.volume.clone(),
            count: ext.count,
            volume_share: ext.volume_share,
            count_share: ext.count_share,
            taint_adjusted_volume: taint,
        },
        by_class,
        unique_payers: all_payers,
        unique_entities: all_entities,
        payer_activity: activity(w, activity_classes, counts),
        payment_size: PaymentSize {
            average_usd,
            by_token,
        },
        concentration: ConcentrationPair {
            unit: p.unit(),
            payers: concentration(&payer_volumes),
            payees: concentration(&payee_volumes),
        },
        coverage,
    }
}

/// One point per period of `w`, oldest first, periods without payments included.
pub(super) fn series_points(
    w: Window,
    iv: Interval,
    p: &Pricing,
    source: &SeriesRows,
) -> Vec<SeriesPoint> {
    let mut points = Vec::new();
    for period in iv.periods(w) {
        let rows: Vec<&ClassTokenRow> = source
            .classes
            .iter()
            .filter(|r| r.period == period)
            .map(|r| &r.totals)
            .collect();
        let (gross, gross_count) = volume_and_count(p, rows.iter().copied());
        let by_class: BTreeMap<String, PeriodClass> = Class::ALL
            .iter()
            .map(|c| {
                let mine = rows.iter().copied().filter(|r| r.class == c.as_str());
                let (volume, count) = volume_and_count(p, mine);
                (c.as_str().to_string(), PeriodClass { volume, count })
            })
            .collect();
        let taint = p.money(rows.iter().map(|r| r.taint_part()));
        let ext = by_class
            .get(Class::External.as_str())
            .cloned()
            .unwrap_or_default();
        let (active, new) = of_period(&source.active, period);
        let (uniq, ents) = of_period(&source.payers, period);
        points.push(SeriesPoint {
            period,
            organic_share_volume: p.share(&ext.volume, &gross),
            gross_volume: gross,
            gross_count,
            organic_volume: ext.volume,
            organic_count: ext.count,
            organic_share_count: ratio(ext.count as f64, gross_count as f64),
            taint_adjusted_organic_volume: taint,
            unique_payers: uniq,
            unique_entities: ents,
            active_payers: active,
            new_payers: new,
            returning_payers: active - new,
            by_class,
        });
    }
    points
}

/// The cohort cells of window `w`: for each cohort (row 0 of its first week), one cell per week
/// offset up to `weeks` that the window's end already reaches. Revenue only with a token filter
/// (`per_token`): raw units of tokens with different decimals do not add up.
pub(super) fn cohort_cells(
    w: Window,
    weeks: i64,
    per_token: bool,
    rows: &[CohortRow],
) -> Vec<CohortCell> {
    let last_week = Interval::Week.start(w.to);
    let mut cells = Vec::new();
    for cohort in rows.iter().filter(|r| r.1 == 0) {
        let (start, size, rev0) = (cohort.0, cohort.2, cohort.4);
        for k in 0..=weeks {
            let week_start = start + Days::new(7 * k as u64);
            if week_start > last_week {
                break;
            }
            let hit = rows.iter().find(|r| r.0 == start && r.1 == k);
            cells.push(CohortCell {
                cohort: start,
                cohort_size: size,
                week: k,
                active_payers: hit.map(|h| h.2).unwrap_or(0),
                retention: ratio(hit.map(|h| h.2).unwrap_or(0) as f64, size as f64),
                revenue: per_token.then(|| hit.map(|h| h.3.clone()).unwrap_or_else(|| "0".into())),
                revenue_retention: per_token.then(|| ratio(hit.map(|h| h.4).unwrap_or(0.0), rev0)),
            });
        }
    }
    cells
}

/// The (second, third) figures of the row of `period` in a per-period table; zeros when the
/// period has none.
fn of_period(rows: &[(NaiveDate, i64, i64)], period: NaiveDate) -> (i64, i64) {
    rows.iter()
        .find(|r| r.0 == period)
        .map(|r| (r.1, r.2))
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;

    use super::*;
    use crate::metrics::rows::{PeriodClassRow, SizeRow};
    use crate::prices::PriceBook;
    use crate::state::TokenMeta;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// USDC (a stablecoin, priced at par) and OPG (unpriced), no token filter.
    fn usd_pricing() -> (Pricing, Vec<u8>, Vec<u8>) {
        let tokens = [
            TokenMeta {
                address: Address::with_last_byte(1),
                symbol: Some("USDC".into()),
                decimals: Some(6),
                stablecoin: true,
            },
            TokenMeta {
                address: Address::with_last_byte(2),
                symbol: Some("OPG".into()),
                decimals: Some(18),
                stablecoin: false,
            },
        ];
        let book = PriceBook::build(&tokens, None, &[]).unwrap();
        let known = [tokens[0].address, tokens[1].address];
        let p = Pricing::new(&book, &tokens, &known, None, None);
        (p, known[0].to_vec(), known[1].to_vec())
    }

    fn row(
        class: Class,
        token: &[u8],
        count: i64,
        volume: &str,
        usd: Option<&str>,
    ) -> ClassTokenRow {
        ClassTokenRow {
            class: class.as_str().into(),
            token: token.to_vec(),
            count,
            volume: volume.into(),
            usd: usd.map(Into::into),
            taint: "0".into(),
            taint_usd: usd.map(|_| "0".into()),
        }
    }

    #[test]
    fn activity_means_and_rates() {
        // 14 days touching 3 ISO weeks and 2 months.
        let w = Window {
            from: d("2026-11-18"),
            to: d("2026-12-01"),
        };
        let counts = ActivityCounts {
            payer_days: 28,
            payer_weeks: 9,
            payer_months: 4,
            payers: 5,
            repeat: 2,
            pairs: 8,
            new: 3,
            entities: 4,
        };
        let a = activity(w, vec!["external".into()], counts);
        close(a.dap_mean, 2.0); // 28 / 14
        close(a.wap_mean, 3.0); // 9 / 3
        close(a.map_mean, 2.0); // 4 / 2
        close(a.stickiness, 1.0); // 2 / 2
        close(a.repeat_rate, 0.4); // 2 / 5
        close(a.payees_per_payer, 1.6); // 8 / 5
        assert_eq!((a.payers, a.entities), (5, 4));
        assert_eq!(
            (a.new_payers, a.returning_payers, a.repeat_payers),
            (3, 2, 2)
        );
        // No payer: every rate is 0, not NaN.
        let none = activity(w, vec![], ActivityCounts::default());
        assert_eq!((none.stickiness, none.repeat_rate), (0.0, 0.0));
    }

    #[test]
    fn summary_shares_organic_sizes_and_concentration() {
        let (p, usdc, opg) = usd_pricing();
        let w = Window {
            from: d("2026-11-01"),
            to: d("2026-11-07"),
        };
        let mut ext = row(Class::External, &usdc, 3, "3000000", Some("3"));
        (ext.taint, ext.taint_usd) = ("1500000".into(), Some("1.5".into()));
        let rows = SummaryRows {
            classes: vec![
                ext,
                row(Class::Internal, &usdc, 1, "1000000", Some("1")),
                row(Class::External, &opg, 4, "1000000000000000000", None),
                row(Class::Unattributed, &usdc, 2, "4000000", Some("4")),
            ],
            uniques: vec![(Some("external".into()), 3, 2), (None, 5, 4)],
            activity: ActivityCounts::default(),
            payer_volumes: vec![3.0, 1.0],
            payee_volumes: vec![],
            sizes: vec![SizeRow::new(
                usdc.clone(),
                6,
                "1333333.333333".into(),
                "1000000".into(),
            )],
        };
        let s = summary(w, &p, vec!["external".into()], rows, Coverage::default());
        // Gross: USD over USDC only (OPG is unpriced), payments of both.
        assert_eq!(s.gross.volume.usd.as_deref(), Some("8"));
        assert_eq!(s.gross.count, 10);
        // External: 3 of 8 USD, 7 of 10 payments; its OPG stays in raw units.
        close(s.organic.volume_share.unwrap(), 0.375);
        close(s.organic.count_share, 0.7);
        assert_eq!(s.organic.volume.tokens[1].raw, "1000000000000000000");
        assert_eq!(s.organic.taint_adjusted_volume.usd.as_deref(), Some("1.5"));
        // Every class is present; absent ones are zero.
        assert_eq!(s.by_class.len(), Class::ALL.len());
        let unclassified = &s.by_class[Class::Unclassified.as_str()];
        assert_eq!(
            (unclassified.count, unclassified.volume_share),
            (0, Some(0.0))
        );
        assert_eq!(s.by_class["external"].unique_payers, 3);
        assert_eq!(s.by_class["external"].unique_entities, 2);
        assert_eq!((s.unique_payers, s.unique_entities), (5, 4));
        // Coverage: unattributed is 4 of 8 USD and 2 of 10 payments.
        close(s.coverage.unattributed_volume_share.unwrap(), 0.5);
        close(s.coverage.unattributed_count_share, 0.2);
        // Mean USD payment: 8 USD over the 6 USDC payments.
        assert_eq!(s.payment_size.average_usd.as_deref(), Some("1.333333"));
        assert_eq!(s.payment_size.by_token[0].symbol.as_deref(), Some("USDC"));
        assert_eq!(s.payment_size.by_token[0].median, "1000000");
        // Payers 3 and 1: the largest holds 3/4.
        close(s.concentration.payers.top1_share, 0.75);
        assert_eq!(s.concentration.payees.holders, 0);
        assert_eq!(s.concentration.unit, "USD over the priced tokens");
    }

    #[test]
    fn series_points_cover_every_period() {
        let (p, usdc, _) = usd_pricing();
        let w = Window {
            from: d("2026-11-01"),
            to: d("2026-11-03"),
        };
        let at = |day: &str, r: ClassTokenRow| PeriodClassRow {
            period: d(day),
            totals: r,
        };
        let rows = SeriesRows {
            classes: vec![
                at(
                    "2026-11-01",
                    row(Class::External, &usdc, 1, "1000000", Some("1")),
                ),
                at(
                    "2026-11-01",
                    row(Class::Internal, &usdc, 3, "3000000", Some("3")),
                ),
                at(
                    "2026-11-03",
                    row(Class::External, &usdc, 2, "2000000", Some("2")),
                ),
            ],
            payers: vec![(d("2026-11-01"), 2, 1), (d("2026-11-03"), 1, 1)],
            active: vec![(d("2026-11-01"), 1, 1), (d("2026-11-03"), 2, 1)],
        };
        let points = series_points(w, Interval::Day, &p, &rows);
        assert_eq!(points.len(), 3);
        let (first, empty, last) = (&points[0], &points[1], &points[2]);
        assert_eq!(first.gross_volume.usd.as_deref(), Some("4"));
        close(first.organic_share_volume.unwrap(), 0.25);
        close(first.organic_share_count, 0.25);
        assert_eq!((first.unique_payers, first.unique_entities), (2, 1));
        assert_eq!(first.by_class["internal"].count, 3);
        // A day without payments is a point of zeros.
        assert_eq!(
            (empty.gross_count, empty.active_payers, empty.unique_payers),
            (0, 0, 0)
        );
        assert_eq!(empty.organic_share_count, 0.0);
        // Returning = active - new.
        assert_eq!(
            (last.active_payers, last.new_payers, last.returning_payers),
            (2, 1, 1)
        );
        close(last.organic_share_count, 1.0);
    }

    #[test]
    fn cohort_cells_stop_at_the_window_end() {
        // The window ends on Wednesday 2026-11-18: its last week starts on Monday 2026-11-16.
        let w = Window {
            from: d("2026-11-02"),
            to: d("2026-11-18"),
        };
        let rows: Vec<CohortRow> = vec![
            (d("2026-11-02"), 0, 4, "100".into(), 100.0),
            (d("2026-11-02"), 1, 2, "50".into(), 50.0),
            (d("2026-11-09"), 0, 2, "10".into(), 10.0),
            (d("2026-11-09"), 1, 1, "30".into(), 30.0),
        ];
        let cells = cohort_cells(w, 3, true, &rows);
        let got: Vec<_> = cells
            .iter()
            .map(|c| {
                (
                    c.cohort,
                    c.week,
                    c.active_payers,
                    c.retention,
                    c.revenue.as_deref(),
                    c.revenue_retention,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (d("2026-11-02"), 0, 4, 1.0, Some("100"), Some(1.0)),
                (d("2026-11-02"), 1, 2, 0.5, Some("50"), Some(0.5)),
                // Week 2 is observable but nobody paid: zeros, not a missing cell.
                (d("2026-11-02"), 2, 0, 0.0, Some("0"), Some(0.0)),
                (d("2026-11-09"), 0, 2, 1.0, Some("10"), Some(1.0)),
                (d("2026-11-09"), 1, 1, 0.5, Some("30"), Some(3.0)),
            ]
        );
        assert_eq!(cells[0].cohort_size, 4);
        // Without a token filter revenue is null.
        let cross = cohort_cells(w, 3, false, &rows);
        assert_eq!(cross.len(), 5);
        assert!(cross
            .iter()
            .all(|c| c.revenue.is_none() && c.revenue_retention.is_none()));
    }
}
