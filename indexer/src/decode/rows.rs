//! Typed rows, one struct per table, as the decoder produces them and the store writes them.
//! The event tables that hold one plain log per row are declared once in
//! [`x402_domain::events`]; the rows built here from several logs or from transactions are
//! declared below.

use std::ops::{Deref, DerefMut};

use alloy::primitives::{Address, B256, U256};
pub use x402_domain::events::{
    Authorization, AuthorizationCharge, Batch, BatchFailure, Capture, Charge, DeclaredWallet,
    LogMeta, LogRows, ProtocolFeeChange, ProtocolFeeWithdrawal, Reclaim, Refund, RegistryLabel,
    SkippedLog, SpendingPolicy, Split, SplitPayment, TokenTransfer, TreasuryChange, Void,
};

/// A top-level transaction that moved native currency (value > 0, a recipient, succeeded) ->
/// `native_transfers`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct NativeTransfer {
    pub block_number: u64,
    pub block_hash: B256,
    pub block_time: u64,
    pub tx_hash: B256,
    pub tx_index: u64,
    pub from: Address,
    pub to: Address,
    pub value: U256,
}

/// An EIP-3009 `AuthorizationUsed` of a watched token -> `eip3009_authorizations`, with the
/// `Transfer` it authorized (the first Transfer of the token from the authorizer after it in the
/// same transaction) and the transaction's sender, the facilitator that submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Eip3009Authorization {
    pub meta: LogMeta,
    pub token: Address,
    pub authorizer: Address,
    pub nonce: B256,
    /// The matched Transfer: its log index, recipient and amount.
    pub transfer: Option<(u64, Address, U256)>,
    /// Transaction sender and recipient (filled from the block or the receipt after decoding).
    pub tx_from: Address,
    pub tx_to: Option<Address>,
    /// Whether the sender is on the facilitator list (false when the list is empty: flagged).
    pub facilitator_listed: bool,
    /// The payment this authorization is (see [`Eip3009Authorization::payment_id_of`]), or None
    /// when it is not one: no matching Transfer, a Transfer into the settlement contract (a
    /// settlement payment), or a sender off a non-empty facilitator list.
    pub payment_id: Option<B256>,
}

impl Eip3009Authorization {
    /// The payment id of an EIP-3009 payment: keccak256(token ++ authorizer ++ nonce), unique
    /// because the token accepts each (authorizer, nonce) once.
    pub fn payment_id_of(token: Address, authorizer: Address, nonce: B256) -> B256 {
        let mut buf = [0u8; 72];
        buf[..20].copy_from_slice(token.as_slice());
        buf[20..40].copy_from_slice(authorizer.as_slice());
        buf[40..].copy_from_slice(nonce.as_slice());
        alloy::primitives::keccak256(buf)
    }
}

/// Every row decoded from one range of blocks, grouped by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Rows {
    /// Rows of the event tables declared in [`x402_domain::events`] (one log each).
    pub logs: LogRows,
    pub eip3009_authorizations: Vec<Eip3009Authorization>,
    pub permit2_proxy_settlements: Vec<super::ProxySettlement>,
    pub native_transfers: Vec<NativeTransfer>,
}

/// `rows.charges` and the like reach the declared tables directly: a range's rows are the
/// declared tables' plus the few built here.
impl Deref for Rows {
    type Target = LogRows;

    fn deref(&self) -> &LogRows {
        &self.logs
    }
}

impl DerefMut for Rows {
    fn deref_mut(&mut self) -> &mut LogRows {
        &mut self.logs
    }
}

impl Rows {
    /// Tables written from a range's rows besides the declared event tables.
    pub const OTHER_TABLES: [&'static str; 3] = [
        "eip3009_authorizations",
        "permit2_proxy_settlements",
        "native_transfers",
    ];

    /// Number of rows per table, in a stable order (for metrics and logs).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts = self.logs.counts();
        counts.extend(Self::OTHER_TABLES.into_iter().zip([
            self.eip3009_authorizations.len(),
            self.permit2_proxy_settlements.len(),
            self.native_transfers.len(),
        ]));
        counts
    }

    /// Total rows (events plus skipped logs).
    pub fn len(&self) -> usize {
        self.counts().iter().map(|(_, n)| n).sum()
    }

    /// Whether there is no row at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Matches every EIP-3009 authorization with its Transfer: the first Transfer of the same
    /// token from the authorizer after it in the same transaction, each Transfer used once
    /// (FiatToken emits AuthorizationUsed, then the Transfer).
    pub fn pair_eip3009(&mut self) {
        if self.eip3009_authorizations.is_empty() {
            return;
        }
        let mut by_tx: std::collections::HashMap<B256, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, t) in self.token_transfers.iter().enumerate() {
            by_tx.entry(t.meta.tx_hash).or_default().push(i);
        }
        let mut used = std::collections::HashSet::new();
        // Later authorizations first: with several from one authorizer in a transaction, each
        // takes the nearest Transfer after it.
        let mut order: Vec<usize> = (0..self.eip3009_authorizations.len()).collect();
        order.sort_by_key(|&i| {
            let m = &self.eip3009_authorizations[i].meta;
            std::cmp::Reverse((m.block_number, m.log_index))
        });
        for i in order {
            let a = &self.eip3009_authorizations[i];
            let found = by_tx
                .get(&a.meta.tx_hash)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&j| {
                    let t = &self.token_transfers[j];
                    t.meta.block_number == a.meta.block_number
                        && t.meta.log_index > a.meta.log_index
                        && t.token == a.token
                        && t.from == a.authorizer
                        && !used.contains(&j)
                })
                .min_by_key(|&j| self.token_transfers[j].meta.log_index);
            if let Some(j) = found {
                used.insert(j);
                let t = &self.token_transfers[j];
                self.eip3009_authorizations[i].transfer = Some((t.meta.log_index, t.to, t.amount));
            }
        }
    }

    /// Fills in the sender of each EIP-3009 authorization's transaction (`senders`: tx hash ->
    /// (from, to)) and decides which are payments: a matched Transfer that does not go into the
    /// settlement contract (that is a settlement payment, indexed from its own event), sent by a
    /// listed facilitator, or by anyone when `facilitators` is empty (then flagged as not listed),
    /// and not executed through the settlement contract (its `AuthorizationCharged` in the same
    /// transaction is the payment, counted once).
    /// Returns the transaction hashes `senders` lacks.
    pub fn resolve_eip3009(
        &mut self,
        senders: &std::collections::HashMap<B256, (Address, Option<Address>)>,
        facilitators: &std::collections::HashSet<Address>,
        settlement: Address,
    ) -> Vec<B256> {
        let through_settlement: std::collections::HashSet<(B256, Address, Address, B256)> = self
            .authorization_charges
            .iter()
            .map(|c| (c.meta.tx_hash, c.token, c.payer, c.authorization_nonce))
            .collect();
        let mut missing = Vec::new();
        for a in &mut self.eip3009_authorizations {
            let Some(&(from, to)) = senders.get(&a.meta.tx_hash) else {
                missing.push(a.meta.tx_hash);
                continue;
            };
            a.tx_from = from;
            a.tx_to = to;
            a.facilitator_listed = facilitators.contains(&from);
            let via_settlement =
                through_settlement.contains(&(a.meta.tx_hash, a.token, a.authorizer, a.nonce));
            let payment = match a.transfer {
                Some((_, payee, _)) => {
                    payee != settlement
                        && !via_settlement
                        && (facilitators.is_empty() || a.facilitator_listed)
                }
                None => false,
            };
            a.payment_id = payment
                .then(|| Eip3009Authorization::payment_id_of(a.token, a.authorizer, a.nonce));
        }
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    /// Transaction hashes of the EIP-3009 authorizations (whose senders are needed).
    pub fn eip3009_tx_hashes(&self) -> Vec<B256> {
        let mut h: Vec<B256> = self
            .eip3009_authorizations
            .iter()
            .map(|a| a.meta.tx_hash)
            .collect();
        h.sort_unstable();
        h.dedup();
        h
    }

    /// Payment ids whose escrow lifecycle this range changes: every touched id that is not
    /// charged in this range (a charged payment has no other lifecycle events; its fold is the
    /// set-based `fold_charges`).
    pub fn touched_escrow_ids(&self) -> Vec<B256> {
        let charged: std::collections::HashSet<B256> =
            self.charges.iter().map(|c| c.payment_id).collect();
        let mut ids = self.touched_payment_ids();
        ids.retain(|id| !charged.contains(id));
        ids
    }

    /// Payment ids whose `payments` row this range changes.
    pub fn touched_payment_ids(&self) -> Vec<B256> {
        let mut ids: Vec<B256> = self
            .charges
            .iter()
            .map(|r| r.payment_id)
            .chain(self.authorizations.iter().map(|r| r.payment_id))
            .chain(self.captures.iter().map(|r| r.payment_id))
            .chain(self.voids.iter().map(|r| r.payment_id))
            .chain(self.reclaims.iter().map(|r| r.payment_id))
            .chain(self.refunds.iter().map(|r| r.payment_id))
            .chain(self.split_payments.iter().map(|r| r.payment_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}
