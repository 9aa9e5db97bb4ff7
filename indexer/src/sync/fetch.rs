//! Fetches one block range: logs of the watched contracts, the headers of the blocks holding
//! them (and, near the head, of every block), checked against each other and decoded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use futures::StreamExt;
use tokio::sync::mpsc;
use x402_bindings::IERC20;

use super::span::SpanController;
use super::SyncError;
use crate::decode::{Decoder, Rows};
use crate::rpc::{BlockHeader, ChainClient, RpcError};
use crate::store::{BlockRow, RangeBatch};

/// What to fetch, shared by every fetch of a sync pass.
pub struct Fetcher {
    /// The chain.
    pub client: ChainClient,
    /// Settlement and registry (all their events).
    pub contracts: Vec<Address>,
    /// Payment tokens (their Transfer events).
    pub tokens: Vec<Address>,
    /// Logs -> rows.
    pub decoder: Decoder,
    /// Adaptive span.
    pub span: std::sync::Arc<SpanController>,
}

impl Fetcher {
    /// Fetches and decodes `[from, to]` and sends it to `out` as one batch, or as several
    /// consecutive batches when the node refuses the span or the response outgrows the cap (the
    /// parts are fetched two at a time and sent as each is ready, in order, so a dense stretch
    /// never becomes one giant transaction and commits start with its first part). Headers of
    /// every block at or above `all_headers_from` are fetched too (the reorg window); below it
    /// only blocks with logs and each batch's last block.
    ///
    /// Returns [`SyncError::ChainChanged`] when the answers contradict each other (a reorg
    /// happened while fetching, or the RPC lied): the caller starts over from the checkpoint.
    /// A closed `out` (the writer stopped) ends the fetch quietly.
    pub fn fetch<'a>(
        &'a self,
        from: u64,
        to: u64,
        all_headers_from: u64,
        out: &'a mpsc::Sender<Result<RangeBatch, SyncError>>,
    ) -> futures::future::BoxFuture<'a, Result<(), SyncError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let span = to - from + 1;
            match self.logs_once(from, to).await {
                Ok(logs) => {
                    self.span.succeeded(span, logs.len() as u64);
                    let logs_ms = started.elapsed().as_millis() as u64;
                    let batch = self.assemble(from, to, logs, all_headers_from).await?;
                    tracing::debug!(
                        from,
                        to,
                        rows = batch.rows.len(),
                        logs_ms,
                        total_ms = started.elapsed().as_millis() as u64,
                        "fetched range"
                    );
                    out.send(Ok(batch)).await.ok();
                    Ok(())
                }
                Err(e @ (RpcError::RangeTooLarge(_) | RpcError::ResponseTooLarge { .. })) => {
                    if span == 1 {
                        // One block cannot be split: wait and retry rather than skip it.
                        tracing::error!(block = from, error = %e, "node refuses the logs of a single block (or they exceed the response cap); retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        return self.fetch(from, to, all_headers_from, out).await;
                    }
                    let part = match e {
                        // The size is known: aim each part at a quarter of the cap in one step.
                        RpcError::ResponseTooLarge { bytes, limit } => self.span.too_large_by(span, bytes, limit / 4),
                        _ => self.span.too_large(span),
                    }
                    .clamp(1, span - 1);
                    tracing::debug!(from, to, part, error = %e, "range too large, splitting");
                    let mut parts = Vec::new();
                    let mut start = from;
                    while start <= to {
                        let end = start.saturating_add(part - 1).min(to);
                        parts.push((start, end));
                        start = end + 1;
                    }
                    // Two parts at a time, each into its own channel, forwarded in order. A part
                    // sends at most one batch per block, so a channel as long as the part never
                    // blocks its fetch (which this task awaits before draining it); memory stays
                    // bounded by the part's own logs.
                    let mut fetches = futures::stream::iter(parts)
                        .map(|(a, b)| async move {
                            let (tx, rx) = mpsc::channel((b - a + 2) as usize);
                            (self.fetch(a, b, all_headers_from, &tx).await, rx)
                        })
                        .buffered(2);
                    while let Some((result, mut rx)) = fetches.next().await {
                        rx.close();
                        while let Some(batch) = rx.recv().await {
                            if out.send(batch).await.is_err() {
                                return Ok(());
                            }
                        }
                        result?;
                    }
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Headers for `logs` of `[from, to]`, checks, and decoding into one batch.
    async fn assemble(&self, from: u64, to: u64, logs: Vec<Log>, all_headers_from: u64) -> Result<RangeBatch, SyncError> {
        let mut numbers: BTreeSet<u64> = logs.iter().filter_map(|l| l.block_number).collect();
        numbers.insert(to);
        numbers.extend(all_headers_from.max(from)..=to);
        let numbers: Vec<u64> = numbers.into_iter().collect();
        let fetched = self.client.headers(&numbers).await?;
        let mut headers = BTreeMap::new();
        for (n, h) in numbers.iter().zip(fetched) {
            match h {
                Some(h) => {
                    headers.insert(*n, h);
                }
                None => return Err(SyncError::ChainChanged(format!("block {n} is gone (chain shorter than expected)"))),
            }
        }
        check_headers(&headers)?;

        let mut rows = Rows::default();
        let mut log_counts: BTreeMap<u64, u32> = BTreeMap::new();
        for log in &logs {
            let n = log.block_number.expect("validated");
            let header = headers[&n];
            if log.block_hash != Some(header.hash) {
                return Err(SyncError::ChainChanged(format!(
                    "log of block {n} has block hash {:?} but the header says {}",
                    log.block_hash, header.hash
                )));
            }
            self.decoder.decode(log, header.timestamp, &mut rows);
            *log_counts.entry(n).or_default() += 1;
        }
        let to_hash = headers[&to].hash;
        let blocks = headers
            .into_values()
            .map(|header| BlockRow { header, log_count: log_counts.get(&header.number).copied().unwrap_or(0) })
            .collect();
        Ok(RangeBatch { from, to, to_hash, blocks, rows })
    }

    /// Contract logs and token transfers of one range, concurrently.
    async fn logs_once(&self, from: u64, to: u64) -> Result<Vec<Log>, RpcError> {
        let contracts = self.client.logs(from, to, &self.contracts, None);
        let transfers = async {
            if self.tokens.is_empty() {
                Ok(Vec::new())
            } else {
                self.client.logs(from, to, &self.tokens, Some(IERC20::Transfer::SIGNATURE_HASH)).await
            }
        };
        let (mut a, b) = tokio::try_join!(contracts, transfers)?;
        a.extend(b);
        a.sort_by_key(|l| (l.block_number, l.log_index));
        Ok(a)
    }
}

/// Consecutive headers must chain by parent hash.
fn check_headers(headers: &BTreeMap<u64, BlockHeader>) -> Result<(), SyncError> {
    let mut prev: Option<&BlockHeader> = None;
    for h in headers.values() {
        if let Some(p) = prev {
            if p.number + 1 == h.number && h.parent_hash != p.hash {
                return Err(SyncError::ChainChanged(format!(
                    "block {} does not follow block {} (parent {} != {})",
                    h.number, p.number, h.parent_hash, p.hash
                )));
            }
        }
        prev = Some(h);
    }
    Ok(())
}

/// Whether the first block of a batch follows the checkpoint (when its header was fetched).
pub fn follows(batch: &RangeBatch, checkpoint_hash: B256) -> Option<bool> {
    batch
        .blocks
        .iter()
        .find(|b| b.header.number == batch.from)
        .map(|b| b.header.parent_hash == checkpoint_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(number: u64, hash: u8, parent: u8) -> BlockHeader {
        BlockHeader { number, hash: B256::repeat_byte(hash), parent_hash: B256::repeat_byte(parent), timestamp: number }
    }

    #[test]
    fn headers_must_chain() {
        let ok: BTreeMap<_, _> = [(1, h(1, 1, 0)), (2, h(2, 2, 1)), (5, h(5, 5, 9))].into_iter().collect();
        assert!(check_headers(&ok).is_ok());
        let broken: BTreeMap<_, _> = [(1, h(1, 1, 0)), (2, h(2, 2, 7))].into_iter().collect();
        assert!(matches!(check_headers(&broken), Err(SyncError::ChainChanged(_))));
    }

    #[test]
    fn follows_checks_the_first_block_parent() {
        let batch = RangeBatch {
            from: 2,
            to: 3,
            blocks: vec![BlockRow { header: h(2, 2, 1), log_count: 0 }, BlockRow { header: h(3, 3, 2), log_count: 0 }],
            ..Default::default()
        };
        assert_eq!(follows(&batch, B256::repeat_byte(1)), Some(true));
        assert_eq!(follows(&batch, B256::repeat_byte(9)), Some(false));
        let far = RangeBatch { from: 1, to: 3, blocks: vec![BlockRow { header: h(3, 3, 2), log_count: 0 }], ..Default::default() };
        assert_eq!(follows(&far, B256::repeat_byte(9)), None);
    }
}
