//! The one error shape of every HTTP service: an RFC 9457 problem document
//! (`application/problem+json`) with a stable `type`, a `title`, the `status`, a `detail`, and,
//! when a request parameter or body field was at fault, which one (`param`) and the rule it broke.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The media type of a problem document.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A short, stable identifier of the kind of problem (e.g. `invalid-parameter`, `not-found`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What exactly went wrong.
    pub detail: String,
    /// The request parameter or body field at fault, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The rule `param` broke, phrased so the client knows what to send instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Problem {
    /// A problem of `kind` (summarised by `title`) answered with `status`.
    pub fn new(
        status: StatusCode,
        kind: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            param: None,
            rule: None,
        }
    }

    /// Names the parameter or field at fault and the rule it broke.
    pub fn with_param(mut self, param: impl Into<String>, rule: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self.rule = Some(rule.into());
        self
    }

    /// The status as a `StatusCode` (500 if the stored number is not one).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_problem_answers_its_status_media_type_and_document() {
        let r = Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid parameter",
            "invalid parameter `from`: must be a date",
        )
        .with_param("from", "must be a date")
        .into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "invalid-parameter");
        assert_eq!(v["status"], 400);
        assert_eq!(v["param"], "from");
        assert_eq!(v["rule"], "must be a date");
    }

    #[test]
    fn absent_param_and_rule_are_left_out() {
        let p = Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "payment 0x01 not found",
        );
        let v = serde_json::to_value(&p).unwrap();
        assert!(v.get("param").is_none() && v.get("rule").is_none(), "{v}");
    }
}
