//! The per-table bulk inserts of one range (see [`super::columns`]).

use sqlx::{PgConnection, Postgres, Transaction};

use super::columns::{bind_meta, bytes, insert_sql, numeric, Kind};

use super::BlockRow;
use crate::decode::{ProxyTransfer, Rows};

type Tx<'a> = Transaction<'a, Postgres>;

/// Inserts the range's blocks; a block already stored keeps its row (same number, same hash:
/// the caller rolled back anything that differs).
pub async fn insert_blocks(
    tx: &mut Tx<'_>,
    chain_id: i64,
    blocks: &[BlockRow],
) -> Result<(), sqlx::Error> {
    if blocks.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO blocks (chain_id, number, hash, parent_hash, block_time, log_count)
         SELECT $1, u.number, u.hash, u.parent_hash, to_timestamp(u.ts), u.log_count
         FROM UNNEST($2::int8[], $3::bytea[], $4::bytea[], $5::int8[], $6::int4[]) AS u(number, hash, parent_hash, ts, log_count)
         ON CONFLICT (chain_id, number) DO NOTHING",
    )
    .bind(chain_id)
    .bind(blocks.iter().map(|b| b.header.number as i64).collect::<Vec<_>>())
    .bind(blocks.iter().map(|b| b.header.hash.to_vec()).collect::<Vec<_>>())
    .bind(blocks.iter().map(|b| b.header.parent_hash.to_vec()).collect::<Vec<_>>())
    .bind(blocks.iter().map(|b| b.header.timestamp as i64).collect::<Vec<_>>())
    .bind(blocks.iter().map(|b| b.log_count as i32).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One statement per non-empty table.
pub async fn insert_rows(tx: &mut Tx<'_>, chain_id: i64, rows: &Rows) -> Result<(), sqlx::Error> {
    let conn: &mut PgConnection = tx;
    rows.logs.insert_all(&mut *conn, chain_id).await?;
    use Kind::*;
    macro_rules! run {
        ($rows:expr, $table:literal, $cols:expr, |$q:ident, $r:ident| $binds:expr) => {
            if !$rows.is_empty() {
                let sql = insert_sql($table, $cols);
                let $r = &$rows[..];
                let $q = bind_meta(sqlx::query(&sql).bind(chain_id), $r, |x| &x.meta);
                let q = $binds;
                q.execute(&mut *conn).await?;
            }
        };
    }

    run!(
        rows.eip3009_authorizations,
        "eip3009_authorizations",
        &[
            ("token", Bytea),
            ("authorizer", Bytea),
            ("nonce", Bytea),
            ("tx_from", Bytea),
            ("tx_to", Bytea),
            ("transfer_log_index", Int4),
            ("payee", Bytea),
            ("amount", Numeric),
            ("facilitator_listed", Bool),
            ("payment_id", Bytea),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.authorizer))
            .bind(bytes(r, |x| x.nonce))
            .bind(bytes(r, |x| x.tx_from))
            .bind(
                r.iter()
                    .map(|x| x.tx_to.map(|a| a.to_vec()))
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| x.transfer.map(|t| t.0 as i32))
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| x.transfer.map(|t| t.1.to_vec()))
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| x.transfer.map(|t| t.2.to_string()))
                    .collect::<Vec<_>>()
            )
            .bind(r.iter().map(|x| x.facilitator_listed).collect::<Vec<_>>())
            .bind(
                r.iter()
                    .map(|x| x.payment_id.map(|p| p.to_vec()))
                    .collect::<Vec<_>>()
            )
    );

    run!(
        rows.permit2_proxy_settlements,
        "permit2_proxy_settlements",
        &[
            ("proxy", Bytea),
            ("with_permit", Bool),
            ("tx_from", Bytea),
            ("tx_to", Bytea),
            ("transfer_log_index", Int4),
            ("token", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("amount", Numeric),
            ("facilitator_listed", Bool),
            ("payment_id", Bytea),
        ],
        |q, r| {
            let transfer = |f: fn(&ProxyTransfer) -> Vec<u8>| {
                r.iter()
                    .map(|x| x.transfer.as_ref().map(f))
                    .collect::<Vec<_>>()
            };
            q.bind(bytes(r, |x| x.proxy))
                .bind(r.iter().map(|x| x.with_permit).collect::<Vec<_>>())
                .bind(bytes(r, |x| x.tx_from))
                .bind(
                    r.iter()
                        .map(|x| x.tx_to.map(|a| a.to_vec()))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    r.iter()
                        .map(|x| x.transfer.map(|t| t.log_index as i32))
                        .collect::<Vec<_>>(),
                )
                .bind(transfer(|t| t.token.to_vec()))
                .bind(transfer(|t| t.payer.to_vec()))
                .bind(transfer(|t| t.payee.to_vec()))
                .bind(
                    r.iter()
                        .map(|x| x.transfer.map(|t| t.amount.to_string()))
                        .collect::<Vec<_>>(),
                )
                .bind(r.iter().map(|x| x.facilitator_listed).collect::<Vec<_>>())
                .bind(
                    r.iter()
                        .map(|x| x.payment_id.map(|p| p.to_vec()))
                        .collect::<Vec<_>>(),
                )
        }
    );

    if !rows.native_transfers.is_empty() {
        let r = &rows.native_transfers[..];
        sqlx::query(
            "INSERT INTO native_transfers (chain_id, block_number, block_hash, block_time, tx_hash, tx_index, from_address, to_address, value)
             SELECT $1, u.block_number, u.block_hash, to_timestamp(u.block_time), u.tx_hash, u.tx_index, u.from_address, u.to_address, u.value::numeric(78,0)
             FROM UNNEST($2::int8[], $3::bytea[], $4::int8[], $5::bytea[], $6::int4[], $7::bytea[], $8::bytea[], $9::text[])
               AS u(block_number, block_hash, block_time, tx_hash, tx_index, from_address, to_address, value)
             ON CONFLICT DO NOTHING",
        )
        .bind(chain_id)
        .bind(r.iter().map(|x| x.block_number as i64).collect::<Vec<_>>())
        .bind(bytes(r, |x| x.block_hash))
        .bind(r.iter().map(|x| x.block_time as i64).collect::<Vec<_>>())
        .bind(bytes(r, |x| x.tx_hash))
        .bind(r.iter().map(|x| x.tx_index as i32).collect::<Vec<_>>())
        .bind(bytes(r, |x| x.from))
        .bind(bytes(r, |x| x.to))
        .bind(numeric(r, |x| x.value))
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}
