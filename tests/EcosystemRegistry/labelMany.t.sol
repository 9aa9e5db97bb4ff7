// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IEcosystemRegistry} from "../../contracts/interfaces/IEcosystemRegistry.sol";
import {EcosystemRegistryTestBase} from "./EcosystemRegistryTestBase.sol";

contract LabelManyTest is EcosystemRegistryTestBase {
    function test_labelMany_labelsEachPairAndEmitsInOrder() public {
        address[] memory wallets = new address[](3);
        uint8[] memory roles = new uint8[](3);
        wallets[0] = wallet;
        roles[0] = TREASURY;
        wallets[1] = payee;
        roles[1] = FACILITATOR;
        wallets[2] = wallet; // same wallet, second role
        roles[2] = TEST_ROLE;

        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(address(registry));
            emit IEcosystemRegistry.WalletLabeled(wallets[i], roles[i], "batch 1");
        }
        vm.prank(owner);
        registry.labelMany(wallets, roles, "batch 1");

        assertEq(registry.rolesOf(wallet), bit(TREASURY) | bit(TEST_ROLE));
        assertEq(registry.rolesOf(payee), bit(FACILITATOR));
    }

    function test_labelMany_emptyIsNoOp() public {
        vm.recordLogs();
        vm.prank(owner);
        registry.labelMany(new address[](0), new uint8[](0), "");
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_labelMany_revertsWhenNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.labelMany(new address[](1), new uint8[](1), "");
    }

    function test_labelMany_revertsOnLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.LengthMismatch.selector, 2, 1));
        vm.prank(owner);
        registry.labelMany(new address[](2), new uint8[](1), "");
    }

    function test_labelMany_revertsOnZeroWalletAndUndoesEarlierPairs() public {
        address[] memory wallets = new address[](2);
        uint8[] memory roles = new uint8[](2);
        wallets[0] = wallet;
        wallets[1] = address(0);
        vm.expectRevert(IEcosystemRegistry.ZeroAddress.selector);
        vm.prank(owner);
        registry.labelMany(wallets, roles, "");
        assertEq(registry.rolesOf(wallet), 0);
    }

    function test_labelMany_revertsOnUnknownRole() public {
        address[] memory wallets = new address[](2);
        uint8[] memory roles = new uint8[](2);
        wallets[0] = wallet;
        wallets[1] = payee;
        roles[1] = 200;
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.UnknownRole.selector, 200));
        vm.prank(owner);
        registry.labelMany(wallets, roles, "");
        assertEq(registry.rolesOf(wallet), 0);
    }

    function test_labelMany_revertsOnDuplicatePair() public {
        address[] memory wallets = new address[](2);
        uint8[] memory roles = new uint8[](2);
        wallets[0] = wallet;
        wallets[1] = wallet;
        roles[0] = FACILITATOR;
        roles[1] = FACILITATOR;
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.AlreadyLabeled.selector, wallet, FACILITATOR));
        vm.prank(owner);
        registry.labelMany(wallets, roles, "");
        assertEq(registry.rolesOf(wallet), 0);
    }

    function testFuzz_labelMany(uint256 seed, uint8 count) public {
        count = uint8(bound(count, 1, 20));
        address[] memory wallets = new address[](count);
        uint8[] memory roles = new uint8[](count);
        for (uint256 i; i < count; ++i) {
            // Distinct wallets, so no pair repeats.
            wallets[i] = address(uint160(uint256(keccak256(abi.encode(seed, i))) | 1));
            roles[i] = uint8(uint256(keccak256(abi.encode(seed, i, "role"))) % ROLE_COUNT);
        }
        vm.prank(owner);
        registry.labelMany(wallets, roles, "fuzz");
        for (uint256 i; i < count; ++i) {
            assertEq(registry.rolesOf(wallets[i]), uint256(1) << roles[i]);
        }
    }

    function testFuzz_labelMany_revertsOnAnyLengthMismatch(uint8 a, uint8 b) public {
        vm.assume(a != b);
        vm.expectRevert(abi.encodeWithSelector(IEcosystemRegistry.LengthMismatch.selector, a, b));
        vm.prank(owner);
        registry.labelMany(new address[](a), new uint8[](b), "");
    }
}
