//! The ground truth the simulator keeps: the class each payer and each payment was *meant* to
//! have, written as JSON (for people and the report) and as the `sim_truth` table (for SQL next
//! to the classifier's output).

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// The classifier's classes the simulated economy produces: [`x402_domain::Class`] without
/// `unattributed`, which cannot arise (every simulated payer is funded on chain before it pays).
/// Names, order and meaning are the domain's; [`Class::domain`] and `TryFrom<x402_domain::Class>`
/// are the one mapping, both exhaustive, so a class added to the domain fails to compile here
/// until the simulator says whether it can produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// [`x402_domain::Class::SelfPayment`].
    SelfPayment,
    /// [`x402_domain::Class::Internal`].
    Internal,
    /// [`x402_domain::Class::SelfDealing`].
    SelfDealing,
    /// [`x402_domain::Class::ProjectFunded`].
    ProjectFunded,
    /// [`x402_domain::Class::SuspectedSybil`].
    SuspectedSybil,
    /// [`x402_domain::Class::External`].
    External,
}

impl Class {
    /// Every class the economy produces, in the classifier's rule order.
    pub const ALL: [Class; 6] = [
        Class::SelfPayment,
        Class::Internal,
        Class::SelfDealing,
        Class::ProjectFunded,
        Class::SuspectedSybil,
        Class::External,
    ];

    /// The domain's class.
    pub fn domain(self) -> x402_domain::Class {
        match self {
            Class::SelfPayment => x402_domain::Class::SelfPayment,
            Class::Internal => x402_domain::Class::Internal,
            Class::SelfDealing => x402_domain::Class::SelfDealing,
            Class::ProjectFunded => x402_domain::Class::ProjectFunded,
            Class::SuspectedSybil => x402_domain::Class::SuspectedSybil,
            Class::External => x402_domain::Class::External,
        }
    }

    /// The classifier's name of the class (`payment_classes.class`).
    pub fn as_str(self) -> &'static str {
        self.domain().as_str()
    }
}

/// A class the simulated economy cannot produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the simulated economy produces no `{0}` payer (every simulated payer is funded on chain before it pays)")]
pub struct NotSimulated(pub x402_domain::Class);

impl TryFrom<x402_domain::Class> for Class {
    type Error = NotSimulated;

    fn try_from(c: x402_domain::Class) -> Result<Self, Self::Error> {
        match c {
            x402_domain::Class::SelfPayment => Ok(Class::SelfPayment),
            x402_domain::Class::Internal => Ok(Class::Internal),
            x402_domain::Class::SelfDealing => Ok(Class::SelfDealing),
            x402_domain::Class::ProjectFunded => Ok(Class::ProjectFunded),
            x402_domain::Class::SuspectedSybil => Ok(Class::SuspectedSybil),
            x402_domain::Class::External => Ok(Class::External),
            x402_domain::Class::Unattributed => Err(NotSimulated(c)),
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Class {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.domain().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Class {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = x402_domain::Class::deserialize(d)?;
        Class::try_from(c).map_err(serde::de::Error::custom)
    }
}

/// One simulated payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerTruth {
    /// Its address.
    pub address: Address,
    /// The class it was built to have.
    pub class: Class,
    /// Which actor of the economy it is (e.g. `external-agent-3`, `sybil-12`).
    pub actor: String,
    /// The scenario it belongs to (`standard`, or one of [`crate::adversary::SCENARIOS`]).
    #[serde(default = "standard")]
    pub scenario: String,
}

fn standard() -> String {
    "standard".into()
}

/// One settled payment (a charge or an escrow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentTruth {
    /// The settlement contract's payment id.
    pub payment_id: B256,
    /// Payer.
    pub payer: Address,
    /// Payee.
    pub payee: Address,
    /// Intended class.
    pub class: Class,
    /// How it was paid: `exact`, `upto`, `escrow` and whether through the batching facilitator.
    pub path: String,
    /// Token symbol.
    pub token: String,
    /// Gross amount settled to the payee side, in token units (escrow: sum of captures).
    pub amount: String,
    /// Simulated day it was paid on (0-based).
    pub day: u32,
}

/// Everything the simulator knows to be true about the economy it drove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Truth {
    /// Chain the economy ran on.
    pub chain_id: u64,
    /// Seed the economy was derived from.
    pub seed: String,
    /// Scale name.
    pub scale: String,
    /// The last block holding a simulated event; the classifier must have reached it.
    pub last_block: u64,
    /// Payers by address.
    pub payers: BTreeMap<Address, PayerTruth>,
    /// Payments by id.
    pub payments: BTreeMap<B256, PaymentTruth>,
}

/// Why the truth could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// File trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a truth file.
    #[error("{path} is not a simulator truth file: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// Database trouble.
    #[error("writing sim_truth: {0}")]
    Db(#[from] sqlx::Error),
}

impl Truth {
    /// Writes the truth as pretty JSON (creating the directory).
    pub fn write_json(&self, path: &Path) -> Result<(), TruthError> {
        let io = |source| TruthError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).expect("truth serializes");
        std::fs::write(path, text).map_err(io)
    }

    /// Reads a truth file written by [`Self::write_json`].
    pub fn read_json(path: &Path) -> Result<Self, TruthError> {
        let text = std::fs::read_to_string(path).map_err(|source| TruthError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| TruthError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Replaces this chain's rows of `sim_truth` (one row per payer and per payment).
    ///
    /// The table is created here with `CREATE TABLE IF NOT EXISTS` rather than by a sqlx
    /// migration: it is the simulator's data, not part of any service's schema, and the crates
    /// share `_sqlx_migrations`, where a simulator version would be one more foreign entry for
    /// every service's migrator to tolerate.
    pub async fn write_table(&self, pool: &PgPool) -> Result<(), TruthError> {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "create table if not exists sim_truth (
                 chain_id  int8  not null,
                 kind      text  not null check (kind in ('payer', 'payment')),
                 id        bytea not null,
                 class     text  not null,
                 payer     bytea not null,
                 detail    text  not null,
                 primary key (chain_id, kind, id))",
        )
        .execute(&mut *tx)
        .await?;
        // Tables written before scenarios existed (a database kept across versions) get it.
        sqlx::query(
            "alter table sim_truth add column if not exists scenario text not null default 'standard'",
        )
        .execute(&mut *tx)
        .await?;
        let chain = self.chain_id as i64;
        sqlx::query("delete from sim_truth where chain_id = $1")
            .bind(chain)
            .execute(&mut *tx)
            .await?;
        let (mut kinds, mut ids, mut classes, mut payers, mut details, mut scenarios) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for p in self.payers.values() {
            kinds.push("payer".to_string());
            ids.push(p.address.to_vec());
            classes.push(p.class.as_str().to_string());
            payers.push(p.address.to_vec());
            details.push(p.actor.clone());
            scenarios.push(p.scenario.clone());
        }
        for p in self.payments.values() {
            kinds.push("payment".to_string());
            ids.push(p.payment_id.to_vec());
            classes.push(p.class.as_str().to_string());
            payers.push(p.payer.to_vec());
            details.push(p.path.clone());
            // A payment's scenario is its payer's.
            scenarios.push(
                self.payers
                    .get(&p.payer)
                    .map_or_else(standard, |x| x.scenario.clone()),
            );
        }
        sqlx::query(
            "insert into sim_truth (chain_id, kind, id, class, payer, detail, scenario)
             select $1, * from unnest($2::text[], $3::bytea[], $4::text[], $5::bytea[], $6::text[], $7::text[])",
        )
        .bind(chain)
        .bind(&kinds)
        .bind(&ids)
        .bind(&classes)
        .bind(&payers)
        .bind(&details)
        .bind(&scenarios)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_the_classifiers() {
        let names: Vec<_> = Class::ALL
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "\"self_payment\"",
                "\"internal\"",
                "\"self_dealing\"",
                "\"project_funded\"",
                "\"suspected_sybil\"",
                "\"external\""
            ]
        );
        for c in Class::ALL {
            assert_eq!(
                format!("\"{}\"", c.as_str()),
                serde_json::to_string(&c).unwrap()
            );
        }
    }

    #[test]
    fn every_domain_class_but_unattributed_is_simulated_in_the_domains_order() {
        let simulated: Vec<x402_domain::Class> = x402_domain::Class::ALL
            .into_iter()
            .filter(|c| Class::try_from(*c).is_ok())
            .collect();
        assert_eq!(
            simulated,
            Class::ALL.map(Class::domain).to_vec(),
            "Class::ALL follows the domain's rule order"
        );
        for c in Class::ALL {
            assert_eq!(Class::try_from(c.domain()), Ok(c));
        }
        let err = serde_json::from_str::<Class>("\"unattributed\"").unwrap_err();
        assert!(
            err.to_string().contains("produces no `unattributed`"),
            "{err}"
        );
        assert!(serde_json::from_str::<Class>("\"organic\"").is_err());
    }

    #[test]
    fn json_round_trip() {
        let mut t = Truth {
            chain_id: 31337,
            seed: "s".into(),
            scale: "small".into(),
            last_block: 9,
            ..Default::default()
        };
        let a = Address::repeat_byte(1);
        t.payers.insert(
            a,
            PayerTruth {
                address: a,
                class: Class::External,
                actor: "external-agent-0".into(),
                scenario: "standard".into(),
            },
        );
        let id = B256::repeat_byte(2);
        t.payments.insert(
            id,
            PaymentTruth {
                payment_id: id,
                payer: a,
                payee: Address::repeat_byte(3),
                class: Class::External,
                path: "exact".into(),
                token: "USDC".into(),
                amount: "1000".into(),
                day: 0,
            },
        );
        let dir = std::env::temp_dir().join(format!("x402-sim-truth-{}", std::process::id()));
        let path = dir.join("truth.json");
        t.write_json(&path).unwrap();
        assert_eq!(Truth::read_json(&path).unwrap(), t);
        std::fs::write(&path, "{}").unwrap();
        assert!(Truth::read_json(&path)
            .unwrap_err()
            .to_string()
            .contains("not a simulator truth file"));
        std::fs::remove_dir_all(dir).ok();
    }
}
