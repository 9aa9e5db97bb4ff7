// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {ITestToken} from "../mocks/ITestToken.sol";
import {GasBurnerWallet} from "../mocks/GasBurnerWallet.sol";

/// @dev A payer-chosen "token" whose balanceOf reverts with 20 KB of revert data.
contract RevertBombToken {
    function balanceOf(address) external pure returns (uint256) {
        assembly {
            revert(0, 20000)
        }
    }
}

contract ChargeBatchTest is SettlementTestBase {
    /// @dev Distinct funded payers for batch items.
    function batchPayer(uint256 i) internal returns (address who, uint256 key) {
        (who, key) = makeAddrAndKey(string.concat("batch payer ", vm.toString(i)));
        if (token.balanceOf(who) == 0) fundPayer(who, PAYER_BALANCE);
    }

    function itemFor(uint256 i, uint256 amount, uint8 mode)
        internal
        returns (IX402Settlement.BatchItem memory item)
    {
        (address who, uint256 key) = batchPayer(i);
        item = makeBatchItem(
            makePayment(key, defaultPermit(amount, nextNonce()), defaultTerms(who, mode)), amount
        );
        item.evidenceHash = keccak256(abi.encode("evidence", i));
    }

    function idOf(IX402Settlement.BatchItem memory item) internal view returns (bytes32) {
        return paymentIdFor(address(settlement), item.payment.terms.payer, item.payment.permit.nonce);
    }

    // ---------------------------------------------------------------- happy paths

    function test_chargeBatch_settlesAllAndCommitsRoot() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](3);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        items[1] = itemFor(1, AMOUNT, MODE_UPTO);
        items[1].amount = AMOUNT / 4;
        items[2] = itemFor(2, 2 * AMOUNT, MODE_EXACT);
        items[2].amount = 2 * AMOUNT;

        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 i; i < 3; ++i) {
            leaves[i] = leafFor(idOf(items[i]), items[i].evidenceHash);
        }
        (bytes32 root,) = merkleRootAndProof(leaves, 0);

        for (uint256 i; i < 3; ++i) {
            expectItemCharged(items[i], 1);
        }
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchSettled(1, facilitator, 3, 3, 3, root);
        vm.prank(facilitator);
        (uint256 batchId, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);

        assertEq(batchId, 1);
        assertEq(settled.length, 3);
        assertTrue(settled[0] && settled[1] && settled[2]);
        assertEq(settlement.evidenceRootOf(1), root);
        assertEq(settlement.lastBatchId(), 1);

        uint256 gross = AMOUNT + AMOUNT / 4 + 2 * AMOUNT;
        uint256 totalFee;
        for (uint256 i; i < 3; ++i) {
            (uint256 itemFee,) = feesOf(items[i].amount, FEE_BPS, 0);
            totalFee += itemFee;
        }
        assertEq(token.balanceOf(facilitator), totalFee, "fees of the batch paid once, in full");
        assertEq(token.balanceOf(payee), gross - totalFee);
        assertEq(token.balanceOf(address(settlement)), 0);
        (address p1,) = batchPayer(1);
        assertEq(token.balanceOf(p1), PAYER_BALANCE - AMOUNT / 4);
    }

    function test_chargeBatch_idsIncrement() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        vm.prank(facilitator);
        (uint256 first,) = settlement.chargeBatch(items, false, ITEM_GAS);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        vm.prank(facilitator);
        (uint256 second,) = settlement.chargeBatch(items, false, ITEM_GAS);
        assertEq(first, 1);
        assertEq(second, 2);
    }

    function test_chargeBatch_withoutRoot() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        items[1] = itemFor(1, AMOUNT, MODE_EXACT);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchSettled(1, facilitator, 2, 2, 2, bytes32(0));
        vm.prank(facilitator);
        settlement.chargeBatch(items, false, ITEM_GAS);
        assertEq(settlement.evidenceRootOf(1), bytes32(0));
        assertFalse(settlement.verifyEvidence(1, idOf(items[0]), items[0].evidenceHash, new bytes32[](0)));
    }

    /// One bad item of each kind fails alone, with its exact revert reason; the good ones settle and
    /// only they enter the evidence root.
    function test_chargeBatch_isolatesFailingItems() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](7);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT); // good
        items[1] = itemFor(1, AMOUNT, MODE_EXACT); // bad signature: payee swapped after signing
        items[1].payment.terms.payee = makeAddr("thief");
        items[2] = itemFor(2, AMOUNT, MODE_EXACT); // good
        items[3] = itemFor(3, AMOUNT, MODE_EXACT); // policy exceeded
        (address p3,) = batchPayer(3);
        vm.prank(p3);
        settlement.setSpendingPolicy(address(token), policyOf(1, 0, 0, 0));
        items[4] = itemFor(4, AMOUNT, MODE_ESCROW); // wrong mode
        address rival = makeAddr("rival");
        items[5] = itemFor(5, AMOUNT, MODE_EXACT); // names another facilitator (validly signed)
        (address p5, uint256 key5) = batchPayer(5);
        IX402Settlement.PaymentTerms memory rivalTerms = defaultTerms(p5, MODE_EXACT);
        rivalTerms.facilitator = rival;
        items[5].payment = makePayment(key5, items[5].payment.permit, rivalTerms);
        items[6] = items[0]; // nonce reuse inside the batch

        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1, 1, idOf(items[1]), items[1].payment.terms.payer, abi.encodeWithSelector(PERMIT2_INVALID_SIGNER)
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            3,
            idOf(items[3]),
            p3,
            abi.encodeWithSelector(IX402Settlement.PerPaymentLimitExceeded.selector, AMOUNT, 1)
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            4,
            idOf(items[4]),
            items[4].payment.terms.payer,
            abi.encodeWithSelector(IX402Settlement.WrongMode.selector, MODE_EXACT, MODE_ESCROW)
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            5,
            idOf(items[5]),
            items[5].payment.terms.payer,
            abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, facilitator, rival)
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1, 6, idOf(items[6]), items[6].payment.terms.payer, abi.encodeWithSelector(PERMIT2_INVALID_NONCE)
        );

        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = leafFor(idOf(items[0]), items[0].evidenceHash);
        leaves[1] = leafFor(idOf(items[2]), items[2].evidenceHash);
        (bytes32 root,) = merkleRootAndProof(leaves, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchSettled(1, facilitator, 7, 7, 2, root);

        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        bool[7] memory expected = [true, false, true, false, false, false, false];
        for (uint256 i; i < 7; ++i) {
            assertEq(settled[i], expected[i]);
        }
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(payee), 2 * (AMOUNT - fee));
        assertEq(token.balanceOf(facilitator), 2 * fee);
        assertEq(token.balanceOf(address(settlement)), 0);
        for (uint256 i = 1; i < 6; ++i) {
            if (i == 2) continue;
            (address who,) = batchPayer(i);
            assertEq(token.balanceOf(who), PAYER_BALANCE, "failed items move nothing");
        }
    }

    function test_chargeBatch_allFail() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        items[0] = itemFor(0, AMOUNT, MODE_ESCROW);
        items[1] = itemFor(1, AMOUNT, MODE_EXACT);
        items[1].amount = AMOUNT + 1;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchSettled(1, facilitator, 2, 2, 0, bytes32(0));
        vm.prank(facilitator);
        (uint256 batchId, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        assertEq(batchId, 1);
        assertFalse(settled[0] || settled[1]);
        assertEq(settlement.evidenceRootOf(1), bytes32(0));
    }

    /// Facilitator fees are accumulated per token and all paid.
    function test_chargeBatch_mixedTokens() public {
        ITestToken other = deployTestToken("Other USD", "OUSD", 6);
        (address p1, uint256 key1) = batchPayer(1);
        other.mint(p1, AMOUNT);
        vm.prank(p1);
        other.approve(address(permit2), type(uint256).max);

        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](3);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(AMOUNT, nextNonce());
        permit.permitted.token = address(other);
        items[1] = makeBatchItem(makePayment(key1, permit, defaultTerms(p1, MODE_EXACT)), AMOUNT);
        items[2] = itemFor(2, AMOUNT, MODE_EXACT);

        vm.prank(facilitator);
        settlement.chargeBatch(items, false, ITEM_GAS);
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(facilitator), 2 * fee);
        assertEq(other.balanceOf(facilitator), fee);
        assertEq(other.balanceOf(payee), AMOUNT - fee);
        assertEq(token.balanceOf(address(settlement)), 0);
        assertEq(other.balanceOf(address(settlement)), 0);
    }

    function test_chargeBatch_paysProtocolFeeAndSplits() public {
        setProtocolFeeNow(25);
        address partner = makeAddr("partner");
        address[] memory recipients = new address[](1);
        recipients[0] = partner;
        uint16[] memory bps = new uint16[](1);
        bps[0] = 1_000;
        vm.prank(payee);
        settlement.setSplit(recipients, bps);

        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        items[1] = itemFor(1, AMOUNT, MODE_EXACT);
        vm.expectEmit(address(settlement));
        (uint256 fee, uint256 protocolFee) = feesOf(AMOUNT, FEE_BPS, 25);
        uint256 net = AMOUNT - fee - protocolFee;
        emit IX402Settlement.SplitPaid(idOf(items[0]), payee, partner, net / 10);
        vm.prank(facilitator);
        settlement.chargeBatch(items, false, ITEM_GAS);
        assertEq(settlement.accruedProtocolFees(address(token)), 2 * protocolFee);
        assertEq(token.balanceOf(treasury), 0);
        assertEq(token.balanceOf(partner), 2 * (net / 10));
        assertEq(token.balanceOf(payee), 2 * (net - net / 10));
        assertEq(token.balanceOf(facilitator), 2 * fee);
    }

    /// A payer signing for a token that reverts with huge data fails alone; the reason is truncated.
    function test_chargeBatch_revertDataIsBounded() public {
        RevertBombToken bomb = new RevertBombToken();
        (address p1, uint256 key1) = batchPayer(1);
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](2);
        ISignatureTransfer.PermitTransferFrom memory permit = defaultPermit(AMOUNT, nextNonce());
        permit.permitted.token = address(bomb);
        items[0] = makeBatchItem(makePayment(key1, permit, defaultTerms(p1, MODE_EXACT)), AMOUNT);
        items[1] = itemFor(2, AMOUNT, MODE_EXACT);

        vm.recordLogs();
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        assertFalse(settled[0]);
        assertTrue(settled[1]);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != IX402Settlement.BatchItemFailed.selector) continue;
            (uint256 index, bytes memory reason) = abi.decode(logs[i].data, (uint256, bytes));
            assertEq(index, 0);
            assertEq(reason.length, 1024);
            found = true;
        }
        assertTrue(found);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_chargeBatch(uint8 count, uint256 seed) public {
        count = uint8(bound(count, 1, 12));
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](count);
        uint256 gross;
        uint256 fees;
        for (uint256 i; i < count; ++i) {
            uint256 maximum = bound(uint256(keccak256(abi.encode(seed, i))), 1, 1_000e6);
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, maximum);
            items[i] = itemFor(i, maximum, MODE_UPTO);
            items[i].amount = amount;
            items[i].facilitatorFeeBps =
                uint16(bound(uint256(keccak256(abi.encode(seed, i, "fee"))), 0, MAX_FEE_BPS));
            gross += amount;
            (uint256 fee,) = feesOf(amount, items[i].facilitatorFeeBps, 0);
            fees += fee;
        }
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        for (uint256 i; i < count; ++i) {
            assertTrue(settled[i]);
        }
        assertEq(token.balanceOf(facilitator), fees);
        assertEq(token.balanceOf(payee), gross - fees);
        assertEq(token.balanceOf(address(settlement)), 0);
    }

    // ---------------------------------------------------------------- reverts

    function test_chargeBatch_revert_zeroItemGasLimit() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        vm.expectRevert(IX402Settlement.InvalidItemGasLimit.selector);
        vm.prank(facilitator);
        settlement.chargeBatch(items, true, 0);
    }

    function test_chargeBatch_revert_empty() public {
        vm.expectRevert(IX402Settlement.EmptyBatch.selector);
        vm.prank(facilitator);
        settlement.chargeBatch(new IX402Settlement.BatchItem[](0), true, ITEM_GAS);
    }

    function test_settleBatchItem_revert_onlySelf() public {
        IX402Settlement.BatchItem memory item = itemFor(0, AMOUNT, MODE_EXACT);
        vm.expectRevert(IX402Settlement.OnlySelf.selector);
        vm.prank(facilitator);
        settlement.settleBatchItem(item, facilitator, 1);
    }

    /// Someone who is not the signed facilitator submits the batch: every item fails, nothing moves.
    function test_chargeBatch_wrongFacilitatorSettlesNothing() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        address stranger = makeAddr("stranger");
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1,
            0,
            idOf(items[0]),
            items[0].payment.terms.payer,
            abi.encodeWithSelector(IX402Settlement.NotFacilitator.selector, stranger, facilitator)
        );
        vm.prank(stranger);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        assertFalse(settled[0]);
        (address p0,) = batchPayer(0);
        assertEq(token.balanceOf(p0), PAYER_BALANCE);
    }

    function test_chargeBatch_crossChainReplayFails() public {
        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](1);
        items[0] = itemFor(0, AMOUNT, MODE_EXACT);
        vm.chainId(block.chainid + 1);
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);
        assertFalse(settled[0]);
    }

    // ---------------------------------------------------------------- payer binding

    /// One smart-wallet signature, submitted in a batch three times (for the signing wallet, its
    /// owner's EOA and a sibling wallet of the same owner), charges only the signing wallet.
    function test_chargeBatch_walletSignatureChargesOnlySigner() public {
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("wallet owner");
        address wallet = deploySmartWallet(walletOwner);
        address sibling = deploySmartWallet(walletOwner);
        fundPayer(wallet, AMOUNT);
        fundPayer(sibling, AMOUNT);
        fundPayer(walletOwner, AMOUNT);
        IX402Settlement.SignedPayment memory payment =
            makePayment(walletOwnerKey, defaultPermit(AMOUNT, nextNonce()), defaultTerms(wallet, MODE_EXACT));

        IX402Settlement.BatchItem[] memory items = new IX402Settlement.BatchItem[](3);
        items[0] = makeBatchItem(redirected(payment, walletOwner), AMOUNT);
        items[1] = makeBatchItem(redirected(payment, sibling), AMOUNT);
        items[2] = makeBatchItem(payment, AMOUNT);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1, 0, idOf(items[0]), walletOwner, abi.encodeWithSelector(PERMIT2_INVALID_SIGNER)
        );
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(
            1, 1, idOf(items[1]), sibling, abi.encodeWithSelector(PERMIT2_INVALID_CONTRACT_SIGNATURE)
        );
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch(items, true, ITEM_GAS);

        assertFalse(settled[0]);
        assertFalse(settled[1]);
        assertTrue(settled[2]);
        assertEq(token.balanceOf(walletOwner), AMOUNT, "the owner's EOA is never charged");
        assertEq(token.balanceOf(sibling), AMOUNT, "the sibling wallet is never charged");
        assertEq(token.balanceOf(wallet), 0);
    }

    // ---------------------------------------------------------------- gas isolation

    /// Honest payers and, third, a contract payer that behaves while the facilitator simulates and
    /// burns every bit of gas it is given once the batch lands.
    function _burnerBatch(uint256 count)
        internal
        returns (IX402Settlement.BatchItem[] memory items, GasBurnerWallet burner)
    {
        (address burnerOwner, uint256 burnerKey) = makeAddrAndKey("burner owner");
        burner = new GasBurnerWallet(burnerOwner);
        token.mint(address(burner), AMOUNT);
        vm.prank(burnerOwner);
        burner.approve(token, address(permit2), type(uint256).max);

        items = new IX402Settlement.BatchItem[](count);
        for (uint256 i; i < count; ++i) {
            if (i == 2) {
                items[i] = makeBatchItem(
                    makePayment(
                        burnerKey,
                        defaultPermit(AMOUNT, nextNonce()),
                        defaultTerms(address(burner), MODE_EXACT)
                    ),
                    AMOUNT
                );
            } else {
                items[i] = itemFor(i, AMOUNT, MODE_EXACT);
            }
        }
    }

    /// The facilitator simulates (the burner behaves), then sends the batch with the gas the doc asks
    /// for (simulated + two item caps + reserve) while the burner burns: only the burner's item fails.
    function test_chargeBatch_gasBurnerCostsOnlyItsOwnItem() public {
        (IX402Settlement.BatchItem[] memory items, GasBurnerWallet burner) = _burnerBatch(6);

        uint256 snapshot = vm.snapshotState();
        vm.prank(facilitator);
        uint256 before = gasleft();
        (, bool[] memory simulated) = settlement.chargeBatch(items, true, ITEM_GAS);
        uint256 simulatedGas = before - gasleft();
        for (uint256 i; i < items.length; ++i) {
            assertTrue(simulated[i], "everything settles in simulation");
        }
        vm.revertToState(snapshot);

        vm.prank(burner.owner());
        burner.setBurning(true);
        uint256 gasLimit = simulatedGas + 2 * (uint256(ITEM_GAS) + ITEM_GAS / 63)
            + settlement.BATCH_RESERVE_GAS() + settlement.BATCH_RESERVE_GAS_PER_ITEM() * items.length;
        vm.expectEmit(address(settlement));
        emit IX402Settlement.BatchItemFailed(1, 2, idOf(items[2]), address(burner), "");
        vm.expectEmit(true, true, false, false, address(settlement));
        emit IX402Settlement.BatchSettled(1, facilitator, 6, 6, 5, bytes32(0));
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch{gas: gasLimit}(items, true, ITEM_GAS);

        for (uint256 i; i < items.length; ++i) {
            assertEq(settled[i], i != 2, "only the burner's item fails");
        }
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(payee), 5 * (AMOUNT - fee));
        assertEq(token.balanceOf(address(burner)), AMOUNT, "the burner paid nothing");
    }

    /// A facilitator that sent only the simulated gas (plus the reserve): the burner still cannot
    /// revert the batch or make a later item fail. The batch stops before the items it can no longer
    /// give a full cap to (`attemptedCount`), their nonces stay unused, and resubmitting them settles them.
    function test_chargeBatch_gasBurnerWithTightGas_stopsAndRetries() public {
        uint256 count = 10;
        (IX402Settlement.BatchItem[] memory items, GasBurnerWallet burner) = _burnerBatch(count);
        uint256 snapshot = vm.snapshotState();
        vm.prank(facilitator);
        uint256 before = gasleft();
        settlement.chargeBatch(items, false, ITEM_GAS);
        uint256 simulatedGas = before - gasleft();
        vm.revertToState(snapshot);

        vm.prank(burner.owner());
        burner.setBurning(true);
        uint256 gasLimit =
            simulatedGas + settlement.BATCH_RESERVE_GAS() + settlement.BATCH_RESERVE_GAS_PER_ITEM() * count;
        vm.recordLogs();
        vm.prank(facilitator);
        (, bool[] memory settled) = settlement.chargeBatch{gas: gasLimit}(items, false, ITEM_GAS);
        uint256 attempted = _attemptedCount(vm.getRecordedLogs());

        assertGe(attempted, 3, "the burner was tried");
        assertLt(attempted, count, "the batch stopped instead of starving later items");
        assertFalse(settled[2]);
        for (uint256 i; i < attempted; ++i) {
            if (i != 2) assertTrue(settled[i], "every honest item that was started settled");
        }

        // Drop the burner, retry the untried rest.
        IX402Settlement.BatchItem[] memory rest = new IX402Settlement.BatchItem[](count - attempted);
        for (uint256 i = attempted; i < count; ++i) {
            assertFalse(settled[i]);
            rest[i - attempted] = items[i];
        }
        vm.prank(facilitator);
        (, bool[] memory retried) = settlement.chargeBatch(rest, false, ITEM_GAS);
        for (uint256 i; i < rest.length; ++i) {
            assertTrue(retried[i], "the untried items settle on retry");
        }
        (uint256 fee,) = feesOf(AMOUNT, FEE_BPS, 0);
        assertEq(token.balanceOf(payee), (count - 1) * (AMOUNT - fee));
    }

    function _attemptedCount(Vm.Log[] memory logs) internal pure returns (uint256) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != IX402Settlement.BatchSettled.selector) continue;
            (, uint256 attempted,,) = abi.decode(logs[i].data, (uint256, uint256, uint256, bytes32));
            return attempted;
        }
        revert("no BatchSettled");
    }

    /// @dev Expects the `PaymentCharged` of a batch item settled at `FEE_BPS` without protocol fee (a
    /// helper of its own keeps the 14 event fields off the test's stack on the legacy pipeline).
    function expectItemCharged(IX402Settlement.BatchItem memory item, uint256 batchId) internal {
        (uint256 itemFee,) = feesOf(item.amount, FEE_BPS, 0);
        vm.expectEmit(address(settlement));
        emit IX402Settlement.PaymentCharged(
            idOf(item),
            item.payment.terms.payer,
            payee,
            address(token),
            facilitator,
            item.payment.permit.nonce,
            item.payment.terms.mode,
            item.amount,
            item.payment.permit.permitted.amount,
            itemFee,
            0,
            REQUEST_HASH,
            item.evidenceHash,
            batchId
        );
    }
}
