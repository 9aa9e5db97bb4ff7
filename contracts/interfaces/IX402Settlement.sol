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
///   PaymentTerms(address payee,address facilitator,bytes32 requestHash,uint16 maxFacilitatorFeeBps,uint48 validAfter,uint8 mode,uint48 authorizationExpiry,uint48 refundExpiry)
///   TokenPermissions(address token,uint256 amount)
///
/// under Permit2's domain (name "Permit2", chainId, verifyingContract = Permit2). `permitted.amount` is
/// the exact amount (mode Exact) or the maximum (modes Upto and Escrow). The payment id is
/// `keccak256(abi.encode(block.chainid, address(this), payer, nonce))`, so a facilitator knows it
/// before settling and a nonce can settle at most once.
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
    /// @param payee Who receives the payment (net of fees and splits).
    /// @param facilitator The only address allowed to settle this payment.
    /// @param requestHash Hash of the inference request this payment is for.
    /// @param maxFacilitatorFeeBps Upper bound of the facilitator fee, in basis points of the settled amount.
    /// @param validAfter The payment cannot settle before this timestamp.
    /// @param mode A `PaymentMode`, as uint8.
    /// @param authorizationExpiry Escrow only: captures stop and the payer may reclaim from this timestamp.
    /// @param refundExpiry Escrow only: the payee can refund captured funds until this timestamp.
    struct PaymentTerms {
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
    /// @param payer The signer (EOA or EIP-1271 wallet) whose tokens move.
    /// @param terms The witness the payer signed.
    /// @param signature The payer's signature over the permit and witness.
    struct SignedPayment {
        ISignatureTransfer.PermitTransferFrom permit;
        address payer;
        PaymentTerms terms;
        bytes signature;
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
    struct SpendingPolicy {
        uint128 maxPerPayment;
        uint128 maxPerPeriod;
        uint32 period;
    }

    /// @notice Lifecycle state of an escrowed payment.
    struct Escrow {
        address payer;
        address payee;
        address facilitator;
        address token;
        uint16 maxFacilitatorFeeBps;
        uint48 authorizationExpiry;
        uint48 refundExpiry;
        bool closed;
        uint256 authorized;
        uint256 captured;
        uint256 refunded;
    }

    // ---------------------------------------------------------------- events

    /// @notice An Exact or Upto payment settled. `amount` is gross; the payee received
    /// `amount - facilitatorFee - protocolFee - sum(split payouts)`.
    /// @param batchId 0 when settled alone, else the batch it settled in.
    /// @param maxAmount The signed amount (Exact) or maximum (Upto).
    event PaymentCharged(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint8 mode,
        uint256 amount,
        uint256 maxAmount,
        uint256 facilitatorFee,
        uint256 protocolFee,
        bytes32 requestHash,
        bytes32 evidenceHash,
        uint256 batchId
    );

    /// @notice An escrow was funded with `amount` pulled from the payer.
    event PaymentAuthorized(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 amount,
        uint16 maxFacilitatorFeeBps,
        uint48 authorizationExpiry,
        uint48 refundExpiry,
        bytes32 requestHash
    );

    /// @notice Part of an escrow was captured for the payee, with the evidence of the work.
    event PaymentCaptured(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 amount,
        uint256 facilitatorFee,
        uint256 protocolFee,
        bytes32 evidenceHash
    );

    /// @notice The payee or facilitator released the uncaptured rest of an escrow to the payer.
    event PaymentVoided(
        bytes32 indexed paymentId, address indexed payer, address indexed by, address token, uint256 amount
    );

    /// @notice The payer took back the uncaptured rest of an escrow after its authorization expiry.
    event PaymentReclaimed(bytes32 indexed paymentId, address indexed payer, address token, uint256 amount);

    /// @notice The payee returned captured funds to the payer.
    event PaymentRefunded(
        bytes32 indexed paymentId, address indexed payer, address indexed payee, address token, uint256 amount
    );

    /// @notice Part of a settled amount went to a payee's registered split recipient.
    event SplitPaid(bytes32 indexed paymentId, address indexed payee, address indexed recipient, uint256 amount);

    /// @notice A batch item was skipped; `reason` is the revert data (a custom error) that stopped it.
    event BatchItemFailed(
        uint256 indexed batchId, uint256 index, bytes32 indexed paymentId, address indexed payer, bytes reason
    );

    /// @notice A batch finished. `evidenceRoot` is the Merkle root over its settled items (0 if not asked).
    event BatchSettled(
        uint256 indexed batchId,
        address indexed facilitator,
        uint256 itemCount,
        uint256 settledCount,
        bytes32 evidenceRoot
    );

    /// @notice A payer set (or, all zero, removed) its budget for `token`.
    event SpendingPolicySet(
        address indexed payer, address indexed token, uint128 maxPerPayment, uint128 maxPerPeriod, uint32 period
    );

    /// @notice A payee registered (or, empty, removed) the revenue split applied to its payments.
    event SplitSet(address indexed payee, address[] recipients, uint16[] bps);

    /// @notice The owner changed the protocol fee.
    event ProtocolFeeSet(uint16 bps, address treasury);

    // ---------------------------------------------------------------- errors

    error WrongMode(uint8 expected, uint8 signed);
    error NotFacilitator(address caller, address signedFacilitator);
    error NotYetValid(uint48 validAfter, uint256 nowTimestamp);
    error ZeroAmount();
    error AmountMismatch(uint256 amount, uint256 signedAmount);
    error AmountAboveMaximum(uint256 amount, uint256 signedMaximum);
    error FeeAboveMaximum(uint16 feeBps, uint16 signedMaxFeeBps);
    error InvalidExpiries(uint48 authorizationExpiry, uint48 refundExpiry);
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
    error ProtocolFeeTooHigh(uint16 bps, uint16 maxBps);
    error ZeroAddress();
    error EmptyBatch();
    error SignatureExpired(uint256 deadline);
    error InvalidSignature();
    error OnlySelf();

    // ---------------------------------------------------------------- settlement

    /// @notice Settles an Exact or Upto payment: pulls `amount` from the payer through Permit2,
    /// pays fees and splits, and emits `PaymentCharged` with the evidence hash.
    /// @dev Only `terms.facilitator` may call. Exact requires `amount == permit.permitted.amount`;
    /// Upto requires `0 < amount <= permit.permitted.amount` and the rest never leaves the payer.
    /// Enforces the payer's spending policy.
    /// @param payment The signed payment.
    /// @param amount The amount to settle.
    /// @param facilitatorFeeBps The facilitator's fee, at most `terms.maxFacilitatorFeeBps`.
    /// @param evidenceHash Hash of the evidence of the work done.
    /// @return paymentId The payment's id.
    function charge(SignedPayment calldata payment, uint256 amount, uint16 facilitatorFeeBps, bytes32 evidenceHash)
        external
        returns (bytes32 paymentId);

    /// @notice Settles many Exact/Upto payments in one transaction. A failing item is skipped with
    /// `BatchItemFailed`; the others settle.
    /// @param items The payments to settle; every item must name the caller as facilitator.
    /// @param commitEvidenceRoot When true, computes and emits a Merkle root over the settled items'
    /// `evidenceLeaf(paymentId, evidenceHash)`, in item order, verifiable with `verifyEvidence`.
    /// @return batchId The batch's id (starting at 1).
    /// @return settled For each item, whether it settled.
    function chargeBatch(BatchItem[] calldata items, bool commitEvidenceRoot)
        external
        returns (uint256 batchId, bool[] memory settled);

    /// @notice Funds an escrow: pulls the signed maximum from the payer into this contract.
    /// @dev Only `terms.facilitator` may call; mode must be Escrow; the payer's policy is charged
    /// the full authorized amount.
    /// @param payment The signed payment (mode Escrow, with its expiries).
    /// @return paymentId The escrow's id.
    function authorize(SignedPayment calldata payment) external returns (bytes32 paymentId);

    /// @notice Captures part of an escrow for the payee, recording the evidence for this part.
    /// @dev Only the escrow's facilitator, before the authorization expiry, never above what remains.
    /// @param paymentId The escrow.
    /// @param amount Gross amount to capture.
    /// @param facilitatorFeeBps Fee for this capture, at most the signed maximum.
    /// @param evidenceHash Hash of the evidence of the work paid by this capture.
    function capture(bytes32 paymentId, uint256 amount, uint16 facilitatorFeeBps, bytes32 evidenceHash) external;

    /// @notice Returns the uncaptured rest of an escrow to the payer and closes it.
    /// @dev Callable by the escrow's payee or facilitator at any time.
    /// @param paymentId The escrow.
    function void(bytes32 paymentId) external;

    /// @notice Lets the payer take back the uncaptured rest of an escrow once the authorization expired.
    /// @dev Callable only by the payer; nothing (not even the owner) can block it.
    /// @param paymentId The escrow.
    function reclaim(bytes32 paymentId) external;

    /// @notice The payee returns captured funds to the payer (pulled from the payee, who must approve).
    /// @dev Only the payee, before the refund expiry, at most captured minus already refunded.
    /// @param paymentId The escrow.
    /// @param amount Amount returned to the payer.
    function refund(bytes32 paymentId, uint256 amount) external;

    // ---------------------------------------------------------------- payer and payee settings

    /// @notice Sets the caller's spending policy for `token` (all zero removes it).
    /// @param token The payment token the budget is counted in.
    /// @param policy The new budget.
    function setSpendingPolicy(address token, SpendingPolicy calldata policy) external;

    /// @notice Sets `payer`'s policy from its EIP-712 signature (EOA or EIP-1271), so a gasless
    /// agent can bind itself. Signed type:
    /// `SetSpendingPolicy(address payer,address token,uint128 maxPerPayment,uint128 maxPerPeriod,uint32 period,uint256 nonce,uint256 deadline)`
    /// under this contract's domain (name "X402Settlement", version "1").
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
    /// @param recipients Split recipients (non-zero, at most 8).
    /// @param bps Their shares in basis points, summing to at most 10,000.
    function setSplit(address[] calldata recipients, uint16[] calldata bps) external;

    // ---------------------------------------------------------------- views

    /// @notice The id of the payment `payer` signs with Permit2 nonce `nonce`.
    function paymentIdOf(address payer, uint256 nonce) external view returns (bytes32);

    /// @notice The Merkle leaf a settled batch item contributes to the evidence root.
    function evidenceLeaf(bytes32 paymentId, bytes32 evidenceHash) external pure returns (bytes32);

    /// @notice Whether `(paymentId, evidenceHash)` is included under the evidence root of `batchId`.
    /// @param proof Sibling hashes from leaf to root (sorted-pair hashing, as OpenZeppelin's MerkleProof).
    function verifyEvidence(uint256 batchId, bytes32 paymentId, bytes32 evidenceHash, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice An escrow's current state.
    function escrowOf(bytes32 paymentId) external view returns (Escrow memory);

    /// @notice How much `payer` may still settle in `token` right now under its policy.
    function remainingBudget(address payer, address token) external view returns (uint256);
}
