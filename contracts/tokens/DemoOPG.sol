// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DemoOPG
/// @notice An 18-decimal demo payment token with EIP-2612 permit, for local chains and testnets only.
/// The owner (the deployer) mints it to demo wallets. Not upgradeable; no other privileges.
contract DemoOPG is ERC20, ERC20Permit, Ownable {
    /// @param initialOwner The account allowed to mint.
    constructor(address initialOwner) ERC20("Demo OPG", "OPG") ERC20Permit("Demo OPG") Ownable(initialOwner) {}

    /// @notice Creates `amount` tokens (18 decimals) for `to`. Owner only.
    /// @param to The recipient; the zero address reverts with OpenZeppelin's `ERC20InvalidReceiver`.
    /// @param amount Amount in the token's smallest unit.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
