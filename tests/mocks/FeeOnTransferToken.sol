// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC20 that burns `feeBps` of every transfer between two accounts, so the recipient gets
/// less than the amount asked for (as some deflationary and "tax" tokens do). The fee can be switched
/// on after the token was used normally, to test contracts holding balances of it.
contract FeeOnTransferToken is ERC20 {
    uint16 public feeBps;

    constructor(uint16 feeBps_) ERC20("Fee On Transfer", "FOT") {
        feeBps = feeBps_;
    }

    /// @notice Anyone may mint (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Changes the fee taken from each transfer, in basis points.
    function setFeeBps(uint16 feeBps_) external {
        feeBps = feeBps_;
    }

    /// @notice The fee burnt when `amount` is transferred.
    function feeOf(uint256 amount) public view returns (uint256) {
        return amount * feeBps / 10_000;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = feeOf(value);
            if (fee != 0) super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
