// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {SmartWallet} from "../mocks/SmartWallet.sol";
import {AdversarialBase} from "./AdversarialBase.sol";

/// @notice A contract wallet (EIP-1271) pays like an EOA: Permit2 asks the wallet whether the
/// signature is its own. A signature the wallet does not accept never moves its funds.
contract SmartWalletPayerTest is AdversarialBase {
    SmartWallet internal wallet;
    address internal walletOwner;
    uint256 internal walletOwnerKey;
    uint256 internal strangerKey;

    function setUp() public override {
        super.setUp();
        (walletOwner, walletOwnerKey) = makeAddrAndKey("walletOwner");
        (, strangerKey) = makeAddrAndKey("stranger");
        wallet = new SmartWallet(walletOwner);
        token.mint(address(wallet), PAYER_BALANCE);
        vm.prank(walletOwner);
        wallet.approve(token, address(permit2), type(uint256).max);
    }

    /// A payment from the wallet, signed (over Permit2's digest) by `key`.
    function _walletPayment(uint256 key, uint256 amount, uint8 mode)
        internal
        returns (IX402Settlement.SignedPayment memory payment)
    {
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(amount, nextNonce());
        IX402Settlement.PaymentTerms memory terms = defaultTerms(address(wallet), mode);
        payment = IX402Settlement.SignedPayment({
            permit: permit,
            terms: terms,
            signature: signPermitWitness(key, permit, address(settlement), terms)
        });
    }

    function test_charge_fromSmartWallet() public {
        IX402Settlement.SignedPayment memory payment = _walletPayment(walletOwnerKey, AMOUNT, MODE_EXACT);
        bytes32 id = chargeAsFacilitator(payment, AMOUNT);

        assertEq(id, paymentIdFor(address(settlement), address(wallet), payment.permit.nonce));
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE - AMOUNT);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(facilitator), fee);
    }

    function test_authorizeAndReclaim_fromSmartWallet() public {
        IX402Settlement.SignedPayment memory payment = _walletPayment(walletOwnerKey, AMOUNT, MODE_ESCROW);
        vm.prank(facilitator);
        settlement.authorize(payment);
        IX402Settlement.EscrowRef memory id = escrowRefOf(payment);
        assertTrue(settlement.escrowOf(id).status == IX402Settlement.EscrowStatus.Open);
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE - AMOUNT);

        vm.prank(facilitator);
        settlement.capture(id, AMOUNT / 2, FEE_BPS, EVIDENCE_HASH);

        // The wallet reclaims through its owner (anyone could; the funds go to the wallet).
        vm.warp(block.timestamp + AUTHORIZATION_PERIOD);
        vm.prank(walletOwner);
        wallet.execute(address(settlement), abi.encodeCall(settlement.reclaim, (id)));
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE - AMOUNT / 2);
        assertTrue(settlement.escrowOf(id).status == IX402Settlement.EscrowStatus.Closed);
    }

    function test_charge_walletRejectsStrangersSignature() public {
        IX402Settlement.SignedPayment memory payment = _walletPayment(strangerKey, AMOUNT, MODE_EXACT);
        vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE);
    }

    function test_authorize_walletRejectsStrangersSignature() public {
        IX402Settlement.SignedPayment memory payment = _walletPayment(strangerKey, AMOUNT, MODE_ESCROW);
        vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        vm.prank(facilitator);
        settlement.authorize(payment);
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE);
    }

    /// The owner's genuine signature, reattached to different terms, is not the wallet's signature.
    function test_charge_ownerSignatureOverOtherTermsFails() public {
        IX402Settlement.SignedPayment memory payment = _walletPayment(walletOwnerKey, AMOUNT, MODE_EXACT);
        payment.terms.payee = makeAddr("attacker");
        vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_setSpendingPolicyBySig_fromSmartWallet() public {
        IX402Settlement.SpendingPolicy memory policy =
            IX402Settlement.SpendingPolicy({maxPerPayment: uint128(AMOUNT), maxPerPeriod: 0, period: 0, loosenDelay: 0});
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(walletOwnerKey, policyDigest(address(wallet), address(token), policy, 0, deadline));
        settlement.setSpendingPolicyBySig(address(wallet), address(token), policy, deadline, abi.encodePacked(r, s, v));
        assertEq(settlement.remainingBudget(address(wallet), address(token)), AMOUNT);

        // The policy binds the wallet's payments.
        IX402Settlement.SignedPayment memory payment = _walletPayment(walletOwnerKey, AMOUNT + 1, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, AMOUNT + 1, AMOUNT)
        );
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT + 1, FEE_BPS, EVIDENCE_HASH);
    }

    function testFuzz_charge_fromSmartWallet(uint256 amount, uint256 signerKey) public {
        amount = bound(amount, 1, PAYER_BALANCE);
        signerKey = bound(signerKey, 1, SECP256K1_ORDER - 1);
        IX402Settlement.SignedPayment memory payment = _walletPayment(signerKey, amount, MODE_UPTO);
        if (signerKey != walletOwnerKey) vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        vm.prank(facilitator);
        settlement.charge(payment, amount, FEE_BPS, EVIDENCE_HASH);
        assertEq(token.balanceOf(address(wallet)), PAYER_BALANCE - (signerKey == walletOwnerKey ? amount : 0));
    }
}
