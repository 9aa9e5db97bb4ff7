//! Writing chain data straight into the indexer's tables, as the indexer would: used by the
//! benchmark data generator and by database tests that need a known ecosystem without a chain.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::copy::copy_rows;
use super::DbError;
use crate::input::{Declaration, Payment, Transfer};
use crate::labels::RegistryEvent;
use crate::types::{Addr, Hash32};
use x402_domain::Role;

/// The indexer's migrations (`indexer/migrations`), for preparing a fresh database without the
/// indexer binary. Shares `_sqlx_migrations` with the classifier's, hence `ignore_missing`.
pub fn indexer_migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("../indexer/migrations");
    m.set_ignore_missing(true);
    m
}

/// Chain data to write.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Chain id.
    pub chain_id: i64,
    /// Facilitator recorded on every payment.
    pub facilitator: Addr,
    /// Payments (written to `payments` and `charges`).
    pub payments: Vec<Payment>,
    /// Token transfers, settlement plumbing included if wanted.
    pub transfers: Vec<Transfer>,
    /// Wallet declarations.
    pub declarations: Vec<Declaration>,
    /// Registry label history.
    pub registry: Vec<RegistryEvent>,
}

/// The deterministic hash the seed gives block `number`.
pub fn block_hash(chain_id: i64, number: i64) -> Hash32 {
    let mut h = Sha256::new();
    h.update(b"block");
    h.update(chain_id.to_be_bytes());
    h.update(number.to_be_bytes());
    h.finalize().into()
}

fn derived(id: &[u8], tag: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(id);
    h.finalize().into()
}

/// Appends `seed` to the indexer tables (blocks included), in one transaction.
pub async fn write(pool: &PgPool, seed: &Seed) -> Result<(), DbError> {
    let c = seed.chain_id;
    let mut tx = pool.begin().await?;
    let mut blocks: Vec<(i64, i64)> = seed
        .payments
        .iter()
        .map(|p| (p.block, p.time))
        .chain(seed.transfers.iter().map(|t| (t.block, t.time)))
        .chain(seed.declarations.iter().map(|d| (d.block, d.block)))
        .chain(seed.registry.iter().map(|r| (r.block, r.block)))
        .collect();
    blocks.sort_unstable();
    blocks.dedup_by_key(|b| b.0);
    // Blocks may already exist from an earlier seed: stage and insert the new ones.
    sqlx::query("create temp table blocks_in (like blocks) on commit drop")
        .execute(&mut *tx)
        .await?;
    copy_rows(
        &mut tx,
        "copy blocks_in (chain_id, number, hash, parent_hash, block_time, log_count) from stdin",
        &blocks,
        |b, (n, t)| {
            b.plain(c)
                .plain(n)
                .bytes(&block_hash(c, *n))
                .bytes(&block_hash(c, n - 1))
                .time(*t)
                .plain(1);
        },
    )
    .await?;
    sqlx::query("insert into blocks select * from blocks_in on conflict do nothing")
        .execute(&mut *tx)
        .await?;
    let time_of = |n: i64| {
        blocks
            .binary_search_by_key(&n, |b| b.0)
            .map(|i| blocks[i].1)
            .unwrap_or(n)
    };

    copy_rows(
        &mut tx,
        "copy token_transfers (chain_id, block_number, block_hash, block_time, tx_hash, log_index, token, from_address, to_address, amount) from stdin",
        &seed.transfers,
        |b, t| {
            b.plain(c).plain(t.block).bytes(&block_hash(c, t.block)).time(t.time).bytes(&t.tx).plain(t.log_index);
            b.bytes(&t.token).bytes(&t.from).bytes(&t.to).plain(t.amount);
        },
    )
    .await?;

    // Charges get log indexes above any transfer's in the same block.
    let mut ordinal: Vec<i32> = Vec::with_capacity(seed.payments.len());
    {
        let mut idx: Vec<usize> = (0..seed.payments.len()).collect();
        idx.sort_by_key(|&i| (seed.payments[i].block, i));
        ordinal.resize(seed.payments.len(), 0);
        let mut prev = i64::MIN;
        let mut k = 0;
        for i in idx {
            if seed.payments[i].block != prev {
                prev = seed.payments[i].block;
                k = 0;
            }
            ordinal[i] = 1_000_000_000 + k;
            k += 1;
        }
    }
    let fac = seed.facilitator;
    copy_rows(
        &mut tx,
        "copy charges (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payment_id, payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee, request_hash, evidence_hash, batch_id) from stdin",
        seed.payments.iter().zip(&ordinal),
        |b, (p, li)| {
            b.plain(c).plain(p.block).bytes(&block_hash(c, p.block)).time(p.time).bytes(&p.tx).plain(li);
            b.bytes(&p.id).bytes(&p.payer).bytes(&p.payee).bytes(&p.token).bytes(&fac).plain(0);
            b.plain(p.amount).plain(p.amount).plain(p.amount / 100).plain(0);
            b.bytes(&derived(&p.id, b"request")).bytes(&derived(&p.id, b"evidence")).plain(0);
        },
    )
    .await?;
    copy_rows(
        &mut tx,
        "copy payments (chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount, authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount, settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash, batch_id, status, closed, first_block_number, first_block_time, first_tx_hash, updated_block_number, updated_block_time) from stdin",
        &seed.payments,
        |b, p| {
            b.plain(c).bytes(&p.id).bytes(&p.payer).bytes(&p.payee).bytes(&p.token).bytes(&fac).plain(0);
            b.plain(p.amount).plain(0).plain(0).plain(0).plain(0).plain(0).plain(p.amount);
            b.plain(p.amount / 100).plain(0).plain(0);
            b.bytes(&derived(&p.id, b"request")).bytes(&derived(&p.id, b"evidence")).plain(0).plain("charged").plain("f");
            b.plain(p.block).time(p.time).bytes(&p.tx).plain(p.block).time(p.time);
        },
    )
    .await?;
    copy_rows(
        &mut tx,
        "copy declared_wallets (chain_id, block_number, block_hash, block_time, tx_hash, log_index, payee, wallet, declared, note) from stdin",
        &seed.declarations,
        |b, d| {
            b.plain(c).plain(d.block).bytes(&block_hash(c, d.block)).time(time_of(d.block)).bytes(&d.tx).plain(d.log_index);
            b.bytes(&d.payee).bytes(&d.wallet).plain(if d.declared { "t" } else { "f" }).text(&d.note);
        },
    )
    .await?;
    copy_rows(
        &mut tx,
        "copy registry_labels (chain_id, block_number, block_hash, block_time, tx_hash, log_index, wallet, role, role_name, labeled, note) from stdin",
        &seed.registry,
        |b, r| {
            let name = Role::name_of_value(r.role);
            b.plain(c).plain(r.block).bytes(&block_hash(c, r.block)).time(time_of(r.block)).bytes(&r.tx).plain(r.log_index);
            b.bytes(&r.wallet).plain(r.role).text(&name).plain(if r.labeled { "t" } else { "f" }).text(&r.note);
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the indexer checkpoint of `chain_id` to `block` (as the indexer does after a commit).
pub async fn set_checkpoint(
    pool: &PgPool,
    chain_id: i64,
    block: i64,
    settlement: &Addr,
    registry: &Addr,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into checkpoint (chain_id, block_number, block_hash, settlement_address, registry_address, start_block)
         values ($1, $2, $3, $4, $5, 0)
         on conflict (chain_id) do update set block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = now()",
    )
    .bind(chain_id)
    .bind(block)
    .bind(&block_hash(chain_id, block)[..])
    .bind(&settlement[..])
    .bind(&registry[..])
    .execute(pool)
    .await?;
    sqlx::query(
        "insert into blocks (chain_id, number, hash, parent_hash, block_time) values ($1, $2, $3, $4, to_timestamp(0))
         on conflict do nothing",
    )
    .bind(chain_id)
    .bind(block)
    .bind(&block_hash(chain_id, block)[..])
    .bind(&block_hash(chain_id, block - 1)[..])
    .execute(pool)
    .await?;
    Ok(())
}
