//! Drill-downs: one payment (with its lifecycle, classification evidence and, for batched
//! evidence, the Merkle inclusion proof) and one payer's profile (with the full explanation of its
//! class).

use x402_evidence::{evidence_leaf, verify_proof, EvidenceTree};
use alloy_primitives::B256;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::model::{hex_bytes, ser_hex, ser_opt_hex};

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
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// FIFO project share of the spent tokens.
    pub project_share: Option<f64>,
    /// Haircut (pro-rata) project share.
    pub haircut_share: Option<f64>,
    /// Funding cluster.
    pub cluster_id: Option<i64>,
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
        "select p.payer, p.payee, p.token, p.facilitator, p.mode, p.status, p.closed,
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
        evidence: r.evidence.unwrap_or(Value::Null),
        project_share: r.project_share,
        haircut_share: r.haircut_share,
        cluster_id: r.cluster_id,
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

/// A label on a payer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct LabelOut {
    /// exchange | bridge | ecosystem | other
    pub kind: String,
    /// Ecosystem role, or free text.
    pub role: Option<String>,
    /// registry | file
    pub source: String,
    /// Holds from this block.
    pub valid_from_block: i64,
    /// Until this block (exclusive); null = still holds.
    pub valid_to_block: Option<i64>,
    /// Note.
    pub note: String,
    /// Registry transaction that set it.
    pub registry_tx: Option<String>,
}

/// Volume and count of one class (or payee) in a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    /// The class name or payee address.
    pub key: String,
    /// Payments.
    pub payments: i64,
    /// Volume, raw token units.
    pub volume: String,
}

/// How often a rule fired on the payer's payments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagCount {
    /// The flag.
    pub flag: String,
    /// Payments it fired on.
    pub payments: i64,
}

/// The payer's funding cluster.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClusterOut {
    /// Cluster id.
    pub cluster_id: i64,
    /// The cluster's root funder.
    pub root_funder: String,
    /// Members.
    pub members: i32,
    /// Cluster statistics (paying members, shared payees, same-amount share, start-window share,
    /// CV of payment counts, criteria met).
    #[schema(value_type = Object)]
    pub stats: Value,
}

/// A payer's class verdict with its evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerVerdict {
    /// The class.
    pub class: String,
    /// Every flag.
    pub flags: Vec<String>,
    /// The classifier's explanation.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// First funder.
    pub first_funder: Option<String>,
    /// Rule-set version.
    pub rule_version: String,
    /// Label-set version.
    pub label_version: String,
    /// When classified.
    pub classified_at: DateTime<Utc>,
}

/// Evidence of one representative payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentEvidence {
    /// The payment.
    pub payment_id: String,
    /// Its class.
    pub class: String,
    /// Its flags.
    pub flags: Vec<String>,
    /// Its evidence.
    #[schema(value_type = Object)]
    pub evidence: Value,
}

/// A payer's payments in one token.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TokenVolume {
    /// The token (EIP-55).
    pub token: String,
    /// Payments in it.
    pub payments: i64,
    /// Volume, raw units of this token.
    pub volume: String,
}

/// A payer's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerProfile {
    /// The payer.
    pub payer: String,
    /// The `token` filter the totals, classes, payees and flags count (null = every token, whose
    /// raw units do not add up across tokens of different decimals: read `volume_by_token`).
    pub token: Option<String>,
    /// Its verdict (null until classified).
    pub verdict: Option<PayerVerdict>,
    /// Plain-language reasons, derived from the verdict and the payments' flags.
    pub explanation: Vec<String>,
    /// Labels on the payer's address.
    pub labels: Vec<LabelOut>,
    /// Its funding cluster.
    pub cluster: Option<ClusterOut>,
    /// Payments counted.
    pub payments: i64,
    /// Volume, raw units of `token`. Without a `token` filter this sums raw units across
    /// tokens and is only meaningful when `volume_by_token` has a single entry.
    pub volume: String,
    /// Payments and volume per token (every token, whatever the filter), largest count first.
    pub volume_by_token: Vec<TokenVolume>,
    /// Days with a payment.
    pub active_days: i64,
    /// Distinct payees.
    pub payees: i64,
    /// First day with a payment.
    pub first_day: Option<NaiveDate>,
    /// Last day with a payment.
    pub last_day: Option<NaiveDate>,
    /// Its payments by class.
    pub by_class: Vec<Share>,
    /// Its largest payees.
    pub top_payees: Vec<Share>,
    /// Flags over its payments.
    pub payment_flags: Vec<FlagCount>,
    /// The evidence of its most recent payment of the payer's class.
    pub example_payment: Option<PaymentEvidence>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    payments: Option<i64>,
    volume: Option<String>,
    active_days: Option<i64>,
    payees: Option<i64>,
    first_day: Option<NaiveDate>,
    last_day: Option<NaiveDate>,
    class_keys: Option<Vec<String>>,
    class_payments: Option<Vec<i64>>,
    class_volumes: Option<Vec<String>>,
    payee_keys: Option<Vec<Vec<u8>>>,
    payee_payments: Option<Vec<i64>>,
    payee_volumes: Option<Vec<String>>,
    flag_keys: Option<Vec<String>>,
    flag_payments: Option<Vec<i64>>,
    v_class: Option<String>,
    v_flags: Option<Vec<String>>,
    v_evidence: Option<Value>,
    v_first_funder: Option<Vec<u8>>,
    v_cluster: Option<i64>,
    v_rule: Option<String>,
    v_label: Option<String>,
    v_at: Option<DateTime<Utc>>,
    c_root: Option<Vec<u8>>,
    c_members: Option<i32>,
    c_stats: Option<Value>,
    ex_id: Option<Vec<u8>>,
    ex_class: Option<String>,
    ex_flags: Option<Vec<String>>,
    ex_evidence: Option<Value>,
    labels: Option<Value>,
}

/// The profile aggregates of one payer in one token, computed from `api_payer_days` (the
/// precomputed `api_payer_stats` spans every token).
#[derive(sqlx::FromRow)]
struct TokenAggRow {
    payments: Option<i64>,
    volume: Option<String>,
    active_days: Option<i64>,
    payees: Option<i64>,
    first_day: Option<NaiveDate>,
    last_day: Option<NaiveDate>,
    class_keys: Option<Vec<String>>,
    class_payments: Option<Vec<i64>>,
    class_volumes: Option<Vec<String>>,
    payee_keys: Option<Vec<Vec<u8>>>,
    payee_payments: Option<Vec<i64>>,
    payee_volumes: Option<Vec<String>>,
    flag_keys: Option<Vec<String>>,
    flag_payments: Option<Vec<i64>>,
}

/// Same shape and order as `api_refresh_payer_stats`, restricted to one token. One payer's rows
/// are few and reached through the `(chain_id, payer, ...)` indexes, so this stays cheap.
const TOKEN_AGG_SQL: &str = "
    with d as (select day, payee, class, payments, volume from api_payer_days
               where chain_id = $1 and payer = $2 and token = $3)
    select (select sum(payments)::int8 from d) as payments,
           (select sum(volume)::text from d) as volume,
           (select count(distinct day)::int8 from d) as active_days,
           (select count(distinct payee)::int8 from d) as payees,
           (select min(day) from d) as first_day, (select max(day) from d) as last_day,
           bc.keys as class_keys, bc.n as class_payments, bc.v as class_volumes,
           tp.keys as payee_keys, tp.n as payee_payments, tp.v as payee_volumes,
           fl.keys as flag_keys, fl.n as flag_payments
    from (select array_agg(class order by v desc, class) as keys, array_agg(n order by v desc, class) as n,
                 array_agg(v::text order by v desc, class) as v
          from (select class, sum(payments)::int8 as n, sum(volume) as v from d group by class) x) bc,
         (select array_agg(payee order by v desc, payee) as keys, array_agg(n order by v desc, payee) as n,
                 array_agg(v::text order by v desc, payee) as v
          from (select payee, sum(payments)::int8 as n, sum(volume) as v from d
                group by payee order by sum(volume) desc, payee limit 10) x) tp,
         (select array_agg(flag order by n desc, flag) as keys, array_agg(n order by n desc, flag) as n
          from (select flag, count(*)::int8 as n
                from api_payment_facts f
                join payment_classes pc on pc.chain_id = f.chain_id and pc.payment_id = f.payment_id
                cross join unnest(pc.flags) as flag
                where f.chain_id = $1 and f.payer = $2 and f.token = $3
                group by flag) x) fl";

/// Loads a payer's profile in one statement of primary-key lookups: the aggregates come
/// precomputed from `api_payer_stats` (maintained by the refresh), the verdict, cluster, example
/// evidence and labels from the classifier's tables. With a `token`, the aggregates are
/// recomputed for that token alone; `volume_by_token` is always read from `api_payer_days`.
pub async fn payer(
    pool: &PgPool,
    chain: i64,
    payer: alloy_primitives::Address,
    token: Option<alloy_primitives::Address>,
) -> ApiResult<PayerProfile> {
    let mut row: ProfileRow = sqlx::query_as(
        "select s.payments, s.volume::text as volume, s.active_days, s.payees, s.first_day, s.last_day,
                s.class_keys, s.class_payments, s.class_volumes, s.payee_keys, s.payee_payments,
                s.payee_volumes, s.flag_keys, s.flag_payments,
                v.class as v_class, v.flags as v_flags, v.evidence as v_evidence,
                v.first_funder as v_first_funder, v.cluster_id as v_cluster, v.rule_version as v_rule,
                v.label_version as v_label, v.classified_at as v_at,
                c.root_funder as c_root, c.members as c_members, c.stats as c_stats,
                s.example_payment as ex_id, ep.class as ex_class, ep.flags as ex_flags, ep.evidence as ex_evidence,
                lb.labels
         from (select 1) one
         left join api_payer_stats s on s.chain_id = $1 and s.payer = $2
         left join payer_classes v on v.chain_id = $1 and v.payer = $2
         left join funding_clusters c on c.chain_id = $1 and c.cluster_id = v.cluster_id
         left join payment_classes ep on ep.chain_id = $1 and ep.payment_id = s.example_payment
         left join lateral (
             select json_agg(json_build_object(
                        'kind', l.kind, 'role', l.role, 'source', l.source,
                        'valid_from_block', l.valid_from_block, 'valid_to_block', l.valid_to_block,
                        'note', l.note,
                        'registry_tx', case when l.registry_tx is null then null
                                            else '0x' || encode(l.registry_tx, 'hex') end)
                    order by l.valid_from_block, l.kind, l.source) as labels
             from labels l where l.chain_id = $1 and l.address = $2
         ) lb on true",
    )
    .bind(chain)
    .bind(payer.as_slice())
    .fetch_one(pool)
    .await?;
    if row.payments.is_none() && row.v_class.is_none() {
        return Err(ApiError::NotFound(format!("payer {payer}")));
    }
    let by_token: Vec<(Vec<u8>, i64, String)> = sqlx::query_as(
        "select token, sum(payments)::int8, sum(volume)::text from api_payer_days
         where chain_id = $1 and payer = $2 group by token order by sum(payments) desc, token",
    )
    .bind(chain)
    .bind(payer.as_slice())
    .fetch_all(pool)
    .await?;
    let volume_by_token = by_token
        .into_iter()
        .map(|(t, payments, volume)| TokenVolume {
            token: alloy_primitives::Address::from_slice(&t).to_checksum(None),
            payments,
            volume,
        })
        .collect();
    if let Some(t) = token {
        let a: TokenAggRow = sqlx::query_as(TOKEN_AGG_SQL)
            .bind(chain)
            .bind(payer.as_slice())
            .bind(t.as_slice())
            .fetch_one(pool)
            .await?;
        row.payments = Some(a.payments.unwrap_or(0));
        row.volume = a.volume;
        row.active_days = a.active_days;
        row.payees = a.payees;
        row.first_day = a.first_day;
        row.last_day = a.last_day;
        row.class_keys = a.class_keys;
        row.class_payments = a.class_payments;
        row.class_volumes = a.class_volumes;
        row.payee_keys = a.payee_keys;
        row.payee_payments = a.payee_payments;
        row.payee_volumes = a.payee_volumes;
        row.flag_keys = a.flag_keys;
        row.flag_payments = a.flag_payments;
    }
    let labels: Vec<LabelOut> = match row.labels {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| ApiError::Internal(format!("reading labels: {e}")))?,
        None => Vec::new(),
    };

    let zip_shares =
        |keys: Vec<String>, n: Option<Vec<i64>>, v: Option<Vec<String>>| -> Vec<Share> {
            keys.into_iter()
                .zip(n.unwrap_or_default())
                .zip(v.unwrap_or_default())
                .map(|((key, payments), volume)| Share {
                    key,
                    payments,
                    volume,
                })
                .collect()
        };
    let by_class = zip_shares(
        row.class_keys.unwrap_or_default(),
        row.class_payments,
        row.class_volumes,
    );
    let top_payees = zip_shares(
        row.payee_keys
            .unwrap_or_default()
            .iter()
            .map(|p| hex_bytes(p))
            .collect(),
        row.payee_payments,
        row.payee_volumes,
    );
    let payment_flags: Vec<FlagCount> = row
        .flag_keys
        .unwrap_or_default()
        .into_iter()
        .zip(row.flag_payments.unwrap_or_default())
        .map(|(flag, payments)| FlagCount { flag, payments })
        .collect();
    let payments = row.payments.unwrap_or(0);
    let verdict = row.v_class.map(|class| PayerVerdict {
        class,
        flags: row.v_flags.unwrap_or_default(),
        evidence: row.v_evidence.unwrap_or(Value::Null),
        first_funder: row.v_first_funder.as_deref().map(hex_bytes),
        rule_version: row.v_rule.unwrap_or_default(),
        label_version: row.v_label.unwrap_or_default(),
        classified_at: row.v_at.unwrap_or_default(),
    });
    let cluster = match (row.v_cluster, row.c_root) {
        (Some(id), Some(root)) => Some(ClusterOut {
            cluster_id: id,
            root_funder: hex_bytes(&root),
            members: row.c_members.unwrap_or(0),
            stats: row.c_stats.unwrap_or(Value::Null),
        }),
        _ => None,
    };
    let explanation = explain(
        verdict.as_ref(),
        &by_class,
        &payment_flags,
        payments,
        cluster.as_ref(),
    );
    Ok(PayerProfile {
        payer: payer.to_checksum(None),
        token: token.map(|t| t.to_checksum(None)),
        verdict,
        explanation,
        labels,
        cluster,
        payments,
        volume: row.volume.unwrap_or_else(|| "0".into()),
        volume_by_token,
        active_days: row.active_days.unwrap_or(0),
        payees: row.payees.unwrap_or(0),
        first_day: row.first_day,
        last_day: row.last_day,
        by_class,
        top_payees,
        payment_flags,
        example_payment: row.ex_id.map(|id| PaymentEvidence {
            payment_id: hex_bytes(&id),
            class: row.ex_class.unwrap_or_default(),
            flags: row.ex_flags.unwrap_or_default(),
            evidence: row.ex_evidence.unwrap_or(Value::Null),
        }),
    })
}

/// Plain-language reasons: the verdict and its flags, how the payments split by class, which
/// rules fired how often, and the cluster.
fn explain(
    verdict: Option<&PayerVerdict>,
    by_class: &[Share],
    flags: &[FlagCount],
    payments: i64,
    cluster: Option<&ClusterOut>,
) -> Vec<String> {
    let mut out = Vec::new();
    match verdict {
        Some(v) => {
            let fired = if v.flags.is_empty() {
                "no rule fired".to_string()
            } else {
                format!("rules fired: {}", v.flags.join(", "))
            };
            out.push(format!(
                "Classified `{}` (rule set {}, labels {}); {fired}.",
                v.class, v.rule_version, v.label_version
            ));
            if let Some(f) = &v.first_funder {
                out.push(format!("First funded by {f}."));
            }
        }
        None => out.push(
            "Not classified yet: the classifier has not reached this payer's payments.".into(),
        ),
    }
    if !by_class.is_empty() {
        let parts: Vec<String> = by_class
            .iter()
            .map(|s| format!("{} {} ({} units)", s.payments, s.key, s.volume))
            .collect();
        out.push(format!(
            "Its {payments} payments by class: {}.",
            parts.join(", ")
        ));
    }
    for f in flags {
        out.push(format!(
            "`{}` fired on {} of its {} payments.",
            f.flag, f.payments, payments
        ));
    }
    if let Some(c) = cluster {
        out.push(format!(
            "Member of funding cluster {} (root funder {}, {} members).",
            c.cluster_id, c.root_funder, c.members
        ));
    }
    out
}
