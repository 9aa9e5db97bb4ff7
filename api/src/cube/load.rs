//! Reading the read model's tables into a [`Snapshot`]: every day, at start-up and whenever the
//! in-memory model cannot follow a refresh by its deltas (`apply`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use alloy_primitives::U256;
use bigdecimal::{BigDecimal, Zero};
use chrono::NaiveDate;
use sqlx::PgPool;

use super::value::u256_f64;
use super::{
    class_index, day_of, source_index, Bin, Cell, Day, DayData, Dicts, PayerRows, Row, Snapshot,
    ANY_PAYEE,
};

pub(super) fn u256(s: &str) -> Result<U256, sqlx::Error> {
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

/// What one load read from the database.
pub(super) struct Loaded {
    rows: Vec<RowRec>,
    cells: Vec<CellRec>,
    bins: Vec<BinRec>,
    entities: Vec<(Vec<u8>, Option<String>)>,
}

pub(super) async fn load(pool: &PgPool, chain: i64) -> Result<Loaded, sqlx::Error> {
    // One snapshot of the read model for the three tables.
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<RowRec> = sqlx::query_as(
        "select day, payer, token, payee, facilitator, class, source, payments, volume::text
         from api_payer_days where chain_id = $1",
    )
    .bind(chain)
    .fetch_all(&mut *tx)
    .await?;
    let cells: Vec<CellRec> = sqlx::query_as(
        "select day, token, payee, facilitator, class, source, payments, volume::text, taint_adjusted::text
         from api_daily_stats where chain_id = $1",
    )
    .bind(chain)
    .fetch_all(&mut *tx)
    .await?;
    let bins: Vec<BinRec> = sqlx::query_as(
        "select day, token, payee, facilitator, class, source, amount::text, count(*)::int8
         from api_payment_facts where chain_id = $1
         group by day, token, payee, facilitator, class, source, amount",
    )
    .bind(chain)
    .fetch_all(&mut *tx)
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
    /// A snapshot of everything `loaded` holds.
    pub(super) fn from_loaded(loaded: Loaded) -> Result<Self, sqlx::Error> {
        let mut dicts = Dicts::default();
        let mut by_payer: Vec<Vec<(Row, f64)>> = Vec::new();
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
            if by_payer.len() <= p as usize {
                by_payer.resize_with(p as usize + 1, Vec::new);
            }
            by_payer[p as usize].push((row, u256_f64(u256(volume)?)));
            day_payers.entry(d).or_default().push(p);
        }
        let mut days: BTreeMap<Day, DayData> = BTreeMap::new();
        for (day, token, payee, fac, class, source, payments, volume, taint) in &loaded.cells {
            let (Some(class), Some(source)) = (class_index(class), source_index(source)) else {
                continue;
            };
            let taint = BigDecimal::from_str(taint)
                .map_err(|e| sqlx::Error::Decode(format!("taint `{taint}`: {e}").into()))?;
            days.entry(day_of(*day)).or_default().cells.push(Cell {
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
            days.entry(day_of(*day)).or_default().bins.push(Bin {
                payee: dicts.payees.id(payee),
                token: dicts.tokens.id(token),
                facilitator: dicts.facilitators.id(fac),
                class,
                source,
                amount: u256(amount)?,
                payments: *payments,
            });
        }
        // One array, payer after payer, each payer's rows sorted by day.
        let mut payers = PayerRows {
            start: Vec::with_capacity(by_payer.len() + 1),
            rows: Vec::with_capacity(loaded.rows.len()),
            volumes: Vec::with_capacity(loaded.rows.len()),
        };
        payers.start.push(0);
        for mut rows in by_payer {
            rows.sort_by_key(|(r, _)| r.day);
            for (r, v) in rows {
                payers.rows.push(r);
                payers.volumes.push(v);
            }
            payers.start.push(payers.rows.len() as u32);
        }
        let days = days
            .into_iter()
            .map(|(d, mut data)| {
                data.payers = day_payers.remove(&d).unwrap_or_default();
                data.payers.sort_unstable();
                data.payers.dedup();
                data.coarse = coarse_cells(&data.cells);
                data.coarse_bins = coarse_bins(&data.bins);
                (d, Arc::new(data))
            })
            .collect();
        // Entities: the classifier's entity of each payer, else the payer itself.
        let mut entity_of: HashMap<Vec<u8>, String> = HashMap::new();
        for (payer, entity) in loaded.entities {
            if let Some(e) = entity {
                entity_of.insert(payer, e);
            }
        }
        let entity: Vec<u32> = (0..dicts.payers.len() as u32)
            .map(|p| {
                let key = dicts.payers.key(p).to_vec();
                let e = entity_of
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| format!("0x{}", alloy_primitives::hex::encode(&key)));
                dicts.entities.id(e.as_bytes())
            })
            .collect();
        Ok(Snapshot {
            dicts: Arc::new(dicts),
            payers: Arc::new(payers),
            entity: Arc::new(entity),
            days,
        })
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
