// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

/// @notice Gas of each settlement entry point, the settlement call alone. Run with
/// `forge test --isolate --match-path tests/X402Settlement/gas.t.sol` so every call is its own
/// transaction (cold storage, intrinsic gas and refunds as on chain); forge writes
/// snapshots/X402SettlementGasTest.json.
/// @dev State is what a live deployment sees in steady state: payer, payee and facilitator already hold
/// tokens, and the payer's Permit2 nonce word was used by an earlier payment.
contract X402SettlementGasTest is SettlementTestBase {
    function setUp() public override {
        super.setUp();
        token.mint(payee, 1e6);
        token.mint(facilitator, 1e6);
        // An earlier payment used nonce 0 of the payer's first Permit2 nonce word.
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
    }

    function test_gas_charge_exact() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        vm.snapshotGasLastCall("charge_exact");
    }

    function test_gas_charge_upto() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        vm.snapshotGasLastCall("charge_upto");
    }

    function test_gas_authorize() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(payment);
        vm.snapshotGasLastCall("authorize");
    }

    function test_gas_capture() public {
        bytes32 id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        vm.snapshotGasLastCall("capture");
    }

    function test_gas_void() public {
        bytes32 id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        vm.prank(payee);
        settlement.void(id);
        vm.snapshotGasLastCall("void");
    }

    function test_gas_reclaim() public {
        bytes32 id = authorizeEscrow(AMOUNT);
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        vm.prank(payer);
        settlement.reclaim(id);
        vm.snapshotGasLastCall("reclaim");
    }

    function test_gas_refund() public {
        bytes32 id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        vm.prank(payee);
        token.approve(address(settlement), AMOUNT);
        vm.prank(payee);
        settlement.refund(id, AMOUNT / 2);
        vm.snapshotGasLastCall("refund");
    }

    /// @dev A payer whose Permit2 nonce word is still zero (its first payment): +17.1k for the bitmap write.
    function test_gas_charge_exact_newPayer() public {
        (address newPayer, uint256 key) = makeAddrAndKey("new payer");
        fundPayer(newPayer, AMOUNT);
        IX402Settlement.SignedPayment memory payment =
            makePayment(key, defaultPermit(AMOUNT, 0), defaultTerms(MODE_EXACT));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        vm.snapshotGasLastCall("charge_exact_new_payer");
    }

    /// @dev 50 distinct payers, each with an earlier payment (steady state), paying one payee, with the
    /// evidence root committed.
    function test_gas_batch50() public {
        IX402Settlement.BatchItem[] memory items = _batch(50, true);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true);
        uint256 total = vm.snapshotGasLastCall("batch50_total");
        vm.snapshotValue("batch50_per_payment", total / items.length);
        _assertAllSettled(settled);
    }

    /// @dev 50 distinct first-time payers (fresh Permit2 nonce words).
    function test_gas_batch50_newPayers() public {
        IX402Settlement.BatchItem[] memory items = _batch(50, false);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true);
        uint256 total = vm.snapshotGasLastCall("batch50_new_payers_total");
        vm.snapshotValue("batch50_new_payers_per_payment", total / items.length);
        _assertAllSettled(settled);
    }

    function _batch(uint256 count, bool paidBefore) private returns (IX402Settlement.BatchItem[] memory items) {
        items = new IX402Settlement.BatchItem[](count);
        for (uint256 i; i < count; ++i) {
            (address batchPayer, uint256 key) = makeAddrAndKey(string.concat("batch payer ", vm.toString(i)));
            fundPayer(batchPayer, 2 * AMOUNT);
            if (paidBefore) {
                chargeAsFacilitator(makePayment(key, defaultPermit(AMOUNT, 0), defaultTerms(MODE_EXACT)), AMOUNT);
            }
            items[i] = makeBatchItem(makePayment(key, defaultPermit(AMOUNT, 1), defaultTerms(MODE_EXACT)), AMOUNT);
        }
    }

    function _assertAllSettled(bool[] memory settled) private pure {
        for (uint256 i; i < settled.length; ++i) {
            assertTrue(settled[i]);
        }
    }
}
