// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract VoidTest is SettlementTestBase {
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        id = authorizeEscrow(AMOUNT);
    }

    function test_void_byPayee_returnsEverything() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, payee, address(token), AMOUNT);
        vm.prank(payee);
        settlement.void(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertTrue(settlement.escrowOf(id).closed);
    }

    function test_void_byFacilitator_afterPartialCapture() public {
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 3, 0, EVIDENCE_HASH);
        uint256 rest = AMOUNT - AMOUNT / 3;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, facilitator, address(token), rest);
        vm.prank(facilitator);
        settlement.void(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 3);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_void_fullyCaptured_closesWithZero() public {
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT, 0, EVIDENCE_HASH);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentVoided(id, payer, payee, address(token), 0);
        vm.prank(payee);
        settlement.void(id);
        assertTrue(settlement.escrowOf(id).closed);
    }

    /// Voiding works after the authorization expired too (before the payer reclaims).
    function test_void_afterAuthorizationExpiry() public {
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD + 1);
        vm.prank(payee);
        settlement.void(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function testFuzz_void(uint256 captured) public {
        captured = bound(captured, 0, AMOUNT);
        if (captured != 0) {
            vm.prank(facilitator);
            settlement.capture(id, captured, 0, EVIDENCE_HASH);
        }
        vm.prank(payee);
        settlement.void(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - captured);
        assertEq(token.balanceOf(payee), captured);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_void_revert_unknownPayment() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, unknown));
        vm.prank(payee);
        settlement.void(unknown);
    }

    function test_void_revert_payerUnauthorized() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, payer));
        vm.prank(payer);
        settlement.void(id);
    }

    function test_void_revert_ownerUnauthorized() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, owner));
        vm.prank(owner);
        settlement.void(id);
    }

    function testFuzz_void_revert_stranger(address stranger) public {
        vm.assume(stranger != payee && stranger != facilitator);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, stranger));
        vm.prank(stranger);
        settlement.void(id);
    }

    function test_void_revert_alreadyClosed() public {
        vm.prank(payee);
        settlement.void(id);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(facilitator);
        settlement.void(id);
    }

    function test_void_revert_afterReclaim() public {
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        vm.prank(payer);
        settlement.reclaim(id);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payee);
        settlement.void(id);
    }
}
