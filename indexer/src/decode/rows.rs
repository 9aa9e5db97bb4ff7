//! Typed rows, one struct per table, as the decoder produces them and the store writes them.

use alloy::primitives::{Address, Bytes, B256, U256};

/// Where a log sits in the chain; every event row carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMeta {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Block timestamp, unix seconds.
    pub block_time: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// `PaymentCharged` -> `charges`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Charge {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub facilitator: Address,
    /// The Permit2 nonce the payment consumed.
    pub nonce: U256,
    pub mode: u8,
    pub amount: U256,
    pub max_amount: U256,
    pub facilitator_fee: U256,
    pub protocol_fee: U256,
    pub request_hash: B256,
    pub evidence_hash: B256,
    pub batch_id: U256,
}

/// `PaymentAuthorized` -> `authorizations`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Authorization {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub facilitator: Address,
    pub amount: U256,
    pub max_facilitator_fee_bps: u16,
    pub authorization_expiry: u64,
    pub refund_expiry: u64,
    pub request_hash: B256,
    /// The permit's Permit2 nonce and deadline.
    pub nonce: U256,
    pub deadline: U256,
    pub valid_after: u64,
    /// The protocol fee locked for this escrow's captures.
    pub protocol_fee_bps: u16,
}

/// `PaymentCaptured` -> `captures`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Capture {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub facilitator: Address,
    /// The Permit2 nonce the escrow was authorized with.
    pub nonce: U256,
    pub amount: U256,
    pub facilitator_fee: U256,
    pub protocol_fee: U256,
    pub evidence_hash: B256,
}

/// `PaymentVoided` -> `voids`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Void {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub voided_by: Address,
    pub payee: Address,
    pub facilitator: Address,
    pub token: Address,
    pub amount: U256,
}

/// `PaymentReclaimed` -> `reclaims`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Reclaim {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub reclaimed_by: Address,
    pub payee: Address,
    pub facilitator: Address,
    pub token: Address,
    pub amount: U256,
}

/// `PaymentRefunded` -> `refunds`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Refund {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub amount: U256,
}

/// `SplitPaid` -> `split_payments`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SplitPayment {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payee: Address,
    pub recipient: Address,
    pub amount: U256,
}

/// `BatchItemFailed` -> `batch_failures`, with the revert reason decoded when known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct BatchFailure {
    pub meta: LogMeta,
    pub batch_id: U256,
    pub item_index: U256,
    pub payment_id: B256,
    pub payer: Address,
    pub reason: Bytes,
    pub error_name: Option<String>,
    pub error_detail: Option<String>,
}

/// `BatchSettled` -> `batches`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Batch {
    pub meta: LogMeta,
    pub batch_id: U256,
    pub facilitator: Address,
    pub item_count: U256,
    /// Items `[attempted_count, item_count)` were not tried (out of gas; resubmittable).
    pub attempted_count: U256,
    pub settled_count: U256,
    pub evidence_root: B256,
}

/// `SpendingPolicySet` -> `spending_policies`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SpendingPolicy {
    pub meta: LogMeta,
    pub payer: Address,
    pub token: Address,
    pub max_per_payment: U256,
    pub max_per_period: U256,
    pub period_seconds: u32,
    pub loosen_delay_seconds: u32,
    /// The policy nonce the change consumed.
    pub nonce: U256,
    /// Set by signature (`setSpendingPolicyBySig`) rather than the payer's own transaction.
    pub by_signature: bool,
    /// When the policy applies (unix seconds).
    pub effective_at: u64,
}

/// `SplitSet` -> `splits`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Split {
    pub meta: LogMeta,
    pub payee: Address,
    pub recipients: Vec<Address>,
    pub bps: Vec<u16>,
}

/// `ProtocolFeeChanged` -> `protocol_fee_changes` (`bps` is the new fee; the `treasury` column,
/// from the old `ProtocolFeeSet`, stays NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProtocolFeeChange {
    pub meta: LogMeta,
    pub old_bps: u16,
    pub bps: u16,
    /// When the new fee applies (unix seconds).
    pub effective_at: u64,
}

/// `TreasuryChanged` -> `treasury_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TreasuryChange {
    pub meta: LogMeta,
    pub old_treasury: Address,
    pub new_treasury: Address,
}

/// `ProtocolFeesWithdrawn` -> `protocol_fee_withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProtocolFeeWithdrawal {
    pub meta: LogMeta,
    pub token: Address,
    pub treasury: Address,
    pub to: Address,
    pub amount: U256,
}

/// `AuthorizationCharged` (an EIP-3009 authorization executed through the settlement contract)
/// -> `authorization_charges`, folded into `payments` with source `settlement_eip3009`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct AuthorizationCharge {
    pub meta: LogMeta,
    pub payment_id: B256,
    pub payer: Address,
    pub payee: Address,
    pub token: Address,
    pub facilitator: Address,
    pub amount: U256,
    pub authorization_nonce: B256,
    pub valid_after: U256,
    pub valid_before: U256,
    pub evidence_hash: B256,
}

/// `WalletLabeled` / `WalletUnlabeled` -> `registry_labels`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RegistryLabel {
    pub meta: LogMeta,
    pub wallet: Address,
    pub role: u8,
    pub role_name: String,
    pub labeled: bool,
    pub note: String,
}

/// `PayeeWalletDeclared` -> `declared_wallets`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DeclaredWallet {
    pub meta: LogMeta,
    pub payee: Address,
    pub wallet: Address,
    pub declared: bool,
    pub note: String,
}

/// ERC-20 `Transfer` of a payment token -> `token_transfers`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TokenTransfer {
    pub meta: LogMeta,
    pub token: Address,
    pub from: Address,
    pub to: Address,
    pub amount: U256,
}

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

/// A log that could not become a row -> `skipped_logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SkippedLog {
    pub meta: LogMeta,
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
    pub reason: String,
}

/// Every row decoded from one range of blocks, grouped by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Rows {
    pub charges: Vec<Charge>,
    pub authorizations: Vec<Authorization>,
    pub captures: Vec<Capture>,
    pub voids: Vec<Void>,
    pub reclaims: Vec<Reclaim>,
    pub refunds: Vec<Refund>,
    pub split_payments: Vec<SplitPayment>,
    pub batch_failures: Vec<BatchFailure>,
    pub batches: Vec<Batch>,
    pub spending_policies: Vec<SpendingPolicy>,
    pub splits: Vec<Split>,
    pub protocol_fee_changes: Vec<ProtocolFeeChange>,
    pub treasury_changes: Vec<TreasuryChange>,
    pub protocol_fee_withdrawals: Vec<ProtocolFeeWithdrawal>,
    pub authorization_charges: Vec<AuthorizationCharge>,
    pub registry_labels: Vec<RegistryLabel>,
    pub declared_wallets: Vec<DeclaredWallet>,
    pub token_transfers: Vec<TokenTransfer>,
    pub eip3009_authorizations: Vec<Eip3009Authorization>,
    pub permit2_proxy_settlements: Vec<super::ProxySettlement>,
    pub native_transfers: Vec<NativeTransfer>,
    pub skipped: Vec<SkippedLog>,
}

impl Rows {
    /// Number of rows per table, in a stable order (for metrics and logs).
    pub fn counts(&self) -> [(&'static str, usize); 22] {
        [
            ("charges", self.charges.len()),
            ("authorizations", self.authorizations.len()),
            ("captures", self.captures.len()),
            ("voids", self.voids.len()),
            ("reclaims", self.reclaims.len()),
            ("refunds", self.refunds.len()),
            ("split_payments", self.split_payments.len()),
            ("batch_failures", self.batch_failures.len()),
            ("batches", self.batches.len()),
            ("spending_policies", self.spending_policies.len()),
            ("splits", self.splits.len()),
            ("protocol_fee_changes", self.protocol_fee_changes.len()),
            ("treasury_changes", self.treasury_changes.len()),
            (
                "protocol_fee_withdrawals",
                self.protocol_fee_withdrawals.len(),
            ),
            ("authorization_charges", self.authorization_charges.len()),
            ("registry_labels", self.registry_labels.len()),
            ("declared_wallets", self.declared_wallets.len()),
            ("token_transfers", self.token_transfers.len()),
            ("eip3009_authorizations", self.eip3009_authorizations.len()),
            (
                "permit2_proxy_settlements",
                self.permit2_proxy_settlements.len(),
            ),
            ("native_transfers", self.native_transfers.len()),
            ("skipped_logs", self.skipped.len()),
        ]
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
