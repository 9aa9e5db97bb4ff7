//! The classifier's inputs as plain values: what the indexer stored, read by `db::load` or built
//! directly by tests.

use crate::labels::LabelSet;
use crate::types::{Addr, Hash32};

/// One payment (the `payments` fold of the indexer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Payment id.
    pub id: Hash32,
    /// Who paid.
    pub payer: Addr,
    /// Who was paid.
    pub payee: Addr,
    /// Payment token.
    pub token: Addr,
    /// Gross amount settled to the payee side (charge amount or sum of captures), base units.
    pub amount: u128,
    /// Block of the charge or authorization.
    pub block: i64,
    /// Its timestamp, unix seconds.
    pub time: i64,
    /// Its transaction.
    pub tx: Hash32,
}

/// One ERC-20 transfer of a payment token that does not involve the settlement contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Token.
    pub token: Addr,
    /// Sender (the zero address for mints).
    pub from: Addr,
    /// Recipient.
    pub to: Addr,
    /// Amount, base units.
    pub amount: u128,
    /// Block.
    pub block: i64,
    /// Log index inside the block.
    pub log_index: i32,
    /// Block timestamp, unix seconds.
    pub time: i64,
    /// Transaction.
    pub tx: Hash32,
}

/// One top-level transaction moving native currency (gas money) with value > 0 (the indexer's
/// `native_transfers`). A funding edge for first funders and clusters, never token provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeTransfer {
    /// Sender.
    pub from: Addr,
    /// Recipient.
    pub to: Addr,
    /// Value in wei.
    pub value: u128,
    /// Block.
    pub block: i64,
    /// Transaction index inside the block.
    pub tx_index: i32,
    /// Block timestamp, unix seconds.
    pub time: i64,
    /// Transaction.
    pub tx: Hash32,
}

/// A payee's `PayeeWalletDeclared` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The payee making the declaration.
    pub payee: Addr,
    /// The wallet it declares (or withdraws).
    pub wallet: Addr,
    /// true = declared, false = withdrawn.
    pub declared: bool,
    /// Block.
    pub block: i64,
    /// Log index.
    pub log_index: i32,
    /// Transaction.
    pub tx: Hash32,
    /// The event's note.
    pub note: String,
}

/// Everything one chain's classification reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Chain id.
    pub chain_id: i64,
    /// Every payment.
    pub payments: Vec<Payment>,
    /// Token transfers outside the settlement contract (refunds excluded too).
    pub transfers: Vec<Transfer>,
    /// Native-currency transfers (empty when the indexer does not record them).
    pub native: Vec<NativeTransfer>,
    /// Payees' wallet declarations.
    pub declarations: Vec<Declaration>,
    /// The effective label set.
    pub labels: LabelSet,
    /// Addresses whose transfers are payment plumbing, not funding (the settlement contract).
    pub excluded: Vec<Addr>,
}
