// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice A signed payment is valid once, on one chain, for one settlement deployment.
contract ReplayTest is AdversarialBase {
    uint256 internal constant OTHER_CHAIN = 8453;
    /// @dev Kept in storage: the optimizer may re-read `block.chainid` for a local copy after
    /// `vm.chainId` changed it.
    uint256 internal homeChain;

    function setUp() public override {
        super.setUp();
        homeChain = block.chainid;
    }

    function test_sameContract_replayFails() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        chargeAsFacilitator(payment, AMOUNT);
        vm.expectRevert(PERMIT2_INVALID_NONCE);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_chargedPayment_cannotBeReusedAsEscrowOrInBatch() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        chargeAsFacilitator(payment, AMOUNT / 2);

        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = makeBatchItem(payment, AMOUNT / 2);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, false, ITEM_GAS);
        assertFalse(settled[0]);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 2, "the unused rest of an upto is not reusable");
    }

    function test_crossChain_signedHere_submittedElsewhere_fails() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.chainId(OTHER_CHAIN);
        // Permit2 rebuilds its domain separator for the new chain id, so the signature no longer
        // recovers to the payer.
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function test_crossChain_signedElsewhere_submittedHere_fails() public {
        vm.chainId(OTHER_CHAIN);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.chainId(homeChain);
        assertEq(block.chainid, homeChain);
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.authorize(payment);
    }

    function test_crossChain_settledHere_stillFailsElsewhere() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        bytes32 idHere = chargeAsFacilitator(payment, AMOUNT);
        vm.chainId(OTHER_CHAIN);
        // Payment ids are chain-specific, so an indexer never confuses the two.
        assertTrue(settlement.paymentIdOf(payer, payment.permit.nonce) != idHere);
        vm.expectRevert();
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_crossContract_signedForOneDeployment_failsOnAnother() public {
        IX402Settlement second = deploySettlement();
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        // The signature names `settlement` as Permit2 spender; `second` is a different spender.
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        second.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);

        // It remains valid where it was meant to settle.
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_crossContract_escrowSignature_failsOnAnother() public {
        IX402Settlement second = deploySettlement();
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        second.authorize(payment);
    }

    function test_crossContract_batchItem_failsOnAnother() public {
        IX402Settlement second = deploySettlement();
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = makeBatchItem(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        vm.prank(facilitator);
        (, bool[] memory settled) = second.chargeBatch(items, false, ITEM_GAS);
        assertFalse(settled[0]);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
    }

    function testFuzz_crossChain_anyOtherChainFails(uint64 chainId) public {
        vm.assume(chainId != block.chainid && chainId != 0);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.chainId(chainId);
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }
}
