// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice Whoever submits a signed payment cannot change who settles it, who is paid, or on which
/// terms: the caller must be the signed facilitator, and every signed field is bound by the signature.
contract TamperingTest is AdversarialBase {
    address internal attacker = makeAddr("attacker");

    function test_charge_wrongFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, attacker, facilitator));
        vm.prank(attacker);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_authorize_wrongFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, attacker, facilitator));
        vm.prank(attacker);
        settlement.authorize(payment);
    }

    function test_chargeBatch_wrongFacilitatorItemFails() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        items[0] = makeBatchItem(payment, AMOUNT);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            0,
            paymentIdFor(address(settlement), payer, payment.permit.nonce),
            payer,
            abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, attacker, facilitator)
        );
        vm.prank(attacker);
        (, bool[] memory settled) = settlement.chargeBatch(items, false, ITEM_GAS);
        assertFalse(settled[0]);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function test_capture_wrongFacilitator() public {
        IX402Settlement.EscrowRef memory id = authorizeEscrow(AMOUNT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, attacker, facilitator));
        vm.prank(attacker);
        settlement.capture(id, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        // Naming itself as facilitator in the terms it passes names no escrow.
        IX402Settlement.EscrowRef memory altered = id;
        altered.terms.facilitator = attacker;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(id)));
        vm.prank(attacker);
        settlement.capture(altered, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    /// Rewriting the witness to name the attacker as facilitator passes the caller check but breaks
    /// the payer's signature.
    function test_charge_facilitatorRewrittenToCaller_failsSignature() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        payment.terms.facilitator = attacker;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(attacker);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_charge_swappedPayee_failsSignature() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        payment.terms.payee = attacker;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(attacker), 0);
    }

    function test_authorize_swappedPayee_failsSignature() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        payment.terms.payee = attacker;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.authorize(payment);
    }

    function test_charge_swappedPayer_failsSignature() public {
        (address victim,) = makeAddrAndKey("victim");
        fundPayer(victim, PAYER_BALANCE);
        // The attacker signs a payment and claims the victim is the payer.
        (, uint256 attackerKey) = makeAddrAndKey("attackerKey");
        IX402Settlement.SignedPayment memory payment =
            makePayment(attackerKey, defaultPermit(AMOUNT, nextNonce()), defaultTerms(MODE_EXACT));
        payment.terms.payer = victim;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(victim), PAYER_BALANCE);
    }

    /// Any single signed field changed after signing makes the payment fail, and nothing moves.
    function testFuzz_charge_anyTamperedFieldFails(uint8 field, uint256 value) public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        field = uint8(bound(field, 0, 11));
        if (field == 11) payment.terms.payer = address(uint160(bound(value, 1, type(uint160).max)));
        else if (field == 0) payment.terms.payee = address(uint160(bound(value, 1, type(uint160).max)));
        else if (field == 1) payment.terms.requestHash = bytes32(value);
        else if (field == 2) payment.terms.maxFacilitatorFeeBps = uint16(bound(value, MAX_FEE_BPS + 1, 10_000));
        else if (field == 3) payment.terms.validAfter = uint48(bound(value, 1, block.timestamp));
        else if (field == 4) payment.terms.mode = MODE_EXACT;
        else if (field == 5) payment.terms.authorizationExpiry = uint48(bound(value, 1, type(uint48).max));
        else if (field == 6) payment.terms.refundExpiry = uint48(bound(value, 1, type(uint48).max));
        else if (field == 7) payment.permit.permitted.amount = bound(value, AMOUNT + 1, PAYER_BALANCE);
        else if (field == 8) payment.permit.deadline = bound(value, block.timestamp, type(uint256).max);
        else if (field == 9) payment.permit.permitted.token = address(uint160(bound(value, 1, type(uint160).max)));
        else payment.permit.nonce = bound(value, 1, type(uint256).max);
        vm.assume(keccak256(abi.encode(payment)) != keccak256(abi.encode(makePaymentCopy(payment))));

        uint256 amount = payment.permit.permitted.amount < AMOUNT ? payment.permit.permitted.amount : AMOUNT;
        vm.prank(facilitator);
        try settlement.charge(payment, amount, FEE_BPS, EVIDENCE_HASH) {
            assertTrue(false, "a tampered payment settled");
        } catch {}
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
        assertEq(token.balanceOf(payee), 0);
    }

    /// The untampered payment the fuzz test started from (nonce 0, defaults), to skip no-op edits.
    function makePaymentCopy(IX402Settlement.SignedPayment memory tampered)
        internal
        view
        returns (IX402Settlement.SignedPayment memory original)
    {
        original = IX402Settlement.SignedPayment({
            permit: defaultPermit(AMOUNT, 0),
            terms: defaultTerms(MODE_UPTO),
            signature: tampered.signature
        });
    }
}
