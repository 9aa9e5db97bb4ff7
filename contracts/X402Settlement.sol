// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "./interfaces/IX402Settlement.sol";
import {PaymentTermsHash} from "./libraries/PaymentTermsHash.sol";
import {SpendingPolicies} from "./settlement/SpendingPolicies.sol";
import {ProtocolFees} from "./settlement/ProtocolFees.sol";
import {Eip3009Settlement} from "./settlement/Eip3009Settlement.sol";

/// @title X402Settlement
/// @notice Settles x402 pay-per-inference payments that payers sign as Permit2 witness transfers, pays
/// the facilitator fee and the payee's revenue split, accrues the protocol fee, and records the evidence
/// of the work in the same event. Supports one-shot charges (x402 `exact` and `upto`), batches of
/// charges with an on-chain Merkle root over their evidence, and an escrow (authorize, capture, void,
/// reclaim, refund).
///
/// @dev Parts: `SpendingPolicies` (payers' budgets), `ProtocolFees` (fee, treasury, accrual),
/// `Eip3009Settlement` (standard x402 EIP-3009 payments with evidence); this
/// contract holds settlement, escrow and splits.
///
/// Funds flow: every settlement pulls the payer's tokens into this contract through Permit2 and
/// checks that the contract's balance grew by exactly the pulled amount (fee-on-transfer and other
/// non-standard tokens are rejected with `TokenReceivedMismatch`), then pays the facilitator, split
/// recipients and payee in the same transaction. The contract therefore holds only the uncaptured part
/// of open escrows and the accrued protocol fees.
///
/// Errors raised by Permit2 itself pass through unchanged: `InvalidSigner()` (the signature does not
/// cover this permit, spender, chain, witness or payer), `InvalidNonce()` (nonce already used),
/// `SignatureExpired(uint256)` (permit deadline passed; same selector as this interface's error),
/// `InvalidContractSignature()` (an EIP-1271 payer refused the signature).
///
/// Limits of the packed storage: escrowed amounts (`captured`, `refunded`) are stored as `uint96`
/// (7.9e28 base units, 79 billion tokens at 18 decimals); `authorize` rejects larger maxima.
contract X402Settlement is SpendingPolicies, ProtocolFees, Eip3009Settlement {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants

    /// @notice Most recipients a payee's revenue split can have.
    uint256 public constant MAX_SPLIT_RECIPIENTS = 8;

    /// @notice Gas `chargeBatch` keeps back, besides `BATCH_RESERVE_GAS_PER_ITEM` per item, to finish
    /// a batch (failure events, evidence root, facilitator fee transfers) after its last item.
    uint256 public constant BATCH_RESERVE_GAS = 100_000;

    /// @notice Per-item part of the gas `chargeBatch` keeps back to finish a batch.
    uint256 public constant BATCH_RESERVE_GAS_PER_ITEM = 1_000;

    /// @dev Most revert data of a failed batch item copied into `BatchItemFailed`; bounds what a
    /// payer-chosen token returning huge revert data can make the batch pay for memory.
    uint256 private constant MAX_REASON_LENGTH = 1024;

    /// @dev Bytes of an `EscrowRef` (4 permit words + 9 witness words), hashed into an escrow's key.
    uint256 private constant ESCROW_REF_SIZE = 0x1a0;

    // ---------------------------------------------------------------- storage layouts

    /// @dev A payee's split. `header` packs the recipient count in its low 8 bits and recipient `i`'s
    /// basis points in bits `[8 + 16 i, 24 + 16 i)`, so a payee without a split costs one SLOAD.
    struct StoredSplit {
        uint256 header;
        address[MAX_SPLIT_RECIPIENTS] recipients;
    }

    // ---------------------------------------------------------------- state

    /// @notice The Permit2 contract every payment is pulled through.
    ISignatureTransfer public immutable PERMIT2;

    /// @notice Id of the last batch settled (batch ids start at 1).
    uint256 public lastBatchId;

    /// @notice Evidence Merkle root committed by each batch (zero if none was asked or nothing settled).
    mapping(uint256 batchId => bytes32) public evidenceRootOf;

    /// @dev Escrows by `keccak256` of their `EscrowRef` words: one slot each.
    mapping(bytes32 escrowKey => EscrowState) private _escrows;
    mapping(address payee => StoredSplit) private _splits;

    // ---------------------------------------------------------------- construction

    /// @param permit2 The Permit2 deployment (0x000000000022D473030F116dDEE9F6B43aC78BA3 on public chains).
    /// @param initialOwner Owner allowed to set the protocol fee and treasury (two-step transferable).
    constructor(ISignatureTransfer permit2, address initialOwner)
        Ownable(initialOwner)
        EIP712("X402Settlement", "1")
    {
        if (address(permit2) == address(0)) revert ZeroAddress();
        PERMIT2 = permit2;
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IX402Settlement
    /// @dev Reverts `WrongMode(Exact, mode)` when the signed mode is neither Exact nor Upto,
    /// `InvalidPayee` for a zero payee or this contract. The facilitator fee is paid to the caller last.
    function charge(
        SignedPayment calldata payment,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash
    ) external nonReentrant returns (bytes32 paymentId) {
        address signedFacilitator = payment.terms.facilitator;
        if (signedFacilitator != msg.sender) revert NotFacilitator(msg.sender, signedFacilitator);
        uint256 facilitatorFee;
        (paymentId, facilitatorFee) = _charge(payment, amount, facilitatorFeeBps, evidenceHash, 0);
        if (facilitatorFee != 0) {
            IERC20(payment.permit.permitted.token).safeTransfer(msg.sender, facilitatorFee);
        }
    }

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
                if (commitEvidenceRoot) leaves[settledCount] = _evidenceLeaf(paymentId, item.evidenceHash);
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
            root = _merkleRoot(leaves, settledCount);
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

    // ---------------------------------------------------------------- escrow

    /// @inheritdoc IX402Settlement
    /// @dev Requires `authorizationExpiry > block.timestamp` and `refundExpiry >= authorizationExpiry`
    /// (`InvalidExpiries`), a valid payee (`InvalidPayee`) and a maximum that fits in `uint96`. The amount
    /// charged to the payer's spending policy is not credited back when the escrow is voided or
    /// reclaimed (conservative). Writes one fresh storage slot.
    function authorize(SignedPayment calldata payment) external nonReentrant returns (bytes32 paymentId) {
        PaymentTerms calldata terms = payment.terms;
        if (terms.facilitator != msg.sender) revert NotFacilitator(msg.sender, terms.facilitator);
        if (terms.mode != uint8(PaymentMode.Escrow)) revert WrongMode(uint8(PaymentMode.Escrow), terms.mode);
        if (block.timestamp < terms.validAfter) revert NotYetValid(terms.validAfter, block.timestamp);
        _checkPayee(terms.payee);
        uint256 amount = payment.permit.permitted.amount;
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint96).max) revert AmountAboveMaximum(amount, type(uint96).max);
        uint48 authorizationExpiry = terms.authorizationExpiry;
        uint48 refundExpiry = terms.refundExpiry;
        if (authorizationExpiry <= block.timestamp || refundExpiry < authorizationExpiry) {
            revert InvalidExpiries(authorizationExpiry, refundExpiry);
        }

        address payer = terms.payer;
        paymentId = _paymentId(payer, payment.permit.nonce);
        EscrowRef calldata ref;
        // The permit and witness are the first words of a SignedPayment, laid out as an EscrowRef.
        assembly ("memory-safe") {
            ref := payment
        }
        EscrowState storage escrow = _escrows[_escrowKey(ref)];
        if (escrow.status != EscrowStatus.None) revert PaymentAlreadyExists(paymentId);
        _spend(payer, payment.permit.permitted.token, amount);

        uint16 protocolFeeBps = _currentProtocolFeeBps();
        escrow.status = EscrowStatus.Open;
        escrow.protocolFeeBps = protocolFeeBps;

        emit PaymentAuthorized(paymentId, payer, terms.payee, ref, protocolFeeBps);
        _pull(payment, amount);
    }

    /// @inheritdoc IX402Settlement
    /// @dev The protocol fee is the lower of the escrow's snapshot and the fee in force now.
    function capture(
        EscrowRef calldata escrow,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash
    ) external nonReentrant {
        PaymentTerms calldata terms = escrow.terms;
        if (terms.facilitator != msg.sender) revert NotFacilitator(msg.sender, terms.facilitator);
        EscrowState storage state = _escrows[_escrowKey(escrow)];
        EscrowStatus status = state.status;
        uint256 captured = state.captured;
        uint16 protocolFeeBps = state.protocolFeeBps;
        if (status != EscrowStatus.Open) _revertNotOpen(escrow, status);
        uint48 authorizationExpiry = terms.authorizationExpiry;
        if (block.timestamp >= authorizationExpiry) {
            revert AuthorizationExpired(authorizationExpiry, block.timestamp);
        }
        if (amount == 0) revert ZeroAmount();
        uint256 remaining = escrow.permit.permitted.amount - captured;
        if (amount > remaining) revert CaptureAboveAuthorized(amount, remaining);
        uint16 maxFeeBps = terms.maxFacilitatorFeeBps;
        if (facilitatorFeeBps > maxFeeBps) revert FeeAboveMaximum(facilitatorFeeBps, maxFeeBps);
        uint16 currentBps = _currentProtocolFeeBps();
        if (currentBps < protocolFeeBps) protocolFeeBps = currentBps;
        (uint256 facilitatorFee, uint256 protocolFeeAmount) = _fees(amount, facilitatorFeeBps, protocolFeeBps);

        // forge-lint: disable-next-line(unsafe-typecast) -- captured + amount <= authorized, a uint96
        state.captured = uint96(captured + amount);
        address token = escrow.permit.permitted.token;
        _accrue(token, protocolFeeAmount);

        bytes32 paymentId = _paymentId(terms.payer, escrow.permit.nonce);
        emit PaymentCaptured(
            paymentId,
            terms.payer,
            terms.payee,
            token,
            msg.sender,
            escrow.permit.nonce,
            amount,
            facilitatorFee,
            protocolFeeAmount,
            evidenceHash
        );
        _payOut(paymentId, IERC20(token), terms.payee, amount - facilitatorFee - protocolFeeAmount);
        if (facilitatorFee != 0) IERC20(token).safeTransfer(msg.sender, facilitatorFee);
    }

    /// @inheritdoc IX402Settlement
    function void(EscrowRef calldata escrow) external nonReentrant {
        PaymentTerms calldata terms = escrow.terms;
        if (msg.sender != terms.payee && msg.sender != terms.facilitator) revert Unauthorized(msg.sender);
        uint256 rest = _close(escrow);
        address token = escrow.permit.permitted.token;
        emit PaymentVoided(
            _paymentId(terms.payer, escrow.permit.nonce),
            terms.payer,
            msg.sender,
            terms.payee,
            terms.facilitator,
            token,
            rest
        );
        if (rest != 0) IERC20(token).safeTransfer(terms.payer, rest);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Depends on nothing the owner controls: no pause, no fee, no allow-list.
    function reclaim(EscrowRef calldata escrow) external nonReentrant {
        PaymentTerms calldata terms = escrow.terms;
        uint48 authorizationExpiry = terms.authorizationExpiry;
        if (block.timestamp < authorizationExpiry) {
            revert AuthorizationNotExpired(authorizationExpiry, block.timestamp);
        }
        uint256 rest = _close(escrow);
        address token = escrow.permit.permitted.token;
        emit PaymentReclaimed(
            _paymentId(terms.payer, escrow.permit.nonce),
            terms.payer,
            msg.sender,
            terms.payee,
            terms.facilitator,
            token,
            rest
        );
        if (rest != 0) IERC20(token).safeTransfer(terms.payer, rest);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Allowed while `block.timestamp < refundExpiry`, also after the escrow was voided or
    /// reclaimed. Tokens move directly from the payee to the payer (`transferFrom`), so the payee must
    /// have approved this contract for `amount`. Protocol and facilitator fees are not returned.
    function refund(EscrowRef calldata escrow, uint256 amount) external nonReentrant {
        PaymentTerms calldata terms = escrow.terms;
        if (msg.sender != terms.payee) revert Unauthorized(msg.sender);
        EscrowState storage state = _escrows[_escrowKey(escrow)];
        EscrowStatus status = state.status;
        uint256 captured = state.captured;
        uint256 refunded = state.refunded;
        if (status == EscrowStatus.None) revert UnknownPayment(_paymentId(terms.payer, escrow.permit.nonce));
        uint48 refundExpiry = terms.refundExpiry;
        if (block.timestamp >= refundExpiry) revert RefundExpired(refundExpiry, block.timestamp);
        if (amount == 0) revert ZeroAmount();
        uint256 refundable = captured - refunded;
        if (amount > refundable) revert RefundAboveCaptured(amount, refundable);
        // forge-lint: disable-next-line(unsafe-typecast) -- refunded + amount <= captured, a uint96
        state.refunded = uint96(refunded + amount);

        address token = escrow.permit.permitted.token;
        emit PaymentRefunded(
            _paymentId(terms.payer, escrow.permit.nonce), terms.payer, terms.payee, token, amount
        );
        IERC20(token).safeTransferFrom(terms.payee, terms.payer, amount);
    }

    // ---------------------------------------------------------------- payee settings

    /// @inheritdoc IX402Settlement
    /// @dev `InvalidSplit` when the arrays differ in length, exceed `MAX_SPLIT_RECIPIENTS`, name the
    /// zero address, the caller or this contract, give a recipient 0 bps, or sum above 10,000. A
    /// recipient's share is `net * bps / 10_000` with `net = amount - facilitatorFee - protocolFee`,
    /// rounded down; the payee receives the remainder.
    function setSplit(address[] calldata recipients, uint16[] calldata bps) external nonReentrant {
        uint256 count = recipients.length;
        if (count != bps.length || count > MAX_SPLIT_RECIPIENTS) revert InvalidSplit();
        StoredSplit storage split = _splits[msg.sender];
        uint256 header = count;
        uint256 total;
        for (uint256 i; i < count; ++i) {
            address recipient = recipients[i];
            uint256 share = bps[i];
            if (
                recipient == address(0) || recipient == msg.sender || recipient == address(this) || share == 0
            ) {
                revert InvalidSplit();
            }
            total += share;
            header |= share << (8 + 16 * i);
            split.recipients[i] = recipient;
        }
        if (total > BPS) revert InvalidSplit();
        uint256 previousCount = split.header & 0xff;
        for (uint256 i = count; i < previousCount; ++i) {
            delete split.recipients[i];
        }
        split.header = header;
        emit SplitSet(msg.sender, recipients, bps);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IX402Settlement
    function paymentIdOf(address payer, uint256 nonce) external view returns (bytes32) {
        return _paymentId(payer, nonce);
    }

    /// @inheritdoc IX402Settlement
    /// @dev `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))`: double hashed so a
    /// leaf can never be mistaken for an inner node.
    function evidenceLeaf(bytes32 paymentId, bytes32 evidenceHash) external pure returns (bytes32) {
        return _evidenceLeaf(paymentId, evidenceHash);
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
        return MerkleProof.verifyCalldata(proof, root, _evidenceLeaf(paymentId, evidenceHash));
    }

    /// @inheritdoc IX402Settlement
    function escrowOf(EscrowRef calldata escrow) external view returns (EscrowState memory) {
        return _escrows[_escrowKey(escrow)];
    }

    /// @inheritdoc IX402Settlement
    function splitOf(address payee) external view returns (address[] memory recipients, uint16[] memory bps) {
        StoredSplit storage split = _splits[payee];
        uint256 header = split.header;
        uint256 count = header & 0xff;
        recipients = new address[](count);
        bps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            recipients[i] = split.recipients[i];
            // forge-lint: disable-next-line(unsafe-typecast) -- 16-bit field of the packed header
            bps[i] = uint16(header >> (8 + 16 * i));
        }
    }

    /// @inheritdoc IX402Settlement
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

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

    // ---------------------------------------------------------------- internals: escrow

    /// @dev Storage key of an escrow: `keccak256` of its 13 `EscrowRef` words as they are in calldata.
    /// Words with dirty padding hash to a key no `authorize` wrote (Permit2 only accepts clean ones).
    function _escrowKey(EscrowRef calldata escrow) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, escrow, ESCROW_REF_SIZE)
            key := keccak256(ptr, ESCROW_REF_SIZE)
        }
    }

    /// @dev Closes an open escrow and returns its uncaptured rest.
    function _close(EscrowRef calldata escrow) private returns (uint256 rest) {
        EscrowState storage state = _escrows[_escrowKey(escrow)];
        EscrowStatus status = state.status;
        uint256 captured = state.captured;
        if (status != EscrowStatus.Open) _revertNotOpen(escrow, status);
        state.status = EscrowStatus.Closed;
        rest = escrow.permit.permitted.amount - captured;
    }

    /// @dev `UnknownPayment` or `PaymentClosed` for an escrow that is not open.
    function _revertNotOpen(EscrowRef calldata escrow, EscrowStatus status) private view {
        bytes32 paymentId = _paymentId(escrow.terms.payer, escrow.permit.nonce);
        if (status == EscrowStatus.None) revert UnknownPayment(paymentId);
        revert PaymentClosed(paymentId);
    }

    /// @dev `InvalidPayee` for the zero address or this contract.
    function _checkPayee(address payee) private view {
        if (payee == address(0) || payee == address(this)) revert InvalidPayee(payee);
    }

    // ---------------------------------------------------------------- internals: charging

    /// @dev Checks, policy, pull, event and payouts of one Exact/Upto charge, except the facilitator
    /// fee, which stays in the contract for the caller to pay. The caller checked the facilitator.
    function _charge(
        SignedPayment calldata payment,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash,
        uint256 batchId
    ) private returns (bytes32 paymentId, uint256 facilitatorFee) {
        PaymentTerms calldata terms = payment.terms;
        uint256 signedAmount = payment.permit.permitted.amount;
        uint8 mode = terms.mode;
        if (mode == uint8(PaymentMode.Exact)) {
            if (amount != signedAmount) revert AmountMismatch(amount, signedAmount);
        } else if (mode == uint8(PaymentMode.Upto)) {
            if (amount > signedAmount) revert AmountAboveMaximum(amount, signedAmount);
        } else {
            revert WrongMode(uint8(PaymentMode.Exact), mode);
        }
        if (amount == 0) revert ZeroAmount();
        if (block.timestamp < terms.validAfter) revert NotYetValid(terms.validAfter, block.timestamp);
        _checkPayee(terms.payee);
        uint16 maxFeeBps = terms.maxFacilitatorFeeBps;
        if (facilitatorFeeBps > maxFeeBps) revert FeeAboveMaximum(facilitatorFeeBps, maxFeeBps);
        uint256 protocolFeeAmount;
        (facilitatorFee, protocolFeeAmount) = _fees(amount, facilitatorFeeBps, _currentProtocolFeeBps());

        address payer = terms.payer;
        address token = payment.permit.permitted.token;
        _spend(payer, token, amount);
        paymentId = _paymentId(payer, payment.permit.nonce);
        _accrue(token, protocolFeeAmount);

        _pull(payment, amount);
        _emitCharged(payment, paymentId, amount, facilitatorFee, protocolFeeAmount, evidenceHash, batchId);
        _payOut(paymentId, IERC20(token), terms.payee, amount - facilitatorFee - protocolFeeAmount);
    }

    /// @dev Emits `PaymentCharged`; a separate frame keeps the 14 event fields off the caller's stack.
    function _emitCharged(
        SignedPayment calldata payment,
        bytes32 paymentId,
        uint256 amount,
        uint256 facilitatorFee,
        uint256 protocolFeeAmount,
        bytes32 evidenceHash,
        uint256 batchId
    ) private {
        PaymentTerms calldata terms = payment.terms;
        emit PaymentCharged(
            paymentId,
            terms.payer,
            terms.payee,
            payment.permit.permitted.token,
            terms.facilitator,
            payment.permit.nonce,
            terms.mode,
            amount,
            payment.permit.permitted.amount,
            facilitatorFee,
            protocolFeeAmount,
            terms.requestHash,
            evidenceHash,
            batchId
        );
    }

    /// @dev Pulls `amount` from `terms.payer` into this contract with the payer's Permit2 witness
    /// signature and checks the contract received exactly `amount`. Permit2 verifies the signature
    /// against `terms.payer`, which the witness itself names.
    function _pull(SignedPayment calldata payment, uint256 amount) private {
        IERC20 token = IERC20(payment.permit.permitted.token);
        uint256 balanceBefore = token.balanceOf(address(this));
        PERMIT2.permitWitnessTransferFrom(
            payment.permit,
            ISignatureTransfer.SignatureTransferDetails({to: address(this), requestedAmount: amount}),
            payment.terms.payer,
            PaymentTermsHash.hash(payment.terms),
            PaymentTermsHash.WITNESS_TYPE_STRING,
            payment.signature
        );
        uint256 balanceAfter = token.balanceOf(address(this));
        if (balanceAfter != balanceBefore + amount) {
            revert TokenReceivedMismatch(
                amount, balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0
            );
        }
    }

    /// @dev Pays the payee's split recipients and the payee from this contract. `net` is the amount
    /// after facilitator and protocol fees.
    function _payOut(bytes32 paymentId, IERC20 token, address payee, uint256 net) private {
        StoredSplit storage split = _splits[payee];
        uint256 header = split.header;
        uint256 payeeAmount = net;
        if (header != 0) {
            uint256 count = header & 0xff;
            for (uint256 i; i < count; ++i) {
                uint256 share = net * ((header >> (8 + 16 * i)) & 0xffff) / BPS;
                if (share != 0) {
                    address recipient = split.recipients[i];
                    payeeAmount -= share;
                    emit SplitPaid(paymentId, payee, recipient, share);
                    token.safeTransfer(recipient, share);
                }
            }
        }
        if (payeeAmount != 0) token.safeTransfer(payee, payeeAmount);
    }

    // ---------------------------------------------------------------- internals: ids and evidence

    /// @dev `keccak256(abi.encode(block.chainid, address(this), payer, nonce))`, hashed in unallocated
    /// memory so batches do not grow memory per item.
    function _paymentId(address payer, uint256 nonce) private view returns (bytes32 id) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, chainid())
            mstore(add(ptr, 0x20), address())
            mstore(add(ptr, 0x40), payer)
            mstore(add(ptr, 0x60), nonce)
            id := keccak256(ptr, 0x80)
        }
    }

    /// @dev `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))`, in scratch space.
    function _evidenceLeaf(bytes32 paymentId, bytes32 evidenceHash) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(0x00, paymentId)
            mstore(0x20, evidenceHash)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev Root over `nodes[0:count]` as documented on `chargeBatch`; overwrites `nodes`.
    function _merkleRoot(bytes32[] memory nodes, uint256 count) private pure returns (bytes32) {
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
