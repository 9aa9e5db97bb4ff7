//! The HTTP API (axum): x402's `/supported`, `/verify`, `/settle`, the escrow endpoints,
//! `/metrics` and `/healthz`.
//!
//! x402 refusals are answered `200` with `isValid: false` / `success: false` and an
//! `invalidReason` / `errorReason`, as facilitators do; only a body that is not JSON at all is a
//! `400` problem.

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::B256;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use x402_client::permit::PaymentMode;

use crate::service::Service;
use crate::wire::{CaptureRequest, PaymentRequest, Problem, VerifyResponse, VoidRequest};

/// The router over a built service.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/supported", get(supported))
        .route("/verify", post(verify))
        .route("/settle", post(settle))
        .route("/escrow/authorize", post(authorize))
        .route("/escrow/capture", post(capture))
        .route("/escrow/void", post(void))
        .route("/escrow/{payment_id}", get(escrow))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(service)
}

fn problem(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    (status, Json(Problem { error: error.into(), message: message.into() })).into_response()
}

/// Parses a JSON body, answering a 400 problem that names the field when it does not fit.
#[allow(clippy::result_large_err)] // the error is the HTTP response itself
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| problem(StatusCode::BAD_REQUEST, "invalid_request", format!("request body: {e}")))
}

const CHARGE_MODES: [PaymentMode; 2] = [PaymentMode::Exact, PaymentMode::Upto];
const ALL_MODES: [PaymentMode; 3] = [PaymentMode::Exact, PaymentMode::Upto, PaymentMode::Escrow];

async fn supported(State(s): State<Arc<Service>>) -> impl IntoResponse {
    Json(s.supported().clone())
}

async fn verify(State(s): State<Arc<Service>>, bytes: Bytes) -> Response {
    let req: PaymentRequest = match body(&bytes) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let started = Instant::now();
    let verifier = s.settler.verifier();
    let outcome = verifier.verify(&req, req.amount, &ALL_MODES).await;
    s.metrics.verify_seconds.observe(started.elapsed().as_secs_f64());
    let response = match outcome {
        Ok(v) => {
            s.metrics.verify_total.with_label_values(&["valid"]).inc();
            VerifyResponse {
                is_valid: true,
                invalid_reason: None,
                invalid_message: None,
                payer: Some(v.payment.payer),
                payment_id: Some(v.payment.payment_id),
            }
        }
        Err(rej) => {
            s.metrics.verify_total.with_label_values(&[rej.refusal.reason.code()]).inc();
            tracing::debug!(reason = %rej.refusal.reason, message = %rej.refusal.message, "payment refused");
            VerifyResponse {
                is_valid: false,
                invalid_reason: Some(rej.refusal.reason.code().into()),
                invalid_message: Some(rej.refusal.message),
                payer: rej.payer,
                payment_id: rej.payment_id,
            }
        }
    };
    Json(response).into_response()
}

async fn settle(State(s): State<Arc<Service>>, bytes: Bytes) -> Response {
    match body::<PaymentRequest>(&bytes) {
        Ok(req) => Json(s.settler.settle(&req, &CHARGE_MODES).await).into_response(),
        Err(resp) => resp,
    }
}

async fn authorize(State(s): State<Arc<Service>>, bytes: Bytes) -> Response {
    match body::<PaymentRequest>(&bytes) {
        Ok(req) => Json(s.settler.settle(&req, &[PaymentMode::Escrow]).await).into_response(),
        Err(resp) => resp,
    }
}

async fn capture(State(s): State<Arc<Service>>, bytes: Bytes) -> Response {
    match body::<CaptureRequest>(&bytes) {
        Ok(req) => Json(s.settler.capture(&req).await).into_response(),
        Err(resp) => resp,
    }
}

async fn void(State(s): State<Arc<Service>>, bytes: Bytes) -> Response {
    match body::<VoidRequest>(&bytes) {
        Ok(req) => Json(s.settler.void(&req).await).into_response(),
        Err(resp) => resp,
    }
}

async fn escrow(State(s): State<Arc<Service>>, Path(payment_id): Path<String>) -> Response {
    let Ok(id) = payment_id.parse::<B256>() else {
        return problem(StatusCode::BAD_REQUEST, "invalid_request", format!("{payment_id:?} is not a 32-byte hex payment id"));
    };
    match s.settler.escrow(id).await {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "not_found", format!("no escrow {id}")),
        Err(e) => problem(StatusCode::BAD_GATEWAY, "chain_error", e),
    }
}

async fn metrics(State(s): State<Arc<Service>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}
