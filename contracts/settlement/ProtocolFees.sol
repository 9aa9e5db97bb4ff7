// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IX402Settlement} from "../interfaces/IX402Settlement.sol";
import {BPS} from "../libraries/Bps.sol";

/// @title ProtocolFees
/// @notice The protocol fee: set by the owner within `MAX_PROTOCOL_FEE_BPS`, raised only after
/// `PROTOCOL_FEE_INCREASE_DELAY`, accrued in this contract per token and withdrawn by the treasury.
/// A payment never transfers anything to the treasury, so a treasury that a token refuses (a
/// blocklisted address) can never make a payment revert.
/// @dev Rounding: the protocol fee of a settled amount is rounded up (`ceil(amount * bps / 10_000)`),
/// so splitting a payment into many small captures or charges never pays less protocol fee than
/// settling it at once (`ceil(a) + ceil(b) >= ceil(a + b)`). The facilitator fee rounds down; their sum
/// never exceeds the amount while the two rates sum to at most 10,000 bps.
abstract contract ProtocolFees is IX402Settlement, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Hard cap of the protocol fee the owner can set, in basis points (1%).
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 100;

    /// @notice How long a protocol fee increase waits before it applies.
    uint48 public constant PROTOCOL_FEE_INCREASE_DELAY = 7 days;

    /// @dev The fee in force, a scheduled increase and the treasury, in one slot.
    struct ProtocolFeeConfig {
        uint16 bps;
        uint16 pendingBps;
        uint48 pendingEffectiveAt;
        address treasury;
    }

    ProtocolFeeConfig private _protocolFee;

    /// @notice Protocol fees accrued in each token and not yet withdrawn.
    mapping(address token => uint256) public accruedProtocolFees;

    // ---------------------------------------------------------------- owner and treasury

    /// @inheritdoc IX402Settlement
    /// @dev Only the owner. `ProtocolFeeTooHigh` above `MAX_PROTOCOL_FEE_BPS`. A change replaces any
    /// increase scheduled before; `ProtocolFeeChanged` names the fee in force, the new one and when it
    /// applies. Payers bound the facilitator fee only: a facilitator fee plus protocol fee above 10,000
    /// bps makes the settlement revert with `FeeAboveMaximum`.
    function setProtocolFee(uint16 bps) external onlyOwner nonReentrant {
        if (bps > MAX_PROTOCOL_FEE_BPS) revert ProtocolFeeTooHigh(bps, MAX_PROTOCOL_FEE_BPS);
        uint16 current = _currentProtocolFeeBps();
        ProtocolFeeConfig storage config = _protocolFee;
        uint48 effectiveAt = uint48(block.timestamp);
        config.bps = current;
        if (bps <= current) {
            config.bps = bps;
            config.pendingBps = 0;
            config.pendingEffectiveAt = 0;
        } else {
            effectiveAt += PROTOCOL_FEE_INCREASE_DELAY;
            config.pendingBps = bps;
            config.pendingEffectiveAt = effectiveAt;
        }
        emit ProtocolFeeChanged(current, bps, effectiveAt);
    }

    /// @inheritdoc IX402Settlement
    /// @dev Only the owner. `InvalidRecipient` for the zero address or this contract.
    function setTreasury(address treasury) external onlyOwner nonReentrant {
        if (treasury == address(0) || treasury == address(this)) revert InvalidRecipient(treasury);
        address old = _protocolFee.treasury;
        _protocolFee.treasury = treasury;
        emit TreasuryChanged(old, treasury);
    }

    /// @inheritdoc IX402Settlement
    /// @dev `Unauthorized` unless the caller is the treasury; `InvalidRecipient` for the zero address or
    /// this contract. Withdrawing nothing succeeds and emits an event with amount 0.
    function withdrawProtocolFees(address token, address to) external nonReentrant returns (uint256 amount) {
        address treasury = _protocolFee.treasury;
        if (msg.sender != treasury || treasury == address(0)) revert Unauthorized(msg.sender);
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        amount = accruedProtocolFees[token];
        accruedProtocolFees[token] = 0;
        emit ProtocolFeesWithdrawn(token, treasury, to, amount);
        if (amount != 0) IERC20(token).safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IX402Settlement
    function protocolFee()
        external
        view
        returns (uint16 bps, uint16 pendingBps, uint48 pendingEffectiveAt, address treasury)
    {
        ProtocolFeeConfig memory config = _protocolFee;
        treasury = config.treasury;
        if (config.pendingEffectiveAt != 0 && block.timestamp < config.pendingEffectiveAt) {
            (bps, pendingBps, pendingEffectiveAt) = (config.bps, config.pendingBps, config.pendingEffectiveAt);
        } else {
            bps = config.pendingEffectiveAt != 0 ? config.pendingBps : config.bps;
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev The fee that applies now: a scheduled increase counts once its time has come.
    function _currentProtocolFeeBps() internal view returns (uint16) {
        ProtocolFeeConfig memory config = _protocolFee;
        if (config.pendingEffectiveAt != 0 && block.timestamp >= config.pendingEffectiveAt) {
            return config.pendingBps;
        }
        return config.bps;
    }

    /// @dev Facilitator fee (rounded down) and protocol fee (rounded up) of a gross `amount`.
    function _fees(uint256 amount, uint16 facilitatorFeeBps, uint16 protocolFeeBps)
        internal
        pure
        returns (uint256 facilitatorFee, uint256 protocolFeeAmount)
    {
        if (uint256(facilitatorFeeBps) + protocolFeeBps > BPS) {
            // forge-lint: disable-next-line(unsafe-typecast) -- protocolFeeBps <= 100, so this is <= 10_000
            revert FeeAboveMaximum(facilitatorFeeBps, uint16(BPS - protocolFeeBps));
        }
        facilitatorFee = amount * facilitatorFeeBps / BPS;
        if (protocolFeeBps != 0) protocolFeeAmount = (amount * protocolFeeBps + BPS - 1) / BPS;
    }

    /// @dev Books `amount` of `token` for the treasury.
    function _accrue(address token, uint256 amount) internal {
        if (amount != 0) accruedProtocolFees[token] += amount;
    }
}
