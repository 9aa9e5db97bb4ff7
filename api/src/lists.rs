//! Lists (payments, payers, payees) with keyset pagination behind opaque cursors.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::metrics::{bind_filters, Window, ENTITY};
use crate::model::{ser_hex, ser_opt_hex};
use crate::money::{bind_prices, px_cte, Money, PriceNote, Pricing};
use crate::params::{encode_cursor, Filters};
use crate::stats::ratio;

/// One payment in a list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PaymentItem {
    /// Payment id (0x + 64 hex).
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub payment_id: Vec<u8>,
    /// Block time of the charge or authorization.
    pub time: DateTime<Utc>,
    /// Block number of the charge or authorization.
    pub block_number: i64,
    /// Transaction of the charge or authorization.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub tx_hash: Vec<u8>,
    /// Payer (EIP-55).
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub payer: Vec<u8>,
    /// Payee.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub payee: Vec<u8>,
    /// Token.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub token: Vec<u8>,
    /// Facilitator.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub facilitator: Vec<u8>,
    /// Where the payment comes from (the `source` filter's values).
    pub source: String,
    /// 0 Exact, 1 Upto, 2 Escrow.
    pub mode: i16,
    /// Lifecycle status (charged, authorized, captured, voided, reclaimed, refunded).
    pub status: String,
    /// Net settled amount, raw token units.
    pub amount: String,
    /// Class.
    pub class: String,
    /// Every rule that fired.
    pub flags: Vec<String>,
    /// Evidence hash of the charge or latest capture.
    #[serde(serialize_with = "ser_opt_hex")]
    #[schema(value_type = Option<String>)]
    pub evidence_hash: Option<Vec<u8>>,
    /// Batch id (0 = settled alone; null for escrows).
    pub batch_id: Option<String>,
}

/// A page of payments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentPage {
    /// The payments, newest first.
    pub items: Vec<PaymentItem>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Keyset position in the payment list.
#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentCursor {
    /// Time of the last item, microseconds since the epoch.
    pub t: i64,
    /// Its payment id, hex without 0x.
    pub id: String,
}

/// Lists payments, newest first.
pub async fn payments(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    payer: Option<Vec<u8>>,
    after: Option<PaymentCursor>,
    limit: i64,
) -> ApiResult<PaymentPage> {
    let Some(w) = w else {
        return Ok(PaymentPage {
            items: vec![],
            next_cursor: None,
        });
    };
    let (after_t, after_id) = match &after {
        Some(c) => (
            DateTime::<Utc>::from_timestamp_micros(c.t),
            alloy_primitives::hex::decode(&c.id).ok(),
        ),
        None => (None, None),
    };
    let sql = "select f.payment_id, f.ts as time, p.first_block_number as block_number, p.first_tx_hash as tx_hash,
                      f.payer, f.payee, f.token, f.facilitator, f.source, p.mode, p.status, f.amount::text as amount,
                      f.class, coalesce(pc.flags, '{}') as flags, p.evidence_hash, p.batch_id::text as batch_id
               from api_payment_facts f
               join payments p on p.chain_id = f.chain_id and p.payment_id = f.payment_id
               left join payment_classes pc on pc.chain_id = f.chain_id and pc.payment_id = f.payment_id
               where f.chain_id = $1 and f.day between $2 and $3
                 and ($4::bytea is null or f.token = $4) and ($5::bytea is null or f.payee = $5)
                 and ($6::bytea is null or f.facilitator = $6) and ($8::text[] is null or f.source = any($8)) and ($7::text[] is null or f.class = any($7))
                 and ($9::bytea is null or f.payer = $9)
                 and ($10::timestamptz is null or (f.ts, f.payment_id) < ($10, $11))
               order by f.ts desc, f.payment_id desc
               limit $12";
    let mut items: Vec<PaymentItem> =
        bind_filters!(sqlx::query_as(sql), chain, w, f, f.class_names())
            .bind(payer)
            .bind(after_t)
            .bind(after_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| {
            encode_cursor(&PaymentCursor {
                t: last.time.timestamp_micros(),
                id: alloy_primitives::hex::encode(&last.payment_id),
            })
        })
    } else {
        None
    };
    Ok(PaymentPage { items, next_cursor })
}

/// Keyset position in a volume-ordered list (payers, payees).
#[derive(Debug, Serialize, Deserialize)]
pub struct VolumeCursor {
    /// Sort value of the last item (decimal string: raw units with a token filter, else USD).
    pub v: String,
    /// Its address, hex without 0x.
    pub a: String,
}

fn volume_cursor(volume: &str, addr: &[u8]) -> String {
    encode_cursor(&VolumeCursor {
        v: volume.to_string(),
        a: alloy_primitives::hex::encode(addr),
    })
}

fn cursor_binds(after: &Option<VolumeCursor>) -> (Option<String>, Option<Vec<u8>>) {
    match after {
        // The volume is re-checked as a number by Postgres; a non-numeric one was rejected when
        // the cursor was decoded.
        Some(c) => (Some(c.v.clone()), alloy_primitives::hex::decode(&c.a).ok()),
        None => (None, None),
    }
}

/// The sort value of the volume lists: raw units with a token filter (`$4`), else USD over the
/// priced tokens (the `px` join), so an unpriced token never ranks by its raw size.
const SORT_VALUE: &str =
    "case when $4::bytea is not null then sum(volume) else coalesce(sum(volume * px_usd), 0) end";

/// (holder, token, raw volume, USD volume) rows of one page of holders.
type HolderTokenRows = Vec<(Vec<u8>, Vec<u8>, String, Option<String>)>;
/// (payee, payers, entities, external payers, external entities).
type PayeeCounts = Vec<(Vec<u8>, i64, i64, i64, i64)>;

/// Per-holder, per-token volume of one page of holders (`$13`), for their [`Money`].
#[allow(clippy::too_many_arguments)] // the filters of the page's query, bound as they are
async fn page_money(
    pool: &PgPool,
    chain: i64,
    w: Window,
    f: &Filters,
    p: &Pricing,
    table: &str,
    holder: &str,
    page: &[Vec<u8>],
    organic_only: bool,
) -> ApiResult<HolderTokenRows> {
    let organic = if organic_only {
        "and class = 'external'"
    } else {
        ""
    };
    let sql = format!(
        "with {px}
         select {holder}, token, sum(volume)::text, sum(volume * px_usd)::text
         from {table} left join px on px_token = token and day >= px_from and day < px_to
         where chain_id = $1 and day between $2 and $3
           and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5)
           and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))
           and {holder} = any($13) {organic}
         group by 1, 2",
        px = px_cte(9)
    );
    let q = bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names());
    Ok(bind_prices!(q, p).bind(page).fetch_all(pool).await?)
}

fn money_of(p: &Pricing, rows: &HolderTokenRows, holder: &[u8]) -> Money {
    p.money(
        rows.iter()
            .filter(|r| r.0 == holder)
            .map(|r| (r.1.as_slice(), Some(r.2.as_str()), r.3.as_deref())),
    )
}

/// One payer in the payer list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerItem {
    /// Payer address.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub payer: Vec<u8>,
    /// The paying entity it belongs to (lowercase 0x-hex of the entity's smallest wallet; the
    /// payer itself when the evidence ties it to no other wallet or it is not classified yet).
    pub entity_id: String,
    /// The payer's class (from the classifier's payer verdict; null when not classified).
    pub class: Option<String>,
    /// The payer's flags.
    pub flags: Option<Vec<String>>,
    /// Classes of its payments in scope.
    pub payment_classes: Vec<String>,
    /// Payments in scope.
    pub payments: i64,
    /// Volume in scope, per token and in USD.
    pub volume: Money,
    /// Distinct payees paid.
    pub payees: i64,
    /// Distinct days with a payment.
    pub active_days: i64,
    /// First day with a payment in scope.
    pub first_day: NaiveDate,
    /// Last day with a payment in scope.
    pub last_day: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct PayerRow {
    payer: Vec<u8>,
    entity_id: String,
    class: Option<String>,
    flags: Option<Vec<String>>,
    payment_classes: Vec<String>,
    payments: i64,
    sort_key: String,
    payees: i64,
    active_days: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
}

/// A page of payers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayerPage {
    /// The unit the list is ordered by: raw units of the `token` filter, or USD over the priced
    /// tokens.
    pub unit: String,
    /// The price source and which tokens in scope it prices.
    pub prices: PriceNote,
    /// Payers by volume (in `unit`), largest first.
    pub items: Vec<PayerItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Lists payers by volume.
pub async fn payers(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    p: &Pricing,
    after: Option<VolumeCursor>,
    limit: i64,
) -> ApiResult<PayerPage> {
    let Some(w) = w else {
        return Ok(PayerPage {
            unit: p.unit(),
            prices: p.note(),
            items: vec![],
            next_cursor: None,
        });
    };
    let (after_v, after_a) = cursor_binds(&after);
    let sql = format!(
        "with {px},
              agg as (
                 select payer, sum(payments)::int8 as payments, {SORT_VALUE} as sort_key,
                        count(distinct payee)::int8 as payees, count(distinct day)::int8 as active_days,
                        min(day) as first_day, max(day) as last_day,
                        array_agg(distinct class order by class) as payment_classes
                 from api_payer_days
                 left join px on px_token = token and day >= px_from and day < px_to
                 where chain_id = $1 and day between $2 and $3
                   and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5)
                   and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))
                 group by payer)
               select a.payer, coalesce(c.entity_id, '0x' || encode(a.payer, 'hex')) as entity_id,
                      c.class, c.flags, a.payment_classes, a.payments, a.sort_key::text as sort_key,
                      a.payees, a.active_days, a.first_day, a.last_day
               from agg a
               left join payer_classes c on c.chain_id = $1 and c.payer = a.payer
               where $13::numeric is null or a.sort_key < $13::numeric
                     or (a.sort_key = $13::numeric and a.payer > $14)
               order by a.sort_key desc, a.payer asc
               limit $15",
        px = px_cte(9)
    );
    let q = bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names());
    let mut rows: Vec<PayerRow> = bind_prices!(q, p)
        .bind(after_v)
        .bind(after_a)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|l| volume_cursor(&l.sort_key, &l.payer))
    } else {
        None
    };
    let page: Vec<Vec<u8>> = rows.iter().map(|r| r.payer.clone()).collect();
    let amounts = page_money(
        pool,
        chain,
        w,
        f,
        p,
        "api_payer_days",
        "payer",
        &page,
        false,
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|r| PayerItem {
            volume: money_of(p, &amounts, &r.payer),
            payer: r.payer,
            entity_id: r.entity_id,
            class: r.class,
            flags: r.flags,
            payment_classes: r.payment_classes,
            payments: r.payments,
            payees: r.payees,
            active_days: r.active_days,
            first_day: r.first_day,
            last_day: r.last_day,
        })
        .collect();
    Ok(PayerPage {
        unit: p.unit(),
        prices: p.note(),
        items,
        next_cursor,
    })
}

/// One payee (provider) in the payee list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayeeItem {
    /// Payee address.
    #[serde(serialize_with = "ser_hex")]
    #[schema(value_type = String)]
    pub payee: Vec<u8>,
    /// Payments received in scope.
    pub payments: i64,
    /// Gross volume received, per token and in USD.
    pub volume: Money,
    /// External (organic) volume received.
    pub organic_volume: Money,
    /// External payments received.
    pub organic_payments: i64,
    /// Organic share by volume, in the page's `unit` (null when nothing in scope is priced).
    pub organic_share: Option<f64>,
    /// Organic share by count.
    pub organic_share_count: f64,
    /// Distinct payers.
    pub payers: i64,
    /// Distinct paying entities.
    pub entities: i64,
    /// Distinct external payers.
    pub external_payers: i64,
    /// Distinct external paying entities.
    pub external_entities: i64,
}

/// A page of payees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayeePage {
    /// The unit the list is ordered by and shares are computed in.
    pub unit: String,
    /// The price source and which tokens in scope it prices.
    pub prices: PriceNote,
    /// Payees by gross volume (in `unit`), largest first.
    pub items: Vec<PayeeItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PayeeRow {
    payee: Vec<u8>,
    payments: i64,
    sort_key: String,
    organic_payments: i64,
}

/// Lists payees by gross volume, with their organic share.
pub async fn payees(
    pool: &PgPool,
    chain: i64,
    w: Option<Window>,
    f: &Filters,
    p: &Pricing,
    after: Option<VolumeCursor>,
    limit: i64,
) -> ApiResult<PayeePage> {
    let Some(w) = w else {
        return Ok(PayeePage {
            unit: p.unit(),
            prices: p.note(),
            items: vec![],
            next_cursor: None,
        });
    };
    let (after_v, after_a) = cursor_binds(&after);
    let sql = format!(
        "with {px},
              agg as (
                 select payee, sum(payments)::int8 as payments, {SORT_VALUE} as sort_key,
                        coalesce(sum(payments) filter (where class = 'external'), 0)::int8 as organic_payments
                 from api_daily_stats
                 left join px on px_token = token and day >= px_from and day < px_to
                 where chain_id = $1 and day between $2 and $3
                   and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5)
                   and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))
                 group by payee)
               select payee, payments, sort_key::text as sort_key, organic_payments
               from agg
               where $13::numeric is null or sort_key < $13::numeric
                     or (sort_key = $13::numeric and payee > $14)
               -- agg.sort_key: the numeric, not the text column of the same name.
               order by agg.sort_key desc, payee asc
               limit $15",
        px = px_cte(9)
    );
    let q = bind_filters!(sqlx::query_as(&sql), chain, w, f, f.class_names());
    let mut rows: Vec<PayeeRow> = bind_prices!(q, p)
        .bind(after_v)
        .bind(after_a)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|l| volume_cursor(&l.sort_key, &l.payee))
    } else {
        None
    };
    let page: Vec<Vec<u8>> = rows.iter().map(|r| r.payee.clone()).collect();
    let counts_sql = format!(
        "select d.payee, count(distinct d.payer)::int8, count(distinct {ENTITY})::int8,
                count(distinct d.payer) filter (where d.class = 'external')::int8,
                count(distinct {ENTITY}) filter (where d.class = 'external')::int8
         from (select distinct payee, payer, class from api_payer_days
               where chain_id = $1 and day between $2 and $3
                 and ($4::bytea is null or token = $4) and ($5::bytea is null or payee = $5)
                 and ($6::bytea is null or facilitator = $6) and ($8::text[] is null or source = any($8)) and ($7::text[] is null or class = any($7))
                 and payee = any($9)) d
         left join payer_classes pc on pc.chain_id = $1 and pc.payer = d.payer
         group by d.payee"
    );
    let counts_q = bind_filters!(sqlx::query_as(&counts_sql), chain, w, f, f.class_names());
    let (counts, gross, organic): (PayeeCounts, _, _) = tokio::try_join!(
        async { Ok::<_, crate::ApiError>(counts_q.bind(&page).fetch_all(pool).await?) },
        page_money(
            pool,
            chain,
            w,
            f,
            p,
            "api_daily_stats",
            "payee",
            &page,
            false
        ),
        page_money(
            pool,
            chain,
            w,
            f,
            p,
            "api_daily_stats",
            "payee",
            &page,
            true
        ),
    )?;
    let items = rows
        .into_iter()
        .map(|r| {
            let c = counts
                .iter()
                .find(|c| c.0 == r.payee)
                .map(|c| (c.1, c.2, c.3, c.4))
                .unwrap_or_default();
            let volume = money_of(p, &gross, &r.payee);
            let organic_volume = money_of(p, &organic, &r.payee);
            PayeeItem {
                organic_share: p.share(&organic_volume, &volume),
                organic_share_count: ratio(r.organic_payments as f64, r.payments as f64),
                payee: r.payee,
                payments: r.payments,
                volume,
                organic_volume,
                organic_payments: r.organic_payments,
                payers: c.0,
                entities: c.1,
                external_payers: c.2,
                external_entities: c.3,
            }
        })
        .collect();
    Ok(PayeePage {
        unit: p.unit(),
        prices: p.note(),
        items,
        next_cursor,
    })
}

/// Checks a volume cursor's shape (its value must be a non-negative decimal).
pub fn valid_volume_cursor(c: &VolumeCursor) -> bool {
    let mut parts = c.v.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("0");
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
        && c.a.len() == 40
        && alloy_primitives::hex::decode(&c.a).is_ok()
}

/// Checks a payment cursor's shape.
pub fn valid_payment_cursor(c: &PaymentCursor) -> bool {
    c.id.len() == 64
        && alloy_primitives::hex::decode(&c.id).is_ok()
        && DateTime::<Utc>::from_timestamp_micros(c.t).is_some()
}
