//! `x402-api-bench`: load-tests a running x402-api, kept out of the service binary. 32
//! concurrent clients per scenario by default (summary and series over a dashboard's filter mix,
//! payer profiles); prints `BENCH api_summary_p99_ms`, `BENCH api_series_p99_ms`,
//! `BENCH api_payer_profile_p99_ms` (with `_uncached` or `_live` in the names under `--no-cache`
//! or `--live-rate`).

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;

use x402_api::{run_scenario, uncached_median, Live, Scenario};

#[derive(clap::Args, Clone)]
struct Db {
    /// PostgreSQL holding the indexer's and classifier's tables.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/x402_settle"
    )]
    database_url: String,
    /// Chain whose payments are served.
    #[arg(long, env = "CHAIN_ID", default_value_t = 31337)]
    chain_id: i64,
}

#[derive(Parser)]
#[command(
    name = "x402-api-bench",
    version,
    about = "Load-tests a running x402-api and prints BENCH lines"
)]
struct Cli {
    #[command(flatten)]
    db: Db,
    /// Base URL of the running API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Distinct payers the profile scenario picks from.
    #[arg(long, default_value_t = 5000)]
    payers: i64,
    /// Bypass the response cache on every request (`Cache-Control: no-cache`), so every
    /// answer is computed: what analysts see while the chain moves. BENCH names then end in
    /// `_uncached_p99_ms`.
    #[arg(long)]
    no_cache: bool,
    /// While the scenarios run, write this many new payments per second as the indexer and
    /// the classifier would (implies --no-cache; BENCH names end in `_live_p99_ms`, plus
    /// `api_freshness_p99_ms`: classification to visible in the API).
    #[arg(long, default_value_t = 0)]
    live_rate: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Cli {
        db,
        url,
        clients,
        seconds,
        payers,
        no_cache,
        live_rate,
    } = Cli::parse();

    let pool = connect(&db.database_url, 4).await?;
    let live = if live_rate > 0 {
        Some(
            Live::start(
                pool.clone(),
                db.chain_id,
                url.trim_end_matches('/').to_string(),
                live_rate,
            )
            .await?,
        )
    } else {
        None
    };
    run_bench(
        &pool,
        db.chain_id,
        url.trim_end_matches('/'),
        BenchLoad {
            clients,
            duration: Duration::from_secs(seconds),
            payer_sample: payers,
            no_cache: no_cache || live.is_some(),
            live: live.is_some(),
        },
    )
    .await?;
    if let Some(live) = live {
        let o = live.finish().await?;
        println!(
            "live ingest: {} payments written, {} probed blocks visible (p50 {:.0} ms, p99 {:.0} ms), {} not visible at the end, the oldest classified {:.0} ms before",
            o.payments, o.seen, o.freshness_p50_ms, o.freshness_p99_ms, o.unseen, o.oldest_unseen_ms
        );
        // Blocks still invisible at the end count with their age so far (a lower bound).
        let total = o.seen + o.unseen;
        let p99 = if o.unseen as f64 > 0.01 * total as f64 {
            o.oldest_unseen_ms.max(o.freshness_p99_ms)
        } else {
            o.freshness_p99_ms
        };
        let bound = if o.unseen as f64 > 0.01 * total as f64 {
            " (lower bound: blocks still invisible)"
        } else {
            ""
        };
        println!("BENCH api_freshness_p99_ms {p99:.0} ms{bound}");
    }
    Ok(())
}

async fn connect(url: &str, max: u32) -> anyhow::Result<sqlx::PgPool> {
    x402_api::connect(url, max)
        .await
        .with_context(|| format!("connecting to {url} (is PostgreSQL up and DATABASE_URL right?)"))
}

/// How hard and how long the benchmark drives the API.
struct BenchLoad {
    /// Concurrent clients per scenario.
    clients: usize,
    /// Length of each scenario.
    duration: Duration,
    /// Random payers drawn for the payer-profile scenario.
    payer_sample: i64,
    /// Bypass the response cache.
    no_cache: bool,
    /// Payments are being ingested meanwhile (the `_live` BENCH names).
    live: bool,
}

/// Builds realistic request mixes from the data (tokens, busiest payees, facilitators, recent
/// windows, random payers) and runs the three scenarios.
async fn run_bench(
    pool: &sqlx::PgPool,
    chain: i64,
    url: &str,
    load: BenchLoad,
) -> anyhow::Result<()> {
    let BenchLoad {
        clients,
        duration,
        payer_sample,
        no_cache,
        live,
    } = load;
    let hex = |b: &Vec<u8>| format!("0x{}", alloy_primitives::hex::encode(b));
    let tokens: Vec<Vec<u8>> =
        sqlx::query_scalar("select distinct token from api_daily_stats where chain_id = $1")
            .bind(chain)
            .fetch_all(pool)
            .await?;
    let payees: Vec<Vec<u8>> = sqlx::query_scalar(
        "select payee from api_daily_stats where chain_id = $1 group by payee order by sum(volume) desc limit 5",
    )
    .bind(chain)
    .fetch_all(pool)
    .await?;
    let facilitators: Vec<Vec<u8>> = sqlx::query_scalar(
        "select distinct facilitator from api_daily_stats where chain_id = $1 limit 3",
    )
    .bind(chain)
    .fetch_all(pool)
    .await?;
    let bounds: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
        sqlx::query_as("select min(day), max(day) from api_daily_stats where chain_id = $1")
            .bind(chain)
            .fetch_one(pool)
            .await?;
    let (Some(_first), Some(last)) = bounds else {
        bail!("the read model is empty: load data and run `x402-api refresh` first")
    };
    let payers: Vec<Vec<u8>> = sqlx::query_scalar(
        "select payer from (select distinct payer from api_payer_days where chain_id = $1) p order by random() limit $2",
    )
    .bind(chain)
    .bind(payer_sample)
    .fetch_all(pool)
    .await?;
    let count: i64 =
        sqlx::query_scalar("select count(*) from api_payment_facts where chain_id = $1")
            .bind(chain)
            .fetch_one(pool)
            .await?;
    let distinct_payers: i64 = sqlx::query_scalar(
        "select count(distinct payer) from api_payment_facts where chain_id = $1",
    )
    .bind(chain)
    .fetch_one(pool)
    .await?;
    println!(
        "dataset: {count} payments, {distinct_payers} payers, {} tokens, last day {last}",
        tokens.len()
    );

    // The filter mixes a dashboard produces: everything, organic only, per token, per payee, per
    // facilitator, the last 30 and 7 days.
    let last30 = format!("from={}&to={last}", last - chrono::Days::new(29));
    let last7 = format!("from={}&to={last}", last - chrono::Days::new(6));
    let mut filters = vec![
        String::new(),
        "class=external".into(),
        last30.clone(),
        last7,
        format!("{last30}&class=external"),
    ];
    filters.extend(tokens.iter().map(|t| format!("token={}", hex(t))));
    filters.extend(payees.iter().map(|p| format!("payee={}", hex(p))));
    filters.extend(
        facilitators
            .iter()
            .map(|f| format!("facilitator={}", hex(f))),
    );
    let sources: Vec<String> = sqlx::query_scalar(
        "select distinct source from api_daily_stats where chain_id = $1 order by 1",
    )
    .bind(chain)
    .fetch_all(pool)
    .await?;
    filters.extend(sources.iter().map(|s| format!("source={s}")));
    let with = |path: &str, q: &str, extra: &str| {
        let qs: Vec<&str> = [q, extra].into_iter().filter(|s| !s.is_empty()).collect();
        if qs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", qs.join("&"))
        }
    };
    let suffix = if live {
        "_live"
    } else if no_cache {
        "_uncached"
    } else {
        ""
    };
    let summary = Scenario {
        name: format!("api_summary{suffix}"),
        paths: filters
            .iter()
            .map(|f| with("/v1/metrics/summary", f, ""))
            .collect(),
        no_cache,
    };
    let mut series_paths: Vec<String> = filters
        .iter()
        .map(|f| with("/v1/metrics/series", f, ""))
        .collect();
    series_paths.extend(
        filters
            .iter()
            .map(|f| with("/v1/metrics/series", f, "interval=week")),
    );
    let series = Scenario {
        name: format!("api_series{suffix}"),
        paths: series_paths,
        no_cache,
    };
    // Profiles rarely repeat: every request bypasses the cache, so this is the database's cost.
    let profile = Scenario {
        name: format!("api_payer_profile{suffix}"),
        paths: payers
            .iter()
            .map(|p| format!("/v1/payers/{}", hex(p)))
            .collect(),
        no_cache: true,
    };

    for s in [&summary, &series, &profile] {
        // Uncached cost of a few requests of the scenario, one at a time (what a cache miss costs).
        let sample: Vec<String> = s.paths.iter().take(6).cloned().collect();
        let uncached = uncached_median(url, &sample, 2).await?;
        let o = run_scenario(url, s, clients, duration).await?;
        println!(
            "{}: {} requests, {} failed, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; uncached median {:.1} ms",
            s.name, o.requests, o.failures, o.throughput, o.p50_ms, o.p99_ms, o.max_ms, uncached
        );
        println!("BENCH {}_p99_ms {:.2} ms", s.name, o.p99_ms);
        if suffix.is_empty() {
            println!("BENCH {}_uncached_median_ms {:.2} ms", s.name, uncached);
        }
    }
    Ok(())
}
