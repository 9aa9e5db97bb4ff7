//! The one PostgreSQL schema: its migration history and who owns which part of it.
//!
//! Every migration lives in `domain/migrations`, numbered in one sequence and named
//! `NNNN_<owner>_<what>.sql`, where `<owner>` ([`Owner::tag`]) is the crate that writes the
//! objects the migration creates. Every service applies the whole history ([`migrate`], with
//! the `store` feature), so no service depends on another having started first and no migrator
//! has to ignore versions it does not know. Other crates read an owner's objects; they never
//! create or alter them, except where [`FOREIGN_INDEXES`] names an index a reader needs on a
//! table it does not own. `tests/schema.rs` holds the migrations to these lists.

mod history;

pub use history::LEGACY_VERSIONS;
#[cfg(feature = "store")]
pub use history::{migrate, migrator};

/// A crate that writes part of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// `x402-indexer`: chain data (events, token and native transfers, payments).
    Indexer,
    /// `x402-classifier`: labels, clusters and the class of every payment and payer.
    Classifier,
    /// `x402-api`: the analysts' read model (rollups maintained from the two above).
    Api,
    /// `x402-facilitator`: settlement claims and their outcomes.
    Facilitator,
    /// `x402-simulator`: the simulated economy's ground truth (created at run time).
    Simulator,
}

impl Owner {
    /// The word naming the owner in its migrations' file names (`NNNN_<tag>_<what>.sql`), or
    /// `None` for an owner that creates its table at run time.
    pub fn tag(self) -> Option<&'static str> {
        match self {
            Owner::Indexer => Some("indexer"),
            Owner::Classifier => Some("classifier"),
            Owner::Api => Some("api"),
            Owner::Facilitator => Some("facilitator"),
            Owner::Simulator => None,
        }
    }

    /// Every owner.
    pub const ALL: [Owner; 5] = [
        Owner::Indexer,
        Owner::Classifier,
        Owner::Api,
        Owner::Facilitator,
        Owner::Simulator,
    ];
}

/// A table, view or SQL function and the crate that creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    /// Its name in the schema.
    pub name: &'static str,
    /// The crate whose migrations create it.
    pub owner: Owner,
    /// What it holds or does.
    pub holds: &'static str,
}

const fn obj(name: &'static str, owner: Owner, holds: &'static str) -> Object {
    Object { name, owner, holds }
}

use Owner::*;

/// Every table, view and function of the schema, by owner.
pub const OBJECTS: &[Object] = &[
    obj(
        "checkpoint",
        Indexer,
        "the last indexed block, its hash and the deployment indexed",
    ),
    obj(
        "blocks",
        Indexer,
        "hashes of the recent reorg window (reorg detection)",
    ),
    obj(
        "skipped_logs",
        Indexer,
        "logs that could not be decoded, kept raw with the reason",
    ),
    obj("charges", Indexer, "PaymentCharged events"),
    obj("authorizations", Indexer, "escrow PaymentAuthorized events"),
    obj("captures", Indexer, "escrow captures"),
    obj("voids", Indexer, "escrow voids"),
    obj("reclaims", Indexer, "escrow reclaims after expiry"),
    obj("refunds", Indexer, "refunds of captured payments"),
    obj("batches", Indexer, "BatchSettled events"),
    obj(
        "batch_failures",
        Indexer,
        "items of a batch that failed, with the decoded revert",
    ),
    obj("splits", Indexer, "payees' revenue splits"),
    obj(
        "split_payments",
        Indexer,
        "parts of payments paid to split recipients",
    ),
    obj("spending_policies", Indexer, "agents' on-chain budgets"),
    obj(
        "declared_wallets",
        Indexer,
        "wallets a payee declared as its own",
    ),
    obj(
        "registry_labels",
        Indexer,
        "ecosystem registry label and unlabel events (role_name: Role::as_str)",
    ),
    obj(
        "protocol_fee_changes",
        Indexer,
        "protocol fee schedule changes",
    ),
    obj(
        "protocol_fee_withdrawals",
        Indexer,
        "protocol fee withdrawals",
    ),
    obj("treasury_changes", Indexer, "protocol treasury changes"),
    obj(
        "authorization_charges",
        Indexer,
        "AuthorizationCharged events (EIP-3009 through the contract)",
    ),
    obj(
        "token_transfers",
        Indexer,
        "Transfer events of the payment tokens (funding lineage)",
    ),
    obj(
        "native_transfers",
        Indexer,
        "top-level native-currency transfers (gas funding)",
    ),
    obj(
        "lineage_wallets",
        Indexer,
        "scoped lineage: tracked wallets, their depth and how far their history is stored",
    ),
    obj(
        "eip3009_authorizations",
        Indexer,
        "standard x402 EIP-3009 payments seen on the tokens",
    ),
    obj(
        "permit2_proxy_settlements",
        Indexer,
        "standard x402 payments through x402's Permit2 proxies",
    ),
    obj("payments", Indexer, "one row per payment, every source"),
    obj("fold_charges", Indexer, "folds charges into payments"),
    obj(
        "fold_authorization_charges",
        Indexer,
        "folds authorization charges into payments",
    ),
    obj(
        "fold_eip3009",
        Indexer,
        "folds standard EIP-3009 payments into payments",
    ),
    obj(
        "fold_permit2_proxy",
        Indexer,
        "folds x402 Permit2 proxy payments into payments",
    ),
    obj(
        "recompute_payments",
        Indexer,
        "recomputes payments from their event history (reorgs)",
    ),
    obj(
        "classifier_state",
        Classifier,
        "the last block classified and the versions used",
    ),
    obj("labels", Classifier, "effective labels (registry and file)"),
    obj("label_file_entries", Classifier, "the imported labels file"),
    obj(
        "funding_clusters",
        Classifier,
        "funding clusters and their sybil verdicts",
    ),
    obj(
        "payment_classes",
        Classifier,
        "the class and flags of every payment (class: Class::as_str)",
    ),
    obj(
        "payer_classes",
        Classifier,
        "the class, evidence and entity of every payer",
    ),
    obj(
        "api_payment_facts",
        Api,
        "payments joined with their class, one row each",
    ),
    obj("api_daily_stats", Api, "per-day aggregates"),
    obj("api_payer_days", Api, "per-payer active days"),
    obj("api_payer_stats", Api, "per-payer aggregates"),
    obj(
        "api_refresh_state",
        Api,
        "how far the read model has caught up",
    ),
    obj(
        "api_changed_days",
        Api,
        "days whose aggregates changed since a block",
    ),
    obj(
        "api_refresh_days",
        Api,
        "refreshes the aggregates of some days",
    ),
    obj("api_refresh_payer_stats", Api, "refreshes payer aggregates"),
    obj(
        "facilitator_settlements",
        Facilitator,
        "one claim per payment the facilitator settles",
    ),
    obj(
        "facilitator_captures",
        Facilitator,
        "escrow captures the facilitator submitted",
    ),
    obj(
        "sim_truth",
        Simulator,
        "the simulated economy's intended classes",
    ),
];

/// Indexes a reader creates on a table it does not own, and why.
pub const FOREIGN_INDEXES: &[(&str, Owner, &str)] = &[
    (
        "api_src_payment_classes_classified_at",
        Api,
        "the read model finds newly classified payments by classified_at",
    ),
    (
        "api_src_payments_updated_block",
        Api,
        "the read model finds changed payments by updated_block_number",
    ),
    (
        "api_src_payer_classes_classified_at",
        Api,
        "the read model finds reclassified payers (class, entity) by classified_at",
    ),
];

/// The declaration of `name`, if the schema has it.
pub fn object(name: &str) -> Option<&'static Object> {
    OBJECTS.iter().find(|o| o.name == name)
}
