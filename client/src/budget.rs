//! The payer's local budget: a per-request maximum and a running total, checked before anything
//! is signed, so a provider cannot make an agent sign more than it was allowed to spend.
//!
//! The on-chain spending policy ([`crate::policy`]) is the hard limit the contract enforces; this
//! budget is the agent's own, cheaper guard that also refuses unknown tokens, networks and
//! facilitators before a signature exists.

use std::collections::HashSet;

use alloy::primitives::{Address, U256};

use crate::requirements::PaymentRequirements;

/// Why a requirement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The requested amount is above the per-request maximum.
    #[error("amount {amount} is above the per-request maximum {max}")]
    PerRequest {
        /// Asked for.
        amount: U256,
        /// Allowed per request.
        max: U256,
    },
    /// Paying would take the total above its limit.
    #[error("amount {amount} would exceed the total budget: {spent} of {max} already committed")]
    Total {
        /// Asked for.
        amount: U256,
        /// Already committed.
        spent: U256,
        /// Total limit.
        max: U256,
    },
    /// The token is not one the payer agreed to pay with.
    #[error("asset {0} is not in the allowed token list")]
    Asset(Address),
    /// The network is not the payer's.
    #[error("network {got} is not the payer's network {want}")]
    Network {
        /// Offered.
        got: String,
        /// The payer's.
        want: String,
    },
    /// The facilitator is not one the payer trusts.
    #[error("facilitator {0} is not in the allowed facilitator list")]
    Facilitator(Address),
    /// The fee asked is above what the payer accepts.
    #[error("maxFacilitatorFeeBps {asked} is above the accepted {max}")]
    Fee {
        /// Asked for.
        asked: u16,
        /// Accepted.
        max: u16,
    },
    /// The scheme is not one we sign.
    #[error("scheme {0:?} is not exact, upto or escrow")]
    Scheme(String),
    /// None of the offered requirements fits the budget; each reason is listed.
    #[error("no acceptable payment requirement: {0}")]
    NoneAcceptable(String),
}

/// Limits and what has been committed against them.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Largest single payment (its `amount`, the maximum for upto/escrow).
    pub max_per_request: U256,
    /// Most the payer commits in total over this budget's life.
    pub max_total: U256,
    /// Committed so far.
    pub spent: U256,
    /// The only network the payer pays on (CAIP-2), if set.
    pub network: Option<String>,
    /// Tokens the payer pays with; empty allows any.
    pub assets: HashSet<Address>,
    /// Facilitators the payer trusts; empty allows any.
    pub facilitators: HashSet<Address>,
    /// Largest facilitator fee accepted, in basis points.
    pub max_fee_bps: u16,
}

impl Budget {
    /// A budget with the two limits and no other restriction (fee up to 100 %).
    pub fn new(max_per_request: U256, max_total: U256) -> Self {
        Self {
            max_per_request,
            max_total,
            spent: U256::ZERO,
            network: None,
            assets: HashSet::new(),
            facilitators: HashSet::new(),
            max_fee_bps: 10_000,
        }
    }

    /// What is left of the total.
    pub fn remaining(&self) -> U256 {
        self.max_total.saturating_sub(self.spent)
    }

    /// Checks one requirement without committing anything.
    pub fn check(&self, req: &PaymentRequirements) -> Result<(), BudgetError> {
        if req.mode().is_none() {
            return Err(BudgetError::Scheme(req.scheme.clone()));
        }
        if let Some(want) = &self.network {
            if &req.network != want {
                return Err(BudgetError::Network {
                    got: req.network.clone(),
                    want: want.clone(),
                });
            }
        }
        if !self.assets.is_empty() && !self.assets.contains(&req.asset) {
            return Err(BudgetError::Asset(req.asset));
        }
        if !self.facilitators.is_empty() && !self.facilitators.contains(&req.extra.facilitator) {
            return Err(BudgetError::Facilitator(req.extra.facilitator));
        }
        if req.extra.max_facilitator_fee_bps > self.max_fee_bps {
            return Err(BudgetError::Fee {
                asked: req.extra.max_facilitator_fee_bps,
                max: self.max_fee_bps,
            });
        }
        if req.amount > self.max_per_request {
            return Err(BudgetError::PerRequest {
                amount: req.amount,
                max: self.max_per_request,
            });
        }
        // The signed amount is what the payer exposes (the maximum for upto/escrow), so that is
        // what counts against the total until the settlement says otherwise.
        if req.amount > self.remaining() {
            return Err(BudgetError::Total {
                amount: req.amount,
                spent: self.spent,
                max: self.max_total,
            });
        }
        Ok(())
    }

    /// Checks and commits one requirement's amount.
    pub fn commit(&mut self, req: &PaymentRequirements) -> Result<(), BudgetError> {
        self.check(req)?;
        self.spent += req.amount;
        Ok(())
    }

    /// Gives back what was committed but not charged (an upto payment that settled for less, or
    /// one that never settled).
    pub fn release(&mut self, amount: U256) {
        self.spent = self.spent.saturating_sub(amount);
    }

    /// The first requirement that fits, in the provider's order of preference.
    pub fn select<'a>(
        &self,
        offered: &'a [PaymentRequirements],
    ) -> Result<&'a PaymentRequirements, BudgetError> {
        let mut why = Vec::new();
        for req in offered {
            match self.check(req) {
                Ok(()) => return Ok(req),
                Err(e) => why.push(format!("{} on {}: {e}", req.scheme, req.network)),
            }
        }
        Err(BudgetError::NoneAcceptable(if why.is_empty() {
            "none offered".into()
        } else {
            why.join("; ")
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::SettlementExtra;
    use alloy::primitives::{address, B256};

    fn req(scheme: &str, amount: u64) -> PaymentRequirements {
        PaymentRequirements {
            scheme: scheme.into(),
            network: "eip155:31337".into(),
            amount: U256::from(amount),
            asset: address!("1111111111111111111111111111111111111111"),
            pay_to: address!("2222222222222222222222222222222222222222"),
            max_timeout_seconds: 60,
            resource: None,
            description: None,
            mime_type: None,
            extra: SettlementExtra {
                settlement: Address::ZERO,
                permit2: Address::ZERO,
                facilitator: address!("5555555555555555555555555555555555555555"),
                request_hash: B256::ZERO,
                max_facilitator_fee_bps: 100,
                authorization_seconds: None,
                refund_seconds: None,
                name: None,
            },
        }
    }

    #[test]
    fn per_request_and_total_limits() {
        let mut b = Budget::new(U256::from(100u64), U256::from(250u64));
        assert_eq!(
            b.commit(&req("exact", 101)),
            Err(BudgetError::PerRequest {
                amount: U256::from(101u64),
                max: U256::from(100u64)
            })
        );
        b.commit(&req("exact", 100)).unwrap();
        b.commit(&req("upto", 100)).unwrap();
        assert!(matches!(
            b.commit(&req("exact", 51)),
            Err(BudgetError::Total { .. })
        ));
        assert_eq!(
            b.spent,
            U256::from(200u64),
            "a refused payment commits nothing"
        );
        b.commit(&req("exact", 50)).unwrap();
        assert_eq!(b.remaining(), U256::ZERO);
        b.release(U256::from(30u64));
        assert_eq!(b.remaining(), U256::from(30u64));
    }

    #[test]
    fn restrictions_and_selection() {
        let mut b = Budget::new(U256::from(1_000u64), U256::from(10_000u64));
        b.max_fee_bps = 50;
        assert!(matches!(
            b.check(&req("exact", 1)),
            Err(BudgetError::Fee {
                asked: 100,
                max: 50
            })
        ));
        b.max_fee_bps = 100;
        b.assets
            .insert(address!("9999999999999999999999999999999999999999"));
        assert!(matches!(
            b.check(&req("exact", 1)),
            Err(BudgetError::Asset(_))
        ));
        b.assets.clear();
        b.network = Some("eip155:1".into());
        assert!(matches!(
            b.check(&req("exact", 1)),
            Err(BudgetError::Network { .. })
        ));
        b.network = None;
        assert!(matches!(
            b.check(&req("stream", 1)),
            Err(BudgetError::Scheme(_))
        ));
        let offered = vec![req("stream", 1), req("exact", 2_000), req("upto", 500)];
        assert_eq!(b.select(&offered).unwrap().scheme, "upto");
        let err = b.select(&offered[..2]).unwrap_err().to_string();
        assert!(
            err.contains("stream") && err.contains("per-request"),
            "{err}"
        );
    }
}
