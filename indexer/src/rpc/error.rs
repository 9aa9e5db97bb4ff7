//! Classifies JSON-RPC failures into what the indexer does about them.

use alloy::rpc::json_rpc::RpcError as AlloyRpcError;
use alloy::transports::TransportErrorKind;

/// Why an RPC call failed, as far as the caller's reaction goes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The node refused the `eth_getLogs` span (too many results, response too large, range limit):
    /// the caller splits the range. Never retried as is.
    #[error("range too large: {0}")]
    RangeTooLarge(String),
    /// The `eth_getLogs` response outgrew the configured cap (`bytes` is its size, or as much of
    /// it as was read): the caller splits the range in proportion.
    #[error("response of {bytes} bytes exceeds the {limit}-byte cap")]
    ResponseTooLarge {
        /// Size of the response (Content-Length), or the bytes read before giving up.
        bytes: u64,
        /// The cap.
        limit: u64,
    },
    /// Rate limiting, 5xx, timeouts, dropped connections, malformed or inconsistent responses:
    /// retried with backoff.
    #[error("{kind}: {message}")]
    Transient {
        /// Metric label (http, rpc, timeout, connect, malformed, invalid).
        kind: &'static str,
        /// What happened.
        message: String,
    },
    /// The indexer is shutting down.
    #[error("cancelled by shutdown")]
    Cancelled,
}

impl RpcError {
    /// A response that parsed but contradicts the request (wrong range, hash mismatch, duplicates).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Transient {
            kind: "invalid",
            message: message.into(),
        }
    }

    /// The metric label of this failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RangeTooLarge(_) => "range_too_large",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::Transient { kind, .. } => kind,
            Self::Cancelled => "cancelled",
        }
    }
}

/// Phrases nodes and providers use when an `eth_getLogs` span is too wide or returns too much
/// (geth, erigon, reth, anvil, Alchemy, Infura, QuickNode...).
const RANGE_PHRASES: &[&str] = &[
    "too many results",
    "too many logs",
    "range too large",
    "range is too large",
    "block range",
    "query returned more than",
    "response size",
    "response is too big",
    "limit exceeded",
    "exceeds the limit",
    "max results",
    "log response size exceeded",
    "query timeout exceeded",
];

fn is_range_message(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    RANGE_PHRASES.iter().any(|p| text.contains(p))
}

/// Keeps error bodies short in logs (a malformed response can be megabytes).
fn short(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        text.to_string()
    } else {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &text[..end], text.len())
    }
}

/// Maps an alloy transport error onto [`RpcError`]; `range_sensitive` marks `eth_getLogs`, whose
/// size errors mean "split the range" rather than "retry".
pub fn classify(err: AlloyRpcError<TransportErrorKind>, range_sensitive: bool) -> RpcError {
    match err {
        AlloyRpcError::ErrorResp(payload) => {
            if range_sensitive && (payload.code == -32005 || is_range_message(&payload.message)) {
                RpcError::RangeTooLarge(format!(
                    "code {}: {}",
                    payload.code,
                    short(&payload.message)
                ))
            } else {
                RpcError::Transient {
                    kind: "rpc",
                    message: format!("code {}: {}", payload.code, short(&payload.message)),
                }
            }
        }
        AlloyRpcError::Transport(TransportErrorKind::HttpError(http)) => {
            if range_sensitive && (http.status == 413 || is_range_message(&http.body)) {
                RpcError::RangeTooLarge(format!("HTTP {}: {}", http.status, short(&http.body)))
            } else {
                RpcError::Transient {
                    kind: "http",
                    message: format!("HTTP {}: {}", http.status, short(&http.body)),
                }
            }
        }
        AlloyRpcError::Transport(TransportErrorKind::Custom(inner)) => {
            let text = inner.to_string();
            // reqwest reports timeouts and connection failures as custom transport errors.
            let kind = if text.contains("timed out") || text.contains("timeout") {
                "timeout"
            } else if text.contains("connect") {
                "connect"
            } else {
                "transport"
            };
            let mut message = text;
            let mut source = inner.source();
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            RpcError::Transient {
                kind,
                message: short(&message),
            }
        }
        AlloyRpcError::DeserError { err, text } => RpcError::Transient {
            kind: "malformed",
            message: format!("{err} in {}", short(&text)),
        },
        AlloyRpcError::NullResp => RpcError::Transient {
            kind: "malformed",
            message: "null response".into(),
        },
        other => RpcError::Transient {
            kind: "transport",
            message: short(&other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::json_rpc::ErrorPayload;
    use alloy::transports::HttpError;

    fn resp(code: i64, message: &str) -> AlloyRpcError<TransportErrorKind> {
        AlloyRpcError::ErrorResp(ErrorPayload {
            code,
            message: message.to_string().into(),
            data: None,
        })
    }

    #[test]
    fn size_errors_split_the_range() {
        assert!(matches!(
            classify(resp(-32005, "limit"), true),
            RpcError::RangeTooLarge(_)
        ));
        assert!(matches!(
            classify(resp(-32602, "query returned more than 10000 results"), true),
            RpcError::RangeTooLarge(_)
        ));
        assert!(matches!(
            classify(resp(-32000, "block range is too large"), true),
            RpcError::RangeTooLarge(_)
        ));
        let http = AlloyRpcError::Transport(TransportErrorKind::HttpError(HttpError {
            status: 413,
            body: String::new(),
        }));
        assert!(matches!(classify(http, true), RpcError::RangeTooLarge(_)));
    }

    #[test]
    fn size_errors_outside_get_logs_are_transient() {
        assert_eq!(classify(resp(-32005, "limit"), false).kind(), "rpc");
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried() {
        let e = AlloyRpcError::Transport(TransportErrorKind::HttpError(HttpError {
            status: 429,
            body: "slow down".into(),
        }));
        assert_eq!(classify(e, true).kind(), "http");
        let e = AlloyRpcError::Transport(TransportErrorKind::HttpError(HttpError {
            status: 502,
            body: "bad gateway".into(),
        }));
        assert_eq!(classify(e, true).kind(), "http");
        assert_eq!(classify(resp(-32603, "internal error"), true).kind(), "rpc");
    }

    #[test]
    fn malformed_responses_are_retried_and_logged_short() {
        let err = serde_json::from_str::<u64>("{").unwrap_err();
        let e = classify(
            AlloyRpcError::DeserError {
                err,
                text: "x".repeat(10_000),
            },
            true,
        );
        assert_eq!(e.kind(), "malformed");
        assert!(e.to_string().len() < 400);
    }
}
