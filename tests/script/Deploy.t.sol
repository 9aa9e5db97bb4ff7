// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ISignatureTransfer} from "permit2/src/interfaces/ISignatureTransfer.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {Deploy} from "../../script/Deploy.s.sol";
import {IX402Settlement} from "../../contracts/interfaces/IX402Settlement.sol";
import {EcosystemRegistry} from "../../contracts/EcosystemRegistry.sol";
import {DemoOPG} from "../../contracts/tokens/DemoOPG.sol";

/// @notice Runs the deploy script in-process (no broadcast, so it writes no file) and checks what it
/// deployed is wired together. The broadcast path is exercised against anvil by script/deploy-local.sh.
contract DeployScriptTest is Test {
    Deploy internal script;

    function setUp() public {
        script = new Deploy();
    }

    function test_local_deploysEverythingWired() public {
        vm.roll(42);
        Deploy.Deployment memory d = script.run();

        assertEq(d.chainId, 31337);
        assertEq(d.deployBlock, 42);
        assertGt(d.permit2.code.length, 0, "permit2");
        assertGt(d.settlement.code.length, 0, "settlement");
        assertGt(d.registry.code.length, 0, "registry");
        assertEq(address(IX402Settlement(d.settlement).PERMIT2()), d.permit2);
        assertEq(Ownable(d.settlement).owner(), d.owner);
        assertEq(EcosystemRegistry(d.registry).owner(), d.owner);
        assertEq(d.owner, d.deployer, "owner defaults to the deployer");
        // Permit2 answers with its domain separator, so it is the real contract.
        assertTrue(ISignatureTransfer(d.permit2).DOMAIN_SEPARATOR() != bytes32(0));

        assertEq(d.tokens.length, 2);
        assertEq(IERC20Metadata(d.tokens[0]).symbol(), "OPG");
        assertEq(IERC20Metadata(d.tokens[0]).decimals(), 18);
        assertEq(IERC20Metadata(d.tokens[1]).symbol(), "USDC");
        assertEq(IERC20Metadata(d.tokens[1]).decimals(), 6);
        // The deployer can fund demo wallets.
        vm.prank(d.deployer);
        DemoOPG(d.tokens[0]).mint(address(this), 1e18);
        assertEq(IERC20Metadata(d.tokens[0]).balanceOf(address(this)), 1e18);
    }

    function test_otherChain_requiresPaymentTokens() public {
        // PAYMENT_TOKENS is not set in the test environment (tests never set environment variables:
        // they run in parallel and would race).
        vm.skip(bytes(vm.envOr("PAYMENT_TOKENS", string(""))).length != 0);
        vm.chainId(8453);
        vm.expectRevert(
            bytes(
                "PAYMENT_TOKENS is required on chain 8453: set it to the comma-separated addresses of the accepted ERC-20 tokens"
            )
        );
        script.run();
    }
}
