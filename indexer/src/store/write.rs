//! The per-table bulk inserts of one range (see [`super::columns`]).

use sqlx::{PgConnection, Postgres, Transaction};

use super::columns::{
    bind_meta, bytea_array_literal, bytes, insert_sql, int_array_literal, numeric, Kind,
};
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
        rows.charges,
        "charges",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("token", Bytea),
            ("facilitator", Bytea),
            ("nonce", Numeric),
            ("mode", Int2),
            ("amount", Numeric),
            ("max_amount", Numeric),
            ("facilitator_fee", Numeric),
            ("protocol_fee", Numeric),
            ("request_hash", Bytea),
            ("evidence_hash", Bytea),
            ("batch_id", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.facilitator))
            .bind(numeric(r, |x| x.nonce))
            .bind(r.iter().map(|x| x.mode as i16).collect::<Vec<_>>())
            .bind(numeric(r, |x| x.amount))
            .bind(numeric(r, |x| x.max_amount))
            .bind(numeric(r, |x| x.facilitator_fee))
            .bind(numeric(r, |x| x.protocol_fee))
            .bind(bytes(r, |x| x.request_hash))
            .bind(bytes(r, |x| x.evidence_hash))
            .bind(numeric(r, |x| x.batch_id))
    );

    run!(
        rows.authorizations,
        "authorizations",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("token", Bytea),
            ("facilitator", Bytea),
            ("amount", Numeric),
            ("max_facilitator_fee_bps", Int4),
            ("authorization_expiry", Int8),
            ("refund_expiry", Int8),
            ("request_hash", Bytea),
            ("nonce", Numeric),
            ("deadline", Numeric),
            ("valid_after", Int8),
            ("protocol_fee_bps", Int4),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.facilitator))
            .bind(numeric(r, |x| x.amount))
            .bind(
                r.iter()
                    .map(|x| x.max_facilitator_fee_bps as i32)
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| x.authorization_expiry as i64)
                    .collect::<Vec<_>>()
            )
            .bind(r.iter().map(|x| x.refund_expiry as i64).collect::<Vec<_>>())
            .bind(bytes(r, |x| x.request_hash))
            .bind(numeric(r, |x| x.nonce))
            .bind(numeric(r, |x| x.deadline))
            .bind(r.iter().map(|x| x.valid_after as i64).collect::<Vec<_>>())
            .bind(
                r.iter()
                    .map(|x| x.protocol_fee_bps as i32)
                    .collect::<Vec<_>>()
            )
    );

    run!(
        rows.captures,
        "captures",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("token", Bytea),
            ("facilitator", Bytea),
            ("nonce", Numeric),
            ("amount", Numeric),
            ("facilitator_fee", Numeric),
            ("protocol_fee", Numeric),
            ("evidence_hash", Bytea),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.facilitator))
            .bind(numeric(r, |x| x.nonce))
            .bind(numeric(r, |x| x.amount))
            .bind(numeric(r, |x| x.facilitator_fee))
            .bind(numeric(r, |x| x.protocol_fee))
            .bind(bytes(r, |x| x.evidence_hash))
    );

    run!(
        rows.voids,
        "voids",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("voided_by", Bytea),
            ("payee", Bytea),
            ("facilitator", Bytea),
            ("token", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.voided_by))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.facilitator))
            .bind(bytes(r, |x| x.token))
            .bind(numeric(r, |x| x.amount))
    );

    run!(
        rows.reclaims,
        "reclaims",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("reclaimed_by", Bytea),
            ("payee", Bytea),
            ("facilitator", Bytea),
            ("token", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.reclaimed_by))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.facilitator))
            .bind(bytes(r, |x| x.token))
            .bind(numeric(r, |x| x.amount))
    );

    run!(
        rows.refunds,
        "refunds",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("token", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.token))
            .bind(numeric(r, |x| x.amount))
    );

    run!(
        rows.split_payments,
        "split_payments",
        &[
            ("payment_id", Bytea),
            ("payee", Bytea),
            ("recipient", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.recipient))
            .bind(numeric(r, |x| x.amount))
    );

    run!(
        rows.batch_failures,
        "batch_failures",
        &[
            ("batch_id", Numeric),
            ("item_index", Numeric),
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("reason", Bytea),
            ("error_name", Text),
            ("error_detail", Text),
        ],
        |q, r| q
            .bind(numeric(r, |x| x.batch_id))
            .bind(numeric(r, |x| x.item_index))
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.reason.clone()))
            .bind(r.iter().map(|x| x.error_name.clone()).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.error_detail.clone()).collect::<Vec<_>>())
    );

    run!(
        rows.batches,
        "batches",
        &[
            ("batch_id", Numeric),
            ("facilitator", Bytea),
            ("item_count", Numeric),
            ("attempted_count", Numeric),
            ("settled_count", Numeric),
            ("evidence_root", Bytea),
        ],
        |q, r| q
            .bind(numeric(r, |x| x.batch_id))
            .bind(bytes(r, |x| x.facilitator))
            .bind(numeric(r, |x| x.item_count))
            .bind(numeric(r, |x| x.attempted_count))
            .bind(numeric(r, |x| x.settled_count))
            .bind(bytes(r, |x| x.evidence_root))
    );

    run!(
        rows.spending_policies,
        "spending_policies",
        &[
            ("payer", Bytea),
            ("token", Bytea),
            ("max_per_payment", Numeric),
            ("max_per_period", Numeric),
            ("period_seconds", Int8),
            ("loosen_delay_seconds", Int8),
            ("nonce", Numeric),
            ("by_signature", Bool),
            ("effective_at", Int8),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.token))
            .bind(numeric(r, |x| x.max_per_payment))
            .bind(numeric(r, |x| x.max_per_period))
            .bind(
                r.iter()
                    .map(|x| x.period_seconds as i64)
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| x.loosen_delay_seconds as i64)
                    .collect::<Vec<_>>()
            )
            .bind(numeric(r, |x| x.nonce))
            .bind(r.iter().map(|x| x.by_signature).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.effective_at as i64).collect::<Vec<_>>())
    );

    run!(
        rows.splits,
        "splits",
        &[
            ("payee", Bytea),
            ("recipients", ByteaArray),
            ("bps", Int4Array),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payee))
            .bind(
                r.iter()
                    .map(|x| bytea_array_literal(&x.recipients))
                    .collect::<Vec<_>>()
            )
            .bind(
                r.iter()
                    .map(|x| int_array_literal(&x.bps))
                    .collect::<Vec<_>>()
            )
    );

    run!(
        rows.protocol_fee_changes,
        "protocol_fee_changes",
        &[("old_bps", Int4), ("bps", Int4), ("effective_at", Int8)],
        |q, r| q
            .bind(r.iter().map(|x| x.old_bps as i32).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.bps as i32).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.effective_at as i64).collect::<Vec<_>>())
    );

    run!(
        rows.treasury_changes,
        "treasury_changes",
        &[("old_treasury", Bytea), ("new_treasury", Bytea)],
        |q, r| q
            .bind(bytes(r, |x| x.old_treasury))
            .bind(bytes(r, |x| x.new_treasury))
    );

    run!(
        rows.protocol_fee_withdrawals,
        "protocol_fee_withdrawals",
        &[
            ("token", Bytea),
            ("treasury", Bytea),
            ("to_address", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.treasury))
            .bind(bytes(r, |x| x.to))
            .bind(numeric(r, |x| x.amount))
    );

    run!(
        rows.authorization_charges,
        "authorization_charges",
        &[
            ("payment_id", Bytea),
            ("payer", Bytea),
            ("payee", Bytea),
            ("token", Bytea),
            ("facilitator", Bytea),
            ("amount", Numeric),
            ("authorization_nonce", Bytea),
            ("valid_after", Numeric),
            ("valid_before", Numeric),
            ("evidence_hash", Bytea),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payment_id))
            .bind(bytes(r, |x| x.payer))
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.facilitator))
            .bind(numeric(r, |x| x.amount))
            .bind(bytes(r, |x| x.authorization_nonce))
            .bind(numeric(r, |x| x.valid_after))
            .bind(numeric(r, |x| x.valid_before))
            .bind(bytes(r, |x| x.evidence_hash))
    );

    run!(
        rows.registry_labels,
        "registry_labels",
        &[
            ("wallet", Bytea),
            ("role", Int2),
            ("role_name", Text),
            ("labeled", Bool),
            ("note", Text),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.wallet))
            .bind(r.iter().map(|x| x.role as i16).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.role_name.clone()).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.labeled).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.note.clone()).collect::<Vec<_>>())
    );

    run!(
        rows.declared_wallets,
        "declared_wallets",
        &[
            ("payee", Bytea),
            ("wallet", Bytea),
            ("declared", Bool),
            ("note", Text),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.payee))
            .bind(bytes(r, |x| x.wallet))
            .bind(r.iter().map(|x| x.declared).collect::<Vec<_>>())
            .bind(r.iter().map(|x| x.note.clone()).collect::<Vec<_>>())
    );

    run!(
        rows.token_transfers,
        "token_transfers",
        &[
            ("token", Bytea),
            ("from_address", Bytea),
            ("to_address", Bytea),
            ("amount", Numeric),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.token))
            .bind(bytes(r, |x| x.from))
            .bind(bytes(r, |x| x.to))
            .bind(numeric(r, |x| x.amount))
    );

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

    run!(
        rows.skipped,
        "skipped_logs",
        &[
            ("address", Bytea),
            ("topics", ByteaArray),
            ("data", Bytea),
            ("reason", Text),
        ],
        |q, r| q
            .bind(bytes(r, |x| x.address))
            .bind(
                r.iter()
                    .map(|x| bytea_array_literal(&x.topics))
                    .collect::<Vec<_>>()
            )
            .bind(bytes(r, |x| x.data.clone()))
            .bind(r.iter().map(|x| x.reason.clone()).collect::<Vec<_>>())
    );

    Ok(())
}
