// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
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

        assertEq(terms.payer, payer);

        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentAuthorized(expectedId, payer, payee, escrowRefOf(payment), 0);
        bytes32 id = authorizeAs(facilitator, payment);

        assertEq(id, expectedId);
        assertEq(token.balanceOf(address(settlement)), AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowRefOf(payment));
        assertEq(uint8(escrow.status), uint8(IX402Settlement.EscrowStatus.Open));
        assertEq(escrow.protocolFeeBps, 0);
        assertEq(escrow.captured, 0);
        assertEq(escrow.refunded, 0);
    }

    /// The escrow is found only by the exact permit and witness it was authorized with.
    function test_authorize_escrowNamedOnlyByItsTerms() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        authorizeAs(facilitator, payment);
        IX402Settlement.EscrowRef memory ref = escrowRefOf(payment);
        ref.terms.payee = facilitator;
        assertEq(uint8(settlement.escrowOf(ref).status), uint8(IX402Settlement.EscrowStatus.None));
        ref = escrowRefOf(payment);
        ref.permit.permitted.amount += 1;
        assertEq(uint8(settlement.escrowOf(ref).status), uint8(IX402Settlement.EscrowStatus.None));
    }

    function test_authorize_snapshotsProtocolFee() public {
        setProtocolFeeNow(40);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentAuthorized(idOf(payment), payer, payee, escrowRefOf(payment), 40);
        authorizeAs(facilitator, payment);
        assertEq(settlement.escrowOf(escrowRefOf(payment)).protocolFeeBps, 40);
    }

    // ---------------------------------------------------------------- payer binding

    /// One smart-wallet signature for an escrow cannot fund it from the owner's EOA or a sibling wallet.
    function test_authorize_revert_walletSignatureAgainstOwnerAndSibling() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        address sibling = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        fundPayer(sibling, AMOUNT);
        fundPayer(walletOwner, AMOUNT);
        IX402Settlement.SignedPayment memory payment = makePayment(
            walletOwnerKey, defaultPermit(AMOUNT, nextNonce()), defaultTerms(wallet, MODE_ESCROW)
        );

        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        authorizeAs(facilitator, redirected(payment, walletOwner));
        vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        authorizeAs(facilitator, redirected(payment, sibling));
        authorizeAs(facilitator, payment);

        assertEq(token.balanceOf(walletOwner), AMOUNT, "the owner's EOA is never charged");
        assertEq(token.balanceOf(sibling), AMOUNT, "the sibling wallet is never charged");
        assertEq(token.balanceOf(wallet), 0);
    }

    function test_authorize_revert_settlementAsPayee() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.payee = address(settlement);
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, AMOUNT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.InvalidPayee.selector, address(settlement)));
        authorizeAs(facilitator, payment);
    }

    function test_authorize_refundExpiryEqualsAuthorizationExpiry() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.refundExpiry = terms.authorizationExpiry;
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, AMOUNT);
        authorizeAs(facilitator, payment);
        assertEq(
            uint8(settlement.escrowOf(escrowRefOf(payment)).status), uint8(IX402Settlement.EscrowStatus.Open)
        );
    }

    function test_authorize_chargesPolicyForFullAmount() public {
        setPayerPolicy(0, uint128(AMOUNT * 3 / 2), 1 days);
        authorizeEscrow(AMOUNT);
        assertEq(settlement.remainingBudget(payer, address(token)), AMOUNT / 2);
    }

    function test_authorize_maximumUint96() public {
        uint256 amount = type(uint96).max;
        fundPayer(payer, amount);
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_ESCROW);
        authorizeAs(facilitator, payment);
        assertEq(
            uint8(settlement.escrowOf(escrowRefOf(payment)).status), uint8(IX402Settlement.EscrowStatus.Open)
        );
        assertEq(token.balanceOf(address(settlement)), amount);
    }

    function testFuzz_authorize(uint256 amount, uint48 authorizationPeriod, uint48 refundPeriod) public {
        amount = bound(amount, 1, PAYER_BALANCE);
        authorizationPeriod = uint48(bound(authorizationPeriod, 1, 3650 days));
        refundPeriod = uint48(bound(refundPeriod, 0, 3650 days));
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_ESCROW);
        terms.authorizationExpiry = uint48(block.timestamp) + authorizationPeriod;
        terms.refundExpiry = terms.authorizationExpiry + refundPeriod;
        IX402Settlement.SignedPayment memory payment = escrowPayment(terms, amount);
        authorizeAs(facilitator, payment);
        IX402Settlement.EscrowState memory escrow = settlement.escrowOf(escrowRefOf(payment));
        assertEq(uint8(escrow.status), uint8(IX402Settlement.EscrowStatus.Open));
        assertEq(escrow.captured, 0);
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
        IX402Settlement other = deploySettlement();
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
