// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract CaptureTest is SettlementTestBase {
    IX402Settlement.EscrowRef internal ref;
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        ref = authorizeEscrow(AMOUNT);
        id = idOf(ref);
    }

    function captureAs(address caller, uint256 amount, uint16 feeBps, bytes32 evidenceHash) internal {
        vm.prank(caller);
        settlement.capture(ref, amount, feeBps, evidenceHash);
    }

    function capturedSoFar() internal view returns (uint256) {
        return settlement.escrowOf(ref).captured;
    }

    /// Sets the protocol fee to `bps` and authorizes a fresh escrow under it as `ref`.
    function reauthorizeWithProtocolFee(uint16 bps, uint256 amount) internal {
        setProtocolFeeNow(bps);
        ref = authorizeEscrow(amount);
        id = idOf(ref);
    }

    // ---------------------------------------------------------------- happy paths

    function test_capture_full() public {
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, ref.permit.nonce, AMOUNT, fee, 0, EVIDENCE_HASH
        );
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertEq(capturedSoFar(), AMOUNT);
    }

    function test_capture_partialWithSeparateEvidence() public {
        bytes32 evidenceA = keccak256("first chunk");
        bytes32 evidenceB = keccak256("second chunk");
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, ref.permit.nonce, AMOUNT / 4, 0, 0, evidenceA
        );
        captureAs(facilitator, AMOUNT / 4, 0, evidenceA);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCaptured(
            id, payer, payee, address(token), facilitator, ref.permit.nonce, AMOUNT / 2, 0, 0, evidenceB
        );
        captureAs(facilitator, AMOUNT / 2, 0, evidenceB);

        assertEq(capturedSoFar(), AMOUNT * 3 / 4);
        assertEq(token.balanceOf(payee), AMOUNT * 3 / 4);
        assertEq(token.balanceOf(address(settlement)), AMOUNT / 4, "the rest stays escrowed");
    }

    function test_capture_justBeforeExpiry() public {
        vm.warp(ref.terms.authorizationExpiry - 1);
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(capturedSoFar(), AMOUNT);
    }

    function test_capture_paysProtocolFeeAndSplit() public {
        reauthorizeWithProtocolFee(100, AMOUNT);
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
            id,
            payer,
            payee,
            address(token),
            facilitator,
            ref.permit.nonce,
            AMOUNT,
            fee,
            protocolFee,
            EVIDENCE_HASH
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitPaid(id, payee, recipients[0], net * 3_000 / 10_000);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitPaid(id, payee, recipients[1], net * 500 / 10_000);
        captureAs(facilitator, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee);
        assertEq(token.balanceOf(recipients[0]), net * 3_000 / 10_000);
        assertEq(token.balanceOf(recipients[1]), net * 500 / 10_000);
        assertEq(token.balanceOf(payee), net - net * 3_000 / 10_000 - net * 500 / 10_000);
        assertEq(token.balanceOf(address(settlement)), AMOUNT + protocolFee, "the first escrow and the fee");
    }

    /// Capture reads the escrow's one slot, the protocol fee and the payee split (three distinct
    /// slots) and writes one slot (the escrow's); the escrow's terms come from calldata.
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
        assertEq(distinct, 3);
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
        assertEq(capturedSoFar(), first + second);
    }

    // ---------------------------------------------------------------- reverts

    function test_capture_revert_unknownPayment() public {
        IX402Settlement.EscrowRef memory unknown = ref;
        unknown.permit.nonce = 12_345;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(unknown)));
        vm.prank(facilitator);
        settlement.capture(unknown, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    /// The facilitator cannot capture to another payee, raise the authorized amount or the fee cap, or
    /// extend the expiry by passing altered terms: they name no escrow.
    function test_capture_revert_alteredTerms() public {
        IX402Settlement.EscrowRef memory altered = ref;
        altered.terms.payee = facilitator;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, id));
        vm.prank(facilitator);
        settlement.capture(altered, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        altered = ref;
        altered.permit.permitted.amount = AMOUNT * 2;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, id));
        vm.prank(facilitator);
        settlement.capture(altered, AMOUNT * 2, FEE_BPS, EVIDENCE_HASH);

        altered = ref;
        altered.terms.maxFacilitatorFeeBps = 10_000;
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, id));
        vm.prank(facilitator);
        settlement.capture(altered, AMOUNT, 9_000, EVIDENCE_HASH);

        altered = ref;
        altered.terms.authorizationExpiry += 30 days;
        vm.warp(ref.terms.authorizationExpiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, id));
        vm.prank(facilitator);
        settlement.capture(altered, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(address(settlement)), AMOUNT);
    }

    // ---------------------------------------------------------------- protocol fee snapshot and rounding

    /// An increase scheduled while the escrow is open never applies to it, even after it took effect.
    function test_capture_usesSnapshotAfterIncrease() public {
        setProtocolFeeNow(20);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.authorizationExpiry = uint48(block.timestamp + 30 days);
        terms.refundExpiry = terms.authorizationExpiry;
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.prank(facilitator);
        settlement.authorize(payment);
        ref = escrowRefOf(payment);

        vm.prank(owner);
        settlement.setProtocolFee(100);
        vm.warp(block.timestamp + settlement.PROTOCOL_FEE_INCREASE_DELAY());
        captureAs(facilitator, AMOUNT, 0, EVIDENCE_HASH);
        (, uint256 protocolFee) = feesOf(AMOUNT, 0, 20);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee, "the snapshot (20 bps) applied");
    }

    /// A decrease after authorize benefits the open escrow: the lower fee applies.
    function test_capture_usesLowerCurrentFee() public {
        reauthorizeWithProtocolFee(80, AMOUNT);
        vm.prank(owner);
        settlement.setProtocolFee(10);
        captureAs(facilitator, AMOUNT, 0, EVIDENCE_HASH);
        (, uint256 protocolFee) = feesOf(AMOUNT, 0, 10);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee);
    }

    /// Protocol fee rounding: rounded up per capture, so capturing an escrow in many small parts never
    /// pays less protocol fee than one capture of the whole, and payer, payee, facilitator, treasury and
    /// escrow always add up.
    function testFuzz_capture_manySmallCapturesRoundFeeUp(uint256 parts, uint256 partSize, uint16 feeBps)
        public
    {
        parts = bound(parts, 1, 40);
        partSize = bound(partSize, 1, 500);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE_BPS));
        uint256 total = parts * partSize;
        reauthorizeWithProtocolFee(30, total);
        uint256 facilitatorFees;
        uint256 protocolFees;
        for (uint256 i; i < parts; ++i) {
            captureAs(facilitator, partSize, feeBps, EVIDENCE_HASH);
            (uint256 fee, uint256 protocolFee) = feesOf(partSize, feeBps, 30);
            facilitatorFees += fee;
            protocolFees += protocolFee;
        }
        (, uint256 wholeProtocolFee) = feesOf(total, feeBps, 30);
        uint256 accrued = settlement.accruedProtocolFees(address(token));
        assertEq(accrued, protocolFees);
        assertGe(accrued, wholeProtocolFee, "splitting never lowers the protocol fee");
        assertGe(accrued, parts, "no capture pays zero protocol fee");
        assertEq(token.balanceOf(facilitator), facilitatorFees);
        assertEq(token.balanceOf(payee), total - facilitatorFees - protocolFees);
        assertEq(token.balanceOf(address(settlement)), AMOUNT + accrued, "first escrow plus accrued fees");
    }

    function test_capture_revert_notFacilitator() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, payee, facilitator));
        captureAs(payee, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_closed() public {
        vm.prank(payee);
        settlement.void(ref);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        captureAs(facilitator, 1, FEE_BPS, EVIDENCE_HASH);
    }

    function test_capture_revert_authorizationExpired() public {
        uint48 expiry = ref.terms.authorizationExpiry;
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
