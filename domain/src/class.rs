//! The classes a payment (and its payer) can get.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{parse, UnknownName};

/// The class of a payment: the first classifier rule that matched, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Payer = payee.
    SelfPayment,
    /// The payer is a labelled ecosystem wallet at the payment's block.
    Internal,
    /// Payer and payee are the same party (declared wallet, funding link, shared funder,
    /// flow-back, funds from the payee).
    SelfDealing,
    /// Most of the spent tokens, or the payer's first funding, came from ecosystem wallets.
    ProjectFunded,
    /// The payer belongs to a funding cluster that behaves like a sybil farm.
    SuspectedSybil,
    /// Organic demand: funded from exchanges, bridges or unrelated wallets.
    External,
    /// Not enough history to decide.
    Unattributed,
}

impl Class {
    /// Every class, in rule order.
    pub const ALL: [Class; 7] = [
        Class::SelfPayment,
        Class::Internal,
        Class::SelfDealing,
        Class::ProjectFunded,
        Class::SuspectedSybil,
        Class::External,
        Class::Unattributed,
    ];

    /// The name stored in the database (`payment_classes.class`) and used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::SelfPayment => "self_payment",
            Class::Internal => "internal",
            Class::SelfDealing => "self_dealing",
            Class::ProjectFunded => "project_funded",
            Class::SuspectedSybil => "suspected_sybil",
            Class::External => "external",
            Class::Unattributed => "unattributed",
        }
    }

    /// Whether the class counts as organic demand.
    pub fn is_organic(self) -> bool {
        self == Class::External
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse("class", &Class::ALL, Class::as_str, s)
    }
}

impl Serialize for Class {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Class {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_class() {
        for c in Class::ALL {
            assert_eq!(c.as_str().parse::<Class>(), Ok(c));
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_accepted_ones() {
        let err = "organic".parse::<Class>().unwrap_err();
        assert_eq!(err.given, "organic");
        assert_eq!(err.expected.len(), Class::ALL.len());
        assert!(err.to_string().contains("self_payment, internal"), "{err}");
    }
}
