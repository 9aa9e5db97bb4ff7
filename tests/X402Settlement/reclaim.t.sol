// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract ReclaimTest is SettlementTestBase {
    bytes32 internal id;
    uint48 internal expiry;

    function setUp() public override {
        super.setUp();
        id = authorizeEscrow(AMOUNT);
        expiry = settlement.escrowOf(id).authorizationExpiry;
    }

    function test_reclaim_atExpiry() public {
        vm.warp(expiry);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentReclaimed(id, payer, address(token), AMOUNT);
        vm.prank(payer);
        settlement.reclaim(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertTrue(settlement.escrowOf(id).closed);
    }

    function test_reclaim_afterPartialCapture() public {
        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 4, FEE_BPS, EVIDENCE_HASH);
        vm.warp(expiry + 30 days);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentReclaimed(id, payer, address(token), AMOUNT - AMOUNT / 4);
        vm.prank(payer);
        settlement.reclaim(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 4);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    /// Nothing the owner does can stop a payer from getting its escrow back.
    function test_reclaim_ownerCannotBlock() public {
        vm.startPrank(owner);
        settlement.setProtocolFee(100, treasury);
        settlement.transferOwnership(makeAddr("new owner"));
        vm.stopPrank();
        vm.prank(owner);
        settlement.renounceOwnership();
        vm.warp(expiry);
        vm.prank(payer);
        settlement.reclaim(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE, "no protocol fee on a reclaim");
    }

    function test_reclaim_byEip1271Wallet() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        IX402Settlement.SignedPayment memory payment = IX402Settlement.SignedPayment({
            permit: defaultPermit(AMOUNT, 0),
            payer: wallet,
            terms: terms,
            signature: signPermitWitness(walletOwnerKey, defaultPermit(AMOUNT, 0), address(settlement), terms)
        });
        vm.prank(facilitator);
        bytes32 walletEscrow = settlement.authorize(payment);
        vm.warp(terms.authorizationExpiry);
        vm.prank(wallet);
        settlement.reclaim(walletEscrow);
        assertEq(token.balanceOf(wallet), AMOUNT);
    }

    function testFuzz_reclaim(uint256 captured, uint256 delay) public {
        captured = bound(captured, 0, AMOUNT);
        delay = bound(delay, 0, 3650 days);
        if (captured != 0) {
            vm.prank(facilitator);
            settlement.capture(id, captured, 0, EVIDENCE_HASH);
        }
        vm.warp(uint256(expiry) + delay);
        vm.prank(payer);
        settlement.reclaim(id);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - captured);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_reclaim_revert_unknownPayment() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, unknown));
        vm.prank(payer);
        settlement.reclaim(unknown);
    }

    function test_reclaim_revert_notPayer() public {
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.Unauthorized.selector, facilitator));
        vm.prank(facilitator);
        settlement.reclaim(id);
    }

    function test_reclaim_revert_beforeExpiry() public {
        vm.warp(expiry - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.AuthorizationNotExpired.selector, expiry, uint256(expiry) - 1
            )
        );
        vm.prank(payer);
        settlement.reclaim(id);
    }

    function testFuzz_reclaim_revert_beforeExpiry(uint256 at) public {
        at = bound(at, block.timestamp, uint256(expiry) - 1);
        vm.warp(at);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.AuthorizationNotExpired.selector, expiry, at));
        vm.prank(payer);
        settlement.reclaim(id);
    }

    function test_reclaim_revert_twice() public {
        vm.warp(expiry);
        vm.prank(payer);
        settlement.reclaim(id);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payer);
        settlement.reclaim(id);
    }

    function test_reclaim_revert_afterVoid() public {
        vm.prank(payee);
        settlement.void(id);
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payer);
        settlement.reclaim(id);
    }
}
