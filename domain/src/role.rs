//! The roles of the on-chain ecosystem registry (`IEcosystemRegistry.Role`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{parse, UnknownName};

/// An ecosystem role, in the order of the Solidity enum (the value events carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The project's treasury.
    Treasury,
    /// Team members' wallets.
    Team,
    /// Operational wallets (deployers, relayers).
    Operations,
    /// Wallets that hand out tokens.
    Faucet,
    /// Facilitators the project runs.
    Facilitator,
    /// Inference providers the project runs.
    Provider,
    /// Market makers the project pays.
    MarketMaker,
    /// Test wallets.
    Test,
}

impl Role {
    /// Every role, in enum order (`ALL[v]` is the role with on-chain value `v`).
    pub const ALL: [Role; 8] = [
        Role::Treasury,
        Role::Team,
        Role::Operations,
        Role::Faucet,
        Role::Facilitator,
        Role::Provider,
        Role::MarketMaker,
        Role::Test,
    ];

    /// The role with on-chain value `value`, if the enum has one.
    pub fn from_value(value: u8) -> Option<Role> {
        Role::ALL.get(value as usize).copied()
    }

    /// The role's on-chain value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The role's name as stored (`registry_labels.role_name`, `labels.role`) and in label files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Treasury => "treasury",
            Role::Team => "team",
            Role::Operations => "operations",
            Role::Faucet => "faucet",
            Role::Facilitator => "facilitator",
            Role::Provider => "provider",
            Role::MarketMaker => "market_maker",
            Role::Test => "test",
        }
    }

    /// The name of on-chain value `value`: the role's name, or `role_<v>` for a value a newer
    /// registry might emit (stored as given rather than dropped).
    pub fn name_of_value(value: u8) -> String {
        Role::from_value(value)
            .map(|r| r.as_str().to_string())
            .unwrap_or_else(|| format!("role_{value}"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse("role", &Role::ALL, Role::as_str, s)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_enum_order() {
        for (i, r) in Role::ALL.into_iter().enumerate() {
            assert_eq!(r.value() as usize, i);
            assert_eq!(Role::from_value(i as u8), Some(r));
        }
        assert_eq!(Role::from_value(8), None);
        assert_eq!(Role::name_of_value(8), "role_8");
        assert_eq!(Role::name_of_value(6), "market_maker");
    }
}
