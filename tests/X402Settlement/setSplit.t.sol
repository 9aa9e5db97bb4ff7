// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetSplitTest is SettlementTestBase {
    function recipientsOf(uint256 count) internal returns (address[] memory recipients) {
        recipients = new address[](count);
        for (uint256 i; i < count; ++i) {
            recipients[i] = makeAddr(string.concat("recipient ", vm.toString(i)));
        }
    }

    function bpsOf(uint256 count, uint16 each) internal pure returns (uint16[] memory bps) {
        bps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            bps[i] = each;
        }
    }

    function setSplitAs(address who, address[] memory recipients, uint16[] memory bps) internal {
        vm.prank(who);
        settlement.setSplit(recipients, bps);
    }

    function test_setSplit_storesAndEmits() public {
        address[] memory recipients = recipientsOf(2);
        uint16[] memory bps = new uint16[](2);
        bps[0] = 1_500;
        bps[1] = 250;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitSet(payee, recipients, bps);
        setSplitAs(payee, recipients, bps);
        (address[] memory storedRecipients, uint16[] memory storedBps) = settlement.splitOf(payee);
        assertEq(storedRecipients, recipients);
        assertEq(storedBps.length, 2);
        assertEq(storedBps[0], 1_500);
        assertEq(storedBps[1], 250);
    }

    function test_setSplit_replaceWithShorterClearsOldRecipients() public {
        setSplitAs(payee, recipientsOf(3), bpsOf(3, 100));
        address[] memory one = new address[](1);
        one[0] = makeAddr("only");
        setSplitAs(payee, one, bpsOf(1, 700));
        (address[] memory storedRecipients, uint16[] memory storedBps) = settlement.splitOf(payee);
        assertEq(storedRecipients.length, 1);
        assertEq(storedRecipients[0], one[0]);
        assertEq(storedBps[0], 700);
        // Only the new recipient is paid.
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        address[] memory old = recipientsOf(3);
        assertEq(token.balanceOf(old[1]), 0);
        assertEq(token.balanceOf(old[2]), 0);
        assertGt(token.balanceOf(one[0]), 0);
    }

    function test_setSplit_removeWithEmptyArrays() public {
        setSplitAs(payee, recipientsOf(2), bpsOf(2, 1_000));
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitSet(payee, new address[](0), new uint16[](0));
        setSplitAs(payee, new address[](0), new uint16[](0));
        (address[] memory storedRecipients,) = settlement.splitOf(payee);
        assertEq(storedRecipients.length, 0);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
    }

    function test_setSplit_maxRecipientsAndWholeAmount() public {
        address[] memory recipients = recipientsOf(8);
        setSplitAs(payee, recipients, bpsOf(8, 1_250));
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        uint256 net = AMOUNT - fee;
        uint256 paid;
        for (uint256 i; i < 8; ++i) {
            assertEq(token.balanceOf(recipients[i]), net * 1_250 / 10_000);
            paid += net * 1_250 / 10_000;
        }
        assertEq(token.balanceOf(payee), net - paid, "rounding dust stays with the payee");
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_setSplit_zeroShareIsSkipped() public {
        address[] memory recipients = recipientsOf(1);
        setSplitAs(payee, recipients, bpsOf(1, 1));
        IX402Settlement.SignedPayment memory payment = makePayment(100, MODE_EXACT);
        vm.recordLogs();
        vm.prank(facilitator);
        settlement.charge(payment, 100, 0, EVIDENCE_HASH);
        assertEq(token.balanceOf(recipients[0]), 0, "1 bp of 100 units rounds to zero");
        assertEq(token.balanceOf(payee), 100);
        bytes32 splitPaid = IX402Settlement.SplitPaid.selector;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 splitEvents;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == splitPaid) ++splitEvents;
        }
        assertEq(splitEvents, 0);
    }

    function testFuzz_setSplit_payouts(uint16 bpsA, uint16 bpsB, uint256 amount) public {
        bpsA = uint16(bound(bpsA, 1, 9_999));
        bpsB = uint16(bound(bpsB, 1, 10_000 - bpsA));
        amount = bound(amount, 1, PAYER_BALANCE);
        address[] memory recipients = recipientsOf(2);
        uint16[] memory bps = new uint16[](2);
        bps[0] = bpsA;
        bps[1] = bpsB;
        setSplitAs(payee, recipients, bps);
        chargeAsFacilitator(makePayment(amount, MODE_EXACT), amount);
        (uint256 fee,) = feesOf(amount, FEE_BPS, 0);
        uint256 net = amount - fee;
        assertEq(token.balanceOf(recipients[0]), net * bpsA / 10_000);
        assertEq(token.balanceOf(recipients[1]), net * bpsB / 10_000);
        assertEq(token.balanceOf(payee), net - net * bpsA / 10_000 - net * bpsB / 10_000);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    // ---------------------------------------------------------------- reverts

    function test_setSplit_revert_lengthMismatch() public {
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipientsOf(2), bpsOf(1, 100));
    }

    function test_setSplit_revert_tooManyRecipients() public {
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipientsOf(9), bpsOf(9, 100));
    }

    function test_setSplit_revert_zeroRecipient() public {
        address[] memory recipients = recipientsOf(2);
        recipients[1] = address(0);
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipients, bpsOf(2, 100));
    }

    function test_setSplit_revert_selfRecipient() public {
        address[] memory recipients = recipientsOf(1);
        recipients[0] = payee;
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipients, bpsOf(1, 100));
    }

    function test_setSplit_revert_settlementAsRecipient() public {
        address[] memory recipients = recipientsOf(2);
        recipients[1] = address(settlement);
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipients, bpsOf(2, 100));
    }

    function test_setSplit_revert_zeroBps() public {
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipientsOf(1), bpsOf(1, 0));
    }

    function test_setSplit_revert_sumAboveWhole() public {
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipientsOf(2), bpsOf(2, 5_001));
    }

    function testFuzz_setSplit_revert_sumAboveWhole(uint16 bpsA, uint16 bpsB) public {
        bpsA = uint16(bound(bpsA, 1, 10_000));
        bpsB = uint16(bound(bpsB, 10_001 - bpsA, type(uint16).max));
        uint16[] memory bps = new uint16[](2);
        bps[0] = bpsA;
        bps[1] = bpsB;
        vm.expectRevert(IX402Settlement.InvalidSplit.selector);
        setSplitAs(payee, recipientsOf(2), bps);
    }
}
