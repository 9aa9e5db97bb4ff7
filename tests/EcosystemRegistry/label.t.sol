// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IEcosystemRegistry} from "../../contracts/interfaces/IEcosystemRegistry.sol";
import {EcosystemRegistryTestBase} from "./EcosystemRegistryTestBase.sol";

contract LabelTest is EcosystemRegistryTestBase {
    function test_label_setsRoleAndEmits() public {
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.WalletLabeled(wallet, TREASURY, "main treasury");
        vm.prank(owner);
        registry.label(wallet, TREASURY, "main treasury");

        assertTrue(registry.hasRole(wallet, TREASURY));
        assertFalse(registry.hasRole(wallet, FACILITATOR));
        assertEq(registry.rolesOf(wallet), bit(TREASURY));
    }

    function test_label_severalRolesOnOneWallet() public {
        vm.startPrank(owner);
        registry.label(wallet, FACILITATOR, "");
        registry.label(wallet, TEST_ROLE, "");
        vm.stopPrank();

        assertEq(registry.rolesOf(wallet), bit(FACILITATOR) | bit(TEST_ROLE));
        assertTrue(registry.hasRole(wallet, FACILITATOR));
        assertTrue(registry.hasRole(wallet, TEST_ROLE));
        assertFalse(registry.hasRole(wallet, TREASURY));
    }

    function test_label_everyDefinedRole() public {
        vm.startPrank(owner);
        for (uint8 role; role < ROLE_COUNT; ++role) {
            registry.label(wallet, role, "");
        }
        vm.stopPrank();
        assertEq(registry.rolesOf(wallet), bit(ROLE_COUNT) - 1);
        assertEq(registry.ROLE_COUNT(), ROLE_COUNT);
    }

    function test_label_revertsWhenNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.label(wallet, TREASURY, "");
    }

    function test_label_revertsOnZeroWallet() public {
        vm.expectRevert(IEcosystemRegistry.ZeroAddress.selector);
        vm.prank(owner);
        registry.label(address(0), TREASURY, "");
    }

    function test_label_revertsOnUnknownRole() public {
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.UnknownRole.selector, ROLE_COUNT));
        vm.prank(owner);
        registry.label(wallet, ROLE_COUNT, "");
    }

    function test_label_revertsWhenAlreadyLabeled() public {
        vm.startPrank(owner);
        registry.label(wallet, TREASURY, "");
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.AlreadyLabeled.selector, wallet, TREASURY));
        registry.label(wallet, TREASURY, "again");
        vm.stopPrank();
    }

    function testFuzz_label(address w, uint8 role, string calldata note) public {
        (w, role) = _boundInputs(w, role);
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.WalletLabeled(w, role, note);
        vm.prank(owner);
        registry.label(w, role, note);
        assertEq(registry.rolesOf(w), uint256(1) << role);
        assertTrue(registry.hasRole(w, role));
    }

    function testFuzz_label_revertsOnAnyUnknownRole(address w, uint8 role) public {
        if (w == address(0)) w = address(1);
        role = uint8(bound(role, ROLE_COUNT, type(uint8).max));
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.UnknownRole.selector, role));
        vm.prank(owner);
        registry.label(w, role, "");
        assertFalse(registry.hasRole(w, role));
    }

    function testFuzz_label_revertsForAnyNonOwner(address caller) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
        registry.label(wallet, TREASURY, "");
    }
}
