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

/// `ProtocolFeeSet` -> `protocol_fee_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProtocolFeeChange {
    pub meta: LogMeta,
    pub bps: u16,
    pub treasury: Address,
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
    pub registry_labels: Vec<RegistryLabel>,
    pub declared_wallets: Vec<DeclaredWallet>,
    pub token_transfers: Vec<TokenTransfer>,
    pub skipped: Vec<SkippedLog>,
}

impl Rows {
    /// Number of rows per table, in a stable order (for metrics and logs).
    pub fn counts(&self) -> [(&'static str, usize); 16] {
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
            ("registry_labels", self.registry_labels.len()),
            ("declared_wallets", self.declared_wallets.len()),
            ("token_transfers", self.token_transfers.len()),
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

    /// Payment ids whose escrow lifecycle this range changes: every touched id that is not
    /// charged in this range (a charged payment has no other lifecycle events; its fold is the
    /// set-based `fold_charges`).
    pub fn touched_escrow_ids(&self) -> Vec<B256> {
        let charged: std::collections::HashSet<B256> = self.charges.iter().map(|c| c.payment_id).collect();
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
