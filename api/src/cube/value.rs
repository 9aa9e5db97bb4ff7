//! Valuing the snapshot's volumes: exact sums per price segment, USD prices per token and day,
//! and the conversions of 256-bit amounts.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy_primitives::{Address, U256};
use bigdecimal::{BigDecimal, ToPrimitive};

use super::{day_of, Cell, Day, Dicts};
use crate::money::{plain, Pricing};

/// Sums of the cells of one row: payments, raw volume, taint-adjusted volume, and per price
/// segment of the token the raw and taint-adjusted volume (valued at that segment's price).
#[derive(Debug, Default)]
pub(super) struct CellTotals {
    pub(super) count: i64,
    pub(super) volume: U256,
    pub(super) taint: BigDecimal,
    segments: BTreeMap<usize, (U256, BigDecimal)>,
}

impl CellTotals {
    pub(super) fn add(&mut self, c: &Cell, segment: Option<usize>) {
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
    pub(super) fn usd(&self, prices: &Prices, token: u32) -> (Option<String>, Option<String>) {
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

/// USD per raw unit of each token id for each day, from a request's price segments, and the
/// request's unit.
pub(super) struct Prices {
    /// By token id: (first day, day after the last, USD per raw unit, as f64).
    segments: Vec<Vec<(Day, Day, BigDecimal, f64)>>,
    /// Volumes are valued in raw units of the token filter (no conversion).
    per_token: bool,
}

impl Prices {
    pub(super) fn new(d: &Dicts, p: &Pricing) -> Self {
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
        Self {
            segments,
            per_token: p.per_token(),
        }
    }

    /// Index of the segment pricing `token` on `day`.
    #[inline]
    pub(super) fn segment(&self, token: u32, day: Day) -> Option<usize> {
        self.segments
            .get(token as usize)?
            .iter()
            .position(|s| s.0 <= day && day < s.1)
    }

    /// Prices from segments given directly: by token id, (first day, day after the last, USD
    /// per raw unit).
    #[cfg(test)]
    pub(super) fn from_segments(segments: Vec<Vec<(Day, Day, f64)>>, per_token: bool) -> Self {
        let segments = segments
            .into_iter()
            .map(|s| {
                s.into_iter()
                    .map(|(a, b, usd)| (a, b, BigDecimal::try_from(usd).unwrap_or_default(), usd))
                    .collect()
            })
            .collect();
        Self {
            segments,
            per_token,
        }
    }

    /// Number of token ids priced (every token of the dictionary).
    pub(super) fn tokens(&self) -> u32 {
        self.segments.len() as u32
    }

    /// What one raw unit of `token` on `day` counts in the request's unit, as a float for
    /// concentration: 1 with a token filter (raw units), else its USD price (0 when the token
    /// has no price that day).
    #[inline]
    pub(super) fn unit_value(&self, token: u32, day: Day) -> f64 {
        if self.per_token {
            return 1.0;
        }
        match self.segment(token, day) {
            Some(s) => self.segments[token as usize][s].3,
            None => 0.0,
        }
    }
}

/// A 256-bit amount as an exact decimal.
pub(super) fn u256_dec(v: U256) -> BigDecimal {
    BigDecimal::from_str(&v.to_string()).unwrap_or_default()
}

/// A 256-bit amount as the nearest f64 (as Postgres' `numeric::float8`).
pub(super) fn u256_f64(v: U256) -> f64 {
    let limbs = v.as_limbs();
    limbs
        .iter()
        .rev()
        .fold(0.0, |acc, l| acc * 18_446_744_073_709_551_616.0 + *l as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u256_conversions() {
        assert_eq!(u256_f64(U256::ZERO), 0.0);
        assert_eq!(u256_f64(U256::from(1_500_000u64)), 1_500_000.0);
        // 3 * 2^64 + 2^20 spans two limbs and is exact in f64 (46 significant bits).
        let two_limbs = U256::from((3u128 << 64) | (1 << 20));
        assert_eq!(u256_f64(two_limbs), 55_340_232_221_129_703_424.0);
        // 10^30 (above u64) comes out as the nearest f64, as Postgres' cast gives it.
        assert_eq!(u256_f64(U256::from(10u128.pow(30))), 1e30);
        let big = U256::from(10u128.pow(30)) * U256::from(10u128.pow(30));
        assert_eq!(u256_dec(big).to_string(), format!("1{}", "0".repeat(60)));
    }
}
