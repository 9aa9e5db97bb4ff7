// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {ReentrantToken} from "../mocks/ReentrantToken.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice A token that calls back into the settlement contract in the middle of a transfer. Each
/// test re-enters with a call that the token is otherwise entitled to make (it is the escrow's
/// facilitator or payee), then makes the same call outside any transfer as a control, so the only
/// thing that can have stopped the re-entrant call is the reentrancy guard.
contract ReentrancyTest is AdversarialBase {
    ReentrantToken internal rt;
    bytes internal REENTRANT_CALL = abi.encodePacked(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);

    function setUp() public override {
        super.setUp();
        rt = new ReentrantToken();
        rt.mint(payer, PAYER_BALANCE);
        approvePermit2(payer, address(rt));
    }

    /// An escrow in the default token whose facilitator is the reentrant token contract.
    function _escrowFacilitatedByToken(uint256 amount) internal returns (IX402Settlement.EscrowRef memory) {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.facilitator = address(rt);
        IX402Settlement.SignedPayment memory payment = makePayment(payerKey, defaultPermit(amount, nextNonce()), terms);
        vm.prank(address(rt));
        settlement.authorize(payment);
        return escrowRefOf(payment);
    }

    function test_reenterCaptureDuringChargePull_isRefused() public {
        IX402Settlement.EscrowRef memory escrowId = _escrowFacilitatedByToken(AMOUNT);
        rt.arm(
            ReentrantToken.Hook.OnTransferFrom,
            address(settlement),
            abi.encodeCall(settlement.capture, (escrowId, AMOUNT, 0, EVIDENCE_HASH)),
            false
        );

        chargeAsFacilitator(paymentIn(address(rt), AMOUNT, MODE_EXACT), AMOUNT);

        assertTrue(rt.fired(), "the hook must have run during the pull");
        assertFalse(rt.lastCallSucceeded());
        assertEq(rt.lastReturnData(), REENTRANT_CALL);
        assertEq(settlement.escrowOf(escrowId).captured, 0);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(rt.balanceOf(payee), AMOUNT - fee, "the outer charge settled normally");

        // Control: the same call outside a transfer is allowed.
        assertTrue(rt.fire());
        assertEq(settlement.escrowOf(escrowId).captured, AMOUNT);
    }

    function test_reenterVoidDuringCapturePayout_isRefused() public {
        // Escrow in the reentrant token, paying the token contract itself as payee.
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.payee = address(rt);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, permitFor(address(rt), 3 * AMOUNT), terms);
        vm.prank(facilitator);
        settlement.authorize(payment);
        IX402Settlement.EscrowRef memory escrowId = escrowRefOf(payment);

        rt.arm(ReentrantToken.Hook.OnTransfer, address(settlement), abi.encodeCall(settlement.void, (escrowId)), false);
        vm.prank(facilitator);
        settlement.capture(escrowId, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        assertTrue(rt.fired());
        assertFalse(rt.lastCallSucceeded());
        assertEq(rt.lastReturnData(), REENTRANT_CALL);
        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowId);
        assertTrue(escrow.status == IX402Settlement.EscrowStatus.Open);
        assertEq(escrow.captured, AMOUNT);
        assertEq(rt.balanceOf(address(settlement)), 2 * AMOUNT);

        // Control: the payee may void outside a transfer.
        assertTrue(rt.fire());
        assertTrue(settlement.escrowOf(escrowId).status == IX402Settlement.EscrowStatus.Closed);
        assertEq(rt.balanceOf(address(settlement)), 0);
    }

    /// When the token lets the refusal propagate, the payout fails and so does the whole capture.
    /// (On the pull side Permit2 replaces any token revert with its own `TRANSFER_FROM_FAILED`.)
    function test_reenterWithBubblingRevert_failsTheOuterCapture() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.payee = address(rt);
        IX402Settlement.SignedPayment memory payment = makePayment(payerKey, permitFor(address(rt), AMOUNT), terms);
        vm.prank(facilitator);
        settlement.authorize(payment);
        IX402Settlement.EscrowRef memory escrowId = escrowRefOf(payment);

        rt.arm(ReentrantToken.Hook.OnTransfer, address(settlement), abi.encodeCall(settlement.void, (escrowId)), true);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(facilitator);
        settlement.capture(escrowId, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowId);
        assertEq(escrow.captured, 0);
        assertTrue(escrow.status == IX402Settlement.EscrowStatus.Open);
        assertEq(rt.balanceOf(address(settlement)), AMOUNT);
    }

    function test_reenterWithBubblingRevert_onPull_failsTheOuterCharge() public {
        IX402Settlement.EscrowRef memory escrowId = _escrowFacilitatedByToken(AMOUNT);
        rt.arm(
            ReentrantToken.Hook.OnTransferFrom,
            address(settlement),
            abi.encodeCall(settlement.capture, (escrowId, AMOUNT, 0, EVIDENCE_HASH)),
            true
        );
        IX402Settlement.SignedPayment memory payment = paymentIn(address(rt), AMOUNT, MODE_EXACT);
        vm.expectRevert(bytes("TRANSFER_FROM_FAILED"));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(rt.balanceOf(payer), PAYER_BALANCE);
        assertEq(settlement.escrowOf(escrowId).captured, 0);
    }

    function test_reenterChargeBatchDuringBatchPull_isRefused() public {
        IX402Settlement.BatchItem[] memory inner = new IX402Settlement.BatchItem[](1);
        inner[0] = makeBatchItem(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        rt.arm(
            ReentrantToken.Hook.OnTransferFrom,
            address(settlement),
            abi.encodeCall(settlement.chargeBatch, (inner, false, ITEM_GAS)),
            false
        );
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = makeBatchItem(paymentIn(address(rt), AMOUNT, MODE_EXACT), AMOUNT);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, false, ITEM_GAS);

        assertTrue(settled[0]);
        assertTrue(rt.fired());
        assertEq(rt.lastReturnData(), REENTRANT_CALL);
        assertEq(token.balanceOf(payer), PAYER_BALANCE, "the inner batch must not have settled");
    }

    /// Inside a batch the guard is held by `chargeBatch`, and `settleBatchItem` is reachable only by
    /// the contract itself: a token calling it directly is refused with `OnlySelf`.
    function test_callSettleBatchItemDuringBatchPull_isRefusedOnlySelf() public {
        IX402Settlement.BatchItem memory victim = makeBatchItem(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        rt.arm(
            ReentrantToken.Hook.OnTransferFrom,
            address(settlement),
            abi.encodeCall(settlement.settleBatchItem, (victim, facilitator, 1)),
            false
        );
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = makeBatchItem(paymentIn(address(rt), AMOUNT, MODE_EXACT), AMOUNT);
        vm.prank(facilitator);
        settlement.chargeBatch(items, false, ITEM_GAS);

        assertTrue(rt.fired());
        assertEq(rt.lastReturnData(), abi.encodePacked(IX402Settlement.OnlySelf.selector));
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function test_reenterReclaimDuringReclaimPayout_isRefused() public {
        // Two escrows of the same payer in the reentrant token; paying out the first reclaim re-enters
        // `reclaim` of the second (which anyone may call once expired): only the guard refuses it.
        IX402Settlement.EscrowRef memory first = authorizeIn(address(rt), AMOUNT);
        IX402Settlement.EscrowRef memory second = authorizeIn(address(rt), AMOUNT);
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        rt.arm(ReentrantToken.Hook.OnTransfer, address(settlement), abi.encodeCall(settlement.reclaim, (second)), false);
        vm.prank(payer);
        settlement.reclaim(first);

        assertTrue(rt.fired());
        assertEq(rt.lastReturnData(), REENTRANT_CALL);
        assertTrue(settlement.escrowOf(second).status == IX402Settlement.EscrowStatus.Open);
        assertEq(rt.balanceOf(address(settlement)), AMOUNT);
    }
}
