// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetProtocolFeeTest is SettlementTestBase {
    uint48 internal delay;

    function setUp() public override {
        super.setUp();
        delay = settlement.PROTOCOL_FEE_INCREASE_DELAY();
    }

    function feeNow() internal view returns (uint16 bps) {
        (bps,,,) = settlement.protocolFee();
    }

    // ---------------------------------------------------------------- increases wait, decreases apply

    function test_setProtocolFee_increaseIsScheduled() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.ProtocolFeeChanged(0, 75, uint48(block.timestamp) + delay);
        vm.prank(owner);
        settlement.setProtocolFee(75);
        (uint16 bps, uint16 pendingBps, uint48 pendingAt,) = settlement.protocolFee();
        assertEq(bps, 0, "not yet in force");
        assertEq(pendingBps, 75);
        assertEq(pendingAt, uint48(block.timestamp) + delay);

        vm.warp(block.timestamp + delay - 1);
        assertEq(feeNow(), 0);
        vm.warp(block.timestamp + 1);
        (bps, pendingBps, pendingAt,) = settlement.protocolFee();
        assertEq(bps, 75, "in force after the delay, without another transaction");
        assertEq(pendingBps, 0);
        assertEq(pendingAt, 0);
    }

    /// A charge in the delay pays the old fee; one after it pays the new fee.
    function test_setProtocolFee_increaseNotChargedBeforeDelay() public {
        vm.prank(owner);
        settlement.setProtocolFee(100);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        assertEq(settlement.accruedProtocolFees(address(token)), 0, "the old fee (0) applied");

        vm.warp(block.timestamp + delay);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        (, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 100);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee);
    }

    function test_setProtocolFee_decreaseAppliesAtOnce() public {
        setProtocolFeeNow(80);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.ProtocolFeeChanged(80, 30, uint48(block.timestamp));
        vm.prank(owner);
        settlement.setProtocolFee(30);
        assertEq(feeNow(), 30);
    }

    /// A decrease while an increase is pending cancels the increase.
    function test_setProtocolFee_decreaseCancelsPendingIncrease() public {
        setProtocolFeeNow(20);
        vm.startPrank(owner);
        settlement.setProtocolFee(100);
        settlement.setProtocolFee(10);
        vm.stopPrank();
        vm.warp(block.timestamp + delay + 1);
        (uint16 bps, uint16 pendingBps,,) = settlement.protocolFee();
        assertEq(bps, 10);
        assertEq(pendingBps, 0);
    }

    /// Rescheduling an increase restarts the delay from the fee in force.
    function test_setProtocolFee_rescheduleRestartsDelay() public {
        vm.startPrank(owner);
        settlement.setProtocolFee(50);
        vm.warp(block.timestamp + delay - 1);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.ProtocolFeeChanged(0, 60, uint48(block.timestamp) + delay);
        settlement.setProtocolFee(60);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
        assertEq(feeNow(), 0);
        vm.warp(block.timestamp + delay);
        assertEq(feeNow(), 60);
    }

    /// An escrow authorized under a fee keeps it: an increase that applies later is not charged on
    /// its captures.
    function test_setProtocolFee_increaseNotAppliedToOpenEscrow() public {
        setProtocolFeeNow(10);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.authorizationExpiry = uint48(block.timestamp) + 2 * delay;
        terms.refundExpiry = terms.authorizationExpiry;
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.prank(facilitator);
        settlement.authorize(payment);

        vm.prank(owner);
        settlement.setProtocolFee(100);
        vm.warp(block.timestamp + delay);
        assertEq(feeNow(), 100);
        vm.prank(facilitator);
        settlement.capture(escrowRefOf(payment), AMOUNT, 0, EVIDENCE_HASH);
        (, uint256 protocolFee) = feesOf(AMOUNT, 0, 10);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee, "the authorize-time fee");
    }

    function test_setProtocolFee_disable() public {
        setProtocolFeeNow(100);
        vm.prank(owner);
        settlement.setProtocolFee(0);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        assertEq(settlement.accruedProtocolFees(address(token)), 0);
    }

    function test_setProtocolFee_newOwnerAfterTwoStepTransfer() public {
        address newOwner = makeAddr("new owner");
        vm.prank(owner);
        Ownable2Step(address(settlement)).transferOwnership(newOwner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newOwner));
        vm.prank(newOwner);
        settlement.setProtocolFee(10);
        vm.prank(newOwner);
        Ownable2Step(address(settlement)).acceptOwnership();
        vm.prank(newOwner);
        settlement.setProtocolFee(10);
        (, uint16 pendingBps,,) = settlement.protocolFee();
        assertEq(pendingBps, 10);
    }

    function testFuzz_setProtocolFee(uint16 bps, uint256 amount) public {
        bps = uint16(bound(bps, 1, 100));
        amount = bound(amount, 1, PAYER_BALANCE);
        setProtocolFeeNow(bps);
        chargeAsFacilitator(makePayment(amount, MODE_EXACT), amount);
        (uint256 fee, uint256 protocolFee) = feesOf(amount, FEE_BPS, bps);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(payee), amount - fee - protocolFee);
        assertEq(token.balanceOf(address(settlement)), protocolFee);
    }

    // ---------------------------------------------------------------- reverts

    function test_setProtocolFee_revert_notOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, facilitator));
        vm.prank(facilitator);
        settlement.setProtocolFee(10);
    }

    function test_setProtocolFee_revert_tooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.ProtocolFeeTooHigh.selector, 101, 100));
        vm.prank(owner);
        settlement.setProtocolFee(101);
    }

    function testFuzz_setProtocolFee_revert_tooHigh(uint16 bps) public {
        bps = uint16(bound(bps, 101, type(uint16).max));
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.ProtocolFeeTooHigh.selector, bps, 100));
        vm.prank(owner);
        settlement.setProtocolFee(bps);
    }
}
