// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {EcosystemRegistry} from "../../contracts/EcosystemRegistry.sol";
import {IEcosystemRegistry} from "../../contracts/interfaces/IEcosystemRegistry.sol";

/// @notice Shared fixture for the per-entry-point registry tests: a fresh registry owned by `owner`.
abstract contract EcosystemRegistryTestBase is Test {
    EcosystemRegistry internal registry;

    address internal owner = makeAddr("owner");
    address internal stranger = makeAddr("stranger");
    address internal wallet = makeAddr("wallet");
    address internal payee = makeAddr("payee");

    uint8 internal constant TREASURY = uint8(IEcosystemRegistry.Role.Treasury);
    uint8 internal constant FACILITATOR = uint8(IEcosystemRegistry.Role.Facilitator);
    uint8 internal constant TEST_ROLE = uint8(IEcosystemRegistry.Role.Test);
    uint8 internal constant ROLE_COUNT = 8;

    function setUp() public virtual {
        registry = new EcosystemRegistry(owner);
    }

    /// @dev The `rolesOf` bit of `role`.
    function bit(uint8 role) internal pure returns (uint256) {
        return uint256(1) << role;
    }

    /// @dev Keeps fuzzed wallets non-zero and roles inside the enum.
    function _boundInputs(address w, uint8 role) internal pure returns (address, uint8) {
        if (w == address(0)) w = address(1);
        return (w, uint8(bound(role, 0, ROLE_COUNT - 1)));
    }
}
