// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @title EvidenceTree
/// @notice The Merkle tree a batch commits over the evidence of its settled items.
/// @dev Leaves are `leaf(paymentId, evidenceHash)` of the settled items, in item order. Each level
/// pairs nodes 0-1, 2-3, ...; a pair hashes as `keccak256(abi.encode(min(a, b), max(a, b)))`
/// (OpenZeppelin `Hashes.commutativeKeccak256`); when a level has an odd count its last node is
/// carried up to the next level unchanged. The root of one leaf is the leaf. A proof lists, from the
/// leaf up, the sibling at each level where the node has one, and verifies with OpenZeppelin's
/// `MerkleProof.verify`.
library EvidenceTree {
    /// @notice `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))`, in scratch
    /// space: double hashed so a leaf can never be mistaken for an inner node.
    /// @param paymentId The settled payment's id.
    /// @param evidenceHash Hash of the evidence of the work it paid for.
    /// @return result The leaf.
    function leaf(bytes32 paymentId, bytes32 evidenceHash) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            mstore(0x00, paymentId)
            mstore(0x20, evidenceHash)
            mstore(0x00, keccak256(0x00, 0x40))
            result := keccak256(0x00, 0x20)
        }
    }

    /// @notice Root over `nodes[0:count]` (`count >= 1`); overwrites `nodes`.
    /// @param nodes The leaves, in item order.
    /// @param count How many of `nodes` are leaves.
    /// @return The root.
    function root(bytes32[] memory nodes, uint256 count) internal pure returns (bytes32) {
        while (count > 1) {
            uint256 half = count >> 1;
            for (uint256 i; i < half; ++i) {
                nodes[i] = Hashes.commutativeKeccak256(nodes[2 * i], nodes[2 * i + 1]);
            }
            if (count & 1 == 1) {
                nodes[half] = nodes[count - 1];
                count = half + 1;
            } else {
                count = half;
            }
        }
        return nodes[0];
    }
}
