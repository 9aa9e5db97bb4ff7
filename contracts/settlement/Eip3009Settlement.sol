// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";

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
abstract contract Eip3009Settlement is IX402Settlement, ReentrancyGuardTransient {
    /// @inheritdoc IX402Settlement
    /// @dev The token checks the signature, the validity window and the nonce, and reverts with its
    /// own message when one fails (FiatToken: "FiatTokenV2: invalid signature", "FiatTokenV2:
    /// authorization is expired", "FiatTokenV2: authorization is not yet valid", "FiatTokenV2:
    /// authorization is used or canceled", "Blacklistable: account is blacklisted", "ERC20: transfer
    /// amount exceeds balance"). Every argument except `evidenceHash` is part of what the payer signed,
    /// so any change makes the token reject the signature. The spending policy does not apply and no
    /// fee is taken (see the contract documentation).
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

    /// @inheritdoc IX402Settlement
    function authorizationPaymentId(address token, address payer, bytes32 nonce)
        external
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), token, payer, nonce));
    }
}
