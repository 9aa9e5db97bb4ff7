//! A faulty JSON-RPC proxy: sits between the indexer and anvil and, on demand, answers with the
//! failures real RPC providers produce (rate limits, server errors, hangs, cut-off bodies,
//! duplicated logs, "range too large", and `eth_getLogs` answered by a node that lags the head: an
//! empty answer or one cut at its own head, status 200 and valid JSON). Faults are deterministic (every n-th matching request) and
//! counted, so a test can assert they really happened.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{Context, Result};

/// Which faults to inject. `0` / `None` turns a fault off. "Every n" counts only the requests
/// that match [`Faults::methods`] (all requests when it is empty), from the last
/// [`FaultyProxy::set_faults`].
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Only requests calling one of these methods are subject to faults (empty = all).
    pub methods: Vec<String>,
    /// Every n-th matching request gets HTTP 429 Too Many Requests.
    pub http_429_every: u64,
    /// Every n-th matching request gets HTTP 500.
    pub http_500_every: u64,
    /// Every n-th matching request hangs for [`Faults::hang_for`] before getting HTTP 504.
    pub hang_every: u64,
    /// How long a hang lasts.
    pub hang_for: Duration,
    /// Every n-th matching request gets only the first half of anvil's answer, with status 200.
    pub truncate_every: u64,
    /// Every n-th matching `eth_getLogs` answer lists each log twice.
    pub duplicate_logs_every: u64,
    /// `eth_getLogs` spanning more blocks than this gets a JSON-RPC error (range too large).
    pub max_log_range: Option<u64>,
    /// The error message for a too-large range (default: Infura's).
    pub range_error_message: Option<String>,
    /// Every n-th matching `eth_getLogs` request is answered as by a node [`Faults::lag_blocks`]
    /// behind the head, as a provider's load balancer does (status 200, valid JSON, no error):
    /// see [`Faults::lagging`]. A by-block-hash request for a block above that node's head gets
    /// "unknown block", as geth answers.
    pub lagging_logs_every: u64,
    /// How far the lagging node is behind the head.
    pub lag_blocks: u64,
    /// What the lagging node answers for a range reaching above its head.
    pub lagging: Lagging,
    /// Every n-th matching request answers `null` for each `eth_getTransactionReceipt` in it, as a
    /// node that has not seen the transaction yet does (status 200, no error).
    pub null_receipts_every: u64,
}

/// How a lagging node answers `eth_getLogs` for a range reaching above its own head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lagging {
    /// No logs at all (`"result": []`).
    #[default]
    Empty,
    /// The logs up to its head only: the answer is cut at a block.
    Cut,
}

/// How many requests the proxy saw and how many of each fault it injected.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests matching the fault filter.
    pub matched: AtomicU64,
    /// 429s sent.
    pub http_429: AtomicU64,
    /// 500s sent.
    pub http_500: AtomicU64,
    /// Hangs.
    pub hangs: AtomicU64,
    /// Truncated answers.
    pub truncated: AtomicU64,
    /// `eth_getLogs` answers with duplicated logs.
    pub duplicated: AtomicU64,
    /// Range-too-large errors.
    pub range_errors: AtomicU64,
    /// `eth_getLogs` answers of the lagging node that left out logs, or said "unknown block".
    pub lossy: AtomicU64,
    /// Answers with `null` receipts.
    pub null_receipts: AtomicU64,
    /// Requests answered by anvil unmodified.
    pub passed: AtomicU64,
}

impl FaultStats {
    /// Total faults injected of every kind.
    pub fn injected(&self) -> u64 {
        [
            &self.http_429,
            &self.http_500,
            &self.hangs,
            &self.truncated,
            &self.duplicated,
            &self.range_errors,
            &self.lossy,
            &self.null_receipts,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    /// One line for test logs.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "requests={} matched={} 429={} 500={} hangs={} truncated={} duplicated={} range_errors={} lossy={} null_receipts={} passed={}",
            g(&self.requests),
            g(&self.matched),
            g(&self.http_429),
            g(&self.http_500),
            g(&self.hangs),
            g(&self.truncated),
            g(&self.duplicated),
            g(&self.range_errors),
            g(&self.lossy),
            g(&self.null_receipts),
            g(&self.passed)
        )
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    /// Matching requests since the faults were last set: the fault schedule counts from here.
    since_set: AtomicU64,
    stats: Arc<FaultStats>,
}

/// The running proxy; stops when dropped.
pub struct FaultyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultyProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish()
    }
}

impl FaultyProxy {
    /// Starts a proxy in front of `upstream` (an HTTP JSON-RPC URL), with no faults yet.
    pub async fn start(upstream: &str) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy")?;
        let addr = listener
            .local_addr()
            .context("reading the proxy's address")?;
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            faults: Mutex::new(Faults::default()),
            since_set: AtomicU64::new(0),
            stats: Arc::new(FaultStats::default()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    /// The proxy's URL (give this to the indexer).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the fault configuration; the "every n-th" schedule restarts with the next request.
    pub fn set_faults(&self, faults: Faults) {
        let mut current = self.shared.faults.lock().expect("faults lock");
        *current = faults;
        self.shared.since_set.store(0, Ordering::Relaxed);
    }

    /// Turns every fault off.
    pub fn clear_faults(&self) {
        self.set_faults(Faults::default());
    }

    /// The counters.
    pub fn stats(&self) -> Arc<FaultStats> {
        self.shared.stats.clone()
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hits(every: u64, n: u64) -> bool {
    every != 0 && n % every == 0
}

fn methods_of(req: &Value) -> Vec<String> {
    let one = |v: &Value| v.get("method").and_then(Value::as_str).map(str::to_string);
    match req {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

fn parse_block(v: Option<&Value>) -> Option<u64> {
    let s = v?.as_str()?;
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// The number of blocks an `eth_getLogs` call spans, when both ends are numbers.
fn log_span(call: &Value) -> Option<u64> {
    if call.get("method")?.as_str()? != "eth_getLogs" {
        return None;
    }
    let filter = call.get("params")?.get(0)?;
    let from = parse_block(filter.get("fromBlock"))?;
    let to = parse_block(filter.get("toBlock"))?;
    Some(to.saturating_sub(from) + 1)
}

fn range_error(id: &Value, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32005, "message": message}})
}

async fn handle(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let stats = &s.stats;
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let faults = s.faults.lock().expect("faults lock").clone();
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        // Not ours to judge: let anvil answer malformed input.
        Err(_) => return forward(&s, body).await,
    };
    let methods = methods_of(&request);
    let matches = faults.methods.is_empty() || methods.iter().any(|m| faults.methods.contains(m));
    if !matches {
        stats.passed.fetch_add(1, Ordering::Relaxed);
        return forward(&s, body).await;
    }
    stats.matched.fetch_add(1, Ordering::Relaxed);
    let n = s.since_set.fetch_add(1, Ordering::Relaxed) + 1;

    if hits(faults.http_429_every, n) {
        stats.http_429.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "rate limited by x402-testkit proxy",
        )
            .into_response();
    }
    if hits(faults.http_500_every, n) {
        stats.http_500.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error injected by x402-testkit proxy",
        )
            .into_response();
    }
    if hits(faults.hang_every, n) {
        stats.hangs.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(faults.hang_for).await;
        return (
            StatusCode::GATEWAY_TIMEOUT,
            "upstream hang injected by x402-testkit proxy",
        )
            .into_response();
    }

    // Range errors are answered without asking anvil, per call (a batch may mix good and bad).
    let message = faults
        .range_error_message
        .clone()
        .unwrap_or_else(|| "query returned more than 10000 results".into());
    let too_large = |call: &Value| {
        faults
            .max_log_range
            .is_some_and(|max| log_span(call).is_some_and(|span| span > max))
    };
    let response_body = match &request {
        Value::Object(_) if too_large(&request) => {
            stats.range_errors.fetch_add(1, Ordering::Relaxed);
            return json_response(
                range_error(request.get("id").unwrap_or(&Value::Null), &message)
                    .to_string()
                    .into(),
            );
        }
        Value::Array(calls) if calls.iter().any(too_large) => {
            let ok: Vec<Value> = calls.iter().filter(|c| !too_large(c)).cloned().collect();
            let mut answers: Vec<Value> = if ok.is_empty() {
                Vec::new()
            } else {
                match upstream(&s, Value::Array(ok).to_string().into()).await {
                    Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
                    Err(resp) => return resp,
                }
            };
            for call in calls.iter().filter(|c| too_large(c)) {
                stats.range_errors.fetch_add(1, Ordering::Relaxed);
                answers.push(range_error(
                    call.get("id").unwrap_or(&Value::Null),
                    &message,
                ));
            }
            Bytes::from(Value::Array(answers).to_string())
        }
        _ => match upstream(&s, body).await {
            Ok(b) => b,
            Err(resp) => return resp,
        },
    };

    if hits(faults.truncate_every, n) {
        stats.truncated.fetch_add(1, Ordering::Relaxed);
        let cut = response_body.len() / 2;
        return json_response(response_body.slice(..cut));
    }
    if hits(faults.lagging_logs_every, n) && methods.iter().any(|m| m == "eth_getLogs") {
        match lag_logs(&s, &faults, &request, &response_body).await {
            Ok(Some(lagged)) => {
                stats.lossy.fetch_add(1, Ordering::Relaxed);
                return json_response(lagged);
            }
            Ok(None) => {}
            Err(resp) => return resp,
        }
    }
    if hits(faults.null_receipts_every, n)
        && methods.iter().any(|m| m == "eth_getTransactionReceipt")
    {
        if let Some(nulled) = null_receipts(&request, &response_body) {
            stats.null_receipts.fetch_add(1, Ordering::Relaxed);
            return json_response(nulled);
        }
    }
    if hits(faults.duplicate_logs_every, n) && methods.iter().any(|m| m == "eth_getLogs") {
        if let Some(doubled) = duplicate_logs(&request, &response_body) {
            stats.duplicated.fetch_add(1, Ordering::Relaxed);
            return json_response(doubled);
        }
    }
    stats.passed.fetch_add(1, Ordering::Relaxed);
    json_response(response_body)
}

/// Lists every log of the `eth_getLogs` answers twice, each copy right after the original.
fn duplicate_logs(request: &Value, body: &[u8]) -> Option<Bytes> {
    let mut answer: Value = serde_json::from_slice(body).ok()?;
    let get_logs_ids: Vec<Value> = match request {
        Value::Array(calls) => calls
            .iter()
            .filter(|c| c.get("method").and_then(Value::as_str) == Some("eth_getLogs"))
            .filter_map(|c| c.get("id").cloned())
            .collect(),
        one => one.get("id").cloned().into_iter().collect(),
    };
    let mut changed = false;
    let mut double = |item: &mut Value| {
        if !get_logs_ids.contains(item.get("id").unwrap_or(&Value::Null)) {
            return;
        }
        if let Some(Value::Array(logs)) = item.get_mut("result") {
            if logs.is_empty() {
                return;
            }
            *logs = logs.iter().flat_map(|l| [l.clone(), l.clone()]).collect();
            changed = true;
        }
    };
    match &mut answer {
        Value::Array(items) => items.iter_mut().for_each(&mut double),
        one => double(one),
    }
    changed.then(|| Bytes::from(answer.to_string()))
}

/// Replaces the result of every `eth_getTransactionReceipt` answer in `body` with `null`.
fn null_receipts(request: &Value, body: &[u8]) -> Option<Bytes> {
    let mut answer: Value = serde_json::from_slice(body).ok()?;
    let ids: Vec<Value> = match request {
        Value::Array(calls) => calls
            .iter()
            .filter(|c| {
                c.get("method").and_then(Value::as_str) == Some("eth_getTransactionReceipt")
            })
            .filter_map(|c| c.get("id").cloned())
            .collect(),
        one => one.get("id").cloned().into_iter().collect(),
    };
    let mut changed = false;
    let mut null = |item: &mut Value| {
        if ids.contains(item.get("id").unwrap_or(&Value::Null)) {
            if let Some(r) = item.get_mut("result") {
                changed |= !r.is_null();
                *r = Value::Null;
            }
        }
    };
    match &mut answer {
        Value::Array(items) => items.iter_mut().for_each(&mut null),
        one => null(one),
    }
    changed.then(|| Bytes::from(answer.to_string()))
}

/// One JSON-RPC call to anvil, for the proxy's own bookkeeping.
async fn call_upstream(
    s: &Shared,
    method: &str,
    params: Value,
) -> std::result::Result<Value, Response> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = upstream(s, body.to_string().into()).await?;
    let v: Value = serde_json::from_slice(&answer).unwrap_or_default();
    Ok(v.get("result").cloned().unwrap_or(Value::Null))
}

/// Rewrites the `eth_getLogs` answers in `body` as a node `faults.lag_blocks` behind the head
/// would give them; `None` when that changes nothing (the lagging node holds every block asked).
async fn lag_logs(
    s: &Shared,
    faults: &Faults,
    request: &Value,
    body: &[u8],
) -> std::result::Result<Option<Bytes>, Response> {
    let head = call_upstream(s, "eth_blockNumber", json!([])).await?;
    let Some(head) = parse_block(Some(&head)) else {
        return Ok(None);
    };
    let lagging_head = head.saturating_sub(faults.lag_blocks);
    let Ok(mut answer) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let calls: Vec<&Value> = match request {
        Value::Array(calls) => calls.iter().collect(),
        one => vec![one],
    };
    let mut changed = false;
    for call in calls {
        if call.get("method").and_then(Value::as_str) != Some("eth_getLogs") {
            continue;
        }
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let Some(filter) = call.get("params").and_then(|p| p.get(0)) else {
            continue;
        };
        let item = match &mut answer {
            Value::Array(items) => items.iter_mut().find(|i| i.get("id") == Some(&id)),
            one => Some(one),
        };
        let Some(item) = item else { continue };
        if let Some(hash) = filter.get("blockHash") {
            let block = call_upstream(s, "eth_getBlockByHash", json!([hash, false])).await?;
            let number = parse_block(block.get("number"));
            if number.is_none_or(|n| n > lagging_head) {
                *item = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": "unknown block"}});
                changed = true;
            }
            continue;
        }
        let to = parse_block(filter.get("toBlock")).unwrap_or(head);
        if to <= lagging_head {
            continue;
        }
        if let Some(Value::Array(logs)) = item.get_mut("result") {
            let before = logs.len();
            match faults.lagging {
                Lagging::Empty => logs.clear(),
                Lagging::Cut => logs.retain(|l| {
                    parse_block(l.get("blockNumber")).is_some_and(|b| b <= lagging_head)
                }),
            }
            changed |= logs.len() != before;
        }
    }
    Ok(changed.then(|| Bytes::from(answer.to_string())))
}

fn json_response(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn forward(s: &Shared, body: Bytes) -> Response {
    match upstream(s, body).await {
        Ok(b) => json_response(b),
        Err(resp) => resp,
    }
}

async fn upstream(s: &Shared, body: Bytes) -> std::result::Result<Bytes, Response> {
    let sent = s
        .client
        .post(&s.upstream)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let bad_gateway = |e: reqwest::Error| {
        (
            StatusCode::BAD_GATEWAY,
            format!("proxy upstream error: {e}"),
        )
            .into_response()
    };
    match sent {
        Ok(r) => r.bytes().await.map_err(bad_gateway),
        Err(e) => Err(bad_gateway(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_of_get_logs() {
        let call = json!({"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"fromBlock":"0x10","toBlock":"0x1f"}]});
        assert_eq!(log_span(&call), Some(16));
        let other = json!({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]});
        assert_eq!(log_span(&other), None);
    }

    #[test]
    fn duplicates_only_get_logs_answers() {
        let req = json!([{"id":1,"method":"eth_getLogs"},{"id":2,"method":"eth_chainId"}]);
        let body = json!([{"id":1,"result":[{"a":1},{"b":2}]},{"id":2,"result":"0x1"}]).to_string();
        let out: Value =
            serde_json::from_slice(&duplicate_logs(&req, body.as_bytes()).unwrap()).unwrap();
        assert_eq!(out[0]["result"].as_array().unwrap().len(), 4);
        assert_eq!(out[0]["result"][1], json!({"a":1}));
        assert_eq!(out[1]["result"], json!("0x1"));
    }
}
