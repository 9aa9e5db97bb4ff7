// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC20 with a blocklist, as Circle's USDC (FiatToken) has: a blocklisted address can
/// neither send nor receive, and may not be the caller of a transfer.
contract BlocklistToken is ERC20 {
    error Blocklisted(address account);

    mapping(address => bool) public isBlocklisted;

    constructor() ERC20("Blocklist USD", "BUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`; anyone may call (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Adds `account` to the blocklist; anyone may call (test token).
    function blocklist(address account) external {
        isBlocklisted[account] = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (isBlocklisted[msg.sender]) revert Blocklisted(msg.sender);
        if (isBlocklisted[from]) revert Blocklisted(from);
        if (isBlocklisted[to]) revert Blocklisted(to);
        super._update(from, to, value);
    }
}
