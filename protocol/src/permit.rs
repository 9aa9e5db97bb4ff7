//! The payment a payer signs: a Permit2 `PermitWitnessTransferFrom` with `PaymentTerms` as
//! witness, the signed result a facilitator checks and submits, and the id the settlement
//! contract gives it.

use alloy::primitives::{aliases::U48, keccak256, Address, Bytes, B256, U256};
use alloy::signers::{Signer, SignerSync};
use alloy::sol_types::{Eip712Domain, SolValue};

use crate::eip712;
use crate::scheme::PaymentMode;

/// Largest value a `uint48` timestamp field can hold.
const MAX_U48: u64 = (1 << 48) - 1;

/// Basis points in 100 %.
const MAX_BPS: u16 = 10_000;

/// Why a permit could not be built or signed.
#[derive(Debug, thiserror::Error)]
pub enum PermitError {
    /// A field holds a value the settlement contract (or Permit2) would reject.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The offending field, named as in the Solidity struct.
        field: &'static str,
        /// Why the value is rejected and what would be accepted.
        reason: String,
    },
    /// The signer failed (a hardware wallet refused, a remote signer was unreachable, ...).
    #[error("signing failed: {0}")]
    Signer(#[from] alloy::signers::Error),
}

impl PermitError {
    /// A refusal of `field`, saying why.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

/// The witness terms, with plain Rust integers for the timestamps (validated on signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTerms {
    /// Whose tokens move: the signer (EOA) or the EIP-1271 wallet the signature is for. Signed, so
    /// one signature can never be charged to another wallet of the same owner.
    pub payer: Address,
    /// Who receives the payment (net of fees and splits).
    pub payee: Address,
    /// The only address allowed to settle the payment.
    pub facilitator: Address,
    /// Hash of the inference request the payment is for.
    pub request_hash: B256,
    /// Largest facilitator fee the payer accepts, in basis points of the settled amount.
    pub max_facilitator_fee_bps: u16,
    /// Unix time before which the payment cannot settle (0 = immediately).
    pub valid_after: u64,
    /// How the payment may settle.
    pub mode: PaymentMode,
    /// Escrow only: captures stop and the payer may reclaim from this unix time (0 otherwise).
    pub authorization_expiry: u64,
    /// Escrow only: the payee may refund until this unix time (0 otherwise).
    pub refund_expiry: u64,
}

/// Everything a payer signs for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPermit {
    /// Chain the payment settles on (part of Permit2's domain and of the payment id).
    pub chain_id: u64,
    /// Permit2's address (the EIP-712 verifying contract).
    pub permit2: Address,
    /// The settlement contract: Permit2's `spender`, and part of the payment id.
    pub settlement: Address,
    /// The ERC-20 paid with.
    pub token: Address,
    /// The exact amount (mode Exact) or the maximum (Upto, Escrow), in the token's smallest unit.
    pub amount: U256,
    /// Permit2 unordered nonce; each (payer, nonce) settles at most once.
    pub nonce: U256,
    /// Unix time after which Permit2 rejects the signature.
    pub deadline: u64,
    /// The witness.
    pub terms: PaymentTerms,
}

/// A payment signed by its payer, ready for a facilitator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayment {
    /// What was signed.
    pub permit: PaymentPermit,
    /// The signer's address: whose tokens move.
    pub payer: Address,
    /// 65-byte `r || s || v` signature over the EIP-712 hash.
    pub signature: Bytes,
    /// The id the settlement contract will give this payment.
    pub payment_id: B256,
}

/// The id the settlement contract gives the payment `payer` signs with `nonce`:
/// `keccak256(abi.encode(chainId, settlement, payer, nonce))`.
pub fn payment_id(chain_id: u64, settlement: Address, payer: Address, nonce: U256) -> B256 {
    keccak256((U256::from(chain_id), settlement, payer, nonce).abi_encode())
}

fn u48(field: &'static str, value: u64) -> Result<U48, PermitError> {
    if value > MAX_U48 {
        return Err(PermitError::invalid(
            field,
            format!("{value} does not fit in uint48 (max {MAX_U48})"),
        ));
    }
    Ok(U48::from(value))
}

impl PaymentPermit {
    /// Checks what the contract or Permit2 would reject anyway, so the payer learns it before
    /// signing and with the field's name.
    pub fn validate(&self) -> Result<(), PermitError> {
        let t = &self.terms;
        if self.amount.is_zero() {
            return Err(PermitError::invalid(
                "permitted.amount",
                "must be greater than zero",
            ));
        }
        if self.token == Address::ZERO {
            return Err(PermitError::invalid(
                "permitted.token",
                "must not be the zero address",
            ));
        }
        if self.settlement == Address::ZERO {
            return Err(PermitError::invalid(
                "spender",
                "must be the settlement contract, not the zero address",
            ));
        }
        if self.permit2 == Address::ZERO {
            return Err(PermitError::invalid(
                "permit2",
                "must be Permit2's address, not the zero address",
            ));
        }
        if t.payee == Address::ZERO {
            return Err(PermitError::invalid(
                "witness.payee",
                "must not be the zero address",
            ));
        }
        if t.facilitator == Address::ZERO {
            return Err(PermitError::invalid(
                "witness.facilitator",
                "must not be the zero address",
            ));
        }
        if t.max_facilitator_fee_bps > MAX_BPS {
            return Err(PermitError::invalid(
                "witness.maxFacilitatorFeeBps",
                format!("{} is above 10000 (100 %)", t.max_facilitator_fee_bps),
            ));
        }
        if self.deadline == 0 {
            return Err(PermitError::invalid(
                "deadline",
                "must be a unix time in the future, not 0",
            ));
        }
        u48("witness.validAfter", t.valid_after)?;
        u48("witness.authorizationExpiry", t.authorization_expiry)?;
        u48("witness.refundExpiry", t.refund_expiry)?;
        if t.mode == PaymentMode::Escrow {
            if t.authorization_expiry == 0 {
                return Err(PermitError::invalid(
                    "witness.authorizationExpiry",
                    "an escrow payment needs one (unix time)",
                ));
            }
            if t.refund_expiry < t.authorization_expiry {
                return Err(PermitError::invalid(
                    "witness.refundExpiry",
                    format!(
                        "{} is before authorizationExpiry {}",
                        t.refund_expiry, t.authorization_expiry
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Permit2's EIP-712 domain for this chain.
    pub fn domain(&self) -> Eip712Domain {
        eip712::permit2_domain(self.chain_id, self.permit2)
    }

    /// The EIP-712 struct the payer signs.
    pub fn typed_data(&self) -> Result<eip712::PermitWitnessTransferFrom, PermitError> {
        self.validate()?;
        let t = &self.terms;
        Ok(eip712::PermitWitnessTransferFrom {
            permitted: eip712::TokenPermissions {
                token: self.token,
                amount: self.amount,
            },
            spender: self.settlement,
            nonce: self.nonce,
            deadline: U256::from(self.deadline),
            witness: eip712::PaymentTerms {
                payer: t.payer,
                payee: t.payee,
                facilitator: t.facilitator,
                requestHash: t.request_hash,
                maxFacilitatorFeeBps: t.max_facilitator_fee_bps,
                validAfter: u48("witness.validAfter", t.valid_after)?,
                mode: t.mode as u8,
                authorizationExpiry: u48("witness.authorizationExpiry", t.authorization_expiry)?,
                refundExpiry: u48("witness.refundExpiry", t.refund_expiry)?,
            },
        })
    }

    /// The EIP-712 digest the payer signs.
    pub fn signing_hash(&self) -> Result<B256, PermitError> {
        Ok(self.typed_data()?.eip712_signing_hash(&self.domain()))
    }

    /// The id this payment gets: it is charged to `terms.payer`.
    pub fn payment_id(&self) -> B256 {
        payment_id(self.chain_id, self.settlement, self.terms.payer, self.nonce)
    }

    /// Signs with any alloy signer (local key, hardware wallet, remote signer). The payment is
    /// charged to `terms.payer`: the signer itself, or a contract wallet that accepts its signature.
    pub async fn sign<S: Signer + ?Sized>(self, signer: &S) -> Result<SignedPayment, PermitError> {
        let hash = self.signing_hash()?;
        let signature = signer.sign_hash(&hash).await?;
        Ok(self.into_signed(signature))
    }

    /// Signs synchronously (for local keys; used to sign many payments quickly).
    pub fn sign_sync<S: SignerSync + ?Sized>(
        self,
        signer: &S,
    ) -> Result<SignedPayment, PermitError> {
        let hash = self.signing_hash()?;
        let signature = signer.sign_hash_sync(&hash)?;
        Ok(self.into_signed(signature))
    }

    fn into_signed(self, signature: alloy::primitives::Signature) -> SignedPayment {
        SignedPayment {
            payment_id: self.payment_id(),
            payer: self.terms.payer,
            signature: Bytes::copy_from_slice(&signature.as_bytes()),
            permit: self,
        }
    }
}

impl SignedPayment {
    /// The `SignedPayment` argument of `charge`, `chargeBatch` and `authorize`.
    pub fn to_call(
        &self,
    ) -> Result<x402_bindings::settlement::IX402Settlement::SignedPayment, PermitError> {
        let typed = self.permit.typed_data()?;
        Ok(x402_bindings::settlement::IX402Settlement::SignedPayment {
            permit: x402_bindings::ISignatureTransfer::PermitTransferFrom {
                permitted: typed.permitted,
                nonce: typed.nonce,
                deadline: typed.deadline,
            },
            terms: typed.witness,
            signature: self.signature.clone(),
        })
    }

    /// The `EscrowRef` an escrow's later calls (`capture`, `void`, `reclaim`, `refund`,
    /// `escrowOf`) pass: the permit and terms this payment authorized with.
    pub fn escrow_ref(
        &self,
    ) -> Result<x402_bindings::settlement::IX402Settlement::EscrowRef, PermitError> {
        let call = self.to_call()?;
        Ok(x402_bindings::settlement::IX402Settlement::EscrowRef {
            permit: call.permit,
            terms: call.terms,
        })
    }

    /// Recovers the signer from the signature, to check a payment before trusting it.
    pub fn recover_payer(&self) -> Result<Address, PermitError> {
        let hash = self.permit.signing_hash()?;
        let sig = alloy::primitives::Signature::from_raw(&self.signature).map_err(|e| {
            PermitError::invalid("signature", format!("not a 65-byte r||s||v signature: {e}"))
        })?;
        sig.recover_address_from_prehash(&hash).map_err(|e| {
            PermitError::invalid("signature", format!("does not recover to an address: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;
    use alloy::signers::local::PrivateKeySigner;

    fn sample() -> PaymentPermit {
        PaymentPermit {
            chain_id: 31337,
            permit2: address!("000000000022D473030F116dDEE9F6B43aC78BA3"),
            settlement: address!("1111111111111111111111111111111111111111"),
            token: address!("2222222222222222222222222222222222222222"),
            amount: U256::from(1_000_000u64),
            nonce: U256::from(7u64),
            deadline: 2_000_000_000,
            terms: PaymentTerms {
                payer: address!("5555555555555555555555555555555555555555"),
                payee: address!("3333333333333333333333333333333333333333"),
                facilitator: address!("4444444444444444444444444444444444444444"),
                request_hash: keccak256(b"request"),
                max_facilitator_fee_bps: 100,
                valid_after: 0,
                mode: PaymentMode::Exact,
                authorization_expiry: 0,
                refund_expiry: 0,
            },
        }
    }

    #[test]
    fn payment_id_is_abi_encoded_keccak() {
        let p = sample();
        let payer = address!("5555555555555555555555555555555555555555");
        // abi.encode of four static words, laid out by hand.
        let mut words = Vec::with_capacity(128);
        words.extend_from_slice(&U256::from(31337u64).to_be_bytes::<32>());
        words.extend_from_slice(B256::left_padding_from(p.settlement.as_slice()).as_slice());
        words.extend_from_slice(B256::left_padding_from(payer.as_slice()).as_slice());
        words.extend_from_slice(&U256::from(7u64).to_be_bytes::<32>());
        assert_eq!(p.payment_id(), keccak256(&words));
    }

    #[test]
    fn signature_recovers_to_payer() {
        let signer = PrivateKeySigner::random();
        let mut p = sample();
        p.terms.payer = signer.address();
        let signed = p.sign_sync(&signer).unwrap();
        assert_eq!(signed.signature.len(), 65);
        assert_eq!(signed.recover_payer().unwrap(), signer.address());
        assert_eq!(
            signed.payment_id,
            payment_id(
                31337,
                signed.permit.settlement,
                signer.address(),
                U256::from(7u64)
            )
        );
    }

    #[test]
    fn async_and_sync_signing_agree() {
        let signer = PrivateKeySigner::random();
        let sync = sample().sign_sync(&signer).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let asynced = rt.block_on(sample().sign(&signer)).unwrap();
        assert_eq!(sync, asynced);
    }

    #[test]
    fn every_witness_field_changes_the_digest() {
        let base = sample().signing_hash().unwrap();
        let mut variants = Vec::new();
        let mut p = sample();
        p.terms.payer = address!("5555555555555555555555555555555555555556");
        variants.push(("payer", p));
        let mut p = sample();
        p.terms.payee = address!("3333333333333333333333333333333333333334");
        variants.push(("payee", p));
        let mut p = sample();
        p.terms.facilitator = address!("4444444444444444444444444444444444444445");
        variants.push(("facilitator", p));
        let mut p = sample();
        p.terms.request_hash = keccak256(b"other request");
        variants.push(("requestHash", p));
        let mut p = sample();
        p.terms.max_facilitator_fee_bps = 101;
        variants.push(("maxFacilitatorFeeBps", p));
        let mut p = sample();
        p.terms.valid_after = 1;
        variants.push(("validAfter", p));
        let mut p = sample();
        p.terms.mode = PaymentMode::Upto;
        variants.push(("mode", p));
        let mut p = sample();
        p.chain_id = 1;
        variants.push(("chainId", p));
        let mut p = sample();
        p.settlement = address!("1111111111111111111111111111111111111112");
        variants.push(("spender", p));
        for (field, p) in variants {
            assert_ne!(
                p.signing_hash().unwrap(),
                base,
                "{field} is not covered by the signature"
            );
        }
    }

    #[test]
    fn bad_fields_are_named() {
        type Mutation = Box<dyn Fn(&mut PaymentPermit)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("permitted.amount", Box::new(|p| p.amount = U256::ZERO)),
            (
                "witness.maxFacilitatorFeeBps",
                Box::new(|p| p.terms.max_facilitator_fee_bps = 10_001),
            ),
            (
                "witness.validAfter",
                Box::new(|p| p.terms.valid_after = 1 << 48),
            ),
            ("deadline", Box::new(|p| p.deadline = 0)),
            ("witness.payee", Box::new(|p| p.terms.payee = Address::ZERO)),
            (
                "witness.authorizationExpiry",
                Box::new(|p| {
                    p.terms.mode = PaymentMode::Escrow;
                }),
            ),
            (
                "witness.refundExpiry",
                Box::new(|p| {
                    p.terms.mode = PaymentMode::Escrow;
                    p.terms.authorization_expiry = 10;
                    p.terms.refund_expiry = 9;
                }),
            ),
        ];
        for (field, mutate) in cases {
            let mut p = sample();
            mutate(&mut p);
            match p.validate() {
                Err(PermitError::InvalidField { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected an error naming {field}, got {other:?}"),
            }
        }
    }
}
