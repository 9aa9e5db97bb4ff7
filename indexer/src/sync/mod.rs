//! The sync loop: backfill with bounded concurrency and ordered commits, then the live tail;
//! reorg detection and rollback; restarts from the checkpoint after any transient failure.
//!
//! Each *session* starts from the checkpoint stored in PostgreSQL, so whatever happened before
//! (crash, kill -9, lost connection, a commit whose outcome is unknown) the indexer resumes
//! exactly after the last committed range.

mod fetch;
mod lineage;
mod progress;
mod senders;
mod span;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use alloy::sol_types::SolEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use x402_bindings::IERC20;

pub use fetch::{Eip3009Scope, Fetcher, NativeScope};
pub use lineage::Lineage;
pub use senders::{Permit2ProxyScope, Senders};
pub use span::SpanController;

use crate::config::{Config, LineageMode};
use crate::decode::{AuthorizationUsed, Decoder};
use crate::ops::{Health, Metrics};
use crate::rpc::{Backoff, ChainClient, RpcError};
use crate::store::{Checkpoint, RangeBatch, Store, StoreError};
use progress::Progress;

/// Why a sync session stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// RPC failure that retrying in place cannot fix.
    #[error("RPC: {0}")]
    Rpc(#[from] RpcError),
    /// Database failure.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Answers contradicted each other (reorg while fetching, or a lying RPC): start over.
    #[error("chain changed while fetching: {0}")]
    ChainChanged(String),
    /// The chain replaced blocks below the stored window: the indexer cannot undo this safely.
    #[error("reorg deeper than the stored window: no block of the last {window} stored blocks below checkpoint {checkpoint} is on the canonical chain any more; stop, investigate, and re-index into a fresh database (or raise reorg_window)")]
    DeepReorg {
        /// Checkpoint block when detected.
        checkpoint: i64,
        /// Configured window.
        window: u64,
    },
    /// An `eth_getLogs` answer left out logs that the blocks' blooms prove exist (a node behind
    /// the head behind a load balancer); handled inside the fetch by asking again.
    #[error("lossy answer: {0}")]
    LossyAnswer(String),
    /// The next block does not follow the checkpoint (handled inside the sync loop by
    /// comparing the stored window with the chain; never returned by [`Indexer::run`]).
    #[error("the chain head reorganised")]
    HeadReorg,
    /// A fetch task panicked (a bug): logged, and the session starts over.
    #[error("fetch task failed: {0}")]
    Task(String),
    /// Shutdown requested.
    #[error("shutting down")]
    Cancelled,
}

impl SyncError {
    /// Whether the indexer must stop (true) or may start a new session after a pause (false).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::DeepReorg { .. } => true,
            Self::Store(e) => !e.is_transient(),
            _ => false,
        }
    }
}

/// How a session ended without error.
enum SessionEnd {
    CaughtUp,
    Shutdown,
}

/// One indexer: configuration, chain client, store, metrics.
pub struct Indexer {
    config: Config,
    client: ChainClient,
    store: Store,
    metrics: Metrics,
    health: Arc<Health>,
    span: Arc<SpanController>,
    lineage: Option<Lineage>,
    cancel: CancellationToken,
}

impl Indexer {
    /// Wires an indexer; nothing is contacted yet.
    pub fn new(
        config: Config,
        client: ChainClient,
        store: Store,
        metrics: Metrics,
        health: Arc<Health>,
        cancel: CancellationToken,
    ) -> Self {
        let span = Arc::new(SpanController::new(config.range));
        let lineage = (config.lineage.mode == LineageMode::Scoped).then(|| Lineage {
            client: client.clone(),
            store: store.clone(),
            tokens: config.contracts.tokens.iter().map(|t| t.address).collect(),
            skip: vec![
                alloy::primitives::Address::ZERO,
                config.contracts.settlement,
            ],
            depth: config.lineage.depth,
            chunk: config.lineage.addresses_per_request,
            max_span: config.range.max_blocks,
            concurrency: config.fetch.concurrency,
            native: config.native_transfers.enabled,
            start_block: config.start_block,
            decoder: Decoder::new(
                config.contracts.settlement,
                config.contracts.registry,
                config.contracts.tokens.iter().map(|t| t.address),
            ),
            cancel: cancel.clone(),
        });
        Self {
            config,
            client,
            store,
            metrics,
            health,
            span,
            lineage,
            cancel,
        }
    }

    /// Runs sessions until shutdown (or until caught up with `exit_when_caught_up`), pausing with
    /// backoff after transient failures. Returns an error only for fatal ones.
    pub async fn run(&self) -> Result<(), SyncError> {
        let backoff = Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(self.config.fetch.max_backoff_secs),
        };
        let mut failures = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            match self.session().await {
                Ok(SessionEnd::CaughtUp) | Ok(SessionEnd::Shutdown) => return Ok(()),
                Err(SyncError::Cancelled) | Err(SyncError::Rpc(RpcError::Cancelled)) => {
                    return Ok(())
                }
                Err(e) if e.is_fatal() => {
                    tracing::error!(error = %e, "indexer stopped");
                    return Err(e);
                }
                Err(e) => {
                    failures += 1;
                    if let SyncError::Store(_) = e {
                        self.metrics.db_errors.inc();
                    }
                    let delay = backoff.delay(failures);
                    tracing::warn!(error = %e, attempt = failures, resume_in_ms = delay.as_millis() as u64, "sync interrupted; resuming from the checkpoint");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.cancel.cancelled() => return Ok(()),
                    }
                    // A session that got somewhere resets the backoff.
                    if self.health.progressed_since_last_check() {
                        failures = 0;
                    }
                }
            }
        }
    }

    async fn session(&self) -> Result<SessionEnd, SyncError> {
        let start = self.config.start_block;
        let start_hash = if start == 0 {
            B256::ZERO
        } else {
            self.client.headers(&[start - 1]).await?[0]
                .ok_or_else(|| {
                    SyncError::ChainChanged(format!("start block {} does not exist yet", start - 1))
                })?
                .hash
        };
        let mut cp = self
            .store
            .init_checkpoint(
                self.config.contracts.settlement,
                self.config.contracts.registry,
                start,
                start_hash,
            )
            .await?;
        self.metrics.set_indexed(cp.block_number);
        self.health.set_checkpoint(cp.block_number);
        // At start-up, compare the whole stored window with the chain.
        cp = self.verify_window(cp, true).await?;

        loop {
            if self.cancel.is_cancelled() {
                return Ok(SessionEnd::Shutdown);
            }
            let head = self.client.latest().await?;
            self.metrics.set_head(head.number);
            self.health.set_head(head.number);

            // Is the checkpoint block still canonical? (Catches reorgs that keep the height.)
            if cp.block_number >= 0 && cp.block_number as u64 >= start {
                let canonical = if head.number == cp.block_number as u64 {
                    Some(head)
                } else if head.number < cp.block_number as u64 {
                    None
                } else {
                    self.client.headers(&[cp.block_number as u64]).await?[0]
                };
                if canonical.map(|h| h.hash) != Some(cp.block_hash) {
                    cp = self.verify_window(cp, false).await?;
                    continue;
                }
            }

            let next = (cp.block_number + 1) as u64;
            if head.number >= next {
                cp = self.index_range(cp, next, head.number).await?;
                continue;
            }
            // Caught up with the sweep; the scoped lineage follows the checkpoint.
            if let Some(lineage) = &self.lineage {
                lineage.catch_up(cp).await?;
            }
            self.health.set_ready(true);
            if self.config.exit_when_caught_up {
                tracing::info!(block = cp.block_number, "caught up; exiting as asked");
                return Ok(SessionEnd::CaughtUp);
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = self.cancel.cancelled() => return Ok(SessionEnd::Shutdown),
            }
        }
    }

    /// Indexes `[first, target]`: ranges fetched concurrently (bounded), committed in order
    /// through a bounded channel. Returns the new checkpoint.
    async fn index_range(
        &self,
        mut cp: Checkpoint,
        first: u64,
        target: u64,
    ) -> Result<Checkpoint, SyncError> {
        if target - first + 1 > self.config.reorg_window {
            self.health.set_ready(false);
        }
        let all_headers_from = (target + 1).saturating_sub(self.config.reorg_window);
        let scoped = self.config.lineage.mode == LineageMode::Scoped;
        let fetcher = Arc::new(Fetcher {
            client: self.client.clone(),
            contracts: [
                self.config.contracts.settlement,
                self.config.contracts.registry,
            ]
            .into_iter()
            .chain(self.config.permit2_proxy.watched().iter().copied())
            .collect(),
            // Scoped lineage: no token log but EIP-3009 authorizations in the sweep (the
            // wallets' transfers come from `Lineage`).
            tokens: if scoped && !self.config.eip3009.enabled {
                Vec::new()
            } else {
                self.config
                    .contracts
                    .tokens
                    .iter()
                    .map(|t| t.address)
                    .collect()
            },
            token_topics: match (scoped, self.config.eip3009.enabled) {
                (true, _) => vec![AuthorizationUsed::SIGNATURE_HASH],
                (false, true) => vec![
                    IERC20::Transfer::SIGNATURE_HASH,
                    AuthorizationUsed::SIGNATURE_HASH,
                ],
                (false, false) => vec![IERC20::Transfer::SIGNATURE_HASH],
            },
            authorized_transfers: scoped && self.config.eip3009.enabled,
            check_blooms: self.config.fetch.check_blooms,
            native: (self.config.native_transfers.enabled && !scoped).then(|| NativeScope {
                addresses: self
                    .config
                    .native_transfers
                    .addresses
                    .iter()
                    .copied()
                    .collect(),
            }),
            eip3009: self.config.eip3009.enabled.then(|| Eip3009Scope {
                facilitators: self
                    .config
                    .eip3009
                    .facilitators
                    .iter()
                    .map(|f| f.address)
                    .collect(),
                settlement: self.config.contracts.settlement,
            }),
            permit2_proxy: self
                .config
                .permit2_proxy
                .enabled
                .then(|| Permit2ProxyScope {
                    facilitators: self
                        .config
                        .eip3009
                        .facilitators
                        .iter()
                        .map(|f| f.address)
                        .collect(),
                    // Scoped lineage: the sweep has no Transfer to pair the settlements with.
                    transfers_by_block_hash: if scoped {
                        self.config
                            .contracts
                            .tokens
                            .iter()
                            .map(|t| t.address)
                            .collect()
                    } else {
                        Vec::new()
                    },
                }),
            blooms_saturated: Default::default(),
            decoder: Decoder::new(
                self.config.contracts.settlement,
                self.config.contracts.registry,
                self.config.contracts.tokens.iter().map(|t| t.address),
            )
            .with_eip3009(self.config.eip3009.enabled)
            .with_permit2_proxies(self.config.permit2_proxy.watched().iter().copied()),
            span: self.span.clone(),
        });
        let (tx, mut rx) =
            mpsc::channel::<Result<RangeBatch, SyncError>>(self.config.fetch.channel_capacity);
        let span = self.span.clone();
        let concurrency = self.config.fetch.concurrency;
        let cancel = self.cancel.child_token();
        let producer_cancel = cancel.clone();
        let producer = tokio::spawn(async move {
            // Up to `concurrency` ranges in flight, each in its own task (JSON parsing and
            // decoding run on all cores) sending its batches, in order, into its own small
            // channel; the producer forwards them range by range, so commits stay in order and
            // start as soon as the first part of a split range is there. Ranges are planned
            // lazily, each with the span learned from the previous ones.
            let mut next = first;
            let mut in_flight: std::collections::VecDeque<(
                mpsc::Receiver<Result<RangeBatch, SyncError>>,
                AbortOnDrop,
            )> = std::collections::VecDeque::new();
            loop {
                while in_flight.len() < concurrency && next <= target {
                    let from = next;
                    let to = from.saturating_add(span.current() - 1).min(target);
                    next = to + 1;
                    let (part_tx, part_rx) = mpsc::channel(2);
                    let fetcher = fetcher.clone();
                    let task = tokio::spawn(async move {
                        if let Err(e) = fetcher.fetch(from, to, all_headers_from, &part_tx).await {
                            part_tx.send(Err(e)).await.ok();
                        }
                    });
                    in_flight.push_back((part_rx, AbortOnDrop(task)));
                }
                let Some((front, _)) = in_flight.front_mut() else {
                    return;
                };
                let item = tokio::select! {
                    item = front.recv() => item,
                    _ = producer_cancel.cancelled() => return,
                };
                match item {
                    None => {
                        in_flight.pop_front();
                    }
                    Some(item) => {
                        let failed = item.is_err();
                        if tx.send(item).await.is_err() || failed {
                            return;
                        }
                    }
                }
            }
        });
        // Dropping the guard stops the producer whichever way this function returns.
        let _stop_producer = cancel.drop_guard();

        let mut progress = Progress::start(self.config.progress, first, target);
        // Commits overlap by one: range N+1 inserts its rows on a second connection while range N
        // commits; the checkpoint lock orders them (see Store::commit_range_after).
        let mut in_flight: Option<InFlight> = None;
        // Where the checkpoint will be once every in-flight commit succeeds.
        let mut expected = cp;
        let outcome: Result<(), SyncError> = async {
            while let Some(item) = rx.recv().await {
                {
                    let batch = item?;
                    if self.cancel.is_cancelled() {
                        // Abandon cleanly between transactions; the checkpoint is consistent.
                        return Err(SyncError::Cancelled);
                    }
                    if let Some(false) = fetch::follows(&batch, expected.block_hash) {
                        tracing::warn!(
                            block = batch.from,
                            "new block does not follow the checkpoint: reorg"
                        );
                        return Err(SyncError::HeadReorg);
                    }
                    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
                    let predecessor = in_flight.as_mut().and_then(|f| f.locked.take());
                    let next = Checkpoint {
                        block_number: batch.to as i64,
                        block_hash: batch.to_hash,
                    };
                    let store = self.store.clone();
                    let window = self.config.reorg_window;
                    let prev = expected;
                    let counts = batch.rows.counts();
                    let to = batch.to;
                    let task = tokio::spawn(async move {
                        let started = std::time::Instant::now();
                        store
                            .commit_range_after(prev, &batch, window, predecessor, Some(locked_tx))
                            .await?;
                        tracing::debug!(
                            from = batch.from,
                            to = batch.to,
                            rows = batch.rows.len(),
                            ms = started.elapsed().as_millis() as u64,
                            "committed range"
                        );
                        Ok::<_, StoreError>(started.elapsed())
                    });
                    expected = next;
                    let new = InFlight {
                        task,
                        locked: Some(locked_rx),
                        checkpoint: next,
                        counts,
                        to,
                    };
                    if let Some(done) = in_flight.replace(new) {
                        cp = self.finish_commit(done, &mut progress).await?;
                    }
                }
            }
            Ok(())
        }
        .await;
        // Whatever happened, let the last commit finish (or fail) before anything else touches
        // the database.
        if let Some(done) = in_flight.take() {
            match self.finish_commit(done, &mut progress).await {
                Ok(c) => cp = c,
                Err(e) if outcome.is_ok() => return Err(e),
                Err(_) => {}
            }
        }
        match outcome {
            Ok(()) => {}
            Err(SyncError::HeadReorg) => {
                return self.verify_window(cp, false).await;
            }
            Err(e) => return Err(e),
        }
        producer.await.ok();
        progress.finish(cp.block_number.max(0) as u64);
        Ok(cp)
    }

    /// Waits for a commit and records its outcome; returns the new checkpoint.
    async fn finish_commit(
        &self,
        done: InFlight,
        progress: &mut Progress,
    ) -> Result<Checkpoint, SyncError> {
        let elapsed = match done.task.await {
            Ok(result) => result?,
            Err(e) => return Err(SyncError::Task(e.to_string())),
        };
        self.metrics.commit_seconds.observe(elapsed.as_secs_f64());
        self.metrics.commits.inc();
        let mut events = 0u64;
        for (table, n) in done.counts {
            if n > 0 {
                events += n as u64;
                if table == "skipped_logs" {
                    self.metrics.skipped_logs.inc_by(n as u64);
                } else {
                    self.metrics
                        .events
                        .with_label_values(&[table])
                        .inc_by(n as u64);
                }
            }
        }
        let cp = done.checkpoint;
        self.metrics.set_indexed(cp.block_number);
        self.metrics.range_span.set(self.span.current() as i64);
        self.health.set_checkpoint(cp.block_number);
        progress.committed(done.to, events);
        Ok(cp)
    }

    /// Compares the stored window with the chain and rolls back to the highest stored block that
    /// is still canonical. `startup` only logs when nothing changed.
    async fn verify_window(&self, cp: Checkpoint, startup: bool) -> Result<Checkpoint, SyncError> {
        let window_floor = cp.block_number - self.config.reorg_window as i64;
        let stored = self.store.blocks_above(window_floor).await?;
        let stored: Vec<_> = stored
            .into_iter()
            .filter(|b| b.number as i64 <= cp.block_number)
            .collect();
        if stored.is_empty() {
            if startup || cp.block_number < self.config.start_block as i64 {
                return Ok(cp);
            }
            return Err(SyncError::DeepReorg {
                checkpoint: cp.block_number,
                window: self.config.reorg_window,
            });
        }
        let numbers: Vec<u64> = stored.iter().map(|b| b.number).collect();
        let canonical = self.client.headers(&numbers).await?;
        let ancestor = stored
            .iter()
            .zip(&canonical)
            .find(|(s, c)| c.map(|c| c.hash) == Some(s.hash))
            .map(|(s, _)| *s);
        let Some(ancestor) = ancestor else {
            return Err(SyncError::DeepReorg {
                checkpoint: cp.block_number,
                window: self.config.reorg_window,
            });
        };
        if ancestor.number as i64 == cp.block_number {
            if !startup {
                // The checkpoint is canonical after all (the head moved between two reads).
                tracing::debug!(block = cp.block_number, "checkpoint still canonical");
            }
            return Ok(cp);
        }
        let depth = cp.block_number - ancestor.number as i64;
        let summary = self
            .store
            .rollback_to(cp, ancestor.number as i64, ancestor.hash)
            .await?;
        self.metrics.reorgs.inc();
        self.metrics.last_reorg_depth.set(depth);
        self.metrics.set_indexed(ancestor.number as i64);
        self.health.set_checkpoint(ancestor.number as i64);
        tracing::warn!(
            from_block = cp.block_number,
            to_block = ancestor.number,
            depth,
            rows_deleted = summary.rows_deleted,
            payments_recomputed = summary.payments_recomputed,
            at_startup = startup,
            "reorg: rolled back to the common ancestor; re-indexing"
        );
        Ok(Checkpoint {
            block_number: ancestor.number as i64,
            block_hash: ancestor.hash,
        })
    }
}

/// A commit running in its own task.
struct InFlight {
    task: tokio::task::JoinHandle<Result<Duration, StoreError>>,
    /// Fires once the commit holds the checkpoint lock (taken by the next commit).
    locked: Option<tokio::sync::oneshot::Receiver<()>>,
    /// The checkpoint once it succeeds.
    checkpoint: Checkpoint,
    /// Rows per table, for metrics.
    counts: Vec<(&'static str, usize)>,
    /// Last block of the range.
    to: u64,
}

/// A spawned task that is aborted when its handle is dropped (shutdown, error), so no fetch is
/// left retrying on its own.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
