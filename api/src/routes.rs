//! HTTP handlers (small: validate, look up the cache, compute, render) and the router with its
//! layers (request ids, tracing, gzip, CORS, static files).

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, Method, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::{OpenApi, ToSchema};

use crate::cache::Rendered;
use crate::detail::{self, PayerProfile, PaymentDetail};
use crate::error::{ApiError, ApiResult, Problem};
use crate::lists::{self, PayeePage, PayerPage, PaymentCursor, PaymentPage, VolumeCursor};
use crate::metrics::{self, Interval, Retention, Series, Summary, Window};
use crate::model::{parse_address, parse_b256};
use crate::money::Pricing;
use crate::openapi::ApiDoc;
use crate::params::{
    decode_cursor, parse_int, parse_limit, query_params, Filters, Format, HasFilters, RawFilters,
    ValidQuery,
};
use crate::render::{render, respond};
use crate::state::AppState;
use x402_domain::PaymentSource;

query_params! {
    /// Parameters of `/v1/metrics/summary`.
    SummaryQuery {}
}

query_params! {
    /// Parameters of `/v1/metrics/series`.
    SeriesQuery {
        /// `day` (default), `week` or `month`.
        interval
    }
}

query_params! {
    /// Parameters of `/v1/metrics/retention`.
    RetentionQuery {
        /// Weeks to follow each cohort, 0..=52 (default 8).
        weeks
    }
}

query_params! {
    /// Parameters of `/v1/payments`.
    PaymentsQuery {
        /// Only payments by this payer (0x address).
        payer,
        /// `next_cursor` of the previous page.
        cursor,
        /// Page size, 1..=1000 (default 50).
        limit
    }
}

query_params! {
    /// Parameters of `/v1/payers` and `/v1/payees`.
    ListQuery {
        /// `next_cursor` of the previous page.
        cursor,
        /// Page size, 1..=1000 (default 50).
        limit
    }
}

/// Parameters of `/v1/payers/{address}`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PayerQuery {
    /// Only payments in this token (0x address of a token seen in payments): the totals, classes,
    /// payees and flags then count that token alone. `volume_by_token` always lists every token.
    pub token: Option<String>,
    /// `json` (default) or `csv`.
    // Read by the `Format` extractor (with the Accept header) from the raw query; declared
    // so that `deny_unknown_fields` accepts it and the OpenAPI document lists it.
    #[allow(dead_code)]
    pub format: Option<String>,
}

/// Parameters of the single-item endpoints.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// `json` (default) or `csv`.
    // Read by the `Format` extractor (with the Accept header) from the raw query; declared
    // so that `deny_unknown_fields` accepts it and the OpenAPI document lists it.
    #[allow(dead_code)]
    pub format: Option<String>,
}

/// Validated filters and their resolved window, plus the generation they were read under.
struct Scope {
    filters: Filters,
    window: Option<Window>,
    generation: i64,
    pricing: Pricing,
}

async fn scope(st: &AppState, q: &impl HasFilters) -> ApiResult<Scope> {
    let meta = st.meta().await;
    let filters = Filters::parse(q.raw_filters(), &meta.tokens)?;
    let window = Window::resolve(&filters, meta.bounds);
    let pricing = st.pricing(&meta.tokens, filters.token, window);
    Ok(Scope {
        filters,
        window,
        generation: meta.generation,
        pricing,
    })
}

/// Answers from the cache, computing and rendering on a miss. The key holds the generation,
/// the endpoint, the format and every validated parameter (their `Debug` form is canonical).
/// `Cache-Control: no-cache` skips the cache (the benchmark uses it to measure computation).
async fn cached<F>(st: &AppState, nc: NoCache, key: String, compute: F) -> ApiResult<Response>
where
    F: std::future::Future<Output = ApiResult<Rendered>>,
{
    if nc.0 {
        return Ok(respond(&compute.await?));
    }
    let r = st.cache().get_or_compute(key, compute).await?;
    Ok(respond(&r))
}

/// Whether the client asked to bypass the cache (`Cache-Control: no-cache`).
#[derive(Debug, Clone, Copy)]
pub struct NoCache(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for NoCache {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let no_cache = parts
            .headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
            });
        Ok(NoCache(no_cache))
    }
}

/// Summary metrics.
#[utoipa::path(get, path = "/v1/metrics/summary", tag = "metrics", params(SummaryQuery),
    responses((status = 200, description = "Summary (JSON, or field,value CSV)", body = Summary),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn summary(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<SummaryQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let s = scope(&st, &q).await?;
    let key = format!(
        "{}|summary|{fmt:?}|{:?}|{:?}",
        s.generation, s.filters, s.window
    );
    cached(&st, nc, key, async {
        let cube = st.cube().await;
        let v = metrics::summary(
            st.pool(),
            st.chain_id(),
            s.window,
            &s.filters,
            &s.pricing,
            cube.as_deref(),
        )
        .await?;
        render(fmt, &v, None)
    })
    .await
}

fn parse_interval(raw: Option<&str>) -> ApiResult<Interval> {
    match raw {
        None | Some("day") => Ok(Interval::Day),
        Some("week") => Ok(Interval::Week),
        Some("month") => Ok(Interval::Month),
        Some(other) => Err(ApiError::bad(
            "interval",
            format!("must be `day`, `week` or `month`; got `{other}`"),
        )),
    }
}

/// Daily, weekly or monthly series.
#[utoipa::path(get, path = "/v1/metrics/series", tag = "metrics", params(SeriesQuery),
    responses((status = 200, description = "One point per period (CSV: one row per period)", body = Series),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn series(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<SeriesQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let iv = parse_interval(q.interval.as_deref())?;
    series_of(&st, &q, iv, fmt, nc).await
}

/// Daily series (`/v1/metrics/series?interval=day`).
#[utoipa::path(get, path = "/v1/metrics/daily", tag = "metrics", params(SummaryQuery),
    responses((status = 200, description = "One point per UTC day", body = Series),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn daily(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<SummaryQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    series_of(&st, &q, Interval::Day, fmt, nc).await
}

/// Weekly series (`/v1/metrics/series?interval=week`).
#[utoipa::path(get, path = "/v1/metrics/weekly", tag = "metrics", params(SummaryQuery),
    responses((status = 200, description = "One point per ISO week", body = Series),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn weekly(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<SummaryQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    series_of(&st, &q, Interval::Week, fmt, nc).await
}

/// Monthly series (`/v1/metrics/series?interval=month`).
#[utoipa::path(get, path = "/v1/metrics/monthly", tag = "metrics", params(SummaryQuery),
    responses((status = 200, description = "One point per calendar month", body = Series),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn monthly(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<SummaryQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    series_of(&st, &q, Interval::Month, fmt, nc).await
}

async fn series_of(
    st: &AppState,
    q: &impl HasFilters,
    iv: Interval,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let s = scope(st, q).await?;
    let key = format!(
        "{}|series|{fmt:?}|{:?}|{:?}|{iv:?}",
        s.generation, s.filters, s.window
    );
    cached(st, nc, key, async {
        let cube = st.cube().await;
        let v = metrics::series(
            st.pool(),
            st.chain_id(),
            s.window,
            &s.filters,
            iv,
            &s.pricing,
            cube.as_deref(),
        )
        .await?;
        render(fmt, &v, Some("points"))
    })
    .await
}

/// Cohort retention.
#[utoipa::path(get, path = "/v1/metrics/retention", tag = "metrics", params(RetentionQuery),
    responses((status = 200, description = "One row per cohort and week offset. `revenue` and `revenue_retention` are null unless `token` is set: raw units of tokens with different decimals do not add up.", body = Retention),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn retention(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<RetentionQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let weeks = parse_int("weeks", q.weeks.as_deref(), 8, 0, 52)?;
    let s = scope(&st, &q).await?;
    let key = format!(
        "{}|retention|{fmt:?}|{:?}|{:?}|{weeks}",
        s.generation, s.filters, s.window
    );
    cached(&st, nc, key, async {
        let v = metrics::retention(st.pool(), st.chain_id(), s.window, &s.filters, weeks).await?;
        render(fmt, &v, Some("cells"))
    })
    .await
}

/// Payments, newest first.
#[utoipa::path(get, path = "/v1/payments", tag = "lists", params(PaymentsQuery),
    responses((status = 200, description = "A page of payments", body = PaymentPage),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn payments(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<PaymentsQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let limit = parse_limit(q.limit.as_deref())?;
    let payer = q
        .payer
        .as_deref()
        .map(|p| parse_address("payer", p))
        .transpose()?;
    let after: Option<PaymentCursor> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    if after
        .as_ref()
        .is_some_and(|c| !lists::valid_payment_cursor(c))
    {
        return Err(ApiError::bad(
            "cursor",
            "must be a `next_cursor` value returned by this endpoint",
        ));
    }
    let s = scope(&st, &q).await?;
    let key = format!(
        "{}|payments|{fmt:?}|{:?}|{:?}|{payer:?}|{:?}|{limit}",
        s.generation, s.filters, s.window, q.cursor
    );
    cached(&st, nc, key, async {
        let v = lists::payments(
            st.pool(),
            st.chain_id(),
            s.window,
            &s.filters,
            payer.map(|p| p.to_vec()),
            after,
            limit,
        )
        .await?;
        render(fmt, &v, Some("items"))
    })
    .await
}

fn volume_cursor(raw: Option<&str>) -> ApiResult<Option<VolumeCursor>> {
    let c: Option<VolumeCursor> = raw.map(decode_cursor).transpose()?;
    if c.as_ref().is_some_and(|c| !lists::valid_volume_cursor(c)) {
        return Err(ApiError::bad(
            "cursor",
            "must be a `next_cursor` value returned by this endpoint",
        ));
    }
    Ok(c)
}

/// Payers by volume, with class and stats.
#[utoipa::path(get, path = "/v1/payers", tag = "lists", params(ListQuery),
    responses((status = 200, description = "A page of payers", body = PayerPage),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn payers(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<ListQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let limit = parse_limit(q.limit.as_deref())?;
    let after = volume_cursor(q.cursor.as_deref())?;
    let s = scope(&st, &q).await?;
    let key = format!(
        "{}|payers|{fmt:?}|{:?}|{:?}|{:?}|{limit}",
        s.generation, s.filters, s.window, q.cursor
    );
    cached(&st, nc, key, async {
        let v = lists::payers(
            st.pool(),
            st.chain_id(),
            s.window,
            &s.filters,
            &s.pricing,
            after,
            limit,
        )
        .await?;
        render(fmt, &v, Some("items"))
    })
    .await
}

/// Payees (providers) by volume, with their organic share.
#[utoipa::path(get, path = "/v1/payees", tag = "lists", params(ListQuery),
    responses((status = 200, description = "A page of payees", body = PayeePage),
              (status = 400, description = "Invalid parameter", body = Problem)))]
pub async fn payees(
    State(st): State<AppState>,
    ValidQuery(q): ValidQuery<ListQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let limit = parse_limit(q.limit.as_deref())?;
    let after = volume_cursor(q.cursor.as_deref())?;
    let s = scope(&st, &q).await?;
    let key = format!(
        "{}|payees|{fmt:?}|{:?}|{:?}|{:?}|{limit}",
        s.generation, s.filters, s.window, q.cursor
    );
    cached(&st, nc, key, async {
        let v = lists::payees(
            st.pool(),
            st.chain_id(),
            s.window,
            &s.filters,
            &s.pricing,
            after,
            limit,
        )
        .await?;
        render(fmt, &v, Some("items"))
    })
    .await
}

/// A payer's profile with the full explanation of its class.
#[utoipa::path(get, path = "/v1/payers/{address}", tag = "drill-down", params(("address" = String, Path, description = "Payer address (0x + 40 hex)"), PayerQuery),
    responses((status = 200, description = "The profile", body = PayerProfile),
              (status = 400, description = "Invalid parameter", body = Problem),
              (status = 404, description = "No payments and no verdict for this address", body = Problem)))]
pub async fn payer(
    State(st): State<AppState>,
    Path(address): Path<String>,
    ValidQuery(q): ValidQuery<PayerQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let payer = parse_address("address", &address)?;
    let meta = st.meta().await;
    // Validated like every other endpoint's `token` (malformed or unknown -> 400 naming it).
    let token = Filters::parse(
        RawFilters {
            token: q.token.as_deref(),
            ..Default::default()
        },
        &meta.tokens,
    )?
    .token;
    let generation = meta.generation;
    // Priced over the whole history the profile spans.
    let window = meta.bounds.map(|(from, to)| Window { from, to });
    let pricing = st.pricing(&meta.tokens, token, window);
    let key = format!("{generation}|payer|{fmt:?}|{payer}|{token:?}");
    cached(&st, nc, key, async {
        let v = detail::payer(st.pool(), st.chain_id(), payer, &pricing).await?;
        render(fmt, &v, None)
    })
    .await
}

/// One payment with its evidence and, for batched evidence, its inclusion proof.
#[utoipa::path(get, path = "/v1/payments/{payment_id}", tag = "drill-down", params(("payment_id" = String, Path, description = "Payment id (0x + 64 hex)"), ItemQuery),
    responses((status = 200, description = "The payment", body = PaymentDetail),
              (status = 400, description = "Invalid parameter", body = Problem),
              (status = 404, description = "Unknown payment", body = Problem)))]
pub async fn payment(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ValidQuery(_q): ValidQuery<ItemQuery>,
    fmt: Format,
    nc: NoCache,
) -> ApiResult<Response> {
    let id = parse_b256("payment_id", &id)?;
    let generation = st.meta().await.generation;
    let key = format!("{generation}|payment|{fmt:?}|{id}");
    cached(&st, nc, key, async {
        let v = detail::payment(st.pool(), st.chain_id(), id).await?;
        render(fmt, &v, None)
    })
    .await
}

/// A payment token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// Address (EIP-55).
    pub address: String,
    /// Symbol, when the deployment file names it.
    pub symbol: Option<String>,
    /// Decimals, when the deployment file names them.
    pub decimals: Option<u8>,
    /// A USD stablecoin per the deployment file (priced at par unless a configured price
    /// overrides it).
    pub stablecoin: bool,
    /// Where its USD price comes from: `par`, `fixed`, `daily`, or null when it has none.
    pub price_source: Option<String>,
}

/// The token list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// Tokens with payments, and the deployment's tokens.
    pub tokens: Vec<TokenOut>,
}

/// Tokens payments are made in (valid values of the `token` filter).
#[utoipa::path(get, path = "/v1/tokens", tag = "meta",
    responses((status = 200, description = "Tokens", body = Tokens)))]
pub async fn tokens(State(st): State<AppState>) -> Json<Tokens> {
    let meta = st.meta().await;
    let tokens = meta
        .tokens
        .iter()
        .map(|a| {
            let m = st.token_meta().iter().find(|t| t.address == *a);
            TokenOut {
                address: a.to_checksum(None),
                symbol: m.and_then(|m| m.symbol.clone()),
                decimals: m.and_then(|m| m.decimals),
                stablecoin: m.is_some_and(|m| m.stablecoin),
                price_source: st.prices().price(a).map(|p| {
                    match p {
                        crate::prices::TokenPrice::Par => "par",
                        crate::prices::TokenPrice::Fixed(_) => "fixed",
                        crate::prices::TokenPrice::Daily(_) => "daily",
                    }
                    .to_string()
                }),
            }
        })
        .collect();
    Json(Tokens { tokens })
}

/// A payment source.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceOut {
    /// Its name: a valid value of the `source` filter.
    pub name: String,
    /// What payments it covers.
    pub description: String,
    /// Payments from it in the read model.
    pub payments: i64,
}

/// The source list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sources {
    /// Every source the indexer knows, with or without payments.
    pub sources: Vec<SourceOut>,
}

/// What each source covers, in the words an analyst reads.
fn describe(s: PaymentSource) -> &'static str {
    match s {
        PaymentSource::Settlement => {
            "X402Settlement contract events (charges, escrows, batches), with their evidence"
        }
        PaymentSource::Eip3009 => {
            "standard x402 EIP-3009 transferWithAuthorization sent by a facilitator"
        }
        PaymentSource::SettlementEip3009 => {
            "an EIP-3009 authorization executed through X402Settlement"
        }
        PaymentSource::Permit2Proxy => {
            "x402's Permit2 proxies (x402ExactPermit2Proxy, x402UptoPermit2Proxy)"
        }
    }
}

/// Where payments come from (valid values of the `source` filter).
#[utoipa::path(get, path = "/v1/sources", tag = "meta",
    responses((status = 200, description = "Sources", body = Sources)))]
pub async fn sources(State(st): State<AppState>) -> ApiResult<Json<Sources>> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "select source, sum(payments)::int8 from api_daily_stats where chain_id = $1 group by source",
    )
    .bind(st.chain_id())
    .fetch_all(st.pool())
    .await?;
    let sources = PaymentSource::ALL
        .iter()
        .map(|s| SourceOut {
            name: s.as_str().to_string(),
            description: describe(*s).to_string(),
            payments: counts
                .iter()
                .find(|c| c.0 == s.as_str())
                .map(|c| c.1)
                .unwrap_or(0),
        })
        .collect();
    Ok(Json(Sources { sources }))
}

/// What the API serves and how fresh it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// Chain served.
    pub chain_id: i64,
    /// Read-model generation.
    pub generation: i64,
    /// Last refresh of the read model.
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Indexer checkpoint the read model reflects.
    pub checkpoint_block: Option<i64>,
    /// Classifier update the read model reflects.
    pub classifier_updated_at: Option<DateTime<Utc>>,
    /// Tokens with payments.
    pub tokens: Vec<String>,
    /// Window with data.
    pub data_window: Option<Window>,
}

/// Freshness and scope of the data.
#[utoipa::path(get, path = "/v1/status", tag = "meta",
    responses((status = 200, description = "Status", body = Status)))]
pub async fn status(State(st): State<AppState>) -> ApiResult<Json<Status>> {
    let meta = st.meta().await;
    type Row = (Option<DateTime<Utc>>, Option<i64>, Option<DateTime<Utc>>);
    let row: Option<Row> = sqlx::query_as(
        "select refreshed_at, checkpoint_block, classifier_updated_at from api_refresh_state where chain_id = $1",
    )
    .bind(st.chain_id())
    .fetch_optional(st.pool())
    .await?;
    let (refreshed_at, checkpoint_block, classifier_updated_at) = row.unwrap_or((None, None, None));
    Ok(Json(Status {
        chain_id: st.chain_id(),
        generation: meta.generation,
        refreshed_at,
        checkpoint_block,
        classifier_updated_at,
        tokens: meta.tokens.iter().map(|t| t.to_checksum(None)).collect(),
        data_window: meta.bounds.map(|(from, to)| Window { from, to }),
    }))
}

async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

/// Builds the application: `/v1` routes, `/openapi.json`, optional static files under `/`, and
/// the layers (request id set and propagated as `x-request-id`, a tracing span per request
/// carrying it, gzip, permissive CORS for GET).
pub fn router(state: AppState, static_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/metrics/summary", get(summary))
        .route("/v1/tokens", get(tokens))
        .route("/v1/sources", get(sources))
        .route("/v1/metrics/series", get(series))
        .route("/v1/metrics/daily", get(daily))
        .route("/v1/metrics/weekly", get(weekly))
        .route("/v1/metrics/monthly", get(monthly))
        .route("/v1/metrics/retention", get(retention))
        .route("/v1/payments", get(payments))
        .route("/v1/payments/{payment_id}", get(payment))
        .route("/v1/payers", get(payers))
        .route("/v1/payers/{address}", get(payer))
        .route("/v1/payees", get(payees))
        .route("/openapi.json", get(openapi_json));
    let app = match static_dir {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api.fallback(not_found),
    };
    let request_id = HeaderName::from_static("x-request-id");
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", request_id = %id, method = %req.method(), uri = %req.uri())
                    })
                    // One line per response (status, latency) inside the span, so with the
                    // request id.
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(CompressionLayer::new())
            .layer(
                CorsLayer::new()
                    .allow_origin(Any)
                    .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
                    .allow_headers([header::ACCEPT, header::CONTENT_TYPE])
                    .expose_headers([HeaderName::from_static("x-request-id")]),
            ),
    )
    .with_state(state)
}
