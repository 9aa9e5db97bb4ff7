// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IEcosystemRegistry} from "../../contracts/interfaces/IEcosystemRegistry.sol";
import {EcosystemRegistryTestBase} from "./EcosystemRegistryTestBase.sol";

contract UnlabelTest is EcosystemRegistryTestBase {
    function setUp() public override {
        super.setUp();
        vm.startPrank(owner);
        registry.label(wallet, TREASURY, "");
        registry.label(wallet, FACILITATOR, "");
        vm.stopPrank();
    }

    function test_unlabel_removesOnlyThatRoleAndEmits() public {
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.WalletUnlabeled(wallet, TREASURY, "key rotated");
        vm.prank(owner);
        registry.unlabel(wallet, TREASURY, "key rotated");

        assertFalse(registry.hasRole(wallet, TREASURY));
        assertTrue(registry.hasRole(wallet, FACILITATOR));
        assertEq(registry.rolesOf(wallet), bit(FACILITATOR));
    }

    function test_unlabel_thenLabelAgain() public {
        vm.startPrank(owner);
        registry.unlabel(wallet, TREASURY, "");
        registry.label(wallet, TREASURY, "back");
        vm.stopPrank();
        assertTrue(registry.hasRole(wallet, TREASURY));
    }

    function test_unlabel_revertsWhenNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.unlabel(wallet, TREASURY, "");
    }

    function test_unlabel_revertsWhenNotLabeled() public {
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.NotLabeled.selector, wallet, TEST_ROLE));
        vm.prank(owner);
        registry.unlabel(wallet, TEST_ROLE, "");
    }

    function test_unlabel_revertsOnZeroWallet() public {
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.NotLabeled.selector, address(0), TREASURY));
        vm.prank(owner);
        registry.unlabel(address(0), TREASURY, "");
    }

    function test_unlabel_revertsOnUnknownRole() public {
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.UnknownRole.selector, 8));
        vm.prank(owner);
        registry.unlabel(wallet, 8, "");
    }

    function test_unlabel_revertsTheSecondTime() public {
        vm.startPrank(owner);
        registry.unlabel(wallet, TREASURY, "");
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.NotLabeled.selector, wallet, TREASURY));
        registry.unlabel(wallet, TREASURY, "");
        vm.stopPrank();
    }

    function testFuzz_unlabel(address w, uint8 role, uint8 otherRole) public {
        (w, role) = _boundInputs(w, role);
        otherRole = uint8(bound(otherRole, 0, ROLE_COUNT - 1));
        vm.assume(otherRole != role);
        vm.startPrank(owner);
        if (!registry.hasRole(w, role)) registry.label(w, role, "");
        if (!registry.hasRole(w, otherRole)) registry.label(w, otherRole, "");
        uint256 before = registry.rolesOf(w);
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.WalletUnlabeled(w, role, "fuzz");
        registry.unlabel(w, role, "fuzz");
        vm.stopPrank();
        assertEq(registry.rolesOf(w), before & ~(uint256(1) << role));
        assertTrue(registry.hasRole(w, otherRole));
    }

    function testFuzz_unlabel_revertsForAnyNonOwner(address caller) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
        registry.unlabel(wallet, TREASURY, "");
    }
}
