//! Reading the read model's tables into a [`Snapshot`]: all days at start-up, or the days a
//! refresh rebuilt, merged into the previous snapshot.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use alloy_primitives::U256;
use bigdecimal::{BigDecimal, Zero};
use chrono::NaiveDate;
use sqlx::PgPool;

use super::value::u256_f64;
use super::{
    class_index, day_of, source_index, Bin, Cell, Day, DayData, PayerRows, Row, Snapshot, ANY_PAYEE,
};

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
pub(super) struct Loaded {
    rows: Vec<RowRec>,
    cells: Vec<CellRec>,
    bins: Vec<BinRec>,
    entities: Vec<(Vec<u8>, Option<String>)>,
}

/// The rows of one day-keyed table: `sql` binds $1 chain, $2 every day, $3 the days.
async fn of_days<T>(
    tx: &mut sqlx::PgConnection,
    sql: &'static str,
    chain: i64,
    all: bool,
    days: &[NaiveDate],
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(chain)
        .bind(all)
        .bind(days)
        .fetch_all(&mut *tx)
        .await
}

pub(super) async fn load(
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
    let rows: Vec<RowRec> = of_days(
        &mut tx,
        "select day, payer, token, payee, facilitator, class, source, payments, volume::text
         from api_payer_days where chain_id = $1 and ($2 or day = any($3))",
        chain,
        all,
        &days,
    )
    .await?;
    let cells: Vec<CellRec> = of_days(
        &mut tx,
        "select day, token, payee, facilitator, class, source, payments, volume::text, taint_adjusted::text
         from api_daily_stats where chain_id = $1 and ($2 or day = any($3))",
        chain,
        all,
        &days,
    )
    .await?;
    let bins: Vec<BinRec> = of_days(
        &mut tx,
        "select day, token, payee, facilitator, class, source, amount::text, count(*)::int8
         from api_payment_facts where chain_id = $1 and ($2 or day = any($3))
         group by day, token, payee, facilitator, class, source, amount",
        chain,
        all,
        &days,
    )
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

impl Snapshot {
    /// This snapshot with `loaded` in place of `days` (every day when `None`).
    pub(super) fn with(
        mut self,
        loaded: Loaded,
        days: Option<&[Day]>,
    ) -> Result<Self, sqlx::Error> {
        let dicts = Arc::make_mut(&mut self.dicts);
        let mut new_rows: HashMap<u32, Vec<(Row, f64)>> = HashMap::new();
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
            new_rows
                .entry(p)
                .or_default()
                .push((row, u256_f64(u256(volume)?)));
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
                let mut merged: Vec<(Row, f64)> = rows
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(payee: u32, token: u32, payments: i64, volume: u64, taint: Option<&str>) -> Cell {
        Cell {
            payee,
            token,
            facilitator: 0,
            class: 0,
            source: 0,
            payments,
            volume: U256::from(volume),
            taint: taint.map(|t| BigDecimal::from_str(t).unwrap()),
        }
    }

    fn bin(payee: u32, amount: u64, payments: i64) -> Bin {
        Bin {
            payee,
            token: 0,
            facilitator: 0,
            class: 0,
            source: 0,
            amount: U256::from(amount),
            payments,
        }
    }

    #[test]
    fn coarse_cells_sum_over_payees() {
        let cells = [
            cell(1, 0, 2, 100, Some("10.5")),
            cell(2, 0, 3, 50, None),
            cell(1, 1, 1, 7, None),
        ];
        let coarse: Vec<(u32, u32, i64, U256, Option<String>)> = coarse_cells(&cells)
            .into_iter()
            .map(|c| {
                (
                    c.payee,
                    c.token,
                    c.payments,
                    c.volume,
                    c.taint.map(|t| t.to_string()),
                )
            })
            .collect();
        assert_eq!(
            coarse,
            vec![
                (ANY_PAYEE, 0, 5, U256::from(150), Some("10.5".into())),
                (ANY_PAYEE, 1, 1, U256::from(7), None),
            ]
        );
    }

    #[test]
    fn coarse_bins_sum_payments_per_amount() {
        let bins = [bin(1, 10, 2), bin(2, 10, 1), bin(2, 20, 1)];
        let coarse: Vec<(u32, U256, i64)> = coarse_bins(&bins)
            .into_iter()
            .map(|b| (b.payee, b.amount, b.payments))
            .collect();
        assert_eq!(
            coarse,
            vec![
                (ANY_PAYEE, U256::from(10), 3),
                (ANY_PAYEE, U256::from(20), 1)
            ]
        );
    }
}
