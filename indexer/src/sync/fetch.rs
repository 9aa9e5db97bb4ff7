//! Fetches one block range: logs of the watched contracts, the headers of the range's blocks,
//! checked against each other (hashes, parent links, and the blocks' `logsBloom`: a provider that
//! silently leaves logs out is caught and asked again), and decoded.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, BloomInput, B256};
use alloy::rpc::types::Log;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::senders::Permit2ProxyScope;
use super::span::SpanController;
use super::SyncError;
use alloy::sol_types::SolEvent;
use x402_bindings::IERC20;

use crate::decode::{AuthorizationUsed, Decoder, NativeTransfer, Rows};
use crate::rpc::{BlockHeader, BlockTx, ChainClient, RpcError, TxOutcome};
use crate::store::{BlockRow, RangeBatch};

/// What to fetch, shared by every fetch of a sync pass.
pub struct Fetcher {
    /// The chain.
    pub client: ChainClient,
    /// Settlement, registry and x402 Permit2 proxies (all their events).
    pub contracts: Vec<Address>,
    /// Payment tokens (their Transfer events).
    pub tokens: Vec<Address>,
    /// First topics fetched from the tokens (Transfer, and AuthorizationUsed for EIP-3009).
    pub token_topics: Vec<B256>,
    /// Check every answer against the blocks' blooms (headers of every block of the range).
    pub check_blooms: bool,
    /// Index native transfers (every block's transactions are fetched).
    pub native: Option<NativeScope>,
    /// Turn EIP-3009 authorizations into payments.
    pub eip3009: Option<Eip3009Scope>,
    /// Turn x402 Permit2 proxy settlements into payments (the proxies are among `contracts`).
    pub permit2_proxy: Option<Permit2ProxyScope>,
    /// Scoped lineage: `tokens` are asked for `AuthorizationUsed` only, so the `Transfer`s those
    /// authorizations moved (from the authorizer, same transaction) are asked for by address.
    pub authorized_transfers: bool,
    /// Set once most bloom matches proved false (a busy chain's saturated blooms).
    pub blooms_saturated: AtomicBool,
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
            let mut lossy_attempts = 0u32;
            // When every block of the range is needed anyway (bloom check, transactions), its
            // blocks are fetched alongside the logs rather than after them.
            let every_block = self.check_blooms || self.native.is_some();
            let answers = loop {
                let (answers, blocks) = if every_block {
                    let (answers, blocks) =
                        tokio::join!(self.logs_once(from, to), self.blocks((from..=to).collect()));
                    match answers {
                        Ok(a) => (a, Some(blocks)),
                        Err(e) => break Err(e),
                    }
                } else {
                    match self.logs_once(from, to).await {
                        Ok(a) => (a, None),
                        Err(e) => break Err(e),
                    }
                };
                // After two lossy answers, stop re-asking for the whole range and take the missing
                // blocks by hash whatever their number; likewise on a chain whose blooms turned
                // out saturated (most matches false), where re-asking would prove nothing.
                let by_hash_limit =
                    if lossy_attempts >= 2 || self.blooms_saturated.load(Ordering::Relaxed) {
                        usize::MAX
                    } else {
                        MAX_BLOCKS_BY_HASH
                    };
                match self
                    .assemble(from, to, answers, blocks, all_headers_from, by_hash_limit)
                    .await
                {
                    Err(SyncError::LossyAnswer(what)) => {
                        // Never commit a range the chain contradicts: ask again (another node
                        // behind the load balancer, or the same one once it caught up).
                        lossy_attempts += 1;
                        self.client
                            .after_lossy_answer(&what, lossy_attempts)
                            .await?;
                    }
                    other => break Ok(other),
                }
            };
            match answers {
                Ok(assembled) => {
                    let (batch, log_count) = assembled?;
                    self.span.succeeded(span, log_count);
                    tracing::debug!(
                        from,
                        to,
                        rows = batch.rows.len(),
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
                        RpcError::ResponseTooLarge { bytes, limit } => {
                            self.span.too_large_by(span, bytes, limit / 4)
                        }
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

    /// Headers for the logs of `[from, to]`, checks, and decoding into one batch (and the number
    /// of logs, for the span controller).
    async fn assemble(
        &self,
        from: u64,
        to: u64,
        mut answers: Answers,
        blocks: Option<Result<Blocks, SyncError>>,
        all_headers_from: u64,
        by_hash_limit: usize,
    ) -> Result<(RangeBatch, u64), SyncError> {
        let Blocks { headers, txs } = match blocks {
            Some(fetched) => fetched?,
            None => {
                let mut numbers: BTreeSet<u64> =
                    answers.all().filter_map(|l| l.block_number).collect();
                numbers.insert(to);
                numbers.extend(all_headers_from.max(from)..=to);
                self.blocks(numbers.into_iter().collect()).await?
            }
        };
        check_headers(&headers)?;
        if self.check_blooms {
            self.check_answers(&headers, &mut answers, by_hash_limit)
                .await?;
        }

        let mut rows = Rows::default();
        let mut log_counts: BTreeMap<u64, u32> = BTreeMap::new();
        let mut logs: Vec<&Log> = answers.all().collect();
        logs.sort_by_key(|l| (l.block_number, l.log_index));
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
        // Before any pairing: a proxy transaction's Transfers could also pair with an EIP-3009
        // authorization, as they would with full indexing.
        if let Some(scope) = &self.permit2_proxy {
            self.add_proxy_transfers(scope, &mut rows).await?;
        }
        if let Some(eip3009) = &self.eip3009 {
            self.resolve_eip3009(eip3009, &txs, &mut rows).await?;
        }
        if let Some(scope) = &self.permit2_proxy {
            self.resolve_permit2_proxy(scope, &txs, &mut rows).await?;
        }
        if let Some(native) = &self.native {
            self.native_transfers(native, &headers, &txs, &mut rows)
                .await?;
            for t in &rows.native_transfers {
                *log_counts.entry(t.block_number).or_default() += 1;
            }
        }
        let to_hash = headers[&to].hash;
        // Stored: blocks with rows, the checkpoint block and the reorg window; the other headers
        // were only needed for the bloom check.
        let blocks = headers
            .into_values()
            .filter(|h| {
                h.number == to || h.number >= all_headers_from || log_counts.contains_key(&h.number)
            })
            .map(|header| BlockRow {
                header,
                log_count: log_counts.get(&header.number).copied().unwrap_or(0),
            })
            .collect();
        Ok((
            RangeBatch {
                from,
                to,
                to_hash,
                blocks,
                rows,
            },
            logs.len() as u64,
        ))
    }

    /// Headers of `numbers` (ascending), or, when native transfers are indexed, the blocks with
    /// their transactions. A block the node lacks means the chain changed under the fetch.
    async fn blocks(&self, numbers: Vec<u64>) -> Result<Blocks, SyncError> {
        let gone = |n: &u64| {
            SyncError::ChainChanged(format!("block {n} is gone (chain shorter than expected)"))
        };
        let mut out = Blocks::default();
        if self.native.is_some() {
            for (n, b) in numbers.iter().zip(self.client.full_blocks(&numbers).await?) {
                let b = b.ok_or_else(|| gone(n))?;
                out.headers.insert(*n, b.header());
                out.txs.insert(*n, b.transactions);
            }
        } else {
            for (n, h) in numbers.iter().zip(self.client.headers(&numbers).await?) {
                out.headers.insert(*n, h.ok_or_else(|| gone(n))?);
            }
        }
        Ok(out)
    }

    /// Pairs EIP-3009 authorizations with their Transfers and fills in each transaction's sender,
    /// from the block's transactions when they were fetched, else from the receipts.
    async fn resolve_eip3009(
        &self,
        scope: &Eip3009Scope,
        txs: &BTreeMap<u64, Vec<BlockTx>>,
        rows: &mut Rows,
    ) -> Result<(), SyncError> {
        if rows.eip3009_authorizations.is_empty() {
            return Ok(());
        }
        rows.pair_eip3009();
        let mut wanted: Vec<(B256, u64, B256)> = rows
            .eip3009_authorizations
            .iter()
            .map(|a| (a.meta.tx_hash, a.meta.block_number, a.meta.block_hash))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let senders = self.tx_senders(txs, &wanted).await?;
        let missing = rows.resolve_eip3009(&senders, &scope.facilitators, scope.settlement);
        if let Some(h) = missing.first() {
            return Err(SyncError::ChainChanged(format!(
                "transaction {h} of an AuthorizationUsed log is not in its block"
            )));
        }
        Ok(())
    }

    /// Top-level transactions with value and a recipient (within the configured addresses), kept
    /// when their receipt says they succeeded (a reverted transaction moves no value).
    async fn native_transfers(
        &self,
        scope: &NativeScope,
        headers: &BTreeMap<u64, BlockHeader>,
        txs: &BTreeMap<u64, Vec<BlockTx>>,
        rows: &mut Rows,
    ) -> Result<(), SyncError> {
        let candidates: Vec<(u64, &BlockTx)> = txs
            .iter()
            .flat_map(|(n, list)| list.iter().map(move |t| (*n, t)))
            .filter(|(_, t)| !t.value.is_zero())
            .filter(|(_, t)| {
                t.to.is_some_and(|to| {
                    scope.addresses.is_empty()
                        || scope.addresses.contains(&to)
                        || scope.addresses.contains(&t.from)
                })
            })
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let hashes: Vec<B256> = candidates.iter().map(|(_, t)| t.hash).collect();
        let outcomes = self.client.receipts(&hashes).await?;
        for ((n, tx), outcome) in candidates.into_iter().zip(outcomes) {
            let header = headers[&n];
            let o = receipt_in_block(&tx.hash, outcome, n, header.hash)?;
            if !o.success {
                continue;
            }
            rows.native_transfers.push(NativeTransfer {
                block_number: n,
                block_hash: header.hash,
                block_time: header.timestamp,
                tx_hash: tx.hash,
                tx_index: tx.transaction_index,
                from: tx.from,
                to: tx.to.expect("filtered on a recipient"),
                value: tx.value,
            });
        }
        Ok(())
    }

    /// Every block whose bloom matches a filter but for which that filter's answer holds no log is
    /// asked for by block hash. A node answers "unknown block" for a block it does not hold (an
    /// error, retried), so what it answers by hash is that block's complete set of logs: an empty
    /// answer proves a bloom false positive, logs are added to the range's answer (the range
    /// answer had left them out). Every block of the range is then proven: no bloom match, logs
    /// in the answer (the node held the block), or answered by hash. When more than
    /// `by_hash_limit` blocks are missing, asking for the whole range again is cheaper:
    /// [`SyncError::LossyAnswer`].
    async fn check_answers(
        &self,
        headers: &BTreeMap<u64, BlockHeader>,
        answers: &mut Answers,
        by_hash_limit: usize,
    ) -> Result<(), SyncError> {
        let range = (
            headers.keys().next().copied().unwrap_or_default(),
            headers.keys().last().copied().unwrap_or_default(),
        );
        for (addresses, topics, logs) in [
            (&self.contracts[..], &[][..], &mut answers.contracts),
            (
                &self.tokens[..],
                &self.token_topics[..],
                &mut answers.tokens,
            ),
        ] {
            if addresses.is_empty() {
                continue;
            }
            let suspects = unanswered_bloom_matches(headers, logs, addresses, topics);
            if suspects.is_empty() {
                continue;
            }
            if suspects.len() > by_hash_limit {
                return Err(SyncError::LossyAnswer(format!(
                    "eth_getLogs {}..={} holds no log for {} blocks whose blooms match",
                    range.0,
                    range.1,
                    suspects.len()
                )));
            }
            let found = self
                .client
                .logs_by_block_hash(&suspects, addresses, topics)
                .await?;
            let missing: Vec<u64> = suspects
                .iter()
                .zip(&found)
                .filter(|(_, logs)| !logs.is_empty())
                .map(|((n, _), _)| *n)
                .collect();
            if !missing.is_empty() {
                self.client.lossy_answer_repaired(range, &missing);
            }
            // Busy chains fill their blooms: nearly every block then matches every filter. Seen
            // once, the range is no longer asked again before going by hash.
            let false_matches = suspects.len() - missing.len();
            if suspects.len() >= 8
                && false_matches * 10 >= suspects.len() * 9
                && !self.blooms_saturated.swap(true, Ordering::Relaxed)
            {
                tracing::info!(
                    blocks = suspects.len(),
                    false_matches,
                    "block blooms are saturated on this chain: bloom matches are checked by block hash directly"
                );
            }
            logs.extend(found.into_iter().flatten());
        }
        Ok(())
    }

    /// Contract logs and token logs of one range, concurrently.
    async fn logs_once(&self, from: u64, to: u64) -> Result<Answers, RpcError> {
        let contracts = self.client.logs(from, to, &self.contracts, &[]);
        let tokens = async {
            if self.tokens.is_empty() {
                Ok(Vec::new())
            } else {
                self.client
                    .logs(from, to, &self.tokens, &self.token_topics)
                    .await
            }
        };
        let (contracts, mut tokens) = tokio::try_join!(contracts, tokens)?;
        if self.authorized_transfers {
            let paired = self.authorized_transfers(from, to, &tokens).await?;
            tokens.extend(paired);
        }
        Ok(Answers { contracts, tokens })
    }

    /// The `Transfer`s from the authorizers of `authorizations` (AuthorizationUsed logs) in the
    /// same transactions: what pairing an EIP-3009 payment needs when the tokens' other
    /// `Transfer`s are not fetched (scoped lineage).
    async fn authorized_transfers(
        &self,
        from: u64,
        to: u64,
        authorizations: &[Log],
    ) -> Result<Vec<Log>, RpcError> {
        let mut authorizers: Vec<Address> = Vec::new();
        let mut txs: HashSet<B256> = HashSet::new();
        for l in authorizations {
            if l.topic0() == Some(&AuthorizationUsed::SIGNATURE_HASH) {
                if let (Some(a), Some(tx)) = (l.topics().get(1), l.transaction_hash) {
                    authorizers.push(Address::from_word(*a));
                    txs.insert(tx);
                }
            }
        }
        authorizers.sort_unstable();
        authorizers.dedup();
        let mut out = Vec::new();
        for chunk in authorizers.chunks(AUTHORIZERS_PER_REQUEST) {
            let logs = self
                .client
                .logs_by_party(
                    from,
                    to,
                    &self.tokens,
                    IERC20::Transfer::SIGNATURE_HASH,
                    1,
                    chunk,
                )
                .await?;
            out.extend(
                logs.into_iter()
                    .filter(|l| l.transaction_hash.is_some_and(|h| txs.contains(&h))),
            );
        }
        Ok(out)
    }
}

/// Blocks of a range: headers, and transactions when native transfers are indexed.
#[derive(Default)]
struct Blocks {
    headers: BTreeMap<u64, BlockHeader>,
    txs: BTreeMap<u64, Vec<BlockTx>>,
}

/// Authorizers per `Transfer` query when pairing EIP-3009 payments in scoped mode.
const AUTHORIZERS_PER_REQUEST: usize = 500;

/// Missing blocks of a range answer up to which they are asked for by hash rather than the range
/// asked for again.
const MAX_BLOCKS_BY_HASH: usize = 32;

/// The answers of one range's `eth_getLogs` requests, one per filter.
pub struct Answers {
    /// Settlement and registry logs.
    pub contracts: Vec<Log>,
    /// Token logs.
    pub tokens: Vec<Log>,
}

impl Answers {
    fn all(&self) -> impl Iterator<Item = &Log> {
        self.contracts.iter().chain(&self.tokens)
    }
}

/// Blocks of `headers` whose bloom matches the filter (`addresses`, first topic among `topics0`
/// when not empty) but that hold no log in `logs`, the filter's answer.
pub fn unanswered_bloom_matches(
    headers: &BTreeMap<u64, BlockHeader>,
    logs: &[Log],
    addresses: &[Address],
    topics0: &[B256],
) -> Vec<(u64, B256)> {
    let answered: BTreeSet<u64> = logs.iter().filter_map(|l| l.block_number).collect();
    headers
        .values()
        .filter(|h| !answered.contains(&h.number))
        .filter(|h| {
            let bloom = &h.logs_bloom;
            addresses
                .iter()
                .any(|a| bloom.contains_input(BloomInput::Raw(a.as_slice())))
                && (topics0.is_empty()
                    || topics0
                        .iter()
                        .any(|t| bloom.contains_input(BloomInput::Raw(t.as_slice()))))
        })
        .map(|h| (h.number, h.hash))
        .collect()
}

/// A receipt must exist and sit in the block the indexer read the transaction from; otherwise the
/// chain changed under the fetch, or the node answering is behind (the session starts over).
pub(super) fn receipt_in_block(
    hash: &B256,
    outcome: Option<TxOutcome>,
    number: u64,
    block_hash: B256,
) -> Result<TxOutcome, SyncError> {
    let o = outcome.ok_or_else(|| {
        SyncError::ChainChanged(format!("no receipt for transaction {hash} of block {number} (reorg, or a node behind the head)"))
    })?;
    if o.block_hash != block_hash {
        return Err(SyncError::ChainChanged(format!(
            "receipt of {hash} names block {} {}, the range holds block {number} {block_hash}",
            o.block_number, o.block_hash
        )));
    }
    Ok(o)
}

/// Which native transfers to index.
#[derive(Debug, Clone, Default)]
pub struct NativeScope {
    /// Only transfers from or to these addresses; empty: every transfer.
    pub addresses: HashSet<Address>,
}

/// How EIP-3009 authorizations become payments.
#[derive(Debug, Clone)]
pub struct Eip3009Scope {
    /// Known facilitator addresses; empty: any sender (flagged as not listed).
    pub facilitators: HashSet<Address>,
    /// The settlement contract (a Transfer into it is a settlement payment, not an EIP-3009 one).
    pub settlement: Address,
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
        BlockHeader {
            number,
            hash: B256::repeat_byte(hash),
            parent_hash: B256::repeat_byte(parent),
            timestamp: number,
            logs_bloom: Default::default(),
        }
    }

    #[test]
    fn headers_must_chain() {
        let ok: BTreeMap<_, _> = [(1, h(1, 1, 0)), (2, h(2, 2, 1)), (5, h(5, 5, 9))]
            .into_iter()
            .collect();
        assert!(check_headers(&ok).is_ok());
        let broken: BTreeMap<_, _> = [(1, h(1, 1, 0)), (2, h(2, 2, 7))].into_iter().collect();
        assert!(matches!(
            check_headers(&broken),
            Err(SyncError::ChainChanged(_))
        ));
    }

    fn log_at(block: u64, address: Address) -> Log {
        Log {
            inner: alloy::primitives::Log {
                address,
                data: alloy::primitives::LogData::new_unchecked(
                    vec![B256::repeat_byte(0x77)],
                    Default::default(),
                ),
            },
            block_number: Some(block),
            block_hash: Some(B256::repeat_byte(block as u8)),
            log_index: Some(0),
            transaction_hash: Some(B256::ZERO),
            ..Default::default()
        }
    }

    #[test]
    fn blooms_that_match_without_logs_in_the_answer_are_suspects() {
        let watched = Address::repeat_byte(0xaa);
        let topic = B256::repeat_byte(0x77);
        let mut with_log = h(2, 2, 1);
        with_log
            .logs_bloom
            .accrue(BloomInput::Raw(watched.as_slice()));
        with_log
            .logs_bloom
            .accrue(BloomInput::Raw(topic.as_slice()));
        let mut address_only = h(3, 3, 2);
        address_only
            .logs_bloom
            .accrue(BloomInput::Raw(watched.as_slice()));
        let headers: BTreeMap<_, _> = [(1, h(1, 1, 0)), (2, with_log), (3, address_only)]
            .into_iter()
            .collect();
        // Block 2's bloom holds the address and topic: an answer without its logs is suspect.
        assert_eq!(
            unanswered_bloom_matches(&headers, &[], &[watched], &[topic]),
            vec![(2, B256::repeat_byte(2))]
        );
        assert!(
            unanswered_bloom_matches(&headers, &[log_at(2, watched)], &[watched], &[topic])
                .is_empty()
        );
        // Without a topic filter the address alone counts (block 3 too).
        assert_eq!(
            unanswered_bloom_matches(&headers, &[log_at(2, watched)], &[watched], &[]),
            vec![(3, B256::repeat_byte(3))]
        );
        // Another address: nothing matches.
        assert!(
            unanswered_bloom_matches(&headers, &[], &[Address::repeat_byte(0xbb)], &[]).is_empty()
        );
    }

    #[test]
    fn follows_checks_the_first_block_parent() {
        let batch = RangeBatch {
            from: 2,
            to: 3,
            blocks: vec![
                BlockRow {
                    header: h(2, 2, 1),
                    log_count: 0,
                },
                BlockRow {
                    header: h(3, 3, 2),
                    log_count: 0,
                },
            ],
            ..Default::default()
        };
        assert_eq!(follows(&batch, B256::repeat_byte(1)), Some(true));
        assert_eq!(follows(&batch, B256::repeat_byte(9)), Some(false));
        let far = RangeBatch {
            from: 1,
            to: 3,
            blocks: vec![BlockRow {
                header: h(3, 3, 2),
                log_count: 0,
            }],
            ..Default::default()
        };
        assert_eq!(follows(&far, B256::repeat_byte(9)), None);
    }
}
