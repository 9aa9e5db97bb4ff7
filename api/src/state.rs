//! Typed application state: the pool, the chain served, the response cache and the small
//! metadata every request needs (known tokens, data bounds), reloaded when the read model changes.

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use chrono::NaiveDate;
use sqlx::PgPool;
use tokio::sync::RwLock;

use crate::cache::ResponseCache;
use crate::cube::{Cube, Snapshot};
use crate::error::ApiResult;
use crate::metrics::Window;
use crate::money::Pricing;
use crate::prices::PriceBook;
use crate::rollup::Changes;

/// Metadata derived from the read model, reloaded on every generation change.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The read model's generation (`api_refresh_state.generation`, 0 before the first refresh).
    pub generation: i64,
    /// Tokens payments exist in, plus the deployment's tokens.
    pub tokens: Vec<Address>,
    /// First and last day with payments.
    pub bounds: Option<(NaiveDate, NaiveDate)>,
}

/// What a sync of the state with the read model did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The read model had not moved.
    Unchanged,
    /// It moved by this process's own refresh: the in-memory model applied that refresh's
    /// changes, and the metadata was reloaded.
    Applied,
    /// It moved otherwise (another process's refresh, a rebuild): the in-memory model and the
    /// metadata were reloaded.
    Reloaded,
}

/// A payment token's display metadata (from the deployment file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TokenMeta {
    /// Token address.
    pub address: Address,
    /// Symbol.
    pub symbol: Option<String>,
    /// Decimals.
    pub decimals: Option<u8>,
    /// A USD stablecoin: priced at par (1 USD per whole token) unless a configured price
    /// overrides it. Optional in the file (`"stablecoin": true`), false when absent.
    #[serde(default)]
    pub stablecoin: bool,
}

/// Reads the tokens of a `deployments/<chainId>.json` file (`x402_domain::Deployment`).
pub fn read_deployment_tokens(path: &std::path::Path) -> Result<Vec<TokenMeta>, String> {
    let d = x402_domain::Deployment::read(path).map_err(|e| e.to_string())?;
    Ok(d.tokens
        .into_iter()
        .map(|t| TokenMeta {
            address: t.address,
            symbol: (!t.symbol.is_empty()).then_some(t.symbol),
            decimals: Some(t.decimals),
            stablecoin: t.stablecoin,
        })
        .collect())
}

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    chain_id: i64,
    cache: ResponseCache,
    meta: RwLock<Meta>,
    token_meta: Vec<TokenMeta>,
    prices: PriceBook,
    /// The in-memory read model (None: every metric in SQL).
    cube: Option<Cube>,
}

impl AppState {
    /// Builds the state and loads the metadata once.
    pub async fn new(pool: PgPool, chain_id: i64, cache_ttl: Duration) -> ApiResult<Self> {
        Self::with_tokens(pool, chain_id, cache_ttl, Vec::new()).await
    }

    /// Like [`AppState::new`], with display metadata for the deployment's tokens (which also
    /// count as known tokens before any payment is made in them); its stablecoins are priced at par.
    pub async fn with_tokens(
        pool: PgPool,
        chain_id: i64,
        cache_ttl: Duration,
        token_meta: Vec<TokenMeta>,
    ) -> ApiResult<Self> {
        let prices = PriceBook::build(&token_meta, None, &[])
            .map_err(|e| crate::ApiError::Internal(e.to_string()))?;
        Self::with_prices(pool, chain_id, cache_ttl, token_meta, prices).await
    }

    /// Like [`AppState::with_tokens`], with the USD price source.
    pub async fn with_prices(
        pool: PgPool,
        chain_id: i64,
        cache_ttl: Duration,
        token_meta: Vec<TokenMeta>,
        prices: PriceBook,
    ) -> ApiResult<Self> {
        let state = Self {
            inner: Arc::new(Inner {
                pool,
                chain_id,
                cache: ResponseCache::new(cache_ttl),
                meta: RwLock::new(Meta::default()),
                token_meta,
                prices,
                cube: Some(Cube::new()),
            }),
        };
        state.sync().await?;
        Ok(state)
    }

    /// This state without the in-memory read model: every metric computed in SQL (the
    /// reference the in-memory figures are tested against, and `serve --engine sql`).
    pub fn without_cube(self) -> Self {
        let inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("without_cube is called on a state nobody else holds yet"));
        Self {
            inner: Arc::new(Inner {
                cube: None,
                ..inner
            }),
        }
    }

    /// The in-memory read model's current snapshot, when this state keeps one.
    pub async fn cube(&self) -> Option<Arc<Snapshot>> {
        match &self.inner.cube {
            Some(c) => Some(c.snapshot().await),
            None => None,
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The chain this API serves.
    pub fn chain_id(&self) -> i64 {
        self.inner.chain_id
    }

    /// The response cache.
    pub fn cache(&self) -> &ResponseCache {
        &self.inner.cache
    }

    /// Display metadata of the deployment's tokens.
    pub fn token_meta(&self) -> &[TokenMeta] {
        &self.inner.token_meta
    }

    /// The USD price source.
    pub fn prices(&self) -> &PriceBook {
        &self.inner.prices
    }

    /// The units of a request: its token filter (if any) over the known tokens, priced for the
    /// window.
    pub fn pricing(
        &self,
        known: &[Address],
        token: Option<Address>,
        window: Option<Window>,
    ) -> Pricing {
        Pricing::new(
            &self.inner.prices,
            &self.inner.token_meta,
            known,
            token,
            window.map(|w| w.from),
        )
    }

    /// A copy of the current metadata.
    pub async fn meta(&self) -> Meta {
        self.inner.meta.read().await.clone()
    }

    /// Reloads the metadata when the read model's generation moved; returns whether it did.
    /// Cached responses are keyed by generation, so moving it retires them all at once.
    pub async fn sync(&self) -> ApiResult<bool> {
        Ok(self.sync_after(None).await? != Synced::Unchanged)
    }

    /// Like [`AppState::sync`], after this process's own refresh `refreshed` (the generation it
    /// made and what it changed): when the read model moved by exactly that refresh, the
    /// in-memory model applies the same changes; otherwise it reloads.
    pub async fn sync_after(&self, refreshed: Option<(i64, &Changes)>) -> ApiResult<Synced> {
        let pool = &self.inner.pool;
        let chain = self.inner.chain_id;
        let generation: i64 = sqlx::query_scalar(
            "select coalesce((select generation from api_refresh_state where chain_id = $1), 0)",
        )
        .bind(chain)
        .fetch_one(pool)
        .await?;
        let old = self.meta().await;
        let previous = old.generation;
        if generation == previous && generation != 0 {
            return Ok(Synced::Unchanged);
        }
        // The model moved by exactly our refresh when it is one generation past what we hold.
        let deltas = refreshed
            .filter(|(g, _)| *g == generation && previous == g - 1 && previous != 0)
            .map(|(_, changes)| changes);
        if let Some(cube) = &self.inner.cube {
            match deltas {
                Some(changes) => cube.apply(changes).await?,
                None => cube.reload(pool, chain).await?,
            }
        }
        let meta = if deltas.is_some_and(|c| keeps_tokens_and_bounds(&old, c)) {
            Meta { generation, ..old }
        } else {
            let tokens: Vec<Vec<u8>> = sqlx::query_scalar(
                "select distinct token from api_daily_stats where chain_id = $1 order by token",
            )
            .bind(chain)
            .fetch_all(pool)
            .await?;
            let bounds: (Option<NaiveDate>, Option<NaiveDate>) = sqlx::query_as(
                "select min(day), max(day) from api_daily_stats where chain_id = $1",
            )
            .bind(chain)
            .fetch_one(pool)
            .await?;
            Meta {
                generation,
                tokens: {
                    let mut all: Vec<Address> =
                        tokens.iter().map(|t| Address::from_slice(t)).collect();
                    all.extend(self.inner.token_meta.iter().map(|t| t.address));
                    all.sort();
                    all.dedup();
                    all
                },
                bounds: bounds.0.zip(bounds.1),
            }
        };
        *self.inner.meta.write().await = meta;
        self.inner.cache.clear();
        Ok(if deltas.is_some() {
            Synced::Applied
        } else {
            Synced::Reloaded
        })
    }
}

/// Whether a refresh's `changes` leave the tokens and day bounds of `meta` as they were: no cell
/// emptied (a token's or a day's last could go), none on a day outside the bounds or in a token
/// not known. Then the sync skips the two scans of `api_daily_stats` that would find them again.
fn keeps_tokens_and_bounds(meta: &Meta, changes: &Changes) -> bool {
    let Some((first, last)) = meta.bounds else {
        return false;
    };
    changes.cells.iter().all(|c| {
        c.payments > 0
            && (first..=last).contains(&c.day)
            && c.token.len() == 20
            && meta.tokens.contains(&Address::from_slice(&c.token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deployment_tokens() {
        let path =
            std::env::temp_dir().join(format!("x402-api-deployment-{}.json", std::process::id()));
        let file = |tokens: &str| {
            format!(
                r#"{{"chainId": 31337, "permit2": "0x000000000022D473030F116dDEE9F6B43aC78BA3",
                    "settlement": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                    "registry": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "tokens": {tokens}}}"#
            )
        };
        std::fs::write(
            &path,
            file(r#"[{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "OPG", "decimals": 18}]"#),
        )
        .unwrap();
        let tokens = read_deployment_tokens(&path).unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].symbol.as_deref(), Some("OPG"));
        assert_eq!(tokens[0].decimals, Some(18));
        assert!(!tokens[0].stablecoin);
        std::fs::write(
            &path,
            file(r#"[{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "USDC", "decimals": 6, "stablecoin": true}]"#),
        )
        .unwrap();
        assert!(read_deployment_tokens(&path).unwrap()[0].stablecoin);
        std::fs::write(&path, "not json").unwrap();
        assert!(read_deployment_tokens(&path)
            .unwrap_err()
            .contains("not a valid deployment file"));
        std::fs::remove_file(&path).ok();
        assert!(read_deployment_tokens(&path)
            .unwrap_err()
            .contains("cannot read"));
    }
}
