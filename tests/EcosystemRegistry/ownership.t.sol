// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {EcosystemRegistry} from "../../contracts/EcosystemRegistry.sol";
import {EcosystemRegistryTestBase} from "./EcosystemRegistryTestBase.sol";

/// @notice transferOwnership / acceptOwnership / renounceOwnership (two-step, from OpenZeppelin).
contract OwnershipTest is EcosystemRegistryTestBase {
    address internal newOwner = makeAddr("newOwner");

    function test_constructor_setsOwner() public view {
        assertEq(registry.owner(), owner);
        assertEq(registry.pendingOwner(), address(0));
    }

    function test_constructor_revertsOnZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new EcosystemRegistry(address(0));
    }

    function test_transferOwnership_isTwoStep() public {
        vm.expectEmit(address(registry));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        registry.transferOwnership(newOwner);

        // Nothing changes until the new owner accepts.
        assertEq(registry.owner(), owner);
        assertEq(registry.pendingOwner(), newOwner);
        vm.prank(owner);
        registry.label(wallet, TREASURY, "old owner still in charge");

        vm.expectEmit(address(registry));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        registry.acceptOwnership();
        assertEq(registry.owner(), newOwner);
        assertEq(registry.pendingOwner(), address(0));

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        registry.label(wallet, FACILITATOR, "");
        vm.prank(newOwner);
        registry.label(wallet, FACILITATOR, "");
        assertTrue(registry.hasRole(wallet, FACILITATOR));
    }

    function test_transferOwnership_canBeReplacedBeforeAcceptance() public {
        vm.startPrank(owner);
        registry.transferOwnership(stranger);
        registry.transferOwnership(newOwner);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.acceptOwnership();
    }

    function test_transferOwnership_revertsWhenNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.transferOwnership(newOwner);
    }

    function test_acceptOwnership_revertsForOthers() public {
        vm.prank(owner);
        registry.transferOwnership(newOwner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.acceptOwnership();
        assertEq(registry.owner(), owner);
    }

    function test_acceptOwnership_revertsWithoutPendingTransfer() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newOwner));
        vm.prank(newOwner);
        registry.acceptOwnership();
    }

    function test_renounceOwnership_freezesLabels() public {
        vm.prank(owner);
        registry.renounceOwnership();
        assertEq(registry.owner(), address(0));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        registry.label(wallet, TREASURY, "");
    }

    function testFuzz_transferOwnership(address next, address other) public {
        vm.assume(next != address(0) && other != next);
        vm.prank(owner);
        registry.transferOwnership(next);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, other));
        vm.prank(other);
        registry.acceptOwnership();

        vm.prank(next);
        registry.acceptOwnership();
        assertEq(registry.owner(), next);
    }
}
