// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract RefundTest is SettlementTestBase {
    IX402Settlement.EscrowRef internal ref;
    bytes32 internal id;
    uint48 internal refundExpiry;

    function setUp() public override {
        super.setUp();
        ref = authorizeEscrow(AMOUNT);
        id = idOf(ref);
        refundExpiry = ref.terms.refundExpiry;
        vm.prank(facilitator);
        settlement.capture(ref, AMOUNT / 2, 0, EVIDENCE_HASH);
        vm.prank(payee);
        token.approve(address(settlement), type(uint256).max);
    }

    function refundAs(address caller, uint256 amount) internal {
        vm.prank(caller);
        settlement.refund(ref, amount);
    }

    function test_refund_returnsToPayer() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentRefunded(id, payer, payee, address(token), AMOUNT / 2);
        refundAs(payee, AMOUNT / 2);
        assertEq(token.balanceOf(payee), 0);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 2, "the uncaptured half is still escrowed");
        assertEq(token.balanceOf(address(settlement)), AMOUNT / 2);
        assertEq(settlement.escrowOf(ref).refunded, AMOUNT / 2);
    }

    function test_refund_partialTwice() public {
        refundAs(payee, AMOUNT / 8);
        refundAs(payee, AMOUNT / 8);
        assertEq(settlement.escrowOf(ref).refunded, AMOUNT / 4);
        assertEq(token.balanceOf(payee), AMOUNT / 4);
    }

    /// Captured funds stay refundable after the escrow was voided or the authorization expired.
    function test_refund_afterVoidAndAuthorizationExpiry() public {
        vm.prank(payee);
        settlement.void(ref);
        vm.warp(refundExpiry - 1);
        refundAs(payee, AMOUNT / 2);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function testFuzz_refund(uint256 first, uint256 second) public {
        first = bound(first, 1, AMOUNT / 2);
        second = bound(second, 0, AMOUNT / 2 - first);
        refundAs(payee, first);
        if (second != 0) refundAs(payee, second);
        assertEq(settlement.escrowOf(ref).refunded, first + second);
        assertEq(token.balanceOf(payee), AMOUNT / 2 - first - second);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT + first + second);
    }

    function test_refund_revert_unknownPayment() public {
        IX402Settlement.EscrowRef memory unknown = ref;
        unknown.permit.nonce = 12_345;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(unknown)));
        vm.prank(payee);
        settlement.refund(unknown, 1);
    }

    function test_refund_revert_notPayee() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, facilitator));
        refundAs(facilitator, 1);
    }

    function test_refund_revert_expired() public {
        vm.warp(refundExpiry);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.RefundExpired.selector, refundExpiry, refundExpiry)
        );
        refundAs(payee, 1);
    }

    function test_refund_revert_zeroAmount() public {
        vm.expectRevert(IX402Settlement.ZeroAmount.selector);
        refundAs(payee, 0);
    }

    function test_refund_revert_aboveCaptured() public {
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.RefundAboveCaptured.selector, AMOUNT / 2 + 1, AMOUNT / 2)
        );
        refundAs(payee, AMOUNT / 2 + 1);
    }

    function test_refund_revert_aboveWhatIsLeftToRefund() public {
        refundAs(payee, AMOUNT / 2 - 3);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.RefundAboveCaptured.selector, 4, 3));
        refundAs(payee, 4);
    }

    function testFuzz_refund_revert_aboveCaptured(uint256 amount) public {
        amount = bound(amount, AMOUNT / 2 + 1, type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.RefundAboveCaptured.selector, amount, AMOUNT / 2)
        );
        refundAs(payee, amount);
    }

    function test_refund_revert_withoutApproval() public {
        vm.prank(payee);
        token.approve(address(settlement), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(settlement), 0, AMOUNT / 2
            )
        );
        refundAs(payee, AMOUNT / 2);
    }
}
