// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {BPS} from "../libraries/Bps.sol";

/// @title Splits
/// @notice Payees' revenue splits: each payee registers up to `MAX_SPLIT_RECIPIENTS` recipients with
/// a share in basis points of every net payment it receives, and keeps the rest. Settlements pay the
/// recipients and the payee from this contract in the same transaction.
/// @dev A recipient's share is `net * bps / 10_000` with `net = amount - facilitatorFee - protocolFee`,
/// rounded down; the payee receives the remainder.
abstract contract Splits is IX402Settlement, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IX402Settlement
    uint256 public constant MAX_SPLIT_RECIPIENTS = 8;

    /// @dev A payee's split. `header` packs the recipient count in its low 8 bits and recipient `i`'s
    /// basis points in bits `[8 + 16 i, 24 + 16 i)`, so a payee without a split costs one SLOAD.
    struct StoredSplit {
        uint256 header;
        address[MAX_SPLIT_RECIPIENTS] recipients;
    }

    mapping(address payee => StoredSplit) private _splits;

    /// @inheritdoc IX402Settlement
    /// @dev `InvalidSplit` when the arrays differ in length, exceed `MAX_SPLIT_RECIPIENTS`, name the
    /// zero address, the caller or this contract, give a recipient 0 bps, or sum above 10,000.
    function setSplit(address[] calldata recipients, uint16[] calldata bps) external nonReentrant {
        uint256 count = recipients.length;
        if (count != bps.length || count > MAX_SPLIT_RECIPIENTS) revert InvalidSplit();
        StoredSplit storage split = _splits[msg.sender];
        uint256 header = count;
        uint256 total;
        for (uint256 i; i < count; ++i) {
            address recipient = recipients[i];
            uint256 share = bps[i];
            if (
                recipient == address(0) || recipient == msg.sender || recipient == address(this) || share == 0
            ) {
                revert InvalidSplit();
            }
            total += share;
            header |= share << (8 + 16 * i);
            split.recipients[i] = recipient;
        }
        if (total > BPS) revert InvalidSplit();
        uint256 previousCount = split.header & 0xff;
        for (uint256 i = count; i < previousCount; ++i) {
            delete split.recipients[i];
        }
        split.header = header;
        emit SplitSet(msg.sender, recipients, bps);
    }

    /// @inheritdoc IX402Settlement
    function splitOf(address payee) external view returns (address[] memory recipients, uint16[] memory bps) {
        StoredSplit storage split = _splits[payee];
        uint256 header = split.header;
        uint256 count = header & 0xff;
        recipients = new address[](count);
        bps = new uint16[](count);
        for (uint256 i; i < count; ++i) {
            recipients[i] = split.recipients[i];
            // forge-lint: disable-next-line(unsafe-typecast) -- 16-bit field of the packed header
            bps[i] = uint16(header >> (8 + 16 * i));
        }
    }

    /// @dev Pays the payee's split recipients and the payee from this contract. `net` is the amount
    /// after facilitator and protocol fees.
    function _payOut(bytes32 paymentId, IERC20 token, address payee, uint256 net) internal {
        StoredSplit storage split = _splits[payee];
        uint256 header = split.header;
        uint256 payeeAmount = net;
        if (header != 0) {
            uint256 count = header & 0xff;
            for (uint256 i; i < count; ++i) {
                uint256 share = net * ((header >> (8 + 16 * i)) & 0xffff) / BPS;
                if (share != 0) {
                    address recipient = split.recipients[i];
                    payeeAmount -= share;
                    emit SplitPaid(paymentId, payee, recipient, share);
                    token.safeTransfer(recipient, share);
                }
            }
        }
        if (payeeAmount != 0) token.safeTransfer(payee, payeeAmount);
    }
}
