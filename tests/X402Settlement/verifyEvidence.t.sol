// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract VerifyEvidenceTest is SettlementTestBase {
    /// Settles `count` payments from distinct payers in one batch; returns their leaves.
    function settleBatch(uint256 count)
        internal
        returns (uint256 batchId, bytes32[] memory ids, bytes32[] memory leaves)
    {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](count);
        ids = new bytes32[](count);
        leaves = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            (address who, uint256 key) = makeAddrAndKey(string.concat("payer ", vm.toString(i)));
            fundPayer(who, AMOUNT);
            items[i] = makeBatchItem(
                makePayment(key, defaultPermit(AMOUNT, 0), defaultTerms(who, MODE_EXACT)), AMOUNT
            );
            items[i].evidenceHash = keccak256(abi.encode("evidence", i));
            ids[i] = paymentIdFor(address(settlement), who, 0);
            leaves[i] = leafFor(ids[i], items[i].evidenceHash);
        }
        vm.prank(facilitator);
        (batchId,) = settlement.chargeBatch(items, true, ITEM_GAS);
    }

    function test_evidenceLeaf_matchesDocumentedFormula() public view {
        bytes32 id = keccak256("id");
        assertEq(settlement.evidenceLeaf(id, EVIDENCE_HASH), leafFor(id, EVIDENCE_HASH));
    }

    function test_verifyEvidence_singleLeafRootIsLeaf() public {
        (uint256 batchId, bytes32[] memory ids, bytes32[] memory leaves) = settleBatch(1);
        assertEq(settlement.evidenceRootOf(batchId), leaves[0]);
        assertTrue(
            settlement.verifyEvidence(batchId, ids[0], keccak256(abi.encode("evidence", 0)), new bytes32[](0))
        );
    }

    /// Five leaves: the fifth is carried up twice unchanged, so its proof has a single element.
    function test_verifyEvidence_oddLeafCarriedUp() public {
        (uint256 batchId, bytes32[] memory ids, bytes32[] memory leaves) = settleBatch(5);
        bytes32 left = hashPair(hashPair(leaves[0], leaves[1]), hashPair(leaves[2], leaves[3]));
        bytes32 root = hashPair(left, leaves[4]);
        assertEq(settlement.evidenceRootOf(batchId), root);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = left;
        assertTrue(settlement.verifyEvidence(batchId, ids[4], keccak256(abi.encode("evidence", 4)), proof));
        // Leaf 2: siblings leaf 3, then hash(0,1), then leaf 4.
        proof = new bytes32[](3);
        proof[0] = leaves[3];
        proof[1] = hashPair(leaves[0], leaves[1]);
        proof[2] = leaves[4];
        assertTrue(settlement.verifyEvidence(batchId, ids[2], keccak256(abi.encode("evidence", 2)), proof));
    }

    function testFuzz_verifyEvidence_everyLeaf(uint8 count) public {
        count = uint8(bound(count, 1, 24));
        (uint256 batchId, bytes32[] memory ids, bytes32[] memory leaves) = settleBatch(count);
        for (uint256 i; i < count; ++i) {
            (bytes32 root, bytes32[] memory proof) = merkleRootAndProof(leaves, i);
            assertEq(settlement.evidenceRootOf(batchId), root);
            assertTrue(MerkleProof.verify(proof, root, leaves[i]));
            assertTrue(
                settlement.verifyEvidence(batchId, ids[i], keccak256(abi.encode("evidence", i)), proof)
            );
            assertFalse(settlement.verifyEvidence(batchId, ids[i], keccak256("forged evidence"), proof));
        }
    }

    function test_verifyEvidence_falseForWrongEvidence() public {
        (uint256 batchId, bytes32[] memory ids, bytes32[] memory leaves) = settleBatch(4);
        (, bytes32[] memory proof) = merkleRootAndProof(leaves, 1);
        assertTrue(settlement.verifyEvidence(batchId, ids[1], keccak256(abi.encode("evidence", 1)), proof));
        assertFalse(settlement.verifyEvidence(batchId, ids[1], keccak256(abi.encode("evidence", 2)), proof));
        assertFalse(settlement.verifyEvidence(batchId, ids[2], keccak256(abi.encode("evidence", 1)), proof));
    }

    function test_verifyEvidence_falseForOtherBatch() public {
        (uint256 firstBatch, bytes32[] memory ids, bytes32[] memory leaves) = settleBatch(2);
        (, bytes32[] memory proof) = merkleRootAndProof(leaves, 0);
        assertTrue(settlement.verifyEvidence(firstBatch, ids[0], keccak256(abi.encode("evidence", 0)), proof));
        assertFalse(
            settlement.verifyEvidence(firstBatch + 1, ids[0], keccak256(abi.encode("evidence", 0)), proof)
        );
    }

    function test_verifyEvidence_falseForUnknownBatch() public view {
        assertFalse(settlement.verifyEvidence(42, keccak256("id"), EVIDENCE_HASH, new bytes32[](0)));
    }

    /// An inner node cannot be passed off as a leaf (leaves are double-hashed).
    function test_verifyEvidence_innerNodeIsNotALeaf() public {
        (uint256 batchId,, bytes32[] memory leaves) = settleBatch(4);
        bytes32 a = hashPair(leaves[0], leaves[1]);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = hashPair(leaves[2], leaves[3]);
        assertTrue(MerkleProof.verify(proof, settlement.evidenceRootOf(batchId), a));
        // No (paymentId, evidenceHash) pair hashes to `a` as a leaf; the plain pre-image does not verify.
        assertFalse(settlement.verifyEvidence(batchId, leaves[0], leaves[1], proof));
    }
}
