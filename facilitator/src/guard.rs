//! What lets the facilitator face the internet: optional API keys on the paid endpoints, per-key
//! rate limits, one shared and smaller budget for unauthenticated callers (so their flood cannot
//! starve keyed customers of the chain round trips verification costs), and a request body limit.
//!
//! Keys are sent the way the x402 SDK's `HTTPFacilitatorClient` sends its `createAuthHeaders`
//! result: `Authorization: Bearer <key>` (or `X-API-Key: <key>`). A limited caller gets `429` with
//! `Retry-After` in seconds, which the SDK's client honours. Every refusal here is an RFC 9457
//! problem document (`application/problem+json`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use alloy::primitives::{keccak256, B256};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Access settings.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Accepted API keys (name, key). Empty: no keys, every caller is unauthenticated.
    pub api_keys: Vec<(String, String)>,
    /// Refuse callers without a valid key (`401`) instead of serving them from the shared budget.
    pub require_api_key: bool,
    /// Sustained requests per second each key may make to the paid endpoints.
    pub per_key_per_s: f64,
    /// Burst each key may make.
    pub per_key_burst: f64,
    /// Sustained requests per second all unauthenticated callers together may make.
    pub anonymous_per_s: f64,
    /// Burst of all unauthenticated callers together.
    pub anonymous_burst: f64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            require_api_key: false,
            per_key_per_s: 5_000.0,
            per_key_burst: 10_000.0,
            anonymous_per_s: 5_000.0,
            anonymous_burst: 10_000.0,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// A problem response (RFC 9457, the shape every service of this repository answers).
pub fn problem(
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: impl Into<String>,
) -> Response {
    x402_service::Problem::new(status, kind, title, detail).into_response()
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes one token; else how many seconds until one is there.
    fn take(&mut self, rate: f64, burst: f64) -> Result<(), f64> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / rate.max(f64::MIN_POSITIVE))
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A configured key (its name).
    Key(String),
    /// No key.
    Anonymous,
}

/// Keys and buckets.
#[derive(Debug)]
pub struct Guard {
    cfg: AccessConfig,
    /// keccak256(key) → name: keys are not kept in the clear after start.
    keys: HashMap<B256, String>,
    buckets: Mutex<HashMap<String, Bucket>>,
    anonymous: Mutex<Bucket>,
}

impl Guard {
    /// A guard for `cfg`.
    pub fn new(cfg: AccessConfig) -> Self {
        let keys = cfg
            .api_keys
            .iter()
            .map(|(name, key)| (keccak256(key.as_bytes()), name.clone()))
            .collect();
        let anonymous = Mutex::new(Bucket {
            tokens: cfg.anonymous_burst,
            at: Instant::now(),
        });
        Self {
            cfg,
            keys,
            buckets: Mutex::new(HashMap::new()),
            anonymous,
        }
    }

    /// The body limit.
    pub fn max_body_bytes(&self) -> usize {
        self.cfg.max_body_bytes
    }

    fn presented_key(headers: &HeaderMap) -> Option<&str> {
        if let Some(v) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let v = v.trim();
            return Some(
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .unwrap_or(v)
                    .trim(),
            );
        }
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// Authenticates and rate-limits one request to a paid endpoint; the error is the answer.
    #[allow(clippy::result_large_err)] // the error is the HTTP response itself
    pub fn admit(&self, headers: &HeaderMap) -> Result<Caller, Response> {
        let caller = match Self::presented_key(headers) {
            Some(key) => match self.keys.get(&keccak256(key.as_bytes())) {
                Some(name) => Caller::Key(name.clone()),
                None => {
                    return Err(problem(
                        StatusCode::UNAUTHORIZED,
                        "invalid-api-key",
                        "Unauthorized",
                        "the API key presented is not valid",
                    ))
                }
            },
            None if self.cfg.require_api_key => {
                return Err(problem(
                    StatusCode::UNAUTHORIZED,
                    "api-key-required",
                    "Unauthorized",
                    "this facilitator requires an API key: send Authorization: Bearer <key>",
                ))
            }
            None => Caller::Anonymous,
        };
        let waited = match &caller {
            Caller::Key(name) => {
                let mut buckets = self.buckets.lock().expect("rate buckets");
                let b = buckets.entry(name.clone()).or_insert(Bucket {
                    tokens: self.cfg.per_key_burst,
                    at: Instant::now(),
                });
                b.take(self.cfg.per_key_per_s, self.cfg.per_key_burst)
            }
            Caller::Anonymous => self
                .anonymous
                .lock()
                .expect("anonymous bucket")
                .take(self.cfg.anonymous_per_s, self.cfg.anonymous_burst),
        };
        if let Err(wait) = waited {
            let secs = wait.ceil().max(1.0) as u64;
            let who = match &caller {
                Caller::Key(name) => format!("API key {name:?}"),
                Caller::Anonymous => "unauthenticated callers (together)".to_string(),
            };
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too Many Requests",
                format!("{who} exceeded the request rate; retry after {secs} s"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return Err(r);
        }
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(key: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(k) = key {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {k}")).unwrap(),
            );
        }
        h
    }

    #[test]
    fn keys_and_separate_budgets() {
        let g = Guard::new(AccessConfig {
            api_keys: vec![("alice".into(), "k-alice".into())],
            per_key_per_s: 0.001,
            per_key_burst: 2.0,
            anonymous_per_s: 0.001,
            anonymous_burst: 1.0,
            ..AccessConfig::default()
        });
        assert_eq!(
            g.admit(&headers(Some("k-alice"))).unwrap(),
            Caller::Key("alice".into())
        );
        assert_eq!(g.admit(&headers(None)).unwrap(), Caller::Anonymous);
        // The anonymous budget is spent; the key's is not.
        let r = g.admit(&headers(None)).unwrap_err();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get(header::RETRY_AFTER).is_some());
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert!(g.admit(&headers(Some("k-alice"))).is_ok());
        assert_eq!(
            g.admit(&headers(Some("k-alice"))).unwrap_err().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            g.admit(&headers(Some("wrong"))).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn required_key() {
        let g = Guard::new(AccessConfig {
            require_api_key: true,
            api_keys: vec![("a".into(), "k".into())],
            ..AccessConfig::default()
        });
        assert_eq!(
            g.admit(&headers(None)).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("k"));
        assert!(g.admit(&h).is_ok());
    }
}
