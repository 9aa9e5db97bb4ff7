//! The EIP-712 structs a payer signs, with the Solidity interface as their source.
//!
//! `PaymentTerms` and `TokenPermissions` are the types `sol!` generates from the settlement
//! contract's ABI (`x402-bindings`), so their fields and EIP-712 type strings come from the
//! compiled contract and are typed nowhere in Rust. Permit2's `PermitWitnessTransferFrom` with
//! `PaymentTerms` as witness is not in any ABI (Permit2 takes the witness as a hash plus a type
//! string), so [`PermitWitnessTransferFrom`] builds its type and hash from those two generated
//! types, exactly as Permit2 does on chain. The tests hold the result to the interface's NatSpec
//! and to the constants of `contracts/libraries/PaymentTermsHash.sol`.
//!
//! The two structs hashed but never passed to the contract as a struct (`SetSpendingPolicy`, the
//! evidence's `InferenceEvidence`) are declared here once.

use std::sync::LazyLock;

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::{Eip712Domain, SolStruct, SolValue};

/// The settlement contract's witness: everything the payer agrees to besides token, amount,
/// nonce and deadline (generated from the contract's ABI).
pub use x402_bindings::settlement::IX402Settlement::PaymentTerms;
/// Permit2's `TokenPermissions`: which token and how much (generated from the contract's ABI).
pub use x402_bindings::ISignatureTransfer::TokenPermissions;

alloy::sol! {
    /// What a payer signs, under the settlement contract's domain, to set its spending policy.
    #[derive(Debug, PartialEq, Eq)]
    struct SetSpendingPolicy {
        address payer;
        address token;
        uint128 maxPerPayment;
        uint128 maxPerPeriod;
        uint32 period;
        uint32 loosenDelay;
        uint256 nonce;
        uint256 deadline;
    }

    /// The evidence of one inference, hashed as an EIP-712 struct.
    #[derive(Debug, PartialEq, Eq)]
    struct InferenceEvidence {
        bytes32 requestHash;
        bytes32 responseHash;
        string modelId;
        bytes attestation;
    }
}

/// What Permit2 writes before the witness type string in `permitWitnessTransferFrom`.
const PERMIT_WITNESS_STUB: &str =
    "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";

static WITNESS_TYPE_STRING: LazyLock<String> = LazyLock::new(|| {
    // Referenced structs follow in EIP-712 (alphabetical) order: PaymentTerms, TokenPermissions.
    format!(
        "PaymentTerms witness){}{}",
        PaymentTerms::eip712_encode_type(),
        TokenPermissions::eip712_encode_type()
    )
});

static PERMIT_TYPE_HASH: LazyLock<B256> =
    LazyLock::new(|| keccak256(PermitWitnessTransferFrom::eip712_encode_type()));

/// The witness type string the settlement contract passes to Permit2's
/// `permitWitnessTransferFrom` (Permit2 prepends
/// `PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,`).
pub fn witness_type_string() -> &'static str {
    &WITNESS_TYPE_STRING
}

/// Permit2's `PermitWitnessTransferFrom` with the settlement contract's `PaymentTerms` as
/// witness: what a payer signs under Permit2's domain; `spender` is the settlement contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitWitnessTransferFrom {
    /// Token and amount (exact amount, or the maximum).
    pub permitted: TokenPermissions,
    /// The settlement contract.
    pub spender: Address,
    /// Permit2 unordered nonce.
    pub nonce: U256,
    /// Unix time after which Permit2 rejects the signature.
    pub deadline: U256,
    /// The payment terms.
    pub witness: PaymentTerms,
}

impl PermitWitnessTransferFrom {
    /// The EIP-712 `encodeType`, as Permit2 assembles it from the witness type string.
    pub fn eip712_encode_type() -> String {
        format!("{PERMIT_WITNESS_STUB}{}", witness_type_string())
    }

    /// EIP-712 `hashStruct`: what Permit2 computes in `permitWitnessTransferFrom`.
    pub fn eip712_hash_struct(&self) -> B256 {
        keccak256(
            (
                *PERMIT_TYPE_HASH,
                self.permitted.eip712_hash_struct(),
                self.spender,
                self.nonce,
                self.deadline,
                self.witness.eip712_hash_struct(),
            )
                .abi_encode(),
        )
    }

    /// The digest the payer signs: `keccak256(0x1901 || domainSeparator || hashStruct)`.
    pub fn eip712_signing_hash(&self, domain: &Eip712Domain) -> B256 {
        let mut pre = [0u8; 66];
        pre[..2].copy_from_slice(&[0x19, 0x01]);
        pre[2..34].copy_from_slice(domain.separator().as_slice());
        pre[34..].copy_from_slice(self.eip712_hash_struct().as_slice());
        keccak256(pre)
    }
}

/// Permit2's EIP-712 domain: name "Permit2", no version, the chain id and Permit2's address.
pub fn permit2_domain(chain_id: u64, permit2: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some("Permit2".into()),
        None,
        Some(U256::from(chain_id)),
        Some(permit2),
        None,
    )
}

/// The settlement contract's EIP-712 domain: name "X402Settlement", version "1".
pub fn settlement_domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some("X402Settlement".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(settlement),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;
    use alloy::primitives::aliases::U48;

    /// The interface file is the contract between the team: its NatSpec lists the signed types.
    const INTERFACE: &str = include_str!("../../contracts/interfaces/IX402Settlement.sol");

    /// Returns the type declaration starting with `name(` that the interface NatSpec documents.
    fn documented(name: &str) -> String {
        let needle = format!("{name}(");
        INTERFACE
            .lines()
            .map(|l| l.trim_start_matches([' ', '/']).trim().trim_matches('`'))
            .find(|l| l.starts_with(&needle))
            .unwrap_or_else(|| panic!("IX402Settlement.sol documents no {name}(...) type"))
            .to_string()
    }

    /// The Solidity string constant `name` in `file` (a single-line `"..."` literal).
    fn solidity_constant(file: &str, name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let start = text
            .find(&format!("{name} ="))
            .unwrap_or_else(|| panic!("{file} defines no {name}"));
        let rest = &text[start..];
        let open = rest.find('"').expect("a string literal") + 1;
        let close = open + rest[open..].find('"').expect("a closing quote");
        rest[open..close].to_string()
    }

    #[test]
    fn permit_type_matches_interface_doc() {
        let want = format!(
            "{}{}{}",
            documented("PermitWitnessTransferFrom"),
            documented("PaymentTerms"),
            documented("TokenPermissions")
        );
        assert_eq!(PermitWitnessTransferFrom::eip712_encode_type(), want);
    }

    #[test]
    fn witness_strings_match_the_solidity_constants() {
        let lib = "contracts/libraries/PaymentTermsHash.sol";
        assert_eq!(
            solidity_constant(lib, "WITNESS_TYPE_STRING"),
            witness_type_string()
        );
        assert_eq!(
            solidity_constant(lib, "PAYMENT_TERMS_TYPE"),
            PaymentTerms::eip712_encode_type()
        );
    }

    #[test]
    fn policy_type_matches_interface_doc() {
        assert_eq!(
            SetSpendingPolicy::eip712_encode_type(),
            documented("SetSpendingPolicy")
        );
    }

    /// The digest as Permit2 computes it on chain, word by word from the Solidity strings, with
    /// nothing of the Rust types but their field values.
    #[test]
    fn signing_hash_is_the_digest_permit2_checks() {
        let lib = "contracts/libraries/PaymentTermsHash.sol";
        let terms = PaymentTerms {
            payer: address!("5555555555555555555555555555555555555555"),
            payee: address!("3333333333333333333333333333333333333333"),
            facilitator: address!("4444444444444444444444444444444444444444"),
            requestHash: keccak256(b"request"),
            maxFacilitatorFeeBps: 100,
            validAfter: U48::from(7u64),
            mode: 2,
            authorizationExpiry: U48::from(1_900_000_000u64),
            refundExpiry: U48::from(1_900_000_100u64),
        };
        let permit = PermitWitnessTransferFrom {
            permitted: TokenPermissions {
                token: address!("2222222222222222222222222222222222222222"),
                amount: U256::from(1_000_000u64),
            },
            spender: address!("1111111111111111111111111111111111111111"),
            nonce: U256::from(9u64),
            deadline: U256::from(2_000_000_000u64),
            witness: terms,
        };
        let terms_hash = keccak256(
            (
                keccak256(solidity_constant(lib, "PAYMENT_TERMS_TYPE")),
                address!("5555555555555555555555555555555555555555"),
                address!("3333333333333333333333333333333333333333"),
                address!("4444444444444444444444444444444444444444"),
                keccak256(b"request"),
                U256::from(100u64),
                U256::from(7u64),
                U256::from(2u64),
                U256::from(1_900_000_000u64),
                U256::from(1_900_000_100u64),
            )
                .abi_encode(),
        );
        let permitted_hash = keccak256(
            (
                keccak256("TokenPermissions(address token,uint256 amount)"),
                address!("2222222222222222222222222222222222222222"),
                U256::from(1_000_000u64),
            )
                .abi_encode(),
        );
        let type_hash = keccak256(format!(
            "{PERMIT_WITNESS_STUB}{}",
            solidity_constant(lib, "WITNESS_TYPE_STRING")
        ));
        let struct_hash = keccak256(
            (
                type_hash,
                permitted_hash,
                address!("1111111111111111111111111111111111111111"),
                U256::from(9u64),
                U256::from(2_000_000_000u64),
                terms_hash,
            )
                .abi_encode(),
        );
        let permit2 = address!("000000000022D473030F116dDEE9F6B43aC78BA3");
        let separator = keccak256(
            (
                keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak256("Permit2"),
                U256::from(8453u64),
                permit2,
            )
                .abi_encode(),
        );
        let mut pre = vec![0x19, 0x01];
        pre.extend_from_slice(separator.as_slice());
        pre.extend_from_slice(struct_hash.as_slice());
        assert_eq!(permit.eip712_hash_struct(), struct_hash);
        assert_eq!(
            permit.eip712_signing_hash(&permit2_domain(8453, permit2)),
            keccak256(&pre)
        );
    }
}
