//! Chain access over JSON-RPC: `eth_getLogs`, block headers (batched), head and chain id, with
//! retries and backoff. Every response is checked before it leaves this module: logs must lie in
//! the requested range and match the filter, headers must be the blocks asked for.

mod error;
mod txs;

use std::time::Duration;

use alloy::primitives::{Address, Bloom, B256, U64};
use alloy::rpc::client::{ClientBuilder, RpcClient};
use alloy::rpc::types::{Filter, Log};
use alloy::transports::http::reqwest;
use alloy::transports::{HttpError, TransportErrorKind};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub use error::{classify, RpcError};
pub use txs::{BlockTx, FullBlock, TxOutcome};

use crate::ops::metrics::Metrics;

/// The parts of a block header the indexer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockHeader {
    /// Block number.
    #[serde(with = "alloy::serde::quantity")]
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Unix timestamp in seconds.
    #[serde(with = "alloy::serde::quantity")]
    pub timestamp: u64,
    /// Bloom filter over the addresses and topics of the block's logs: a block whose bloom does not
    /// match a filter has no log for it (no false negatives), which lets the indexer catch
    /// `eth_getLogs` answers that silently leave logs out.
    pub logs_bloom: Bloom,
}

/// Retry schedule: exponential backoff with jitter, capped, forever (until shutdown).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max);
        // Up to 25% jitter so many clients do not retry in lockstep.
        let jitter = rand::random::<f64>() * 0.25;
        capped.mul_f64(1.0 + jitter).min(self.max)
    }
}

/// A JSON-RPC client for one chain.
#[derive(Clone)]
pub struct ChainClient {
    client: RpcClient,
    /// eth_getLogs goes over plain HTTP so the response size can be capped while it streams in,
    /// and is parsed once, straight from the bytes (no intermediate copy).
    http: reqwest::Client,
    url: reqwest::Url,
    max_response_bytes: usize,
    metrics: Metrics,
    backoff: Backoff,
    header_batch_size: usize,
    cancel: CancellationToken,
}

impl ChainClient {
    /// Connects (lazily) to `url` with a per-request `timeout`; an `eth_getLogs` response larger
    /// than `max_response_bytes` is abandoned as too large (the caller splits the range).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        url: reqwest::Url,
        timeout: Duration,
        backoff: Backoff,
        header_batch_size: usize,
        max_response_bytes: usize,
        metrics: Metrics,
        cancel: CancellationToken,
    ) -> Result<Self, RpcError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| RpcError::Transient {
                kind: "transport",
                message: e.to_string(),
            })?;
        let client = ClientBuilder::default().http_with_client(http.clone(), url.clone());
        Ok(Self {
            client,
            http,
            url,
            max_response_bytes: max_response_bytes.max(1),
            metrics,
            backoff,
            header_batch_size: header_batch_size.max(1),
            cancel,
        })
    }

    /// Runs `op` until it succeeds, retrying transient failures with backoff. Returns
    /// [`RpcError::RangeTooLarge`] at once (the caller splits) and [`RpcError::Cancelled`] on
    /// shutdown; never gives up otherwise, because a failed range must never count as empty.
    pub async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, RpcError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RpcError>>,
    {
        let mut attempt = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(RpcError::Cancelled);
            }
            let result = tokio::select! {
                r = op() => r,
                _ = self.cancel.cancelled() => return Err(RpcError::Cancelled),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(
                    e @ (RpcError::RangeTooLarge(_)
                    | RpcError::ResponseTooLarge { .. }
                    | RpcError::Cancelled),
                ) => {
                    if !matches!(e, RpcError::Cancelled) {
                        self.metrics.rpc_errors.with_label_values(&[e.kind()]).inc();
                    }
                    return Err(e);
                }
                Err(e) => {
                    attempt += 1;
                    self.metrics.rpc_errors.with_label_values(&[e.kind()]).inc();
                    self.metrics.rpc_retries.inc();
                    let delay = self.backoff.delay(attempt);
                    if attempt <= 3 {
                        tracing::warn!(what, attempt, error = %e, retry_in_ms = delay.as_millis() as u64, "RPC failure, retrying");
                    } else {
                        tracing::error!(what, attempt, error = %e, retry_in_ms = delay.as_millis() as u64, "RPC still failing, retrying");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.cancel.cancelled() => return Err(RpcError::Cancelled),
                    }
                }
            }
        }
    }

    /// `eth_chainId`, retried.
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        self.retrying("eth_chainId", || async {
            self.metrics
                .rpc_requests
                .with_label_values(&["eth_chainId"])
                .inc();
            let id: U64 = self
                .client
                .request_noparams("eth_chainId")
                .await
                .map_err(|e| classify(e, false))?;
            Ok(id.to::<u64>())
        })
        .await
    }

    /// The latest block's header, retried.
    pub async fn latest(&self) -> Result<BlockHeader, RpcError> {
        self.retrying("latest block", || async {
            self.metrics
                .rpc_requests
                .with_label_values(&["eth_getBlockByNumber"])
                .inc();
            let h: Option<BlockHeader> = self
                .client
                .request("eth_getBlockByNumber", ("latest", false))
                .await
                .map_err(|e| classify(e, false))?;
            h.ok_or_else(|| RpcError::invalid("latest block is null"))
        })
        .await
    }

    /// Headers of `numbers` (any order, no duplicates), batched, retried. A block the node does
    /// not have (yet, or any more after a reorg to a shorter chain) is `None`.
    pub async fn headers(&self, numbers: &[u64]) -> Result<Vec<Option<BlockHeader>>, RpcError> {
        let mut out = Vec::with_capacity(numbers.len());
        for chunk in numbers.chunks(self.header_batch_size) {
            let got = self
                .retrying("block headers", || self.headers_once(chunk))
                .await?;
            out.extend(got);
        }
        Ok(out)
    }

    async fn headers_once(&self, numbers: &[u64]) -> Result<Vec<Option<BlockHeader>>, RpcError> {
        self.metrics
            .rpc_requests
            .with_label_values(&["eth_getBlockByNumber"])
            .inc_by(numbers.len() as u64);
        let mut batch = self.client.new_batch();
        let mut waiters = Vec::with_capacity(numbers.len());
        for n in numbers {
            let w = batch
                .add_call::<_, Option<BlockHeader>>("eth_getBlockByNumber", &(U64::from(*n), false))
                .map_err(|e| classify(e, false))?;
            waiters.push(w);
        }
        batch.send().await.map_err(|e| classify(e, false))?;
        let mut out = Vec::with_capacity(numbers.len());
        for (n, w) in numbers.iter().zip(waiters) {
            let header = w.await.map_err(|e| classify(e, false))?;
            if let Some(h) = &header {
                if h.number != *n {
                    return Err(RpcError::invalid(format!(
                        "asked for block {n}, got block {}",
                        h.number
                    )));
                }
            }
            out.push(header);
        }
        Ok(out)
    }

    /// One `eth_getLogs` over `[from, to]` for `addresses` (and, when `topics0` is not empty, logs
    /// whose first topic is one of them), checked: every log inside the range, from a requested
    /// address and topic, not `removed`, with block hash and log index; duplicates of one (block,
    /// log index) are dropped when identical and rejected when not. Transient failures are
    /// retried; [`RpcError::RangeTooLarge`] is returned to the caller.
    pub async fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
        topics0: &[B256],
    ) -> Result<Vec<Log>, RpcError> {
        let mut filter = Filter::new()
            .from_block(from)
            .to_block(to)
            .address(addresses.to_vec());
        if !topics0.is_empty() {
            filter = filter.event_signature(topics0.to_vec());
        }
        let request = serde_json::to_vec(&serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [filter],
        }))
        .map_err(|e| RpcError::Transient {
            kind: "transport",
            message: format!("encoding eth_getLogs: {e}"),
        })?;
        self.retrying("eth_getLogs", || async {
            self.metrics
                .rpc_requests
                .with_label_values(&["eth_getLogs"])
                .inc();
            let logs = self.get_logs_once(request.clone()).await?;
            validate_logs(logs, from, to, addresses, topics0)
        })
        .await
    }

    /// Logs of `addresses` with first topic `topic0` whose indexed address argument at topic
    /// `position` (1 or 2: `from` or `to` of a `Transfer`) is one of `parties`, in `[from, to]`:
    /// the address-filtered query of the scoped lineage. Every log is checked against the filter.
    pub async fn logs_by_party(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
        topic0: B256,
        position: usize,
        parties: &[Address],
    ) -> Result<Vec<Log>, RpcError> {
        let topics: Vec<B256> = parties.iter().map(|a| a.into_word()).collect();
        let mut filter = Filter::new()
            .from_block(from)
            .to_block(to)
            .address(addresses.to_vec())
            .event_signature(topic0);
        filter = match position {
            1 => filter.topic1(topics.clone()),
            2 => filter.topic2(topics.clone()),
            _ => {
                return Err(RpcError::invalid(format!(
                    "topic position {position} is not an indexed address of a Transfer"
                )))
            }
        };
        let request = serde_json::to_vec(&serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [filter],
        }))
        .map_err(|e| RpcError::Transient {
            kind: "transport",
            message: format!("encoding eth_getLogs: {e}"),
        })?;
        let wanted: std::collections::HashSet<B256> = topics.into_iter().collect();
        self.retrying("eth_getLogs", || async {
            self.metrics
                .rpc_requests
                .with_label_values(&["eth_getLogs"])
                .inc();
            let logs = self.get_logs_once(request.clone()).await?;
            let logs = validate_logs(logs, from, to, addresses, &[topic0])?;
            if let Some(l) = logs
                .iter()
                .find(|l| !l.topics().get(position).is_some_and(|t| wanted.contains(t)))
            {
                return Err(RpcError::invalid(format!(
                    "log in block {:?} does not match the requested topic {position}",
                    l.block_number
                )));
            }
            Ok(logs)
        })
        .await
    }

    /// The logs of `addresses` (first topic in `topics0` when not empty) in each of the blocks
    /// `hashes`, asked by block hash (EIP-234), batched, retried. A node that does not hold a block
    /// answers an error ("unknown block"), not an empty list, so an empty answer here is a proof
    /// that the block has no such log. Every log must name the block asked for.
    pub async fn logs_by_block_hash(
        &self,
        hashes: &[(u64, B256)],
        addresses: &[Address],
        topics0: &[B256],
    ) -> Result<Vec<Vec<Log>>, RpcError> {
        let mut out = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(self.header_batch_size) {
            let got = self
                .retrying("eth_getLogs by block hash", || async {
                    self.metrics
                        .rpc_requests
                        .with_label_values(&["eth_getLogs"])
                        .inc_by(chunk.len() as u64);
                    let mut batch = self.client.new_batch();
                    let mut waiters = Vec::with_capacity(chunk.len());
                    for (_, hash) in chunk {
                        let mut filter = Filter::new()
                            .at_block_hash(*hash)
                            .address(addresses.to_vec());
                        if !topics0.is_empty() {
                            filter = filter.event_signature(topics0.to_vec());
                        }
                        waiters.push(
                            batch
                                .add_call::<_, Vec<Log>>("eth_getLogs", &(filter,))
                                .map_err(|e| classify(e, false))?,
                        );
                    }
                    batch.send().await.map_err(|e| classify(e, false))?;
                    let mut answers = Vec::with_capacity(chunk.len());
                    for ((number, hash), w) in chunk.iter().zip(waiters) {
                        let logs = w.await.map_err(|e| classify(e, false))?;
                        if let Some(l) = logs.iter().find(|l| l.block_hash != Some(*hash)) {
                            return Err(RpcError::invalid(format!(
                                "eth_getLogs for block hash {hash} returned a log of block {:?}",
                                l.block_hash
                            )));
                        }
                        answers.push(validate_logs(logs, *number, *number, addresses, topics0)?);
                    }
                    Ok(answers)
                })
                .await?;
            out.extend(got);
        }
        Ok(out)
    }

    /// Records that a range answer left out the logs of `blocks`, which were then taken by block
    /// hash (counted as `rpc_errors{kind="lossy"}`).
    pub fn lossy_answer_repaired(&self, range: (u64, u64), blocks: &[u64]) {
        self.metrics.rpc_errors.with_label_values(&["lossy"]).inc();
        tracing::warn!(
            from = range.0,
            to = range.1,
            blocks = ?&blocks[..blocks.len().min(5)],
            missing_blocks = blocks.len(),
            "eth_getLogs left out logs that the block blooms prove exist (a node behind the head?); took those blocks by hash"
        );
    }

    /// Pauses before asking again after an answer that the chain contradicts (logs missing that
    /// the block blooms prove exist): counted as an `rpc_errors{kind="lossy"}` and retried with
    /// backoff like any transient failure, forever (until shutdown).
    pub async fn after_lossy_answer(&self, what: &str, attempt: u32) -> Result<(), RpcError> {
        self.metrics.rpc_errors.with_label_values(&["lossy"]).inc();
        self.metrics.rpc_retries.inc();
        let delay = self.backoff.delay(attempt);
        tracing::warn!(what, attempt, retry_in_ms = delay.as_millis() as u64, "the node's answer leaves out logs the block blooms prove exist (a node behind the head?); fetching again");
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.cancel.cancelled() => Err(RpcError::Cancelled),
        }
    }

    async fn get_logs_once(&self, request: Vec<u8>) -> Result<Vec<Log>, RpcError> {
        let mut resp = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request)
            .send()
            .await
            .map_err(http_error)?;
        let status = resp.status();
        let limit = self.max_response_bytes;
        if let Some(len) = resp.content_length() {
            if status.is_success() && len as usize > limit {
                return Err(RpcError::ResponseTooLarge {
                    bytes: len,
                    limit: limit as u64,
                });
            }
        }
        let mut body =
            Vec::with_capacity(resp.content_length().unwrap_or(0).min(limit as u64) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(http_error)? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(RpcError::ResponseTooLarge {
                    bytes: body.len() as u64,
                    limit: limit as u64,
                });
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body).into_owned();
            return Err(classify(
                alloy::transports::RpcError::Transport(TransportErrorKind::HttpError(HttpError {
                    status: status.as_u16(),
                    body: text,
                })),
                true,
            ));
        }
        let envelope: Envelope<Vec<Log>> =
            serde_json::from_slice(&body).map_err(|e| RpcError::Transient {
                kind: "malformed",
                message: format!(
                    "eth_getLogs response ({} bytes) does not parse: {e}",
                    body.len()
                ),
            })?;
        match (envelope.result, envelope.error) {
            (_, Some(error)) => Err(classify(
                alloy::transports::RpcError::ErrorResp(error),
                true,
            )),
            (Some(logs), None) => Ok(logs),
            (None, None) => Err(RpcError::Transient {
                kind: "malformed",
                message: "eth_getLogs: neither result nor error".into(),
            }),
        }
    }
}

/// A JSON-RPC response: `result` or `error`.
#[derive(Deserialize)]
struct Envelope<T> {
    result: Option<T>,
    error: Option<alloy::rpc::json_rpc::ErrorPayload>,
}

fn http_error(e: reqwest::Error) -> RpcError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    RpcError::Transient { kind, message }
}

/// Checks an `eth_getLogs` answer against its request and sorts it by (block, log index).
pub fn validate_logs(
    mut logs: Vec<Log>,
    from: u64,
    to: u64,
    addresses: &[Address],
    topics0: &[B256],
) -> Result<Vec<Log>, RpcError> {
    for log in &logs {
        let (Some(n), Some(_), Some(_), Some(_)) = (
            log.block_number,
            log.block_hash,
            log.log_index,
            log.transaction_hash,
        ) else {
            return Err(RpcError::invalid(
                "log without block number, block hash, log index or tx hash (pending?)",
            ));
        };
        if n < from || n > to {
            return Err(RpcError::invalid(format!(
                "log in block {n} outside requested range {from}..={to}"
            )));
        }
        if log.removed {
            return Err(RpcError::invalid(format!("removed log in block {n}")));
        }
        if !addresses.contains(&log.address()) {
            return Err(RpcError::invalid(format!(
                "log from unrequested address {}",
                log.address()
            )));
        }
        if !topics0.is_empty() && !log.topic0().is_some_and(|t| topics0.contains(t)) {
            return Err(RpcError::invalid(format!(
                "log in block {n} does not match the requested topic"
            )));
        }
    }
    logs.sort_by_key(|l| (l.block_number, l.log_index));
    let before = logs.len();
    let mut conflict = None;
    logs.dedup_by(|b, a| {
        let same_key = a.block_number == b.block_number && a.log_index == b.log_index;
        if same_key && a != b {
            conflict = Some((a.block_number, a.log_index));
        }
        same_key
    });
    if let Some((block, index)) = conflict {
        return Err(RpcError::invalid(format!(
            "two different logs at block {block:?} index {index:?}"
        )));
    }
    if logs.len() != before {
        tracing::warn!(
            duplicates = before - logs.len(),
            from,
            to,
            "eth_getLogs returned duplicated logs; dropped"
        );
    }
    // Within one block all logs must carry the same block hash.
    for pair in logs.windows(2) {
        if pair[0].block_number == pair[1].block_number && pair[0].block_hash != pair[1].block_hash
        {
            return Err(RpcError::invalid(format!(
                "logs of block {:?} carry different block hashes",
                pair[0].block_number
            )));
        }
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256, Bytes, LogData};

    const A: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");

    fn log(block: u64, index: u64, hash: B256) -> Log {
        Log {
            inner: alloy::primitives::Log {
                address: A,
                data: LogData::new_unchecked(vec![B256::ZERO], Bytes::new()),
            },
            block_hash: Some(hash),
            block_number: Some(block),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(7)),
            transaction_index: Some(0),
            log_index: Some(index),
            removed: false,
        }
    }

    const H1: B256 = b256!("0x1111111111111111111111111111111111111111111111111111111111111111");
    const H2: B256 = b256!("0x2222222222222222222222222222222222222222222222222222222222222222");

    #[test]
    fn sorts_and_drops_identical_duplicates() {
        let logs = vec![log(5, 1, H1), log(3, 0, H2), log(5, 1, H1), log(5, 0, H1)];
        let out = validate_logs(logs, 1, 10, &[A], &[]).unwrap();
        let keys: Vec<_> = out
            .iter()
            .map(|l| (l.block_number.unwrap(), l.log_index.unwrap()))
            .collect();
        assert_eq!(keys, vec![(3, 0), (5, 0), (5, 1)]);
    }

    #[test]
    fn rejects_logs_outside_the_range() {
        assert!(validate_logs(vec![log(11, 0, H1)], 1, 10, &[A], &[]).is_err());
    }

    #[test]
    fn rejects_conflicting_duplicates_and_mixed_block_hashes() {
        let mut other = log(5, 1, H1);
        other.transaction_hash = Some(B256::repeat_byte(9));
        assert!(validate_logs(vec![log(5, 1, H1), other], 1, 10, &[A], &[]).is_err());
        assert!(validate_logs(vec![log(5, 1, H1), log(5, 2, H2)], 1, 10, &[A], &[]).is_err());
    }

    #[test]
    fn rejects_unrequested_addresses_and_topics() {
        let other = address!("0x0000000000000000000000000000000000000001");
        assert!(validate_logs(vec![log(5, 1, H1)], 1, 10, &[other], &[]).is_err());
        assert!(validate_logs(vec![log(5, 1, H1)], 1, 10, &[A], &[H2]).is_err());
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        assert!(
            b.delay(1) >= Duration::from_millis(100) && b.delay(1) <= Duration::from_millis(125)
        );
        assert!(b.delay(3) >= Duration::from_millis(400));
        assert_eq!(b.delay(30), Duration::from_secs(2));
    }
}
