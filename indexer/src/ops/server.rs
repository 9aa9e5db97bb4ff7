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
        let result = axum::serve(listener, app).with_graceful_shutdown(async move { cancel.cancelled().await }).await;
        if let Err(e) = result {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok((bound, handle))
}

async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
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
