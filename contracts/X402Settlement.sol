// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "./interfaces/IX402Settlement.sol";
import {PaymentTermsHash} from "./libraries/PaymentTermsHash.sol";
import {Eip3009Settlement} from "./settlement/Eip3009Settlement.sol";

/// @title X402Settlement
/// @notice Settles x402 pay-per-inference payments that payers sign as Permit2 witness transfers, pays
/// the facilitator fee, the protocol fee and the payee's revenue split, and records the evidence of the
/// work in the same event. Supports one-shot charges (x402 `exact` and `upto`), batches of charges with
/// an on-chain Merkle root over their evidence, and an escrow (authorize, capture, void, reclaim, refund).
///
/// @dev Funds flow: every settlement pulls the payer's tokens into this contract through Permit2 and
/// checks that the contract's balance grew by exactly the pulled amount (fee-on-transfer and other
/// non-standard tokens are rejected with `TokenReceivedMismatch`), then pays everybody out in the same
/// transaction. The contract therefore holds only the uncaptured part of open escrows.
///
/// Errors raised by Permit2 itself pass through unchanged: `InvalidSigner()` (the signature does not
/// cover this permit, spender, chain or witness), `InvalidNonce()` (nonce already used),
/// `SignatureExpired(uint256)` (permit deadline passed; same selector as this interface's error).
///
/// Limits of the packed storage: escrowed amounts (`authorized`, `captured`, `refunded`) are stored as
/// `uint96` (7.9e28 base units, 79 billion tokens at 18 decimals); `authorize` rejects larger maxima.
contract X402Settlement is IX402Settlement, Ownable2Step, ReentrancyGuardTransient, EIP712, Eip3009Settlement {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants

    /// @notice Hard cap of the protocol fee the owner can set, in basis points (1%).
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 100;

    /// @notice Most recipients a payee's revenue split can have.
    uint256 public constant MAX_SPLIT_RECIPIENTS = 8;

    /// @notice EIP-712 type hash of a spending policy signed by its payer.
    bytes32 public constant SET_SPENDING_POLICY_TYPEHASH = keccak256(
        "SetSpendingPolicy(address payer,address token,uint128 maxPerPayment,uint128 maxPerPeriod,uint32 period,uint256 nonce,uint256 deadline)"
    );

    /// @dev Basis-point denominator.
    uint256 private constant BPS = 10_000;

    /// @dev Most revert data of a failed batch item copied into `BatchItemFailed`; bounds what a
    /// payer-chosen token returning huge revert data can make the batch pay for memory.
    uint256 private constant MAX_REASON_LENGTH = 1024;

    // ---------------------------------------------------------------- storage layouts

    /// @dev Protocol fee configuration, one slot.
    struct ProtocolFeeConfig {
        address treasury;
        uint16 bps;
    }

    /// @dev An escrow in five slots, grouped by who reads what: `capture`, `void` and `reclaim` touch
    /// only slots 0-3; `refunded` (slot 4) is written by `refund` alone, so `authorize` does not pay
    /// for it.
    struct StoredEscrow {
        // slot 0
        address payer;
        uint48 authorizationExpiry;
        uint16 maxFacilitatorFeeBps;
        bool closed;
        // slot 1
        address payee;
        uint96 authorized;
        // slot 2
        address facilitator;
        uint96 captured;
        // slot 3
        address token;
        uint48 refundExpiry;
        // slot 4
        uint96 refunded;
    }

    /// @dev A payer's policy and spending for one token. Slot 0 is zero exactly when the payer has no
    /// policy (a policy with a period limit always has `maxPerPeriod != 0`), so payers without a
    /// policy cost one cold SLOAD. Spending is tracked in fixed buckets of `period` seconds: bucket
    /// index `block.timestamp / period`, the amount spent in that bucket and in the bucket before it.
    struct PolicyState {
        // slot 0
        uint128 maxPerPayment;
        uint128 maxPerPeriod;
        // slot 1
        uint32 period;
        uint64 bucket;
        uint128 spentInBucket;
        // slot 2
        uint128 spentInPreviousBucket;
    }

    /// @dev A payee's split. `header` packs the recipient count in its low 8 bits and recipient `i`'s
    /// basis points in bits `[8 + 16 i, 24 + 16 i)`, so a payee without a split costs one SLOAD.
    struct StoredSplit {
        uint256 header;
        address[MAX_SPLIT_RECIPIENTS] recipients;
    }

    // ---------------------------------------------------------------- state

    /// @notice The Permit2 contract every payment is pulled through.
    ISignatureTransfer public immutable PERMIT2;

    ProtocolFeeConfig private _protocolFee;

    /// @notice Id of the last batch settled (batch ids start at 1).
    uint256 public lastBatchId;

    /// @notice Next nonce `setSpendingPolicyBySig` expects from each payer.
    mapping(address payer => uint256) public policyNonces;

    /// @notice Evidence Merkle root committed by each batch (zero if none was asked or nothing settled).
    mapping(uint256 batchId => bytes32) public evidenceRootOf;

    mapping(bytes32 paymentId => StoredEscrow) private _escrows;
    mapping(address payer => mapping(address token => PolicyState)) private _policies;
    mapping(address payee => StoredSplit) private _splits;

    // ---------------------------------------------------------------- construction

    /// @param permit2 The Permit2 deployment (0x000000000022D473030F116dDEE9F6B43aC78BA3 on public chains).
    /// @param initialOwner Owner allowed to set the protocol fee (two-step transferable).
    constructor(ISignatureTransfer permit2, address initialOwner)
        Ownable(initialOwner)
        EIP712("X402Settlement", "1")
    {
        if (address(permit2) == address(0)) revert ZeroAddress();
        PERMIT2 = permit2;
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IX402Settlement
    /// @dev Reverts `WrongMode(Exact, mode)` when the signed mode is neither Exact nor Upto. The
    /// facilitator fee is paid to the caller last.
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
    /// @dev Each item settles in its own call frame (`settleBatchItem`, a self-call inside try/catch), so
    /// an item that reverts (bad signature, used nonce, policy exceeded, wrong mode or facilitator, ...)
    /// rolls back alone and is reported with `BatchItemFailed`. Facilitator fees of consecutive items in
    /// the same token are added up and transferred once. `BatchItemFailed.reason` carries at most the
    /// first 1,024 bytes of the item's revert data. Items run with all the gas left, so a facilitator
    /// should simulate the batch and leave out items whose token it does not accept.
    ///
    /// Evidence tree (when `commitEvidenceRoot`): the leaves are `evidenceLeaf(paymentId, evidenceHash)`
    /// of the settled items, in item order (failed items are left out). Each level pairs nodes 0-1, 2-3,
    /// ...; a pair hashes as `keccak256(abi.encode(min(a, b), max(a, b)))` (OpenZeppelin
    /// `Hashes.commutativeKeccak256`); when a level has an odd count its last node is carried up to the
    /// next level unchanged. The root of one leaf is the leaf; with no settled item the root is zero
    /// and nothing is stored. A proof lists, from the leaf up, the sibling at each level where the node
    /// has one (levels where the node is carried up contribute nothing), and verifies with
    /// OpenZeppelin's `MerkleProof.verify`.
    function chargeBatch(BatchItem[] calldata items, bool commitEvidenceRoot)
        external
        nonReentrant
        returns (uint256 batchId, bool[] memory settled)
    {
        uint256 count = items.length;
        if (count == 0) revert EmptyBatch();
        batchId = ++lastBatchId;
        settled = new bool[](count);
        bytes32[] memory leaves;
        if (commitEvidenceRoot) leaves = new bytes32[](count);

        uint256 settledCount;
        address feeToken;
        uint256 feeOwed;
        for (uint256 i; i < count; ++i) {
            BatchItem calldata item = items[i];
            try this.settleBatchItem(item, msg.sender, batchId) returns (
                bytes32 paymentId, address token, uint256 facilitatorFee
            ) {
                settled[i] = true;
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
                address payer = item.payment.payer;
                emit BatchItemFailed(
                    batchId, i, _paymentId(payer, item.payment.permit.nonce), payer, _boundedRevertData()
                );
            }
        }

        bytes32 root;
        if (commitEvidenceRoot && settledCount != 0) {
            root = _merkleRoot(leaves, settledCount);
            evidenceRootOf[batchId] = root;
        }
        emit BatchSettled(batchId, msg.sender, count, settledCount, root);
        if (feeOwed != 0) IERC20(feeToken).safeTransfer(msg.sender, feeOwed);
    }

    /// @notice Settles one batch item. Only callable by this contract, from `chargeBatch`, so that a
    /// failing item reverts in its own call frame.
    /// @dev The facilitator fee is not paid here: `chargeBatch` accumulates and pays it.
    /// @param item The batch item.
    /// @param facilitator The caller of `chargeBatch`; the item must name it as facilitator.
    /// @param batchId The batch being settled.
    /// @return paymentId The settled payment's id.
    /// @return token The token settled.
    /// @return facilitatorFee The facilitator fee left in this contract for `chargeBatch` to pay.
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
    /// @dev Requires `authorizationExpiry > block.timestamp` and `refundExpiry >= authorizationExpiry`
    /// (`InvalidExpiries`), and a maximum that fits in `uint96`. The amount charged to the payer's
    /// spending policy is not credited back when the escrow is voided or reclaimed (conservative).
    function authorize(SignedPayment calldata payment) external nonReentrant returns (bytes32 paymentId) {
        PaymentTerms calldata terms = payment.terms;
        if (terms.facilitator != msg.sender) revert NotFacilitator(msg.sender, terms.facilitator);
        if (terms.mode != uint8(PaymentMode.Escrow)) revert WrongMode(uint8(PaymentMode.Escrow), terms.mode);
        if (block.timestamp < terms.validAfter) revert NotYetValid(terms.validAfter, block.timestamp);
        uint256 amount = payment.permit.permitted.amount;
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint96).max) revert AmountAboveMaximum(amount, type(uint96).max);
        uint48 authorizationExpiry = terms.authorizationExpiry;
        uint48 refundExpiry = terms.refundExpiry;
        if (authorizationExpiry <= block.timestamp || refundExpiry < authorizationExpiry) {
            revert InvalidExpiries(authorizationExpiry, refundExpiry);
        }

        address payer = payment.payer;
        address token = payment.permit.permitted.token;
        paymentId = _paymentId(payer, payment.permit.nonce);
        StoredEscrow storage escrow = _escrows[paymentId];
        if (escrow.payer != address(0)) revert PaymentAlreadyExists(paymentId);
        _spend(payer, token, amount);

        uint16 maxFeeBps = terms.maxFacilitatorFeeBps;
        escrow.payer = payer;
        escrow.authorizationExpiry = authorizationExpiry;
        escrow.maxFacilitatorFeeBps = maxFeeBps;
        escrow.payee = terms.payee;
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against type(uint96).max above
        escrow.authorized = uint96(amount);
        escrow.facilitator = msg.sender;
        escrow.token = token;
        escrow.refundExpiry = refundExpiry;

        emit PaymentAuthorized(
            paymentId,
            payer,
            terms.payee,
            token,
            msg.sender,
            amount,
            maxFeeBps,
            authorizationExpiry,
            refundExpiry,
            terms.requestHash
        );
        _pull(payment, amount);
    }

    /// @inheritdoc IX402Settlement
    function capture(bytes32 paymentId, uint256 amount, uint16 facilitatorFeeBps, bytes32 evidenceHash)
        external
        nonReentrant
    {
        StoredEscrow storage escrow = _escrows[paymentId];
        address facilitator = escrow.facilitator;
        uint256 captured = escrow.captured;
        if (facilitator == address(0)) revert UnknownPayment(paymentId);
        if (facilitator != msg.sender) revert NotFacilitator(msg.sender, facilitator);
        if (escrow.closed) revert PaymentClosed(paymentId);
        uint48 authorizationExpiry = escrow.authorizationExpiry;
        if (block.timestamp >= authorizationExpiry) {
            revert AuthorizationExpired(authorizationExpiry, block.timestamp);
        }
        if (amount == 0) revert ZeroAmount();
        uint256 remaining = escrow.authorized - captured;
        if (amount > remaining) revert CaptureAboveAuthorized(amount, remaining);
        uint16 maxFeeBps = escrow.maxFacilitatorFeeBps;
        if (facilitatorFeeBps > maxFeeBps) revert FeeAboveMaximum(facilitatorFeeBps, maxFeeBps);
        ProtocolFeeConfig memory feeConfig = _protocolFee;
        (uint256 facilitatorFee, uint256 protocolFeeAmount) = _fees(amount, facilitatorFeeBps, feeConfig.bps);

        // forge-lint: disable-next-line(unsafe-typecast) -- captured + amount <= authorized, a uint96
        escrow.captured = uint96(captured + amount);

        address payee = escrow.payee;
        IERC20 token = IERC20(escrow.token);
        emit PaymentCaptured(
            paymentId,
            escrow.payer,
            payee,
            address(token),
            msg.sender,
            amount,
            facilitatorFee,
            protocolFeeAmount,
            evidenceHash
        );
        _payOut(
            paymentId,
            token,
            payee,
            amount - facilitatorFee - protocolFeeAmount,
            feeConfig.treasury,
            protocolFeeAmount
        );
        if (facilitatorFee != 0) token.safeTransfer(msg.sender, facilitatorFee);
    }

    /// @inheritdoc IX402Settlement
    function void(bytes32 paymentId) external nonReentrant {
        StoredEscrow storage escrow = _escrows[paymentId];
        address payer = escrow.payer;
        if (payer == address(0)) revert UnknownPayment(paymentId);
        if (msg.sender != escrow.payee && msg.sender != escrow.facilitator) revert Unauthorized(msg.sender);
        if (escrow.closed) revert PaymentClosed(paymentId);
        uint256 rest = escrow.authorized - escrow.captured;
        escrow.closed = true;

        IERC20 token = IERC20(escrow.token);
        emit PaymentVoided(paymentId, payer, msg.sender, address(token), rest);
        if (rest != 0) token.safeTransfer(payer, rest);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Depends on nothing the owner controls: no pause, no fee, no allow-list.
    function reclaim(bytes32 paymentId) external nonReentrant {
        StoredEscrow storage escrow = _escrows[paymentId];
        address payer = escrow.payer;
        if (payer == address(0)) revert UnknownPayment(paymentId);
        if (msg.sender != payer) revert Unauthorized(msg.sender);
        if (escrow.closed) revert PaymentClosed(paymentId);
        uint48 authorizationExpiry = escrow.authorizationExpiry;
        if (block.timestamp < authorizationExpiry) {
            revert AuthorizationNotExpired(authorizationExpiry, block.timestamp);
        }
        uint256 rest = escrow.authorized - escrow.captured;
        escrow.closed = true;

        IERC20 token = IERC20(escrow.token);
        emit PaymentReclaimed(paymentId, payer, address(token), rest);
        if (rest != 0) token.safeTransfer(payer, rest);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Allowed while `block.timestamp < refundExpiry`, also after the escrow was voided or
    /// reclaimed. Tokens move directly from the payee to the payer (`transferFrom`), so the payee must
    /// have approved this contract for `amount`.
    function refund(bytes32 paymentId, uint256 amount) external nonReentrant {
        StoredEscrow storage escrow = _escrows[paymentId];
        address payer = escrow.payer;
        if (payer == address(0)) revert UnknownPayment(paymentId);
        address payee = escrow.payee;
        if (msg.sender != payee) revert Unauthorized(msg.sender);
        uint48 refundExpiry = escrow.refundExpiry;
        if (block.timestamp >= refundExpiry) revert RefundExpired(refundExpiry, block.timestamp);
        if (amount == 0) revert ZeroAmount();
        uint256 refunded = escrow.refunded;
        uint256 refundable = escrow.captured - refunded;
        if (amount > refundable) revert RefundAboveCaptured(amount, refundable);
        // forge-lint: disable-next-line(unsafe-typecast) -- refunded + amount <= captured, a uint96
        escrow.refunded = uint96(refunded + amount);

        IERC20 token = IERC20(escrow.token);
        emit PaymentRefunded(paymentId, payer, payee, address(token), amount);
        token.safeTransferFrom(payee, payer, amount);
    }

    // ---------------------------------------------------------------- payer and payee settings

    /// @inheritdoc IX402Settlement
    /// @dev See `_setPolicy` for validation and how spending carries over.
    function setSpendingPolicy(address token, SpendingPolicy calldata policy) external nonReentrant {
        _setPolicy(msg.sender, token, policy);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Reverts `SignatureExpired` once `block.timestamp > deadline`, `InvalidSignature` when the
    /// signature is not `payer`'s (ECDSA or EIP-1271) over the current nonce.
    function setSpendingPolicyBySig(
        address payer,
        address token,
        SpendingPolicy calldata policy,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        if (payer == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        uint256 nonce = policyNonces[payer];
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SET_SPENDING_POLICY_TYPEHASH,
                    payer,
                    token,
                    policy.maxPerPayment,
                    policy.maxPerPeriod,
                    policy.period,
                    nonce,
                    deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(payer, digest, signature)) {
            revert InvalidSignature();
        }
        policyNonces[payer] = nonce + 1;
        _setPolicy(payer, token, policy);
    }

    /// @inheritdoc IX402Settlement
    /// @dev `InvalidSplit` when the arrays differ in length, exceed `MAX_SPLIT_RECIPIENTS`, name the
    /// zero address or the caller, give a recipient 0 bps, or sum above 10,000. A recipient's share is
    /// `net * bps / 10_000` with `net = amount - facilitatorFee - protocolFee`, rounded down; the payee
    /// receives the remainder.
    function setSplit(address[] calldata recipients, uint16[] calldata bps) external nonReentrant {
        uint256 count = recipients.length;
        if (count != bps.length || count > MAX_SPLIT_RECIPIENTS) revert InvalidSplit();
        StoredSplit storage split = _splits[msg.sender];
        uint256 header = count;
        uint256 total;
        for (uint256 i; i < count; ++i) {
            address recipient = recipients[i];
            uint256 share = bps[i];
            if (recipient == address(0) || recipient == msg.sender || share == 0) revert InvalidSplit();
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

    // ---------------------------------------------------------------- owner

    /// @notice Sets the protocol fee taken from every settled amount (charges and captures) and the
    /// treasury receiving it. Existing escrows pay the fee in force when they are captured.
    /// @dev Only the owner. `ProtocolFeeTooHigh` above `MAX_PROTOCOL_FEE_BPS`; `ZeroAddress` when a
    /// non-zero fee has no treasury. Payers bound the facilitator fee only: a facilitator fee plus
    /// protocol fee above 10,000 bps makes the settlement revert with `FeeAboveMaximum`.
    /// @param bps The fee in basis points of the gross amount (0 disables it).
    /// @param treasury Receiver of the fee.
    function setProtocolFee(uint16 bps, address treasury) external onlyOwner nonReentrant {
        if (bps > MAX_PROTOCOL_FEE_BPS) revert ProtocolFeeTooHigh(bps, MAX_PROTOCOL_FEE_BPS);
        if (bps != 0 && treasury == address(0)) revert ZeroAddress();
        _protocolFee = ProtocolFeeConfig({treasury: treasury, bps: bps});
        emit ProtocolFeeSet(bps, treasury);
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
    function escrowOf(bytes32 paymentId) external view returns (Escrow memory) {
        StoredEscrow storage escrow = _escrows[paymentId];
        return Escrow({
            payer: escrow.payer,
            payee: escrow.payee,
            facilitator: escrow.facilitator,
            token: escrow.token,
            maxFacilitatorFeeBps: escrow.maxFacilitatorFeeBps,
            authorizationExpiry: escrow.authorizationExpiry,
            refundExpiry: escrow.refundExpiry,
            closed: escrow.closed,
            authorized: escrow.authorized,
            captured: escrow.captured,
            refunded: escrow.refunded
        });
    }

    /// @inheritdoc IX402Settlement
    /// @dev `type(uint256).max` without a policy; otherwise the smaller of `maxPerPayment` (if set) and
    /// what the two-bucket period limit still allows (if set).
    function remainingBudget(address payer, address token) external view returns (uint256 remaining) {
        PolicyState storage state = _policies[payer][token];
        uint256 maxPerPayment = state.maxPerPayment;
        uint256 maxPerPeriod = state.maxPerPeriod;
        remaining = type(uint256).max;
        if (maxPerPayment != 0) remaining = maxPerPayment;
        if (maxPerPeriod != 0) {
            // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
            (uint256 current, uint256 previous) =
                _bucketSpending(state, uint64(block.timestamp / state.period));
            uint256 spent = current + previous;
            uint256 periodLeft = spent >= maxPerPeriod ? 0 : maxPerPeriod - spent;
            if (periodLeft < remaining) remaining = periodLeft;
        }
    }

    /// @notice `payer`'s current policy for `token` (all zero when none).
    function spendingPolicyOf(address payer, address token) external view returns (SpendingPolicy memory) {
        PolicyState storage state = _policies[payer][token];
        return SpendingPolicy({
            maxPerPayment: state.maxPerPayment, maxPerPeriod: state.maxPerPeriod, period: state.period
        });
    }

    /// @notice `payee`'s revenue split (empty arrays when none).
    function splitOf(address payee) external view returns (address[] memory recipients, uint16[] memory bps) {
        StoredSplit storage split = _splits[payee];
        uint256 header = split.header;
        uint256 count = header & 0xff;
        recipients = new address[](count);
        bps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            recipients[i] = split.recipients[i];
            bps[i] = uint16(header >> (8 + 16 * i));
        }
    }

    /// @notice The protocol fee in basis points and its treasury.
    function protocolFee() external view returns (uint16 bps, address treasury) {
        ProtocolFeeConfig memory config = _protocolFee;
        return (config.bps, config.treasury);
    }

    /// @notice EIP-712 domain separator of this contract (name "X402Settlement", version "1"), used by
    /// `setSpendingPolicyBySig`.
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
        uint16 maxFeeBps = terms.maxFacilitatorFeeBps;
        if (facilitatorFeeBps > maxFeeBps) revert FeeAboveMaximum(facilitatorFeeBps, maxFeeBps);
        ProtocolFeeConfig memory feeConfig = _protocolFee;
        uint256 protocolFeeAmount;
        (facilitatorFee, protocolFeeAmount) = _fees(amount, facilitatorFeeBps, feeConfig.bps);

        address payer = payment.payer;
        IERC20 token = IERC20(payment.permit.permitted.token);
        _spend(payer, address(token), amount);
        paymentId = _paymentId(payer, payment.permit.nonce);

        _pull(payment, amount);
        _emitCharged(payment, paymentId, amount, facilitatorFee, protocolFeeAmount, evidenceHash, batchId);
        _payOut(
            paymentId,
            token,
            terms.payee,
            amount - facilitatorFee - protocolFeeAmount,
            feeConfig.treasury,
            protocolFeeAmount
        );
    }

    /// @dev Emits `PaymentCharged`; a separate frame keeps the 13 event fields off the caller's stack.
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
            payment.payer,
            terms.payee,
            payment.permit.permitted.token,
            terms.facilitator,
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

    /// @dev Pulls `amount` from the payer into this contract with the payer's Permit2 witness
    /// signature and checks the contract received exactly `amount`.
    function _pull(SignedPayment calldata payment, uint256 amount) private {
        IERC20 token = IERC20(payment.permit.permitted.token);
        uint256 balanceBefore = token.balanceOf(address(this));
        PERMIT2.permitWitnessTransferFrom(
            payment.permit,
            ISignatureTransfer.SignatureTransferDetails({to: address(this), requestedAmount: amount}),
            payment.payer,
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

    /// @dev Facilitator and protocol fee amounts of a gross `amount`; both round down.
    function _fees(uint256 amount, uint16 facilitatorFeeBps, uint16 protocolFeeBps)
        private
        pure
        returns (uint256 facilitatorFee, uint256 protocolFeeAmount)
    {
        if (uint256(facilitatorFeeBps) + protocolFeeBps > BPS) {
            // forge-lint: disable-next-line(unsafe-typecast) -- protocolFeeBps <= 100, so this is <= 10_000
            revert FeeAboveMaximum(facilitatorFeeBps, uint16(BPS - protocolFeeBps));
        }
        facilitatorFee = amount * facilitatorFeeBps / BPS;
        if (protocolFeeBps != 0) protocolFeeAmount = amount * protocolFeeBps / BPS;
    }

    /// @dev Pays the protocol fee, the payee's split recipients and the payee from this contract.
    /// `net` is the amount after facilitator and protocol fees.
    function _payOut(
        bytes32 paymentId,
        IERC20 token,
        address payee,
        uint256 net,
        address treasury,
        uint256 protocolFeeAmount
    ) private {
        if (protocolFeeAmount != 0) token.safeTransfer(treasury, protocolFeeAmount);
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

    // ---------------------------------------------------------------- internals: spending policy

    /// @dev Charges `amount` to `payer`'s policy for `token`, reverting when it exceeds a limit.
    /// The period limit is enforced over two consecutive fixed buckets of `period` seconds (the current
    /// one and the one before): `spentInPreviousBucket + spentInBucket + amount <= maxPerPeriod`. Any
    /// window of `period` seconds overlaps at most two consecutive buckets, and whenever something is
    /// spent in bucket k the check covers all of bucket k-1 and bucket k so far, so no rolling window
    /// of `period` seconds ever holds more than `maxPerPeriod`. The rule is conservative: spending
    /// early in bucket k-1 still counts until bucket k ends, up to `2 * period` seconds later.
    function _spend(address payer, address token, uint256 amount) private {
        PolicyState storage state = _policies[payer][token];
        uint256 maxPerPayment = state.maxPerPayment;
        uint256 maxPerPeriod = state.maxPerPeriod;
        if (maxPerPayment == 0 && maxPerPeriod == 0) return;
        if (maxPerPayment != 0 && amount > maxPerPayment) {
            revert PerPaymentLimitExceeded(amount, maxPerPayment);
        }
        if (maxPerPeriod == 0) return;

        // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit in 64 bits
        uint64 bucket = uint64(block.timestamp / state.period);
        bool sameBucket = state.bucket == bucket;
        (uint256 current, uint256 previous) = _bucketSpending(state, bucket);
        uint256 spent = current + previous;
        if (spent + amount > maxPerPeriod) revert PeriodLimitExceeded(amount, spent, maxPerPeriod);
        // Both fit in uint128: they are bounded by maxPerPeriod.
        // forge-lint: disable-next-line(unsafe-typecast)
        state.spentInBucket = uint128(current + amount);
        if (!sameBucket) {
            state.bucket = bucket;
            // forge-lint: disable-next-line(unsafe-typecast)
            state.spentInPreviousBucket = uint128(previous);
        }
    }

    /// @dev Spending in bucket `bucket` and in the bucket before it, from the stored counters.
    function _bucketSpending(PolicyState storage state, uint64 bucket)
        private
        view
        returns (uint256 current, uint256 previous)
    {
        uint64 stored = state.bucket;
        if (stored == bucket) {
            current = state.spentInBucket;
            previous = state.spentInPreviousBucket;
        } else if (stored + 1 == bucket) {
            previous = state.spentInBucket;
        }
    }

    /// @dev Validates and stores a policy. `InvalidPolicy` when exactly one of `maxPerPeriod` and
    /// `period` is zero. Spending recorded so far keeps counting when the period is unchanged; a new
    /// period (or removing the policy) starts the counters afresh, since buckets of different lengths
    /// cannot be compared.
    function _setPolicy(address payer, address token, SpendingPolicy calldata policy) private {
        if (token == address(0)) revert ZeroAddress();
        if ((policy.maxPerPeriod == 0) != (policy.period == 0)) revert InvalidPolicy();
        PolicyState storage state = _policies[payer][token];
        if (policy.maxPerPayment == 0 && policy.maxPerPeriod == 0) {
            delete _policies[payer][token];
        } else {
            state.maxPerPayment = policy.maxPerPayment;
            state.maxPerPeriod = policy.maxPerPeriod;
            if (state.period != policy.period) {
                state.period = policy.period;
                state.bucket = 0;
                state.spentInBucket = 0;
                state.spentInPreviousBucket = 0;
            }
        }
        emit SpendingPolicySet(payer, token, policy.maxPerPayment, policy.maxPerPeriod, policy.period);
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
