// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";

/// @title PaymentTermsHash
/// @notice EIP-712 hashing of the `PaymentTerms` witness that a payer signs inside a Permit2
/// `PermitWitnessTransferFrom`, and the witness type string Permit2 needs to rebuild the full type.
/// @dev Permit2 computes the permit's type hash as
/// `keccak256(abi.encodePacked("PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,", WITNESS_TYPE_STRING))`,
/// so `WITNESS_TYPE_STRING` starts with the witness member (`PaymentTerms witness)`) and then lists the
/// referenced struct types in EIP-712 (alphabetical) order: `PaymentTerms`, then `TokenPermissions`.
library PaymentTermsHash {
    /// @notice EIP-712 type of the witness struct.
    bytes internal constant PAYMENT_TERMS_TYPE =
        "PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)";

    /// @notice `keccak256(PAYMENT_TERMS_TYPE)`.
    bytes32 internal constant PAYMENT_TERMS_TYPEHASH = keccak256(PAYMENT_TERMS_TYPE);

    /// @notice The `witnessTypeString` argument of `permitWitnessTransferFrom`.
    string internal constant WITNESS_TYPE_STRING =
        "PaymentTerms witness)PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)TokenPermissions(address token,uint256 amount)";

    /// @notice EIP-712 `hashStruct` of the witness.
    /// @dev All members are static, so the EIP-712 encoding is the type hash followed by the nine
    /// 32-byte words of the calldata struct, copied as they are. The words are not re-validated here:
    /// a word with dirty padding hashes to something no EIP-712 signer produces, so the signature
    /// check fails, and the fields the contract acts on are read (and validated) by Solidity.
    /// @param terms The witness as signed.
    /// @return result The struct hash passed to Permit2 as `witness`.
    function hash(IX402Settlement.PaymentTerms calldata terms) internal pure returns (bytes32 result) {
        bytes32 typeHash = PAYMENT_TERMS_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), terms, 0x120)
            result := keccak256(ptr, 0x140)
        }
    }

    /// @notice Memory variant of `hash`, for off-chain tooling and tests.
    /// @param terms The witness as signed.
    /// @return The struct hash passed to Permit2 as `witness`.
    function hashMemory(IX402Settlement.PaymentTerms memory terms) internal pure returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_TERMS_TYPEHASH, terms));
    }
}
