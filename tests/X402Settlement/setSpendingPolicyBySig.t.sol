// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetSpendingPolicyBySigTest is SettlementTestBase {
    IX402Settlement.SpendingPolicy internal budget = IX402Settlement.SpendingPolicy({
        maxPerPayment: 5e6, maxPerPeriod: 20e6, period: 1 days, loosenDelay: 0
    });
    uint256 internal deadline;

    function setUp() public override {
        super.setUp();
        deadline = block.timestamp + 1 hours;
    }

    function submit(address who, IX402Settlement.SpendingPolicy memory p, bytes memory signature) internal {
        vm.prank(makeAddr("relayer"));
        settlement.setSpendingPolicyBySig(who, address(token), p, deadline, signature);
    }

    function test_setSpendingPolicyBySig_relayedForEoa() public {
        assertEq(settlement.DOMAIN_SEPARATOR(), settlementDomainSeparator(address(settlement)));
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), budget, 0, true, uint48(block.timestamp)
        );
        submit(payer, budget, signature);
        assertEq(settlement.policyNonces(payer), 1);
        IX402Settlement.SpendingPolicy memory stored = settlement.spendingPolicyOf(payer, address(token));
        assertEq(stored.maxPerPayment, 5e6);
        assertEq(stored.maxPerPeriod, 20e6);
        assertEq(stored.period, 1 days);

        // The policy binds the payer's next payment.
        IX402Settlement.SignedPayment memory payment = makePayment(6e6, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, 6e6, 5e6));
        chargeAsFacilitator(payment, 6e6);
    }

    function test_setSpendingPolicyBySig_sequentialNonces() public {
        submit(payer, budget, signPolicy(payerKey, address(token), budget, 0, deadline));
        IX402Settlement.SpendingPolicy memory none;
        submit(payer, none, signPolicy(payerKey, address(token), none, 1, deadline));
        assertEq(settlement.policyNonces(payer), 2);
        assertEq(settlement.remainingBudget(payer, address(token)), type(uint256).max);
    }

    function test_setSpendingPolicyBySig_eip1271Wallet() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(walletOwnerKey, policyDigest(wallet, address(token), budget, 0, deadline));
        submit(wallet, budget, abi.encodePacked(r, s, v));
        assertEq(settlement.policyNonces(wallet), 1);
        assertEq(settlement.spendingPolicyOf(wallet, address(token)).maxPerPayment, 5e6);
    }

    function test_setSpendingPolicyBySig_atDeadline() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.warp(deadline);
        submit(payer, budget, signature);
        assertEq(settlement.policyNonces(payer), 1);
    }

    function testFuzz_setSpendingPolicyBySig(uint128 maxPerPayment, uint128 maxPerPeriod, uint32 period)
        public
    {
        if (maxPerPeriod == 0) period = 0;
        else period = uint32(bound(period, 1, type(uint32).max));
        IX402Settlement.SpendingPolicy memory p = policyOf(maxPerPayment, maxPerPeriod, period, 0);
        submit(payer, p, signPolicy(payerKey, address(token), p, 0, deadline));
        IX402Settlement.SpendingPolicy memory stored = settlement.spendingPolicyOf(payer, address(token));
        bool removed = maxPerPayment == 0 && maxPerPeriod == 0;
        assertEq(stored.maxPerPayment, removed ? 0 : maxPerPayment);
        assertEq(stored.maxPerPeriod, removed ? 0 : maxPerPeriod);
        assertEq(stored.period, removed ? 0 : period);
    }

    // ---------------------------------------------------------------- revocation

    /// The attack: the payer once signed a loose policy (handed to a relayer, never submitted), then
    /// set a stricter one with its own transaction. The old signature must be dead: every policy change
    /// consumes the nonce.
    function test_setSpendingPolicyBySig_revert_olderLooserAfterStricterTransaction() public {
        IX402Settlement.SpendingPolicy memory loose = policyOf(1_000e6, 0, 0, 0);
        bytes memory looseSignature = signPolicy(payerKey, address(token), loose, 0, deadline);
        setPayerPolicy(policyOf(1e6, 0, 0, 0));
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, loose, looseSignature);
        assertEq(settlement.spendingPolicyOf(payer, address(token)).maxPerPayment, 1e6);
    }

    /// Same with two signatures: the stricter one is submitted, the older looser one can never follow.
    function test_setSpendingPolicyBySig_revert_olderLooserAfterStricterSignature() public {
        IX402Settlement.SpendingPolicy memory loose = policyOf(1_000e6, 0, 0, 0);
        IX402Settlement.SpendingPolicy memory strict = policyOf(1e6, 0, 0, 0);
        bytes memory looseSignature = signPolicy(payerKey, address(token), loose, 0, deadline);
        bytes memory strictSignature = signPolicy(payerKey, address(token), strict, 0, deadline);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), strict, 0, true, uint48(block.timestamp)
        );
        submit(payer, strict, strictSignature);
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, loose, looseSignature);
        vm.warp(deadline);
        assertEq(settlement.remainingBudget(payer, address(token)), 1e6);
    }

    /// A signed loosening (say, by a leaked agent key) waits for the payer's delay like any other.
    function test_setSpendingPolicyBySig_looseningWaitsForDelay() public {
        setPayerPolicy(policyOf(1e6, 0, 0, 1 days));
        IX402Settlement.SpendingPolicy memory loose = policyOf(1_000e6, 0, 0, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SpendingPolicySet(
            payer, address(token), loose, 1, true, uint48(block.timestamp + 1 days)
        );
        submit(payer, loose, signPolicy(payerKey, address(token), loose, 1, deadline));
        assertEq(settlement.remainingBudget(payer, address(token)), 1e6);
        vm.warp(block.timestamp + 1 days);
        assertEq(settlement.remainingBudget(payer, address(token)), 1_000e6);
    }

    // ---------------------------------------------------------------- reverts

    function test_setSpendingPolicyBySig_revert_expired() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.SignatureExpired.selector, deadline));
        submit(payer, budget, signature);
    }

    function test_setSpendingPolicyBySig_revert_replay() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        submit(payer, budget, signature);
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, budget, signature);
    }

    function test_setSpendingPolicyBySig_revert_wrongSigner() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(otherKey, policyDigest(payer, address(token), budget, 0, deadline));
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, budget, abi.encodePacked(r, s, v));
    }

    /// A relayer cannot loosen the budget the payer signed.
    function test_setSpendingPolicyBySig_revert_policyTampered() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        IX402Settlement.SpendingPolicy memory looser = budget;
        looser.maxPerPayment = 500e6;
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, looser, signature);
    }

    function test_setSpendingPolicyBySig_revert_tokenTampered() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        settlement.setSpendingPolicyBySig(payer, address(0xBEEF), budget, deadline, signature);
    }

    function test_setSpendingPolicyBySig_revert_deadlineTampered() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        settlement.setSpendingPolicyBySig(payer, address(token), budget, deadline + 1, signature);
    }

    function test_setSpendingPolicyBySig_revert_crossContractReplay() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        IX402Settlement other = deploySettlement();
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        other.setSpendingPolicyBySig(payer, address(token), budget, deadline, signature);
    }

    function test_setSpendingPolicyBySig_revert_crossChainReplay() public {
        bytes memory signature = signPolicy(payerKey, address(token), budget, 0, deadline);
        vm.chainId(block.chainid + 1);
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, budget, signature);
    }

    function test_setSpendingPolicyBySig_revert_malformedSignature() public {
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(payer, budget, hex"1234");
    }

    function test_setSpendingPolicyBySig_revert_eip1271Rejects() public {
        address wallet = deploySmartWallet(makeAddr("wallet owner"));
        (, uint256 strangerKey) = makeAddrAndKey("stranger");
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(strangerKey, policyDigest(wallet, address(token), budget, 0, deadline));
        vm.expectRevert(IX402Settlement.InvalidSignature.selector);
        submit(wallet, budget, abi.encodePacked(r, s, v));
    }

    function test_setSpendingPolicyBySig_revert_zeroPayer() public {
        vm.expectRevert(IX402Settlement.ZeroAddress.selector);
        settlement.setSpendingPolicyBySig(address(0), address(token), budget, deadline, new bytes(65));
    }

    function test_setSpendingPolicyBySig_revert_invalidPolicy() public {
        IX402Settlement.SpendingPolicy memory invalid =
            IX402Settlement.SpendingPolicy({maxPerPayment: 0, maxPerPeriod: 100, period: 0, loosenDelay: 0});
        bytes memory signature = signPolicy(payerKey, address(token), invalid, 0, deadline);
        vm.expectRevert(IX402Settlement.InvalidPolicy.selector);
        submit(payer, invalid, signature);
    }
}
