// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract SetTreasuryTest is SettlementTestBase {
    function test_setTreasury_storesAndEmits() public {
        vm.expectEmit(address(settlement));
        emit IX402Settlement.TreasuryChanged(address(0), treasury);
        vm.prank(owner);
        settlement.setTreasury(treasury);
        (,,, address stored) = settlement.protocolFee();
        assertEq(stored, treasury);

        address next = makeAddr("next treasury");
        vm.expectEmit(address(settlement));
        emit IX402Settlement.TreasuryChanged(treasury, next);
        vm.prank(owner);
        settlement.setTreasury(next);
    }

    /// Fees accrued under the old treasury are withdrawn by the new one.
    function test_setTreasury_newTreasuryWithdrawsAccrued() public {
        vm.prank(owner);
        settlement.setTreasury(treasury);
        setProtocolFeeNow(100);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        address next = makeAddr("next treasury");
        vm.prank(owner);
        settlement.setTreasury(next);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, treasury));
        vm.prank(treasury);
        settlement.withdrawProtocolFees(address(token), treasury);
        vm.prank(next);
        settlement.withdrawProtocolFees(address(token), next);
        (, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 100);
        assertEq(token.balanceOf(next), protocolFee);
    }

    function test_setTreasury_revert_settlementItself() public {
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.InvalidRecipient.selector, address(settlement))
        );
        vm.prank(owner);
        settlement.setTreasury(address(settlement));
    }

    function test_setTreasury_revert_zero() public {
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.InvalidRecipient.selector, address(0)));
        vm.prank(owner);
        settlement.setTreasury(address(0));
    }

    function test_setTreasury_revert_notOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, treasury));
        vm.prank(treasury);
        settlement.setTreasury(treasury);
    }
}
