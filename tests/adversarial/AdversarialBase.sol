// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {SettlementTestBase} from "../base/SettlementTestBase.sol";

/// @notice SettlementTestBase plus helpers to pay in tokens other than the default test token.
abstract contract AdversarialBase is SettlementTestBase {
    /// @notice Permit for `amount` of `paymentToken` with a fresh nonce, expiring in an hour.
    function permitFor(address paymentToken, uint256 amount)
        internal
        returns (ISignatureTransfer.PermitTransferFrom memory)
    {
        return ISignatureTransfer.PermitTransferFrom({
            permitted: ISignatureTransfer.TokenPermissions({token: paymentToken, amount: amount}),
            nonce: nextNonce(),
            deadline: block.timestamp + PERMIT_LIFETIME
        });
    }

    /// @notice The default payer's payment of `amount` of `paymentToken` in `mode`, for `settlement`.
    function paymentIn(address paymentToken, uint256 amount, uint8 mode)
        internal
        returns (IX402Settlement.SignedPayment memory)
    {
        return makePayment(payerKey, permitFor(paymentToken, amount), defaultTerms(mode));
    }

    /// @notice Has `payer` approve Permit2 for all of `paymentToken` (any token with `approve`).
    function approvePermit2(address who, address paymentToken) internal {
        vm.prank(who);
        (bool ok,) = paymentToken.call(abi.encodeWithSignature("approve(address,uint256)", address(permit2), type(uint256).max));
        require(ok, "approve failed");
    }

    /// @notice Authorizes an escrow of `amount` of `paymentToken` from the default payer; returns what
    /// later calls pass to name it.
    function authorizeIn(address paymentToken, uint256 amount) internal returns (IX402Settlement.EscrowRef memory) {
        IX402Settlement.SignedPayment memory payment = paymentIn(paymentToken, amount, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(payment);
        return escrowRefOf(payment);
    }
}
