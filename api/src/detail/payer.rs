//! One payer's profile: its verdict and the full explanation of its class, its labels,
//! clusters and volumes per token, payee and facilitator.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::model::hex_bytes;
use crate::money::{bind_prices, dec, plain, px_cte, Money, PriceNote, Pricing};

use super::ids_as_strings;

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

/// Volume and count of one class (or source, or payee) in a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    /// The class name, source name or payee address.
    pub key: String,
    /// Payments.
    pub payments: i64,
    /// Net volume (settled minus refunded), per token and in USD.
    pub volume: Money,
    /// Refunded, per token and in USD (settled = volume + refunded).
    pub refunded: Money,
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
    /// Cluster id (decimal string: ids are int8 and may exceed 2^53).
    pub cluster_id: String,
    /// The cluster's root funder.
    pub root_funder: String,
    /// Members.
    pub members: i32,
    /// Cluster statistics (paying members, shared payees, same-amount share, start-window share,
    /// CV of payment counts, criteria met).
    #[schema(value_type = BTreeMap<String, Value>)]
    pub stats: Value,
}

/// A payer's class verdict with its evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerVerdict {
    /// The class.
    pub class: String,
    /// Every flag.
    pub flags: Vec<String>,
    /// The classifier's explanation. Its amounts are the classifier's (settled amounts, before
    /// refunds); the profile's own figures are net of refunds, with `refunded` beside them.
    /// Integer ids inside (`cluster_id`) are rendered as decimal strings.
    #[schema(value_type = BTreeMap<String, Value>)]
    pub evidence: Value,
    /// First funder.
    pub first_funder: Option<String>,
    /// The paying entity (lowercase 0x-hex of its smallest wallet; the payer itself when the
    /// evidence ties it to no other wallet).
    pub entity_id: String,
    /// Why the payer's wallets form one entity (null for a single-wallet entity).
    pub entity_reason: Option<String>,
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
    /// Its evidence (integer ids as decimal strings).
    #[schema(value_type = BTreeMap<String, Value>)]
    pub evidence: Value,
}

/// A payer's payments in one token.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TokenVolume {
    /// The token (EIP-55).
    pub token: String,
    /// Payments in it.
    pub payments: i64,
    /// Net volume, raw units of this token.
    pub volume: String,
}

/// The amounts every profile figure uses.
pub const AMOUNT_BASIS: &str = "net settled: settled minus refunded, the same amounts as every metric; `refunded` gives the difference, so settled = volume + refunded";

/// A payer's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerProfile {
    /// The payer.
    pub payer: String,
    /// The `token` filter the totals, classes, payees and flags count (null = every token).
    pub token: Option<String>,
    /// The unit payees are ranked in: raw units of `token`, or USD over the priced tokens.
    pub unit: String,
    /// The price source and which tokens it prices.
    pub prices: PriceNote,
    /// What the amounts are (net of refunds).
    pub amount_basis: String,
    /// The paying entity the payer belongs to (the payer itself until classified).
    pub entity_id: String,
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
    /// Net volume, per token and in USD.
    pub volume: Money,
    /// Refunded, per token and in USD.
    pub refunded: Money,
    /// Payments and net volume per token (every token, whatever the filter), largest count first.
    pub volume_by_token: Vec<TokenVolume>,
    /// Days with a payment.
    pub active_days: i64,
    /// Distinct payees.
    pub payees: i64,
    /// First day with a payment.
    pub first_day: Option<NaiveDate>,
    /// Last day with a payment.
    pub last_day: Option<NaiveDate>,
    /// Its payments by class, largest volume (in `unit`) first.
    pub by_class: Vec<Share>,
    /// Its payments by source (`settlement`, `eip3009`, `settlement_eip3009`, `permit2_proxy`),
    /// largest volume (in `unit`) first.
    pub by_source: Vec<Share>,
    /// Its 10 largest payees (in `unit`).
    pub top_payees: Vec<Share>,
    /// Flags over its payments.
    pub payment_flags: Vec<FlagCount>,
    /// The evidence of its most recent payment of the payer's class.
    pub example_payment: Option<PaymentEvidence>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    payments: Option<i64>,
    active_days: Option<i64>,
    payees: Option<i64>,
    first_day: Option<NaiveDate>,
    last_day: Option<NaiveDate>,
    flag_keys: Option<Vec<String>>,
    flag_payments: Option<Vec<i64>>,
    v_class: Option<String>,
    v_flags: Option<Vec<String>>,
    v_evidence: Option<Value>,
    v_first_funder: Option<Vec<u8>>,
    v_cluster: Option<i64>,
    v_entity: Option<String>,
    v_entity_reason: Option<String>,
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
    /// The payer's parts (see [`PartRow`]), every token, as parallel arrays.
    p_class: Option<Vec<String>>,
    p_source: Option<Vec<String>>,
    p_payee: Option<Vec<Vec<u8>>>,
    p_token: Option<Vec<Vec<u8>>>,
    p_payments: Option<Vec<i64>>,
    p_volume: Option<Vec<String>>,
    p_usd: Option<Vec<Option<String>>>,
    p_refunded: Option<Vec<String>>,
    p_refunded_usd: Option<Vec<Option<String>>>,
}

impl ProfileRow {
    /// The parts read with the row (every token), as rows.
    fn take_parts(&mut self) -> Vec<PartRow> {
        let class = self.p_class.take().unwrap_or_default();
        let mut source = self.p_source.take().unwrap_or_default().into_iter();
        let mut payee = self.p_payee.take().unwrap_or_default().into_iter();
        let mut token = self.p_token.take().unwrap_or_default().into_iter();
        let mut payments = self.p_payments.take().unwrap_or_default().into_iter();
        let mut volume = self.p_volume.take().unwrap_or_default().into_iter();
        let mut usd = self.p_usd.take().unwrap_or_default().into_iter();
        let mut refunded = self.p_refunded.take().unwrap_or_default().into_iter();
        let mut refunded_usd = self.p_refunded_usd.take().unwrap_or_default().into_iter();
        class
            .into_iter()
            .map(|class| PartRow {
                class,
                source: source.next().unwrap_or_default(),
                payee: payee.next().unwrap_or_default(),
                token: token.next().unwrap_or_default(),
                payments: payments.next().unwrap_or_default(),
                volume: volume.next().unwrap_or_default(),
                usd: usd.next().flatten(),
                refunded: refunded.next().unwrap_or_default(),
                refunded_usd: refunded_usd.next().flatten(),
            })
            .collect()
    }
}

/// The profile aggregates of one payer in one token, computed from `api_payer_days` (the
/// precomputed `api_payer_stats` spans every token).
#[derive(sqlx::FromRow)]
struct TokenAggRow {
    payments: Option<i64>,
    active_days: Option<i64>,
    payees: Option<i64>,
    first_day: Option<NaiveDate>,
    last_day: Option<NaiveDate>,
    flag_keys: Option<Vec<String>>,
    flag_payments: Option<Vec<i64>>,
}

/// Same shape as the matching columns of `api_payer_stats`, restricted to one token. One payer's
/// rows are few and reached through the `(chain_id, payer, ...)` indexes, so this stays cheap.
const TOKEN_AGG_SQL: &str = "
    with d as (select day, payee, payments from api_payer_days
               where chain_id = $1 and payer = $2 and token = $3)
    select (select sum(payments)::int8 from d) as payments,
           (select count(distinct day)::int8 from d) as active_days,
           (select count(distinct payee)::int8 from d) as payees,
           (select min(day) from d) as first_day, (select max(day) from d) as last_day,
           fl.keys as flag_keys, fl.n as flag_payments
    from (select array_agg(flag order by n desc, flag) as keys, array_agg(n order by n desc, flag) as n
          from (select flag, count(*)::int8 as n
                from api_payment_facts f
                join payment_classes pc on pc.chain_id = f.chain_id and pc.payment_id = f.payment_id
                cross join unnest(pc.flags) as flag
                where f.chain_id = $1 and f.payer = $2 and f.token = $3
                group by flag) x) fl";

/// One payer's volume by class, source, payee and token.
struct PartRow {
    class: String,
    source: String,
    payee: Vec<u8>,
    token: Vec<u8>,
    payments: i64,
    volume: String,
    usd: Option<String>,
    refunded: String,
    refunded_usd: Option<String>,
}

/// Groups the parts by `key` into shares, largest (in the request's unit) first.
fn shares(p: &Pricing, parts: &[PartRow], key: impl Fn(&PartRow) -> String) -> Vec<Share> {
    let mut keys: Vec<String> = parts.iter().map(&key).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<(f64, Share)> = keys
        .into_iter()
        .map(|k| {
            let mine: Vec<&PartRow> = parts.iter().filter(|r| key(r) == k).collect();
            let volume = p.money(mine.iter().map(|r| {
                (
                    r.token.as_slice(),
                    Some(r.volume.as_str()),
                    r.usd.as_deref(),
                )
            }));
            let refunded = p.money(mine.iter().map(|r| {
                (
                    r.token.as_slice(),
                    Some(r.refunded.as_str()),
                    r.refunded_usd.as_deref(),
                )
            }));
            let share = Share {
                key: k,
                payments: mine.iter().map(|r| r.payments).sum(),
                volume,
                refunded,
            };
            (p.magnitude(&share.volume), share)
        })
        .collect();
    out.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.payments.cmp(&a.1.payments))
            .then(a.1.key.cmp(&b.1.key))
    });
    out.into_iter().map(|(_, s)| s).collect()
}

/// Payments and net volume per token over every part, largest count first (then by token).
fn by_token(parts: &[PartRow]) -> Vec<TokenVolume> {
    let mut acc: BTreeMap<&[u8], (i64, BigDecimal)> = BTreeMap::new();
    for r in parts {
        let e = acc.entry(r.token.as_slice()).or_default();
        e.0 += r.payments;
        e.1 += dec(Some(&r.volume)).unwrap_or_default();
    }
    let mut out: Vec<(&[u8], i64, BigDecimal)> =
        acc.into_iter().map(|(t, (n, v))| (t, n, v)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out.into_iter()
        .map(|(t, payments, volume)| TokenVolume {
            token: alloy_primitives::Address::from_slice(t).to_checksum(None),
            payments,
            volume: plain(&volume),
        })
        .collect()
}

/// Loads a payer's profile: counts and flags precomputed in `api_payer_stats` (maintained by the
/// refresh), the verdict, cluster, example evidence and labels from the classifier's tables, and
/// the amounts by class and payee from `api_payer_days` (per token, priced like every metric).
/// With a `token`, everything counts that token alone; `volume_by_token` always lists every token.
pub async fn payer(
    pool: &PgPool,
    chain: i64,
    payer: alloy_primitives::Address,
    p: &Pricing,
) -> ApiResult<PayerProfile> {
    let token = p.token;
    // One statement for the stats, verdict, cluster, example, labels and the parts of every
    // token; with a token filter, its aggregates beside it (concurrently).
    let sql = format!(
        "with {px}
         select s.payments, s.active_days, s.payees, s.first_day, s.last_day,
                s.flag_keys, s.flag_payments,
                v.class as v_class, v.flags as v_flags, v.evidence as v_evidence,
                v.first_funder as v_first_funder, v.cluster_id as v_cluster,
                v.entity_id as v_entity, v.entity_reason as v_entity_reason, v.rule_version as v_rule,
                v.label_version as v_label, v.classified_at as v_at,
                c.root_funder as c_root, c.members as c_members, c.stats as c_stats,
                s.example_payment as ex_id, ep.class as ex_class, ep.flags as ex_flags, ep.evidence as ex_evidence,
                lb.labels,
                pt.p_class, pt.p_source, pt.p_payee, pt.p_token, pt.p_payments, pt.p_volume, pt.p_usd,
                pt.p_refunded, pt.p_refunded_usd
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
         ) lb on true
         left join lateral (
             select array_agg(class) as p_class, array_agg(source) as p_source,
                    array_agg(payee) as p_payee, array_agg(token) as p_token,
                    array_agg(payments) as p_payments, array_agg(volume) as p_volume,
                    array_agg(usd) as p_usd, array_agg(refunded) as p_refunded,
                    array_agg(refunded_usd) as p_refunded_usd
             from (select class, source, payee, token, sum(payments)::int8 as payments,
                          sum(volume)::text as volume, sum(volume * px_usd)::text as usd,
                          sum(refunded)::text as refunded, sum(refunded * px_usd)::text as refunded_usd
                   from api_payer_days left join px on px_token = token and day >= px_from and day < px_to
                   where chain_id = $1 and payer = $2
                   group by class, source, payee, token) x
         ) pt on true",
        px = px_cte(3)
    );
    let profile = bind_prices!(
        sqlx::query_as::<_, ProfileRow>(&sql)
            .bind(chain)
            .bind(payer.as_slice()),
        p
    )
    .fetch_one(pool);
    let of_token = async {
        match token {
            Some(t) => sqlx::query_as::<_, TokenAggRow>(TOKEN_AGG_SQL)
                .bind(chain)
                .bind(payer.as_slice())
                .bind(t.as_slice())
                .fetch_one(pool)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let (mut row, token_agg) = tokio::try_join!(profile, of_token)?;
    if row.payments.is_none() && row.v_class.is_none() {
        return Err(ApiError::NotFound(format!("payer {payer}")));
    }
    let mut parts = row.take_parts();
    // Every token, whatever the filter; the rest counts the filter's token alone.
    let volume_by_token = by_token(&parts);
    if let Some(t) = token {
        parts.retain(|r| r.token == t.as_slice());
    }
    if let Some(a) = token_agg {
        row.payments = Some(a.payments.unwrap_or(0));
        row.active_days = a.active_days;
        row.payees = a.payees;
        row.first_day = a.first_day;
        row.last_day = a.last_day;
        row.flag_keys = a.flag_keys;
        row.flag_payments = a.flag_payments;
    }
    let labels: Vec<LabelOut> = match row.labels {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| ApiError::Internal(format!("reading labels: {e}")))?,
        None => Vec::new(),
    };
    let by_class = shares(p, &parts, |r| r.class.clone());
    let by_source = shares(p, &parts, |r| r.source.clone());
    let mut top_payees = shares(p, &parts, |r| hex_bytes(&r.payee));
    top_payees.truncate(10);
    let volume = p.sum(by_class.iter().map(|s| &s.volume));
    let refunded = p.sum(by_class.iter().map(|s| &s.refunded));
    let payment_flags: Vec<FlagCount> = row
        .flag_keys
        .unwrap_or_default()
        .into_iter()
        .zip(row.flag_payments.unwrap_or_default())
        .map(|(flag, payments)| FlagCount { flag, payments })
        .collect();
    let payments = row.payments.unwrap_or(0);
    let own_entity = format!("0x{}", alloy_primitives::hex::encode(payer.as_slice()));
    let entity_id = row.v_entity.clone().unwrap_or(own_entity);
    let verdict = row.v_class.map(|class| PayerVerdict {
        class,
        flags: row.v_flags.unwrap_or_default(),
        evidence: ids_as_strings(row.v_evidence.unwrap_or(Value::Null)),
        first_funder: row.v_first_funder.as_deref().map(hex_bytes),
        entity_id: entity_id.clone(),
        entity_reason: row.v_entity_reason,
        rule_version: row.v_rule.unwrap_or_default(),
        label_version: row.v_label.unwrap_or_default(),
        classified_at: row.v_at.unwrap_or_default(),
    });
    let cluster = match (row.v_cluster, row.c_root) {
        (Some(id), Some(root)) => Some(ClusterOut {
            cluster_id: id.to_string(),
            root_funder: hex_bytes(&root),
            members: row.c_members.unwrap_or(0),
            stats: ids_as_strings(row.c_stats.unwrap_or(Value::Null)),
        }),
        _ => None,
    };
    let explanation = explain(
        verdict.as_ref(),
        &by_class,
        &payment_flags,
        payments,
        cluster.as_ref(),
        &refunded,
    );
    Ok(PayerProfile {
        payer: payer.to_checksum(None),
        token: token.map(|t| t.to_checksum(None)),
        unit: p.unit(),
        prices: p.note(),
        amount_basis: AMOUNT_BASIS.into(),
        entity_id,
        verdict,
        explanation,
        labels,
        cluster,
        payments,
        volume,
        refunded,
        volume_by_token,
        active_days: row.active_days.unwrap_or(0),
        payees: row.payees.unwrap_or(0),
        first_day: row.first_day,
        last_day: row.last_day,
        by_class,
        by_source,
        top_payees,
        payment_flags,
        example_payment: row.ex_id.map(|id| PaymentEvidence {
            payment_id: hex_bytes(&id),
            class: row.ex_class.unwrap_or_default(),
            flags: row.ex_flags.unwrap_or_default(),
            evidence: ids_as_strings(row.ex_evidence.unwrap_or(Value::Null)),
        }),
    })
}

/// A money in words: USD over the priced tokens (with their raw units), then each unpriced token's
/// raw units, e.g. "15 USD (15000000 raw units of USDC) and 7 raw units of OPG, unpriced".
fn brief(m: &Money) -> String {
    let raw = |t: &crate::money::TokenAmount| {
        let name = t.symbol.clone().unwrap_or_else(|| t.token.clone());
        format!("{} raw units of {name}", t.raw)
    };
    let priced: Vec<String> = m
        .tokens
        .iter()
        .filter(|t| t.usd.is_some())
        .map(raw)
        .collect();
    let mut out = match &m.usd {
        Some(usd) if !priced.is_empty() => format!("{usd} USD ({})", priced.join(", ")),
        _ => String::new(),
    };
    for t in m.tokens.iter().filter(|t| t.usd.is_none()) {
        if !out.is_empty() {
            out.push_str(" and ");
        }
        out.push_str(&format!("{}, unpriced", raw(t)));
    }
    if out.is_empty() {
        "0".into()
    } else {
        out
    }
}

/// Plain-language reasons: the verdict and its flags, how the payments split by class, which
/// rules fired how often, and the cluster.
fn explain(
    verdict: Option<&PayerVerdict>,
    by_class: &[Share],
    flags: &[FlagCount],
    payments: i64,
    cluster: Option<&ClusterOut>,
    refunded: &Money,
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
            .map(|s| format!("{} {} ({})", s.payments, s.key, brief(&s.volume)))
            .collect();
        out.push(format!(
            "Its {payments} payments by class, net of refunds: {}.",
            parts.join(", ")
        ));
        if refunded.tokens.iter().any(|t| t.raw != "0") {
            out.push(format!(
                "Refunded to it: {} (the classifier's evidence counts amounts before refunds).",
                brief(refunded)
            ));
        }
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
