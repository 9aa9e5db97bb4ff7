//! Load generator for `script/bench-api.sh`: N concurrent closed-loop clients per scenario,
//! latencies in an HDR histogram, one `BENCH <name>_p99_ms <v> ms` line per scenario.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::seq::IndexedRandom;
use tokio::sync::Mutex;

/// One scenario: a name and the request paths its clients pick from at random.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name used in the BENCH lines (e.g. `api_summary`).
    pub name: String,
    /// Paths (with query) relative to the base URL.
    pub paths: Vec<String>,
    /// Send `Cache-Control: no-cache` on every request, so each one is computed from the
    /// database (used where requests rarely repeat, like payer profiles).
    pub no_cache: bool,
}

/// What a scenario measured.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    /// Requests completed in the measured phase.
    pub requests: u64,
    /// Requests that did not return 200.
    pub failures: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// Requests per second.
    pub throughput: f64,
}

/// Errors of the load generator.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A request failed at the transport level.
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// A warm-up request did not return 200 (the scenario is broken, measuring it is pointless).
    #[error("warm-up request {url} returned {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
}

/// Runs `scenario` against `base` with `clients` concurrent clients for `duration`, after one
/// sequential warm-up pass over every path (which also checks each answers 200; with `no_cache`
/// the pass warms nothing, it only checks).
pub async fn run_scenario(
    base: &str,
    scenario: &Scenario,
    clients: usize,
    duration: Duration,
) -> Result<ScenarioOutcome, BenchError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .map_err(|source| BenchError::Http {
            url: base.to_string(),
            source,
        })?;
    let checks = if scenario.no_cache { 20 } else { usize::MAX };
    for p in scenario.paths.iter().take(checks) {
        let url = format!("{base}{p}");
        let resp = request(&http, &url, scenario.no_cache)
            .send()
            .await
            .map_err(|source| BenchError::Http {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        if status != 200 {
            let body = resp.text().await.unwrap_or_default();
            return Err(BenchError::Status { url, status, body });
        }
        let _ = resp.bytes().await;
    }
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
    ));
    let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let paths = Arc::new(scenario.paths.clone());
    let no_cache = scenario.no_cache;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, hist, failures, paths, base) = (
            http.clone(),
            hist.clone(),
            failures.clone(),
            paths.clone(),
            base.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            while Instant::now() < deadline {
                let path = paths
                    .choose(&mut rand::rng())
                    .expect("scenario has paths")
                    .clone();
                let t0 = Instant::now();
                let ok = match request(&http, &format!("{base}{path}"), no_cache)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let us = t0.elapsed().as_micros().max(1) as u64;
                let _ = local.record(us.min(60_000_000));
                if !ok {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            hist.lock().await.add(&local).expect("same bounds");
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let h = hist.lock().await;
    Ok(ScenarioOutcome {
        requests: h.len(),
        failures: failures.load(std::sync::atomic::Ordering::Relaxed),
        p50_ms: h.value_at_quantile(0.50) as f64 / 1000.0,
        p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: h.max() as f64 / 1000.0,
        throughput: h.len() as f64 / elapsed,
    })
}

fn request(http: &reqwest::Client, url: &str, no_cache: bool) -> reqwest::RequestBuilder {
    let r = http.get(url);
    if no_cache {
        r.header("cache-control", "no-cache")
    } else {
        r
    }
}

/// Measures `paths` one at a time with the cache bypassed (`Cache-Control: no-cache`), so the
/// figure is the cost of computing an answer from the read model. Returns the median, ms.
pub async fn uncached_median(
    base: &str,
    paths: &[String],
    rounds: usize,
) -> Result<f64, BenchError> {
    let http = reqwest::Client::new();
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for p in paths {
            let url = format!("{base}{p}");
            let t0 = Instant::now();
            let resp = http
                .get(&url)
                .header("cache-control", "no-cache")
                .send()
                .await
                .map_err(|source| BenchError::Http {
                    url: url.clone(),
                    source,
                })?;
            let _ = resp.bytes().await;
            samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples.get(samples.len() / 2).copied().unwrap_or(0.0))
}
