//! The one error type every handler returns, rendered as an RFC 9457 JSON problem.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter broke a rule; the client should fix `param`.
    #[error("invalid parameter `{param}`: {rule}")]
    BadParam {
        /// The parameter's name as the client sent it.
        param: String,
        /// The rule it broke, phrased so the client knows what to send instead.
        rule: String,
    },
    /// The addressed resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The database failed; details go to the log, not to the client.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming `param` and the `rule` it broke.
    pub fn bad(param: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::BadParam {
            param: param.into(),
            rule: rule.into(),
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadParam { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A short, stable identifier of the kind of problem (`invalid-parameter`, `not-found`, `internal`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Human-readable summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What exactly went wrong.
    pub detail: String,
    /// For `invalid-parameter`: the offending parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// For `invalid-parameter`: the rule the parameter broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = match &self {
            Self::BadParam { param, rule } => Problem {
                kind: "invalid-parameter",
                title: "Invalid parameter",
                status: status.as_u16(),
                detail: self.to_string(),
                param: Some(param.clone()),
                rule: Some(rule.clone()),
            },
            Self::NotFound(_) => Problem {
                kind: "not-found",
                title: "Not found",
                status: status.as_u16(),
                detail: self.to_string(),
                param: None,
                rule: None,
            },
            Self::Database(_) | Self::Internal(_) => {
                // The cause is logged (with the request id from the trace span); clients get no
                // internals.
                tracing::error!(error = %self, "request failed");
                Problem {
                    kind: "internal",
                    title: "Internal error",
                    status: status.as_u16(),
                    detail: "the server failed to answer; the request id in the logs has the cause"
                        .into(),
                    param: None,
                    rule: None,
                }
            }
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
