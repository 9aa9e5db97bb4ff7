// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {ITestToken} from "../mocks/ITestToken.sol";
import {ISignatureTransfer} from "./ISignatureTransfer.sol";
import {X402Permit2ProxyBase} from "./X402Permit2ProxyBase.sol";
import {x402ExactPermit2Proxy} from "./x402ExactPermit2Proxy.sol";
import {x402UptoPermit2Proxy} from "./x402UptoPermit2Proxy.sol";

interface IPermit2Domain {
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

/// @notice The test proxies (a reimplementation of the interface x402's SDK publishes) against the
/// real Permit2: what they move, to whom, and every revert the SDK maps to a reason code.
contract X402Permit2ProxyTest is Test {
    bytes32 internal constant TOKEN_PERMISSIONS_TYPEHASH =
        keccak256("TokenPermissions(address token,uint256 amount)");
    string internal constant PERMIT_WITNESS_STUB =
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";

    // Permit2 errors (its sources pin 0.8.17, so they are not imported).
    error InvalidSigner();
    error InvalidNonce();
    error SignatureExpired(uint256 signatureDeadline);

    ISignatureTransfer internal permit2;
    ITestToken internal token;
    x402ExactPermit2Proxy internal exact;
    x402UptoPermit2Proxy internal upto;
    address internal payer;
    uint256 internal payerKey;
    address internal payee = makeAddr("payee");
    address internal facilitator = makeAddr("facilitator");

    function setUp() public {
        vm.warp(1_750_000_000);
        permit2 = ISignatureTransfer(deployCode("Permit2.sol:Permit2"));
        token = ITestToken(deployCode("TestToken.sol:TestToken", abi.encode("Test USD", "TUSD", uint8(6))));
        exact = new x402ExactPermit2Proxy(permit2);
        upto = new x402UptoPermit2Proxy(permit2);
        (payer, payerKey) = makeAddrAndKey("payer");
        token.mint(payer, 1_000_000);
        vm.prank(payer);
        token.approve(address(permit2), type(uint256).max);
    }

    function _permit(uint256 amount, uint256 nonce)
        internal
        view
        returns (ISignatureTransfer.PermitTransferFrom memory)
    {
        return ISignatureTransfer.PermitTransferFrom({
            permitted: ISignatureTransfer.TokenPermissions({token: address(token), amount: amount}),
            nonce: nonce,
            deadline: block.timestamp + 300
        });
    }

    function _sign(
        ISignatureTransfer.PermitTransferFrom memory permit,
        address spender,
        bytes32 witnessHash,
        string memory witnessTypeString
    ) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(abi.encodePacked(PERMIT_WITNESS_STUB, witnessTypeString)),
                keccak256(
                    abi.encode(TOKEN_PERMISSIONS_TYPEHASH, permit.permitted.token, permit.permitted.amount)
                ),
                spender,
                permit.nonce,
                permit.deadline,
                witnessHash
            )
        );
        bytes32 digest = keccak256(
            abi.encodePacked("\x19\x01", IPermit2Domain(address(permit2)).DOMAIN_SEPARATOR(), structHash)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(payerKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signExact(
        ISignatureTransfer.PermitTransferFrom memory permit,
        x402ExactPermit2Proxy.Witness memory w
    ) internal view returns (bytes memory) {
        bytes32 h = keccak256(abi.encode(exact.WITNESS_TYPEHASH(), w.to, w.validAfter));
        return _sign(permit, address(exact), h, exact.WITNESS_TYPE_STRING());
    }

    function _signUpto(
        ISignatureTransfer.PermitTransferFrom memory permit,
        x402UptoPermit2Proxy.Witness memory w
    ) internal view returns (bytes memory) {
        bytes32 h = keccak256(abi.encode(upto.WITNESS_TYPEHASH(), w.to, w.facilitator, w.validAfter));
        return _sign(permit, address(upto), h, upto.WITNESS_TYPE_STRING());
    }

    function test_typeStrings_areTheSdkWitnessTypes() public view {
        assertEq(exact.WITNESS_TYPEHASH(), keccak256("Witness(address to,uint256 validAfter)"));
        assertEq(
            upto.WITNESS_TYPEHASH(), keccak256("Witness(address to,address facilitator,uint256 validAfter)")
        );
        assertEq(address(exact.PERMIT2()), address(permit2));
    }

    function test_exact_movesThePermittedAmountToTheWitness_anyCaller() public {
        ISignatureTransfer.PermitTransferFrom memory permit = _permit(1_000, 1);
        x402ExactPermit2Proxy.Witness memory w = x402ExactPermit2Proxy.Witness({to: payee, validAfter: 0});
        bytes memory sig = _signExact(permit, w);
        vm.expectEmit(address(exact));
        emit X402Permit2ProxyBase.Settled();
        vm.prank(makeAddr("anyone"));
        exact.settle(permit, payer, w, sig);
        assertEq(token.balanceOf(payee), 1_000);
        assertEq(token.balanceOf(payer), 999_000);

        // The nonce is spent.
        vm.expectRevert(InvalidNonce.selector);
        exact.settle(permit, payer, w, sig);
    }

    function test_exact_redirectedWitness_failsTheSignature() public {
        ISignatureTransfer.PermitTransferFrom memory permit = _permit(1_000, 2);
        bytes memory sig = _signExact(permit, x402ExactPermit2Proxy.Witness({to: payee, validAfter: 0}));
        vm.expectRevert(InvalidSigner.selector);
        exact.settle(permit, payer, x402ExactPermit2Proxy.Witness({to: facilitator, validAfter: 0}), sig);
    }

    function test_exact_reverts() public {
        x402ExactPermit2Proxy.Witness memory w = x402ExactPermit2Proxy.Witness({to: payee, validAfter: 0});
        ISignatureTransfer.PermitTransferFrom memory zero = _permit(0, 3);
        vm.expectRevert(x402ExactPermit2Proxy.InvalidAmount.selector);
        exact.settle(zero, payer, w, "");
        ISignatureTransfer.PermitTransferFrom memory permit = _permit(1_000, 3);
        vm.expectRevert(X402Permit2ProxyBase.InvalidOwner.selector);
        exact.settle(permit, address(0), w, "");
        vm.expectRevert(X402Permit2ProxyBase.InvalidDestination.selector);
        exact.settle(permit, payer, x402ExactPermit2Proxy.Witness({to: address(0), validAfter: 0}), "");
        x402ExactPermit2Proxy.Witness memory later =
            x402ExactPermit2Proxy.Witness({to: payee, validAfter: block.timestamp + 1});
        bytes memory laterSig = _signExact(permit, later);
        vm.expectRevert(X402Permit2ProxyBase.PaymentTooEarly.selector);
        exact.settle(permit, payer, later, laterSig);
        bytes memory sig = _signExact(permit, w);
        vm.warp(permit.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(SignatureExpired.selector, permit.deadline));
        exact.settle(permit, payer, w, sig);
    }

    function test_constructor_refusesZeroPermit2() public {
        vm.expectRevert(X402Permit2ProxyBase.InvalidPermit2Address.selector);
        new x402ExactPermit2Proxy(ISignatureTransfer(address(0)));
        vm.expectRevert(X402Permit2ProxyBase.InvalidPermit2Address.selector);
        new x402UptoPermit2Proxy(ISignatureTransfer(address(0)));
    }

    function testFuzz_upto_theWitnessFacilitatorMovesAtMostTheMaximum(uint256 amount) public {
        amount = bound(amount, 0, 5_000);
        ISignatureTransfer.PermitTransferFrom memory permit = _permit(5_000, 4);
        x402UptoPermit2Proxy.Witness memory w =
            x402UptoPermit2Proxy.Witness({to: payee, facilitator: facilitator, validAfter: 0});
        bytes memory sig = _signUpto(permit, w);
        vm.prank(facilitator);
        upto.settle(permit, amount, payer, w, sig);
        assertEq(token.balanceOf(payee), amount);
    }

    function test_upto_reverts() public {
        ISignatureTransfer.PermitTransferFrom memory permit = _permit(5_000, 5);
        x402UptoPermit2Proxy.Witness memory w =
            x402UptoPermit2Proxy.Witness({to: payee, facilitator: facilitator, validAfter: 0});
        bytes memory sig = _signUpto(permit, w);
        vm.expectRevert(x402UptoPermit2Proxy.UnauthorizedFacilitator.selector);
        upto.settle(permit, 1_000, payer, w, sig);
        vm.prank(facilitator);
        vm.expectRevert(x402UptoPermit2Proxy.AmountExceedsPermitted.selector);
        upto.settle(permit, 5_001, payer, w, sig);
        // Naming another facilitator in the call changes the witness: the signature fails.
        x402UptoPermit2Proxy.Witness memory other =
            x402UptoPermit2Proxy.Witness({to: payee, facilitator: address(this), validAfter: 0});
        vm.expectRevert(InvalidSigner.selector);
        upto.settle(permit, 1_000, payer, other, sig);
    }
}
