// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "./ISignatureTransfer.sol";
import {X402Permit2ProxyBase} from "./X402Permit2ProxyBase.sol";

/// @title x402ExactPermit2Proxy (test fixture)
/// @notice TEST FIXTURE: an independent implementation of the interface of x402's exact Permit2
///         proxy as the x402 SDK publishes it (see X402Permit2ProxyBase). Moves exactly the
///         permitted amount to the witness's `to`; anyone may submit it.
contract x402ExactPermit2Proxy is X402Permit2ProxyBase {
    /// @notice The permit moves nothing.
    error InvalidAmount();

    /// @notice The exact scheme's witness (the SDK's `permit2WitnessTypes.Witness`).
    struct Witness {
        address to;
        uint256 validAfter;
    }

    /// @notice Permit2's witness type string: the witness field, then the referenced types in
    ///         alphabetical order.
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)";
    /// @notice EIP-712 type hash of `Witness`.
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,uint256 validAfter)");

    constructor(ISignatureTransfer permit2) X402Permit2ProxyBase(permit2) {}

    /// @notice Moves `permit.permitted.amount` from `owner` to `witness.to`.
    function settle(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _settleExact(permit, owner, witness, signature);
        emit Settled();
    }

    /// @notice `settle` after submitting the payer's EIP-2612 approval of Permit2.
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        ISignatureTransfer.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _approvePermit2(permit.permitted.token, owner, permit2612, permit.permitted.amount);
        _settleExact(permit, owner, witness, signature);
        emit SettledWithPermit();
    }

    function _settleExact(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        uint256 amount = permit.permitted.amount;
        if (amount == 0) revert InvalidAmount();
        bytes32 witnessHash = keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.validAfter));
        _transfer(
            permit, amount, owner, witness.to, witness.validAfter, witnessHash, WITNESS_TYPE_STRING, signature
        );
    }
}
