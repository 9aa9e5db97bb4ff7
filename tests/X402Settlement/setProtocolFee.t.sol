// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetProtocolFeeTest is SettlementTestBase {
    function test_setProtocolFee_storesAndEmits() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.ProtocolFeeSet(75, treasury);
        vm.prank(owner);
        settlement.setProtocolFee(75, treasury);
        (uint16 bps, address storedTreasury) = settlement.protocolFee();
        assertEq(bps, 75);
        assertEq(storedTreasury, treasury);
    }

    function test_setProtocolFee_chargedOnGross() public {
        vm.prank(owner);
        settlement.setProtocolFee(100, treasury);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        (uint256 fee, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 100);
        assertEq(token.balanceOf(treasury), protocolFee);
        assertEq(token.balanceOf(payee), AMOUNT - fee - protocolFee);
    }

    function test_setProtocolFee_disable() public {
        vm.startPrank(owner);
        settlement.setProtocolFee(100, treasury);
        settlement.setProtocolFee(0, address(0));
        vm.stopPrank();
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        assertEq(token.balanceOf(treasury), 0);
    }

    /// The fee in force at capture time applies to escrows authorized earlier.
    function test_setProtocolFee_appliesToLaterCaptures() public {
        bytes32 id = authorizeEscrow(AMOUNT);
        vm.prank(owner);
        settlement.setProtocolFee(50, treasury);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT, 0, EVIDENCE_HASH);
        assertEq(token.balanceOf(treasury), AMOUNT * 50 / 10_000);
    }

    function test_setProtocolFee_newOwnerAfterTwoStepTransfer() public {
        address newOwner = makeAddr("new owner");
        vm.prank(owner);
        settlement.transferOwnership(newOwner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newOwner));
        vm.prank(newOwner);
        settlement.setProtocolFee(10, treasury);
        vm.prank(newOwner);
        settlement.acceptOwnership();
        vm.prank(newOwner);
        settlement.setProtocolFee(10, treasury);
        (uint16 bps,) = settlement.protocolFee();
        assertEq(bps, 10);
    }

    function testFuzz_setProtocolFee(uint16 bps, uint256 amount) public {
        bps = uint16(bound(bps, 1, 100));
        amount = bound(amount, 1, PAYER_BALANCE);
        vm.prank(owner);
        settlement.setProtocolFee(bps, treasury);
        chargeAsFacilitator(makePayment(amount, MODE_EXACT), amount);
        (uint256 fee, uint256 protocolFee) = feesOf(amount, FEE_BPS, bps);
        assertEq(token.balanceOf(treasury), protocolFee);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(payee), amount - fee - protocolFee);
    }

    function test_setProtocolFee_revert_notOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, facilitator));
        vm.prank(facilitator);
        settlement.setProtocolFee(10, treasury);
    }

    function test_setProtocolFee_revert_tooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.ProtocolFeeTooHigh.selector, 101, 100));
        vm.prank(owner);
        settlement.setProtocolFee(101, treasury);
    }

    function testFuzz_setProtocolFee_revert_tooHigh(uint16 bps) public {
        bps = uint16(bound(bps, 101, type(uint16).max));
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.ProtocolFeeTooHigh.selector, bps, 100));
        vm.prank(owner);
        settlement.setProtocolFee(bps, treasury);
    }

    function test_setProtocolFee_revert_zeroTreasury() public {
        vm.expectRevert(IX402Settlement.ZeroAddress.selector);
        vm.prank(owner);
        settlement.setProtocolFee(10, address(0));
    }
}
