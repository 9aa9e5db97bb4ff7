// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract ChargeTest is SettlementTestBase {
    function test_charge_exact_paysPayeeAndFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        bytes32 id = chargeAsFacilitator(payment, AMOUNT);
        assertEq(id, paymentIdFor(address(settlement), payer, 0));
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(address(settlement)), 0);
    }
}
