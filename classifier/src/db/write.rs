//! Writing verdicts back in bulk (COPY), and the classifier's state.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgPool, Postgres, Transaction};

use super::copy::{copy_rows, CopyBuf};
use super::DbError;
use crate::engine::{ClusterRow, Output, PayerVerdict, PaymentVerdict};
use crate::labels::{FileLabel, LabelSet};
use crate::types::{hex0x, Addr};

/// The classifier's saved position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Last classified block.
    pub last_block: i64,
    /// Its hash.
    pub last_block_hash: Option<Vec<u8>>,
    /// Rule version used.
    pub rule_version: String,
    /// Label version used.
    pub label_version: String,
}

/// The saved state of `chain_id`.
pub async fn state(pool: &PgPool, chain_id: i64) -> Result<Option<State>, DbError> {
    let row: Option<(i64, Option<Vec<u8>>, String, String)> = sqlx::query_as(
        "select last_block, last_block_hash, rule_version, label_version from classifier_state where chain_id = $1",
    )
    .bind(chain_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(last_block, last_block_hash, rule_version, label_version)| State {
            last_block,
            last_block_hash,
            rule_version,
            label_version,
        },
    ))
}

fn payment_row(b: &mut CopyBuf, chain_id: i64, out: &Output, v: &PaymentVerdict) {
    b.plain(chain_id)
        .bytes(&v.id)
        .plain(v.class.as_str())
        .ident_array(v.flags.iter().map(|f| f.as_str()));
    b.text(&v.evidence);
    b.plain(format_args!("{:.6}", v.project_share))
        .plain(format_args!("{:.6}", v.haircut_share));
    match v.cluster_id {
        Some(c) => b.plain(c),
        None => b.null(),
    };
    b.plain(&out.rule_version).plain(&out.label_version);
}

fn payer_row(b: &mut CopyBuf, chain_id: i64, out: &Output, v: &PayerVerdict) {
    b.plain(chain_id)
        .bytes(&v.payer)
        .plain(v.class.as_str())
        .ident_array(v.flags.iter().map(|f| f.as_str()));
    b.text(&v.evidence.to_string());
    b.opt_bytes(v.first_funder.as_ref().map(|a| &a[..]));
    match v.cluster_id {
        Some(c) => b.plain(c),
        None => b.null(),
    };
    b.plain(&out.rule_version).plain(&out.label_version);
    b.plain(hex0x(&v.entity_id));
    match &v.entity_reason {
        Some(r) => b.text(r),
        None => b.null(),
    };
}

fn cluster_row(b: &mut CopyBuf, chain_id: i64, c: &ClusterRow) {
    b.plain(chain_id)
        .plain(c.cluster_id)
        .bytes(&c.root_funder)
        .plain(c.members)
        .text(&c.stats.to_string());
}

const PAYMENT_COLS: &str = "chain_id, payment_id, class, flags, evidence, project_share, haircut_share, cluster_id, rule_version, label_version";
const PAYER_COLS: &str = "chain_id, payer, class, flags, evidence, first_funder, cluster_id, rule_version, label_version, entity_id, entity_reason";

async fn write_clusters(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: i64,
    out: &Output,
) -> Result<(), DbError> {
    sqlx::query("delete from funding_clusters where chain_id = $1")
        .bind(chain_id)
        .execute(&mut **tx)
        .await?;
    copy_rows(
        tx,
        "copy funding_clusters (chain_id, cluster_id, root_funder, members, stats) from stdin",
        &out.clusters,
        |b, c| cluster_row(b, chain_id, c),
    )
    .await?;
    Ok(())
}

async fn write_labels(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: i64,
    labels: &LabelSet,
) -> Result<(), DbError> {
    sqlx::query("delete from labels where chain_id = $1")
        .bind(chain_id)
        .execute(&mut **tx)
        .await?;
    copy_rows(
        tx,
        "copy labels (chain_id, address, kind, role, source, valid_from_block, valid_to_block, note, registry_tx, unlabel_tx) from stdin",
        labels.all(),
        |b, l| {
            b.plain(chain_id).bytes(&l.address).plain(l.kind.as_str());
            match &l.role {
                Some(r) => b.text(r),
                None => b.null(),
            };
            b.plain(l.source.as_str()).plain(l.valid_from_block);
            match l.valid_to_block {
                Some(t) => b.plain(t),
                None => b.null(),
            };
            b.text(&l.note).opt_bytes(l.registry_tx.as_ref().map(|h| &h[..])).opt_bytes(l.unlabel_tx.as_ref().map(|h| &h[..]));
        },
    )
    .await?;
    Ok(())
}

async fn save_state(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: i64,
    out: &Output,
    block: i64,
    hash: &[u8],
) -> Result<(), DbError> {
    sqlx::query(
        "insert into classifier_state (chain_id, last_block, last_block_hash, rule_version, label_version, payments_classified, updated_at)
         values ($1, $2, $3, $4, $5, (select count(*) from payment_classes where chain_id = $1), now())
         on conflict (chain_id) do update set last_block = excluded.last_block, last_block_hash = excluded.last_block_hash,
           rule_version = excluded.rule_version, label_version = excluded.label_version,
           payments_classified = excluded.payments_classified, updated_at = now()",
    )
    .bind(chain_id)
    .bind(block)
    .bind(hash)
    .bind(&out.rule_version)
    .bind(&out.label_version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces every verdict of `chain_id` with `out` (from-scratch classification), in one
/// transaction, so readers see either the old or the new classification.
pub async fn replace_all(
    pool: &PgPool,
    chain_id: i64,
    out: &Output,
    labels: &LabelSet,
    block: i64,
    hash: &[u8],
) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    // Only this chain's rows go; when the table holds no other chain, TRUNCATE is much faster.
    let others: bool = sqlx::query_scalar(
        "select exists(select 1 from payment_classes where chain_id <> $1)
             or exists(select 1 from payer_classes where chain_id <> $1)",
    )
    .bind(chain_id)
    .fetch_one(&mut *tx)
    .await?;
    if others {
        sqlx::query("delete from payment_classes where chain_id = $1")
            .bind(chain_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from payer_classes where chain_id = $1")
            .bind(chain_id)
            .execute(&mut *tx)
            .await?;
        copy_rows(
            &mut tx,
            &format!("copy payment_classes ({PAYMENT_COLS}) from stdin"),
            &out.payments,
            |b, v| payment_row(b, chain_id, out, v),
        )
        .await?;
    } else {
        // Empty tables in this transaction: load without the indexes and build them once at the
        // end (much faster than maintaining them row by row), with rows written frozen.
        sqlx::query("truncate payment_classes, payer_classes")
            .execute(&mut *tx)
            .await?;
        sqlx::query("alter table payment_classes drop constraint payment_classes_pkey")
            .execute(&mut *tx)
            .await?;
        sqlx::query("drop index payment_classes_class_idx")
            .execute(&mut *tx)
            .await?;
        copy_rows(
            &mut tx,
            &format!("copy payment_classes ({PAYMENT_COLS}) from stdin with (freeze)"),
            &out.payments,
            |b, v| payment_row(b, chain_id, out, v),
        )
        .await?;
        tracing::debug!("payment rows copied");
        sqlx::query("alter table payment_classes add primary key (chain_id, payment_id)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("create index payment_classes_class_idx on payment_classes (chain_id, class)")
            .execute(&mut *tx)
            .await?;
    }
    copy_rows(
        &mut tx,
        &format!("copy payer_classes ({PAYER_COLS}) from stdin"),
        &out.payers,
        |b, v| payer_row(b, chain_id, out, v),
    )
    .await?;
    tracing::debug!("payment and payer rows copied");
    write_clusters(&mut tx, chain_id, out).await?;
    write_labels(&mut tx, chain_id, labels).await?;
    save_state(&mut tx, chain_id, out, block, hash).await?;
    tx.commit().await?;
    Ok(())
}

/// Upserts the verdicts in `out` (the affected payers of an incremental step), rewrites the
/// clusters, and advances the state, in one transaction.
pub async fn upsert(
    pool: &PgPool,
    chain_id: i64,
    out: &Output,
    block: i64,
    hash: &[u8],
) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "create temp table if not exists payment_classes_in (like payment_classes including defaults) on commit drop",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("create temp table if not exists payer_classes_in (like payer_classes including defaults) on commit drop")
        .execute(&mut *tx)
        .await?;
    copy_rows(
        &mut tx,
        &format!("copy payment_classes_in ({PAYMENT_COLS}) from stdin"),
        &out.payments,
        |b, v| payment_row(b, chain_id, out, v),
    )
    .await?;
    copy_rows(
        &mut tx,
        &format!("copy payer_classes_in ({PAYER_COLS}) from stdin"),
        &out.payers,
        |b, v| payer_row(b, chain_id, out, v),
    )
    .await?;
    sqlx::query(&format!(
        "insert into payment_classes ({PAYMENT_COLS}, classified_at) select {PAYMENT_COLS}, now() from payment_classes_in
         on conflict (chain_id, payment_id) do update set class = excluded.class, flags = excluded.flags,
           evidence = excluded.evidence, project_share = excluded.project_share, haircut_share = excluded.haircut_share,
           cluster_id = excluded.cluster_id, rule_version = excluded.rule_version, label_version = excluded.label_version,
           classified_at = excluded.classified_at"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "insert into payer_classes ({PAYER_COLS}, classified_at) select {PAYER_COLS}, now() from payer_classes_in
         on conflict (chain_id, payer) do update set class = excluded.class, flags = excluded.flags,
           evidence = excluded.evidence, first_funder = excluded.first_funder, cluster_id = excluded.cluster_id,
           entity_id = excluded.entity_id, entity_reason = excluded.entity_reason, rule_version = excluded.rule_version, label_version = excluded.label_version,
           classified_at = excluded.classified_at"
    ))
    .execute(&mut *tx)
    .await?;
    write_clusters(&mut tx, chain_id, out).await?;
    save_state(&mut tx, chain_id, out, block, hash).await?;
    tx.commit().await?;
    Ok(())
}

/// How `labels import` treats the labels imported before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// The file's entries replace the earlier entries of the addresses it names; every other
    /// address keeps its labels (the default).
    Merge,
    /// The file becomes the whole imported label set of its chains: addresses it does not name
    /// lose their imported labels.
    Replace,
}

/// What one import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Entries that were not there before.
    pub added: Vec<FileLabel>,
    /// Earlier entries of addresses the file names that the file no longer has (relabelled, or a
    /// changed note or starting block).
    pub replaced: Vec<FileLabel>,
    /// Earlier entries of addresses the file does not name (removed only with `Replace`).
    pub removed: Vec<FileLabel>,
    /// Entries the file repeats unchanged.
    pub unchanged: usize,
}

impl ImportReport {
    /// Whether the effective label set changed.
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.replaced.is_empty() && self.removed.is_empty())
    }
}

/// Merges `labels` into the earlier imports ([`ImportMode::Merge`], what `labels import` does by
/// default); returns how many entries were written (new or changed).
pub async fn import_file_labels(pool: &PgPool, labels: &[FileLabel]) -> Result<u64, DbError> {
    Ok(import_labels(pool, labels, ImportMode::Merge)
        .await?
        .added
        .len() as u64)
}

/// Imports labels-file entries: merges them into the earlier imports (or, with
/// [`ImportMode::Replace`], makes them the whole imported set of their chains), in one
/// transaction, and reports what was added, replaced and removed.
pub async fn import_labels(
    pool: &PgPool,
    labels: &[FileLabel],
    mode: ImportMode,
) -> Result<ImportReport, DbError> {
    // The file's entries, last one winning for a repeated (chain, address, kind, role).
    let mut wanted: BTreeMap<(i64, Addr, &'static str, String), &FileLabel> = BTreeMap::new();
    for l in labels {
        wanted.insert(
            (
                l.chain_id,
                l.address,
                l.kind.as_str(),
                l.role.clone().unwrap_or_default(),
            ),
            l,
        );
    }
    let chains: BTreeSet<i64> = labels.iter().map(|l| l.chain_id).collect();
    let named: BTreeSet<(i64, Addr)> = labels.iter().map(|l| (l.chain_id, l.address)).collect();
    let mut tx = pool.begin().await?;
    let mut report = ImportReport::default();
    let mut drop: Vec<&FileLabel> = Vec::new();
    let mut existing: Vec<FileLabel> = Vec::new();
    for c in &chains {
        existing.extend(super::load::file_labels_in(&mut tx, *c).await?);
    }
    let mut kept: BTreeSet<(i64, Addr, &'static str, String)> = BTreeSet::new();
    for old in &existing {
        let key = (
            old.chain_id,
            old.address,
            old.kind.as_str(),
            old.role.clone().unwrap_or_default(),
        );
        match wanted.get(&key) {
            Some(new) if *new == old => {
                report.unchanged += 1;
                kept.insert(key);
            }
            _ if named.contains(&(old.chain_id, old.address)) => report.replaced.push(old.clone()),
            _ if mode == ImportMode::Replace => report.removed.push(old.clone()),
            _ => {}
        }
    }
    drop.extend(report.replaced.iter());
    drop.extend(report.removed.iter());
    for (key, l) in &wanted {
        if !kept.contains(key) {
            report.added.push((*l).clone());
        }
    }
    if !drop.is_empty() {
        sqlx::query(
            "delete from label_file_entries e using unnest($1::int8[], $2::bytea[], $3::text[], $4::text[]) as d(c, a, k, r)
             where e.chain_id = d.c and e.address = d.a and e.kind = d.k and e.role_key = d.r",
        )
        .bind(drop.iter().map(|l| l.chain_id).collect::<Vec<_>>())
        .bind(drop.iter().map(|l| l.address.to_vec()).collect::<Vec<_>>())
        .bind(drop.iter().map(|l| l.kind.as_str().to_string()).collect::<Vec<_>>())
        .bind(drop.iter().map(|l| l.role.clone().unwrap_or_default()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let add = &report.added;
    sqlx::query(
        "insert into label_file_entries (chain_id, address, kind, role, valid_from_block, note)
         select * from unnest($1::int8[], $2::bytea[], $3::text[], $4::text[], $5::int8[], $6::text[])
         on conflict (chain_id, address, kind, role_key) do update set valid_from_block = excluded.valid_from_block,
           note = excluded.note, imported_at = now()",
    )
    .bind(add.iter().map(|l| l.chain_id).collect::<Vec<_>>())
    .bind(add.iter().map(|l| l.address.to_vec()).collect::<Vec<_>>())
    .bind(add.iter().map(|l| l.kind.as_str().to_string()).collect::<Vec<_>>())
    .bind(add.iter().map(|l| l.role.clone()).collect::<Vec<_>>())
    .bind(add.iter().map(|l| l.from_block).collect::<Vec<_>>())
    .bind(add.iter().map(|l| l.note.clone()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(report)
}
