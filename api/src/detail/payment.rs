//! One payment: its lifecycle, its classification with the evidence, and for batched evidence
//! the Merkle inclusion proof.

use alloy_primitives::B256;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;
use x402_evidence::{evidence_leaf, verify_proof, EvidenceTree};

use crate::error::{ApiError, ApiResult};
use crate::model::{hex_bytes, ser_hex, ser_opt_hex};

use super::ids_as_strings;

/// A lifecycle event of a payment.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PaymentEvent {
    /// charged | authorized | captured | voided | reclaimed | refunded | split
    pub kind: String,
    /// Block.
    pub block_number: i64,
    /// Log index in the block.
    pub log_index: i32,
    /// Block time.
    pub time: DateTime<Utc>,
    /// Transaction.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub tx_hash: Vec<u8>,
    /// Amount moved by the event, raw token units.
    pub amount: String,
    /// Evidence hash (charges and captures).
    #[serde(serialize_with = "ser_opt_hex")]
    #[schema(value_type = Option<String>)]
    pub evidence_hash: Option<Vec<u8>>,
    /// Split recipient (split events).
    #[serde(serialize_with = "ser_opt_hex")]
    #[schema(value_type = Option<String>)]
    pub recipient: Option<Vec<u8>>,
}

/// The classifier's verdict on a payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Classification {
    /// The class (first rule that matched).
    pub class: String,
    /// Every rule that fired.
    pub flags: Vec<String>,
    /// Why: labels and registry transactions, funding paths, shares, cluster statistics.
    #[schema(value_type = BTreeMap<String, Value>)]
    pub evidence: Value,
    /// FIFO project share of the spent tokens.
    pub project_share: Option<f64>,
    /// Haircut (pro-rata) project share.
    pub haircut_share: Option<f64>,
    /// Funding cluster (decimal string: ids are int8 and may exceed 2^53).
    pub cluster_id: Option<String>,
    /// Rule-set version.
    pub rule_version: String,
    /// Label-set version.
    pub label_version: String,
    /// When classified.
    pub classified_at: DateTime<Utc>,
}

/// Merkle inclusion proof of a batched payment's evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InclusionProof {
    /// The batch.
    pub batch_id: String,
    /// The batch's transaction.
    pub batch_tx_hash: String,
    /// The root the contract emitted in `BatchSettled`.
    pub evidence_root: String,
    /// The root rebuilt from the settled items in log order.
    pub computed_root: String,
    /// Whether they agree (false means the indexed batch is incomplete or inconsistent).
    pub root_matches: bool,
    /// This payment's position among the settled items.
    pub leaf_index: usize,
    /// Settled items in the batch.
    pub leaf_count: usize,
    /// `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))`.
    pub leaf: String,
    /// Sibling hashes from leaf to root (sorted-pair keccak; pass to `verifyEvidence`).
    pub proof: Vec<String>,
    /// Whether the proof verifies against the emitted root.
    pub verified: bool,
}

/// One payment in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentDetail {
    /// Payment id.
    pub payment_id: String,
    /// Payer.
    pub payer: String,
    /// Payee.
    pub payee: String,
    /// Token.
    pub token: String,
    /// Facilitator.
    pub facilitator: String,
    /// Where the payment comes from: `settlement`, `eip3009`, `settlement_eip3009` or
    /// `permit2_proxy` (the `source` filter's values).
    pub source: String,
    /// 0 Exact, 1 Upto, 2 Escrow.
    pub mode: i16,
    /// Lifecycle status.
    pub status: String,
    /// Whether an escrow is closed.
    pub closed: bool,
    /// Signed amount or maximum.
    pub max_amount: String,
    /// Gross settled amount.
    pub settled_amount: String,
    /// Settled minus refunded.
    pub net_settled_amount: String,
    /// Refunded.
    pub refunded_amount: String,
    /// Facilitator fees.
    pub facilitator_fee: String,
    /// Protocol fees.
    pub protocol_fee: String,
    /// Paid to split recipients.
    pub split_amount: String,
    /// Request hash the payer signed.
    pub request_hash: String,
    /// Evidence hash of the charge or latest capture.
    pub evidence_hash: Option<String>,
    /// Batch (0 = alone; null for escrows).
    pub batch_id: Option<String>,
    /// First block.
    pub block_number: i64,
    /// First block time.
    pub time: DateTime<Utc>,
    /// First transaction.
    pub tx_hash: String,
    /// Lifecycle events, in chain order.
    pub events: Vec<PaymentEvent>,
    /// The classification (null until classified).
    pub classification: Option<Classification>,
    /// Inclusion proof when the payment settled in a batch that committed an evidence root.
    pub inclusion_proof: Option<InclusionProof>,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    payer: Vec<u8>,
    payee: Vec<u8>,
    token: Vec<u8>,
    facilitator: Vec<u8>,
    source: String,
    mode: i16,
    status: String,
    closed: bool,
    max_amount: String,
    settled_amount: String,
    net_settled_amount: String,
    refunded_amount: String,
    facilitator_fee: String,
    protocol_fee: String,
    split_amount: String,
    request_hash: Vec<u8>,
    evidence_hash: Option<Vec<u8>>,
    batch_id: Option<String>,
    first_block_number: i64,
    first_block_time: DateTime<Utc>,
    first_tx_hash: Vec<u8>,
    class: Option<String>,
    flags: Option<Vec<String>>,
    evidence: Option<Value>,
    project_share: Option<f64>,
    haircut_share: Option<f64>,
    cluster_id: Option<i64>,
    rule_version: Option<String>,
    label_version: Option<String>,
    classified_at: Option<DateTime<Utc>>,
}

/// Loads one payment.
pub async fn payment(pool: &PgPool, chain: i64, id: B256) -> ApiResult<PaymentDetail> {
    let row: Option<PaymentRow> = sqlx::query_as(
        "select p.payer, p.payee, p.token, p.facilitator, p.source, p.mode, p.status, p.closed,
                p.max_amount::text as max_amount, p.settled_amount::text as settled_amount,
                p.net_settled_amount::text as net_settled_amount, p.refunded_amount::text as refunded_amount,
                p.facilitator_fee::text as facilitator_fee, p.protocol_fee::text as protocol_fee,
                p.split_amount::text as split_amount, p.request_hash, p.evidence_hash,
                p.batch_id::text as batch_id, p.first_block_number, p.first_block_time, p.first_tx_hash,
                pc.class, pc.flags, pc.evidence, pc.project_share::float8 as project_share,
                pc.haircut_share::float8 as haircut_share, pc.cluster_id, pc.rule_version,
                pc.label_version, pc.classified_at
         from payments p
         left join payment_classes pc on pc.chain_id = p.chain_id and pc.payment_id = p.payment_id
         where p.chain_id = $1 and p.payment_id = $2",
    )
    .bind(chain)
    .bind(id.as_slice())
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Err(ApiError::NotFound(format!("payment {id}")));
    };

    let events: Vec<PaymentEvent> = sqlx::query_as(
        "select * from (
            select 'charged' as kind, block_number, log_index, block_time as time, tx_hash, amount::text as amount,
                   evidence_hash, null::bytea as recipient
              from charges where chain_id = $1 and payment_id = $2
            union all select 'charged', block_number, log_index, block_time, tx_hash, amount::text, evidence_hash, null
              from authorization_charges where chain_id = $1 and payment_id = $2
            union all select 'authorized', block_number, log_index, block_time, tx_hash, amount::text, null, null
              from authorizations where chain_id = $1 and payment_id = $2
            union all select 'captured', block_number, log_index, block_time, tx_hash, amount::text, evidence_hash, null
              from captures where chain_id = $1 and payment_id = $2
            union all select 'voided', block_number, log_index, block_time, tx_hash, amount::text, null, null
              from voids where chain_id = $1 and payment_id = $2
            union all select 'reclaimed', block_number, log_index, block_time, tx_hash, amount::text, null, null
              from reclaims where chain_id = $1 and payment_id = $2
            union all select 'refunded', block_number, log_index, block_time, tx_hash, amount::text, null, null
              from refunds where chain_id = $1 and payment_id = $2
            union all select 'split', block_number, log_index, block_time, tx_hash, amount::text, null, recipient
              from split_payments where chain_id = $1 and payment_id = $2
         ) e order by block_number, log_index",
    )
    .bind(chain)
    .bind(id.as_slice())
    .fetch_all(pool)
    .await?;

    let inclusion_proof = match (&r.batch_id, &r.evidence_hash) {
        (Some(batch), Some(ev)) if batch != "0" => {
            inclusion_proof(pool, chain, batch, id, B256::from_slice(ev)).await?
        }
        _ => None,
    };
    let classification = r.class.map(|class| Classification {
        class,
        flags: r.flags.unwrap_or_default(),
        evidence: ids_as_strings(r.evidence.unwrap_or(Value::Null)),
        project_share: r.project_share,
        haircut_share: r.haircut_share,
        cluster_id: r.cluster_id.map(|c| c.to_string()),
        rule_version: r.rule_version.unwrap_or_default(),
        label_version: r.label_version.unwrap_or_default(),
        classified_at: r.classified_at.unwrap_or_default(),
    });
    Ok(PaymentDetail {
        payment_id: id.to_string(),
        payer: hex_bytes(&r.payer),
        payee: hex_bytes(&r.payee),
        token: hex_bytes(&r.token),
        facilitator: hex_bytes(&r.facilitator),
        source: r.source,
        mode: r.mode,
        status: r.status,
        closed: r.closed,
        max_amount: r.max_amount,
        settled_amount: r.settled_amount,
        net_settled_amount: r.net_settled_amount,
        refunded_amount: r.refunded_amount,
        facilitator_fee: r.facilitator_fee,
        protocol_fee: r.protocol_fee,
        split_amount: r.split_amount,
        request_hash: hex_bytes(&r.request_hash),
        evidence_hash: r.evidence_hash.as_deref().map(hex_bytes),
        batch_id: r.batch_id,
        block_number: r.first_block_number,
        time: r.first_block_time,
        tx_hash: hex_bytes(&r.first_tx_hash),
        events,
        classification,
        inclusion_proof,
    })
}

/// Rebuilds the batch's evidence tree from its settled items in log order (the contract builds
/// it in item order over settled items, and logs follow item order) and proves `id`'s leaf.
/// `None` when the batch committed no root (all zero) or is not indexed.
async fn inclusion_proof(
    pool: &PgPool,
    chain: i64,
    batch: &str,
    id: B256,
    evidence: B256,
) -> ApiResult<Option<InclusionProof>> {
    let root: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "select evidence_root, tx_hash from batches where chain_id = $1 and batch_id = $2::numeric
         order by block_number desc, log_index desc limit 1",
    )
    .bind(chain)
    .bind(batch)
    .fetch_optional(pool)
    .await?;
    let Some((root, batch_tx)) = root else {
        return Ok(None);
    };
    let root = B256::from_slice(&root);
    if root == B256::ZERO {
        return Ok(None);
    }
    let items: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "select payment_id, evidence_hash from charges where chain_id = $1 and batch_id = $2::numeric
         order by block_number, log_index",
    )
    .bind(chain)
    .bind(batch)
    .fetch_all(pool)
    .await?;
    let items: Vec<(B256, B256)> = items
        .iter()
        .map(|(p, e)| (B256::from_slice(p), B256::from_slice(e)))
        .collect();
    let Some(index) = items.iter().position(|(p, _)| *p == id) else {
        return Ok(None);
    };
    let tree = EvidenceTree::from_items(&items);
    let proof = tree.proof(index).unwrap_or_default();
    let leaf = evidence_leaf(id, evidence);
    Ok(Some(InclusionProof {
        batch_id: batch.to_string(),
        batch_tx_hash: hex_bytes(&batch_tx),
        evidence_root: root.to_string(),
        computed_root: tree.root().to_string(),
        root_matches: tree.root() == root,
        leaf_index: index,
        leaf_count: items.len(),
        leaf: leaf.to_string(),
        verified: verify_proof(&proof, root, leaf),
        proof: proof.iter().map(|p| p.to_string()).collect(),
    }))
}
