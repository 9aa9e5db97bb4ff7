// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice A token that delivers less than asked must never settle: the contract would otherwise pay
/// the payee the shortfall out of other escrows' funds.
contract FeeOnTransferTest is AdversarialBase {
    FeeOnTransferToken internal fot;

    function setUp() public override {
        super.setUp();
        fot = new FeeOnTransferToken(0);
        fot.mint(payer, PAYER_BALANCE);
        approvePermit2(payer, address(fot));
    }

    function test_charge_revertsWithTokenReceivedMismatch() public {
        fot.setFeeBps(100);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(fot), AMOUNT, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - fot.feeOf(AMOUNT))
        );
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(fot.balanceOf(payer), PAYER_BALANCE);
        assertEq(fot.balanceOf(payee), 0);
    }

    function test_authorize_revertsWithTokenReceivedMismatch() public {
        fot.setFeeBps(30);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(fot), AMOUNT, MODE_ESCROW);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - fot.feeOf(AMOUNT))
        );
        vm.prank(facilitator);
        settlement.authorize(payment);
    }

    /// An escrow funded while the token had no fee holds tokens in the contract. Once the fee is on,
    /// a charge must not be able to top up its shortfall from that escrow.
    function test_charge_cannotDrainOtherEscrows() public {
        uint256 escrowed = 50e6;
        IX402Settlement.EscrowRef memory escrowId = authorizeIn(address(fot), escrowed);
        assertEq(fot.balanceOf(address(settlement)), escrowed);

        fot.setFeeBps(100);
        IX402Settlement.SignedPayment memory payment = paymentIn(address(fot), AMOUNT, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - fot.feeOf(AMOUNT))
        );
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        assertEq(fot.balanceOf(address(settlement)), escrowed, "escrowed funds moved");
        assertEq(fot.balanceOf(payee), 0);
        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowId);
        assertEq(escrow.captured, 0);

        // The escrow is still whole: with the fee off again, all of it can be captured.
        fot.setFeeBps(0);
        vm.prank(facilitator);
        settlement.capture(escrowId, escrowed, 0, EVIDENCE_HASH);
        assertEq(fot.balanceOf(payee), escrowed);
        assertEq(fot.balanceOf(address(settlement)), 0);
    }

    function test_chargeBatch_skipsFeeOnTransferItemAndSettlesTheRest() public {
        fot.setFeeBps(100);
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        IX402Settlement.SignedPayment memory bad = paymentIn(address(fot), AMOUNT, MODE_EXACT);
        items[0] = makeBatchItem(bad, AMOUNT);
        items[1] = makeBatchItem(makePayment(AMOUNT, MODE_EXACT), AMOUNT);

        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            0,
            paymentIdFor(address(settlement), payer, bad.permit.nonce),
            payer,
            abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - fot.feeOf(AMOUNT))
        );
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);

        assertFalse(settled[0]);
        assertTrue(settled[1]);
        assertEq(fot.balanceOf(payer), PAYER_BALANCE, "failed item must not move the payer's tokens");
        assertEq(fot.balanceOf(address(settlement)), 0);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
    }

    function testFuzz_charge_anyFeeIsRejected(uint16 feeBps, uint256 amount, bool upto) public {
        feeBps = uint16(bound(feeBps, 1, 10_000));
        // Large enough that the fee rounds to at least one unit.
        amount = bound(amount, 10_000, PAYER_BALANCE);
        fot.setFeeBps(feeBps);
        IX402Settlement.SignedPayment memory payment =
            paymentIn(address(fot), amount, upto ? MODE_UPTO : MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.TokenReceivedMismatch.selector, amount, amount - fot.feeOf(amount))
        );
        vm.prank(facilitator);
        settlement.charge(payment, amount, FEE_BPS, EVIDENCE_HASH);
    }
}
