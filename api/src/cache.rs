//! In-process response cache: rendered bodies keyed by (read-model generation, endpoint,
//! canonical parameters, format), with a short time-to-live.
//!
//! Concurrent misses on one key compute once (the others wait for that result), so a burst of
//! identical dashboard requests costs one query. Keys carry the generation, so when a refresh
//! moves it no request can be answered from a model older than the one it started with.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use moka::future::Cache;

use crate::error::ApiError;

/// Most bytes of response bodies the cache holds.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// A rendered response body.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Its media type.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

/// The cache.
#[derive(Clone)]
pub struct ResponseCache {
    inner: Cache<String, Arc<Rendered>>,
}

impl ResponseCache {
    /// A cache whose entries live `ttl` (zero disables caching), holding at most
    /// [`MAX_BYTES`] of bodies.
    pub fn new(ttl: Duration) -> Self {
        let capacity = if ttl.is_zero() { 0 } else { MAX_BYTES };
        Self {
            inner: Cache::builder()
                .max_capacity(capacity)
                // Weighed by body size, so a few large CSV pages cannot crowd out memory.
                .weigher(|k: &String, v: &Arc<Rendered>| {
                    (k.len() + v.body.len()).try_into().unwrap_or(u32::MAX)
                })
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
        }
    }

    /// The cached body for `key`, computing it with `compute` on a miss (once for concurrent
    /// misses). Errors are not cached.
    pub async fn get_or_compute<F>(
        &self,
        key: String,
        compute: F,
    ) -> Result<Arc<Rendered>, ApiError>
    where
        F: std::future::Future<Output = Result<Rendered, ApiError>>,
    {
        self.inner
            .try_get_with(key, async move { compute.await.map(Arc::new) })
            .await
            .map_err(|e: Arc<ApiError>| share_error(&e))
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}

/// Copies a shared error for one of the waiters (database errors are not `Clone`).
fn share_error(e: &ApiError) -> ApiError {
    match e {
        ApiError::BadParam { param, rule } => ApiError::bad(param.clone(), rule.clone()),
        ApiError::NotFound(what) => ApiError::NotFound(what.clone()),
        ApiError::Database(err) => ApiError::Internal(format!("database error: {err}")),
        ApiError::Internal(msg) => ApiError::Internal(msg.clone()),
    }
}
