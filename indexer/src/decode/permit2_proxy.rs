//! x402's Permit2 proxies (`x402ExactPermit2Proxy`, `x402UptoPermit2Proxy`): their `Settled()` /
//! `SettledWithPermit()` logs, paired with the payment token Transfer the proxy made, become
//! payments with source `permit2_proxy` once the transaction's sender and recipient are known.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{keccak256, Address, Log as PrimitiveLog, B256, U256};
use alloy::sol_types::SolEvent;

use super::{LogMeta, Rows};

alloy::sol! {
    /// x402's Permit2 proxies emit this after moving the payer's tokens to the payee (no fields:
    /// the Transfer before it, in the same transaction, carries payer, payee and amount).
    #[derive(Debug)]
    event Settled();
    /// Same, when an EIP-2612 permit for Permit2 came with the payment.
    #[derive(Debug)]
    event SettledWithPermit();
}

/// A `Settled()` / `SettledWithPermit()` log of a watched proxy -> `permit2_proxy_settlements`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProxySettlement {
    pub meta: LogMeta,
    pub proxy: Address,
    pub with_permit: bool,
    /// Transaction sender and recipient (filled from the block or the receipt after decoding).
    pub tx_from: Address,
    pub tx_to: Option<Address>,
    /// The payment token Transfer the proxy made (see [`Rows::resolve_permit2_proxy`]).
    pub transfer: Option<ProxyTransfer>,
    /// Whether the sender is on the facilitator list (recorded, not required).
    pub facilitator_listed: bool,
    /// The payment this log is, or None (no matched Transfer, or a transaction not sent to the
    /// proxy).
    pub payment_id: Option<B256>,
}

/// The token Transfer a proxy settlement made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProxyTransfer {
    pub log_index: u64,
    pub token: Address,
    pub payer: Address,
    pub payee: Address,
    pub amount: U256,
}

impl ProxySettlement {
    /// The payment id of a proxy payment: keccak256(tx_hash ++ log_index as 8 big-endian bytes).
    /// The proxy's Permit2 nonce is not in any log, so the settlement log itself names it.
    pub fn payment_id_of(tx_hash: B256, log_index: u64) -> B256 {
        let mut buf = [0u8; 40];
        buf[..32].copy_from_slice(tx_hash.as_slice());
        buf[32..].copy_from_slice(&log_index.to_be_bytes());
        keccak256(buf)
    }
}

/// Decodes a log of a watched proxy into `rows` (Err: why it is skipped).
pub(super) fn decode(meta: LogMeta, log: &PrimitiveLog, rows: &mut Rows) -> Result<(), String> {
    let topics = log.data.topics();
    let with_permit = match topics.first() {
        Some(t) if *t == Settled::SIGNATURE_HASH => false,
        Some(t) if *t == SettledWithPermit::SIGNATURE_HASH => true,
        Some(t) => return Err(format!("unknown x402 Permit2 proxy event topic {t}")),
        None => return Err("anonymous log from an x402 Permit2 proxy (no topic)".into()),
    };
    if topics.len() != 1 || !log.data.data.is_empty() {
        return Err(format!(
            "malformed x402 Permit2 proxy settlement: {} topics and {} data bytes (expected 1 and 0)",
            topics.len(),
            log.data.data.len()
        ));
    }
    rows.permit2_proxy_settlements.push(ProxySettlement {
        meta,
        proxy: log.address,
        with_permit,
        tx_from: Address::ZERO,
        tx_to: None,
        transfer: None,
        facilitator_listed: false,
        payment_id: None,
    });
    Ok(())
}

impl Rows {
    /// Transaction hashes of the proxy settlements (whose senders and recipients are needed).
    pub fn permit2_proxy_tx_hashes(&self) -> Vec<B256> {
        let mut h: Vec<B256> = self
            .permit2_proxy_settlements
            .iter()
            .map(|s| s.meta.tx_hash)
            .collect();
        h.sort_unstable();
        h.dedup();
        h
    }

    /// Pairs every proxy settlement with its Transfer and decides which are payments.
    ///
    /// The Transfer: the last payment-token Transfer before the settlement log in the same
    /// transaction and after the transaction's previous proxy log (the proxy moves the tokens,
    /// then emits). A payment: a matched Transfer in a transaction sent to the proxy itself
    /// (`senders`: tx hash -> (from, to)); the facilitator is the sender, `facilitator_listed`
    /// whether it is in `facilitators`. Returns the transaction hashes `senders` lacks.
    pub fn resolve_permit2_proxy(
        &mut self,
        senders: &HashMap<B256, (Address, Option<Address>)>,
        facilitators: &HashSet<Address>,
    ) -> Vec<B256> {
        let mut transfers_of: HashMap<B256, Vec<usize>> = HashMap::new();
        for (i, t) in self.token_transfers.iter().enumerate() {
            transfers_of.entry(t.meta.tx_hash).or_default().push(i);
        }
        let mut proxy_logs_of: HashMap<B256, Vec<u64>> = HashMap::new();
        for s in &self.permit2_proxy_settlements {
            proxy_logs_of
                .entry(s.meta.tx_hash)
                .or_default()
                .push(s.meta.log_index);
        }
        let mut missing = Vec::new();
        for s in &mut self.permit2_proxy_settlements {
            let after = proxy_logs_of[&s.meta.tx_hash]
                .iter()
                .copied()
                .filter(|&i| i < s.meta.log_index)
                .max();
            s.transfer = transfers_of
                .get(&s.meta.tx_hash)
                .into_iter()
                .flatten()
                .map(|&j| &self.logs.token_transfers[j])
                .filter(|t| {
                    t.meta.block_number == s.meta.block_number
                        && t.meta.log_index < s.meta.log_index
                        && after.is_none_or(|a| t.meta.log_index > a)
                })
                .max_by_key(|t| t.meta.log_index)
                .map(|t| ProxyTransfer {
                    log_index: t.meta.log_index,
                    token: t.token,
                    payer: t.from,
                    payee: t.to,
                    amount: t.amount,
                });
            let Some(&(from, to)) = senders.get(&s.meta.tx_hash) else {
                missing.push(s.meta.tx_hash);
                continue;
            };
            s.tx_from = from;
            s.tx_to = to;
            s.facilitator_listed = facilitators.contains(&from);
            s.payment_id = (s.transfer.is_some() && to == Some(s.proxy))
                .then(|| ProxySettlement::payment_id_of(s.meta.tx_hash, s.meta.log_index));
        }
        missing.sort_unstable();
        missing.dedup();
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{LogRows, TokenTransfer};

    fn meta(tx: u8, log_index: u64) -> LogMeta {
        LogMeta {
            block_number: 7,
            block_hash: B256::repeat_byte(7),
            block_time: 70,
            tx_hash: B256::repeat_byte(tx),
            log_index,
        }
    }

    fn transfer(tx: u8, log_index: u64, from: u8, to: u8, amount: u64) -> TokenTransfer {
        TokenTransfer {
            meta: meta(tx, log_index),
            token: Address::repeat_byte(0xee),
            from: Address::repeat_byte(from),
            to: Address::repeat_byte(to),
            amount: U256::from(amount),
        }
    }

    fn settled(tx: u8, log_index: u64, proxy: Address) -> ProxySettlement {
        ProxySettlement {
            meta: meta(tx, log_index),
            proxy,
            with_permit: false,
            tx_from: Address::ZERO,
            tx_to: None,
            transfer: None,
            facilitator_listed: false,
            payment_id: None,
        }
    }

    #[test]
    fn each_settlement_takes_the_transfer_before_it_and_only_calls_to_the_proxy_pay() {
        let proxy = Address::repeat_byte(0x40);
        let facilitator = Address::repeat_byte(0xfa);
        let mut rows = Rows {
            logs: LogRows {
                token_transfers: vec![
                    // tx 1: two settlements in one transaction (a multicall to the proxy).
                    transfer(1, 0, 0xa1, 0xb1, 10),
                    transfer(1, 2, 0xa2, 0xb2, 20),
                    // tx 2: sent to another contract that called the proxy.
                    transfer(2, 5, 0xa3, 0xb3, 30),
                ],
                ..LogRows::default()
            },
            permit2_proxy_settlements: vec![
                settled(1, 1, proxy),
                settled(1, 3, proxy),
                settled(2, 6, proxy),
                // tx 3: no Transfer of a payment token before it.
                settled(3, 0, proxy),
            ],
            ..Rows::default()
        };
        let senders: HashMap<B256, (Address, Option<Address>)> = [
            (B256::repeat_byte(1), (facilitator, Some(proxy))),
            (
                B256::repeat_byte(2),
                (facilitator, Some(Address::repeat_byte(0x99))),
            ),
            (B256::repeat_byte(3), (facilitator, Some(proxy))),
        ]
        .into_iter()
        .collect();
        let missing = rows.resolve_permit2_proxy(&senders, &HashSet::from([facilitator]));
        assert!(missing.is_empty());
        type Outcome = (Option<(Address, Address, U256)>, bool, bool);
        let got: Vec<Outcome> = rows
            .permit2_proxy_settlements
            .iter()
            .map(|s| {
                (
                    s.transfer.map(|t| (t.payer, t.payee, t.amount)),
                    s.payment_id.is_some(),
                    s.facilitator_listed,
                )
            })
            .collect();
        let t = |a: u8, b: u8, n: u64| {
            Some((
                Address::repeat_byte(a),
                Address::repeat_byte(b),
                U256::from(n),
            ))
        };
        assert_eq!(
            got,
            vec![
                (t(0xa1, 0xb1, 10), true, true),
                (t(0xa2, 0xb2, 20), true, true),
                (t(0xa3, 0xb3, 30), false, true),
                (None, false, true),
            ]
        );
        assert_eq!(
            rows.permit2_proxy_settlements[0].payment_id,
            Some(ProxySettlement::payment_id_of(B256::repeat_byte(1), 1))
        );
        // A sender the range lacks is reported, not guessed.
        let mut again = rows.clone();
        assert_eq!(
            again.resolve_permit2_proxy(&HashMap::new(), &HashSet::new()),
            vec![
                B256::repeat_byte(1),
                B256::repeat_byte(2),
                B256::repeat_byte(3)
            ]
        );
    }

    #[test]
    fn only_the_two_argumentless_events_decode() {
        let proxy = Address::repeat_byte(0x40);
        let log = |topics: Vec<B256>, data: Vec<u8>| PrimitiveLog {
            address: proxy,
            data: alloy::primitives::LogData::new_unchecked(topics, data.into()),
        };
        let mut rows = Rows::default();
        assert!(decode(
            meta(1, 0),
            &log(vec![Settled::SIGNATURE_HASH], vec![]),
            &mut rows
        )
        .is_ok());
        assert!(decode(
            meta(1, 1),
            &log(vec![SettledWithPermit::SIGNATURE_HASH], vec![]),
            &mut rows
        )
        .is_ok());
        assert_eq!(
            rows.permit2_proxy_settlements
                .iter()
                .map(|s| s.with_permit)
                .collect::<Vec<_>>(),
            vec![false, true]
        );
        assert!(decode(
            meta(1, 2),
            &log(vec![Settled::SIGNATURE_HASH], vec![1]),
            &mut rows
        )
        .unwrap_err()
        .contains("malformed"));
        assert!(decode(
            meta(1, 3),
            &log(vec![B256::repeat_byte(9)], vec![]),
            &mut rows
        )
        .unwrap_err()
        .contains("unknown"));
        assert_eq!(rows.permit2_proxy_settlements.len(), 2);
    }
}
