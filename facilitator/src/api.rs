//! The HTTP API (axum): x402's `/supported`, `/verify`, `/settle`, the escrow endpoints,
//! `/metrics` and `/healthz`.
//!
//! x402 refusals are answered `200` with `isValid: false` / `success: false` and an
//! `invalidReason` / `errorReason`, as facilitators do; a body that is not JSON, too large, or a
//! caller refused by the [`guard`](crate::guard) gets an RFC 9457 problem document. Addresses in
//! answers are EIP-55 checksummed.

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::B256;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use x402_protocol::PaymentMode;

use crate::guard;
use crate::service::Service;
use crate::wire::{CaptureRequest, PaymentRequest, VerifyResponse, VoidRequest};

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

fn problem(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    guard::problem(status, kind, title, detail)
}

/// Rewrites every `0x` + 40 hex digit string in an answer to its EIP-55 checksummed form.
fn checksum_addresses(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.len() == 42 && s.starts_with("0x") => {
            if let Ok(a) = s.parse::<alloy::primitives::Address>() {
                *s = a.to_checksum(None);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(checksum_addresses),
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                // Map keys such as "eip155:*" are not addresses; values are rewritten.
                let _ = key;
                checksum_addresses(value);
            }
        }
        _ => {}
    }
}

/// A JSON answer with checksummed addresses.
fn answer<T: Serialize>(value: &T) -> Response {
    let mut json = serde_json::to_value(value).unwrap_or_default();
    checksum_addresses(&mut json);
    Json(json).into_response()
}

/// Admits the caller (API key, rate limit) and reads the body within the size limit.
async fn admitted(s: &Service, headers: &HeaderMap, raw: Body) -> Result<Bytes, Response> {
    s.guard.admit(headers).inspect_err(|r| {
        s.metrics
            .refused_requests
            .with_label_values(&[r.status().as_str()])
            .inc();
    })?;
    let limit = s.guard.max_body_bytes();
    axum::body::to_bytes(raw, limit).await.map_err(|_| {
        s.metrics.refused_requests.with_label_values(&["413"]).inc();
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("request body larger than {limit} bytes"),
        )
    })
}

/// Parses a JSON body, answering a 400 problem that names the field when it does not fit.
#[allow(clippy::result_large_err)] // the error is the HTTP response itself
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            format!("request body: {e}"),
        )
    })
}

/// Admission and parsing of a POST body.
macro_rules! request {
    ($s:expr, $headers:expr, $raw:expr, $ty:ty) => {
        match admitted(&$s, &$headers, $raw).await {
            Ok(bytes) => match body::<$ty>(&bytes) {
                Ok(req) => req,
                Err(resp) => return resp,
            },
            Err(resp) => return resp,
        }
    };
}

const CHARGE_MODES: [PaymentMode; 2] = [PaymentMode::Exact, PaymentMode::Upto];
const ALL_MODES: [PaymentMode; 3] = [PaymentMode::Exact, PaymentMode::Upto, PaymentMode::Escrow];

async fn supported(State(s): State<Arc<Service>>) -> Response {
    answer(s.supported())
}

async fn verify(State(s): State<Arc<Service>>, headers: HeaderMap, raw: Body) -> Response {
    let req = request!(s, headers, raw, PaymentRequest);
    let started = Instant::now();
    let outcome = s.settler.verify(&req, &ALL_MODES).await;
    s.metrics
        .verify_seconds
        .observe(started.elapsed().as_secs_f64());
    let response = match outcome {
        Ok((payer, payment_id)) => {
            s.metrics.verify_total.with_label_values(&["valid"]).inc();
            VerifyResponse {
                is_valid: true,
                invalid_reason: None,
                invalid_message: None,
                payer: Some(payer),
                payment_id: Some(payment_id),
            }
        }
        Err(rej) => {
            s.metrics
                .verify_total
                .with_label_values(&[rej.refusal.reason.code()])
                .inc();
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
    answer(&response)
}

async fn settle(State(s): State<Arc<Service>>, headers: HeaderMap, raw: Body) -> Response {
    let req = request!(s, headers, raw, PaymentRequest);
    answer(&s.settler.settle(&req, &CHARGE_MODES).await)
}

async fn authorize(State(s): State<Arc<Service>>, headers: HeaderMap, raw: Body) -> Response {
    let req = request!(s, headers, raw, PaymentRequest);
    answer(&s.settler.settle(&req, &[PaymentMode::Escrow]).await)
}

async fn capture(State(s): State<Arc<Service>>, headers: HeaderMap, raw: Body) -> Response {
    let req = request!(s, headers, raw, CaptureRequest);
    answer(&s.settler.capture(&req).await)
}

async fn void(State(s): State<Arc<Service>>, headers: HeaderMap, raw: Body) -> Response {
    let req = request!(s, headers, raw, VoidRequest);
    answer(&s.settler.void(&req).await)
}

async fn escrow(State(s): State<Arc<Service>>, Path(payment_id): Path<String>) -> Response {
    let Ok(id) = payment_id.parse::<B256>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            format!("{payment_id:?} is not a 32-byte hex payment id"),
        );
    };
    match s.settler.escrow(id).await {
        Ok(Some(view)) => answer(&view),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no escrow {id}"),
        ),
        Err(e) => problem(StatusCode::BAD_GATEWAY, "chain-error", e),
    }
}

async fn metrics(State(s): State<Arc<Service>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}
