//! Applying an incremental refresh ([`Changes`]) to a snapshot, so the in-memory model follows
//! the SQL one at the cost of what changed: the touched cells and payer-days take the values the
//! SQL model now holds (their coarse sums move by the difference), the amount histograms move by
//! the payments that left or entered, and reclassified payers take their new entity. Days the
//! refresh did not touch stay shared with the previous snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use alloy_primitives::U256;
use bigdecimal::{BigDecimal, Zero};

use super::load::u256;
use super::value::u256_f64;
use super::{
    class_index, day_of, source_index, Bin, Cell, Day, DayData, Dict, Dicts, PayerRows, Row,
    Snapshot, ANY_PAYEE,
};
use crate::rollup::Changes;

/// The dimensions of a cell, a bin (without its amount) or a payer-day row (without its payer
/// and day): payee, token, facilitator, class, source.
type Dims = (u32, u32, u32, u8, u8);

fn row_dims(r: &Row) -> Dims {
    (r.payee, r.token, r.facilitator, r.class, r.source)
}

fn cell_dims(c: &Cell) -> Dims {
    (c.payee, c.token, c.facilitator, c.class, c.source)
}

/// Which dictionary a key belongs to.
#[derive(Clone, Copy)]
enum Kind {
    Payer,
    Payee,
    Token,
    Facilitator,
    Entity,
}

fn dict(d: &Dicts, k: Kind) -> &Dict {
    match k {
        Kind::Payer => &d.payers,
        Kind::Payee => &d.payees,
        Kind::Token => &d.tokens,
        Kind::Facilitator => &d.facilitators,
        Kind::Entity => &d.entities,
    }
}

fn dict_mut(d: &mut Dicts, k: Kind) -> &mut Dict {
    match k {
        Kind::Payer => &mut d.payers,
        Kind::Payee => &mut d.payees,
        Kind::Token => &mut d.tokens,
        Kind::Facilitator => &mut d.facilitators,
        Kind::Entity => &mut d.entities,
    }
}

/// The id of `key`, interning it when new. The dictionaries are copied (from the snapshot still
/// being read) only when a refresh brings a key they do not have.
fn intern(dicts: &mut Arc<Dicts>, kind: Kind, key: &[u8]) -> u32 {
    match dict(dicts, kind).get(key) {
        Some(id) => id,
        None => dict_mut(Arc::make_mut(dicts), kind).id(key),
    }
}

/// Class and source indexes of a row, None for values this build does not know (skipped, as the
/// loader skips them).
fn class_source(class: &str, source: &str) -> Option<(u8, u8)> {
    Some((class_index(class)?, source_index(source)?))
}

/// The entity key of a payer that no verdict ties to others: its own address.
fn own_entity(payer: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(payer))
}

fn decimal(s: &str) -> Result<BigDecimal, sqlx::Error> {
    BigDecimal::from_str(s).map_err(|e| sqlx::Error::Decode(format!("decimal `{s}`: {e}").into()))
}

/// `a - b + c` on an optional (None: zero) exact decimal, None when the result is zero.
fn moved(
    a: Option<BigDecimal>,
    b: Option<&BigDecimal>,
    c: Option<&BigDecimal>,
) -> Option<BigDecimal> {
    let mut v = a.unwrap_or_default();
    if let Some(b) = b {
        v -= b;
    }
    if let Some(c) = c {
        v += c;
    }
    (!v.is_zero()).then_some(v)
}

/// One day's changes, in dictionary ids.
#[derive(Default)]
struct DayChanges {
    /// New value of each touched cell (payments 0: gone).
    cells: Vec<(Dims, i64, U256, Option<BigDecimal>)>,
    /// Payments per (dims, amount) entering (+) and leaving (-).
    bins: HashMap<(Dims, U256), i64>,
    /// Payers whose rows on this day changed.
    payers: BTreeSet<u32>,
}

impl Snapshot {
    /// This snapshot with `changes` applied.
    pub(super) fn apply(mut self, changes: &Changes) -> Result<Self, sqlx::Error> {
        let mut by_day: BTreeMap<Day, DayChanges> = BTreeMap::new();
        for c in &changes.cells {
            let Some((class, source)) = class_source(&c.class, &c.source) else {
                continue;
            };
            let dims = (
                intern(&mut self.dicts, Kind::Payee, &c.payee),
                intern(&mut self.dicts, Kind::Token, &c.token),
                intern(&mut self.dicts, Kind::Facilitator, &c.facilitator),
                class,
                source,
            );
            let taint = decimal(&c.taint)?;
            by_day.entry(day_of(c.day)).or_default().cells.push((
                dims,
                c.payments,
                u256(&c.volume)?,
                (!taint.is_zero()).then_some(taint),
            ));
        }
        for f in &changes.facts {
            let Some((class, source)) = class_source(&f.class, &f.source) else {
                continue;
            };
            let dims = (
                intern(&mut self.dicts, Kind::Payee, &f.payee),
                intern(&mut self.dicts, Kind::Token, &f.token),
                intern(&mut self.dicts, Kind::Facilitator, &f.facilitator),
                class,
                source,
            );
            *by_day
                .entry(day_of(f.day))
                .or_default()
                .bins
                .entry((dims, u256(&f.amount)?))
                .or_default() += i64::from(f.sign);
        }
        // Payer-days, by payer: the new value of each touched row (None: gone).
        let mut by_payer: BTreeMap<u32, Vec<(Row, Option<f64>)>> = BTreeMap::new();
        for r in &changes.payer_days {
            let Some((class, source)) = class_source(&r.class, &r.source) else {
                continue;
            };
            let payer = intern(&mut self.dicts, Kind::Payer, &r.payer);
            let row = Row {
                day: day_of(r.day),
                payee: intern(&mut self.dicts, Kind::Payee, &r.payee),
                token: intern(&mut self.dicts, Kind::Token, &r.token),
                facilitator: intern(&mut self.dicts, Kind::Facilitator, &r.facilitator),
                class,
                source,
            };
            let volume = (r.payments > 0)
                .then(|| u256(&r.volume).map(u256_f64))
                .transpose()?;
            by_payer.entry(payer).or_default().push((row, volume));
            by_day.entry(row.day).or_default().payers.insert(payer);
        }
        // Entities of payers new to the model (their own until a verdict says otherwise), then of
        // the payers the refresh names.
        let known = self.entity.len();
        if self.dicts.payers.len() > known || !changes.entities.is_empty() {
            let mut entity = (*self.entity).clone();
            for p in known..self.dicts.payers.len() {
                let own = own_entity(self.dicts.payers.key(p as u32));
                entity.push(intern(&mut self.dicts, Kind::Entity, own.as_bytes()));
            }
            for (payer, e) in &changes.entities {
                let Some(p) = self.dicts.payers.get(payer) else {
                    continue;
                };
                let key = e.clone().unwrap_or_else(|| own_entity(payer));
                entity[p as usize] = intern(&mut self.dicts, Kind::Entity, key.as_bytes());
            }
            self.entity = Arc::new(entity);
        }
        let present = self.apply_payer_rows(by_payer);
        for (day, ch) in by_day {
            let data = Arc::make_mut(self.days.entry(day).or_default());
            apply_cells(data, ch.cells);
            apply_bins(data, ch.bins);
            for p in ch.payers {
                let here = present.contains(&(day, p));
                match (data.payers.binary_search(&p), here) {
                    (Err(i), true) => data.payers.insert(i, p),
                    (Ok(i), false) => {
                        data.payers.remove(i);
                    }
                    _ => {}
                }
            }
            if data.cells.is_empty() && data.bins.is_empty() && data.payers.is_empty() {
                self.days.remove(&day);
            }
        }
        Ok(self)
    }

    /// Rewrites the rows of the touched payers (untouched payers' rows are copied as they are);
    /// returns the (day, payer) pairs of touched payers that still have rows on the day.
    fn apply_payer_rows(
        &mut self,
        by_payer: BTreeMap<u32, Vec<(Row, Option<f64>)>>,
    ) -> BTreeSet<(Day, u32)> {
        let mut present = BTreeSet::new();
        if by_payer.is_empty() {
            return present;
        }
        let old = &self.payers;
        let n = self.dicts.payers.len();
        let added = by_payer.values().map(Vec::len).sum::<usize>();
        let mut next = PayerRows {
            start: Vec::with_capacity(n + 1),
            rows: Vec::with_capacity(old.rows.len() + added),
            volumes: Vec::with_capacity(old.rows.len() + added),
        };
        next.start.push(0);
        let mut touched = by_payer.into_iter().peekable();
        for p in 0..n {
            let (rows, volumes) = old.of(p);
            match touched.next_if(|(t, _)| *t as usize == p) {
                None => {
                    next.rows.extend_from_slice(rows);
                    next.volumes.extend_from_slice(volumes);
                }
                Some((_, changed)) => {
                    let replaced: BTreeSet<(Day, Dims)> =
                        changed.iter().map(|(r, _)| (r.day, row_dims(r))).collect();
                    let mut merged: Vec<(Row, f64)> = rows
                        .iter()
                        .zip(volumes)
                        .filter(|(r, _)| !replaced.contains(&(r.day, row_dims(r))))
                        .map(|(r, v)| (*r, *v))
                        .collect();
                    merged.extend(changed.into_iter().filter_map(|(r, v)| Some((r, v?))));
                    merged.sort_by_key(|(r, _)| r.day);
                    for (r, v) in merged {
                        present.insert((r.day, p as u32));
                        next.rows.push(r);
                        next.volumes.push(v);
                    }
                }
            }
            next.start.push(next.rows.len() as u32);
        }
        self.payers = Arc::new(next);
        present
    }
}

/// Sets the touched cells of a day to their new values, moving the coarse cells (summed over
/// payees) by the difference.
fn apply_cells(data: &mut DayData, cells: Vec<(Dims, i64, U256, Option<BigDecimal>)>) {
    for (dims, payments, volume, taint) in cells {
        let at = data.cells.iter().position(|c| cell_dims(c) == dims);
        let old = at.map(|i| data.cells.swap_remove(i));
        let (payee, token, facilitator, class, source) = dims;
        let coarse_at = data.coarse.iter().position(|c| {
            (c.token, c.facilitator, c.class, c.source) == (token, facilitator, class, source)
        });
        let mut coarse = match coarse_at {
            Some(i) => data.coarse.swap_remove(i),
            None => Cell {
                payee: ANY_PAYEE,
                token,
                facilitator,
                class,
                source,
                payments: 0,
                volume: U256::ZERO,
                taint: None,
            },
        };
        coarse.payments += payments - old.as_ref().map_or(0, |c| c.payments);
        // Added before subtracted: the coarse sum holds the old cell, so nothing underflows.
        coarse.volume = coarse.volume + volume - old.as_ref().map_or(U256::ZERO, |c| c.volume);
        coarse.taint = moved(
            coarse.taint.take(),
            old.as_ref().and_then(|c| c.taint.as_ref()),
            taint.as_ref(),
        );
        if coarse.payments > 0 {
            data.coarse.push(coarse);
        }
        if payments > 0 {
            data.cells.push(Cell {
                payee,
                token,
                facilitator,
                class,
                source,
                payments,
                volume,
                taint,
            });
        }
    }
}

/// Moves a day's histograms (per cell and per coarse cell) by the payments that entered and left.
fn apply_bins(data: &mut DayData, bins: HashMap<(Dims, U256), i64>) {
    let mut coarse: HashMap<(Dims, U256), i64> = HashMap::new();
    for (((_, token, facilitator, class, source), amount), n) in &bins {
        *coarse
            .entry(((ANY_PAYEE, *token, *facilitator, *class, *source), *amount))
            .or_default() += n;
    }
    move_bins(&mut data.bins, bins);
    move_bins(&mut data.coarse_bins, coarse);
}

fn move_bins(bins: &mut Vec<Bin>, mut delta: HashMap<(Dims, U256), i64>) {
    delta.retain(|_, n| *n != 0);
    if delta.is_empty() {
        return;
    }
    for b in bins.iter_mut() {
        let key = (
            (b.payee, b.token, b.facilitator, b.class, b.source),
            b.amount,
        );
        if let Some(n) = delta.remove(&key) {
            b.payments += n;
        }
    }
    bins.retain(|b| b.payments != 0);
    for (((payee, token, facilitator, class, source), amount), payments) in delta {
        bins.push(Bin {
            payee,
            token,
            facilitator,
            class,
            source,
            amount,
            payments,
        });
    }
}
