// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract VoidTest is SettlementTestBase {
    IX402Settlement.EscrowRef internal ref;
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        ref = authorizeEscrow(AMOUNT);
        id = idOf(ref);
    }

    function isClosed() internal view returns (bool) {
        return settlement.escrowOf(ref).status == IX402Settlement.EscrowStatus.Closed;
    }

    function test_void_byPayee_returnsEverything() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, payee, payee, facilitator, address(token), AMOUNT);
        vm.prank(payee);
        settlement.void(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertTrue(isClosed());
    }

    function test_void_byFacilitator_afterPartialCapture() public {
        vm.prank(facilitator);
        settlement.capture(ref, AMOUNT / 3, 0, EVIDENCE_HASH);
        uint256 rest = AMOUNT - AMOUNT / 3;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, facilitator, payee, facilitator, address(token), rest);
        vm.prank(facilitator);
        settlement.void(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 3);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_void_fullyCaptured_closesWithZero() public {
        vm.prank(facilitator);
        settlement.capture(ref, AMOUNT, 0, EVIDENCE_HASH);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, payee, payee, facilitator, address(token), 0);
        vm.prank(payee);
        settlement.void(ref);
        assertTrue(isClosed());
    }

    /// Voiding works after the authorization expired too (before the payer reclaims).
    function test_void_afterAuthorizationExpiry() public {
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD + 1);
        vm.prank(payee);
        settlement.void(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function testFuzz_void(uint256 captured) public {
        captured = bound(captured, 0, AMOUNT);
        if (captured != 0) {
            vm.prank(facilitator);
            settlement.capture(ref, captured, 0, EVIDENCE_HASH);
        }
        vm.prank(payee);
        settlement.void(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - captured);
        assertEq(token.balanceOf(payee), captured);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_void_revert_unknownPayment() public {
        IX402Settlement.EscrowRef memory unknown = ref;
        unknown.permit.nonce = 12_345;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(unknown)));
        vm.prank(payee);
        settlement.void(unknown);
    }

    /// Someone naming itself payee in altered terms names no escrow.
    function test_void_revert_alteredPayee() public {
        address stranger = makeAddr("stranger");
        IX402Settlement.EscrowRef memory altered = ref;
        altered.terms.payee = stranger;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, id));
        vm.prank(stranger);
        settlement.void(altered);
        assertEq(token.balanceOf(address(settlement)), AMOUNT);
    }

    function test_void_revert_payerUnauthorized() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, payer));
        vm.prank(payer);
        settlement.void(ref);
    }

    function test_void_revert_ownerUnauthorized() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, owner));
        vm.prank(owner);
        settlement.void(ref);
    }

    function testFuzz_void_revert_stranger(address stranger) public {
        vm.assume(stranger != payee && stranger != facilitator);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, stranger));
        vm.prank(stranger);
        settlement.void(ref);
    }

    function test_void_revert_alreadyClosed() public {
        vm.prank(payee);
        settlement.void(ref);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(facilitator);
        settlement.void(ref);
    }

    function test_void_revert_afterReclaim() public {
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        vm.prank(payer);
        settlement.reclaim(ref);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payee);
        settlement.void(ref);
    }
}
