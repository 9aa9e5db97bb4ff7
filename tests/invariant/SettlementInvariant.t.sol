// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console} from "forge-std/Test.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {SettlementHandler} from "./SettlementHandler.sol";

/// @notice Properties of X402Settlement that must hold after any sequence of charges, batches,
/// escrow operations, replays, cross-account and revoked-policy attacks, fee, treasury and split
/// changes and time jumps (see `SettlementHandler`).
/// @dev All properties are checked by one invariant function, so one campaign (foundry.toml: 64 runs
/// of depth 64) checks every property after every call; forge would run a separate campaign for each
/// `invariant_*` function. The assertion messages name the property that broke.
contract SettlementInvariantTest is SettlementTestBase {
    SettlementHandler internal handler;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        settlement.setTreasury(treasury);
        setProtocolFeeNow(30);
        handler = new SettlementHandler(permit2, token, settlement, owner, treasury);

        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = SettlementHandler.charge.selector;
        selectors[1] = SettlementHandler.chargeBatch.selector;
        selectors[2] = SettlementHandler.authorize.selector;
        selectors[3] = SettlementHandler.capture.selector;
        selectors[4] = SettlementHandler.voidEscrow.selector;
        selectors[5] = SettlementHandler.reclaim.selector;
        selectors[6] = SettlementHandler.refund.selector;
        selectors[7] = SettlementHandler.replay.selector;
        selectors[8] = SettlementHandler.warp.selector;
        selectors[9] = SettlementHandler.setProtocolFee.selector;
        selectors[10] = SettlementHandler.setSplit.selector;
        selectors[11] = SettlementHandler.withdrawProtocolFees.selector;
        selectors[12] = SettlementHandler.crossAccountCharge.selector;
        selectors[13] = SettlementHandler.revokePolicy.selector;
        selectors[14] = SettlementHandler.replayRevokedPolicy.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function invariant_settlementProperties() public view {
        _checkBalanceEqualsOpenEscrows();
        _checkEscrowsMatchGhostBooks();
        _checkPayerLossBoundedBySignatures();
        _checkEachPaymentSettlesAtMostOnce();
        _checkFeesWithinCaps();
        _checkReclaimAfterExpiryNeverFails();
        _checkValidActionsSucceed();
        _checkTokensConserved();
        _checkSignatureChargesOnlySigner();
        _checkHonestBatchItemsSettle();
        _checkRevokedPolicyNeverApplies();
    }

    /// A signature charges only the account it names: no signature of one key moved tokens of the
    /// key's other accounts (its EOA, its sibling smart wallets), and every account's books balance.
    function _checkSignatureChargesOnlySigner() internal view {
        assertEq(handler.crossAccountSuccesses(), 0, "a signature charged an account it does not name");
    }

    /// A batch's honest items settle whatever one item does (a replay, a foreign facilitator, a
    /// redirected signature, a payer burning all its gas).
    function _checkHonestBatchItemsSettle() internal view {
        assertEq(handler.honestBatchItemFailures(), 0, "an honest batch item failed");
    }

    /// A signed spending policy whose nonce a later change consumed never applies again.
    function _checkRevokedPolicyNeverApplies() internal view {
        assertEq(handler.revokedPolicyApplied(), 0, "a revoked spending policy applied");
    }

    /// The contract holds exactly the uncaptured part of open escrows plus the accrued protocol fees:
    /// captured funds are paid out at once and refunds come from the payee, so nothing else can
    /// accumulate (or go missing).
    function _checkBalanceEqualsOpenEscrows() internal view {
        uint256 open;
        uint256 n = handler.escrowCount();
        for (uint256 i; i < n; ++i) {
            SettlementHandler.EscrowRecord memory g = handler.escrowAt(i);
            IX402Settlement.EscrowState memory e = settlement.escrowOf(g.ref);
            if (e.status == IX402Settlement.EscrowStatus.Open) open += g.ref.permit.permitted.amount - e.captured;
        }
        assertEq(
            token.balanceOf(address(settlement)),
            open + settlement.accruedProtocolFees(address(token)),
            "balance != open escrows + accrued fees (contract state)"
        );
        assertEq(open, handler.ghostEscrowed(), "contract escrows != ghost escrows");
    }

    /// Each escrow's stored state is what the sequence of operations implies.
    function _checkEscrowsMatchGhostBooks() internal view {
        uint256 n = handler.escrowCount();
        for (uint256 i; i < n; ++i) {
            SettlementHandler.EscrowRecord memory g = handler.escrowAt(i);
            IX402Settlement.EscrowState memory e = settlement.escrowOf(g.ref);
            assertEq(g.ref.terms.payer, g.payer, "payer");
            assertEq(g.ref.terms.payee, g.payee, "payee");
            assertEq(g.ref.terms.facilitator, g.facilitator, "facilitator");
            assertEq(g.ref.permit.permitted.amount, g.authorized, "authorized");
            assertEq(e.captured, g.captured, "captured");
            assertEq(e.refunded, g.refunded, "refunded");
            assertTrue(e.status != IX402Settlement.EscrowStatus.None, "escrow not found by its terms");
            assertEq(e.status == IX402Settlement.EscrowStatus.Closed, g.closed, "closed");
            assertLe(e.captured, g.authorized, "captured above authorized");
            assertLe(e.refunded, e.captured, "refunded above captured");
        }
    }

    /// A payer never loses more than it signed for, net of what came back; and it loses exactly what
    /// was pulled minus what was returned.
    function _checkPayerLossBoundedBySignatures() internal view {
        uint256 n = handler.payerCount();
        for (uint256 i; i < n; ++i) {
            address p = handler.payerAt(i);
            uint256 balance = token.balanceOf(p);
            uint256 returned = handler.returnedTotal(p);
            assertLe(handler.pulledTotal(p), handler.signedTotal(p), "pulled more than signed");
            // loss = funds - balance, written without underflow: balance + pulled == funds + returned.
            assertEq(balance + handler.pulledTotal(p), handler.PAYER_FUNDS() + returned, "payer books");
            assertGe(balance + handler.signedTotal(p), handler.PAYER_FUNDS() + returned, "lost more than signed");
        }
    }

    /// Each (payer, nonce) settles at most once, however it is resubmitted.
    function _checkEachPaymentSettlesAtMostOnce() internal view {
        assertEq(handler.replaySuccesses(), 0, "a replayed or foreign payment settled");
        uint256 n = handler.settledCount();
        for (uint256 i; i < n; ++i) {
            assertEq(handler.settleCount(handler.settledIdAt(i)), 1, "payment id settled twice");
        }
    }

    /// Facilitator fees stay within what payers signed; the protocol fee within its hard cap.
    function _checkFeesWithinCaps() internal view {
        assertEq(handler.facilitatorFeeViolations(), 0, "facilitator fee above signed maximum");
        assertEq(handler.protocolFeeViolations(), 0, "protocol fee above MAX_PROTOCOL_FEE_BPS");
    }

    /// A payer can always reclaim an open escrow after its authorization expiry.
    function _checkReclaimAfterExpiryNeverFails() internal view {
        assertEq(handler.reclaimFailures(), 0, "reclaim failed after expiry");
    }

    /// Every action the handler built to be valid succeeded with the expected balance changes.
    function _checkValidActionsSucceed() internal view {
        assertEq(handler.unexpectedFailures(), 0, string.concat("unexpected failure in ", handler.lastUnexpectedAction()));
    }

    /// Tokens are neither created nor destroyed by the contract: every unit is in a known account.
    function _checkTokensConserved() internal view {
        address[] memory accounts = handler.accounts();
        uint256 sum;
        for (uint256 i; i < accounts.length; ++i) {
            sum += token.balanceOf(accounts[i]);
        }
        // The base fixture's own payer holds the rest of the supply; it is never used by the handler.
        sum += token.balanceOf(payer);
        assertEq(sum, token.totalSupply(), "tokens outside known accounts");
    }

    /// After each run: every open escrow can be reclaimed once expired, leaving the contract empty.
    function afterInvariant() external {
        handler.reclaimEverything();
        assertEq(handler.reclaimFailures(), 0, "end-of-run reclaim failed");
        assertEq(handler.unexpectedFailures(), 0, string.concat("unexpected failure in ", handler.lastUnexpectedAction()));
        handler.withdrawProtocolFees();
        assertEq(handler.unexpectedFailures(), 0, string.concat("unexpected failure in ", handler.lastUnexpectedAction()));
        assertEq(token.balanceOf(address(settlement)), 0, "contract not empty after reclaiming everything");
        console.log(
            "calls: charge %d, batch %d, authorize %d",
            handler.calls("charge"),
            handler.calls("chargeBatch"),
            handler.calls("authorize")
        );
        console.log(
            "       capture %d, void %d, reclaim %d",
            handler.calls("capture"),
            handler.calls("void"),
            handler.calls("reclaim")
        );
        console.log("       refund %d, replay %d", handler.calls("refund"), handler.calls("replay"));
        console.log(
            "       crossAccount %d, revokePolicy %d, replayRevokedPolicy %d",
            handler.calls("crossAccountCharge"),
            handler.calls("revokePolicy"),
            handler.calls("replayRevokedPolicy")
        );
    }
}
