// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";

contract ChargeTest is SettlementTestBase {
    // ---------------------------------------------------------------- happy paths

    function test_charge_exact_paysPayeeAndFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        bytes32 expectedId = paymentIdFor(address(settlement), payer, payment.permit.nonce);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);

        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCharged(
            expectedId,
            payer,
            payee,
            address(token),
            facilitator,
            payment.permit.nonce,
            MODE_EXACT,
            AMOUNT,
            AMOUNT,
            fee,
            0,
            REQUEST_HASH,
            EVIDENCE_HASH,
            0
        );
        bytes32 id = chargeAsFacilitator(payment, AMOUNT);

        assertEq(id, expectedId);
        assertEq(id, settlement.paymentIdOf(payer, payment.permit.nonce));
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_charge_upto_settlesLessThanMaximum() public {
        uint256 maximum = AMOUNT;
        uint256 used = 3_456_789;
        IX402Settlement.SignedPayment memory payment = makePayment(maximum, MODE_UPTO);
        (uint256 fee,) = feesOf(used, FEE_BPS, 0);

        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCharged(
            paymentIdFor(address(settlement), payer, payment.permit.nonce),
            payer,
            payee,
            address(token),
            facilitator,
            payment.permit.nonce,
            MODE_UPTO,
            used,
            maximum,
            fee,
            0,
            REQUEST_HASH,
            EVIDENCE_HASH,
            0
        );
        chargeAsFacilitator(payment, used);

        assertEq(token.balanceOf(payer), PAYER_BALANCE - used, "the unused rest never leaves the payer");
        assertEq(token.balanceOf(payee), used - fee);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function test_charge_upto_fullMaximum() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_charge_zeroFee_paysEverythingToPayee() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, 0, EVIDENCE_HASH);
        assertEq(token.balanceOf(payee), AMOUNT);
        assertEq(token.balanceOf(facilitator), 0);
    }

    function test_charge_withProtocolFeeAndSplit() public {
        setProtocolFeeNow(50);
        address partner = makeAddr("partner");
        address[] memory recipients = new address[](1);
        recipients[0] = partner;
        uint16[] memory bps = new uint16[](1);
        bps[0] = 2_000;
        vm.prank(payee);
        settlement.setSplit(recipients, bps);

        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        bytes32 id = paymentIdFor(address(settlement), payer, payment.permit.nonce);
        (uint256 fee, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 50);
        uint256 net = AMOUNT - fee - protocolFee;
        uint256 share = net * 2_000 / 10_000;

        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCharged(
            id,
            payer,
            payee,
            address(token),
            facilitator,
            payment.permit.nonce,
            MODE_EXACT,
            AMOUNT,
            AMOUNT,
            fee,
            protocolFee,
            REQUEST_HASH,
            EVIDENCE_HASH,
            0
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.SplitPaid(id, payee, partner, share);
        chargeAsFacilitator(payment, AMOUNT);

        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee, "protocol fee accrues");
        assertEq(token.balanceOf(treasury), 0, "nothing is sent to the treasury during a payment");
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(partner), share);
        assertEq(token.balanceOf(payee), net - share);
        assertEq(token.balanceOf(address(settlement)), protocolFee);
    }

    function test_charge_atValidAfter() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_EXACT);
        terms.validAfter = uint48(block.timestamp + 60);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.warp(block.timestamp + 60);
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_charge_atDeadline() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.warp(payment.permit.deadline);
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    function test_charge_smartWalletPayer() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(AMOUNT, 0);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(wallet, MODE_EXACT);
        IX402Settlement.SignedPayment memory payment = IX402Settlement.SignedPayment({
            permit: permit,
            terms: terms,
            signature: signPermitWitness(walletOwnerKey, permit, address(settlement), terms)
        });
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(wallet), 0);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_charge_exact(uint256 amount, uint16 feeBps) public {
        amount = bound(amount, 1, PAYER_BALANCE);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE_BPS));
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_EXACT);
        vm.prank(facilitator);
        settlement.charge(payment, amount, feeBps, EVIDENCE_HASH);
        (uint256 fee,) = feesOf(amount, feeBps, 0);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(token.balanceOf(payee), amount - fee);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - amount);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    function testFuzz_charge_upto(uint256 maximum, uint256 amount, uint16 feeBps, uint16 protocolBps) public {
        maximum = bound(maximum, 1, PAYER_BALANCE);
        amount = bound(amount, 1, maximum);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE_BPS));
        protocolBps = uint16(bound(protocolBps, 0, 100));
        setProtocolFeeNow(protocolBps);
        IX402Settlement.SignedPayment memory payment = makePayment(maximum, MODE_UPTO);
        vm.prank(facilitator);
        settlement.charge(payment, amount, feeBps, EVIDENCE_HASH);
        (uint256 fee, uint256 protocolFee) = feesOf(amount, feeBps, protocolBps);
        assertEq(token.balanceOf(facilitator), fee);
        assertEq(settlement.accruedProtocolFees(address(token)), protocolFee);
        assertEq(token.balanceOf(payee), amount - fee - protocolFee);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - amount);
        assertEq(token.balanceOf(address(settlement)), protocolFee);
    }

    function testFuzz_charge_upto_aboveMaximumReverts(uint256 maximum, uint256 amount) public {
        maximum = bound(maximum, 1, PAYER_BALANCE - 1);
        amount = bound(amount, maximum + 1, type(uint256).max);
        IX402Settlement.SignedPayment memory payment = makePayment(maximum, MODE_UPTO);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.AmountAboveMaximum.selector, amount, maximum));
        chargeAsFacilitator(payment, amount);
    }

    // ---------------------------------------------------------------- reverts

    function test_charge_revert_notFacilitator() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        address stranger = makeAddr("stranger");
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, stranger, facilitator)
        );
        vm.prank(stranger);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_charge_revert_wrongMode_escrow() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_ESCROW);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.WrongMode.selector, MODE_EXACT, MODE_ESCROW));
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_wrongMode_unknown() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, 7);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.WrongMode.selector, MODE_EXACT, 7));
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_exactAmountMismatch() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.AmountMismatch.selector, AMOUNT - 1, AMOUNT));
        chargeAsFacilitator(payment, AMOUNT - 1);
    }

    function test_charge_revert_uptoZeroAmount() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        vm.expectRevert(IX402Settlement.ZeroAmount.selector);
        chargeAsFacilitator(payment, 0);
    }

    function test_charge_revert_exactZeroAmount() public {
        IX402Settlement.SignedPayment memory payment = makePayment(0, MODE_EXACT);
        vm.expectRevert(IX402Settlement.ZeroAmount.selector);
        chargeAsFacilitator(payment, 0);
    }

    function test_charge_revert_uptoAboveMaximum() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.AmountAboveMaximum.selector, AMOUNT + 1, AMOUNT)
        );
        chargeAsFacilitator(payment, AMOUNT + 1);
    }

    function test_charge_revert_notYetValid() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_EXACT);
        terms.validAfter = uint48(block.timestamp + 60);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.NotYetValid.selector, terms.validAfter, block.timestamp)
        );
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_feeAboveSignedMaximum() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.FeeAboveMaximum.selector, MAX_FEE_BPS + 1, MAX_FEE_BPS)
        );
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, MAX_FEE_BPS + 1, EVIDENCE_HASH);
    }

    function test_charge_revert_feePlusProtocolFeeAboveWhole() public {
        setProtocolFeeNow(100);
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_EXACT);
        terms.maxFacilitatorFeeBps = 10_000;
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.FeeAboveMaximum.selector, 9_950, 9_900));
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, 9_950, EVIDENCE_HASH);
    }

    function test_charge_revert_perPaymentLimit() public {
        setPayerPolicy(uint128(AMOUNT - 1), 0, 0);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, AMOUNT, AMOUNT - 1)
        );
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_periodLimit() public {
        setPayerPolicy(0, uint128(AMOUNT * 3 / 2), 1 days);
        chargeAsFacilitator(makePayment(AMOUNT, MODE_EXACT), AMOUNT);
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.PeriodLimitExceeded.selector, AMOUNT, AMOUNT, AMOUNT * 3 / 2
            )
        );
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_feeOnTransferToken() public {
        FeeOnTransferToken taxed = new FeeOnTransferToken(100);
        taxed.mint(payer, AMOUNT);
        vm.prank(payer);
        taxed.approve(address(permit2), type(uint256).max);
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(AMOUNT, nextNonce());
        permit.permitted.token = address(taxed);
        IX402Settlement.SignedPayment memory payment = makePayment(payerKey, permit, defaultTerms(MODE_EXACT));
        vm.expectRevert(
            abi.encodeWithSelector(
                IX402Settlement.TokenReceivedMismatch.selector, AMOUNT, AMOUNT - AMOUNT / 100
            )
        );
        chargeAsFacilitator(payment, AMOUNT);
    }

    // ---------------------------------------------------------------- adversarial

    /// A facilitator that rewrites the witness to pay itself breaks the payer's signature.
    function test_charge_revert_payeeSwapped() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        payment.terms.payee = facilitator;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        chargeAsFacilitator(payment, AMOUNT);
    }

    /// Another facilitator cannot claim the payment by naming itself in the witness.
    function test_charge_revert_facilitatorSwappedInTerms() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        address rival = makeAddr("rival facilitator");
        payment.terms.facilitator = rival;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(rival);
        settlement.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);
    }

    function test_charge_revert_amountRaised() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_UPTO);
        payment.permit.permitted.amount = AMOUNT * 2;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        chargeAsFacilitator(payment, AMOUNT * 2);
    }

    function test_charge_revert_feeCapRaised() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        payment.terms.maxFacilitatorFeeBps = 10_000;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        settlement.charge(payment, AMOUNT, 10_000, EVIDENCE_HASH);
    }

    function test_charge_revert_modeChangedToUpto() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        payment.terms.mode = MODE_UPTO;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        chargeAsFacilitator(payment, AMOUNT / 2);
    }

    /// A signature for this settlement contract is useless on another deployment (spender is signed).
    function test_charge_revert_crossContractReplay() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        IX402Settlement other = deploySettlement();
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        vm.prank(facilitator);
        other.charge(payment, AMOUNT, FEE_BPS, EVIDENCE_HASH);

        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(payer), PAYER_BALANCE - AMOUNT);
    }

    /// Permit2's domain separator includes the chain id: a signature from one chain fails on another.
    function test_charge_revert_crossChainReplay() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.chainId(block.chainid + 1);
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_expiredDeadline() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        vm.warp(payment.permit.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.SignatureExpired.selector, payment.permit.deadline)
        );
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_nonceReuse() public {
        IX402Settlement.SignedPayment memory payment = makePayment(AMOUNT, MODE_EXACT);
        chargeAsFacilitator(payment, AMOUNT);
        vm.expectRevert(PERMIT2_INVALID_NONCE);
        chargeAsFacilitator(payment, AMOUNT);
    }

    /// A second signature with a nonce already used by another payment is refused too.
    function test_charge_revert_nonceReusedWithOtherTerms() public {
        IX402Settlement.SignedPayment memory first = makePayment(AMOUNT, MODE_EXACT);
        chargeAsFacilitator(first, AMOUNT);
        IX402Settlement.SignedPayment memory second =
            makePayment(payerKey, defaultPermit(AMOUNT / 2, first.permit.nonce), defaultTerms(MODE_UPTO));
        vm.expectRevert(PERMIT2_INVALID_NONCE);
        chargeAsFacilitator(second, AMOUNT / 2);
    }

    function test_charge_revert_signedByOtherKey() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        IX402Settlement.SignedPayment memory payment =
            makePayment(otherKey, defaultPermit(AMOUNT, nextNonce()), defaultTerms(MODE_EXACT));
        payment.terms.payer = payer;
        vm.expectRevert(PERMIT2_INVALID_SIGNER);
        chargeAsFacilitator(payment, AMOUNT);
    }

    // ---------------------------------------------------------------- payer binding

    /// One smart-wallet signature (the owner's ECDSA over the raw digest, which the wallet accepts)
    /// cannot charge the owner's EOA or a sibling wallet of the same owner: the witness names the payer.
    function test_charge_revert_walletSignatureAgainstOwnerAndSibling() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        address sibling = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        fundPayer(sibling, AMOUNT);
        fundPayer(walletOwner, AMOUNT);

        for (uint8 mode = MODE_EXACT; mode <= MODE_UPTO; ++mode) {
            IX402Settlement.SignedPayment memory payment = makePayment(
                walletOwnerKey, defaultPermit(AMOUNT / 4, nextNonce()), defaultTerms(wallet, mode)
            );
            // The facilitator points the signed payment at the owner's EOA, then at the sibling wallet.
            vm.expectRevert(PERMIT2_INVALID_SIGNER);
            chargeAsFacilitator(redirected(payment, walletOwner), AMOUNT / 4);
            vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
            chargeAsFacilitator(redirected(payment, sibling), AMOUNT / 4);
            // Only the signer pays.
            chargeAsFacilitator(payment, AMOUNT / 4);
        }
        assertEq(token.balanceOf(walletOwner), AMOUNT, "the owner's EOA is never charged");
        assertEq(token.balanceOf(sibling), AMOUNT, "the sibling wallet is never charged");
        assertEq(token.balanceOf(wallet), AMOUNT / 2, "the signing wallet paid twice");
    }

    /// The owner's EOA signature for its own account cannot be pointed at its smart wallet either.
    function test_charge_revert_ownerSignatureAgainstWallet() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        fundPayer(walletOwner, AMOUNT);
        IX402Settlement.SignedPayment memory payment = makePayment(
            walletOwnerKey, defaultPermit(AMOUNT, nextNonce()), defaultTerms(walletOwner, MODE_EXACT)
        );
        payment.terms.payer = wallet;
        vm.expectRevert(PERMIT2_INVALID_CONTRACT_SIGNATURE);
        chargeAsFacilitator(payment, AMOUNT);
        assertEq(token.balanceOf(wallet), AMOUNT);
    }

    // ---------------------------------------------------------------- payee

    function test_charge_revert_settlementAsPayee() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_EXACT);
        terms.payee = address(settlement);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.InvalidPayee.selector, address(settlement)));
        chargeAsFacilitator(payment, AMOUNT);
    }

    function test_charge_revert_zeroPayee() public {
        IX402Settlement.PaymentTerms memory terms = defaultTerms(MODE_EXACT);
        terms.payee = address(0);
        IX402Settlement.SignedPayment memory payment =
            makePayment(payerKey, defaultPermit(AMOUNT, nextNonce()), terms);
        vm.expectRevert(abi.encodeWithSelector(IX402Settlement.InvalidPayee.selector, address(0)));
        chargeAsFacilitator(payment, AMOUNT);
    }

    // ---------------------------------------------------------------- protocol fee rounding

    /// The protocol fee rounds up: one unit of a 25 bps fee still pays one unit, and many small charges
    /// never pay less protocol fee than one charge of their sum.
    function testFuzz_charge_protocolFeeRoundsUp(uint256 amount) public {
        amount = bound(amount, 1, 10_000);
        setProtocolFeeNow(25);
        IX402Settlement.SignedPayment memory payment = makePayment(amount, MODE_EXACT);
        vm.prank(facilitator);
        settlement.charge(payment, amount, 0, EVIDENCE_HASH);
        uint256 accrued = settlement.accruedProtocolFees(address(token));
        assertEq(accrued, (amount * 25 + 9_999) / 10_000);
        assertGt(accrued, 0, "a fee never rounds to zero");
        assertGe(accrued * 10_000, amount * 25);
    }
}
