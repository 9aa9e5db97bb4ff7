// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";

import {IX402Settlement} from "./interfaces/IX402Settlement.sol";
import {Permit2Payments} from "./settlement/Permit2Payments.sol";
import {Eip3009Settlement} from "./settlement/Eip3009Settlement.sol";
import {Escrow} from "./settlement/Escrow.sol";
import {Batches} from "./settlement/Batches.sol";

/// @title X402Settlement
/// @notice Settles x402 pay-per-inference payments that payers sign as Permit2 witness transfers, pays
/// the facilitator fee and the payee's revenue split, accrues the protocol fee, and records the evidence
/// of the work in the same event. Supports one-shot charges (x402 `exact` and `upto`), batches of
/// charges with an on-chain Merkle root over their evidence, an escrow (authorize, capture, void,
/// reclaim, refund), and standard x402 EIP-3009 payments with evidence.
///
/// @dev Composed of parts with one job each, every one implementing its share of `IX402Settlement`:
/// - `Permit2Payments`: pulls payments through Permit2 witness transfers (Permit2 verifies the payer's
///   signature over permit and witness), checks the exact receipt, derives payment ids;
/// - `SpendingPolicies`: payers' budgets per token, set by transaction or EIP-712 signature;
/// - `ProtocolFees`: the protocol fee (owner, delay on increases), its accrual and the treasury;
/// - `Splits`: payees' revenue splits and the payout of every settled amount;
/// - `Charges`: one-shot Exact/Upto charges;
/// - `Batches`: batches of charges, isolated per item, with their evidence root (`EvidenceTree`);
/// - `Escrow`: authorize, capture, void, reclaim, refund;
/// - `Eip3009Settlement`: standard x402 EIP-3009 payments with evidence (no budget, no fee).
/// This contract only wires them together: constructor and EIP-712 domain.
///
/// Funds flow: every settlement pulls the payer's tokens into this contract through Permit2 and
/// checks that the contract's balance grew by exactly the pulled amount (fee-on-transfer and other
/// non-standard tokens are rejected with `TokenReceivedMismatch`), then pays the facilitator, split
/// recipients and payee in the same transaction. The contract therefore holds only the uncaptured part
/// of open escrows and the accrued protocol fees. Each settlement updates state before it moves tokens
/// (checks-effects-interactions), and the external entry points are `nonReentrant` (`settleBatchItem`
/// runs only inside `chargeBatch`).
///
/// Errors raised by Permit2 itself pass through unchanged: `InvalidSigner()` (the signature does not
/// cover this permit, spender, chain, witness or payer), `InvalidNonce()` (nonce already used),
/// `SignatureExpired(uint256)` (permit deadline passed; same selector as this interface's error),
/// `InvalidContractSignature()` (an EIP-1271 payer refused the signature).
///
/// Limits of the packed storage: escrowed amounts (`captured`, `refunded`) are stored as `uint96`
/// (7.9e28 base units, 79 billion tokens at 18 decimals); `authorize` rejects larger maxima.
contract X402Settlement is Eip3009Settlement, Escrow, Batches {
    /// @param permit2 The Permit2 deployment (0x000000000022D473030F116dDEE9F6B43aC78BA3 on public chains).
    /// @param initialOwner Owner allowed to set the protocol fee and treasury (two-step transferable).
    constructor(ISignatureTransfer permit2, address initialOwner)
        Permit2Payments(permit2)
        Ownable(initialOwner)
        EIP712("X402Settlement", "1")
    {}

    /// @inheritdoc IX402Settlement
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
