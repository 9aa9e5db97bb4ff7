// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {X402Settlement} from "../../contracts/X402Settlement.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";

contract AuthorizeTest is SettlementTestBase {
    function authorizeAs(address caller, IX402Settlement.SignedPayment memory payment)
        internal
        returns (bytes32)
    {
        vm.prank(caller);
        return settlement.authorize(payment);
    }

    function escrowPayment(IX402Settlement.PaymentTerms memory terms, uint256 amount)
        internal
        returns (IX402Settlement.SignedPayment memory)
    {
        return makePayment(payerKey, defaultPermit(amount, nextNonce()), terms);
    }

    // ---------------------------------------------------------------- happy paths

    function test_authorize_fundsEscrow() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        bytes32 expectedId = paymentIdFor(address(settlement), payer, payment.permit.nonce);
        IX402Settlement.PaymentTerms memory terms = payment.terms;

        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentAuthorized(
            expectedId,
            payer,
            payee,
            address(token),
            facilitator,
            AMOUNT,
            MAX_FEE_BPS,
            terms.authorizationExpiry,
            terms.refundExpiry,
            REQUEST_HASH
        );
        bytes32 id = authorizeAs(facilitator, payment);

        assertEq(id, expectedId);
        assertEq(token.balanceOf(address(settlement)), AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
        IX402Settlement.Escrow memory escrow = settlement.escrowOf(id);
        assertEq(escrow.payer, payer);
        assertEq(escrow.payee, payee);
        assertEq(escrow.facilitator, facilitator);
        assertEq(escrow.token, address(token));
        assertEq(escrow.maxFacilitatorFeeBps, MAX_FEE_BPS);
        assertEq(escrow.authorizationExpiry, terms.authorizationExpiry);
        assertEq(escrow.refundExpiry, terms.refundExpiry);
        assertFalse(escrow.closed);
        assertEq(escrow.authorized, AMOUNT);
        assertEq(escrow.captured, 0);
        assertEq(escrow.refunded, 0);
    }

    function test_authorize_refundExpiryEqualsAuthorizationExpiry() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.refundExpiry = terms.authorizationExpiry;
        bytes32 id = authorizeAs(facilitator, escrowPayment(terms, AMOUNT));
        assertEq(settlement.escrowOf(id).refundExpiry, terms.authorizationExpiry);
    }

    function test_authorize_chargesPolicyForFullAmount() public {
        setPayerPolicy(0, uint128(AMOUNT * 3 / 2), 1 days);
        authorizeEscrow(AMOUNT);
        assertEq(settlement.remainingBudget(payer, address(token)), AMOUNT / 2);
    }

    function test_authorize_maximumUint96() public {
        uint256 amount = type(uint96).max;
        fundPayer(payer, amount);
        bytes32 id = authorizeAs(facilitator, makePayment(amount, MODE_ESCROW));
        assertEq(settlement.escrowOf(id).authorized, amount);
    }

    function testFuzz_authorize(uint256 amount, uint48 authorizationPeriod, uint48 refundPeriod) public {
        amount = bound(amount, 1, PAYER_BALANCE);
        authorizationPeriod = uint48(bound(authorizationPeriod, 1, 3650 days));
        refundPeriod = uint48(bound(refundPeriod, 0, 3650 days));
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.authorizationExpiry = uint48(block.timestamp) + authorizationPeriod;
        terms.refundExpiry = terms.authorizationExpiry + refundPeriod;
        bytes32 id = authorizeAs(facilitator, escrowPayment(terms, amount));
        IX402Settlement.Escrow memory escrow = settlement.escrowOf(id);
        assertEq(escrow.authorized, amount);
        assertEq(escrow.authorizationExpiry, terms.authorizationExpiry);
        assertEq(escrow.refundExpiry, terms.refundExpiry);
        assertEq(token.balanceOf(address(settlement)), amount);
    }

    // ---------------------------------------------------------------- reverts

    function test_authorize_revert_notFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, payee, facilitator));
        authorizeAs(payee, payment);
    }

    function test_authorize_revert_wrongMode() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.WrongMode.selector, MODE_ESCROW, MODE_EXACT));
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_notYetValid() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.validAfter = uint48(block.timestamp + 1);
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, AMOUNT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.NotYetValid.selector, terms.validAfter, block.timestamp)
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_zeroAmount() public {
        IX402Settlement.SignedPayment memory payment = makePayment(0, MODE_ESCROW);
        vm.expectRevert(IX402Settlement.ZeroAmount.selector);
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_aboveUint96() public {
        uint256 amount = uint256(type(uint96).max) + 1;
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_ESCROW);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.AmountAboveMaximum.selector, amount, uint256(type(uint96).max)
            )
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_authorizationExpiryNotInFuture() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.authorizationExpiry = uint48(block.timestamp);
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, AMOUNT);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.InvalidExpiries.selector, terms.authorizationExpiry, terms.refundExpiry
            )
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_refundExpiryBeforeAuthorizationExpiry() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.refundExpiry = terms.authorizationExpiry - 1;
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, AMOUNT);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.InvalidExpiries.selector, terms.authorizationExpiry, terms.refundExpiry
            )
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_alreadyExists() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        bytes32 id = authorizeAs(facilitator, payment);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.PaymentAlreadyExists.selector, id));
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_perPaymentLimit() public {
        setPayerPolicy(uint128(AMOUNT - 1), 0, 0);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, AMOUNT, AMOUNT - 1)
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_periodLimit() public {
        setPayerPolicy(0, uint128(AMOUNT), 1 days);
        authorizeEscrow(AMOUNT / 2);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.PeriodLimitExceeded.selector, AMOUNT, AMOUNT / 2, AMOUNT)
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_feeOnTransferToken() public {
        FeeOnTransferToken taxed = new FeeOnTransferToken(250);
        taxed.mint(payer, AMOUNT);
        vm.prank(payer);
        taxed.approve(address(permit2), type(uint256).max);
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(AMOUNT, nextNonce());
        permit.permitted.token = address(taxed);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, permit, defaultTerms(MODE_ESCROW));
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - AMOUNT * 250 / 10_000
            )
        );
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_expiriesTampered() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        payment.terms.authorizationExpiry += 30 days;
        payment.terms.refundExpiry += 30 days;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_payeeSwapped() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        payment.terms.payee = facilitator;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_crossContractReplay() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        X402Settlement other = deploySettlement();
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        other.authorize(payment);
    }

    function test_authorize_revert_crossChainReplay() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.chainId(block.chainid + 1);
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        authorizeAs(facilitator, payment);
    }

    function test_authorize_revert_expiredDeadline() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.warp(payment.permit.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.SignatureExpired.selector, payment.permit.deadline)
        );
        authorizeAs(facilitator, payment);
    }

    /// A nonce already spent by a charge cannot fund an escrow.
    function test_authorize_revert_nonceUsedByCharge() public {
        IX402Settlement.SignedPayment memory charged = makePayment(AMOUNT, MODE_EXACT);
        chargeAsFacilitator(charged, AMOUNT);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, charged.permit.nonce), defaultTerms(MODE_ESCROW));
        vm.expectRevert(PERMIT2_INVALID_NONCE);
        authorizeAs(facilitator, payment);
    }
}
