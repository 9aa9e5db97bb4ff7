// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {SettlementTestBase} from "../base/SettlementTestBase.sol";
import {ITestToken} from "../mocks/ITestToken.sol";
import {SmartWallet} from "../mocks/SmartWallet.sol";
import {GasBurnerWallet} from "../mocks/GasBurnerWallet.sol";

/// @notice Drives X402Settlement through random sequences of charges (exact and upto), batches (some
/// with a gas-burning payer or a signature redirected to another account), escrow authorizations,
/// captures, voids, reclaims (by anyone), refunds, replays, cross-account charges, revoked spending
/// policies, protocol-fee, treasury withdrawal and split changes and time jumps, with several payers
/// (EOAs and two smart wallets of one owner), payees and facilitators, and keeps ghost books of what
/// should have happened.
/// @dev Inherits the shared test base only for its signing helpers; the contracts are the invariant
/// test's. Every action is built to be valid (or, for replays, to be refused) and run in try/catch, so
/// an unexpected outcome is counted in a ghost variable and reported by an invariant instead of being
/// lost to `fail_on_revert = false`.
contract SettlementHandler is SettlementTestBase {
    // ---------------------------------------------------------------- bounds

    uint256 internal constant PAYERS = 3;
    uint256 internal constant PAYEES = 3;
    uint256 internal constant FACILITATORS = 2;
    uint256 internal constant SPLIT_RECIPIENTS = 2;
    /// @notice Payers 0..PAYERS-1 are EOAs; WALLETS more are smart wallets owned by payer 0's key.
    uint256 internal constant WALLETS = 2;
    /// @notice Token whose spending policies the handler changes (never paid with, so policies never
    /// refuse a payment the handler built to be valid).
    address internal constant POLICY_TOKEN = address(0xB0B);
    /// @notice Each payer's starting balance (it never receives anything but its own money back).
    uint256 public constant PAYER_FUNDS = 1_000_000e6;
    uint256 internal constant MAX_PAYMENT = 5_000e6;
    uint16 internal constant MAX_SIGNED_FEE_BPS = 2_000;
    uint16 internal constant BPS = 10_000;

    // ---------------------------------------------------------------- actors

    uint256[PAYERS] internal payerKeys;
    address[PAYERS] public payers;
    /// @notice Smart wallets of payer 0's key, which accept its ECDSA signature over any raw digest.
    address[WALLETS] public wallets;
    GasBurnerWallet public burner;
    address internal keeper;
    address[PAYEES] public payees;
    address[FACILITATORS] public facilitators;
    address[SPLIT_RECIPIENTS] public splitRecipients;

    // ---------------------------------------------------------------- ghost books

    /// @notice An escrow as the handler believes it is.
    struct EscrowRecord {
        IX402Settlement.EscrowRef ref;
        bytes32 id;
        address payer;
        address payee;
        address facilitator;
        uint16 maxFeeBps;
        uint48 authorizationExpiry;
        uint48 refundExpiry;
        uint256 authorized;
        uint256 captured;
        uint256 refunded;
        bool closed;
    }

    EscrowRecord[] internal _escrows;

    /// @notice Every signed payment that settled (charge, batch item or authorization), for replays.
    IX402Settlement.SignedPayment[] internal _settledPayments;

    /// @notice Ids of everything that settled, and how many times each did.
    bytes32[] internal _settledIds;
    mapping(bytes32 => uint256) public settleCount;

    /// @notice Sum of the amounts (Exact) and maxima (Upto, Escrow) each payer signed.
    mapping(address => uint256) public signedTotal;
    /// @notice What left each payer: charged amounts plus authorized escrows.
    mapping(address => uint256) public pulledTotal;
    /// @notice What came back to each payer: voided and reclaimed rests plus refunds.
    mapping(address => uint256) public returnedTotal;

    /// @notice Tokens minted to payees so they can refund more than they kept (split, fees).
    uint256 public mintedToPayees;

    uint256 public facilitatorFeeViolations;
    uint256 public protocolFeeViolations;
    uint256 public reclaimFailures;
    uint256 public replaySuccesses;
    /// @notice A signature that moved tokens of an account other than the one it names.
    uint256 public crossAccountSuccesses;
    /// @notice An honest batch item that failed (whatever else the batch held).
    uint256 public honestBatchItemFailures;
    /// @notice A revoked (nonce-consumed) signed policy that was accepted.
    uint256 public revokedPolicyApplied;
    uint256 public unexpectedFailures;
    /// @notice Which action failed unexpectedly last, and its revert data, for the failure report.
    string public lastUnexpectedAction;
    bytes public lastUnexpectedReason;

    /// @notice How often each action ran to completion (printed after a campaign).
    mapping(bytes32 => uint256) public calls;

    /// @notice A signed spending policy whose nonce a later change consumed.
    struct RevokedPolicy {
        address payer;
        IX402Settlement.SpendingPolicy policy;
        uint256 deadline;
        bytes signature;
    }

    RevokedPolicy[] internal _revokedPolicies;

    constructor(
        ISignatureTransfer permit2_,
        ITestToken token_,
        IX402Settlement settlement_,
        address owner_,
        address treasury_
    ) {
        permit2 = permit2_;
        token = token_;
        settlement = settlement_;
        owner = owner_;
        treasury = treasury_;
        for (uint256 i; i < PAYERS; ++i) {
            (payers[i], payerKeys[i]) = makeAddrAndKey(string.concat("inv-payer-", vm.toString(i)));
            fundPayer(payers[i], PAYER_FUNDS);
        }
        for (uint256 i; i < PAYEES; ++i) {
            payees[i] = makeAddr(string.concat("inv-payee-", vm.toString(i)));
            // Refunds are pulled from the payee.
            vm.prank(payees[i]);
            token.approve(address(settlement), type(uint256).max);
        }
        for (uint256 i; i < FACILITATORS; ++i) {
            facilitators[i] = makeAddr(string.concat("inv-facilitator-", vm.toString(i)));
        }
        for (uint256 i; i < SPLIT_RECIPIENTS; ++i) {
            splitRecipients[i] = makeAddr(string.concat("inv-split-", vm.toString(i)));
        }
        for (uint256 i; i < WALLETS; ++i) {
            wallets[i] = address(new SmartWallet(payers[0]));
            token.mint(wallets[i], PAYER_FUNDS);
            vm.prank(payers[0]);
            SmartWallet(wallets[i]).approve(token, address(permit2), type(uint256).max);
        }
        burner = new GasBurnerWallet(payers[1]);
        token.mint(address(burner), PAYER_FUNDS);
        vm.startPrank(payers[1]);
        burner.approve(token, address(permit2), type(uint256).max);
        burner.setBurning(true);
        vm.stopPrank();
        keeper = makeAddr("inv-keeper");
    }

    // ================================================================ actions

    /// @notice An Exact or Upto charge with random actors, amount and fees.
    function charge(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint256 facilitatorSeed,
        uint256 maxAmount,
        uint256 amount,
        bool upto,
        uint16 maxFeeBps,
        uint16 feeBps
    ) external {
        uint256 p = payerSeed % PAYERS;
        address fac = facilitators[facilitatorSeed % FACILITATORS];
        maxAmount = _bound(maxAmount, 1, MAX_PAYMENT);
        amount = upto ? _bound(amount, 1, maxAmount) : maxAmount;
        maxFeeBps = uint16(_bound(maxFeeBps, 0, MAX_SIGNED_FEE_BPS));
        feeBps = uint16(_bound(feeBps, 0, maxFeeBps));
        IX402Settlement.SignedPayment memory payment = _sign(
            p, payees[payeeSeed % PAYEES], fac, maxAmount, upto ? MODE_UPTO : MODE_EXACT, maxFeeBps, 0, 0
        );

        (uint256 facBefore, uint256 treasuryBefore) = (token.balanceOf(fac), _accrued());
        uint256 payerBefore = token.balanceOf(payers[p]);
        vm.prank(fac);
        try settlement.charge(
            payment, amount, feeBps, keccak256(abi.encode("evidence", nonceCounter))
        ) returns (
            bytes32 id
        ) {
            _checkFees(
                token.balanceOf(fac) - facBefore,
                amount * maxFeeBps / BPS,
                _accrued() - treasuryBefore,
                amount
            );
            _expectEq(payerBefore - token.balanceOf(payers[p]), amount, "charge: payer debit");
            _recordSettled(id, payment, amount);
            calls["charge"]++;
        } catch (bytes memory reason) {
            _unexpected("charge", reason);
        }
    }

    /// @notice A batch of 1-4 fresh charges from random payers for one facilitator, optionally with a
    /// replayed item, an item naming the other facilitator, an item whose wallet signature is redirected
    /// to a sibling wallet and an item from a payer that burns all gas, which must all be skipped while
    /// every honest item settles.
    function chargeBatch(
        uint256 seed,
        uint256 count,
        bool commitRoot,
        bool withReplay,
        bool withForeignItem,
        bool withRedirectedItem,
        bool withBurner
    ) external {
        uint256 f = seed % FACILITATORS;
        address fac = facilitators[f];
        count = _bound(count, 1, 4);
        uint256 extra = (withReplay && _settledPayments.length != 0 ? 1 : 0) + (withForeignItem ? 1 : 0)
            + (withRedirectedItem ? 1 : 0) + (withBurner ? 1 : 0);
        BatchPlan memory plan = BatchPlan({
            items: new IX402Settlement.BatchItem[](count + extra),
            shouldSettle: new bool[](count + extra),
            maxFees: new uint256[](count + extra),
            next: 0
        });

        for (uint256 i; i < count; ++i) {
            _planHonestItem(plan, uint256(keccak256(abi.encode(seed, i))), fac);
        }
        if (withReplay && _settledPayments.length != 0) _planReplayedItem(plan, seed);
        if (withForeignItem) _planForeignItem(plan, seed, facilitators[(f + 1) % FACILITATORS]);
        if (withRedirectedItem) _planRedirectedItem(plan, seed, fac);
        if (withBurner) _planBurnerItem(plan, seed, fac);
        // The hostile items go anywhere in the batch, not only at the end.
        if (extra != 0 && count > 1) {
            _swapItems(plan, count + (seed >> 200) % extra, (seed >> 100) % count);
        }
        _submitBatch(plan, fac, commitRoot);
    }

    /// @dev A batch the handler is building: its items, which of them must settle and the facilitator
    /// fee each may pay at most; `next` is the first free slot.
    struct BatchPlan {
        IX402Settlement.BatchItem[] items;
        bool[] shouldSettle;
        uint256[] maxFees;
        uint256 next;
    }

    /// @dev Appends an honest item (signed for `fac`, Exact or Upto) derived from the seed `s`.
    function _planHonestItem(BatchPlan memory plan, uint256 s, address fac) internal {
        uint256 maxAmount = _bound(s >> 8, 1, MAX_PAYMENT);
        bool upto = s & 1 == 1;
        uint256 amount = upto ? _bound(s >> 64, 1, maxAmount) : maxAmount;
        uint16 maxFeeBps = uint16(_bound(s >> 128, 0, MAX_SIGNED_FEE_BPS));
        IX402Settlement.SignedPayment memory payment = _sign(
            (s >> 2) % PAYERS,
            payees[(s >> 4) % PAYEES],
            fac,
            maxAmount,
            upto ? MODE_UPTO : MODE_EXACT,
            maxFeeBps,
            0,
            0
        );
        uint256 i = plan.next++;
        plan.items[i] = IX402Settlement.BatchItem({
            payment: payment,
            amount: amount,
            facilitatorFeeBps: uint16(_bound(s >> 160, 0, maxFeeBps)),
            evidenceHash: bytes32(s)
        });
        plan.shouldSettle[i] = true;
        plan.maxFees[i] = amount * maxFeeBps / BPS;
    }

    /// @dev Appends a payment that already settled (a replay).
    function _planReplayedItem(BatchPlan memory plan, uint256 seed) internal view {
        IX402Settlement.SignedPayment memory old = _settledPayments[seed % _settledPayments.length];
        _planItem(plan, old, old.permit.permitted.amount);
    }

    /// @dev Appends a payment signed for `otherFacilitator`, not the batch's.
    function _planForeignItem(BatchPlan memory plan, uint256 seed, address otherFacilitator) internal {
        _planItem(
            plan, _sign(seed % PAYERS, payees[seed % PAYEES], otherFacilitator, 1e6, MODE_EXACT, 0, 0, 0), 1e6
        );
    }

    /// @dev Appends a signature of payer 0's key for wallet 0, submitted for wallet 1.
    function _planRedirectedItem(BatchPlan memory plan, uint256 seed, address fac) internal {
        IX402Settlement.SignedPayment memory signed =
            _signAs(payerKeys[0], wallets[0], payees[seed % PAYEES], fac, 1e6, MODE_EXACT, 0, 0, 0);
        _planItem(plan, redirected(signed, wallets[1]), 1e6);
    }

    /// @dev Appends a payment from the wallet that burns all gas.
    function _planBurnerItem(BatchPlan memory plan, uint256 seed, address fac) internal {
        _planItem(
            plan,
            _signAs(payerKeys[1], address(burner), payees[seed % PAYEES], fac, 1e6, MODE_EXACT, 0, 0, 0),
            1e6
        );
    }

    /// @dev Appends a hostile item (no fee, no evidence) that must not settle.
    function _planItem(BatchPlan memory plan, IX402Settlement.SignedPayment memory payment, uint256 amount)
        internal
        pure
    {
        plan.items[plan.next++] = IX402Settlement.BatchItem({
            payment: payment, amount: amount, facilitatorFeeBps: 0, evidenceHash: bytes32(0)
        });
    }

    /// @dev Swaps items `from` and `to` with their expectations.
    function _swapItems(BatchPlan memory plan, uint256 from, uint256 to) internal pure {
        (plan.items[from], plan.items[to]) = (plan.items[to], plan.items[from]);
        (plan.shouldSettle[from], plan.shouldSettle[to]) = (plan.shouldSettle[to], plan.shouldSettle[from]);
        (plan.maxFees[from], plan.maxFees[to]) = (plan.maxFees[to], plan.maxFees[from]);
    }

    /// @dev Submits the batch as `fac` and books what settled.
    function _submitBatch(BatchPlan memory plan, address fac, bool commitRoot) internal {
        (uint256 facBefore, uint256 treasuryBefore) = (token.balanceOf(fac), _accrued());
        vm.prank(fac);
        try settlement.chargeBatch(plan.items, commitRoot, ITEM_GAS) returns (
            uint256, bool[] memory settled
        ) {
            uint256 feeCap;
            uint256 gross;
            for (uint256 i; i < plan.items.length; ++i) {
                if (settled[i] && !plan.shouldSettle[i]) replaySuccesses++;
                if (!settled[i] && plan.shouldSettle[i]) {
                    honestBatchItemFailures++;
                    _unexpected("chargeBatch item", "");
                }
                if (!settled[i]) continue;
                feeCap += plan.maxFees[i];
                gross += plan.items[i].amount;
                _recordSettledItem(plan.items[i]);
            }
            _checkFees(token.balanceOf(fac) - facBefore, feeCap, _accrued() - treasuryBefore, gross);
            calls["chargeBatch"]++;
        } catch (bytes memory reason) {
            _unexpected("chargeBatch", reason);
        }
    }

    /// @dev Books a settled batch item.
    function _recordSettledItem(IX402Settlement.BatchItem memory item) internal {
        _recordSettled(
            paymentIdFor(address(settlement), item.payment.terms.payer, item.payment.permit.nonce),
            item.payment,
            item.amount
        );
    }

    /// @notice Funds a new escrow with random actors, maximum, fee cap and expiries.
    function authorize(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint256 facilitatorSeed,
        uint256 amount,
        uint16 maxFeeBps,
        uint256 authorizationPeriod,
        uint256 refundPeriod
    ) external {
        uint256 p = payerSeed % PAYERS;
        address fac = facilitators[facilitatorSeed % FACILITATORS];
        address payee_ = payees[payeeSeed % PAYEES];
        amount = _bound(amount, 1, MAX_PAYMENT);
        maxFeeBps = uint16(_bound(maxFeeBps, 0, MAX_SIGNED_FEE_BPS));
        uint48 authorizationExpiry = uint48(block.timestamp + _bound(authorizationPeriod, 1, 3 days));
        uint48 refundExpiry = uint48(authorizationExpiry + _bound(refundPeriod, 0, 7 days));
        IX402Settlement.SignedPayment memory payment =
            _sign(p, payee_, fac, amount, MODE_ESCROW, maxFeeBps, authorizationExpiry, refundExpiry);

        vm.prank(fac);
        try settlement.authorize(payment) returns (bytes32 id) {
            _recordSettled(id, payment, amount);
            _escrows.push(
                EscrowRecord({
                    ref: escrowRefOf(payment),
                    id: id,
                    payer: payers[p],
                    payee: payee_,
                    facilitator: fac,
                    maxFeeBps: maxFeeBps,
                    authorizationExpiry: authorizationExpiry,
                    refundExpiry: refundExpiry,
                    authorized: amount,
                    captured: 0,
                    refunded: 0,
                    closed: false
                })
            );
            calls["authorize"]++;
        } catch (bytes memory reason) {
            _unexpected("authorize", reason);
        }
    }

    /// @notice Captures part of an open, unexpired escrow.
    function capture(uint256 escrowSeed, uint256 amount, uint16 feeBps) external {
        (bool found, uint256 i) = _pick(escrowSeed, _isCapturable);
        if (!found) return;
        EscrowRecord storage e = _escrows[i];
        amount = _bound(amount, 1, e.authorized - e.captured);
        feeBps = uint16(_bound(feeBps, 0, e.maxFeeBps));

        (uint256 facBefore, uint256 treasuryBefore) = (token.balanceOf(e.facilitator), _accrued());
        uint256 heldBefore = token.balanceOf(address(settlement));
        vm.prank(e.facilitator);
        try settlement.capture(e.ref, amount, feeBps, keccak256(abi.encode("capture", e.id, e.captured))) {
            e.captured += amount;
            _checkFees(
                token.balanceOf(e.facilitator) - facBefore,
                amount * e.maxFeeBps / BPS,
                _accrued() - treasuryBefore,
                amount
            );
            // Captured funds leave the contract at once, except the protocol fee, which accrues.
            _expectEq(
                heldBefore + (_accrued() - treasuryBefore) - token.balanceOf(address(settlement)),
                amount,
                "capture: paid out"
            );
            calls["capture"]++;
        } catch (bytes memory reason) {
            _unexpected("capture", reason);
        }
    }

    /// @notice The payee or the facilitator voids an open escrow.
    function voidEscrow(uint256 escrowSeed, bool byFacilitator) external {
        (bool found, uint256 i) = _pick(escrowSeed, _isOpen);
        if (!found) return;
        EscrowRecord storage e = _escrows[i];
        uint256 rest = e.authorized - e.captured;
        uint256 payerBefore = token.balanceOf(e.payer);
        vm.prank(byFacilitator ? e.facilitator : e.payee);
        try settlement.void(e.ref) {
            e.closed = true;
            returnedTotal[e.payer] += rest;
            _expectEq(token.balanceOf(e.payer) - payerBefore, rest, "void: payer credit");
            calls["void"]++;
        } catch (bytes memory reason) {
            _unexpected("void", reason);
        }
    }

    /// @notice Anyone (a keeper) reclaims an open escrow for its payer, first waiting past its
    /// authorization expiry if needed. Must always work.
    function reclaim(uint256 escrowSeed, uint256 extraWait) external {
        (bool found, uint256 i) = _pick(escrowSeed, _isOpen);
        if (!found) return;
        EscrowRecord storage e = _escrows[i];
        if (block.timestamp < e.authorizationExpiry) {
            vm.warp(e.authorizationExpiry + _bound(extraWait, 0, 1 days));
        }
        if (_reclaim(i)) calls["reclaim"]++;
    }

    /// @notice The payee returns part of what it captured, before the refund expiry.
    function refund(uint256 escrowSeed, uint256 amount) external {
        (bool found, uint256 i) = _pick(escrowSeed, _isRefundable);
        if (!found) return;
        EscrowRecord storage e = _escrows[i];
        amount = _bound(amount, 1, e.captured - e.refunded);
        // The payee kept less than it captured (fees, splits): top it up from elsewhere.
        uint256 balance = token.balanceOf(e.payee);
        if (balance < amount) {
            token.mint(e.payee, amount - balance);
            mintedToPayees += amount - balance;
        }
        uint256 payerBefore = token.balanceOf(e.payer);
        uint256 heldBefore = token.balanceOf(address(settlement));
        vm.prank(e.payee);
        try settlement.refund(e.ref, amount) {
            e.refunded += amount;
            returnedTotal[e.payer] += amount;
            _expectEq(token.balanceOf(e.payer) - payerBefore, amount, "refund: payer credit");
            // Refunds go payee -> payer and never touch the escrowed balance.
            _expectEq(token.balanceOf(address(settlement)), heldBefore, "refund: contract balance");
            calls["refund"]++;
        } catch (bytes memory reason) {
            _unexpected("refund", reason);
        }
    }

    /// @notice Tries to settle an already-settled (payer, nonce) again: the same signature, or a new
    /// signature over the same nonce with different terms, as a charge, an escrow or a batch item.
    /// None may settle.
    function replay(uint256 index, uint8 how, uint256 newAmount) external {
        if (_settledPayments.length == 0) return;
        IX402Settlement.SignedPayment memory payment = _settledPayments[index % _settledPayments.length];
        how = uint8(_bound(how, 0, 2));
        if (how != 0) {
            // Same payer and nonce, freshly signed with other terms: the nonce itself is spent.
            uint256 p = _payerIndex(payment.terms.payer);
            payment.permit.permitted.amount = _bound(newAmount, 1, MAX_PAYMENT);
            payment.permit.deadline = block.timestamp + PERMIT_LIFETIME;
            payment.terms.mode = how == 1 ? MODE_UPTO : MODE_ESCROW;
            payment.terms.authorizationExpiry = uint48(block.timestamp + 1 days);
            payment.terms.refundExpiry = uint48(block.timestamp + 2 days);
            payment.signature =
                signPermitWitness(payerKeys[p], payment.permit, address(settlement), payment.terms);
            signedTotal[payment.terms.payer] += payment.permit.permitted.amount;
        }
        address fac = payment.terms.facilitator;
        bool settled;
        vm.startPrank(fac);
        if (payment.terms.mode == MODE_ESCROW) {
            try settlement.authorize(payment) {
                settled = true;
            } catch {}
        } else {
            try settlement.charge(payment, payment.permit.permitted.amount, 0, bytes32(0)) {
                settled = true;
            } catch {}
        }
        vm.stopPrank();
        if (settled) replaySuccesses++;
        calls["replay"]++;
    }

    /// @notice Lets time pass (permits are signed fresh for each action, so they stay valid).
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 12 hours));
        calls["warp"]++;
    }

    /// @notice The owner changes the protocol fee, within the contract's hard cap (increases wait).
    function setProtocolFee(uint16 bps) external {
        bps = uint16(_bound(bps, 0, settlement.MAX_PROTOCOL_FEE_BPS()));
        vm.prank(owner);
        try settlement.setProtocolFee(bps) {
            calls["setProtocolFee"]++;
        } catch (bytes memory reason) {
            _unexpected("setProtocolFee", reason);
        }
    }

    /// @notice The treasury withdraws the accrued protocol fees to itself.
    function withdrawProtocolFees() external {
        uint256 accrued = _accrued();
        uint256 before = token.balanceOf(treasury);
        vm.prank(treasury);
        try settlement.withdrawProtocolFees(address(token), treasury) returns (uint256 amount) {
            _expectEq(amount, accrued, "withdraw: amount");
            _expectEq(token.balanceOf(treasury) - before, accrued, "withdraw: treasury credit");
            calls["withdrawProtocolFees"]++;
        } catch (bytes memory reason) {
            _unexpected("withdrawProtocolFees", reason);
        }
    }

    /// @notice One signature of payer 0's key, made for one of its accounts (its EOA or one of its two
    /// smart wallets), is submitted for another of them: it must fail. The genuine submission then
    /// charges the account it names, and only it.
    function crossAccountCharge(uint256 seed, uint256 amount, uint8 mode) external {
        address[3] memory ownAccounts = [payers[0], wallets[0], wallets[1]];
        address signedFor = ownAccounts[seed % 3];
        address submittedFor = ownAccounts[(seed % 3 + 1 + (seed >> 8) % 2) % 3];
        address fac = facilitators[(seed >> 16) % FACILITATORS];
        amount = _bound(amount, 1, MAX_PAYMENT);
        mode = uint8(_bound(mode, 0, 2));
        IX402Settlement.SignedPayment memory signed = _signAs(
            payerKeys[0],
            signedFor,
            payees[(seed >> 24) % PAYEES],
            fac,
            amount,
            mode,
            0,
            mode == MODE_ESCROW ? uint48(block.timestamp + 1 days) : 0,
            mode == MODE_ESCROW ? uint48(block.timestamp + 2 days) : 0
        );
        IX402Settlement.SignedPayment memory attack = redirected(signed, submittedFor);
        vm.startPrank(fac);
        bool moved;
        if (mode == MODE_ESCROW) {
            try settlement.authorize(attack) {
                moved = true;
            } catch {}
        } else {
            try settlement.charge(attack, amount, 0, bytes32(0)) {
                moved = true;
            } catch {}
        }
        vm.stopPrank();
        if (moved) crossAccountSuccesses++;
        if (mode == MODE_ESCROW) return; // the genuine escrow is left alone (its books would need a record)
        vm.prank(fac);
        try settlement.charge(signed, amount, 0, bytes32(0)) returns (bytes32 id) {
            _recordSettled(id, signed, amount);
            calls["crossAccountCharge"]++;
        } catch (bytes memory reason) {
            _unexpected("crossAccountCharge", reason);
        }
    }

    /// @notice A payer signs a loose policy for `POLICY_TOKEN` and hands it out, then sets a stricter
    /// one itself (by transaction or by a second signature): the loose signature is revoked.
    function revokePolicy(uint256 payerSeed, uint128 loose, uint128 strict, bool strictBySignature) external {
        uint256 p = payerSeed % PAYERS;
        address who = payers[p];
        loose = uint128(_bound(loose, 2, type(uint64).max));
        strict = uint128(_bound(strict, 1, loose - 1));
        uint256 deadline = block.timestamp + 30 days;
        uint256 nonce = settlement.policyNonces(who);
        IX402Settlement.SpendingPolicy memory loosePolicy = policyOf(loose, 0, 0, 0);
        IX402Settlement.SpendingPolicy memory strictPolicy = policyOf(strict, 0, 0, 0);
        bytes memory looseSignature = _signPolicyFor(p, loosePolicy, nonce, deadline);
        if (strictBySignature) {
            try settlement.setSpendingPolicyBySig(
                who, POLICY_TOKEN, strictPolicy, deadline, _signPolicyFor(p, strictPolicy, nonce, deadline)
            ) {}
            catch (bytes memory reason) {
                _unexpected("revokePolicy: strict by signature", reason);
            }
        } else {
            vm.prank(who);
            try settlement.setSpendingPolicy(POLICY_TOKEN, strictPolicy) {}
            catch (bytes memory reason) {
                _unexpected("revokePolicy: strict by transaction", reason);
            }
        }
        _revokedPolicies.push(
            RevokedPolicy({payer: who, policy: loosePolicy, deadline: deadline, signature: looseSignature})
        );
        calls["revokePolicy"]++;
    }

    /// @notice Someone submits a revoked policy signature later: it must never apply.
    function replayRevokedPolicy(uint256 index) external {
        if (_revokedPolicies.length == 0) return;
        RevokedPolicy memory r = _revokedPolicies[index % _revokedPolicies.length];
        uint256 before = settlement.spendingPolicyOf(r.payer, POLICY_TOKEN).maxPerPayment;
        try settlement.setSpendingPolicyBySig(r.payer, POLICY_TOKEN, r.policy, r.deadline, r.signature) {
            revokedPolicyApplied++;
        } catch {}
        if (settlement.spendingPolicyOf(r.payer, POLICY_TOKEN).maxPerPayment != before) {
            revokedPolicyApplied++;
        }
        calls["replayRevokedPolicy"]++;
    }

    /// @notice A payee sets (or clears) a split over the two split recipients.
    function setSplit(uint256 payeeSeed, uint16 bps0, uint16 bps1, bool clear) external {
        address payee_ = payees[payeeSeed % PAYEES];
        address[] memory recipients = new address[](clear ? 0 : 2);
        uint16[] memory bps = new uint16[](clear ? 0 : 2);
        if (!clear) {
            recipients[0] = splitRecipients[0];
            recipients[1] = splitRecipients[1];
            bps[0] = uint16(_bound(bps0, 1, 9_000));
            bps[1] = uint16(_bound(bps1, 1, BPS - bps[0]));
        }
        vm.prank(payee_);
        try settlement.setSplit(recipients, bps) {
            calls["setSplit"]++;
        } catch (bytes memory reason) {
            _unexpected("setSplit", reason);
        }
    }

    // ================================================================ end of a run

    /// @notice Waits past every authorization expiry and reclaims every escrow still open: each
    /// reclaim must succeed and leave the contract empty. Called from the test's `afterInvariant`.
    function reclaimEverything() external {
        uint256 latest = block.timestamp;
        for (uint256 i; i < _escrows.length; ++i) {
            if (_escrows[i].authorizationExpiry > latest) latest = _escrows[i].authorizationExpiry;
        }
        vm.warp(latest);
        for (uint256 i; i < _escrows.length; ++i) {
            if (!_escrows[i].closed) _reclaim(i);
        }
    }

    // ================================================================ views for the invariants

    function escrowCount() external view returns (uint256) {
        return _escrows.length;
    }

    function escrowAt(uint256 i) external view returns (EscrowRecord memory) {
        return _escrows[i];
    }

    function settledCount() external view returns (uint256) {
        return _settledIds.length;
    }

    function settledIdAt(uint256 i) external view returns (bytes32) {
        return _settledIds[i];
    }

    /// @notice Sum over open escrows of `authorized - captured`, from the ghost books.
    function ghostEscrowed() external view returns (uint256 sum) {
        for (uint256 i; i < _escrows.length; ++i) {
            if (!_escrows[i].closed) sum += _escrows[i].authorized - _escrows[i].captured;
        }
    }

    /// @notice Every address the handler ever pays or is paid by.
    function accounts() external view returns (address[] memory list) {
        list = new address[](PAYERS + WALLETS + PAYEES + FACILITATORS + SPLIT_RECIPIENTS + 3);
        uint256 n;
        for (uint256 i; i < PAYERS; ++i) {
            list[n++] = payers[i];
        }
        for (uint256 i; i < WALLETS; ++i) {
            list[n++] = wallets[i];
        }
        list[n++] = address(burner);
        for (uint256 i; i < PAYEES; ++i) {
            list[n++] = payees[i];
        }
        for (uint256 i; i < FACILITATORS; ++i) {
            list[n++] = facilitators[i];
        }
        for (uint256 i; i < SPLIT_RECIPIENTS; ++i) {
            list[n++] = splitRecipients[i];
        }
        list[n++] = treasury;
        list[n++] = address(settlement);
    }

    /// @notice Payers with ghost books: the EOAs, then the smart wallets, then the gas burner.
    function payerCount() external pure returns (uint256) {
        return PAYERS + WALLETS + 1;
    }

    /// @notice Payer `i` of `payerCount()`.
    function payerAt(uint256 i) external view returns (address) {
        if (i < PAYERS) return payers[i];
        if (i < PAYERS + WALLETS) return wallets[i - PAYERS];
        return address(burner);
    }

    // ================================================================ internals

    /// @dev Signs a payment from payer `p` with a fresh nonce and counts what it signed.
    function _sign(
        uint256 p,
        address payee_,
        address fac,
        uint256 amount,
        uint8 mode,
        uint16 maxFeeBps,
        uint48 authorizationExpiry,
        uint48 refundExpiry
    ) internal returns (IX402Settlement.SignedPayment memory) {
        return _signAs(
            payerKeys[p], payers[p], payee_, fac, amount, mode, maxFeeBps, authorizationExpiry, refundExpiry
        );
    }

    /// @dev Signs with `key` a payment naming `account` as payer (an EOA or a wallet of that key).
    function _signAs(
        uint256 key,
        address account,
        address payee_,
        address fac,
        uint256 amount,
        uint8 mode,
        uint16 maxFeeBps,
        uint48 authorizationExpiry,
        uint48 refundExpiry
    ) internal returns (IX402Settlement.SignedPayment memory) {
        IX402Settlement.PaymentTerms memory terms = IX402Settlement.PaymentTerms({
            payer: account,
            payee: payee_,
            facilitator: fac,
            requestHash: keccak256(abi.encode("request", nonceCounter)),
            maxFacilitatorFeeBps: maxFeeBps,
            validAfter: uint48(block.timestamp),
            mode: mode,
            authorizationExpiry: authorizationExpiry,
            refundExpiry: refundExpiry
        });
        signedTotal[account] += amount;
        return makePayment(key, defaultPermit(amount, nextNonce()), terms);
    }

    /// @dev Payer `p`'s signature over a policy for `POLICY_TOKEN`.
    function _signPolicyFor(
        uint256 p,
        IX402Settlement.SpendingPolicy memory policy,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(
            payerKeys[p], policyDigest(payers[p], POLICY_TOKEN, policy, nonce, deadline)
        );
        return abi.encodePacked(r, s_, v);
    }

    /// @dev Protocol fees accrued in the payment token.
    function _accrued() internal view returns (uint256) {
        return settlement.accruedProtocolFees(address(token));
    }

    function _recordSettled(bytes32 id, IX402Settlement.SignedPayment memory payment, uint256 amount)
        internal
    {
        _expectEq(
            uint256(id),
            uint256(paymentIdFor(address(settlement), payment.terms.payer, payment.permit.nonce)),
            "id"
        );
        if (settleCount[id]++ == 0) _settledIds.push(id);
        // Only EOA payments are replayed (the replay re-signs with the payer's key).
        if (payment.terms.payer.code.length == 0) _settledPayments.push(payment);
        pulledTotal[payment.terms.payer] += amount;
    }

    function _reclaim(uint256 i) internal returns (bool ok) {
        EscrowRecord storage e = _escrows[i];
        uint256 rest = e.authorized - e.captured;
        uint256 payerBefore = token.balanceOf(e.payer);
        vm.prank(keeper);
        try settlement.reclaim(e.ref) {
            e.closed = true;
            returnedTotal[e.payer] += rest;
            _expectEq(token.balanceOf(e.payer) - payerBefore, rest, "reclaim: payer credit");
            ok = true;
        } catch (bytes memory reason) {
            reclaimFailures++;
            _unexpected("reclaim", reason);
        }
    }

    function _checkFees(uint256 facilitatorFee, uint256 facilitatorCap, uint256 protocolFee, uint256 gross)
        internal
    {
        if (facilitatorFee > facilitatorCap) facilitatorFeeViolations++;
        // The protocol fee rounds up.
        if (protocolFee > (gross * settlement.MAX_PROTOCOL_FEE_BPS() + BPS - 1) / BPS) {
            protocolFeeViolations++;
        }
    }

    function _expectEq(uint256 actual, uint256 expected, string memory what) internal {
        if (actual != expected) {
            _unexpected(what, abi.encode(actual, expected));
        }
    }

    function _unexpected(string memory action, bytes memory reason) internal {
        unexpectedFailures++;
        lastUnexpectedAction = action;
        lastUnexpectedReason = reason;
    }

    /// @dev First escrow, from `seed` onwards (wrapping), that satisfies `ok`.
    function _pick(uint256 seed, function(EscrowRecord storage) view returns (bool) ok)
        internal
        view
        returns (bool found, uint256 index)
    {
        uint256 n = _escrows.length;
        if (n == 0) return (false, 0);
        uint256 start = seed % n;
        for (uint256 k; k < n; ++k) {
            index = (start + k) % n;
            if (ok(_escrows[index])) return (true, index);
        }
        return (false, 0);
    }

    function _isOpen(EscrowRecord storage e) internal view returns (bool) {
        return !e.closed;
    }

    function _isCapturable(EscrowRecord storage e) internal view returns (bool) {
        return !e.closed && block.timestamp < e.authorizationExpiry && e.captured < e.authorized;
    }

    function _isRefundable(EscrowRecord storage e) internal view returns (bool) {
        return block.timestamp < e.refundExpiry && e.refunded < e.captured;
    }

    function _payerIndex(address who) internal view returns (uint256) {
        for (uint256 i; i < PAYERS; ++i) {
            if (payers[i] == who) return i;
        }
        revert("unknown payer");
    }
}
