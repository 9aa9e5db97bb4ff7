// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import {ISignatureTransfer} from "./ISignatureTransfer.sol";

/// @title X402Permit2ProxyBase (test fixture)
/// @notice TEST FIXTURE, not x402's code. x402's Permit2 proxies (`x402ExactPermit2Proxy` at
///         0x402085c248EeA27D92E8b30b2C58ed07f9E20001, `x402UptoPermit2Proxy` at
///         0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002) are not published on npm and cannot be
///         fetched offline, so the facilitator's end-to-end tests run against this independent
///         implementation of their published interface: the ABI, witness type strings and errors
///         of the x402 SDK (its EVM package, 2.27: `x402ExactPermit2ProxyABI`,
///         `x402UptoPermit2ProxyABI`, `permit2WitnessTypes`, `uptoPermit2WitnessTypes`). The tests
///         deploy it and copy its runtime code to those addresses with `anvil_setCode`; Permit2 is
///         an immutable, so the copy needs no storage.
/// @dev The shared settlement: the proxy is the Permit2 spender the payer signed, and the witness
///      binds the destination, so whoever calls can only move the funds to `witness.to`.
abstract contract X402Permit2ProxyBase is ReentrancyGuard {
    /// @notice The Permit2 the payer's signature is for.
    ISignatureTransfer public immutable PERMIT2;

    /// @notice `settle` completed.
    event Settled();
    /// @notice `settleWithPermit` completed.
    event SettledWithPermit();

    /// @notice Constructed with Permit2 at the zero address.
    error InvalidPermit2Address();
    /// @notice The witness sends to the zero address.
    error InvalidDestination();
    /// @notice The owner (payer) is the zero address.
    error InvalidOwner();
    /// @notice `block.timestamp` is before the witness's `validAfter`.
    error PaymentTooEarly();
    /// @notice The EIP-2612 permit approves another amount than the Permit2 permit moves.
    error Permit2612AmountMismatch();

    /// @notice An EIP-2612 approval of Permit2, as `settleWithPermit` takes it.
    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    constructor(ISignatureTransfer permit2) {
        if (address(permit2) == address(0)) revert InvalidPermit2Address();
        PERMIT2 = permit2;
    }

    /// @dev Checks the witness fields the proxy itself enforces, then lets Permit2 verify the
    ///      signature over permit, spender (this contract) and witness, and move `amount` to `to`.
    function _transfer(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        address to,
        uint256 validAfter,
        bytes32 witnessHash,
        string memory witnessTypeString,
        bytes calldata signature
    ) internal {
        if (owner == address(0)) revert InvalidOwner();
        if (to == address(0)) revert InvalidDestination();
        if (block.timestamp < validAfter) revert PaymentTooEarly();
        PERMIT2.permitWitnessTransferFrom(
            permit,
            ISignatureTransfer.SignatureTransferDetails({to: to, requestedAmount: amount}),
            owner,
            witnessHash,
            witnessTypeString,
            signature
        );
    }

    /// @dev Tries the payer's EIP-2612 approval of Permit2. A failure is ignored: the approval may
    ///      already exist (a front-run permit, or an earlier approve), and Permit2 reverts anyway
    ///      when it does not.
    function _approvePermit2(address token, address owner, EIP2612Permit calldata p, uint256 permitted)
        internal
    {
        if (p.value != permitted) revert Permit2612AmountMismatch();
        try IERC20Permit(token).permit(owner, address(PERMIT2), p.value, p.deadline, p.v, p.r, p.s) {}
            catch {}
    }
}
