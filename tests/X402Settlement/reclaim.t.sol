// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";

contract ReclaimTest is SettlementTestBase {
    IX402Settlement.EscrowRef internal ref;
    bytes32 internal id;
    uint48 internal expiry;

    function setUp() public override {
        super.setUp();
        ref = authorizeEscrow(AMOUNT);
        id = idOf(ref);
        expiry = ref.terms.authorizationExpiry;
    }

    function test_reclaim_atExpiry() public {
        vm.warp(expiry);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentReclaimed(id, payer, payer, payee, facilitator, address(token), AMOUNT);
        vm.prank(payer);
        settlement.reclaim(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertTrue(settlement.escrowOf(ref).status == IX402Settlement.EscrowStatus.Closed);
    }

    function test_reclaim_afterPartialCapture() public {
        vm.prank(facilitator);
        settlement.capture(ref, AMOUNT / 4, FEE_BPS, EVIDENCE_HASH);
        vm.warp(expiry + 30 days);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentReclaimed(
            id, payer, payer, payee, facilitator, address(token), AMOUNT - AMOUNT / 4
        );
        vm.prank(payer);
        settlement.reclaim(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 4);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    /// Nothing the owner does can stop a payer from getting its escrow back.
    function test_reclaim_ownerCannotBlock() public {
        vm.startPrank(owner);
        settlement.setProtocolFee(0);
        Ownable2Step(address(settlement)).transferOwnership(makeAddr("new owner"));
        vm.stopPrank();
        vm.prank(owner);
        Ownable2Step(address(settlement)).renounceOwnership();
        vm.warp(expiry);
        vm.prank(payer);
        settlement.reclaim(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE, "no protocol fee on a reclaim");
    }

    function test_reclaim_byEip1271Wallet() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(wallet, MODE_ESCROW);
        IX402Settlement.SignedPayment memory payment = IX402Settlement.SignedPayment({
            permit: defaultPermit(AMOUNT, 0),
            terms: terms,
            signature: signPermitWitness(walletOwnerKey, defaultPermit(AMOUNT, 0), address(settlement), terms)
        });
        vm.prank(facilitator);
        settlement.authorize(payment);
        vm.warp(terms.authorizationExpiry);
        vm.prank(wallet);
        settlement.reclaim(escrowRefOf(payment));
        assertEq(token.balanceOf(wallet), AMOUNT);
    }

    function testFuzz_reclaim(uint256 captured, uint256 delay) public {
        captured = bound(captured, 0, AMOUNT);
        delay = bound(delay, 0, 3650 days);
        if (captured != 0) {
            vm.prank(facilitator);
            settlement.capture(ref, captured, 0, EVIDENCE_HASH);
        }
        vm.warp(uint256(expiry) + delay);
        vm.prank(payer);
        settlement.reclaim(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - captured);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_reclaim_revert_unknownPayment() public {
        IX402Settlement.EscrowRef memory unknown = ref;
        unknown.permit.nonce = 12_345;
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(unknown)));
        vm.prank(payer);
        settlement.reclaim(unknown);
    }

    /// Anyone may reclaim an expired escrow for the payer (a keeper, the facilitator, a stranger): the
    /// funds can only go to the payer.
    function testFuzz_reclaim_byThirdParty(address caller) public {
        vm.assume(caller != payer && caller != address(settlement) && caller != address(permit2));
        vm.prank(facilitator);
        settlement.capture(ref, AMOUNT / 5, FEE_BPS, EVIDENCE_HASH);
        uint256 callerBalance = token.balanceOf(caller);
        vm.warp(expiry);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentReclaimed(
            id, payer, caller, payee, facilitator, address(token), AMOUNT - AMOUNT / 5
        );
        vm.prank(caller);
        settlement.reclaim(ref);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT / 5, "the rest went to the payer");
        assertEq(token.balanceOf(caller), callerBalance, "the caller got nothing");
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    /// A third party cannot redirect a reclaim by naming another payer: altered terms name no escrow.
    function test_reclaim_revert_redirectedToOtherPayer() public {
        address thief = makeAddr("thief");
        IX402Settlement.EscrowRef memory altered = ref;
        altered.terms.payer = thief;
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.UnknownPayment.selector, idOf(altered)));
        vm.prank(thief);
        settlement.reclaim(altered);
        assertEq(token.balanceOf(thief), 0);
        assertEq(token.balanceOf(address(settlement)), AMOUNT);
    }

    function test_reclaim_revert_beforeExpiry() public {
        vm.warp(expiry - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.AuthorizationNotExpired.selector, expiry, uint256(expiry) - 1
            )
        );
        vm.prank(payer);
        settlement.reclaim(ref);
    }

    function testFuzz_reclaim_revert_beforeExpiry(uint256 at) public {
        at = bound(at, block.timestamp, uint256(expiry) - 1);
        vm.warp(at);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.AuthorizationNotExpired.selector, expiry, at));
        vm.prank(payer);
        settlement.reclaim(ref);
    }

    function test_reclaim_revert_twice() public {
        vm.warp(expiry);
        vm.prank(payer);
        settlement.reclaim(ref);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payer);
        settlement.reclaim(ref);
    }

    function test_reclaim_revert_afterVoid() public {
        vm.prank(payee);
        settlement.void(ref);
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentClosed.selector, id));
        vm.prank(payer);
        settlement.reclaim(ref);
    }
}
