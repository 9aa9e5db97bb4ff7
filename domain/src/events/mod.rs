//! The event tables, each declared once: the declaration below is the row type the indexer's
//! decoder fills, the column list, and the bulk insert (feature `store`). The SQL tables are
//! created by the indexer's migrations; a test there holds every declaration to the migrated
//! schema (names, order and types of the columns).
//!
//! A field's column type follows from its Rust type ([`Column`]). The tables whose rows are not one
//! plain log each (EIP-3009 authorizations paired with their Transfer, Permit2-proxy settlements,
//! native transfers) are written by the indexer itself and listed in [`schema`](crate::schema).

mod column;
mod table;

pub use column::{bytea_array_literal, int_array_literal, Column, Kind};
#[cfg(feature = "store")]
pub use table::insert;
pub use table::{insert_sql, EventTable, LogMeta, META_COLUMNS};

use alloy_primitives::{Address, Bytes, B256, U256};
use table::event_tables;

event_tables! {
    /// `PaymentCharged` -> `charges`.
    charges => Charge {
        payment_id: B256,
        payer: Address,
        payee: Address,
        token: Address,
        facilitator: Address,
        /// The Permit2 nonce the payment consumed.
        nonce: U256,
        mode: u8,
        amount: U256,
        max_amount: U256,
        facilitator_fee: U256,
        protocol_fee: U256,
        request_hash: B256,
        evidence_hash: B256,
        batch_id: U256,
    }

    /// `PaymentAuthorized` -> `authorizations`.
    authorizations => Authorization {
        payment_id: B256,
        payer: Address,
        payee: Address,
        token: Address,
        facilitator: Address,
        amount: U256,
        max_facilitator_fee_bps: u16,
        authorization_expiry: u64,
        refund_expiry: u64,
        request_hash: B256,
        /// The permit's Permit2 nonce and deadline.
        nonce: U256,
        deadline: U256,
        valid_after: u64,
        /// The protocol fee locked for this escrow's captures.
        protocol_fee_bps: u16,
    }

    /// `PaymentCaptured` -> `captures`.
    captures => Capture {
        payment_id: B256,
        payer: Address,
        payee: Address,
        token: Address,
        facilitator: Address,
        /// The Permit2 nonce the escrow was authorized with.
        nonce: U256,
        amount: U256,
        facilitator_fee: U256,
        protocol_fee: U256,
        evidence_hash: B256,
    }

    /// `PaymentVoided` -> `voids`.
    voids => Void {
        payment_id: B256,
        payer: Address,
        voided_by: Address,
        payee: Address,
        facilitator: Address,
        token: Address,
        amount: U256,
    }

    /// `PaymentReclaimed` -> `reclaims`.
    reclaims => Reclaim {
        payment_id: B256,
        payer: Address,
        reclaimed_by: Address,
        payee: Address,
        facilitator: Address,
        token: Address,
        amount: U256,
    }

    /// `PaymentRefunded` -> `refunds`.
    refunds => Refund {
        payment_id: B256,
        payer: Address,
        payee: Address,
        token: Address,
        amount: U256,
    }

    /// `SplitPaid` -> `split_payments`.
    split_payments => SplitPayment {
        payment_id: B256,
        payee: Address,
        recipient: Address,
        amount: U256,
    }

    /// `BatchItemFailed` -> `batch_failures`, with the revert reason decoded when known.
    batch_failures => BatchFailure {
        batch_id: U256,
        item_index: U256,
        payment_id: B256,
        payer: Address,
        reason: Bytes,
        error_name: Option<String>,
        error_detail: Option<String>,
    }

    /// `BatchSettled` -> `batches`.
    batches => Batch {
        batch_id: U256,
        facilitator: Address,
        item_count: U256,
        /// Items `[attempted_count, item_count)` were not tried (out of gas; resubmittable).
        attempted_count: U256,
        settled_count: U256,
        evidence_root: B256,
    }

    /// `SpendingPolicySet` -> `spending_policies`.
    spending_policies => SpendingPolicy {
        payer: Address,
        token: Address,
        max_per_payment: U256,
        max_per_period: U256,
        period_seconds: u32,
        loosen_delay_seconds: u32,
        /// The policy nonce the change consumed.
        nonce: U256,
        /// Set by signature (`setSpendingPolicyBySig`) rather than the payer's own transaction.
        by_signature: bool,
        /// When the policy applies (unix seconds).
        effective_at: u64,
    }

    /// `SplitSet` -> `splits`.
    splits => Split {
        payee: Address,
        recipients: Vec<Address>,
        bps: Vec<u16>,
    }

    /// `ProtocolFeeChanged` -> `protocol_fee_changes` (`bps` is the new fee; the `treasury`
    /// column, from the old `ProtocolFeeSet`, stays NULL).
    protocol_fee_changes => ProtocolFeeChange {
        old_bps: u16,
        bps: u16,
        /// When the new fee applies (unix seconds).
        effective_at: u64,
    }

    /// `TreasuryChanged` -> `treasury_changes`.
    treasury_changes => TreasuryChange {
        old_treasury: Address,
        new_treasury: Address,
    }

    /// `ProtocolFeesWithdrawn` -> `protocol_fee_withdrawals`.
    protocol_fee_withdrawals => ProtocolFeeWithdrawal {
        token: Address,
        treasury: Address,
        to: Address as "to_address",
        amount: U256,
    }

    /// `AuthorizationCharged` (an EIP-3009 authorization executed through the settlement
    /// contract) -> `authorization_charges`, folded into `payments` with source
    /// `settlement_eip3009`.
    authorization_charges => AuthorizationCharge {
        payment_id: B256,
        payer: Address,
        payee: Address,
        token: Address,
        facilitator: Address,
        amount: U256,
        authorization_nonce: B256,
        valid_after: U256,
        valid_before: U256,
        evidence_hash: B256,
    }

    /// `WalletLabeled` / `WalletUnlabeled` -> `registry_labels`.
    registry_labels => RegistryLabel {
        wallet: Address,
        role: u8,
        role_name: String,
        labeled: bool,
        note: String,
    }

    /// `PayeeWalletDeclared` -> `declared_wallets`.
    declared_wallets => DeclaredWallet {
        payee: Address,
        wallet: Address,
        declared: bool,
        note: String,
    }

    /// ERC-20 `Transfer` of a payment token -> `token_transfers`.
    token_transfers => TokenTransfer {
        token: Address,
        from: Address as "from_address",
        to: Address as "to_address",
        amount: U256,
    }

    /// A log that could not become a row -> `skipped_logs`, kept raw with the reason.
    skipped_logs => SkippedLog {
        address: Address,
        topics: Vec<B256>,
        data: Bytes,
        reason: String,
    }
}
