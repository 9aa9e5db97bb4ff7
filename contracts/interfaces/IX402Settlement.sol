// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

/// @title IX402Settlement
/// @notice Settles x402 pay-per-inference payments signed as Permit2 witness transfers and records,
/// in the same event, the evidence of the work paid for.
///
/// @dev The payer signs one Permit2 `PermitWitnessTransferFrom` whose `spender` is this contract and
/// whose witness is a `PaymentTerms` struct. The EIP-712 types a client signs are:
///
///   PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,PaymentTerms witness)
///   PaymentTerms(address payer,address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)
///   TokenPermissions(address token,uint256 amount)
///
/// under Permit2's domain (name "Permit2", chainId, verifyingContract = Permit2). `permitted.amount` is
/// the exact amount (mode Exact) or the maximum (modes Upto and Escrow). The witness names the payer:
/// the tokens always move from `terms.payer`, and Permit2 checks the signature against that address
/// (ECDSA for an EOA, EIP-1271 for a contract), so one signature can never charge a different account
/// of the same signer (the owner's EOA or a sibling smart wallet that accepts the owner's raw-digest
/// signature). The payment id is `keccak256(abi.encode(block.chainid, address(this), payer, nonce))`,
/// so a facilitator knows it before settling and a nonce can settle at most once.
///
/// Escrows keep one storage slot each (`EscrowState`), keyed by the hash of the permit and witness
/// signed at `authorize`; later calls (`capture`, `void`, `reclaim`, `refund`, `escrowOf`) pass them
/// again as an `EscrowRef`, which `PaymentAuthorized` carries in full.
interface IX402Settlement {
    // ---------------------------------------------------------------- types

    /// @notice How a signed payment may be settled.
    enum PaymentMode {
        /// Settle exactly the signed amount.
        Exact,
        /// x402 `upto`: settle any non-zero amount up to the signed maximum.
        Upto,
        /// Pull up to the maximum into escrow now, capture later with evidence.
        Escrow
    }

    /// @notice The Permit2 witness: what the payer agreed to, besides token, amount, nonce and deadline.
    /// @param payer The account whose tokens move (EOA or EIP-1271 wallet); Permit2 checks the signature
    /// against it.
    /// @param payee Who receives the payment (net of fees and splits).
    /// @param facilitator The only address allowed to settle this payment.
    /// @param requestHash Hash of the inference request this payment is for.
    /// @param maxFacilitatorFeeBps Upper bound of the facilitator fee, in basis points of the settled amount.
    /// @param validAfter The payment cannot settle before this timestamp.
    /// @param mode A `PaymentMode`, as uint8.
    /// @param authorizationExpiry Escrow only: captures stop and anyone may reclaim for the payer from
    /// this timestamp.
    /// @param refundExpiry Escrow only: the payee can refund captured funds until this timestamp.
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

    /// @notice One signed payment as a facilitator submits it.
    /// @param permit The Permit2 permit the payer signed (token, amount or maximum, nonce, deadline).
    /// @param terms The witness the payer signed (it names the payer).
    /// @param signature The payer's signature over the permit and witness.
    struct SignedPayment {
        ISignatureTransfer.PermitTransferFrom permit;
        PaymentTerms terms;
        bytes signature;
    }

    /// @notice An escrow as later calls name it: the permit and witness of its `authorize`, unchanged.
    /// @dev Its words are the first 13 words of the `SignedPayment` that authorized it.
    struct EscrowRef {
        ISignatureTransfer.PermitTransferFrom permit;
        PaymentTerms terms;
    }

    /// @notice One charge inside a batch.
    /// @param payment The signed payment (mode Exact or Upto).
    /// @param amount Amount to settle: the signed amount for Exact, at most it for Upto.
    /// @param facilitatorFeeBps Fee the facilitator takes, at most the signed maximum.
    /// @param evidenceHash Hash of the evidence of the work (request, response, model, attestation).
    struct BatchItem {
        SignedPayment payment;
        uint256 amount;
        uint16 facilitatorFeeBps;
        bytes32 evidenceHash;
    }

    /// @notice A payer's on-chain budget for one token.
    /// @param maxPerPayment Largest single settlement (0 = no per-payment limit).
    /// @param maxPerPeriod Most the payer spends over any `period` seconds (0 = no period limit).
    /// @param period Length of the rolling period in seconds (required when `maxPerPeriod` is set).
    /// @param loosenDelay Seconds a later loosening of this policy waits before it applies (tightening
    /// applies at once), at most `MAX_LOOSEN_DELAY`.
    struct SpendingPolicy {
        uint128 maxPerPayment;
        uint128 maxPerPeriod;
        uint32 period;
        uint32 loosenDelay;
    }

    /// @notice Lifecycle of an escrow.
    enum EscrowStatus {
        /// Never authorized (or not with these terms).
        None,
        /// Funded; captures possible until the authorization expiry.
        Open,
        /// Voided or reclaimed; only refunds remain possible.
        Closed
    }

    /// @notice An escrow's state: its one storage slot. The authorized amount is `permit.permitted.amount`
    /// of its `EscrowRef`.
    /// @param status Lifecycle state.
    /// @param protocolFeeBps Protocol fee in force at authorize; a capture pays this or the current fee,
    /// whichever is lower.
    /// @param captured Gross amount captured so far.
    /// @param refunded Amount the payee refunded so far.
    struct EscrowState {
        EscrowStatus status;
        uint16 protocolFeeBps;
        uint96 captured;
        uint96 refunded;
    }

    // ---------------------------------------------------------------- events

    /// @notice An Exact or Upto payment settled. `amount` is gross; the payee received
    /// `amount - facilitatorFee - protocolFee - sum(split payouts)`; the protocol fee accrued in this
    /// contract for the treasury.
    /// @param nonce The Permit2 nonce the payment consumed.
    /// @param batchId 0 when settled alone, else the batch it settled in.
    /// @param maxAmount The signed amount (Exact) or maximum (Upto).
    event PaymentCharged(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 nonce,
        uint8 mode,
        uint256 amount,
        uint256 maxAmount,
        uint256 facilitatorFee,
        uint256 protocolFee,
        bytes32 requestHash,
        bytes32 evidenceHash,
        uint256 batchId
    );

    /// @notice An escrow was funded with `escrow.permit.permitted.amount` pulled from the payer.
    /// @param escrow Everything later calls pass to name this escrow (permit and witness as signed).
    /// @param protocolFeeBps The protocol fee snapshotted for its captures (an upper bound).
    event PaymentAuthorized(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        EscrowRef escrow,
        uint16 protocolFeeBps
    );

    /// @notice Part of an escrow was captured for the payee, with the evidence of the work.
    /// @param nonce The Permit2 nonce the escrow was authorized with.
    event PaymentCaptured(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 nonce,
        uint256 amount,
        uint256 facilitatorFee,
        uint256 protocolFee,
        bytes32 evidenceHash
    );

    /// @notice The payee or facilitator (`by`) released the uncaptured rest of an escrow to the payer.
    event PaymentVoided(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed by,
        address payee,
        address facilitator,
        address token,
        uint256 amount
    );

    /// @notice `by` (anyone) returned the uncaptured rest of an expired escrow to its payer.
    event PaymentReclaimed(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed by,
        address payee,
        address facilitator,
        address token,
        uint256 amount
    );

    /// @notice The payee returned captured funds to the payer.
    event PaymentRefunded(
        bytes32 indexed paymentId, address indexed payer, address indexed payee, address token, uint256 amount
    );

    /// @notice Part of a settled amount went to a payee's registered split recipient.
    event SplitPaid(
        bytes32 indexed paymentId, address indexed payee, address indexed recipient, uint256 amount
    );

    /// @notice A batch item was skipped; `reason` is the revert data (a custom error) that stopped it,
    /// empty when the item ran out of its gas cap.
    event BatchItemFailed(
        uint256 indexed batchId, uint256 index, bytes32 indexed paymentId, address indexed payer, bytes reason
    );

    /// @notice A batch finished. Items `[attemptedCount, itemCount)` were not tried because the
    /// transaction had too little gas left for another item (their nonces are untouched: resubmit them).
    /// `evidenceRoot` is the Merkle root over the settled items (0 if not asked).
    event BatchSettled(
        uint256 indexed batchId,
        address indexed facilitator,
        uint256 itemCount,
        uint256 attemptedCount,
        uint256 settledCount,
        bytes32 evidenceRoot
    );

    /// @notice A payer changed (or, all zero, removed) its budget for `token`.
    /// @param policy The new policy.
    /// @param nonce The policy nonce this change consumed (any signed policy with this nonce is spent).
    /// @param bySignature True for `setSpendingPolicyBySig`, false for the payer's own transaction.
    /// @param effectiveAt When `policy` applies: now for a tightening (or when the old policy had no
    /// delay), now + the old policy's `loosenDelay` for a loosening. Each change replaces any pending one.
    event SpendingPolicySet(
        address indexed payer,
        address indexed token,
        SpendingPolicy policy,
        uint256 nonce,
        bool bySignature,
        uint48 effectiveAt
    );

    /// @notice A payee registered (or, empty, removed) the revenue split applied to its payments.
    event SplitSet(address indexed payee, address[] recipients, uint16[] bps);

    /// @notice The owner changed the protocol fee from `oldBps` (the fee in force) to `newBps`, applying
    /// from `effectiveAt` (now for a decrease, `PROTOCOL_FEE_INCREASE_DELAY` later for an increase).
    /// Replaces any increase scheduled before.
    event ProtocolFeeChanged(uint16 oldBps, uint16 newBps, uint48 effectiveAt);

    /// @notice The owner changed the treasury allowed to withdraw accrued protocol fees.
    event TreasuryChanged(address oldTreasury, address newTreasury);

    /// @notice The treasury withdrew the protocol fees accrued in `token` to `to`.
    event ProtocolFeesWithdrawn(
        address indexed token, address indexed treasury, address indexed to, uint256 amount
    );

    /// @notice An EIP-3009 authorization was executed through this contract (`chargeWithAuthorization`).
    /// @param paymentId `keccak256(abi.encode(block.chainid, address(this), token, payer, authorizationNonce))`.
    /// @param payer The authorization's `from`.
    /// @param payee The authorization's `to`, who received `amount`.
    /// @param token The EIP-3009 token.
    /// @param facilitator The caller that executed the authorization.
    /// @param amount The authorization's `value`, received in full by the payee.
    /// @param authorizationNonce The authorization's 32-byte nonce (unique per payer and token).
    /// @param validAfter The authorization's `validAfter` (unix seconds).
    /// @param validBefore The authorization's `validBefore` (unix seconds).
    /// @param evidenceHash Hash of the evidence of the work paid for (zero when none was given).
    event AuthorizationCharged(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 amount,
        bytes32 authorizationNonce,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 evidenceHash
    );

    // ---------------------------------------------------------------- errors

    error WrongMode(uint8 expected, uint8 signed);
    error NotFacilitator(address caller, address signedFacilitator);
    error NotYetValid(uint48 validAfter, uint256 nowTimestamp);
    error ZeroAmount();
    error AmountMismatch(uint256 amount, uint256 signedAmount);
    error AmountAboveMaximum(uint256 amount, uint256 signedMaximum);
    error FeeAboveMaximum(uint16 feeBps, uint16 signedMaxFeeBps);
    error InvalidExpiries(uint48 authorizationExpiry, uint48 refundExpiry);
    error InvalidPayee(address payee);
    error PerPaymentLimitExceeded(uint256 amount, uint256 maxPerPayment);
    error PeriodLimitExceeded(uint256 amount, uint256 spentInPeriod, uint256 maxPerPeriod);
    error InvalidPolicy();
    error TokenReceivedMismatch(uint256 expected, uint256 received);
    error UnknownPayment(bytes32 paymentId);
    error PaymentAlreadyExists(bytes32 paymentId);
    error PaymentClosed(bytes32 paymentId);
    error AuthorizationExpired(uint48 authorizationExpiry, uint256 nowTimestamp);
    error AuthorizationNotExpired(uint48 authorizationExpiry, uint256 nowTimestamp);
    error RefundExpired(uint48 refundExpiry, uint256 nowTimestamp);
    error CaptureAboveAuthorized(uint256 amount, uint256 remaining);
    error RefundAboveCaptured(uint256 amount, uint256 refundable);
    error Unauthorized(address caller);
    error InvalidSplit();
    error InvalidRecipient(address recipient);
    error ProtocolFeeTooHigh(uint16 bps, uint16 maxBps);
    error ZeroAddress();
    error EmptyBatch();
    error InvalidItemGasLimit();
    error SignatureExpired(uint256 deadline);
    error InvalidSignature();
    error OnlySelf();

    /// @notice `chargeWithAuthorization`: the authorization moves nothing.
    error AuthorizationZeroAmount();
    /// @notice `chargeWithAuthorization`: the payee is the zero address.
    error AuthorizationZeroPayee();
    /// @notice `chargeWithAuthorization`: the token address has no code.
    error AuthorizationTokenNotContract(address token);
    /// @notice `chargeWithAuthorization`: the payee's balance did not grow by exactly `amount` (a
    /// fee-on-transfer or otherwise non-standard token, or a token that returned without transferring).
    error AuthorizationTransferMismatch(uint256 expected, uint256 received);

    // ---------------------------------------------------------------- settlement

    /// @notice Settles an Exact or Upto payment: pulls `amount` from `terms.payer` through Permit2,
    /// pays the facilitator fee, splits and payee, accrues the protocol fee, and emits `PaymentCharged`
    /// with the evidence hash.
    /// @dev Only `terms.facilitator` may call. Exact requires `amount == permit.permitted.amount`;
    /// Upto requires `0 < amount <= permit.permitted.amount` and the rest never leaves the payer.
    /// Enforces the payer's spending policy.
    /// @param payment The signed payment.
    /// @param amount The amount to settle.
    /// @param facilitatorFeeBps The facilitator's fee, at most `terms.maxFacilitatorFeeBps`.
    /// @param evidenceHash Hash of the evidence of the work done.
    /// @return paymentId The payment's id.
    function charge(
        SignedPayment calldata payment,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash
    ) external returns (bytes32 paymentId);

    /// @notice Settles many Exact/Upto payments in one transaction. A failing item is skipped with
    /// `BatchItemFailed`; the others settle. Each item runs with at most `itemGasLimit` gas, and an item
    /// is only started when that much (plus a reserve to finish the batch) is left, so no item can make
    /// another fail or the batch revert by burning gas.
    /// @param items The payments to settle; every item must name the caller as facilitator.
    /// @param commitEvidenceRoot When true, computes and emits a Merkle root over the settled items'
    /// `evidenceLeaf(paymentId, evidenceHash)`, in item order, verifiable with `verifyEvidence`.
    /// @param itemGasLimit Most gas one item may use (non-zero).
    /// @return batchId The batch's id (starting at 1).
    /// @return settled For each item, whether it settled.
    function chargeBatch(BatchItem[] calldata items, bool commitEvidenceRoot, uint32 itemGasLimit)
        external
        returns (uint256 batchId, bool[] memory settled);

    /// @notice Settles one batch item. Only callable by this contract, from `chargeBatch`, so that a
    /// failing item reverts in its own call frame.
    /// @param item The batch item.
    /// @param facilitator The caller of `chargeBatch`; the item must name it as facilitator.
    /// @param batchId The batch being settled.
    /// @return paymentId The settled payment's id.
    /// @return token The token settled.
    /// @return facilitatorFee The facilitator fee left in this contract for `chargeBatch` to pay.
    function settleBatchItem(BatchItem calldata item, address facilitator, uint256 batchId)
        external
        returns (bytes32 paymentId, address token, uint256 facilitatorFee);

    /// @notice Funds an escrow: pulls the signed maximum from `terms.payer` into this contract and
    /// snapshots the protocol fee.
    /// @dev Only `terms.facilitator` may call; mode must be Escrow; the payer's policy is charged
    /// the full authorized amount.
    /// @param payment The signed payment (mode Escrow, with its expiries).
    /// @return paymentId The escrow's id.
    function authorize(SignedPayment calldata payment) external returns (bytes32 paymentId);

    /// @notice Captures part of an escrow for the payee, recording the evidence for this part.
    /// @dev Only the escrow's facilitator, before the authorization expiry, never above what remains.
    /// @param escrow The escrow's permit and witness, as authorized.
    /// @param amount Gross amount to capture.
    /// @param facilitatorFeeBps Fee for this capture, at most the signed maximum.
    /// @param evidenceHash Hash of the evidence of the work paid by this capture.
    function capture(
        EscrowRef calldata escrow,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash
    ) external;

    /// @notice Returns the uncaptured rest of an escrow to the payer and closes it.
    /// @dev Callable by the escrow's payee or facilitator at any time.
    /// @param escrow The escrow's permit and witness, as authorized.
    function void(EscrowRef calldata escrow) external;

    /// @notice Returns the uncaptured rest of an escrow to its payer once the authorization expired,
    /// and closes it.
    /// @dev Callable by anyone (the funds can only go to the payer); nothing the owner controls can block it.
    /// @param escrow The escrow's permit and witness, as authorized.
    function reclaim(EscrowRef calldata escrow) external;

    /// @notice The payee returns captured funds to the payer (pulled from the payee, who must approve).
    /// @dev Only the payee, before the refund expiry, at most captured minus already refunded.
    /// @param escrow The escrow's permit and witness, as authorized.
    /// @param amount Amount returned to the payer.
    function refund(EscrowRef calldata escrow, uint256 amount) external;

    /// @notice Executes the payer's EIP-3009 authorization on `token` (funds go straight from `payer`
    /// to `payee`) and records it with `evidenceHash` in one `AuthorizationCharged` event.
    /// @dev The token checks the signature, the validity window and the nonce. Every argument except
    /// `evidenceHash` is part of what the payer signed. The spending policy does not apply and no fee
    /// is taken (see `Eip3009Settlement`).
    /// @param token The EIP-3009 token (the EIP-712 verifying contract of the signature).
    /// @param payer The authorization's `from` (an EOA, or an EIP-1271 wallet if the token supports it).
    /// @param payee The authorization's `to`.
    /// @param amount The authorization's `value`.
    /// @param validAfter The authorization's `validAfter`.
    /// @param validBefore The authorization's `validBefore`.
    /// @param nonce The authorization's nonce.
    /// @param signature The payer's signature (65-byte ECDSA, or wallet-specific bytes for EIP-1271).
    /// @param evidenceHash Hash of the evidence of the work paid for (zero when none).
    /// @return paymentId `keccak256(abi.encode(block.chainid, address(this), token, payer, nonce))`.
    function chargeWithAuthorization(
        address token,
        address payer,
        address payee,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature,
        bytes32 evidenceHash
    ) external returns (bytes32 paymentId);

    // ---------------------------------------------------------------- payer and payee settings

    /// @notice Sets the caller's spending policy for `token` (all zero removes it) and consumes the
    /// caller's policy nonce, so no policy signed earlier can be submitted afterwards.
    /// @dev A tightening applies at once; a loosening applies `loosenDelay` seconds (of the policy in
    /// force) later. Setting the policy in force again cancels a pending loosening.
    /// @param token The payment token the budget is counted in.
    /// @param policy The new budget.
    function setSpendingPolicy(address token, SpendingPolicy calldata policy) external;

    /// @notice Sets `payer`'s policy from its EIP-712 signature (EOA or EIP-1271), so a gasless
    /// agent can bind itself. Signed type:
    /// `SetSpendingPolicy(address payer,address token,uint128 maxPerPayment,uint128 maxPerPeriod,uint32 period,uint32 loosenDelay,uint256 nonce,uint256 deadline)`
    /// under this contract's domain (name "X402Settlement", version "1"). Same timing rules as
    /// `setSpendingPolicy`.
    /// @param payer The payer whose policy changes.
    /// @param token The payment token.
    /// @param policy The new budget.
    /// @param deadline Signature expiry timestamp.
    /// @param signature The payer's signature; `policyNonces(payer)` is consumed.
    function setSpendingPolicyBySig(
        address payer,
        address token,
        SpendingPolicy calldata policy,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Registers the caller's revenue split: each recipient gets `bps` of every net payment
    /// to the caller; the payee keeps the rest. Empty arrays remove the split.
    /// @param recipients Split recipients (non-zero, not the caller, not this contract, at most 8).
    /// @param bps Their shares in basis points, summing to at most 10,000.
    function setSplit(address[] calldata recipients, uint16[] calldata bps) external;

    // ---------------------------------------------------------------- owner and treasury

    /// @notice Changes the protocol fee taken from every settled amount (charges and captures). A
    /// decrease applies at once; an increase applies `PROTOCOL_FEE_INCREASE_DELAY` seconds later and
    /// never to escrows authorized before it applies.
    /// @param bps The fee in basis points of the gross amount (0 disables it), at most `MAX_PROTOCOL_FEE_BPS`.
    function setProtocolFee(uint16 bps) external;

    /// @notice Sets the treasury allowed to withdraw accrued protocol fees.
    /// @param treasury The new treasury (non-zero, not this contract).
    function setTreasury(address treasury) external;

    /// @notice Sends all protocol fees accrued in `token` to `to`. Only the treasury.
    /// @param token The token to withdraw.
    /// @param to The receiver (non-zero, not this contract), so a treasury a token refuses can still be paid.
    /// @return amount The amount withdrawn.
    function withdrawProtocolFees(address token, address to) external returns (uint256 amount);

    // ---------------------------------------------------------------- views

    /// @notice The id of the payment `payer` signs with Permit2 nonce `nonce`.
    function paymentIdOf(address payer, uint256 nonce) external view returns (bytes32);

    /// @notice The Merkle leaf a settled batch item contributes to the evidence root.
    function evidenceLeaf(bytes32 paymentId, bytes32 evidenceHash) external pure returns (bytes32);

    /// @notice Whether `(paymentId, evidenceHash)` is included under the evidence root of `batchId`.
    /// @param proof Sibling hashes from leaf to root (sorted-pair hashing, as OpenZeppelin's MerkleProof).
    function verifyEvidence(
        uint256 batchId,
        bytes32 paymentId,
        bytes32 evidenceHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice An escrow's current state (status None when `escrow` names no authorized escrow).
    function escrowOf(EscrowRef calldata escrow) external view returns (EscrowState memory);

    /// @notice How much `payer` may still settle in `token` right now under its policy.
    function remainingBudget(address payer, address token) external view returns (uint256);

    /// @notice `payer`'s policy in force for `token` now (all zero when none).
    /// @param payer The payer.
    /// @param token The payment token.
    /// @return policy The policy that applies to a settlement now.
    function spendingPolicyOf(address payer, address token)
        external
        view
        returns (SpendingPolicy memory policy);

    /// @notice `payer`'s loosening for `token` that has not applied yet (`effectiveAt` 0 when none).
    /// @param payer The payer.
    /// @param token The payment token.
    /// @return policy The pending policy.
    /// @return effectiveAt When it applies.
    function pendingSpendingPolicyOf(address payer, address token)
        external
        view
        returns (SpendingPolicy memory policy, uint48 effectiveAt);

    /// @notice Next policy nonce of `payer`: the nonce a signed policy must carry; every policy change
    /// (transaction or signature) consumes it.
    function policyNonces(address payer) external view returns (uint256);

    /// @notice `payee`'s revenue split (empty arrays when none).
    /// @param payee The payee.
    /// @return recipients The split recipients.
    /// @return bps Their shares in basis points.
    function splitOf(address payee) external view returns (address[] memory recipients, uint16[] memory bps);

    /// @notice The protocol fee in force, a scheduled increase and the treasury.
    /// @return bps The fee that applies to a settlement now, in basis points.
    /// @return pendingBps A scheduled increase (0 when none).
    /// @return pendingEffectiveAt When the increase applies (0 when none).
    /// @return treasury Who may withdraw accrued fees.
    function protocolFee()
        external
        view
        returns (uint16 bps, uint16 pendingBps, uint48 pendingEffectiveAt, address treasury);

    /// @notice Protocol fees accrued in `token` and not yet withdrawn.
    function accruedProtocolFees(address token) external view returns (uint256);

    /// @notice Id of the last batch settled (batch ids start at 1).
    function lastBatchId() external view returns (uint256);

    /// @notice Evidence Merkle root committed by batch `batchId` (zero if none was asked or nothing settled).
    function evidenceRootOf(uint256 batchId) external view returns (bytes32);

    /// @notice The payment id `chargeWithAuthorization` gives an authorization.
    /// @param token The EIP-3009 token.
    /// @param payer The authorization's `from`.
    /// @param nonce The authorization's nonce.
    /// @return The payment id.
    function authorizationPaymentId(address token, address payer, bytes32 nonce)
        external
        view
        returns (bytes32);

    /// @notice The Permit2 contract every Permit2 payment is pulled through.
    function PERMIT2() external view returns (ISignatureTransfer);

    /// @notice EIP-712 domain separator of this contract (name "X402Settlement", version "1"), used by
    /// `setSpendingPolicyBySig`.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    // ---------------------------------------------------------------- constants

    /// @notice Most recipients a payee's revenue split can have.
    function MAX_SPLIT_RECIPIENTS() external view returns (uint256);

    /// @notice Gas `chargeBatch` keeps back, besides `BATCH_RESERVE_GAS_PER_ITEM` per item, to finish
    /// a batch (failure events, evidence root, facilitator fee transfers) after its last item.
    function BATCH_RESERVE_GAS() external view returns (uint256);

    /// @notice Per-item part of the gas `chargeBatch` keeps back to finish a batch.
    function BATCH_RESERVE_GAS_PER_ITEM() external view returns (uint256);

    /// @notice Longest `loosenDelay` a spending policy may choose.
    function MAX_LOOSEN_DELAY() external view returns (uint32);

    /// @notice EIP-712 type hash of a spending policy signed by its payer.
    function SET_SPENDING_POLICY_TYPEHASH() external view returns (bytes32);

    /// @notice Hard cap of the protocol fee the owner can set, in basis points (1%).
    function MAX_PROTOCOL_FEE_BPS() external view returns (uint16);

    /// @notice How long a protocol fee increase waits before it applies.
    function PROTOCOL_FEE_INCREASE_DELAY() external view returns (uint48);
}
