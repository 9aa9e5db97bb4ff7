//! The EIP-712 structs exactly as `IX402Settlement.sol` documents them.
//!
//! alloy derives each struct's `encodeType` from these declarations (referenced structs sorted by
//! name, as EIP-712 requires), so the type strings below are not typed by hand anywhere else; the
//! unit tests compare them with the interface's NatSpec.

use alloy::sol;

sol! {
    /// Permit2's `TokenPermissions`: which token and how much (exact amount or maximum).
    #[derive(Debug, PartialEq, Eq)]
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    /// The settlement contract's witness: everything the payer agrees to besides token, amount,
    /// nonce and deadline.
    #[derive(Debug, PartialEq, Eq)]
    struct PaymentTerms {
        address payer;
        address payee;
        address facilitator;
        bytes32 requestHash;
        uint16 maxFacilitatorFeeBps;
        uint48 validAfter;
        uint8 mode;
        uint48 authorizationExpiry;
        uint48 refundExpiry;
    }

    /// What the payer signs under Permit2's domain; `spender` is the settlement contract.
    #[derive(Debug, PartialEq, Eq)]
    struct PermitWitnessTransferFrom {
        TokenPermissions permitted;
        address spender;
        uint256 nonce;
        uint256 deadline;
        PaymentTerms witness;
    }

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

    /// The evidence of one inference, hashed as an EIP-712 struct (see [`super::evidence`]).
    #[derive(Debug, PartialEq, Eq)]
    struct InferenceEvidence {
        bytes32 requestHash;
        bytes32 responseHash;
        string modelId;
        bytes attestation;
    }
}

/// The witness type string the settlement contract passes to Permit2's
/// `permitWitnessTransferFrom`: Permit2 prepends
/// `PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,`.
pub const WITNESS_TYPE_STRING: &str = concat!(
    "PaymentTerms witness)",
    "PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,",
    "uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)",
    "TokenPermissions(address token,uint256 amount)"
);

/// Permit2's EIP-712 domain: name "Permit2", no version, the chain id and Permit2's address.
pub fn permit2_domain(
    chain_id: u64,
    permit2: alloy::primitives::Address,
) -> alloy::sol_types::Eip712Domain {
    alloy::sol_types::Eip712Domain::new(
        Some("Permit2".into()),
        None,
        Some(alloy::primitives::U256::from(chain_id)),
        Some(permit2),
        None,
    )
}

/// The settlement contract's EIP-712 domain: name "X402Settlement", version "1".
pub fn settlement_domain(
    chain_id: u64,
    settlement: alloy::primitives::Address,
) -> alloy::sol_types::Eip712Domain {
    alloy::sol_types::Eip712Domain::new(
        Some("X402Settlement".into()),
        Some("1".into()),
        Some(alloy::primitives::U256::from(chain_id)),
        Some(settlement),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;
    use alloy::sol_types::SolStruct;

    /// The interface file is the contract between the team: its NatSpec lists the signed types.
    const INTERFACE: &str = include_str!("../../../contracts/interfaces/IX402Settlement.sol");

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
    fn witness_type_string_is_the_tail_permit2_appends() {
        let full = PermitWitnessTransferFrom::eip712_encode_type();
        let stub = "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";
        assert_eq!(format!("{stub}{WITNESS_TYPE_STRING}"), full);
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
    fn witness_strings_match_the_solidity_constants() {
        let lib = "contracts/libraries/PaymentTermsHash.sol";
        assert_eq!(
            solidity_constant(lib, "WITNESS_TYPE_STRING"),
            WITNESS_TYPE_STRING
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

    #[test]
    fn payment_terms_type_hash_is_keccak_of_its_type() {
        let ty = documented("PaymentTerms");
        let want = keccak256(ty.as_bytes());
        // PaymentTerms references no other struct, so its hash covers only its own type.
        assert_eq!(PaymentTerms::eip712_encode_type(), ty);
        assert_eq!(
            keccak256(PaymentTerms::eip712_encode_type().as_bytes()),
            want,
            "PaymentTerms type hash"
        );
    }
}
