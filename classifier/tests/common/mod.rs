//! A tiny chain simulator for scenario tests: transfers, payments, labels and declarations with
//! strictly increasing blocks, built directly as classifier inputs.
#![allow(dead_code)]

use x402_classifier::{
    fold_registry, Addr, Declaration, FileLabel, Hash32, Inputs, Label, LabelKind, LabelSet,
    NativeTransfer, Payment, RegistryEvent, Transfer,
};

/// The payment token (6 decimals by default: dust threshold 1_000_000).
pub const TOKEN: Addr = [0xAA; 20];
/// One token unit.
pub const U: u128 = 1_000_000;
/// Seconds per block.
pub const BLOCK_SECS: i64 = 12;

/// Address number `n` (never the zero address).
pub fn addr(n: u32) -> Addr {
    let mut a = [0x11u8; 20];
    a[16..].copy_from_slice(&n.to_be_bytes());
    a
}

/// A scenario under construction.
pub struct World {
    pub chain_id: i64,
    pub block: i64,
    pub time: i64,
    pub payments: Vec<Payment>,
    pub transfers: Vec<Transfer>,
    pub native: Vec<NativeTransfer>,
    pub declarations: Vec<Declaration>,
    pub registry: Vec<RegistryEvent>,
    pub file: Vec<FileLabel>,
    pub settlement: Addr,
    seq: u64,
}

impl Default for World {
    fn default() -> Self {
        World {
            chain_id: 31337,
            block: 100,
            time: 1_800_000_000,
            payments: vec![],
            transfers: vec![],
            native: vec![],
            declarations: vec![],
            registry: vec![],
            file: vec![],
            settlement: [0x5E; 20],
            seq: 0,
        }
    }
}

impl World {
    fn next_hash(&mut self) -> Hash32 {
        self.seq += 1;
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&self.seq.to_be_bytes());
        h[31] = 0x77;
        h
    }

    /// Mines a block (12 s later).
    pub fn mine(&mut self) {
        self.block += 1;
        self.time += BLOCK_SECS;
    }

    /// Lets `secs` pass (and mines one block).
    pub fn wait(&mut self, secs: i64) {
        self.block += (secs / BLOCK_SECS).max(1);
        self.time += secs;
    }

    /// A transfer in its own block; returns its transaction hash.
    pub fn transfer(&mut self, from: Addr, to: Addr, amount: u128) -> Hash32 {
        self.mine();
        let tx = self.next_hash();
        self.transfers.push(Transfer {
            token: TOKEN,
            from,
            to,
            amount,
            block: self.block,
            log_index: 0,
            time: self.time,
            tx,
        });
        tx
    }

    /// A native-currency (gas money) transfer of `wei` in its own block; returns its transaction.
    pub fn gas(&mut self, from: Addr, to: Addr, wei: u128) -> Hash32 {
        self.mine();
        let tx = self.next_hash();
        self.native.push(NativeTransfer {
            from,
            to,
            value: wei,
            block: self.block,
            tx_index: 0,
            time: self.time,
            tx,
        });
        tx
    }

    /// A payment in its own block; returns its id. Also records the settlement plumbing transfers
    /// (payer -> settlement -> payee), which the classifier must ignore.
    pub fn pay(&mut self, payer: Addr, payee: Addr, amount: u128) -> Hash32 {
        self.mine();
        let id = self.next_hash();
        let tx = self.next_hash();
        self.payments.push(Payment {
            id,
            payer,
            payee,
            token: TOKEN,
            amount,
            block: self.block,
            time: self.time,
            tx,
        });
        let s = self.settlement;
        self.transfers.push(Transfer {
            token: TOKEN,
            from: payer,
            to: s,
            amount,
            block: self.block,
            log_index: 1,
            time: self.time,
            tx,
        });
        self.transfers.push(Transfer {
            token: TOKEN,
            from: s,
            to: payee,
            amount,
            block: self.block,
            log_index: 2,
            time: self.time,
            tx,
        });
        id
    }

    /// A payment whose token moves straight from payer to payee in the payment's transaction
    /// (standard EIP-3009, `chargeWithAuthorization`, x402's Permit2 proxies); returns its id.
    pub fn pay_direct(&mut self, payer: Addr, payee: Addr, amount: u128) -> Hash32 {
        self.mine();
        let id = self.next_hash();
        let tx = self.next_hash();
        self.payments.push(Payment {
            id,
            payer,
            payee,
            token: TOKEN,
            amount,
            block: self.block,
            time: self.time,
            tx,
        });
        self.transfers.push(Transfer {
            token: TOKEN,
            from: payer,
            to: payee,
            amount,
            block: self.block,
            log_index: 1,
            time: self.time,
            tx,
        });
        id
    }

    /// Registry `WalletLabeled`; returns the transaction.
    pub fn registry_label(&mut self, wallet: Addr, role: u8, note: &str) -> Hash32 {
        self.mine();
        let tx = self.next_hash();
        self.registry.push(RegistryEvent {
            block: self.block,
            log_index: 0,
            tx,
            wallet,
            role,
            labeled: true,
            note: note.into(),
        });
        tx
    }

    /// Registry `WalletUnlabeled`.
    pub fn registry_unlabel(&mut self, wallet: Addr, role: u8) -> Hash32 {
        self.mine();
        let tx = self.next_hash();
        self.registry.push(RegistryEvent {
            block: self.block,
            log_index: 0,
            tx,
            wallet,
            role,
            labeled: false,
            note: String::new(),
        });
        tx
    }

    /// A labels-file entry holding for the whole history.
    pub fn file_label(&mut self, address: Addr, kind: LabelKind, role: Option<&str>) {
        self.file.push(FileLabel {
            chain_id: self.chain_id,
            address,
            kind,
            role: role.map(String::from),
            from_block: 0,
            note: format!("{} {:?}", kind.as_str(), role),
        });
    }

    /// `PayeeWalletDeclared`.
    pub fn declare(&mut self, payee: Addr, wallet: Addr, declared: bool) -> Hash32 {
        self.mine();
        let tx = self.next_hash();
        self.declarations.push(Declaration {
            payee,
            wallet,
            declared,
            block: self.block,
            log_index: 0,
            tx,
            note: "mine".into(),
        });
        tx
    }

    /// The classifier inputs (settlement plumbing marked as excluded).
    pub fn inputs(&self) -> Inputs {
        let mut labels: Vec<Label> = fold_registry(&self.registry);
        labels.extend(self.file.iter().map(|f| f.to_label()));
        Inputs {
            chain_id: self.chain_id,
            payments: self.payments.clone(),
            transfers: self.transfers.clone(),
            native: self.native.clone(),
            declarations: self.declarations.clone(),
            labels: LabelSet::new(labels),
            excluded: vec![self.settlement],
        }
    }
}

pub mod pg;

impl World {
    /// Writes everything not yet written (payments/transfers/events after `written` blocks) into the
    /// indexer tables and moves the checkpoint to the current block.
    pub async fn commit(&mut self, db: &pg::TestDb, written: &mut i64) {
        use x402_classifier::{set_checkpoint, write_seed, Seed};
        let after = *written;
        let s = Seed {
            chain_id: self.chain_id,
            facilitator: [0xFA; 20],
            payments: self
                .payments
                .iter()
                .filter(|p| p.block > after)
                .cloned()
                .collect(),
            transfers: self
                .transfers
                .iter()
                .filter(|t| t.block > after)
                .cloned()
                .collect(),
            declarations: self
                .declarations
                .iter()
                .filter(|d| d.block > after)
                .cloned()
                .collect(),
            registry: self
                .registry
                .iter()
                .filter(|r| r.block > after)
                .cloned()
                .collect(),
        };
        write_seed(&db.pool, &s).await.unwrap();
        self.mine();
        set_checkpoint(
            &db.pool,
            self.chain_id,
            self.block,
            &self.settlement,
            &[0x4E; 20],
        )
        .await
        .unwrap();
        *written = self.block;
    }

    /// Imports the file labels (the labels-file path of `labels import`).
    pub async fn import_file_labels(&self, db: &pg::TestDb) {
        use x402_classifier::{import_labels, ImportMode};
        import_labels(&db.pool, &self.file, ImportMode::Merge)
            .await
            .unwrap();
    }
}
