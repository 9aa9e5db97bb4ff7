// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract CaptureTest is SettlementTestBase {
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        id = authorizeEscrow(AMOUNT);
    }

    function captureAs(address caller, uint256 amount, uint16 feeBps, bytes32 evidenceHash) internal {
        vm.prank(caller);
        settlement.capture(id, amount, feeBps, evidenceHash);
    }

    // ---------------------------------------------------------------- happy paths

    function test_capture_full() public {
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, AMOUNT, fee, 0, EVIDENCE_HASH
        );
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertEq(settlement.escrowOf(id).captured, AMOUNT);
    }

    function test_capture_partialWithSeparateEvidence() public {
        bytes32 evidenceA = keccak256("first chunk");
        bytes32 evidenceB = keccak256("second chunk");
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, AMOUNT / 4, 0, 0, evidenceA
        );
        captureAs(facilitator, AMOUNT / 4, 0, evidenceA);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, AMOUNT / 2, 0, 0, evidenceB
        );
        captureAs(facilitator, AMOUNT / 2, 0, evidenceB);

        assertEq(settlement.escrowOf(id).captured, AMOUNT * 3 / 4);
        assertEq(token.balanceOf(payee), AMOUNT * 3 / 4);
        assertEq(token.balanceOf(address(settlement)), AMOUNT / 4, "the rest stays escrowed");
    }

    function test_capture_justBeforeExpiry() public {
        vm.warp(settlement.escrowOf(id).authorizationExpiry - 1);
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(settlement.escrowOf(id).captured, AMOUNT);
    }

    function test_capture_paysProtocolFeeAndSplit() public {
        vm.prank(owner);
        settlement.setProtocolFee(100, treasury);
        address[] memory recipients = new address[](2);
        recipients[0] = makeAddr("model owner");
        recipients[1] = makeAddr("referrer");
        uint16[] memory bps = new uint16[](2);
        bps[0] = 3_000;
        bps[1] = 500;
        vm.prank(payee);
        settlement.setSplit(recipients, bps);

        (uint256 fee, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 100);
        uint256 net = AMOUNT - fee - protocolFee;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, AMOUNT, fee, protocolFee, EVIDENCE_HASH
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitPaid(id, payee, recipients[0], net * 3_000 / 10_000);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitPaid(id, payee, recipients[1], net * 500 / 10_000);
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        assertEq(token.balanceOf(treasury), protocolFee);
        assertEq(token.balanceOf(recipients[0]), net * 3_000 / 10_000);
        assertEq(token.balanceOf(recipients[1]), net * 500 / 10_000);
        assertEq(token.balanceOf(payee), net - net * 3_000 / 10_000 - net * 500 / 10_000);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    /// Capture touches four escrow slots (payer/expiry/fee/closed, payee/authorized,
    /// facilitator/captured, token/refund expiry), the protocol fee and the payee split (six distinct
    /// slots; `refunded` is never loaded) and writes one slot (captured).
    function test_capture_storageAccess() public {
        vm.record();
        captureAs(facilitator, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(address(settlement));
        assertEq(writes.length, 1);
        uint256 distinct;
        for (uint256 i; i < reads.length; ++i) {
            bool seen;
            for (uint256 j; j < i; ++j) {
                if (reads[j] == reads[i]) seen = true;
            }
            if (!seen) ++distinct;
        }
        assertEq(distinct, 6);
    }

    function testFuzz_capture(uint256 first, uint256 second, uint16 feeBps) public {
        first = bound(first, 1, AMOUNT);
        second = bound(second, 0, AMOUNT - first);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE_BPS));
        captureAs(facilitator, first, feeBps, EVIDENCE_HASH);
        if (second != 0) captureAs(facilitator, second, feeBps, EVIDENCE_HASH);
        (uint256 feeFirst,) = feesOf(first, feeBps, 0);
        (uint256 feeSecond,) = feesOf(second, feeBps, 0);
        assertEq(token.balanceOf(facilitator), feeFirst + feeSecond);
        assertEq(token.balanceOf(payee), first + second - feeFirst - feeSecond);
        assertEq(token.balanceOf(address(settlement)), AMOUNT - first - second);
        assertEq(settlement.escrowOf(id).captured, first + second);
    }

    // ---------------------------------------------------------------- reverts

    function test_capture_revert_unknownPayment() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, unknown));
        vm.prank(facilitator);
        settlement.capture(unknown, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_notFacilitator() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, payee, facilitator));
        captureAs(payee, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_closed() public {
        vm.prank(payee);
        settlement.void(id);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        captureAs(facilitator, 1, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_authorizationExpired() public {
        uint48 expiry = settlement.escrowOf(id).authorizationExpiry;
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.AuthorizationExpired.selector, expiry, expiry));
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_zeroAmount() public {
        vm.expectRevert(IX402Settlement.ZeroAmount.selector);
        captureAs(facilitator, 0, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_aboveAuthorized() public {
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.CaptureAboveAuthorized.selector, AMOUNT + 1, AMOUNT)
        );
        captureAs(facilitator, AMOUNT + 1, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_aboveRemaining() public {
        captureAs(facilitator, AMOUNT - 5, FEE_BPS, EVIDENCE_HASH);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.CaptureAboveAuthorized.selector, 6, 5));
        captureAs(facilitator, 6, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_feeAboveMaximum() public {
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.FeeAboveMaximum.selector, MAX_FEE_BPS + 1, MAX_FEE_BPS)
        );
        captureAs(facilitator, AMOUNT, MAX_FEE_BPS + 1, EVIDENCE_HASH);
    }

    function testFuzz_capture_revert_aboveRemaining(uint256 captured, uint256 extra) public {
        captured = bound(captured, 1, AMOUNT);
        captureAs(facilitator, captured, FEE_BPS, EVIDENCE_HASH);
        uint256 remaining = AMOUNT - captured;
        extra = bound(extra, 1, type(uint128).max);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.CaptureAboveAuthorized.selector, remaining + extra, remaining
            )
        );
        captureAs(facilitator, remaining + extra, FEE_BPS, EVIDENCE_HASH);
    }
}
