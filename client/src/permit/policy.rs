//! A spending policy signed by the payer, for `setSpendingPolicyBySig`.

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::signers::{Signer, SignerSync};
use alloy::sol_types::{Eip712Domain, SolStruct};

use x402_protocol::eip712;
use x402_protocol::PermitError;

/// The budget a payer binds itself to, and the signature parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendingPolicyPermit {
    /// Chain of the settlement contract.
    pub chain_id: u64,
    /// The settlement contract (the EIP-712 verifying contract).
    pub settlement: Address,
    /// The payer whose policy changes (must be the signer).
    pub payer: Address,
    /// The payment token the budget is counted in.
    pub token: Address,
    /// Largest single settlement (0 = no per-payment limit).
    pub max_per_payment: u128,
    /// Most the payer spends over any `period` seconds (0 = no period limit).
    pub max_per_period: u128,
    /// Length of the rolling period in seconds (required when `max_per_period` is set).
    pub period: u32,
    /// Seconds a later loosening waits before it applies (0 = none; at most 30 days).
    pub loosen_delay: u32,
    /// The payer's current `policyNonces(payer)`.
    pub nonce: U256,
    /// Unix time after which the signature is rejected.
    pub deadline: u64,
}

/// A signed policy: the arguments `setSpendingPolicyBySig` needs besides the policy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySignature {
    /// What was signed.
    pub permit: SpendingPolicyPermit,
    /// 65-byte `r || s || v` signature.
    pub signature: Bytes,
}

impl SpendingPolicyPermit {
    /// Rejects a policy the contract would reject with `InvalidPolicy`, naming the field.
    pub fn validate(&self) -> Result<(), PermitError> {
        if self.payer == Address::ZERO {
            return Err(PermitError::invalid(
                "payer",
                "must not be the zero address",
            ));
        }
        if self.token == Address::ZERO {
            return Err(PermitError::invalid(
                "token",
                "must not be the zero address",
            ));
        }
        if self.max_per_period != 0 && self.period == 0 {
            return Err(PermitError::invalid(
                "period",
                "must be non-zero when maxPerPeriod is set",
            ));
        }
        if self.deadline == 0 {
            return Err(PermitError::invalid(
                "deadline",
                "must be a unix time in the future, not 0",
            ));
        }
        Ok(())
    }

    /// The settlement contract's domain.
    pub fn domain(&self) -> Eip712Domain {
        eip712::settlement_domain(self.chain_id, self.settlement)
    }

    /// The EIP-712 struct signed.
    pub fn typed_data(&self) -> Result<eip712::SetSpendingPolicy, PermitError> {
        self.validate()?;
        Ok(eip712::SetSpendingPolicy {
            payer: self.payer,
            token: self.token,
            maxPerPayment: self.max_per_payment,
            maxPerPeriod: self.max_per_period,
            period: self.period,
            loosenDelay: self.loosen_delay,
            nonce: self.nonce,
            deadline: U256::from(self.deadline),
        })
    }

    /// The digest signed.
    pub fn signing_hash(&self) -> Result<B256, PermitError> {
        Ok(self.typed_data()?.eip712_signing_hash(&self.domain()))
    }

    /// Signs with any alloy signer; the signer must be `payer`.
    pub async fn sign<S: Signer + ?Sized>(
        self,
        signer: &S,
    ) -> Result<PolicySignature, PermitError> {
        self.check_signer(signer.address())?;
        let sig = signer.sign_hash(&self.signing_hash()?).await?;
        Ok(PolicySignature {
            permit: self,
            signature: Bytes::copy_from_slice(&sig.as_bytes()),
        })
    }

    /// Signs synchronously with a local key whose address is `signer_address`.
    pub fn sign_sync<S: SignerSync + ?Sized>(
        self,
        signer: &S,
        signer_address: Address,
    ) -> Result<PolicySignature, PermitError> {
        self.check_signer(signer_address)?;
        let sig = signer.sign_hash_sync(&self.signing_hash()?)?;
        Ok(PolicySignature {
            permit: self,
            signature: Bytes::copy_from_slice(&sig.as_bytes()),
        })
    }

    fn check_signer(&self, signer: Address) -> Result<(), PermitError> {
        if signer != self.payer {
            return Err(PermitError::invalid(
                "payer",
                format!(
                    "{} differs from the signer {signer}: only the payer can sign its policy",
                    self.payer
                ),
            ));
        }
        Ok(())
    }

    /// The `SpendingPolicy` struct argument of `setSpendingPolicyBySig`.
    pub fn policy(&self) -> x402_bindings::settlement::IX402Settlement::SpendingPolicy {
        x402_bindings::settlement::IX402Settlement::SpendingPolicy {
            maxPerPayment: self.max_per_payment,
            maxPerPeriod: self.max_per_period,
            period: self.period,
            loosenDelay: self.loosen_delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;
    use alloy::signers::local::PrivateKeySigner;

    fn sample(payer: Address) -> SpendingPolicyPermit {
        SpendingPolicyPermit {
            chain_id: 31337,
            settlement: address!("1111111111111111111111111111111111111111"),
            payer,
            token: address!("2222222222222222222222222222222222222222"),
            max_per_payment: 5,
            max_per_period: 50,
            period: 3600,
            loosen_delay: 600,
            nonce: U256::ZERO,
            deadline: 2_000_000_000,
        }
    }

    #[test]
    fn signs_and_recovers() {
        let signer = PrivateKeySigner::random();
        let signed = sample(signer.address())
            .sign_sync(&signer, signer.address())
            .unwrap();
        let sig = alloy::primitives::Signature::from_raw(&signed.signature).unwrap();
        let hash = signed.permit.signing_hash().unwrap();
        assert_eq!(
            sig.recover_address_from_prehash(&hash).unwrap(),
            signer.address()
        );
    }

    #[test]
    fn wrong_signer_and_bad_period_are_named() {
        let signer = PrivateKeySigner::random();
        let other = address!("9999999999999999999999999999999999999999");
        match sample(other).sign_sync(&signer, signer.address()) {
            Err(PermitError::InvalidField { field: "payer", .. }) => {}
            other => panic!("expected payer error, got {other:?}"),
        }
        let mut p = sample(signer.address());
        p.period = 0;
        match p.validate() {
            Err(PermitError::InvalidField {
                field: "period", ..
            }) => {}
            other => panic!("expected period error, got {other:?}"),
        }
    }
}
