//! The one error type every handler returns, rendered as an RFC 9457 JSON problem.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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

/// The JSON body of every error response (`application/problem+json`), shared by every service.
pub use x402_service::Problem;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = match &self {
            Self::BadParam { param, rule } => Problem::new(
                status,
                "invalid-parameter",
                "Invalid parameter",
                self.to_string(),
            )
            .with_param(param.clone(), rule.clone()),
            Self::NotFound(_) => Problem::new(status, "not-found", "Not found", self.to_string()),
            Self::Database(_) | Self::Internal(_) => {
                // The cause is logged (with the request id from the trace span); clients get no
                // internals.
                tracing::error!(error = %self, "request failed");
                Problem::new(
                    status,
                    "internal",
                    "Internal error",
                    "the server failed to answer; the request id in the logs has the cause",
                )
            }
        };
        problem.into_response()
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
