// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {FalseReturningToken} from "../mocks/FalseReturningToken.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice A token that reports failure by returning false (or claims success without moving
/// anything) must not produce a settled payment, and must not let an escrow be marked captured.
contract FalseReturningTokenTest is AdversarialBase {
    FalseReturningToken internal frt;

    function setUp() public override {
        super.setUp();
        frt = new FalseReturningToken();
        frt.mint(payer, PAYER_BALANCE);
        approvePermit2(payer, address(frt));
    }

    function test_charge_returnFalse_reverts_andTheSignatureStaysUsable() public {
        frt.setBehavior(FalseReturningToken.Behavior.ReturnFalse);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(frt), AMOUNT, MODE_EXACT);
        vm.recordLogs();
        // Permit2 pulls with solmate's SafeTransferLib, which rejects a false return.
        vm.expectRevert(bytes("TRANSFER_FROM_FAILED"));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(vm.getRecordedLogs().length, 0, "no PaymentCharged for a payment that did not move");
        assertEq(frt.balanceOf(payee), 0);

        // Nothing was consumed: once the token behaves, the very same signature settles once.
        frt.setBehavior(FalseReturningToken.Behavior.Normal);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(frt.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_charge_claimsSuccessWithoutTransfer_revertsWithTokenReceivedMismatch() public {
        frt.setBehavior(FalseReturningToken.Behavior.ReturnTrueWithoutTransfer);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(frt), AMOUNT, MODE_UPTO);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, 0));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(frt.balanceOf(payee), 0);
        assertEq(frt.balanceOf(facilitator), 0);
    }

    function test_authorize_claimsSuccessWithoutTransfer_revertsWithTokenReceivedMismatch() public {
        frt.setBehavior(FalseReturningToken.Behavior.ReturnTrueWithoutTransfer);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(frt), AMOUNT, MODE_ESCROW);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, 0));
        vm.prank(facilitator);
        settlement.authorize(payment);
    }

    /// The payout side: a capture whose transfer to the payee returns false must revert, leaving the
    /// escrow exactly as it was.
    function test_capture_returnFalse_revertsAndLeavesEscrowUntouched() public {
        IX402Settlement.EscrowRef memory escrowId = authorizeIn(address(frt), AMOUNT);
        frt.setBehavior(FalseReturningToken.Behavior.ReturnFalse);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(frt)));
        vm.prank(facilitator);
        settlement.capture(escrowId, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowId);
        assertEq(escrow.captured, 0);
        assertTrue(escrow.status == IX402Settlement.EscrowStatus.Open);
        assertEq(frt.balanceOf(address(settlement)), AMOUNT);
    }

    function test_void_returnFalse_revertsAndLeavesEscrowOpen() public {
        IX402Settlement.EscrowRef memory escrowId = authorizeIn(address(frt), AMOUNT);
        frt.setBehavior(FalseReturningToken.Behavior.ReturnFalse);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(frt)));
        vm.prank(payee);
        settlement.void(escrowId);
        assertTrue(settlement.escrowOf(escrowId).status == IX402Settlement.EscrowStatus.Open);
    }

    function test_chargeBatch_falseReturningItemFails_othersSettle() public {
        frt.setBehavior(FalseReturningToken.Behavior.ReturnFalse);
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        items[0] = makeBatchItem(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        items[1] = makeBatchItem(paymentIn(address(frt), AMOUNT, MODE_EXACT), AMOUNT);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, false, ITEM_GAS);
        assertTrue(settled[0]);
        assertFalse(settled[1]);
        assertEq(frt.balanceOf(payee), 0);
        assertEq(frt.balanceOf(payer), PAYER_BALANCE);
    }
}
