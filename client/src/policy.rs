//! The payer's on-chain spending policy: set it with a transaction from the payer, or have the
//! payer sign it ([`crate::permit::policy`]) and let anyone (a facilitator, a relayer) submit it.
//!
//! The contract enforces the policy on every settlement, so even a facilitator that ignores the
//! local [`crate::budget`] cannot charge beyond it.

use alloy::network::Ethereum;
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::Provider;
use x402_bindings::X402Settlement;

use crate::permit::{PermitError, PolicySignature, SpendingPolicyPermit};

/// A payer's budget for one token, as the contract stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Largest single settlement (0 = no limit).
    pub max_per_payment: u128,
    /// Most spent over any `period` seconds (0 = no limit).
    pub max_per_period: u128,
    /// Rolling period in seconds (required with `max_per_period`, and only with it).
    pub period: u32,
    /// Seconds a later *loosening* of this policy waits before it applies (tightening applies at
    /// once), at most [`MAX_LOOSEN_DELAY`]: a leaked agent key cannot lift its own budget at once.
    pub loosen_delay: u32,
}

/// The contract's `MAX_LOOSEN_DELAY` (30 days).
pub const MAX_LOOSEN_DELAY: u32 = 30 * 24 * 3600;

impl Policy {
    /// Rejects what the contract would reject with `InvalidPolicy`, naming the field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_per_period != 0 && self.period == 0 {
            return Err(PolicyError::Invalid {
                field: "period",
                reason: "must be non-zero when maxPerPeriod is set".into(),
            });
        }
        if self.max_per_period == 0 && self.period != 0 {
            return Err(PolicyError::Invalid {
                field: "period",
                reason: "must be 0 when maxPerPeriod is 0".into(),
            });
        }
        if self.loosen_delay > MAX_LOOSEN_DELAY {
            return Err(PolicyError::Invalid {
                field: "loosenDelay",
                reason: format!(
                    "{} s exceeds the contract's maximum of {MAX_LOOSEN_DELAY} s",
                    self.loosen_delay
                ),
            });
        }
        if self.max_per_payment == 0 && self.max_per_period == 0 && self.loosen_delay != 0 {
            return Err(PolicyError::Invalid {
                field: "loosenDelay",
                reason: "must be 0 for a policy without limits".into(),
            });
        }
        Ok(())
    }

    fn to_call(self) -> x402_bindings::settlement::IX402Settlement::SpendingPolicy {
        x402_bindings::settlement::IX402Settlement::SpendingPolicy {
            maxPerPayment: self.max_per_payment,
            maxPerPeriod: self.max_per_period,
            period: self.period,
            loosenDelay: self.loosen_delay,
        }
    }
}

/// Why a policy could not be set or read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A field the contract would reject.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Signing failed.
    #[error(transparent)]
    Permit(#[from] PermitError),
    /// The chain call or transaction failed (revert data decoded where known).
    #[error("{action} failed: {source}")]
    Chain {
        /// What was attempted.
        action: &'static str,
        /// The contract or transport error.
        source: Box<alloy::contract::Error>,
    },
    /// The transaction was mined but reverted.
    #[error("{action} transaction {tx} reverted")]
    Reverted {
        /// What was attempted.
        action: &'static str,
        /// Its hash.
        tx: TxHash,
    },
    /// Waiting for the receipt failed.
    #[error("waiting for the {action} receipt failed: {message}")]
    Receipt {
        /// What was attempted.
        action: &'static str,
        /// Why.
        message: String,
    },
}

/// Polls for a receipt. alloy's block-watching `get_receipt` can miss a transaction mined
/// before it started watching on an automining node and then wait for a block that never comes.
async fn wait_receipt<P: Provider<Ethereum>>(
    provider: &P,
    tx: TxHash,
    action: &'static str,
) -> Result<alloy::rpc::types::TransactionReceipt, PolicyError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        match provider.get_transaction_receipt(tx).await {
            Ok(Some(r)) => return Ok(r),
            Ok(None) => {}
            Err(e) => {
                return Err(PolicyError::Receipt {
                    action,
                    message: e.to_string(),
                })
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(PolicyError::Receipt {
                action,
                message: format!("{tx} not mined within 300 s"),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn chain(action: &'static str) -> impl FnOnce(alloy::contract::Error) -> PolicyError {
    move |source| PolicyError::Chain {
        action,
        source: Box::new(source),
    }
}

/// Sets the policy with a transaction sent by the provider's wallet (which must be the payer),
/// and waits until it is mined.
pub async fn set_policy<P: Provider<Ethereum>>(
    provider: P,
    settlement: Address,
    token: Address,
    policy: Policy,
) -> Result<TxHash, PolicyError> {
    policy.validate()?;
    let contract = X402Settlement::new(settlement, provider);
    let pending = contract
        .setSpendingPolicy(token, policy.to_call())
        .send()
        .await
        .map_err(chain("setSpendingPolicy"))?;
    let receipt =
        wait_receipt(contract.provider(), *pending.tx_hash(), "setSpendingPolicy").await?;
    if !receipt.status() {
        return Err(PolicyError::Reverted {
            action: "setSpendingPolicy",
            tx: receipt.transaction_hash,
        });
    }
    Ok(receipt.transaction_hash)
}

/// Builds the policy permit for `payer`, reading its current `policyNonces` from the chain.
pub async fn policy_permit<P: Provider<Ethereum>>(
    provider: P,
    settlement: Address,
    payer: Address,
    token: Address,
    policy: Policy,
    deadline: u64,
) -> Result<SpendingPolicyPermit, PolicyError> {
    policy.validate()?;
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| chain("eth_chainId")(alloy::contract::Error::TransportError(e)))?;
    let contract = X402Settlement::new(settlement, provider);
    let nonce: U256 = contract
        .policyNonces(payer)
        .call()
        .await
        .map_err(chain("policyNonces"))?;
    Ok(SpendingPolicyPermit {
        chain_id,
        settlement,
        payer,
        token,
        max_per_payment: policy.max_per_payment,
        max_per_period: policy.max_per_period,
        period: policy.period,
        loosen_delay: policy.loosen_delay,
        nonce,
        deadline,
    })
}

/// Submits a payer's signed policy from the provider's wallet (any account) and waits for it.
pub async fn submit_policy_signature<P: Provider<Ethereum>>(
    provider: P,
    signed: &PolicySignature,
) -> Result<TxHash, PolicyError> {
    let p = &signed.permit;
    let contract = X402Settlement::new(p.settlement, provider);
    let pending = contract
        .setSpendingPolicyBySig(
            p.payer,
            p.token,
            p.policy(),
            U256::from(p.deadline),
            signed.signature.clone(),
        )
        .send()
        .await
        .map_err(chain("setSpendingPolicyBySig"))?;
    let receipt = wait_receipt(
        contract.provider(),
        *pending.tx_hash(),
        "setSpendingPolicyBySig",
    )
    .await?;
    if !receipt.status() {
        return Err(PolicyError::Reverted {
            action: "setSpendingPolicyBySig",
            tx: receipt.transaction_hash,
        });
    }
    Ok(receipt.transaction_hash)
}

/// How much `payer` may still settle in `token` right now under its policy.
pub async fn remaining_budget<P: Provider<Ethereum>>(
    provider: P,
    settlement: Address,
    payer: Address,
    token: Address,
) -> Result<U256, PolicyError> {
    X402Settlement::new(settlement, provider)
        .remainingBudget(payer, token)
        .call()
        .await
        .map_err(chain("remainingBudget"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_is_required_with_a_period_limit() {
        let p = Policy {
            max_per_payment: 0,
            max_per_period: 10,
            period: 0,
            loosen_delay: 0,
        };
        assert!(matches!(
            p.validate(),
            Err(PolicyError::Invalid {
                field: "period",
                ..
            })
        ));
        assert!(Policy { period: 60, ..p }.validate().is_ok());
        let orphan = Policy {
            max_per_payment: 5,
            max_per_period: 0,
            period: 60,
            loosen_delay: 0,
        };
        assert!(matches!(
            orphan.validate(),
            Err(PolicyError::Invalid {
                field: "period",
                ..
            })
        ));
        assert!(
            Policy::default().validate().is_ok(),
            "all zero removes the policy"
        );
    }

    #[test]
    fn loosen_delay_is_bounded_and_needs_a_limit() {
        let p = Policy {
            max_per_payment: 5,
            max_per_period: 0,
            period: 0,
            loosen_delay: MAX_LOOSEN_DELAY,
        };
        assert!(p.validate().is_ok());
        assert!(matches!(
            Policy {
                loosen_delay: MAX_LOOSEN_DELAY + 1,
                ..p
            }
            .validate(),
            Err(PolicyError::Invalid {
                field: "loosenDelay",
                ..
            })
        ));
        assert!(matches!(
            Policy {
                max_per_payment: 0,
                ..p
            }
            .validate(),
            Err(PolicyError::Invalid {
                field: "loosenDelay",
                ..
            })
        ));
    }
}
