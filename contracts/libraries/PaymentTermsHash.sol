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
        "PaymentTerms(address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)";

    /// @notice `keccak256(PAYMENT_TERMS_TYPE)`.
    bytes32 internal constant PAYMENT_TERMS_TYPEHASH = keccak256(PAYMENT_TERMS_TYPE);

    /// @notice The `witnessTypeString` argument of `permitWitnessTransferFrom`.
    string internal constant WITNESS_TYPE_STRING =
        "PaymentTerms witness)PaymentTerms(address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)TokenPermissions(address token,uint256 amount)";

    /// @notice EIP-712 `hashStruct` of the witness.
    /// @dev All members are static, so the encoding is the type hash followed by the eight members,
    /// each left-padded to 32 bytes, exactly as `abi.encode` lays them out.
    /// @param terms The witness as signed.
    /// @return The struct hash passed to Permit2 as `witness`.
    function hash(IX402Settlement.PaymentTerms calldata terms) internal pure returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_TERMS_TYPEHASH, terms));
    }

    /// @notice Memory variant of `hash`, for off-chain tooling and tests.
    /// @param terms The witness as signed.
    /// @return The struct hash passed to Permit2 as `witness`.
    function hashMemory(IX402Settlement.PaymentTerms memory terms) internal pure returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_TERMS_TYPEHASH, terms));
    }
}
