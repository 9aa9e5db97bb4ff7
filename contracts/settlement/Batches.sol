// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {EvidenceTree} from "../libraries/EvidenceTree.sol";
import {Charges} from "./Charges.sol";

/// @title Batches
/// @notice Many one-shot charges in one transaction, each item isolated in its own call frame with a
/// gas cap, and an optional Merkle root over the settled items' evidence, stored per batch and
/// verifiable with `verifyEvidence`.
abstract contract Batches is Charges {
    using SafeERC20 for IERC20;

    /// @inheritdoc IX402Settlement
    uint256 public constant BATCH_RESERVE_GAS = 100_000;

    /// @inheritdoc IX402Settlement
    uint256 public constant BATCH_RESERVE_GAS_PER_ITEM = 1_000;

    /// @dev Most revert data of a failed batch item copied into `BatchItemFailed`; bounds what a
    /// payer-chosen token returning huge revert data can make the batch pay for memory.
    uint256 private constant MAX_REASON_LENGTH = 1024;

    /// @inheritdoc IX402Settlement
    uint256 public lastBatchId;

    /// @inheritdoc IX402Settlement
    mapping(uint256 batchId => bytes32) public evidenceRootOf;

    /// @inheritdoc IX402Settlement
    /// @dev Each item settles in its own call frame (`settleBatchItem`, a self-call inside try/catch)
    /// with at most `itemGasLimit` gas, so an item that reverts (bad signature, used nonce, policy
    /// exceeded, wrong mode or facilitator, a payer wallet or token burning gas, ...) rolls back alone
    /// and is reported with `BatchItemFailed` (empty `reason` when it ran out of gas). Before each item
    /// the batch checks that `itemGasLimit` (plus the 1/64 a call keeps back) and a reserve to finish
    /// (`BATCH_RESERVE_GAS + BATCH_RESERVE_GAS_PER_ITEM * items.length`) are left; when not, it stops
    /// there and `BatchSettled.attemptedCount` says how far it got.
    ///
    /// What a facilitator does: measure the batch with `eth_call` (or a trace) at a generous gas limit
    /// and check `attemptedCount == itemCount` there; do not rely on `eth_estimateGas`, since with too
    /// little gas the batch does not revert but stops early. Send it with a gas limit of at least the
    /// measured gas + 2 * `itemGasLimit` + the reserve (unused gas is not paid): one item that behaved
    /// in simulation and burns gas on-chain then costs only its own item. When several do, the batch
    /// may stop early (`attemptedCount < itemCount`): drop the items that failed without a reason (out
    /// of gas) and resubmit the items from `attemptedCount` on, whose nonces are untouched. Only batch
    /// tokens you trust: facilitator fees of consecutive items in the same token are added up and
    /// transferred once, in the batch's own frame. `BatchItemFailed.reason` carries at most the first
    /// 1,024 bytes of the item's revert data.
    ///
    /// Evidence tree (when `commitEvidenceRoot`): the leaves are `evidenceLeaf(paymentId, evidenceHash)`
    /// of the settled items, in item order (failed items are left out). Each level pairs nodes 0-1, 2-3,
    /// ...; a pair hashes as `keccak256(abi.encode(min(a, b), max(a, b)))` (OpenZeppelin
    /// `Hashes.commutativeKeccak256`); when a level has an odd count its last node is carried up to the
    /// next level unchanged. The root of one leaf is the leaf; with no settled item the root is zero
    /// and nothing is stored. A proof lists, from the leaf up, the sibling at each level where the node
    /// has one (levels where the node is carried up contribute nothing), and verifies with
    /// OpenZeppelin's `MerkleProof.verify`.
    function chargeBatch(BatchItem[] calldata items, bool commitEvidenceRoot, uint32 itemGasLimit)
        external
        nonReentrant
        returns (uint256 batchId, bool[] memory settled)
    {
        uint256 count = items.length;
        if (count == 0) revert EmptyBatch();
        if (itemGasLimit == 0) revert InvalidItemGasLimit();
        batchId = ++lastBatchId;
        settled = new bool[](count);
        bytes32[] memory leaves;
        if (commitEvidenceRoot) leaves = new bytes32[](count);
        uint256 gasNeeded = uint256(itemGasLimit) + itemGasLimit / 63 + BATCH_RESERVE_GAS
            + BATCH_RESERVE_GAS_PER_ITEM * count;

        uint256 attempted;
        uint256 settledCount;
        address feeToken;
        uint256 feeOwed;
        for (; attempted < count; ++attempted) {
            if (gasleft() < gasNeeded) break;
            BatchItem calldata item = items[attempted];
            try this.settleBatchItem{gas: itemGasLimit}(item, msg.sender, batchId) returns (
                bytes32 paymentId, address token, uint256 facilitatorFee
            ) {
                settled[attempted] = true;
                if (commitEvidenceRoot) {
                    leaves[settledCount] = EvidenceTree.leaf(paymentId, item.evidenceHash);
                }
                ++settledCount;
                if (facilitatorFee != 0) {
                    if (token == feeToken) {
                        feeOwed += facilitatorFee;
                    } else {
                        if (feeOwed != 0) IERC20(feeToken).safeTransfer(msg.sender, feeOwed);
                        (feeToken, feeOwed) = (token, facilitatorFee);
                    }
                }
            } catch {
                address payer = item.payment.terms.payer;
                emit BatchItemFailed(
                    batchId,
                    attempted,
                    _paymentId(payer, item.payment.permit.nonce),
                    payer,
                    _boundedRevertData()
                );
            }
        }

        bytes32 root;
        if (commitEvidenceRoot && settledCount != 0) {
            root = EvidenceTree.root(leaves, settledCount);
            evidenceRootOf[batchId] = root;
        }
        emit BatchSettled(batchId, msg.sender, count, attempted, settledCount, root);
        if (feeOwed != 0) IERC20(feeToken).safeTransfer(msg.sender, feeOwed);
    }

    /// @inheritdoc IX402Settlement
    /// @dev The facilitator fee is not paid here: `chargeBatch` accumulates and pays it.
    function settleBatchItem(BatchItem calldata item, address facilitator, uint256 batchId)
        external
        returns (bytes32 paymentId, address token, uint256 facilitatorFee)
    {
        if (msg.sender != address(this)) revert OnlySelf();
        address signedFacilitator = item.payment.terms.facilitator;
        if (signedFacilitator != facilitator) revert NotFacilitator(facilitator, signedFacilitator);
        (paymentId, facilitatorFee) =
            _charge(item.payment, item.amount, item.facilitatorFeeBps, item.evidenceHash, batchId);
        token = item.payment.permit.permitted.token;
    }

    /// @inheritdoc IX402Settlement
    /// @dev `EvidenceTree.leaf`: `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))`,
    /// double hashed so a leaf can never be mistaken for an inner node.
    function evidenceLeaf(bytes32 paymentId, bytes32 evidenceHash) external pure returns (bytes32) {
        return EvidenceTree.leaf(paymentId, evidenceHash);
    }

    /// @inheritdoc IX402Settlement
    /// @dev False for a batch without a stored root. See `chargeBatch` for the tree construction.
    function verifyEvidence(
        uint256 batchId,
        bytes32 paymentId,
        bytes32 evidenceHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = evidenceRootOf[batchId];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, EvidenceTree.leaf(paymentId, evidenceHash));
    }

    // ---------------------------------------------------------------- internals

    /// @dev The last call's revert data, truncated to `MAX_REASON_LENGTH` bytes.
    function _boundedRevertData() private pure returns (bytes memory reason) {
        uint256 length = MAX_REASON_LENGTH;
        assembly ("memory-safe") {
            if lt(returndatasize(), length) { length := returndatasize() }
            reason := mload(0x40)
            mstore(reason, length)
            returndatacopy(add(reason, 0x20), 0, length)
            mstore(0x40, add(add(reason, 0x20), and(add(length, 31), not(31))))
        }
    }
}
