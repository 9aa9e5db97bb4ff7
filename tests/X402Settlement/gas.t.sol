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
    /// @dev Runs the test only under `--isolate`: without it every call of a test shares one
    /// transaction, storage is warm and the figures (which forge would write into the committed
    /// snapshot) mean nothing. Detected by reading an untouched storage slot twice: under isolation
    /// both reads are cold and cost the same.
    modifier onlyIsolated() {
        address probe = address(uint160(uint256(keccak256("gas isolation probe"))));
        token.balanceOf(probe);
        uint256 first = vm.lastCallGas().gasTotalUsed;
        token.balanceOf(probe);
        uint256 second = vm.lastCallGas().gasTotalUsed;
        vm.skip(first != second, "gas figures need forge test --isolate");
        _;
    }

    function setUp() public override {
        super.setUp();
        // An earlier payment used nonce 0 of the payer's first Permit2 nonce word and left the payee
        // and the facilitator (its fee) holding tokens.
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
    }

    function test_gas_charge_exact() public onlyIsolated {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertLe(vm.snapshotGasLastCall("charge_exact"), 110_000, "charge_exact above target");
    }

    function test_gas_charge_upto() public onlyIsolated {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        assertLe(vm.snapshotGasLastCall("charge_upto"), 115_000, "charge_upto above target");
    }

    function test_gas_authorize() public onlyIsolated {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(payment);
        // One fresh storage slot per escrow (issue 10: was 177,913 with four).
        assertLe(vm.snapshotGasLastCall("authorize"), 120_000, "authorize above target");
    }

    function test_gas_capture() public onlyIsolated {
        IX402Settlement.EscrowRef memory id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        // No dearer than the four-slot escrow's 66,822.
        assertLe(vm.snapshotGasLastCall("capture"), 66_822, "capture above target");
    }

    function test_gas_void() public onlyIsolated {
        IX402Settlement.EscrowRef memory id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);
        vm.prank(payee);
        settlement.void(id);
        // No dearer than the four-slot escrow's 46,829.
        assertLe(vm.snapshotGasLastCall("void"), 46_829, "void above target");
    }

    function test_gas_reclaim() public onlyIsolated {
        IX402Settlement.EscrowRef memory id = authorizeEscrow(AMOUNT);
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        vm.prank(payer);
        settlement.reclaim(id);
        vm.snapshotGasLastCall("reclaim");
    }

    function test_gas_refund() public onlyIsolated {
        IX402Settlement.EscrowRef memory id = authorizeEscrow(AMOUNT);
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        vm.prank(payee);
        token.approve(address(settlement), AMOUNT);
        vm.prank(payee);
        settlement.refund(id, AMOUNT / 2);
        vm.snapshotGasLastCall("refund");
    }

    /// @dev A payer whose Permit2 nonce word is still zero (its first payment): +17.1k for the bitmap write.
    function test_gas_charge_exact_newPayer() public onlyIsolated {
        (address newPayer, uint256 key) = makeAddrAndKey("new payer");
        fundPayer(newPayer, AMOUNT);
        IX402Settlement.SignedPayment memory payment =
            makePayment(key, defaultPermit(AMOUNT, 0), defaultTerms(newPayer, MODE_EXACT));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        vm.snapshotGasLastCall("charge_exact_new_payer");
    }

    /// @dev 50 distinct payers, each with an earlier payment (steady state), paying one payee, with the
    /// evidence root committed.
    function test_gas_batch50() public onlyIsolated {
        IX402Settlement.BatchItem[] memory items = _batch(50, true);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        uint256 total = vm.snapshotGasLastCall("batch50_total");
        vm.snapshotValue("batch50_per_payment", total / items.length);
        assertLe(total / items.length, 55_000, "batch50_per_payment above target");
        _assertAllSettled(settled);
    }

    /// @dev 50 distinct first-time payers (fresh Permit2 nonce words).
    function test_gas_batch50_newPayers() public onlyIsolated {
        IX402Settlement.BatchItem[] memory items = _batch(50, false);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        uint256 total = vm.snapshotGasLastCall("batch50_new_payers_total");
        vm.snapshotValue("batch50_new_payers_per_payment", total / items.length);
        _assertAllSettled(settled);
    }

    function _batch(uint256 count, bool paidBefore)
        private
        returns (IX402Settlement.BatchItem[] memory items)
    {
        items = new IX402Settlement.BatchItem[](count);
        for (uint256 i; i < count; ++i) {
            (address batchPayer, uint256 key) = makeAddrAndKey(string.concat("batch payer ", vm.toString(i)));
            fundPayer(batchPayer, 2 * AMOUNT);
            if (paidBefore) {
                chargeAsFacilitator(
                    makePayment(key, defaultPermit(AMOUNT, 0), defaultTerms(batchPayer, MODE_EXACT)), AMOUNT
                );
            }
            items[i] = makeBatchItem(
                makePayment(key, defaultPermit(AMOUNT, 1), defaultTerms(batchPayer, MODE_EXACT)), AMOUNT
            );
        }
    }

    function _assertAllSettled(bool[] memory settled) private pure {
        for (uint256 i; i < settled.length; ++i) {
            assertTrue(settled[i]);
        }
    }
}
