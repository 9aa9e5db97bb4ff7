// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetSpendingPolicyTest is SettlementTestBase {
    uint32 internal constant PERIOD = 1 days;

    uint32 internal constant DELAY = 2 days;

    function policy(uint128 maxPerPayment, uint128 maxPerPeriod, uint32 period)
        internal
        pure
        returns (IX402Settlement.SpendingPolicy memory)
    {
        return policyOf(maxPerPayment, maxPerPeriod, period, 0);
    }

    function remaining() internal view returns (uint256) {
        return settlement.remainingBudget(payer, address(token));
    }

    /// Tries an Upto charge of `amount`; returns whether it settled.
    function tryCharge(uint256 amount) internal returns (bool) {
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_UPTO);
        vm.prank(facilitator);
        try settlement.charge(payment, amount, 0, EVIDENCE_HASH) {
            return true;
        } catch (bytes memory reason) {
            assertEq(
                bytes4(reason),
                IX402Settlement.PeriodLimitExceeded.selector,
                "only the period limit may refuse"
            );
            return false;
        }
    }

    /// Moves to the first second of a bucket.
    function warpToBucketStart() internal {
        vm.warp((block.timestamp / PERIOD + 1) * PERIOD);
    }

    // ---------------------------------------------------------------- setting

    function test_setSpendingPolicy_storesAndEmits() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), policy(5e6, 50e6, PERIOD), 0, false, uint48(block.timestamp)
        );
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policy(5e6, 50e6, PERIOD));
        IX402Settlement.SpendingPolicy memory stored = settlement.spendingPolicyOf(payer, address(token));
        assertEq(stored.maxPerPayment, 5e6);
        assertEq(stored.maxPerPeriod, 50e6);
        assertEq(stored.period, PERIOD);
        assertEq(settlement.remainingBudget(payer, address(token)), 5e6);
        assertEq(settlement.policyNonces(payer), 1, "the transaction path consumes the nonce");
    }

    function test_setSpendingPolicy_removeWithZeros() public {
        setPayerPolicy(1, 0, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), policy(0, 0, 0), 1, false, uint48(block.timestamp)
        );
        setPayerPolicy(0, 0, 0);
        assertEq(settlement.remainingBudget(payer, address(token)), type(uint256).max);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
    }

    function test_setSpendingPolicy_isPerToken() public {
        setPayerPolicy(1, 0, 0);
        assertEq(settlement.remainingBudget(payer, address(0xBEEF)), type(uint256).max);
        assertEq(settlement.remainingBudget(makeAddr("someone"), address(token)), type(uint256).max);
    }

    function test_setSpendingPolicy_noPolicyMeansNoLimit() public view {
        assertEq(settlement.remainingBudget(payer, address(token)), type(uint256).max);
    }

    // ---------------------------------------------------------------- enforcement

    function test_perPaymentLimit_allowsUpToLimit() public {
        setPayerPolicy(uint128(AMOUNT), 0, 0);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - 2 * AMOUNT);
    }

    function test_periodLimit_twoBuckets() public {
        setPayerPolicy(0, 100, PERIOD);
        warpToBucketStart();
        vm.warp(block.timestamp + PERIOD - 1); // last second of bucket k
        assertTrue(tryCharge(100));
        assertEq(settlement.remainingBudget(payer, address(token)), 0);
        vm.warp(block.timestamp + 1); // bucket k+1: bucket k still counts
        assertFalse(tryCharge(1));
        assertEq(settlement.remainingBudget(payer, address(token)), 0);
        vm.warp(block.timestamp + PERIOD); // bucket k+2: bucket k no longer counts
        assertEq(settlement.remainingBudget(payer, address(token)), 100);
        assertTrue(tryCharge(60));
        vm.warp(block.timestamp + PERIOD); // bucket k+3: 60 from k+2 still counts
        assertEq(settlement.remainingBudget(payer, address(token)), 40);
        assertFalse(tryCharge(41));
        assertTrue(tryCharge(40));
        vm.warp(block.timestamp + 5 * PERIOD); // long gap: everything forgotten
        assertTrue(tryCharge(100));
    }

    function test_periodLimit_revertCarriesSpentAmount() public {
        setPayerPolicy(0, 100, PERIOD);
        assertTrue(tryCharge(70));
        IX402Settlement.SignedPayment memory payment = makePayment(31, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PeriodLimitExceeded.selector, 31, 70, 100));
        chargeAsFacilitator(payment, 31);
    }

    function test_bothLimits() public {
        setPayerPolicy(50, 120, PERIOD);
        assertEq(settlement.remainingBudget(payer, address(token)), 50);
        assertTrue(tryCharge(50));
        assertTrue(tryCharge(50));
        assertEq(settlement.remainingBudget(payer, address(token)), 20);
        IX402Settlement.SignedPayment memory payment = makePayment(51, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, 51, 50));
        chargeAsFacilitator(payment, 51);
    }

    function test_updateWithSamePeriod_keepsSpending() public {
        setPayerPolicy(0, 100, PERIOD);
        assertTrue(tryCharge(80));
        setPayerPolicy(0, 90, PERIOD);
        assertEq(settlement.remainingBudget(payer, address(token)), 10);
    }

    /// Changing the period (longer: a tightening; shorter: a loosening) never resets what was spent:
    /// recent spending is carried into the new period's bucket.
    function test_updateWithNewPeriod_keepsSpending() public {
        setPayerPolicy(0, 100, PERIOD);
        assertTrue(tryCharge(80));
        setPayerPolicy(0, 100, 2 * PERIOD);
        assertEq(remaining(), 20, "a longer period keeps the 80 spent");
        assertFalse(tryCharge(21));
        setPayerPolicy(0, 100, PERIOD / 2);
        assertEq(remaining(), 20, "a shorter period keeps it too");
        assertFalse(tryCharge(21));
        assertTrue(tryCharge(20));
    }

    /// The attack the old behaviour allowed: an agent spends the whole budget, changes the period to
    /// reset the counters and spends it again at once.
    function test_periodChange_cannotResetCounters() public {
        setPayerPolicy(0, 100, PERIOD);
        assertTrue(tryCharge(100));
        for (uint32 period = PERIOD + 1; period < PERIOD + 4; ++period) {
            setPayerPolicy(0, 100, period);
            assertFalse(tryCharge(1));
        }
        assertEq(remaining(), 0);
    }

    /// A period change that is a loosening (shorter period) waits for the delay and still keeps the
    /// counters when it applies.
    function test_delayedPeriodChange_keepsSpending() public {
        uint32 delay = 1 hours;
        warpToBucketStart();
        setPayerPolicy(policyOf(0, 100, PERIOD, delay));
        assertTrue(tryCharge(90));
        setPayerPolicy(policyOf(0, 100, PERIOD / 4, delay));
        assertEq(remaining(), 10);
        vm.warp(block.timestamp + delay);
        // The 90 now counts in the new period's current bucket: it is not forgotten.
        assertEq(remaining(), 10);
        assertFalse(tryCharge(11));
        assertTrue(tryCharge(10));
        assertEq(settlement.spendingPolicyOf(payer, address(token)).period, PERIOD / 4);
    }

    // ---------------------------------------------------------------- loosening waits, tightening applies

    function test_loosening_waitsForDelay() public {
        setPayerPolicy(policyOf(10, 0, 0, DELAY));
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), policyOf(1_000, 0, 0, DELAY), 1, false, uint48(block.timestamp) + DELAY
        );
        setPayerPolicy(policyOf(1_000, 0, 0, DELAY));

        assertEq(remaining(), 10, "the old limit applies during the delay");
        (IX402Settlement.SpendingPolicy memory pending, uint48 effectiveAt) =
            settlement.pendingSpendingPolicyOf(payer, address(token));
        assertEq(pending.maxPerPayment, 1_000);
        assertEq(effectiveAt, uint48(block.timestamp) + DELAY);
        IX402Settlement.SignedPayment memory payment = makePayment(11, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, 11, 10));
        chargeAsFacilitator(payment, 11);

        vm.warp(block.timestamp + DELAY - 1);
        assertEq(remaining(), 10);
        vm.warp(block.timestamp + 1);
        assertEq(remaining(), 1_000, "the loosening applies once the delay passed");
        chargeAsFacilitator(makePayment(500, MODE_EXACT), 500);
        (, effectiveAt) = settlement.pendingSpendingPolicyOf(payer, address(token));
        assertEq(effectiveAt, 0, "promoted");
    }

    function test_tightening_appliesAtOnce() public {
        setPayerPolicy(policyOf(1_000, 5_000, PERIOD, DELAY));
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer,
            address(token),
            policyOf(100, 500, 2 * PERIOD, 3 * DELAY),
            1,
            false,
            uint48(block.timestamp)
        );
        setPayerPolicy(policyOf(100, 500, 2 * PERIOD, 3 * DELAY));
        assertEq(remaining(), 100);
    }

    /// Removing a policy, dropping one of its limits or shortening its delay are loosenings too.
    function test_loosening_kinds() public {
        IX402Settlement.SpendingPolicy[4] memory loosenings = [
            policyOf(0, 0, 0, 0),
            policyOf(100, 0, 0, DELAY),
            policyOf(0, 1_000, PERIOD, DELAY),
            policyOf(100, 1_000, PERIOD, DELAY - 1)
        ];
        for (uint256 i; i < loosenings.length; ++i) {
            setPayerPolicy(policyOf(100, 1_000, PERIOD, DELAY));
            setPayerPolicy(loosenings[i]);
            (, uint48 effectiveAt) = settlement.pendingSpendingPolicyOf(payer, address(token));
            assertEq(effectiveAt, uint48(block.timestamp) + DELAY, "scheduled, not applied");
            assertEq(settlement.spendingPolicyOf(payer, address(token)).maxPerPayment, 100);
        }
    }

    /// The payer tightens while a loosening (say, by a leaked agent key) waits: the loosening is dropped.
    function test_tightening_cancelsPendingLoosening() public {
        setPayerPolicy(policyOf(10, 0, 0, DELAY));
        setPayerPolicy(policyOf(1_000, 0, 0, DELAY));
        setPayerPolicy(policyOf(10, 0, 0, DELAY));
        vm.warp(block.timestamp + 10 * DELAY);
        assertEq(remaining(), 10);
        (, uint48 effectiveAt) = settlement.pendingSpendingPolicyOf(payer, address(token));
        assertEq(effectiveAt, 0);
    }

    /// Without a delay in force a loosening applies at once (the payer opted out).
    function test_loosening_withoutDelayAppliesAtOnce() public {
        setPayerPolicy(policyOf(10, 0, 0, 0));
        setPayerPolicy(policyOf(1_000, 0, 0, DELAY));
        assertEq(remaining(), 1_000);
    }

    function testFuzz_loosening_neverAppliesEarly(uint32 delay, uint256 wait) public {
        delay = uint32(bound(delay, 1, settlement.MAX_LOOSEN_DELAY()));
        wait = bound(wait, 0, uint256(delay) - 1);
        setPayerPolicy(policyOf(10, 0, 0, delay));
        setPayerPolicy(policyOf(0, 0, 0, 0));
        vm.warp(block.timestamp + wait);
        assertEq(remaining(), 10);
        IX402Settlement.SignedPayment memory payment = makePayment(11, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, 11, 10));
        chargeAsFacilitator(payment, 11);
    }

    function test_policyDoesNotBindOtherPayers() public {
        setPayerPolicy(1, 0, 0);
        (address other, uint256 otherKey) = makeAddrAndKey("other payer");
        fundPayer(other, AMOUNT);
        chargeAsFacilitator(
            makePayment(otherKey, defaultPermit(AMOUNT, 0), defaultTerms(other, MODE_EXACT)), AMOUNT
        );
        assertEq(token.balanceOf(other), 0);
    }

    /// A charge by a payer without a policy reads the settlement's storage three times (protocol fee,
    /// payee split, the payer's policy slot) and writes nothing: the missing policy costs one SLOAD.
    function test_noPolicy_costsOneStorageRead() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.record();
        chargeAsFacilitator(payment, AMOUNT);
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(address(settlement));
        assertEq(reads.length, 3);
        assertEq(writes.length, 0);
    }

    /// With a per-payment limit only, the policy costs two slot reads (limits, pending loosening) and
    /// nothing is written.
    function test_perPaymentPolicy_costsTwoStorageReads() public {
        setPayerPolicy(uint128(AMOUNT), 0, 0);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.record();
        chargeAsFacilitator(payment, AMOUNT);
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(address(settlement));
        assertEq(reads.length, 4);
        assertEq(writes.length, 0);
    }

    /// Model check: the contract accepts exactly what the two-bucket rule accepts, and no rolling
    /// window of `period` seconds ever holds more than `maxPerPeriod`.
    function testFuzz_periodLimit_neverExceededInAnyWindow(uint256 seed) public {
        uint256 maxPerPeriod = 1_000;
        uint32 period = uint32(bound(seed, 10, 1000));
        setPayerPolicy(0, uint128(maxPerPeriod), period);

        uint256 attempts = 16;
        uint256[] memory times = new uint256[](attempts);
        uint256[] memory amounts = new uint256[](attempts);
        uint256 accepted;
        // Model state.
        uint256 modelBucket;
        uint256 modelCurrent;
        uint256 modelPrevious;
        for (uint256 i; i < attempts; ++i) {
            vm.warp(
                block.timestamp + bound(uint256(keccak256(abi.encode(seed, i, "dt"))), 0, 2 * uint256(period))
            );
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, maxPerPeriod);

            uint256 bucket = block.timestamp / period;
            uint256 current = bucket == modelBucket ? modelCurrent : 0;
            uint256 previous =
                bucket == modelBucket ? modelPrevious : bucket == modelBucket + 1 ? modelCurrent : 0;
            bool modelAccepts = current + previous + amount <= maxPerPeriod;

            bool ok = tryCharge(amount);
            assertEq(ok, modelAccepts, "contract and two-bucket model disagree");
            if (ok) {
                (modelBucket, modelCurrent, modelPrevious) = (bucket, current + amount, previous);
                times[accepted] = block.timestamp;
                amounts[accepted] = amount;
                ++accepted;
            }
        }
        for (uint256 i; i < accepted; ++i) {
            uint256 windowSum;
            for (uint256 j; j <= i; ++j) {
                if (times[i] - times[j] < period) windowSum += amounts[j];
            }
            assertLe(windowSum, maxPerPeriod, "a rolling window exceeded maxPerPeriod");
        }
    }

    function testFuzz_perPaymentLimit(uint128 limit, uint256 amount) public {
        limit = uint128(bound(limit, 1, PAYER_BALANCE));
        amount = bound(amount, 1, PAYER_BALANCE);
        setPayerPolicy(limit, 0, 0);
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_EXACT);
        if (amount > limit) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IX402Settlement.PerPaymentLimitExceeded.selector, amount, uint256(limit)
                )
            );
        }
        chargeAsFacilitator(payment, amount);
    }

    // ---------------------------------------------------------------- reverts

    function test_setSpendingPolicy_revert_periodLimitWithoutPeriod() public {
        vm.expectRevert(IX402Settlement.InvalidPolicy.selector);
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policy(0, 100, 0));
    }

    function test_setSpendingPolicy_revert_periodWithoutLimit() public {
        vm.expectRevert(IX402Settlement.InvalidPolicy.selector);
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policy(100, 0, PERIOD));
    }

    function test_setSpendingPolicy_revert_delayTooLong() public {
        uint32 tooLong = settlement.MAX_LOOSEN_DELAY() + 1;
        vm.expectRevert(IX402Settlement.InvalidPolicy.selector);
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policyOf(100, 0, 0, tooLong));
    }

    function test_setSpendingPolicy_revert_delayWithoutLimits() public {
        vm.expectRevert(IX402Settlement.InvalidPolicy.selector);
        vm.prank(payer);
        settlement.setSpendingPolicy(address(token), policyOf(0, 0, 0, DELAY));
    }

    function test_setSpendingPolicy_revert_zeroToken() public {
        vm.expectRevert(IX402Settlement.ZeroAddress.selector);
        vm.prank(payer);
        settlement.setSpendingPolicy(address(0), policy(100, 0, 0));
    }
}
