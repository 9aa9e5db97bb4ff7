// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {PaymentTermsHash} from "../libraries/PaymentTermsHash.sol";

/// @title Permit2Payments
/// @notice Pulls the payments payers sign as Permit2 witness transfers (`PermitWitnessTransferFrom`
/// with a `PaymentTerms` witness) into this contract, and names them: a payment's id is derived from
/// its payer and Permit2 nonce, so a facilitator knows it before settling.
/// @dev Signature and witness verification is Permit2's: it checks the payer's signature (ECDSA or
/// EIP-1271) over the permit, this contract as spender and the witness hash, against `terms.payer`,
/// and consumes the nonce. Its errors pass through unchanged: `InvalidSigner()`, `InvalidNonce()`,
/// `SignatureExpired(uint256)`, `InvalidContractSignature()`. This part adds the exact-receipt check
/// (fee-on-transfer and other non-standard tokens are rejected with `TokenReceivedMismatch`).
abstract contract Permit2Payments is IX402Settlement {
    /// @inheritdoc IX402Settlement
    ISignatureTransfer public immutable PERMIT2;

    /// @param permit2 The Permit2 deployment (0x000000000022D473030F116dDEE9F6B43aC78BA3 on public chains).
    constructor(ISignatureTransfer permit2) {
        if (address(permit2) == address(0)) revert ZeroAddress();
        PERMIT2 = permit2;
    }

    /// @inheritdoc IX402Settlement
    function paymentIdOf(address payer, uint256 nonce) external view returns (bytes32) {
        return _paymentId(payer, nonce);
    }

    /// @dev Pulls `amount` from `terms.payer` into this contract with the payer's Permit2 witness
    /// signature and checks the contract received exactly `amount`. Permit2 verifies the signature
    /// against `terms.payer`, which the witness itself names.
    function _pull(SignedPayment calldata payment, uint256 amount) internal {
        IERC20 token = IERC20(payment.permit.permitted.token);
        uint256 balanceBefore = token.balanceOf(address(this));
        PERMIT2.permitWitnessTransferFrom(
            payment.permit,
            ISignatureTransfer.SignatureTransferDetails({to: address(this), requestedAmount: amount}),
            payment.terms.payer,
            PaymentTermsHash.hash(payment.terms),
            PaymentTermsHash.WITNESS_TYPE_STRING,
            payment.signature
        );
        uint256 balanceAfter = token.balanceOf(address(this));
        if (balanceAfter != balanceBefore + amount) {
            revert TokenReceivedMismatch(
                amount, balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0
            );
        }
    }

    /// @dev `keccak256(abi.encode(block.chainid, address(this), payer, nonce))`, hashed in unallocated
    /// memory so batches do not grow memory per item.
    function _paymentId(address payer, uint256 nonce) internal view returns (bytes32 id) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, chainid())
            mstore(add(ptr, 0x20), address())
            mstore(add(ptr, 0x40), payer)
            mstore(add(ptr, 0x60), nonce)
            id := keccak256(ptr, 0x80)
        }
    }

    /// @dev `InvalidPayee` for the zero address or this contract.
    function _checkPayee(address payee) internal view {
        if (payee == address(0) || payee == address(this)) revert InvalidPayee(payee);
    }
}
