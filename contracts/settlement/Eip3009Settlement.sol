// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice The EIP-3009 entry point FiatToken (USDC) v2.2 and other EIP-3009 tokens expose: the
/// `bytes signature` overload, which accepts ECDSA signatures and EIP-1271 contract-wallet
/// signatures alike.
interface IERC3009 {
    /// @notice Executes a transfer the holder `from` signed as EIP-712 `TransferWithAuthorization`.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external;

    /// @notice Whether `authorizer`'s `nonce` was used or cancelled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}

/// @title Eip3009Settlement
/// @notice Settles standard x402 `exact` payments, which payers sign as EIP-3009
/// `TransferWithAuthorization(from, to = payee, value, validAfter, validBefore, nonce)` under the
/// token's own EIP-712 domain (the x402 SDK's default payload), and records the evidence of the work
/// paid for in the same event as the payment. The funds move straight from the payer to the payee
/// inside the token; this contract never holds them.
///
/// @dev What this path cannot do, by construction of EIP-3009:
/// - **The payer's on-chain spending policy does not bind these payments.** The signed authorization
///   is executable by anyone directly on the token (`transferWithAuthorization`), bypassing this
///   contract, so a budget kept here could not stop it; `remainingBudget` is neither checked nor
///   debited. Payers who need an enforced budget sign the Permit2 witness payments instead.
/// - **No facilitator fee and no protocol fee are possible.** The payer signed `to` = payee and the
///   exact `value`; every unit goes to the payee.
/// - **The evidence hash and the `facilitator` field are the caller's statement.** Whoever executes
///   the authorization first through this contract names them; an authorization executed directly on
///   the token first (a front-run) makes this call revert and leaves no `AuthorizationCharged` event.
abstract contract Eip3009Settlement is ReentrancyGuardTransient {
    /// @notice An EIP-3009 authorization was executed through this contract.
    /// @param paymentId `keccak256(abi.encode(block.chainid, address(this), token, payer, authorizationNonce))`.
    /// @param payer The authorization's `from`.
    /// @param payee The authorization's `to`, who received `amount`.
    /// @param token The EIP-3009 token.
    /// @param facilitator The caller that executed the authorization.
    /// @param amount The authorization's `value`, received in full by the payee.
    /// @param authorizationNonce The authorization's 32-byte nonce (unique per payer and token).
    /// @param validAfter The authorization's `validAfter` (unix seconds).
    /// @param validBefore The authorization's `validBefore` (unix seconds).
    /// @param evidenceHash Hash of the evidence of the work paid for (zero when none was given).
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

    /// @notice The authorization moves nothing.
    error AuthorizationZeroAmount();
    /// @notice The payee is the zero address.
    error AuthorizationZeroPayee();
    /// @notice The token address has no code.
    error AuthorizationTokenNotContract(address token);
    /// @notice The payee's balance did not grow by exactly `amount` (a fee-on-transfer or otherwise
    /// non-standard token, or a token that returned without transferring).
    error AuthorizationTransferMismatch(uint256 expected, uint256 received);

    /// @notice Executes the payer's EIP-3009 authorization on `token` (funds go straight from `payer`
    /// to `payee`) and records it with `evidenceHash` in one `AuthorizationCharged` event.
    /// @dev The token checks the signature, the validity window and the nonce, and reverts with its
    /// own message when one fails (FiatToken: "FiatTokenV2: invalid signature", "FiatTokenV2:
    /// authorization is expired", "FiatTokenV2: authorization is not yet valid", "FiatTokenV2:
    /// authorization is used or canceled", "Blacklistable: account is blacklisted", "ERC20: transfer
    /// amount exceeds balance"). Every argument except `evidenceHash` is part of what the payer signed,
    /// so any change makes the token reject the signature. The spending policy does not apply and no
    /// fee is taken (see the contract documentation).
    /// @param token The EIP-3009 token (the EIP-712 verifying contract of the signature).
    /// @param payer The authorization's `from` (an EOA, or an EIP-1271 wallet if the token supports it).
    /// @param payee The authorization's `to`.
    /// @param amount The authorization's `value`.
    /// @param validAfter The authorization's `validAfter`.
    /// @param validBefore The authorization's `validBefore`.
    /// @param nonce The authorization's nonce.
    /// @param signature The payer's signature (65-byte ECDSA, or wallet-specific bytes for EIP-1271).
    /// @param evidenceHash Hash of the evidence of the work paid for (zero when none).
    /// @return paymentId `keccak256(abi.encode(block.chainid, address(this), token, payer, nonce))`.
    function chargeWithAuthorization(
        address token,
        address payer,
        address payee,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature,
        bytes32 evidenceHash
    ) external nonReentrant returns (bytes32 paymentId) {
        if (amount == 0) revert AuthorizationZeroAmount();
        if (payee == address(0)) revert AuthorizationZeroPayee();
        if (token.code.length == 0) revert AuthorizationTokenNotContract(token);
        paymentId = keccak256(abi.encode(block.chainid, address(this), token, payer, nonce));

        uint256 before = IERC20(token).balanceOf(payee);
        IERC3009(token)
            .transferWithAuthorization(payer, payee, amount, validAfter, validBefore, nonce, signature);
        uint256 received = IERC20(token).balanceOf(payee) - before;
        // A payer paying itself receives nothing net; anything else must arrive in full.
        if (payer != payee && received != amount) revert AuthorizationTransferMismatch(amount, received);

        emit AuthorizationCharged(
            paymentId, payer, payee, token, msg.sender, amount, nonce, validAfter, validBefore, evidenceHash
        );
    }

    /// @notice The payment id `chargeWithAuthorization` gives an authorization.
    /// @param token The EIP-3009 token.
    /// @param payer The authorization's `from`.
    /// @param nonce The authorization's nonce.
    /// @return The payment id.
    function authorizationPaymentId(address token, address payer, bytes32 nonce)
        external
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), token, payer, nonce));
    }
}
