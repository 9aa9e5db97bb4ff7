// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISignatureTransfer (the part x402's Permit2 proxies call)
/// @notice Uniswap Permit2's signature-transfer structs and `permitWitnessTransferFrom`, declared
///         here rather than imported so the test proxies compile without Permit2's via-IR
///         profile. The layout is Permit2's published interface; the name matches the
///         `internalType` (`struct ISignatureTransfer.PermitTransferFrom`) of the x402 SDK's ABI.
interface ISignatureTransfer {
    /// @notice A token and the most the signature lets the spender move.
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    /// @notice The signed permit: what, with which unordered nonce, until when.
    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Where the spender sends the tokens and how many (at most `permitted.amount`).
    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    /// @notice Moves tokens from `owner` under a signature over the permit, the spender
    ///         (`msg.sender`) and the spender's witness (`witness` hashed under `witnessTypeString`).
    function permitWitnessTransferFrom(
        PermitTransferFrom calldata permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external;
}
