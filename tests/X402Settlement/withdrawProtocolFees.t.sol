// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {BlocklistToken} from "../mocks/BlocklistToken.sol";

/// @notice Protocol fees accrue in the contract and only the treasury withdraws them, so a treasury
/// that the token refuses (blocklisted, as on USDC) never blocks a payment.
contract WithdrawProtocolFeesTest is SettlementTestBase {
    BlocklistToken internal usdc;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        settlement.setTreasury(treasury);
        setProtocolFeeNow(50);
        usdc = new BlocklistToken();
        usdc.mint(payer, PAYER_BALANCE);
        vm.prank(payer);
        usdc.approve(address(permit2), type(uint256).max);
    }

    function usdcPayment(uint256 amount, uint8 mode) internal returns (IX402Settlement.SignedPayment memory) {
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(amount, nextNonce());
        permit.permitted.token = address(usdc);
        return makePayment(payerKey, permit, defaultTerms(mode));
    }

    /// The treasury is blocklisted by the token: charges (alone and batched) and captures still
    /// succeed and the fees accrue; the treasury withdraws them to another address.
    function test_withdrawProtocolFees_blocklistedTreasuryNeverBlocksPayments() public {
        usdc.blocklist(treasury);

        chargeAsFacilitator(usdcPayment(AMOUNT, MODE_EXACT), AMOUNT);

        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        items[0] = makeBatchItem(usdcPayment(AMOUNT, MODE_EXACT), AMOUNT);
        items[1] = makeBatchItem(usdcPayment(AMOUNT, MODE_UPTO), AMOUNT / 2);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, false, ITEM_GAS);
        assertTrue(settled[0] && settled[1], "batch items with a fee settle");

        IX402Settlement.SignedPayment memory escrowed = usdcPayment(AMOUNT, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(escrowed);
        vm.prank(facilitator);
        settlement.capture(escrowRefOf(escrowed), AMOUNT, FEE_BPS, EVIDENCE_HASH);

        (, uint256 fee) = feesOf(AMOUNT, FEE_BPS, 50);
        (, uint256 halfFee) = feesOf(AMOUNT / 2, FEE_BPS, 50);
        uint256 accrued = 3 * fee + halfFee;
        assertEq(settlement.accruedProtocolFees(address(usdc)), accrued);
        assertEq(usdc.balanceOf(address(settlement)), accrued);

        // Withdrawing to the blocklisted treasury itself fails (the token refuses it) and keeps the fees.
        vm.expectRevert(abi.encodeWithSelector(BlocklistToken.Blocklisted.selector, treasury));
        vm.prank(treasury);
        settlement.withdrawProtocolFees(address(usdc), treasury);
        assertEq(settlement.accruedProtocolFees(address(usdc)), accrued);

        address vault = makeAddr("vault");
        vm.expectEmit(address(settlement));
        emit IX402Settlement.ProtocolFeesWithdrawn(address(usdc), treasury, vault, accrued);
        vm.prank(treasury);
        assertEq(settlement.withdrawProtocolFees(address(usdc), vault), accrued);
        assertEq(usdc.balanceOf(vault), accrued);
        assertEq(settlement.accruedProtocolFees(address(usdc)), 0);
        assertEq(usdc.balanceOf(address(settlement)), 0);
    }

    /// Accrued fees never mix with escrowed funds: withdrawing leaves every open escrow covered.
    function test_withdrawProtocolFees_leavesEscrowsCovered() public {
        IX402Settlement.SignedPayment memory escrowed = usdcPayment(AMOUNT, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(escrowed);
        vm.prank(facilitator);
        settlement.capture(escrowRefOf(escrowed), AMOUNT / 2, 0, EVIDENCE_HASH);
        vm.prank(treasury);
        settlement.withdrawProtocolFees(address(usdc), treasury);
        vm.prank(payee);
        settlement.void(escrowRefOf(escrowed));
        assertEq(usdc.balanceOf(payer), PAYER_BALANCE - AMOUNT / 2);
        assertEq(usdc.balanceOf(address(settlement)), 0);
    }

    function test_withdrawProtocolFees_nothingAccrued() public {
        vm.prank(treasury);
        assertEq(settlement.withdrawProtocolFees(address(usdc), treasury), 0);
    }

    function test_withdrawProtocolFees_revert_notTreasury() public {
        chargeAsFacilitator(usdcPayment(AMOUNT, MODE_EXACT), AMOUNT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, owner));
        vm.prank(owner);
        settlement.withdrawProtocolFees(address(usdc), owner);
    }

    function test_withdrawProtocolFees_revert_noTreasurySet() public {
        // A fresh deployment has no treasury: not even a call from the zero address may withdraw.
        IX402Settlement fresh = deploySettlement();
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, address(0)));
        vm.prank(address(0));
        fresh.withdrawProtocolFees(address(usdc), treasury);
    }

    function test_withdrawProtocolFees_revert_toSettlementOrZero() public {
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.InvalidRecipient.selector, address(settlement))
        );
        vm.prank(treasury);
        settlement.withdrawProtocolFees(address(usdc), address(settlement));
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.InvalidRecipient.selector, address(0)));
        vm.prank(treasury);
        settlement.withdrawProtocolFees(address(usdc), address(0));
    }
}
