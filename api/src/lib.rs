//! x402-api: the organic-demand HTTP API.
//!
//! Data flows one way: the indexer's `payments` and the classifier's `payment_classes` feed this
//! crate's read model ([`rollup`]: narrow facts plus daily rollups), which the handlers
//! ([`routes`]) query through [`metrics`], [`lists`] and [`detail`], behind a response cache
//! ([`cache`]) keyed by the read model's generation. [`server`] wires the background refresher
//! and the listener; [`bench`] is the load generator behind `script/bench-api.sh`. [`openapi`]
//! describes the handlers' answers: the one source of the dashboard's wire types.

#![warn(missing_docs)]

pub mod bench;
pub mod cache;
pub mod cube;
pub mod detail;
pub mod error;
pub mod lists;
pub mod live;
pub mod metrics;
pub mod model;
pub mod money;
pub mod openapi;
pub mod params;
pub mod prices;
pub mod render;
pub mod rollup;
pub mod routes;
pub mod server;
pub mod state;
pub mod stats;

pub use error::{ApiError, ApiResult};
pub use openapi::ApiDoc;
pub use routes::router;
pub use state::AppState;

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
