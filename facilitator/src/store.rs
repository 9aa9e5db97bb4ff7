//! Idempotency state in PostgreSQL: a row per payment id, claimed with
//! `INSERT ... ON CONFLICT DO NOTHING` before anything is submitted, marked settled with the
//! transaction once mined, and deleted again when nothing was charged (so the payer may retry).
//!
//! One facilitator process per signing key is assumed: a pending row owned by another process
//! id belongs to a process that died mid-settlement and is recovered from the chain.

use alloy::primitives::{Address, B256, U256};
use sqlx::postgres::PgPool;
use sqlx::Row;

/// A database failure.
#[derive(Debug, thiserror::Error)]
#[error("database {action} failed: {source}")]
pub struct StoreError {
    action: &'static str,
    source: sqlx::Error,
}

fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError { action, source }
}

/// What kind of settlement a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `charge` or a `chargeBatch` item (exact, upto).
    Charge,
    /// Escrow `authorize`.
    Authorize,
    /// `chargeWithAuthorization` (a standard EIP-3009 payment).
    Authorization,
    /// `settle` on one of x402's Permit2 proxies.
    Proxy,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Authorize => "authorize",
            Kind::Authorization => "authorization",
            Kind::Proxy => "proxy",
        }
    }
}

/// A stored settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The payment.
    pub payment_id: B256,
    /// What kind of settlement.
    pub kind: Kind,
    /// The payer.
    pub payer: Address,
    /// Whether it is mined (`settled`) or still being worked on (`pending`).
    pub settled: bool,
    /// Gross amount.
    pub amount: U256,
    /// Evidence hash submitted with it.
    pub evidence_hash: B256,
    /// The transaction, once mined.
    pub tx_hash: Option<B256>,
    /// The batch, when batched.
    pub batch_id: Option<U256>,
    /// CAIP-2 network.
    pub network: String,
    /// The process that claimed it.
    pub owner: String,
}

/// Outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the payment now and must settle it (or release it).
    Mine,
    /// Someone claimed it first.
    Taken(Box<Record>),
}

/// The idempotency store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    owner: String,
}

fn b256(bytes: Vec<u8>) -> B256 {
    B256::try_from(bytes.as_slice()).unwrap_or_default()
}

fn u256(text: String) -> U256 {
    text.parse().unwrap_or_default()
}

const RECORD_COLUMNS: &str = "payment_id, kind, payer, status, amount::text AS amount, evidence_hash, tx_hash, batch_id::text AS batch_id, network, owner";

fn record(row: &sqlx::postgres::PgRow) -> Record {
    let payer: Vec<u8> = row.get("payer");
    Record {
        payment_id: b256(row.get("payment_id")),
        kind: match row.get::<String, _>("kind").as_str() {
            "authorize" => Kind::Authorize,
            "authorization" => Kind::Authorization,
            "proxy" => Kind::Proxy,
            _ => Kind::Charge,
        },
        payer: Address::try_from(payer.as_slice()).unwrap_or_default(),
        settled: row.get::<String, _>("status") == "settled",
        amount: u256(row.get("amount")),
        evidence_hash: b256(row.get("evidence_hash")),
        tx_hash: row.get::<Option<Vec<u8>>, _>("tx_hash").map(b256),
        batch_id: row.get::<Option<String>, _>("batch_id").map(u256),
        network: row.get("network"),
        owner: row.get("owner"),
    }
}

impl Store {
    /// Applies the schema's pending migrations (the whole history, `x402_domain::schema`) and
    /// returns a store whose claims carry `owner`.
    pub async fn open(pool: PgPool, owner: String) -> Result<Self, StoreError> {
        x402_domain::schema::migrate(&pool)
            .await
            .map_err(|e| StoreError {
                action: "migrating",
                source: e.into(),
            })?;
        Ok(Self { pool, owner })
    }

    /// This process's owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims a payment; exactly one of any number of concurrent claims gets [`Claim::Mine`].
    pub async fn claim(
        &self,
        payment_id: B256,
        kind: Kind,
        payer: Address,
        amount: U256,
        evidence_hash: B256,
        network: &str,
    ) -> Result<Claim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO facilitator_settlements (payment_id, kind, payer, status, amount, evidence_hash, network, owner)
             VALUES ($1, $2, $3, 'pending', $4::numeric, $5, $6, $7)
             ON CONFLICT (payment_id) DO NOTHING",
        )
        .bind(payment_id.as_slice())
        .bind(kind.as_str())
        .bind(payer.as_slice())
        .bind(amount.to_string())
        .bind(evidence_hash.as_slice())
        .bind(network)
        .bind(&self.owner)
        .execute(&self.pool)
        .await
        .map_err(db("claim"))?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Mine);
        }
        match self.get(payment_id).await? {
            Some(r) => Ok(Claim::Taken(Box::new(r))),
            // Released between our insert and read: try again.
            None => {
                Box::pin(self.claim(payment_id, kind, payer, amount, evidence_hash, network)).await
            }
        }
    }

    /// The stored row of a payment.
    pub async fn get(&self, payment_id: B256) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM facilitator_settlements WHERE payment_id = $1"
        ))
        .bind(payment_id.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read"))?;
        Ok(row.as_ref().map(record))
    }

    /// Records a mined settlement.
    pub async fn mark_settled(
        &self,
        payment_id: B256,
        tx_hash: B256,
        amount: U256,
        batch_id: Option<U256>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE facilitator_settlements
             SET status = 'settled', tx_hash = $2, amount = $3::numeric, batch_id = $4::numeric, updated_at = now()
             WHERE payment_id = $1",
        )
        .bind(payment_id.as_slice())
        .bind(tx_hash.as_slice())
        .bind(amount.to_string())
        .bind(batch_id.map(|b| b.to_string()))
        .execute(&self.pool)
        .await
        .map_err(db("mark settled"))?;
        Ok(())
    }

    /// Drops this process's pending claim: nothing was charged, a retry may settle afresh.
    pub async fn release(&self, payment_id: B256) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM facilitator_settlements WHERE payment_id = $1 AND status = 'pending' AND owner = $2")
            .bind(payment_id.as_slice())
            .bind(&self.owner)
            .execute(&self.pool)
            .await
            .map_err(db("release"))?;
        Ok(())
    }

    /// Takes over a pending row left by another (dead) process; false if it changed meanwhile.
    pub async fn take_over(&self, payment_id: B256, from_owner: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE facilitator_settlements SET owner = $3, updated_at = now()
             WHERE payment_id = $1 AND owner = $2 AND status = 'pending'",
        )
        .bind(payment_id.as_slice())
        .bind(from_owner)
        .bind(&self.owner)
        .execute(&self.pool)
        .await
        .map_err(db("take over"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Pending rows of other processes (left by a crash), for recovery at start.
    pub async fn orphans(&self) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM facilitator_settlements WHERE status = 'pending' AND owner <> $1"
        ))
        .bind(&self.owner)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list orphans"))?;
        Ok(rows.iter().map(record).collect())
    }

    /// Claims an escrow capture keyed by its evidence hash. `Ok(None)`: ours to submit;
    /// `Ok(Some((settled, tx)))`: already claimed.
    pub async fn claim_capture(
        &self,
        payment_id: B256,
        evidence_hash: B256,
        amount: U256,
    ) -> Result<Option<(bool, Option<B256>, U256)>, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO facilitator_captures (payment_id, evidence_hash, amount, status, owner)
             VALUES ($1, $2, $3::numeric, 'pending', $4) ON CONFLICT DO NOTHING",
        )
        .bind(payment_id.as_slice())
        .bind(evidence_hash.as_slice())
        .bind(amount.to_string())
        .bind(&self.owner)
        .execute(&self.pool)
        .await
        .map_err(db("claim capture"))?;
        if inserted.rows_affected() == 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT status, tx_hash, amount::text AS amount FROM facilitator_captures WHERE payment_id = $1 AND evidence_hash = $2",
        )
        .bind(payment_id.as_slice())
        .bind(evidence_hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read capture"))?;
        match row {
            Some(r) => Ok(Some((
                r.get::<String, _>("status") == "settled",
                r.get::<Option<Vec<u8>>, _>("tx_hash").map(b256),
                u256(r.get("amount")),
            ))),
            None => Box::pin(self.claim_capture(payment_id, evidence_hash, amount)).await,
        }
    }

    /// Records a mined capture.
    pub async fn capture_settled(
        &self,
        payment_id: B256,
        evidence_hash: B256,
        tx_hash: B256,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE facilitator_captures SET status = 'settled', tx_hash = $3, updated_at = now()
             WHERE payment_id = $1 AND evidence_hash = $2",
        )
        .bind(payment_id.as_slice())
        .bind(evidence_hash.as_slice())
        .bind(tx_hash.as_slice())
        .execute(&self.pool)
        .await
        .map_err(db("mark capture settled"))?;
        Ok(())
    }

    /// Drops a capture claim that captured nothing.
    pub async fn release_capture(
        &self,
        payment_id: B256,
        evidence_hash: B256,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM facilitator_captures WHERE payment_id = $1 AND evidence_hash = $2 AND status = 'pending'")
            .bind(payment_id.as_slice())
            .bind(evidence_hash.as_slice())
            .execute(&self.pool)
            .await
            .map_err(db("release capture"))?;
        Ok(())
    }
}
