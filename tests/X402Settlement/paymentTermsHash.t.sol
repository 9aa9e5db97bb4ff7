// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {PaymentTermsHash} from "../../contracts/libraries/PaymentTermsHash.sol";

/// @dev Exposes the library's calldata hashing, the variant the settlement contract uses.
contract PaymentTermsHashHarness {
    function hash(IX402Settlement.PaymentTerms calldata terms) external pure returns (bytes32) {
        return PaymentTermsHash.hash(terms);
    }
}

contract PaymentTermsHashTest is SettlementTestBase {
    PaymentTermsHashHarness internal harness;

    function setUp() public override {
        super.setUp();
        harness = new PaymentTermsHashHarness();
    }

    function test_witnessTypeString_buildsPermit2TypeHash() public pure {
        bytes32 built = keccak256(
            abi.encodePacked(
                "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,",
                PaymentTermsHash.WITNESS_TYPE_STRING
            )
        );
        assertEq(built, PERMIT_WITNESS_TRANSFER_TYPEHASH);
        assertEq(PaymentTermsHash.PAYMENT_TERMS_TYPEHASH, PAYMENT_TERMS_TYPEHASH);
    }

    function testFuzz_hash_matchesEip712Encoding(IX402Settlement.PaymentTerms memory terms) public view {
        bytes32 expected = hashTerms(terms);
        assertEq(harness.hash(terms), expected);
        assertEq(PaymentTermsHash.hashMemory(terms), expected);
    }
}
