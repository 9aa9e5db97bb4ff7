//! x402-api: the organic-demand HTTP API.
//!
//! Data flows one way: the indexer's `payments` and the classifier's `payment_classes` feed this
//! crate's read model (`rollup`: narrow facts plus daily rollups, kept up to date by [`refresh`]),
//! which the handlers (`routes`, served by [`router`]) query through `metrics`, `lists` and
//! `detail`, behind a response cache (`cache`) keyed by the read model's generation. [`serve`]
//! wires the background refresher and the listener; `bench` is the load generator behind
//! `script/bench-api.sh` ([`run_scenario`]). [`ApiDoc`] describes the handlers' answers: the one
//! source of the dashboard's wire types.
//!
//! Every module is private: what the binaries and the integration tests use is re-exported
//! below, and that list is the crate's whole public surface.

#![warn(missing_docs)]

mod bench;
mod cache;
mod cube;
mod detail;
mod error;
mod lists;
mod live;
mod metrics;
mod model;
mod money;
mod openapi;
mod params;
mod prices;
mod render;
mod rollup;
mod routes;
mod server;
mod state;
mod stats;

// Serving (`x402-api serve`): the router over a state, and the process around it.
pub use error::{ApiError, ApiResult};
pub use prices::{parse_price_flag, PriceBook, PriceError};
pub use routes::router;
pub use server::{serve, ServeConfig, ServeError};
pub use state::{AppState, TokenMeta};

// The read model (`x402-api refresh`).
pub use rollup::{rebuild, refresh, RefreshError, RefreshOutcome};

// The OpenAPI document (`x402-api openapi`, `/openapi.json`).
pub use openapi::{openapi_document, ApiDoc};

// The load generator and live ingest of `x402-api-bench`.
pub use bench::{run_scenario, uncached_median, BenchError, Scenario, ScenarioOutcome};
pub use live::{Live, LiveOutcome};

// Public only for `tests/readmodel.rs`, which drives the background refresher's step by hand and
// checks the in-memory read model against the SQL one query by query (through HTTP a request
// reaches one engine only, so the two answers could not be compared).
pub use metrics::{series, summary, Interval, Window};
pub use params::{Filters, RawFilters};
pub use server::tick;
pub use state::Synced;

/// Applies the schema's pending migrations (the whole history, `x402_domain::schema`; the read
/// model's own are `domain/migrations/*_api_*.sql`).
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    x402_domain::schema::migrate(pool).await
}

/// A pool of at most `max` connections to `url`. Metric queries and refreshes take seconds by
/// design (their answers are cached), so slow statements are logged at debug, not as warnings.
pub async fn connect(url: &str, max: u32) -> Result<sqlx::PgPool, sqlx::Error> {
    use sqlx::ConnectOptions;
    let opts: sqlx::postgres::PgConnectOptions = url.parse()?;
    let opts = opts.log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(opts)
        .await
}
