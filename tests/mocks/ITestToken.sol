// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @notice `TestToken` as tests call it. Tests deploy the token from its artifact
/// (`SettlementTestBase.deployTestToken`) instead of importing it: foundry.toml compiles TestToken
/// under the settlement contract's via-IR profile, as it was when every settlement test compiled
/// there, so the gas snapshots (which include the token's transfers) measure the same token code.
interface ITestToken is IERC20Metadata {
    /// @notice Mints `amount` to `to`; anyone may call (test token).
    function mint(address to, uint256 amount) external;
}
