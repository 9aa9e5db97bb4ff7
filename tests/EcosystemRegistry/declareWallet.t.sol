// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EcosystemRegistry} from "../../contracts/EcosystemRegistry.sol";
import {IEcosystemRegistry} from "../../contracts/interfaces/IEcosystemRegistry.sol";
import {EcosystemRegistryTestBase} from "./EcosystemRegistryTestBase.sol";

contract DeclareWalletTest is EcosystemRegistryTestBase {
    function test_declareWallet_declaresAndEmits() public {
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.PayeeWalletDeclared(payee, wallet, true, "my payout wallet");
        vm.prank(payee);
        registry.declareWallet(wallet, true, "my payout wallet");

        assertTrue(registry.isDeclaredWallet(payee, wallet));
        // A declaration is per payee, and says nothing about ecosystem roles.
        assertFalse(registry.isDeclaredWallet(stranger, wallet));
        assertEq(registry.rolesOf(wallet), 0);
    }

    function test_declareWallet_withdraw() public {
        vm.prank(payee);
        registry.declareWallet(wallet, true, "");

        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.PayeeWalletDeclared(payee, wallet, false, "sold");
        vm.prank(payee);
        registry.declareWallet(wallet, false, "sold");
        assertFalse(registry.isDeclaredWallet(payee, wallet));
    }

    function test_declareWallet_needsNoOwner() public {
        // Anyone is a potential payee; the owner has no say over declarations.
        vm.prank(owner);
        registry.renounceOwnership();
        vm.prank(payee);
        registry.declareWallet(wallet, true, "");
        assertTrue(registry.isDeclaredWallet(payee, wallet));
    }

    function test_declareWallet_revertsOnZeroWallet() public {
        vm.expectRevert(IEcosystemRegistry.ZeroAddress.selector);
        vm.prank(payee);
        registry.declareWallet(address(0), true, "");
    }

    function test_declareWallet_revertsWhenAlreadyDeclared() public {
        vm.startPrank(payee);
        registry.declareWallet(wallet, true, "");
        vm.expectRevert(abi.encodeWithSelector(EcosystemRegistry.DeclarationUnchanged.selector, payee, wallet, true));
        registry.declareWallet(wallet, true, "");
        vm.stopPrank();
    }

    function test_declareWallet_revertsWhenWithdrawingUndeclared() public {
        vm.expectRevert(abi.encodeWithSelector(EcosystemRegistry.DeclarationUnchanged.selector, payee, wallet, false));
        vm.prank(payee);
        registry.declareWallet(wallet, false, "");
    }

    function testFuzz_declareWallet(address caller, address w, string calldata note) public {
        vm.assume(w != address(0));
        vm.expectEmit(address(registry));
        emit IEcosystemRegistry.PayeeWalletDeclared(caller, w, true, note);
        vm.prank(caller);
        registry.declareWallet(w, true, note);
        assertTrue(registry.isDeclaredWallet(caller, w));

        vm.prank(caller);
        registry.declareWallet(w, false, note);
        assertFalse(registry.isDeclaredWallet(caller, w));
    }
}
