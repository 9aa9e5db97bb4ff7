//! Labels: who is an exchange, a bridge or an ecosystem wallet, and from which block.
//!
//! Two sources are merged into one effective set: the on-chain registry's history
//! (`WalletLabeled` opens an interval at its block, `WalletUnlabeled` closes it) and a local
//! labels file (see `classifier/labels.example.toml`). The label version is a hash of the
//! effective set, so any change to it is visible on every result and triggers a full
//! reclassification.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use x402_domain::Role;

use crate::types::{hex0x, parse_addr, Addr, Hash32};

/// What a labelled address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelKind {
    /// A centralized exchange: mixes everybody's funds, links nobody.
    Exchange,
    /// A bridge: like an exchange for funding purposes.
    Bridge,
    /// One of the project's own wallets (treasury, team, ops, faucet, facilitator, provider,
    /// market maker, test); `role` says which.
    Ecosystem,
    /// Anything else worth naming (shown in evidence, no rule effect).
    Other,
}

impl LabelKind {
    /// The kind's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Exchange => "exchange",
            LabelKind::Bridge => "bridge",
            LabelKind::Ecosystem => "ecosystem",
            LabelKind::Other => "other",
        }
    }

    /// Parses a stored or file kind.
    pub fn parse(s: &str) -> Option<LabelKind> {
        match s {
            "exchange" => Some(LabelKind::Exchange),
            "bridge" => Some(LabelKind::Bridge),
            "ecosystem" => Some(LabelKind::Ecosystem),
            "other" => Some(LabelKind::Other),
            _ => None,
        }
    }

    /// Exchanges and bridges pool many owners' funds: they never link wallets.
    pub fn is_pool(self) -> bool {
        matches!(self, LabelKind::Exchange | LabelKind::Bridge)
    }
}

/// The stored names of the ecosystem roles, for messages.
fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}

/// Where a label comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelSource {
    /// The on-chain ecosystem registry.
    Registry,
    /// The local labels file.
    File,
}

impl LabelSource {
    /// The source's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Registry => "registry",
            LabelSource::File => "file",
        }
    }
}

/// One effective label: `address` is `kind` (and `role`) for blocks in
/// `[valid_from_block, valid_to_block)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    /// The labelled address.
    pub address: Addr,
    /// What it is.
    pub kind: LabelKind,
    /// Ecosystem role (or free text for other kinds).
    pub role: Option<String>,
    /// Registry or file.
    pub source: LabelSource,
    /// First block at which the label holds.
    pub valid_from_block: i64,
    /// Block from which it no longer holds (the unlabel's block); `None` while it holds.
    pub valid_to_block: Option<i64>,
    /// Analyst-facing note.
    pub note: String,
    /// Registry transaction that set the label.
    pub registry_tx: Option<Hash32>,
    /// Registry transaction that removed it.
    pub unlabel_tx: Option<Hash32>,
}

impl Label {
    /// Whether the label holds at `block`.
    pub fn holds_at(&self, block: i64) -> bool {
        block >= self.valid_from_block && self.valid_to_block.is_none_or(|to| block < to)
    }

    /// The label as evidence JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "address": hex0x(&self.address),
            "kind": self.kind.as_str(),
            "role": self.role,
            "source": self.source.as_str(),
            "valid_from_block": self.valid_from_block,
            "valid_to_block": self.valid_to_block,
            "note": self.note,
            "registry_tx": self.registry_tx.map(|h| hex0x(&h)),
            "unlabel_tx": self.unlabel_tx.map(|h| hex0x(&h)),
        })
    }
}

/// One `WalletLabeled`/`WalletUnlabeled` event, as the indexer stores it.
#[derive(Debug, Clone)]
pub struct RegistryEvent {
    /// Block of the event.
    pub block: i64,
    /// Log index inside the block.
    pub log_index: i32,
    /// Transaction hash.
    pub tx: Hash32,
    /// The wallet.
    pub wallet: Addr,
    /// Role index (`IEcosystemRegistry.Role`).
    pub role: u8,
    /// true = labelled, false = unlabelled.
    pub labeled: bool,
    /// The event's note.
    pub note: String,
}

/// Folds registry history into label intervals: a label holds from its `WalletLabeled` block
/// until the `WalletUnlabeled` of the same wallet and role.
pub fn fold_registry(events: &[RegistryEvent]) -> Vec<Label> {
    let mut sorted: Vec<&RegistryEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.block, e.log_index));
    let mut open: BTreeMap<(Addr, u8), Label> = BTreeMap::new();
    let mut out = Vec::new();
    for e in sorted {
        let key = (e.wallet, e.role);
        if e.labeled {
            // The registry rejects a second label of the same role; keep the first if it happens.
            open.entry(key).or_insert_with(|| Label {
                address: e.wallet,
                kind: LabelKind::Ecosystem,
                role: Some(Role::name_of_value(e.role)),
                source: LabelSource::Registry,
                valid_from_block: e.block,
                valid_to_block: None,
                note: e.note.clone(),
                registry_tx: Some(e.tx),
                unlabel_tx: None,
            });
        } else if let Some(mut l) = open.remove(&key) {
            l.valid_to_block = Some(e.block);
            l.unlabel_tx = Some(e.tx);
            if !e.note.is_empty() {
                l.note = format!("{} (removed: {})", l.note, e.note);
            }
            out.push(l);
        }
    }
    out.extend(open.into_values());
    out.sort();
    out
}

/// One entry of the local labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLabel {
    /// Chain the entry applies to.
    pub chain_id: i64,
    /// The labelled address.
    pub address: Addr,
    /// What it is.
    pub kind: LabelKind,
    /// Ecosystem role, or free text.
    pub role: Option<String>,
    /// First block at which it holds (0 = all history).
    pub from_block: i64,
    /// Analyst-facing note.
    pub note: String,
}

impl FileLabel {
    /// The entry as an effective label.
    pub fn to_label(&self) -> Label {
        Label {
            address: self.address,
            kind: self.kind,
            role: self.role.clone(),
            source: LabelSource::File,
            valid_from_block: self.from_block,
            valid_to_block: None,
            note: self.note.clone(),
            registry_tx: None,
            unlabel_tx: None,
        }
    }
}

/// A labels file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LabelFileError {
    /// The file could not be read.
    #[error("cannot read labels file {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("labels file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// One entry is wrong.
    #[error("labels file {path}, label #{index}: {message}")]
    Entry {
        /// The file.
        path: String,
        /// 1-based entry number.
        index: usize,
        /// What is wrong with which field.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    label: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    address: String,
    kind: String,
    role: Option<String>,
    note: Option<String>,
    from_block: Option<i64>,
    chain_id: Option<i64>,
}

/// Reads a labels file; entries without `chain_id` apply to `default_chain_id`.
pub fn read_label_file(
    path: &Path,
    default_chain_id: i64,
) -> Result<Vec<FileLabel>, LabelFileError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LabelFileError::Read {
        path: p.clone(),
        source,
    })?;
    parse_label_file(&text, default_chain_id).map_err(|e| match e {
        LabelFileError::Syntax { message, .. } => LabelFileError::Syntax {
            path: p.clone(),
            message,
        },
        LabelFileError::Entry { index, message, .. } => LabelFileError::Entry {
            path: p.clone(),
            index,
            message,
        },
        other => other,
    })
}

/// Parses labels-file text (see `classifier/labels.example.toml`).
pub fn parse_label_file(
    text: &str,
    default_chain_id: i64,
) -> Result<Vec<FileLabel>, LabelFileError> {
    let doc: FileDoc = toml::from_str(text).map_err(|e| LabelFileError::Syntax {
        path: String::new(),
        message: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(doc.label.len());
    for (i, e) in doc.label.into_iter().enumerate() {
        let entry_err = |message: String| LabelFileError::Entry {
            path: String::new(),
            index: i + 1,
            message,
        };
        let address = parse_addr(&e.address, "address").map_err(entry_err)?;
        let kind = LabelKind::parse(&e.kind).ok_or_else(|| {
            entry_err(format!(
                "kind: `{}` is not one of exchange, bridge, ecosystem, other",
                e.kind
            ))
        })?;
        let role = match (&kind, e.role) {
            (LabelKind::Ecosystem, Some(r)) => match r.parse::<Role>() {
                Ok(role) => Some(role.as_str().to_string()),
                Err(e) => return Err(entry_err(format!("role: {e}"))),
            },
            (LabelKind::Ecosystem, None) => {
                return Err(entry_err(format!(
                    "role: an ecosystem label needs a role ({})",
                    role_names().join(", ")
                )))
            }
            (_, r) => r,
        };
        let from_block = e.from_block.unwrap_or(0);
        if from_block < 0 {
            return Err(entry_err(format!(
                "from_block: must not be negative, got {from_block}"
            )));
        }
        out.push(FileLabel {
            chain_id: e.chain_id.unwrap_or(default_chain_id),
            address,
            kind,
            role,
            from_block,
            note: e.note.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The effective label set of one chain, indexed by address.
#[derive(Debug, Clone, Default)]
pub struct LabelSet {
    labels: Vec<Label>,
    by_addr: BTreeMap<Addr, Vec<usize>>,
}

impl LabelSet {
    /// Merges registry labels and file labels into one sorted set.
    pub fn new(mut labels: Vec<Label>) -> LabelSet {
        labels.sort();
        labels.dedup();
        let mut by_addr: BTreeMap<Addr, Vec<usize>> = BTreeMap::new();
        for (i, l) in labels.iter().enumerate() {
            by_addr.entry(l.address).or_default().push(i);
        }
        LabelSet { labels, by_addr }
    }

    /// Every label, sorted.
    pub fn all(&self) -> &[Label] {
        &self.labels
    }

    /// Labels of `addr`.
    pub fn of(&self, addr: &Addr) -> impl Iterator<Item = &Label> {
        self.by_addr
            .get(addr)
            .into_iter()
            .flatten()
            .map(|&i| &self.labels[i])
    }

    /// The ecosystem label of `addr` holding at `block` (registry first, then file).
    pub fn ecosystem_at(&self, addr: &Addr, block: i64) -> Option<&Label> {
        self.of(addr)
            .filter(|l| l.kind == LabelKind::Ecosystem && l.holds_at(block))
            .min_by_key(|l| l.source)
    }

    /// The exchange or bridge label of `addr`, if it ever had one. Pools link nobody whenever
    /// they were labelled: an exchange was an exchange before anyone wrote it down.
    pub fn pool(&self, addr: &Addr) -> Option<&Label> {
        self.of(addr).find(|l| l.kind.is_pool())
    }

    /// `l<12 hex digits>`: the SHA-256 of the sorted effective set (`l-empty` when empty).
    pub fn version(&self) -> String {
        if self.labels.is_empty() {
            return "l-empty".into();
        }
        let mut h = Sha256::new();
        for l in &self.labels {
            h.update(l.address);
            h.update(l.kind.as_str());
            h.update([0]);
            h.update(l.role.as_deref().unwrap_or(""));
            h.update([0]);
            h.update(l.source.as_str());
            h.update(l.valid_from_block.to_be_bytes());
            h.update(l.valid_to_block.unwrap_or(-1).to_be_bytes());
            h.update(l.note.as_bytes());
            h.update([0]);
        }
        format!("l-{}", &hex::encode(h.finalize())[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(block: i64, wallet: u8, role: u8, labeled: bool) -> RegistryEvent {
        RegistryEvent {
            block,
            log_index: 0,
            tx: [block as u8; 32],
            wallet: [wallet; 20],
            role,
            labeled,
            note: "n".into(),
        }
    }

    #[test]
    fn registry_label_holds_until_unlabelled() {
        let labels = fold_registry(&[ev(10, 1, 0, true), ev(20, 1, 0, false), ev(30, 1, 0, true)]);
        assert_eq!(labels.len(), 2);
        let set = LabelSet::new(labels);
        assert!(set.ecosystem_at(&[1; 20], 9).is_none());
        assert_eq!(
            set.ecosystem_at(&[1; 20], 10).unwrap().registry_tx,
            Some([10; 32])
        );
        assert!(set.ecosystem_at(&[1; 20], 20).is_none());
        assert_eq!(
            set.ecosystem_at(&[1; 20], 35).unwrap().role.as_deref(),
            Some("treasury")
        );
    }

    #[test]
    fn file_parses_and_rejects_bad_entries() {
        let ok = r#"
[[label]]
address = "0x1111111111111111111111111111111111111111"
kind = "exchange"
note = "CEX hot wallet"

[[label]]
address = "0x2222222222222222222222222222222222222222"
kind = "ecosystem"
role = "faucet"
from_block = 100
"#;
        let l = parse_label_file(ok, 31337).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].from_block, 100);
        assert_eq!(l[0].chain_id, 31337);

        let bad_kind =
            "[[label]]\naddress = \"0x1111111111111111111111111111111111111111\"\nkind = \"cex\"\n";
        let e = parse_label_file(bad_kind, 1).unwrap_err().to_string();
        assert!(e.contains("label #1") && e.contains("kind"), "{e}");
        let bad_addr = "[[label]]\naddress = \"0x11\"\nkind = \"bridge\"\n";
        assert!(parse_label_file(bad_addr, 1)
            .unwrap_err()
            .to_string()
            .contains("address"));
        let no_role = "[[label]]\naddress = \"0x1111111111111111111111111111111111111111\"\nkind = \"ecosystem\"\n";
        assert!(parse_label_file(no_role, 1)
            .unwrap_err()
            .to_string()
            .contains("role"));
        let unknown = "[[label]]\naddress = \"0x1111111111111111111111111111111111111111\"\nkind = \"bridge\"\ncolour = 1\n";
        assert!(parse_label_file(unknown, 1).is_err());
    }

    #[test]
    fn version_depends_on_content_not_order() {
        let a = FileLabel {
            chain_id: 1,
            address: [1; 20],
            kind: LabelKind::Exchange,
            role: None,
            from_block: 0,
            note: String::new(),
        };
        let b = FileLabel {
            address: [2; 20],
            kind: LabelKind::Bridge,
            ..a.clone()
        };
        let v1 = LabelSet::new(vec![a.to_label(), b.to_label()]).version();
        let v2 = LabelSet::new(vec![b.to_label(), a.to_label()]).version();
        assert_eq!(v1, v2);
        assert_ne!(v1, LabelSet::new(vec![a.to_label()]).version());
        assert_eq!(LabelSet::default().version(), "l-empty");
    }
}
