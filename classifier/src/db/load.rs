//! Reading the indexer's tables (and the imported labels file) into classifier inputs, with a few
//! big streaming queries.
//!
//! These are the classifier's typed reads of tables other crates own: every query is checked
//! at compile time against the schema (`sqlx::query!`, with the offline data in the workspace's
//! `.sqlx/`, refreshed by `script/sqlx-prepare.sh`), so a migration that renames or retypes a
//! column it reads fails the build here instead of a classification at run time.

use futures::TryStreamExt;
use sqlx::PgPool;

use super::{amount, fixed, DbError};
use crate::input::{Declaration, Inputs, NativeTransfer, Payment, Transfer};
use crate::labels::{fold_registry, FileLabel, Label, LabelKind, LabelSet, RegistryEvent};
use crate::types::Addr;

/// The indexer's checkpoint of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Chain id.
    pub chain_id: i64,
    /// Everything up to this block is indexed.
    pub block: i64,
    /// Its hash.
    pub hash: Vec<u8>,
    /// The settlement contract (its transfers are payment plumbing).
    pub settlement: Addr,
}

/// The checkpoint of `chain_id`, or of the only indexed chain when `None`.
pub async fn checkpoint(
    pool: &PgPool,
    chain_id: Option<i64>,
) -> Result<Option<Checkpoint>, DbError> {
    let rows = sqlx::query!(
        "select chain_id, block_number, block_hash, settlement_address from checkpoint
         where $1::int8 is null or chain_id = $1 order by chain_id",
        chain_id,
    )
    .fetch_all(pool)
    .await?;
    if rows.len() > 1 {
        let ids: Vec<String> = rows.iter().map(|r| r.chain_id.to_string()).collect();
        return Err(DbError::Chain(format!(
            "the database indexes several chains ({}); choose one with --chain-id",
            ids.join(", ")
        )));
    }
    rows.first()
        .map(|r| {
            Ok(Checkpoint {
                chain_id: r.chain_id,
                block: r.block_number,
                hash: r.block_hash.clone(),
                settlement: fixed(&r.settlement_address, "checkpoint", "settlement_address")?,
            })
        })
        .transpose()
}

/// Which rows to read: everything, or only what changed after a block.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// Read rows strictly above this block (`-1` = everything).
    pub after: i64,
    /// Read rows up to and including this block (the checkpoint, so a half-committed range of the
    /// indexer is never seen).
    pub upto: i64,
}

/// Payments whose state changed in `range` (all payments for a full range).
pub async fn payments(pool: &PgPool, chain_id: i64, range: Range) -> Result<Vec<Payment>, DbError> {
    let mut rows = sqlx::query!(
        r#"select payment_id, payer, payee, token, settled_amount::text as "settled_amount!",
                  first_block_number, extract(epoch from first_block_time)::int8 as "time!",
                  first_tx_hash
           from payments
           where chain_id = $1 and updated_block_number > $2 and first_block_number <= $3"#,
        chain_id,
        range.after,
        range.upto,
    )
    .fetch(pool);
    let mut out = Vec::new();
    const T: &str = "payments";
    while let Some(r) = rows.try_next().await? {
        out.push(Payment {
            id: fixed(&r.payment_id, T, "payment_id")?,
            payer: fixed(&r.payer, T, "payer")?,
            payee: fixed(&r.payee, T, "payee")?,
            token: fixed(&r.token, T, "token")?,
            amount: amount(&r.settled_amount, T, "settled_amount")?,
            block: r.first_block_number,
            time: r.time,
            tx: fixed(&r.first_tx_hash, T, "first_tx_hash")?,
        });
    }
    Ok(out)
}

/// Token transfers in `range` that are not settlement plumbing: transfers to or from the
/// settlement contract, and the payee-to-payer transfers of refunds, are payments, not funding.
pub async fn transfers(
    pool: &PgPool,
    chain_id: i64,
    settlement: &Addr,
    range: Range,
) -> Result<Vec<Transfer>, DbError> {
    let mut rows = sqlx::query!(
        r#"select t.token, t.from_address, t.to_address, t.amount::text as "amount!",
                  t.block_number, t.log_index, extract(epoch from t.block_time)::int8 as "time!",
                  t.tx_hash
           from token_transfers t
           where t.chain_id = $1 and t.block_number > $3 and t.block_number <= $4
             and t.from_address <> $2 and t.to_address <> $2
             and not exists (select 1 from refunds r
                             where r.chain_id = t.chain_id and r.tx_hash = t.tx_hash
                               and r.payee = t.from_address and r.payer = t.to_address)"#,
        chain_id,
        &settlement[..],
        range.after,
        range.upto,
    )
    .fetch(pool);
    let mut out = Vec::new();
    const T: &str = "token_transfers";
    while let Some(r) = rows.try_next().await? {
        out.push(Transfer {
            token: fixed(&r.token, T, "token")?,
            from: fixed(&r.from_address, T, "from_address")?,
            to: fixed(&r.to_address, T, "to_address")?,
            amount: amount(&r.amount, T, "amount")?,
            block: r.block_number,
            log_index: r.log_index,
            time: r.time,
            tx: fixed(&r.tx_hash, T, "tx_hash")?,
        });
    }
    Ok(out)
}

/// Native-currency transfers in `range` (gas money: funding edges, never token provenance). Empty
/// when the indexer does not record them (`--native-transfers` off).
pub async fn native_transfers(
    pool: &PgPool,
    chain_id: i64,
    range: Range,
) -> Result<Vec<NativeTransfer>, DbError> {
    let mut rows = sqlx::query!(
        r#"select from_address, to_address, value::text as "value!", block_number, tx_index,
                  extract(epoch from block_time)::int8 as "time!", tx_hash
           from native_transfers
           where chain_id = $1 and block_number > $2 and block_number <= $3 and value > 0"#,
        chain_id,
        range.after,
        range.upto,
    )
    .fetch(pool);
    let mut out = Vec::new();
    const T: &str = "native_transfers";
    while let Some(r) = rows.try_next().await? {
        out.push(NativeTransfer {
            from: fixed(&r.from_address, T, "from_address")?,
            to: fixed(&r.to_address, T, "to_address")?,
            value: amount(&r.value, T, "value")?,
            block: r.block_number,
            tx_index: r.tx_index,
            time: r.time,
            tx: fixed(&r.tx_hash, T, "tx_hash")?,
        });
    }
    Ok(out)
}

/// Payees' wallet declarations in `range`.
pub async fn declarations(
    pool: &PgPool,
    chain_id: i64,
    range: Range,
) -> Result<Vec<Declaration>, DbError> {
    let rows = sqlx::query!(
        "select payee, wallet, declared, block_number, log_index, tx_hash, note from declared_wallets
         where chain_id = $1 and block_number > $2 and block_number <= $3",
        chain_id,
        range.after,
        range.upto,
    )
    .fetch_all(pool)
    .await?;
    const T: &str = "declared_wallets";
    rows.into_iter()
        .map(|r| {
            Ok(Declaration {
                payee: fixed(&r.payee, T, "payee")?,
                wallet: fixed(&r.wallet, T, "wallet")?,
                declared: r.declared,
                block: r.block_number,
                log_index: r.log_index,
                tx: fixed(&r.tx_hash, T, "tx_hash")?,
                note: r.note,
            })
        })
        .collect()
}

/// The registry's label history up to `upto`.
pub async fn registry_events(
    pool: &PgPool,
    chain_id: i64,
    upto: i64,
) -> Result<Vec<RegistryEvent>, DbError> {
    let rows = sqlx::query!(
        "select block_number, log_index, tx_hash, wallet, role, labeled, note from registry_labels
         where chain_id = $1 and block_number <= $2 order by block_number, log_index",
        chain_id,
        upto,
    )
    .fetch_all(pool)
    .await?;
    const T: &str = "registry_labels";
    rows.into_iter()
        .map(|r| {
            let role = r.role;
            Ok(RegistryEvent {
                block: r.block_number,
                log_index: r.log_index,
                tx: fixed::<32>(&r.tx_hash, T, "tx_hash")?,
                wallet: fixed(&r.wallet, T, "wallet")?,
                role: u8::try_from(role).map_err(|_| DbError::BadValue {
                    table: T,
                    column: "role",
                    message: format!("role {role} out of range"),
                })?,
                labeled: r.labeled,
                note: r.note,
            })
        })
        .collect()
}

/// Labels imported from the local labels file for `chain_id`.
pub async fn file_labels(pool: &PgPool, chain_id: i64) -> Result<Vec<FileLabel>, DbError> {
    let mut conn = pool.acquire().await?;
    file_labels_in(&mut conn, chain_id).await
}

/// [`file_labels`] on one connection (inside a transaction that is about to change them).
pub async fn file_labels_in(
    conn: &mut sqlx::PgConnection,
    chain_id: i64,
) -> Result<Vec<FileLabel>, DbError> {
    let rows = sqlx::query!(
        "select address, kind, role, valid_from_block, note from label_file_entries where chain_id = $1
         order by address, kind, role_key",
        chain_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    const T: &str = "label_file_entries";
    rows.into_iter()
        .map(|r| {
            let kind = r.kind;
            Ok(FileLabel {
                chain_id,
                address: fixed(&r.address, T, "address")?,
                kind: LabelKind::parse(&kind).ok_or_else(|| DbError::BadValue {
                    table: T,
                    column: "kind",
                    message: format!("unknown kind {kind}"),
                })?,
                role: r.role,
                from_block: r.valid_from_block,
                note: r.note,
            })
        })
        .collect()
}

/// The effective label set: registry history up to `upto` merged with the file labels.
pub async fn label_set(pool: &PgPool, chain_id: i64, upto: i64) -> Result<LabelSet, DbError> {
    let mut labels: Vec<Label> = fold_registry(&registry_events(pool, chain_id, upto).await?);
    labels.extend(
        file_labels(pool, chain_id)
            .await?
            .iter()
            .map(FileLabel::to_label),
    );
    Ok(LabelSet::new(labels))
}

/// Everything the classification of `cp`'s chain reads, up to its checkpoint.
pub async fn inputs(pool: &PgPool, cp: &Checkpoint) -> Result<Inputs, DbError> {
    let range = Range {
        after: -1,
        upto: cp.block,
    };
    // Run the big reads concurrently on separate connections.
    let (payments, transfers, native, declarations, labels) = futures::try_join!(
        payments(pool, cp.chain_id, range),
        transfers(pool, cp.chain_id, &cp.settlement, range),
        native_transfers(pool, cp.chain_id, range),
        declarations(pool, cp.chain_id, range),
        label_set(pool, cp.chain_id, cp.block),
    )?;
    Ok(Inputs {
        chain_id: cp.chain_id,
        payments,
        transfers,
        native,
        declarations,
        labels,
        excluded: vec![cp.settlement],
    })
}

/// The hash of block `number` as the indexer stored it.
pub async fn block_hash(
    pool: &PgPool,
    chain_id: i64,
    number: i64,
) -> Result<Option<Vec<u8>>, DbError> {
    Ok(sqlx::query_scalar!(
        "select hash from blocks where chain_id = $1 and number = $2",
        chain_id,
        number
    )
    .fetch_optional(pool)
    .await?)
}
