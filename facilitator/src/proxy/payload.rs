//! A payment through x402's Permit2 proxies once its payload (`x402_protocol::proxy`) passed the
//! static checks: the digest its payer signed and the proxy call that settles it.

use alloy::dyn_abi::Eip712Domain;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::{SolCall, SolStruct};
use x402_bindings::exact_proxy::{self, x402ExactPermit2Proxy};
use x402_bindings::upto_proxy::{self, x402UptoPermit2Proxy};
use x402_protocol::proxy::{exact_typed, upto_typed};

/// Which of x402's two proxies a payment goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyScheme {
    /// `x402ExactPermit2Proxy`: moves exactly the permitted amount; anyone may submit.
    Exact,
    /// `x402UptoPermit2Proxy`: moves at most the permitted amount; only `witness.facilitator`
    /// may submit.
    Upto,
}

impl ProxyScheme {
    /// The contract's name.
    pub fn contract(self) -> &'static str {
        match self {
            ProxyScheme::Exact => "x402ExactPermit2Proxy",
            ProxyScheme::Upto => "x402UptoPermit2Proxy",
        }
    }
}

/// A proxy payment that passed the static checks.
#[derive(Debug, Clone)]
pub struct ProxyPayment {
    /// Which proxy.
    pub scheme: ProxyScheme,
    /// The proxy's address.
    pub proxy: Address,
    /// The Permit2 the proxy settles through (the signature's `verifyingContract`).
    pub permit2: Address,
    /// `keccak256(abi.encode(chainId, proxy, token, payer, nonce))`: the idempotency key.
    pub payment_id: B256,
    /// `from`.
    pub payer: Address,
    /// `permitted.token`.
    pub token: Address,
    /// `permitted.amount`.
    pub permitted: U256,
    /// Amount this settlement moves: exact the permitted amount; upto the requirements'
    /// amount (at verify equal to the maximum, at settle what the server lowered it to).
    pub amount: U256,
    /// Permit2 nonce.
    pub nonce: U256,
    /// Permit2 deadline.
    pub deadline: U256,
    /// `witness.to`.
    pub to: Address,
    /// Upto: `witness.facilitator`.
    pub facilitator: Option<Address>,
    /// `witness.validAfter`.
    pub valid_after: U256,
    /// The payer's signature.
    pub signature: Bytes,
}

impl ProxyPayment {
    /// The EIP-712 digest the payer signed.
    pub fn digest(&self, chain_id: u64) -> B256 {
        let domain = Eip712Domain::new(
            Some("Permit2".into()),
            None,
            Some(U256::from(chain_id)),
            Some(self.permit2),
            None,
        );
        match (self.scheme, self.facilitator) {
            (ProxyScheme::Upto, Some(facilitator)) => upto_typed::PermitWitnessTransferFrom {
                permitted: upto_typed::TokenPermissions {
                    token: self.token,
                    amount: self.permitted,
                },
                spender: self.proxy,
                nonce: self.nonce,
                deadline: self.deadline,
                witness: upto_typed::Witness {
                    to: self.to,
                    facilitator,
                    validAfter: self.valid_after,
                },
            }
            .eip712_signing_hash(&domain),
            _ => exact_typed::PermitWitnessTransferFrom {
                permitted: exact_typed::TokenPermissions {
                    token: self.token,
                    amount: self.permitted,
                },
                spender: self.proxy,
                nonce: self.nonce,
                deadline: self.deadline,
                witness: exact_typed::Witness {
                    to: self.to,
                    validAfter: self.valid_after,
                },
            }
            .eip712_signing_hash(&domain),
        }
    }

    /// Calldata of the proxy's `settle`: exact `settle(permit, owner, witness, signature)`, upto
    /// `settle(permit, amount, owner, witness, signature)` moving [`ProxyPayment::amount`].
    pub fn settle_call(&self) -> Bytes {
        match self.scheme {
            ProxyScheme::Exact => x402ExactPermit2Proxy::settleCall {
                permit: exact_proxy::ISignatureTransfer::PermitTransferFrom {
                    permitted: exact_proxy::ISignatureTransfer::TokenPermissions {
                        token: self.token,
                        amount: self.permitted,
                    },
                    nonce: self.nonce,
                    deadline: self.deadline,
                },
                owner: self.payer,
                witness: x402ExactPermit2Proxy::Witness {
                    to: self.to,
                    validAfter: self.valid_after,
                },
                signature: self.signature.clone(),
            }
            .abi_encode()
            .into(),
            ProxyScheme::Upto => x402UptoPermit2Proxy::settleCall {
                permit: upto_proxy::ISignatureTransfer::PermitTransferFrom {
                    permitted: upto_proxy::ISignatureTransfer::TokenPermissions {
                        token: self.token,
                        amount: self.permitted,
                    },
                    nonce: self.nonce,
                    deadline: self.deadline,
                },
                amount: self.amount,
                owner: self.payer,
                witness: x402UptoPermit2Proxy::Witness {
                    to: self.to,
                    facilitator: self.facilitator.unwrap_or_default(),
                    validAfter: self.valid_after,
                },
                signature: self.signature.clone(),
            }
            .abi_encode()
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;
    use alloy::sol_types::SolValue;

    fn payment(scheme: ProxyScheme) -> ProxyPayment {
        ProxyPayment {
            scheme,
            proxy: Address::repeat_byte(0x40),
            permit2: Address::repeat_byte(0x22),
            payment_id: B256::ZERO,
            payer: Address::repeat_byte(1),
            token: Address::repeat_byte(2),
            permitted: U256::from(5000u64),
            amount: U256::from(1234u64),
            nonce: U256::from(77u64),
            deadline: U256::from(1_900_000_000u64),
            to: Address::repeat_byte(3),
            facilitator: (scheme == ProxyScheme::Upto).then(|| Address::repeat_byte(4)),
            valid_after: U256::from(10u64),
            signature: Bytes::new(),
        }
    }

    /// The digest Permit2 computes in `permitWitnessTransferFrom`: the type hash of
    /// "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256
    /// deadline," + the proxy's WITNESS_TYPE_STRING, over the witness hash the proxy builds.
    fn permit2_digest(p: &ProxyPayment, chain_id: u64, witness_type_string: &str) -> B256 {
        let stub = "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";
        let type_hash = keccak256(format!("{stub}{witness_type_string}"));
        let token_permissions = keccak256(
            (
                keccak256("TokenPermissions(address token,uint256 amount)"),
                p.token,
                p.permitted,
            )
                .abi_encode(),
        );
        let witness = match p.facilitator {
            Some(f) => keccak256(
                (
                    keccak256("Witness(address to,address facilitator,uint256 validAfter)"),
                    p.to,
                    f,
                    p.valid_after,
                )
                    .abi_encode(),
            ),
            None => keccak256(
                (
                    keccak256("Witness(address to,uint256 validAfter)"),
                    p.to,
                    p.valid_after,
                )
                    .abi_encode(),
            ),
        };
        let struct_hash = keccak256(
            (
                type_hash,
                token_permissions,
                p.proxy,
                p.nonce,
                p.deadline,
                witness,
            )
                .abi_encode(),
        );
        let separator = keccak256(
            (
                keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak256("Permit2"),
                U256::from(chain_id),
                p.permit2,
            )
                .abi_encode(),
        );
        let mut pre = vec![0x19, 0x01];
        pre.extend_from_slice(separator.as_slice());
        pre.extend_from_slice(struct_hash.as_slice());
        keccak256(&pre)
    }

    #[test]
    fn digests_are_what_permit2_checks_for_each_proxy() {
        let exact = payment(ProxyScheme::Exact);
        assert_eq!(
            exact.digest(8453),
            permit2_digest(
                &exact,
                8453,
                "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)"
            )
        );
        let upto = payment(ProxyScheme::Upto);
        assert_eq!(
            upto.digest(8453),
            permit2_digest(
                &upto,
                8453,
                "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)"
            )
        );
        assert_ne!(exact.digest(8453), upto.digest(8453));
    }

    #[test]
    fn upto_settles_the_lowered_amount_exact_the_permitted_one() {
        let upto = payment(ProxyScheme::Upto);
        let call = x402UptoPermit2Proxy::settleCall::abi_decode(&upto.settle_call()).unwrap();
        assert_eq!(call.amount, U256::from(1234u64));
        assert_eq!(call.permit.permitted.amount, U256::from(5000u64));
        assert_eq!(call.witness.facilitator, Address::repeat_byte(4));
        let exact = payment(ProxyScheme::Exact);
        let call = x402ExactPermit2Proxy::settleCall::abi_decode(&exact.settle_call()).unwrap();
        assert_eq!(call.permit.permitted.amount, U256::from(5000u64));
        assert_eq!(call.owner, Address::repeat_byte(1));
    }
}
