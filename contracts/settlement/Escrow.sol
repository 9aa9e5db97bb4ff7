// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {Permit2Payments} from "./Permit2Payments.sol";
import {SpendingPolicies} from "./SpendingPolicies.sol";
import {ProtocolFees} from "./ProtocolFees.sol";
import {Splits} from "./Splits.sol";

/// @title Escrow
/// @notice Escrowed payments (x402 mode Escrow): `authorize` pulls the signed maximum into this
/// contract, `capture` pays parts of it to the payee with the evidence of each part, `void` (payee or
/// facilitator) and `reclaim` (anyone, after the authorization expiry) return the uncaptured rest to
/// the payer, and `refund` lets the payee return captured funds until the refund expiry.
/// @dev One storage slot per escrow (`EscrowState`), keyed by the hash of the permit and witness
/// signed at `authorize`; later calls pass them again as an `EscrowRef`. Limits of the packed slot:
/// `captured` and `refunded` are `uint96` (7.9e28 base units, 79 billion tokens at 18 decimals);
/// `authorize` rejects larger maxima.
abstract contract Escrow is Permit2Payments, SpendingPolicies, ProtocolFees, Splits {
    using SafeERC20 for IERC20;

    /// @dev Bytes of an `EscrowRef` (4 permit words + 9 witness words), hashed into an escrow's key.
    uint256 private constant ESCROW_REF_SIZE = 0x1a0;

    /// @dev Escrows by `keccak256` of their `EscrowRef` words: one slot each.
    mapping(bytes32 escrowKey => EscrowState) private _escrows;

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

    /// @inheritdoc IX402Settlement
    function escrowOf(EscrowRef calldata escrow) external view returns (EscrowState memory) {
        return _escrows[_escrowKey(escrow)];
    }

    // ---------------------------------------------------------------- internals

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
}
