// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {Permit2Payments} from "./Permit2Payments.sol";
import {SpendingPolicies} from "./SpendingPolicies.sol";
import {ProtocolFees} from "./ProtocolFees.sol";
import {Splits} from "./Splits.sol";

/// @title Charges
/// @notice One-shot payments (x402 `exact` and `upto`): checks the signed terms, charges the payer's
/// spending policy, pulls the amount through Permit2, accrues the protocol fee, pays the split
/// recipients and payee, and records the evidence in `PaymentCharged`.
/// @dev `_charge` leaves the facilitator fee in this contract: `charge` pays it at once, a batch adds
/// up the fees of its items and pays them once per token run.
abstract contract Charges is Permit2Payments, SpendingPolicies, ProtocolFees, Splits {
    using SafeERC20 for IERC20;

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

    // ---------------------------------------------------------------- internals

    /// @dev Checks, policy, pull, event and payouts of one Exact/Upto charge, except the facilitator
    /// fee, which stays in the contract for the caller to pay. The caller checked the facilitator.
    function _charge(
        SignedPayment calldata payment,
        uint256 amount,
        uint16 facilitatorFeeBps,
        bytes32 evidenceHash,
        uint256 batchId
    ) internal returns (bytes32 paymentId, uint256 facilitatorFee) {
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
}
