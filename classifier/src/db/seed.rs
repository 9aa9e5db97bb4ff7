//! Writing chain data straight into the indexer's tables, as the indexer would: used by the
//! benchmark data generator and by database tests that need a known ecosystem without a chain.

use alloy_primitives::{Address, B256, U256};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::copy::copy_rows;
use super::DbError;
use crate::input::{Declaration, Payment, Transfer};
use crate::labels::RegistryEvent;
use crate::types::{Addr, Hash32};
use x402_domain::events::{
    Charge, DeclaredWallet, EventTable, LogMeta, RegistryLabel, TokenTransfer,
};
use x402_domain::Role;

/// Rows per bulk insert: one `UNNEST` statement binds every column as an array, so a bounded
/// chunk keeps a million-payment seed from building one huge statement.
const INSERT_CHUNK: usize = 20_000;

/// Inserts `rows` through the table's declared bulk insert, `INSERT_CHUNK` rows per statement.
async fn insert_chunked<T: EventTable>(
    conn: &mut sqlx::PgConnection,
    chain_id: i64,
    rows: &[T],
) -> Result<(), DbError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        x402_domain::events::insert(conn, chain_id, chunk).await?;
    }
    Ok(())
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
pub async fn write_seed(pool: &PgPool, seed: &Seed) -> Result<(), DbError> {
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

    let meta = |block: i64, log_index: i64, time: i64, tx: &Hash32| LogMeta {
        block_number: block as u64,
        block_hash: B256::from(block_hash(c, block)),
        block_time: time as u64,
        tx_hash: B256::from(*tx),
        log_index: log_index as u64,
    };
    let transfers: Vec<TokenTransfer> = seed
        .transfers
        .iter()
        .map(|t| TokenTransfer {
            meta: meta(t.block, t.log_index.into(), t.time, &t.tx),
            token: Address::from(t.token),
            from: Address::from(t.from),
            to: Address::from(t.to),
            amount: U256::from(t.amount),
        })
        .collect();
    insert_chunked(&mut tx, c, &transfers).await?;

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
    let charges: Vec<Charge> = seed
        .payments
        .iter()
        .zip(&ordinal)
        .map(|(p, &li)| Charge {
            meta: meta(p.block, li.into(), p.time, &p.tx),
            payment_id: B256::from(p.id),
            payer: Address::from(p.payer),
            payee: Address::from(p.payee),
            token: Address::from(p.token),
            facilitator: Address::from(fac),
            nonce: U256::ZERO,
            mode: 0,
            amount: U256::from(p.amount),
            max_amount: U256::from(p.amount),
            facilitator_fee: U256::from(p.amount / 100),
            protocol_fee: U256::ZERO,
            request_hash: B256::from(derived(&p.id, b"request")),
            evidence_hash: B256::from(derived(&p.id, b"evidence")),
            batch_id: U256::ZERO,
        })
        .collect();
    insert_chunked(&mut tx, c, &charges).await?;
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
    let declarations: Vec<DeclaredWallet> = seed
        .declarations
        .iter()
        .map(|d| DeclaredWallet {
            meta: meta(d.block, d.log_index.into(), time_of(d.block), &d.tx),
            payee: Address::from(d.payee),
            wallet: Address::from(d.wallet),
            declared: d.declared,
            note: d.note.clone(),
        })
        .collect();
    insert_chunked(&mut tx, c, &declarations).await?;
    let labels: Vec<RegistryLabel> = seed
        .registry
        .iter()
        .map(|r| RegistryLabel {
            meta: meta(r.block, r.log_index.into(), time_of(r.block), &r.tx),
            wallet: Address::from(r.wallet),
            role: r.role,
            role_name: Role::name_of_value(r.role),
            labeled: r.labeled,
            note: r.note.clone(),
        })
        .collect();
    insert_chunked(&mut tx, c, &labels).await?;
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
