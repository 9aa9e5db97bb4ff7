//! `/metrics` (Prometheus text), `/health` (the process is alive: 200 with positions) and `/ready`
//! (200 once caught up with the head, 503 before).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use super::{Health, Metrics};

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    health: Arc<Health>,
}

/// The router, separate from serving so tests can call it directly.
pub fn router(metrics: Metrics, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health_handler))
        .route("/ready", get(ready_handler))
        .with_state(AppState { metrics, health })
}

/// Binds `addr` and serves until `cancel` fires. Returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(metrics, health);
    let handle = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok((bound, handle))
}

async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

fn positions(health: &Health) -> serde_json::Value {
    let (head, checkpoint) = health.positions();
    serde_json::json!({
        "head": head,
        "checkpoint": checkpoint,
        "lag": (head as i64 - checkpoint).max(0),
        "ready": health.is_ready(),
    })
}

async fn health_handler(State(s): State<AppState>) -> impl IntoResponse {
    let mut body = positions(&s.health);
    body["status"] = "ok".into();
    (StatusCode::OK, Json(body))
}

async fn ready_handler(State(s): State<AppState>) -> impl IntoResponse {
    let mut body = positions(&s.health);
    if s.health.is_ready() {
        body["status"] = "ready".into();
        (StatusCode::OK, Json(body))
    } else {
        body["status"] = "catching up".into();
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::transports::http::reqwest;

    #[tokio::test]
    async fn ready_only_once_caught_up_and_metrics_render() {
        let metrics = Metrics::new();
        let health = Arc::new(Health::default());
        let cancel = CancellationToken::new();
        let (addr, handle) = serve(
            "127.0.0.1:0".parse().unwrap(),
            metrics.clone(),
            health.clone(),
            cancel.clone(),
        )
        .await
        .unwrap();
        let get = |path: &'static str| async move {
            let resp = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        };

        health.set_head(120);
        health.set_checkpoint(100);
        let (status, body) = get("/ready").await;
        assert_eq!(status, 503);
        assert!(body.contains("\"lag\":20"), "{body}");
        assert_eq!(get("/health").await.0, 200);

        health.set_checkpoint(120);
        health.set_ready(true);
        assert_eq!(get("/ready").await.0, 200);

        metrics.set_head(120);
        metrics.set_indexed(100);
        metrics.events.with_label_values(&["charges"]).inc_by(3);
        let (status, text) = get("/metrics").await;
        assert_eq!(status, 200);
        assert!(text.contains("x402_indexer_head_lag_blocks 20"), "{text}");
        assert!(
            text.contains("x402_indexer_events_total{table=\"charges\"} 3"),
            "{text}"
        );

        cancel.cancel();
        handle.await.unwrap();
    }
}
