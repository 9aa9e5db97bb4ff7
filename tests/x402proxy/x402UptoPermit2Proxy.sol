// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISignatureTransfer} from "./ISignatureTransfer.sol";
import {X402Permit2ProxyBase} from "./X402Permit2ProxyBase.sol";

/// @title x402UptoPermit2Proxy (test fixture)
/// @notice TEST FIXTURE: an independent implementation of the interface of x402's upto Permit2
///         proxy as the x402 SDK publishes it (see X402Permit2ProxyBase). The payer signs a
///         maximum and names the facilitator in the witness; only that facilitator may settle,
///         and it chooses the amount, at most the maximum.
contract x402UptoPermit2Proxy is X402Permit2ProxyBase {
    /// @notice The amount is above the signed maximum.
    error AmountExceedsPermitted();
    /// @notice The caller is not the witness's facilitator.
    error UnauthorizedFacilitator();

    /// @notice The upto scheme's witness (the SDK's `uptoPermit2WitnessTypes.Witness`).
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    /// @notice Permit2's witness type string: the witness field, then the referenced types in
    ///         alphabetical order.
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";
    /// @notice EIP-712 type hash of `Witness`.
    bytes32 public constant WITNESS_TYPEHASH =
        keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    constructor(ISignatureTransfer permit2) X402Permit2ProxyBase(permit2) {}

    /// @notice Moves `amount` (at most `permit.permitted.amount`) from `owner` to `witness.to`.
    function settle(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _settleUpto(permit, amount, owner, witness, signature);
        emit Settled();
    }

    /// @notice `settle` after submitting the payer's EIP-2612 approval of Permit2.
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _approvePermit2(permit.permitted.token, owner, permit2612, permit.permitted.amount);
        _settleUpto(permit, amount, owner, witness, signature);
        emit SettledWithPermit();
    }

    function _settleUpto(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
        bytes32 witnessHash =
            keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter));
        _transfer(
            permit, amount, owner, witness.to, witness.validAfter, witnessHash, WITNESS_TYPE_STRING, signature
        );
    }
}
