// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DemoUSDC
/// @notice A 6-decimal demo stablecoin for local chains and testnets only (like USDC, it supports
/// EIP-2612 permit). The owner (the deployer) mints it to demo wallets. Not upgradeable.
contract DemoUSDC is ERC20, ERC20Permit, Ownable {
    /// @param initialOwner The account allowed to mint.
    constructor(address initialOwner) ERC20("Demo USDC", "USDC") ERC20Permit("Demo USDC") Ownable(initialOwner) {}

    /// @notice Six decimals, as USDC.
    /// @return The number of decimals, 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Creates `amount` tokens (6 decimals) for `to`. Owner only.
    /// @param to The recipient; the zero address reverts with OpenZeppelin's `ERC20InvalidReceiver`.
    /// @param amount Amount in the token's smallest unit.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
